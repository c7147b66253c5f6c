//! `packctl pack attach REF --artifact-type T FILE…` and `packctl pack referrers REF`.

use crate::cli::{AttachArgs, ReferrersArgs};
use crate::commands::{block_on, locate};
use crate::printer::Printer;
use packctl::ops::{attach as attach_files, referrer_tree, resolve};
use std::process::ExitCode;

pub fn attach(args: AttachArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let (store, located) = locate(&args.reference, &args.store)?;
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| packctl::artifact::rfc3339(d.as_secs()));
    let attached = block_on(attach_files(
        &store,
        &located,
        &args.artifact_type,
        &args.files,
        created,
    ))??;
    printer.status(format_args!(
        "attached {} ({}) to {}",
        attached.files.join(", "),
        attached.artifact_type,
        crate::commands::pinned(&attached.subject, &attached.subject_digest)
    ));
    if printer.is_json() {
        printer.json(&attached)?;
    } else {
        printer.data(format_args!(
            "{}@{}",
            store.location(&located.repository),
            attached.digest
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn list(args: ReferrersArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let (store, located) = locate(&args.reference, &args.store)?;
    let tree = block_on(async {
        let resolved = resolve(&store, &located).await?;
        let tree = referrer_tree(
            &store,
            &resolved.repository,
            &resolved.descriptor.digest,
            args.artifact_type.as_deref(),
        )
        .await?;
        Ok::<_, packctl::error::Error>((resolved, tree))
    })??;
    let (resolved, tree) = tree;
    if printer.is_json() {
        printer.json(&tree)?;
        return Ok(ExitCode::SUCCESS);
    }
    let digest = resolved.descriptor.digest.as_str();
    if resolved.reference.ends_with(digest) {
        printer.data(&resolved.reference)?;
    } else {
        printer.data(format_args!("{}@{digest}", resolved.reference))?;
    }
    super::inspect::print_tree(&printer, &tree, "")?;
    if tree.is_empty() {
        printer.status("no referrers");
    }
    Ok(ExitCode::SUCCESS)
}
