//! Every environment variable packctl reads, in one place.

/// Names of environment variables.
pub struct EnvVars;

impl EnvVars {
    /// The default `--output` format (`text` or `json`).
    pub const PACKCTL_OUTPUT: &'static str = "PACKCTL_OUTPUT";
}
