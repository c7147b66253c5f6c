//! `pack gc` on an `oci:` store. Alone in its test binary: it keeps every blob younger than
//! the oldest packctl running on the machine, so packctl processes of tests running beside
//! it would keep what it is meant to remove.

mod common;

use common::{Sandbox, sample};

#[test]
fn gc_removes_what_nothing_references_and_keeps_what_is_young() {
    let sandbox = Sandbox::new();
    let store_dir = sandbox.path().join("s");
    let store = format!("oci:{}", store_dir.display());
    let pack = sandbox.copy(&sample("hello-chart"), "pack");
    let pack_arg = pack.display().to_string();
    sandbox
        .run(["pack", "push", &pack_arg, "-r", &store])
        .success();
    // Another README under the same version: the old README blob and the old manifest are
    // referenced by nothing now.
    std::fs::write(pack.join("README.md"), "changed\n").unwrap();
    sandbox
        .run(["pack", "push", &pack_arg, "-r", &store, "-f"])
        .success();
    let blobs = || {
        std::fs::read_dir(store_dir.join("spectro-packs/archive/hello-chart/blobs/sha256"))
            .unwrap()
            .count()
    };
    let before = blobs();
    // Young blobs are kept: a push under way may be about to name them.
    let kept = sandbox
        .run(["pack", "gc", "-r", &store, "--output", "json"])
        .success();
    let v: serde_json::Value = serde_json::from_str(&kept.stdout).unwrap();
    assert_eq!(v["removed"], 0, "{v}");
    assert!(
        v["repositories"][0]["keptYoung"].as_u64().unwrap() >= 2,
        "{v}"
    );
    // Past the minimum age, and older than this gc (the oldest packctl running): removed.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let dry = sandbox
        .run(["pack", "gc", "-r", &store, "--min-age", "0", "--dry-run"])
        .success();
    assert_eq!(dry.stdout.lines().count(), 2, "{}", dry.transcript());
    assert_eq!(blobs(), before);
    let done = sandbox
        .run(["pack", "gc", "-r", &store, "--min-age", "0"])
        .success();
    assert_eq!(done.stdout, dry.stdout);
    assert_eq!(blobs(), before - 2);
    // What the tag names is whole.
    let pulled = sandbox.path().join("pulled");
    sandbox
        .run([
            "pack",
            "pull",
            "hello-chart:0.1.0",
            &pulled.display().to_string(),
            "-r",
            &store,
        ])
        .success();
    assert_eq!(common::tree(&pulled), common::tree(&pack));
    // A registry collects its own garbage.
    sandbox
        .run(["pack", "gc", "-r", "127.0.0.1:9"])
        .usage_fails_with(&["oci:"]);
}
