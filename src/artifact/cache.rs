//! A cache of file digests, so that pushing an unchanged pack does not hash it again.
//!
//! An entry is trusted only while the file's device, inode, size, modification time and
//! change time are all what they were when it was hashed, as Git trusts its index. A file
//! changed less than two seconds before it was hashed is not cached, since a second change
//! within the same timestamp tick would go unseen. Only files of 1 MiB or more are cached:
//! smaller ones hash faster than the cache is read.

use crate::oci::digest::Digest;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Files smaller than this are always hashed.
pub const MIN_CACHED_SIZE: u64 = 1 << 20;
/// The most entries kept.
const MAX_ENTRIES: usize = 20_000;

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
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        if now - stamp.mtime_ns.max(stamp.ctime_ns) < 2_000_000_000 {
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
        let (Some(path), true) = (&self.path, *self.dirty.lock().expect("not poisoned")) else {
            return;
        };
        let entries = self.entries.lock().expect("not poisoned");
        let Ok(bytes) = serde_json::to_vec(&*entries) else {
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
