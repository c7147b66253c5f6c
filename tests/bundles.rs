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
