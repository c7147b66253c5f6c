//! `packctl pack push DIR -r SERVER [-f]`: stdout gets `reference@digest`.

use crate::cli::PushArgs;
use crate::commands::{
    block_on, format_for, human_bytes, open_store, print_warnings, push_options, server,
    spectro_compat,
};
use crate::printer::Printer;
use packctl::ops::{PushOutcome, PushStatus, push};
use packctl::pack::Ignored;
use std::process::ExitCode;

pub fn run(args: PushArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    if args.force && args.message.is_none() && spectro_compat()? {
        crate::cli::usage_error(
            clap::error::ErrorKind::MissingRequiredArgument,
            "-m/--message is required with -f under spectro compatibility \
             (PACKCTL_SPECTRO_COMPAT, or `packctl config set spectro-compat true`)",
        );
    }
    let server = server(&args.store)?;
    let store = open_store(&args.store)?;
    let mut options = push_options(args.force, format_for(args.format, &server)?)?;
    options.verify_blobs = args.verify_blobs;
    options.skip_digest_check = args.skip_digest_check;
    options.build.message = args.message.clone();
    // Read the key before pushing, so a wrong password does not leave an unsigned push.
    let key = match &args.sign {
        Some(path) => Some(packctl::sign::keys::load_private_key(
            path,
            crate::commands::key::password,
        )?),
        None => None,
    };
    let outcome = block_on(push(&store, &args.dir, &options, &printer.reporter()))??;
    report(&printer, &outcome, "pushed")?;
    if let PushStatus::Overwritten { previous } = &outcome.status
        && key.is_none()
        // The warning is a courtesy: a store that cannot say is taken as unsigned.
        && block_on(packctl::ops::is_signed(
            &store,
            &outcome.repository,
            previous,
            None,
        ))?
        .unwrap_or(false)
    {
        printer.status(format_args!(
            "warning: {previous}, which {} named before, was signed; its signatures do not cover what the tag names now: sign {} again",
            outcome.reference, outcome.reference
        ));
    }
    if let Some(key) = key {
        let located = packctl::ops::Located {
            repository: outcome.repository.clone(),
            selector: packctl::oci::Selector::Digest(outcome.digest.clone()),
            name: outcome.reference.clone(),
        };
        let signed = block_on(packctl::ops::sign::sign_with(
            &store,
            &located,
            &key,
            args.signature_format.into(),
        ))??;
        if signed.added {
            printer.status(format_args!(
                "signed {}: {}",
                outcome.reference, signed.signature
            ));
        } else {
            printer.status(format_args!(
                "unchanged: this key had signed {} already",
                outcome.reference
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a push outcome: status on stderr, `reference@digest` or JSON on stdout.
pub fn report(printer: &Printer, outcome: &PushOutcome, verb: &str) -> anyhow::Result<()> {
    left_out(printer, &outcome.ignored);
    print_warnings(printer, &outcome.warnings);
    let blobs = &outcome.blobs;
    let sent = format!(
        "{}, {} sent, {} already there",
        crate::commands::count(blobs.transferred, "blob"),
        human_bytes(blobs.bytes),
        blobs.present
    );
    match &outcome.status {
        PushStatus::Pushed => printer.status(format_args!("{verb} {}: {sent}", outcome.reference)),
        PushStatus::Unchanged => printer.status(format_args!(
            "unchanged: {} already holds this pack",
            outcome.reference
        )),
        PushStatus::Overwritten { previous } => printer.status(format_args!(
            "overwrote {} (was {previous}): {sent}",
            outcome.reference
        )),
        _ => printer.status(format_args!("{verb} {}: {sent}", outcome.reference)),
    }
    if printer.is_json() {
        printer.json(outcome)?;
    } else {
        printer.data(format_args!(
            "{}",
            crate::commands::pinned(&outcome.reference, &outcome.digest)
        ))?;
    }
    Ok(())
}

/// With `-v`, what the ignore rules left out of the pack folder, one line each on stderr.
pub fn left_out(printer: &Printer, ignored: &[Ignored]) {
    for entry in ignored {
        printer.detail(format_args!("left out: {entry}"));
    }
}
