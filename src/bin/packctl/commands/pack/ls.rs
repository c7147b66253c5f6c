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
    if printer.is_json() {
        printer.json(&packs)?;
        return Ok(ExitCode::SUCCESS);
    }
    if packs.is_empty() {
        printer.status("no packs found");
        return Ok(ExitCode::SUCCESS);
    }
    let width = packs.iter().map(|p| p.name.len()).max().unwrap_or(4).max(4);
    let shown = |tag: &packctl::ops::TagInfo| tag.version.clone().unwrap_or(tag.tag.clone());
    let tags = || packs.iter().flat_map(|p| p.tags.iter());
    let messages = tags().any(|t| t.message.is_some());
    let vwidth = tags().map(|t| shown(t).len()).max().unwrap_or(7).max(7);
    if messages {
        printer.data(format_args!(
            "{:width$}  {:vwidth$}  MESSAGE",
            "NAME", "VERSION"
        ))?;
    } else {
        printer.data(format_args!("{:width$}  VERSION", "NAME"))?;
    }
    for pack in &packs {
        for tag in &pack.tags {
            let version = shown(tag);
            match &tag.message {
                Some(message) if messages => printer.data(format_args!(
                    "{:width$}  {version:vwidth$}  {}",
                    pack.name,
                    message.lines().next().unwrap_or("")
                ))?,
                _ => printer.data(format_args!("{:width$}  {version}", pack.name))?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
