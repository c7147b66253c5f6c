//! The command-line grammar: raw arguments as clap parses them.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use packctl::env::EnvVars;
use packctl::pack::{ADDON_TYPES, CLOUD_TYPES, Layer};
use std::path::PathBuf;

/// Build, push, pull, sign and verify Palette packs as OCI artifacts.
#[derive(Debug, Parser)]
#[command(
    name = "packctl",
    version = LONG_VERSION,
    propagate_version = false,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Output format for the result on stdout
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text, env = EnvVars::PACKCTL_OUTPUT)]
    pub output: OutputFormat,
    /// Print no status messages on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more status messages on stderr: -v a line per blob moved and every retry with
    /// its reason, -vv also every registry request (method, URL, status, bytes, time)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Print everything packctl traces on stderr, the finest level (never a secret)
    #[arg(long, global = true, conflicts_with = "quiet")]
    pub debug: bool,
    /// Draw no progress bars (they are drawn only when stderr is a terminal)
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Read and write registry credentials in this Docker config file instead of
    /// $DOCKER_CONFIG/config.json or ~/.docker/config.json
    #[arg(long, global = true, value_name = "PATH")]
    pub registry_config: Option<PathBuf>,
}

/// The format of the result on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Text for people
    Text,
    /// JSON for programs
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Author, validate and ship packs
    #[command(subcommand)]
    Pack(PackCommand),
    /// Log in to and out of registries
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Make cosign-compatible signing keys
    #[command(subcommand)]
    Key(KeyCommand),
    /// Show and change saved defaults: default registry, encoding, CA file, per registry
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print packctl's version, the commit it is built from and its features
    Version,
    /// Print a shell completion script
    ///
    /// Install it where the shell reads completions: bash `packctl completion bash | sudo tee
    /// /etc/bash_completion.d/packctl`, zsh `packctl completion zsh > "${fpath[1]}/_packctl"`,
    /// fish `packctl completion fish > ~/.config/fish/completions/packctl.fish`. Completions
    /// that also offer the packs and versions of the default store: add `source <(PACKCTL_COMPLETE=bash
    /// packctl)` to ~/.bashrc (zsh: `source <(PACKCTL_COMPLETE=zsh packctl)`; fish:
    /// `PACKCTL_COMPLETE=fish packctl | source`).
    Completion(CompletionArgs),
    /// Print the man page, or write one per command
    ///
    /// Install it with `packctl man | sudo tee /usr/local/share/man/man1/packctl.1 >/dev/null`,
    /// or every page with `sudo packctl man --dir /usr/local/share/man/man1`, then read them
    /// with `man packctl`, `man packctl-pack-push`.
    Man(ManArgs),
}

/// `0.1.0 (commit 0123456789ab, 2026-12-07; features: cli)`: what `--version` and
/// `version` print. The date is the commit's, so that builds of one commit are the same.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PACKCTL_COMMIT"),
    ", ",
    env!("PACKCTL_COMMIT_DATE"),
    "; features: cli)"
);

#[derive(Debug, Subcommand)]
pub enum PackCommand {
    /// Create a new pack that passes validation
    Init(InitArgs),
    /// Check a pack folder and report every problem at once
    Validate(ValidateArgs),
    /// Build a pack's OCI artifact into an OCI image layout folder
    Build(BuildArgs),
    /// Validate a pack and push it to a registry or an `oci:` store
    Push(PushArgs),
    /// Pull a pack into a new folder, verifying every digest
    Pull(PullArgs),
    /// List the packs in a registry or an `oci:` store
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Show the manifest and metadata of a pack in a store
    Inspect(InspectArgs),
    /// Add or delete tags of a pack version
    #[command(subcommand)]
    Tag(TagCommand),
    /// Delete a pack version (every tag on it, and its signatures)
    Delete(DeleteArgs),
    /// Copy packs between registries and `oci:` stores, keeping digests
    Copy(CopyArgs),
    /// Sign a pack version with a cosign key (`cosign verify --key` accepts it)
    Sign(SignArgs),
    /// Check that a signature by a key covers exactly the pack version a reference names
    Verify(VerifyArgs),
    /// Attach files (an SBOM, a scan report) to a pack version as an OCI 1.1 referrer
    Attach(AttachArgs),
    /// List what refers to a pack version: signatures, SBOMs, attestations
    Referrers(ReferrersArgs),
    /// List the container images and Helm charts a pack deploys, with their digests
    Images(ImagesArgs),
    /// Write packs, their signatures and (with --with-images) their images into one file
    Export(ExportArgs),
    /// Check a `pack export` file whole, then push everything in it to a store
    Import(ImportArgs),
    /// Remove the blobs of an `oci:` store that nothing references
    Gc(GcArgs),
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Keep blobs modified within this many seconds (besides those younger than the oldest
    /// packctl running here, which are always kept)
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub min_age: u64,
    /// Say what would be removed, and remove nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Where mirrored images go: `--image-prefix`.
#[derive(Debug, Args)]
pub struct ImagePrefixArgs {
    /// The first path part of mirrored images below the target's base, in place of the
    /// source host (`""` for none) [default: the source host, `:` as `-`, as in
    /// TARGET/docker.io/library/nginx:1.25]
    #[arg(long, value_name = "PREFIX")]
    pub image_prefix: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// A pack folder, or NAME[:VERSION] or a full reference of a stored pack
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::commands::complete::packs))]
    pub reference: String,
    /// List what the pack declares without asking the registries for digests
    #[arg(long)]
    pub no_resolve: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// NAME[:VERSION] (the highest version without one) or a full reference; several may
    /// be given
    #[arg(required = true)]
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::commands::complete::packs))]
    pub references: Vec<String>,
    /// The file to write (a tar of one OCI image layout); it appears only when complete
    #[arg(short, long, value_name = "FILE")]
    pub output_file: PathBuf,
    /// Also the container images and OCI Helm charts each pack lists under `pack.content`
    #[arg(long)]
    pub with_images: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A file `pack export`, `oras backup` or `skopeo copy … oci-archive:` wrote
    pub file: PathBuf,
    /// Refuse the file, before anything is pushed, unless every pack in it carries a
    /// signature by this public key (cosign.pub)
    #[arg(long, value_name = "PUB")]
    pub verify_key: Option<PathBuf>,
    /// The repository of entries named by a bare tag (as `oras backup` writes them)
    #[arg(long, value_name = "REPOSITORY")]
    pub repository: Option<String>,
    /// Overwrite target tags that hold other packs
    #[arg(short, long)]
    pub force: bool,
    #[command(flatten)]
    pub prefix: ImagePrefixArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every saved setting
    #[command(visible_alias = "ls")]
    List,
    /// Print one setting (exit 1 when it is not set)
    Get(ConfigKeyArgs),
    /// Save a setting
    Set(ConfigSetArgs),
    /// Remove a setting
    Unset(ConfigKeyArgs),
}

/// A setting's name, and the registry it is for.
#[derive(Debug, Args)]
pub struct ConfigKeyArgs {
    /// registry, format, spectro-compat (for every registry); format, ca-file, insecure,
    /// plain-http (with --registry-server)
    pub key: String,
    /// The registry (`host[:port][/base]` or `oci:PATH`) the setting is for
    #[arg(short = 'r', long = "registry-server", value_name = "SERVER")]
    pub registry_server: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConfigSetArgs {
    #[command(flatten)]
    pub key: ConfigKeyArgs,
    /// The value: a server for registry; structured or archive for format; a PEM file for
    /// ca-file; true or false for the others
    pub value: String,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write cosign.key (encrypted with COSIGN_PASSWORD or a prompted password) and cosign.pub
    Generate(KeyGenerateArgs),
}

#[derive(Debug, Args)]
pub struct KeyGenerateArgs {
    /// File name prefix: writes PREFIX.key and PREFIX.pub
    #[arg(long, default_value = "cosign", value_name = "PREFIX")]
    pub output_key_prefix: String,
    /// Replace existing key files
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// NAME:VERSION, NAME@sha256:… or a full reference
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::commands::complete::packs))]
    pub reference: String,
    /// The private key (cosign.key); its password comes from COSIGN_PASSWORD or a prompt
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Which of cosign's signature formats to write
    #[arg(long, value_enum, default_value_t = SignatureFormatArg::Both)]
    pub signature_format: SignatureFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// cosign's signature formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignatureFormatArg {
    /// cosign 2's `sha256-<hex>.sig` tag (what Harbor shows as signed)
    Legacy,
    /// cosign 3's Sigstore bundle, attached as an OCI 1.1 referrer
    Bundle,
    /// Both, so that cosign 2, cosign 3 and Harbor all see a signature
    Both,
}

impl From<SignatureFormatArg> for packctl::ops::sign::SignWith {
    fn from(f: SignatureFormatArg) -> Self {
        match f {
            SignatureFormatArg::Legacy => packctl::ops::sign::SignWith::Legacy,
            SignatureFormatArg::Bundle => packctl::ops::sign::SignWith::Bundle,
            SignatureFormatArg::Both => packctl::ops::sign::SignWith::Both,
        }
    }
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// NAME:VERSION, NAME@sha256:… or a full reference
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::commands::complete::packs))]
    pub reference: String,
    /// The referrer's artifact type, such as application/spdx+json
    #[arg(long, value_name = "TYPE")]
    pub artifact_type: String,
    /// The files to attach, each a layer titled with its file name
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ReferrersArgs {
    /// NAME, NAME:VERSION, NAME@sha256:… or a full reference
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::commands::complete::packs))]
    pub reference: String,
    /// Only referrers of this artifact type (their own referrers are all shown)
    #[arg(long, value_name = "TYPE")]
    pub artifact_type: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// NAME, NAME:VERSION, NAME@sha256:… or a full reference
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::commands::complete::packs))]
    pub reference: String,
    /// The public key (cosign.pub)
    #[arg(long, value_name = "PUB")]
    pub key: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum TagCommand {
    /// Point another tag at a pack version
    Add(TagAddArgs),
    /// Remove a tag, keeping the version and its other tags
    Delete(TagDeleteArgs),
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Check credentials against a registry and store them where Docker and oras read them
    Login(LoginArgs),
    /// Remove stored credentials for a registry
    Logout(LogoutArgs),
}

/// How to reach registries.
#[derive(Debug, Args, Clone, Default)]
pub struct TransportArgs {
    /// Speak plain HTTP to the registry (loopback hosts fall back to it by themselves)
    #[arg(long)]
    pub plain_http: bool,
    /// Do not verify the registry's TLS certificate
    #[arg(short = 'i', long)]
    pub insecure: bool,
    /// Trust the CA certificates in this PEM file
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Fail a registry transfer that makes no progress for this many seconds
    #[arg(
        long,
        value_name = "SECONDS",
        env = EnvVars::PACKCTL_STALL_TIMEOUT,
        hide = true,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub stall_timeout: Option<u64>,
}

#[derive(Debug, Args)]
pub struct TagAddArgs {
    /// The version to tag: NAME:VERSION, NAME@sha256:… or a full reference
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::commands::complete::packs))]
    pub reference: String,
    /// The new tag (the label, with --group)
    pub tag: String,
    /// Tag GROUP__TAG, as the spectro CLI names a tag of a group (`lts__14.4.3`)
    #[arg(short, long, value_name = "GROUP")]
    pub group: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Move the tag if it points at another version
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct TagDeleteArgs {
    /// NAME:TAG, or a full reference with a tag
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::commands::complete::packs))]
    pub reference: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Asking before a deletion.
#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// Delete without asking (a terminal is asked; a script is not)
    #[arg(short, long)]
    pub yes: bool,
    /// Say what would be deleted, and delete nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// NAME:VERSION, NAME@sha256:… or a full reference
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::commands::complete::packs))]
    pub reference: String,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// NAME (every version) or NAME:VERSION; omit with --all
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::commands::complete::packs))]
    pub reference: Option<String>,
    /// The store to copy from: `host[:port][/base]` or `oci:PATH`
    #[arg(long, value_name = "SERVER")]
    pub from: String,
    /// The store to copy to: `host[:port][/base]` or `oci:PATH`
    #[arg(long, value_name = "SERVER")]
    pub to: String,
    /// Copy every version of every pack
    #[arg(long)]
    pub all: bool,
    /// Overwrite target tags that hold other content
    #[arg(short, long)]
    pub force: bool,
    /// Check every blob even where the target tag already names the same manifest, and copy
    /// what the target lacks (repairs a damaged target)
    #[arg(long)]
    pub verify_blobs: bool,
    /// Re-encode packs of another encoding for the target [default: what `packctl config`
    /// saved for the target, else each pack as it is]
    #[arg(long, value_enum, env = EnvVars::PACKCTL_FORMAT)]
    pub format: Option<FormatArg>,
    /// After the packs, copy the container images and OCI Helm charts they list under
    /// `pack.content` to the target (every platform, digests kept)
    #[arg(long)]
    pub with_images: bool,
    #[command(flatten)]
    pub prefix: ImagePrefixArgs,
    #[command(flatten)]
    pub transport: TransportArgs,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The registry: `host[:port][/base/path]`
    pub server: String,
    /// User name (asked for when missing and stdin is a terminal)
    #[arg(short, long)]
    pub username: Option<String>,
    /// The password (other users of this machine can read it from the process list:
    /// prefer --password-stdin)
    #[arg(short, long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    /// Save this registry as the default for commands without -r
    #[arg(short = 'd', long = "default")]
    pub default: bool,
    #[command(flatten)]
    pub transport: TransportArgs,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry: `host[:port]`
    pub server: String,
}

/// Where packs are: `-r/--registry-server`, and how to reach it.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Registry server: `host[:port][/base/path]`, or `oci:PATH` for OCI image layouts in a
    /// folder [default: the one saved by `registry login -d`]
    #[arg(short = 'r', long = "registry-server", value_name = "SERVER", env = EnvVars::PACKCTL_REGISTRY)]
    pub registry_server: Option<String>,
    #[command(flatten)]
    pub transport: TransportArgs,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The pack folder
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// OCI image layout folder to write (created if missing); the tag is the pack version
    #[arg(long, value_name = "OUT")]
    pub oci_layout: PathBuf,
    /// Artifact encoding [default: the one `packctl config` saved, else structured]
    #[arg(long, value_enum, env = EnvVars::PACKCTL_FORMAT)]
    pub format: Option<FormatArg>,
    /// The push message, recorded in the manifest [default: pack.json's commit_msg]
    #[arg(short, long)]
    pub message: Option<String>,
    /// Overwrite the tag if it points at another artifact
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The pack folder
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Overwrite the version if the store holds a different pack under it
    #[arg(short, long)]
    pub force: bool,
    /// What changed, recorded in the manifest and shown by inspect and ls [default:
    /// pack.json's commit_msg]
    #[arg(short, long)]
    pub message: Option<String>,
    /// Send every blob and the manifest even when the store holds this very pack
    #[arg(long)]
    pub skip_digest_check: bool,
    /// Artifact encoding: `structured` or `archive` (Palette's tar.gz) [default: what
    /// `packctl config` saved for the registry, else structured]
    #[arg(long, value_enum, env = EnvVars::PACKCTL_FORMAT)]
    pub format: Option<FormatArg>,
    /// Check every blob even when the version already names this very pack, and send what
    /// the store lacks (repairs a damaged repository)
    #[arg(long)]
    pub verify_blobs: bool,
    /// Sign the pushed version with this cosign private key
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// Which of cosign's signature formats --sign writes
    #[arg(long, value_enum, default_value_t = SignatureFormatArg::Both, requires = "sign")]
    pub signature_format: SignatureFormatArg,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// NAME, NAME:VERSION, NAME@sha256:… (no version: the highest), or a full reference
    /// (`host/repository:tag`, `oci:PATH:tag`)
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::commands::complete::packs))]
    pub reference: String,
    /// Folder to create (it must not exist, or be empty) [default: ./NAME]
    pub target: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Write the pack even if it fails validation
    #[arg(long)]
    pub no_validate: bool,
    /// Refuse the pack unless a signature by this public key covers it
    #[arg(long, value_name = "PUB")]
    pub verify_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// The registry, as the spectro CLI takes it (`pack ls HOST:PORT`); same as -r
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only this pack, or the packs a pattern matches (`*` any characters, `?` one)
    #[arg(short, long)]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// NAME, NAME:VERSION, NAME@sha256:… (no version: the highest), or a full reference
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::commands::complete::packs))]
    pub reference: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// The artifact encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// pack.json as config, every file a layer
    Structured,
    /// One tar.gz of the pack folder, as Palette reads it
    Archive,
}

impl From<FormatArg> for packctl::artifact::Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Structured => packctl::artifact::Format::Structured,
            FormatArg::Archive => packctl::artifact::Format::Archive,
        }
    }
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create the pack in (created if missing; existing files are never overwritten)
    pub dir: PathBuf,
    /// Make an add-on pack from this Helm chart: a .tgz, a chart folder, an
    /// oci://HOST/REPOSITORY:VERSION reference or an https:// link to a .tgz
    #[arg(long, value_name = "CHART", conflicts_with = "layer")]
    pub from_chart: Option<String>,
    /// Pack name: lowercase letters and digits separated by `.`, `_` or `-` [default with
    /// --from-chart: the chart's]
    #[arg(long, value_parser = parse_name, required_unless_present = "from_chart")]
    pub name: Option<String>,
    /// Profile layer
    #[arg(long, value_parser = layer_parser(), required_unless_present = "from_chart")]
    pub layer: Option<Layer>,
    /// Pack version (no leading `v`; such as 1.0.0, or CalVer such as 26.02.0) [default:
    /// 1.0.0, or the chart's]
    #[arg(long, value_parser = parse_version)]
    pub version: Option<packctl::oci::version::Version>,
    /// Name shown in Palette [default: derived from --name]
    #[arg(long)]
    pub display_name: Option<String>,
    /// Add-on category (required with --layer addon; with --from-chart, inferred from the
    /// chart's keywords when missing)
    #[arg(long, required_if_eq("layer", "addon"), value_parser = PossibleValuesParser::new(ADDON_TYPES))]
    pub addon_type: Option<String>,
    /// Supported cloud types, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "all", ignore_case = true, value_parser = PossibleValuesParser::new(CLOUD_TYPES))]
    pub cloud_types: Vec<String>,
    #[command(flatten)]
    pub transport: TransportArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The pack folder
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Look up every image pack.content.images lists in its registry, with the credentials
    /// of `registry login` (needs the network); a missing image is an error, a denied one a
    /// warning
    #[arg(long)]
    pub check_images: bool,
    #[command(flatten)]
    pub transport: TransportArgs,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write packctl.1 and a page per command (packctl-pack-push.1, …) into this folder
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete for
    pub shell: clap_complete::Shell,
}

/// Ends the run as clap ends it for a usage error: the message, the usage line, exit 2.
pub fn usage_error(kind: clap::error::ErrorKind, message: impl std::fmt::Display) -> ! {
    use clap::CommandFactory;
    Cli::command().error(kind, message).exit()
}

fn parse_name(text: &str) -> Result<String, String> {
    if packctl::oci::is_valid_name(text) {
        return Ok(text.to_string());
    }
    let suggestion = packctl::oci::suggest_name(text);
    Err(if suggestion.is_empty() {
        "use lowercase letters and digits separated by `.`, `_` or `-`".to_string()
    } else {
        format!(
            "use lowercase letters and digits separated by `.`, `_` or `-`, such as `{suggestion}`"
        )
    })
}

fn parse_version(text: &str) -> Result<packctl::oci::version::Version, String> {
    packctl::oci::version::Version::parse(text).map_err(|e| format!("{e}; {}", e.hint()))
}

fn layer_parser() -> impl TypedValueParser<Value = Layer> {
    PossibleValuesParser::new(Layer::ALL.map(Layer::as_str))
        .map(|s| s.parse::<Layer>().expect("only known layers pass"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_grammar_is_consistent() {
        Cli::command().debug_assert();
    }
}
