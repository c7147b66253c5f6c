//! Reproducible tar+gzip: the same entries always give the same bytes.
//!
//! Entries are written in the order given (callers sort them by path), as GNU tar headers
//! with owner and group 0 and no names, modification time 0, mode 0755 for folders and
//! executable files and 0644 for other files. The gzip stream comes from zlib-rs at level 6
//! with a 10-byte header that holds no name and no time (`1f 8b 08 00 00000000 00 ff`).

use crate::oci::digest::{Digest, HashingWriter};
use flate2::Compression;
use flate2::GzBuilder;
use flate2::write::GzEncoder;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

/// The gzip level of every compressed layer: digests depend on it.
pub const GZIP_LEVEL: u32 = 6;

/// The digests and sizes of a finished tar+gzip stream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TarGzDigests {
    /// The compressed bytes: the layer's digest and size.
    pub compressed: (Digest, u64),
    /// The tar before compression (what `io.deis.oras.content.digest` names).
    pub uncompressed: (Digest, u64),
}

/// Writes a reproducible tar+gzip stream.
pub struct TarGzWriter<W: Write> {
    builder: tar::Builder<HashingWriter<GzEncoder<HashingWriter<W>>>>,
}

impl<W: Write> TarGzWriter<W> {
    /// Starts a stream into `out`.
    pub fn new(out: W) -> Self {
        let gz = GzBuilder::new()
            .mtime(0)
            .operating_system(255)
            .write(HashingWriter::new(out), Compression::new(GZIP_LEVEL));
        let mut builder = tar::Builder::new(HashingWriter::new(gz));
        builder.mode(tar::HeaderMode::Deterministic);
        TarGzWriter { builder }
    }

    fn header(entry_type: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(entry_type);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(size);
        header
    }

    /// Adds a folder entry.
    pub fn dir(&mut self, path: &str) -> io::Result<()> {
        let mut header = Self::header(tar::EntryType::Directory, 0o755, 0);
        self.builder.append_data(&mut header, path, io::empty())
    }

    /// Adds a file entry with the bytes of `source`.
    ///
    /// The size comes from the open file, and exactly that many bytes are copied, so a file
    /// that changes meanwhile gives an error rather than a damaged archive.
    pub fn file(&mut self, path: &str, source: &Path, executable: bool) -> io::Result<()> {
        let file = File::open(source)?;
        let size = file.metadata()?.len();
        let mode = if executable { 0o755 } else { 0o644 };
        let mut header = Self::header(tar::EntryType::Regular, mode, size);
        let mut reader = ExactReader {
            inner: file.take(size),
            left: size,
            path: source,
        };
        self.builder.append_data(&mut header, path, &mut reader)
    }

    /// Ends the archive and the gzip stream.
    pub fn finish(self) -> io::Result<(W, TarGzDigests)> {
        let tar = self.builder.into_inner()?;
        let (gz, tar_digest, tar_size) = tar.finish();
        let out = gz.finish()?;
        let (out, digest, size) = out.finish();
        Ok((
            out,
            TarGzDigests {
                compressed: (digest, size),
                uncompressed: (tar_digest, tar_size),
            },
        ))
    }
}

/// Reads exactly `left` bytes, failing if the file ends sooner.
struct ExactReader<'a, R> {
    inner: R,
    left: u64,
    path: &'a Path,
}

impl<R: Read> Read for ExactReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("`{}` shrank while it was being packed", self.path.display()),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(dir: &Path) -> (Vec<u8>, TarGzDigests) {
        let mut w = TarGzWriter::new(Vec::new());
        w.dir("role").unwrap();
        w.file("role/a.txt", &dir.join("a.txt"), false).unwrap();
        w.file("role/run.sh", &dir.join("run.sh"), true).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn same_entries_same_bytes_and_readable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "alpha\n").unwrap();
        std::fs::write(dir.path().join("run.sh"), "#!/bin/sh\n").unwrap();
        let (one, d1) = build(dir.path());
        let (two, d2) = build(dir.path());
        assert_eq!(one, two);
        assert_eq!(d1, d2);
        assert_eq!(d1.compressed.0, Digest::of(&one));
        assert_eq!(&one[..10], b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff");

        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&one[..])
            .read_to_end(&mut tar)
            .unwrap();
        assert_eq!(d1.uncompressed.0, Digest::of(&tar));
        let mut archive = tar::Archive::new(&tar[..]);
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("role".to_string(), 0o755, 0),
                ("role/a.txt".to_string(), 0o644, 0),
                ("role/run.sh".to_string(), 0o755, 0)
            ]
        );
    }

    #[test]
    fn long_paths_survive() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        let long = format!("role/{}/file.yaml", "deep".repeat(60));
        let mut w = TarGzWriter::new(Vec::new());
        w.file(&long, &dir.path().join("f"), false).unwrap();
        let (bytes, _) = w.finish().unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let first = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(first.path().unwrap().to_str().unwrap(), long);
    }
}
