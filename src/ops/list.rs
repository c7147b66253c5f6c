//! Listing the packs of a store and their versions.

use crate::error::Error;
use crate::oci::is_valid_name;
use crate::oci::tag_version;
use crate::store::Store;
use serde::Serialize;

/// A tag of a pack repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagInfo {
    /// The tag.
    pub tag: String,
    /// The version it stands for (`_` was `+`), when it is one.
    pub version: Option<String>,
}

/// One pack and its versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackVersions {
    /// The pack name.
    pub name: String,
    /// Its repository.
    pub repository: String,
    /// Its tags, versions first from lowest to highest, then other tags by name.
    pub tags: Vec<TagInfo>,
}

/// Lists packs under the store's pack namespace, or only `name`.
pub async fn list(store: &Store, name: Option<&str>) -> Result<Vec<PackVersions>, Error> {
    let namespace = store.pack_repository("");
    let namespace = namespace.trim_end_matches('/');
    let repositories = match name {
        Some(name) => vec![store.pack_repository(name)],
        None => store.repositories(namespace).await?,
    };
    let mut packs = Vec::new();
    for repository in repositories {
        let Some(name) = repository
            .strip_prefix(namespace)
            .map(|rest| rest.trim_start_matches('/'))
            .filter(|n| is_valid_name(n))
        else {
            continue;
        };
        let mut tags: Vec<TagInfo> = store
            .tags(&repository)
            .await?
            .into_iter()
            // cosign keeps signatures and attestations beside the pack as sha256-….sig tags.
            .filter(|t| !t.starts_with("sha256-"))
            .map(|tag| TagInfo {
                version: tag_version(&tag).map(|v| v.to_string()),
                tag,
            })
            .collect();
        if tags.is_empty() {
            continue;
        }
        // Versions in version order, then the other tags by name.
        tags.sort_by_cached_key(|t| {
            let version = tag_version(&t.tag);
            (version.is_none(), version, t.tag.clone())
        });
        packs.push(PackVersions {
            name: name.to_string(),
            repository,
            tags,
        });
    }
    Ok(packs)
}
