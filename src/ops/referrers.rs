//! Referrers of a pack: the tree `pack inspect` and `pack referrers` show (as `cosign tree`
//! and `oras discover` do), and `pack attach`, which attaches files to a pack version as an
//! OCI 1.1 referrer (as `oras attach` does): an SBOM, a scan report.

use super::{Located, resolve};
use crate::content::{Source, StoreError};
use crate::error::Error;
use crate::oci::digest::digest_file;
use crate::oci::{Descriptor, Digest, Manifest, annotation, media_type};
use crate::progress::Progress;
use crate::sign::bundle::{EMPTY_CONFIG, EMPTY_MEDIA_TYPE};
use crate::store::Store;
use bytes::Bytes;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// How deep the tree of referrers is followed.
pub const MAX_REFERRER_DEPTH: usize = 8;

/// A referrer, with its own referrers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Referrer {
    /// Its manifest digest.
    pub digest: Digest,
    /// Its artifact type.
    pub artifact_type: Option<String>,
    /// `org.opencontainers.image.created`, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Its manifest size.
    pub size: u64,
    /// What refers to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub referrers: Vec<Referrer>,
}

/// The referrers of `subject` in `repository`, and theirs, [`MAX_REFERRER_DEPTH`] deep, of
/// `artifact_type` only at the first level when given.
pub async fn referrer_tree(
    store: &Store,
    repository: &str,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Result<Vec<Referrer>, Error> {
    let mut seen = vec![subject.clone()];
    level(store, repository, subject, artifact_type, 0, &mut seen).await
}

async fn level(
    store: &Store,
    repository: &str,
    subject: &Digest,
    artifact_type: Option<&str>,
    depth: usize,
    seen: &mut Vec<Digest>,
) -> Result<Vec<Referrer>, Error> {
    let mut out = Vec::new();
    if depth >= MAX_REFERRER_DEPTH {
        return Ok(out);
    }
    for d in store.referrers(repository, subject, artifact_type).await? {
        // A cycle (a hostile store) is followed once.
        if seen.contains(&d.digest) {
            continue;
        }
        seen.push(d.digest.clone());
        let below = Box::pin(level(store, repository, &d.digest, None, depth + 1, seen)).await?;
        out.push(Referrer {
            created: d.annotations.get(annotation::CREATED).cloned(),
            digest: d.digest,
            artifact_type: d.artifact_type,
            size: d.size,
            referrers: below,
        });
    }
    Ok(out)
}

/// What `pack attach` made.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attached {
    /// What it is attached to.
    pub subject: String,
    /// The subject's manifest digest.
    pub subject_digest: Digest,
    /// The referrer's manifest digest.
    pub digest: Digest,
    /// Its artifact type.
    pub artifact_type: String,
    /// The files, by title.
    pub files: Vec<String>,
}

/// The reason `pack attach` refuses its files.
fn refused(reason: impl Into<String>) -> Error {
    Error::Attach {
        reason: reason.into(),
    }
}

/// Attaches `files` to what `located` names as one referrer of `artifact_type`: each file a
/// layer (media type `application/octet-stream`, titled with its file name), the empty
/// config, `created` = `created` when given.
pub async fn attach(
    store: &Store,
    located: &Located,
    artifact_type: &str,
    files: &[PathBuf],
    created: Option<String>,
) -> Result<Attached, Error> {
    if files.is_empty() {
        return Err(refused("name at least one file to attach"));
    }
    if artifact_type.is_empty() || !artifact_type.contains('/') {
        return Err(refused(format!(
            "`{artifact_type}` is not a media type (such as application/spdx+json)"
        )));
    }
    let mut layers = Vec::new();
    let mut titles: Vec<String> = Vec::new();
    for path in files {
        let title = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| refused(format!("`{}` names no file", path.display())))?
            .to_string();
        if titles.contains(&title) {
            return Err(refused(format!("two files are named `{title}`")));
        }
        let meta = std::fs::metadata(path).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        if !meta.is_file() {
            return Err(refused(format!(
                "`{}` is not a regular file",
                path.display()
            )));
        }
        let file = path.clone();
        let (digest, size) = crate::content::off_worker(&path.display().to_string(), move || {
            digest_file(&file).map_err(|source| StoreError::Io { path: file, source })
        })
        .await?;
        layers.push(
            Descriptor::new("application/octet-stream", digest, size)
                .annotate(annotation::TITLE, &title),
        );
        titles.push(title);
    }
    // The files are read before the store is asked anything.
    let resolved = resolve(store, located).await?;
    let repository = resolved.repository.as_str();
    let mut manifest = Manifest {
        schema_version: 2,
        media_type: Some(media_type::MANIFEST.to_string()),
        artifact_type: Some(artifact_type.to_string()),
        config: Descriptor::new(
            EMPTY_MEDIA_TYPE,
            Digest::of(EMPTY_CONFIG),
            EMPTY_CONFIG.len() as u64,
        ),
        layers,
        subject: Some(Descriptor::new(
            resolved.descriptor.media_type.clone(),
            resolved.descriptor.digest.clone(),
            resolved.descriptor.size,
        )),
        annotations: Default::default(),
    };
    if let Some(created) = created {
        manifest
            .annotations
            .insert(annotation::CREATED.into(), created);
    }
    let quiet: Progress = Arc::new(|_| {});
    store
        .push_blob(
            repository,
            &manifest.config,
            &Source::Bytes(Bytes::from_static(EMPTY_CONFIG)),
            &quiet,
        )
        .await?;
    for (layer, path) in manifest.layers.iter().zip(files) {
        store
            .push_blob(repository, layer, &Source::File(path.as_path()), &quiet)
            .await?;
    }
    let bytes = Bytes::from(manifest.to_canonical_json());
    let entry = store.push_referrer(repository, &manifest, bytes).await?;
    Ok(Attached {
        subject: resolved.reference,
        subject_digest: resolved.descriptor.digest,
        digest: entry.digest,
        artifact_type: artifact_type.to_string(),
        files: titles,
    })
}
