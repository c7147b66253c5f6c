//! `packctl pack delete NAME:VERSION`.

use crate::cli::DeleteArgs;
use crate::commands::{block_on, locate};
use crate::printer::Printer;
use packctl::ops::delete;
use std::process::ExitCode;

pub fn run(args: DeleteArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let (store, located) = locate(&args.reference, &args.store)?;
    if located.tag().is_none() && matches!(located.selector, packctl::oci::Selector::Highest) {
        anyhow::bail!(packctl::error::Error::Reference(
            packctl::oci::ReferenceError {
                reference: args.reference.clone(),
                reason: "it names no version; write NAME:VERSION or NAME@sha256:…".into(),
            }
        ));
    }
    let deleted = block_on(delete(&store, &located))??;
    let tags = if deleted.tags.is_empty() {
        String::new()
    } else {
        format!(" (tags {})", deleted.tags.join(", "))
    };
    printer.status(format_args!("deleted {}{tags}", deleted.reference));
    if printer.is_json() {
        printer.json(&deleted)?;
    } else {
        printer.data(format_args!(
            "{}",
            crate::commands::pinned(&deleted.reference, &deleted.digest)
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
