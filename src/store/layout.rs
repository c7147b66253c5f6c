//! The embedded store: OCI image layouts on disk, one per repository under a root folder.
//!
//! `ROOT/<repository>/` holds `oci-layout`, `index.json` (tags as
//! `org.opencontainers.image.ref.name`) and `blobs/sha256/…`: what `oras --oci-layout`,
//! `skopeo oci:` and zot read. Every write goes to a temporary file that is then renamed, a
//! blob that is present is never rewritten, and index.json changes under a lock on the folder.

use super::{BoxReader, StoreError, is_valid_tag};
use crate::artifact::digest::{CopyError, copy_verified};
use crate::artifact::{Descriptor, Digest, Index, MAX_MANIFEST_SIZE, annotation};
use bytes::Bytes;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const OCI_LAYOUT: &str = "oci-layout";
const INDEX_JSON: &str = "index.json";
const LAYOUT_VERSION: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = crate::scratch::file_in(dir).map_err(io_error(dir))?;
    tmp.write_all(bytes).map_err(io_error(path))?;
    tmp.as_file().sync_all().map_err(io_error(path))?;
    tmp.persist(path).map_err(|e| io_error(path)(e.error))?;
    Ok(())
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
    pub fn create(&self) -> Result<(), StoreError> {
        fs::create_dir_all(self.dir.join("blobs/sha256")).map_err(io_error(&self.dir))?;
        let marker = self.dir.join(OCI_LAYOUT);
        if !marker.exists() {
            write_atomic(&marker, LAYOUT_VERSION)?;
        }
        let index = self.dir.join(INDEX_JSON);
        if !index.exists() {
            write_atomic(
                &index,
                &serde_json::to_vec(&Index::default()).expect("an index serialises"),
            )?;
        }
        Ok(())
    }

    fn check(&self) -> Result<(), StoreError> {
        let marker = self.dir.join(OCI_LAYOUT);
        let bytes = match fs::read(&marker) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NotLayout {
                    path: self.dir.clone(),
                    reason: "it has no oci-layout file".into(),
                });
            }
            Err(e) => return Err(io_error(&marker)(e)),
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
        let bytes = fs::read(&path).map_err(io_error(&path))?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::NotLayout {
            path: self.dir.clone(),
            reason: format!("its index.json is not an image index: {e}"),
        })
    }

    /// Changes index.json under an exclusive lock on the layout folder.
    pub fn update_index<T>(&self, change: impl FnOnce(&mut Index) -> T) -> Result<T, StoreError> {
        let lock = File::open(&self.dir).map_err(io_error(&self.dir))?;
        lock.lock().map_err(io_error(&self.dir))?;
        let mut index = self.index()?;
        let result = change(&mut index);
        let bytes = serde_json::to_vec(&index).expect("an index serialises");
        write_atomic(&self.dir.join(INDEX_JSON), &bytes)?;
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
        fs::metadata(self.blob_path(digest)).is_ok_and(|m| m.is_file() && m.len() == size)
    }

    /// Reads a manifest blob, refusing one over the cap or whose bytes do not match.
    pub fn manifest(&self, digest: &Digest, location: &str) -> Result<Bytes, StoreError> {
        let path = self.blob_path(digest);
        let meta = fs::metadata(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::NotFound {
                reference: format!("{location}@{digest}"),
            },
            _ => io_error(&path)(e),
        })?;
        if meta.len() > MAX_MANIFEST_SIZE {
            return Err(StoreError::ManifestTooLarge {
                reference: format!("{location}@{digest}"),
                size: meta.len(),
            });
        }
        let bytes = fs::read(&path).map_err(io_error(&path))?;
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

    /// Opens a blob for reading.
    pub async fn open_blob(
        &self,
        digest: &Digest,
        location: &str,
    ) -> Result<BoxReader, StoreError> {
        let path = self.blob_path(digest);
        match tokio::fs::File::open(&path).await {
            Ok(file) => Ok(Box::pin(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NotFound {
                reference: format!("{location}@{digest}"),
            }),
            Err(e) => Err(io_error(&path)(e)),
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
        if self.has_blob(&descriptor.digest, descriptor.size) {
            return Ok(false);
        }
        let path = self.blob_path(&descriptor.digest);
        let dir = path
            .parent()
            .expect("a blob path has a folder")
            .to_path_buf();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(io_error(&dir))?;
        let tmp = crate::scratch::file_in(&dir).map_err(io_error(&dir))?;
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
            Err(CopyError::Io(e)) => return Err(io_error(&path)(e)),
        }
        tmp_path
            .persist(&path)
            .map_err(|e| io_error(&path)(e.error))?;
        Ok(true)
    }

    /// Writes a manifest blob and, with a tag, points the tag at it.
    pub fn put_manifest(
        &self,
        descriptor: &Descriptor,
        bytes: &[u8],
        tag: Option<&str>,
    ) -> Result<(), StoreError> {
        if let Some(tag) = tag
            && !is_valid_tag(tag)
        {
            return Err(StoreError::InvalidTag {
                tag: tag.to_string(),
            });
        }
        self.create()?;
        if !self.has_blob(&descriptor.digest, descriptor.size) {
            write_atomic(&self.blob_path(&descriptor.digest), bytes)?;
        }
        let mut entry = Descriptor::new(
            descriptor.media_type.clone(),
            descriptor.digest.clone(),
            descriptor.size,
        );
        entry.artifact_type = descriptor.artifact_type.clone();
        self.update_index(|index| match tag {
            Some(tag) => {
                index.manifests.retain(|d| {
                    d.annotations.get(annotation::REF_NAME).map(String::as_str) != Some(tag)
                });
                index
                    .manifests
                    .push(entry.annotate(annotation::REF_NAME, tag));
            }
            None => {
                if !index.manifests.iter().any(|d| d.digest == entry.digest) {
                    index.manifests.push(entry);
                }
            }
        })
    }
}

impl Layout {
    /// Removes every index entry of a manifest (its tags included).
    ///
    /// Blobs stay on disk: a push running at the same time may be about to name them.
    pub fn delete_manifest(&self, digest: &Digest, location: &str) -> Result<(), StoreError> {
        if !self.exists() {
            return Err(StoreError::NotFound {
                reference: format!("{location}@{digest}"),
            });
        }
        let removed = self.update_index(|index| {
            let before = index.manifests.len();
            index.manifests.retain(|d| &d.digest != digest);
            before - index.manifests.len()
        })?;
        if removed == 0 {
            return Err(StoreError::NotFound {
                reference: format!("{location}@{digest}"),
            });
        }
        Ok(())
    }

    /// Removes a tag from the index, leaving other tags of its manifest.
    pub fn delete_tag(&self, tag: &str, reference: &str) -> Result<(), StoreError> {
        if !self.exists() {
            return Err(StoreError::NotFound {
                reference: reference.to_string(),
            });
        }
        let removed = self.update_index(|index| {
            let before = index.manifests.len();
            index.manifests.retain(|d| {
                d.annotations.get(annotation::REF_NAME).map(String::as_str) != Some(tag)
            });
            before - index.manifests.len()
        })?;
        if removed == 0 {
            return Err(StoreError::NotFound {
                reference: reference.to_string(),
            });
        }
        Ok(())
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
    use crate::artifact::media_type;

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
}
