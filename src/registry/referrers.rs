//! OCI 1.1 referrers: `GET /v2/<name>/referrers/<digest>`, and pushing a manifest with a
//! `subject`. Where a registry lacks the API, the store keeps the referrers tag schema's index
//! (see [`crate::store::Store::referrers`]).

use super::RegistryStore;
use super::token::Scope;
use crate::content::StoreError;
use crate::oci::{Descriptor, Digest, Index, media_type};
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::ACCEPT;
use std::sync::atomic::Ordering;

/// Whether the registry has the referrers API: not known yet.
pub(super) const REFERRERS_UNKNOWN: u8 = 0;
/// It answered the API.
pub(super) const REFERRERS_YES: u8 = 1;
/// It answered 404: the referrers tag schema stands in.
pub(super) const REFERRERS_NO: u8 = 2;

impl RegistryStore {
    /// The referrers of `subject` through the referrers API, of `artifact_type` only when
    /// given (filtered here when the registry does not say it filtered); `None` when the
    /// registry has no referrers API (it answers 404).
    pub async fn referrers_api(
        &self,
        repository: &str,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<Vec<Descriptor>>, StoreError> {
        if self.referrers.load(Ordering::Relaxed) == REFERRERS_NO {
            return Ok(None);
        }
        let client = &self.client;
        let what = format!(
            "list the referrers of {}/{repository}@{subject}",
            client.host()
        );
        let response = client
            .send(&Scope::pull(repository), true, |base| async move {
                let mut request = client
                    .http()
                    .get(format!("{base}/v2/{repository}/referrers/{subject}"))
                    .header(ACCEPT, media_type::INDEX);
                if let Some(t) = artifact_type {
                    request = request.query(&[("artifactType", t)]);
                }
                Ok(request)
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            self.referrers.store(REFERRERS_NO, Ordering::Relaxed);
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(client.error(what, response).await);
        }
        self.referrers.store(REFERRERS_YES, Ordering::Relaxed);
        let filtered = response
            .headers()
            .get("oci-filters-applied")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|f| f.trim() == "artifactType"));
        let body = self.manifest_body(response, what.clone()).await?;
        let index: Index = serde_json::from_slice(&body).map_err(|e| StoreError::Registry {
            operation: what.clone(),
            registry: self.host().to_string(),
            status: 200,
            errors: Vec::new(),
            body: format!("the registry sent a referrers list that is not an index: {e}"),
        })?;
        Ok(Some(
            index
                .manifests
                .into_iter()
                .filter(|d| {
                    filtered || artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t))
                })
                .collect(),
        ))
    }

    /// Stores a manifest that has a `subject` under its digest; true when the registry
    /// lists it among the subject's referrers by itself (it answered `OCI-Subject`).
    pub async fn push_referrer(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        bytes: Bytes,
    ) -> Result<bool, StoreError> {
        let listed = self
            .put_manifest(repository, descriptor, bytes, None)
            .await?;
        if listed {
            self.referrers.store(REFERRERS_YES, Ordering::Relaxed);
        }
        Ok(listed)
    }
}
