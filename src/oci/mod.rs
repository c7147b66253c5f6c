//! The OCI vocabulary, at the bottom of the library: digests, descriptors, manifests and
//! indexes, media types and annotation keys, and every naming rule (pack names, tags,
//! repository paths, registry hosts, versions and their tags, pack references, full
//! references, and where `-r` points). Nothing here depends on another module of the crate.

pub mod digest;
mod full_ref;
mod location;
pub mod manifest;
mod name;
mod reference;
pub mod version;

pub use digest::{Digest, DigestError};
pub use full_ref::{FullRef, check_repository, is_host};
pub use location::{Location, LocationError};
pub use manifest::{Descriptor, Index, MAX_MANIFEST_SIZE, Manifest, annotation, media_type};
pub use name::{
    PACK_NAMESPACE, check_host, is_valid_name, is_valid_tag, normalize_host, pack_repository,
    suggest_name,
};
pub use reference::{PackRef, ReferenceError, Selector, tag_version, version_selector};
pub use version::{Strictness, Version, VersionError};
