//! The errors of packctl's operations: typed data (paths, references, digests, what the
//! registry said) for a program to match on; the command line renders them with its hints.

use crate::artifact::ArtifactError;
use crate::content::StoreError;
use crate::oci::Digest;
use crate::oci::ReferenceError;
use crate::pack::{Finding, PackError};
use std::path::PathBuf;

/// Why an operation (push, pull, inspect, …) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The pack folder is invalid or cannot be written.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// The artifact cannot be built or unpacked.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A pack reference is malformed.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// Signing or verification failed.
    #[error(transparent)]
    Sign(#[from] crate::sign::SignError),
    /// `pack attach` was given files or a type it cannot attach.
    #[error("cannot attach: {reason}")]
    Attach {
        /// Why.
        reason: String,
    },
    /// The tag exists with other content and overwriting was not asked for.
    #[error("{reference} already holds another pack ({existing}); this one is {new}")]
    TagExists {
        /// The tag.
        reference: String,
        /// What it points at.
        existing: Digest,
        /// What would have been pushed.
        new: Digest,
    },
    /// The store holds no version of the pack.
    #[error("{location} holds no versions of `{name}`")]
    NoVersions {
        /// The repository.
        location: String,
        /// The pack name.
        name: String,
    },
    /// The target folder of a pull exists and is not empty.
    #[error("`{}` already exists and is not empty", path.display())]
    TargetExists {
        /// The folder.
        path: PathBuf,
    },
    /// The manifest cannot be read as a pack.
    #[error("the manifest of {reference} cannot be used: {reason}")]
    BadManifest {
        /// The manifest.
        reference: String,
        /// Why.
        reason: String,
    },
    /// A pull would go over one of its caps; nothing was fetched.
    #[error("{reference} {what}; a pull {cap}")]
    PullLimit {
        /// The manifest.
        reference: String,
        /// What the manifest asks for (`has 12000 layers`).
        what: String,
        /// The cap (`takes at most 10000 layers`).
        cap: String,
        /// The environment variable that sets the cap for the command line.
        setting: &'static str,
    },
    /// The config blob is not what the artifact's encoding requires.
    #[error("the config blob {digest} of {reference} is refused: {reason}")]
    BadConfig {
        /// The manifest.
        reference: String,
        /// The config's digest.
        digest: Digest,
        /// Why.
        reason: String,
    },
    /// The config blob cannot be fetched.
    #[error("cannot read the config blob {digest} of {reference}")]
    ConfigUnreadable {
        /// The manifest.
        reference: String,
        /// The config's digest.
        digest: Digest,
        /// The cause.
        #[source]
        source: Box<Error>,
    },
    /// The pulled folder fails validation.
    #[error("the pack pulled from {reference} is invalid; nothing was written")]
    PulledInvalid {
        /// Where it came from.
        reference: String,
        /// Every finding.
        findings: Vec<Finding>,
    },
    /// `SOURCE_DATE_EPOCH` is not a number of seconds.
    #[error("SOURCE_DATE_EPOCH `{value}` is not a whole number of seconds since 1970")]
    BadEpoch {
        /// What it holds.
        value: String,
    },
    /// The built manifest is over the size registries and packctl accept.
    #[error(
        "the manifest of {reference} would be {size} bytes ({layers} layers); registries and packctl accept at most {limit}"
    )]
    ManifestTooLarge {
        /// What was to be pushed.
        reference: String,
        /// The manifest's size.
        size: u64,
        /// How many layers it lists.
        layers: usize,
        /// The cap, [`crate::oci::MAX_MANIFEST_SIZE`].
        limit: u64,
    },
    /// A pack file changed after it was hashed, so the store refused what was sent.
    #[error("`{}` changed while it was pushed", path.display())]
    ChangedWhilePushed {
        /// The file.
        path: PathBuf,
        /// What the store said of the bytes it received.
        #[source]
        source: Box<StoreError>,
    },
    /// Images a pack lists could not be mirrored.
    #[error("{} image(s) could not be copied: {}", failed.len(), failed.join("; "))]
    Mirror {
        /// Each image and why.
        failed: Vec<String>,
    },
    /// A local file or folder cannot be read or written.
    #[error("cannot read or write `{}`", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The findings that go with the error, for packs that are invalid.
    pub fn findings(&self) -> &[Finding] {
        match self {
            Error::Pack(PackError::Invalid { findings, .. })
            | Error::PulledInvalid { findings, .. } => findings,
            _ => &[],
        }
    }
}
