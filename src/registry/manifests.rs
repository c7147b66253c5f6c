//! Manifests and tags: resolving, fetching, pushing and deleting them.

use super::client::BodyError;
use super::token::Scope;
use super::{Progress, RegistryStore, header_length};
use crate::content::{Source, StoreError};
use crate::oci::{Descriptor, Digest, MAX_MANIFEST_SIZE, Manifest, annotation, media_type};
use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use std::sync::Arc;

impl RegistryStore {
    pub(super) fn manifest_url(base: &str, repository: &str, reference: &str) -> String {
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
    pub(super) async fn get_manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Bytes, StoreError> {
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
        self.manifest_body(response, what).await
    }

    /// Reads a manifest (or an index) answer, at most [`MAX_MANIFEST_SIZE`] bytes; `what`
    /// names it in the error.
    pub(super) async fn manifest_body(
        &self,
        response: reqwest::Response,
        what: String,
    ) -> Result<Bytes, StoreError> {
        let client = &self.client;
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

    /// Stores a manifest under a tag (or its digest).
    pub async fn push_manifest(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        bytes: Bytes,
        tag: Option<&str>,
    ) -> Result<(), StoreError> {
        self.put_manifest(repository, descriptor, bytes, tag)
            .await
            .map(|_| ())
    }

    /// Stores a manifest under a tag (or its digest), and says whether the registry answered
    /// with `OCI-Subject`: it lists a manifest with a `subject` among that subject's referrers
    /// by itself.
    pub(super) async fn put_manifest(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        bytes: Bytes,
        tag: Option<&str>,
    ) -> Result<bool, StoreError> {
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
        self.check_digest_header(&response, &descriptor.digest)?;
        Ok(response.headers().contains_key("oci-subject"))
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

/// The manifest types packctl asks for: packs, and the images it mirrors (platform indexes
/// included, so a multi-platform image resolves to its index).
pub(super) const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// The manifest types of a container image, platform indexes included, so a multi-platform
/// image is found whether it is an OCI index or a Docker manifest list.
pub(super) const IMAGE_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// A manifest nobody else has (it carries the tag and the time), to take a tag's place
/// just before it is deleted.
pub(super) fn placeholder_manifest(tag: &str) -> (Descriptor, Bytes) {
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
