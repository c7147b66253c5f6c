//! cosign 3's signature format: a Sigstore bundle (v0.3) holding a DSSE envelope over an
//! in-toto statement whose subject is the signed manifest's digest, with predicate type
//! `https://sigstore.dev/cosign/sign/v1`, attached as an OCI 1.1 referrer of that manifest.
//!
//! Key-based, without a transparency log: what `cosign sign --key K --tlog-upload=false`
//! writes, and what `cosign verify --key K.pub --insecure-ignore-tlog` checks.

use crate::oci::{Descriptor, Digest, Manifest, media_type};
use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::pkcs8::EncodePublicKey as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;

/// The media type of a Sigstore bundle, v0.3: the referrer's `artifactType` and its layer's.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The in-toto statement type cosign writes.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of a cosign image signature.
pub const SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The referrer annotation naming the bundle's predicate type.
pub const PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// The referrer annotation naming what the bundle holds.
pub const CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
/// The OCI empty descriptor's media type, the referrer's config.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// The empty config's bytes.
pub const EMPTY_CONFIG: &[u8] = b"{}";

/// DSSE's pre-authentication encoding: what is signed, so that the payload type is signed too.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The key hint cosign writes: base64 of the SHA-256 of the public key's DER SPKI.
pub fn key_hint(key: &VerifyingKey) -> String {
    let der = key
        .to_public_key_der()
        .expect("a P-256 key encodes as SPKI");
    b64().encode(Sha256::digest(der.as_bytes()))
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The in-toto statement cosign 3 signs for `digest`: one subject with only its digest, the
/// sign predicate, an empty predicate.
pub fn statement(digest: &Digest) -> Vec<u8> {
    let mut subject_digest = Map::new();
    subject_digest.insert(digest.algorithm().to_string(), json!(digest.hex()));
    serde_json::to_vec(&json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"digest": subject_digest}],
        "predicateType": SIGN_PREDICATE_TYPE,
        "predicate": {},
    }))
    .expect("a statement serialises")
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bundle {
    media_type: String,
    verification_material: Value,
    dsse_envelope: Envelope,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload: String,
    payload_type: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Serialize, Deserialize)]
struct EnvelopeSignature {
    sig: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    keyid: String,
}

/// A bundle signing `digest` with `key`: the DSSE envelope over [`statement`], the key's hint
/// as verification material, no transparency-log entry.
pub fn sign(digest: &Digest, key: &SigningKey) -> Vec<u8> {
    let payload = statement(digest);
    let signature: Signature = key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, &payload));
    let der: DerSignature = signature.to_der();
    let bundle = Bundle {
        media_type: BUNDLE_MEDIA_TYPE.to_string(),
        verification_material: json!({
            "publicKey": {"hint": key_hint(key.verifying_key())},
        }),
        dsse_envelope: Envelope {
            payload: b64().encode(&payload),
            payload_type: IN_TOTO_PAYLOAD_TYPE.to_string(),
            signatures: vec![EnvelopeSignature {
                sig: b64().encode(der.as_bytes()),
                keyid: String::new(),
            }],
        },
    };
    serde_json::to_vec(&bundle).expect("a bundle serialises")
}

/// What checking a bundle against a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// A signature by the key covers this manifest digest.
    Covers(String),
    /// The bundle is well-formed, but no signature in it verifies with the key.
    OtherKey,
}

/// Checks a bundle against `key`: the DSSE signature over the PAE of its payload, then (only
/// for a payload the key signed) the statement's type, predicate type and subject digest.
/// `Err` says why the bundle cannot be checked or is refused.
pub fn verify(bytes: &[u8], key: &VerifyingKey) -> Result<Verdict, String> {
    let bundle: Bundle =
        serde_json::from_slice(bytes).map_err(|e| format!("it is not a Sigstore bundle: {e}"))?;
    if !bundle
        .media_type
        .starts_with("application/vnd.dev.sigstore.bundle")
    {
        return Err(format!(
            "its mediaType is `{}`, not a Sigstore bundle's",
            bundle.media_type
        ));
    }
    let envelope = &bundle.dsse_envelope;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(format!(
            "its DSSE payload type is `{}`, not `{IN_TOTO_PAYLOAD_TYPE}`",
            envelope.payload_type
        ));
    }
    let payload = b64()
        .decode(envelope.payload.trim())
        .map_err(|e| format!("its DSSE payload is not base64: {e}"))?;
    let signed = pae(&envelope.payload_type, &payload);
    let mut verified = false;
    for s in &envelope.signatures {
        let Ok(der) = b64().decode(s.sig.trim()) else {
            continue;
        };
        let Ok(signature) = Signature::from_der(&der) else {
            continue;
        };
        if key.verify(&signed, &signature).is_ok() {
            verified = true;
            break;
        }
    }
    if !verified {
        return Ok(Verdict::OtherKey);
    }
    let statement: Value =
        serde_json::from_slice(&payload).map_err(|e| format!("its statement is not JSON: {e}"))?;
    let kind = statement.get("_type").and_then(Value::as_str).unwrap_or("");
    if !kind.starts_with("https://in-toto.io/Statement/") {
        return Err(format!("its statement type is `{kind}`, not in-toto's"));
    }
    let predicate = statement
        .get("predicateType")
        .and_then(Value::as_str)
        .unwrap_or("");
    if predicate != SIGN_PREDICATE_TYPE {
        return Err(format!(
            "its predicate type is `{predicate}`, not `{SIGN_PREDICATE_TYPE}`"
        ));
    }
    let digests: Vec<String> = statement
        .get("subject")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("digest")?.as_object())
        .flat_map(|d| {
            d.iter()
                .filter_map(|(alg, hex)| Some(format!("{alg}:{}", hex.as_str()?)))
                .collect::<Vec<_>>()
        })
        .collect();
    match digests.as_slice() {
        [one] => Ok(Verdict::Covers(one.clone())),
        [] => Err("its statement names no subject digest".into()),
        _ => Err(format!(
            "its statement names {} subject digests; a signature names one manifest",
            digests.len()
        )),
    }
}

/// The referrer manifest that attaches `bundle` to the manifest `subject`, as cosign 3
/// writes it: artifact type and layer of the bundle media type, the empty config, the
/// `dev.sigstore.bundle.*` annotations, and `created` when given.
pub fn referrer(subject: &Descriptor, bundle: &[u8], created: Option<&str>) -> (Manifest, Vec<u8>) {
    let mut annotations = BTreeMap::new();
    annotations.insert(CONTENT_ANNOTATION.to_string(), "dsse-envelope".to_string());
    annotations.insert(
        PREDICATE_TYPE_ANNOTATION.to_string(),
        SIGN_PREDICATE_TYPE.to_string(),
    );
    if let Some(created) = created {
        annotations.insert(
            crate::oci::annotation::CREATED.to_string(),
            created.to_string(),
        );
    }
    let mut subject = Descriptor::new(
        subject.media_type.clone(),
        subject.digest.clone(),
        subject.size,
    );
    subject.artifact_type = None;
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(media_type::MANIFEST.to_string()),
        artifact_type: Some(BUNDLE_MEDIA_TYPE.to_string()),
        config: Descriptor::new(
            EMPTY_MEDIA_TYPE,
            Digest::of(EMPTY_CONFIG),
            EMPTY_CONFIG.len() as u64,
        ),
        layers: vec![Descriptor::new(
            BUNDLE_MEDIA_TYPE,
            Digest::of(bundle),
            bundle.len() as u64,
        )],
        subject: Some(subject),
        annotations,
    };
    let bytes = manifest.to_canonical_json();
    (manifest, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> Digest {
        Digest::of(b"a pack manifest")
    }

    #[test]
    fn pae_is_dsse_v1() {
        assert_eq!(pae("t", b"hello"), b"DSSEv1 1 t 5 hello");
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn a_bundle_verifies_with_its_key_and_names_the_digest() {
        let key = crate::sign::keys::generate();
        let bundle = sign(&digest(), &key);
        assert_eq!(
            verify(&bundle, key.verifying_key()),
            Ok(Verdict::Covers(digest().to_string()))
        );
        let other = crate::sign::keys::generate();
        assert_eq!(
            verify(&bundle, other.verifying_key()),
            Ok(Verdict::OtherKey)
        );
    }

    #[test]
    fn a_changed_statement_or_payload_type_does_not_verify() {
        let key = crate::sign::keys::generate();
        let mut bundle: Value = serde_json::from_slice(&sign(&digest(), &key)).unwrap();
        let forged = statement(&Digest::of(b"another manifest"));
        bundle["dsseEnvelope"]["payload"] = json!(b64().encode(forged));
        let bytes = serde_json::to_vec(&bundle).unwrap();
        assert_eq!(verify(&bytes, key.verifying_key()), Ok(Verdict::OtherKey));

        let mut bundle: Value = serde_json::from_slice(&sign(&digest(), &key)).unwrap();
        bundle["dsseEnvelope"]["payloadType"] = json!("text/plain");
        let bytes = serde_json::to_vec(&bundle).unwrap();
        assert!(
            verify(&bytes, key.verifying_key())
                .unwrap_err()
                .contains("payload type")
        );
    }

    #[test]
    fn a_signed_statement_with_another_predicate_is_refused() {
        let key = crate::sign::keys::generate();
        let payload = serde_json::to_vec(&json!({
            "_type": STATEMENT_TYPE,
            "subject": [{"digest": {"sha256": digest().hex()}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {},
        }))
        .unwrap();
        let signature: Signature = key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, &payload));
        let bundle = json!({
            "mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": {},
            "dsseEnvelope": {
                "payload": b64().encode(&payload),
                "payloadType": IN_TOTO_PAYLOAD_TYPE,
                "signatures": [{"sig": b64().encode(signature.to_der().as_bytes())}],
            },
        });
        let err = verify(&serde_json::to_vec(&bundle).unwrap(), key.verifying_key()).unwrap_err();
        assert!(err.contains("predicate type"), "{err}");
    }

    #[test]
    fn the_referrer_points_at_its_subject() {
        let key = crate::sign::keys::generate();
        let bundle = sign(&digest(), &key);
        let subject = Descriptor::new(media_type::MANIFEST, digest(), 1234);
        let (manifest, bytes) = referrer(&subject, &bundle, None);
        assert_eq!(manifest.subject.as_ref().unwrap().digest, digest());
        assert_eq!(manifest.layers[0].digest, Digest::of(&bundle));
        assert_eq!(manifest.config.digest, Digest::of(b"{}"));
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed["artifactType"], BUNDLE_MEDIA_TYPE);
        assert_eq!(
            parsed["annotations"][PREDICATE_TYPE_ANNOTATION],
            SIGN_PREDICATE_TYPE
        );
    }
}
