//! `packctl pack init DIR --name N --layer L`, and `pack init DIR --from-chart CHART`.

use crate::cli::InitArgs;
use crate::commands::{block_on, credentials, transport, with_saved};
use crate::printer::Printer;
use crate::settings::Settings;
use packctl::pack::chart::{ChartOptions, init_from_chart};
use packctl::pack::{InitOptions, Layer, init};
use packctl::store::OpenOptions;
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
    if let Some(chart) = args.from_chart.clone() {
        return from_chart(&chart, args, printer);
    }
    let (Some(name), Some(layer)) = (args.name, args.layer) else {
        // clap requires both without --from-chart.
        anyhow::bail!("pass --name and --layer, or --from-chart");
    };
    let version = args
        .version
        .unwrap_or_else(|| packctl::oci::version::Version::parse("1.0.0").expect("a version"));
    let options = {
        let mut options = InitOptions::new(name, layer, version);
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

fn from_chart(source: &str, args: InitArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let open = {
        let mut options = OpenOptions::default();
        let server = source
            .strip_prefix("oci://")
            .and_then(|r| r.split('/').next())
            .unwrap_or("");
        options.transport = with_saved(&Settings::load()?, server, transport(&args.transport));
        options.credentials = credentials();
        options
    };
    let chart = block_on(packctl::ops::fetch_chart(source, &open))??;
    let options = {
        let mut o = ChartOptions::default();
        o.name = args.name;
        o.version = args.version;
        o.display_name = args.display_name;
        o.addon_type = args.addon_type;
        o.cloud_types = args.cloud_types;
        o
    };
    let made = init_from_chart(&args.dir, &chart, &options)?;
    for warning in &made.warnings {
        printer.status(format_args!("warning: {warning}"));
    }
    let dir = args.dir.display();
    printer.status(format_args!(
        "created pack {} {} ({} layer, addonType {}{}) from the chart {} {} in {dir}: {} image{}",
        made.name,
        made.version,
        Layer::Addon,
        made.addon_type,
        if made.addon_type_inferred {
            ", from the chart's keywords"
        } else {
            ""
        },
        chart.name,
        chart.version,
        made.images.len(),
        if made.images.len() == 1 { "" } else { "s" },
    ));
    printer.status(format_args!(
        "next: check {dir}/values.yaml, then run `packctl pack validate {dir}`"
    ));
    if printer.is_json() {
        printer.json(&made)?;
    } else {
        printer.data(dir)?;
    }
    Ok(ExitCode::SUCCESS)
}
