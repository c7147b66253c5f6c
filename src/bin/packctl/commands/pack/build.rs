//! `packctl pack build DIR --oci-layout OUT`: the artifact, into an OCI image layout.

use crate::cli::BuildArgs;
use crate::commands::{block_on, push_options};
use crate::printer::Printer;
use packctl::ops::push_to;
use packctl::store::{LayoutStore, Store};
use std::process::ExitCode;

pub fn run(args: BuildArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let options = push_options(args.force, args.format.into())?;
    let store = Store::Layout(LayoutStore::new(&args.oci_layout));
    let outcome = block_on(push_to(
        &store,
        Some(""),
        &args.dir,
        &options,
        &printer.reporter(),
    ))??;
    super::push::report(&printer, &outcome, "built")?;
    Ok(ExitCode::SUCCESS)
}
