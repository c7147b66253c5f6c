//! Every environment variable packctl reads, in one place.

/// Names of environment variables.
pub struct EnvVars;

impl EnvVars {
    /// The default `--output` format (`text` or `json`).
    pub const PACKCTL_OUTPUT: &'static str = "PACKCTL_OUTPUT";
    /// The default `-r/--registry-server`.
    pub const PACKCTL_REGISTRY: &'static str = "PACKCTL_REGISTRY";
    /// The Docker config folder (credentials), as Docker and `oras` read it.
    pub const DOCKER_CONFIG: &'static str = "DOCKER_CONFIG";
    /// The default `--format` of push, build and copy (`structured` or `archive`); wins over
    /// what `packctl config` saved.
    pub const PACKCTL_FORMAT: &'static str = "PACKCTL_FORMAT";
    /// `1` or `true`: follow the spectro CLI where it is stricter (`push -f` needs `-m`);
    /// wins over `packctl config set spectro-compat`.
    pub const PACKCTL_SPECTRO_COMPAT: &'static str = "PACKCTL_SPECTRO_COMPAT";
    /// The home folder.
    pub const HOME: &'static str = "HOME";
    /// The packctl settings file (the default registry).
    pub const PACKCTL_CONFIG: &'static str = "PACKCTL_CONFIG";
    /// Where per-user configuration lives.
    pub const XDG_CONFIG_HOME: &'static str = "XDG_CONFIG_HOME";
    /// Folders of `<host[:port]>/*.crt` CA certificates, `:`-separated (default
    /// `/etc/docker/certs.d` and `~/.docker/certs.d`).
    pub const PACKCTL_CERTS_DIRS: &'static str = "PACKCTL_CERTS_DIRS";
    /// Seconds a registry transfer may make no progress before it fails (default 30).
    pub const PACKCTL_STALL_TIMEOUT: &'static str = "PACKCTL_STALL_TIMEOUT";
    /// The registry password for `registry login` when no `--password-stdin` is given.
    pub const PACKCTL_PASSWORD: &'static str = "PACKCTL_PASSWORD";
    /// Where the digest cache lives (default `$XDG_CACHE_HOME/packctl`, `~/.cache/packctl`).
    pub const PACKCTL_CACHE_DIR: &'static str = "PACKCTL_CACHE_DIR";
    /// Blobs moved at once by push, pull and copy (default 16, of which at most 4 of 1 MiB or
    /// more).
    pub const PACKCTL_CONCURRENCY: &'static str = "PACKCTL_CONCURRENCY";
    /// Where per-user caches live.
    pub const XDG_CACHE_HOME: &'static str = "XDG_CACHE_HOME";
    /// The password of cosign private keys (may be empty), as cosign reads it.
    pub const COSIGN_PASSWORD: &'static str = "COSIGN_PASSWORD";
    /// Seconds since 1970 for `org.opencontainers.image.created`; unset, no time is recorded.
    pub const SOURCE_DATE_EPOCH: &'static str = "SOURCE_DATE_EPOCH";
    /// The most layers `pack pull` accepts (default 10,000).
    pub const PACKCTL_MAX_LAYERS: &'static str = "PACKCTL_MAX_LAYERS";
    /// The most bytes of layers `pack pull` writes, a blob counted once per title that names
    /// it (default 8 GiB).
    pub const PACKCTL_MAX_PULL_BYTES: &'static str = "PACKCTL_MAX_PULL_BYTES";
    /// The most bytes `pack pull` unpacks from tar layers (default 8 GiB).
    pub const PACKCTL_MAX_UNPACKED_BYTES: &'static str = "PACKCTL_MAX_UNPACKED_BYTES";
}
