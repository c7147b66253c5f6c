//! What every store speaks, below the registry and the `oci:` layout: the errors of reading
//! and writing OCI content ([`StoreError`], one vocabulary for both kinds of store, as
//! oras-go's `errdef`), blobs being read ([`BoxReader`]) and where a blob being stored comes
//! from ([`Source`], [`BlobReader`]), and the conditions of tag writes.

use crate::oci::{Descriptor, Digest, LocationError};
use bytes::Bytes;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use tokio::io::AsyncRead;

/// A blob being read.
pub type BoxReader = Pin<Box<dyn AsyncRead + Send>>;

/// A store that blobs can be read from, to be stored in another.
pub trait BlobReader: Send + Sync {
    /// Opens a blob of `repository` for reading.
    fn open_blob<'a>(
        &'a self,
        repository: &'a str,
        descriptor: &'a Descriptor,
    ) -> Pin<Box<dyn Future<Output = Result<BoxReader, StoreError>> + Send + 'a>>;

    /// The registry host (`host[:port]`) this store is, if it is a registry: a registry
    /// mounts a blob from another repository of its own host instead of receiving its bytes.
    fn registry_host(&self) -> Option<&str> {
        None
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// `-r` names no store.
    #[error(transparent)]
    Location(#[from] LocationError),
    /// A tag, manifest or blob does not exist.
    #[error("{reference} does not exist")]
    NotFound {
        /// What was asked for.
        reference: String,
    },
    /// Reading or writing a file failed.
    #[error("cannot read or write `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A folder is not an OCI image layout.
    #[error("`{}` is not an OCI image layout: {reason}", path.display())]
    NotLayout {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Content does not match its digest or size.
    #[error("blob {digest} from {location} does not match its descriptor: {reason}")]
    Damaged {
        /// The store and repository.
        location: String,
        /// The expected digest.
        digest: Digest,
        /// What differs.
        reason: String,
    },
    /// A manifest is over the 4 MiB cap.
    #[error("the manifest {reference} is {size} bytes; packctl reads at most 4 MiB")]
    ManifestTooLarge {
        /// The manifest.
        reference: String,
        /// Its size.
        size: u64,
    },
    /// A tag is not a valid OCI tag.
    #[error("`{tag}` is not a valid OCI tag")]
    InvalidTag {
        /// The tag.
        tag: String,
    },
    /// The registry cannot be reached.
    #[error("cannot reach the registry {registry}")]
    Connect {
        /// The registry host (or token service).
        registry: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The registry's TLS certificate is not trusted.
    #[error("cannot reach the registry {registry}: its TLS certificate is not trusted")]
    UntrustedCertificate {
        /// The registry host.
        registry: String,
        /// Whether certificates were given (`--ca-file`, `certs.d`).
        given: bool,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The certificates or keys given for TLS cannot be used.
    #[error("cannot set up TLS for {registry}")]
    TlsSetup {
        /// The registry host.
        registry: String,
        /// The cause.
        #[source]
        source: TlsError,
    },
    /// A registry redirected to another host, which refused access.
    #[error("{registry} redirected to {target}, which answered {status}")]
    RedirectRefused {
        /// The registry host.
        registry: String,
        /// The host it redirected to.
        target: String,
        /// What that host answered.
        status: u16,
    },
    /// Plain HTTP was spoken to a registry that speaks HTTPS.
    #[error("{registry} speaks HTTPS, not plain HTTP")]
    PlainHttpToHttps {
        /// The registry host.
        registry: String,
    },
    /// A transfer made no progress for the stall timeout, on every attempt.
    #[error("the transfer with {registry} made no progress for {seconds} s")]
    Stalled {
        /// The registry host.
        registry: String,
        /// The stall timeout.
        seconds: u64,
    },
    /// A download broke off on every attempt to resume it.
    #[error("the download of {what} broke off after {received} of {size} bytes")]
    Interrupted {
        /// The blob and where it comes from: `sha256:… from HOST/REPOSITORY`.
        what: String,
        /// Bytes received in all.
        received: u64,
        /// The blob's size.
        size: u64,
        /// The last failure.
        #[source]
        source: BodyError,
    },
    /// TLS or HTTP cannot be set up.
    #[error("cannot connect to {registry}: {reason}")]
    Transport {
        /// The registry host.
        registry: String,
        /// Why.
        reason: String,
    },
    /// The registry refused the credentials, or wants some.
    #[error("{registry} refused access: {reason}")]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// Whether the request carried no credentials.
        anonymous: bool,
        /// What the registry said.
        reason: String,
    },
    /// The registry answered with an error.
    #[error(
        "cannot {operation}: the registry answered {status}{}",
        describe_errors(errors, body)
    )]
    Registry {
        /// What packctl tried.
        operation: String,
        /// The registry host.
        registry: String,
        /// The HTTP status (0 when the answer broke the protocol).
        status: u16,
        /// The errors of the body, as the distribution spec defines them.
        errors: Vec<RegistryErrorEntry>,
        /// The body, when it held no such errors.
        body: String,
    },
    /// The stored credentials cannot be read.
    #[error("cannot read the credentials for {registry}")]
    Credentials {
        /// The registry host.
        registry: String,
        /// The cause.
        #[source]
        source: crate::auth::CredentialError,
    },
    /// The registry does not list its repositories.
    #[error("{registry} does not list its repositories")]
    NoCatalog {
        /// The registry host.
        registry: String,
        /// What it answered.
        #[source]
        source: Box<StoreError>,
    },
    /// Another writer moved a registry tag just after this one wrote it.
    #[error(
        "another push moved {reference} {} just after this one pointed it at {ours}",
        theirs.as_ref().map_or_else(|| "away".to_string(), |d| format!("to {d}"))
    )]
    TagRace {
        /// The tag.
        reference: String,
        /// What this writer pointed it at.
        ours: Digest,
        /// What it points at now (`None`: it is gone).
        theirs: Option<Digest>,
    },
    /// Other writers kept changing a tag while this one tried to merge into it.
    #[error("{reference} kept changing while packctl merged into it, {rounds} times")]
    TagContended {
        /// The tag.
        reference: String,
        /// How many merges were written.
        rounds: usize,
    },
    /// A file to import is not a usable tar of an OCI image layout.
    #[error("`{}` cannot be imported: {reason}", path.display())]
    BadArchive {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An `oci:` store's folder does not exist (listing it would find nothing, for a typo).
    #[error("the store {location} does not exist")]
    NoStore {
        /// `oci:PATH`.
        location: String,
    },
    /// The store takes no writes (an archive being imported).
    #[error("{location} is read-only")]
    ReadOnly {
        /// The store.
        location: String,
    },
    /// The async runtime shut down before the store's file-system work could run.
    #[error("the async runtime shut down before the work on {location} ran")]
    ShutDown {
        /// The store.
        location: String,
    },
}

/// Runs file-system work (an `fsync`, a lock wait, a rename) on tokio's blocking threads, so
/// that it never holds an async worker. A panic in `work` resumes in the caller.
pub(crate) async fn off_worker<T, E>(
    location: &str,
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => Err(StoreError::ShutDown {
                location: location.to_string(),
            }
            .into()),
        },
    }
}

impl StoreError {
    /// The store error an I/O error carries (a registry download reports its failures through
    /// the reader it returns), or the I/O error itself.
    pub fn from_io(error: std::io::Error) -> Result<StoreError, std::io::Error> {
        if error
            .get_ref()
            .is_some_and(|inner| inner.is::<StoreError>())
        {
            let inner = error.into_inner().expect("checked above");
            return Ok(*inner.downcast::<StoreError>().expect("checked above"));
        }
        Err(error)
    }
}

/// One error of a registry's error body: `{"code", "message", "detail"}`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct RegistryErrorEntry {
    /// `NAME_UNKNOWN`, `DENIED`, `MANIFEST_BLOB_UNKNOWN`, …
    #[serde(default)]
    pub code: String,
    /// What the registry says.
    #[serde(default)]
    pub message: String,
    /// Structured detail, when given.
    #[serde(default)]
    pub detail: Option<serde_json::Value>,
}

fn describe_errors(errors: &[RegistryErrorEntry], body: &str) -> String {
    if errors.is_empty() {
        return if body.is_empty() {
            String::new()
        } else {
            format!(": {body}")
        };
    }
    let parts: Vec<String> = errors
        .iter()
        .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
            (false, false) => format!("{} ({})", e.code, e.message),
            (false, true) => e.code.clone(),
            _ => e.message.clone(),
        })
        .collect();
    format!(": {}", parts.join("; "))
}

/// An error with its causes, for a one-line message.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Whether a connection failed on the server's certificate.
pub fn is_certificate_error(error: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        let text = e.to_string();
        if text.contains("certificate")
            || text.contains("UnknownIssuer")
            || text.contains("NotValidForName")
        {
            return true;
        }
        source = e.source();
    }
    false
}

/// What storing a blob took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlobPut {
    /// The store had it already: nothing moved.
    Present,
    /// The registry mounted it from another of its repositories: no byte was sent.
    Mounted,
    /// Its bytes were sent (or written).
    Sent,
}

impl BlobPut {
    /// Whether the store did not have it before.
    pub fn is_new(self) -> bool {
        self != BlobPut::Present
    }
}

/// Where a blob being stored comes from; it can be opened again for a retry.
#[derive(Clone)]
#[non_exhaustive]
pub enum Source<'a> {
    /// A file.
    File(&'a Path),
    /// Bytes in memory.
    Bytes(Bytes),
    /// A blob in another store.
    Blobs {
        /// The store.
        from: &'a dyn BlobReader,
        /// Its repository.
        repository: &'a str,
    },
}

impl Source<'_> {
    /// Opens the blob for reading.
    pub async fn open(&self, descriptor: &Descriptor) -> Result<BoxReader, StoreError> {
        match self {
            Source::File(path) => tokio::fs::File::open(path)
                .await
                .map(|f| Box::pin(f) as BoxReader)
                .map_err(|source| StoreError::Io {
                    path: path.to_path_buf(),
                    source,
                }),
            Source::Bytes(bytes) => Ok(Box::pin(std::io::Cursor::new(bytes.clone()))),
            Source::Blobs { from, repository } => from.open_blob(repository, descriptor).await,
        }
    }
}

/// What a tag must hold for a conditional write to go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagCondition {
    /// Whatever it holds, or nothing.
    Any,
    /// The tag must not exist.
    Absent,
    /// The tag must still point at this manifest.
    Is(Digest),
}

impl TagCondition {
    /// Whether a tag that points at `current` (`None`: absent) may be written.
    pub fn allows(&self, current: Option<&Digest>) -> bool {
        match self {
            TagCondition::Any => true,
            TagCondition::Absent => current.is_none(),
            TagCondition::Is(expected) => current == Some(expected),
        }
    }
}

/// What a conditional tag write did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagWrite {
    /// The tag now points at the manifest.
    Written {
        /// What it pointed at before.
        previous: Option<Digest>,
    },
    /// The tag held something the condition refuses; nothing changed.
    Refused {
        /// What it points at.
        current: Option<Digest>,
    },
}

/// A manifest to put under a tag in place of what the tag points at.
#[derive(Debug, Clone)]
pub struct TaggedManifest {
    /// Its descriptor.
    pub descriptor: Descriptor,
    /// Its bytes.
    pub bytes: Bytes,
    /// Small blobs it names that must be stored first (a config).
    pub blobs: Vec<(Descriptor, Bytes)>,
}

/// Why the TLS set-up cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key file cannot be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file holds no usable certificate or key.
    #[error("`{}` {reason}", path.display())]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("cannot set up TLS")]
    Config(#[source] rustls::Error),
}

/// Why a response body could not be read to its end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The connection broke.
    #[error("the connection broke")]
    Broken(#[source] reqwest::Error),
    /// Less than the registry client's minimum came in a whole stall-timeout window.
    #[error("no progress for {} s", .0.as_secs())]
    Stalled(std::time::Duration),
}
