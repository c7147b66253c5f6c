//! `packctl pack images`, `pack export`, `pack import`, and the image half of
//! `pack copy --with-images`.

use crate::cli::{ExportArgs, ImagePrefixArgs, ImagesArgs, ImportArgs, TransportArgs};
use crate::commands::{block_on, credentials, human_bytes, locate, open_store, transport};
use crate::printer::Printer;
use packctl::ops::{
    self, CopyOptions, ExportOptions, ImageCheckOptions, ImagePrefix, ImportOptions, MirrorOptions,
    MirrorStatus, Mirrored,
};
use packctl::sign::keys;
use std::process::ExitCode;

/// `--image-prefix`, as the library takes it.
pub fn prefix(args: &ImagePrefixArgs) -> ImagePrefix {
    match &args.image_prefix {
        Some(p) => ImagePrefix::Fixed(p.clone()),
        None => ImagePrefix::SourceHost,
    }
}

/// How to reach the registries images come from: the command's TLS settings, never plain
/// HTTP (loopback registries fall back to it by themselves), and the Docker config's
/// credentials.
pub fn sources(args: &TransportArgs) -> ImageCheckOptions {
    let mut options = ImageCheckOptions::default();
    options.transport = transport(args);
    options.transport.plain_http = false;
    options.credentials = credentials();
    options
}

/// Mirror options from `PACKCTL_CONCURRENCY`.
pub fn mirror_options() -> anyhow::Result<MirrorOptions> {
    let mut options = MirrorOptions::default();
    if let Some(n) = crate::commands::concurrency()? {
        options.small_concurrency = n;
        options.concurrency = options.concurrency.min(n);
    }
    Ok(options)
}

pub fn images(args: ImagesArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let path = std::path::Path::new(&args.reference);
    let content = if path.is_dir() {
        ops::folder_content(path)
    } else {
        let (store, located) = locate(&args.reference, &args.store)?;
        block_on(ops::stored_content(&store, &located))??
    };
    let infos = block_on(ops::describe_content(
        &content,
        !args.no_resolve,
        &sources(&args.store.transport),
    ))?;
    let failed = infos.iter().filter(|i| i.error.is_some()).count();
    printer.status(format_args!(
        "{}: {}, {}",
        content.reference,
        crate::commands::count(content.images.len(), "image"),
        crate::commands::count(content.charts.len(), "chart")
    ));
    if printer.is_json() {
        printer.json(&infos)?;
    } else {
        for info in &infos {
            let digest = info.digest.as_ref().map_or("-", |d| d.as_str());
            let what = match (info.platforms, &info.error, &info.skipped) {
                (_, Some(error), _) => format!("  (error: {error})"),
                (_, None, Some(why)) => format!("  (not mirrored: {why})"),
                (Some(n), None, None) => format!("  ({n} platforms)"),
                (None, None, None) => String::new(),
            };
            printer.data(format_args!(
                "{:<5}  {}  {digest}{what}",
                info.kind, info.reference
            ))?;
        }
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints what happened to each image and a summary line; returns how many failed.
pub fn report_images(printer: &Printer, mirrored: &[Mirrored]) -> usize {
    let (mut copied, mut unchanged, mut skipped, mut failed) = (0, 0, 0, 0);
    let (mut blobs, mut bytes, mut present) = (0, 0, 0);
    for m in mirrored {
        blobs += m.blobs.transferred;
        bytes += m.blobs.bytes;
        present += m.blobs.present + m.blobs.mounted;
        match &m.status {
            MirrorStatus::Copied => copied += 1,
            MirrorStatus::Unchanged => unchanged += 1,
            MirrorStatus::Skipped { reason } => {
                skipped += 1;
                printer.status(format_args!("skipped {}: {reason}", m.image));
            }
            MirrorStatus::Failed { reason } => {
                failed += 1;
                printer.status(format_args!("error: {}: {reason}", m.image));
            }
            _ => {}
        }
    }
    if !mirrored.is_empty() {
        printer.status(format_args!(
            "images: {copied} copied, {unchanged} unchanged, {skipped} skipped, {failed} failed ({}, {} sent, {present} already there)",
            crate::commands::count(blobs, "blob"),
            human_bytes(bytes)
        ));
    }
    failed
}

/// Copies the images of every pack version `copied` names (after `pack copy`), reading
/// each version's `pack.content` from the target, which holds it now in whatever encoding.
pub fn copy_images(
    to: &packctl::store::Store,
    copied: &[packctl::ops::Copied],
    prefix_args: &ImagePrefixArgs,
    transport_args: &TransportArgs,
    printer: &Printer,
) -> anyhow::Result<Vec<Mirrored>> {
    let options = mirror_options()?;
    let reporter = printer.reporter();
    let mut all = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for c in copied.iter().filter(|c| c.is_pack()) {
        if !seen.insert(c.digest.clone()) {
            continue;
        }
        let located = packctl::ops::Located {
            repository: c.repository.clone(),
            selector: packctl::oci::Selector::Digest(c.digest.clone()),
            name: c.repository.clone(),
        };
        let content = block_on(ops::stored_content(to, &located))??;
        let mut done = block_on(ops::mirror_content(
            &content,
            to,
            &prefix(prefix_args),
            &sources(transport_args),
            &options,
            &reporter,
        ))?;
        // An image two versions list is copied once.
        done.retain(|m| all.iter().all(|a: &Mirrored| a.image != m.image));
        all.append(&mut done);
    }
    Ok(all)
}

pub fn export(args: ExportArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let mut store = None;
    let mut packs = Vec::new();
    for reference in &args.references {
        let (s, located) = locate(reference, &args.store)?;
        if let Some(first) = &store {
            let first: &packctl::store::Store = first;
            if first.location("") != s.location("") {
                anyhow::bail!(
                    "`{reference}` is in {}, the other packs in {}; export from one store at a time",
                    s.location(""),
                    first.location("")
                );
            }
        }
        store.get_or_insert(s);
        packs.push(located);
    }
    let store = match store {
        Some(s) => s,
        None => open_store(&args.store)?,
    };
    let mut options = ExportOptions::default();
    options.with_images = args.with_images;
    options.sources = sources(&args.store.transport);
    if let Some(n) = crate::commands::concurrency()? {
        options.concurrency = n;
    }
    let exported = block_on(ops::export(
        &store,
        &packs,
        &args.output_file,
        &options,
        &printer.reporter(),
    ))??;
    for skipped in &exported.skipped {
        printer.status(format_args!("skipped {skipped}"));
    }
    printer.status(format_args!(
        "exported {} ({}, {}) to {}",
        crate::commands::count_of(exported.entries.len(), "entry", "entries"),
        crate::commands::count(exported.blobs, "blob"),
        human_bytes(exported.bytes),
        exported.file.display()
    ));
    if printer.is_json() {
        printer.json(&exported)?;
    } else {
        for entry in &exported.entries {
            printer.data(format_args!(
                "{:<9}  {}  {}",
                entry.kind, entry.name, entry.digest
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn import(args: ImportArgs, printer: Printer) -> anyhow::Result<ExitCode> {
    let key = match &args.verify_key {
        Some(path) => Some((keys::load_public_key(path)?, path.display().to_string())),
        None => None,
    };
    let to = open_store(&args.store)?;
    let mut options = ImportOptions::default();
    options.verify_key = key;
    options.prefix = prefix(&args.prefix);
    options.repository = args.repository.clone();
    options.mirror = mirror_options()?;
    options.copy = {
        let mut copy = CopyOptions::default();
        copy.force = args.force;
        copy.concurrency = options.mirror.concurrency;
        copy.small_concurrency = options.mirror.small_concurrency;
        copy
    };
    let imported = block_on(ops::import(&args.file, &to, &options, &printer.reporter()))??;
    for v in &imported.verified {
        printer.status(format_args!(
            "verified {}",
            crate::commands::pinned(&v.reference, &v.digest)
        ));
    }
    super::copy::report_copied(&printer, &imported.packs);
    let failed = report_images(&printer, &imported.images);
    if printer.is_json() {
        printer.json(&imported)?;
    } else {
        for c in &imported.packs {
            printer.data(crate::commands::pinned(&c.to, &c.digest))?;
        }
        for m in imported.images.iter().filter(|m| m.digest.is_some()) {
            printer.data(format_args!("{}", m.target))?;
        }
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
