//! The one place errors are rendered: `error:`, then each `caused by:`, then `hint:`.

use crate::printer::{escape, render_finding, to_stderr};
use packctl::pack::PackError;
use std::process::ExitCode;

/// The exit status for an operation that failed: bad input, a refusal, a registry error.
pub const EXIT_FAILURE: u8 = 1;
/// The exit status for a usage error: what the command line says cannot name anything (a
/// malformed name, reference, tag or server, or no server at all), as clap's own.
pub const EXIT_USAGE: u8 = 2;
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
    // A pulled pack's findings are about someone else's folder: their hints (`pack init`,
    // edit pack.json) are not for the one who pulls it.
    let pulled = matches!(
        error.downcast_ref::<packctl::error::Error>(),
        Some(packctl::error::Error::PulledInvalid { .. })
    );
    for finding in findings.iter().filter(|f| f.is_error()) {
        if pulled {
            let mut bare = finding.clone();
            bare.hint = None;
            to_stderr(&render_finding(&bare));
        } else {
            to_stderr(&render_finding(finding));
        }
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
    ExitCode::from(if is_usage(error) {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    })
}

/// Whether the error is the command line's fault: nothing was asked of any store yet.
fn is_usage(error: &anyhow::Error) -> bool {
    use packctl::content::StoreError;
    use packctl::error::Error;
    error.chain().any(|cause| {
        cause.is::<crate::commands::NoServer>()
            || cause.is::<packctl::oci::ReferenceError>()
            || cause.is::<packctl::oci::LocationError>()
            || matches!(
                cause.downcast_ref::<Error>(),
                Some(
                    Error::Reference(_)
                        | Error::Store(StoreError::Location(_) | StoreError::InvalidTag { .. })
                )
            )
            || matches!(
                cause.downcast_ref::<StoreError>(),
                Some(StoreError::Location(_) | StoreError::InvalidTag { .. })
            )
    })
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
