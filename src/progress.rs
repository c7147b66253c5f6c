//! How the library tells its caller about transfers in progress.

/// Receives progress of blob transfers. Every method has a default that does nothing, so a
/// caller implements only what it draws.
pub trait Reporter: Send + Sync {
    /// A blob transfer begins; the returned id names it in later calls.
    fn blob_started(&self, _label: &str, _size: u64) -> usize {
        0
    }

    /// `bytes` more bytes of blob `id` went through.
    fn blob_progress(&self, _id: usize, _bytes: u64) {}

    /// Blob `id` is done; `transferred` is false when the target had it already.
    fn blob_finished(&self, _id: usize, _transferred: bool) {}

    /// A one-line status message.
    fn status(&self, _message: &str) {}

    /// A long job of `items` items (images, packs, entries) begins; `bytes` is its total
    /// size when known. Blob progress from then on counts towards it.
    fn job_started(&self, _what: &str, _items: usize, _bytes: Option<u64>) {}

    /// One item of the job is done (copied, unchanged, skipped or failed).
    fn item_finished(&self) {}

    /// A long step with no bytes to count begins (validating and building a pack, checking
    /// an export file); the returned id names it in [`Reporter::step_finished`].
    fn step_started(&self, _message: &str) -> usize {
        0
    }

    /// The step is over.
    fn step_finished(&self, _id: usize) {}
}

/// A reporter that reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Reporter for Silent {}

/// A callback that receives counts of bytes moved.
pub type Progress = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

/// A reporter to hand around between tasks.
pub type SharedReporter = std::sync::Arc<dyn Reporter>;

/// A progress callback that tells `reporter` about blob `id`.
pub fn blob_progress(reporter: &SharedReporter, id: usize) -> Progress {
    let reporter = reporter.clone();
    std::sync::Arc::new(move |bytes| reporter.blob_progress(id, bytes))
}

/// An async reader that reports the bytes read through it.
pub struct ProgressReader<R> {
    inner: R,
    progress: Progress,
}

impl<R> ProgressReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, progress: Progress) -> Self {
        ProgressReader { inner, progress }
    }
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for ProgressReader<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            (self.progress)(read as u64);
        }
        poll
    }
}
