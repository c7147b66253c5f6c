//! The operations behind the commands: push, pull, inspect and list packs in a store.

mod inspect;
mod list;
mod pull;
mod push;

pub use inspect::{Inspection, inspect};
pub use list::{PackVersions, TagInfo, list};
pub use pull::{PullOptions, PullOutcome, pull};
pub use push::{PushOptions, PushOutcome, PushStatus, build_pack, push, push_artifact};

use crate::artifact::{Descriptor, Manifest, media_type};
use crate::error::Error;
use crate::reference::{PackRef, Selector, tag_version};
use crate::store::Store;
use serde::Serialize;

/// How many blobs moved and how many the target had already.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// Blobs sent.
    pub transferred: usize,
    /// Blobs the target had.
    pub present: usize,
    /// Bytes sent.
    pub bytes: u64,
}

impl Transfer {
    fn from_results(results: &[(bool, u64)]) -> Self {
        let mut t = Transfer::default();
        for (sent, size) in results {
            if *sent {
                t.transferred += 1;
                t.bytes += size;
            } else {
                t.present += 1;
            }
        }
        t
    }
}

/// A pack reference resolved in a store.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The repository.
    pub repository: String,
    /// The tag, unless a digest was asked for.
    pub tag: Option<String>,
    /// The manifest descriptor.
    pub descriptor: Descriptor,
    /// `LOCATION/REPOSITORY:TAG` or `…@DIGEST`.
    pub reference: String,
}

/// Finds the manifest a pack reference names.
pub async fn resolve(store: &Store, pack: &PackRef) -> Result<Resolved, Error> {
    let repository = store.pack_repository(&pack.name);
    let tag = match &pack.selector {
        Selector::Digest(digest) => {
            let bytes = store.fetch_manifest(&repository, digest).await?;
            let manifest = parse_manifest(&store.reference(&repository, digest.as_str()), &bytes)?;
            let mut descriptor =
                Descriptor::new(media_type::MANIFEST, digest.clone(), bytes.len() as u64);
            descriptor.artifact_type = manifest.artifact_type;
            return Ok(Resolved {
                reference: store.reference(&repository, digest.as_str()),
                repository,
                tag: None,
                descriptor,
            });
        }
        Selector::Highest => {
            let tags = store.tags(&repository).await?;
            tags.iter()
                .filter_map(|t| tag_version(t).map(|v| (v, t)))
                .max_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, t)| t.clone())
                .ok_or_else(|| Error::NoVersions {
                    location: store.location(&repository),
                    name: pack.name.clone(),
                })?
        }
        Selector::Version(_) | Selector::Tag(_) => pack.tag().expect("a version or tag"),
    };
    let reference = store.reference(&repository, &tag);
    let descriptor = store.resolve(&repository, &tag).await?.ok_or_else(|| {
        crate::store::StoreError::NotFound {
            reference: reference.clone(),
        }
    })?;
    Ok(Resolved {
        repository,
        tag: Some(tag),
        descriptor,
        reference,
    })
}

/// Parses manifest bytes, naming the reference on failure.
pub(crate) fn parse_manifest(reference: &str, bytes: &[u8]) -> Result<Manifest, Error> {
    Manifest::from_slice(bytes).map_err(|reason| Error::BadManifest {
        reference: reference.to_string(),
        reason,
    })
}
