//! `packctl pack ls -r SERVER [-n NAME]`.

use crate::cli::LsArgs;
use crate::commands::{block_on, open_store};
use crate::printer::Printer;
use packctl::ops::list;
use std::process::ExitCode;

pub fn run(args: LsArgs, printer: Printer) -> anyhow::Result<ExitCode> {
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
    printer.data(format_args!("{:width$}  VERSION", "NAME"))?;
    for pack in &packs {
        for tag in &pack.tags {
            let version = tag.version.as_deref().unwrap_or(&tag.tag);
            printer.data(format_args!("{:width$}  {version}", pack.name))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
