//! `packctl pack pull NAME[:VERSION|@DIGEST] TARGET -r SERVER`.

use crate::cli::PullArgs;
use crate::commands::{block_on, human_bytes, locate, print_warnings};
use crate::printer::Printer;
use packctl::artifact::unpack::Limits;
use packctl::env::EnvVars;
use packctl::ops::{PullOptions, pull};
use std::process::ExitCode;

/// The caps of a pull: the library's defaults, unless the environment sets others.
fn limits() -> anyhow::Result<Limits> {
    let number = |name: &str| -> anyhow::Result<Option<u64>> {
        match std::env::var(name) {
            Err(_) => Ok(None),
            Ok(text) => text.trim().parse().map(Some).map_err(|_| {
                anyhow::anyhow!("{name} `{text}` is not a whole number; unset it for the default")
            }),
        }
    };
    let mut limits = Limits::default();
    if let Some(n) = number(EnvVars::PACKCTL_MAX_UNPACKED_BYTES)? {
        limits.max_bytes = n;
    }
    if let Some(n) = number(EnvVars::PACKCTL_MAX_LAYERS)? {
        limits = limits.with_max_layers(usize::try_from(n).unwrap_or(usize::MAX));
    }
    if let Some(n) = number(EnvVars::PACKCTL_MAX_PULL_BYTES)? {
        limits = limits.with_max_pull_bytes(n);
    }
    Ok(limits)
}

pub fn run(args: PullArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let (store, located) = locate(&args.reference, &args.store)?;
    let verify_key = match &args.verify_key {
        Some(path) => Some((
            packctl::sign::keys::load_public_key(path)?,
            path.display().to_string(),
        )),
        None => None,
    };
    let options = {
        let mut options = PullOptions::default();
        options.validate = !args.no_validate;
        options.verify_key = verify_key;
        options.limits = limits()?;
        if let Some(n) = crate::commands::concurrency()? {
            options.small_concurrency = n;
            options.concurrency = options.concurrency.min(n);
        }
        options
    };
    // As `helm pull` and `oras pull`: the current folder, in a folder named after the pack.
    let target = match &args.target {
        Some(target) => target.clone(),
        None => std::path::PathBuf::from(
            located
                .repository
                .rsplit('/')
                .next()
                .unwrap_or(&located.repository),
        ),
    };
    let outcome = block_on(pull(
        &store,
        &located,
        &target,
        &options,
        &printer.reporter_saying("received"),
    ))??;
    print_warnings(&printer, &outcome.warnings);
    if let Some(path) = &args.verify_key {
        printer.status(format_args!(
            "verified a signature by {} before writing",
            path.display()
        ));
    }
    let what = match (&outcome.name, &outcome.version) {
        (Some(name), Some(version)) => format!("{name} {version}"),
        _ => outcome.reference.clone(),
    };
    printer.status(format_args!(
        "pulled {what} into {} ({} encoding, {}, {} fetched, {} written)",
        outcome.path.display(),
        serde_json::to_value(outcome.encoding)?
            .as_str()
            .unwrap_or("?"),
        crate::commands::count(outcome.blobs.transferred, "blob"),
        human_bytes(outcome.blobs.bytes),
        human_bytes(outcome.written)
    ));
    if outcome.skipped_layers > 0 {
        printer.status(format_args!(
            "warning: {} without a title not written",
            crate::commands::count(outcome.skipped_layers, "layer")
        ));
    }
    if printer.is_json() {
        printer.json(&outcome)?;
    } else {
        printer.data(format_args!(
            "{}",
            crate::commands::pinned(&outcome.reference, &outcome.digest)
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
