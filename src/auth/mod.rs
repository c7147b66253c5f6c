//! Who the user is to a registry: a [`Credential`] (its secrets wiped when it is dropped and
//! never shown by `Debug`), and where credentials come from ([`CredentialSource`]), such as
//! the Docker config ([`DockerConfig`]).

mod docker;

pub use docker::{CredentialError, DockerConfig, Stored, host_aliases};

use std::fmt;
use zeroize::Zeroize;

/// What a user authenticates with.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Credential {
    /// No credentials.
    #[default]
    Anonymous,
    /// A user name and password (or access token used as one).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken` in the Docker config).
    IdentityToken(String),
}

impl fmt::Debug for Credential {
    // Never print a secret, not even in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Anonymous => f.write_str("Anonymous"),
            Credential::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(***)"),
        }
    }
}

impl Drop for Credential {
    fn drop(&mut self) {
        match self {
            Credential::Anonymous => {}
            Credential::Basic { password, .. } => password.zeroize(),
            Credential::IdentityToken(token) => token.zeroize(),
        }
    }
}

/// Where the credential for a registry host comes from.
///
/// Implementations may block (a credential helper is a subprocess): the library calls them
/// off the async threads.
pub trait CredentialSource: Send + Sync + fmt::Debug {
    /// The credential for `host` (`host[:port]`, lowercase), [`Credential::Anonymous`] when
    /// there is none.
    fn credential(&self, host: &str) -> Result<Credential, CredentialError>;
}

/// One credential, for every host.
impl CredentialSource for Credential {
    fn credential(&self, _host: &str) -> Result<Credential, CredentialError> {
        Ok(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let c = Credential::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        let t = Credential::IdentityToken("refresh-me".into());
        assert!(!format!("{t:?}").contains("refresh-me"));
    }

    #[test]
    fn a_docker_config_is_a_credential_source() {
        let dir = tempfile::tempdir().unwrap();
        let config = DockerConfig::new(dir.path());
        let source: &dyn CredentialSource = &config;
        assert_eq!(
            source.credential("registry.example.com").unwrap(),
            Credential::Anonymous
        );
        config.store("registry.example.com", "u", "p").unwrap();
        assert_eq!(
            source.credential("Registry.Example.com:443").unwrap(),
            Credential::Basic {
                username: "u".into(),
                password: "p".into()
            }
        );
        let fixed: &dyn CredentialSource = &Credential::Anonymous;
        assert_eq!(fixed.credential("any").unwrap(), Credential::Anonymous);
    }
}
