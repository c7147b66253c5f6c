//! `packctl pack init DIR --name N --layer L`.

use crate::cli::InitArgs;
use crate::printer::Printer;
use packctl::pack::{InitOptions, init};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
struct Created {
    path: String,
    name: String,
    version: String,
    files: Vec<String>,
}

pub fn run(args: InitArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let options = {
        let mut options = InitOptions::new(args.name, args.layer, args.version);
        options.display_name = args.display_name;
        options.addon_type = args.addon_type;
        options.cloud_types = args.cloud_types;
        options
    };
    let written = init(&args.dir, &options)?;
    let files: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    let dir = args.dir.display();
    printer.status(format_args!(
        "created pack {} {} in {dir} ({})",
        options.name,
        options.version,
        files.join(", ")
    ));
    printer.status(format_args!(
        "next: edit {dir}/pack.json and {dir}/values.yaml, then run `packctl pack validate {dir}`"
    ));
    if printer.is_json() {
        printer.json(&Created {
            path: dir.to_string(),
            name: options.name,
            version: options.version.to_string(),
            files,
        })?;
    } else {
        printer.data(dir)?;
    }
    Ok(ExitCode::SUCCESS)
}
