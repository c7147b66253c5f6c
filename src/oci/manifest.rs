//! OCI manifests, indexes and descriptors, and their canonical JSON form.
//!
//! packctl writes these itself rather than through a general OCI type library so that the
//! bytes, and therefore the digests, are fixed: fields in declaration order, annotations
//! sorted by key, compact JSON with no trailing newline.

use super::digest::Digest;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Media types packctl writes or recognises.
pub mod media_type {
    /// An OCI image manifest.
    pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// An OCI image index.
    pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// A Docker schema 2 manifest (read, never written).
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// The artifact type of a structured pack.
    pub const PACK: &str = "application/vnd.packctl.pack.v1";
    /// pack.json, as config blob and as layer.
    pub const CONFIG: &str = "application/vnd.packctl.pack.config.v1+json";
    /// values.yaml.
    pub const VALUES: &str = "application/vnd.packctl.pack.values.v1+yaml";
    /// logo.png.
    pub const PNG: &str = "image/png";
    /// A Helm chart archive, as Helm pushes it.
    pub const HELM_CHART: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
    /// A Kubernetes manifest.
    pub const KUBE_MANIFEST: &str = "application/vnd.packctl.pack.manifest.v1+yaml";
    /// A gzip-compressed tar layer: an Ansible role folder, or any folder `oras push` sent.
    pub const TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// The layer type of the `archive` encoding (what `oras push` 1.0 gives a file).
    pub const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
    /// Any other file of a pack.
    pub const FILE: &str = "application/vnd.packctl.pack.file.v1";
    /// The config type of the `archive` encoding (what `oras push` 1.0 writes).
    pub const UNKNOWN_CONFIG: &str = "application/vnd.unknown.config.v1+json";
}

/// Annotation keys packctl writes or reads.
pub mod annotation {
    /// The file name of a layer, or the name of an artifact.
    pub const TITLE: &str = "org.opencontainers.image.title";
    /// The pack version.
    pub const VERSION: &str = "org.opencontainers.image.version";
    /// The pack's display name.
    pub const DESCRIPTION: &str = "org.opencontainers.image.description";
    /// What changed in this push (`push -m`, or pack.json's `commit_msg`). Two manifests
    /// that differ only here hold the same pack.
    pub const MESSAGE: &str = "io.packctl.pack.message";
    /// When the artifact was made (only from `SOURCE_DATE_EPOCH`).
    pub const CREATED: &str = "org.opencontainers.image.created";
    /// The tag of a manifest in an OCI image layout's index.json.
    pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
    /// Marks the layer Harbor shows as the artifact's icon (its value is empty).
    pub const HARBOR_ICON: &str = "io.goharbor.artifact.v1alpha1.icon";
    /// Tells `oras pull` to unpack a tar+gzip layer into a folder.
    pub const ORAS_UNPACK: &str = "io.deis.oras.content.unpack";
    /// The digest of the uncompressed tar of an unpackable layer.
    pub const ORAS_DIGEST: &str = "io.deis.oras.content.digest";
    /// Set to `true` on a file layer whose file is executable.
    pub const EXECUTABLE: &str = "io.packctl.pack.executable";
}

/// The largest manifest packctl reads: a bigger one is refused before it is parsed.
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// What the content is.
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// The artifact type of a manifest it points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations, sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Fields packctl does not use (`platform`, `urls`, …), kept when an index is rewritten.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Descriptor {
    /// A descriptor with no annotations.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Self {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            artifact_type: None,
            annotations: BTreeMap::new(),
            extra: Map::new(),
        }
    }

    /// Adds an annotation.
    pub fn annotate(mut self, key: &str, value: impl Into<String>) -> Self {
        self.annotations.insert(key.to_string(), value.into());
        self
    }

    /// The `org.opencontainers.image.title` annotation.
    pub fn title(&self) -> Option<&str> {
        self.annotations.get(annotation::TITLE).map(String::as_str)
    }
}

/// An OCI image manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// `application/vnd.oci.image.manifest.v1+json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type (structured packs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, in order.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to, for referrers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations, sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    /// The canonical bytes: compact JSON, fields in declaration order, annotations sorted.
    pub fn to_canonical_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serialises")
    }

    /// Parses manifest bytes, refusing anything but an image manifest.
    pub fn from_slice(bytes: &[u8]) -> Result<Manifest, String> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("it is not JSON: {e}"))?;
        let media_type = value.get("mediaType").and_then(Value::as_str);
        match media_type {
            Some(media_type::INDEX) => {
                return Err("it is an image index, not a pack manifest".to_string());
            }
            Some(media_type::MANIFEST | media_type::DOCKER_MANIFEST) | None => {}
            Some(other) => {
                return Err(format!("its media type `{other}` is not an image manifest"));
            }
        }
        if value.get("manifests").is_some() {
            return Err("it is an image index, not a pack manifest".to_string());
        }
        let manifest: Manifest = serde_json::from_value(value)
            .map_err(|e| format!("it is not an OCI image manifest: {e}"))?;
        if manifest.schema_version != 2 {
            return Err(format!(
                "its schemaVersion is {}, not 2",
                manifest.schema_version
            ));
        }
        Ok(manifest)
    }
}

/// An OCI image index (index.json of an image layout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// `application/vnd.oci.image.index.v1+json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The manifests, tagged with `org.opencontainers.image.ref.name`.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// Annotations, sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Fields packctl does not use, kept when it rewrites the index.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            schema_version: 2,
            media_type: Some(media_type::INDEX.to_string()),
            manifests: Vec::new(),
            annotations: BTreeMap::new(),
            extra: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_is_compact_ordered_and_sorted() {
        let d = Digest::of(b"x");
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(media_type::MANIFEST.into()),
            artifact_type: Some(media_type::PACK.into()),
            config: Descriptor::new(media_type::CONFIG, d.clone(), 1),
            layers: vec![
                Descriptor::new(media_type::FILE, d.clone(), 1)
                    .annotate("z", "1")
                    .annotate("a", "2"),
            ],
            subject: None,
            annotations: BTreeMap::new(),
        };
        let text = String::from_utf8(manifest.to_canonical_json()).unwrap();
        let expected = format!(
            "{{\"schemaVersion\":2,\"mediaType\":\"{}\",\"artifactType\":\"{}\",\"config\":{{\"mediaType\":\"{}\",\"digest\":\"{d}\",\"size\":1}},\"layers\":[{{\"mediaType\":\"{}\",\"digest\":\"{d}\",\"size\":1,\"annotations\":{{\"a\":\"2\",\"z\":\"1\"}}}}]}}",
            media_type::MANIFEST,
            media_type::PACK,
            media_type::CONFIG,
            media_type::FILE
        );
        assert_eq!(text, expected);
        assert_eq!(Manifest::from_slice(text.as_bytes()).unwrap(), manifest);
    }

    #[test]
    fn refuses_what_is_not_an_image_manifest() {
        let index = serde_json::to_vec(&Index::default()).unwrap();
        assert!(
            Manifest::from_slice(&index)
                .unwrap_err()
                .contains("image index")
        );
        assert!(Manifest::from_slice(b"[]").is_err());
        assert!(Manifest::from_slice(b"{\"schemaVersion\": 1, \"config\": {}}").is_err());
    }

    #[test]
    fn index_keeps_fields_it_does_not_know() {
        let text = r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0,"platform":{"os":"linux"}}],"x-tool":"y"}"#;
        let index: Index = serde_json::from_str(text).unwrap();
        let again = serde_json::to_string(&index).unwrap();
        assert!(again.contains("\"platform\":{\"os\":\"linux\"}"));
        assert!(again.contains("\"x-tool\":\"y\""));
    }
}
