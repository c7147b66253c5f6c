//! The embedded store: OCI image layouts on disk, one per repository under a root folder.
//!
//! `ROOT/<repository>/` holds `oci-layout`, `index.json` (tags as
//! `org.opencontainers.image.ref.name`) and `blobs/sha256/…`: what `oras --oci-layout`,
//! `skopeo oci:` and zot read. Every write goes to a temporary file that is then renamed, a
//! blob that is present is never rewritten, and index.json changes under a lock on the folder.

use crate::content::{BoxReader, StoreError, TagCondition, TagWrite, TaggedManifest, off_worker};
use crate::oci::digest::{CopyError, copy_verified};
use crate::oci::is_valid_tag;
use crate::oci::{Descriptor, Digest, Index, MAX_MANIFEST_SIZE, annotation};
use bytes::Bytes;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const OCI_LAYOUT: &str = "oci-layout";
const INDEX_JSON: &str = "index.json";
const LAYOUT_VERSION: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// The largest `index.json` packctl reads (about 80,000 tags): a bigger one is refused
/// rather than read into memory.
pub const MAX_INDEX_SIZE: u64 = 16 * 1024 * 1024;

/// The largest `oci-layout` file packctl reads; the real one is 30 bytes.
pub const MAX_OCI_LAYOUT_SIZE: u64 = 64 * 1024;

/// Opens a file of the store for reading, only if it is a regular file.
///
/// A link (to `/dev/zero`, say) is not followed and a FIFO does not block the open, so a
/// hostile store can neither feed endless bytes nor hang the reader; `Ok(Err(why))` says
/// what the path is instead.
fn open_regular(path: &Path) -> io::Result<Result<(File, u64), String>> {
    let file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Ok(Err(not_regular(path, "a symbolic link")));
        }
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(Ok((file, meta.len())));
    }
    let what = if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    };
    Ok(Err(not_regular(path, what)))
}

fn not_regular(path: &Path, what: &str) -> String {
    format!("`{}` is {what}, not a regular file", path.display())
}

/// Reads at most `cap` bytes of `file`; `None` when it holds more.
fn read_capped(file: File, cap: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= cap).then_some(bytes))
}

/// A small file of the layout (`oci-layout`, `index.json`), read through a cap.
enum Small {
    Missing,
    Refused(String),
    Bytes(Vec<u8>),
}

fn read_small(path: &Path, cap: u64) -> Result<Small, StoreError> {
    let (file, _) = match open_regular(path) {
        Ok(Ok(opened)) => opened,
        Ok(Err(why)) => return Ok(Small::Refused(why)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Small::Missing),
        Err(e) => return Err(io_error(path)(e)),
    };
    Ok(match read_capped(file, cap).map_err(io_error(path))? {
        Some(bytes) => Small::Bytes(bytes),
        None => Small::Refused(format!("`{}` holds more than {cap} bytes", path.display())),
    })
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    crate::scratch::write_atomic(path, bytes).map_err(io_error(path))
}

/// One OCI image layout folder.
#[derive(Debug, Clone)]
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// The layout at `dir`, which may not exist yet.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Layout { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the folder holds an image layout.
    pub fn exists(&self) -> bool {
        self.dir.join(OCI_LAYOUT).is_file()
    }

    /// Creates the folder, `oci-layout` and an empty `index.json` where they are missing.
    ///
    /// Any number of processes may create the same layout at once: the files are made under
    /// the folder's lock, index.json before the `oci-layout` marker, so a layout that
    /// [`exists`](Self::exists) always has an index, and no creator empties an index that
    /// another has already written a tag to.
    pub fn create(&self) -> Result<(), StoreError> {
        fs::create_dir_all(self.dir.join("blobs/sha256")).map_err(io_error(&self.dir))?;
        let marker = self.dir.join(OCI_LAYOUT);
        if marker.is_file() {
            return Ok(());
        }
        let _lock = self.lock()?;
        let index = self.dir.join(INDEX_JSON);
        if !index.exists() {
            write_atomic(
                &index,
                &serde_json::to_vec(&Index::default()).expect("an index serialises"),
            )?;
        }
        if !marker.exists() {
            write_atomic(&marker, LAYOUT_VERSION)?;
        }
        Ok(())
    }

    /// Takes the exclusive lock on the layout folder that every index.json change holds;
    /// it is released when the returned file is dropped.
    fn lock(&self) -> Result<File, StoreError> {
        let lock = File::open(&self.dir).map_err(io_error(&self.dir))?;
        lock.lock().map_err(io_error(&self.dir))?;
        Ok(lock)
    }

    fn check(&self) -> Result<(), StoreError> {
        let marker = self.dir.join(OCI_LAYOUT);
        let bytes = match read_small(&marker, MAX_OCI_LAYOUT_SIZE)? {
            Small::Bytes(b) => b,
            Small::Missing => {
                return Err(StoreError::NotLayout {
                    path: self.dir.clone(),
                    reason: "it has no oci-layout file".into(),
                });
            }
            Small::Refused(why) => {
                return Err(StoreError::NotLayout {
                    path: self.dir.clone(),
                    reason: format!("its oci-layout cannot be read: {why}"),
                });
            }
        };
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::NotLayout {
                path: self.dir.clone(),
                reason: format!("its oci-layout file is not JSON: {e}"),
            })?;
        match value.get("imageLayoutVersion").and_then(|v| v.as_str()) {
            Some(v) if v.starts_with("1.") => Ok(()),
            other => Err(StoreError::NotLayout {
                path: self.dir.clone(),
                reason: format!("its imageLayoutVersion is {other:?}, not 1.x"),
            }),
        }
    }

    /// Where a blob lives.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex())
    }

    /// Reads index.json.
    pub fn index(&self) -> Result<Index, StoreError> {
        self.check()?;
        let path = self.dir.join(INDEX_JSON);
        let bytes = match read_small(&path, MAX_INDEX_SIZE)? {
            Small::Bytes(b) => b,
            Small::Missing => {
                return Err(io_error(&path)(io::ErrorKind::NotFound.into()));
            }
            Small::Refused(why) => {
                return Err(StoreError::NotLayout {
                    path: self.dir.clone(),
                    reason: format!("its index.json cannot be read: {why}"),
                });
            }
        };
        serde_json::from_slice(&bytes).map_err(|e| StoreError::NotLayout {
            path: self.dir.clone(),
            reason: format!("its index.json is not an image index: {e}"),
        })
    }

    /// Changes index.json under an exclusive lock on the layout folder; the index is read
    /// after the lock is taken and written back only when `change` altered it.
    pub fn update_index<T, E: From<StoreError>>(
        &self,
        change: impl FnOnce(&mut Index) -> Result<T, E>,
    ) -> Result<T, E> {
        let lock = self.lock()?;
        let mut index = self.index()?;
        let before = serde_json::to_vec(&index).expect("an index serialises");
        let result = change(&mut index)?;
        let after = serde_json::to_vec(&index).expect("an index serialises");
        if after != before {
            write_atomic(&self.dir.join(INDEX_JSON), &after)?;
        }
        drop(lock);
        Ok(result)
    }

    /// The manifest a tag points at.
    pub fn resolve(&self, tag: &str) -> Result<Option<Descriptor>, StoreError> {
        if !self.exists() {
            return Ok(None);
        }
        Ok(self
            .index()?
            .manifests
            .into_iter()
            .rev()
            .find(|d| d.annotations.get(annotation::REF_NAME).map(String::as_str) == Some(tag)))
    }

    /// Every tag, in index order.
    pub fn tags(&self) -> Result<Vec<String>, StoreError> {
        if !self.exists() {
            return Ok(Vec::new());
        }
        Ok(self
            .index()?
            .manifests
            .iter()
            .filter_map(|d| d.annotations.get(annotation::REF_NAME).cloned())
            .collect())
    }

    /// Whether the blob is present with the expected size.
    pub fn has_blob(&self, digest: &Digest, size: u64) -> bool {
        // A link is never a present blob, even to a file of the right size: reads refuse it.
        fs::symlink_metadata(self.blob_path(digest)).is_ok_and(|m| m.is_file() && m.len() == size)
    }

    /// Reads a manifest blob, refusing one over the cap or whose bytes do not match.
    pub fn manifest(&self, digest: &Digest, location: &str) -> Result<Bytes, StoreError> {
        let path = self.blob_path(digest);
        let reference = || format!("{location}@{digest}");
        let (file, size) = self.open_regular_blob(&path, digest, location, reference)?;
        if size > MAX_MANIFEST_SIZE {
            return Err(StoreError::ManifestTooLarge {
                reference: reference(),
                size,
            });
        }
        // The size was checked, but the file may grow while it is read.
        let bytes = read_capped(file, MAX_MANIFEST_SIZE)
            .map_err(io_error(&path))?
            .ok_or_else(|| StoreError::ManifestTooLarge {
                reference: reference(),
                size: MAX_MANIFEST_SIZE + 1,
            })?;
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(StoreError::Damaged {
                location: location.to_string(),
                digest: digest.clone(),
                reason: format!("its bytes hash to {actual}"),
            });
        }
        Ok(Bytes::from(bytes))
    }

    /// Opens a blob for reading; the caller reads it through its descriptor's size.
    pub async fn open_blob(
        &self,
        digest: &Digest,
        location: &str,
    ) -> Result<BoxReader, StoreError> {
        let (layout, digest, at) = (self.clone(), digest.clone(), location.to_string());
        let file = off_worker(location, move || {
            let path = layout.blob_path(&digest);
            layout.open_regular_blob(&path, &digest, &at, || format!("{at}@{digest}"))
        })
        .await?
        .0;
        Ok(Box::pin(tokio::fs::File::from_std(file)))
    }

    fn open_regular_blob(
        &self,
        path: &Path,
        digest: &Digest,
        location: &str,
        reference: impl Fn() -> String,
    ) -> Result<(File, u64), StoreError> {
        match open_regular(path) {
            Ok(Ok(opened)) => Ok(opened),
            Ok(Err(why)) => Err(StoreError::Damaged {
                location: location.to_string(),
                digest: digest.clone(),
                reason: why,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NotFound {
                reference: reference(),
            }),
            Err(e) => Err(io_error(path)(e)),
        }
    }

    /// Writes a blob from `reader`, checking its digest and size; a blob already present
    /// is left as it is.
    pub async fn put_blob(
        &self,
        descriptor: &Descriptor,
        reader: BoxReader,
        location: &str,
    ) -> Result<bool, StoreError> {
        self.write_blob(descriptor, reader, location, false).await
    }

    /// Writes a blob from `reader`, checking its digest and size, and puts it in place of
    /// the blob of that digest if there is one (readers see the old file or the new one).
    pub async fn replace_blob(
        &self,
        descriptor: &Descriptor,
        reader: BoxReader,
        location: &str,
    ) -> Result<bool, StoreError> {
        self.write_blob(descriptor, reader, location, true).await
    }

    async fn write_blob(
        &self,
        descriptor: &Descriptor,
        reader: BoxReader,
        location: &str,
        replace: bool,
    ) -> Result<bool, StoreError> {
        let path = self.blob_path(&descriptor.digest);
        // The temporary file is removed when it is dropped, so a future dropped mid-copy
        // leaves nothing behind.
        let (layout, wanted, at) = (self.clone(), descriptor.clone(), path.clone());
        let Some(tmp) = off_worker(location, move || {
            if !replace && layout.has_blob(&wanted.digest, wanted.size) {
                return Ok(None);
            }
            let dir = at.parent().expect("a blob path has a folder");
            fs::create_dir_all(dir).map_err(io_error(dir))?;
            crate::scratch::file_in(dir)
                .map(Some)
                .map_err(io_error(dir))
        })
        .await?
        else {
            return Ok(false);
        };
        let (file, tmp_path) = tmp.into_parts();
        let mut out =
            tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::from_std(file));
        match copy_verified(reader, &mut out, &descriptor.digest, descriptor.size).await {
            Ok(()) => {}
            Err(CopyError::Content(reason)) => {
                return Err(StoreError::Damaged {
                    location: location.to_string(),
                    digest: descriptor.digest.clone(),
                    reason,
                });
            }
            // A registry download reports its own failures through the reader: blame the
            // registry and blob, not this layout's temporary file.
            Err(CopyError::Io(e)) => {
                return Err(StoreError::from_io(e).unwrap_or_else(|e| io_error(&path)(e)));
            }
        }
        off_worker(location, move || {
            tmp_path
                .persist(&path)
                .map_err(|e| io_error(&path)(e.error))
        })
        .await?;
        Ok(true)
    }

    /// Writes a manifest blob and, with a tag, points the tag at it whatever it held.
    pub fn put_manifest(
        &self,
        descriptor: &Descriptor,
        bytes: &[u8],
        tag: Option<&str>,
    ) -> Result<(), StoreError> {
        match tag {
            Some(tag) => self
                .put_manifest_if(descriptor, bytes, tag, &TagCondition::Any)
                .map(|_| ()),
            None => {
                self.create()?;
                self.write_manifest_blob(descriptor, bytes)?;
                let entry = index_entry(descriptor);
                self.update_index(|index| {
                    if !index.manifests.iter().any(|d| d.digest == entry.digest) {
                        index.manifests.push(entry);
                    }
                    Ok::<_, StoreError>(())
                })
            }
        }
    }

    /// Writes a manifest blob and points `tag` at it only if what the tag holds meets
    /// `condition`; the check and the change happen together under the folder's lock, so of
    /// several writers that each expect the tag to be absent exactly one succeeds.
    pub fn put_manifest_if(
        &self,
        descriptor: &Descriptor,
        bytes: &[u8],
        tag: &str,
        condition: &TagCondition,
    ) -> Result<TagWrite, StoreError> {
        if !is_valid_tag(tag) {
            return Err(StoreError::InvalidTag {
                tag: tag.to_string(),
            });
        }
        self.create()?;
        // An untagged blob is harmless: a refused write leaves it for the next push to reuse.
        self.write_manifest_blob(descriptor, bytes)?;
        let entry = index_entry(descriptor);
        self.update_index(|index| {
            let current = tagged(index, tag).map(|d| d.digest.clone());
            if !condition.allows(current.as_ref()) {
                return Ok(TagWrite::Refused { current });
            }
            set_tag(index, tag, entry);
            Ok(TagWrite::Written { previous: current })
        })
    }

    /// Under the folder's lock, reads the manifest `tag` points at and lets `change` decide
    /// what replaces it (`None` keeps it); writes the replacement's blobs, then moves the tag.
    /// Returns what the tag points at in the end.
    pub fn replace_tagged<E: From<StoreError>>(
        &self,
        tag: &str,
        location: &str,
        change: impl FnOnce(Option<&Bytes>) -> Result<Option<TaggedManifest>, E>,
    ) -> Result<Option<Descriptor>, E> {
        if !is_valid_tag(tag) {
            return Err(StoreError::InvalidTag {
                tag: tag.to_string(),
            }
            .into());
        }
        self.create()?;
        self.update_index(|index| {
            let current = tagged(index, tag).cloned();
            let bytes = match &current {
                Some(d) => Some(self.manifest(&d.digest, location)?),
                None => None,
            };
            let Some(new) = change(bytes.as_ref())? else {
                return Ok(current);
            };
            for (descriptor, blob) in &new.blobs {
                if !self.has_blob(&descriptor.digest, descriptor.size) {
                    write_atomic(&self.blob_path(&descriptor.digest), blob)?;
                }
            }
            self.write_manifest_blob(&new.descriptor, &new.bytes)?;
            let entry = index_entry(&new.descriptor);
            set_tag(index, tag, entry.clone());
            Ok(Some(entry))
        })
    }

    fn write_manifest_blob(&self, descriptor: &Descriptor, bytes: &[u8]) -> Result<(), StoreError> {
        if self.has_blob(&descriptor.digest, descriptor.size) {
            self.touch_blob(&descriptor.digest);
        } else {
            write_atomic(&self.blob_path(&descriptor.digest), bytes)?;
        }
        Ok(())
    }
}

/// The index entry of a manifest: its descriptor without annotations.
fn index_entry(descriptor: &Descriptor) -> Descriptor {
    let mut entry = Descriptor::new(
        descriptor.media_type.clone(),
        descriptor.digest.clone(),
        descriptor.size,
    );
    entry.artifact_type = descriptor.artifact_type.clone();
    entry
}

/// The entry a tag names; the last one wins, as in [`Layout::resolve`].
fn tagged<'a>(index: &'a Index, tag: &str) -> Option<&'a Descriptor> {
    index
        .manifests
        .iter()
        .rev()
        .find(|d| d.annotations.get(annotation::REF_NAME).map(String::as_str) == Some(tag))
}

/// Points `tag` at `entry`, dropping whatever else carried it.
fn set_tag(index: &mut Index, tag: &str, entry: Descriptor) {
    index
        .manifests
        .retain(|d| d.annotations.get(annotation::REF_NAME).map(String::as_str) != Some(tag));
    index
        .manifests
        .push(entry.annotate(annotation::REF_NAME, tag));
}

/// What a garbage collection of one layout found and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Collected {
    /// Blobs that nothing in the index reaches, removed (or, in a dry run, to remove).
    pub removed: Vec<Digest>,
    /// Their bytes.
    pub bytes: u64,
    /// Unreached blobs kept because they are younger than the cut-off: a writer may be
    /// about to name them.
    pub kept_young: usize,
}

impl Layout {
    /// Removes blobs that no manifest of the index reaches (a tagged or untagged entry, the
    /// manifests of an index, their config and layers), except those modified at or after
    /// `cutoff`. Runs under the folder's lock, so no index changes meanwhile; a writer that
    /// found a blob present touches it ([`Layout::touch_blob`]), so a blob a running push is
    /// about to name is never older than that push.
    pub fn collect(
        &self,
        cutoff: std::time::SystemTime,
        dry_run: bool,
        location: &str,
    ) -> Result<Collected, StoreError> {
        let mut collected = Collected::default();
        if !self.exists() {
            return Ok(collected);
        }
        let _lock = self.lock()?;
        let index = self.index()?;
        let mut reached: std::collections::BTreeSet<Digest> = Default::default();
        let mut stack: Vec<Descriptor> = index.manifests.clone();
        while let Some(d) = stack.pop() {
            if !reached.insert(d.digest.clone()) {
                continue;
            }
            // A manifest the index names but the store lost is no reason to stop.
            let Ok(bytes) = self.manifest(&d.digest, location) else {
                continue;
            };
            let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                continue;
            };
            let mut named = Vec::new();
            if let Some(config) = value.get("config") {
                named.push(config.clone());
            }
            for key in ["layers", "manifests"] {
                if let Some(list) = value.get(key).and_then(|l| l.as_array()) {
                    named.extend(list.iter().cloned());
                }
            }
            for item in named {
                if let Ok(child) = serde_json::from_value::<Descriptor>(item) {
                    if child.media_type.contains("manifest") || child.media_type.contains("index") {
                        stack.push(child);
                    } else {
                        reached.insert(child.digest);
                    }
                }
            }
        }
        let dir = self.dir.join("blobs/sha256");
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(collected);
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(digest) = name
                .to_str()
                .and_then(|hex| Digest::parse(&format!("sha256:{hex}")).ok())
            else {
                // Temporary files are the scratch sweeper's; anything else is not a blob.
                continue;
            };
            if reached.contains(&digest) {
                continue;
            }
            let Ok(meta) = fs::symlink_metadata(entry.path()) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            if meta.modified().map_or(true, |m| m >= cutoff) {
                collected.kept_young += 1;
                continue;
            }
            if !dry_run {
                fs::remove_file(entry.path()).map_err(io_error(&entry.path()))?;
            }
            collected.bytes += meta.len();
            collected.removed.push(digest);
        }
        collected.removed.sort();
        Ok(collected)
    }

    /// Marks a present blob as just used, so that a collection running meanwhile keeps it
    /// for the writer about to name it.
    pub fn touch_blob(&self, digest: &Digest) {
        if let Ok(file) = fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(self.blob_path(digest))
        {
            let _ = file.set_modified(std::time::SystemTime::now());
        }
    }

    /// Removes every index entry of a manifest (its tags included).
    ///
    /// Blobs stay on disk: a push running at the same time may be about to name them.
    pub fn delete_manifest(&self, digest: &Digest, location: &str) -> Result<(), StoreError> {
        if !self.exists() {
            return Err(StoreError::NotFound {
                reference: format!("{location}@{digest}"),
            });
        }
        self.update_index(|index| {
            let before = index.manifests.len();
            index.manifests.retain(|d| &d.digest != digest);
            if index.manifests.len() == before {
                return Err(StoreError::NotFound {
                    reference: format!("{location}@{digest}"),
                });
            }
            Ok(())
        })
    }

    /// Removes a tag from the index, leaving other tags of its manifest.
    pub fn delete_tag(&self, tag: &str, reference: &str) -> Result<(), StoreError> {
        if !self.exists() {
            return Err(StoreError::NotFound {
                reference: reference.to_string(),
            });
        }
        self.update_index(|index| {
            let before = index.manifests.len();
            index.manifests.retain(|d| {
                d.annotations.get(annotation::REF_NAME).map(String::as_str) != Some(tag)
            });
            if index.manifests.len() == before {
                return Err(StoreError::NotFound {
                    reference: reference.to_string(),
                });
            }
            Ok(())
        })
    }
}

/// Repositories as image layouts under one root folder.
#[derive(Debug, Clone)]
pub struct LayoutStore {
    root: PathBuf,
    display: String,
}

impl LayoutStore {
    /// The store rooted at `root`; `display` is how references name it (`oci:PATH`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let display = format!("oci:{}", root.display());
        LayoutStore { root, display }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `oci:ROOT`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The layout of a repository.
    pub fn layout(&self, repository: &str) -> Layout {
        Layout::at(self.root.join(repository))
    }

    /// Repositories below `prefix` (`""` for all), sorted.
    pub fn repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let start = self.root.join(prefix);
        let mut found = Vec::new();
        if start.is_dir() {
            self.find(&start, 0, &mut found)?;
        }
        found.sort();
        Ok(found)
    }

    fn find(&self, dir: &Path, depth: usize, found: &mut Vec<String>) -> Result<(), StoreError> {
        if dir.join(OCI_LAYOUT).is_file() {
            let rel = dir.strip_prefix(&self.root).unwrap_or(dir);
            found.push(rel.to_string_lossy().replace('\\', "/"));
            return Ok(());
        }
        if depth >= 16 {
            return Ok(());
        }
        for entry in fs::read_dir(dir).map_err(io_error(dir))? {
            let entry = entry.map_err(io_error(dir))?;
            // Links are not followed: a repository is a real folder under the root.
            if entry.file_type().map_err(io_error(dir))?.is_dir() {
                self.find(&entry.path(), depth + 1, found)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::media_type;

    #[tokio::test]
    async fn blobs_tags_and_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = LayoutStore::new(dir.path());
        let layout = store.layout("spectro-packs/archive/hello");
        assert_eq!(layout.resolve("1.0.0").unwrap(), None);

        let data = Bytes::from_static(b"layer bytes");
        let d = Descriptor::new(
            "application/octet-stream",
            Digest::of(&data),
            data.len() as u64,
        );
        layout.create().unwrap();
        assert!(
            layout
                .put_blob(&d, Box::pin(std::io::Cursor::new(data.clone())), "x")
                .await
                .unwrap()
        );
        assert!(
            !layout
                .put_blob(&d, Box::pin(std::io::Cursor::new(data.clone())), "x")
                .await
                .unwrap()
        );

        let wrong = Descriptor::new(
            "application/octet-stream",
            Digest::of(b"other"),
            data.len() as u64,
        );
        let err = layout
            .put_blob(&wrong, Box::pin(std::io::Cursor::new(data.clone())), "x")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
        assert!(!layout.blob_path(&wrong.digest).exists());
        let leftovers: Vec<_> = fs::read_dir(layout.dir().join("blobs/sha256"))
            .unwrap()
            .collect();
        assert_eq!(leftovers.len(), 1, "a failed write left a file behind");

        let manifest = br#"{"schemaVersion":2}"#;
        let md = Descriptor::new(
            media_type::MANIFEST,
            Digest::of(manifest),
            manifest.len() as u64,
        );
        layout.put_manifest(&md, manifest, Some("1.0.0")).unwrap();
        layout.put_manifest(&md, manifest, Some("latest")).unwrap();
        assert_eq!(layout.resolve("1.0.0").unwrap().unwrap().digest, md.digest);
        assert_eq!(layout.tags().unwrap(), ["1.0.0", "latest"]);
        assert_eq!(&layout.manifest(&md.digest, "x").unwrap()[..], manifest);
        assert!(matches!(
            layout.put_manifest(&md, manifest, Some("bad tag")),
            Err(StoreError::InvalidTag { .. })
        ));

        assert_eq!(
            store.repositories("").unwrap(),
            ["spectro-packs/archive/hello"]
        );
        assert_eq!(
            store.repositories("spectro-packs").unwrap(),
            ["spectro-packs/archive/hello"]
        );
        assert!(store.repositories("nothing").unwrap().is_empty());
    }

    fn manifest_descriptor(bytes: &[u8]) -> Descriptor {
        Descriptor::new(media_type::MANIFEST, Digest::of(bytes), bytes.len() as u64)
    }

    #[test]
    fn conditional_tag_writes_and_replacements() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::at(dir.path().join("repo"));
        let (a, b) = (br#"{"a":1}"#.as_slice(), br#"{"b":1}"#.as_slice());
        let (da, db) = (manifest_descriptor(a), manifest_descriptor(b));

        let write = layout
            .put_manifest_if(&da, a, "t", &TagCondition::Absent)
            .unwrap();
        assert_eq!(write, TagWrite::Written { previous: None });
        let write = layout
            .put_manifest_if(&db, b, "t", &TagCondition::Absent)
            .unwrap();
        assert_eq!(
            write,
            TagWrite::Refused {
                current: Some(da.digest.clone())
            }
        );
        let index_before = fs::read(layout.dir().join(INDEX_JSON)).unwrap();
        let write = layout
            .put_manifest_if(&db, b, "t", &TagCondition::Is(db.digest.clone()))
            .unwrap();
        assert!(matches!(write, TagWrite::Refused { .. }));
        assert_eq!(
            fs::read(layout.dir().join(INDEX_JSON)).unwrap(),
            index_before,
            "a refused write changed index.json"
        );
        let write = layout
            .put_manifest_if(&db, b, "t", &TagCondition::Is(da.digest.clone()))
            .unwrap();
        assert_eq!(
            write,
            TagWrite::Written {
                previous: Some(da.digest.clone())
            }
        );
        assert_eq!(layout.resolve("t").unwrap().unwrap().digest, db.digest);

        // A replacement sees what the tag holds, and keeping it writes nothing.
        let kept = layout
            .replace_tagged("t", "x", |current| {
                assert_eq!(current.map(|c| &c[..]), Some(b));
                Ok::<_, StoreError>(None)
            })
            .unwrap();
        assert_eq!(kept.unwrap().digest, db.digest);
        let replaced = layout
            .replace_tagged("t", "x", |_| {
                Ok::<_, StoreError>(Some(TaggedManifest {
                    descriptor: da.clone(),
                    bytes: Bytes::copy_from_slice(a),
                    blobs: vec![(manifest_descriptor(b"{}"), Bytes::from_static(b"{}"))],
                }))
            })
            .unwrap();
        assert_eq!(replaced.unwrap().digest, da.digest);
        assert_eq!(layout.tags().unwrap(), ["t"]);
        assert!(layout.has_blob(&Digest::of(b"{}"), 2));
    }

    #[test]
    fn creators_at_once_share_one_index() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let layout = Layout::at(root.join("repo"));
                std::thread::spawn(move || {
                    let bytes = format!(r#"{{"n":{i}}}"#).into_bytes();
                    let d = manifest_descriptor(&bytes);
                    layout
                        .put_manifest_if(&d, &bytes, &format!("v{i}"), &TagCondition::Absent)
                        .unwrap()
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), TagWrite::Written { previous: None });
        }
        assert_eq!(Layout::at(root.join("repo")).tags().unwrap().len(), 16);
    }
}
