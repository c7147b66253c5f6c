//! `packctl pack validate DIR`: every finding at once; exit 0 valid, 1 invalid.

use crate::cli::ValidateArgs;
use crate::commands::{block_on, transport};
use crate::printer::Printer;
use packctl::ops::{ImageCheckOptions, ImageStatus, check_images};
use packctl::pack::{Finding, InputLimits, content_images, validate};
use serde::Serialize;
use std::process::ExitCode;

/// The JSON report; its shape is stable for CI.
#[derive(Serialize)]
struct Report<'a> {
    path: String,
    valid: bool,
    errors: usize,
    warnings: usize,
    notes: usize,
    pack: Option<PackSummary>,
    findings: &'a [Finding],
}

#[derive(Serialize)]
struct PackSummary {
    name: String,
    version: String,
    layer: String,
    tag: String,
}

pub fn run(args: ValidateArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let mut validation = validate(&args.dir);
    super::push::left_out(&printer, &validation.ignored);
    // A values.yaml that failed its own checks (a link out of the pack, bad YAML) is not
    // read again for images.
    let values_readable = !validation.findings.iter().any(|f| {
        f.is_error() && f.file == packctl::pack::VALUES_YAML && !f.rule.starts_with("content-")
    });
    if args.check_images && values_readable {
        let images = content_images(&args.dir, &InputLimits::default());
        let options = {
            let mut options = ImageCheckOptions::default();
            options.transport = transport(&args.transport);
            options.credentials = crate::commands::credentials();
            options
        };
        let checks = block_on(check_images(&images, &options))??;
        validation
            .findings
            .extend(checks.iter().filter_map(|check| {
                let finding = check.finding()?;
                // The store's own hint (a certificate to trust, a login) says more.
                Some(match &check.status {
                    ImageStatus::Failed(error) => match crate::hints::store(error) {
                        Some(hint) => finding.hint(hint),
                        None => finding,
                    },
                    _ => finding,
                })
            }));
        if validation.errors() > 0 {
            validation.pack = None;
        }
    }
    let (errors, warnings, notes) = (
        validation.errors(),
        validation.warnings(),
        validation.notes(),
    );
    let summary = validation.pack.as_ref().map(|pack| {
        let m = pack.metadata();
        PackSummary {
            name: m.name.clone(),
            version: m.version.to_string(),
            layer: m.layer.to_string(),
            tag: m.tag(),
        }
    });
    if printer.is_json() {
        printer.json(&Report {
            path: args.dir.display().to_string(),
            valid: errors == 0,
            errors,
            warnings,
            notes,
            pack: summary,
            findings: &validation.findings,
        })?;
    } else {
        for finding in &validation.findings {
            printer.finding(finding)?;
        }
        let mut counts = format!(
            "{} error{}, {} warning{}",
            errors,
            plural(errors),
            warnings,
            plural(warnings)
        );
        if notes > 0 {
            counts.push_str(&format!(", {notes} note{}", plural(notes)));
        }
        match summary {
            Some(p) => {
                printer.data(format_args!("valid: {} {} ({})", p.name, p.version, counts))?
            }
            None => printer.data(format_args!("invalid: {} ({})", args.dir.display(), counts))?,
        }
    }
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
