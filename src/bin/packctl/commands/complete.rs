//! Dynamic completion (`source <(COMPLETE=bash packctl)`): pack names and `NAME:VERSION`
//! from the default store, as the shell asks for them.

use clap_complete::CompletionCandidate;
use packctl::env::EnvVars;
use std::time::Duration;

/// How long a completion may wait for the store: a shell waits for it.
const STORE_WAIT: Duration = Duration::from_secs(3);

/// The packs of the default store (`PACKCTL_REGISTRY`, else the saved default) and each of
/// their versions; nothing when there is no default or the store does not answer in time.
pub fn packs() -> Vec<CompletionCandidate> {
    let server = std::env::var(EnvVars::PACKCTL_REGISTRY)
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| crate::settings::Settings::load().ok()?.default_registry);
    let Some(server) = server else {
        return Vec::new();
    };
    let Ok(store) = super::open(&server, packctl::registry::TransportOptions::default()) else {
        return Vec::new();
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    let listed = runtime.block_on(async {
        tokio::time::timeout(STORE_WAIT, packctl::ops::list(&store, None)).await
    });
    let Ok(Ok(packs)) = listed else {
        return Vec::new();
    };
    let mut candidates = Vec::new();
    for pack in packs {
        let versions: Vec<&str> = pack
            .tags
            .iter()
            .filter(|t| t.version.is_some())
            .map(|t| t.tag.as_str())
            .collect();
        candidates.push(CompletionCandidate::new(&pack.name).help(Some(
            format!("{} in {server}", super::count(versions.len(), "version")).into(),
        )));
        for tag in &pack.tags {
            candidates.push(CompletionCandidate::new(format!(
                "{}:{}",
                pack.name, tag.tag
            )));
        }
    }
    candidates
}
