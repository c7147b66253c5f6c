//! `packctl pack delete NAME:VERSION [-y] [--dry-run]` and `packctl pack gc -r oci:PATH`.

use crate::cli::DeleteArgs;
use crate::commands::{Declined, block_on, confirm, count, locate, pinned};
use crate::printer::Printer;
use packctl::ops::{Deleted, delete, plan_delete};
use std::process::ExitCode;

pub fn run(args: DeleteArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let (store, located) = locate(&args.reference, &args.store)?;
    if located.tag().is_none() && matches!(located.selector, packctl::oci::Selector::Highest) {
        anyhow::bail!(packctl::error::Error::Reference(
            packctl::oci::ReferenceError {
                reference: args.reference.clone(),
                reason: "it names no version, and a delete takes one".into(),
            }
        ));
    }
    let plan = block_on(plan_delete(&store, &located))??;
    let what = describe(&plan);
    if args.confirm.dry_run {
        printer.status(format_args!("would delete {what}"));
        return report(&printer, &plan);
    }
    if !confirm(&format!("Delete {what}?"), args.confirm.yes)? {
        anyhow::bail!(Declined(pinned(&plan.reference, &plan.digest)));
    }
    let deleted = block_on(delete(&store, &located))??;
    printer.status(format_args!("deleted {}", describe(&deleted)));
    report(&printer, &deleted)
}

/// `REF@DIGEST (tags a, b; 1 signature, 2 referrers)`.
fn describe(d: &Deleted) -> String {
    let mut parts = Vec::new();
    if !d.tags.is_empty() {
        parts.push(format!("tags {}", d.tags.join(", ")));
    }
    if !d.signatures.is_empty() {
        parts.push(count(d.signatures.len(), "signature"));
    }
    if !d.referrers.is_empty() {
        parts.push(count(d.referrers.len(), "referrer"));
    }
    let reference = pinned(&d.reference, &d.digest);
    if parts.is_empty() {
        reference
    } else {
        format!("{reference} ({})", parts.join("; "))
    }
}

fn report(printer: &Printer, d: &Deleted) -> anyhow::Result<ExitCode> {
    if printer.is_json() {
        printer.json(d)?;
    } else {
        printer.data(pinned(&d.reference, &d.digest))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn gc(args: crate::cli::GcArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let store = crate::commands::open_store(&args.store)?;
    let garbage = block_on(packctl::ops::gc(
        &store,
        std::time::Duration::from_secs(args.min_age),
        args.dry_run,
    ))??;
    let young: usize = garbage
        .repositories
        .iter()
        .map(|c| c.collected.kept_young)
        .sum();
    printer.status(format_args!(
        "{} {} ({}) from {}{}",
        if garbage.dry_run {
            "would remove"
        } else {
            "removed"
        },
        count(garbage.removed, "blob"),
        crate::commands::human_bytes(garbage.bytes),
        crate::commands::count_of(garbage.repositories.len(), "repository", "repositories"),
        if young > 0 {
            format!("; kept {} too young to be sure of", count(young, "blob"))
        } else {
            String::new()
        }
    ));
    if printer.is_json() {
        printer.json(&garbage)?;
    } else {
        for c in &garbage.repositories {
            for digest in &c.collected.removed {
                printer.data(format_args!("{}@{digest}", store.location(&c.repository)))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
