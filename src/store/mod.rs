//! Where artifacts live: an OCI image layout on disk or a registry, behind one type.

mod archive;
mod referrers;
mod tags;

pub use archive::{ArchiveStore, ArchiveWriter, MAX_ARCHIVE_ENTRIES, MAX_NESTING, split_ref_name};
pub(crate) use archive::{Node, is_distributable, manifest_media_type};

pub use referrers::{fallback_tag, referrer_descriptor};

pub use crate::layout::{Layout, LayoutStore};
pub use tags::{
    MANIFEST_BLOB_RETRIES, MANIFEST_BLOB_RETRY_WAIT, MAX_MERGE_ROUNDS, REGISTRY_SETTLE_FACTOR,
    REGISTRY_SETTLE_MAX, REGISTRY_SETTLE_MIN,
};

use crate::auth::{Credential, CredentialSource};
use crate::content::{BlobPut, BlobReader, BoxReader, Source, StoreError, error_chain, off_worker};
use crate::oci::{Descriptor, Digest, Location, pack_repository};
use crate::registry::{Progress, RegistryStore, RetryPolicy, TransportOptions};
use bytes::Bytes;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

/// How to open a registry store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OpenOptions {
    /// TLS and plain-HTTP settings.
    pub transport: TransportOptions,
    /// Where the registry's credential comes from; anonymous by default (the command line
    /// reads the Docker config, [`crate::auth::DockerConfig`]).
    pub credentials: Arc<dyn CredentialSource>,
    /// Retries of failed requests.
    pub retry: RetryPolicy,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            transport: TransportOptions::default(),
            credentials: Arc::new(Credential::Anonymous),
            retry: RetryPolicy::default(),
        }
    }
}

/// A place artifacts live.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Store {
    /// OCI image layouts under a folder.
    Layout(LayoutStore),
    /// A registry.
    Registry(RegistryStore),
    /// A tar of one image layout, read-only (`pack import`).
    Archive(ArchiveStore),
}

impl Store {
    /// Opens the store at a location. A registry's credential is looked up (a Docker
    /// credential helper is a subprocess) and its certificate files are read on tokio's
    /// blocking threads.
    pub async fn open(location: &Location, options: &OpenOptions) -> Result<Store, StoreError> {
        let (location, options) = (location.clone(), options.clone());
        let display = location.to_string();
        off_worker(&display, move || Store::open_blocking(&location, &options)).await
    }

    /// Opens the store at a location from a thread that may block, outside an async runtime
    /// (as the command line does); async code calls [`Store::open`].
    pub fn open_blocking(location: &Location, options: &OpenOptions) -> Result<Store, StoreError> {
        match location {
            Location::Layout(path) => Ok(Store::Layout(LayoutStore::new(path))),
            Location::Registry { host, base } => {
                let credential = options.credentials.credential(host).map_err(|source| {
                    StoreError::Credentials {
                        registry: host.clone(),
                        source,
                    }
                })?;
                Ok(Store::Registry(RegistryStore::new(
                    host,
                    base,
                    &options.transport,
                    credential,
                    options.retry,
                )?))
            }
        }
    }

    /// The repository of a pack in this store (under its base path, for a registry).
    pub fn pack_repository(&self, name: &str) -> String {
        match self {
            Store::Layout(_) | Store::Archive(_) => pack_repository("", name),
            Store::Registry(r) => pack_repository(r.base(), name),
        }
    }

    /// A repository of this store, for people: `oci:PATH/REPOSITORY` or `HOST/REPOSITORY`.
    pub fn location(&self, repository: &str) -> String {
        match self {
            Store::Layout(s) if repository.is_empty() => s.display().to_string(),
            Store::Layout(s) => format!("{}/{repository}", s.display()),
            Store::Registry(r) => format!("{}/{repository}", r.host()),
            Store::Archive(a) if repository.is_empty() => a.display().to_string(),
            Store::Archive(a) => format!("{}:{repository}", a.display()),
        }
    }

    /// The error of a write to a store that takes none.
    pub(crate) fn read_only(&self, repository: &str) -> StoreError {
        StoreError::ReadOnly {
            location: self.location(repository),
        }
    }

    /// A reference to `repository` at a tag (`:tag`) or digest (`@sha256:…`), for people.
    pub fn reference(&self, repository: &str, tag_or_digest: &str) -> String {
        let separator = if tag_or_digest.contains(':') {
            '@'
        } else {
            ':'
        };
        format!("{}{separator}{tag_or_digest}", self.location(repository))
    }

    /// The manifest a tag points at, or `None` when the tag does not exist.
    pub async fn resolve(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<Option<Descriptor>, StoreError> {
        self.traced("resolve", repository, tag, async {
            match self {
                Store::Layout(s) => {
                    let (layout, tag) = (s.layout(repository), tag.to_string());
                    off_worker(s.display(), move || layout.resolve(&tag)).await
                }
                Store::Registry(r) => r.resolve(repository, tag).await,
                Store::Archive(a) => Ok(a.resolve(repository, tag)),
            }
        })
        .await
    }

    /// Reads a manifest by digest (at most 4 MiB, verified).
    pub async fn fetch_manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Bytes, StoreError> {
        self.traced("fetch_manifest", repository, digest, async {
            match self {
                Store::Layout(s) => {
                    let (layout, digest) = (s.layout(repository), digest.clone());
                    let location = self.location(repository);
                    off_worker(s.display(), move || layout.manifest(&digest, &location)).await
                }
                Store::Registry(r) => r.fetch_manifest(repository, digest).await,
                Store::Archive(a) => {
                    let (a, digest) = (a.clone(), digest.clone());
                    off_worker(&self.location(repository), move || a.manifest(&digest)).await
                }
            }
        })
        .await
    }

    /// Whether the store holds a blob.
    pub async fn has_blob(
        &self,
        repository: &str,
        descriptor: &Descriptor,
    ) -> Result<bool, StoreError> {
        self.traced("has_blob", repository, &descriptor.digest, async {
            match self {
                Store::Layout(s) => {
                    let (layout, wanted) = (s.layout(repository), descriptor.clone());
                    off_worker(s.display(), move || {
                        Ok(layout.has_blob(&wanted.digest, wanted.size))
                    })
                    .await
                }
                Store::Registry(r) => r.has_blob(repository, descriptor).await,
                Store::Archive(a) => Ok(a.has_blob(&descriptor.digest, descriptor.size)),
            }
        })
        .await
    }

    /// Opens a blob; the caller verifies what it reads.
    pub async fn open_blob(
        &self,
        repository: &str,
        descriptor: &Descriptor,
    ) -> Result<BoxReader, StoreError> {
        self.traced("open_blob", repository, &descriptor.digest, async {
            match self {
                Store::Layout(s) => {
                    let location = self.location(repository);
                    s.layout(repository)
                        .open_blob(&descriptor.digest, &location)
                        .await
                }
                Store::Registry(r) => r.open_blob(repository, descriptor).await,
                Store::Archive(a) => a.open_blob(&descriptor.digest).await,
            }
        })
        .await
    }

    /// Stores a blob unless it is present, and says whether it was present, mounted or sent.
    pub async fn push_blob(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        source: &Source<'_>,
        progress: &Progress,
    ) -> Result<BlobPut, StoreError> {
        self.traced("push_blob", repository, &descriptor.digest, async {
            match self {
                Store::Layout(s) => {
                    let layout = s.layout(repository);
                    let (creating, wanted) = (layout.clone(), descriptor.clone());
                    let present = off_worker(s.display(), move || {
                        if creating.has_blob(&wanted.digest, wanted.size) {
                            // A collection running meanwhile must not take it.
                            creating.touch_blob(&wanted.digest);
                            return Ok(true);
                        }
                        creating.create().map(|()| false)
                    })
                    .await?;
                    if present {
                        return Ok(BlobPut::Present);
                    }
                    let reader = source.open(descriptor).await?;
                    let written = layout
                        .put_blob(descriptor, reader, &self.location(repository))
                        .await?;
                    progress(descriptor.size);
                    Ok(if written {
                        BlobPut::Sent
                    } else {
                        BlobPut::Present
                    })
                }
                Store::Registry(r) => r.push_blob(repository, descriptor, source, progress).await,
                Store::Archive(_) => Err(self.read_only(repository)),
            }
        })
        .await
    }

    /// Stores a blob whether or not it is present (`push --skip-digest-check`): a
    /// registry receives it again, a folder store writes it anew in place of its copy.
    pub async fn send_blob(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        source: &Source<'_>,
        progress: &Progress,
    ) -> Result<BlobPut, StoreError> {
        self.traced("send_blob", repository, &descriptor.digest, async {
            match self {
                Store::Layout(s) => {
                    let layout = s.layout(repository);
                    let creating = layout.clone();
                    off_worker(s.display(), move || creating.create()).await?;
                    let reader = source.open(descriptor).await?;
                    layout
                        .replace_blob(descriptor, reader, &self.location(repository))
                        .await?;
                    progress(descriptor.size);
                    Ok(BlobPut::Sent)
                }
                Store::Registry(r) => r.send_blob(repository, descriptor, source, progress).await,
                Store::Archive(_) => Err(self.read_only(repository)),
            }
        })
        .await
    }

    /// Stores a manifest and points `tag` at it.
    pub async fn push_manifest(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        bytes: Bytes,
        tag: Option<&str>,
    ) -> Result<(), StoreError> {
        self.traced("push_manifest", repository, &descriptor.digest, async {
            match self {
                Store::Layout(s) => {
                    let (layout, descriptor) = (s.layout(repository), descriptor.clone());
                    let tag = tag.map(str::to_string);
                    off_worker(s.display(), move || {
                        layout.put_manifest(&descriptor, &bytes, tag.as_deref())
                    })
                    .await
                }
                Store::Registry(r) => r.push_manifest(repository, descriptor, bytes, tag).await,
                Store::Archive(_) => Err(self.read_only(repository)),
            }
        })
        .await
    }

    /// The tags of a repository (none when it does not exist).
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, StoreError> {
        self.traced("tags", repository, "", async {
            match self {
                Store::Layout(s) => {
                    let layout = s.layout(repository);
                    off_worker(s.display(), move || layout.tags()).await
                }
                Store::Registry(r) => r.tags(repository).await,
                Store::Archive(a) => Ok(a.tags(repository)),
            }
        })
        .await
    }

    /// Repositories under a path prefix, sorted.
    pub async fn repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.traced("repositories", prefix, "", async {
            match self {
                Store::Layout(s) => {
                    let (store, prefix) = (s.clone(), prefix.to_string());
                    off_worker(s.display(), move || store.repositories(&prefix)).await
                }
                Store::Registry(r) => r.repositories(prefix).await,
                Store::Archive(a) => Ok(a.repositories(prefix)),
            }
        })
        .await
    }

    /// Deletes a manifest, and with it every tag that points at it.
    pub async fn delete_manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<(), StoreError> {
        self.traced("delete_manifest", repository, digest, async {
            match self {
                Store::Layout(s) => {
                    let (layout, digest) = (s.layout(repository), digest.clone());
                    let location = self.location(repository);
                    off_worker(s.display(), move || {
                        layout.delete_manifest(&digest, &location)
                    })
                    .await
                }
                Store::Registry(r) => r.delete_manifest(repository, digest).await,
                Store::Archive(_) => Err(self.read_only(repository)),
            }
        })
        .await
    }

    /// Removes one tag, leaving the manifest and its other tags.
    pub async fn delete_tag(&self, repository: &str, tag: &str) -> Result<(), StoreError> {
        self.traced("delete_tag", repository, tag, async {
            match self {
                Store::Layout(s) => {
                    let (layout, tag) = (s.layout(repository), tag.to_string());
                    let reference = self.reference(repository, &tag);
                    off_worker(s.display(), move || layout.delete_tag(&tag, &reference)).await
                }
                Store::Registry(r) => r.delete_tag(repository, tag).await,
                Store::Archive(_) => Err(self.read_only(repository)),
            }
        })
        .await
    }
}

impl Store {
    /// Runs one store operation and reports it as a `packctl::store` event at debug level
    /// (`-vv`): the operation, the store and repository, what it was about, how long it took,
    /// and the error when it failed.
    async fn traced<T, E: std::error::Error>(
        &self,
        operation: &'static str,
        repository: &str,
        subject: impl fmt::Display,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let result = work.await;
        if tracing::enabled!(target: "packctl::store", tracing::Level::DEBUG) {
            let store = self.location(repository);
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match &result {
                Ok(_) => tracing::debug!(
                    target: "packctl::store",
                    operation, %store, %subject, elapsed_ms, "done"
                ),
                Err(e) => tracing::debug!(
                    target: "packctl::store",
                    operation, %store, %subject, elapsed_ms, error = %error_chain(e), "failed"
                ),
            }
        }
        result
    }
}

impl BlobReader for Store {
    fn open_blob<'a>(
        &'a self,
        repository: &'a str,
        descriptor: &'a Descriptor,
    ) -> Pin<Box<dyn Future<Output = Result<BoxReader, StoreError>> + Send + 'a>> {
        Box::pin(Store::open_blob(self, repository, descriptor))
    }

    fn registry_host(&self) -> Option<&str> {
        match self {
            Store::Registry(registry) => Some(registry.host()),
            Store::Layout(_) | Store::Archive(_) => None,
        }
    }
}
