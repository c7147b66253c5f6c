//! packctl's own settings file: the default registry that `registry login -d` saves, and the
//! defaults `packctl config` edits, for every registry or for one.
//!
//! It lives at `$PACKCTL_CONFIG`, or `$XDG_CONFIG_HOME/packctl/config.json`, or
//! `~/.config/packctl/config.json`, and never holds a secret: credentials stay in the
//! Docker config. A flag wins over an environment variable, which wins over a setting for
//! the registry, which wins over a setting for every registry.

use packctl::content::StoreError;
use packctl::env::EnvVars;
use packctl::oci::LocationError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What is saved for one registry (or `oci:` folder).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrySettings {
    /// The artifact encoding pushes and copies to it use: `structured` or `archive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Speak plain HTTP.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plain_http: bool,
    /// Skip TLS verification.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// A CA certificate file to trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl RegistrySettings {
    fn is_empty(&self) -> bool {
        self == &RegistrySettings::default()
    }
}

/// The default registry as earlier versions saved it: the server with its transport.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedDefault {
    server: String,
    #[serde(flatten)]
    settings: RegistrySettings,
}

/// `defaultRegistry` as written: a server, or (earlier versions) an object.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum DefaultEntry {
    Server(String),
    Saved(SavedDefault),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingsFile {
    #[serde(default)]
    default_registry: Option<DefaultEntry>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    spectro_compat: bool,
    #[serde(default)]
    registries: BTreeMap<String, RegistrySettings>,
}

/// The settings file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "SettingsFile")]
pub struct Settings {
    /// Used when a command gets no `-r`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_registry: Option<String>,
    /// The encoding for every registry without its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Follow the spectro CLI where it is stricter: `push -f` needs `-m`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spectro_compat: bool,
    /// Per registry, by the server as written (`host[:port][/base]` or `oci:PATH`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub registries: BTreeMap<String, RegistrySettings>,
}

impl From<SettingsFile> for Settings {
    fn from(file: SettingsFile) -> Settings {
        let mut registries = file.registries;
        let default_registry = match file.default_registry {
            None => None,
            Some(DefaultEntry::Server(server)) => Some(server),
            Some(DefaultEntry::Saved(saved)) => {
                if !saved.settings.is_empty() {
                    registries
                        .entry(saved.server.clone())
                        .or_insert(saved.settings);
                }
                Some(saved.server)
            }
        };
        Settings {
            default_registry,
            format: file.format,
            spectro_compat: file.spectro_compat,
            registries,
        }
    }
}

/// The settings file's path, when one can be found.
pub fn path() -> Option<PathBuf> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var(EnvVars::PACKCTL_CONFIG)
        .or_else(|| var(EnvVars::XDG_CONFIG_HOME).map(|d| d.join("packctl/config.json")))
        .or_else(|| var(EnvVars::HOME).map(|h| h.join(".config/packctl/config.json")))
}

/// The part of a server before its base path: `host[:port]`, or the whole `oci:` location.
fn host_of(server: &str) -> &str {
    if server.starts_with("oci:") {
        return server;
    }
    server.split('/').next().unwrap_or(server)
}

impl Settings {
    /// Reads the settings; a missing file gives the defaults.
    pub fn load() -> Result<Settings, StoreError> {
        let Some(path) = path() else {
            return Ok(Settings::default());
        };
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                StoreError::Location(LocationError::BadLocation {
                    location: path.display().to_string(),
                    reason: format!("the packctl settings file is malformed: {e}"),
                })
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    /// What is saved for `server`: its own entry, then the entry of its host.
    fn entries<'a>(&'a self, server: &'a str) -> impl Iterator<Item = &'a RegistrySettings> {
        let server = server.trim_end_matches('/');
        let host = host_of(server);
        let own = self.registries.get(server);
        let of_host = (host != server)
            .then(|| self.registries.get(host))
            .flatten();
        own.into_iter().chain(of_host)
    }

    /// What is saved for `server` itself (not for its host).
    pub fn registry(&self, server: &str) -> Option<&RegistrySettings> {
        self.registries.get(server.trim_end_matches('/'))
    }

    /// The transport saved for `server` and its host, field by field.
    pub fn transport_for(&self, server: &str) -> RegistrySettings {
        let mut merged = RegistrySettings::default();
        for entry in self.entries(server) {
            merged.plain_http |= entry.plain_http;
            merged.insecure |= entry.insecure;
            if merged.ca_file.is_none() {
                merged.ca_file.clone_from(&entry.ca_file);
            }
        }
        merged
    }

    /// The entry for `server`, made when missing.
    pub fn registry_mut(&mut self, server: &str) -> &mut RegistrySettings {
        let server = server.trim_end_matches('/').to_string();
        self.registries.entry(server).or_default()
    }

    /// Drops registry entries that hold nothing.
    pub fn prune(&mut self) {
        self.registries.retain(|_, r| !r.is_empty());
    }

    /// The encoding for `server`: its own, else the one for every registry.
    pub fn format_for<'a>(&'a self, server: &'a str) -> Option<&'a str> {
        self.entries(server)
            .find_map(|r| r.format.as_deref())
            .or(self.format.as_deref())
    }

    /// Writes the settings atomically.
    pub fn save(&self) -> Result<PathBuf, StoreError> {
        let path = path().ok_or_else(|| {
            StoreError::Location(LocationError::BadLocation {
                location: "(settings)".into(),
                reason: "neither PACKCTL_CONFIG, XDG_CONFIG_HOME nor HOME is set".into(),
            })
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut bytes = serde_json::to_vec_pretty(self).expect("settings serialise");
        bytes.push(b'\n');
        packctl::scratch::write_atomic(&path, &bytes).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_saved_by_an_earlier_version_keeps_its_transport() {
        let old = r#"{"defaultRegistry": {"server": "reg:5000/base", "plainHttp": true}}"#;
        let settings: Settings = serde_json::from_str(old).unwrap();
        assert_eq!(settings.default_registry.as_deref(), Some("reg:5000/base"));
        assert!(settings.transport_for("reg:5000/base").plain_http);
        let again: Settings =
            serde_json::from_slice(&serde_json::to_vec(&settings).unwrap()).unwrap();
        assert_eq!(again, settings);
    }

    #[test]
    fn a_registry_without_its_own_entry_takes_its_hosts_then_the_global_one() {
        let mut settings = Settings {
            format: Some("structured".into()),
            ..Settings::default()
        };
        settings.registry_mut("reg:5000").format = Some("archive".into());
        assert_eq!(settings.format_for("reg:5000/team"), Some("archive"));
        assert_eq!(settings.format_for("other:5000"), Some("structured"));
        settings.registry_mut("reg:5000/team").insecure = true;
        assert_eq!(settings.format_for("reg:5000/team"), Some("archive"));
        assert!(settings.transport_for("reg:5000/team").insecure);
        assert!(!settings.transport_for("reg:5000").insecure);
    }
}
