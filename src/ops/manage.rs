//! Tags and deletions: `pack tag add`, `pack tag delete` and `pack delete`.

use super::{Located, parse_manifest, resolve};
use crate::content::{StoreError, TagCondition, TagWrite};
use crate::error::Error;
use crate::oci::Digest;
use crate::oci::is_valid_tag;
use crate::store::Store;
use serde::Serialize;

/// The result of adding a tag.
#[derive(Debug, Clone, Serialize)]
pub struct Tagged {
    /// The new reference.
    pub reference: String,
    /// The manifest it points at.
    pub digest: Digest,
    /// Whether the tag already pointed there.
    pub unchanged: bool,
}

/// Points `tag` at the manifest `located` names; moving a tag that points elsewhere needs
/// `force`. Without `force` the tag is written only if it is still absent when it is written
/// (see [`Store::put_manifest_if`]).
pub async fn tag_add(
    store: &Store,
    located: &Located,
    tag: &str,
    force: bool,
) -> Result<Tagged, Error> {
    if !is_valid_tag(tag) {
        return Err(StoreError::InvalidTag {
            tag: tag.to_string(),
        }
        .into());
    }
    let resolved = resolve(store, located).await?;
    let reference = store.reference(&resolved.repository, tag);
    let ours = resolved.descriptor.digest.clone();
    let unchanged = |digest: Digest| Tagged {
        reference: reference.clone(),
        digest,
        unchanged: true,
    };
    let refused = |existing: Digest| Error::TagExists {
        reference: reference.clone(),
        existing,
        new: ours.clone(),
    };
    match store.resolve(&resolved.repository, tag).await? {
        Some(existing) if existing.digest == ours => return Ok(unchanged(existing.digest)),
        Some(existing) if !force => return Err(refused(existing.digest)),
        _ => {}
    }
    let bytes = store
        .fetch_manifest(&resolved.repository, &resolved.descriptor.digest)
        .await?;
    let manifest = parse_manifest(&resolved.reference, &bytes)?;
    let mut descriptor = resolved.descriptor.clone();
    descriptor.artifact_type = manifest.artifact_type;
    let condition = if force {
        TagCondition::Any
    } else {
        TagCondition::Absent
    };
    match store
        .put_manifest_if(&resolved.repository, &descriptor, bytes, tag, &condition)
        .await?
    {
        TagWrite::Written { .. } => {}
        TagWrite::Refused {
            current: Some(current),
        } if current == ours => return Ok(unchanged(current)),
        TagWrite::Refused {
            current: Some(current),
        } => return Err(refused(current)),
        TagWrite::Refused { current: None } => {
            return Err(StoreError::TagRace {
                reference,
                ours,
                theirs: None,
            }
            .into());
        }
    }
    Ok(Tagged {
        reference,
        digest: ours,
        unchanged: false,
    })
}

/// Removes one tag; the manifest and its other tags stay.
pub async fn tag_delete(store: &Store, repository: &str, tag: &str) -> Result<String, Error> {
    store.delete_tag(repository, tag).await?;
    Ok(store.reference(repository, tag))
}

/// The result of deleting a pack version.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    /// What was deleted.
    pub reference: String,
    /// The manifest.
    pub digest: Digest,
    /// Every tag that pointed at it, now gone.
    pub tags: Vec<String>,
    /// Its cosign signature tags (`sha256-….sig`, `.att`, `.sbom`) that went with it.
    pub signatures: Vec<String>,
    /// The referrers (cosign 3 bundles, SBOMs, and theirs) that went with it.
    pub referrers: Vec<Digest>,
    /// Nothing was deleted: this is what a delete would remove ([`plan_delete`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

/// The cosign tags that belong to a manifest: `sha256-<hex>.sig`, `.att`, `.sbom`.
pub fn signature_tags(digest: &Digest) -> [String; 3] {
    let stem = format!("{}-{}", digest.algorithm(), digest.hex());
    [
        format!("{stem}.sig"),
        format!("{stem}.att"),
        format!("{stem}.sbom"),
    ]
}

/// The tags of `repository` that name `digest`, signature tags left out; `known` is a tag
/// known to name it already, which is not looked up again.
pub async fn tags_naming(
    store: &Store,
    repository: &str,
    digest: &Digest,
    known: Option<&str>,
) -> Result<Vec<String>, Error> {
    let mut tags = Vec::new();
    for tag in store.tags(repository).await? {
        let names_it = known == Some(tag.as_str())
            || (!tag.starts_with("sha256-")
                && store
                    .resolve(repository, &tag)
                    .await?
                    .is_some_and(|d| &d.digest == digest));
        if names_it {
            tags.push(tag);
        }
    }
    Ok(tags)
}

/// The cosign tags of `digest` ([`signature_tags`]) that exist in `repository`.
pub async fn present_signature_tags(
    store: &Store,
    repository: &str,
    digest: &Digest,
) -> Result<Vec<String>, Error> {
    let mut present = Vec::new();
    for tag in signature_tags(digest) {
        if store.resolve(repository, &tag).await?.is_some() {
            present.push(tag);
        }
    }
    Ok(present)
}

/// What deleting the manifest `located` names would remove, touching nothing.
pub async fn plan_delete(store: &Store, located: &Located) -> Result<Deleted, Error> {
    let resolved = resolve(store, located).await?;
    let digest = resolved.descriptor.digest.clone();
    let repository = &resolved.repository;
    let tags = tags_naming(store, repository, &digest, resolved.tag.as_deref()).await?;
    // Its referrers (cosign 3 bundles, SBOMs, their signatures), listed while it exists.
    let tree = super::referrer_tree(store, repository, &digest, None).await?;
    let mut referrers = Vec::new();
    let mut stack: Vec<&super::Referrer> = tree.iter().collect();
    while let Some(r) = stack.pop() {
        referrers.push(r.digest.clone());
        stack.extend(r.referrers.iter());
    }
    let signatures = present_signature_tags(store, repository, &digest).await?;
    Ok(Deleted {
        reference: resolved.reference,
        digest,
        tags,
        signatures,
        referrers,
        dry_run: true,
    })
}

/// Deletes the manifest `located` names, with every tag on it, its cosign signatures and
/// its referrers.
pub async fn delete(store: &Store, located: &Located) -> Result<Deleted, Error> {
    let mut plan = plan_delete(store, located).await?;
    let repository = &located.repository;
    let digest = plan.digest.clone();
    store.delete_manifest(repository, &digest).await?;
    for subject in std::iter::once(&digest).chain(&plan.referrers) {
        if subject != &digest {
            match store.delete_manifest(repository, subject).await {
                Ok(()) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(index) = store
            .resolve(repository, &crate::store::fallback_tag(subject))
            .await?
        {
            store.delete_manifest(repository, &index.digest).await?;
        }
    }
    // Signatures of a manifest that is gone would only mislead.
    for tag in &plan.signatures {
        if let Some(signature) = store.resolve(repository, tag).await? {
            match store.delete_manifest(repository, &signature.digest).await {
                Ok(()) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    plan.dry_run = false;
    Ok(plan)
}

/// What went from one repository.
#[derive(Debug, Clone, Serialize)]
pub struct Collection {
    /// The repository.
    pub repository: String,
    /// What went.
    #[serde(flatten)]
    pub collected: crate::layout::Collected,
}

/// What `pack gc` removed from an `oci:` store.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Garbage {
    /// Each repository and what went from it.
    pub repositories: Vec<Collection>,
    /// Blobs removed in all.
    pub removed: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Blobs modified after this (seconds since the epoch) were kept.
    pub cutoff: u64,
    /// Nothing was removed: this is what a collection would remove.
    pub dry_run: bool,
}

/// Removes the blobs of an `oci:` store that nothing references, one repository at a time
/// under its lock, keeping every blob modified within `min_age` or since the oldest packctl
/// process on this machine started (a push under way may be about to name it).
pub async fn gc(
    store: &Store,
    min_age: std::time::Duration,
    dry_run: bool,
) -> Result<Garbage, Error> {
    let Store::Layout(layout) = store else {
        return Err(
            StoreError::Location(crate::oci::LocationError::BadLocation {
                location: store.location(""),
                reason: "gc works on `oci:` stores; a registry collects its own garbage".into(),
            })
            .into(),
        );
    };
    if !layout.root().is_dir() {
        return Err(StoreError::NoStore {
            location: layout.display().to_string(),
        }
        .into());
    }
    let now = std::time::SystemTime::now();
    let cutoff = now.checked_sub(min_age).unwrap_or(std::time::UNIX_EPOCH);
    let cutoff = match crate::scratch::oldest_packctl_start() {
        Some(oldest) => cutoff.min(oldest),
        // Without /proc, nothing tells who is running: keep everything young enough to be.
        None => cutoff,
    };
    let repositories = store.repositories("").await?;
    let mut garbage = Garbage {
        repositories: Vec::new(),
        removed: 0,
        bytes: 0,
        cutoff: cutoff
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        dry_run,
    };
    for repository in repositories {
        let target = layout.layout(&repository);
        let location = store.location(&repository);
        let collected = crate::content::off_worker(layout.display(), move || {
            target.collect(cutoff, dry_run, &location)
        })
        .await?;
        garbage.removed += collected.removed.len();
        garbage.bytes += collected.bytes;
        garbage.repositories.push(Collection {
            repository,
            collected,
        });
    }
    Ok(garbage)
}
