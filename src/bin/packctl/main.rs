//! The packctl command line: parse the arguments, run the command, render the outcome.

mod cli;
mod commands;
mod diagnostics;
mod hints;
mod printer;
mod progress;
mod settings;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    diagnostics::install_panic_hook();
    let cli = cli::Cli::parse();
    let printer = printer::Printer::new(&cli.global);
    match commands::run(cli.command, printer) {
        Ok(code) => code,
        Err(error) => diagnostics::report(&error),
    }
}
