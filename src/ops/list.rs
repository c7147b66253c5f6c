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
    /// The manifest's size and every blob it names, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// When the artifact was made (`org.opencontainers.image.created`), when it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
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
        size: None,
        created: None,
    };
    let Some(descriptor) = store.resolve(repository, tag).await? else {
        return Ok(info);
    };
    if descriptor.size <= MAX_MANIFEST_SIZE {
        let bytes = store.fetch_manifest(repository, &descriptor.digest).await?;
        if let Ok(m) = serde_json::from_slice::<Manifest>(&bytes) {
            info.message = m.annotations.get(annotation::MESSAGE).cloned();
            info.created = m.annotations.get(annotation::CREATED).cloned();
            info.size = Some(
                std::iter::once(&m.config)
                    .chain(&m.layers)
                    .map(|d| d.size)
                    .fold(bytes.len() as u64, u64::saturating_add),
            );
        }
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
    /// Its `sha256-…` tags: cosign signatures and referrers tag schema indexes.
    #[serde(skip)]
    pub digest_tags: Vec<String>,
}

/// One version of a pack: a manifest and every tag on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRow {
    /// The version its highest version tag stands for; none when only other tags name it.
    pub version: Option<String>,
    /// The manifest.
    pub digest: Digest,
    /// The manifest and its blobs, in bytes.
    pub size: Option<u64>,
    /// When it was made, when the artifact says.
    pub created: Option<String>,
    /// Its push message.
    pub message: Option<String>,
    /// Whether a cosign signature (a `.sig` tag or a Sigstore bundle referrer) names it.
    pub signed: bool,
    /// Every tag on it, the version's own first.
    pub tags: Vec<String>,
}

/// The versions of a pack, one per manifest: a tag that `tag add` made is a tag of its
/// version, not a version of its own.
pub async fn version_rows(store: &Store, pack: &PackVersions) -> Result<Vec<VersionRow>, Error> {
    let mut rows: Vec<VersionRow> = Vec::new();
    for tag in &pack.tags {
        let Some(digest) = &tag.digest else { continue };
        if let Some(row) = rows.iter_mut().find(|r| &r.digest == digest) {
            row.tags.push(tag.tag.clone());
            // Versions come lowest first: the last one seen is the highest.
            if tag.version.is_some() {
                row.version = tag.version.clone();
            }
            continue;
        }
        rows.push(VersionRow {
            version: tag.version.clone(),
            digest: digest.clone(),
            size: tag.size,
            created: tag.created.clone(),
            message: tag.message.clone(),
            signed: false,
            tags: vec![tag.tag.clone()],
        });
    }
    let repository = pack.repository.as_str();
    let signed: Vec<bool> = futures_util::stream::iter(&rows)
        .map(|row| is_signed(store, repository, &row.digest, Some(&pack.digest_tags)))
        .buffered(READ_AT_ONCE)
        .try_collect()
        .await?;
    for (row, signed) in rows.iter_mut().zip(signed) {
        row.signed = signed;
    }
    Ok(rows)
}

/// Whether a cosign signature names `digest`: its `.sig` tag (cosign 2), or a Sigstore
/// bundle among its referrers (cosign 3); an SBOM or another referrer is no signature.
/// `digest_tags`, the repository's `sha256-…` tags when the caller listed them already,
/// saves the tag lookup.
pub async fn is_signed(
    store: &Store,
    repository: &str,
    digest: &Digest,
    digest_tags: Option<&[String]>,
) -> Result<bool, Error> {
    let legacy = format!("{}-{}.sig", digest.algorithm(), digest.hex());
    let has_legacy = match digest_tags {
        Some(tags) => tags.contains(&legacy),
        None => store.resolve(repository, &legacy).await?.is_some(),
    };
    if has_legacy {
        return Ok(true);
    }
    let bundles = store
        .referrers(
            repository,
            digest,
            Some(crate::sign::bundle::BUNDLE_MEDIA_TYPE),
        )
        .await?;
    Ok(!bundles.is_empty())
}

/// Whether `name` matches a pattern of `*` (any run of characters) and `?` (one).
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Lists packs under the store's pack namespace, or only `name`.
pub async fn list(store: &Store, name: Option<&str>) -> Result<Vec<PackVersions>, Error> {
    // A pattern (`hello*`) lists every repository and keeps the names it matches.
    let pattern = name.filter(|n| n.contains(['*', '?']));
    let name = if pattern.is_some() { None } else { name };
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
        if let Some(pattern) = pattern
            && !name_matches(pattern, name)
        {
            continue;
        }
        // cosign keeps signatures and attestations beside the pack as sha256-….sig tags.
        let (digest_tags, names): (Vec<String>, Vec<String>) = store
            .tags(&repository)
            .await?
            .into_iter()
            .partition(|t| t.starts_with("sha256-"));
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
            digest_tags,
        });
    }
    Ok(packs)
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn name_patterns() {
        for (pattern, name, want) in [
            ("hello*", "hello-chart", true),
            ("*chart", "hello-chart", true),
            ("h?llo*", "hello", true),
            ("*", "x", true),
            ("hello", "hello-chart", false),
            ("*x*", "hello", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
        ] {
            assert_eq!(name_matches(pattern, name), want, "{pattern} {name}");
        }
    }
}
