//! Keys and the cosign signature format: key files as `cosign generate-key-pair` writes them
//! ([`keys`]), the simple-signing payload and signature manifests ([`cosign`]), and why a
//! signature does not verify ([`SignError`]). Reading and writing signatures in a store is
//! [`crate::ops::sign`]'s.

pub mod bundle;
pub mod cosign;
pub mod keys;

use crate::oci::Digest;
use serde::Serialize;
use std::path::PathBuf;

/// Why keys could not be used, or a signature did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// A key file cannot be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A key file is not a usable key.
    #[error("`{}` is not a usable key: {reason}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The password does not decrypt the private key.
    #[error("the password for `{}` is wrong", path.display())]
    WrongPassword {
        /// The key file.
        path: PathBuf,
    },
    /// No password, and no terminal to ask.
    #[error(
        "no password for the private key: COSIGN_PASSWORD is not set and stdin is not a terminal"
    )]
    NoPassword,
    /// Key generation would overwrite a file.
    #[error("`{}` already exists", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Writing a key file failed.
    #[error("cannot write `{}`", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The manifest has no signatures at all.
    #[error(
        "{reference} ({digest}) is not signed: there is no {tag}, nor a Sigstore bundle among its referrers"
    )]
    NoSignatures {
        /// The signed reference.
        reference: String,
        /// Its manifest digest.
        digest: Digest,
        /// The signature tag looked for.
        tag: String,
    },
    /// Signatures exist, but for another manifest.
    #[error(
        "the signatures of {reference} cover {signed}, not {digest}, the manifest it resolves to"
    )]
    DigestMismatch {
        /// The signed reference.
        reference: String,
        /// What it resolves to.
        digest: Digest,
        /// What the signature payload names.
        signed: String,
    },
    /// No signature verifies with the key.
    #[error(
        "{} of {reference} verifies with `{key}`{}",
        match count { 1 => "the one signature".to_string(), n => format!("none of the {n} signatures") },
        describe_skipped(skipped)
    )]
    NotVerified {
        /// The signed reference.
        reference: String,
        /// The public key.
        key: String,
        /// How many signatures were looked at.
        count: usize,
        /// The ones that could not be checked, and why.
        skipped: Vec<SkippedSignature>,
    },
}

/// `; N skipped:` and one line per skipped signature, or nothing.
fn describe_skipped(skipped: &[SkippedSignature]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    let mut out = format!("; {} could not be checked:", skipped.len());
    for s in skipped {
        out.push_str(&format!("\n  {s}"));
    }
    out
}

/// A signature layer that could not be checked, and why; the others are checked all the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedSignature {
    /// The layer's digest (its payload's).
    pub layer: Digest,
    /// Why it was skipped.
    pub reason: String,
}

impl std::fmt::Display for SkippedSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "layer {}: {}", self.layer, self.reason)
    }
}
