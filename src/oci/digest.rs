//! Content digests (`sha256:<hex>`) and the writers and readers that compute them on the way.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::io::{self, Write};
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// A content digest. packctl writes and checks `sha256` digests only.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

/// Why a string is not a digest packctl can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// Not of the form `algorithm:encoded`.
    #[error("`{0}` is not a digest (expected sha256:<64 hex digits>)")]
    Malformed(String),
    /// An algorithm other than sha256.
    #[error("`{0}` uses an algorithm packctl does not support (only sha256)")]
    Unsupported(String),
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex digits>`.
    pub fn parse(text: &str) -> Result<Digest, DigestError> {
        let Some((algorithm, hex)) = text.split_once(':') else {
            return Err(DigestError::Malformed(text.to_string()));
        };
        let lower_hex = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        match algorithm {
            "sha256" if hex.len() == 64 && lower_hex(hex) => Ok(Digest(text.to_string())),
            "sha256" => Err(DigestError::Malformed(text.to_string())),
            a if !a.is_empty()
                && a.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b)
                }) =>
            {
                Err(DigestError::Unsupported(text.to_string()))
            }
            _ => Err(DigestError::Malformed(text.to_string())),
        }
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_hash(Sha256::digest(bytes).as_slice())
    }

    fn from_hash(hash: &[u8]) -> Digest {
        let mut text = String::with_capacity(71);
        text.push_str("sha256:");
        for b in hash {
            text.push_str(&format!("{b:02x}"));
        }
        Digest(text)
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The algorithm, `sha256`.
    pub fn algorithm(&self) -> &str {
        "sha256"
    }

    /// The hex part.
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.0)
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Computes a digest and a size over bytes fed to it in pieces.
#[derive(Clone, Default)]
pub struct Hasher {
    sha: Sha256,
    size: u64,
}

impl Hasher {
    /// A hasher that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha.update(bytes);
        self.size += bytes.len() as u64;
    }

    /// How many bytes it has seen.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The digest and size of everything fed.
    pub fn finish(self) -> (Digest, u64) {
        (Digest::from_hash(self.sha.finalize().as_slice()), self.size)
    }
}

/// A writer that hashes what passes through it to an inner writer.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Hasher::new(),
        }
    }

    /// The inner writer, and the digest and size of what was written.
    pub fn finish(self) -> (W, Digest, u64) {
        let (digest, size) = self.hasher.finish();
        (self.inner, digest, size)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The digest and size of a file, read in large blocks.
pub fn digest_file(path: &std::path::Path) -> io::Result<(Digest, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finish())
}

/// An async reader that hashes what it reads and refuses to read past an expected size.
///
/// Call [`VerifyingReader::verify`] after the last read: it fails unless exactly the
/// expected bytes came through.
pub struct VerifyingReader<R> {
    inner: R,
    hasher: Hasher,
    expected: Digest,
    size: u64,
}

/// Content that did not match its descriptor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The bytes hash to another digest.
    #[error("content has digest {actual}, not the expected {expected}")]
    Digest {
        /// What the descriptor says.
        expected: Digest,
        /// What the bytes hash to.
        actual: Digest,
    },
    /// More or fewer bytes than the descriptor says.
    #[error("content is {actual} bytes, not the expected {expected}")]
    Size {
        /// What the descriptor says.
        expected: u64,
        /// What arrived (at least, when too long).
        actual: u64,
    },
}

impl<R> VerifyingReader<R> {
    /// Wraps `inner`, expecting `size` bytes with digest `expected`.
    pub fn new(inner: R, expected: Digest, size: u64) -> Self {
        VerifyingReader {
            inner,
            hasher: Hasher::new(),
            expected,
            size,
        }
    }

    /// Checks what was read against the expectation.
    pub fn verify(self) -> Result<(), VerifyError> {
        let (actual, size) = self.hasher.finish();
        if size != self.size {
            return Err(VerifyError::Size {
                expected: self.size,
                actual: size,
            });
        }
        if actual != self.expected {
            return Err(VerifyError::Digest {
                expected: self.expected,
                actual,
            });
        }
        Ok(())
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for VerifyingReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let new = &buf.filled()[before..];
            this.hasher.update(new);
            if this.hasher.size() > this.size {
                // Stop a blob that is longer than announced before it fills the disk; a
                // failed read hands back no bytes.
                buf.set_filled(before);
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    VerifyError::Size {
                        expected: this.size,
                        actual: this.hasher.size(),
                    },
                )));
            }
        }
        poll
    }
}

/// Why [`copy_verified`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The bytes do not match the digest or size they were expected to have.
    #[error("{0}")]
    Content(String),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Copies `reader` into `writer` (flushing it), checking the bytes against `expected` and
/// `size` as they pass: at most `size + 1` bytes are read, so a blob longer than announced
/// (an endless body, a link to a device) stops as soon as it overflows.
pub async fn copy_verified<R, W>(
    reader: R,
    writer: &mut W,
    expected: &Digest,
    size: u64,
) -> Result<(), CopyError>
where
    R: AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // One byte past the size is enough to tell a blob is too long; the source is never
    // asked for more, however much it would send.
    let limited = reader.take(size.saturating_add(1));
    let mut verifying = VerifyingReader::new(limited, expected.clone(), size);
    match tokio::io::copy(&mut verifying, writer).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(CopyError::Content(e.to_string()));
        }
        Err(e) => return Err(CopyError::Io(e)),
    }
    writer.flush().await?;
    verifying
        .verify()
        .map_err(|e| CopyError::Content(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_prints() {
        let d = Digest::parse(EMPTY).unwrap();
        assert_eq!(d, Digest::of(b""));
        assert_eq!(d.hex().len(), 64);
        assert_eq!(d.to_string(), EMPTY);
        assert!(matches!(
            Digest::parse("sha256:abc"),
            Err(DigestError::Malformed(_))
        ));
        assert!(matches!(
            Digest::parse(&EMPTY.to_uppercase()),
            Err(DigestError::Malformed(_))
        ));
        assert!(matches!(
            Digest::parse("sha512:abcd"),
            Err(DigestError::Unsupported(_))
        ));
        assert!(matches!(
            Digest::parse("nothing"),
            Err(DigestError::Malformed(_))
        ));
        let json: Result<Digest, _> = serde_json::from_str("\"sha256:../../etc/passwd\"");
        assert!(json.is_err());
    }

    #[test]
    fn hashing_writer_sees_every_byte() {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"hello ").unwrap();
        w.write_all(b"world").unwrap();
        let (out, digest, size) = w.finish();
        assert_eq!(out, b"hello world");
        assert_eq!(size, 11);
        assert_eq!(digest, Digest::of(b"hello world"));
    }

    #[tokio::test]
    async fn verifying_reader_catches_wrong_content() {
        let data = b"some bytes".to_vec();
        let mut ok = VerifyingReader::new(&data[..], Digest::of(&data), data.len() as u64);
        let mut sink = Vec::new();
        ok.read_to_end(&mut sink).await.unwrap();
        assert!(ok.verify().is_ok());

        let mut wrong = VerifyingReader::new(&data[..], Digest::of(b"other"), data.len() as u64);
        wrong.read_to_end(&mut Vec::new()).await.unwrap();
        assert!(matches!(wrong.verify(), Err(VerifyError::Digest { .. })));

        let mut long = VerifyingReader::new(&data[..], Digest::of(&data), 4);
        let err = long.read_to_end(&mut Vec::new()).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);

        let mut short = VerifyingReader::new(&data[..], Digest::of(&data), 100);
        short.read_to_end(&mut Vec::new()).await.unwrap();
        assert!(matches!(
            short.verify(),
            Err(VerifyError::Size {
                expected: 100,
                actual: 10
            })
        ));
    }
    /// Counts the bytes it hands out.
    struct Counting<R>(R, std::sync::Arc<std::sync::atomic::AtomicU64>);

    impl<R: AsyncRead + Unpin> AsyncRead for Counting<R> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let before = buf.filled().len();
            let poll = Pin::new(&mut self.0).poll_read(cx, buf);
            let n = (buf.filled().len() - before) as u64;
            self.1.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            poll
        }
    }

    #[tokio::test]
    async fn an_endless_source_is_read_only_one_byte_past_its_size() {
        let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let endless = Counting(tokio::io::repeat(0), read.clone());
        let mut out = Vec::new();
        let err = copy_verified(endless, &mut out, &Digest::of(&[0; 1000]), 1000)
            .await
            .unwrap_err();
        assert!(matches!(err, CopyError::Content(_)), "{err}");
        assert_eq!(read.load(std::sync::atomic::Ordering::Relaxed), 1001);
        assert!(out.len() <= 1000);
    }
}
