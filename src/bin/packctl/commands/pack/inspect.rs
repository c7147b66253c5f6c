//! `packctl pack inspect NAME[:VERSION|@DIGEST] -r SERVER`.

use crate::cli::InspectArgs;
use crate::commands::{block_on, human_bytes, locate};
use crate::printer::Printer;
use packctl::oci::annotation;
use packctl::ops::inspect;
use std::process::ExitCode;

pub fn run(args: InspectArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let (store, located) = locate(&args.reference, &args.store)?;
    let found = block_on(inspect(&store, &located))??;
    if printer.is_json() {
        printer.json(&found)?;
        return Ok(ExitCode::SUCCESS);
    }
    let m = &found.manifest;
    let field = |name: &str, value: &str| printer.data(format_args!("{name:<13}{value}"));
    field("reference", &found.reference)?;
    field("digest", found.digest.as_str())?;
    let encoding = found
        .encoding
        .map_or_else(|| "not a pack".to_string(), |e| e.to_string());
    field("encoding", &encoding)?;
    if let Some(t) = &m.artifact_type {
        field("artifactType", t)?;
    }
    for (key, label) in [
        (annotation::TITLE, "name"),
        (annotation::VERSION, "version"),
        (annotation::DESCRIPTION, "displayName"),
        (annotation::CREATED, "created"),
        (annotation::MESSAGE, "message"),
    ] {
        if let Some(v) = m.annotations.get(key) {
            field(label, v)?;
        }
    }
    if let Some(layer) = found.pack.as_ref().and_then(|p| p.get("layer")?.as_str()) {
        field("layer", layer)?;
    }
    let total: u64 = m.config.size + m.layers.iter().map(|l| l.size).sum::<u64>();
    field("size", &human_bytes(total))?;
    printer.data("layers:")?;
    let width = m
        .layers
        .iter()
        .map(|l| l.title().unwrap_or("-").len())
        .max()
        .unwrap_or(1);
    for layer in &m.layers {
        printer.data(format_args!(
            "  {:width$}  {:>10}  {}  {}",
            layer.title().unwrap_or("-"),
            human_bytes(layer.size),
            layer.digest,
            layer.media_type,
        ))?;
    }
    if !found.referrers.is_empty() {
        printer.data("referrers:")?;
        print_tree(&printer, &found.referrers, "  ")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A tree of referrers, one per line: artifact type, digest, created (as `oras discover`).
pub fn print_tree(
    printer: &Printer,
    referrers: &[packctl::ops::Referrer],
    indent: &str,
) -> anyhow::Result<()> {
    for (i, r) in referrers.iter().enumerate() {
        let last = i + 1 == referrers.len();
        printer.data(format_args!(
            "{indent}{} {}  {}{}",
            if last { "└──" } else { "├──" },
            r.artifact_type.as_deref().unwrap_or("-"),
            r.digest,
            r.created
                .as_deref()
                .map(|c| format!("  {c}"))
                .unwrap_or_default()
        ))?;
        let deeper = format!("{indent}{}", if last { "    " } else { "│   " });
        print_tree(printer, &r.referrers, &deeper)?;
    }
    Ok(())
}
