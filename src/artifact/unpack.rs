//! Turning a pulled artifact back into a folder, treating everything in it as hostile.
//!
//! Titles and tar entries must stay inside the target folder, links and special files are
//! refused, and the bytes and entries unpacked are capped.

use super::ArtifactError;
use crate::oci::digest::{Digest, Hasher};
use crate::oci::manifest::{Descriptor, Manifest, annotation, media_type};
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// How an artifact is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Encoding {
    /// packctl's own: pack.json as config, every file a layer.
    Structured,
    /// One tar.gz of the pack folder (Palette's OCI pack format).
    Archive,
    /// Any artifact whose layers carry titles, as `oras push` makes.
    Files,
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Encoding::Structured => "structured",
            Encoding::Archive => "archive",
            Encoding::Files => "files",
        })
    }
}

/// One thing to do with a layer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Step {
    /// Write the blob as the file at `path`.
    File {
        /// The layer.
        layer: Descriptor,
        /// Where, relative to the target folder.
        path: String,
        /// Whether to make it executable.
        executable: bool,
    },
    /// Unpack a tar (gzip-compressed or not) whose entries all lie under `path`.
    Folder {
        /// The layer.
        layer: Descriptor,
        /// The folder, relative to the target.
        path: String,
    },
    /// Unpack the `archive` encoding's tar.gz, dropping its single top folder.
    Archive {
        /// The layer.
        layer: Descriptor,
    },
}

impl Step {
    /// The layer the step reads.
    pub fn layer(&self) -> &Descriptor {
        match self {
            Step::File { layer, .. } | Step::Folder { layer, .. } | Step::Archive { layer } => {
                layer
            }
        }
    }
}

/// What to do with each layer of a manifest.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The layout that was recognised.
    pub encoding: Encoding,
    /// One step per layer that has a title.
    pub steps: Vec<Step>,
    /// Layers without a title, which are not written.
    pub skipped: Vec<Descriptor>,
}

/// Recognises the encoding of `manifest` and checks every title before anything is written.
pub fn plan(manifest: &Manifest) -> Result<Plan, ArtifactError> {
    if manifest.layers.is_empty() {
        return Err(ArtifactError::Manifest {
            reason: "it has no layers, so there is nothing to unpack".into(),
        });
    }
    let structured = manifest.artifact_type.as_deref() == Some(media_type::PACK)
        || manifest.config.media_type == media_type::CONFIG;
    if !structured && is_archive(manifest) {
        let layer = manifest.layers[0].clone();
        return Ok(Plan {
            encoding: Encoding::Archive,
            steps: vec![Step::Archive { layer }],
            skipped: Vec::new(),
        });
    }
    let mut steps = Vec::new();
    let mut skipped = Vec::new();
    let mut claimed = Claimed::default();
    for layer in &manifest.layers {
        let Some(title) = layer.title() else {
            skipped.push(layer.clone());
            continue;
        };
        let path = check_title(title).map_err(|reason| ArtifactError::Title {
            title: title.to_string(),
            reason,
        })?;
        let folder = layer.media_type == media_type::TAR_GZIP
            && layer
                .annotations
                .get(annotation::ORAS_UNPACK)
                .map(String::as_str)
                == Some("true");
        if let Some(other) = claimed.clash(&path) {
            return Err(ArtifactError::Conflict {
                first: other,
                second: path,
            });
        }
        claimed.insert(path.clone());
        steps.push(if folder {
            Step::Folder {
                layer: layer.clone(),
                path,
            }
        } else {
            let executable = layer
                .annotations
                .get(annotation::EXECUTABLE)
                .map(String::as_str)
                == Some("true");
            Step::File {
                layer: layer.clone(),
                path,
                executable,
            }
        });
    }
    if steps.is_empty() {
        return Err(ArtifactError::Manifest {
            reason: "none of its layers has an `org.opencontainers.image.title`, so no file can be named".into(),
        });
    }
    Ok(Plan {
        encoding: if structured {
            Encoding::Structured
        } else {
            Encoding::Files
        },
        steps,
        skipped,
    })
}

/// The paths layers have claimed so far, sorted so that a clash is found in O(log n).
#[derive(Default)]
struct Claimed(BTreeSet<String>);

impl Claimed {
    /// A claimed path that `path` would overwrite: the same path, a folder above it, or a
    /// path inside it.
    fn clash(&self, path: &str) -> Option<String> {
        if self.0.contains(path) {
            return Some(path.to_string());
        }
        let mut end = path.len();
        while let Some(slash) = path[..end].rfind('/') {
            if self.0.contains(&path[..slash]) {
                return Some(path[..slash].to_string());
            }
            end = slash;
        }
        // Paths inside `path` sort right after `path/`, before anything that does not
        // start with it.
        let inside = format!("{path}/");
        self.0
            .range(inside.clone()..)
            .next()
            .filter(|other| other.starts_with(&inside))
            .cloned()
    }

    fn insert(&mut self, path: String) {
        self.0.insert(path);
    }
}

fn is_archive(manifest: &Manifest) -> bool {
    let [layer] = manifest.layers.as_slice() else {
        return false;
    };
    manifest.config.media_type == media_type::UNKNOWN_CONFIG
        && matches!(
            layer.media_type.as_str(),
            media_type::TAR | media_type::TAR_GZIP
        )
        && !layer.annotations.contains_key(annotation::ORAS_UNPACK)
        && layer
            .title()
            .is_some_and(|t| t.ends_with(".tar.gz") || t.ends_with(".tgz"))
}

/// Checks a title or tar entry name: relative, `/`-separated, no `.`, `..` or empty parts.
pub fn check_title(title: &str) -> Result<String, String> {
    if title.is_empty() {
        return Err("it is empty".into());
    }
    if title.starts_with('/') {
        return Err("it is an absolute path".into());
    }
    if title.contains('\\') {
        return Err("it contains `\\`".into());
    }
    if title.contains('\0') || title.chars().any(char::is_control) {
        return Err("it contains control characters".into());
    }
    let parts: Vec<&str> = title.trim_end_matches('/').split('/').collect();
    if parts.contains(&"..") {
        return Err("it leaves the target folder (`..`)".into());
    }
    if parts.iter().any(|p| p.is_empty() || *p == ".") {
        return Err("it has an empty or `.` path component".into());
    }
    Ok(parts.join("/"))
}

/// The most layers a pull accepts. Packs have tens; a manifest under the 4 MiB cap can name
/// about 25,000, each a file to write.
pub const MAX_LAYERS: usize = 10_000;

/// The most bytes of layers a pull may write, every title counted: a blob named by three
/// titles counts three times, as it is written three times.
pub const MAX_PULL_BYTES: u64 = 8 << 30;

/// The most bytes of files unpacked from tar layers in one pull.
pub const MAX_UNPACKED_BYTES: u64 = 8 << 30;

/// The most tar entries unpacked in one pull.
pub const MAX_TAR_ENTRIES: u64 = 100_000;

/// The most bytes after the end of a tar layer's archive (zero padding, usually a few KiB).
pub const MAX_TAR_TRAILER: u64 = 1 << 20;

/// The largest config blob packctl reads: pack.json, or `{}`.
pub const MAX_CONFIG_SIZE: u64 = crate::oci::MAX_MANIFEST_SIZE;

/// Caps on what a pull may fetch and write, checked before work starts where the manifest
/// tells enough, and counted while tar layers unpack.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Limits {
    /// Most bytes of files unpacked from tar layers ([`MAX_UNPACKED_BYTES`]).
    pub max_bytes: u64,
    /// Most tar entries ([`MAX_TAR_ENTRIES`]).
    pub max_entries: u64,
    /// Most layers in the manifest ([`MAX_LAYERS`]).
    pub max_layers: usize,
    /// Most bytes of layers written, repeats included ([`MAX_PULL_BYTES`]).
    pub max_pull_bytes: u64,
    bytes: u64,
    entries: u64,
    /// Set to stop unpacking between two tar entries (a dropped pull).
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Limits {
    /// Caps on unpacked bytes and tar entries, with the default layer and pull caps.
    pub fn new(max_bytes: u64, max_entries: u64) -> Self {
        Limits {
            max_bytes,
            max_entries,
            max_layers: MAX_LAYERS,
            max_pull_bytes: MAX_PULL_BYTES,
            bytes: 0,
            entries: 0,
            stop: None,
        }
    }

    /// Unpacking stops, between two tar entries, once `stop` is set.
    pub fn with_stop(mut self, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Another cap on the layer count.
    pub fn with_max_layers(mut self, max_layers: usize) -> Self {
        self.max_layers = max_layers;
        self
    }

    /// Another cap on the bytes of layers written.
    pub fn with_max_pull_bytes(mut self, max_pull_bytes: u64) -> Self {
        self.max_pull_bytes = max_pull_bytes;
        self
    }

    /// The bytes of files unpacked from tar layers so far.
    pub fn unpacked_bytes(&self) -> u64 {
        self.bytes
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(MAX_UNPACKED_BYTES, MAX_TAR_ENTRIES)
    }
}

impl Plan {
    /// The bytes of layers the plan writes: each step's layer, counted once per step.
    pub fn bytes_written(&self) -> u64 {
        self.steps
            .iter()
            .fold(0u64, |sum, step| sum.saturating_add(step.layer().size))
    }
}

/// Checks the config blob's descriptor against what the encoding requires, before it is
/// fetched.
///
/// - structured: the config is pack.json, the same blob as the `pack.json` layer;
/// - archive: the config is `{}` (what `oras push` writes);
/// - files (any other titled artifact, as `oras push` makes): no constraint here.
pub fn check_config(manifest: &Manifest, plan: &Plan) -> Result<(), String> {
    let config = &manifest.config;
    match plan.encoding {
        Encoding::Structured => {
            if config.media_type != media_type::CONFIG {
                return Err(format!(
                    "a structured pack's config is pack.json, of media type `{}`, not `{}`",
                    media_type::CONFIG,
                    config.media_type
                ));
            }
            let pack_json = plan.steps.iter().find_map(|step| match step {
                Step::File { layer, path, .. } if path == crate::pack::PACK_JSON => Some(layer),
                _ => None,
            });
            match pack_json {
                None => Err("the manifest has no `pack.json` layer for it to match".into()),
                Some(layer) if layer.digest != config.digest || layer.size != config.size => {
                    Err(format!(
                        "it is not the pack.json layer ({}, {} bytes)",
                        layer.digest, layer.size
                    ))
                }
                Some(_) => Ok(()),
            }
        }
        Encoding::Archive => {
            if config.digest != Digest::of(b"{}") || config.size != 2 {
                return Err("the archive encoding's config is `{}`, as `oras push` writes".into());
            }
            Ok(())
        }
        Encoding::Files => Ok(()),
    }
}

/// Checks the config blob's bytes (already verified against its digest).
///
/// pack.json must be a JSON object; any config whose media type says JSON must be JSON.
pub fn check_config_bytes(manifest: &Manifest, plan: &Plan, bytes: &[u8]) -> Result<(), String> {
    let media = manifest.config.media_type.as_str();
    let json = plan.encoding == Encoding::Structured
        || media == "application/json"
        || media.ends_with("+json");
    if !json {
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) if plan.encoding == Encoding::Structured => {
            Err("it is JSON, but not the object pack.json holds".into())
        }
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "its media type `{media}` says JSON, but it is not JSON: {e}"
        )),
    }
}

/// Writes a verified blob file to `path` under `root` (moving it into place).
pub fn place_file(
    blob: &Path,
    root: &Path,
    path: &str,
    executable: bool,
) -> Result<(), ArtifactError> {
    let target = root.join(path);
    if let Some(parent) = target.parent() {
        create_dirs(root, parent)?;
    }
    if target.symlink_metadata().is_ok() {
        return Err(ArtifactError::Conflict {
            first: path.to_string(),
            second: path.to_string(),
        });
    }
    fs::rename(blob, &target).map_err(|source| ArtifactError::Io {
        path: target.clone(),
        source,
    })?;
    let mode = if executable { 0o755 } else { 0o644 };
    fs::set_permissions(&target, fs::Permissions::from_mode(mode)).map_err(|source| {
        ArtifactError::Io {
            path: target,
            source,
        }
    })
}

fn create_dirs(root: &Path, dir: &Path) -> Result<(), ArtifactError> {
    // The target is a new folder packctl made, so nothing in it is a link; a file where a
    // folder should be is a conflict between layers.
    fs::create_dir_all(dir).map_err(|source| ArtifactError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    debug_assert!(dir.starts_with(root));
    Ok(())
}

/// Unpacks a tar layer whose entries all lie under `prefix` (oras's folder convention).
///
/// When the layer names the digest of its uncompressed tar, that is checked too.
pub fn unpack_folder(
    blob: &Path,
    root: &Path,
    layer: &Descriptor,
    prefix: &str,
    limits: &mut Limits,
) -> Result<(), ArtifactError> {
    let expected = layer
        .annotations
        .get(annotation::ORAS_DIGEST)
        .map(|d| Digest::parse(d))
        .transpose()
        .map_err(|e| ArtifactError::Archive {
            layer: prefix.to_string(),
            reason: format!("its {} annotation is bad: {e}", annotation::ORAS_DIGEST),
        })?;
    let title = prefix.to_string();
    let actual = extract(blob, root, &title, limits, |entry| {
        if entry == prefix || entry.starts_with(&format!("{prefix}/")) {
            Ok(Some(entry.to_string()))
        } else {
            Err(format!("it lies outside the layer's folder `{prefix}`"))
        }
    })?;
    if let Some(expected) = expected
        && expected != actual
    {
        return Err(ArtifactError::Archive {
            layer: title,
            reason: format!("its tar has digest {actual}, but the layer says {expected}"),
        });
    }
    Ok(())
}

/// Unpacks the `archive` encoding: one top folder, whose contents become the target's.
pub fn unpack_archive(
    blob: &Path,
    root: &Path,
    layer: &Descriptor,
    limits: &mut Limits,
) -> Result<(), ArtifactError> {
    let title = layer.title().unwrap_or("archive").to_string();
    let mut top: Option<String> = None;
    extract(blob, root, &title, limits, |entry| {
        let (first, rest) = entry.split_once('/').unwrap_or((entry, ""));
        match &top {
            None => top = Some(first.to_string()),
            Some(t) if t != first => {
                return Err(format!(
                    "the archive has more than one top-level entry (`{t}` and `{first}`), not one pack folder"
                ));
            }
            Some(_) => {}
        }
        Ok((!rest.is_empty()).then(|| rest.to_string()))
    })?;
    if root
        .join(crate::pack::PACK_JSON)
        .symlink_metadata()
        .is_err()
    {
        return Err(ArtifactError::Archive {
            layer: title,
            reason: "its top folder holds no pack.json".into(),
        });
    }
    Ok(())
}

/// Extracts regular files and folders; `map` turns an entry name into a target path
/// (`None` to skip the entry) or refuses it. Returns the digest of the tar stream.
fn extract(
    blob: &Path,
    root: &Path,
    title: &str,
    limits: &mut Limits,
    mut map: impl FnMut(&str) -> Result<Option<String>, String>,
) -> Result<Digest, ArtifactError> {
    let io_err = |source: io::Error| ArtifactError::Io {
        path: blob.to_path_buf(),
        source,
    };
    let mut file = BufReader::new(File::open(blob).map_err(io_err)?);
    let gzipped = file.fill_buf().map_err(io_err)?.starts_with(&[0x1f, 0x8b]);
    let stream: Box<dyn Read> = if gzipped {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut hashing = HashingRead {
        inner: stream,
        hasher: Hasher::new(),
    };
    let bad = |entry: &str, reason: String| ArtifactError::Entry {
        layer: title.to_string(),
        entry: entry.to_string(),
        reason,
    };
    let mut seen = BTreeSet::new();
    {
        let mut archive = tar::Archive::new(&mut hashing);
        let entries = archive.entries().map_err(|e| ArtifactError::Archive {
            layer: title.to_string(),
            reason: format!("it is not a readable tar: {e}"),
        })?;
        for entry in entries {
            let mut entry = entry.map_err(|e| ArtifactError::Archive {
                layer: title.to_string(),
                reason: format!("its tar stream is damaged: {e}"),
            })?;
            if limits
                .stop
                .as_ref()
                .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
            {
                return Err(ArtifactError::Io {
                    path: blob.to_path_buf(),
                    source: io::Error::new(io::ErrorKind::Interrupted, "unpacking was stopped"),
                });
            }
            limits.entries += 1;
            if limits.entries > limits.max_entries {
                return Err(ArtifactError::Limit {
                    what: "tar entries",
                    limit: limits.max_entries,
                });
            }
            let raw = entry.path_bytes().into_owned();
            let name = String::from_utf8(raw)
                .map_err(|_| bad("(not UTF-8)", "its name is not UTF-8".into()))?;
            let kind = entry.header().entry_type();
            if !(kind.is_file() || kind.is_dir()) {
                let what = if kind.is_symlink() {
                    "a symbolic link"
                } else if kind.is_hard_link() {
                    "a hard link"
                } else {
                    "a special file"
                };
                return Err(bad(
                    &name,
                    format!("it is {what}; packs hold only files and folders"),
                ));
            }
            let clean =
                check_title(name.strip_prefix("./").unwrap_or(&name)).map_err(|r| bad(&name, r))?;
            let Some(path) = map(&clean).map_err(|r| bad(&name, r))? else {
                continue;
            };
            if !seen.insert(path.clone()) && !kind.is_dir() {
                return Err(bad(&name, "the archive holds it twice".into()));
            }
            let target = root.join(&path);
            if kind.is_dir() {
                create_dirs(root, &target)?;
                continue;
            }
            if let Some(parent) = target.parent() {
                create_dirs(root, parent)?;
            }
            let size = entry
                .header()
                .size()
                .map_err(|e| bad(&name, e.to_string()))?;
            limits.bytes = limits.bytes.saturating_add(size);
            if limits.bytes > limits.max_bytes {
                return Err(ArtifactError::Limit {
                    what: "unpacked bytes",
                    limit: limits.max_bytes,
                });
            }
            let executable = entry.header().mode().unwrap_or(0o644) & 0o100 != 0;
            let mut out = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(if executable { 0o755 } else { 0o644 })
                .open(&target)
                .map_err(|source| ArtifactError::Io {
                    path: target.clone(),
                    source,
                })?;
            io::copy(&mut (&mut entry).take(size), &mut out).map_err(|source| {
                ArtifactError::Io {
                    path: target.clone(),
                    source,
                }
            })?;
            out.flush().map_err(|source| ArtifactError::Io {
                path: target.clone(),
                source,
            })?;
            fs::set_permissions(
                &target,
                fs::Permissions::from_mode(if executable { 0o755 } else { 0o644 }),
            )
            .map_err(|source| ArtifactError::Io {
                path: target,
                source,
            })?;
        }
    }
    // Read the padding after the last entry too, so that the digest covers the whole tar;
    // a stream that goes on far beyond it is refused rather than read forever.
    let padding = io::copy(
        &mut (&mut hashing).take(MAX_TAR_TRAILER + 1),
        &mut io::sink(),
    )
    .map_err(io_err)?;
    if padding > MAX_TAR_TRAILER {
        return Err(ArtifactError::Archive {
            layer: title.to_string(),
            reason: "it carries more than 1 MiB of data after the end of its tar".into(),
        });
    }
    Ok(hashing.hasher.finish().0)
}

struct HashingRead<R> {
    inner: R,
    hasher: Hasher,
}

impl<R: Read> Read for HashingRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        assert_eq!(check_title("a/b.yaml").unwrap(), "a/b.yaml");
        assert_eq!(check_title("role/").unwrap(), "role");
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\\b",
            "a\nb",
        ] {
            assert!(check_title(bad).is_err(), "{bad:?}");
        }
    }

    fn layer(title: &str, media: &str) -> Descriptor {
        Descriptor::new(media, Digest::of(title.as_bytes()), 1).annotate(annotation::TITLE, title)
    }

    fn manifest(layers: Vec<Descriptor>) -> Manifest {
        Manifest {
            schema_version: 2,
            media_type: Some(media_type::MANIFEST.into()),
            artifact_type: None,
            config: Descriptor::new(media_type::UNKNOWN_CONFIG, Digest::of(b"{}"), 2),
            layers,
            subject: None,
            annotations: Default::default(),
        }
    }

    #[test]
    fn recognises_encodings_and_conflicts() {
        let archive = manifest(vec![layer("p-1.0.0.tar.gz", media_type::TAR)]);
        assert_eq!(plan(&archive).unwrap().encoding, Encoding::Archive);

        let files = manifest(vec![
            layer("a.txt", "text/plain"),
            layer("dir/b.txt", "text/plain"),
        ]);
        let p = plan(&files).unwrap();
        assert_eq!(p.encoding, Encoding::Files);
        assert_eq!(p.steps.len(), 2);

        let folder = layer("roles", media_type::TAR_GZIP).annotate(annotation::ORAS_UNPACK, "true");
        let clash = manifest(vec![folder, layer("roles/x.yml", "text/plain")]);
        assert!(matches!(plan(&clash), Err(ArtifactError::Conflict { .. })));

        let twice = manifest(vec![layer("a", "text/plain"), layer("a", "text/plain")]);
        assert!(matches!(plan(&twice), Err(ArtifactError::Conflict { .. })));

        let escape = manifest(vec![layer("../evil", "text/plain")]);
        assert!(matches!(plan(&escape), Err(ArtifactError::Title { .. })));

        let untitled = manifest(vec![Descriptor::new("text/plain", Digest::of(b""), 0)]);
        assert!(matches!(
            plan(&untitled),
            Err(ArtifactError::Manifest { .. })
        ));
    }
    #[test]
    fn planning_fifteen_thousand_layers_is_quick() {
        let layers: Vec<Descriptor> = (0..15_000)
            .map(|i| layer(&format!("d{}/sub/f{i}", i % 100), "text/plain"))
            .collect();
        let start = std::time::Instant::now();
        let p = plan(&manifest(layers)).unwrap();
        assert_eq!(p.steps.len(), 15_000);
        let elapsed = start.elapsed();
        // The pairwise check took seconds here; a sorted set takes milliseconds.
        assert!(elapsed < std::time::Duration::from_secs(1), "{elapsed:?}");
    }

    #[test]
    fn conflicts_are_found_among_many_layers() {
        let mut layers: Vec<Descriptor> = (0..1000)
            .map(|i| layer(&format!("d{i}/f"), "text/plain"))
            .collect();
        layers.push(layer("d500", "text/plain"));
        match plan(&manifest(layers.clone())) {
            Err(ArtifactError::Conflict { first, second }) => {
                assert_eq!((first.as_str(), second.as_str()), ("d500/f", "d500"));
            }
            other => panic!("{other:?}"),
        }
        layers.pop();
        layers.push(layer("d5/f/g", "text/plain"));
        match plan(&manifest(layers.clone())) {
            Err(ArtifactError::Conflict { first, second }) => {
                assert_eq!((first.as_str(), second.as_str()), ("d5/f", "d5/f/g"));
            }
            other => panic!("{other:?}"),
        }
        layers.pop();
        // A sibling whose name extends another's is no conflict.
        layers.push(layer("d5/f.txt", "text/plain"));
        layers.push(layer("d5/f-g", "text/plain"));
        assert!(plan(&manifest(layers)).is_ok());
    }
    #[test]
    fn configs_must_match_their_encoding() {
        let pack_json = br#"{"name":"p"}"#;
        let pack_layer = Descriptor::new(media_type::CONFIG, Digest::of(pack_json), 12)
            .annotate(annotation::TITLE, "pack.json");
        let mut structured = manifest(vec![pack_layer.clone()]);
        structured.config = Descriptor::new(media_type::CONFIG, Digest::of(pack_json), 12);
        let p = plan(&structured).unwrap();
        assert_eq!(check_config(&structured, &p), Ok(()));
        assert_eq!(check_config_bytes(&structured, &p, pack_json), Ok(()));
        assert!(check_config_bytes(&structured, &p, b"[1]").is_err());
        assert!(check_config_bytes(&structured, &p, b"name: p").is_err());

        let mut other = structured.clone();
        other.config = Descriptor::new(media_type::CONFIG, Digest::of(b"{}"), 2);
        let err = check_config(&other, &plan(&other).unwrap()).unwrap_err();
        assert!(err.contains("not the pack.json layer"), "{err}");

        let mut typed = structured.clone();
        typed.artifact_type = Some(media_type::PACK.into());
        typed.config.media_type = media_type::UNKNOWN_CONFIG.into();
        let err = check_config(&typed, &plan(&typed).unwrap()).unwrap_err();
        assert!(err.contains("media type"), "{err}");

        let archive = manifest(vec![layer("p-1.0.0.tar.gz", media_type::TAR)]);
        let p = plan(&archive).unwrap();
        assert_eq!(check_config(&archive, &p), Ok(()));
        let mut odd = archive.clone();
        odd.config = Descriptor::new(media_type::UNKNOWN_CONFIG, Digest::of(b"{ }"), 3);
        assert!(check_config(&odd, &p).is_err());

        let mut files = manifest(vec![layer("a.txt", "text/plain")]);
        let p = plan(&files).unwrap();
        assert!(check_config_bytes(&files, &p, b"not json").is_err());
        files.config.media_type = "text/plain".into();
        assert_eq!(check_config_bytes(&files, &p, b"not json"), Ok(()));
    }
}
