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
}

/// A reporter that reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Reporter for Silent {}
