//! `packctl pack build DIR --oci-layout OUT`: the artifact, into an OCI image layout.

use crate::cli::BuildArgs;
use crate::commands::{block_on, format_for, push_options};
use crate::printer::Printer;
use packctl::ops::push_to;
use packctl::store::{LayoutStore, Store};
use std::process::ExitCode;

pub fn run(args: BuildArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let server = format!("oci:{}", args.oci_layout.display());
    let mut options = push_options(args.force, format_for(args.format, &server)?)?;
    options.build.message = args.message.clone();
    let store = Store::Layout(LayoutStore::new(&args.oci_layout));
    let outcome = block_on(push_to(
        &store,
        Some(""),
        &args.dir,
        &options,
        &printer.reporter_saying("written"),
    ))??;
    if printer.is_json() {
        // A layout folder has no repository, and nothing was pushed: the folder, and `built`.
        let mut value = serde_json::to_value(&outcome)?;
        if let Some(fields) = value.as_object_mut() {
            fields.remove("repository");
            fields.insert(
                "layout".into(),
                args.oci_layout.display().to_string().into(),
            );
            if fields.get("status").and_then(|s| s.as_str()) == Some("pushed") {
                fields.insert("status".into(), "built".into());
            }
        }
        super::push::left_out(&printer, &outcome.ignored);
        crate::commands::print_warnings(&printer, &outcome.warnings);
        printer.json(&value)?;
    } else {
        super::push::report(&printer, &outcome, "built")?;
    }
    Ok(ExitCode::SUCCESS)
}
