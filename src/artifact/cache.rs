//! Caches that let an unchanged pack be pushed without reading it again: the digests of big
//! files ([`DigestCache`]) and the digests of compressed layers ([`LayerCache`]).
//!
//! An entry is trusted only while the file's device, inode, size, modification time and
//! change time are all what they were when it was hashed, as Git trusts its index. A file
//! changed less than two seconds before it was hashed is not cached, since a second change
//! within the same timestamp tick would go unseen. Only files of 1 MiB or more are cached:
//! smaller ones hash faster than the cache is read.

use super::tarball::TarGzDigests;
use crate::oci::digest::Digest;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Files smaller than this are always hashed.
pub const MIN_CACHED_SIZE: u64 = 1 << 20;
/// The most entries kept.
const MAX_ENTRIES: usize = 20_000;
/// The most compressed layers remembered.
const MAX_LAYERS: usize = 2_000;
/// How old a file's last change must be for a digest computed from it to be remembered: a
/// second change within the same timestamp tick would go unseen.
const SETTLED_NS: i128 = 2_000_000_000;

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        }
    }

    /// Whether the file's last change is old enough for a digest of it to be remembered.
    fn settled(&self) -> bool {
        now_ns() - self.mtime_ns.max(self.ctime_ns) >= SETTLED_NS
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    stamp: Stamp,
    digest: Digest,
}

/// The digest cache of one run: read at start, written back when something was added.
#[derive(Debug, Default)]
pub struct DigestCache {
    path: Option<PathBuf>,
    entries: Mutex<HashMap<String, Entry>>,
    dirty: Mutex<bool>,
}

impl DigestCache {
    /// Opens the cache in `dir` (`None`: a cache that keeps nothing); an unreadable cache is
    /// an empty one.
    pub fn open(dir: Option<&Path>) -> DigestCache {
        let Some(path) = dir.map(|d| d.join("digests-v1.json")) else {
            return DigestCache::default();
        };
        let entries = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        DigestCache {
            path: Some(path),
            entries: Mutex::new(entries),
            dirty: Mutex::new(false),
        }
    }

    /// The cached digest and size of a file, when the file is unchanged since it was hashed.
    pub fn get(&self, file: &Path, meta: &std::fs::Metadata) -> Option<(Digest, u64)> {
        if meta.size() < MIN_CACHED_SIZE {
            return None;
        }
        let key = file.to_string_lossy();
        let entries = self.entries.lock().expect("not poisoned");
        let entry = entries.get(key.as_ref())?;
        (entry.stamp == Stamp::of(meta)).then(|| (entry.digest.clone(), meta.size()))
    }

    /// Remembers a digest computed from a file whose metadata before hashing was `meta`.
    pub fn put(&self, file: &Path, meta: &std::fs::Metadata, digest: &Digest) {
        if meta.size() < MIN_CACHED_SIZE || self.path.is_none() {
            return;
        }
        let stamp = Stamp::of(meta);
        if !stamp.settled() {
            return;
        }
        let mut entries = self.entries.lock().expect("not poisoned");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            file.to_string_lossy().into_owned(),
            Entry {
                stamp,
                digest: digest.clone(),
            },
        );
        *self.dirty.lock().expect("not poisoned") = true;
    }

    /// Writes the cache back if it changed; failures are ignored, the cache is advisory.
    pub fn save(&self) {
        if *self.dirty.lock().expect("not poisoned") {
            save_json(
                self.path.as_deref(),
                &*self.entries.lock().expect("not poisoned"),
            );
        }
    }
}

/// Writes `value` to `path` through a temporary file and a rename, so that a reader sees the
/// old cache or the new one, never a mix; of two runs saving at once, the last one wins,
/// which only costs the other's entries. Failures are ignored: the caches are advisory.
fn save_json(path: Option<&Path>, value: &impl Serialize) {
    let Some(path) = path else {
        return;
    };
    let Ok(bytes) = serde_json::to_vec(value) else {
        return;
    };
    if let Some(dir) = path.parent()
        && std::fs::create_dir_all(dir).is_ok()
        && let Ok(mut tmp) = crate::scratch::file_in(dir)
        && std::io::Write::write_all(&mut tmp, &bytes).is_ok()
    {
        let _ = tmp.persist(path);
    }
}

/// What a compressed layer holds, for its cache key: every entry in archive order, with the
/// stamp of each file's source.
#[derive(Serialize)]
struct LayerInput<'a> {
    /// Changes when the tar or gzip output would change for the same files.
    format: &'static str,
    gzip_level: u32,
    entries: Vec<(&'a str, Option<SourceStamp<'a>>)>,
}

/// A file entry's source (its path's bytes), whether it is executable, and its stamp.
type SourceStamp<'a> = (&'a [u8], bool, Stamp);

/// The key of a compressed layer in the [`LayerCache`].
#[derive(Debug, Clone)]
pub struct LayerKey {
    hex: String,
    /// Whether every file had settled (see [`Stamp::settled`]): only then may the layer's
    /// digests be remembered.
    settled: bool,
}

impl LayerKey {
    /// The key of a layer whose entries are `entries`, in archive order: a folder has no
    /// source, a file has its source file and whether it is executable. Every source is
    /// looked at (not read) here, before the layer is compressed.
    pub fn of<'a>(
        entries: impl IntoIterator<Item = (&'a str, Option<(&'a Path, bool)>)>,
    ) -> std::io::Result<LayerKey> {
        let mut settled = true;
        let mut input = LayerInput {
            format: "packctl tar v1, flate2 zlib-rs",
            gzip_level: super::tarball::GZIP_LEVEL,
            entries: Vec::new(),
        };
        for (name, file) in entries {
            let file = match file {
                None => None,
                Some((source, executable)) => {
                    let stamp = Stamp::of(&std::fs::metadata(source)?);
                    settled &= stamp.settled();
                    Some((source.as_os_str().as_bytes(), executable, stamp))
                }
            };
            input.entries.push((name, file));
        }
        let json = serde_json::to_vec(&input).map_err(std::io::Error::other)?;
        Ok(LayerKey {
            hex: Digest::of(&json).hex().to_string(),
            settled,
        })
    }
}

/// A cache of compressed layers' digests (role folders, and the whole pack in the `archive`
/// encoding), so that an unchanged pack folder is not compressed again to learn them.
///
/// A layer's key hashes its entries (names, kinds, executable bits) and the stamp of every
/// file (as [`DigestCache`] trusts them), the tar format and the gzip level: any change to a
/// file, a name, a mode, or the set of files (an added file, a new ignore rule) gives another
/// key. The layer's bytes are not kept: a push whose store lacks the layer compresses again.
#[derive(Debug, Default)]
pub struct LayerCache {
    path: Option<PathBuf>,
    entries: Mutex<HashMap<String, TarGzDigests>>,
    dirty: Mutex<bool>,
}

impl LayerCache {
    /// Opens the cache in `dir` (`None`: a cache that keeps nothing); an unreadable cache is
    /// an empty one.
    pub fn open(dir: Option<&Path>) -> LayerCache {
        let Some(path) = dir.map(|d| d.join("layers-v1.json")) else {
            return LayerCache::default();
        };
        let entries = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        LayerCache {
            path: Some(path),
            entries: Mutex::new(entries),
            dirty: Mutex::new(false),
        }
    }

    /// The digests of the layer with this key, when one was compressed from the same files.
    pub fn get(&self, key: &LayerKey) -> Option<TarGzDigests> {
        self.path.as_ref()?;
        self.entries
            .lock()
            .expect("not poisoned")
            .get(&key.hex)
            .cloned()
    }

    /// Remembers the digests of a layer compressed from files whose stamps gave `key`.
    pub fn put(&self, key: &LayerKey, digests: &TarGzDigests) {
        if !key.settled || self.path.is_none() {
            return;
        }
        let mut entries = self.entries.lock().expect("not poisoned");
        if entries.len() >= MAX_LAYERS {
            entries.clear();
        }
        entries.insert(key.hex.clone(), digests.clone());
        *self.dirty.lock().expect("not poisoned") = true;
    }

    /// Writes the cache back if it changed.
    pub fn save(&self) {
        if *self.dirty.lock().expect("not poisoned") {
            save_json(
                self.path.as_deref(),
                &*self.entries.lock().expect("not poisoned"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn trusts_only_unchanged_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.bin");
        std::fs::write(&file, vec![7u8; MIN_CACHED_SIZE as usize]).unwrap();
        let cache = DigestCache {
            path: Some(dir.path().join("cache.json")),
            ..DigestCache::default()
        };
        let meta = std::fs::metadata(&file).unwrap();
        let digest = Digest::of(&std::fs::read(&file).unwrap());
        // Just written: too fresh to trust.
        cache.put(&file, &meta, &digest);
        assert_eq!(cache.get(&file, &meta), None);

        let old = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(old)
            .unwrap();
        // ctime is now, so still too fresh; pretend the hash happened later by faking the stamp.
        let meta = std::fs::metadata(&file).unwrap();
        let mut stamp = Stamp::of(&meta);
        stamp.ctime_ns -= 10_000_000_000;
        cache.entries.lock().unwrap().insert(
            file.to_string_lossy().into_owned(),
            Entry {
                stamp: stamp.clone(),
                digest: digest.clone(),
            },
        );
        // The real ctime differs from the recorded one, so the entry is not trusted.
        assert_eq!(cache.get(&file, &meta), None);
        stamp.ctime_ns += 10_000_000_000;
        cache.entries.lock().unwrap().insert(
            file.to_string_lossy().into_owned(),
            Entry {
                stamp,
                digest: digest.clone(),
            },
        );
        assert_eq!(cache.get(&file, &meta), Some((digest, MIN_CACHED_SIZE)));

        // Any change to the file drops the entry.
        std::fs::write(&file, vec![8u8; MIN_CACHED_SIZE as usize]).unwrap();
        let meta = std::fs::metadata(&file).unwrap();
        assert_eq!(cache.get(&file, &meta), None);
    }
}
