//! Registries: the OCI distribution API over HTTP, with authentication challenges and tokens,
//! TLS, retries and stall timeouts. It knows nothing of the `oci:` layout or of the store
//! that puts the two behind one type.

mod blobs;
pub mod client;
mod listing;
mod manifests;
mod referrers;
pub mod tls;
pub mod token;

pub use blobs::{CAPPED_CHUNK, POST_WHOLE_MAX};

pub use client::{RetryPolicy, TransportOptions, is_loopback};

use crate::auth::Credential;
use crate::content::StoreError;
use crate::oci::Digest;
use client::Client;
use reqwest::Response;
use reqwest::header::CONTENT_LENGTH;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64};
use token::Scope;

pub use crate::progress::Progress;

/// A registry, with an optional base path under which packs live.
#[derive(Debug, Clone)]
pub struct RegistryStore {
    client: Arc<Client>,
    base: String,
    chunk: Arc<AtomicU64>,
    /// What the registry does with a blob in the POST that opens an upload (see
    /// `blobs::POST_WHOLE_UNKNOWN`).
    post_whole: Arc<AtomicU8>,
    /// Whether the registry refuses a mount from a repository into itself (see
    /// `blobs::SELF_MOUNT_UNKNOWN`).
    self_mount: Arc<AtomicU8>,
    /// Whether the registry has the referrers API (see `referrers::REFERRERS_UNKNOWN`).
    referrers: Arc<AtomicU8>,
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
            post_whole: Arc::new(AtomicU8::new(blobs::POST_WHOLE_UNKNOWN)),
            self_mount: Arc::new(AtomicU8::new(blobs::SELF_MOUNT_UNKNOWN)),
            referrers: Arc::new(AtomicU8::new(referrers::REFERRERS_UNKNOWN)),
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

    fn protocol_error(&self, what: &str) -> StoreError {
        StoreError::Registry {
            operation: "upload a blob".into(),
            registry: self.host().to_string(),
            status: 0,
            errors: Vec::new(),
            body: format!("the registry sent {what}"),
        }
    }
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
}
