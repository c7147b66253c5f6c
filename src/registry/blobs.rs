//! Blobs: checking, mounting, uploading (whole or in chunks where the registry caps request
//! bodies) and downloading with resumption.

use super::client::{BodyError, Clock, GuardedBody};
use super::token::Scope;
use super::{Progress, RegistryStore, client, header_length, location, location_of, with_digest};
use crate::content::{BlobPut, BoxReader, Source, StoreError};
use crate::oci::{Descriptor, Digest};
use crate::progress::ProgressReader;
use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use reqwest::{Response, StatusCode};
use std::sync::atomic::Ordering;
use tokio::io::AsyncReadExt;
use tokio_util::io::{ReaderStream, StreamReader};

impl RegistryStore {
    /// A HEAD or GET of a blob; a GET from `offset` on when it is not 0.
    pub(super) async fn blob_request(
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

    /// Uploads a blob the repository lacks, and says whether it was present, mounted or sent.
    ///
    /// A blob in another repository of the same registry is mounted rather than sent. Other
    /// blobs are looked up and an upload opened in one request, a mount from the repository
    /// itself (the registry answers 201 when the repository holds the blob, else opens an
    /// upload session); small blobs go whole in a single request where the registry stores
    /// blobs sent with the POST that opens an upload. An upload that fails for a passing
    /// reason starts again from a new upload session.
    pub async fn push_blob(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        source: &Source<'_>,
        progress: &Progress,
    ) -> Result<BlobPut, StoreError> {
        let mount_from = match source {
            Source::Blobs {
                from,
                repository: from_repository,
            } if from.registry_host() == Some(self.host()) && *from_repository != repository => {
                Some(*from_repository)
            }
            _ => None,
        };
        let whole = mount_from.is_none() && self.claim_post_whole(descriptor);
        let mut session = None;
        if !whole
            && mount_from.is_none()
            && self.self_mount.load(Ordering::Relaxed) != SELF_MOUNT_NO
        {
            match self.self_mount(repository, descriptor).await? {
                Some(Mounted::Done) => return Ok(BlobPut::Present),
                Some(Mounted::Upload(location)) => session = Some(location),
                None => {}
            }
        }
        if session.is_none() {
            if self.has_blob(repository, descriptor).await? {
                if whole {
                    self.end_probe();
                }
                return Ok(BlobPut::Present);
            }
            if let Some(from_repository) = mount_from {
                match self.mount(repository, descriptor, from_repository).await? {
                    Mounted::Done => return Ok(BlobPut::Mounted),
                    Mounted::Upload(location) => session = Some(location),
                }
            }
        }
        self.upload(repository, descriptor, source, progress, session, whole)
            .await
    }

    /// Uploads a blob whether or not the repository holds it (`push --skip-digest-check`).
    pub async fn send_blob(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        source: &Source<'_>,
        progress: &Progress,
    ) -> Result<BlobPut, StoreError> {
        self.upload(repository, descriptor, source, progress, None, false)
            .await
    }

    /// Sends a blob: into `session` when one is open, whole in the POST when `whole` (a
    /// claimed [`Self::claim_post_whole`]), else into a new session; a failure for a passing
    /// reason starts again from a new session.
    async fn upload(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        source: &Source<'_>,
        progress: &Progress,
        mut session: Option<String>,
        whole: bool,
    ) -> Result<BlobPut, StoreError> {
        let mut whole = whole && session.is_none();
        let policy = self.client.retry_policy();
        let mut attempt = 0;
        loop {
            let location = match session.take() {
                Some(location) => location,
                None if std::mem::take(&mut whole) => {
                    let posted = self.post_whole(repository, descriptor, source).await;
                    // A probe that did not learn the answer lets the next small blob try.
                    self.end_probe();
                    match posted {
                        Ok(Posted::Stored) => {
                            progress(descriptor.size);
                            return Ok(BlobPut::Sent);
                        }
                        Ok(Posted::Session(location)) => location,
                        Ok(Posted::Refused) => self.start_upload(repository).await?,
                        Err(Upload::Retry(error)) if attempt + 1 < policy.attempts => {
                            let delay = policy.delay(attempt, None);
                            tracing::info!(
                                target: "packctl::registry",
                                repository, digest = %descriptor.digest, attempt = attempt + 1,
                                delay_ms = delay.as_millis() as u64,
                                reason = %error,
                                "retrying the upload"
                            );
                            tokio::time::sleep(delay).await;
                            attempt += 1;
                            continue;
                        }
                        Err(Upload::Retry(error) | Upload::Fail(error)) => return Err(error),
                        Err(Upload::TooLarge) => self.start_upload(repository).await?,
                    }
                }
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
                Ok(()) => return Ok(BlobPut::Sent),
                Err(Upload::TooLarge) if chunk == 0 => {
                    // The registry caps request bodies: send this and later blobs in chunks.
                    self.chunk.store(CAPPED_CHUNK, Ordering::Relaxed);
                }
                Err(Upload::Retry(error)) if attempt + 1 < policy.attempts => {
                    let delay = policy.delay(attempt, None);
                    tracing::info!(
                        target: "packctl::registry",
                        repository, digest = %descriptor.digest, attempt = attempt + 1,
                        delay_ms = delay.as_millis() as u64,
                        reason = %error,
                        "retrying the upload in a new session"
                    );
                    tokio::time::sleep(delay).await;
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

    pub(super) async fn mount(
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

    /// Whether to send this blob whole in the request that opens its upload: only small
    /// blobs, where the registry has shown that it stores them so, or (one blob at a time)
    /// while it is not known whether it does.
    fn claim_post_whole(&self, descriptor: &Descriptor) -> bool {
        if descriptor.size > POST_WHOLE_MAX || self.chunk.load(Ordering::Relaxed) > 0 {
            return false;
        }
        match self.post_whole.load(Ordering::Relaxed) {
            POST_WHOLE_YES => true,
            POST_WHOLE_UNKNOWN => self
                .post_whole
                .compare_exchange(
                    POST_WHOLE_UNKNOWN,
                    POST_WHOLE_PROBING,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok(),
            _ => false,
        }
    }

    /// Ends a probe of [`Self::claim_post_whole`] that did not learn the answer.
    fn end_probe(&self) {
        let _ = self.post_whole.compare_exchange(
            POST_WHOLE_PROBING,
            POST_WHOLE_UNKNOWN,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// `POST …/blobs/uploads/?mount=<digest>&from=<repository>`, mounting from the
    /// repository itself: `Done` when it holds the blob, else the upload session the
    /// registry opened. `None` when the registry refuses such a request, which is then not
    /// made again.
    async fn self_mount(
        &self,
        repository: &str,
        descriptor: &Descriptor,
    ) -> Result<Option<Mounted>, StoreError> {
        let client = &self.client;
        let digest = &descriptor.digest;
        let response = client
            .send(&Scope::push(repository), true, |base| async move {
                Ok(client
                    .http()
                    .post(format!("{base}/v2/{repository}/blobs/uploads/"))
                    .query(&[("mount", digest.as_str()), ("from", repository)])
                    .header(CONTENT_LENGTH, "0"))
            })
            .await?;
        match response.status() {
            StatusCode::CREATED => Ok(Some(Mounted::Done)),
            StatusCode::ACCEPTED => match location(&response) {
                Some(location) => Ok(Some(Mounted::Upload(location))),
                None => Err(self.protocol_error("a blob upload session without a Location header")),
            },
            status
                if status.is_client_error()
                    && status != StatusCode::TOO_MANY_REQUESTS
                    && status != StatusCode::UNAUTHORIZED
                    && status != StatusCode::FORBIDDEN
                    && status != StatusCode::NOT_FOUND =>
            {
                self.self_mount.store(SELF_MOUNT_NO, Ordering::Relaxed);
                tracing::debug!(
                    target: "packctl::registry",
                    registry = self.host(), status = status.as_u16(),
                    "the registry refuses mounts from a repository into itself; blobs are looked up first"
                );
                Ok(None)
            }
            _ => Err(self
                .client
                .error(
                    format!("upload blob {digest} to {}/{repository}", self.host()),
                    response,
                )
                .await),
        }
    }

    /// `POST …/blobs/uploads/?digest=` with the blob as the body: the single-request upload
    /// of the distribution spec, one round trip instead of two. A registry that does not
    /// support it either opens a session as for an empty POST (202: the body was ignored,
    /// and the blob goes in a PUT to that session) or refuses the request (4xx: an ordinary
    /// upload follows); either way it is not tried again on this registry.
    async fn post_whole(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        source: &Source<'_>,
    ) -> Result<Posted, Upload> {
        let client = &self.client;
        let mut bytes = Vec::with_capacity(descriptor.size as usize);
        let mut reader = source.open(descriptor).await.map_err(Upload::Fail)?;
        // One byte more than the size, to notice a source that grew.
        (&mut reader)
            .take(descriptor.size + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| match StoreError::from_io(e) {
                Ok(error) => Upload::Fail(error),
                Err(e) => Upload::Fail(StoreError::Damaged {
                    location: format!("{}/{repository}", client.host()),
                    digest: descriptor.digest.clone(),
                    reason: format!("its source cannot be read: {e}"),
                }),
            })?;
        if bytes.len() as u64 != descriptor.size || Digest::of(&bytes) != descriptor.digest {
            // The source changed: the ordinary upload sends what it holds now, the registry
            // refuses it, and the caller tells why.
            return Ok(Posted::Refused);
        }
        let body = Bytes::from(bytes);
        let digest = &descriptor.digest;
        let sent = client
            .send(&Scope::push(repository), true, |base| {
                let body = body.clone();
                async move {
                    Ok(client
                        .http()
                        .post(format!("{base}/v2/{repository}/blobs/uploads/"))
                        .query(&[("digest", digest.as_str())])
                        .header(CONTENT_TYPE, "application/octet-stream")
                        .header(CONTENT_LENGTH, body.len())
                        .body(body))
                }
            })
            .await;
        let response = sent.map_err(retry_on_transfer_failure)?;
        let status = response.status();
        if status == StatusCode::CREATED {
            self.post_whole.store(POST_WHOLE_YES, Ordering::Relaxed);
            self.check_digest_header(&response, digest)
                .map_err(Upload::Fail)?;
            return Ok(Posted::Stored);
        }
        if status == StatusCode::ACCEPTED {
            self.post_whole.store(POST_WHOLE_NO, Ordering::Relaxed);
            tracing::debug!(
                target: "packctl::registry",
                registry = self.host(),
                "the registry ignores blob bodies in POST; uploads take a POST and a PUT"
            );
            return location(&response).map(Posted::Session).ok_or_else(|| {
                Upload::Fail(self.protocol_error("a blob upload session without a Location header"))
            });
        }
        // A repository the registry does not know, or a push it denies, fails every upload
        // alike: that is the answer, not a refusal of bodies in POST.
        let denied = matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
        );
        if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS && !denied {
            self.post_whole.store(POST_WHOLE_NO, Ordering::Relaxed);
            tracing::debug!(
                target: "packctl::registry",
                registry = self.host(), status = status.as_u16(),
                "the registry refuses blob bodies in POST; uploads take a POST and a PUT"
            );
            return Ok(Posted::Refused);
        }
        let what = format!("upload blob {digest} to {}/{repository}", client.host());
        Err(self.upload_failure(what, response).await)
    }

    pub(super) async fn start_upload(&self, repository: &str) -> Result<String, StoreError> {
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
    pub(super) async fn upload_failure(&self, operation: String, response: Response) -> Upload {
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
    pub(super) async fn upload_whole(
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
    pub(super) async fn upload_chunks(
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

    pub(super) fn check_digest_header(
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
}

/// The chunk size where a registry caps request bodies (GHCR takes at most 4 MiB a request).
pub const CAPPED_CHUNK: u64 = 4 * 1024 * 1024;

/// Upload failures another session may fix: the connection, or a stall.
pub(super) fn retry_on_transfer_failure(error: StoreError) -> Upload {
    match error {
        e @ (StoreError::Connect { .. } | StoreError::Stalled { .. }) => Upload::Retry(e),
        e => Upload::Fail(e),
    }
}

/// A blob download that resumes where it broke off.
pub(super) struct Download {
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

/// Blobs up to this size are tried in a single request (see `RegistryStore::post_whole`);
/// they are read into memory for it.
pub const POST_WHOLE_MAX: u64 = 256 * 1024;
/// What a registry does with a blob in the POST that opens its upload: not known yet.
pub(super) const POST_WHOLE_UNKNOWN: u8 = 0;
/// It stores it.
const POST_WHOLE_YES: u8 = 1;
/// It ignores or refuses it.
const POST_WHOLE_NO: u8 = 2;
/// One blob is finding out.
const POST_WHOLE_PROBING: u8 = 3;
/// Whether a registry accepts a mount from a repository into itself: not known yet.
pub(super) const SELF_MOUNT_UNKNOWN: u8 = 0;
/// It refuses it.
const SELF_MOUNT_NO: u8 = 2;

/// The answer to a single-request upload.
enum Posted {
    /// The registry stored the blob.
    Stored,
    /// It ignored the body and opened an upload session here.
    Session(String),
    /// It refused the request: an ordinary upload follows.
    Refused,
}

pub(super) enum Mounted {
    Done,
    Upload(String),
}

pub(super) enum Upload {
    /// A passing failure: start a new upload session.
    Retry(StoreError),
    /// The registry caps request bodies.
    TooLarge,
    /// A failure another attempt will not fix.
    Fail(StoreError),
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
            let delay = policy.delay(self.failures - 1, None);
            tracing::info!(
                target: "packctl::registry",
                blob = %self.descriptor.digest, received = self.offset,
                attempt = self.failures + 1, delay_ms = delay.as_millis() as u64,
                reason = %failure,
                "resuming the download"
            );
            tokio::time::sleep(delay).await;
        }
    }
}
