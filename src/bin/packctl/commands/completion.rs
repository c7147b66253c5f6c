//! `packctl completion SHELL`.

use crate::cli::{Cli, CompletionArgs};
use clap::CommandFactory;
use std::process::ExitCode;

pub fn run(args: CompletionArgs) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "packctl",
        &mut crate::printer::Stdout,
    );
    Ok(ExitCode::SUCCESS)
}
