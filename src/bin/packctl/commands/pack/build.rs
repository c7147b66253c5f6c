//! `packctl pack build DIR --oci-layout OUT`: the artifact, into an OCI image layout.

use crate::cli::BuildArgs;
use crate::commands::{block_on, push_options};
use crate::printer::Printer;
use packctl::ops::{build_pack, push_artifact};
use packctl::store::{LayoutStore, Store};
use std::process::ExitCode;

pub fn run(args: BuildArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let options = push_options(args.force, args.format.into())?;
    let store = Store::Layout(LayoutStore::new(&args.oci_layout));
    let outcome = block_on(async {
        let (pack, artifact, warnings) = build_pack(&args.dir, &options.build).await?;
        let tag = pack.metadata().tag();
        let mut outcome =
            push_artifact(&store, "", &tag, &artifact, &options, &printer.reporter()).await?;
        outcome.warnings = warnings;
        outcome.ignored = pack.ignored().to_vec();
        Ok::<_, packctl::error::Error>(outcome)
    })??;
    super::push::report(&printer, &outcome, "built")?;
    Ok(ExitCode::SUCCESS)
}
