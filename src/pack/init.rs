//! `pack init`: a new pack that passes validation, never over existing files.

use super::metadata::{Layer, PACK_JSON};
use super::{LOGO_PNG, PackError, VALUES_YAML};
use serde_json::{Map, Value, json};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A small logo, so that a new pack is valid before the author adds their own.
pub(super) const LOGO: &[u8] = include_bytes!("logo.png");

/// What `pack init` writes into pack.json.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InitOptions {
    /// The pack name (checked by the caller with [`super::is_valid_name`]).
    pub name: String,
    /// The layer.
    pub layer: Layer,
    /// The version.
    pub version: crate::oci::version::Version,
    /// The display name; derived from the name when absent.
    pub display_name: Option<String>,
    /// The add-on type, for `addon` packs.
    pub addon_type: Option<String>,
    /// Cloud types; `all` when empty.
    pub cloud_types: Vec<String>,
    /// Helm chart archives of the pack, relative paths.
    pub charts: Vec<String>,
}

impl InitOptions {
    /// A pack named `name` of `layer` at `version`, its display name derived from the name,
    /// no add-on type, for every cloud.
    pub fn new(
        name: impl Into<String>,
        layer: Layer,
        version: crate::oci::version::Version,
    ) -> Self {
        InitOptions {
            name: name.into(),
            layer,
            version,
            display_name: None,
            addon_type: None,
            cloud_types: Vec::new(),
            charts: Vec::new(),
        }
    }
}

/// Writes a new pack into `dir` and returns the files it wrote.
///
/// Refuses, writing nothing, when any of the files exists already; on a failure part-way it
/// removes what it wrote.
pub fn init(dir: &Path, options: &InitOptions) -> Result<Vec<PathBuf>, PackError> {
    let files = [
        (PACK_JSON.to_string(), pack_json(options).into_bytes()),
        (VALUES_YAML.to_string(), values_yaml(options).into_bytes()),
        (LOGO_PNG.to_string(), LOGO.to_vec()),
        ("README.md".to_string(), readme(options).into_bytes()),
    ];
    write_new_files(dir, &files)
}

/// Writes `files` (paths relative to `dir`, folders made as needed) and returns their paths.
///
/// Refuses, writing nothing, when any of them exists already; on a failure part-way it
/// removes what it wrote, and the folders it made.
pub(super) fn write_new_files(
    dir: &Path,
    files: &[(String, Vec<u8>)],
) -> Result<Vec<PathBuf>, PackError> {
    let existing: Vec<String> = files
        .iter()
        .filter(|(name, _)| dir.join(name).symlink_metadata().is_ok())
        .map(|(name, _)| name.clone())
        .collect();
    if !existing.is_empty() {
        return Err(PackError::WouldOverwrite {
            dir: dir.to_path_buf(),
            files: existing,
        });
    }
    let mut made_dirs: Vec<PathBuf> = Vec::new();
    let mut written: Vec<PathBuf> = Vec::new();
    let undo = |written: &[PathBuf], made_dirs: &[PathBuf]| {
        // Leave the folder as it was: drop what this call wrote, but only that.
        for p in written {
            let _ = fs::remove_file(p);
        }
        for d in made_dirs.iter().rev() {
            let _ = fs::remove_dir(d);
        }
    };
    for (name, bytes) in files {
        let path = dir.join(name);
        let parent = path.parent().unwrap_or(dir).to_path_buf();
        let mut missing: Vec<PathBuf> = parent
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .map(Path::to_path_buf)
            .collect();
        missing.reverse();
        if let Err(source) = fs::create_dir_all(&parent) {
            undo(&written, &made_dirs);
            return Err(PackError::Write {
                path: parent,
                source,
            });
        }
        made_dirs.extend(missing);
        let result = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| f.write_all(bytes));
        if let Err(source) = result {
            let _ = fs::remove_file(&path);
            undo(&written, &made_dirs);
            return Err(PackError::Write { path, source });
        }
        written.push(path);
    }
    Ok(written)
}

/// "kube-prometheus_stack" → "Kube Prometheus Stack".
pub(super) fn display_name_from(name: &str) -> String {
    name.split(['-', '_', '.'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn pack_json(o: &InitOptions) -> String {
    let mut m = Map::new();
    m.insert("name".into(), json!(o.name));
    let display = o
        .display_name
        .clone()
        .unwrap_or_else(|| display_name_from(&o.name));
    m.insert("displayName".into(), json!(display));
    m.insert("layer".into(), json!(o.layer.as_str()));
    if let Some(t) = &o.addon_type {
        m.insert("addonType".into(), json!(t));
    }
    m.insert("version".into(), json!(o.version.to_string()));
    let clouds = if o.cloud_types.is_empty() {
        vec!["all".to_string()]
    } else {
        o.cloud_types.clone()
    };
    m.insert("cloudTypes".into(), json!(clouds));
    if o.layer == Layer::Os {
        m.insert("annotations".into(), json!({}));
    }
    m.insert("kubeManifests".into(), json!([]));
    m.insert("charts".into(), json!(o.charts));
    m.insert("ansibleRoles".into(), json!([]));
    let mut text = serde_json::to_string_pretty(&Value::Object(m)).expect("a JSON map serialises");
    text.push('\n');
    text
}

fn values_yaml(o: &InitOptions) -> String {
    let mut text = format!(
        "# Values for the {name} pack.\n\
         #\n\
         # Everything here is exposed to the people who add this pack to a cluster profile.\n\
         # Helm charts listed in pack.json `charts` merge these values over their own;\n\
         # Kubernetes manifests and Ansible roles must be templated to use them.\n",
        name = o.name
    );
    if o.layer == Layer::Os {
        text.push_str("#\n# OS packs usually have nothing to configure; an empty file is fine.\n");
    } else {
        text.push_str(
            "\n# Default namespace for the pack's charts and manifests.\n\
             # namespace: my-namespace\n",
        );
    }
    if matches!(o.layer, Layer::Addon | Layer::Cni | Layer::Csi) {
        text.push_str(
            "\n# Every image the pack deploys: Palette mirrors them for air-gapped sites and\n\
             # scans them (`pack validate` warns until the list is there).\n\
             # pack:\n\
             #   content:\n\
             #     images:\n\
             #       - image: registry.example.com/team/app:1.0.0\n",
        );
    }
    text
}

fn readme(o: &InitOptions) -> String {
    let display = o
        .display_name
        .clone()
        .unwrap_or_else(|| display_name_from(&o.name));
    format!(
        "# {display}\n\n\
         The `{name}` pack, version {version}, for the `{layer}` layer.\n\n\
         - `pack.json`: the pack's metadata. List Helm chart archives in `charts`, Kubernetes\n  \
         manifests in `kubeManifests` and Ansible role folders in `ansibleRoles`.\n\
         - `values.yaml`: the values users can set.\n\
         - `logo.png`: the logo Palette shows; replace it with your own.\n\n\
         Check the pack, then push it:\n\n\
         ```sh\n\
         packctl pack validate .\n\
         packctl pack push . --registry-server oci:./packs\n\
         ```\n",
        name = o.name,
        version = o.version,
        layer = o.layer,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(layer: Layer) -> InitOptions {
        InitOptions {
            name: "kube-prometheus_stack".into(),
            layer,
            version: "1.2.3".parse().unwrap(),
            display_name: None,
            addon_type: (layer == Layer::Addon).then(|| "monitoring".into()),
            cloud_types: vec![],
            charts: vec![],
        }
    }

    #[test]
    fn a_new_pack_of_every_layer_is_valid() {
        for layer in Layer::ALL {
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("new");
            let written = init(&target, &options(layer)).unwrap();
            assert_eq!(written.len(), 4);
            let v = super::super::validate(&target);
            let rules: Vec<_> = v.findings.iter().map(|f| (f.severity, f.rule)).collect();
            // Only the image list is left for the author to fill in.
            let expected: &[_] = match layer {
                Layer::Addon | Layer::Cni | Layer::Csi => {
                    &[(super::super::Severity::Warning, "content-no-images")]
                }
                _ => &[],
            };
            assert_eq!(rules, expected, "{layer}: {:?}", v.findings);
            let pack = v.pack.unwrap();
            assert_eq!(pack.metadata().display_name, "Kube Prometheus Stack");
            assert_eq!(pack.metadata().cloud_types, ["all"]);
        }
    }

    #[test]
    fn refuses_to_overwrite_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("values.yaml"), "mine: true\n").unwrap();
        let err = init(dir.path(), &options(Layer::Addon)).unwrap_err();
        assert!(
            matches!(&err, PackError::WouldOverwrite { files, .. } if files == &["values.yaml"])
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("values.yaml")).unwrap(),
            "mine: true\n"
        );
        assert!(!dir.path().join("pack.json").exists());
    }
}
