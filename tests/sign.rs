//! Keys, `pack sign`, `pack verify`, `push --sign` and `pull --verify-key` against a real
//! registry and the `oci:` store.

mod common;

use common::registry::Registry;
use common::{Sandbox, root, sample, tree};
use packctl::content::Source;
use packctl::oci::Location;
use packctl::oci::{Descriptor, Digest, Manifest};
use packctl::sign::cosign;
use packctl::store::{OpenOptions, Store};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn fixture_key() -> PathBuf {
    root().join("testdata/cosign/cosign_generated_encrypted_empty_private.key")
}

/// Runs packctl with COSIGN_PASSWORD set.
fn with_password(sandbox: &Sandbox, password: &str, args: &[&str]) -> common::Run {
    let output = sandbox
        .command()
        .env("COSIGN_PASSWORD", password)
        .args(args)
        .output()
        .unwrap();
    common::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `pack sign REFERENCE --key KEY -r STORE` with COSIGN_PASSWORD set.
fn sign(sandbox: &Sandbox, password: &str, reference: &str, key: &str, store: &str) -> common::Run {
    with_password(
        sandbox,
        password,
        &["pack", "sign", reference, "--key", key, "-r", store],
    )
}

/// `pack verify REFERENCE --key KEY -r STORE`.
fn verify(sandbox: &Sandbox, reference: &str, key: &str, store: &str) -> common::Run {
    sandbox.run(["pack", "verify", reference, "--key", key, "-r", store])
}

/// `key generate` into `dir` with `password`; returns the private and public key paths.
fn generate(sandbox: &Sandbox, dir: &str, password: &str) -> (PathBuf, PathBuf) {
    let prefix = sandbox.path().join(dir).join("cosign");
    fs::create_dir_all(prefix.parent().unwrap()).unwrap();
    with_password(
        sandbox,
        password,
        &[
            "key",
            "generate",
            "--output-key-prefix",
            prefix.to_str().unwrap(),
        ],
    )
    .success();
    (prefix.with_extension("key"), prefix.with_extension("pub"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn key_files_round_trip_and_are_protected() {
    let sandbox = Sandbox::new();
    let (private, public) = generate(&sandbox, "keys", "correct horse");
    // As cosign writes them: the private key for its owner only, the public key for all.
    for (key, want) in [(&private, 0o600), (&public, 0o644)] {
        let mode = fs::metadata(key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, want, "{}", key.display());
    }
    let text = fs::read_to_string(&private).unwrap();
    assert!(
        text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"),
        "{text}"
    );
    assert!(
        fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----\n")
    );

    // Never over an existing file without --force.
    let prefix = sandbox.path().join("keys/cosign");
    let again = with_password(
        &sandbox,
        "x",
        &["key", "generate", "--output-key-prefix", s(&prefix)],
    );
    again.fails_with(&["already exists", "--force"]);
    assert_eq!(
        fs::read_to_string(&private).unwrap(),
        text,
        "the key was overwritten"
    );
    with_password(
        &sandbox,
        "x",
        &[
            "key",
            "generate",
            "--output-key-prefix",
            s(&prefix),
            "--force",
        ],
    )
    .success();
    assert_ne!(fs::read_to_string(&private).unwrap(), text);

    // The new key signs with its password, and a wrong password is named as such.
    let store = format!("oci:{}", sandbox.path().join("store").display());
    sandbox
        .run(["pack", "push", "testdata/packs/hello-chart", "-r", &store])
        .success();
    sign(&sandbox, "x", "hello-chart:0.1.0", s(&private), &store).success();
    sign(&sandbox, "nope", "hello-chart:0.1.0", s(&private), &store)
        .fails_with(&["the password for", "is wrong"]);
    verify(&sandbox, "hello-chart:0.1.0", s(&public), &store).success();

    // No password and no terminal: a clear error, not a hang.
    let run = sandbox.run([
        "pack",
        "sign",
        "hello-chart:0.1.0",
        "--key",
        s(&private),
        "-r",
        &store,
    ]);
    run.fails_with(&["COSIGN_PASSWORD is not set"]);

    // A file that is not a key.
    sign(&sandbox, "", "hello-chart:0.1.0", "README.md", &store)
        .fails_with(&["is not a usable key"]);
}

#[test]
fn the_key_cosign_generated_loads_with_an_empty_password() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    sandbox
        .run([
            "pack",
            "push",
            "testdata/packs/hello-manifests",
            "-r",
            &store,
        ])
        .success();
    sign(
        &sandbox,
        "",
        "hello-manifests:1.2.0+build.7",
        s(&fixture_key()),
        &store,
    )
    .success();
    sign(
        &sandbox,
        "wrong",
        "hello-manifests:1.2.0+build.7",
        s(&fixture_key()),
        &store,
    )
    .fails_with(&["is wrong"]);
}

fn registry_store(registry: &Registry) -> Store {
    Store::open_blocking(
        &Location::Registry {
            host: registry.host.clone(),
            base: String::new(),
        },
        &OpenOptions::default(),
    )
    .unwrap()
}

fn digest_of(stdout: &str) -> String {
    stdout.trim().rsplit('@').next().unwrap().to_string()
}

#[test]
fn sign_and_verify_on_a_registry_and_what_breaks_verification() {
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let r = registry.host.as_str();
    let (private, public) = generate(&sandbox, "a", "pw");
    let (other_private, other_public) = generate(&sandbox, "b", "pw");
    let dir = sandbox.copy(&sample("hello-chart"), "hello-chart");
    let first = sandbox.run(["pack", "push", s(&dir), "-r", r]).success();
    let old_digest = digest_of(&first.stdout);

    // Unsigned: refused.
    verify(&sandbox, "hello-chart:0.1.0", s(&public), r).fails_with(&["is not signed", ".sig"]);

    let signed = sign(&sandbox, "pw", "hello-chart:0.1.0", s(&private), r).success();
    assert!(signed.stdout.contains(&format!(
        "sha256-{}.sig@",
        old_digest.trim_start_matches("sha256:")
    )));
    let run = verify(&sandbox, "hello-chart:0.1.0", s(&public), r).success();
    assert_eq!(
        run.stdout.trim(),
        format!("{r}/spectro-packs/archive/hello-chart:0.1.0@{old_digest}")
    );

    // Another key: refused.
    verify(&sandbox, "hello-chart:0.1.0", s(&other_public), r)
        .fails_with(&["none of the 2 signatures", "verifies with"]);

    // A second signer adds a layer and keeps the first.
    sign(&sandbox, "pw", "hello-chart:0.1.0", s(&other_private), r).success();
    for key in [&public, &other_public] {
        verify(&sandbox, "hello-chart:0.1.0", s(key), r).success();
    }
    // Signing again with the same key changes nothing.
    let again = sign(&sandbox, "pw", "hello-chart:0.1.0", s(&private), r).success();
    assert!(again.stderr.contains("unchanged"), "{}", again.stderr);

    // Overwriting the version with -f leaves it unsigned.
    fs::write(dir.join("values.yaml"), "pack:\n  namespace: changed\n").unwrap();
    let forced = sandbox
        .run(["pack", "push", s(&dir), "-r", r, "-f"])
        .success();
    let new_digest = digest_of(&forced.stdout);
    verify(&sandbox, "hello-chart:0.1.0", s(&public), r).fails_with(&["is not signed"]);

    // A valid signature copied onto the new version covers the old digest: refused.
    let store = registry_store(&registry);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let repository = "spectro-packs/archive/hello-chart";
    let old = Digest::parse(&old_digest).unwrap();
    let new = Digest::parse(&new_digest).unwrap();
    runtime.block_on(async {
        let old_sig = store
            .resolve(repository, &cosign::signature_tag(&old))
            .await
            .unwrap()
            .unwrap();
        let bytes = store
            .fetch_manifest(repository, &old_sig.digest)
            .await
            .unwrap();
        store
            .push_manifest(
                repository,
                &old_sig,
                bytes,
                Some(&cosign::signature_tag(&new)),
            )
            .await
            .unwrap();
    });
    verify(&sandbox, "hello-chart:0.1.0", s(&public), r).fails_with(&[
        &format!("cover {old_digest}, not {new_digest}"),
        "moved after it was signed",
    ]);

    // A payload altered behind a kept signature: no signature verifies.
    runtime.block_on(async {
        let tag = cosign::signature_tag(&new);
        let sig = store.resolve(repository, &tag).await.unwrap().unwrap();
        let bytes = store.fetch_manifest(repository, &sig.digest).await.unwrap();
        let manifest = Manifest::from_slice(&bytes).unwrap();
        let mut layers = Vec::new();
        for layer in &manifest.layers {
            let forged = cosign::payload("attacker.example.com/evil", &new);
            let quiet: packctl::progress::Progress = std::sync::Arc::new(|_| {});
            let mut d = Descriptor::new(
                cosign::SIMPLESIGNING,
                Digest::of(&forged),
                forged.len() as u64,
            );
            d.annotations = layer.annotations.clone();
            store
                .push_blob(repository, &d, &Source::Bytes(forged.into()), &quiet)
                .await
                .unwrap();
            layers.push(d);
        }
        packctl::ops::sign::put_signatures(&store, repository, &new, layers)
            .await
            .unwrap();
    });
    verify(&sandbox, "hello-chart:0.1.0", s(&public), r)
        .fails_with(&["none of the 2 signatures", "a signature was altered"]);
}

/// The file a distribution registry keeps a blob's bytes in.
fn registry_blob(registry: &Registry, digest: &str) -> PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    registry
        .dir
        .path()
        .join("data/docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data")
}

#[test]
fn a_tampered_signature_layer_is_refused() {
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let r = registry.host.as_str();
    let (private, public) = generate(&sandbox, "k", "");
    sandbox
        .run(["pack", "push", "testdata/packs/hello-manifests", "-r", r])
        .success();
    let signed = with_password(
        &sandbox,
        "",
        &[
            "pack",
            "sign",
            "hello-manifests:1.2.0+build.7",
            "--key",
            s(&private),
            "--signature-format",
            "legacy",
            "-r",
            r,
            "--output",
            "json",
        ],
    )
    .success();
    let json: serde_json::Value = serde_json::from_str(&signed.stdout).unwrap();
    let store = registry_store(&registry);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let payload_digest = runtime.block_on(async {
        let sig = Digest::parse(json["signatureDigest"].as_str().unwrap()).unwrap();
        let bytes = store
            .fetch_manifest("spectro-packs/archive/hello-manifests", &sig)
            .await
            .unwrap();
        Manifest::from_slice(&bytes).unwrap().layers[0]
            .digest
            .to_string()
    });
    // Change the payload's bytes in the registry's storage, keeping its length.
    let file = registry_blob(&registry, &payload_digest);
    let mut bytes = fs::read(&file).unwrap();
    let at = bytes.windows(6).position(|w| w == b"sha256").unwrap();
    bytes[at + 8] = if bytes[at + 8] == b'0' { b'1' } else { b'0' };
    fs::write(&file, bytes).unwrap();
    verify(&sandbox, "hello-manifests:1.2.0+build.7", s(&public), r)
        .fails_with(&["does not match its descriptor"]);
}

#[test]
fn pull_verify_key_refuses_before_writing() {
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let r = registry.host.as_str();
    let (private, public) = generate(&sandbox, "k", "pw");
    let (_, other_public) = generate(&sandbox, "o", "pw");
    sandbox
        .run(["pack", "push", "testdata/packs/golden-centos-aws", "-r", r])
        .success();

    let parent = sandbox.path().join("pulls");
    fs::create_dir_all(&parent).unwrap();
    let target = parent.join("pack");
    sandbox
        .run([
            "pack",
            "pull",
            "golden-centos-aws",
            s(&target),
            "-r",
            r,
            "--verify-key",
            s(&public),
        ])
        .fails_with(&["is not signed"]);
    assert_eq!(
        fs::read_dir(&parent).unwrap().count(),
        0,
        "an unverified pull wrote files"
    );

    sign(&sandbox, "pw", "golden-centos-aws:7.7.1908", s(&private), r).success();
    sandbox
        .run([
            "pack",
            "pull",
            "golden-centos-aws",
            s(&target),
            "-r",
            r,
            "--verify-key",
            s(&other_public),
        ])
        .fails_with(&["verifies with"]);
    assert_eq!(fs::read_dir(&parent).unwrap().count(), 0);

    let run = sandbox
        .run([
            "pack",
            "pull",
            "golden-centos-aws",
            s(&target),
            "-r",
            r,
            "--verify-key",
            s(&public),
        ])
        .success();
    assert!(
        run.stderr.contains("verified a signature"),
        "{}",
        run.stderr
    );
    assert_eq!(tree(&target), tree(&sample("golden-centos-aws")));
}

#[test]
fn push_sign_copy_and_delete_carry_signatures() {
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let r = registry.host.as_str();
    let (private, public) = generate(&sandbox, "k", "pw");
    let run = with_password(
        &sandbox,
        "pw",
        &[
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            r,
            "--sign",
            s(&private),
        ],
    )
    .success();
    assert!(run.stderr.contains("signed "), "{}", run.stderr);
    verify(&sandbox, "hello-chart:0.1.0", s(&public), r).success();

    // A wrong password stops the push before anything is sent.
    with_password(
        &sandbox,
        "bad",
        &[
            "pack",
            "push",
            "testdata/packs/hello-manifests",
            "-r",
            r,
            "--sign",
            s(&private),
        ],
    )
    .fails_with(&["is wrong"]);
    sandbox
        .run(["pack", "inspect", "hello-manifests", "-r", r])
        .fails_with(&["holds no versions"]);

    // Copying a version brings its signature; the copy verifies in the oci: store.
    let store = format!("oci:{}", sandbox.path().join("airgap").display());
    let run = sandbox
        .run([
            "pack",
            "copy",
            "hello-chart:0.1.0",
            "--from",
            r,
            "--to",
            &store,
        ])
        .success();
    // The pack, its .sig tag, and its bundle referrer.
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    let verified = verify(&sandbox, "hello-chart:0.1.0", s(&public), &store).success();
    assert!(
        verified.stderr.contains("(legacy and bundle)"),
        "{}",
        verified.stderr
    );
    // ls does not list signatures as versions, and says the version is signed.
    let run = sandbox.run(["pack", "ls", "-r", &store]).success();
    assert_eq!(
        common::ls_versions(&run.stdout),
        [("hello-chart".to_string(), "0.1.0".to_string())]
    );
    assert_eq!(
        run.ls_signed("hello-chart", "0.1.0"),
        Some(true),
        "{}",
        run.stdout
    );

    // Deleting a version deletes its signature.
    sandbox
        .run(["pack", "delete", "hello-chart:0.1.0", "-r", r])
        .success();
    let tags = registry_store(&registry);
    let tags = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(tags.tags("spectro-packs/archive/hello-chart"))
        .unwrap();
    assert!(tags.is_empty(), "{tags:?}");
}

#[test]
fn a_signed_payload_of_another_type_is_refused() {
    use p256::ecdsa::signature::Signer;
    let sandbox = Sandbox::new();
    let root_dir = sandbox.path().join("store");
    let store_arg = format!("oci:{}", root_dir.display());
    let (private, public) = generate(&sandbox, "k", "");
    let run = sandbox
        .run([
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            &store_arg,
        ])
        .success();
    let digest = Digest::parse(&digest_of(&run.stdout)).unwrap();

    // A payload the right key signed, for the right digest, but not a container image
    // signature (sigstore-rs does not look at `critical.type`; packctl must).
    let payload = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"x"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image attestation"}},"optional":null}}"#
    );
    let key = packctl::sign::keys::load_private_key(&private, || Ok(Vec::new())).unwrap();
    let signature: p256::ecdsa::Signature = key.sign(payload.as_bytes());
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(signature.to_der().as_bytes());
    let layer = Descriptor::new(
        cosign::SIMPLESIGNING,
        Digest::of(payload.as_bytes()),
        payload.len() as u64,
    )
    .annotate(cosign::SIGNATURE_ANNOTATION, encoded);
    let store = Store::Layout(packctl::store::LayoutStore::new(&root_dir));
    let repository = "spectro-packs/archive/hello-chart";
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let quiet: packctl::progress::Progress = std::sync::Arc::new(|_| {});
        store
            .push_blob(
                repository,
                &layer,
                &Source::Bytes(payload.clone().into()),
                &quiet,
            )
            .await
            .unwrap();
        packctl::ops::sign::put_signatures(&store, repository, &digest, vec![layer])
            .await
            .unwrap();
    });
    verify(&sandbox, "hello-chart:0.1.0", s(&public), &store_arg)
        .fails_with(&["its type is `cosign container image attestation`"]);
}

#[test]
fn malformed_signature_layers_are_skipped_and_named() {
    let sandbox = Sandbox::new();
    let root_dir = sandbox.path().join("store");
    let store_arg = format!("oci:{}", root_dir.display());
    let (private, public) = generate(&sandbox, "k", "");
    let run = sandbox
        .run([
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            &store_arg,
        ])
        .success();
    let digest = Digest::parse(&digest_of(&run.stdout)).unwrap();
    // The legacy format alone: its layers are what this test breaks.
    with_password(
        &sandbox,
        "",
        &[
            "pack",
            "sign",
            "hello-chart:0.1.0",
            "--key",
            s(&private),
            "-r",
            &store_arg,
            "--signature-format",
            "legacy",
        ],
    )
    .success();

    let store = Store::Layout(packctl::store::LayoutStore::new(&root_dir));
    let repository = "spectro-packs/archive/hello-chart";
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let valid = runtime.block_on(async {
        let tag = cosign::signature_tag(&digest);
        let sig = store.resolve(repository, &tag).await.unwrap().unwrap();
        let bytes = store.fetch_manifest(repository, &sig.digest).await.unwrap();
        Manifest::from_slice(&bytes).unwrap().layers.remove(0)
    });
    let with_signature = |text: &str| {
        let mut layer = valid.clone();
        layer
            .annotations
            .insert(cosign::SIGNATURE_ANNOTATION.into(), text.into());
        layer
    };
    let mut unannotated = valid.clone();
    unannotated.annotations.clear();
    let missing = Descriptor::new(cosign::SIMPLESIGNING, Digest::of(b"gone"), 4)
        .annotate(cosign::SIGNATURE_ANNOTATION, "AAAA");
    let huge = Descriptor::new(cosign::SIMPLESIGNING, Digest::of(b"huge"), 2 << 20)
        .annotate(cosign::SIGNATURE_ANNOTATION, "AAAA");
    let bad = vec![
        unannotated,
        with_signature("not base64!"),
        with_signature("AAAA"),
        missing,
        huge,
    ];
    let reasons = [
        "has no dev.cosignproject.cosign/signature annotation",
        "is not base64",
        "is not a DER ECDSA signature",
        "does not exist",
        "over the 1 MiB cap",
    ];
    let put = |layers: Vec<Descriptor>| {
        runtime.block_on(async {
            packctl::ops::sign::put_signatures(&store, repository, &digest, layers)
                .await
                .unwrap();
        })
    };

    // Bad layers before the valid one do not hide it; each is named in a warning.
    let mut layers = bad.clone();
    layers.push(valid.clone());
    put(layers);
    let run = verify(&sandbox, "hello-chart:0.1.0", s(&public), &store_arg).success();
    assert!(run.stderr.contains("verified "), "{}", run.stderr);
    for reason in reasons {
        assert!(
            run.stderr
                .lines()
                .any(|l| l.starts_with("warning: skipped a signature") && l.contains(reason)),
            "no warning with {reason:?}:\n{}",
            run.stderr
        );
    }

    // With no valid layer, the error says why each one was skipped.
    put(bad);
    let mut needles = vec!["none of the 5 signatures"];
    needles.extend(reasons);
    verify(&sandbox, "hello-chart:0.1.0", s(&public), &store_arg).fails_with(&needles);
}
