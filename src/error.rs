//! The errors of packctl's operations, and the hints that say how to fix them.

use crate::artifact::ArtifactError;
use crate::content::StoreError;
use crate::oci::Digest;
use crate::oci::ReferenceError;
use crate::pack::{Finding, PackError};
use std::error::Error as StdError;
use std::path::PathBuf;

/// Why an operation (push, pull, inspect, …) failed.
#[derive(Debug, thiserror::Error)]
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
    /// How to fix it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Pack(e) => e.hint(),
            Error::Store(e) => e.hint(),
            Error::Artifact(ArtifactError::Limit {
                what: "unpacked bytes",
                ..
            }) => Some(format!(
                "if you trust the artifact, raise the cap: {}=N packctl pack pull …",
                crate::env::EnvVars::PACKCTL_MAX_UNPACKED_BYTES
            )),
            Error::Artifact(_) => Some(
                "the artifact is damaged or was not made for packs; nothing was written".into(),
            ),
            Error::Reference(_) => Some("write NAME, NAME:VERSION or NAME@sha256:…".into()),
            Error::Sign(e) => e.hint(),
            Error::TagExists { .. } => Some(
                "pass -f to overwrite it, or raise `version` in pack.json to push a new version"
                    .into(),
            ),
            Error::NoVersions { .. } => Some("`packctl pack ls` lists the packs there".into()),
            Error::TargetExists { .. } => {
                Some("choose a new folder, or remove the existing one first".into())
            }
            Error::BadManifest { .. } => None,
            Error::PullLimit {
                reference, setting, ..
            } => Some(format!(
                "if you trust {reference}, raise the cap: {setting}=N packctl pack pull …"
            )),
            Error::BadConfig { .. } => Some(
                "the artifact was not made by packctl or `oras push`, or was changed since; nothing was written"
                    .into(),
            ),
            // A transport failure has its own hint (a stall, a broken connection).
            Error::ConfigUnreadable { source, .. } => source.hint().or_else(|| {
                Some(
                    "the store lacks the config blob or holds a damaged copy; push the pack again"
                        .into(),
                )
            }),
            Error::PulledInvalid { .. } => Some(
                "pass --no-validate to write it anyway, and `packctl pack validate` it there"
                    .into(),
            ),
            Error::BadEpoch { .. } => Some("unset it, or set it to `date +%s` output".into()),
            Error::ChangedWhilePushed { .. } => Some(
                "something wrote to the pack folder during the push; push again once nothing does (the tag was not moved)".into(),
            ),
            Error::Io { .. } => None,
            Error::ManifestTooLarge { .. } => Some(
                "every file is a layer: put many small files in a folder named in `ansibleRoles` (packed as one layer), or push with --format archive (one layer for the whole pack); nothing was uploaded"
                    .into(),
            ),
        }
    }

    /// The findings that go with the error, for packs that are invalid.
    pub fn findings(&self) -> &[Finding] {
        match self {
            Error::Pack(PackError::Invalid { findings, .. })
            | Error::PulledInvalid { findings, .. } => findings,
            _ => &[],
        }
    }
}

/// A hint that says how to fix `error`, when the library has one for it.
///
/// The command line calls this on each error of a chain, so a hint attached to a cause deep
/// inside still reaches the user.
pub fn hint(error: &(dyn StdError + 'static)) -> Option<String> {
    if let Some(e) = error.downcast_ref::<Error>() {
        return e.hint();
    }
    if let Some(e) = error.downcast_ref::<PackError>() {
        return e.hint();
    }
    if let Some(e) = error.downcast_ref::<StoreError>() {
        return e.hint();
    }
    if let Some(e) = error.downcast_ref::<crate::oci::LocationError>() {
        return crate::content::location_hint(e);
    }
    if let Some(e) = error.downcast_ref::<crate::sign::SignError>() {
        return e.hint();
    }
    if let Some(e) = error.downcast_ref::<crate::auth::CredentialError>() {
        return e.hint();
    }
    None
}
