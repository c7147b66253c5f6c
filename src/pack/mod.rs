//! The pack: a folder with pack.json, values.yaml, logo.png and the charts, manifests and
//! Ansible roles that pack.json names; loading it into typed data and validating it.

pub mod chart;
mod content;
mod finding;
mod ignore;
mod init;
mod json_index;
mod load;
mod metadata;
pub mod png;
mod presets;
mod schema;
mod values;
mod walk;

pub use content::{
    DEFAULT_REGISTRY, ImageRef, ListedChart, ListedImage, MAX_CONTENT_NODES, content_images,
    content_listing,
};
pub use finding::{Finding, Position, Severity};
pub use ignore::{DEFAULT_IGNORES, IGNORE_FILE, IgnoreRule, Ignored, MAX_IGNORE_FILE_BYTES};
pub use init::{InitOptions, init};
pub use load::{MAX_PACK_JSON_BYTES, validate, validate_with};
pub use metadata::{
    ADDON_TYPES, CLOUD_TYPES, Constraints, DEPENDENCY_TYPES, Dependency, Layer, PACK_JSON,
    PackMetadata, RESOURCE_TYPES, Resource, ResourceComponent, SCHEDULE_TYPES, SEED_VSPHERE,
    is_valid_date,
};
pub use presets::PRESETS_YAML;
pub use schema::{MAX_SCHEMA_REGEX_BYTES, SCHEMA_YAML};
pub use values::{MAX_LOCATED_YAML_NODES, MAX_VALUE_PATH_SEGMENTS};

use std::path::{Path, PathBuf};

/// The values file every pack has.
pub const VALUES_YAML: &str = "values.yaml";
/// The logo every pack has.
pub const LOGO_PNG: &str = "logo.png";
/// The readme Palette's pack repository asks every pack for.
pub const README_MD: &str = "README.md";

/// The most bytes of a YAML file (values.yaml or a manifest) validation reads; a larger one is
/// refused from its size, before any of it is read.
pub const MAX_YAML_BYTES: u64 = 16 << 20;
/// The most YAML documents (separated by `---`) in one file.
pub const MAX_YAML_DOCUMENTS: usize = 100_000;
/// The most YAML nodes (scalars, sequences and mappings) in one file, all documents together.
pub const MAX_YAML_NODES: usize = 10_000_000;
/// How deeply YAML sequences and mappings may nest.
pub const MAX_YAML_DEPTH: usize = 256;
/// The most bytes a chart archive may hold once decompressed; validation reads every chart to
/// its end, so this bounds the time a small, highly compressed archive can cost.
pub const MAX_CHART_UNPACKED_BYTES: u64 = 512 << 20;

/// Caps on what validation reads from a pack; the defaults are the `MAX_*` constants.
///
/// Every file a pack holds is untrusted, most of all one just pulled from a registry, so each
/// read is bounded; a file over a cap is reported as too large, never as broken.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputLimits {
    /// The most bytes of a YAML file ([`MAX_YAML_BYTES`]).
    pub max_yaml_bytes: u64,
    /// The most YAML documents in one file ([`MAX_YAML_DOCUMENTS`]).
    pub max_yaml_documents: usize,
    /// The most YAML nodes in one file ([`MAX_YAML_NODES`]).
    pub max_yaml_nodes: usize,
    /// How deeply YAML collections may nest ([`MAX_YAML_DEPTH`]).
    pub max_yaml_depth: usize,
    /// The most bytes of a chart archive once decompressed ([`MAX_CHART_UNPACKED_BYTES`]).
    pub max_chart_unpacked_bytes: u64,
}

impl Default for InputLimits {
    fn default() -> Self {
        InputLimits {
            max_yaml_bytes: MAX_YAML_BYTES,
            max_yaml_documents: MAX_YAML_DOCUMENTS,
            max_yaml_nodes: MAX_YAML_NODES,
            max_yaml_depth: MAX_YAML_DEPTH,
            max_chart_unpacked_bytes: MAX_CHART_UNPACKED_BYTES,
        }
    }
}

/// A file of a pack, ready to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackFile {
    /// Path relative to the pack folder, `/`-separated.
    pub path: String,
    /// Where its bytes are on disk (a link's target, for a linked file).
    pub source: PathBuf,
    /// Size in bytes when the pack was loaded.
    pub size: u64,
    /// Whether its owner may execute it.
    pub executable: bool,
}

/// One part of a pack, as the artifact carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// pack.json.
    Metadata(PackFile),
    /// values.yaml.
    Values(PackFile),
    /// logo.png.
    Logo(PackFile),
    /// A Helm chart archive named in `charts`.
    Chart(PackFile),
    /// A Kubernetes manifest named in `kubeManifests`.
    KubeManifest(PackFile),
    /// An Ansible role folder named in `ansibleRoles`.
    AnsibleRole {
        /// The folder, relative to the pack.
        path: String,
        /// Folders inside it (pack-relative), so empty ones survive a round trip.
        dirs: Vec<String>,
        /// Files inside it, by pack-relative path.
        files: Vec<PackFile>,
    },
    /// Any other file, carried as-is.
    Other(PackFile),
}

impl Part {
    /// The file of every part but a role folder.
    pub fn file(&self) -> Option<&PackFile> {
        match self {
            Part::Metadata(f)
            | Part::Values(f)
            | Part::Logo(f)
            | Part::Chart(f)
            | Part::KubeManifest(f)
            | Part::Other(f) => Some(f),
            Part::AnsibleRole { .. } => None,
        }
    }

    /// The pack-relative path of the file or folder.
    pub fn path(&self) -> &str {
        match (self, self.file()) {
            (Part::AnsibleRole { path, .. }, _) => path,
            (_, Some(f)) => &f.path,
            (_, None) => unreachable!("every part but a role folder has a file"),
        }
    }
}

/// A pack that passed validation.
#[derive(Debug, Clone)]
pub struct Pack {
    root: PathBuf,
    metadata: PackMetadata,
    metadata_bytes: Vec<u8>,
    parts: Vec<Part>,
    ignored: Vec<Ignored>,
}

impl Pack {
    /// Loads and validates the pack in `dir`.
    ///
    /// On success it returns the pack and its warnings (notes are left out: they are for
    /// [`validate`]); on any error finding it returns [`PackError::Invalid`] with every finding.
    pub fn open(dir: &Path) -> Result<(Pack, Vec<Finding>), PackError> {
        let validation = validate(dir);
        match validation.pack {
            Some(pack) => {
                let mut warnings = validation.findings;
                warnings.retain(|f| f.severity != Severity::Note);
                Ok((pack, warnings))
            }
            None => Err(PackError::Invalid {
                dir: dir.to_path_buf(),
                findings: validation.findings,
            }),
        }
    }

    /// The pack folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The typed pack.json.
    pub fn metadata(&self) -> &PackMetadata {
        &self.metadata
    }

    /// The pack.json bytes, verbatim.
    pub fn metadata_bytes(&self) -> &[u8] {
        &self.metadata_bytes
    }

    /// The parts in artifact order: pack.json, values.yaml, logo.png, then charts, manifests and
    /// roles in the order pack.json lists them, then every other file by path.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// What the ignore rules left out of the pack folder, by path.
    pub fn ignored(&self) -> &[Ignored] {
        &self.ignored
    }
}

/// The result of validating a pack folder.
#[derive(Debug)]
pub struct Validation {
    /// Every finding, errors and warnings, in the order they were found.
    pub findings: Vec<Finding>,
    /// The loaded pack, when no finding is an error.
    pub pack: Option<Pack>,
    /// What the ignore rules left out of the pack folder, by path.
    pub ignored: Vec<Ignored>,
}

impl Validation {
    /// How many findings are errors.
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.is_error()).count()
    }

    /// How many findings are warnings.
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    /// How many findings are notes.
    pub fn notes(&self) -> usize {
        self.count(Severity::Note)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Why a pack could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// Validation found errors.
    #[error("the pack in `{}` is invalid ({} error{})", dir.display(), count_errors(findings), plural(count_errors(findings)))]
    Invalid {
        /// The pack folder.
        dir: PathBuf,
        /// Every finding, errors and warnings.
        findings: Vec<Finding>,
    },
    /// `pack init` would overwrite files.
    #[error("`{}` already holds {}", dir.display(), files.join(", "))]
    WouldOverwrite {
        /// The target folder.
        dir: PathBuf,
        /// The files that exist.
        files: Vec<String>,
    },
    /// A Helm chart that `pack init --from-chart` cannot read or use.
    #[error("cannot make a pack from the chart `{chart}`: {reason}")]
    Chart {
        /// The chart: its file, folder, reference or name.
        chart: String,
        /// Why.
        reason: String,
    },
    /// Writing the new pack failed.
    #[error("cannot write `{}`", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn count_errors(findings: &[Finding]) -> usize {
    findings.iter().filter(|f| f.is_error()).count()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
