//! `packctl config list|get|set|unset`: the saved defaults, for every registry or for one.

use crate::cli::{ConfigCommand, ConfigKeyArgs, ConfigSetArgs, FormatArg};
use crate::printer::Printer;
use crate::settings::{RegistrySettings, Settings};
use clap::ValueEnum;
use std::process::ExitCode;

/// A setting `packctl config` does not know, or a value it cannot take.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No such setting.
    #[error("`{0}` is not a setting")]
    UnknownKey(String),
    /// A setting of one registry, asked for without one.
    #[error("`{0}` is saved per registry; name it with -r SERVER")]
    NeedsRegistry(String),
    /// A setting for every registry, asked for with one.
    #[error("`{0}` is one setting for every registry; drop -r")]
    NotPerRegistry(String),
    /// A value the setting cannot take.
    #[error("`{value}` is not a value of `{key}`: {expected}")]
    BadValue {
        key: String,
        value: String,
        expected: &'static str,
    },
}

impl ConfigError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            ConfigError::UnknownKey(_) => format!("settings: {}", KEYS.join(", ")),
            ConfigError::NeedsRegistry(key) => {
                format!("packctl config set {key} VALUE -r registry.example.com:5000")
            }
            ConfigError::NotPerRegistry(key) => format!("packctl config set {key} VALUE"),
            ConfigError::BadValue { .. } => return None,
        })
    }
}

/// Every setting, in the order `config list` shows them.
const KEYS: [&str; 6] = [
    "registry",
    "format",
    "spectro-compat",
    "ca-file",
    "insecure",
    "plain-http",
];

pub fn run(command: ConfigCommand, printer: Printer) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::List => list(printer),
        ConfigCommand::Get(args) => get(args, printer),
        ConfigCommand::Set(args) => set(args, printer),
        ConfigCommand::Unset(args) => unset(args, printer),
    }
}

fn list(printer: Printer) -> anyhow::Result<ExitCode> {
    let settings = Settings::load()?;
    if printer.is_json() {
        printer.json(&settings)?;
        return Ok(ExitCode::SUCCESS);
    }
    for key in ["registry", "format", "spectro-compat"] {
        if let Some(value) = read(&settings, key, None)? {
            printer.data(format_args!("{key} = {value}"))?;
        }
    }
    for server in settings.registries.keys() {
        for key in ["format", "ca-file", "insecure", "plain-http"] {
            if let Some(value) = read(&settings, key, Some(server))? {
                printer.data(format_args!("{key} = {value}  (-r {server})"))?;
            }
        }
    }
    if let Some(path) = crate::settings::path() {
        printer.status(format_args!("settings file: {}", path.display()));
    }
    Ok(ExitCode::SUCCESS)
}

fn get(args: ConfigKeyArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let settings = Settings::load()?;
    let value = read(&settings, &args.key, args.registry_server.as_deref())?;
    if printer.is_json() {
        printer.json(&serde_json::json!({ "key": args.key, "value": value }))?;
    }
    match value {
        Some(value) => {
            if !printer.is_json() {
                printer.data(value)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            printer.status(format_args!("{} is not set", args.key));
            Ok(ExitCode::from(1))
        }
    }
}

fn set(args: ConfigSetArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let ConfigSetArgs { key, value } = args;
    let mut settings = Settings::load()?;
    write(
        &mut settings,
        &key.key,
        key.registry_server.as_deref(),
        Some(&value),
    )?;
    let path = settings.save()?;
    let shown = read(&settings, &key.key, key.registry_server.as_deref())?.unwrap_or_default();
    printer.status(format_args!(
        "{} = {shown}{} ({})",
        key.key,
        for_whom(&key),
        path.display()
    ));
    if printer.is_json() {
        printer.json(&serde_json::json!({ "key": key.key, "value": shown }))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn unset(args: ConfigKeyArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let mut settings = Settings::load()?;
    let was = read(&settings, &args.key, args.registry_server.as_deref())?;
    write(
        &mut settings,
        &args.key,
        args.registry_server.as_deref(),
        None,
    )?;
    if was.is_some() {
        let path = settings.save()?;
        printer.status(format_args!(
            "unset {}{} ({})",
            args.key,
            for_whom(&args),
            path.display()
        ));
    } else {
        printer.status(format_args!("{}{} was not set", args.key, for_whom(&args)));
    }
    if printer.is_json() {
        printer.json(&serde_json::json!({ "key": args.key, "removed": was.is_some() }))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn for_whom(args: &ConfigKeyArgs) -> String {
    match &args.registry_server {
        Some(server) => format!(" for {server}"),
        None => String::new(),
    }
}

/// Whether `key` is one setting for every registry (`Some(false)`), one per registry
/// (`Some(true)`), or both (`format`: `None`).
fn scope(key: &str) -> Result<Option<bool>, ConfigError> {
    match key {
        "registry" | "spectro-compat" => Ok(Some(false)),
        "ca-file" | "insecure" | "plain-http" => Ok(Some(true)),
        "format" => Ok(None),
        _ => Err(ConfigError::UnknownKey(key.to_string())),
    }
}

fn check_scope(key: &str, server: Option<&str>) -> Result<(), ConfigError> {
    match (scope(key)?, server) {
        (Some(true), None) => Err(ConfigError::NeedsRegistry(key.to_string())),
        (Some(false), Some(_)) => Err(ConfigError::NotPerRegistry(key.to_string())),
        _ => Ok(()),
    }
}

fn read(settings: &Settings, key: &str, server: Option<&str>) -> anyhow::Result<Option<String>> {
    check_scope(key, server)?;
    let entry = server.and_then(|s| settings.registry(s));
    let flag = |on: bool| on.then(|| "true".to_string());
    Ok(match (key, server) {
        ("registry", _) => settings.default_registry.clone(),
        ("spectro-compat", _) => flag(settings.spectro_compat),
        ("format", None) => settings.format.clone(),
        ("format", Some(_)) => entry.and_then(|e| e.format.clone()),
        ("ca-file", _) => entry.and_then(|e| e.ca_file.as_ref().map(|p| p.display().to_string())),
        ("insecure", _) => entry.and_then(|e| flag(e.insecure)),
        ("plain-http", _) => entry.and_then(|e| flag(e.plain_http)),
        _ => None,
    })
}

fn boolean(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::BadValue {
            key: key.to_string(),
            value: value.to_string(),
            expected: "true or false",
        }),
    }
}

fn format(value: &str) -> Result<String, ConfigError> {
    FormatArg::from_str(value, true)
        .map(|f| {
            f.to_possible_value()
                .expect("formats have names")
                .get_name()
                .to_string()
        })
        .map_err(|_| ConfigError::BadValue {
            key: "format".into(),
            value: value.to_string(),
            expected: "structured or archive",
        })
}

/// Sets `key` to `value`, or unsets it (`None`).
fn write(
    settings: &mut Settings,
    key: &str,
    server: Option<&str>,
    value: Option<&str>,
) -> anyhow::Result<()> {
    check_scope(key, server)?;
    match (key, server) {
        ("registry", _) => {
            settings.default_registry = match value {
                None => None,
                Some(v) => {
                    packctl::oci::Location::parse(v)?;
                    // A folder is saved absolute: later commands run from other folders.
                    Some(match v.strip_prefix("oci:") {
                        Some(path) => format!("oci:{}", std::path::absolute(path)?.display()),
                        None => v.to_string(),
                    })
                }
            };
        }
        ("spectro-compat", _) => {
            settings.spectro_compat = value.map(|v| boolean(key, v)).transpose()?.unwrap_or(false);
        }
        ("format", None) => settings.format = value.map(format).transpose()?,
        (_, Some(server)) => {
            packctl::oci::Location::parse(server)?;
            let parsed = match (key, value) {
                ("format", Some(v)) => Value::Format(Some(format(v)?)),
                ("format", None) => Value::Format(None),
                ("ca-file", Some(v)) => {
                    let path = std::path::absolute(v)?;
                    if !path.is_file() {
                        anyhow::bail!(ConfigError::BadValue {
                            key: key.to_string(),
                            value: v.to_string(),
                            expected: "a PEM file that exists",
                        });
                    }
                    Value::CaFile(Some(path))
                }
                ("ca-file", None) => Value::CaFile(None),
                ("insecure", v) => Value::Insecure(v.map(|v| boolean(key, v)).transpose()?),
                (_, v) => Value::PlainHttp(v.map(|v| boolean(key, v)).transpose()?),
            };
            let entry: &mut RegistrySettings = settings.registry_mut(server);
            match parsed {
                Value::Format(f) => entry.format = f,
                Value::CaFile(p) => entry.ca_file = p,
                Value::Insecure(b) => entry.insecure = b.unwrap_or(false),
                Value::PlainHttp(b) => entry.plain_http = b.unwrap_or(false),
            }
            settings.prune();
        }
        _ => unreachable!("check_scope let only known settings through"),
    }
    Ok(())
}

enum Value {
    Format(Option<String>),
    CaFile(Option<std::path::PathBuf>),
    Insecure(Option<bool>),
    PlainHttp(Option<bool>),
}
