//! pack.json: the typed metadata ([`model`]), the vocabularies its fields take
//! ([`constants`]), and the field checks that produce it ([`rules`]).

mod constants;
mod model;
mod rules;

pub(crate) use constants::quoted_list;
pub use constants::{
    ADDON_TYPES, CLOUD_TYPES, DEPENDENCY_TYPES, PACK_JSON, RESOURCE_TYPES, SCHEDULE_TYPES,
    SEED_VSPHERE,
};
pub use model::{Constraints, Dependency, Layer, PackMetadata, Resource, ResourceComponent};
pub use rules::is_valid_date;
pub(crate) use rules::{Listed, MetadataRead, read};
