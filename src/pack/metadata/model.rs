//! The typed content of pack.json: a pack's layer, its metadata, and its constraints.

use crate::oci::version::Version;
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

use super::constants::quoted_list;

/// The layer of a cluster profile a pack belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layer {
    /// A kernel pack.
    Kernel,
    /// An operating-system pack.
    Os,
    /// A Kubernetes distribution.
    K8s,
    /// A container network interface.
    Cni,
    /// A container storage interface.
    Csi,
    /// An add-on (needs an `addonType`).
    Addon,
}

impl Layer {
    /// Every layer, in profile order.
    pub const ALL: [Layer; 6] = [
        Layer::Kernel,
        Layer::Os,
        Layer::K8s,
        Layer::Cni,
        Layer::Csi,
        Layer::Addon,
    ];

    /// The value written in pack.json.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Kernel => "kernel",
            Layer::Os => "os",
            Layer::K8s => "k8s",
            Layer::Cni => "cni",
            Layer::Csi => "csi",
            Layer::Addon => "addon",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Layer {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Layer::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "expected one of {}",
                    quoted_list(&Layer::ALL.map(Layer::as_str))
                )
            })
    }
}

/// The typed content of pack.json.
///
/// Fields packctl does not know are kept, in their order, in [`PackMetadata::extra`]; the
/// artifact carries the pack.json bytes verbatim in any case.
#[derive(Debug, Clone, PartialEq)]
pub struct PackMetadata {
    /// The pack name, usable as an OCI repository path component.
    pub name: String,
    /// The name shown in Palette.
    pub display_name: String,
    /// The profile layer.
    pub layer: Layer,
    /// The add-on category, for `addon` packs.
    pub addon_type: Option<String>,
    /// The pack version, as written.
    pub version: Version,
    /// Supported cloud types, as written.
    pub cloud_types: Vec<String>,
    /// An optional grouping, such as `LTS`.
    pub group: Option<String>,
    /// Key/value pairs for installation (OS packs carry `imageId`, `osName`, …), in order.
    pub annotations: Vec<(String, String)>,
    /// End-of-life, as written: a date `YYYY-MM-DD` where it is well-formed; `None` when
    /// absent, empty or blank.
    pub eol: Option<String>,
    /// Kubernetes manifests, relative paths.
    pub kube_manifests: Vec<String>,
    /// Helm chart archives, relative paths.
    pub charts: Vec<String>,
    /// Ansible role folders, relative paths.
    pub ansible_roles: Vec<String>,
    /// Dependencies on other packs and resource minimums.
    pub constraints: Option<Constraints>,
    /// `commit_msg`: what Palette's pack pipeline passes to `spectro pack push -m`; a push
    /// without `-m` records it as the push message.
    pub commit_msg: Option<String>,
    /// Fields packctl does not know, verbatim.
    pub extra: Map<String, Value>,
}

impl PackMetadata {
    /// The OCI tag for this version: the version with `+` replaced by `_`.
    pub fn tag(&self) -> String {
        self.version.tag()
    }
}

/// `constraints` in pack.json.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Constraints {
    /// Packs this one depends on, or cannot live with.
    pub dependencies: Vec<Dependency>,
    /// Minimum resources.
    pub resources: Vec<Resource>,
}

/// One entry of `constraints.dependencies`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    /// The other pack's name.
    pub pack_name: String,
    /// The other pack's layer.
    pub layer: Option<Layer>,
    /// The lowest version that satisfies it, as written.
    pub min_version: Option<String>,
    /// The highest version that satisfies it, as written.
    pub max_version: Option<String>,
    /// `required`, `optional`, `notSupported` or `upgrade`.
    pub kind: Option<String>,
}

/// One entry of `constraints.resources`.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// `cpu`, `memory` or `diskSize`.
    pub kind: String,
    /// The minimum amount.
    pub min_limit: Option<f64>,
    /// The parts of the pack that ask for it, where pack.json names them.
    pub components: Vec<ResourceComponent>,
}

/// One entry of `constraints.resources[].components`: where a part of the pack runs, and
/// the values that hold its request and its replica count.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceComponent {
    /// `all`, `master` or `worker`.
    pub schedule_type: String,
    /// The value path of the resource request, such as `charts.app.resources.requests.cpu`.
    pub resource_request_param_ref: Option<String>,
    /// The value path of the replica count.
    pub replica_count_param_ref: Option<String>,
}
