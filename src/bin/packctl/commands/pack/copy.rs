//! `packctl pack copy NAME[:VERSION] --from SERVER --to SERVER [--all]`.

use crate::cli::CopyArgs;
use crate::commands::{block_on, human_bytes, open, transport};
use crate::printer::Printer;
use packctl::oci::PackRef;
use packctl::ops::{CopyOptions, CopyWhat, PushStatus, copy};
use std::process::ExitCode;

pub fn run(args: CopyArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let what = match &args.reference {
        None => CopyWhat::All,
        Some(reference) => {
            let pack: PackRef = reference.parse().map_err(packctl::error::Error::from)?;
            CopyWhat::Pack {
                name: pack.name,
                selector: pack.selector,
            }
        }
    };
    let from = open(&args.from, transport(&args.transport))?;
    let to = open(&args.to, transport(&args.transport))?;
    let mut options = CopyOptions::default();
    options.force = args.force;
    options.verify_blobs = args.verify_blobs;
    options.format = match args.format {
        Some(flag) => Some(flag.into()),
        None => crate::settings::Settings::load()?
            .format_for(&args.to)
            .map(|_| crate::commands::format_for(None, &args.to))
            .transpose()?,
    };
    options.build =
        crate::commands::push_options(false, packctl::artifact::Format::Structured)?.build;
    if let Some(n) = crate::commands::concurrency()? {
        options.small_concurrency = n;
        options.concurrency = options.concurrency.min(n);
    }
    let copied = block_on(copy(&from, &to, &what, &options, &printer.reporter()))??;
    report_copied(&printer, &copied);
    let images = if args.with_images {
        super::airgap::copy_images(&to, &copied, &args.prefix, &args.transport, &printer)?
    } else {
        Vec::new()
    };
    let failed = super::airgap::report_images(&printer, &images);
    if printer.is_json() {
        if args.with_images {
            printer.json(&serde_json::json!({ "packs": copied, "images": images }))?;
        } else {
            printer.json(&copied)?;
        }
    } else {
        for c in &copied {
            // A referrer is copied by digest: its reference names it already.
            printer.data(crate::commands::pinned(&c.to, &c.digest))?;
        }
        for m in images.iter().filter(|m| m.digest.is_some()) {
            printer.data(&m.target)?;
        }
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One status line per copied manifest.
pub fn report_copied(printer: &Printer, copied: &[packctl::ops::Copied]) {
    for c in copied {
        let how = match &c.status {
            PushStatus::Pushed if c.reencoded => "re-encoded",
            PushStatus::Pushed => "copied",
            PushStatus::Unchanged => "unchanged",
            PushStatus::Overwritten { .. } => "overwrote",
            _ => "copied",
        };
        let mounted = match c.blobs.mounted {
            0 => String::new(),
            n => format!(", {n} mounted"),
        };
        printer.status(format_args!(
            "{how} {} -> {} ({}, {} sent, {} already there{mounted})",
            c.from,
            c.to,
            crate::commands::count(c.blobs.transferred, "blob"),
            human_bytes(c.blobs.bytes),
            c.blobs.present
        ));
    }
}
