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
    // pack.json's metadata, where the config is pack.json (the structured encoding).
    if let Some(pack) = &found.pack {
        for key in ["layer", "addonType", "cloudTypes", "eol", "constraints"] {
            let Some(value) = pack.get(key) else { continue };
            let text = match value {
                serde_json::Value::Object(_) if key == "constraints" => {
                    let text = constraints(value);
                    if text.is_empty() {
                        continue;
                    }
                    text
                }
                serde_json::Value::String(s) if s.is_empty() => continue,
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) if items.is_empty() => continue,
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(", "),
                serde_json::Value::Null => continue,
                other => other.to_string(),
            };
            field(key, &text)?;
        }
    }
    if !found.tags.is_empty() {
        field("tags", &found.tags.join(", "))?;
    }
    if !found.signatures.is_empty() {
        field("signatures", &found.signatures.join(", "))?;
    }
    // The same three numbers as the JSON's size, blobsSize and totalSize.
    field(
        "size",
        &format!(
            "{} ({} B: manifest {} B + blobs {} B)",
            human_bytes(found.total_size),
            found.total_size,
            found.size,
            found.blobs_size
        ),
    )?;
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

/// pack.json's `constraints` in a line: `needs kubernetes (k8s) 1.27.0 or later; cpu at
/// least 500, memory at least 256`.
fn constraints(value: &serde_json::Value) -> String {
    let text = |v: &serde_json::Value, k: &str| {
        v.get(k)
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .filter(|s| !s.is_empty())
    };
    let mut parts = Vec::new();
    for dep in value
        .get("dependencies")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
    {
        let name = text(dep, "packName").unwrap_or_else(|| "?".into());
        let layer = text(dep, "layer")
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        let range = match (text(dep, "minVersion"), text(dep, "maxVersion")) {
            (Some(min), Some(max)) => format!(" {min} to {max}"),
            (Some(min), None) => format!(" {min} or later"),
            (None, Some(max)) => format!(" up to {max}"),
            (None, None) => String::new(),
        };
        let how = match text(dep, "type").as_deref() {
            Some("notSupported") => "not with",
            Some("optional") => "optionally",
            _ => "needs",
        };
        parts.push(format!("{how} {name}{layer}{range}"));
    }
    for resource in value
        .get("resources")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
    {
        if let (Some(kind), Some(min)) = (text(resource, "type"), text(resource, "minLimit")) {
            parts.push(format!("{kind} at least {min}"));
        }
    }
    parts.join("; ")
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
