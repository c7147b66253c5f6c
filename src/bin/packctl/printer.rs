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
    no_progress: bool,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Self {
        Printer {
            format: global.output,
            quiet: global.quiet,
            verbose: global.verbose,
            no_progress: global.no_progress,
        }
    }

    /// A status line on stderr, unless `--quiet`.
    pub fn status(&self, message: impl Display) {
        if !self.quiet {
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

    /// Progress bars when stderr is a terminal, a line per blob with `-v`, else silence.
    pub fn reporter(&self) -> packctl::progress::SharedReporter {
        use std::io::IsTerminal;
        if self.quiet {
            std::sync::Arc::new(packctl::progress::Silent)
        } else if !self.no_progress && io::stderr().is_terminal() {
            std::sync::Arc::new(crate::progress::Bars::new())
        } else if self.verbose > 0 {
            std::sync::Arc::new(crate::progress::Lines::new())
        } else {
            std::sync::Arc::new(packctl::progress::Silent)
        }
    }

    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }
}
