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
    // `PACKCTL_COMPLETE=bash packctl` prints the shell's registration; the shell then calls
    // packctl with the variable set for each completion, answered here before anything else.
    clap_complete::CompleteEnv::with_factory(<cli::Cli as clap::CommandFactory>::command)
        .var("PACKCTL_COMPLETE")
        .complete();
    check_output_variable();
    let cli = cli::Cli::parse();
    install_tracing(&cli.global);
    commands::set_registry_config(cli.global.registry_config.clone());
    let printer = printer::Printer::new(&cli.global);
    match commands::run(cli.command, printer) {
        Ok(code) => code,
        Err(error) => diagnostics::report(&error),
    }
}

/// Refuses a `PACKCTL_OUTPUT` that is neither `text` nor `json` as a usage error that names
/// the variable (clap's own message names only `--output`).
fn check_output_variable() {
    let name = packctl::env::EnvVars::PACKCTL_OUTPUT;
    let Some(value) = std::env::var_os(name) else {
        return;
    };
    let value = value.to_string_lossy();
    if !value.is_empty() && !matches!(value.as_ref(), "text" | "json") {
        cli::usage_error(
            clap::error::ErrorKind::InvalidValue,
            format!("{name} is `{value}`; it is `text` or `json`"),
        );
    }
}

/// Sends the library's traces to stderr: retries at `-v`, each request at `-vv`, everything
/// with `--debug`; nothing otherwise.
fn install_tracing(global: &cli::GlobalArgs) {
    use tracing_subscriber::filter::LevelFilter;
    let level = match (global.debug, global.verbose) {
        (true, _) => LevelFilter::TRACE,
        (false, 0) => return,
        (false, 1) => LevelFilter::INFO,
        (false, _) => LevelFilter::DEBUG,
    };
    let filter = tracing_subscriber::filter::Targets::new().with_target("packctl", level);
    use tracing_subscriber::layer::{Layer as _, SubscriberExt as _};
    use tracing_subscriber::util::SubscriberInitExt as _;
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(
                    std::io::IsTerminal::is_terminal(&std::io::stderr())
                        && std::env::var_os("NO_COLOR").is_none(),
                )
                .without_time()
                .with_filter(filter),
        )
        .try_init();
}
