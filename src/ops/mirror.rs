//! Mirroring container images and Helm OCI charts between stores: every platform of an
//! index, digests kept, blobs the target holds skipped, blobs another repository of the
//! target holds mounted, images and blobs at once.

use super::{Lanes, Transfer};
use crate::content::{BlobPut, Source, StoreError, error_chain, off_worker};
use crate::error::Error;
use crate::oci::{Descriptor, Digest, check_repository};
use crate::pack::ImageRef;
use crate::progress::{SharedReporter, blob_progress};
use crate::store::{MAX_NESTING, Node, Store, is_distributable, manifest_media_type};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// How many images are copied at once (their blobs share the lanes of
/// [`MirrorOptions::concurrency`]).
pub const IMAGES_AT_ONCE: usize = 4;

/// Where a mirrored image goes in the target, below its base path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ImagePrefix {
    /// `<source host>/<source repository>` (`docker.io/library/nginx`); a port's `:` becomes
    /// `-`, as a repository path cannot hold it (`localhost-5000/app`).
    #[default]
    SourceHost,
    /// `<prefix>/<source repository>`, or the source repository alone for an empty prefix.
    Fixed(String),
}

/// The repository an image is mirrored to in a store whose base path is `base`.
pub fn image_repository(
    base: &str,
    prefix: &ImagePrefix,
    image: &ImageRef,
) -> Result<String, String> {
    let head = match prefix {
        ImagePrefix::SourceHost => image.registry.to_ascii_lowercase().replace(':', "-"),
        ImagePrefix::Fixed(p) => p.trim_matches('/').to_string(),
    };
    let repository = [base.trim_matches('/'), &head, &image.repository]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    check_repository(&repository)
        .map(|()| repository.clone())
        .map_err(|why| format!("the mirror repository `{repository}` is not valid: {why}"))
}

/// How to mirror.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MirrorOptions {
    /// Blobs of [`super::SMALL_BLOB`] bytes or more at once, over all images.
    pub concurrency: usize,
    /// Blobs at once in all, over all images.
    pub small_concurrency: usize,
    /// Images at once.
    pub images_at_once: usize,
    /// Copy every blob and manifest even where the target tag names the image already.
    pub verify_blobs: bool,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        MirrorOptions {
            concurrency: 4,
            small_concurrency: 16,
            images_at_once: IMAGES_AT_ONCE,
            verify_blobs: false,
        }
    }
}

/// One image (or chart) to copy.
#[derive(Debug, Clone)]
pub struct ImageJob<'a> {
    /// What to call it: the reference as the pack lists it.
    pub label: String,
    /// The store it is read from (`Err`: why it cannot be).
    pub from: Result<&'a Store, String>,
    /// Its repository there.
    pub from_repository: String,
    /// Its tag or digest there.
    pub reference: String,
    /// Its repository in the target.
    pub to_repository: String,
    /// The tag to give it there (none for an image listed by digest only).
    pub tag: Option<String>,
}

/// What happened to one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
#[non_exhaustive]
pub enum MirrorStatus {
    /// Copied (some or all of it was missing).
    Copied,
    /// The target tag names the same manifest already.
    Unchanged,
    /// Not copied, by rule (an HTTP chart repository).
    Skipped {
        /// Why.
        reason: String,
    },
    /// The copy failed.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One image's copy.
#[derive(Debug, Clone, Serialize)]
pub struct Mirrored {
    /// The image as listed.
    pub image: String,
    /// Where it went (`TARGET/REPOSITORY:TAG` or `…@DIGEST`).
    pub target: String,
    /// Its manifest (or index) digest, the same on both sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// Platform manifests under an index (0 for a single manifest).
    #[serde(skip_serializing_if = "is_zero")]
    pub platforms: usize,
    /// What happened.
    #[serde(flatten)]
    pub status: MirrorStatus,
    /// Blobs moved and blobs the target had.
    pub blobs: Transfer,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Every manifest an image reaches (children before the index that lists them) and every
/// blob they name.
pub(crate) struct Graph {
    /// Manifests, the root last.
    pub manifests: Vec<(Descriptor, Bytes)>,
    /// Blobs, each once.
    pub blobs: Vec<Descriptor>,
    /// Platform manifests under the root index.
    pub platforms: usize,
}

/// Reads an image's graph from `store`: `root` is its manifest or index.
pub(crate) async fn walk(
    store: &Store,
    repository: &str,
    root: Descriptor,
    root_bytes: Bytes,
) -> Result<Graph, Error> {
    let mut graph = Graph {
        manifests: Vec::new(),
        blobs: Vec::new(),
        platforms: 0,
    };
    let mut seen_blobs = BTreeSet::new();
    let mut seen = BTreeSet::new();
    // Depth-first, children pushed after their parent and emitted in reverse: post-order.
    let mut stack = vec![(root, Some(root_bytes), 0usize)];
    let mut order = Vec::new();
    while let Some((descriptor, bytes, depth)) = stack.pop() {
        if !seen.insert(descriptor.digest.clone()) {
            continue;
        }
        let bytes = match bytes {
            Some(b) => b,
            None => store.fetch_manifest(repository, &descriptor.digest).await?,
        };
        let reference = store.reference(repository, descriptor.digest.as_str());
        let node = Node::parse(&bytes).map_err(|reason| Error::BadManifest {
            reference: reference.clone(),
            reason,
        })?;
        match node {
            Node::Index(children) => {
                if depth >= MAX_NESTING {
                    return Err(Error::BadManifest {
                        reference,
                        reason: format!("it nests image indexes more than {MAX_NESTING} deep"),
                    });
                }
                if depth == 0 {
                    graph.platforms = children.len();
                }
                for child in children {
                    let mut child = child;
                    child.annotations.clear();
                    child.extra.clear();
                    stack.push((child, None, depth + 1));
                }
            }
            Node::Image { blobs, .. } => {
                for blob in blobs {
                    if is_distributable(&blob) && seen_blobs.insert(blob.digest.clone()) {
                        graph.blobs.push(blob);
                    }
                }
            }
        }
        let mut descriptor = descriptor;
        if descriptor.media_type.is_empty() {
            descriptor.media_type = manifest_media_type(&bytes);
        }
        order.push((descriptor, bytes));
    }
    // A parent was visited before its children: reversed, every child precedes its parent.
    order.reverse();
    graph.manifests = order;
    Ok(graph)
}

/// The manifest (or index) a tag or digest names in `store`, with its bytes.
pub(crate) async fn resolve_image(
    store: &Store,
    repository: &str,
    reference: &str,
) -> Result<(Descriptor, Bytes), Error> {
    let digest = match Digest::parse(reference) {
        Ok(digest) => digest,
        Err(_) => match store.resolve(repository, reference).await? {
            Some(d) => d.digest,
            None => {
                return Err(StoreError::NotFound {
                    reference: store.reference(repository, reference),
                }
                .into());
            }
        },
    };
    let bytes = store.fetch_manifest(repository, &digest).await?;
    let descriptor = Descriptor::new(manifest_media_type(&bytes), digest, bytes.len() as u64);
    Ok((descriptor, bytes))
}

/// Which repository of the target holds a blob already (from this run), so that another
/// repository of the same registry mounts it instead of receiving it again.
#[derive(Default)]
pub(crate) struct Placed(Mutex<HashMap<Digest, String>>);

impl Placed {
    fn get(&self, digest: &Digest) -> Option<String> {
        self.0.lock().expect("not poisoned").get(digest).cloned()
    }

    fn put(&self, digest: &Digest, repository: &str) {
        self.0
            .lock()
            .expect("not poisoned")
            .entry(digest.clone())
            .or_insert_with(|| repository.to_string());
    }
}

/// Copies images to `to`, several at once; one that fails does not stop the others. The
/// results come back in the order of `jobs`.
pub async fn copy_images(
    jobs: &[ImageJob<'_>],
    to: &Store,
    options: &MirrorOptions,
    reporter: &SharedReporter,
) -> Vec<Mirrored> {
    let lanes = &Lanes::new(options.concurrency, options.small_concurrency);
    let placed = &Placed::default();
    if !jobs.is_empty() {
        reporter.job_started("images", jobs.len(), None);
    }
    // Jobs of one target repository run one after another (a tag and a digest of one index
    // write the same manifests; the second finds them there), repositories at once.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        match groups
            .iter_mut()
            .find(|g| jobs[g[0]].to_repository == job.to_repository)
        {
            Some(group) => group.push(i),
            None => groups.push(vec![i]),
        }
    }
    let mut done: Vec<(usize, Mirrored)> = futures_util::stream::iter(groups)
        .map(|group| async move {
            let mut out = Vec::new();
            for i in group {
                out.push((
                    i,
                    mirror_one(&jobs[i], to, options, lanes, placed, reporter).await,
                ));
            }
            out
        })
        .buffer_unordered(options.images_at_once.max(1))
        .flat_map(futures_util::stream::iter)
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, m)| m).collect()
}

async fn mirror_one(
    job: &ImageJob<'_>,
    to: &Store,
    options: &MirrorOptions,
    lanes: &Lanes,
    placed: &Placed,
    reporter: &SharedReporter,
) -> Mirrored {
    // By its tag, else by what it was asked by (a digest).
    let target = to.reference(
        &job.to_repository,
        job.tag.as_deref().unwrap_or(&job.reference),
    );
    let mut mirrored = Mirrored {
        image: job.label.clone(),
        target,
        digest: None,
        platforms: 0,
        status: MirrorStatus::Copied,
        blobs: Transfer::default(),
    };
    match copy_image(job, to, options, lanes, placed, reporter).await {
        Ok((digest, platforms, status, blobs)) => {
            mirrored.digest = Some(digest);
            mirrored.platforms = platforms;
            mirrored.status = status;
            mirrored.blobs = blobs;
        }
        Err(reason) => mirrored.status = MirrorStatus::Failed { reason },
    }
    reporter.status(&match &mirrored.status {
        MirrorStatus::Failed { reason } => format!("failed {}: {reason}", mirrored.image),
        MirrorStatus::Unchanged => format!("unchanged {}", mirrored.target),
        _ => format!("copied {} -> {}", mirrored.image, mirrored.target),
    });
    reporter.item_finished();
    mirrored
}

async fn copy_image(
    job: &ImageJob<'_>,
    to: &Store,
    options: &MirrorOptions,
    lanes: &Lanes,
    placed: &Placed,
    reporter: &SharedReporter,
) -> Result<(Digest, usize, MirrorStatus, Transfer), String> {
    let from = job.from.as_ref().map_err(Clone::clone)?;
    let fail = |e: Error| error_chain(&e);
    let (root, bytes) = resolve_image(from, &job.from_repository, &job.reference)
        .await
        .map_err(fail)?;
    let digest = root.digest.clone();
    let existing = match &job.tag {
        Some(tag) => to.resolve(&job.to_repository, tag).await,
        None => to.resolve(&job.to_repository, digest.as_str()).await,
    }
    .map_err(|e| error_chain(&e))?;
    if !options.verify_blobs && existing.is_some_and(|d| d.digest == digest) {
        return Ok((digest, 0, MirrorStatus::Unchanged, Transfer::default()));
    }
    let graph = walk(from, &job.from_repository, root, bytes)
        .await
        .map_err(fail)?;
    let results: Vec<(BlobPut, u64)> = futures_util::stream::iter(&graph.blobs)
        .map(|blob| async move {
            let _permit = lanes.admit(blob.size).await;
            let id = reporter.blob_started(&short(&blob.digest), blob.size);
            let progress = blob_progress(reporter, id);
            let elsewhere = placed.get(&blob.digest).filter(|r| r != &job.to_repository);
            let source = match &elsewhere {
                Some(repository) => Source::Blobs {
                    from: to,
                    repository,
                },
                None => Source::Blobs {
                    from: *from,
                    repository: &job.from_repository,
                },
            };
            let put = to
                .push_blob(&job.to_repository, blob, &source, &progress)
                .await
                .map_err(|e| error_chain(&e))?;
            placed.put(&blob.digest, &job.to_repository);
            reporter.blob_finished(id, put.is_new());
            Ok::<_, String>((put, blob.size))
        })
        .buffer_unordered(lanes.total())
        .try_collect()
        .await?;
    let count = graph.manifests.len();
    for (i, (descriptor, bytes)) in graph.manifests.into_iter().enumerate() {
        let tag = if i + 1 == count {
            job.tag.as_deref()
        } else {
            None
        };
        to.push_manifest(&job.to_repository, &descriptor, bytes, tag)
            .await
            .map_err(|e| error_chain(&e))?;
    }
    Ok((
        digest,
        graph.platforms,
        MirrorStatus::Copied,
        Transfer::from_results(&results),
    ))
}

/// `sha256:0123456789ab`: a blob's label on a progress bar.
fn short(digest: &Digest) -> String {
    let s = digest.as_str();
    s[..s.len().min(19)].to_string()
}

/// Opens a store for each registry the images name (with the credentials and transport of
/// `options`), on a blocking thread: credential helpers are subprocesses.
pub async fn open_image_registries(
    registries: Vec<String>,
    options: &super::ImageCheckOptions,
) -> HashMap<String, Result<Store, String>> {
    let options = options.clone();
    off_worker("the image registries", move || {
        let mut stores = HashMap::new();
        for registry in registries {
            if let std::collections::hash_map::Entry::Vacant(entry) = stores.entry(registry) {
                let store =
                    super::images::open_registry(entry.key(), &options).map(Store::Registry);
                entry.insert(store);
            }
        }
        Ok::<_, StoreError>(stores)
    })
    .await
    .unwrap_or_default()
}

/// The image jobs for images read from their own registries into `to`.
pub fn registry_jobs<'a>(
    images: &[(String, ImageRef)],
    stores: &'a HashMap<String, Result<Store, String>>,
    to_base: &str,
    prefix: &ImagePrefix,
) -> Vec<ImageJob<'a>> {
    images
        .iter()
        .map(|(label, image)| {
            let from = match stores.get(&image.registry) {
                Some(Ok(store)) => Ok(store),
                Some(Err(why)) => Err(why.clone()),
                None => Err(format!("{} was not opened", image.registry)),
            };
            let (to_repository, from) = match image_repository(to_base, prefix, image) {
                Ok(r) => (r, from),
                Err(why) => (String::new(), Err(why)),
            };
            ImageJob {
                label: label.clone(),
                from,
                from_repository: image.repository.clone(),
                reference: image.reference().to_string(),
                to_repository,
                tag: image.tag.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_repositories() {
        let nginx = ImageRef::parse("nginx:1.25").unwrap();
        let local = ImageRef::parse("localhost:5000/team/app@sha256:".to_string().as_str());
        assert!(local.is_err());
        let local = ImageRef::parse("localhost:5000/team/app:1").unwrap();
        let cases = [
            (
                "",
                ImagePrefix::SourceHost,
                &nginx,
                "docker.io/library/nginx",
            ),
            (
                "mirror",
                ImagePrefix::SourceHost,
                &nginx,
                "mirror/docker.io/library/nginx",
            ),
            (
                "",
                ImagePrefix::SourceHost,
                &local,
                "localhost-5000/team/app",
            ),
            (
                "m",
                ImagePrefix::Fixed("hub".into()),
                &nginx,
                "m/hub/library/nginx",
            ),
            (
                "m",
                ImagePrefix::Fixed(String::new()),
                &nginx,
                "m/library/nginx",
            ),
        ];
        for (base, prefix, image, want) in cases {
            assert_eq!(image_repository(base, &prefix, image).unwrap(), want);
        }
        assert!(image_repository("", &ImagePrefix::Fixed("Bad_".into()), &nginx).is_err());
    }
}
