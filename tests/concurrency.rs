//! Many packctl processes at once on one `oci:` store or one real registry: pushes of one
//! version, pushes into a new store, and signers of one version.

mod common;

use common::registry::Registry;
use common::{Run, Sandbox, sample};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use packctl::oci::{Digest, Manifest};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How many processes the one-version tests start at once.
const WRITERS: usize = 8;

/// Starts every command, then waits for all of them, so they run side by side.
fn run_together(commands: Vec<Command>) -> Vec<Run> {
    let children: Vec<_> = commands
        .into_iter()
        .map(|mut cmd| {
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("packctl runs")
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().unwrap();
            Run {
                code: output.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            }
        })
        .collect()
}

/// `count` copies of hello-chart at `version`, each with its own values.yaml (so its own digest).
fn variants(
    sandbox: &Sandbox,
    prefix: &str,
    count: usize,
    version: impl Fn(usize) -> String,
) -> Vec<PathBuf> {
    (0..count)
        .map(|i| {
            let dir = sandbox.copy(&sample("hello-chart"), &format!("{prefix}-{i}"));
            fs::write(
                dir.join("values.yaml"),
                format!("pack:\n  namespace: writer-{i}\n"),
            )
            .unwrap();
            let pack_json = fs::read_to_string(dir.join("pack.json")).unwrap();
            fs::write(
                dir.join("pack.json"),
                pack_json.replace(
                    r#""version": "0.1.0""#,
                    &format!(r#""version": "{}""#, version(i)),
                ),
            )
            .unwrap();
            dir
        })
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn digest_of(stdout: &str) -> String {
    stdout.trim().rsplit('@').next().unwrap().to_string()
}

/// The tags of a layout's index.json, read directly: tag → manifest digest.
fn layout_tags(layout: &Path) -> Vec<(String, String)> {
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| {
            let tag = m["annotations"]["org.opencontainers.image.ref.name"].as_str()?;
            Some((tag.to_string(), m["digest"].as_str().unwrap().to_string()))
        })
        .collect()
}

/// The bytes of `REPOSITORY:TAG` on a plain-HTTP registry, read with skopeo.
fn skopeo_raw(registry: &Registry, repository: &str, tag: &str) -> Vec<u8> {
    common::require_tool("skopeo");
    let output = Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{}/{repository}:{tag}", registry.host),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "skopeo: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The one run of `runs` that succeeded; every other must have been refused because the tag
/// already held another pack.
fn one_winner<'a>(runs: &'a [Run], what: &str) -> &'a Run {
    let winners: Vec<&Run> = runs.iter().filter(|r| r.code == 0).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one {what} may win:\n{}",
        runs.iter()
            .map(Run::transcript)
            .collect::<Vec<_>>()
            .join("\n")
    );
    for run in runs.iter().filter(|r| r.code != 0) {
        assert_eq!(run.code, 1, "{}", run.transcript());
        assert!(
            run.stderr.contains("already holds another pack"),
            "{}",
            run.transcript()
        );
    }
    winners[0]
}

fn push_all(sandbox: &Sandbox, dirs: &[PathBuf], store: &str) -> Vec<Run> {
    run_together(
        dirs.iter()
            .map(|dir| {
                let mut cmd = sandbox.command();
                cmd.args(["pack", "push", s(dir), "-r", store]);
                cmd
            })
            .collect(),
    )
}

#[test]
fn one_version_pushed_at_once_into_an_oci_store_has_one_winner() {
    let sandbox = Sandbox::new();
    let dirs = variants(&sandbox, "pack", WRITERS, |_| "0.1.0".into());
    let root = sandbox.path().join("store");
    let store = format!("oci:{}", root.display());
    for round in 0..3 {
        if round > 0 {
            fs::remove_dir_all(&root).unwrap();
        }
        let runs = push_all(&sandbox, &dirs, &store);
        let winner = one_winner(&runs, &format!("push (round {round})"));
        assert!(winner.stderr.contains("pushed "), "{}", winner.stderr);
        let tags = layout_tags(&root.join("spectro-packs/archive/hello-chart"));
        assert_eq!(
            tags,
            [("0.1.0".to_string(), digest_of(&winner.stdout))],
            "round {round}: the tag must hold the winner's pack"
        );
    }
}

#[test]
fn one_version_copied_at_once_into_an_oci_store_has_one_winner() {
    let sandbox = Sandbox::new();
    let dirs = variants(&sandbox, "pack", WRITERS, |_| "0.1.0".into());
    let sources: Vec<String> = (0..WRITERS)
        .map(|i| {
            format!(
                "oci:{}",
                sandbox.path().join(format!("source-{i}")).display()
            )
        })
        .collect();
    for (dir, source) in dirs.iter().zip(&sources) {
        sandbox
            .run(["pack", "push", s(dir), "-r", source])
            .success();
    }
    let root = sandbox.path().join("store");
    let target = format!("oci:{}", root.display());
    let runs = run_together(
        sources
            .iter()
            .map(|source| {
                let mut cmd = sandbox.command();
                cmd.args([
                    "pack",
                    "copy",
                    "hello-chart:0.1.0",
                    "--from",
                    source,
                    "--to",
                    &target,
                ]);
                cmd
            })
            .collect(),
    );
    let winner = one_winner(&runs, "copy");
    let tags = layout_tags(&root.join("spectro-packs/archive/hello-chart"));
    assert_eq!(tags.len(), 1, "{tags:?}");
    assert!(
        winner.stdout.contains(&tags[0].1),
        "the tag must hold the winner's pack: {tags:?}\n{}",
        winner.transcript()
    );
}

#[test]
fn one_version_pushed_at_once_to_a_registry_loses_nobody_silently() {
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let dirs = variants(&sandbox, "pack", WRITERS, |_| "0.1.0".into());
    let repository = "spectro-packs/archive/hello-chart";
    let runs = push_all(&sandbox, &dirs, &registry.host);
    let final_digest = Digest::of(&skopeo_raw(&registry, repository, "0.1.0")).to_string();
    let winners: Vec<&Run> = runs.iter().filter(|r| r.code == 0).collect();
    assert!(!winners.is_empty(), "the last writer always wins");
    for run in &runs {
        assert!(!run.stderr.contains("panicked"), "{}", run.transcript());
        if run.code == 0 {
            assert_eq!(
                digest_of(&run.stdout),
                final_digest,
                "a push reported success, but the tag holds another pack:\n{}",
                run.transcript()
            );
        } else {
            assert_eq!(run.code, 1, "{}", run.transcript());
            assert!(
                run.stderr.contains("already holds another pack")
                    || run.stderr.contains("another push"),
                "{}",
                run.transcript()
            );
        }
    }
}

#[test]
fn pushes_of_many_versions_into_a_new_oci_store_all_land() {
    const VERSIONS: usize = 12;
    const ROUNDS: usize = 8;
    let sandbox = Sandbox::new();
    let dirs = variants(&sandbox, "v", VERSIONS, |i| format!("1.0.{i}"));
    for round in 0..ROUNDS {
        let root = sandbox.path().join(format!("store-{round}"));
        let runs = push_all(&sandbox, &dirs, &format!("oci:{}", root.display()));
        for run in &runs {
            assert_eq!(run.code, 0, "round {round}:\n{}", run.transcript());
        }
        let mut tags: Vec<String> = layout_tags(&root.join("spectro-packs/archive/hello-chart"))
            .into_iter()
            .map(|(tag, _)| tag)
            .collect();
        tags.sort();
        let mut expected: Vec<String> = (0..VERSIONS).map(|i| format!("1.0.{i}")).collect();
        expected.sort();
        assert_eq!(tags, expected, "round {round}");
    }
}

/// `count` unencrypted PKCS#8 key pairs (no scrypt, so the test stays fast).
fn keys(sandbox: &Sandbox, count: usize) -> Vec<(PathBuf, PathBuf)> {
    (0..count)
        .map(|i| {
            let key = packctl::sign::keys::generate();
            let private = sandbox.path().join(format!("key-{i}.key"));
            let public = sandbox.path().join(format!("key-{i}.pub"));
            fs::write(
                &private,
                key.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
            )
            .unwrap();
            fs::write(
                &public,
                packctl::sign::keys::public_key_pem(key.verifying_key()),
            )
            .unwrap();
            (private, public)
        })
        .collect()
}

/// Signs one version with every key at once, then checks each key verifies it.
fn sign_together(sandbox: &Sandbox, store: &str, keys: &[(PathBuf, PathBuf)]) {
    let runs = run_together(
        keys.iter()
            .map(|(private, _)| {
                let mut cmd = sandbox.command();
                cmd.args([
                    "pack",
                    "sign",
                    "hello-chart:0.1.0",
                    "--key",
                    s(private),
                    "-r",
                    store,
                ]);
                cmd
            })
            .collect(),
    );
    for run in &runs {
        assert_eq!(run.code, 0, "{}", run.transcript());
    }
    for (i, (_, public)) in keys.iter().enumerate() {
        let run = sandbox.run([
            "pack",
            "verify",
            "hello-chart:0.1.0",
            "--key",
            s(public),
            "-r",
            store,
        ]);
        assert_eq!(
            run.code,
            0,
            "the signature of key {i} was dropped:\n{}",
            run.transcript()
        );
    }
}

#[test]
fn signers_at_once_on_an_oci_store_all_keep_their_signature() {
    let sandbox = Sandbox::new();
    let keys = keys(&sandbox, WRITERS);
    let root = sandbox.path().join("store");
    let store = format!("oci:{}", root.display());
    let pushed = sandbox
        .run(["pack", "push", "testdata/packs/hello-chart", "-r", &store])
        .success();
    sign_together(&sandbox, &store, &keys);
    let digest = Digest::parse(&digest_of(&pushed.stdout)).unwrap();
    let layout = root.join("spectro-packs/archive/hello-chart");
    let sig_tag = packctl::sign::cosign::signature_tag(&digest);
    let (_, sig) = layout_tags(&layout)
        .into_iter()
        .find(|(tag, _)| *tag == sig_tag)
        .expect("a .sig tag");
    let sig = Digest::parse(&sig).unwrap();
    let manifest =
        Manifest::from_slice(&fs::read(layout.join("blobs/sha256").join(sig.hex())).unwrap())
            .unwrap();
    assert_eq!(manifest.layers.len(), WRITERS);
}

#[test]
fn signers_at_once_on_a_registry_all_keep_their_signature() {
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let keys = keys(&sandbox, WRITERS);
    let pushed = sandbox
        .run([
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            &registry.host,
        ])
        .success();
    sign_together(&sandbox, &registry.host, &keys);
    let digest = Digest::parse(&digest_of(&pushed.stdout)).unwrap();
    let bytes = skopeo_raw(
        &registry,
        "spectro-packs/archive/hello-chart",
        &packctl::sign::cosign::signature_tag(&digest),
    );
    assert_eq!(Manifest::from_slice(&bytes).unwrap().layers.len(), WRITERS);
}

#[test]
fn one_tag_added_at_once_to_many_versions_has_one_winner() {
    let sandbox = Sandbox::new();
    let dirs = variants(&sandbox, "v", WRITERS, |i| format!("2.0.{i}"));
    let root = sandbox.path().join("store");
    let store = format!("oci:{}", root.display());
    for run in push_all(&sandbox, &dirs, &store) {
        run.success();
    }
    let runs = run_together(
        (0..WRITERS)
            .map(|i| {
                let mut cmd = sandbox.command();
                cmd.args([
                    "pack",
                    "tag",
                    "add",
                    &format!("hello-chart:2.0.{i}"),
                    "stable",
                    "-r",
                    &store,
                ]);
                cmd
            })
            .collect(),
    );
    let winner = one_winner(&runs, "tag add");
    let stable: Vec<_> = layout_tags(&root.join("spectro-packs/archive/hello-chart"))
        .into_iter()
        .filter(|(tag, _)| tag == "stable")
        .map(|(_, digest)| digest)
        .collect();
    assert_eq!(stable, [digest_of(&winner.stdout)]);
}
