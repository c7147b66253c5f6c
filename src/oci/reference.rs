//! Naming a pack in a store: `NAME`, `NAME:VERSION` or `NAME@DIGEST`.

use super::digest::Digest;
use super::name::{is_valid_name, is_valid_tag};
use super::version::Version;
use std::fmt;
use std::str::FromStr;

/// Which version of a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selector {
    /// The highest version among the tags (see [`crate::oci::version::highest`]).
    Highest,
    /// A version (its tag has `_` for `+`).
    Version(Version),
    /// A tag that is not a version.
    Tag(String),
    /// A manifest digest.
    Digest(Digest),
}

/// A pack in a store: `NAME[:VERSION|@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackRef {
    /// The pack name.
    pub name: String,
    /// Which version.
    pub selector: Selector,
}

/// Why a pack reference is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{reference}` is not a pack reference: {reason}")]
pub struct ReferenceError {
    /// What was given.
    pub reference: String,
    /// Why.
    pub reason: String,
}

impl PackRef {
    /// The tag this reference names directly, if any.
    pub fn tag(&self) -> Option<String> {
        match &self.selector {
            Selector::Version(v) => Some(v.tag()),
            Selector::Tag(t) => Some(t.clone()),
            Selector::Highest | Selector::Digest(_) => None,
        }
    }
}

/// Turns a tag back into the version it stands for (`_` was `+`), when it looks like one.
pub fn tag_version(tag: &str) -> Option<Version> {
    Version::from_tag(tag)
}

/// What `:TEXT` after a pack name selects: a version when it reads as one (it starts with a
/// digit; its tag is the version with `_` for `+`), another valid tag, or nothing usable.
pub fn version_selector(text: &str) -> Option<Selector> {
    if text.starts_with(|c: char| c.is_ascii_digit())
        && let Ok(v) = Version::parse(text)
    {
        return Some(Selector::Version(v));
    }
    is_valid_tag(text).then(|| Selector::Tag(text.to_string()))
}

impl FromStr for PackRef {
    type Err = ReferenceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| ReferenceError {
            reference: text.to_string(),
            reason,
        };
        let (name, selector) = if let Some((name, digest)) = text.split_once('@') {
            let digest = Digest::parse(digest).map_err(|e| err(e.to_string()))?;
            (name, Selector::Digest(digest))
        } else if let Some((name, version)) = text.split_once(':') {
            let selector = version_selector(version)
                .ok_or_else(|| err(format!("`{version}` is neither a version nor a tag")))?;
            (name, selector)
        } else {
            (text, Selector::Highest)
        };
        if !is_valid_name(name) {
            return Err(err(format!(
                "`{name}` is not a pack name (lowercase letters and digits separated by `.`, `_` or `-`)"
            )));
        }
        Ok(PackRef {
            name: name.to_string(),
            selector,
        })
    }
}

impl fmt::Display for PackRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.selector {
            Selector::Highest => f.write_str(&self.name),
            Selector::Version(v) => write!(f, "{}:{v}", self.name),
            Selector::Tag(t) => write!(f, "{}:{t}", self.name),
            Selector::Digest(d) => write!(f, "{}@{d}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        let r: PackRef = "hello".parse().unwrap();
        assert_eq!(r.selector, Selector::Highest);
        let r: PackRef = "hello:1.2.0+build.7".parse().unwrap();
        assert_eq!(r.tag().unwrap(), "1.2.0_build.7");
        let r: PackRef = "hello:1.2.0_build.7".parse().unwrap();
        assert_eq!(r.tag().unwrap(), "1.2.0_build.7");
        assert!(matches!(r.selector, Selector::Version(_)));
        let r: PackRef = "hello:26.02".parse().unwrap();
        assert_eq!(r.selector, Selector::Version("26.02".parse().unwrap()));
        assert_eq!(
            "hello:v1.0".parse::<PackRef>().unwrap().selector,
            Selector::Tag("v1.0".into())
        );
        let r: PackRef = "hello:stable".parse().unwrap();
        assert_eq!(r.selector, Selector::Tag("stable".into()));
        let d = Digest::of(b"x");
        let r: PackRef = format!("hello@{d}").parse().unwrap();
        assert_eq!(r.selector, Selector::Digest(d));
        assert!("Hello:1.0.0".parse::<PackRef>().is_err());
        assert!("hello:1.0.0 beta".parse::<PackRef>().is_err());
        assert!("hello@sha256:zz".parse::<PackRef>().is_err());
        assert_eq!(
            tag_version("1.0.0_k3s.1").unwrap().to_string(),
            "1.0.0+k3s.1"
        );
    }
}
