//! Where output goes: results on stdout, status on stderr.

use crate::cli::{GlobalArgs, OutputFormat};
use serde::Serialize;
use std::fmt::Display;
use std::io::{self, Write};

/// Writes results to stdout and status to stderr, as the global options ask.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: OutputFormat,
    quiet: bool,
    verbose: u8,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Self {
        Printer {
            format: global.output,
            quiet: global.quiet,
            verbose: global.verbose,
        }
    }

    /// A status line on stderr, unless `--quiet`.
    pub fn status(&self, message: impl Display) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    /// A detail on stderr, with `--verbose` only.
    #[allow(dead_code)]
    pub fn detail(&self, message: impl Display) {
        if self.verbose > 0 {
            eprintln!("{message}");
        }
    }

    /// A line of the result on stdout.
    pub fn data(&self, line: impl Display) -> io::Result<()> {
        writeln!(io::stdout().lock(), "{line}")
    }

    /// The result as pretty JSON on stdout.
    pub fn json(&self, value: &impl Serialize) -> io::Result<()> {
        let mut out = io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)
    }

    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }
}
