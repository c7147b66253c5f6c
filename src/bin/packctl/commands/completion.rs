//! `packctl completion SHELL`.

use crate::cli::{Cli, CompletionArgs};
use clap::CommandFactory;
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: CompletionArgs) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    // The generator panics on a failed write, so it writes to memory and the printer's
    // stdout reports a failure as an error.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "packctl", &mut script);
    crate::printer::Stdout.write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}
