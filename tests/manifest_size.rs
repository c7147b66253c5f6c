//! A pack whose manifest would be over the 4 MiB cap is refused before anything is sent.

mod common;

use common::registry::Registry;
use common::{Sandbox, sample};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// hello-chart plus enough files with long paths that its manifest (one layer per file,
/// titled by its path) is over 4 MiB.
fn pack_with_many_files(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.copy(&sample("hello-chart"), "many-files");
    let long = "x".repeat(240);
    for folder in 0..26 {
        let sub = dir.join(format!("files/{folder:02}{long}"));
        fs::create_dir_all(&sub).unwrap();
        for file in 0..250 {
            // Distinct contents: each file is a blob of its own, as in a real pack.
            fs::write(
                sub.join(format!("{file:03}{long}")),
                format!("{folder}/{file}"),
            )
            .unwrap();
        }
    }
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn an_oversized_manifest_is_refused_before_any_upload() {
    let sandbox = Sandbox::new();
    let dir = pack_with_many_files(&sandbox);

    let root = sandbox.path().join("store");
    let store = format!("oci:{}", root.display());
    sandbox
        .run(["pack", "push", s(&dir), "-r", &store])
        .fails_with(&[
            "the manifest of",
            "6506 layers",
            "accept at most 4194304",
            "--format archive",
            "nothing was uploaded",
        ]);
    assert!(!root.exists(), "a refused push wrote to the store");

    let registry = Registry::plain();
    let started = Instant::now();
    sandbox
        .run(["pack", "push", s(&dir), "-r", &registry.host])
        .fails_with(&["accept at most 4194304", "ansibleRoles"]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the refusal took {:?}",
        started.elapsed()
    );
    let repositories = registry
        .dir
        .path()
        .join("data/docker/registry/v2/repositories");
    assert!(
        !repositories.exists(),
        "blobs were uploaded before the refusal"
    );

    // One layer for the whole pack fits.
    sandbox
        .run(["pack", "push", s(&dir), "-r", &store, "--format", "archive"])
        .success();
}
