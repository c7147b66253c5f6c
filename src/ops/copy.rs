//! Copying packs between stores (registry ↔ registry, registry ↔ `oci:`), keeping digests:
//! air-gapped mirroring.

use super::manage::signature_tags;
use super::pull::PullOptions;
use super::push::{PushOptions, PushStatus};
use super::{Lanes, Located, Transfer, list, parse_manifest, resolve};
use crate::artifact::unpack::{self, Encoding};
use crate::artifact::{BuildOptions, Format};
use crate::content::{BlobPut, Source};
use crate::error::Error;
use crate::oci::Selector;
use crate::oci::annotation;
use crate::oci::digest::{CopyError, copy_verified};
use crate::oci::{Descriptor, Digest};
use crate::progress::{SharedReporter, blob_progress};
use crate::store::Store;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use std::collections::BTreeSet;

/// What to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CopyWhat {
    /// Every version of every pack.
    All,
    /// One pack: every version (`Selector::Highest` means all here), one version, or one digest.
    Pack {
        /// The pack name.
        name: String,
        /// Which version.
        selector: Selector,
    },
}

/// How to copy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CopyOptions {
    /// Overwrite target tags that hold other content.
    pub force: bool,
    /// Blobs of [`super::SMALL_BLOB`] bytes or more at once.
    pub concurrency: usize,
    /// Blobs at once in all, small ones included.
    pub small_concurrency: usize,
    /// Check (and copy) every blob even when the target already holds the manifest under
    /// that tag or digest: repairs a target that lost blobs.
    pub verify_blobs: bool,
    /// Re-encode packs of another encoding (pull, build in this one, push): for a registry
    /// Palette syncs, which reads only `archive`. The copy then has another digest, and the
    /// source's signatures, which name the source digest, are not copied. `None` copies
    /// every pack as it is.
    pub format: Option<Format>,
    /// How a re-encoded pack is built (the digest cache folder, the creation time).
    pub build: BuildOptions,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            force: false,
            concurrency: 4,
            small_concurrency: 16,
            verify_blobs: false,
            format: None,
            build: BuildOptions::default(),
        }
    }
}

/// One copied manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Copied {
    /// Where it came from.
    pub from: String,
    /// Where it went.
    pub to: String,
    /// The manifest digest, the same on both sides.
    pub digest: Digest,
    /// What happened to the target tag.
    #[serde(flatten)]
    pub status: PushStatus,
    /// Blobs moved and blobs the target had.
    pub blobs: Transfer,
    /// The pack was re-encoded for the target ([`CopyOptions::format`]), so `digest` is the
    /// copy's, not the source's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reencoded: bool,
    /// The target repository.
    #[serde(skip)]
    pub repository: String,
    /// The target tag (none for a referrer copied by digest).
    #[serde(skip)]
    pub tag: Option<String>,
}

impl Copied {
    /// Whether this is a pack version (not a signature tag nor a referrer).
    pub fn is_pack(&self) -> bool {
        self.tag
            .as_deref()
            .is_some_and(|t| !t.starts_with("sha256-"))
    }
}

/// Copies packs from one store to another.
pub async fn copy(
    from: &Store,
    to: &Store,
    what: &CopyWhat,
    options: &CopyOptions,
    reporter: &SharedReporter,
) -> Result<Vec<Copied>, Error> {
    let names: Vec<(String, Selector)> = match what {
        CopyWhat::All => list(from, None)
            .await?
            .into_iter()
            .map(|p| (p.name, Selector::Highest))
            .collect(),
        CopyWhat::Pack { name, selector } => vec![(name.clone(), selector.clone())],
    };
    let mut copied = Vec::new();
    // Source digests of re-encoded packs, whose signatures do not name the copies.
    let mut reencoded = BTreeSet::new();
    for (name, selector) in names {
        let source_repository = from.pack_repository(&name);
        let target_repository = to.pack_repository(&name);
        let references: Vec<String> = match &selector {
            Selector::Highest => {
                let mut tags = from.tags(&source_repository).await?;
                if tags.is_empty() {
                    return Err(Error::NoVersions {
                        location: from.location(&source_repository),
                        name,
                    });
                }
                // The referrers tag schema's indexes are not copied as tags: the referrers
                // they list are, after their subjects, and the target lists them its way.
                tags.retain(|t| !is_fallback_tag(t));
                // Packs first, then the signatures that name them.
                tags.sort_by_key(|t| t.starts_with("sha256-"));
                tags
            }
            _ => {
                let located = Located {
                    repository: source_repository.clone(),
                    selector: selector.clone(),
                    name: name.clone(),
                };
                let resolved = resolve(from, &located).await?;
                let mut refs = vec![
                    resolved
                        .tag
                        .unwrap_or_else(|| resolved.descriptor.digest.to_string()),
                ];
                for tag in signature_tags(&resolved.descriptor.digest) {
                    if from.resolve(&source_repository, &tag).await?.is_some() {
                        refs.push(tag);
                    }
                }
                refs
            }
        };
        for reference in references {
            if reencoded
                .iter()
                .any(|d: &Digest| signature_tags(d).contains(&reference))
            {
                continue;
            }
            if let Some(format) = options.format
                && !reference.starts_with("sha256-")
                && let Some(done) = reencode(
                    from,
                    &source_repository,
                    to,
                    &target_repository,
                    &reference,
                    format,
                    options,
                    reporter,
                )
                .await?
            {
                reencoded.insert(done.1);
                copied.push(done.0);
                continue;
            }
            let one = copy_one(
                from,
                &source_repository,
                to,
                &target_repository,
                &reference,
                options,
                reporter,
            )
            .await?;
            let subject = one.digest.clone();
            copied.push(one);
            // Then its referrers (cosign 3 bundles, SBOMs, attestations), and theirs.
            let mut queue = vec![subject];
            while let Some(subject) = queue.pop() {
                for referrer in from.referrers(&source_repository, &subject, None).await? {
                    if copied.iter().any(|c| c.digest == referrer.digest) {
                        continue;
                    }
                    let one = copy_one(
                        from,
                        &source_repository,
                        to,
                        &target_repository,
                        referrer.digest.as_str(),
                        options,
                        reporter,
                    )
                    .await?;
                    queue.push(one.digest.clone());
                    copied.push(one);
                }
            }
        }
    }
    Ok(copied)
}

/// Whether `tag` is a referrers tag schema index's: `sha256-<64 hex>` and nothing more.
fn is_fallback_tag(tag: &str) -> bool {
    tag.strip_prefix("sha256-")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Copies `reference` re-encoded in `format`, when it is a pack of another encoding; `None`
/// for a pack already in `format` (or an artifact that is no pack), to copy as it is.
/// Returns the copy and the source digest.
#[allow(clippy::too_many_arguments)]
async fn reencode(
    from: &Store,
    source_repository: &str,
    to: &Store,
    target_repository: &str,
    reference: &str,
    format: Format,
    options: &CopyOptions,
    reporter: &SharedReporter,
) -> Result<Option<(Copied, Digest)>, Error> {
    let selector = match Digest::parse(reference) {
        Ok(d) => Selector::Digest(d),
        Err(_) => Selector::Tag(reference.to_string()),
    };
    let located = Located {
        repository: source_repository.to_string(),
        selector,
        name: source_repository.to_string(),
    };
    let resolved = resolve(from, &located).await?;
    let bytes = from
        .fetch_manifest(source_repository, &resolved.descriptor.digest)
        .await?;
    let manifest = parse_manifest(&resolved.reference, &bytes)?;
    let wanted = match format {
        Format::Archive => Encoding::Archive,
        _ => Encoding::Structured,
    };
    match unpack::plan(&manifest) {
        Ok(plan) if plan.encoding != wanted && plan.encoding != Encoding::Files => {}
        _ => return Ok(None),
    }
    let scratch = crate::scratch::build_dir().map_err(|source| {
        Error::Artifact(crate::artifact::ArtifactError::Io {
            path: std::env::temp_dir(),
            source,
        })
    })?;
    let dir = scratch.path().join("pack");
    let pull_options = PullOptions {
        // The build below validates the pack.
        validate: false,
        concurrency: options.concurrency,
        small_concurrency: options.small_concurrency,
        ..PullOptions::default()
    };
    super::pull(from, &located, &dir, &pull_options, reporter).await?;
    let mut build = options.build.clone();
    build.format = format;
    build.message = manifest.annotations.get(annotation::MESSAGE).cloned();
    let push_options = PushOptions {
        force: options.force,
        verify_blobs: options.verify_blobs,
        concurrency: options.concurrency,
        small_concurrency: options.small_concurrency,
        build,
        ..PushOptions::default()
    };
    let pushed = super::push_to(to, Some(target_repository), &dir, &push_options, reporter).await?;
    let copied = Copied {
        from: resolved.reference,
        to: to.reference(target_repository, &pushed.tag),
        digest: pushed.digest,
        status: pushed.status,
        blobs: pushed.blobs,
        reencoded: true,
        repository: target_repository.to_string(),
        tag: Some(pushed.tag.clone()),
    };
    Ok(Some((copied, resolved.descriptor.digest)))
}

async fn copy_one(
    from: &Store,
    source_repository: &str,
    to: &Store,
    target_repository: &str,
    reference: &str,
    options: &CopyOptions,
    reporter: &SharedReporter,
) -> Result<Copied, Error> {
    let selector = match Digest::parse(reference) {
        Ok(d) => Selector::Digest(d),
        Err(_) => Selector::Tag(reference.to_string()),
    };
    let tag = match &selector {
        Selector::Tag(t) => Some(t.as_str()),
        _ => None,
    };
    let located = Located {
        repository: source_repository.to_string(),
        selector: selector.clone(),
        name: source_repository.to_string(),
    };
    let resolved = resolve(from, &located).await?;
    let target_reference = to.reference(target_repository, reference);
    let digest = &resolved.descriptor.digest;
    // Whether the tag may be written is decided before any blob moves, and again when it is
    // written, as for a push.
    let condition = match tag {
        Some(tag) => {
            super::push::tag_condition(to, target_repository, tag, digest, options.force).await?
        }
        None => None,
    };
    if tag.is_some() && condition.is_none() && !options.verify_blobs {
        // The target tag names this very manifest, which the target accepted only with all
        // its blobs.
        return Ok(Copied {
            from: resolved.reference,
            to: target_reference,
            digest: resolved.descriptor.digest,
            status: PushStatus::Unchanged,
            blobs: Transfer::default(),
            reencoded: false,
            repository: target_repository.to_string(),
            tag: tag.map(str::to_string),
        });
    }
    let bytes = from.fetch_manifest(source_repository, digest).await?;
    let manifest = parse_manifest(&resolved.reference, &bytes)?;
    let mut seen = BTreeSet::new();
    let blobs: Vec<&Descriptor> = std::iter::once(&manifest.config)
        .chain(&manifest.layers)
        .filter(|d| seen.insert(d.digest.clone()))
        .collect();
    let source = Source::Blobs {
        from,
        repository: source_repository,
    };
    let lanes = &Lanes::new(options.concurrency, options.small_concurrency);
    let config_digest = &manifest.config.digest;
    reporter.job_started(
        "copy",
        blobs.len(),
        Some(blobs.iter().map(|b| b.size).sum()),
    );
    let results: Vec<(BlobPut, u64)> = futures_util::stream::iter(blobs)
        .map(|blob| {
            let source = source.clone();
            async move {
                let _permit = lanes.admit(blob.size).await;
                // As push labels it: a config blob has no title of its own.
                let label = match blob.title() {
                    Some(title) => title.to_string(),
                    None if &blob.digest == config_digest => "config".to_string(),
                    None => blob.digest.to_string(),
                };
                let id = reporter.blob_started(&label, blob.size);
                let progress = blob_progress(reporter, id);
                let sent = match to
                    .push_blob(target_repository, blob, &source, &progress)
                    .await
                {
                    Ok(sent) => sent,
                    Err(err) => return Err(blame(from, source_repository, blob, err).await),
                };
                reporter.blob_finished(id, sent.is_new());
                Ok::<_, Error>((sent, blob.size))
            }
        })
        .buffer_unordered(lanes.total())
        .try_collect()
        .await?;
    let mut descriptor = resolved.descriptor.clone();
    descriptor.artifact_type = manifest.artifact_type.clone();
    let status = match tag {
        Some(tag) => {
            super::push::write_tag(to, target_repository, tag, &descriptor, bytes, condition)
                .await?
        }
        // A referrer is listed as one on the target (in its referrers tag schema index,
        // where it has no referrers API).
        None if manifest.subject.is_some() => {
            to.push_referrer(target_repository, &manifest, bytes)
                .await?;
            PushStatus::Pushed
        }
        None => {
            to.push_manifest(target_repository, &descriptor, bytes, None)
                .await?;
            PushStatus::Pushed
        }
    };
    Ok(Copied {
        from: resolved.reference,
        to: target_reference,
        digest: resolved.descriptor.digest,
        status,
        blobs: Transfer::from_results(&results),
        reencoded: false,
        repository: target_repository.to_string(),
        tag: tag.map(str::to_string),
    })
}

/// The error to report when storing a blob failed: the target checks what it receives, so
/// a damaged source blob looks like the target's fault. Reading the source again tells.
async fn blame(
    from: &Store,
    source_repository: &str,
    blob: &Descriptor,
    err: crate::content::StoreError,
) -> Error {
    let reader = match from.open_blob(source_repository, blob).await {
        Ok(reader) => reader,
        Err(source_err) => return source_err.into(),
    };
    match copy_verified(reader, &mut tokio::io::sink(), &blob.digest, blob.size).await {
        Err(CopyError::Content(reason)) => crate::content::StoreError::Damaged {
            location: from.location(source_repository),
            digest: blob.digest.clone(),
            reason,
        }
        .into(),
        Ok(()) | Err(CopyError::Io(_)) => err.into(),
    }
}
