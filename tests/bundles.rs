//! cosign 3's bundle format checked against an independent implementation: Python's
//! `cryptography` verifies packctl's bundles, and packctl verifies bundles it made.

mod common;

use common::registry::check_output;
use common::{Sandbox, root};
use packctl::oci::Digest;
use packctl::sign::bundle::{self, Verdict};
use std::process::Command;

fn helper() -> String {
    root()
        .join("tests/support/dsse_bundle.py")
        .display()
        .to_string()
}

#[test]
fn python_cryptography_verifies_packctls_bundles() {
    let sandbox = Sandbox::new();
    let key = packctl::sign::keys::generate();
    let digest = Digest::of(b"a pack manifest");
    let path = sandbox.path().join("bundle.json");
    std::fs::write(&path, bundle::sign(&digest, &key)).unwrap();
    let public = sandbox.path().join("cosign.pub");
    std::fs::write(
        &public,
        packctl::sign::keys::public_key_pem(key.verifying_key()),
    )
    .unwrap();
    let args = |digest: &Digest| {
        vec![
            helper(),
            "verify".into(),
            path.display().to_string(),
            public.display().to_string(),
            digest.to_string(),
        ]
    };
    let out = check_output("python3", &args(&digest), &[]);
    assert_eq!(out.trim(), "verified");
    // The helper can fail: another digest is refused.
    let other = Command::new("python3")
        .args(args(&Digest::of(b"another manifest")))
        .output()
        .unwrap();
    assert!(!other.status.success());
}

#[test]
fn packctl_verifies_bundles_made_by_python_cryptography() {
    let sandbox = Sandbox::new();
    let digest = Digest::of(b"a pack manifest");
    let path = sandbox.path().join("bundle.json");
    let public = sandbox.path().join("cosign.pub");
    check_output(
        "python3",
        &[
            helper(),
            "make".into(),
            digest.to_string(),
            path.display().to_string(),
            public.display().to_string(),
        ],
        &[],
    );
    let bytes = std::fs::read(&path).unwrap();
    let key = packctl::sign::keys::load_public_key(&public).unwrap();
    assert_eq!(
        bundle::verify(&bytes, &key),
        Ok(Verdict::Covers(digest.to_string()))
    );
    let stranger = packctl::sign::keys::generate();
    assert_eq!(
        bundle::verify(&bytes, stranger.verifying_key()),
        Ok(Verdict::OtherKey)
    );
}

mod cli {
    //! cosign 3 bundles through the command line, on a real docker-registry (no referrers
    //! API: the referrers tag schema) and on a fake that has the API.

    use super::common::fake::{Fake, Faults};
    use super::common::registry::{Registry, check_output};
    use super::common::{Sandbox, root};
    use packctl::oci::{Digest, Location};
    use packctl::sign::bundle::BUNDLE_MEDIA_TYPE;
    use packctl::store::{OpenOptions, Store, fallback_tag};
    use std::path::{Path, PathBuf};

    const REPOSITORY: &str = "spectro-packs/archive/hello-chart";

    fn store_at(location: &str) -> Store {
        Store::open_blocking(&Location::parse(location).unwrap(), &OpenOptions::default()).unwrap()
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Runtime::new().unwrap().block_on(f)
    }

    fn key(sandbox: &Sandbox, dir: &str) -> (PathBuf, PathBuf) {
        let prefix = sandbox.path().join(dir).join("cosign");
        std::fs::create_dir_all(prefix.parent().unwrap()).unwrap();
        let out = sandbox
            .command()
            .env("COSIGN_PASSWORD", "")
            .args([
                "key",
                "generate",
                "--output-key-prefix",
                prefix.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        (prefix.with_extension("key"), prefix.with_extension("pub"))
    }

    fn sign_cmd(sandbox: &Sandbox, key: &Path, store: &str, format: &str) -> std::process::Command {
        let mut cmd = sandbox.command();
        cmd.env("COSIGN_PASSWORD", "").args([
            "pack",
            "sign",
            "hello-chart:0.1.0",
            "--key",
            key.to_str().unwrap(),
            "-r",
            store,
            "--signature-format",
            format,
        ]);
        cmd
    }

    fn verify(sandbox: &Sandbox, public: &Path, store: &str) -> super::common::Run {
        sandbox.run([
            "pack",
            "verify",
            "hello-chart:0.1.0",
            "--key",
            public.to_str().unwrap(),
            "-r",
            store,
        ])
    }

    fn pushed(sandbox: &Sandbox, store: &str) -> Digest {
        let run = sandbox
            .run(["pack", "push", "testdata/packs/hello-chart", "-r", store])
            .success();
        Digest::parse(run.stdout.trim().rsplit('@').next().unwrap()).unwrap()
    }

    /// Signed as cosign 3 signs, on a registry without the referrers API: the bundle is a
    /// referrer listed in the `sha256-<hex>` index, no `.sig` tag is written, the key verifies
    /// and another does not; two signers at once both stay; copies through an `oci:` store
    /// to another registry keep every referrer with its digest; delete removes them.
    #[test]
    fn bundles_on_a_registry_without_the_referrers_api() {
        let registry = Registry::plain();
        let r = registry.host.as_str();
        let sandbox = Sandbox::new();
        let (a, a_pub) = key(&sandbox, "a");
        let (b, b_pub) = key(&sandbox, "b");
        let (c, c_pub) = key(&sandbox, "c");
        let digest = pushed(&sandbox, r);
        let out = sign_cmd(&sandbox, &a, r, "bundle").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let store = store_at(r);
        let tags = block(store.tags(REPOSITORY)).unwrap();
        assert!(tags.contains(&fallback_tag(&digest)), "{tags:?}");
        assert!(!tags.iter().any(|t| t.ends_with(".sig")), "{tags:?}");
        let run = verify(&sandbox, &a_pub, r).success();
        assert!(run.stderr.contains("(bundle)"), "{}", run.stderr);
        verify(&sandbox, &b_pub, r).fails_with(&["the one signature of"]);

        // Two signers at once: the referrers index keeps both.
        let mut first = sign_cmd(&sandbox, &b, r, "bundle").spawn().unwrap();
        let mut second = sign_cmd(&sandbox, &c, r, "bundle").spawn().unwrap();
        assert!(first.wait().unwrap().success() && second.wait().unwrap().success());
        for public in [&a_pub, &b_pub, &c_pub] {
            verify(&sandbox, public, r).success();
        }
        let referrers = block(store.referrers(REPOSITORY, &digest, None)).unwrap();
        assert_eq!(referrers.len(), 3, "{referrers:?}");
        // Signing again with a key changes nothing.
        let again = sign_cmd(&sandbox, &a, r, "bundle").output().unwrap();
        assert!(String::from_utf8_lossy(&again.stderr).contains("unchanged"));
        assert_eq!(
            block(store.referrers(REPOSITORY, &digest, None))
                .unwrap()
                .len(),
            3
        );

        // registry → oci: → another registry, every referrer with its digest.
        let folder = format!("oci:{}", sandbox.path().join("airgap").display());
        let other = Registry::plain();
        for (from, to) in [(r, folder.as_str()), (folder.as_str(), other.host.as_str())] {
            sandbox
                .run([
                    "pack",
                    "copy",
                    "hello-chart:0.1.0",
                    "--from",
                    from,
                    "--to",
                    to,
                ])
                .success();
        }
        let mut want: Vec<Digest> = referrers.iter().map(|d| d.digest.clone()).collect();
        want.sort();
        for location in [folder.as_str(), other.host.as_str()] {
            let mut got: Vec<Digest> =
                block(store_at(location).referrers(REPOSITORY, &digest, Some(BUNDLE_MEDIA_TYPE)))
                    .unwrap()
                    .into_iter()
                    .map(|d| d.digest)
                    .collect();
            got.sort();
            assert_eq!(got, want, "{location}");
            for public in [&a_pub, &b_pub, &c_pub] {
                verify(&sandbox, public, location).success();
            }
        }

        // Delete takes the referrers and the index with it.
        sandbox
            .run(["pack", "delete", "hello-chart:0.1.0", "-r", r])
            .success();
        assert!(block(store.tags(REPOSITORY)).unwrap().is_empty());
        for referrer in &referrers {
            assert!(block(store.fetch_manifest(REPOSITORY, &referrer.digest)).is_err());
        }
    }

    /// Where the registry has the referrers API, it is what is read (filtered by artifact
    /// type) and the tag schema's index is never written.
    #[test]
    fn the_referrers_api_is_used_where_the_registry_has_it() {
        let fake = Fake::start(Faults {
            referrers_api: true,
            ..Faults::default()
        });
        let sandbox = Sandbox::new();
        let (a, a_pub) = key(&sandbox, "a");
        let digest = pushed(&sandbox, &fake.host);
        let out = sign_cmd(&sandbox, &a, &fake.host, "both").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let run = verify(&sandbox, &a_pub, &fake.host).success();
        assert!(run.stderr.contains("(legacy and bundle)"), "{}", run.stderr);
        let log = fake.log();
        let fallback = format!("/manifests/{}?", fallback_tag(&digest));
        assert!(
            !log.iter()
                .any(|(m, p, _)| m == "PUT" && p.contains(&fallback)),
            "{log:?}"
        );
        let filtered = format!(
            "/referrers/{digest}?artifactType=application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson"
        );
        assert!(
            log.iter()
                .any(|(m, p, _)| m == "GET" && p.contains(&filtered)),
            "{log:?}"
        );
        // An SBOM-type referrer is not taken for a bundle: the filter holds.
        let store = store_at(&fake.host);
        let bundles = block(store.referrers(REPOSITORY, &digest, Some(BUNDLE_MEDIA_TYPE))).unwrap();
        assert_eq!(bundles.len(), 1);
        let none =
            block(store.referrers(REPOSITORY, &digest, Some("application/spdx+json"))).unwrap();
        assert!(none.is_empty());
    }

    /// A bundle made outside packctl (Python's `cryptography`, following cosign's spec) and
    /// attached by hand as cosign 3 attaches it verifies with its key.
    #[test]
    fn a_bundle_made_elsewhere_and_attached_as_cosign_does_verifies() {
        let registry = Registry::plain();
        let r = registry.host.as_str();
        let sandbox = Sandbox::new();
        let digest = pushed(&sandbox, r);
        let bundle_path = sandbox.path().join("bundle.json");
        let public = sandbox.path().join("python.pub");
        check_output(
            "python3",
            &[
                root()
                    .join("tests/support/dsse_bundle.py")
                    .display()
                    .to_string(),
                "make".into(),
                digest.to_string(),
                bundle_path.display().to_string(),
                public.display().to_string(),
            ],
            &[],
        );
        let bundle = std::fs::read(&bundle_path).unwrap();
        let store = store_at(r);
        let subject = block(store.resolve(REPOSITORY, "0.1.0")).unwrap().unwrap();
        // The manifest as cosign's specs/BUNDLE_SPEC.md shows it, written here by hand.
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": BUNDLE_MEDIA_TYPE,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                       "digest": Digest::of(b"{}").to_string(), "size": 2},
            "layers": [{"mediaType": BUNDLE_MEDIA_TYPE,
                        "digest": Digest::of(&bundle).to_string(), "size": bundle.len()}],
            "subject": {"mediaType": subject.media_type, "digest": subject.digest.to_string(),
                        "size": subject.size},
            "annotations": {"dev.sigstore.bundle.content": "dsse-envelope",
                            "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1",
                            "org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let parsed = packctl::oci::Manifest::from_slice(&bytes).unwrap();
        let quiet: packctl::progress::Progress = std::sync::Arc::new(|_| {});
        block(async {
            for (d, blob) in [
                (&parsed.config, b"{}".to_vec()),
                (&parsed.layers[0], bundle.clone()),
            ] {
                store
                    .push_blob(
                        REPOSITORY,
                        d,
                        &packctl::content::Source::Bytes(blob.into()),
                        &quiet,
                    )
                    .await
                    .unwrap();
            }
            store
                .push_referrer(REPOSITORY, &parsed, bytes.clone().into())
                .await
                .unwrap();
        });
        let run = verify(&sandbox, &public, r).success();
        assert!(run.stderr.contains("(bundle)"), "{}", run.stderr);
    }

    /// `pack attach` attaches an SBOM as a referrer; `pack referrers` and `pack inspect` show
    /// the tree (a bundle signing the SBOM below it), filtered by type; copy carries it.
    #[test]
    fn attach_and_list_referrers() {
        let registry = Registry::plain();
        let r = registry.host.as_str();
        let sandbox = Sandbox::new();
        let digest = pushed(&sandbox, r);
        let sbom = sandbox.path().join("sbom.spdx.json");
        std::fs::write(&sbom, r#"{"spdxVersion":"SPDX-2.3"}"#).unwrap();
        let run = sandbox
            .run([
                "pack",
                "attach",
                "hello-chart:0.1.0",
                "--artifact-type",
                "application/spdx+json",
                sbom.to_str().unwrap(),
                "-r",
                r,
                "--output",
                "json",
            ])
            .success();
        let attached: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let sbom_digest = Digest::parse(attached["digest"].as_str().unwrap()).unwrap();
        // Sign the SBOM itself, so the tree has two levels.
        let (a, _) = key(&sandbox, "a");
        let out = sandbox
            .command()
            .env("COSIGN_PASSWORD", "")
            .args([
                "pack",
                "sign",
                &format!("{r}/{REPOSITORY}@{sbom_digest}"),
                "--key",
                a.to_str().unwrap(),
                "--signature-format",
                "bundle",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let run = sandbox
            .run([
                "pack",
                "referrers",
                "hello-chart:0.1.0",
                "-r",
                r,
                "--output",
                "json",
            ])
            .success();
        let tree: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(tree.as_array().unwrap().len(), 1, "{tree}");
        assert_eq!(tree[0]["digest"], sbom_digest.to_string());
        assert_eq!(tree[0]["artifactType"], "application/spdx+json");
        assert!(tree[0]["created"].as_str().unwrap().ends_with('Z'));
        assert_eq!(tree[0]["referrers"][0]["artifactType"], BUNDLE_MEDIA_TYPE);
        let text = sandbox
            .run(["pack", "inspect", "hello-chart:0.1.0", "-r", r])
            .success();
        assert!(
            text.stdout
                .contains(&format!("└── application/spdx+json  {sbom_digest}")),
            "{}",
            text.stdout
        );
        let filtered = sandbox
            .run([
                "pack",
                "referrers",
                "hello-chart:0.1.0",
                "-r",
                r,
                "--artifact-type",
                BUNDLE_MEDIA_TYPE,
                "--output",
                "json",
            ])
            .success();
        assert_eq!(filtered.stdout.trim(), "[]");

        // The attached file and the tree travel with a copy.
        let folder = format!("oci:{}", sandbox.path().join("airgap").display());
        sandbox
            .run([
                "pack",
                "copy",
                "hello-chart:0.1.0",
                "--from",
                r,
                "--to",
                &folder,
            ])
            .success();
        let copied = block(store_at(&folder).referrers(REPOSITORY, &digest, None)).unwrap();
        assert_eq!(copied.len(), 1);
        assert_eq!(copied[0].digest, sbom_digest);
        let signed = block(store_at(&folder).referrers(REPOSITORY, &sbom_digest, None)).unwrap();
        assert_eq!(signed.len(), 1);
        // Bad input is refused by name.
        sandbox
            .run([
                "pack",
                "attach",
                "hello-chart:0.1.0",
                "--artifact-type",
                "sbom",
                sbom.to_str().unwrap(),
                "-r",
                r,
            ])
            .fails_with(&["`sbom` is not a media type"]);
        sandbox
            .run([
                "pack",
                "attach",
                "hello-chart:0.1.0",
                "--artifact-type",
                "text/plain",
                "/does/not/exist",
                "-r",
                r,
            ])
            .fails_with(&["/does/not/exist"]);

        // Delete takes the whole tree: the SBOM, its signature, both indexes.
        sandbox
            .run(["pack", "delete", "hello-chart:0.1.0", "-r", r])
            .success();
        let tags = block(store_at(r).tags(REPOSITORY)).unwrap();
        assert!(tags.is_empty(), "{tags:?}");
        assert!(block(store_at(r).fetch_manifest(REPOSITORY, &signed[0].digest)).is_err());
    }
}
