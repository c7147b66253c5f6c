//! `packctl pack ls -r SERVER [-n NAME]`.

use crate::cli::LsArgs;
use crate::commands::{block_on, open_store};
use crate::printer::Printer;
use packctl::ops::list;
use std::process::ExitCode;

pub fn run(mut args: LsArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    if let Some(server) = args.server.take() {
        args.store.registry_server = Some(server);
    }
    let store = open_store(&args.store)?;
    let packs = block_on(list(&store, args.name.as_deref()))??;
    let rows: Vec<Vec<packctl::ops::VersionRow>> = block_on(async {
        let mut all = Vec::new();
        for pack in &packs {
            all.push(packctl::ops::version_rows(&store, pack).await?);
        }
        Ok::<_, packctl::error::Error>(all)
    })??;
    if printer.is_json() {
        let out: Vec<serde_json::Value> = packs
            .iter()
            .zip(&rows)
            .map(|(pack, versions)| {
                serde_json::json!({
                    "name": pack.name,
                    "repository": pack.repository,
                    "versions": versions,
                    "tags": pack.tags,
                })
            })
            .collect();
        printer.json(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if packs.is_empty() {
        printer.status("no packs found");
        return Ok(ExitCode::SUCCESS);
    }
    // One row per version (manifest), with every tag that names it.
    let mut table: Vec<[String; 8]> = vec![[
        "NAME".into(),
        "VERSION".into(),
        "DIGEST".into(),
        "SIZE".into(),
        "CREATED".into(),
        "SIGNED".into(),
        "TAGS".into(),
        "MESSAGE".into(),
    ]];
    for (pack, versions) in packs.iter().zip(&rows) {
        for row in versions {
            let hex = row.digest.hex();
            table.push([
                pack.name.clone(),
                row.version.clone().unwrap_or_else(|| "-".into()),
                format!("{}:{}", row.digest.algorithm(), &hex[..hex.len().min(12)]),
                // No space inside a cell: scripts split the table on whitespace.
                row.size.map_or_else(
                    || "-".into(),
                    |b| crate::commands::human_bytes(b).replace(' ', ""),
                ),
                row.created.clone().unwrap_or_else(|| "-".into()),
                if row.signed { "yes" } else { "no" }.into(),
                row.tags.join(","),
                row.message
                    .as_deref()
                    .and_then(|m| m.lines().next())
                    .unwrap_or("")
                    .to_string(),
            ]);
        }
    }
    let widths: Vec<usize> = (0..8)
        .map(|c| {
            table
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &table {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        printer.data(line.trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}
