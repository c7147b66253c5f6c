//! The fixed vocabularies of pack.json: the file name, add-on types, cloud types, and the
//! kinds of dependencies and resource constraints.

/// The file name of the metadata.
pub const PACK_JSON: &str = "pack.json";
/// Add-on types the seed documents, then those real packs use.
pub const ADDON_TYPES: [&str; 11] = [
    "logging",
    "monitoring",
    "load balancer",
    "authentication",
    "ingress",
    "security",
    "system app",
    "app services",
    "registry",
    "servicemesh",
    "ai",
];

/// Cloud types Palette's pack schema allows, lowercase (packctl compares them without case).
pub const CLOUD_TYPES: [&str; 17] = [
    "all",
    "aws",
    "azure",
    "gcp",
    "vsphere",
    "openstack",
    "baremetal",
    "maas",
    "aks",
    "eks",
    "tencent",
    "tke",
    "edge",
    "libvirt",
    "edge-native",
    "coxedge",
    "custom",
];

/// The seed's name for vSphere, accepted with a warning.
pub const SEED_VSPHERE: &str = "vmware";

/// The kinds of constraint dependency Palette knows.
pub const DEPENDENCY_TYPES: [&str; 4] = ["required", "optional", "notSupported", "upgrade"];

/// The resources a constraint can ask for.
pub const RESOURCE_TYPES: [&str; 3] = ["cpu", "memory", "diskSize"];

/// Where the components of a resource constraint are scheduled.
pub const SCHEDULE_TYPES: [&str; 3] = ["all", "master", "worker"];

/// `a`, `b`, `c`: a vocabulary as messages quote it.
pub(crate) fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
