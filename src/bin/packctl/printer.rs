//! Where output goes: results on stdout, status on stderr.
//!
//! Text can come from an artifact or a server, so every line is printed with its control
//! characters escaped: nothing a registry or a pack says can move the cursor, retitle the
//! terminal or forge a line of packctl's own. A reader that closes stdout early ends the
//! output quietly; the command still finishes and exits as it would have.

use crate::cli::{GlobalArgs, OutputFormat};
use packctl::pack::Finding;
use serde::Serialize;
use std::borrow::Cow;
use std::fmt::{Display, Write as _};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

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
            to_stderr(&escape(&message.to_string()));
        }
    }

    /// A status line on stderr only with `-v`.
    pub fn detail(&self, message: impl Display) {
        if self.verbose > 0 {
            self.status(message);
        }
    }

    /// A finding on stderr, unless `--quiet`.
    pub fn status_finding(&self, finding: &Finding) {
        if !self.quiet {
            to_stderr(&render_finding(finding));
        }
    }

    /// A line of the result on stdout.
    pub fn data(&self, line: impl Display) -> io::Result<()> {
        let mut text = escape(&line.to_string()).into_owned();
        text.push('\n');
        Stdout.write_all(text.as_bytes())
    }

    /// A finding as part of the result on stdout.
    pub fn finding(&self, finding: &Finding) -> io::Result<()> {
        let mut text = render_finding(finding);
        text.push('\n');
        Stdout.write_all(text.as_bytes())
    }

    /// The result as pretty JSON on stdout.
    pub fn json(&self, value: &impl Serialize) -> io::Result<()> {
        let mut text = escape_json(&serde_json::to_string_pretty(value)?).into_owned();
        text.push('\n');
        Stdout.write_all(text.as_bytes())
    }

    /// Progress bars when stderr is a terminal, a line per blob with `-v`, else silence.
    pub fn reporter(&self) -> packctl::progress::SharedReporter {
        self.reporter_saying("sent")
    }

    /// [`Printer::reporter`], whose `-v` lines say `done` of a blob that moved (`received` for
    /// a pull, `written` for a build into a folder).
    pub fn reporter_saying(&self, done: &'static str) -> packctl::progress::SharedReporter {
        use std::io::IsTerminal;
        if self.quiet {
            std::sync::Arc::new(packctl::progress::Silent)
        } else if !self.no_progress && io::stderr().is_terminal() {
            std::sync::Arc::new(crate::progress::Bars::new())
        } else if self.verbose > 0 {
            std::sync::Arc::new(crate::progress::Lines::new(done))
        } else {
            std::sync::Arc::new(packctl::progress::Silent)
        }
    }

    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }
}

/// Writes one line to stderr; a stderr nobody reads is no reason to fail. A leading
/// `error` or `warning` is coloured as clap colours it, on a terminal without `NO_COLOR`.
pub fn to_stderr(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{}", paint(line, *COLOUR));
}

/// Whether stderr takes colours: a terminal, and `NO_COLOR` unset or empty (no-color.org).
static COLOUR: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
    use std::io::IsTerminal;
    io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
});

/// `line` with its leading `error`/`warning` (before `:` or `[rule]:`) in bold red/yellow.
fn paint(line: &str, colour: bool) -> Cow<'_, str> {
    if !colour {
        return Cow::Borrowed(line);
    }
    for (word, code) in [("error", "1;31"), ("warning", "1;33")] {
        if let Some(rest) = line.strip_prefix(word)
            && (rest.starts_with(':') || rest.starts_with('['))
        {
            return Cow::Owned(format!("\x1b[{code}m{word}\x1b[0m{rest}"));
        }
    }
    Cow::Borrowed(line)
}

/// Set once a write to stdout found its reader gone; later output is dropped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Stdout for results, where a reader that went away (`EPIPE`) is not an error: the rest
/// of the output is dropped and the command goes on to its own exit status.
///
/// Rust ignores `SIGPIPE`, so a closed pipe shows up here as `EPIPE` instead of killing
/// the process.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        match out.write_all(buf).and_then(|()| out.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Ok(())
            }
            Err(source) => Err(io::Error::new(source.kind(), StdoutError { source })),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Stdout cannot be written (a full disk, a closed descriptor).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the result to stdout")]
pub struct StdoutError {
    #[source]
    source: io::Error,
}

/// A finding as [`Finding`]'s own `Display` writes it, its text escaped and its hint on a
/// second line.
pub fn render_finding(finding: &Finding) -> String {
    let mut head = finding.clone();
    let hint = head.hint.take();
    let mut text = escape(&head.to_string()).into_owned();
    if let Some(hint) = hint {
        text.push_str("\n  hint: ");
        text.push_str(&escape(&hint));
    }
    text
}

/// Whether printing `c` as it is could change the terminal or what the reader sees: C0 and
/// C1 controls (ESC, CSI, BEL, newline, …), DEL, and bidirectional overrides.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character written as an escape (`\n`, `\t`, `\u{1b}`).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// JSON text with the unsafe characters serde_json leaves as they are (DEL, C1 controls,
/// bidirectional overrides) written as `\uXXXX`.
///
/// serde_json escapes every character below U+0020 inside strings, so a raw newline left in
/// `json` is layout and stays; everything else unsafe can only be inside a string.
fn escape_json(json: &str) -> Cow<'_, str> {
    if !json.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c != '\n' && is_unsafe(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_drive_a_terminal() {
        assert_eq!(escape("plain text ü"), "plain text ü");
        assert_eq!(
            escape("a\u{1b}[2Jb\nc\td\u{9b}e\u{7f}\u{202e}"),
            "a\\u{1b}[2Jb\\nc\\td\\u{9b}e\\u{7f}\\u{202e}"
        );
    }

    #[test]
    fn only_a_leading_error_or_warning_is_painted() {
        assert_eq!(paint("error: x", true), "\x1b[1;31merror\x1b[0m: x");
        assert_eq!(
            paint("warning[rule]: x", true),
            "\x1b[1;33mwarning\x1b[0m[rule]: x"
        );
        assert_eq!(paint("error: x", false), "error: x");
        assert_eq!(paint("errors: x", true), "errors: x");
        assert_eq!(paint("pushed x", true), "pushed x");
    }

    #[test]
    fn json_stays_json_with_nothing_unsafe() {
        let value = serde_json::json!({"title": "a\u{1b}b\u{9b}c\u{202e}d\ne"});
        let text = escape_json(&serde_json::to_string_pretty(&value).unwrap()).into_owned();
        assert!(!text.chars().any(|c| c != '\n' && is_unsafe(c)), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
