//! `packctl key generate`: cosign.key and cosign.pub, as `cosign generate-key-pair` writes them.

use crate::cli::KeyGenerateArgs;
use crate::printer::Printer;
use packctl::env::EnvVars;
use packctl::sign::SignError;
use packctl::sign::keys;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The password for a new key: COSIGN_PASSWORD, or asked twice on a terminal.
fn new_password() -> anyhow::Result<Vec<u8>> {
    if let Ok(p) = std::env::var(EnvVars::COSIGN_PASSWORD) {
        return Ok(p.into_bytes());
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(SignError::NoPassword);
    }
    let first = rpassword::prompt_password("Enter password for private key: ")?;
    let second = rpassword::prompt_password("Enter password for private key again: ")?;
    if first != second {
        anyhow::bail!("the two passwords differ; nothing was written");
    }
    Ok(first.into_bytes())
}

/// The password of an existing key: COSIGN_PASSWORD, or asked once on a terminal.
pub fn password() -> Result<Vec<u8>, SignError> {
    if let Ok(p) = std::env::var(EnvVars::COSIGN_PASSWORD) {
        return Ok(p.into_bytes());
    }
    if !std::io::stdin().is_terminal() {
        return Err(SignError::NoPassword);
    }
    rpassword::prompt_password("Enter password for private key: ")
        .map(String::into_bytes)
        .map_err(|_| SignError::NoPassword)
}

fn write_key(path: &Path, text: &str, mode: u32, force: bool) -> Result<(), SignError> {
    let err = |source| SignError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Temporary files are created with mode 0600, so the key is never readable by others.
    let mut tmp = packctl::scratch::file_in(&dir).map_err(err)?;
    tmp.as_file()
        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
        .map_err(err)?;
    tmp.write_all(text.as_bytes()).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    if force {
        tmp.persist(path).map_err(|e| err(e.error))?;
    } else {
        // persist_noclobber fails if the file appeared meanwhile.
        tmp.persist_noclobber(path)
            .map_err(|e| match e.error.kind() {
                std::io::ErrorKind::AlreadyExists => SignError::Exists {
                    path: path.to_path_buf(),
                },
                _ => err(e.error),
            })?;
    }
    Ok(())
}

pub fn generate(args: KeyGenerateArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let private = PathBuf::from(format!("{}.key", args.output_key_prefix));
    let public = PathBuf::from(format!("{}.pub", args.output_key_prefix));
    if !args.force {
        for path in [&private, &public] {
            if path.symlink_metadata().is_ok() {
                anyhow::bail!(SignError::Exists { path: path.clone() });
            }
        }
    }
    let password = new_password()?;
    let key = keys::generate();
    let encrypted = keys::encrypt_private_key(&key, &password);
    write_key(&private, &encrypted, 0o600, args.force)?;
    if let Err(e) = write_key(
        &public,
        &keys::public_key_pem(key.verifying_key()),
        // As cosign writes it: anyone may read a public key.
        0o644,
        args.force,
    ) {
        let _ = std::fs::remove_file(&private);
        return Err(e.into());
    }
    printer.status(format_args!("Private key written to {}", private.display()));
    printer.status(format_args!(
        "Public key written to {} (the private key mode 0600, the public 0644)",
        public.display()
    ));
    if printer.is_json() {
        printer.json(&serde_json::json!({"privateKey": private, "publicKey": public}))?;
    } else {
        printer.data(public.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
