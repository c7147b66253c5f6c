//! Air-gap work: what a pack deploys (`pack.content`), mirroring it beside the pack, and one
//! file that carries packs, signatures and images across a gap (`pack export`/`import`).

use super::copy::{Copied, CopyOptions, CopyWhat, copy};
use super::mirror::{
    self, ImageJob, ImagePrefix, MirrorOptions, MirrorStatus, Mirrored, copy_images,
    image_repository, resolve_image, walk,
};
use super::pull::{PullOptions, pull};
use super::sign::{Verified, verify};
use super::{ImageCheckOptions, Located, Transfer, list, resolve, signature_tags};
use crate::content::{StoreError, error_chain};
use crate::error::Error;
use crate::oci::{Descriptor, Digest, PACK_NAMESPACE, Selector, annotation, is_host};
use crate::pack::{ImageRef, InputLimits, ListedChart, ListedImage, content_listing};
use crate::progress::{SharedReporter, Silent};
use crate::store::{ArchiveStore, ArchiveWriter, Node, Store};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a pack deploys, as its values.yaml lists it under `pack.content`.
#[derive(Debug, Clone)]
pub struct PackContent {
    /// The pack (`LOCATION/REPOSITORY:TAG`, or the folder).
    pub reference: String,
    /// Its images.
    pub images: Vec<ListedImage>,
    /// Its charts.
    pub charts: Vec<ListedChart>,
}

/// Reads `pack.content` of a pack folder.
pub fn folder_content(dir: &Path) -> PackContent {
    let (images, charts) = content_listing(dir, &InputLimits::default());
    PackContent {
        reference: dir.display().to_string(),
        images,
        charts,
    }
}

/// Reads `pack.content` of a stored pack (its files are pulled into a temporary folder).
pub async fn stored_content(store: &Store, located: &Located) -> Result<PackContent, Error> {
    let resolved = resolve(store, located).await?;
    let scratch = crate::scratch::build_dir().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let dir = scratch.path().join("pack");
    let exact = Located {
        repository: resolved.repository.clone(),
        selector: Selector::Digest(resolved.descriptor.digest.clone()),
        name: located.name.clone(),
    };
    let options = PullOptions {
        validate: false,
        ..PullOptions::default()
    };
    let silent: SharedReporter = Arc::new(Silent);
    pull(store, &exact, &dir, &options, &silent).await?;
    let dir_for_read = dir.clone();
    let (images, charts) = tokio::task::spawn_blocking(move || {
        content_listing(&dir_for_read, &InputLimits::default())
    })
    .await
    .map_err(|e| Error::Io {
        path: dir,
        source: std::io::Error::other(e),
    })?;
    Ok(PackContent {
        reference: resolved.reference,
        images,
        charts,
    })
}

/// What the pack lists, to fetch: `(label, reference)` of every image and every OCI chart,
/// each once, and the charts that are skipped (HTTP chart repositories) with why.
pub fn content_references(content: &PackContent) -> (Vec<(String, ImageRef)>, Vec<Mirrored>) {
    let mut seen = BTreeSet::new();
    let mut wanted = Vec::new();
    for image in &content.images {
        if seen.insert(image.reference.to_string()) {
            wanted.push((image.image.clone(), image.reference.clone()));
        }
    }
    let mut skipped = Vec::new();
    for chart in &content.charts {
        let label = chart.to_string();
        match chart.oci_reference() {
            Some(Ok(reference)) => {
                if seen.insert(reference.to_string()) {
                    wanted.push((label, reference));
                }
            }
            Some(Err(reason)) => skipped.push(not_copied(
                label,
                MirrorStatus::Failed {
                    reason: format!("it is not a chart reference: {reason}"),
                },
            )),
            None => skipped.push(not_copied(
                label,
                MirrorStatus::Skipped {
                    reason: "its repository is an HTTP chart repository; only OCI charts (`oci://`) are mirrored".into(),
                },
            )),
        }
    }
    (wanted, skipped)
}

fn not_copied(image: String, status: MirrorStatus) -> Mirrored {
    Mirrored {
        image,
        target: String::new(),
        digest: None,
        platforms: 0,
        status,
        blobs: Transfer::default(),
    }
}

/// An image a pack lists, with what its registry says it is.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageInfo {
    /// `image` (a container image) or `chart` (a Helm chart).
    pub kind: &'static str,
    /// As listed.
    pub image: String,
    /// Parsed: `REGISTRY/REPOSITORY[:TAG][@DIGEST]`.
    pub reference: String,
    /// The manifest or index digest it resolves to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// The media type of what it resolves to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Platforms of an index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platforms: Option<usize>,
    /// Why it could not be resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it is not mirrored (an HTTP chart repository).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// Lists a pack's images and charts; with `resolve`, asks each registry what they resolve to.
pub async fn describe_content(
    content: &PackContent,
    resolve_digests: bool,
    options: &ImageCheckOptions,
) -> Vec<ImageInfo> {
    let (wanted, skipped) = content_references(content);
    let charts: BTreeSet<String> = content.charts.iter().map(|c| c.to_string()).collect();
    let stores = if resolve_digests {
        mirror::open_image_registries(
            wanted.iter().map(|(_, r)| r.registry.clone()).collect(),
            options,
        )
        .await
    } else {
        Default::default()
    };
    let (stores, charts) = (&stores, &charts);
    let mut infos: Vec<ImageInfo> = futures_util::stream::iter(&wanted)
        .map(|(label, reference)| async move {
            let mut info = ImageInfo {
                kind: if charts.contains(label) {
                    "chart"
                } else {
                    "image"
                },
                image: label.clone(),
                reference: reference.to_string(),
                digest: reference
                    .digest
                    .as_deref()
                    .and_then(|d| Digest::parse(d).ok()),
                media_type: None,
                platforms: None,
                error: None,
                skipped: None,
            };
            if !resolve_digests {
                return info;
            }
            let store = match stores.get(&reference.registry) {
                Some(Ok(store)) => store,
                Some(Err(why)) => {
                    info.error = Some(why.clone());
                    return info;
                }
                None => return info,
            };
            match resolve_image(store, &reference.repository, reference.reference()).await {
                Ok((descriptor, bytes)) => {
                    if let Ok(Node::Index(children)) = Node::parse(&bytes) {
                        info.platforms = Some(children.len());
                    }
                    info.digest = Some(descriptor.digest);
                    info.media_type = Some(descriptor.media_type);
                }
                Err(e) => info.error = Some(error_chain(&e)),
            }
            info
        })
        .buffered(options.concurrency.max(1))
        .collect()
        .await;
    for s in skipped {
        infos.push(ImageInfo {
            kind: "chart",
            reference: s.image.clone(),
            image: s.image,
            digest: None,
            media_type: None,
            platforms: None,
            error: match &s.status {
                MirrorStatus::Failed { reason } => Some(reason.clone()),
                _ => None,
            },
            skipped: match s.status {
                MirrorStatus::Skipped { reason } => Some(reason),
                _ => None,
            },
        });
    }
    infos
}

/// The base path of a store's repositories (a registry's `host/base`), `""` for others.
fn base_of(store: &Store) -> String {
    match store {
        Store::Registry(r) => r.base().to_string(),
        _ => String::new(),
    }
}

/// Copies the images and OCI charts a pack lists to `to`, under `prefix`.
pub async fn mirror_content(
    content: &PackContent,
    to: &Store,
    prefix: &ImagePrefix,
    sources: &ImageCheckOptions,
    options: &MirrorOptions,
    reporter: &SharedReporter,
) -> Vec<Mirrored> {
    let (wanted, mut skipped) = content_references(content);
    let stores = mirror::open_image_registries(
        wanted.iter().map(|(_, r)| r.registry.clone()).collect(),
        sources,
    )
    .await;
    let jobs = mirror::registry_jobs(&wanted, &stores, &base_of(to), prefix);
    let mut done = copy_images(&jobs, to, options, reporter).await;
    done.append(&mut skipped);
    done
}

/// What went into an export file.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// The file.
    pub file: PathBuf,
    /// Its entries: packs, signatures, referrers, images.
    pub entries: Vec<ExportEntry>,
    /// Blobs written (manifests included).
    pub blobs: usize,
    /// Bytes of those blobs.
    pub bytes: u64,
    /// What the packs list but the file does not carry, and why (HTTP chart repositories).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// One entry of an export file.
#[derive(Debug, Clone, Serialize)]
pub struct ExportEntry {
    /// `pack`, `signature`, `referrer`, `image` or `chart`.
    pub kind: &'static str,
    /// Its name in the file (`REPOSITORY:TAG`), or the source for a referrer.
    pub name: String,
    /// Its manifest digest.
    pub digest: Digest,
}

/// How to export.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExportOptions {
    /// Also the images and OCI charts each pack lists.
    pub with_images: bool,
    /// How to reach the image registries.
    pub sources: ImageCheckOptions,
    /// Blobs fetched at once.
    pub concurrency: usize,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            with_images: false,
            sources: ImageCheckOptions::default(),
            concurrency: 8,
        }
    }
}

/// A graph to write, from where, under which name.
struct Root<'a> {
    kind: &'static str,
    name: Option<String>,
    from: &'a Store,
    repository: String,
    descriptor: Descriptor,
    bytes: Bytes,
}

/// Writes the packs `located` names in `store` (each version, with its `.sig` signatures
/// and its referrers), and with [`ExportOptions::with_images`] every image and OCI chart
/// they list, into one OCI image layout tar at `file`. The file appears only when complete.
pub async fn export(
    store: &Store,
    packs: &[Located],
    file: &Path,
    options: &ExportOptions,
    reporter: &SharedReporter,
) -> Result<Exported, Error> {
    let mut roots: Vec<Root<'_>> = Vec::new();
    let mut contents = Vec::new();
    for located in packs {
        let resolved = resolve(store, located).await?;
        let repository = resolved.repository.clone();
        let digest = resolved.descriptor.digest.clone();
        let name = resolved.tag.clone().unwrap_or_else(|| digest.to_string());
        let bytes = store.fetch_manifest(&repository, &digest).await?;
        let mut descriptor = resolved.descriptor.clone();
        descriptor.annotations.clear();
        roots.push(Root {
            kind: "pack",
            name: Some(ref_name(&repository, &name)),
            from: store,
            repository: repository.clone(),
            descriptor,
            bytes,
        });
        for tag in signature_tags(&digest) {
            if let Some(d) = store.resolve(&repository, &tag).await? {
                let bytes = store.fetch_manifest(&repository, &d.digest).await?;
                roots.push(Root {
                    kind: "signature",
                    name: Some(ref_name(&repository, &tag)),
                    from: store,
                    repository: repository.clone(),
                    descriptor: Descriptor::new(d.media_type, d.digest, d.size),
                    bytes,
                });
            }
        }
        let mut queue = vec![digest.clone()];
        let mut seen = BTreeSet::new();
        while let Some(subject) = queue.pop() {
            for referrer in store.referrers(&repository, &subject, None).await? {
                if !seen.insert(referrer.digest.clone()) {
                    continue;
                }
                let bytes = store.fetch_manifest(&repository, &referrer.digest).await?;
                queue.push(referrer.digest.clone());
                let mut descriptor = referrer.clone();
                descriptor.annotations.clear();
                roots.push(Root {
                    kind: "referrer",
                    name: None,
                    from: store,
                    repository: repository.clone(),
                    descriptor,
                    bytes,
                });
            }
        }
        if options.with_images {
            let exact = Located {
                repository: repository.clone(),
                selector: Selector::Digest(digest.clone()),
                name: located.name.clone(),
            };
            contents.push(stored_content(store, &exact).await?);
        }
    }
    // Images: each from its own registry, named by its source reference.
    let mut wanted = Vec::new();
    let mut seen = BTreeSet::new();
    let mut chart_labels = BTreeSet::new();
    let mut not_carried = Vec::new();
    for content in &contents {
        let (refs, skipped) = content_references(content);
        if let Some(s) = skipped
            .iter()
            .find(|s| matches!(s.status, MirrorStatus::Failed { .. }))
        {
            return Err(Error::Mirror {
                failed: vec![format!("{}: {}", s.image, status_reason(&s.status))],
            });
        }
        for s in skipped {
            not_carried.push(format!("{}: {}", s.image, status_reason(&s.status)));
        }
        for chart in &content.charts {
            chart_labels.insert(chart.to_string());
        }
        for (label, reference) in refs {
            if seen.insert(reference.to_string()) {
                wanted.push((label, reference));
            }
        }
    }
    let stores = mirror::open_image_registries(
        wanted.iter().map(|(_, r)| r.registry.clone()).collect(),
        &options.sources,
    )
    .await;
    let mut failed = Vec::new();
    for (label, reference) in &wanted {
        let from = match stores.get(&reference.registry) {
            Some(Ok(s)) => s,
            Some(Err(why)) => {
                failed.push(format!("{label}: {why}"));
                continue;
            }
            None => continue,
        };
        match resolve_image(from, &reference.repository, reference.reference()).await {
            Ok((descriptor, bytes)) => roots.push(Root {
                kind: if chart_labels.contains(label) {
                    "chart"
                } else {
                    "image"
                },
                name: Some(image_ref_name(reference)),
                from,
                repository: reference.repository.clone(),
                descriptor,
                bytes,
            }),
            Err(e) => failed.push(format!("{label}: {}", error_chain(&e))),
        }
    }
    if !failed.is_empty() {
        return Err(Error::Mirror { failed });
    }
    let mut exported = write_archive(roots, file, options.concurrency, reporter).await?;
    exported.skipped = not_carried;
    Ok(exported)
}

fn status_reason(status: &MirrorStatus) -> &str {
    match status {
        MirrorStatus::Skipped { reason } | MirrorStatus::Failed { reason } => reason,
        _ => "",
    }
}

/// `REPOSITORY:TAG`, or `REPOSITORY@DIGEST`.
fn ref_name(repository: &str, tag_or_digest: &str) -> String {
    if tag_or_digest.contains(':') {
        format!("{repository}@{tag_or_digest}")
    } else {
        format!("{repository}:{tag_or_digest}")
    }
}

/// An image's name in an export file: its source reference, host included, with its tag
/// (or its digest when it has no tag).
fn image_ref_name(image: &ImageRef) -> String {
    let repository = format!("{}/{}", image.registry, image.repository);
    match (&image.tag, &image.digest) {
        (Some(tag), _) => format!("{repository}:{tag}"),
        (None, Some(digest)) => format!("{repository}@{digest}"),
        (None, None) => format!("{repository}:latest"),
    }
}

/// A blob on its way into the archive: small ones in memory, big ones in a temporary file.
enum Fetched {
    Bytes(Digest, Bytes),
    File(Digest, u64, tempfile::NamedTempFile),
    Entry(Descriptor),
    /// Everything was sent: write index.json and put the file in place.
    Done,
}

/// Blobs kept in memory on their way into the archive; bigger ones go through a file.
const IN_MEMORY: u64 = 1024 * 1024;

async fn write_archive(
    roots: Vec<Root<'_>>,
    file: &Path,
    concurrency: usize,
    reporter: &SharedReporter,
) -> Result<Exported, Error> {
    let io_error = |source: std::io::Error| Error::Io {
        path: file.to_path_buf(),
        source,
    };
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let scratch = crate::scratch::dir_in(&dir).map_err(io_error)?;
    let writer = ArchiveWriter::create(file).map_err(io_error)?;
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Fetched>(concurrency.max(1));
    let writing = tokio::task::spawn_blocking(move || -> std::io::Result<(usize, u64)> {
        let mut writer = writer;
        let (mut blobs, mut bytes) = (0, 0);
        let mut complete = false;
        while let Some(item) = receiver.blocking_recv() {
            match item {
                Fetched::Bytes(digest, data) => {
                    if !writer.has(&digest) {
                        blobs += 1;
                        bytes += data.len() as u64;
                    }
                    writer.add_blob(&digest, data.len() as u64, &data[..])?;
                }
                Fetched::File(digest, size, tmp) => {
                    if !writer.has(&digest) {
                        blobs += 1;
                        bytes += size;
                    }
                    writer.add_blob(&digest, size, std::fs::File::open(tmp.path())?)?;
                }
                Fetched::Entry(entry) => writer.add_entry(entry),
                Fetched::Done => complete = true,
            }
        }
        // A failed or dropped export never finishes: its temporary file goes with the writer.
        if !complete {
            return Err(std::io::Error::other(
                "the export stopped before it was complete",
            ));
        }
        writer.finish()?;
        Ok((blobs, bytes))
    });
    let result = fill(&roots, &sender, scratch.path(), concurrency, reporter).await;
    if result.is_ok() {
        // The writer may have stopped on an error of its own, which is reported below.
        let _ = sender.send(Fetched::Done).await;
    }
    drop(sender);
    let written = writing
        .await
        .map_err(|e| io_error(std::io::Error::other(e)));
    let entries = result?;
    let (blobs, bytes) = written?.map_err(io_error)?;
    Ok(Exported {
        file: file.to_path_buf(),
        entries,
        blobs,
        bytes,
        skipped: Vec::new(),
    })
}

/// Sends every blob and manifest of the roots to the archive writer, then their entries.
async fn fill(
    roots: &[Root<'_>],
    sender: &tokio::sync::mpsc::Sender<Fetched>,
    scratch: &Path,
    concurrency: usize,
    reporter: &SharedReporter,
) -> Result<Vec<ExportEntry>, Error> {
    let gone = || Error::Io {
        path: scratch.to_path_buf(),
        source: std::io::Error::other("the archive writer stopped"),
    };
    let mut sent = BTreeSet::new();
    let mut entries = Vec::new();
    reporter.job_started("export", roots.len(), None);
    for root in roots {
        let graph = walk(
            root.from,
            &root.repository,
            root.descriptor.clone(),
            root.bytes.clone(),
        )
        .await?;
        let blobs: Vec<&Descriptor> = graph
            .blobs
            .iter()
            .filter(|b| sent.insert(b.digest.clone()))
            .collect();
        futures_util::stream::iter(blobs)
            .map(|blob| async move {
                let id = reporter.blob_started(&blob.digest.as_str()[..19], blob.size);
                let progress = crate::progress::blob_progress(reporter, id);
                let reader = root.from.open_blob(&root.repository, blob).await?;
                let reader = crate::progress::ProgressReader::new(reader, progress);
                // Bytes that do not match blame the source; a broken read blames the source
                // registry (or, for a file error, the scratch folder).
                let failed = |e| -> Error {
                    match e {
                        crate::oci::digest::CopyError::Content(reason) => StoreError::Damaged {
                            location: root.from.location(&root.repository),
                            digest: blob.digest.clone(),
                            reason,
                        },
                        crate::oci::digest::CopyError::Io(e) => StoreError::from_io(e)
                            .unwrap_or_else(|source| StoreError::Io {
                                path: scratch.to_path_buf(),
                                source,
                            }),
                    }
                    .into()
                };
                let fetched = if blob.size <= IN_MEMORY {
                    let mut data = Vec::with_capacity(blob.size as usize);
                    crate::oci::digest::copy_verified(reader, &mut data, &blob.digest, blob.size)
                        .await
                        .map_err(failed)?;
                    Fetched::Bytes(blob.digest.clone(), Bytes::from(data))
                } else {
                    let tmp = crate::scratch::file_in(scratch).map_err(|source| Error::Io {
                        path: scratch.to_path_buf(),
                        source,
                    })?;
                    let mut out = tokio::io::BufWriter::new(tokio::fs::File::from_std(
                        tmp.reopen().map_err(|source| Error::Io {
                            path: tmp.path().to_path_buf(),
                            source,
                        })?,
                    ));
                    crate::oci::digest::copy_verified(reader, &mut out, &blob.digest, blob.size)
                        .await
                        .map_err(failed)?;
                    Fetched::File(blob.digest.clone(), blob.size, tmp)
                };
                reporter.blob_finished(id, true);
                sender.send(fetched).await.map_err(|_| gone())
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        for (descriptor, bytes) in graph.manifests {
            if sent.insert(descriptor.digest.clone()) {
                sender
                    .send(Fetched::Bytes(descriptor.digest.clone(), bytes))
                    .await
                    .map_err(|_| gone())?;
            }
        }
        let mut entry = root.descriptor.clone();
        if let Some(name) = &root.name {
            entry = entry.annotate(annotation::REF_NAME, name.clone());
        }
        entries.push(ExportEntry {
            kind: root.kind,
            name: root
                .name
                .clone()
                .unwrap_or_else(|| format!("{} ({})", root.repository, root.kind)),
            digest: entry.digest.clone(),
        });
        sender
            .send(Fetched::Entry(entry))
            .await
            .map_err(|_| gone())?;
    }
    Ok(entries)
}

/// How to import.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Refuse the file unless every pack in it carries a signature by this key (named for
    /// messages).
    pub verify_key: Option<(p256::ecdsa::VerifyingKey, String)>,
    /// Where images go below the target's base path.
    pub prefix: ImagePrefix,
    /// The repository of entries named by a bare tag (as `oras backup` writes them).
    pub repository: Option<String>,
    /// How packs are copied.
    pub copy: CopyOptions,
    /// How images are copied.
    pub mirror: MirrorOptions,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    /// The packs (and their signatures and referrers).
    pub packs: Vec<Copied>,
    /// Images, charts and other artifacts.
    pub images: Vec<Mirrored>,
    /// The signatures checked before anything was pushed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verified: Vec<Verified>,
}

/// Opens an export file (checking every blob against its digest and every manifest's
/// blobs for presence), checks the packs' signatures when asked, and only then copies
/// everything to `to`: packs as `pack copy` does, other entries as images under
/// [`ImportOptions::prefix`].
pub async fn import(
    file: &Path,
    to: &Store,
    options: &ImportOptions,
    reporter: &SharedReporter,
) -> Result<Imported, Error> {
    let step = reporter.step_started(&format!(
        "checking every digest of {} before anything is pushed",
        file.display()
    ));
    let archive = ArchiveStore::open(file, options.repository.clone()).await;
    reporter.step_finished(step);
    let archive = archive?;
    let from = Store::Archive(archive.clone());
    let packs = list(&from, None).await?;
    let mut verified = Vec::new();
    if let Some((key, key_name)) = &options.verify_key {
        if packs.is_empty() {
            return Err(Error::Store(StoreError::NotFound {
                reference: format!("a pack in {}", archive.display()),
            }));
        }
        for pack in &packs {
            for tag in &pack.tags {
                let located = Located {
                    repository: pack.repository.clone(),
                    selector: Selector::Tag(tag.tag.clone()),
                    name: pack.name.clone(),
                };
                verified.push(verify(&from, &located, key, key_name).await?);
            }
        }
    }
    let pack_namespace = format!("{PACK_NAMESPACE}/");
    let base = base_of(to);
    let mut jobs = Vec::new();
    for entry in archive.entries() {
        let Some((repository, tag)) = archive.entry_name(entry) else {
            continue;
        };
        if repository.starts_with(&pack_namespace) || repository == PACK_NAMESPACE {
            continue;
        }
        let first = repository.split('/').next().unwrap_or_default();
        let to_repository = if is_host(first) && repository.contains('/') {
            ImageRef::parse(&repository)
                .map_err(|why| format!("`{repository}` is not an image repository: {why}"))
                .and_then(|image| image_repository(&base, &options.prefix, &image))
        } else {
            let joined = [base.as_str(), repository.as_str()]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("/");
            crate::oci::check_repository(&joined)
                .map(|()| joined.clone())
                .map_err(|why| format!("`{joined}` is not a repository: {why}"))
        };
        let (to_repository, from_store) = match to_repository {
            Ok(r) => (r, Ok(&from)),
            Err(why) => (String::new(), Err(why)),
        };
        let is_digest = Digest::parse(&tag).is_ok();
        jobs.push(ImageJob {
            label: entry
                .annotations
                .get(annotation::REF_NAME)
                .cloned()
                .unwrap_or_else(|| entry.digest.to_string()),
            from: from_store,
            from_repository: repository,
            reference: tag.clone(),
            to_repository,
            tag: (!is_digest).then_some(tag),
        });
    }
    // Images first: a pack appears on the target only when what it deploys is there.
    let images = copy_images(&jobs, to, &options.mirror, reporter).await;
    let failed: Vec<String> = images
        .iter()
        .filter_map(|m| match &m.status {
            MirrorStatus::Failed { reason } => Some(format!("{}: {reason}", m.image)),
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        return Err(Error::Mirror { failed });
    }
    let packs = if packs.is_empty() {
        Vec::new()
    } else {
        copy(&from, to, &CopyWhat::All, &options.copy, reporter).await?
    };
    Ok(Imported {
        packs,
        images,
        verified,
    })
}
