//! The operations behind the commands: push, pull, inspect and list packs in a store.

mod airgap;
mod chart;
mod copy;
mod images;
mod inspect;
mod list;
mod manage;
mod mirror;
mod pull;
mod push;
mod referrers;
pub mod sign;

pub use airgap::{
    ExportEntry, ExportOptions, Exported, ImageInfo, ImportOptions, Imported, PackContent,
    content_references, describe_content, export, folder_content, import, mirror_content,
    stored_content,
};
pub use chart::fetch_chart;
pub use copy::{Copied, CopyOptions, CopyWhat, copy};
pub use images::{
    IMAGE_CHECK_CONCURRENCY, ImageCheck, ImageCheckError, ImageCheckOptions, ImageStatus,
    MAX_IMAGE_CHECKS, check_images,
};
pub use inspect::{Inspection, inspect};
pub use list::{PackVersions, TagInfo, VersionRow, is_signed, list, name_matches, version_rows};
pub use manage::{
    Collection, Deleted, Garbage, Tagged, delete, gc, plan_delete, present_signature_tags,
    signature_tags, tag_add, tag_delete, tags_naming,
};
pub use mirror::{
    IMAGES_AT_ONCE, ImageJob, ImagePrefix, MirrorOptions, MirrorStatus, Mirrored, copy_images,
    image_repository, open_image_registries, registry_jobs,
};
pub use pull::{PullOptions, PullOutcome, pull};
pub use push::{
    PushOptions, PushOutcome, PushStatus, SMALL_BLOB, build_pack, push, push_artifact, push_to,
};
pub use referrers::{Attached, MAX_REFERRER_DEPTH, Referrer, attach, referrer_tree};

use crate::content::BlobPut;
use crate::error::Error;
use crate::oci::{Descriptor, Manifest, media_type};
use crate::oci::{PackRef, Selector, tag_version};
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
    /// Blobs the registry mounted from another of its repositories, sending no byte.
    #[serde(skip_serializing_if = "is_zero")]
    pub mounted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Transfer {
    fn from_results(results: &[(BlobPut, u64)]) -> Self {
        let mut t = Transfer::default();
        for (put, size) in results {
            match put {
                BlobPut::Present => t.present += 1,
                BlobPut::Mounted => t.mounted += 1,
                _ => {
                    t.transferred += 1;
                    t.bytes += size;
                }
            }
        }
        t
    }

    /// `count` blobs the target holds, known without asking: the tag already names the
    /// manifest that lists them.
    fn already_there(count: usize) -> Self {
        Transfer {
            present: count,
            ..Transfer::default()
        }
    }
}

/// How many blobs move at once: up to `total`, of which at most `big` of [`SMALL_BLOB`]
/// bytes or more. Small blobs cost round trips, not bandwidth, so more of them overlap.
struct Lanes {
    big: tokio::sync::Semaphore,
    total: usize,
}

impl Lanes {
    fn new(big: usize, total: usize) -> Self {
        let big = big.max(1);
        Lanes {
            big: tokio::sync::Semaphore::new(big),
            total: total.max(big),
        }
    }

    fn total(&self) -> usize {
        self.total
    }

    /// Waits for a turn for a blob of `size` bytes; the turn lasts while the permit lives.
    async fn admit(&self, size: u64) -> Option<tokio::sync::SemaphorePermit<'_>> {
        if size < SMALL_BLOB {
            return None;
        }
        Some(
            self.big
                .acquire()
                .await
                .expect("the semaphore is never closed"),
        )
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

/// A repository in a store, and which of its versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The repository.
    pub repository: String,
    /// Which version.
    pub selector: Selector,
    /// What to call it in messages (the pack name, or the repository).
    pub name: String,
}

impl Located {
    /// A pack of a store, by name.
    pub fn pack(store: &Store, pack: &PackRef) -> Located {
        Located {
            repository: store.pack_repository(&pack.name),
            selector: pack.selector.clone(),
            name: pack.name.clone(),
        }
    }

    /// What a full reference names in the store opened from its location.
    pub fn full(reference: &crate::oci::FullRef) -> Located {
        Located {
            repository: reference.repository.clone(),
            selector: reference.selector.clone(),
            name: reference.to_string(),
        }
    }

    /// The tag the selector names directly, if any.
    pub fn tag(&self) -> Option<String> {
        match &self.selector {
            Selector::Version(v) => Some(v.tag()),
            Selector::Tag(t) => Some(t.clone()),
            Selector::Highest | Selector::Digest(_) => None,
        }
    }
}

/// The highest version among the tags of a repository: the highest release, or the highest
/// pre-release when there is no release (see [`crate::oci::version::highest`]).
pub(crate) async fn highest_tag(store: &Store, located: &Located) -> Result<String, Error> {
    let tags = store.tags(&located.repository).await?;
    crate::oci::version::highest(
        tags.into_iter()
            .filter_map(|t| tag_version(&t).map(|v| (v, t))),
    )
    .map(|(_, t)| t)
    .ok_or_else(|| Error::NoVersions {
        location: store.location(&located.repository),
        name: located.name.clone(),
    })
}

/// Finds the manifest a reference names.
pub async fn resolve(store: &Store, located: &Located) -> Result<Resolved, Error> {
    let repository = located.repository.clone();
    let tag = match &located.selector {
        Selector::Digest(digest) => {
            let bytes = store.fetch_manifest(&repository, digest).await?;
            let reference = store.reference(&repository, digest.as_str());
            let manifest = parse_manifest(&reference, &bytes)?;
            let mut descriptor = Descriptor::new(
                manifest
                    .media_type
                    .clone()
                    .unwrap_or_else(|| media_type::MANIFEST.to_string()),
                digest.clone(),
                bytes.len() as u64,
            );
            descriptor.artifact_type = manifest.artifact_type;
            return Ok(Resolved {
                reference,
                repository,
                tag: None,
                descriptor,
            });
        }
        Selector::Highest => highest_tag(store, located).await?,
        Selector::Version(_) | Selector::Tag(_) => located.tag().expect("a version or tag"),
    };
    let reference = store.reference(&repository, &tag);
    let descriptor = store.resolve(&repository, &tag).await?.ok_or_else(|| {
        crate::content::StoreError::NotFound {
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
pub fn parse_manifest(reference: &str, bytes: &[u8]) -> Result<Manifest, Error> {
    Manifest::from_slice(bytes).map_err(|reason| Error::BadManifest {
        reference: reference.to_string(),
        reason,
    })
}
