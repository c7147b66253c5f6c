//! `packctl pack sign REF --key KEY` and `packctl pack verify REF --key PUB`.

use crate::cli::{SignArgs, VerifyArgs};
use crate::commands::key::password;
use crate::commands::{block_on, locate};
use crate::printer::Printer;
use packctl::ops::sign;
use packctl::sign::keys;
use std::process::ExitCode;

pub fn sign(args: SignArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    // The reference is resolved before the key's password is asked for: a typo in it costs
    // no password.
    let (store, mut located) = locate(&args.reference, &args.store)?;
    let resolved = block_on(packctl::ops::resolve(&store, &located))??;
    if matches!(located.selector, packctl::oci::Selector::Highest)
        && let Some(tag) = &resolved.tag
    {
        printer.status(format_args!(
            "{} names no version: signing its highest, {}",
            args.reference, resolved.reference
        ));
        located.selector = packctl::oci::Selector::Tag(tag.clone());
    }
    let key = keys::load_private_key(&args.key, password)?;
    let signed = block_on(sign::sign_with(
        &store,
        &located,
        &key,
        args.signature_format.into(),
    ))??;
    report_signed(&printer, &signed)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints a signature: status on stderr, the signature reference on stdout.
pub fn report_signed(printer: &Printer, signed: &sign::Signed) -> anyhow::Result<()> {
    if signed.added {
        printer.status(format_args!(
            "signed {}",
            crate::commands::pinned(&signed.reference, &signed.digest)
        ));
    } else {
        printer.status(format_args!(
            "unchanged: this key had signed {} already",
            signed.reference
        ));
    }
    if printer.is_json() {
        printer.json(signed)?;
    } else {
        printer.data(format_args!(
            "{}@{}",
            signed.signature, signed.signature_digest
        ))?;
    }
    Ok(())
}

pub fn verify(args: VerifyArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let key = keys::load_public_key(&args.key)?;
    let (store, located) = locate(&args.reference, &args.store)?;
    let name = args.key.display().to_string();
    let verified = block_on(sign::verify(&store, &located, &key, &name))??;
    for skipped in &verified.skipped {
        printer.status(format_args!(
            "warning: skipped a signature of {}: {skipped}",
            verified.reference
        ));
    }
    for other in &verified.rejected {
        printer.detail(format_args!("not this key's: {other}"));
    }
    let formats: Vec<String> = verified.formats.iter().map(|f| f.to_string()).collect();
    printer.status(format_args!(
        "verified {}: {} by {name} ({})",
        crate::commands::pinned(&verified.reference, &verified.digest),
        crate::commands::count(verified.signatures, "signature"),
        formats.join(" and ")
    ));
    if printer.is_json() {
        printer.json(&verified)?;
    } else {
        printer.data(format_args!(
            "{}",
            crate::commands::pinned(&verified.reference, &verified.digest)
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
