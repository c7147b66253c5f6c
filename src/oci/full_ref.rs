//! Full references: `host[:port]/path[:tag][@digest]`, and `oci:PATH[:tag][@digest]`.

use super::digest::Digest;
use super::location::Location;
use super::name::normalize_host;
use super::reference::{ReferenceError, Selector, version_selector};
use std::fmt;

/// A reference that names its store: a registry repository or an image layout folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullRef {
    /// The registry (with an empty base) or the layout folder.
    pub location: Location,
    /// The repository in the registry; empty for a layout folder.
    pub repository: String,
    /// The tag or digest (a digest wins when both are given).
    pub selector: Selector,
}

/// Whether `host` names a registry host rather than a first path component: it holds a dot
/// or a port, or is `localhost`, as the distribution reference grammar decides.
pub fn is_host(host: &str) -> bool {
    host.contains('.') || host.contains(':') || host == "localhost" || host.starts_with('[')
}

fn is_path_component(part: &str) -> bool {
    // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
    let bytes = part.as_bytes();
    if bytes.is_empty()
        || !bytes[0].is_ascii_alphanumeric()
        || !bytes[bytes.len() - 1].is_ascii_alphanumeric()
    {
        return false;
    }
    let mut separator = String::new();
    for &b in bytes {
        if b.is_ascii_lowercase() || b.is_ascii_digit() {
            if !separator.is_empty() {
                let ok = separator == "."
                    || separator == "_"
                    || separator == "__"
                    || separator.bytes().all(|c| c == b'-');
                if !ok {
                    return false;
                }
                separator.clear();
            }
        } else if matches!(b, b'.' | b'_' | b'-') {
            separator.push(b as char);
        } else {
            return false;
        }
    }
    true
}

/// Checks a repository path: `/`-separated components of lowercase letters and digits.
pub fn check_repository(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("it names no repository".into());
    }
    if path.len() > 255 {
        return Err("its repository path is over 255 characters".into());
    }
    match path.split('/').find(|p| !is_path_component(p)) {
        Some(bad) => Err(format!(
            "`{bad}` is not a repository path component (lowercase letters and digits, separated by `.`, `_`, `__` or `-`)"
        )),
        None => Ok(()),
    }
}

/// Splits `:tag` and `@digest` off the end of a name.
fn split_selector(text: &str, name_and_rest: &str) -> Result<(String, Selector), ReferenceError> {
    let err = |reason: String| ReferenceError {
        reference: text.to_string(),
        reason,
    };
    let (rest, digest) = match name_and_rest.split_once('@') {
        Some((rest, d)) => (
            rest,
            Some(Digest::parse(d).map_err(|e| err(e.to_string()))?),
        ),
        None => (name_and_rest, None),
    };
    // A tag follows the last `:` after the last `/`.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    let selector = match (digest, tag) {
        (Some(d), _) => Selector::Digest(d),
        (None, Some(tag)) => version_selector(tag)
            .ok_or_else(|| err(format!("`{tag}` is neither a version nor a valid tag")))?,
        (None, None) => Selector::Highest,
    };
    Ok((name.to_string(), selector))
}

impl FullRef {
    /// Parses a full reference; `None` when `text` is a plain pack name (no `/`).
    pub fn parse(text: &str) -> Option<Result<FullRef, ReferenceError>> {
        if let Some(rest) = text.strip_prefix("oci://") {
            return Some(Err(ReferenceError {
                reference: text.to_string(),
                reason: format!(
                    "`oci://` names a registry in Helm, but packctl takes references without a scheme; write {rest} (or -r {} with the pack name), or oci:PATH for a folder",
                    rest.split('/').next().unwrap_or(rest)
                ),
            }));
        }
        if let Some(rest) = text.strip_prefix("oci:") {
            return Some(split_selector(text, rest).and_then(|(path, selector)| {
                if path.is_empty() {
                    return Err(ReferenceError {
                        reference: text.to_string(),
                        reason: "`oci:` needs a layout folder".into(),
                    });
                }
                Ok(FullRef {
                    location: Location::Layout(path.into()),
                    repository: String::new(),
                    selector,
                })
            }));
        }
        if !text.contains('/') {
            return None;
        }
        Some(split_selector(text, text).and_then(|(name, selector)| {
            let err = |reason: String| ReferenceError {
                reference: text.to_string(),
                reason,
            };
            let (host, path) = name.split_once('/').expect("checked for `/`");
            if !is_host(host) {
                return Err(err(format!(
                    "it starts with `{host}`, not a registry host; write HOST[:PORT]/REPOSITORY[:TAG]"
                )));
            }
            check_repository(path).map_err(err)?;
            Ok(FullRef {
                location: Location::Registry {
                    host: normalize_host(host),
                    base: String::new(),
                },
                repository: path.to_string(),
                selector,
            })
        }))
    }
}

impl fmt::Display for FullRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.location)?;
        if !self.repository.is_empty() {
            write!(f, "/{}", self.repository)?;
        }
        match &self.selector {
            Selector::Highest => Ok(()),
            Selector::Version(v) => write!(f, ":{}", v.tag()),
            Selector::Tag(t) => write!(f, ":{t}"),
            Selector::Digest(d) => write!(f, "@{d}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_references() {
        let r = FullRef::parse("localhost:5000/team/spectro-packs/archive/hello:1.0.0")
            .unwrap()
            .unwrap();
        assert_eq!(
            r.location,
            Location::Registry {
                host: "localhost:5000".into(),
                base: String::new()
            }
        );
        assert_eq!(r.repository, "team/spectro-packs/archive/hello");
        assert_eq!(r.selector, Selector::Version("1.0.0".parse().unwrap()));
        assert_eq!(
            r.to_string(),
            "localhost:5000/team/spectro-packs/archive/hello:1.0.0"
        );

        let d = Digest::of(b"x");
        let r = FullRef::parse(&format!("ghcr.io/org/pack:1.0.0@{d}"))
            .unwrap()
            .unwrap();
        assert_eq!(r.selector, Selector::Digest(d));
        let r = FullRef::parse("registry.example.com/a/b").unwrap().unwrap();
        assert_eq!(r.selector, Selector::Highest);
        let r = FullRef::parse("registry.example.com/a/b:latest")
            .unwrap()
            .unwrap();
        assert_eq!(r.selector, Selector::Tag("latest".into()));

        assert!(FullRef::parse("hello:1.0.0").is_none());
        assert!(FullRef::parse("team/pack:1.0.0").unwrap().is_err());
        assert!(
            FullRef::parse("localhost:5000/Upper:1.0.0")
                .unwrap()
                .is_err()
        );
        assert!(FullRef::parse("localhost:5000/a//b").unwrap().is_err());
        assert!(FullRef::parse("localhost:5000/a:bad tag").unwrap().is_err());
    }

    #[test]
    fn layout_references() {
        let r = FullRef::parse("oci:./packs/spectro-packs/archive/hello-chart:0.1.0")
            .unwrap()
            .unwrap();
        assert_eq!(
            r.location,
            Location::Layout("./packs/spectro-packs/archive/hello-chart".into())
        );
        assert_eq!(r.repository, "");
        assert_eq!(r.selector, Selector::Version("0.1.0".parse().unwrap()));
        let r = FullRef::parse("oci:/tmp/out").unwrap().unwrap();
        assert_eq!(r.selector, Selector::Highest);
    }

    #[test]
    fn path_components() {
        for ok in ["a", "a.b", "a_b", "a__b", "a---b", "spectro-packs", "x9"] {
            assert!(is_path_component(ok), "{ok}");
        }
        for bad in ["", "A", "-a", "a-", "a___b", "a..b", "a._b", "a b"] {
            assert!(!is_path_component(bad), "{bad}");
        }
    }
}
