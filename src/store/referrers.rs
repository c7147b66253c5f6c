//! OCI 1.1 referrers on every store: manifests whose `subject` names another manifest
//! (signatures in cosign 3's bundle format, SBOMs, attestations).
//!
//! A registry with the referrers API lists them itself. One without it (distribution 2.8)
//! gets the referrers tag schema: an image index under the tag `<alg>-<hex>` of the subject,
//! kept by merging, so that of two writers at once neither entry is lost. In an `oci:`
//! store, referrers are untagged manifests with `subject` in the layout, as oras keeps them.

use super::Store;
use crate::content::{StoreError, TaggedManifest, off_worker};
use crate::oci::{Descriptor, Digest, Index, Manifest, media_type};
use bytes::Bytes;

/// The referrers tag schema's tag for `subject`: `sha256-<hex>`.
pub fn fallback_tag(subject: &Digest) -> String {
    format!("{}-{}", subject.algorithm(), subject.hex())
}

/// The descriptor of a referrer in a referrers list: its media type, digest, size, artifact
/// type (its `artifactType`, else its config's media type) and annotations.
pub fn referrer_descriptor(manifest: &Manifest, bytes: &[u8]) -> Descriptor {
    let mut d = Descriptor::new(
        manifest
            .media_type
            .clone()
            .unwrap_or_else(|| media_type::MANIFEST.to_string()),
        Digest::of(bytes),
        bytes.len() as u64,
    );
    d.artifact_type = Some(
        manifest
            .artifact_type
            .clone()
            .unwrap_or_else(|| manifest.config.media_type.clone()),
    );
    d.annotations = manifest.annotations.clone();
    d
}

fn matches(d: &Descriptor, artifact_type: Option<&str>) -> bool {
    artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t))
}

impl Store {
    /// The referrers of `subject` in `repository` (of `artifact_type` only, when given).
    pub async fn referrers(
        &self,
        repository: &str,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, StoreError> {
        self.traced("referrers", repository, subject, async {
            match self {
                Store::Layout(s) => {
                    let layout = s.layout(repository);
                    let (subject, wanted) = (subject.clone(), artifact_type.map(str::to_string));
                    let location = self.location(repository);
                    off_worker(s.display(), move || {
                        let mut found = Vec::new();
                        if !layout.exists() {
                            return Ok(found);
                        }
                        for entry in layout.index()?.manifests {
                            if entry.media_type != media_type::MANIFEST {
                                continue;
                            }
                            let bytes = layout.manifest(&entry.digest, &location)?;
                            let Ok(manifest) = Manifest::from_slice(&bytes) else {
                                continue;
                            };
                            if manifest
                                .subject
                                .as_ref()
                                .is_some_and(|s| s.digest == subject)
                            {
                                let d = referrer_descriptor(&manifest, &bytes);
                                if matches(&d, wanted.as_deref())
                                    && !found.iter().any(|f: &Descriptor| f.digest == d.digest)
                                {
                                    found.push(d);
                                }
                            }
                        }
                        Ok(found)
                    })
                    .await
                }
                Store::Archive(a) => Ok(a
                    .referrers(subject)
                    .into_iter()
                    .filter(|d| matches(d, artifact_type))
                    .collect()),
                Store::Registry(r) => {
                    if let Some(listed) =
                        r.referrers_api(repository, subject, artifact_type).await?
                    {
                        return Ok(listed);
                    }
                    let Some(index) = self.fallback_index(repository, subject).await? else {
                        return Ok(Vec::new());
                    };
                    Ok(index
                        .manifests
                        .into_iter()
                        .filter(|d| matches(d, artifact_type))
                        .collect())
                }
            }
        })
        .await
    }

    /// The referrers tag schema's index of `subject`, when the tag exists.
    async fn fallback_index(
        &self,
        repository: &str,
        subject: &Digest,
    ) -> Result<Option<Index>, StoreError> {
        let tag = fallback_tag(subject);
        let Some(descriptor) = self.resolve(repository, &tag).await? else {
            return Ok(None);
        };
        let bytes = self.fetch_manifest(repository, &descriptor.digest).await?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Damaged {
                location: self.reference(repository, &tag),
                digest: descriptor.digest,
                reason: format!("the referrers index is not an image index: {e}"),
            })
    }

    /// Stores `manifest` (which has a `subject`) under its digest and makes it a referrer of
    /// its subject: a registry without the referrers API gets it added to the subject's
    /// referrers tag schema index, merged with what other writers added meanwhile. The
    /// blobs it names must be stored first.
    pub async fn push_referrer(
        &self,
        repository: &str,
        manifest: &Manifest,
        bytes: Bytes,
    ) -> Result<Descriptor, StoreError> {
        let Some(subject) = manifest.subject.as_ref().map(|s| s.digest.clone()) else {
            return Err(StoreError::Location(
                crate::oci::LocationError::BadLocation {
                    location: self.location(repository),
                    reason: "a referrer needs a subject".into(),
                },
            ));
        };
        let entry = referrer_descriptor(manifest, &bytes);
        let registry = match self {
            Store::Layout(_) => {
                self.push_manifest(repository, &entry, bytes, None).await?;
                return Ok(entry);
            }
            Store::Registry(r) => r,
            Store::Archive(_) => return Err(self.read_only(repository)),
        };
        if registry.push_referrer(repository, &entry, bytes).await? {
            return Ok(entry);
        }
        let tag = fallback_tag(&subject);
        let (adding, location) = (entry.clone(), self.reference(repository, &tag));
        self.merge_tag(repository, &tag, move |current| -> Result<_, StoreError> {
            let mut index: Index = match current {
                Some(bytes) => serde_json::from_slice(bytes).map_err(|e| StoreError::Damaged {
                    location: location.clone(),
                    digest: Digest::of(bytes),
                    reason: format!("the referrers index is not an image index: {e}"),
                })?,
                None => Index::default(),
            };
            if index.manifests.iter().any(|d| d.digest == adding.digest) {
                return Ok(None);
            }
            index.manifests.push(adding.clone());
            let bytes = Bytes::from(serde_json::to_vec(&index).expect("an index serialises"));
            let descriptor =
                Descriptor::new(media_type::INDEX, Digest::of(&bytes), bytes.len() as u64);
            Ok(Some(TaggedManifest {
                descriptor,
                bytes,
                blobs: Vec::new(),
            }))
        })
        .await?;
        Ok(entry)
    }
}
