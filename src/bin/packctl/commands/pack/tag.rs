//! `packctl pack tag add REF TAG` and `packctl pack tag delete NAME:TAG`.

use crate::cli::{TagAddArgs, TagDeleteArgs};
use crate::commands::{block_on, locate};
use crate::printer::Printer;
use packctl::ops::{tag_add, tag_delete};
use std::process::ExitCode;

pub fn add(args: TagAddArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let (store, located) = locate(&args.reference, &args.store)?;
    // The spectro CLI names a tag of a group GROUP__LABEL.
    let tag = match &args.group {
        Some(group) => format!("{group}__{}", args.tag),
        None => args.tag.clone(),
    };
    let tagged = block_on(tag_add(&store, &located, &tag, args.force))??;
    if tagged.unchanged {
        printer.status(format_args!(
            "unchanged: {} already points there",
            tagged.reference
        ));
    } else {
        printer.status(format_args!("tagged {}", tagged.reference));
    }
    if printer.is_json() {
        printer.json(&tagged)?;
    } else {
        printer.data(format_args!(
            "{}",
            crate::commands::pinned(&tagged.reference, &tagged.digest)
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn delete(args: TagDeleteArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let (store, located) = locate(&args.reference, &args.store)?;
    let Some(tag) = located.tag() else {
        anyhow::bail!(packctl::error::Error::Reference(
            packctl::oci::ReferenceError {
                reference: args.reference.clone(),
                reason: "it names no tag; write NAME:TAG".into(),
            }
        ));
    };
    let repository = located.repository.clone();
    let reference = store.reference(&repository, &tag);
    // Whether another tag keeps the version: without one, the version goes with this tag.
    let (digest, others) = block_on(async {
        let Some(target) = store.resolve(&repository, &tag).await? else {
            return Err(packctl::error::Error::from(
                packctl::content::StoreError::NotFound {
                    reference: reference.clone(),
                },
            ));
        };
        let mut others =
            packctl::ops::tags_naming(&store, &repository, &target.digest, Some(&tag)).await?;
        others.retain(|t| t != &tag);
        Ok((target.digest, others))
    })??;
    let consequence = if others.is_empty() {
        format!(
            "{reference} is the last tag of {digest}: the version goes with it (`pack delete` also removes its signatures)"
        )
    } else {
        format!("{digest} keeps its other tags: {}", others.join(", "))
    };
    if args.confirm.dry_run {
        printer.status(format_args!(
            "would delete the tag {reference}; {consequence}"
        ));
    } else {
        if others.is_empty() {
            printer.status(format_args!("warning: {consequence}"));
        }
        if !crate::commands::confirm(&format!("Delete the tag {reference}?"), args.confirm.yes)? {
            anyhow::bail!(crate::commands::Declined(reference));
        }
        block_on(tag_delete(&store, &repository, &tag))??;
        printer.status(format_args!("deleted tag {reference}"));
    }
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "reference": reference,
            "digest": digest,
            "otherTags": others,
            "dryRun": args.confirm.dry_run,
        }))?;
    } else {
        printer.data(&reference)?;
    }
    Ok(ExitCode::SUCCESS)
}
