//! Every environment variable packctl reads, in one place.

/// Names of environment variables.
pub struct EnvVars;

impl EnvVars {
    /// The default `--output` format (`text` or `json`).
    pub const PACKCTL_OUTPUT: &'static str = "PACKCTL_OUTPUT";
    /// The default `-r/--registry-server`.
    pub const PACKCTL_REGISTRY: &'static str = "PACKCTL_REGISTRY";
    /// Seconds since 1970 for `org.opencontainers.image.created`; unset, no time is recorded.
    pub const SOURCE_DATE_EPOCH: &'static str = "SOURCE_DATE_EPOCH";
}
