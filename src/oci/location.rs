//! Where `-r/--registry-server` points: `oci:PATH` or `host[:port][/base/path]`.

use super::name::normalize_host;
use std::fmt;
use std::path::PathBuf;

/// Why a `-r/--registry-server` value names no store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocationError {
    /// Not a registry server nor `oci:PATH`.
    #[error("`{location}` is not a registry server or `oci:PATH`: {reason}")]
    BadLocation {
        /// What was given.
        location: String,
        /// Why.
        reason: String,
    },
    /// A URL scheme packctl does not take (`oci://`, `http://`).
    #[error("`{location}` is not a registry server or `oci:PATH`: {reason}")]
    UrlScheme {
        /// What was given.
        location: String,
        /// Why.
        reason: String,
        /// The scheme: `oci://` or `http://`.
        scheme: &'static str,
        /// What follows the scheme, without a trailing `/`: the registry meant.
        rest: String,
    },
}

/// Where `-r/--registry-server` points.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// `oci:PATH`: image layouts under a folder.
    Layout(PathBuf),
    /// `host[:port][/base/path]`: a registry.
    Registry {
        /// `host[:port]`.
        host: String,
        /// The base path, without slashes around it (`""` for none).
        base: String,
    },
}

impl Location {
    /// Parses `oci:PATH` or `host[:port][/base]` (also `https://host…`, which is the same).
    ///
    /// `oci://HOST…` (Helm's way to name a registry) and `http://HOST…` are refused rather
    /// than taken for a folder or silently made HTTPS.
    pub fn parse(text: &str) -> Result<Location, LocationError> {
        let bad = |reason: &str| LocationError::BadLocation {
            location: text.to_string(),
            reason: reason.to_string(),
        };
        if let Some(rest) = text.strip_prefix("oci://") {
            return Err(LocationError::UrlScheme {
                location: text.to_string(),
                reason: "`oci://` names a registry in Helm, but packctl takes the registry without a scheme".into(),
                scheme: "oci://",
                rest: rest.trim_end_matches('/').to_string(),
            });
        }
        if let Some(path) = text.strip_prefix("oci:") {
            if path.is_empty() {
                return Err(bad("`oci:` needs a folder, such as `oci:./packs`"));
            }
            return Ok(Location::Layout(PathBuf::from(path)));
        }
        if let Some(rest) = strip_prefix_ignore_case(text, "http://") {
            return Err(LocationError::UrlScheme {
                location: text.to_string(),
                reason: "packctl takes a registry as HOST[:PORT][/BASE], not as a URL, and speaks plain HTTP only when told to".into(),
                scheme: "http://",
                rest: rest.trim_end_matches('/').to_string(),
            });
        }
        let text_no_scheme = strip_prefix_ignore_case(text, "https://").unwrap_or(text);
        let (host, base) = text_no_scheme
            .split_once('/')
            .unwrap_or((text_no_scheme, ""));
        if host.is_empty() {
            return Err(bad("it names no registry host"));
        }
        let base = base.trim_matches('/');
        if base
            .split('/')
            .any(|part| part.is_empty() && !base.is_empty())
        {
            return Err(bad("its base path has an empty component"));
        }
        // Refused here, before any request: a host no registry can have, a base path no
        // repository can start with.
        super::check_host(host).map_err(|why| bad(&why))?;
        if !base.is_empty() {
            super::check_repository(base).map_err(|why| {
                bad(&format!(
                    "its base path `{base}` cannot start a repository: {why}"
                ))
            })?;
        }
        Ok(Location::Registry {
            host: normalize_host(host),
            base: base.to_string(),
        })
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &text[prefix.len()..])
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Layout(path) => write!(f, "oci:{}", path.display()),
            Location::Registry { host, base } if base.is_empty() => f.write_str(host),
            Location::Registry { host, base } => write!(f, "{host}/{base}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::pack_repository;

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse("oci:./packs").unwrap(),
            Location::Layout("./packs".into())
        );
        assert_eq!(
            Location::parse("registry.example.com:5000/team/a").unwrap(),
            Location::Registry {
                host: "registry.example.com:5000".into(),
                base: "team/a".into()
            }
        );
        assert!(Location::parse("oci:").is_err());
        assert!(matches!(
            Location::parse("oci://localhost:5000/team"),
            Err(LocationError::UrlScheme { .. })
        ));
        assert!(matches!(
            Location::parse("HTTP://registry.example.com"),
            Err(LocationError::UrlScheme { .. })
        ));
        assert_eq!(
            Location::parse("https://Registry.Example.com:443/team").unwrap(),
            Location::Registry {
                host: "registry.example.com:443".into(),
                base: "team".into()
            }
        );
        // What no registry can be, refused before any request.
        for bad in [
            "host/Team",
            "host/a_",
            "local host:1",
            "host:99999",
            "-host",
            "host/a//b",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
        assert!(Location::parse("/x").is_err());
        assert_eq!(pack_repository("", "hello"), "spectro-packs/archive/hello");
        assert_eq!(
            pack_repository("/team/", "hello"),
            "team/spectro-packs/archive/hello"
        );
    }
}
