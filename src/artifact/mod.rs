//! The OCI artifact of a pack: media types, reproducible tar+gzip, building the manifest and
//! reading an artifact back into a folder. `docs/format.md` specifies the bytes.

mod build;
pub mod cache;
mod tarball;
pub mod unpack;

pub use build::{Artifact, Blob, BlobSource, BuildOptions, archive_name, build, rfc3339};
pub use tarball::{GZIP_LEVEL, TarGzDigests, TarGzWriter};

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// How a pack is laid out as an OCI artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Format {
    /// pack.json as the config blob, every file a layer (the default).
    #[default]
    Structured,
    /// One tar.gz of the pack folder, as Palette reads from OCI registries.
    Archive,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Structured => "structured",
            Format::Archive => "archive",
        })
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "structured" => Ok(Format::Structured),
            "archive" => Ok(Format::Archive),
            _ => Err(format!(
                "`{s}` is not a format; use `structured` or `archive`"
            )),
        }
    }
}

/// Why an artifact could not be built or unpacked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// Reading or writing a file failed.
    #[error("cannot read or write `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A pack file changed while the artifact was being built.
    #[error("`{}` changed while the artifact was being built", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// A store lacks a layer whose bytes were not made (see [`BlobSource::Deferred`]).
    #[error("layer `{title}` ({digest}) was not compressed, its digest came from the layer cache")]
    Deferred {
        /// The layer title.
        title: String,
        /// Its digest.
        digest: crate::oci::digest::Digest,
    },
    /// The manifest cannot be unpacked.
    #[error("the manifest cannot be unpacked: {reason}")]
    Manifest {
        /// Why.
        reason: String,
    },
    /// A layer title is unsafe.
    #[error("layer title `{title}` is refused: {reason}")]
    Title {
        /// The title.
        title: String,
        /// Why.
        reason: String,
    },
    /// Two layers would write the same path, or one inside the other.
    #[error("layers `{first}` and `{second}` would overwrite each other")]
    Conflict {
        /// One path.
        first: String,
        /// The other.
        second: String,
    },
    /// A tar entry is unsafe.
    #[error("entry `{entry}` of layer `{layer}` is refused: {reason}")]
    Entry {
        /// The layer title.
        layer: String,
        /// The entry name.
        entry: String,
        /// Why.
        reason: String,
    },
    /// A tar layer is not what its descriptor says.
    #[error("layer `{layer}` cannot be unpacked: {reason}")]
    Archive {
        /// The layer title.
        layer: String,
        /// Why.
        reason: String,
    },
    /// Unpacking went over a cap.
    #[error("the artifact unpacks to more than {limit} {what}")]
    Limit {
        /// What was counted.
        what: &'static str,
        /// The cap.
        limit: u64,
    },
}
