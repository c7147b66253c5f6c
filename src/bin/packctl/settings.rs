//! packctl's own settings file: the default registry that `registry login -d` saves.
//!
//! It lives at `$PACKCTL_CONFIG`, or `$XDG_CONFIG_HOME/packctl/config.json`, or
//! `~/.config/packctl/config.json`, and never holds a secret: credentials stay in the
//! Docker config.

use packctl::content::StoreError;
use packctl::env::EnvVars;
use packctl::oci::LocationError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The default registry and how to reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultRegistry {
    /// `host[:port][/base]` or `oci:PATH`.
    pub server: String,
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

/// The settings file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Used when a command gets no `-r`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_registry: Option<DefaultRegistry>,
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
