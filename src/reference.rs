//! Naming a pack in a store: `NAME`, `NAME:VERSION` or `NAME@DIGEST`.

use crate::artifact::Digest;
use crate::pack::{is_valid_name, version_tag};
use std::fmt;
use std::str::FromStr;

/// Which version of a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The highest semantic version among the tags.
    Highest,
    /// A version (its tag has `_` for `+`).
    Version(semver::Version),
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
            Selector::Version(v) => Some(version_tag(v)),
            Selector::Tag(t) => Some(t.clone()),
            Selector::Highest | Selector::Digest(_) => None,
        }
    }
}

/// Turns a tag back into the version it stands for (`_` was `+`), when it is one.
pub fn tag_version(tag: &str) -> Option<semver::Version> {
    semver::Version::parse(&tag.replace('_', "+")).ok()
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
            let selector = match semver::Version::parse(version) {
                Ok(v) => Selector::Version(v),
                Err(_) => match tag_version(version) {
                    Some(v) => Selector::Version(v),
                    None if crate::store::is_valid_tag(version) => {
                        Selector::Tag(version.to_string())
                    }
                    None => {
                        return Err(err(format!(
                            "`{version}` is neither a semantic version nor a tag"
                        )));
                    }
                },
            };
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
        assert_eq!(
            r.selector,
            Selector::Version("1.2.0+build.7".parse().unwrap())
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
