//! Registries: the OCI distribution API over HTTP, with authentication challenges and tokens,
//! TLS, retries and stall timeouts. It knows nothing of the `oci:` layout or of the store
//! that puts the two behind one type.

pub mod client;
pub mod tls;
pub mod token;

pub use client::{RetryPolicy, TransportOptions, is_loopback};

use crate::auth::Credential;
use crate::content::{BoxReader, Source, StoreError};
use crate::oci::{Descriptor, Digest, MAX_MANIFEST_SIZE, Manifest, annotation, media_type};
use crate::progress::ProgressReader;
use bytes::Bytes;
use client::{BodyError, Client, Clock, GuardedBody};
use futures_util::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LINK, RANGE};
use reqwest::{Response, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use token::Scope;
use tokio::io::AsyncReadExt;
use tokio_util::io::{ReaderStream, StreamReader};

/// The manifest types packctl asks for.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json";

/// The manifest types of a container image, platform indexes included, so a multi-platform
/// image is found whether it is an OCI index or a Docker manifest list.
const IMAGE_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// The chunk size where a registry caps request bodies (GHCR takes at most 4 MiB a request).
pub const CAPPED_CHUNK: u64 = 4 * 1024 * 1024;

pub use crate::progress::Progress;

/// A registry, with an optional base path under which packs live.
#[derive(Debug, Clone)]
pub struct RegistryStore {
    client: Arc<Client>,
    base: String,
    chunk: Arc<AtomicU64>,
}

impl RegistryStore {
    /// Connects (lazily) to `host` with the given transport options and credential.
    pub fn new(
        host: &str,
        base: &str,
        options: &TransportOptions,
        credential: Credential,
        retry: RetryPolicy,
    ) -> Result<RegistryStore, StoreError> {
        let client = Client::new(host, options, credential, retry)?;
        // GHCR refuses request bodies over 4 MiB, so blobs go there in chunks.
        let chunk = if client.host() == "ghcr.io" {
            CAPPED_CHUNK
        } else {
            0
        };
        Ok(RegistryStore {
            client: Arc::new(client),
            base: base.trim_matches('/').to_string(),
            chunk: Arc::new(AtomicU64::new(chunk)),
        })
    }

    /// `host[:port]`.
    pub fn host(&self) -> &str {
        self.client.host()
    }

    /// The base path (`""` for none).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Checks that the registry answers `/v2/` with these credentials.
    pub async fn check_login(&self) -> Result<(), StoreError> {
        let client = &self.client;
        let response = client
            .send(&Scope::none(), true, |base| async move {
                Ok(client.http().get(format!("{base}/v2/")))
            })
            .await?;
        match response.status() {
            s if s.is_success() => Ok(()),
            _ => Err(client
                .error(format!("check {}/v2/", client.host()), response)
                .await),
        }
    }

    fn manifest_url(base: &str, repository: &str, reference: &str) -> String {
        format!("{base}/v2/{repository}/manifests/{reference}")
    }

    /// The manifest a tag points at, from a HEAD request.
    pub async fn resolve(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<Option<Descriptor>, StoreError> {
        let client = &self.client;
        let response = client
            .send(&Scope::pull(repository), true, |base| async move {
                Ok(client
                    .http()
                    .head(Self::manifest_url(&base, repository, tag))
                    .header(ACCEPT, MANIFEST_ACCEPT))
            })
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let headers = response.headers();
                let media_type = headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
                    .unwrap_or_else(|| media_type::MANIFEST.to_string());
                let digest = headers
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| Digest::parse(v).ok());
                let size = header_length(&response);
                match (digest, size) {
                    (Some(digest), Some(size)) => {
                        Ok(Some(Descriptor::new(media_type, digest, size)))
                    }
                    // Without the headers, read the manifest and hash it.
                    _ => {
                        let bytes = self.get_manifest(repository, tag).await?;
                        Ok(Some(Descriptor::new(
                            media_type,
                            Digest::of(&bytes),
                            bytes.len() as u64,
                        )))
                    }
                }
            }
            _ => Err(client
                .error(
                    format!("look up {}/{repository}:{tag}", client.host()),
                    response,
                )
                .await),
        }
    }

    /// Whether a container image's manifest exists, by tag or digest, from a HEAD request
    /// that accepts platform indexes.
    pub async fn image_exists(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<bool, StoreError> {
        let client = &self.client;
        let response = client
            .send(&Scope::pull(repository), true, |base| async move {
                Ok(client
                    .http()
                    .head(Self::manifest_url(&base, repository, reference))
                    .header(ACCEPT, IMAGE_ACCEPT))
            })
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(true),
            _ => Err(client
                .error(
                    format!("look up {}/{repository}:{reference}", client.host()),
                    response,
                )
                .await),
        }
    }

    /// GETs a manifest by tag or digest, reading at most 4 MiB.
    async fn get_manifest(&self, repository: &str, reference: &str) -> Result<Bytes, StoreError> {
        let client = &self.client;
        let what = format!(
            "{}/{repository}{}{reference}",
            client.host(),
            if reference.contains(':') { "@" } else { ":" }
        );
        let response = client
            .send(&Scope::pull(repository), true, |base| async move {
                Ok(client
                    .http()
                    .get(Self::manifest_url(&base, repository, reference))
                    .header(ACCEPT, MANIFEST_ACCEPT))
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(StoreError::NotFound { reference: what });
        }
        if !response.status().is_success() {
            return Err(client
                .error(format!("fetch the manifest {what}"), response)
                .await);
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_MANIFEST_SIZE)
        {
            return Err(StoreError::ManifestTooLarge {
                size: response.content_length().unwrap_or_default(),
                reference: what,
            });
        }
        let mut body = Vec::new();
        let mut stream = client.body(response);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| match e {
                BodyError::Stalled(_) => client.stalled(),
                BodyError::Broken(source) => client.connect_error(source),
            })?;
            body.extend_from_slice(&chunk);
            if body.len() as u64 > MAX_MANIFEST_SIZE {
                return Err(StoreError::ManifestTooLarge {
                    size: body.len() as u64,
                    reference: what,
                });
            }
        }
        Ok(Bytes::from(body))
    }

    /// Reads a manifest by digest and checks its bytes against it.
    pub async fn fetch_manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Bytes, StoreError> {
        let bytes = self.get_manifest(repository, digest.as_str()).await?;
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(StoreError::Damaged {
                location: format!("{}/{repository}", self.host()),
                digest: digest.clone(),
                reason: format!("the registry sent a manifest that hashes to {actual}"),
            });
        }
        Ok(bytes)
    }

    /// A HEAD or GET of a blob; a GET from `offset` on when it is not 0.
    async fn blob_request(
        &self,
        method: reqwest::Method,
        repository: &str,
        digest: &Digest,
        offset: u64,
    ) -> Result<Response, StoreError> {
        let client = &self.client;
        client
            .send(&Scope::pull(repository), true, |base| {
                let method = method.clone();
                async move {
                    let request = client
                        .http()
                        .request(method, format!("{base}/v2/{repository}/blobs/{digest}"));
                    Ok(if offset > 0 {
                        request.header(RANGE, format!("bytes={offset}-"))
                    } else {
                        request
                    })
                }
            })
            .await
    }

    /// Whether the repository holds a blob (HEAD).
    pub async fn has_blob(
        &self,
        repository: &str,
        descriptor: &Descriptor,
    ) -> Result<bool, StoreError> {
        let digest = &descriptor.digest;
        let response = self
            .blob_request(reqwest::Method::HEAD, repository, digest, 0)
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(false),
            // A HEAD answer has no body, so the size is in the header, not the body length.
            s if s.is_success() => {
                Ok(header_length(&response).is_none_or(|n| n == descriptor.size))
            }
            _ => Err(self
                .client
                .error(
                    format!("look up blob {digest} in {}/{repository}", self.host()),
                    response,
                )
                .await),
        }
    }

    /// Streams a blob; the caller checks what it reads.
    ///
    /// A download that breaks off or stalls is resumed where it stopped (with a `Range`
    /// request, or from the start when the registry ignores it) within the retry policy;
    /// the reader's final error carries a [`StoreError`] naming the registry and the blob.
    pub async fn open_blob(
        &self,
        repository: &str,
        descriptor: &Descriptor,
    ) -> Result<BoxReader, StoreError> {
        let mut download = Download {
            store: self.clone(),
            repository: repository.to_string(),
            descriptor: descriptor.clone(),
            offset: 0,
            skip: 0,
            failures: 0,
            body: None,
            done: false,
        };
        // The first request happens now, so that a missing blob fails here and not in a read.
        download.body = Some(download.connect().await?);
        let stream = futures_util::stream::unfold(download, |mut download| async move {
            download
                .next_chunk()
                .await
                .map(|item| (item.map_err(std::io::Error::other), download))
        });
        Ok(Box::pin(StreamReader::new(stream)))
    }

    /// Uploads a blob the repository lacks; `true` when bytes were sent or mounted.
    ///
    /// A blob in another repository of the same registry is mounted rather than sent. An
    /// upload that fails for a passing reason starts again from a new upload session.
    pub async fn push_blob(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        source: &Source<'_>,
        progress: &Progress,
    ) -> Result<bool, StoreError> {
        if self.has_blob(repository, descriptor).await? {
            return Ok(false);
        }
        let mut session = None;
        if let Source::Blobs {
            from,
            repository: from_repository,
        } = source
            && from.registry_host() == Some(self.host())
            && *from_repository != repository
        {
            match self.mount(repository, descriptor, from_repository).await? {
                Mounted::Done => return Ok(true),
                Mounted::Upload(location) => session = Some(location),
            }
        }
        let policy = self.client.retry_policy();
        let mut attempt = 0;
        loop {
            let location = match session.take() {
                Some(location) => location,
                None => self.start_upload(repository).await?,
            };
            let chunk = self.chunk.load(Ordering::Relaxed);
            let result = if chunk > 0 {
                self.upload_chunks(repository, &location, descriptor, source, chunk, progress)
                    .await
            } else {
                self.upload_whole(repository, &location, descriptor, source, progress)
                    .await
            };
            match result {
                Ok(()) => return Ok(true),
                Err(Upload::TooLarge) if chunk == 0 => {
                    // The registry caps request bodies: send this and later blobs in chunks.
                    self.chunk.store(CAPPED_CHUNK, Ordering::Relaxed);
                }
                Err(Upload::Retry(error)) if attempt + 1 < policy.attempts => {
                    let _ = error;
                    tokio::time::sleep(policy.delay(attempt, None)).await;
                    attempt += 1;
                }
                Err(Upload::Retry(error)) | Err(Upload::Fail(error)) => return Err(error),
                Err(Upload::TooLarge) => {
                    return Err(StoreError::Registry {
                        operation: format!(
                            "upload blob {} to {}/{repository}",
                            descriptor.digest,
                            self.host()
                        ),
                        registry: self.host().to_string(),
                        status: 413,
                        errors: Vec::new(),
                        body: format!("the registry refuses even {chunk}-byte chunks"),
                    });
                }
            }
        }
    }

    async fn mount(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        from: &str,
    ) -> Result<Mounted, StoreError> {
        let client = &self.client;
        let digest = &descriptor.digest;
        let scope = Scope::push(repository).and_pull(from);
        let response = client
            .send(&scope, true, |base| async move {
                Ok(client
                    .http()
                    .post(format!("{base}/v2/{repository}/blobs/uploads/"))
                    .query(&[("mount", digest.as_str()), ("from", from)])
                    .header(CONTENT_LENGTH, "0"))
            })
            .await?;
        match response.status() {
            StatusCode::CREATED => Ok(Mounted::Done),
            StatusCode::ACCEPTED => Ok(Mounted::Upload(location(&response).ok_or_else(|| {
                self.protocol_error("a blob upload session without a Location header")
            })?)),
            _ => Err(self
                .client
                .error(
                    format!("mount blob {digest} into {}/{repository}", self.host()),
                    response,
                )
                .await),
        }
    }

    fn protocol_error(&self, what: &str) -> StoreError {
        StoreError::Registry {
            operation: "upload a blob".into(),
            registry: self.host().to_string(),
            status: 0,
            errors: Vec::new(),
            body: format!("the registry sent {what}"),
        }
    }

    async fn start_upload(&self, repository: &str) -> Result<String, StoreError> {
        let client = &self.client;
        let response = client
            .send(&Scope::push(repository), true, |base| async move {
                Ok(client
                    .http()
                    .post(format!("{base}/v2/{repository}/blobs/uploads/"))
                    .header(CONTENT_LENGTH, "0"))
            })
            .await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(self
                .client
                .error(
                    format!("start a blob upload to {}/{repository}", client.host()),
                    response,
                )
                .await);
        }
        location(&response)
            .ok_or_else(|| self.protocol_error("a blob upload session without a Location header"))
    }

    /// Classifies a failed upload request.
    async fn upload_failure(&self, operation: String, response: Response) -> Upload {
        let status = response.status();
        let error = self.client.error(operation, response).await;
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Upload::TooLarge
        } else if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Upload::Retry(error)
        } else {
            Upload::Fail(error)
        }
    }

    /// One PUT with the whole blob streamed from its source.
    async fn upload_whole(
        &self,
        repository: &str,
        location: &str,
        descriptor: &Descriptor,
        source: &Source<'_>,
        progress: &Progress,
    ) -> Result<(), Upload> {
        let client = &self.client;
        let url = with_digest(&client.url(location), &descriptor.digest);
        let clock = Clock::new();
        let response = client
            .send_with(&Scope::push(repository), false, &clock, |_| {
                let (url, clock) = (url.clone(), clock.clone());
                async move {
                    let reader = source.open(descriptor).await?;
                    let counted = ProgressReader::new(reader, progress.clone());
                    let stream = ReaderStream::with_capacity(counted, 256 * 1024);
                    Ok(client
                        .http()
                        .put(url)
                        .header(CONTENT_TYPE, "application/octet-stream")
                        .header(CONTENT_LENGTH, descriptor.size)
                        .body(client::watched_body(stream, clock)))
                }
            })
            .await
            .map_err(retry_on_transfer_failure)?;
        if response.status() != StatusCode::CREATED {
            let what = format!(
                "upload blob {} to {}/{repository}",
                descriptor.digest,
                client.host()
            );
            return Err(self.upload_failure(what, response).await);
        }
        self.check_digest_header(&response, &descriptor.digest)
            .map_err(Upload::Fail)
    }

    /// PATCH requests of `chunk` bytes each, then a PUT that commits the digest.
    async fn upload_chunks(
        &self,
        repository: &str,
        location: &str,
        descriptor: &Descriptor,
        source: &Source<'_>,
        chunk: u64,
        progress: &Progress,
    ) -> Result<(), Upload> {
        let client = &self.client;
        let what = || {
            format!(
                "upload blob {} to {}/{repository}",
                descriptor.digest,
                client.host()
            )
        };
        let mut reader = source.open(descriptor).await.map_err(Upload::Fail)?;
        let mut location = client.url(location);
        let mut offset = 0u64;
        let mut buf = vec![0u8; chunk as usize];
        while offset < descriptor.size {
            let want = chunk.min(descriptor.size - offset) as usize;
            reader.read_exact(&mut buf[..want]).await.map_err(|e| {
                Upload::Fail(StoreError::Damaged {
                    location: format!("{}/{repository}", client.host()),
                    digest: descriptor.digest.clone(),
                    reason: format!("its source ended early: {e}"),
                })
            })?;
            let body = Bytes::copy_from_slice(&buf[..want]);
            let range = format!("{offset}-{}", offset + want as u64 - 1);
            let url = location.clone();
            let clock = Clock::new();
            let response = client
                .send_with(&Scope::push(repository), false, &clock, |_| {
                    let (url, body, range) = (url.clone(), body.clone(), range.clone());
                    let clock = clock.clone();
                    async move {
                        Ok(client
                            .http()
                            .patch(url)
                            .header(CONTENT_TYPE, "application/octet-stream")
                            .header(CONTENT_RANGE, range)
                            .header(CONTENT_LENGTH, body.len())
                            .body(client::watched_bytes(body, clock)))
                    }
                })
                .await
                .map_err(retry_on_transfer_failure)?;
            if response.status() != StatusCode::ACCEPTED {
                return Err(self.upload_failure(what(), response).await);
            }
            location = location_of(client, &response).unwrap_or(location);
            offset += want as u64;
            progress(want as u64);
        }
        let url = with_digest(&location, &descriptor.digest);
        let response = client
            .send(&Scope::push(repository), false, |_| {
                let url = url.clone();
                async move { Ok(client.http().put(url).header(CONTENT_LENGTH, "0")) }
            })
            .await
            .map_err(Upload::Retry)?;
        if response.status() != StatusCode::CREATED {
            return Err(self.upload_failure(what(), response).await);
        }
        self.check_digest_header(&response, &descriptor.digest)
            .map_err(Upload::Fail)
    }

    fn check_digest_header(
        &self,
        response: &Response,
        expected: &Digest,
    ) -> Result<(), StoreError> {
        let Some(value) = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        else {
            return Ok(());
        };
        if value != expected.as_str() {
            return Err(StoreError::Damaged {
                location: self.host().to_string(),
                digest: expected.clone(),
                reason: format!("the registry stored it as {value}"),
            });
        }
        Ok(())
    }

    /// Stores a manifest under a tag (or its digest).
    pub async fn push_manifest(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        bytes: Bytes,
        tag: Option<&str>,
    ) -> Result<(), StoreError> {
        let client = &self.client;
        let reference = tag.map_or_else(|| descriptor.digest.to_string(), str::to_string);
        let reference = reference.as_str();
        let media = descriptor.media_type.as_str();
        let response = client
            .send(&Scope::push(repository), true, |base| {
                let bytes = bytes.clone();
                async move {
                    Ok(client
                        .http()
                        .put(Self::manifest_url(&base, repository, reference))
                        .header(CONTENT_TYPE, media)
                        .body(bytes))
                }
            })
            .await?;
        if response.status() != StatusCode::CREATED {
            let what = format!(
                "push the manifest {}/{repository}:{reference}",
                client.host()
            );
            return Err(self.client.error(what, response).await);
        }
        self.check_digest_header(&response, &descriptor.digest)
    }

    /// Every tag of a repository, following pagination; none when it does not exist.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut out = Vec::new();
        let mut next = Some(format!("/v2/{repository}/tags/list?n=1000"));
        while let Some(path) = next.take() {
            let client = &self.client;
            let response = client
                .send(&Scope::pull(repository), true, |_| {
                    let url = client.url(&path);
                    async move { Ok(client.http().get(url)) }
                })
                .await?;
            if response.status() == StatusCode::NOT_FOUND {
                return Ok(out);
            }
            if !response.status().is_success() {
                return Err(client
                    .error(
                        format!("list the tags of {}/{repository}", client.host()),
                        response,
                    )
                    .await);
            }
            next = next_link(&response);
            let body = client
                .read_body(response, 16 << 20)
                .await
                .map_err(|(_, e)| e)?;
            let page: Tags = serde_json::from_slice(&body)
                .map_err(|e| self.protocol_error(&format!("a tag list that is not JSON: {e}")))?;
            out.extend(page.tags.unwrap_or_default());
        }
        Ok(out)
    }

    /// Repositories whose path starts with `prefix`, from the catalog, sorted.
    pub async fn repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Catalog {
            #[serde(default)]
            repositories: Vec<String>,
        }
        let prefix = prefix.trim_matches('/');
        let mut out = Vec::new();
        let mut next = Some("/v2/_catalog?n=1000".to_string());
        while let Some(path) = next.take() {
            let client = &self.client;
            let response = client
                .send(&Scope::catalog(), true, |_| {
                    let url = client.url(&path);
                    async move { Ok(client.http().get(url)) }
                })
                .await?;
            if !response.status().is_success() {
                let error = client
                    .error(
                        format!("list the repositories of {}", client.host()),
                        response,
                    )
                    .await;
                // Refused credentials or the wrong protocol are not a private catalog.
                return Err(match error {
                    StoreError::Registry { .. } => StoreError::NoCatalog {
                        registry: client.host().to_string(),
                        source: Box::new(error),
                    },
                    other => other,
                });
            }
            next = next_link(&response);
            let body = client
                .read_body(response, 64 << 20)
                .await
                .map_err(|(_, e)| e)?;
            let page: Catalog = serde_json::from_slice(&body)
                .map_err(|e| self.protocol_error(&format!("a catalog that is not JSON: {e}")))?;
            out.extend(page.repositories.into_iter().filter(|r| {
                prefix.is_empty() || r == prefix || r.starts_with(&format!("{prefix}/"))
            }));
        }
        out.sort();
        Ok(out)
    }

    /// Deletes a manifest by digest (which removes every tag that points at it).
    pub async fn delete_manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<(), StoreError> {
        let client = &self.client;
        let response = client
            .send(&Scope::delete(repository), true, |base| async move {
                Ok(client
                    .http()
                    .delete(Self::manifest_url(&base, repository, digest.as_str())))
            })
            .await?;
        match response.status() {
            StatusCode::ACCEPTED | StatusCode::OK | StatusCode::NO_CONTENT => Ok(()),
            StatusCode::NOT_FOUND => Err(StoreError::NotFound {
                reference: format!("{}/{repository}@{digest}", client.host()),
            }),
            _ => Err(client
                .error(
                    format!("delete {}/{repository}@{digest}", client.host()),
                    response,
                )
                .await),
        }
    }

    /// Removes one tag and nothing else.
    ///
    /// Registries that cannot delete a tag by name (the distribution registry answers 400)
    /// get a throwaway manifest under the tag, which is then deleted by its digest: other
    /// tags of the manifest the tag pointed at stay.
    pub async fn delete_tag(&self, repository: &str, tag: &str) -> Result<(), StoreError> {
        let client = &self.client;
        if self.resolve(repository, tag).await?.is_none() {
            return Err(StoreError::NotFound {
                reference: format!("{}/{repository}:{tag}", client.host()),
            });
        }
        let response = client
            .send(&Scope::delete(repository), true, |base| async move {
                Ok(client
                    .http()
                    .delete(Self::manifest_url(&base, repository, tag)))
            })
            .await?;
        match response.status() {
            StatusCode::ACCEPTED | StatusCode::OK | StatusCode::NO_CONTENT => return Ok(()),
            StatusCode::NOT_FOUND => {
                return Err(StoreError::NotFound {
                    reference: format!("{}/{repository}:{tag}", client.host()),
                });
            }
            StatusCode::BAD_REQUEST | StatusCode::METHOD_NOT_ALLOWED => {}
            _ => {
                return Err(client
                    .error(
                        format!("delete {}/{repository}:{tag}", client.host()),
                        response,
                    )
                    .await);
            }
        }
        let (descriptor, bytes) = placeholder_manifest(tag);
        let config = &Descriptor::new(media_type::UNKNOWN_CONFIG, Digest::of(b"{}"), 2);
        let quiet: Progress = Arc::new(|_| {});
        self.push_blob(
            repository,
            config,
            &Source::Bytes(Bytes::from_static(b"{}")),
            &quiet,
        )
        .await?;
        self.push_manifest(repository, &descriptor, bytes, Some(tag))
            .await?;
        self.delete_manifest(repository, &descriptor.digest).await
    }
}

/// A manifest nobody else has (it carries the tag and the time), to take a tag's place
/// just before it is deleted.
fn placeholder_manifest(tag: &str) -> (Descriptor, Bytes) {
    let empty = Descriptor::new(media_type::UNKNOWN_CONFIG, Digest::of(b"{}"), 2);
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut manifest = Manifest {
        schema_version: 2,
        media_type: Some(media_type::MANIFEST.into()),
        artifact_type: Some("application/vnd.packctl.tag-deletion.v1".into()),
        config: empty.clone(),
        layers: vec![empty],
        subject: None,
        annotations: Default::default(),
    };
    manifest.annotations.insert(
        annotation::TITLE.into(),
        format!("deleting tag {tag} ({nonce})"),
    );
    let bytes = Bytes::from(manifest.to_canonical_json());
    let descriptor = Descriptor::new(media_type::MANIFEST, Digest::of(&bytes), bytes.len() as u64);
    (descriptor, bytes)
}

/// Upload failures another session may fix: the connection, or a stall.
fn retry_on_transfer_failure(error: StoreError) -> Upload {
    match error {
        e @ (StoreError::Connect { .. } | StoreError::Stalled { .. }) => Upload::Retry(e),
        e => Upload::Fail(e),
    }
}

/// A blob download that resumes where it broke off.
struct Download {
    store: RegistryStore,
    repository: String,
    descriptor: Descriptor,
    /// Bytes handed to the reader so far.
    offset: u64,
    /// Bytes still to drop from a body that started from the beginning again.
    skip: u64,
    failures: u32,
    body: Option<GuardedBody>,
    done: bool,
}

impl Download {
    fn what(&self) -> String {
        format!(
            "blob {} from {}/{}",
            self.descriptor.digest,
            self.store.host(),
            self.repository
        )
    }

    /// GETs the blob from `offset` on.
    async fn connect(&mut self) -> Result<GuardedBody, StoreError> {
        let store = &self.store;
        let digest = &self.descriptor.digest;
        let response = store
            .blob_request(reqwest::Method::GET, &self.repository, digest, self.offset)
            .await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Err(StoreError::NotFound {
                reference: format!("{}/{}@{digest}", store.host(), self.repository),
            });
        }
        if !status.is_success() {
            return Err(store
                .client
                .error(
                    format!(
                        "fetch blob {digest} from {}/{}",
                        store.host(),
                        self.repository
                    ),
                    response,
                )
                .await);
        }
        self.skip = if status == StatusCode::PARTIAL_CONTENT {
            let start = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if start != Some(self.offset) {
                return Err(store.protocol_error(&format!(
                    "another range than bytes={}- of blob {digest}",
                    self.offset
                )));
            }
            0
        } else {
            self.offset
        };
        Ok(store.client.body(response))
    }

    /// The next piece of the blob, resuming after a failure while the policy allows.
    async fn next_chunk(&mut self) -> Option<Result<Bytes, StoreError>> {
        let policy = self.store.client.retry_policy();
        loop {
            if self.done {
                return None;
            }
            let body = match self.body.as_mut() {
                Some(body) => body,
                None => match self.connect().await {
                    Ok(body) => self.body.insert(body),
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                },
            };
            let failure = match body.next().await {
                Some(Ok(mut chunk)) => {
                    if self.skip > 0 {
                        let drop = self.skip.min(chunk.len() as u64);
                        self.skip -= drop;
                        chunk = chunk.slice(drop as usize..);
                        if chunk.is_empty() {
                            continue;
                        }
                    }
                    self.offset += chunk.len() as u64;
                    return Some(Ok(chunk));
                }
                // The digest check of the reader catches a body that ends early or late.
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(e)) => e,
            };
            self.body = None;
            self.failures += 1;
            if self.failures >= policy.attempts.max(1) {
                self.done = true;
                return Some(Err(match failure {
                    BodyError::Stalled(_) if self.offset == 0 => self.store.client.stalled(),
                    failure => StoreError::Interrupted {
                        what: self.what(),
                        received: self.offset,
                        size: self.descriptor.size,
                        source: failure,
                    },
                }));
            }
            tokio::time::sleep(policy.delay(self.failures - 1, None)).await;
        }
    }
}

enum Mounted {
    Done,
    Upload(String),
}

enum Upload {
    /// A passing failure: start a new upload session.
    Retry(StoreError),
    /// The registry caps request bodies.
    TooLarge,
    /// A failure another attempt will not fix.
    Fail(StoreError),
}

/// The `Content-Length` header (which `Response::content_length` does not give for HEAD).
fn header_length(response: &Response) -> Option<u64> {
    response
        .headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn location(response: &Response) -> Option<String> {
    response
        .headers()
        .get(reqwest::header::LOCATION)?
        .to_str()
        .ok()
        .map(str::to_string)
}

fn location_of(client: &Client, response: &Response) -> Option<String> {
    location(response).map(|l| client.url(&l))
}

fn with_digest(url: &str, digest: &Digest) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}digest={}",
        digest.as_str().replace(':', "%3A")
    )
}

/// The `rel="next"` target of a `Link` header, as a path or URL.
fn next_link(response: &Response) -> Option<String> {
    let value = response.headers().get(LINK)?.to_str().ok()?;
    value.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_in_query_strings() {
        let d = Digest::of(b"");
        assert_eq!(
            with_digest("http://h/v2/r/blobs/uploads/abc?_state=x", &d),
            format!(
                "http://h/v2/r/blobs/uploads/abc?_state=x&digest=sha256%3A{}",
                d.hex()
            )
        );
    }

    #[test]
    fn placeholders_differ_by_tag() {
        let (a, _) = placeholder_manifest("1.0.0");
        let (b, _) = placeholder_manifest("2.0.0");
        assert_ne!(a.digest, b.digest);
    }
}
