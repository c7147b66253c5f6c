//! How few requests a push or a copy makes: nothing about blobs when the tag already names
//! the manifest, one request for a blob the repository holds, one or two for a small blob it
//! lacks, and the fallbacks for registries that refuse the shortcuts.

mod common;

use bytes::Bytes;
use common::fake::{Fake, Faults};
use common::registry::Registry;
use common::{Sandbox, sample, tree};
use packctl::content::{BlobPut, Source};
use packctl::oci::{Descriptor, Digest, Location};
use packctl::progress::Progress;
use packctl::store::{OpenOptions, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const PACK: &str = "testdata/packs/golden-centos-aws";
/// The blobs of PACK's artifact: pack.json as config, values.yaml, logo.png, README.md and
/// the role's tar+gzip.
const BLOBS: usize = 5;

fn count(fake: &Fake, method: &str, path_part: &str) -> usize {
    fake.log()
        .iter()
        .filter(|(m, p, _)| m == method && p.contains(path_part))
        .count()
}

fn blob_requests(fake: &Fake) -> Vec<String> {
    fake.log()
        .into_iter()
        .filter(|(_, p, _)| p.contains("/blobs/"))
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect()
}

fn clear_log(fake: &Fake) {
    fake.state.lock().unwrap().log.clear();
}

fn pull_matches(sandbox: &Sandbox, store: &str, name: &str, original: &Path) {
    let target = sandbox.path().join(format!("back-{}", rand_suffix()));
    sandbox
        .run(["pack", "pull", name, target.to_str().unwrap(), "-r", store])
        .success();
    assert_eq!(tree(&target), tree(original));
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

#[test]
fn an_unchanged_push_asks_nothing_about_blobs() {
    let fake = Fake::start(Faults::default());
    let sandbox = Sandbox::new();
    sandbox
        .run(["pack", "push", PACK, "-r", &fake.host])
        .success();
    clear_log(&fake);
    let run = sandbox
        .run(["pack", "push", PACK, "-r", &fake.host, "-f"])
        .success();
    assert!(run.stderr.contains("unchanged"), "{}", run.transcript());
    assert_eq!(blob_requests(&fake), Vec::<String>::new());
    assert_eq!(count(&fake, "PUT", "/manifests/"), 0);
}

#[test]
fn verify_blobs_looks_at_every_blob_and_sends_none_that_is_there() {
    let fake = Fake::start(Faults::default());
    let sandbox = Sandbox::new();
    sandbox
        .run(["pack", "push", PACK, "-r", &fake.host])
        .success();
    clear_log(&fake);
    sandbox
        .run(["pack", "push", PACK, "-r", &fake.host, "--verify-blobs"])
        .success();
    let asked = blob_requests(&fake);
    assert!(asked.len() >= BLOBS, "{asked:#?}");
    assert_eq!(count(&fake, "PUT", "/blobs/uploads/"), 0, "{asked:#?}");
}

/// Every file under `dir` whose name is the hex of `digest`.
fn blob_files(dir: &Path, digest: &Digest) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().and_then(|n| n.to_str()) == Some(digest.hex()) {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn verify_blobs_repairs_a_store_that_lost_a_blob() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    sandbox.run(["pack", "push", PACK, "-r", &store]).success();
    let logo = Digest::of(&std::fs::read(sample("golden-centos-aws").join("logo.png")).unwrap());
    let lost = blob_files(&sandbox.path().join("store"), &logo);
    assert_eq!(lost.len(), 1, "{lost:?}");
    std::fs::remove_file(&lost[0]).unwrap();

    // The tag still names the same manifest: a plain push trusts the store.
    let run = sandbox.run(["pack", "push", PACK, "-r", &store]).success();
    assert!(run.stderr.contains("unchanged"), "{}", run.transcript());
    assert!(!lost[0].exists());

    let run = sandbox
        .run([
            "pack",
            "push",
            PACK,
            "-r",
            &store,
            "--verify-blobs",
            "--output",
            "json",
        ])
        .success();
    let outcome: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(outcome["blobs"]["transferred"], 1, "{}", run.stdout);
    assert_eq!(outcome["blobs"]["present"], BLOBS - 1, "{}", run.stdout);
    assert!(lost[0].exists());
    pull_matches(
        &sandbox,
        &store,
        "golden-centos-aws",
        &sample("golden-centos-aws"),
    );
}

#[test]
fn a_copy_of_a_version_the_target_holds_asks_nothing_about_blobs() {
    let fake = Fake::start(Faults::default());
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    sandbox.run(["pack", "push", PACK, "-r", &store]).success();
    let copy = || {
        sandbox.run([
            "pack",
            "copy",
            "golden-centos-aws:7.7.1908",
            "--from",
            &store,
            "--to",
            &fake.host,
        ])
    };
    copy().success();
    assert!(count(&fake, "PUT", "/blobs/uploads/") >= BLOBS);
    clear_log(&fake);
    let run = copy().success();
    assert_eq!(
        blob_requests(&fake),
        Vec::<String>::new(),
        "{}",
        run.transcript()
    );
    assert_eq!(count(&fake, "PUT", "/manifests/"), 0);
    assert_eq!(count(&fake, "GET", "/manifests/"), 0);
}

#[test]
fn small_blobs_go_in_one_request_where_the_registry_takes_them() {
    let fake = Fake::start(Faults {
        post_whole: Some(201),
        ..Faults::default()
    });
    let sandbox = Sandbox::new();
    sandbox
        .run(["pack", "push", PACK, "-r", &fake.host])
        .success();
    // Blobs that started while the first one found out went the ordinary way.
    let whole = count(&fake, "POST", "digest=sha256");
    assert!(whole >= 1);
    assert_eq!(whole + count(&fake, "PUT", "/blobs/uploads/"), BLOBS);
    pull_matches(
        &sandbox,
        &fake.host,
        "golden-centos-aws",
        &sample("golden-centos-aws"),
    );
}

/// Pushes blobs one after another through the library, and says how many went whole in
/// the POST and how many in a PUT.
fn push_one_by_one(fake: &Fake, count_of: usize) -> (usize, usize) {
    let location = Location::parse(&fake.host).unwrap();
    let store = Store::open_blocking(&location, &OpenOptions::default()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let progress: Progress = Arc::new(|_| {});
    for i in 0..count_of {
        let bytes = Bytes::from(format!("blob number {i}\n").repeat(100));
        let descriptor = Descriptor::new(
            "application/octet-stream",
            Digest::of(&bytes),
            bytes.len() as u64,
        );
        let put = runtime
            .block_on(store.push_blob("team/one", &descriptor, &Source::Bytes(bytes), &progress))
            .unwrap();
        assert_eq!(put, BlobPut::Sent);
    }
    (
        count(fake, "POST", "digest=sha256"),
        count(fake, "PUT", "/blobs/uploads/"),
    )
}

#[test]
fn once_the_registry_has_answered_every_small_blob_goes_its_way() {
    let takes = Fake::start(Faults {
        post_whole: Some(201),
        ..Faults::default()
    });
    assert_eq!(push_one_by_one(&takes, 3), (3, 0));
    let refuses = Fake::start(Faults {
        post_whole: Some(400),
        ..Faults::default()
    });
    assert_eq!(push_one_by_one(&refuses, 3), (1, 3));
    let ignores = Fake::start(Faults::default());
    assert_eq!(push_one_by_one(&ignores, 3), (1, 3));
}

#[test]
fn a_registry_that_refuses_single_request_uploads_is_asked_once() {
    let fake = Fake::start(Faults {
        post_whole: Some(405),
        ..Faults::default()
    });
    let sandbox = Sandbox::new();
    sandbox
        .run(["pack", "push", PACK, "-r", &fake.host])
        .success();
    assert_eq!(count(&fake, "POST", "digest=sha256"), 1);
    assert_eq!(count(&fake, "PUT", "/blobs/uploads/"), BLOBS);
    pull_matches(
        &sandbox,
        &fake.host,
        "golden-centos-aws",
        &sample("golden-centos-aws"),
    );
}

#[test]
fn a_registry_that_ignores_the_body_is_asked_once() {
    // The fake opens a session for a POST with a body, as distribution 2.8 does.
    let fake = Fake::start(Faults::default());
    let sandbox = Sandbox::new();
    sandbox
        .run(["pack", "push", PACK, "-r", &fake.host])
        .success();
    assert_eq!(count(&fake, "POST", "digest=sha256"), 1);
    // One upload session per blob, and one PUT into each.
    assert_eq!(count(&fake, "POST", "/blobs/uploads/"), BLOBS);
    assert_eq!(count(&fake, "PUT", "/blobs/uploads/"), BLOBS);
    pull_matches(
        &sandbox,
        &fake.host,
        "golden-centos-aws",
        &sample("golden-centos-aws"),
    );
}

/// A copy of PACK at another version: the same files but pack.json.
fn next_version(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.copy(&sample("golden-centos-aws"), "next");
    let pack_json = dir.join("pack.json");
    let text = std::fs::read_to_string(&pack_json).unwrap();
    std::fs::write(&pack_json, text.replace("\"7.7.1908\"", "\"7.7.1909\"")).unwrap();
    dir
}

#[test]
fn a_blob_the_repository_holds_costs_one_request() {
    let fake = Fake::start(Faults::default());
    let sandbox = Sandbox::new();
    sandbox
        .run(["pack", "push", PACK, "-r", &fake.host])
        .success();
    let next = next_version(&sandbox);
    clear_log(&fake);
    let run = sandbox
        .run(["pack", "push", next.to_str().unwrap(), "-r", &fake.host])
        .success();
    assert!(run.stdout.contains(":7.7.1909@"), "{}", run.transcript());
    // Only pack.json is new: one PUT; every blob was asked about once, by a mount from the
    // repository itself (201 when it is there) or, for the one probing a single-request
    // upload, a HEAD.
    assert_eq!(
        count(&fake, "PUT", "/blobs/uploads/"),
        1,
        "{:#?}",
        fake.log()
    );
    let asked = count(&fake, "POST", "mount=") + count(&fake, "HEAD", "/blobs/");
    assert_eq!(asked, BLOBS, "{:#?}", fake.log());
}

#[test]
fn a_registry_that_refuses_mounts_gets_lookups() {
    let fake = Fake::start(Faults {
        refuse_mounts: true,
        ..Faults::default()
    });
    let sandbox = Sandbox::new();
    sandbox
        .run(["pack", "push", PACK, "-r", &fake.host])
        .success();
    // Every blob was looked up: after a refused mount, or as the probe.
    assert_eq!(count(&fake, "HEAD", "/blobs/"), BLOBS);
    assert_eq!(count(&fake, "PUT", "/blobs/uploads/"), BLOBS);
    pull_matches(
        &sandbox,
        &fake.host,
        "golden-centos-aws",
        &sample("golden-centos-aws"),
    );
}

#[test]
fn distribution_takes_the_mount_and_falls_back_from_a_body_in_the_post() {
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(["pack", "push", PACK, "-r", &registry.host, "-vv"])
        .success();
    assert!(
        run.stderr.contains("ignores blob bodies in POST"),
        "{}",
        run.transcript()
    );
    pull_matches(
        &sandbox,
        &registry.host,
        "golden-centos-aws",
        &sample("golden-centos-aws"),
    );
    let next = next_version(&sandbox);
    let run = sandbox
        .run([
            "pack",
            "push",
            next.to_str().unwrap(),
            "-r",
            &registry.host,
            "--output",
            "json",
        ])
        .success();
    let outcome: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(outcome["blobs"]["present"], BLOBS - 1, "{}", run.stdout);
    assert_eq!(outcome["blobs"]["transferred"], 1, "{}", run.stdout);
    pull_matches(
        &sandbox,
        &registry.host,
        "golden-centos-aws:7.7.1909",
        &next,
    );
}
