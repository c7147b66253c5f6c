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
    for c in &copied {
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
            "{how} {} -> {} ({} blob(s), {} sent, {} already there{mounted})",
            c.from,
            c.to,
            c.blobs.transferred,
            human_bytes(c.blobs.bytes),
            c.blobs.present
        ));
    }
    if printer.is_json() {
        printer.json(&copied)?;
    } else {
        for c in &copied {
            // A referrer is copied by digest: its reference names it already.
            if c.to.ends_with(c.digest.as_str()) {
                printer.data(&c.to)?;
            } else {
                printer.data(format_args!("{}@{}", c.to, c.digest))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
