//! Signing and verifying packs in a store the way `cosign sign --key` / `cosign verify --key`
//! do, without the cosign binary, a transparency log or a network beyond the store: the
//! signature manifests are read and written here, the keys and the format are [`crate::sign`]'s.

use crate::content::{Source, StoreError, TaggedManifest};
use crate::error::Error;
use crate::oci::digest::copy_verified;
use crate::oci::{Descriptor, Digest};
use crate::ops::{Located, parse_manifest, resolve};
use crate::progress::Progress;
use crate::sign::{SignError, SkippedSignature, cosign};
use crate::store::Store;
use base64::Engine as _;
use bytes::Bytes;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Payloads larger than this are not read.
const MAX_PAYLOAD: u64 = 1 << 20;

/// The `docker-reference` of a repository: `HOST/REPOSITORY`, or the layout folder.
fn docker_reference(store: &Store, repository: &str) -> String {
    store
        .location(repository)
        .trim_start_matches("oci:")
        .to_string()
}

/// The result of signing.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Signed {
    /// What was signed.
    pub reference: String,
    /// Its manifest digest.
    pub digest: Digest,
    /// The signature manifest's reference.
    pub signature: String,
    /// The signature manifest's digest.
    pub signature_digest: Digest,
    /// False when this key had signed it already.
    pub added: bool,
}

/// Signs what `located` names, adding a layer to its `.sig` manifest (never dropping one).
pub async fn sign(store: &Store, located: &Located, key: &SigningKey) -> Result<Signed, Error> {
    let resolved = resolve(store, located).await?;
    let digest = resolved.descriptor.digest.clone();
    let repository = resolved.repository.as_str();
    let payload = cosign::payload(&docker_reference(store, repository), &digest);
    let signature: Signature = key.sign(&payload);
    let der: DerSignature = signature.to_der();
    let encoded = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
    let layer = Descriptor::new(
        cosign::SIMPLESIGNING,
        Digest::of(&payload),
        payload.len() as u64,
    )
    .annotate(cosign::SIGNATURE_ANNOTATION, encoded);

    let tag = cosign::signature_tag(&digest);
    let quiet: Progress = Arc::new(|_| {});
    // The payload goes first, so no signature manifest ever names a missing blob.
    store
        .push_blob(
            repository,
            &layer,
            &Source::Bytes(Bytes::from(payload)),
            &quiet,
        )
        .await?;
    let signature = store.reference(repository, &tag);
    let added = Arc::new(AtomicBool::new(false));
    // Read, add and write as one step (on a registry: until the layer stays), so that
    // signers at the same moment all keep their signatures.
    let (adding, reference) = (added.clone(), signature.clone());
    let merged = store
        .merge_tag(repository, &tag, move |current| -> Result<_, Error> {
            let mut layers = match current {
                Some(bytes) => parse_manifest(&reference, bytes)?.layers,
                None => Vec::new(),
            };
            if layers
                .iter()
                .any(|l| l.digest == layer.digest && l.annotations == layer.annotations)
            {
                return Ok(None);
            }
            adding.store(true, Ordering::Relaxed);
            layers.push(layer.clone());
            Ok(Some(signature_manifest(layers)))
        })
        .await?;
    let Some(merged) = merged else {
        return Err(StoreError::NotFound {
            reference: signature,
        }
        .into());
    };
    Ok(Signed {
        reference: resolved.reference,
        digest,
        signature,
        signature_digest: merged.digest,
        added: added.load(Ordering::Relaxed),
    })
}

/// The signature manifest over `layers`, with the config it needs.
fn signature_manifest(layers: Vec<Descriptor>) -> TaggedManifest {
    let (manifest, config) = cosign::manifest(layers);
    let bytes = Bytes::from(manifest.to_canonical_json());
    let descriptor = Descriptor::new(
        crate::oci::media_type::MANIFEST,
        Digest::of(&bytes),
        bytes.len() as u64,
    );
    TaggedManifest {
        descriptor,
        bytes,
        blobs: vec![(manifest.config, Bytes::from(config))],
    }
}

/// Points the `.sig` tag of `signed` at a signature manifest over `layers`, whose payload
/// blobs are in the repository already, whatever the tag held; uploads the config it needs.
pub async fn put_signatures(
    store: &Store,
    repository: &str,
    signed: &Digest,
    layers: Vec<Descriptor>,
) -> Result<Descriptor, Error> {
    let manifest = signature_manifest(layers);
    let quiet: Progress = Arc::new(|_| {});
    for (descriptor, blob) in manifest.blobs {
        store
            .push_blob(repository, &descriptor, &Source::Bytes(blob), &quiet)
            .await?;
    }
    store
        .push_manifest(
            repository,
            &manifest.descriptor,
            manifest.bytes,
            Some(&cosign::signature_tag(signed)),
        )
        .await?;
    Ok(manifest.descriptor)
}

/// The result of verifying.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    /// What was verified.
    pub reference: String,
    /// Its manifest digest.
    pub digest: Digest,
    /// How many signatures verify with the key.
    pub signatures: usize,
    /// Signature layers that could not be checked, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedSignature>,
}

/// Verifies that a signature by `key` covers exactly the manifest `located` resolves to.
pub async fn verify(
    store: &Store,
    located: &Located,
    key: &VerifyingKey,
    key_name: &str,
) -> Result<Verified, Error> {
    let resolved = resolve(store, located).await?;
    let check = verify_digest(
        store,
        &resolved.repository,
        &resolved.descriptor.digest,
        &resolved.reference,
        key,
        key_name,
    )
    .await?;
    Ok(Verified {
        reference: resolved.reference,
        digest: resolved.descriptor.digest,
        signatures: check.verified,
        skipped: check.skipped,
    })
}

/// What the signatures of a manifest say about one key, when at least one verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    /// How many signatures verify with the key.
    pub verified: usize,
    /// Signature layers that could not be checked, and why.
    pub skipped: Vec<SkippedSignature>,
}

/// What one signature layer says.
enum Verdict {
    /// The key signed it; the digest its payload names.
    Covers(String),
    /// The key did not sign it.
    OtherKey,
}

/// Checks the signatures of `digest` in `repository` against `key`.
///
/// A layer that cannot be checked (malformed, missing, over the cap) is skipped, so one bad
/// layer does not hide a valid signature; it fails only when none verifies, and then names
/// each skipped layer and why.
pub async fn verify_digest(
    store: &Store,
    repository: &str,
    digest: &Digest,
    reference: &str,
    key: &VerifyingKey,
    key_name: &str,
) -> Result<SignatureCheck, Error> {
    let tag = cosign::signature_tag(digest);
    let Some(signature_manifest) = store.resolve(repository, &tag).await? else {
        return Err(SignError::NoSignatures {
            reference: reference.to_string(),
            digest: digest.clone(),
            tag: store.reference(repository, &tag),
        }
        .into());
    };
    let bytes = store
        .fetch_manifest(repository, &signature_manifest.digest)
        .await?;
    let manifest = parse_manifest(&store.reference(repository, &tag), &bytes)?;
    let mut checked = 0;
    let mut verified = 0;
    let mut skipped = Vec::new();
    let mut other_digest = None;
    for layer in manifest
        .layers
        .iter()
        .filter(|l| l.media_type == cosign::SIMPLESIGNING)
    {
        checked += 1;
        match check_layer(store, repository, layer, key).await? {
            Ok(Verdict::Covers(covered)) if covered == digest.as_str() => verified += 1,
            Ok(Verdict::Covers(covered)) => other_digest = Some(covered),
            Ok(Verdict::OtherKey) => {}
            Err(reason) => skipped.push(SkippedSignature {
                layer: layer.digest.clone(),
                reason,
            }),
        }
    }
    if checked == 0 {
        return Err(SignError::NoSignatures {
            reference: reference.to_string(),
            digest: digest.clone(),
            tag: store.reference(repository, &tag),
        }
        .into());
    }
    if verified > 0 {
        return Ok(SignatureCheck { verified, skipped });
    }
    Err(match other_digest {
        Some(signed) => SignError::DigestMismatch {
            reference: reference.to_string(),
            digest: digest.clone(),
            signed,
        },
        None => SignError::NotVerified {
            reference: reference.to_string(),
            key: key_name.to_string(),
            count: checked,
            skipped,
        },
    }
    .into())
}

/// Checks one signature layer: `Err(reason)` when it cannot be checked. Only a failure to
/// reach the store is an error of the whole verification.
async fn check_layer(
    store: &Store,
    repository: &str,
    layer: &Descriptor,
    key: &VerifyingKey,
) -> Result<Result<Verdict, String>, Error> {
    if layer.size > MAX_PAYLOAD {
        return Ok(Err(format!(
            "its payload of {} bytes is over the 1 MiB cap",
            layer.size
        )));
    }
    let payload = match read_blob(store, repository, layer).await {
        Ok(payload) => payload,
        Err(Error::Store(e @ (StoreError::NotFound { .. } | StoreError::Damaged { .. }))) => {
            return Ok(Err(e.to_string()));
        }
        Err(e) => return Err(e),
    };
    let Some(encoded) = layer.annotations.get(cosign::SIGNATURE_ANNOTATION) else {
        return Ok(Err(format!(
            "it has no {} annotation",
            cosign::SIGNATURE_ANNOTATION
        )));
    };
    let der = match base64::engine::general_purpose::STANDARD.decode(encoded.trim()) {
        Ok(der) => der,
        Err(e) => return Ok(Err(format!("its signature is not base64: {e}"))),
    };
    let Ok(signature) = Signature::from_der(&der) else {
        return Ok(Err("its signature is not a DER ECDSA signature".into()));
    };
    if key.verify(&payload, &signature).is_err() {
        return Ok(Ok(Verdict::OtherKey));
    }
    // Only a payload the key really signed says what the signature covers.
    Ok(cosign::payload_digest(&payload)
        .map(Verdict::Covers)
        .map_err(|reason| format!("its payload is refused: {reason}")))
}

async fn read_blob(store: &Store, repository: &str, layer: &Descriptor) -> Result<Vec<u8>, Error> {
    let reader = store.open_blob(repository, layer).await?;
    let mut buf = Vec::with_capacity(layer.size as usize);
    copy_verified(reader, &mut buf, &layer.digest, layer.size)
        .await
        .map_err(|e| StoreError::Damaged {
            location: store.location(repository),
            digest: layer.digest.clone(),
            reason: e.to_string(),
        })?;
    Ok(buf)
}
