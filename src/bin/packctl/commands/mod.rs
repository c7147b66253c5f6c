//! One module per subcommand; each turns parsed arguments into a library call and prints the
//! result.

mod completion;
mod pack;

use crate::cli::{Command, PackCommand, StoreArgs};
use crate::printer::Printer;
use anyhow::Context;
use packctl::artifact::{BuildOptions, Format, rfc3339};
use packctl::env::EnvVars;
use packctl::store::{Location, Store};
use std::future::Future;
use std::process::ExitCode;

pub fn run(command: Command, printer: Printer) -> anyhow::Result<ExitCode> {
    match command {
        Command::Pack(PackCommand::Init(args)) => pack::init::run(args, printer),
        Command::Pack(PackCommand::Validate(args)) => pack::validate::run(args, printer),
        Command::Pack(PackCommand::Build(args)) => pack::build::run(args, printer),
        Command::Pack(PackCommand::Push(args)) => pack::push::run(args, printer),
        Command::Pack(PackCommand::Pull(args)) => pack::pull::run(args, printer),
        Command::Pack(PackCommand::Ls(args)) => pack::ls::run(args, printer),
        Command::Pack(PackCommand::Inspect(args)) => pack::inspect::run(args, printer),
        Command::Completion(args) => completion::run(args),
    }
}

/// Runs a future on a runtime made for this one command.
pub fn block_on<F: Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(future))
}

/// Opens the store `-r` names.
pub fn open_store(args: &StoreArgs) -> anyhow::Result<Store> {
    let Some(server) = &args.registry_server else {
        anyhow::bail!(NoServer);
    };
    Ok(Store::open(&Location::parse(server)?)?)
}

/// No `-r`, and no default.
#[derive(Debug, thiserror::Error)]
#[error("no registry server given")]
pub struct NoServer;

/// Build options from the command line and `SOURCE_DATE_EPOCH`.
pub fn build_options(format: Format) -> anyhow::Result<BuildOptions> {
    let created = match std::env::var(EnvVars::SOURCE_DATE_EPOCH) {
        Ok(value) if !value.trim().is_empty() => {
            let seconds: u64 =
                value
                    .trim()
                    .parse()
                    .map_err(|_| packctl::error::Error::BadEpoch {
                        value: value.clone(),
                    })?;
            Some(rfc3339(seconds))
        }
        _ => None,
    };
    Ok(BuildOptions { format, created })
}

/// A byte count for people: `512 B`, `3.2 KiB`, `1.5 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Prints the warnings of a pack on stderr.
pub fn print_warnings(printer: &Printer, warnings: &[packctl::pack::Finding]) {
    for w in warnings {
        printer.status(w);
    }
}
