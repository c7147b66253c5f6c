//! Tag writes that other writers cannot silently undo.
//!
//! In an `oci:` store the check of what a tag holds and the change of it happen together
//! under the layout folder's lock. A registry has no conditional tag update, so packctl
//! checks just before writing, waits a moment after, and reads the tag again: a writer that
//! finds another pack there fails (or, for signatures, merges again) instead of reporting a
//! success that did not last.

use super::Store;
use crate::content::{Source, StoreError, TagCondition, TagWrite, TaggedManifest, off_worker};
use crate::oci::Descriptor;
use crate::progress::Progress;
use crate::registry::RegistryStore;
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The shortest wait between writing a tag on a registry and reading it back.
pub const REGISTRY_SETTLE_MIN: Duration = Duration::from_millis(250);
/// The longest such wait.
pub const REGISTRY_SETTLE_MAX: Duration = Duration::from_secs(5);
/// The wait is this many times what this writer's own read-then-write took, so that
/// another writer that read the tag before this write lands its own write before the
/// read-back.
pub const REGISTRY_SETTLE_FACTOR: u32 = 4;
/// How many times a signature merge on a registry reads, merges and writes before it gives up.
pub const MAX_MERGE_ROUNDS: usize = 10;

/// How many more times a manifest is sent when a registry says a blob it names is unknown
/// although this writer has just stored or found it: the distribution registry says so for
/// a moment while another writer stores the same blob.
pub const MANIFEST_BLOB_RETRIES: u32 = 4;
/// The wait before the first such retry; each next wait is twice as long.
pub const MANIFEST_BLOB_RETRY_WAIT: Duration = Duration::from_millis(100);

/// How long to wait before reading back a tag written after a read that took `gap`.
fn settle_time(gap: Duration) -> Duration {
    (gap * REGISTRY_SETTLE_FACTOR).clamp(REGISTRY_SETTLE_MIN, REGISTRY_SETTLE_MAX)
}

/// Whether a registry refused a manifest for naming a blob it does not know.
fn is_blob_unknown(error: &StoreError) -> bool {
    matches!(error, StoreError::Registry { errors, .. }
        if errors.iter().any(|e| e.code == "MANIFEST_BLOB_UNKNOWN" || e.code == "BLOB_UNKNOWN"))
}

/// Sends a manifest whose blobs this writer has stored, retrying while the registry still
/// settles a blob another writer stored at the same moment.
async fn push_manifest(
    registry: &RegistryStore,
    repository: &str,
    descriptor: &Descriptor,
    bytes: Bytes,
    tag: &str,
) -> Result<(), StoreError> {
    let mut wait = MANIFEST_BLOB_RETRY_WAIT;
    let mut retries = 0;
    loop {
        match registry
            .push_manifest(repository, descriptor, bytes.clone(), Some(tag))
            .await
        {
            Err(e) if retries < MANIFEST_BLOB_RETRIES && is_blob_unknown(&e) => {
                retries += 1;
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            other => return other,
        }
    }
}

impl Store {
    /// Stores a manifest and points `tag` at it if what the tag holds meets `condition`.
    ///
    /// Atomic in an `oci:` store. On a registry the tag is checked just before the write and,
    /// unless `condition` is [`TagCondition::Any`], read back after a short wait; when another
    /// writer moved it meanwhile, this fails with [`StoreError::TagRace`] rather than report a
    /// write that did not last.
    pub async fn put_manifest_if(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        bytes: Bytes,
        tag: &str,
        condition: &TagCondition,
    ) -> Result<TagWrite, StoreError> {
        self.traced("put_manifest_if", repository, tag, async {
            let registry = match self {
                Store::Layout(s) => {
                    let (layout, descriptor) = (s.layout(repository), descriptor.clone());
                    let (tag, condition) = (tag.to_string(), condition.clone());
                    return off_worker(s.display(), move || {
                        layout.put_manifest_if(&descriptor, &bytes, &tag, &condition)
                    })
                    .await;
                }
                Store::Registry(r) => r,
                Store::Archive(_) => return Err(self.read_only(repository)),
            };
            let started = Instant::now();
            let current = registry.resolve(repository, tag).await?.map(|d| d.digest);
            if !condition.allows(current.as_ref()) {
                return Ok(TagWrite::Refused { current });
            }
            push_manifest(registry, repository, descriptor, bytes, tag).await?;
            if *condition == TagCondition::Any {
                // Any writer may replace the tag: writers at once end as they would one after
                // another, so there is no race to catch and no reason to wait.
                return Ok(TagWrite::Written { previous: current });
            }
            tokio::time::sleep(settle_time(started.elapsed())).await;
            let now = registry.resolve(repository, tag).await?.map(|d| d.digest);
            if now.as_ref() != Some(&descriptor.digest) {
                return Err(StoreError::TagRace {
                    reference: self.reference(repository, tag),
                    ours: descriptor.digest.clone(),
                    theirs: now,
                });
            }
            Ok(TagWrite::Written { previous: current })
        })
        .await
    }

    /// Replaces what `tag` points at with what `change` makes of its manifest's bytes
    /// (`None` from `change`: what is there is fine); returns what the tag points at in the
    /// end.
    ///
    /// In an `oci:` store the read, `change` and the write happen under the layout's lock. On
    /// a registry, after each write the tag is read back after a short wait and `change` is
    /// asked again, so a write by another merger in between is merged with rather than lost;
    /// after [`MAX_MERGE_ROUNDS`] writes this fails with [`StoreError::TagContended`].
    pub async fn merge_tag<E: From<StoreError> + std::error::Error + Send + 'static>(
        &self,
        repository: &str,
        tag: &str,
        mut change: impl FnMut(Option<&Bytes>) -> Result<Option<TaggedManifest>, E> + Send + 'static,
    ) -> Result<Option<Descriptor>, E> {
        self.traced("merge_tag", repository, tag, async {
            let registry = match self {
                Store::Layout(s) => {
                    let (layout, tag) = (s.layout(repository), tag.to_string());
                    let location = self.location(repository);
                    return off_worker(s.display(), move || {
                        layout.replace_tagged(&tag, &location, change)
                    })
                    .await;
                }
                Store::Registry(r) => r,
                Store::Archive(_) => return Err(self.read_only(repository).into()),
            };
            let quiet: Progress = Arc::new(|_| {});
            for round in 0..=MAX_MERGE_ROUNDS {
                let started = Instant::now();
                let current = registry.resolve(repository, tag).await?;
                let bytes = match &current {
                    Some(d) => Some(registry.fetch_manifest(repository, &d.digest).await?),
                    None => None,
                };
                let Some(new) = change(bytes.as_ref())? else {
                    return Ok(current);
                };
                if round == MAX_MERGE_ROUNDS {
                    break;
                }
                for (descriptor, blob) in new.blobs {
                    registry
                        .push_blob(repository, &descriptor, &Source::Bytes(blob), &quiet)
                        .await?;
                }
                push_manifest(registry, repository, &new.descriptor, new.bytes, tag).await?;
                tokio::time::sleep(settle_time(started.elapsed())).await;
            }
            Err(StoreError::TagContended {
                reference: self.reference(repository, tag),
                rounds: MAX_MERGE_ROUNDS,
            }
            .into())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::Digest;

    #[test]
    fn conditions_and_settle_times() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        assert!(TagCondition::Any.allows(Some(&a)) && TagCondition::Any.allows(None));
        assert!(TagCondition::Absent.allows(None) && !TagCondition::Absent.allows(Some(&a)));
        assert!(TagCondition::Is(a.clone()).allows(Some(&a)));
        assert!(!TagCondition::Is(a.clone()).allows(Some(&b)));
        assert!(!TagCondition::Is(a).allows(None));
        assert_eq!(settle_time(Duration::ZERO), REGISTRY_SETTLE_MIN);
        assert_eq!(
            settle_time(Duration::from_millis(100)),
            Duration::from_millis(400)
        );
        assert_eq!(settle_time(Duration::from_secs(60)), REGISTRY_SETTLE_MAX);
    }
}
