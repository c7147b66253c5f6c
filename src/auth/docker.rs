//! Registry credentials where Docker, `oras`, `helm` and `cosign` keep them: the Docker config
//! (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`), with its `auths`, `credHelpers`
//! and `credsStore`.

use super::{Credential, CredentialSource};
use crate::env::EnvVars;
use base64::Engine as _;
use serde_json::{Map, Value, json};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why credentials could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// No home folder to find the Docker config in.
    #[error("neither DOCKER_CONFIG nor HOME is set, so there is no Docker config")]
    NoConfigDir,
    /// The Docker config exists but cannot be read.
    #[error("cannot read the Docker config `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The Docker config is not what Docker writes.
    #[error("the Docker config `{}` is malformed: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A credential helper failed.
    #[error("the credential helper `docker-credential-{helper}` failed: {message}")]
    Helper {
        /// The helper's name.
        helper: String,
        /// What it said.
        message: String,
    },
    /// The Docker config cannot be written.
    #[error("cannot write the Docker config `{}`", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A Docker config folder: `config.json`, and the `certs.d` folder beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerConfig {
    dir: PathBuf,
    file: PathBuf,
}

impl DockerConfig {
    /// The Docker config in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> DockerConfig {
        let dir = dir.into();
        let file = dir.join("config.json");
        DockerConfig { dir, file }
    }

    /// A Docker config file of another name (`--registry-config`, as oras, helm and cosign
    /// take it); its folder holds `certs.d`.
    pub fn from_file(file: impl Into<PathBuf>) -> DockerConfig {
        let file = file.into();
        let dir = match file.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        DockerConfig { dir, file }
    }

    /// The Docker config Docker itself would use: `$DOCKER_CONFIG`, else `~/.docker`.
    pub fn from_env() -> Result<DockerConfig, CredentialError> {
        if let Some(dir) = std::env::var_os(EnvVars::DOCKER_CONFIG).filter(|d| !d.is_empty()) {
            return Ok(DockerConfig::new(dir));
        }
        std::env::var_os(EnvVars::HOME)
            .filter(|h| !h.is_empty())
            .map(|home| DockerConfig::new(PathBuf::from(home).join(".docker")))
            .ok_or(CredentialError::NoConfigDir)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The config file, `config.json` unless [`DockerConfig::from_file`] named another.
    pub fn path(&self) -> PathBuf {
        self.file.clone()
    }

    /// The credential for a registry host, or [`Credential::Anonymous`] when none is
    /// configured.
    ///
    /// The host is compared without case and with or without `:443` (see [`host_aliases`]).
    /// A credential helper runs as a subprocess: call this off the async threads.
    pub fn lookup(&self, host: &str) -> Result<Credential, CredentialError> {
        for alias in host_aliases(host) {
            match lookup_exact(&self.path(), &alias)? {
                Credential::Anonymous => continue,
                found => return Ok(found),
            }
        }
        Ok(Credential::Anonymous)
    }

    /// Saves credentials for `host` where `oras login` would: the configured helper, else
    /// `auths`.
    ///
    /// The config is read and written under a lock, so parallel logins all keep their entries.
    pub fn store(
        &self,
        host: &str,
        username: &str,
        password: &str,
    ) -> Result<Stored, CredentialError> {
        store(&self.path(), host, username, password)
    }

    /// Removes credentials for `host`; `false` when there were none.
    pub fn erase(&self, host: &str) -> Result<bool, CredentialError> {
        erase(&self.path(), host)
    }
}

impl CredentialSource for DockerConfig {
    fn credential(&self, host: &str) -> Result<Credential, CredentialError> {
        self.lookup(host)
    }
}

/// The names credentials for `host` may be stored under, the normalised one first: the
/// lowercase host, and the same host with and without the HTTPS default port `:443`.
pub fn host_aliases(host: &str) -> Vec<String> {
    let host = crate::oci::normalize_host(host);
    let has_port = host.rsplit_once(':').is_some_and(|(name, port)| {
        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !name.ends_with(':')
    }) && (!host.starts_with('[') || host.contains("]:"));
    let mut aliases = vec![host.clone()];
    if let Some(bare) = host.strip_suffix(":443") {
        aliases.push(bare.to_string());
    } else if !has_port && (host.starts_with('[') || !host.contains(':')) {
        aliases.push(format!("{host}:443"));
    }
    aliases
}

fn lookup_exact(path: &Path, host: &str) -> Result<Credential, CredentialError> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    let path = path.to_path_buf();
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Credential::Anonymous),
        Err(source) => return Err(CredentialError::Read { path, source }),
    };
    match docker_credential::get_credential_from_reader(std::io::BufReader::new(file), host) {
        Ok(DockerCredential::UsernamePassword(username, password)) => {
            Ok(Credential::Basic { username, password })
        }
        Ok(DockerCredential::IdentityToken(token)) => Ok(Credential::IdentityToken(token)),
        Err(E::NoCredentialConfigured) => Ok(Credential::Anonymous),
        // Helpers say "credentials not found" for a host they hold nothing for.
        Err(E::HelperFailure { stdout, stderr, .. })
            if format!("{stdout}{stderr}")
                .to_lowercase()
                .contains("not found") =>
        {
            Ok(Credential::Anonymous)
        }
        Err(E::HelperFailure {
            helper,
            stderr,
            stdout,
        }) => Err(CredentialError::Helper {
            helper: helper.trim_start_matches("docker-credential-").to_string(),
            message: format!("{}{}", stderr.trim(), stdout.trim()),
        }),
        Err(E::HelperCommunicationError) => Err(CredentialError::Helper {
            helper: helper_for(&read_config(&path)?, host).unwrap_or_default(),
            message: "it cannot be run; is it installed and on PATH?".into(),
        }),
        Err(e) => Err(CredentialError::Malformed {
            path,
            reason: e.to_string(),
        }),
    }
}

fn read_config(path: &Path) -> Result<Map<String, Value>, CredentialError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(source) => {
            return Err(CredentialError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(CredentialError::Malformed {
            path: path.to_path_buf(),
            reason: "it is not a JSON object".into(),
        }),
        Err(e) => Err(CredentialError::Malformed {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// The helper that holds credentials for `host`: `credHelpers[host]`, else `credsStore`.
fn helper_for(config: &Map<String, Value>, host: &str) -> Option<String> {
    config
        .get("credHelpers")
        .and_then(|h| h.get(host))
        .or_else(|| config.get("credsStore"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn run_helper(helper: &str, action: &str, input: &[u8]) -> Result<String, CredentialError> {
    let fail = |message: String| CredentialError::Helper {
        helper: helper.to_string(),
        message,
    };
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            fail(format!(
                "it cannot be run ({e}); is it installed and on PATH?"
            ))
        })?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input)
        .map_err(|e| fail(e.to_string()))?;
    let output = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout).trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(fail(text))
    }
}

/// Where `store` put the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stored {
    /// In a credential helper.
    Helper(String),
    /// In the `auths` of the Docker config.
    ConfigFile(PathBuf),
}

/// The most symbolic links followed from config.json to the file it stands for.
const MAX_LINK_HOPS: usize = 40;

/// The file `path` stands for: the final target when it is a symbolic link (followed at most
/// [`MAX_LINK_HOPS`] times), so that writing there keeps the link, as Docker does.
fn link_target(path: &Path) -> Result<PathBuf, CredentialError> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        match std::fs::read_link(&current) {
            Ok(target) => {
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => return Ok(current),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(source) => {
                return Err(CredentialError::Read {
                    path: current,
                    source,
                });
            }
        }
    }
    Err(CredentialError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(format!(
            "it is a chain of more than {MAX_LINK_HOPS} symbolic links"
        )),
    })
}

/// Holds an exclusive lock on `config.json.lock` beside the Docker config while it lives, so
/// that logins and logouts running at once each see the others' changes.
struct ConfigLock {
    _file: std::fs::File,
}

impl ConfigLock {
    fn acquire(config: &Path) -> Result<ConfigLock, CredentialError> {
        let dir = config.parent().unwrap_or(Path::new("."));
        let write_err = |source| CredentialError::Write {
            path: config.to_path_buf(),
            source,
        };
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(write_err)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(write_err)?;
        }
        let lock_path = dir.join("config.json.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| CredentialError::Write {
                path: lock_path.clone(),
                source,
            })?;
        file.lock().map_err(|source| CredentialError::Write {
            path: lock_path,
            source,
        })?;
        Ok(ConfigLock { _file: file })
    }
}

/// Writes the config atomically with mode 0600, keeping every other field; when `path` is a
/// symbolic link, its target is replaced and the link stays.
fn write_config(path: &Path, config: &Map<String, Value>) -> Result<(), CredentialError> {
    let path = &link_target(path)?;
    let write_err = |source| CredentialError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(write_err)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(write_err)?;
    }
    let mut tmp = crate::scratch::file_in(dir).map_err(write_err)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(write_err)?;
    let mut bytes =
        serde_json::to_vec_pretty(&Value::Object(config.clone())).expect("JSON serialises");
    bytes.push(b'\n');
    tmp.write_all(&bytes).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    Ok(())
}

fn store(
    path: &Path,
    host: &str,
    username: &str,
    password: &str,
) -> Result<Stored, CredentialError> {
    let path = path.to_path_buf();
    let _lock = ConfigLock::acquire(&path)?;
    let mut config = read_config(&path)?;
    if let Some(helper) = helper_for(&config, host) {
        let input = json!({"ServerURL": host, "Username": username, "Secret": password});
        run_helper(&helper, "store", input.to_string().as_bytes())?;
        return Ok(Stored::Helper(helper));
    }
    let auths = config
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(auths) = auths else {
        return Err(CredentialError::Malformed {
            path,
            reason: "`auths` is not an object".into(),
        });
    };
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    auths.insert(host.to_string(), json!({ "auth": encoded }));
    write_config(&path, &config)?;
    Ok(Stored::ConfigFile(path))
}

fn erase(path: &Path, host: &str) -> Result<bool, CredentialError> {
    let path = path.to_path_buf();
    let _lock = ConfigLock::acquire(&path)?;
    let mut config = read_config(&path)?;
    if let Some(helper) = helper_for(&config, host) {
        return match run_helper(&helper, "erase", host.as_bytes()) {
            Ok(_) => Ok(true),
            Err(CredentialError::Helper { message, .. })
                if message.to_lowercase().contains("not found") =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        };
    }
    let removed = match config.get_mut("auths") {
        Some(Value::Object(auths)) => {
            let keys: Vec<String> = auths
                .keys()
                .filter(|k| {
                    k.eq_ignore_ascii_case(host)
                        || k.trim_start_matches("https://")
                            .trim_start_matches("http://")
                            .trim_end_matches('/')
                            .eq_ignore_ascii_case(host)
                })
                .cloned()
                .collect();
            for k in &keys {
                auths.remove(k);
            }
            !keys.is_empty()
        }
        _ => false,
    };
    if removed {
        write_config(&path, &config)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_choice() {
        let config: Map<String, Value> = serde_json::from_str(
            r#"{"credsStore":"desktop","credHelpers":{"ecr.example.com":"ecr-login"}}"#,
        )
        .unwrap();
        assert_eq!(helper_for(&config, "ecr.example.com").unwrap(), "ecr-login");
        assert_eq!(helper_for(&config, "other.example.com").unwrap(), "desktop");
        assert_eq!(helper_for(&Map::new(), "x"), None);
    }

    #[test]
    fn aliases_of_hosts() {
        assert_eq!(host_aliases("LOCALHOST:5000"), ["localhost:5000"]);
        assert_eq!(
            host_aliases("Reg.Example.com:443"),
            ["reg.example.com:443", "reg.example.com"]
        );
        assert_eq!(
            host_aliases("reg.example.com"),
            ["reg.example.com", "reg.example.com:443"]
        );
        assert_eq!(host_aliases("[::1]:5000"), ["[::1]:5000"]);
        assert_eq!(host_aliases("[::1]"), ["[::1]", "[::1]:443"]);
    }

    #[test]
    fn links_are_followed_to_their_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "{}").unwrap();
        let link = dir.path().join("config.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        assert_eq!(link_target(&link).unwrap(), real);
        let missing = dir.path().join("none.json");
        assert_eq!(link_target(&missing).unwrap(), missing);
    }
}
