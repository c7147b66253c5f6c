//! `packctl registry login SERVER` and `packctl registry logout SERVER`.

use crate::cli::{LoginArgs, LogoutArgs};
use crate::commands::{block_on, transport};
use crate::printer::{Printer, to_stderr};
use crate::settings::Settings;
use anyhow::Context;
use packctl::auth::Credential;
use packctl::auth::Stored;
use packctl::oci::Location;
use packctl::registry::{RegistryStore, RetryPolicy};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

/// `registry login` was given nothing to log in to, or no password.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// An `oci:` folder.
    #[error("`{0}` is a folder store; it needs no login")]
    NotARegistry(String),
    /// No way to get a password.
    #[error("no password given, and stdin is not a terminal to ask for one")]
    NoPassword,
    /// No way to get a user name.
    #[error("no user name given, and stdin is not a terminal to ask for one")]
    NoUsername,
    /// An empty password.
    #[error("the password is empty")]
    EmptyPassword,
}

impl LoginError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            LoginError::NotARegistry(_) => "log in to a registry host, such as registry.example.com:5000".into(),
            LoginError::NoPassword | LoginError::EmptyPassword => {
                "pipe it in: echo \"$PASSWORD\" | packctl registry login HOST -u USER --password-stdin".into()
            }
            LoginError::NoUsername => "pass -u USER".into(),
        })
    }
}

fn split_server(server: &str) -> anyhow::Result<(String, String)> {
    match Location::parse(server)? {
        Location::Registry { host, base } => Ok((host, base)),
        _ => Err(LoginError::NotARegistry(server.to_string()).into()),
    }
}

pub fn login(args: LoginArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let (host, base) = split_server(&args.server)?;
    let interactive = std::io::stdin().is_terminal();
    let username = match args.username.clone() {
        Some(u) => u,
        None if interactive && !args.password_stdin => {
            // A closed stderr only loses the prompt.
            let mut stderr = std::io::stderr();
            let _ = write!(stderr, "Username: ").and_then(|()| stderr.flush());
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the user name")?;
            line.trim().to_string()
        }
        None => anyhow::bail!(LoginError::NoUsername),
    };
    let password = if let Some(password) = args.password.clone() {
        // As Docker warns: the process list shows the arguments.
        to_stderr(
            "warning: a password on the command line can be read by other users of this \
             machine: use --password-stdin",
        );
        password
    } else if args.password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut text)
            .context("cannot read the password from stdin")?;
        text.trim_end_matches(['\n', '\r']).to_string()
    } else if let Ok(p) = std::env::var(packctl::env::EnvVars::PACKCTL_PASSWORD) {
        p
    } else if interactive {
        rpassword::prompt_password("Password: ").context("cannot read the password")?
    } else {
        anyhow::bail!(LoginError::NoPassword);
    };
    if password.is_empty() {
        anyhow::bail!(LoginError::EmptyPassword);
    }
    let transport_options =
        crate::commands::with_saved(&Settings::load()?, &args.server, transport(&args.transport));
    let credential = Credential::Basic {
        username: username.clone(),
        password: password.clone(),
    };
    let store = RegistryStore::new(
        &host,
        &base,
        &transport_options,
        credential,
        RetryPolicy::default(),
    )?;
    block_on(store.check_login())??;
    let stored = crate::commands::docker_config()?.store(&host, &username, &password)?;
    let where_ = match &stored {
        Stored::Helper(helper) => format!("the credential helper docker-credential-{helper}"),
        Stored::ConfigFile(path) => path.display().to_string(),
        _ => "the Docker config".to_string(),
    };
    printer.status(format_args!(
        "Login Succeeded: {username} at {host}; credentials stored in {where_}"
    ));
    if args.default {
        let mut settings = Settings::load()?;
        settings.default_registry = Some(args.server.clone());
        let entry = settings.registry_mut(&args.server);
        entry.plain_http |= args.transport.plain_http;
        entry.insecure |= args.transport.insecure;
        if let Some(ca_file) = &args.transport.ca_file {
            // Saved absolute: later commands run from other folders.
            entry.ca_file = Some(
                std::path::absolute(ca_file).context("cannot make the --ca-file path absolute")?,
            );
        }
        settings.prune();
        let path = settings.save()?;
        printer.status(format_args!(
            "{} is now the default registry ({})",
            args.server,
            path.display()
        ));
    }
    if printer.is_json() {
        // Whether it is the default now, -d or not: it may have been before.
        let is_default =
            Settings::load()?.default_registry.as_deref() == Some(args.server.as_str());
        printer.json(&serde_json::json!({
            "registry": host,
            "username": username,
            "storedIn": where_,
            "default": is_default,
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn logout(args: LogoutArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let (host, _) = split_server(&args.server)?;
    let removed = crate::commands::docker_config()?.erase(&host)?;
    if removed {
        printer.status(format_args!("Removed the credentials for {host}"));
    } else {
        printer.status(format_args!("Not logged in to {host}"));
    }
    // The default registry is a setting of its own: it stays, and the user is told.
    let default = Settings::load()?.default_registry;
    let is_default = default
        .as_deref()
        .is_some_and(|d| d == args.server || split_server(d).is_ok_and(|(h, _)| h == host));
    if is_default {
        printer.status(format_args!(
            "{} stays the default registry (`packctl config unset registry` clears it)",
            default.as_deref().unwrap_or_default()
        ));
    }
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "registry": host,
            "removed": removed,
            "default": is_default,
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}
