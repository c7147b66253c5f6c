//! Mirrors every pack of one store into another, as a program that embeds packctl would:
//!
//! ```text
//! cargo run --example mirror -- oci:./from oci:./to
//! cargo run --example mirror -- registry.example.com oci:./airgap
//! ```
//!
//! Credentials come from the Docker config, as the command line takes them; progress is a
//! line per blob on stderr.

use packctl::auth::DockerConfig;
use packctl::oci::Location;
use packctl::ops::{CopyOptions, CopyWhat, copy};
use packctl::progress::{Reporter, SharedReporter};
use packctl::store::{OpenOptions, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counts blobs and bytes, and prints a line per blob.
#[derive(Default)]
struct Lines {
    next: AtomicUsize,
    bytes: AtomicU64,
    new: AtomicUsize,
    present: AtomicUsize,
}

impl Reporter for Lines {
    fn blob_started(&self, label: &str, size: u64) -> usize {
        eprintln!("  {label} ({size} bytes)");
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    fn blob_progress(&self, _id: usize, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn blob_finished(&self, _id: usize, transferred: bool) {
        let count = if transferred {
            &self.new
        } else {
            &self.present
        };
        count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Opens `location` (`oci:PATH` or `host[:port][/base]`) with the Docker config's credentials.
async fn open(location: &str) -> Result<Store, Box<dyn std::error::Error>> {
    let mut options = OpenOptions::default();
    if let Ok(config) = DockerConfig::from_env() {
        options.credentials = Arc::new(config);
    }
    Ok(Store::open(&Location::parse(location)?, &options).await?)
}

/// Copies every version of every pack of `from` into `to`; what `to` has is skipped.
async fn mirror(
    from: &Store,
    to: &Store,
    lines: &Arc<Lines>,
) -> Result<usize, packctl::error::Error> {
    let reporter: SharedReporter = lines.clone();
    let copied = copy(from, to, &CopyWhat::All, &CopyOptions::default(), &reporter).await?;
    for c in &copied {
        println!("{} -> {}", c.from, c.to);
    }
    Ok(copied.len())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [from, to] = args.as_slice() else {
        eprintln!("usage: mirror FROM TO   (each `oci:PATH` or `host[:port][/base]`)");
        return std::process::ExitCode::from(2);
    };
    let run = || -> Result<(), Box<dyn std::error::Error>> {
        let lines = Arc::new(Lines::default());
        let runtime = tokio::runtime::Runtime::new()?;
        let count = runtime.block_on(async {
            let (from, to) = (open(from).await?, open(to).await?);
            Ok::<_, Box<dyn std::error::Error>>(mirror(&from, &to, &lines).await?)
        })?;
        eprintln!(
            "{count} version(s): {} blob(s) copied, {} already there, {} bytes read",
            lines.new.load(Ordering::Relaxed),
            lines.present.load(Ordering::Relaxed),
            lines.bytes.load(Ordering::Relaxed),
        );
        Ok(())
    };
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use packctl::ops::{PushOptions, list, push};
    use std::path::Path;

    #[tokio::test]
    async fn mirrors_every_pack_and_then_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let from = open(&format!("oci:{}", dir.path().join("from").display()))
            .await
            .unwrap();
        let to = open(&format!("oci:{}", dir.path().join("to").display()))
            .await
            .unwrap();
        let silent: SharedReporter = Arc::new(packctl::progress::Silent);
        let packs = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/packs");
        for name in ["hello-chart", "hello-manifests"] {
            push(&from, &packs.join(name), &PushOptions::default(), &silent)
                .await
                .unwrap();
        }

        let lines = Arc::new(Lines::default());
        assert_eq!(mirror(&from, &to, &lines).await.unwrap(), 2);
        let names: Vec<String> = list(&to, None)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["hello-chart", "hello-manifests"]);
        let copied = lines.new.load(Ordering::Relaxed);
        assert!(copied >= 4, "{copied} blobs copied");
        assert!(lines.bytes.load(Ordering::Relaxed) > 0);

        // A second run finds every tag there, and asks nothing about blobs.
        let again = Arc::new(Lines::default());
        assert_eq!(mirror(&from, &to, &again).await.unwrap(), 2);
        assert_eq!(again.new.load(Ordering::Relaxed), 0);
        assert_eq!(again.present.load(Ordering::Relaxed), 0);
    }
}
