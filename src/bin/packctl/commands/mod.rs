//! One module per subcommand; each turns parsed arguments into a library call and prints the
//! result.

pub mod complete;
mod completion;
pub mod config;
pub mod key;
mod pack;
pub mod registry;

use crate::cli::{
    Command, FormatArg, KeyCommand, PackCommand, RegistryCommand, StoreArgs, TagCommand,
    TransportArgs,
};
use crate::printer::Printer;
use crate::settings::Settings;
use anyhow::Context;
use clap::ValueEnum;
use packctl::artifact::{BuildOptions, Format, rfc3339};
use packctl::auth::{Credential, CredentialSource, DockerConfig};
use packctl::env::EnvVars;
use packctl::oci::FullRef;
use packctl::oci::Location;
use packctl::oci::PackRef;
use packctl::ops::{Located, PushOptions};
use packctl::registry::TransportOptions;
use packctl::store::{OpenOptions, Store};
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{Signal, SignalKind, signal};

pub fn run(command: Command, printer: Printer) -> anyhow::Result<ExitCode> {
    match command {
        Command::Pack(PackCommand::Init(args)) => pack::init::run(args, printer),
        Command::Pack(PackCommand::Validate(args)) => pack::validate::run(args, printer),
        Command::Pack(PackCommand::Build(args)) => pack::build::run(args, printer),
        Command::Pack(PackCommand::Push(args)) => pack::push::run(args, printer),
        Command::Pack(PackCommand::Pull(args)) => pack::pull::run(args, printer),
        Command::Pack(PackCommand::Ls(args)) => pack::ls::run(args, printer),
        Command::Pack(PackCommand::Inspect(args)) => pack::inspect::run(args, printer),
        Command::Pack(PackCommand::Tag(TagCommand::Add(args))) => pack::tag::add(args, printer),
        Command::Pack(PackCommand::Tag(TagCommand::Delete(args))) => {
            pack::tag::delete(args, printer)
        }
        Command::Pack(PackCommand::Delete(args)) => pack::delete::run(args, printer),
        Command::Pack(PackCommand::Copy(args)) => pack::copy::run(args, printer),
        Command::Pack(PackCommand::Sign(args)) => pack::sign::sign(args, printer),
        Command::Pack(PackCommand::Verify(args)) => pack::sign::verify(args, printer),
        Command::Pack(PackCommand::Attach(args)) => pack::referrers::attach(args, printer),
        Command::Pack(PackCommand::Referrers(args)) => pack::referrers::list(args, printer),
        Command::Pack(PackCommand::Images(args)) => pack::airgap::images(args, printer),
        Command::Pack(PackCommand::Export(args)) => pack::airgap::export(args, printer),
        Command::Pack(PackCommand::Import(args)) => pack::airgap::import(args, printer),
        Command::Pack(PackCommand::Gc(args)) => pack::delete::gc(args, printer),
        Command::Key(KeyCommand::Generate(args)) => key::generate(args, printer),
        Command::Registry(RegistryCommand::Login(args)) => registry::login(args, printer),
        Command::Registry(RegistryCommand::Logout(args)) => registry::logout(args, printer),
        Command::Config(command) => config::run(command, printer),
        Command::Version => {
            // The command line is the `cli` feature; the library's own are listed too.
            let features = ["cli"];
            if printer.is_json() {
                printer.json(&serde_json::json!({
                    "version": env!("CARGO_PKG_VERSION"),
                    "commit": env!("PACKCTL_COMMIT"),
                    "date": env!("PACKCTL_COMMIT_DATE"),
                    "features": features,
                }))?;
            } else {
                printer.data(format_args!("packctl {}", crate::cli::LONG_VERSION))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Completion(args) => completion::run(args),
        Command::Man(args) => completion::man(args, printer),
    }
}

/// How long an interrupted command waits for work still running on other threads
/// (unpacking, compressing, hashing) to stop before it removes its temporary files.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(2);

/// SIGINT or SIGTERM stopped the command; what it had made is removed.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Runs a future on a runtime made for this one command, until it ends or SIGINT or
/// SIGTERM arrives.
///
/// On a signal the future is dropped, so the temporary files and folders it owns remove
/// themselves; then work on blocking threads gets [`INTERRUPT_GRACE`] to stop, and whatever
/// temporary entries of this process remain (a folder recreated by that work) are removed.
pub fn block_on<F: Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let output = runtime.block_on(async {
        // Listen before the command starts, so no signal falls between the two.
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        tokio::select! {
            biased;
            () = arrival(interrupt) => None,
            () = arrival(terminate) => None,
            output = future => Some(output),
        }
    });
    match output {
        Some(output) => Ok(output),
        None => {
            runtime.shutdown_timeout(INTERRUPT_GRACE);
            packctl::scratch::remove_own();
            Err(Interrupted.into())
        }
    }
}

/// Resolves when `signal` arrives; never, when it could not be listened to.
async fn arrival(signal: Option<Signal>) {
    if let Some(mut signal) = signal
        && signal.recv().await.is_some()
    {
        return;
    }
    std::future::pending::<()>().await
}

/// The Docker config file `--registry-config` names, for the whole run.
static REGISTRY_CONFIG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Takes `--registry-config` for the rest of the run.
pub fn set_registry_config(path: Option<PathBuf>) {
    if let Some(path) = path {
        let _ = REGISTRY_CONFIG.set(path);
    }
}

/// The Docker config: the file `--registry-config` names, else `$DOCKER_CONFIG/config.json`
/// or `~/.docker/config.json`.
pub fn docker_config() -> Result<DockerConfig, packctl::auth::CredentialError> {
    match REGISTRY_CONFIG.get() {
        Some(file) => Ok(DockerConfig::from_file(file)),
        None => DockerConfig::from_env(),
    }
}

/// Where `certs.d` folders are looked for.
fn certs_dirs() -> Vec<PathBuf> {
    if let Some(dirs) = std::env::var_os(EnvVars::PACKCTL_CERTS_DIRS) {
        return std::env::split_paths(&dirs).collect();
    }
    let mut dirs = vec![PathBuf::from("/etc/docker/certs.d")];
    if let Ok(docker) = docker_config() {
        dirs.push(docker.dir().join("certs.d"));
    }
    dirs
}

/// Where registry credentials come from: the Docker config, or none when there is no folder
/// for one (neither DOCKER_CONFIG nor HOME is set).
pub fn credentials() -> Arc<dyn CredentialSource> {
    match docker_config() {
        Ok(config) => Arc::new(config),
        Err(_) => Arc::new(Credential::Anonymous),
    }
}

/// Transport options from the command line.
pub fn transport(args: &TransportArgs) -> TransportOptions {
    {
        let mut options = TransportOptions::default();
        options.plain_http = args.plain_http;
        options.insecure = args.insecure;
        options.ca_files = args.ca_file.iter().cloned().collect();
        options.certs_dirs = certs_dirs();
        options.stall_timeout = args.stall_timeout.map(std::time::Duration::from_secs);
        options
    }
}

/// Adds what `packctl config` saved for `server` (plain HTTP, TLS verification, a CA file)
/// to the command line's transport options.
pub fn with_saved(
    settings: &Settings,
    server: &str,
    mut transport: TransportOptions,
) -> TransportOptions {
    let saved = settings.transport_for(server);
    transport.plain_http |= saved.plain_http;
    transport.insecure |= saved.insecure;
    if transport.ca_files.is_empty() {
        transport.ca_files.extend(saved.ca_file);
    }
    transport
}

/// Opens a store at `server` with the given transport options and what is saved for it.
pub fn open(server: &str, transport: TransportOptions) -> anyhow::Result<Store> {
    let settings = Settings::load()?;
    let options = {
        let mut options = OpenOptions::default();
        options.transport = with_saved(&settings, server, transport);
        options.credentials = credentials();
        options
    };
    Ok(Store::open_blocking(&Location::parse(server)?, &options)?)
}

/// The server `-r` names, else `PACKCTL_REGISTRY`, else the default saved by `registry
/// login -d` or `config set registry`.
pub fn server(args: &StoreArgs) -> anyhow::Result<String> {
    if let Some(server) = &args.registry_server {
        return Ok(server.clone());
    }
    match Settings::load()?.default_registry {
        Some(server) => Ok(server),
        None => anyhow::bail!(NoServer),
    }
}

/// Opens the store `-r` names, or the default saved by `registry login -d`.
pub fn open_store(args: &StoreArgs) -> anyhow::Result<Store> {
    open(&server(args)?, transport(&args.transport))
}

/// The store and repository a reference names: a full reference carries its own store, a
/// pack name lives in the `-r` store.
pub fn locate(reference: &str, args: &StoreArgs) -> anyhow::Result<(Store, Located)> {
    if let Some(full) = FullRef::parse(reference) {
        let full = full.map_err(packctl::error::Error::from)?;
        let server = full.location.to_string();
        let store = Store::open_blocking(&full.location, &{
            let mut options = OpenOptions::default();
            options.transport = with_saved(&Settings::load()?, &server, transport(&args.transport));
            options.credentials = credentials();
            options
        })?;
        return Ok((store, Located::full(&full)));
    }
    let pack: PackRef = reference.parse().map_err(packctl::error::Error::from)?;
    let store = open_store(args)?;
    let located = Located::pack(&store, &pack);
    Ok((store, located))
}

/// The encoding to push `server` with: `--format` (or `PACKCTL_FORMAT`), else what `packctl
/// config` saved for the server or for every registry, else `structured`.
pub fn format_for(flag: Option<FormatArg>, server: &str) -> anyhow::Result<Format> {
    if let Some(flag) = flag {
        return Ok(flag.into());
    }
    let settings = Settings::load()?;
    match settings.format_for(server) {
        None => Ok(Format::Structured),
        Some(name) => FormatArg::from_str(name, true)
            .map(Format::from)
            .map_err(|_| anyhow::anyhow!(BadSavedFormat(name.to_string()))),
    }
}

/// The settings file names an encoding packctl does not know.
#[derive(Debug, thiserror::Error)]
#[error("the packctl settings name the encoding `{0}`; it is `structured` or `archive`")]
pub struct BadSavedFormat(pub String);

/// No `-r`, and no default.
#[derive(Debug, thiserror::Error)]
#[error("no registry server given")]
pub struct NoServer;

/// Build options from the command line and `SOURCE_DATE_EPOCH`.
fn build_options(format: Format) -> anyhow::Result<BuildOptions> {
    let created = match std::env::var(EnvVars::SOURCE_DATE_EPOCH) {
        Ok(value) if !value.trim().is_empty() => {
            let seconds: u64 =
                value
                    .trim()
                    .parse()
                    .map_err(|_| packctl::error::Error::BadEpoch {
                        value: value.clone(),
                    })?;
            Some(rfc3339(seconds))
        }
        _ => None,
    };
    let mut options = BuildOptions::default();
    options.format = format;
    options.created = created;
    options.cache_dir = cache_dir();
    Ok(options)
}

/// Where the digest cache lives: `$PACKCTL_CACHE_DIR`, `$XDG_CACHE_HOME/packctl` or
/// `~/.cache/packctl`.
fn cache_dir() -> Option<PathBuf> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var(EnvVars::PACKCTL_CACHE_DIR)
        .or_else(|| var(EnvVars::XDG_CACHE_HOME).map(|d| d.join("packctl")))
        .or_else(|| var(EnvVars::HOME).map(|h| h.join(".cache/packctl")))
}

/// Push options from the command line: `-f` and the encoding.
pub fn push_options(force: bool, format: Format) -> anyhow::Result<PushOptions> {
    let mut options = PushOptions::default();
    options.force = force;
    options.build = build_options(format)?;
    if let Some(n) = concurrency()? {
        options.small_concurrency = n;
        options.concurrency = options.concurrency.min(n);
    }
    Ok(options)
}

/// `PACKCTL_CONCURRENCY`: how many blobs move at once, when set.
pub fn concurrency() -> anyhow::Result<Option<usize>> {
    let name = EnvVars::PACKCTL_CONCURRENCY;
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(value) => match value.trim().parse::<usize>() {
            Ok(n) if (1..=256).contains(&n) => Ok(Some(n)),
            _ => anyhow::bail!("{name} `{value}` is not a whole number from 1 to 256"),
        },
    }
}

/// A byte count for people: `512 B`, `3.2 KiB`, `1.5 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Prints the warnings of a pack on stderr.
pub fn print_warnings(printer: &Printer, warnings: &[packctl::pack::Finding]) {
    for w in warnings {
        printer.status_finding(w);
    }
}

/// Whether to follow the spectro CLI where it is stricter: `PACKCTL_SPECTRO_COMPAT`, else
/// `packctl config set spectro-compat`.
pub fn spectro_compat() -> anyhow::Result<bool> {
    let name = EnvVars::PACKCTL_SPECTRO_COMPAT;
    match std::env::var(name) {
        Ok(value) => match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "" | "0" | "false" | "no" | "off" => Ok(false),
            _ => anyhow::bail!("{name} `{value}` is not true or false (1 or 0)"),
        },
        Err(_) => Ok(Settings::load()?.spectro_compat),
    }
}

/// `REFERENCE@DIGEST`, or the reference alone when it names the digest already (a pull or a
/// verify by digest).
pub fn pinned(reference: &str, digest: &packctl::oci::Digest) -> String {
    if reference.ends_with(&format!("@{digest}")) {
        reference.to_string()
    } else {
        format!("{reference}@{digest}")
    }
}

/// `1 blob`, `6 blobs`: a count and its noun, in the one vocabulary of every command.
pub fn count(n: usize, noun: &str) -> String {
    count_of(n, noun, &format!("{noun}s"))
}

/// [`count`] for a noun whose plural is not `-s` (`1 entry`, `3 entries`).
pub fn count_of(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Asks `question` on a terminal and says whether the answer was yes; without a terminal on
/// stdin and stderr (a script), or with `-y`, it does not ask and goes ahead.
pub fn confirm(question: &str, yes: bool) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes || !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(true);
    }
    let mut stderr = std::io::stderr().lock();
    write!(stderr, "{question} [y/N] ")?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

/// The user answered no: nothing was done.
#[derive(Debug, thiserror::Error)]
#[error("not deleted: {0}")]
pub struct Declined(pub String);
