//! cosign's key-based signature format: a `sha256-<hex>.sig` tag beside the signed manifest,
//! whose manifest has one `simplesigning` layer per signature.

use crate::oci::{Descriptor, Digest, Manifest, media_type};
use serde::Serialize;
use std::collections::BTreeMap;

/// The media type of a signature payload layer.
pub const SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The annotation that holds the base64 DER ECDSA signature of the payload.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// `critical.type` of a container image signature payload.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";
/// The config media type of a signature manifest (an OCI image config).
pub const IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// The tag that holds the signatures of `digest`: `sha256-<hex>.sig`.
pub fn signature_tag(digest: &Digest) -> String {
    format!("{}-{}.sig", digest.algorithm(), digest.hex())
}

#[derive(Serialize)]
struct Payload<'a> {
    critical: Critical<'a>,
    optional: Option<()>,
}

#[derive(Serialize)]
struct Critical<'a> {
    identity: Identity<'a>,
    image: Image<'a>,
    #[serde(rename = "type")]
    kind: &'a str,
}

#[derive(Serialize)]
struct Identity<'a> {
    #[serde(rename = "docker-reference")]
    docker_reference: &'a str,
}

#[derive(Serialize)]
struct Image<'a> {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: &'a str,
}

/// The payload cosign signs for `digest` in repository `docker_reference`, byte for byte as
/// Go cosign writes it (`"optional":null`, the repository without tag or digest).
pub fn payload(docker_reference: &str, digest: &Digest) -> Vec<u8> {
    serde_json::to_vec(&Payload {
        critical: Critical {
            identity: Identity { docker_reference },
            image: Image {
                docker_manifest_digest: digest.as_str(),
            },
            kind: SIGNATURE_TYPE,
        },
        optional: None,
    })
    .expect("a payload serialises")
}

/// What a payload says it covers, or why it is not a cosign image signature.
pub fn payload_digest(bytes: &[u8]) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("it is not JSON: {e}"))?;
    let critical = value
        .get("critical")
        .ok_or("it has no `critical` section")?;
    let kind = critical.get("type").and_then(|t| t.as_str()).unwrap_or("");
    if kind != SIGNATURE_TYPE {
        return Err(format!("its type is `{kind}`, not `{SIGNATURE_TYPE}`"));
    }
    critical
        .pointer("/image/docker-manifest-digest")
        .and_then(|d| d.as_str())
        .map(str::to_string)
        .ok_or_else(|| "it names no `critical.image.docker-manifest-digest`".to_string())
}

/// The config blob of a signature manifest: an empty image config whose root file system
/// lists the layers, as Go cosign's images have.
pub fn config(layers: &[Descriptor]) -> Vec<u8> {
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
    let history: Vec<serde_json::Value> = layers
        .iter()
        .map(|_| serde_json::json!({"created": "0001-01-01T00:00:00Z"}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": history,
        "os": "",
        "rootfs": {"diff_ids": diff_ids, "type": "layers"},
    }))
    .expect("a config serialises")
}

/// The signature manifest over `layers`, with the config that goes with it.
pub fn manifest(layers: Vec<Descriptor>) -> (Manifest, Vec<u8>) {
    let config_bytes = config(&layers);
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(media_type::MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::new(
            IMAGE_CONFIG,
            Digest::of(&config_bytes),
            config_bytes.len() as u64,
        ),
        layers,
        subject: None,
        annotations: BTreeMap::new(),
    };
    (manifest, config_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_what_go_cosign_writes() {
        let d = Digest::of(b"x");
        let text = String::from_utf8(payload("registry.example.com/team/pack", &d)).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"registry.example.com/team/pack"}},"image":{{"docker-manifest-digest":"{d}"}},"type":"cosign container image signature"}},"optional":null}}"#
            )
        );
        assert_eq!(payload_digest(text.as_bytes()).unwrap(), d.as_str());
        assert!(payload_digest(br#"{"critical":{"type":"something else"}}"#).is_err());
        assert_eq!(signature_tag(&d), format!("sha256-{}.sig", d.hex()));
    }
}
