//! `pack.content` and `pack validate --check-images`: the images a pack lists, looked up in
//! two real `docker-registry` processes (one anonymous over plain HTTP, one with htpasswd
//! over TLS) that hold small images pushed with `skopeo`.

mod common;

use common::registry::{PASSWORD, Registry, USER, check_output};
use common::{Sandbox, require_tool, sample};
use sha2::{Digest as _, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

fn put_blob(layout: &Path, bytes: &[u8]) -> (String, usize) {
    let digest = sha256(bytes);
    let dir = layout.join("blobs/sha256");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(digest.trim_start_matches("sha256:")), bytes).unwrap();
    (digest, bytes.len())
}

/// An OCI image layout holding one tiny two-platform image (an index of two manifests)
/// tagged `tag`; returns the folder and the index digest.
fn tiny_image(dir: &Path, tag: &str) -> (PathBuf, String) {
    let layout = dir.join(format!("image-{tag}"));
    fs::create_dir_all(&layout).unwrap();
    fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let mut manifests = Vec::new();
    for arch in ["amd64", "arm64"] {
        let (layer, layer_size) = put_blob(&layout, format!("layer of {tag} {arch}").as_bytes());
        let config = format!(
            r#"{{"architecture":"{arch}","os":"linux","rootfs":{{"type":"layers","diff_ids":["{layer}"]}}}}"#
        );
        let (config, config_size) = put_blob(&layout, config.as_bytes());
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":{layer_size}}}]}}"#
        );
        let (digest, size) = put_blob(&layout, manifest.as_bytes());
        manifests.push(format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":{size},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#
        ));
    }
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
        manifests.join(",")
    );
    let (index_digest, index_size) = put_blob(&layout, index.as_bytes());
    fs::write(
        layout.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{index_digest}","size":{index_size},"annotations":{{"org.opencontainers.image.ref.name":"{tag}"}}}}]}}"#
        ),
    )
    .unwrap();
    (layout, index_digest)
}

/// Pushes a tiny image to `registry` as `repository:tag` with skopeo; returns its digest.
fn push_image(sandbox: &Sandbox, registry: &Registry, repository: &str, tag: &str) -> String {
    require_tool("skopeo");
    let (layout, digest) = tiny_image(sandbox.path(), tag);
    let mut args = vec![
        "copy".to_string(),
        "--all".into(),
        "--preserve-digests".into(),
        "--dest-tls-verify=false".into(),
    ];
    if registry.ca.is_some() {
        args.push(format!("--dest-creds={USER}:{PASSWORD}"));
    }
    args.push(format!("oci:{}:{tag}", layout.display()));
    args.push(format!("docker://{}/{repository}:{tag}", registry.host));
    check_output("skopeo", &args, &[]);
    digest
}

/// A valid add-on pack whose values.yaml lists `images` under pack.content.
fn pack_listing(sandbox: &Sandbox, name: &str, images: &[String]) -> PathBuf {
    let dir = sandbox.path().join(name);
    fs::create_dir_all(&dir).unwrap();
    fs::copy(sample("hello-chart").join("logo.png"), dir.join("logo.png")).unwrap();
    fs::write(
        dir.join("pack.json"),
        r#"{
  "name": "images-demo",
  "displayName": "Images demo",
  "layer": "addon",
  "addonType": "monitoring",
  "version": "1.0.0",
  "cloudTypes": ["all"]
}
"#,
    )
    .unwrap();
    let mut values = String::from("pack:\n  namespace: demo\n  content:\n    images:\n");
    for image in images {
        values.push_str(&format!("      - image: {image}\n"));
    }
    values.push_str("charts:\n  demo:\n    replicas: 1\n");
    fs::write(dir.join("values.yaml"), values).unwrap();
    fs::write(dir.join("README.md"), "# Images demo\n").unwrap();
    dir
}

fn login(sandbox: &Sandbox, registry: &Registry) {
    let mut cmd = sandbox.command();
    cmd.args([
        "registry",
        "login",
        &registry.host,
        "-u",
        USER,
        "--password-stdin",
        "--ca-file",
        &registry.ca_arg(),
    ]);
    common::run_with_stdin(cmd, PASSWORD).success();
}

/// Panics unless the run failed with exit 1 and reported each of `needles`.
fn reports(run: common::Run, needles: &[&str]) -> common::Run {
    assert_eq!(run.code, 1, "expected a failure:\n{}", run.transcript());
    for needle in needles {
        assert!(
            run.stdout.contains(needle),
            "expected {needle:?} in:\n{}",
            run.transcript()
        );
    }
    run
}

#[test]
fn present_images_pass_missing_ones_fail_and_denied_ones_are_gated() {
    let sandbox = Sandbox::new();
    let open = Registry::plain();
    let locked = Registry::secure();
    let digest = push_image(&sandbox, &open, "team/app", "1.0");
    push_image(&sandbox, &locked, "private/app", "2.0");

    let images = [
        format!("{}/team/app:1.0", open.host),
        format!("{}/team/app:9.9", open.host),
        format!("{}/team/app@{digest}", open.host),
        format!("{}/private/app:2.0", locked.host),
    ];
    let dir = pack_listing(&sandbox, "pack", &images);
    let dir_arg = dir.to_str().unwrap();
    let ca = locked.ca_arg();

    // Without the flag, nothing is looked up.
    let offline = sandbox.run(["pack", "validate", dir_arg]).success();
    assert!(
        !offline.stdout.contains("image-"),
        "{}",
        offline.transcript()
    );

    let run = reports(
        sandbox.run([
            "pack",
            "validate",
            dir_arg,
            "--check-images",
            "--ca-file",
            &ca,
        ]),
        &[
            &format!(
                "error[image-missing]: values.yaml:6:16: the image `{}/team/app:9.9` does not exist",
                open.host
            ),
            &format!(
                "warning[image-gated]: values.yaml:8:16: the image `{}/private/app:2.0` is gated",
                locked.host
            ),
            "1 error, 1 warning",
        ],
    );
    assert_eq!(
        run.stdout.matches("image-").count(),
        2,
        "{}",
        run.transcript()
    );

    // With credentials the gated image resolves; only the missing tag stays.
    login(&sandbox, &locked);
    let run = reports(
        sandbox.run([
            "pack",
            "validate",
            dir_arg,
            "--check-images",
            "--ca-file",
            &ca,
        ]),
        &["error[image-missing]", "1 error, 0 warnings"],
    );
    assert!(!run.stdout.contains("image-gated"), "{}", run.transcript());

    let good = pack_listing(
        &sandbox,
        "good",
        &[images[0].clone(), images[2].clone(), images[3].clone()],
    );
    let run = sandbox
        .run([
            "pack",
            "validate",
            good.to_str().unwrap(),
            "--check-images",
            "--ca-file",
            &ca,
            "--output",
            "json",
        ])
        .success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["valid"], true, "{}", run.transcript());
    assert_eq!(
        report["findings"],
        serde_json::json!([]),
        "{}",
        run.transcript()
    );
}

#[test]
fn an_unreachable_registry_is_named_and_the_check_ends() {
    let sandbox = Sandbox::new();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let image = format!("127.0.0.1:{port}/team/app:1.0");
    let dir = pack_listing(&sandbox, "pack", std::slice::from_ref(&image));
    let start = Instant::now();
    reports(
        sandbox.run(["pack", "validate", dir.to_str().unwrap(), "--check-images"]),
        &[
            &format!(
                "error[image-unreachable]: values.yaml:5:16: the image `{image}` cannot be checked"
            ),
            &format!("127.0.0.1:{port}"),
            "hint:",
        ],
    );
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn an_image_listed_twice_is_reported_at_each_place() {
    let sandbox = Sandbox::new();
    let open = Registry::plain();
    let image = format!("{}/team/gone:1.0", open.host);
    let dir = pack_listing(&sandbox, "pack", &[image.clone(), image.clone()]);
    reports(
        sandbox.run(["pack", "validate", dir.to_str().unwrap(), "--check-images"]),
        &[
            "error[image-missing]: values.yaml:5:16:",
            "error[image-missing]: values.yaml:6:16:",
            "2 errors",
        ],
    );
}

#[test]
fn a_values_yaml_outside_the_pack_is_not_read_for_images() {
    let sandbox = Sandbox::new();
    let dir = pack_listing(&sandbox, "pack", &[]);
    let outside = sandbox.path().join("outside.yaml");
    fs::write(
        &outside,
        "pack:\n  content:\n    images:\n      - image: 127.0.0.1:1/secret/app:1.0\n",
    )
    .unwrap();
    fs::remove_file(dir.join("values.yaml")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("values.yaml")).unwrap();
    let run = sandbox.run(["pack", "validate", dir.to_str().unwrap(), "--check-images"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(!run.stdout.contains("image-"), "{}", run.transcript());
    assert!(!run.stdout.contains("127.0.0.1:1"), "{}", run.transcript());
}

#[test]
fn a_registry_that_cannot_be_reached_is_not_asked_again_for_each_image() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let sandbox = Sandbox::new();
    // A server that takes every connection and closes it at once, counting them.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let images: Vec<String> = (0..40).map(|i| format!("{host}/team/app{i}:1.0")).collect();
    let dir = pack_listing(&sandbox, "pack", &images);
    let run = reports(
        sandbox.run(["pack", "validate", dir.to_str().unwrap(), "--check-images"]),
        &["40 errors"],
    );
    assert_eq!(run.stdout.matches("error[image-unreachable]").count(), 40);
    // Only the first round of lookups (8 at once) reaches the server; each of them may try
    // a few times and over both HTTPS and HTTP, but never once per image.
    let connections = accepted.load(Ordering::SeqCst);
    assert!(connections <= 8 * 4 * 2, "{connections} connections");
}
