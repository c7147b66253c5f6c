//! The one place errors are rendered: `error:`, then each `caused by:`, then `hint:`.

use crate::printer::{escape, render_finding, to_stderr};
use packctl::pack::PackError;
use std::process::ExitCode;

/// The exit status for an operation that failed: bad input, a refusal, a registry error.
pub const EXIT_FAILURE: u8 = 1;
/// The exit status for a crash inside packctl, which is a bug.
pub const EXIT_INTERNAL: u8 = 3;

/// The exit status after SIGINT or SIGTERM, once what the run made is removed.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Prints `error` to stderr and returns the exit status for it.
///
/// Every message is escaped: errors quote titles, tags and server messages.
pub fn report(error: &anyhow::Error) -> ExitCode {
    if error.is::<crate::commands::Interrupted>() {
        to_stderr("interrupted");
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    let findings = match (
        error.downcast_ref::<PackError>(),
        error.downcast_ref::<packctl::error::Error>(),
    ) {
        (Some(PackError::Invalid { findings, .. }), _) => findings.as_slice(),
        (_, Some(e)) => e.findings(),
        _ => &[],
    };
    for finding in findings.iter().filter(|f| f.is_error()) {
        to_stderr(&render_finding(finding));
    }
    to_stderr(&format!("error: {}", escape(&error.to_string())));
    let mut hint = None;
    for (i, cause) in error.chain().enumerate() {
        if i > 0 {
            to_stderr(&format!("caused by: {}", escape(&cause.to_string())));
        }
        hint = hint.or_else(|| crate::hints::for_error(cause));
    }
    if let Some(hint) = hint {
        to_stderr(&format!("hint: {}", escape(&hint)));
    }
    ExitCode::from(EXIT_FAILURE)
}

/// Makes a panic end the process with [`EXIT_INTERNAL`] and a request to report it.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        to_stderr(
            "error: packctl crashed; this is a bug, please report it with the command you ran",
        );
        std::process::exit(i32::from(EXIT_INTERNAL));
    }));
}
