//! Building the OCI artifact of a pack: blobs and the manifest, byte for byte reproducible.

use super::cache::{DigestCache, LayerCache, LayerKey};
use super::tarball::{TarGzDigests, TarGzWriter};
use super::{ArtifactError, Format};
use crate::oci::digest::{Digest, digest_file};
use crate::oci::manifest::{Descriptor, Manifest, annotation, media_type};
use crate::pack::{Pack, PackFile, Part};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// How to build an artifact.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BuildOptions {
    /// The encoding.
    pub format: Format,
    /// `org.opencontainers.image.created`, from `SOURCE_DATE_EPOCH`; nothing else varies.
    pub created: Option<String>,
    /// The folder of the digest cache ([`super::cache`]); `None` hashes every file. The
    /// command line passes `$PACKCTL_CACHE_DIR`, `$XDG_CACHE_HOME/packctl` or
    /// `~/.cache/packctl`.
    pub cache_dir: Option<PathBuf>,
    /// Compress every layer even where the layer cache knows its digests, so that every blob
    /// has its bytes (see [`BlobSource::Deferred`]).
    pub fresh_layers: bool,
    /// The push message (`push -m`), recorded as the [`annotation::MESSAGE`] annotation;
    /// `None` takes pack.json's `commit_msg`, when it has one.
    pub message: Option<String>,
}

/// Where the bytes of a blob are.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BlobSource {
    /// A file on disk, read as it is (a pack file, or a tar+gzip packctl wrote).
    File(PathBuf),
    /// Bytes in memory (the config of the `archive` encoding).
    Bytes(Bytes),
    /// A compressed layer whose digest came from the layer cache ([`super::cache`]): its
    /// bytes were not made. A store that holds the blob needs nothing more; for one that
    /// lacks it, build again with [`BuildOptions::fresh_layers`].
    Deferred,
}

/// A blob of an artifact, with its descriptor.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Media type, digest and size (annotations are those of its first layer).
    pub descriptor: Descriptor,
    /// Where to read it.
    pub source: BlobSource,
}

/// A built artifact: the manifest and every blob it names, each once.
#[derive(Debug)]
pub struct Artifact {
    /// The manifest.
    pub manifest: Manifest,
    /// Its canonical bytes.
    pub manifest_bytes: Bytes,
    /// Their digest.
    pub digest: Digest,
    /// The config and layer blobs, without repeats, config first.
    pub blobs: Vec<Blob>,
    /// Keeps compressed layers on disk until the artifact is dropped.
    _scratch: Option<tempfile::TempDir>,
}

impl Artifact {
    /// A descriptor of the manifest.
    pub fn descriptor(&self) -> Descriptor {
        let mut d = Descriptor::new(
            media_type::MANIFEST,
            self.digest.clone(),
            self.manifest_bytes.len() as u64,
        );
        d.artifact_type = self.manifest.artifact_type.clone();
        d
    }

    /// The blobs whose bytes were not made (see [`BlobSource::Deferred`]).
    pub fn deferred(&self) -> impl Iterator<Item = &Blob> {
        self.blobs
            .iter()
            .filter(|b| matches!(b.source, BlobSource::Deferred))
    }

    /// The sum of the blob sizes.
    pub fn blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.descriptor.size).sum()
    }
}

/// Formats seconds since the Unix epoch as RFC 3339 in UTC (`2024-01-02T03:04:05Z`).
pub fn rfc3339(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Builds the artifact of `pack`.
///
/// Plain files are hashed where they are; role folders (and the whole pack, for the
/// `archive` encoding) are compressed into a scratch folder that lives as long as the
/// returned [`Artifact`].
pub fn build(pack: &Pack, options: &BuildOptions) -> Result<Artifact, ArtifactError> {
    let scratch = crate::scratch::build_dir().map_err(|source| ArtifactError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let cache_dir = options.cache_dir.as_deref();
    let maker = LayerMaker {
        scratch: scratch.path(),
        cache: LayerCache::open(cache_dir),
        fresh: options.fresh_layers,
    };
    let built = match options.format {
        Format::Structured => structured(pack, &maker, cache_dir),
        Format::Archive => archive(pack, &maker),
    };
    maker.cache.save();
    let (manifest, blobs) = built?;
    let mut manifest = manifest;
    let meta = pack.metadata();
    manifest
        .annotations
        .insert(annotation::TITLE.into(), meta.name.clone());
    manifest
        .annotations
        .insert(annotation::VERSION.into(), meta.version.to_string());
    manifest
        .annotations
        .insert(annotation::DESCRIPTION.into(), meta.display_name.clone());
    let message = options.message.as_ref().or(meta.commit_msg.as_ref());
    if let Some(message) = message.map(|m| m.trim()).filter(|m| !m.is_empty()) {
        manifest
            .annotations
            .insert(annotation::MESSAGE.into(), message.to_string());
    }
    if let Some(created) = &options.created {
        manifest
            .annotations
            .insert(annotation::CREATED.into(), created.clone());
    }
    let manifest_bytes = Bytes::from(manifest.to_canonical_json());
    let digest = Digest::of(&manifest_bytes);
    Ok(Artifact {
        manifest,
        manifest_bytes,
        digest,
        blobs: unique(blobs),
        _scratch: Some(scratch),
    })
}

fn unique(blobs: Vec<Blob>) -> Vec<Blob> {
    let mut seen = BTreeSet::new();
    blobs
        .into_iter()
        .filter(|b| seen.insert(b.descriptor.digest.clone()))
        .collect()
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ArtifactError + '_ {
    move |source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Hashes files on a few threads, largest first, each thread taking the next file when it
/// is done; files the cache knows unchanged are not read. The order of the result follows
/// the input.
fn digest_files(
    files: &[&PackFile],
    cache: &DigestCache,
) -> Result<Vec<(Digest, u64)>, ArtifactError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8)
        .min(files.len().max(1));
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(files[i].size));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<(Digest, u64)>>> = Mutex::new(vec![None; files.len()]);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> Result<(), ArtifactError> {
                    loop {
                        let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            return Ok(());
                        };
                        let f = files[i];
                        let meta = std::fs::metadata(&f.source).map_err(io_error(&f.source))?;
                        let digest = match cache.get(&f.source, &meta) {
                            Some(known) => known,
                            None => {
                                let computed =
                                    digest_file(&f.source).map_err(io_error(&f.source))?;
                                cache.put(&f.source, &meta, &computed.0);
                                computed
                            }
                        };
                        results.lock().expect("not poisoned")[i] = Some(digest);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("a hashing thread does not panic")?;
        }
        Ok::<_, ArtifactError>(())
    })?;
    Ok(results
        .into_inner()
        .expect("not poisoned")
        .into_iter()
        .map(|d| d.expect("every file hashed"))
        .collect())
}

/// Where compressed layers go, and what is known of them.
struct LayerMaker<'a> {
    scratch: &'a Path,
    cache: LayerCache,
    /// Whether to compress layers the cache knows.
    fresh: bool,
}

impl LayerMaker<'_> {
    /// The tar+gzip of `entries` (in archive order; a folder has no file) as `name` in the
    /// scratch folder, or only its digests when the cache knows them and `fresh` is off.
    fn compress(
        &self,
        name: &str,
        entries: &[(String, Option<&PackFile>)],
    ) -> Result<(TarGzDigests, BlobSource), ArtifactError> {
        let key = LayerKey::of(
            entries
                .iter()
                .map(|(n, f)| (n.as_str(), f.map(|f| (f.source.as_path(), f.executable)))),
        );
        // A file that cannot be looked at fails below, where the error names it.
        let key = key.ok();
        if let Some(key) = &key
            && !self.fresh
            && let Some(known) = self.cache.get(key)
        {
            tracing::debug!(
                target: "packctl::artifact",
                layer = name, digest = %known.compressed.0,
                "the layer cache knows this layer; not compressed"
            );
            return Ok((known, BlobSource::Deferred));
        }
        let out = self.scratch.join(name);
        let file = File::create(&out).map_err(io_error(&out))?;
        let mut writer = TarGzWriter::new(BufWriter::with_capacity(256 * 1024, file));
        for (entry, file) in entries {
            match file {
                None => writer.dir(entry).map_err(io_error(&out))?,
                Some(f) => writer
                    .file(entry, &f.source, f.executable)
                    .map_err(io_error(&f.source))?,
            }
        }
        let (buffered, digests) = writer.finish().map_err(io_error(&out))?;
        buffered
            .into_inner()
            .map_err(|e| io_error(&out)(e.into_error()))?;
        if let Some(key) = &key {
            self.cache.put(key, &digests);
        }
        Ok((digests, BlobSource::File(out)))
    }
}

fn structured(
    pack: &Pack,
    maker: &LayerMaker<'_>,
    cache_dir: Option<&Path>,
) -> Result<(Manifest, Vec<Blob>), ArtifactError> {
    let plain: Vec<&PackFile> = pack.parts().iter().filter_map(Part::file).collect();
    let cache = DigestCache::open(cache_dir);
    let digests = digest_files(&plain, &cache);
    cache.save();
    let mut digests = digests?.into_iter();

    let config_digest = Digest::of(pack.metadata_bytes());
    let config = Descriptor::new(
        media_type::CONFIG,
        config_digest.clone(),
        pack.metadata_bytes().len() as u64,
    );
    let mut blobs = vec![Blob {
        descriptor: config.clone(),
        source: BlobSource::Bytes(Bytes::copy_from_slice(pack.metadata_bytes())),
    }];
    let mut layers = Vec::new();
    for (index, part) in pack.parts().iter().enumerate() {
        let (descriptor, source) = match (part, part.file()) {
            (Part::AnsibleRole { path, dirs, files }, _) => {
                role_layer(path, dirs, files, maker, &format!("layer-{index}.tar.gz"))?
            }
            (_, Some(f)) => {
                let (digest, size) = digests.next().expect("one digest per plain file");
                if matches!(part, Part::Metadata(_)) && digest != config_digest {
                    return Err(ArtifactError::Changed {
                        path: f.source.clone(),
                    });
                }
                let mut d = Descriptor::new(plain_media_type(part), digest, size)
                    .annotate(annotation::TITLE, &f.path);
                if f.executable {
                    d = d.annotate(annotation::EXECUTABLE, "true");
                }
                if matches!(part, Part::Logo(_)) {
                    d = d.annotate(annotation::HARBOR_ICON, "");
                }
                (d, BlobSource::File(f.source.clone()))
            }
            (_, None) => unreachable!("only role folders have no file"),
        };
        blobs.push(Blob {
            descriptor: descriptor.clone(),
            source,
        });
        layers.push(descriptor);
    }
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(media_type::MANIFEST.into()),
        artifact_type: Some(media_type::PACK.into()),
        config,
        layers,
        subject: None,
        annotations: BTreeMap::new(),
    };
    Ok((manifest, blobs))
}

fn plain_media_type(part: &Part) -> &'static str {
    match part {
        Part::Metadata(_) => media_type::CONFIG,
        Part::Values(_) => media_type::VALUES,
        Part::Logo(_) => media_type::PNG,
        Part::Chart(_) => media_type::HELM_CHART,
        Part::KubeManifest(_) => media_type::KUBE_MANIFEST,
        Part::Other(_) | Part::AnsibleRole { .. } => media_type::FILE,
    }
}

fn role_layer(
    path: &str,
    dirs: &[String],
    files: &[PackFile],
    maker: &LayerMaker<'_>,
    name: &str,
) -> Result<(Descriptor, BlobSource), ArtifactError> {
    // Folders and files together, in path order, after the role folder itself.
    let mut entries: Vec<(String, Option<&PackFile>)> =
        dirs.iter().map(|d| (d.clone(), None)).collect();
    entries.extend(files.iter().map(|f| (f.path.clone(), Some(f))));
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.insert(0, (path.to_string(), None));
    let (digests, source) = maker.compress(name, &entries)?;
    let (digest, size) = digests.compressed;
    let descriptor = Descriptor::new(media_type::TAR_GZIP, digest, size)
        .annotate(annotation::TITLE, path)
        .annotate(annotation::ORAS_UNPACK, "true")
        .annotate(annotation::ORAS_DIGEST, digests.uncompressed.0.as_str());
    Ok((descriptor, source))
}

/// The file name of the `archive` encoding's layer, and its top folder without `.tar.gz`.
pub fn archive_name(pack: &Pack) -> String {
    let meta = pack.metadata();
    format!("{}-{}", meta.name, meta.version)
}

/// Adds an entry for each folder above `path`.
fn add_parents(entries: &mut BTreeMap<String, Option<&PackFile>>, path: &str) {
    let mut at = 0;
    while let Some(i) = path[at..].find('/') {
        entries.entry(path[..at + i].to_string()).or_insert(None);
        at += i + 1;
    }
}

fn archive(pack: &Pack, maker: &LayerMaker<'_>) -> Result<(Manifest, Vec<Blob>), ArtifactError> {
    let top = archive_name(pack);
    // Every file, the folders that hold them, and the folders of roles (empty ones too).
    let mut entries: BTreeMap<String, Option<&PackFile>> = BTreeMap::new();
    for part in pack.parts() {
        if let Part::AnsibleRole { path, dirs, files } = part {
            add_parents(&mut entries, path);
            entries.insert(path.clone(), None);
            for d in dirs {
                entries.insert(d.clone(), None);
            }
            for f in files {
                entries.insert(f.path.clone(), Some(f));
            }
        } else if let Some(f) = part.file() {
            add_parents(&mut entries, &f.path);
            entries.insert(f.path.clone(), Some(f));
        }
    }
    let entries: Vec<(String, Option<&PackFile>)> = std::iter::once((top.clone(), None))
        .chain(
            entries
                .into_iter()
                .map(|(path, file)| (format!("{top}/{path}"), file)),
        )
        .collect();
    let (digests, source) = maker.compress(&format!("{top}.tar.gz"), &entries)?;

    let config_bytes = Bytes::from_static(b"{}");
    let config = Descriptor::new(
        media_type::UNKNOWN_CONFIG,
        Digest::of(&config_bytes),
        config_bytes.len() as u64,
    );
    let (digest, size) = digests.compressed;
    let layer = Descriptor::new(media_type::TAR, digest, size)
        .annotate(annotation::TITLE, format!("{top}.tar.gz"));
    let blobs = vec![
        Blob {
            descriptor: config.clone(),
            source: BlobSource::Bytes(config_bytes),
        },
        Blob {
            descriptor: layer.clone(),
            source,
        },
    ];
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(media_type::MANIFEST.into()),
        artifact_type: None,
        config,
        layers: vec![layer],
        subject: None,
        annotations: BTreeMap::new(),
    };
    Ok((manifest, blobs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
