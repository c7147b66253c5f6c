//! Pulling a pack: fetch and verify every blob into a temporary folder beside the target,
//! unpack, validate, and only then rename the folder into place.

use super::{Resolved, Transfer, parse_manifest, resolve};
use crate::artifact::unpack::{self, Encoding, Limits, MAX_CONFIG_SIZE, Plan, Step};
use crate::content::{BlobPut, StoreError, off_worker};
use crate::env::EnvVars;
use crate::error::Error;
use crate::oci::digest::{CopyError, copy_verified};
use crate::oci::{Descriptor, Digest, Manifest};
use crate::pack::{Finding, validate};
use crate::progress::{ProgressReader, SharedReporter, blob_progress};
use crate::store::Store;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How to pull.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PullOptions {
    /// Validate the pack before putting it in place (on by default).
    pub validate: bool,
    /// Caps on the layers, the bytes written and what tar layers may unpack to.
    pub limits: Limits,
    /// How many blobs of [`super::SMALL_BLOB`] bytes or more to fetch at once.
    pub concurrency: usize,
    /// How many blobs to fetch at once in all, small ones included.
    pub small_concurrency: usize,
    /// Refuse the pack unless a signature by this key (named for messages) covers it.
    pub verify_key: Option<(p256::ecdsa::VerifyingKey, String)>,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            validate: true,
            limits: Limits::default(),
            concurrency: 4,
            small_concurrency: 16,
            verify_key: None,
        }
    }
}

/// The result of a pull.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullOutcome {
    /// Where it came from.
    pub reference: String,
    /// The manifest digest.
    pub digest: Digest,
    /// The folder written.
    pub path: PathBuf,
    /// The encoding recognised.
    pub encoding: Encoding,
    /// The pack name and version, when it validated.
    pub name: Option<String>,
    /// The pack version.
    pub version: Option<String>,
    /// Blobs fetched.
    pub blobs: Transfer,
    /// Bytes written into the folder: every file, a blob named by several titles once per
    /// title, and what tar layers unpacked to.
    pub written: u64,
    /// Layers without a title, not written.
    pub skipped_layers: usize,
    /// Whether a signature was verified before anything was written.
    pub verified: bool,
    /// Warnings about the pulled pack.
    #[serde(skip)]
    pub warnings: Vec<Finding>,
}

/// Pulls `pack` from `store` into the new folder `target`.
pub async fn pull(
    store: &Store,
    located: &super::Located,
    target: &Path,
    options: &PullOptions,
    reporter: &SharedReporter,
) -> Result<PullOutcome, Error> {
    let checked = target.to_path_buf();
    off_worker(&target.display().to_string(), move || {
        check_target(&checked)
    })
    .await?;
    let resolved = resolve(store, located).await?;
    // Verify the digest the reference resolved to, then fetch by that digest only, so a tag
    // that moves meanwhile cannot slip other content in.
    if let Some((key, name)) = &options.verify_key {
        crate::ops::sign::verify_digest(
            store,
            &resolved.repository,
            &resolved.descriptor.digest,
            &resolved.reference,
            key,
            name,
        )
        .await?;
    }
    let bytes = store
        .fetch_manifest(&resolved.repository, &resolved.descriptor.digest)
        .await?;
    let manifest = parse_manifest(&resolved.reference, &bytes)?;
    let limits = &options.limits;
    if manifest.layers.len() > limits.max_layers {
        return Err(Error::PullLimit {
            reference: resolved.reference.clone(),
            what: format!("has {} layers", manifest.layers.len()),
            cap: format!("takes at most {} layers", limits.max_layers),
            setting: EnvVars::PACKCTL_MAX_LAYERS,
        });
    }
    let plan = unpack::plan(&manifest)?;
    let total = plan.bytes_written();
    if total > limits.max_pull_bytes {
        return Err(Error::PullLimit {
            reference: resolved.reference.clone(),
            what: format!(
                "would write {total} bytes (a blob counts once for each title that names it)"
            ),
            cap: format!("writes at most {} bytes", limits.max_pull_bytes),
            setting: EnvVars::PACKCTL_MAX_PULL_BYTES,
        });
    }
    check_config(store, &resolved, &manifest, &plan).await?;

    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let location = target.display().to_string();
    let layers: BTreeSet<Digest> = plan
        .steps
        .iter()
        .map(|s| s.layer().digest.clone())
        .collect();
    let prepared = off_worker(&location, move || {
        let made = MadeFolders::create(&parent).map_err(|source| Error::Io {
            path: parent.clone(),
            source,
        })?;
        let temp = || {
            crate::scratch::dir_in(&parent).map_err(|source| Error::Io {
                path: parent.clone(),
                source,
            })
        };
        let staging = temp()?;
        // Every download's file exists before any download starts, and a download only
        // opens its own: a download still running when a failed pull removes the folder
        // cannot create a file in it again and leave it behind.
        for digest in &layers {
            let path = staged(staging.path(), digest);
            std::fs::File::create(&path).map_err(|source| Error::Io { path, source })?;
        }
        // A tuple drops its fields in order: the folders first, then what was made for them.
        Ok::<_, Error>((staging, temp()?, made))
    })
    .await?;
    // Declared before the temporary folders, so dropped after them: on failure the
    // folders this pull made for the target are removed once they are empty again.
    let mut made = prepared.2;
    // Both folders vanish on any error: nothing half-written is left behind.
    let staging = prepared.0;
    let folder = prepared.1;

    let blobs = fetch_blobs(
        store,
        &resolved,
        &plan,
        staging.path(),
        &super::Lanes::new(options.concurrency, options.small_concurrency),
        reporter,
    )
    .await?;
    let mut outcome = PullOutcome {
        reference: resolved.reference.clone(),
        digest: resolved.descriptor.digest.clone(),
        path: target.to_path_buf(),
        encoding: plan.encoding,
        name: None,
        version: None,
        blobs,
        written: 0,
        skipped_layers: plan.skipped.len(),
        verified: options.verify_key.is_some(),
        warnings: Vec::new(),
    };
    // Unpacking, validation and the rename run on a blocking thread that owns the temporary
    // folders: if this future is dropped, that work stops at its next step and removes them.
    let dropped = Dropped::default();
    let stop = Arc::clone(&dropped.0);
    let (limits, steps, validating) =
        (options.limits.clone(), plan.steps.clone(), options.validate);
    let target = target.to_path_buf();
    off_worker(&location, move || {
        let work = Work {
            steps: &steps,
            // The role and archive layers stop between entries, not only between layers.
            limits: limits.with_stop(Arc::clone(&stop)),
            validating,
            stop: &stop,
        };
        outcome.written = finish(&work, staging, folder, &target, &mut outcome)?;
        made.keep();
        Ok(outcome)
    })
    .await
}

/// Set when a pull's future is dropped, so that its blocking work stops instead of finishing.
#[derive(Default)]
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What the blocking part of a pull does.
struct Work<'a> {
    steps: &'a [Step],
    limits: Limits,
    validating: bool,
    /// Set when the pull was dropped.
    stop: &'a AtomicBool,
}

impl Work<'_> {
    /// Fails when the pull was dropped; nobody reads the error, its guards clean up.
    fn go_on(&self, target: &Path) -> Result<(), Error> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(Error::Io {
                path: target.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    "the pull was dropped",
                ),
            });
        }
        Ok(())
    }
}

/// Unpacks the fetched blobs of `staging` into `folder`, validates the result when asked
/// (filling in `outcome`) and renames it to `target`; returns the bytes written. Between
/// steps it stops when the pull was dropped.
fn finish(
    work: &Work<'_>,
    staging: tempfile::TempDir,
    folder: tempfile::TempDir,
    target: &Path,
    outcome: &mut PullOutcome,
) -> Result<u64, Error> {
    let mut limits = work.limits.clone();
    let written = apply(work, staging.path(), folder.path(), &mut limits, target)?;
    drop(staging);
    work.go_on(target)?;
    if work.validating {
        let validation = validate(folder.path());
        match validation.pack {
            Some(pack) => {
                outcome.name = Some(pack.metadata().name.clone());
                outcome.version = Some(pack.metadata().version.to_string());
                outcome.warnings = validation.findings;
            }
            None => {
                return Err(Error::PulledInvalid {
                    reference: outcome.reference.clone(),
                    findings: validation.findings,
                });
            }
        }
    }
    fs::set_permissions(folder.path(), fs::Permissions::from_mode(0o755)).map_err(|source| {
        Error::Io {
            path: folder.path().to_path_buf(),
            source,
        }
    })?;
    work.go_on(target)?;
    let folder = folder.keep();
    if let Err(source) = fs::rename(&folder, target) {
        let _ = fs::remove_dir_all(&folder);
        return Err(if target.exists() {
            Error::TargetExists {
                path: target.to_path_buf(),
            }
        } else {
            Error::Io {
                path: target.to_path_buf(),
                source,
            }
        });
    }
    Ok(written)
}

/// The folders above a pull's target that the pull had to create.
struct MadeFolders {
    /// Deepest first.
    made: Vec<PathBuf>,
    keep: bool,
}

impl MadeFolders {
    fn create(dir: &Path) -> std::io::Result<MadeFolders> {
        let mut made = Vec::new();
        let mut at = Some(dir);
        while let Some(d) = at {
            if d.as_os_str().is_empty() || d.symlink_metadata().is_ok() {
                break;
            }
            made.push(d.to_path_buf());
            at = d.parent();
        }
        fs::create_dir_all(dir)?;
        Ok(MadeFolders { made, keep: false })
    }

    fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for MadeFolders {
    fn drop(&mut self) {
        if !self.keep {
            // Only empty folders go: anything another program put there meanwhile stays.
            for dir in &self.made {
                let _ = fs::remove_dir(dir);
            }
        }
    }
}

/// The target must not exist, or be an empty folder.
fn check_target(target: &Path) -> Result<(), Error> {
    match fs::symlink_metadata(target) {
        Err(_) => Ok(()),
        Ok(meta) if meta.is_dir() => {
            let empty = fs::read_dir(target)
                .map_err(|source| Error::Io {
                    path: target.to_path_buf(),
                    source,
                })?
                .next()
                .is_none();
            if empty {
                Ok(())
            } else {
                Err(Error::TargetExists {
                    path: target.to_path_buf(),
                })
            }
        }
        Ok(_) => Err(Error::TargetExists {
            path: target.to_path_buf(),
        }),
    }
}

fn staged(staging: &Path, digest: &Digest) -> PathBuf {
    staging.join(digest.hex())
}

/// Fetches each distinct layer once, verifying digest and size while it streams to disk.
async fn fetch_blobs(
    store: &Store,
    resolved: &Resolved,
    plan: &Plan,
    staging: &Path,
    lanes: &super::Lanes,
    reporter: &SharedReporter,
) -> Result<Transfer, Error> {
    let mut unique: BTreeMap<&Digest, &Descriptor> = BTreeMap::new();
    for step in &plan.steps {
        unique.entry(&step.layer().digest).or_insert(step.layer());
    }
    reporter.job_started(
        "pull",
        unique.len(),
        Some(unique.values().map(|l| l.size).sum()),
    );
    let results: Vec<(BlobPut, u64)> = futures_util::stream::iter(unique.into_values())
        .map(|layer| async move {
            let _turn = lanes.admit(layer.size).await;
            let label = layer.title().unwrap_or(layer.digest.as_str()).to_string();
            let id = reporter.blob_started(&label, layer.size);
            let reader = store.open_blob(&resolved.repository, layer).await?;
            let reader = ProgressReader::new(reader, blob_progress(reporter, id));
            let path = staged(staging, &layer.digest);
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .await
                .map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
            let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
            match copy_verified(reader, &mut out, &layer.digest, layer.size).await {
                Ok(()) => {}
                Err(CopyError::Content(reason)) => {
                    return Err(StoreError::Damaged {
                        location: store.location(&resolved.repository),
                        digest: layer.digest.clone(),
                        reason,
                    }
                    .into());
                }
                // A registry download reports its own failures through the reader.
                Err(CopyError::Io(source)) => {
                    return Err(match StoreError::from_io(source) {
                        Ok(error) => error.into(),
                        Err(source) => Error::Io { path, source },
                    });
                }
            }
            reporter.blob_finished(id, true);
            Ok::<_, Error>((BlobPut::Sent, layer.size))
        })
        .buffer_unordered(lanes.total())
        .try_collect()
        .await?;
    Ok(Transfer::from_results(&results))
}

/// Fetches the config blob through its size cap and checks it against the encoding, so
/// that an artifact whose config is missing, damaged or not what its layers say is refused
/// before any layer is fetched.
async fn check_config(
    store: &Store,
    resolved: &Resolved,
    manifest: &Manifest,
    plan: &Plan,
) -> Result<(), Error> {
    let config = &manifest.config;
    let refuse = |reason: String| Error::BadConfig {
        reference: resolved.reference.clone(),
        digest: config.digest.clone(),
        reason,
    };
    unpack::check_config(manifest, plan).map_err(refuse)?;
    if config.size > MAX_CONFIG_SIZE {
        return Err(refuse(format!(
            "it is {} bytes; packctl reads at most {MAX_CONFIG_SIZE}",
            config.size
        )));
    }
    let unreadable = |source: Error| Error::ConfigUnreadable {
        reference: resolved.reference.clone(),
        digest: config.digest.clone(),
        source: Box::new(source),
    };
    let reader = store
        .open_blob(&resolved.repository, config)
        .await
        .map_err(|e| unreadable(e.into()))?;
    let mut bytes = Vec::with_capacity(config.size as usize);
    match copy_verified(reader, &mut bytes, &config.digest, config.size).await {
        Ok(()) => {}
        Err(CopyError::Content(reason)) => {
            return Err(unreadable(
                StoreError::Damaged {
                    location: store.location(&resolved.repository),
                    digest: config.digest.clone(),
                    reason,
                }
                .into(),
            ));
        }
        // A registry download reports its own failures through the reader.
        Err(CopyError::Io(source)) => {
            let error = StoreError::from_io(source).unwrap_or_else(|source| StoreError::Io {
                path: PathBuf::from(store.reference(&resolved.repository, config.digest.as_str())),
                source,
            });
            return Err(unreadable(error.into()));
        }
    }
    unpack::check_config_bytes(manifest, plan, &bytes).map_err(refuse)
}

/// Writes every step into `root` from the staged blobs; returns the bytes written.
fn apply(
    work: &Work<'_>,
    staging: &Path,
    root: &Path,
    limits: &mut Limits,
    target: &Path,
) -> Result<u64, Error> {
    let steps = work.steps;
    // A blob used by several files is copied for all but its last use, then moved.
    let mut uses: HashMap<&Digest, usize> = HashMap::new();
    for step in steps {
        *uses.entry(&step.layer().digest).or_default() += 1;
    }
    let mut written = 0u64;
    for step in steps {
        work.go_on(target)?;
        let layer = step.layer();
        let blob = staged(staging, &layer.digest);
        match step {
            Step::File {
                path, executable, ..
            } => {
                let left = uses.get_mut(&layer.digest).expect("counted above");
                *left -= 1;
                let source = if *left > 0 {
                    let copy = staging.join(format!("{}.copy", layer.digest.hex()));
                    fs::copy(&blob, &copy).map_err(|source| Error::Io {
                        path: copy.clone(),
                        source,
                    })?;
                    copy
                } else {
                    blob
                };
                unpack::place_file(&source, root, path, *executable)?;
                written += layer.size;
            }
            Step::Folder { path, .. } => unpack::unpack_folder(&blob, root, layer, path, limits)?,
            Step::Archive { .. } => unpack::unpack_archive(&blob, root, layer, limits)?,
        }
    }
    Ok(written + limits.unpacked_bytes())
}
