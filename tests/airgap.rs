//! Air gap: a pack's container images and OCI charts mirrored beside it (`pack copy
//! --with-images`), listed (`pack images`), and carried in one file (`pack export`/`import`),
//! between real registries, checked with skopeo.

mod common;

use common::fake::{Fake, Faults};
use common::registry::{Registry, check_output};
use common::{Sandbox, require_tool, root};
use flate2::Compression;
use packctl::oci::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes one blob of an OCI layout and returns its descriptor JSON.
fn blob(layout: &Path, media_type: &str, bytes: &[u8]) -> serde_json::Value {
    let digest = Digest::of(bytes);
    let path = layout.join("blobs/sha256").join(digest.hex());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    serde_json::json!({"mediaType": media_type, "digest": digest.to_string(), "size": bytes.len()})
}

/// A gzip-compressed tar layer holding one file, and the digest of its tar.
fn layer(name: &str, content: &[u8]) -> (Vec<u8>, Digest) {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    tar.append_data(&mut header, name, content).unwrap();
    let tar = tar.into_inner().unwrap();
    let diff_id = Digest::of(&tar);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    (gz.finish().unwrap(), diff_id)
}

/// An image manifest for one platform: a shared base layer and a layer of its own (of
/// `own_size` pseudo-random bytes, so that big ones do not compress away).
fn image(layout: &Path, seed: &str, arch: &str, own_size: usize) -> serde_json::Value {
    let (base, base_id) = layer("etc/base", b"the base layer every image here shares\n");
    let mut own = Vec::with_capacity(own_size);
    let mut x: u64 = format!("{seed}/{arch}")
        .bytes()
        .fold(own_size as u64 | 1, |h, b| {
            h.wrapping_mul(31).wrapping_add(u64::from(b))
        });
    while own.len() < own_size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        own.extend_from_slice(&x.to_le_bytes());
    }
    let (own, own_id) = layer(&format!("bin/{arch}"), &own);
    let config = serde_json::json!({
        "architecture": arch, "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [base_id.to_string(), own_id.to_string()]},
        "config": {}
    });
    let config = blob(
        layout,
        "application/vnd.oci.image.config.v1+json",
        &serde_json::to_vec(&config).unwrap(),
    );
    let layers = [base, own]
        .iter()
        .map(|l| blob(layout, "application/vnd.oci.image.layer.v1.tar+gzip", l))
        .collect::<Vec<_>>();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config, "layers": layers
    });
    let mut d = blob(
        layout,
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    d["platform"] = serde_json::json!({"architecture": arch, "os": "linux"});
    d
}

/// Writes an OCI layout holding `tag`: one image, or an index of one per architecture.
fn write_layout(dir: &Path, tag: &str, arches: &[&str], own_size: usize) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut root = if arches.len() == 1 {
        let mut d = image(dir, tag, arches[0], own_size);
        d.as_object_mut().unwrap().remove("platform");
        d
    } else {
        let manifests: Vec<_> = arches
            .iter()
            .map(|a| image(dir, tag, a, own_size))
            .collect();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests
        });
        blob(
            dir,
            "application/vnd.oci.image.index.v1+json",
            &serde_json::to_vec(&index).unwrap(),
        )
    };
    root["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [root]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

/// Pushes an image written as an OCI layout to `host/repository:tag` with skopeo (every
/// platform), and returns its manifest digest there.
fn push_image(
    sandbox: &Sandbox,
    host: &str,
    repository: &str,
    tag: &str,
    arches: &[&str],
) -> Digest {
    let dir = sandbox
        .path()
        .join(format!("layout-{}", repository.replace('/', "-")));
    write_layout(&dir, tag, arches, 1536 * 1024);
    check_output(
        "skopeo",
        &[
            "copy".into(),
            "--all".into(),
            "--quiet".into(),
            "--dest-tls-verify=false".into(),
            format!("oci:{}:{tag}", dir.display()),
            format!("docker://{host}/{repository}:{tag}"),
        ],
        &[],
    );
    raw_digest(&format!("docker://{host}/{repository}:{tag}"))
}

/// The digest of the manifest skopeo reads at `reference`, from its raw bytes.
fn raw_digest(reference: &str) -> Digest {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", reference])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect --raw {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Digest::of(&out.stdout)
}

/// The repositories a registry holds, from its catalog.
fn catalog(host: &str) -> Vec<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json,sys,urllib.request;print('\\n'.join(json.load(urllib.request.urlopen(sys.argv[1]))['repositories'] or []))",
            &format!("http://{host}/v2/_catalog"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The internet side: a registry with a single-platform image, a two-platform index and a
/// Helm OCI chart, and a pack that lists them (the index by tag and by digest).
struct Internet {
    registry: Registry,
    app: Digest,
    multi: Digest,
    chart: Digest,
    pack: PathBuf,
}

fn internet(sandbox: &Sandbox) -> Internet {
    require_tool("skopeo");
    let registry = Registry::plain();
    let host = registry.host.clone();
    let app = push_image(sandbox, &host, "library/app", "1.0", &["amd64"]);
    let multi = push_image(sandbox, &host, "team/multi", "2.0", &["amd64", "arm64"]);
    // A Helm chart as `helm push` stores it, pushed with the oras SDK.
    let chart_dir = sandbox.path().join("chart");
    std::fs::create_dir_all(&chart_dir).unwrap();
    let chart_tgz = chart_dir.join("demo-0.1.0.tgz");
    std::fs::write(
        &chart_tgz,
        layer(
            "demo/Chart.yaml",
            b"apiVersion: v2\nname: demo\nversion: 0.1.0\n",
        )
        .0,
    )
    .unwrap();
    let chart_config = chart_dir.join("config.json");
    std::fs::write(
        &chart_config,
        br#"{"apiVersion":"v2","name":"demo","version":"0.1.0"}"#,
    )
    .unwrap();
    check_output(
        "python3",
        &[
            root()
                .join("tests/support/oras_push_chart.py")
                .display()
                .to_string(),
            format!("{host}/charts/demo:0.1.0"),
            chart_tgz.display().to_string(),
            chart_config.display().to_string(),
        ],
        &[],
    );
    let chart = raw_digest(&format!("docker://{host}/charts/demo:0.1.0"));
    let pack = sandbox.copy(&common::sample("hello-manifests"), "pack");
    let values = format!(
        "pack:\n  namespace: hello\n  content:\n    images:\n      - image: {host}/library/app:1.0\n      - image: {host}/team/multi:2.0\n      - image: {host}/team/multi@{multi}\n    charts:\n      - repo: oci://{host}/charts\n        name: demo\n        version: 0.1.0\n      - repo: https://charts.example.com/stable\n        name: other\n        version: 1.0.0\n\nmanifests:\n  app:\n    replicas: 1\n"
    );
    std::fs::write(pack.join("values.yaml"), values).unwrap();
    Internet {
        registry,
        app,
        multi,
        chart,
        pack,
    }
}

const PACK: &str = "hello-manifests:1.2.0+build.7";

/// The repository a mirrored image of `source` gets under the default mapping.
fn mirrored(source: &Registry, repository: &str) -> String {
    format!("{}/{repository}", source.host.replace(':', "-"))
}

#[test]
fn copy_with_images_mirrors_every_platform_with_the_same_digests() {
    let sandbox = Sandbox::new();
    let net = internet(&sandbox);
    let site = Registry::plain();
    let pack_dir = net.pack.display().to_string();
    sandbox
        .run(["pack", "push", &pack_dir, "-r", &net.registry.host])
        .success();

    // What the pack lists, resolved.
    let listed = sandbox
        .run([
            "pack",
            "images",
            PACK,
            "-r",
            &net.registry.host,
            "--output",
            "json",
            "-v",
        ])
        .success();
    // The registry speaks plain HTTP on loopback: the lookups at once learn it once, and
    // none of them waits out a retry for it.
    assert!(!listed.stderr.contains("retrying"), "{}", listed.stderr);
    let infos: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let infos = infos.as_array().unwrap();
    let digest_of = |suffix: &str| {
        infos
            .iter()
            .find(|i| i["image"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} listed: {infos:?}"))["digest"]
            .as_str()
            .map(str::to_string)
    };
    assert_eq!(digest_of("/library/app:1.0"), Some(net.app.to_string()));
    assert_eq!(digest_of("/team/multi:2.0"), Some(net.multi.to_string()));
    assert_eq!(digest_of("/charts/demo:0.1.0"), Some(net.chart.to_string()));
    let multi = infos
        .iter()
        .find(|i| i["image"].as_str().unwrap().ends_with(":2.0"))
        .unwrap();
    assert_eq!(multi["platforms"], 2);
    let http_chart = infos
        .iter()
        .find(|i| i["image"].as_str().unwrap().contains("charts.example.com"))
        .unwrap();
    assert!(
        http_chart["skipped"]
            .as_str()
            .unwrap()
            .contains("HTTP chart repository")
    );

    let copy = |extra: &[&str]| {
        let mut args = vec![
            "pack",
            "copy",
            PACK,
            "--from",
            &net.registry.host,
            "--to",
            &site.host,
            "--with-images",
            "--output",
            "json",
        ];
        args.extend_from_slice(extra);
        sandbox.run(args).success()
    };
    let first = copy(&[]);
    let report: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    let images = report["images"].as_array().unwrap();
    let status = |m: &serde_json::Value| m["status"].as_str().unwrap().to_string();
    // The index listed by digest comes after the same index by tag: already there.
    let statuses: Vec<String> = images.iter().map(status).collect();
    assert_eq!(
        statuses,
        ["copied", "copied", "unchanged", "copied", "skipped"],
        "{images:?}"
    );
    let sent: u64 = images
        .iter()
        .map(|m| m["blobs"]["transferred"].as_u64().unwrap())
        .sum();
    // 9 distinct blobs: app's config and 2 layers, multi's 2 configs and 2 layers of their
    // own, the chart's config and layer. The base layer app and multi share is sent once,
    // or twice when both images start it at once.
    assert!((9..=10).contains(&sent), "{images:?}");
    assert_eq!(images.iter().filter(|m| status(m) == "skipped").count(), 1);
    // Every manifest digest is the same on the site registry, each platform's too.
    let site_ref = |repository: &str, tag: &str| {
        format!(
            "docker://{}/{}:{tag}",
            site.host,
            mirrored(&net.registry, repository)
        )
    };
    assert_eq!(raw_digest(&site_ref("library/app", "1.0")), net.app);
    assert_eq!(raw_digest(&site_ref("team/multi", "2.0")), net.multi);
    assert_eq!(raw_digest(&site_ref("charts/demo", "0.1.0")), net.chart);
    for arch in ["amd64", "arm64"] {
        let index: serde_json::Value = serde_json::from_slice(
            &Command::new("skopeo")
                .args([
                    "inspect",
                    "--raw",
                    "--tls-verify=false",
                    &site_ref("team/multi", "2.0"),
                ])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let child = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["platform"]["architecture"] == arch)
            .unwrap()["digest"]
            .as_str()
            .unwrap()
            .to_string();
        let at = format!(
            "docker://{}/{}@{child}",
            site.host,
            mirrored(&net.registry, "team/multi")
        );
        assert_eq!(raw_digest(&at).to_string(), child, "{arch}");
    }
    // The pack arrived too, byte for byte.
    let pulled = sandbox.path().join("pulled");
    sandbox
        .run([
            "pack",
            "pull",
            PACK,
            "-r",
            &site.host,
            &pulled.display().to_string(),
        ])
        .success();
    assert_eq!(common::tree(&pulled), common::tree(&net.pack));

    // A re-run copies nothing.
    let again = copy(&[]);
    let report: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    for m in report["images"].as_array().unwrap() {
        assert!(matches!(status(m).as_str(), "unchanged" | "skipped"), "{m}");
        assert_eq!(m["blobs"]["transferred"], 0, "{m}");
    }

    // Another prefix puts them elsewhere.
    copy(&["--image-prefix", "mirror"]);
    assert_eq!(
        raw_digest(&format!("docker://{}/mirror/team/multi:2.0", site.host)),
        net.multi
    );
}

/// `pack export PACK -r HOST --with-images` into `site.tar` in the sandbox: the file, and
/// its path as an argument.
fn export_with_images(sandbox: &Sandbox, host: &str) -> (PathBuf, String) {
    let file = sandbox.path().join("site.tar");
    let file_arg = file.display().to_string();
    sandbox
        .run([
            "pack",
            "export",
            PACK,
            "-r",
            host,
            "--with-images",
            "-o",
            &file_arg,
        ])
        .success();
    (file, file_arg)
}

/// A key pair made by `key generate` (password `pw`): the private and public key files.
fn keypair(sandbox: &Sandbox, name: &str) -> (PathBuf, PathBuf) {
    let prefix = sandbox.path().join("keys").join(name);
    std::fs::create_dir_all(prefix.parent().unwrap()).unwrap();
    let mut generate = sandbox.command();
    generate
        .args(["key", "generate", "--output-key-prefix"])
        .arg(&prefix)
        .env("COSIGN_PASSWORD", "pw");
    assert!(generate.status().unwrap().success());
    (prefix.with_extension("key"), prefix.with_extension("pub"))
}

/// Flips one byte of the first blob of at least 1 KiB in a tar, in place.
fn tamper(file: &Path) {
    let bytes = std::fs::read(file).unwrap();
    let mut archive = tar::Archive::new(&bytes[..]);
    let mut offset = None;
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        if name.starts_with("blobs/sha256/") && entry.size() >= 1024 {
            offset = Some(entry.raw_file_position() + entry.size() / 2);
            break;
        }
    }
    let offset = offset.expect("a blob of 1 KiB") as usize;
    let mut bytes = bytes;
    bytes[offset] ^= 0xff;
    std::fs::write(file, bytes).unwrap();
}

#[test]
fn export_carries_packs_signatures_and_images_into_one_file_that_imports_verified() {
    let sandbox = Sandbox::new();
    let net = internet(&sandbox);
    let host = net.registry.host.clone();
    let pack_dir = net.pack.display().to_string();
    sandbox
        .run(["pack", "push", &pack_dir, "-r", &host])
        .success();
    let (key, public) = keypair(&sandbox, "cosign");
    let mut sign = sandbox.command();
    sign.args(["pack", "sign", PACK, "-r", &host, "--key"])
        .arg(&key)
        .env("COSIGN_PASSWORD", "pw");
    let signed = sign.output().unwrap();
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );

    let (file, file_arg) = export_with_images(&sandbox, &host);
    // Nothing but the file is left beside it.
    let beside: Vec<_> = std::fs::read_dir(sandbox.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".packctl"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
    // skopeo reads the file as an oci-archive: the pack and the images by their names.
    let pack_digest = {
        let out = sandbox
            .run(["pack", "inspect", PACK, "-r", &host, "--output", "json"])
            .success();
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v["digest"].as_str().unwrap().to_string()
    };
    assert_eq!(
        raw_digest(&format!(
            "oci-archive:{file_arg}:spectro-packs/archive/hello-manifests:1.2.0_build.7"
        ))
        .to_string(),
        pack_digest
    );
    assert_eq!(
        raw_digest(&format!("oci-archive:{file_arg}:{host}/team/multi:2.0")),
        net.multi
    );

    // Its index passes oci-image-tool, and skopeo copies an image out of it whole.
    require_tool("oci-image-tool");
    let unpacked = sandbox.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    check_output(
        "tar",
        &[
            "-xf".into(),
            file_arg.clone(),
            "-C".into(),
            unpacked.display().to_string(),
        ],
        &[],
    );
    let text = check_output(
        "oci-image-tool",
        &[
            "validate".into(),
            "--type".into(),
            "imageIndex".into(),
            unpacked.join("index.json").display().to_string(),
        ],
        &[],
    );
    assert!(text.contains("Validation succeeded"), "{text}");
    let elsewhere = Registry::plain();
    check_output(
        "skopeo",
        &[
            "copy".into(),
            "--all".into(),
            "--quiet".into(),
            "--dest-tls-verify=false".into(),
            format!("oci-archive:{file_arg}:{host}/team/multi:2.0"),
            format!("docker://{}/copied/multi:2.0", elsewhere.host),
        ],
        &[],
    );
    assert_eq!(
        raw_digest(&format!("docker://{}/copied/multi:2.0", elsewhere.host)),
        net.multi
    );

    // Imported with the key: every pack verified first, then everything pushed.
    let site = Registry::plain();
    let imported = sandbox
        .run([
            "pack",
            "import",
            &file_arg,
            "-r",
            &site.host,
            "--verify-key",
            &public.display().to_string(),
            "--output",
            "json",
        ])
        .success();
    let report: serde_json::Value = serde_json::from_str(&imported.stdout).unwrap();
    assert_eq!(report["verified"].as_array().unwrap().len(), 1, "{report}");
    let pulled = sandbox.path().join("pulled");
    let mut pull = sandbox.command();
    pull.args(["pack", "pull", PACK, "-r", &site.host, "--verify-key"])
        .arg(&public)
        .arg(&pulled);
    let out = pull.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(common::tree(&pulled), common::tree(&net.pack));
    for (repository, tag, digest) in [
        ("library/app", "1.0", &net.app),
        ("team/multi", "2.0", &net.multi),
        ("charts/demo", "0.1.0", &net.chart),
    ] {
        let at = format!(
            "docker://{}/{}:{tag}",
            site.host,
            mirrored(&net.registry, repository)
        );
        assert_eq!(&raw_digest(&at), digest, "{repository}");
    }

    // A file signed by another key is refused before anything is pushed.
    let (_, other) = keypair(&sandbox, "other");
    let empty = Registry::plain();
    sandbox
        .run([
            "pack",
            "import",
            &file_arg,
            "-r",
            &empty.host,
            "--verify-key",
            &other.display().to_string(),
        ])
        .fails_with(&["signature"]);
    assert!(
        catalog(&empty.host).is_empty(),
        "{:?}",
        catalog(&empty.host)
    );

    // A tampered file is refused before anything is pushed.
    tamper(&file);
    sandbox
        .run(["pack", "import", &file_arg, "-r", &empty.host])
        .fails_with(&["altered or damaged"]);
    assert!(
        catalog(&empty.host).is_empty(),
        "{:?}",
        catalog(&empty.host)
    );
}

#[test]
fn an_interrupted_import_sends_only_what_is_missing_when_run_again() {
    let sandbox = Sandbox::new();
    let net = internet(&sandbox);
    let host = net.registry.host.clone();
    let pack_dir = net.pack.display().to_string();
    sandbox
        .run(["pack", "push", &pack_dir, "-r", &host])
        .success();
    let (_, file_arg) = export_with_images(&sandbox, &host);
    // The site registry takes every blob, then fails every manifest: the import breaks off.
    let fake = Fake::start(Faults {
        manifest_put_error: Some((500, "{}".into())),
        ..Faults::default()
    });
    sandbox
        .run(["pack", "import", &file_arg, "-r", &fake.host])
        .fails_with(&["500"]);
    // The digests of the blobs a run sent: an upload's closing PUT, or a POST with the body.
    let uploads = |log: &[(String, String, Option<String>)]| {
        log.iter()
            .filter(|(method, path, _)| {
                (method == "PUT" || method == "POST") && path.contains("/blobs/uploads/")
            })
            .filter_map(|(_, path, _)| {
                let digest = path.split("digest=").nth(1)?;
                Some(digest.split('&').next()?.replace("%3A", ":"))
            })
            .collect::<std::collections::BTreeSet<_>>()
    };
    let first = fake.log();
    let sent_first = uploads(&first);
    // Images go first, so their blobs all went before the manifests failed.
    assert!(
        sent_first.len() >= 9,
        "the first run sent the images' blobs: {sent_first:?}"
    );
    fake.state.lock().unwrap().faults.manifest_put_error = None;
    let again = sandbox
        .run([
            "pack", "import", &file_arg, "-r", &fake.host, "--output", "json",
        ])
        .success();
    let log = fake.log();
    // No blob went twice: the second run sent only the pack's, which the first never reached.
    let sent_second = uploads(&log[first.len()..]);
    assert!(!sent_second.is_empty());
    assert!(
        sent_first.is_disjoint(&sent_second),
        "sent again: {:?}",
        sent_first.intersection(&sent_second).collect::<Vec<_>>()
    );
    let report: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    for m in report["images"].as_array().unwrap() {
        assert_eq!(m["blobs"]["transferred"], 0, "{m}");
    }
    assert_eq!(report["packs"][0]["status"], "pushed", "{report}");
}

#[test]
fn bad_export_files_are_refused_with_what_is_wrong() {
    let sandbox = Sandbox::new();
    let site = Registry::plain();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not-a-tar", b"hello".to_vec(), "not"),
        ("gzip", vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0], "gunzip"),
    ];
    for (name, bytes, needle) in cases {
        let file = sandbox.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        sandbox
            .run([
                "pack",
                "import",
                &file.display().to_string(),
                "-r",
                &site.host,
            ])
            .fails_with(&[needle]);
    }
    // A tar whose index names a blob it lacks.
    let file = sandbox.path().join("incomplete.tar");
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, bytes: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, name, bytes).unwrap();
    };
    add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    let missing = Digest::of(b"absent");
    add(
        "index.json",
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{missing}","size":6,"annotations":{{"org.opencontainers.image.ref.name":"x/y:1"}}}}]}}"#
        )
        .as_bytes(),
    );
    std::fs::write(&file, tar.into_inner().unwrap()).unwrap();
    sandbox
        .run([
            "pack",
            "import",
            &file.display().to_string(),
            "-r",
            &site.host,
        ])
        .fails_with(&["does not hold", "x/y:1"]);
    // A link inside is refused.
    let linked = sandbox.path().join("link.tar");
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    tar.append_link(&mut h, "blobs/sha256/aa", "/etc/passwd")
        .unwrap();
    std::fs::write(&linked, tar.into_inner().unwrap()).unwrap();
    sandbox
        .run([
            "pack",
            "import",
            &linked.display().to_string(),
            "-r",
            &site.host,
        ])
        .fails_with(&["not a regular file"]);
    assert!(catalog(&site.host).is_empty());
}

#[test]
fn files_other_tools_wrote_import_too() {
    let sandbox = Sandbox::new();
    require_tool("skopeo");
    let source = Registry::plain();
    let digest = push_image(
        &sandbox,
        &source.host,
        "team/multi",
        "2.0",
        &["amd64", "arm64"],
    );
    let site = Registry::plain();
    // skopeo names the image as it is told: here by repository and tag, no host.
    let named = sandbox.path().join("named.tar");
    let bare = sandbox.path().join("bare.tar");
    for (file, name) in [(&named, "team/multi:2.0"), (&bare, "2.0")] {
        check_output(
            "skopeo",
            &[
                "copy".into(),
                "--all".into(),
                "--quiet".into(),
                "--src-tls-verify=false".into(),
                format!("docker://{}/team/multi:2.0", source.host),
                format!("oci-archive:{}:{name}", file.display()),
            ],
            &[],
        );
    }
    sandbox
        .run([
            "pack",
            "import",
            &named.display().to_string(),
            "-r",
            &site.host,
        ])
        .success();
    assert_eq!(
        raw_digest(&format!("docker://{}/team/multi:2.0", site.host)),
        digest
    );
    // A bare tag, as `oras backup` writes it, needs the repository it belongs to.
    sandbox
        .run([
            "pack",
            "import",
            &bare.display().to_string(),
            "-r",
            &site.host,
        ])
        .fails_with(&["names a tag but no repository"]);
    sandbox
        .run([
            "pack",
            "import",
            &bare.display().to_string(),
            "-r",
            &site.host,
            "--repository",
            "restored/multi",
        ])
        .success();
    assert_eq!(
        raw_digest(&format!("docker://{}/restored/multi:2.0", site.host)),
        digest
    );
}

#[test]
fn one_missing_image_fails_the_copy_after_the_others_arrived() {
    let sandbox = Sandbox::new();
    require_tool("skopeo");
    let source = Registry::plain();
    let app = push_image(&sandbox, &source.host, "library/app", "1.0", &["amd64"]);
    let pack = sandbox.copy(&common::sample("hello-manifests"), "pack");
    std::fs::write(
        pack.join("values.yaml"),
        format!(
            "pack:\n  namespace: hello\n  content:\n    images:\n      - image: {0}/library/gone:9.9\n      - image: {0}/library/app:1.0\n\nmanifests:\n  app:\n    replicas: 1\n",
            source.host
        ),
    )
    .unwrap();
    let pack_dir = pack.display().to_string();
    sandbox
        .run(["pack", "push", &pack_dir, "-r", &source.host])
        .success();
    let site = Registry::plain();
    let run = sandbox
        .run([
            "pack",
            "copy",
            PACK,
            "--from",
            &source.host,
            "--to",
            &site.host,
            "--with-images",
        ])
        .fails_with(&["library/gone:9.9", "1 failed"]);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    // The other image and the pack arrived.
    assert_eq!(
        raw_digest(&format!(
            "docker://{}/{}:1.0",
            site.host,
            mirrored(&source, "library/app")
        )),
        app
    );
    // `pack images` lists the missing one with its error, and exits 1.
    let listed = sandbox.run(["pack", "images", &pack_dir]).fails_with(&[]);
    assert!(
        listed.stdout.contains("library/gone:9.9"),
        "{}",
        listed.stdout
    );
    assert!(
        listed.stdout.contains(&app.to_string()),
        "{}",
        listed.stdout
    );
}
