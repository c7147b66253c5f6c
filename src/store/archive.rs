//! One file that carries packs, their signatures and their images: a tar of one OCI image
//! layout (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), as `oras backup` and skopeo's
//! `oci-archive:` write it.
//!
//! Index entries name what they hold with `org.opencontainers.image.ref.name`:
//! `REPOSITORY:TAG` (`spectro-packs/archive/hello:1.0.0`, `ghcr.io/org/app:1.2`), or a bare
//! `TAG` as `oras backup` writes it, which belongs to the archive's default repository.
//! Manifests with a `subject` and no name are referrers of that subject.
//!
//! An archive is read without unpacking it: opening it reads every entry once, checks every
//! blob against its name and the whole graph for completeness, and remembers where each
//! blob lies in the file; reads then come straight from the file. Writing makes a new file
//! beside the target and renames it into place only when it is complete.

use crate::content::{BoxReader, StoreError, off_worker};
use crate::layout::{MAX_INDEX_SIZE, MAX_OCI_LAYOUT_SIZE};
use crate::oci::{Descriptor, Digest, Index, MAX_MANIFEST_SIZE, annotation, media_type};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The most entries an archive may have; a real one of a few packs and their images has
/// hundreds.
pub const MAX_ARCHIVE_ENTRIES: usize = 1_000_000;

/// How deep image indexes may nest in an archive (an index of indexes of manifests is 2).
pub const MAX_NESTING: usize = 8;

/// An archive opened for reading, checked whole.
#[derive(Debug, Clone)]
pub struct ArchiveStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    display: String,
    file: File,
    /// Where each blob's bytes lie in the file.
    blobs: HashMap<Digest, (u64, u64)>,
    index: Index,
    /// The repository of entries named by a bare tag.
    default_repository: Option<String>,
    /// Referrers by subject digest.
    referrers: HashMap<Digest, Vec<Descriptor>>,
    /// The named entries of each repository, in index order: (tag, index of the entry).
    named: BTreeMap<String, Vec<(String, usize)>>,
}

/// An index entry's name split into repository and tag (or digest, after `@`); a bare tag
/// has no repository.
pub fn split_ref_name(name: &str) -> (Option<&str>, &str) {
    if let Some((repository, digest)) = name.split_once('@') {
        return (Some(repository), digest);
    }
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => (Some(&name[..slash + i]), &name[slash + i + 1..]),
        None if slash == 0 => (None, name),
        None => (Some(name), "latest"),
    }
}

impl ArchiveStore {
    /// Opens and checks the archive at `path`. `default_repository` is where entries named
    /// by a bare tag belong. Runs on a blocking thread: it reads the whole file.
    pub async fn open(
        path: &Path,
        default_repository: Option<String>,
    ) -> Result<ArchiveStore, StoreError> {
        let path = path.to_path_buf();
        let display = format!("oci-archive:{}", path.display());
        off_worker(&display.clone(), move || {
            let file = File::open(&path).map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
            let scanned = scan(&file, &path)?;
            let store = ArchiveStore {
                inner: Arc::new(Inner {
                    path: path.clone(),
                    display,
                    file,
                    blobs: scanned.blobs,
                    index: scanned.index,
                    default_repository,
                    referrers: HashMap::new(),
                    named: BTreeMap::new(),
                }),
            };
            store.check_graph()
        })
        .await
    }

    /// `oci-archive:PATH`.
    pub fn display(&self) -> &str {
        &self.inner.display
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The entries of index.json, as the archive lists them.
    pub fn entries(&self) -> &[Descriptor] {
        &self.inner.index.manifests
    }

    /// Every blob's digest and size.
    pub fn blobs(&self) -> impl Iterator<Item = (&Digest, u64)> {
        self.inner.blobs.iter().map(|(d, (_, size))| (d, *size))
    }

    /// The repository and tag an entry stands for, when it is named.
    pub fn entry_name(&self, entry: &Descriptor) -> Option<(String, String)> {
        let name = entry.annotations.get(annotation::REF_NAME)?;
        match split_ref_name(name) {
            (Some(repository), tag) => Some((repository.to_string(), tag.to_string())),
            (None, tag) => self
                .inner
                .default_repository
                .clone()
                .map(|r| (r, tag.to_string())),
        }
    }

    fn problem(&self, reason: String) -> StoreError {
        StoreError::BadArchive {
            path: self.inner.path.clone(),
            reason,
        }
    }

    /// Checks that every manifest an entry reaches is in the archive with the size its
    /// descriptor gives, and every blob those manifests name (layers a registry may not
    /// distribute excepted); collects the referrers.
    fn check_graph(mut self) -> Result<ArchiveStore, StoreError> {
        let mut referrers: HashMap<Digest, Vec<Descriptor>> = HashMap::new();
        let mut seen = BTreeSet::new();
        for entry in &self.inner.index.manifests {
            let name = entry
                .annotations
                .get(annotation::REF_NAME)
                .map_or_else(|| entry.digest.to_string(), Clone::clone);
            if let Some(name) = entry.annotations.get(annotation::REF_NAME)
                && split_ref_name(name).0.is_none()
                && self.inner.default_repository.is_none()
            {
                return Err(self.problem(format!(
                    "its entry `{name}` names a tag but no repository (as `oras backup` writes it)"
                )));
            }
            let mut stack = vec![(entry.clone(), 0usize)];
            while let Some((descriptor, depth)) = stack.pop() {
                if !seen.insert(descriptor.digest.clone()) {
                    continue;
                }
                let bytes = self.blob_bytes(&descriptor, &name)?;
                let node = Node::parse(&bytes).map_err(|why| {
                    self.problem(format!(
                        "the manifest {} of `{name}`: {why}",
                        descriptor.digest
                    ))
                })?;
                match node {
                    Node::Index(children) => {
                        if depth >= MAX_NESTING {
                            return Err(self.problem(format!(
                                "`{name}` nests image indexes more than {MAX_NESTING} deep"
                            )));
                        }
                        stack.extend(children.into_iter().map(|c| (c, depth + 1)));
                    }
                    Node::Image { blobs, subject } => {
                        for blob in blobs.iter().filter(|b| is_distributable(b)) {
                            self.check_blob(blob, &name)?;
                        }
                        if let Some(subject) = subject
                            && depth == 0
                        {
                            let manifest = crate::oci::Manifest::from_slice(&bytes)
                                .map_err(|why| self.problem(why))?;
                            referrers
                                .entry(subject.digest)
                                .or_default()
                                .push(super::referrer_descriptor(&manifest, &bytes));
                        }
                    }
                }
            }
        }
        // Looked up once here: a copy asks for tags and tags again, one entry at a time.
        let mut named: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
        for (i, entry) in self.inner.index.manifests.iter().enumerate() {
            if let Some((repository, tag)) = self.entry_name(entry) {
                named.entry(repository).or_default().push((tag, i));
            }
        }
        let inner = Arc::get_mut(&mut self.inner).expect("not shared yet");
        inner.referrers = referrers;
        inner.named = named;
        Ok(self)
    }

    fn check_blob(&self, descriptor: &Descriptor, name: &str) -> Result<(), StoreError> {
        match self.inner.blobs.get(&descriptor.digest) {
            Some((_, size)) if *size == descriptor.size => Ok(()),
            Some((_, size)) => Err(self.problem(format!(
                "`{name}` names {} of {} bytes, but the archive's blob has {size}",
                descriptor.digest, descriptor.size
            ))),
            None => Err(self.problem(format!(
                "`{name}` names {}, which the archive does not hold",
                descriptor.digest
            ))),
        }
    }

    fn blob_bytes(&self, descriptor: &Descriptor, name: &str) -> Result<Bytes, StoreError> {
        self.check_blob(descriptor, name)?;
        if descriptor.size > MAX_MANIFEST_SIZE {
            return Err(StoreError::ManifestTooLarge {
                reference: format!("{}@{}", self.inner.display, descriptor.digest),
                size: descriptor.size,
            });
        }
        self.read_blob(&descriptor.digest)
    }

    /// Reads a small blob whole (a manifest), checking its digest again: the file may have
    /// changed since it was opened.
    fn read_blob(&self, digest: &Digest) -> Result<Bytes, StoreError> {
        let Some(&(offset, size)) = self.inner.blobs.get(digest) else {
            return Err(StoreError::NotFound {
                reference: format!("{}@{digest}", self.inner.display),
            });
        };
        let mut bytes = vec![0; size as usize];
        self.inner
            .file
            .read_exact_at(&mut bytes, offset)
            .map_err(|source| StoreError::Io {
                path: self.inner.path.clone(),
                source,
            })?;
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(StoreError::Damaged {
                location: self.inner.display.clone(),
                digest: digest.clone(),
                reason: format!("its bytes hash to {actual}"),
            });
        }
        Ok(Bytes::from(bytes))
    }

    /// The entry `repository:tag` names.
    pub fn resolve(&self, repository: &str, tag: &str) -> Option<Descriptor> {
        // The last entry of a name wins, as in an image layout.
        let (_, i) = self
            .inner
            .named
            .get(repository)?
            .iter()
            .rev()
            .find(|(t, _)| t == tag)?;
        let d = &self.inner.index.manifests[*i];
        let mut found = Descriptor::new(d.media_type.clone(), d.digest.clone(), d.size);
        found.artifact_type = d.artifact_type.clone();
        Some(found)
    }

    /// A manifest by digest.
    pub fn manifest(&self, digest: &Digest) -> Result<Bytes, StoreError> {
        let size = self.inner.blobs.get(digest).map_or(0, |b| b.1);
        if size > MAX_MANIFEST_SIZE {
            return Err(StoreError::ManifestTooLarge {
                reference: format!("{}@{digest}", self.inner.display),
                size,
            });
        }
        self.read_blob(digest)
    }

    /// Whether the archive holds a blob of that size.
    pub fn has_blob(&self, digest: &Digest, size: u64) -> bool {
        self.inner.blobs.get(digest).is_some_and(|b| b.1 == size)
    }

    /// A reader of one blob's bytes in the file.
    pub async fn open_blob(&self, digest: &Digest) -> Result<BoxReader, StoreError> {
        let Some(&(offset, size)) = self.inner.blobs.get(digest) else {
            return Err(StoreError::NotFound {
                reference: format!("{}@{digest}", self.inner.display),
            });
        };
        // A descriptor of its own, so that readers at once do not share a file offset;
        // whoever reads checks the bytes against the digest.
        let path = self.inner.path.clone();
        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
        file.seek(io::SeekFrom::Start(offset))
            .await
            .map_err(|source| StoreError::Io { path, source })?;
        Ok(Box::pin(file.take(size)))
    }

    /// The tags of a repository, in index order.
    pub fn tags(&self, repository: &str) -> Vec<String> {
        self.inner
            .named
            .get(repository)
            .map(|named| named.iter().map(|(t, _)| t.clone()).collect())
            .unwrap_or_default()
    }

    /// The repositories below `prefix`, sorted.
    pub fn repositories(&self, prefix: &str) -> Vec<String> {
        let prefix = prefix.trim_end_matches('/');
        self.inner
            .named
            .keys()
            .filter(|r| {
                prefix.is_empty()
                    || r.strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .cloned()
            .collect()
    }

    /// The referrers of `subject`.
    pub fn referrers(&self, subject: &Digest) -> Vec<Descriptor> {
        self.inner
            .referrers
            .get(subject)
            .cloned()
            .unwrap_or_default()
    }
}

/// What a manifest or index points at.
pub(crate) enum Node {
    /// An image index (or Docker manifest list): its manifests.
    Index(Vec<Descriptor>),
    /// An image manifest: its config and layers, and its subject.
    Image {
        blobs: Vec<Descriptor>,
        subject: Option<Descriptor>,
    },
}

impl Node {
    /// Parses manifest bytes of any image media type.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Node, String> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Any {
            schema_version: Option<u32>,
            media_type: Option<String>,
            manifests: Option<Vec<Descriptor>>,
            config: Option<Descriptor>,
            #[serde(default)]
            layers: Vec<Descriptor>,
            subject: Option<Descriptor>,
        }
        let any: Any =
            serde_json::from_slice(bytes).map_err(|e| format!("it is not a manifest: {e}"))?;
        if any.schema_version != Some(2) {
            return Err(format!(
                "its schemaVersion is {:?}, not 2",
                any.schema_version
            ));
        }
        match (any.manifests, any.config) {
            (Some(manifests), None) => Ok(Node::Index(manifests)),
            (None, Some(config)) => {
                let mut blobs = vec![config];
                blobs.extend(any.layers);
                Ok(Node::Image {
                    blobs,
                    subject: any.subject,
                })
            }
            _ => Err(format!(
                "it is neither an image manifest nor an index (media type {:?})",
                any.media_type
            )),
        }
    }
}

/// Whether a registry distributes a layer: foreign (Windows base) layers with `urls` are
/// fetched from elsewhere and left out of copies, as skopeo and crane do.
pub(crate) fn is_distributable(blob: &Descriptor) -> bool {
    !(blob.media_type.contains("foreign") || blob.media_type.contains("nondistributable"))
        || !blob.extra.contains_key("urls")
}

/// The media type of a manifest, from its bytes (`mediaType`, else what it holds).
pub(crate) fn manifest_media_type(bytes: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Head {
        media_type: Option<String>,
        manifests: Option<serde::de::IgnoredAny>,
    }
    match serde_json::from_slice::<Head>(bytes) {
        Ok(Head {
            media_type: Some(t),
            ..
        }) => t,
        Ok(Head {
            manifests: Some(_), ..
        }) => media_type::INDEX.to_string(),
        _ => media_type::MANIFEST.to_string(),
    }
}

struct Scanned {
    blobs: HashMap<Digest, (u64, u64)>,
    index: Index,
}

/// Reads every entry once: the layout files, and each blob hashed against its name.
fn scan(file: &File, path: &Path) -> Result<Scanned, StoreError> {
    let refuse = |reason: String| StoreError::BadArchive {
        path: path.to_path_buf(),
        reason,
    };
    let io = |source: io::Error| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut magic = [0u8; 2];
    if file.read_at(&mut magic, 0).map_err(io)? == 2 && magic == [0x1f, 0x8b] {
        return Err(refuse(
            "it is compressed with gzip; packctl reads an uncompressed tar (run `gunzip` on it first)"
                .into(),
        ));
    }
    let mut archive = tar::Archive::new(io::BufReader::with_capacity(256 * 1024, file));
    let mut blobs = HashMap::new();
    let mut layout_seen = false;
    let mut index = None;
    let entries = archive
        .entries()
        .map_err(|e| refuse(format!("it is not a tar archive: {e}")))?;
    for (count, entry) in entries.enumerate() {
        if count >= MAX_ARCHIVE_ENTRIES {
            return Err(refuse(format!(
                "it has more than {MAX_ARCHIVE_ENTRIES} entries"
            )));
        }
        let mut entry = entry.map_err(|e| refuse(format!("it is not a tar archive: {e}")))?;
        let name = entry
            .path()
            .map_err(|e| refuse(format!("an entry's name cannot be read: {e}")))?
            .to_string_lossy()
            .into_owned();
        let name = name.trim_start_matches("./").to_string();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            return Err(refuse(format!(
                "its entry `{name}` is a {kind:?}, not a regular file"
            )));
        }
        match name.as_str() {
            "oci-layout" => {
                let bytes = read_capped(&mut entry, MAX_OCI_LAYOUT_SIZE)
                    .map_err(io)?
                    .ok_or_else(|| refuse("its oci-layout file is too large".into()))?;
                let value: serde_json::Value = serde_json::from_slice(&bytes)
                    .map_err(|e| refuse(format!("its oci-layout file is not JSON: {e}")))?;
                match value.get("imageLayoutVersion").and_then(|v| v.as_str()) {
                    Some(v) if v.starts_with("1.") => layout_seen = true,
                    other => {
                        return Err(refuse(format!(
                            "its imageLayoutVersion is {other:?}, not 1.x"
                        )));
                    }
                }
            }
            "index.json" => {
                let bytes = read_capped(&mut entry, MAX_INDEX_SIZE)
                    .map_err(io)?
                    .ok_or_else(|| refuse("its index.json is too large".into()))?;
                index =
                    Some(serde_json::from_slice::<Index>(&bytes).map_err(|e| {
                        refuse(format!("its index.json is not an image index: {e}"))
                    })?);
            }
            other => {
                let Some(digest) = blob_name(other) else {
                    tracing::debug!(target: "packctl::store", entry = other, "skipped");
                    continue;
                };
                let offset = entry.raw_file_position();
                let size = entry.size();
                let actual = hash(&mut entry).map_err(io)?;
                if actual != digest {
                    return Err(StoreError::Damaged {
                        location: format!("oci-archive:{}", path.display()),
                        digest,
                        reason: format!(
                            "its bytes hash to {actual}: the archive was altered or damaged"
                        ),
                    });
                }
                blobs.entry(digest).or_insert((offset, size));
            }
        }
    }
    if !layout_seen {
        return Err(refuse("it has no oci-layout file".into()));
    }
    let index = index.ok_or_else(|| refuse("it has no index.json".into()))?;
    Ok(Scanned { blobs, index })
}

/// The digest a `blobs/<alg>/<hex>` entry name stands for.
fn blob_name(name: &str) -> Option<Digest> {
    let rest = name.strip_prefix("blobs/")?;
    let (algorithm, hex) = rest.split_once('/')?;
    if algorithm != "sha256" {
        return None;
    }
    Digest::parse(&format!("{algorithm}:{hex}")).ok()
}

fn read_capped(reader: &mut impl Read, cap: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= cap).then_some(bytes))
}

fn hash(reader: &mut impl Read) -> io::Result<Digest> {
    let mut hasher = crate::oci::digest::Hasher::new();
    let mut buffer = vec![0; 256 * 1024];
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finish().0)
}

/// Writes an archive: blobs as they come, index.json last; the file appears at its path
/// only when [`ArchiveWriter::finish`] has written everything.
pub struct ArchiveWriter {
    target: PathBuf,
    builder: Option<tar::Builder<io::BufWriter<tempfile::NamedTempFile>>>,
    written: BTreeSet<Digest>,
    entries: Vec<Descriptor>,
}

fn header(size: u64, mode: u32, kind: tar::EntryType) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_size(size);
    header.set_mode(mode);
    header.set_entry_type(kind);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

impl ArchiveWriter {
    /// Starts an archive that will be `target`, in a temporary file beside it.
    pub fn create(target: &Path) -> io::Result<ArchiveWriter> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // Named as every temporary file is, so an interrupted export's is removed by the run
        // itself or swept by a later one.
        let tmp = crate::scratch::file_in(dir)?;
        let mut builder = tar::Builder::new(io::BufWriter::with_capacity(1024 * 1024, tmp));
        for folder in ["blobs/", "blobs/sha256/"] {
            let mut h = header(0, 0o755, tar::EntryType::Directory);
            builder.append_data(&mut h, folder, io::empty())?;
        }
        let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
        let mut h = header(layout.len() as u64, 0o644, tar::EntryType::Regular);
        builder.append_data(&mut h, "oci-layout", &layout[..])?;
        Ok(ArchiveWriter {
            target: target.to_path_buf(),
            builder: Some(builder),
            written: BTreeSet::new(),
            entries: Vec::new(),
        })
    }

    /// Whether the blob is in the archive already.
    pub fn has(&self, digest: &Digest) -> bool {
        self.written.contains(digest)
    }

    /// Adds a blob of `size` bytes from `reader` (whose bytes were checked already).
    pub fn add_blob(&mut self, digest: &Digest, size: u64, reader: impl Read) -> io::Result<()> {
        if !self.written.insert(digest.clone()) {
            return Ok(());
        }
        let builder = self.builder.as_mut().expect("not finished");
        let mut h = header(size, 0o644, tar::EntryType::Regular);
        let name = format!("blobs/{}/{}", digest.algorithm(), digest.hex());
        builder.append_data(&mut h, name, reader.take(size))
    }

    /// Lists a manifest in index.json (with its name, when it has one).
    pub fn add_entry(&mut self, entry: Descriptor) {
        let name = entry.annotations.get(annotation::REF_NAME).cloned();
        if let Some(name) = &name {
            self.entries
                .retain(|d| d.annotations.get(annotation::REF_NAME) != Some(name));
        } else if self.entries.iter().any(|d| d.digest == entry.digest) {
            return;
        }
        self.entries.push(entry);
    }

    /// Writes index.json, flushes and moves the file into place.
    pub fn finish(mut self) -> io::Result<()> {
        let mut builder = self.builder.take().expect("not finished");
        let index = Index {
            manifests: std::mem::take(&mut self.entries),
            ..Index::default()
        };
        let bytes = serde_json::to_vec(&index).expect("an index serialises");
        let mut h = header(bytes.len() as u64, 0o644, tar::EntryType::Regular);
        builder.append_data(&mut h, "index.json", &bytes[..])?;
        let mut out = builder.into_inner()?;
        out.flush()?;
        let tmp = out.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.target).map_err(|e| e.error)?;
        Ok(())
    }
}
