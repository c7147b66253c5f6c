//! One module per subcommand; each turns parsed arguments into a library call and prints the
//! result.

mod completion;
mod pack;

use crate::cli::{Command, PackCommand};
use crate::printer::Printer;
use std::process::ExitCode;

pub fn run(command: Command, printer: Printer) -> anyhow::Result<ExitCode> {
    match command {
        Command::Pack(PackCommand::Init(args)) => pack::init::run(args, printer),
        Command::Pack(PackCommand::Validate(args)) => pack::validate::run(args, printer),
        Command::Completion(args) => completion::run(args),
    }
}
