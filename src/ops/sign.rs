//! Signing and verifying packs in a store the way `cosign sign --key` / `cosign verify --key`
//! do, without the cosign binary, a transparency log or a network beyond the store: the
//! signature manifests are read and written here, the keys and the format are [`crate::sign`]'s.

use crate::content::{Source, StoreError, TaggedManifest};
use crate::error::Error;
use crate::oci::digest::copy_verified;
use crate::oci::{Descriptor, Digest};
use crate::ops::{Located, parse_manifest, resolve};
use crate::progress::Progress;
use crate::sign::{SignError, SkippedSignature, bundle, cosign};
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
    /// The digest of the bundle referrer, when one was written or found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<Digest>,
}

/// Which of cosign's formats to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignWith {
    /// cosign 2's `.sig` tag only (what Harbor shows as signed).
    Legacy,
    /// cosign 3's bundle referrer only.
    Bundle,
    /// Both, so that cosign 2, cosign 3 and Harbor all see a signature.
    #[default]
    Both,
}

/// Signs what `located` names in both of cosign's formats (see [`sign_with`]).
pub async fn sign(store: &Store, located: &Located, key: &SigningKey) -> Result<Signed, Error> {
    sign_with(store, located, key, SignWith::Both).await
}

/// Signs what `located` names: a layer added to its `.sig` manifest (never dropping one),
/// and/or a Sigstore bundle attached as a referrer (once per key: a key's bundle for a
/// digest is always the same bytes).
pub async fn sign_with(
    store: &Store,
    located: &Located,
    key: &SigningKey,
    with: SignWith,
) -> Result<Signed, Error> {
    let resolved = resolve(store, located).await?;
    let digest = resolved.descriptor.digest.clone();
    let repository = resolved.repository.as_str();
    let mut signed = Signed {
        reference: resolved.reference.clone(),
        digest: digest.clone(),
        signature: String::new(),
        signature_digest: digest.clone(),
        added: false,
        bundle: None,
    };
    if with != SignWith::Bundle {
        signed = sign_legacy(store, &resolved, key).await?;
    }
    if with != SignWith::Legacy {
        let (referrer, added) =
            sign_bundle(store, &resolved.repository, &resolved.descriptor, key).await?;
        if with == SignWith::Bundle {
            signed.signature = store.location(repository);
            signed.signature_digest = referrer.clone();
        }
        signed.added |= added;
        signed.bundle = Some(referrer);
    }
    Ok(signed)
}

/// Attaches a bundle by `key` to `subject`, unless the same bundle is attached already;
/// returns the referrer's digest and whether it was added.
async fn sign_bundle(
    store: &Store,
    repository: &str,
    subject: &Descriptor,
    key: &SigningKey,
) -> Result<(Digest, bool), Error> {
    let bundle_bytes = bundle::sign(&subject.digest, key);
    let (manifest, bytes) = bundle::referrer(subject, &bundle_bytes, None);
    let referrer = Digest::of(&bytes);
    let existing = store
        .referrers(repository, &subject.digest, Some(bundle::BUNDLE_MEDIA_TYPE))
        .await?;
    if existing.iter().any(|d| d.digest == referrer) {
        return Ok((referrer, false));
    }
    let quiet: Progress = Arc::new(|_| {});
    // The blobs go first, so the referrer never names a missing one.
    for (descriptor, blob) in [
        (&manifest.config, Bytes::from_static(bundle::EMPTY_CONFIG)),
        (&manifest.layers[0], Bytes::from(bundle_bytes)),
    ] {
        store
            .push_blob(repository, descriptor, &Source::Bytes(blob), &quiet)
            .await?;
    }
    store
        .push_referrer(repository, &manifest, Bytes::from(bytes))
        .await?;
    Ok((referrer, true))
}

/// Adds a layer signed by `key` to the `.sig` manifest of what `resolved` names.
async fn sign_legacy(
    store: &Store,
    resolved: &super::Resolved,
    key: &SigningKey,
) -> Result<Signed, Error> {
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
        reference: resolved.reference.clone(),
        digest,
        signature,
        signature_digest: merged.digest,
        added: added.load(Ordering::Relaxed),
        bundle: None,
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
    /// The formats in which one verified.
    pub formats: Vec<SignatureFormat>,
    /// Signatures that could not be checked or were refused, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedSignature>,
    /// Well-formed signatures by other keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<SkippedSignature>,
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
        formats: check.formats,
        skipped: check.skipped,
        rejected: check.rejected,
    })
}

/// What the signatures of a manifest say about one key, when at least one verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    /// How many signatures verify with the key.
    pub verified: usize,
    /// The formats in which one verified: `legacy` (the `.sig` tag), `bundle` (cosign 3).
    pub formats: Vec<SignatureFormat>,
    /// Signatures that could not be checked, or were refused, and why.
    pub skipped: Vec<SkippedSignature>,
    /// Well-formed signatures by other keys.
    pub rejected: Vec<SkippedSignature>,
}

/// cosign's two signature formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SignatureFormat {
    /// cosign 2's: simple-signing layers under the `sha256-<hex>.sig` tag.
    Legacy,
    /// cosign 3's: a Sigstore bundle attached as an OCI 1.1 referrer.
    Bundle,
}

impl std::fmt::Display for SignatureFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureFormat::Legacy => "legacy",
            SignatureFormat::Bundle => "bundle",
        })
    }
}

/// What one signature says.
enum Verdict {
    /// The key signed it; the digest its payload names.
    Covers(String),
    /// The key did not sign it.
    OtherKey,
}

/// One signature to check: its format, the blob that holds it and, for the legacy format,
/// the layer's annotations.
struct Candidate {
    format: SignatureFormat,
    layer: Descriptor,
}

/// The signatures of `digest`: the layers of its `.sig` manifest, and the bundles of its
/// bundle referrers. `None` for a `.sig` tag that does not exist.
async fn candidates(
    store: &Store,
    repository: &str,
    digest: &Digest,
) -> Result<Vec<Candidate>, Error> {
    let mut found = Vec::new();
    let tag = cosign::signature_tag(digest);
    if let Some(signature_manifest) = store.resolve(repository, &tag).await? {
        let bytes = store
            .fetch_manifest(repository, &signature_manifest.digest)
            .await?;
        let manifest = parse_manifest(&store.reference(repository, &tag), &bytes)?;
        found.extend(
            manifest
                .layers
                .into_iter()
                .filter(|l| l.media_type == cosign::SIMPLESIGNING)
                .map(|layer| Candidate {
                    format: SignatureFormat::Legacy,
                    layer,
                }),
        );
    }
    let referrers = store
        .referrers(repository, digest, Some(bundle::BUNDLE_MEDIA_TYPE))
        .await?;
    for referrer in referrers {
        let reference = store.reference(repository, referrer.digest.as_str());
        let bytes = match store.fetch_manifest(repository, &referrer.digest).await {
            Ok(bytes) => bytes,
            // A referrers index may name a manifest deleted since.
            Err(StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let manifest = parse_manifest(&reference, &bytes)?;
        if manifest.subject.as_ref().map(|s| &s.digest) != Some(digest) {
            continue;
        }
        found.extend(
            manifest
                .layers
                .into_iter()
                .filter(|l| l.media_type == bundle::BUNDLE_MEDIA_TYPE)
                .map(|layer| Candidate {
                    format: SignatureFormat::Bundle,
                    layer,
                }),
        );
    }
    Ok(found)
}

/// Checks the signatures of `digest` in `repository` against `key`, in both of cosign's
/// formats: it verifies when a legacy signature or a cosign 3 bundle by the key covers it.
///
/// A signature that cannot be checked (malformed, missing, over the cap) is skipped, so one
/// bad signature does not hide a valid one; it fails only when none verifies, and then names
/// each skipped signature and why.
pub async fn verify_digest(
    store: &Store,
    repository: &str,
    digest: &Digest,
    reference: &str,
    key: &VerifyingKey,
    key_name: &str,
) -> Result<SignatureCheck, Error> {
    let tag = cosign::signature_tag(digest);
    let found = candidates(store, repository, digest).await?;
    if found.is_empty() {
        return Err(SignError::NoSignatures {
            reference: reference.to_string(),
            digest: digest.clone(),
            tag: store.reference(repository, &tag),
        }
        .into());
    }
    let mut verified = 0;
    let mut formats = Vec::new();
    let mut skipped = Vec::new();
    let mut rejected = Vec::new();
    let mut other_digest = None;
    for candidate in &found {
        let verdict = match candidate.format {
            SignatureFormat::Legacy => {
                check_layer(store, repository, &candidate.layer, key).await?
            }
            SignatureFormat::Bundle => {
                check_bundle(store, repository, &candidate.layer, key).await?
            }
        };
        let format = candidate.format;
        match verdict {
            Ok(Verdict::Covers(covered)) if covered == digest.as_str() => {
                verified += 1;
                if !formats.contains(&format) {
                    formats.push(format);
                }
            }
            Ok(Verdict::Covers(covered)) => {
                skipped.push(SkippedSignature {
                    layer: candidate.layer.digest.clone(),
                    reason: format!("{format}: signed by this key, but for {covered}"),
                });
                other_digest = Some(covered);
            }
            Ok(Verdict::OtherKey) => rejected.push(SkippedSignature {
                layer: candidate.layer.digest.clone(),
                reason: format!("{format}: made with another key"),
            }),
            Err(reason) => skipped.push(SkippedSignature {
                layer: candidate.layer.digest.clone(),
                reason: format!("{format}: {reason}"),
            }),
        }
    }
    if verified > 0 {
        return Ok(SignatureCheck {
            verified,
            formats,
            skipped,
            rejected,
        });
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
            count: found.len(),
            skipped,
        },
    }
    .into())
}

/// Reads what a signature signs (a legacy payload, a bundle), at most [`MAX_PAYLOAD`]
/// bytes: `Ok(Err(reason))` when it is over the cap, missing or damaged, so that the other
/// signatures are checked all the same; only a failure to reach the store is an error.
async fn read_signed(
    store: &Store,
    repository: &str,
    layer: &Descriptor,
    what: &str,
) -> Result<Result<Vec<u8>, String>, Error> {
    if layer.size > MAX_PAYLOAD {
        return Ok(Err(format!(
            "its {what} of {} bytes is over the 1 MiB cap",
            layer.size
        )));
    }
    match read_blob(store, repository, layer).await {
        Ok(bytes) => Ok(Ok(bytes)),
        Err(Error::Store(e @ (StoreError::NotFound { .. } | StoreError::Damaged { .. }))) => {
            Ok(Err(e.to_string()))
        }
        Err(e) => Err(e),
    }
}

/// Checks one bundle: `Err(reason)` when it cannot be checked or is refused.
async fn check_bundle(
    store: &Store,
    repository: &str,
    layer: &Descriptor,
    key: &VerifyingKey,
) -> Result<Result<Verdict, String>, Error> {
    let bytes = match read_signed(store, repository, layer, "bundle").await? {
        Ok(bytes) => bytes,
        Err(reason) => return Ok(Err(reason)),
    };
    Ok(match bundle::verify(&bytes, key) {
        Ok(bundle::Verdict::Covers(d)) => Ok(Verdict::Covers(d)),
        Ok(_) => Ok(Verdict::OtherKey),
        Err(reason) => Err(reason),
    })
}

/// Checks one signature layer: `Err(reason)` when it cannot be checked. Only a failure to
/// reach the store is an error of the whole verification.
async fn check_layer(
    store: &Store,
    repository: &str,
    layer: &Descriptor,
    key: &VerifyingKey,
) -> Result<Result<Verdict, String>, Error> {
    let payload = match read_signed(store, repository, layer, "payload").await? {
        Ok(payload) => payload,
        Err(reason) => return Ok(Err(reason)),
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
