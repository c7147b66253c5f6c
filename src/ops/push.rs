//! Pushing a pack: build its artifact, send the blobs the store lacks, then the manifest.

use super::{Lanes, Transfer};
use crate::artifact::{self, Artifact, ArtifactError, BlobSource, BuildOptions};
use crate::content::{BlobPut, Source, StoreError, TagCondition, TagWrite, off_worker};
use crate::error::Error;
use crate::oci::{Descriptor, Digest, MAX_MANIFEST_SIZE, Manifest, annotation};
use crate::pack::{Finding, Ignored, Pack};
use crate::progress::{SharedReporter, blob_progress};
use crate::store::Store;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use std::path::Path;

/// How to push.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PushOptions {
    /// Overwrite a tag that points at another pack.
    pub force: bool,
    /// The encoding and the creation time.
    pub build: BuildOptions,
    /// How many blobs of [`SMALL_BLOB`] bytes or more to send at once.
    pub concurrency: usize,
    /// How many blobs to send at once in all, small ones included.
    pub small_concurrency: usize,
    /// Check (and send) every blob even when the tag already names the very manifest being
    /// pushed: repairs a store that lost blobs. Without it, such a push sends nothing.
    pub verify_blobs: bool,
    /// Send every blob and the manifest even where the store has them, and even when the
    /// tag names this very pack (`spectro pack push --skip-digest-check`). Without it, a
    /// pack that differs from the tag's only in its push message is unchanged.
    pub skip_digest_check: bool,
}

/// Blobs under this size are small: they cost round trips more than bandwidth, so more of
/// them go at once (see [`PushOptions::small_concurrency`]).
pub const SMALL_BLOB: u64 = 1 << 20;

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            force: false,
            build: BuildOptions::default(),
            concurrency: 4,
            small_concurrency: 16,
            verify_blobs: false,
            skip_digest_check: false,
        }
    }
}

/// What happened to the tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "status")]
#[non_exhaustive]
pub enum PushStatus {
    /// The tag is new.
    Pushed,
    /// The tag already pointed at this very pack.
    Unchanged,
    /// The tag pointed at another pack, and `-f` moved it.
    Overwritten {
        /// What it pointed at before.
        previous: Digest,
    },
}

/// The result of a push.
#[derive(Debug, Clone, Serialize)]
pub struct PushOutcome {
    /// `LOCATION/REPOSITORY:TAG`.
    pub reference: String,
    /// The repository.
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// The manifest digest.
    pub digest: Digest,
    /// What happened to the tag.
    #[serde(flatten)]
    pub status: PushStatus,
    /// Blobs sent, blobs the store had, and bytes sent.
    pub blobs: Transfer,
    /// Warnings about the pack.
    #[serde(skip)]
    pub warnings: Vec<Finding>,
    /// What the ignore rules left out of the pack folder.
    #[serde(skip)]
    pub ignored: Vec<Ignored>,
}

/// Validates and builds the pack in `dir` on tokio's blocking threads: reading the folder,
/// validating it and compressing never hold an async worker. When the future is dropped, the
/// build finishes and its temporary files are removed with the artifact.
pub async fn build_pack(
    dir: &Path,
    options: &BuildOptions,
) -> Result<(Pack, Artifact, Vec<Finding>), Error> {
    let (dir, options) = (dir.to_path_buf(), options.clone());
    let location = dir.display().to_string();
    off_worker(&location, move || {
        let (pack, warnings) = Pack::open(&dir)?;
        let artifact = artifact::build(&pack, &options)?;
        Ok((pack, artifact, warnings))
    })
    .await
}

/// Pushes the pack in `dir` to its repository in `store`.
pub async fn push(
    store: &Store,
    dir: &Path,
    options: &PushOptions,
    reporter: &SharedReporter,
) -> Result<PushOutcome, Error> {
    push_to(store, None, dir, options, reporter).await
}

/// Builds the pack in `dir` and pushes it to `repository` in `store` (`None`: the pack's own
/// repository).
///
/// Layers the layer cache knows are not compressed (see [`BlobSource::Deferred`]): a store
/// whose tag already names the manifest, or that holds those layers, needs nothing more. When
/// the store lacks one, the pack is built again with every layer compressed and pushed.
pub async fn push_to(
    store: &Store,
    repository: Option<&str>,
    dir: &Path,
    options: &PushOptions,
    reporter: &SharedReporter,
) -> Result<PushOutcome, Error> {
    let mut options = options.clone();
    // Every blob is sent again, so every blob needs its bytes.
    options.build.fresh_layers |= options.skip_digest_check;
    loop {
        let step = reporter.step_started(&format!("validating and building {}", dir.display()));
        let built = build_pack(dir, &options.build).await;
        reporter.step_finished(step);
        let (pack, artifact, warnings) = built?;
        let repository = match repository {
            Some(r) => r.to_string(),
            None => store.pack_repository(&pack.metadata().name),
        };
        let tag = pack.metadata().tag();
        match push_artifact(store, &repository, &tag, &artifact, &options, reporter).await {
            Err(Error::Artifact(ArtifactError::Deferred { .. })) if !options.build.fresh_layers => {
                tracing::debug!(
                    target: "packctl::store",
                    repository, "the store lacks a layer the layer cache knew; compressing it"
                );
                options.build.fresh_layers = true;
            }
            Err(error) => return Err(error),
            Ok(mut outcome) => {
                outcome.warnings = warnings;
                outcome.ignored = pack.ignored().to_vec();
                return Ok(outcome);
            }
        }
    }
}

/// Pushes a built artifact under `repository:tag`, following the `-f` rules.
///
/// The manifest's size is checked before anything is sent. Whether the tag may be written is
/// checked first to fail fast, and again when the tag is written (see
/// [`Store::put_manifest_if`]): of several pushes of one version without `-f`, one wins and
/// the others are refused.
pub async fn push_artifact(
    store: &Store,
    repository: &str,
    tag: &str,
    artifact: &Artifact,
    options: &PushOptions,
    reporter: &SharedReporter,
) -> Result<PushOutcome, Error> {
    let reference = store.reference(repository, tag);
    let size = artifact.manifest_bytes.len() as u64;
    if size > MAX_MANIFEST_SIZE {
        return Err(Error::ManifestTooLarge {
            reference,
            size,
            layers: artifact.manifest.layers.len(),
            limit: MAX_MANIFEST_SIZE,
        });
    }
    let (condition, digest) = push_condition(store, repository, tag, artifact, options).await?;
    let blobs = if condition.is_none() && !options.verify_blobs {
        // The tag names this very manifest, which the store accepted only with all its
        // blobs: there is nothing to check or send.
        Transfer::already_there(artifact.blobs.len())
    } else {
        upload_blobs(store, repository, artifact, options, reporter).await?
    };
    // The manifest goes last, so the tag never points at missing content.
    let status = write_tag(
        store,
        repository,
        tag,
        &artifact.descriptor(),
        artifact.manifest_bytes.clone(),
        condition,
    )
    .await?;
    Ok(PushOutcome {
        reference,
        repository: repository.to_string(),
        tag: tag.to_string(),
        digest,
        status,
        blobs,
        warnings: Vec::new(),
        ignored: Vec::new(),
    })
}

/// Decides, before any blob moves, whether `tag` may be pointed at the artifact's manifest,
/// and which manifest the tag will name: `None` when the tag already holds this pack (the
/// very manifest, or one that differs only in its push message, whose message stays), else
/// the condition the tag write must meet.
async fn push_condition(
    store: &Store,
    repository: &str,
    tag: &str,
    artifact: &Artifact,
    options: &PushOptions,
) -> Result<(Option<TagCondition>, Digest), Error> {
    let ours = &artifact.digest;
    let write = |condition| Ok((Some(condition), ours.clone()));
    match store.resolve(repository, tag).await? {
        Some(existing) if &existing.digest == ours => {
            if options.skip_digest_check {
                write(TagCondition::Is(existing.digest))
            } else {
                Ok((None, existing.digest))
            }
        }
        Some(existing)
            if !options.skip_digest_check
                && same_pack(store, repository, &existing, &artifact.manifest).await? =>
        {
            Ok((None, existing.digest))
        }
        Some(_) | None if options.force => write(TagCondition::Any),
        Some(existing) => Err(Error::TagExists {
            reference: store.reference(repository, tag),
            existing: existing.digest,
            new: ours.clone(),
        }),
        None => write(TagCondition::Absent),
    }
}

/// Whether the manifest `existing` holds the same pack as `ours`: equal but for the push
/// message.
async fn same_pack(
    store: &Store,
    repository: &str,
    existing: &Descriptor,
    ours: &Manifest,
) -> Result<bool, Error> {
    if existing.size > MAX_MANIFEST_SIZE {
        return Ok(false);
    }
    let bytes = store.fetch_manifest(repository, &existing.digest).await?;
    let Ok(mut theirs) = serde_json::from_slice::<Manifest>(&bytes) else {
        return Ok(false);
    };
    let mut ours = ours.clone();
    theirs.annotations.remove(annotation::MESSAGE);
    ours.annotations.remove(annotation::MESSAGE);
    Ok(theirs.to_canonical_json() == ours.to_canonical_json())
}

/// Decides, before any blob moves, whether `tag` may be pointed at the manifest `ours`:
/// `None` when it already points there, else the condition the tag write must meet.
pub(crate) async fn tag_condition(
    store: &Store,
    repository: &str,
    tag: &str,
    ours: &Digest,
    force: bool,
) -> Result<Option<TagCondition>, Error> {
    match store.resolve(repository, tag).await? {
        Some(existing) if &existing.digest == ours => Ok(None),
        Some(_) | None if force => Ok(Some(TagCondition::Any)),
        Some(existing) => Err(Error::TagExists {
            reference: store.reference(repository, tag),
            existing: existing.digest,
            new: ours.clone(),
        }),
        None => Ok(Some(TagCondition::Absent)),
    }
}

/// Stores the manifest and points `tag` at it under `condition` (see
/// [`Store::put_manifest_if`]), and says what happened to the tag. A tag that another writer
/// took meanwhile refuses the write, as the check before the upload would have.
pub(crate) async fn write_tag(
    store: &Store,
    repository: &str,
    tag: &str,
    descriptor: &Descriptor,
    bytes: Bytes,
    condition: Option<TagCondition>,
) -> Result<PushStatus, Error> {
    let Some(condition) = condition else {
        return Ok(PushStatus::Unchanged);
    };
    let ours = &descriptor.digest;
    let write = store
        .put_manifest_if(repository, descriptor, bytes, tag, &condition)
        .await?;
    Ok(match write {
        TagWrite::Written { previous: None } => PushStatus::Pushed,
        TagWrite::Written {
            previous: Some(previous),
        } if &previous == ours => PushStatus::Unchanged,
        TagWrite::Written {
            previous: Some(previous),
        } => PushStatus::Overwritten { previous },
        // Another push of this very pack got there first.
        TagWrite::Refused {
            current: Some(current),
        } if &current == ours => PushStatus::Unchanged,
        TagWrite::Refused {
            current: Some(current),
        } => {
            return Err(Error::TagExists {
                reference: store.reference(repository, tag),
                existing: current,
                new: ours.clone(),
            });
        }
        TagWrite::Refused { current: None } => {
            return Err(StoreError::TagRace {
                reference: store.reference(repository, tag),
                ours: ours.clone(),
                theirs: None,
            }
            .into());
        }
    })
}

async fn upload_blobs(
    store: &Store,
    repository: &str,
    artifact: &Artifact,
    options: &PushOptions,
    reporter: &SharedReporter,
) -> Result<Transfer, Error> {
    // Layers the layer cache knew have no bytes: if the store lacks one, the pack is built
    // again, so that is asked before anything is sent.
    for blob in &artifact.blobs {
        if matches!(blob.source, BlobSource::Deferred)
            && !store.has_blob(repository, &blob.descriptor).await?
        {
            return Err(ArtifactError::Deferred {
                title: blob.descriptor.title().unwrap_or("config").to_string(),
                digest: blob.descriptor.digest.clone(),
            }
            .into());
        }
    }
    let lanes = &Lanes::new(options.concurrency, options.small_concurrency);
    reporter.job_started(
        "push",
        artifact.blobs.len(),
        Some(artifact.blobs.iter().map(|b| b.descriptor.size).sum()),
    );
    let results: Vec<(BlobPut, u64)> = futures_util::stream::iter(&artifact.blobs)
        .map(|blob| async move {
            let _permit = lanes.admit(blob.descriptor.size).await;
            // The config blob has no title; it is pack.json (or `{}` for the archive encoding).
            let label = blob.descriptor.title().unwrap_or("config").to_string();
            let id = reporter.blob_started(&label, blob.descriptor.size);
            let source = match &blob.source {
                BlobSource::File(path) => Source::File(path),
                BlobSource::Bytes(bytes) => Source::Bytes(bytes.clone()),
                BlobSource::Deferred => {
                    // Found in the store above.
                    reporter.blob_finished(id, false);
                    return Ok((BlobPut::Present, blob.descriptor.size));
                }
            };
            let progress = blob_progress(reporter, id);
            let sent = if options.skip_digest_check {
                store
                    .send_blob(repository, &blob.descriptor, &source, &progress)
                    .await
            } else {
                store
                    .push_blob(repository, &blob.descriptor, &source, &progress)
                    .await
            };
            let sent = match sent {
                Ok(sent) => sent,
                Err(err) => return Err(blame(&blob.source, &blob.descriptor, err).await),
            };
            reporter.blob_finished(id, sent.is_new());
            Ok::<_, Error>((sent, blob.descriptor.size))
        })
        .buffer_unordered(lanes.total())
        .try_collect()
        .await?;
    Ok(Transfer::from_results(&results))
}

/// The error to report when storing a blob failed: the store checks what it receives, so a
/// pack file that changed after it was hashed looks like the store's fault. Hashing the file
/// again tells.
async fn blame(source: &BlobSource, descriptor: &Descriptor, err: StoreError) -> Error {
    let BlobSource::File(path) = source else {
        return err.into();
    };
    let file = path.clone();
    match tokio::task::spawn_blocking(move || crate::oci::digest::digest_file(&file)).await {
        Ok(Ok((digest, size))) if digest != descriptor.digest || size != descriptor.size => {
            Error::ChangedWhilePushed {
                path: path.clone(),
                source: Box::new(err),
            }
        }
        _ => err.into(),
    }
}
