//! Listing the packs of a store and their versions.

use crate::error::Error;
use crate::oci::is_valid_name;
use crate::oci::tag_version;
use crate::oci::{Digest, MAX_MANIFEST_SIZE, Manifest, annotation};
use crate::store::Store;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;

/// A tag of a pack repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagInfo {
    /// The tag.
    pub tag: String,
    /// The version it stands for (`_` was `+`), when it is one.
    pub version: Option<String>,
    /// The manifest it points at.
    pub digest: Option<Digest>,
    /// The push message recorded in that manifest (`push -m`, or pack.json's `commit_msg`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// How many tags are read at once.
const READ_AT_ONCE: usize = 16;

/// The manifest digest and push message of `repository:tag`; a tag that vanished meanwhile,
/// or a manifest that is not JSON, gives neither.
async fn describe(store: &Store, repository: &str, tag: &str) -> Result<TagInfo, Error> {
    let mut info = TagInfo {
        tag: tag.to_string(),
        version: tag_version(tag).map(|v| v.to_string()),
        digest: None,
        message: None,
    };
    let Some(descriptor) = store.resolve(repository, tag).await? else {
        return Ok(info);
    };
    if descriptor.size <= MAX_MANIFEST_SIZE {
        let bytes = store.fetch_manifest(repository, &descriptor.digest).await?;
        info.message = serde_json::from_slice::<Manifest>(&bytes)
            .ok()
            .and_then(|m| m.annotations.get(annotation::MESSAGE).cloned());
    }
    info.digest = Some(descriptor.digest);
    Ok(info)
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
    if let Store::Layout(layout) = store
        && !layout.root().is_dir()
    {
        return Err(crate::content::StoreError::NoStore {
            location: layout.display().to_string(),
        }
        .into());
    }
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
        let names: Vec<String> = store
            .tags(&repository)
            .await?
            .into_iter()
            // cosign keeps signatures and attestations beside the pack as sha256-….sig tags.
            .filter(|t| !t.starts_with("sha256-"))
            .collect();
        let repository_ref = repository.as_str();
        let mut tags: Vec<TagInfo> = futures_util::stream::iter(&names)
            .map(|tag| describe(store, repository_ref, tag))
            .buffered(READ_AT_ONCE)
            .try_collect()
            .await?;
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
