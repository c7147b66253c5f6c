//! `packctl pack pull NAME[:VERSION|@DIGEST] TARGET -r SERVER`.

use crate::cli::PullArgs;
use crate::commands::{block_on, human_bytes, locate, print_warnings};
use crate::printer::Printer;
use packctl::ops::{PullOptions, pull};
use std::process::ExitCode;

pub fn run(args: PullArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let (store, located) = locate(&args.reference, &args.store)?;
    let verify_key = match &args.verify_key {
        Some(path) => Some((
            packctl::sign::keys::load_public_key(path)?,
            path.display().to_string(),
        )),
        None => None,
    };
    let options = PullOptions {
        validate: !args.no_validate,
        verify_key,
        ..PullOptions::default()
    };
    let outcome = block_on(pull(
        &store,
        &located,
        &args.target,
        &options,
        &printer.reporter(),
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
        "pulled {what} into {} ({} encoding, {} blob{}, {})",
        outcome.path.display(),
        serde_json::to_value(outcome.encoding)?
            .as_str()
            .unwrap_or("?"),
        outcome.blobs.transferred,
        if outcome.blobs.transferred == 1 {
            ""
        } else {
            "s"
        },
        human_bytes(outcome.blobs.bytes)
    ));
    if outcome.skipped_layers > 0 {
        printer.status(format_args!(
            "warning: {} layer(s) without a title were not written",
            outcome.skipped_layers
        ));
    }
    if printer.is_json() {
        printer.json(&outcome)?;
    } else {
        printer.data(format_args!("{}@{}", outcome.reference, outcome.digest))?;
    }
    Ok(ExitCode::SUCCESS)
}
