//! Where artifacts live: an OCI image layout on disk or a registry, behind one type.

mod tags;

pub use crate::layout::{Layout, LayoutStore};
pub use tags::{
    MANIFEST_BLOB_RETRIES, MANIFEST_BLOB_RETRY_WAIT, MAX_MERGE_ROUNDS, REGISTRY_SETTLE_FACTOR,
    REGISTRY_SETTLE_MAX, REGISTRY_SETTLE_MIN,
};

use crate::auth::{Credential, CredentialSource};
use crate::content::{BlobPut, BlobReader, BoxReader, Source, StoreError};
use crate::oci::{Descriptor, Digest, Location, pack_repository};
use crate::registry::{Progress, RegistryStore, RetryPolicy, TransportOptions};
use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

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
}

impl Store {
    /// Opens the store at a location.
    pub fn open(location: &Location, options: &OpenOptions) -> Result<Store, StoreError> {
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
            Store::Layout(_) => pack_repository("", name),
            Store::Registry(r) => pack_repository(r.base(), name),
        }
    }

    /// A repository of this store, for people: `oci:PATH/REPOSITORY` or `HOST/REPOSITORY`.
    pub fn location(&self, repository: &str) -> String {
        match self {
            Store::Layout(s) if repository.is_empty() => s.display().to_string(),
            Store::Layout(s) => format!("{}/{repository}", s.display()),
            Store::Registry(r) => format!("{}/{repository}", r.host()),
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
        match self {
            Store::Layout(s) => s.layout(repository).resolve(tag),
            Store::Registry(r) => r.resolve(repository, tag).await,
        }
    }

    /// Reads a manifest by digest (at most 4 MiB, verified).
    pub async fn fetch_manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Bytes, StoreError> {
        match self {
            Store::Layout(s) => s
                .layout(repository)
                .manifest(digest, &self.location(repository)),
            Store::Registry(r) => r.fetch_manifest(repository, digest).await,
        }
    }

    /// Whether the store holds a blob.
    pub async fn has_blob(
        &self,
        repository: &str,
        descriptor: &Descriptor,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Layout(s) => Ok(s
                .layout(repository)
                .has_blob(&descriptor.digest, descriptor.size)),
            Store::Registry(r) => r.has_blob(repository, descriptor).await,
        }
    }

    /// Opens a blob; the caller verifies what it reads.
    pub async fn open_blob(
        &self,
        repository: &str,
        descriptor: &Descriptor,
    ) -> Result<BoxReader, StoreError> {
        match self {
            Store::Layout(s) => {
                let location = self.location(repository);
                s.layout(repository)
                    .open_blob(&descriptor.digest, &location)
                    .await
            }
            Store::Registry(r) => r.open_blob(repository, descriptor).await,
        }
    }

    /// Stores a blob unless it is present, and says whether it was present, mounted or sent.
    pub async fn push_blob(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        source: &Source<'_>,
        progress: &Progress,
    ) -> Result<BlobPut, StoreError> {
        match self {
            Store::Layout(s) => {
                let layout = s.layout(repository);
                if layout.has_blob(&descriptor.digest, descriptor.size) {
                    return Ok(BlobPut::Present);
                }
                layout.create()?;
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
        }
    }

    /// Stores a manifest and points `tag` at it.
    pub async fn push_manifest(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        bytes: Bytes,
        tag: Option<&str>,
    ) -> Result<(), StoreError> {
        match self {
            Store::Layout(s) => s.layout(repository).put_manifest(descriptor, &bytes, tag),
            Store::Registry(r) => r.push_manifest(repository, descriptor, bytes, tag).await,
        }
    }

    /// The tags of a repository (none when it does not exist).
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Layout(s) => s.layout(repository).tags(),
            Store::Registry(r) => r.tags(repository).await,
        }
    }

    /// Repositories under a path prefix, sorted.
    pub async fn repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Layout(s) => s.repositories(prefix),
            Store::Registry(r) => r.repositories(prefix).await,
        }
    }

    /// Deletes a manifest, and with it every tag that points at it.
    pub async fn delete_manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<(), StoreError> {
        match self {
            Store::Layout(s) => s
                .layout(repository)
                .delete_manifest(digest, &self.location(repository)),
            Store::Registry(r) => r.delete_manifest(repository, digest).await,
        }
    }

    /// Removes one tag, leaving the manifest and its other tags.
    pub async fn delete_tag(&self, repository: &str, tag: &str) -> Result<(), StoreError> {
        match self {
            Store::Layout(s) => s
                .layout(repository)
                .delete_tag(tag, &self.reference(repository, tag)),
            Store::Registry(r) => r.delete_tag(repository, tag).await,
        }
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
            Store::Layout(_) => None,
        }
    }
}
