//! Inspecting a pack in a store: its manifest, its layers and, for structured packs, pack.json.

use super::{parse_manifest, resolve};
use crate::artifact::unpack::{self, Encoding};
use crate::error::Error;
use crate::oci::digest::copy_verified;
use crate::oci::{Digest, Manifest, media_type};
use crate::store::Store;
use serde::Serialize;

/// What `pack inspect` shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    /// `LOCATION/REPOSITORY:TAG` or `…@DIGEST`.
    pub reference: String,
    /// The manifest digest.
    pub digest: Digest,
    /// The manifest size.
    pub size: u64,
    /// The encoding, when it is one packctl can unpack.
    pub encoding: Option<Encoding>,
    /// The manifest.
    pub manifest: Manifest,
    /// pack.json, for structured packs.
    pub pack: Option<serde_json::Value>,
    /// The push message (`push -m`, or pack.json's `commit_msg`), when one was recorded.
    pub message: Option<String>,
    /// What refers to it (cosign 3 bundles, SBOMs, attestations), and what refers to those.
    pub referrers: Vec<super::Referrer>,
    /// Every tag that names it (signature tags left out).
    pub tags: Vec<String>,
    /// Its cosign signature tags (`sha256-….sig`, `.att`, `.sbom`).
    pub signatures: Vec<String>,
    /// The blobs it names, each counted once (pack.json is config and layer), in bytes.
    pub blobs_size: u64,
    /// The manifest and its blobs: what a copy of it takes, in bytes.
    pub total_size: u64,
}

/// Reads the manifest (and pack.json, when it is the config) of a pack.
pub async fn inspect(store: &Store, located: &super::Located) -> Result<Inspection, Error> {
    let resolved = resolve(store, located).await?;
    let bytes = store
        .fetch_manifest(&resolved.repository, &resolved.descriptor.digest)
        .await?;
    let manifest = parse_manifest(&resolved.reference, &bytes)?;
    let encoding = unpack::plan(&manifest).ok().map(|p| p.encoding);
    let mut pack_json = None;
    let config = &manifest.config;
    if config.media_type == media_type::CONFIG && config.size <= unpack::MAX_CONFIG_SIZE {
        let reader = store.open_blob(&resolved.repository, config).await?;
        let mut buf = Vec::with_capacity(config.size as usize);
        let read = copy_verified(reader, &mut buf, &config.digest, config.size).await;
        if read.is_ok() {
            pack_json = serde_json::from_slice(&buf).ok();
        }
    }
    let message = manifest
        .annotations
        .get(crate::oci::annotation::MESSAGE)
        .cloned();
    let referrers = super::referrer_tree(
        store,
        &resolved.repository,
        &resolved.descriptor.digest,
        None,
    )
    .await?;
    // Tags and signatures, as `pack delete` would find them (the referrers are above).
    let digest = &resolved.descriptor.digest;
    let tags =
        super::manage::tags_naming(store, &resolved.repository, digest, resolved.tag.as_deref())
            .await?;
    let signatures =
        super::manage::present_signature_tags(store, &resolved.repository, digest).await?;
    let mut seen = std::collections::BTreeSet::new();
    let blobs_size: u64 = std::iter::once(&manifest.config)
        .chain(&manifest.layers)
        .filter(|d| seen.insert(d.digest.clone()))
        .map(|d| d.size)
        .fold(0, u64::saturating_add);
    Ok(Inspection {
        referrers,
        message,
        tags,
        signatures,
        blobs_size,
        total_size: blobs_size.saturating_add(bytes.len() as u64),
        reference: resolved.reference,
        digest: resolved.descriptor.digest,
        size: bytes.len() as u64,
        encoding,
        manifest,
        pack: pack_json,
    })
}
