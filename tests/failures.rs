//! Failure paths against an in-process fake registry: what a real registry will not do on
//! demand.

mod common;

use common::fake::{Fake, Faults};
use common::{Sandbox, sample, tree};
use std::fs;

fn push(sandbox: &Sandbox, fake: &Fake) -> common::Run {
    push_with(sandbox, fake, &[])
}

fn push_with(sandbox: &Sandbox, fake: &Fake, flags: &[&str]) -> common::Run {
    let mut args = vec![
        "pack",
        "push",
        "testdata/packs/golden-centos-aws",
        "-r",
        &fake.host,
    ];
    args.extend_from_slice(flags);
    sandbox.run(args)
}

fn count(fake: &Fake, method: &str, path_part: &str) -> usize {
    fake.log()
        .iter()
        .filter(|(m, p, _)| m == method && p.contains(path_part))
        .count()
}

#[test]
fn a_500_during_an_upload_is_retried() {
    let fake = Fake::start(Faults {
        fail_puts: 2,
        ..Faults::default()
    });
    let sandbox = Sandbox::new();
    let run = push(&sandbox, &fake).success();
    assert!(
        run.stdout
            .contains("@sha256:b5143022cac96844bf8458b32a41cd5f18416deb71d3bb2c930ade98d0b3bdb3")
    );
    // Five blobs, two of whose uploads failed once: seven PUTs, and a new session each time.
    assert_eq!(count(&fake, "PUT", "/blobs/uploads/"), 7);
    assert_eq!(count(&fake, "POST", "/blobs/uploads/"), 7);
    let target = sandbox.path().join("back");
    sandbox
        .run([
            "pack",
            "pull",
            "golden-centos-aws",
            target.to_str().unwrap(),
            "-r",
            &fake.host,
        ])
        .success();
    assert_eq!(tree(&target), tree(&sample("golden-centos-aws")));
}

#[test]
fn a_persistent_500_gives_up_with_a_clear_error() {
    let fake = Fake::start(Faults {
        fail_puts: 1000,
        ..Faults::default()
    });
    let sandbox = Sandbox::new();
    let run = push(&sandbox, &fake);
    run.fails_with(&[
        "the registry answered 500",
        "UNKNOWN (storage backend hiccup)",
        "hint: the registry failed; packctl retried",
    ]);
    // Bounded: four attempts for each of the five blobs at most, and no manifest pushed.
    assert!(count(&fake, "PUT", "/blobs/uploads/") <= 5 * 4);
    assert_eq!(
        count(&fake, "PUT", "/manifests/"),
        0,
        "a manifest was pushed over missing blobs"
    );
}

#[test]
fn an_expired_token_is_refreshed() {
    let fake = Fake::start(Faults {
        bearer: true,
        expire_first_token_after: Some(3),
        ..Faults::default()
    });
    let sandbox = Sandbox::new();
    push(&sandbox, &fake).success();
    let log = fake.log();
    let tokens = log
        .iter()
        .filter(|(_, p, _)| p.starts_with("/token"))
        .count();
    assert!(
        tokens >= 2,
        "the expired token was not replaced: {tokens} token requests"
    );
    let uses = log
        .iter()
        .filter(|(_, _, a)| a.as_deref() == Some("Bearer token-1"))
        .count();
    // Three good uses, then at most one rejected use for each of the four requests that can
    // be in flight at once: no request sends it twice.
    assert!((4..=3 + 4).contains(&uses), "token-1 was used {uses} times");
    assert!(log.iter().any(|(m, p, a)| m == "PUT"
        && p.contains("/manifests/")
        && a.as_deref().is_some_and(|a| a != "Bearer token-1")));
}

#[test]
fn name_unknown_explains_how_to_create_the_repository() {
    let fake = Fake::start(Faults {
        name_unknown: true,
        ..Faults::default()
    });
    let sandbox = Sandbox::new();
    let run = push(&sandbox, &fake);
    run.fails_with(&[
        "NAME_UNKNOWN (repository name not known to registry)",
        "aws ecr create-repository",
        "Harbor",
    ]);
    // 4xx answers are not retried: one attempt for each of the five blobs at most.
    assert!(
        count(&fake, "POST", "/blobs/uploads/") <= 5,
        "{:?}",
        fake.log()
    );
}

#[test]
fn an_immutable_tag_is_explained() {
    let fake = Fake::start(Faults {
        manifest_put_error: Some((
            412,
            r#"{"errors":[{"code":"PRECONDITION","message":"Failed to process request due to '7.7.1908' configured as immutable."}]}"#.into(),
        )),
        ..Faults::default()
    });
    let sandbox = Sandbox::new();
    let run = push(&sandbox, &fake);
    run.fails_with(&[
        "configured as immutable",
        "hint: the registry keeps this tag immutable",
    ]);
}

#[test]
fn a_wrong_blob_on_pull_is_refused_and_nothing_is_written() {
    let good = Fake::start(Faults::default());
    let sandbox = Sandbox::new();
    push(&sandbox, &good).success();
    good.state.lock().unwrap().faults.corrupt_blobs = true;
    let parent = sandbox.path().join("pulls");
    fs::create_dir_all(&parent).unwrap();
    let target = parent.join("pack");
    let run = sandbox.run([
        "pack",
        "pull",
        "golden-centos-aws",
        target.to_str().unwrap(),
        "-r",
        &good.host,
    ]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("does not match its descriptor"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("content has digest"), "{}", run.stderr);
    assert_eq!(
        fs::read_dir(&parent).unwrap().count(),
        0,
        "a refused pull left files behind"
    );
}

#[test]
fn credentials_never_follow_a_redirect_to_another_host() {
    let storage = Fake::start(Faults::default());
    let registry = Fake::start(Faults {
        bearer: true,
        redirect_blobs_to: Some(format!("http://{}", storage.host)),
        ..Faults::default()
    });
    let sandbox = Sandbox::new();
    push(&sandbox, &registry).success();
    // The storage host holds the same blobs, as a CDN would.
    let blobs: Vec<Vec<u8>> = {
        let dir = sample("golden-centos-aws");
        let (pack, _) = packctl::pack::Pack::open(&dir).unwrap();
        let artifact = packctl::artifact::build(&pack, &Default::default()).unwrap();
        artifact
            .blobs
            .iter()
            .map(|b| match &b.source {
                packctl::artifact::BlobSource::File(p) => fs::read(p).unwrap(),
                packctl::artifact::BlobSource::Bytes(b) => b.to_vec(),
                _ => unreachable!("a blob source the test does not know"),
            })
            .collect()
    };
    for b in &blobs {
        storage.put_blob(b);
    }
    let target = sandbox.path().join("pulled");
    sandbox
        .run([
            "pack",
            "pull",
            "golden-centos-aws",
            target.to_str().unwrap(),
            "-r",
            &registry.host,
        ])
        .success();
    assert_eq!(tree(&target), tree(&sample("golden-centos-aws")));
    let storage_log = storage.log();
    assert!(
        !storage_log.is_empty(),
        "no blob came from the storage host"
    );
    assert!(
        storage_log.iter().all(|(_, _, auth)| auth.is_none()),
        "credentials went to another host: {storage_log:?}"
    );
}

#[test]
fn a_capped_request_size_switches_to_chunks() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-chart"), "big");
    // Larger than the cap, which is one 4 MiB chunk (GHCR's limit).
    let data: Vec<u8> = (0..(5 * 1024 * 1024u32)).map(|i| (i % 251) as u8).collect();
    fs::write(dir.join("data.bin"), &data).unwrap();
    let fake = Fake::start(Faults {
        max_body: Some(4 * 1024 * 1024),
        // The second chunk of an upload fails once: the upload starts over.
        fail_patches: 1,
        ..Faults::default()
    });
    let run = sandbox.run(["pack", "push", dir.to_str().unwrap(), "-r", &fake.host]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        count(&fake, "PATCH", "/blobs/uploads/") >= 2,
        "{:?}",
        fake.log()
    );
    let target = sandbox.path().join("back");
    sandbox
        .run([
            "pack",
            "pull",
            "hello-chart",
            target.to_str().unwrap(),
            "-r",
            &fake.host,
        ])
        .success();
    assert_eq!(fs::read(target.join("data.bin")).unwrap(), data);
}

#[test]
fn a_huge_manifest_from_a_registry_is_refused() {
    let fake = Fake::start(Faults::default());
    let padding = "x".repeat(5 * 1024 * 1024);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"a/b","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0}},"layers":[],"annotations":{{"p":"{padding}"}}}}"#
    );
    fake.put_manifest(
        "spectro-packs/archive/huge",
        "1.0.0",
        "application/vnd.oci.image.manifest.v1+json",
        manifest.as_bytes(),
    );
    let sandbox = Sandbox::new();
    let target = sandbox.path().join("out");
    let run = sandbox.run([
        "pack",
        "pull",
        "huge:1.0.0",
        target.to_str().unwrap(),
        "-r",
        &fake.host,
    ]);
    run.fails_with(&["packctl reads at most 4 MiB"]);
}

#[test]
fn ls_follows_catalog_pages() {
    let fake = Fake::start(Faults::default());
    let manifest = br#"{"schemaVersion":2}"#;
    for (name, tag) in [("alpha", "1.0.0"), ("beta", "2.0.0"), ("gamma", "0.1.0")] {
        fake.put_manifest(
            &format!("team/spectro-packs/archive/{name}"),
            tag,
            "application/vnd.oci.image.manifest.v1+json",
            manifest,
        );
    }
    fake.put_manifest(
        "other/thing",
        "1.0.0",
        "application/vnd.oci.image.manifest.v1+json",
        manifest,
    );
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(["pack", "ls", "-r", &format!("{}/team", fake.host)])
        .success();
    assert_eq!(
        common::ls_versions(&run.stdout),
        [("alpha", "1.0.0"), ("beta", "2.0.0"), ("gamma", "0.1.0")]
            .map(|(n, v)| (n.to_string(), v.to_string()))
    );
    assert_eq!(count(&fake, "GET", "/v2/_catalog"), 4, "{:?}", fake.log());
}

#[test]
fn a_file_changed_during_a_push_is_blamed_not_the_registry() {
    let sandbox = Sandbox::new();
    let pack = sandbox.copy(&sample("golden-centos-aws"), "pack");
    let logo = pack.join("logo.png");
    let original = fs::read(&logo).unwrap();
    let changed = logo.clone();
    let fake = Fake::start(Faults {
        // The artifact is built (and logo.png hashed) before the first upload session opens;
        // the upload then reads other bytes of the same size.
        on_first_upload: Some(Box::new(move || {
            let mut bytes = original;
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            fs::write(&changed, bytes).unwrap();
        })),
        ..Faults::default()
    });
    let run = sandbox
        .run(["pack", "push", pack.to_str().unwrap(), "-r", &fake.host])
        .fails_with(&["logo.png", "changed while it was pushed", "push again"]);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: `") && first.ends_with("logo.png` changed while it was pushed"),
        "the file is to blame, not the registry:\n{}",
        run.stderr
    );
    assert!(
        fake.log()
            .iter()
            .all(|(m, p, _)| !(m == "PUT" && p.contains("/manifests/"))),
        "no manifest may be pushed"
    );
}

#[test]
fn vv_shows_each_retry_with_its_reason() {
    let fake = Fake::start(Faults {
        fail_puts: 2,
        ..Faults::default()
    });
    let sandbox = Sandbox::new();
    let run = push_with(&sandbox, &fake, &["-vv"]).success();
    let failed_puts = run
        .stderr
        .lines()
        .filter(|l| l.contains("method=PUT") && l.contains("status=500"))
        .count();
    assert_eq!(failed_puts, 2, "{}", run.stderr);
    let retries: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("retrying the upload in a new session"))
        .collect();
    assert_eq!(retries.len(), 2, "{}", run.stderr);
    for retry in &retries {
        assert!(retry.contains("reason="), "{retry}");
        assert!(retry.contains("500"), "{retry}");
        assert!(retry.contains("digest=sha256:"), "{retry}");
    }
    // -v shows the retries but not each request.
    let fake = Fake::start(Faults {
        fail_puts: 1,
        ..Faults::default()
    });
    let run = push_with(&sandbox, &fake, &["-v"]).success();
    assert_eq!(
        run.stderr.matches("retrying the upload").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("method=HEAD"), "{}", run.stderr);
}
