//! Pack versions as real packs write them, their OCI tags, and their order.
//!
//! Palette asks only for a non-empty version without a leading `v`; its public packs use
//! semantic versions (`1.2.3`, `2.0.1-up.1`, `1.2.0+k3s.1`), CalVer with leading zeros
//! (`26.02.0`), and two- or four-part versions (`1.5`, `1.2.3.4`). A [`Version`] keeps the
//! text exactly as written (it is what the manifest annotation and the archive's folder name
//! carry), and orders versions as a reader would: release numbers numerically part by part
//! (`1.5` = `1.5.0` < `1.10` and `26.02.0` = `26.2.0`), then a release above its pre-releases,
//! whose identifiers compare as semantic versioning says. Build metadata does not order;
//! versions that order alike are told apart by their text, so the order is total.

use std::cmp::Ordering;
use std::fmt;

/// The longest OCI tag (and so the longest version).
pub const MAX_TAG_LEN: usize = 128;

/// A pack version, kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    text: String,
}

/// Why text cannot be a pack version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    /// Nothing, or only blanks.
    #[error("the version is empty")]
    Empty,
    /// `v1.2.3`: Palette's pack validator refuses a leading `v`.
    #[error("`{text}` starts with `v`, which Palette refuses")]
    LeadingV {
        /// What was given.
        text: String,
    },
    /// A character no OCI tag can hold, even after `+` becomes `_`.
    #[error("`{text}` holds {found}, which no OCI tag can hold")]
    BadCharacter {
        /// What was given.
        text: String,
        /// The character, described.
        found: String,
    },
    /// Longer than an OCI tag may be.
    #[error("`{text}` makes a tag of {len} characters; OCI tags hold at most {MAX_TAG_LEN}")]
    TooLong {
        /// What was given.
        text: String,
        /// Its length in bytes.
        len: usize,
    },
}

impl VersionError {
    /// How to fix it.
    pub fn hint(&self) -> String {
        match self {
            VersionError::Empty => "write the pack's version, such as \"1.0.0\"".to_string(),
            VersionError::LeadingV { text } => {
                format!("drop the leading `v`: \"{}\"", &text[1..])
            }
            VersionError::BadCharacter { .. } => {
                "use letters, digits, `.`, `-`, `_` and one `+` before build metadata, starting with a letter or digit".to_string()
            }
            VersionError::TooLong { .. } => "shorten the pre-release or build part".to_string(),
        }
    }
}

/// How far a valid version is from a strict semantic version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strictness {
    /// `MAJOR.MINOR.PATCH[-PRE][+BUILD]` exactly as semantic versioning defines it.
    Semver,
    /// Not strict semantic versioning, but every release part is a number, so it orders
    /// without doubt; the reason says how it departs (leading zeros, two parts, …).
    Loose(String),
    /// A release part that is not a number: such versions order by text there, which may not
    /// be what the author means.
    Ambiguous(String),
}

impl Version {
    /// Parses a pack version: non-empty, no leading `v`, and an OCI tag once `+` is `_`.
    pub fn parse(text: &str) -> Result<Version, VersionError> {
        if text.trim().is_empty() {
            return Err(VersionError::Empty);
        }
        if text.starts_with('v')
            || (text.starts_with('V') && text[1..].starts_with(|c: char| c.is_ascii_digit()))
        {
            return Err(VersionError::LeadingV {
                text: text.to_string(),
            });
        }
        let bad = |found: String| VersionError::BadCharacter {
            text: text.to_string(),
            found,
        };
        let first = text.chars().next().expect("not empty");
        if !first.is_ascii_alphanumeric() {
            return Err(bad(format!("`{}` at its start", first.escape_default())));
        }
        if let Some(c) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+')))
        {
            let found = if c.is_whitespace() {
                "a space".to_string()
            } else {
                format!("`{}`", c.escape_default())
            };
            return Err(bad(found));
        }
        if text.matches('+').count() > 1 {
            return Err(bad("a second `+`".to_string()));
        }
        if text.len() > MAX_TAG_LEN {
            return Err(VersionError::TooLong {
                text: text.to_string(),
                len: text.len(),
            });
        }
        Ok(Version {
            text: text.to_string(),
        })
    }

    /// The version that a tag stands for (`_` was `+`), when the tag looks like a version:
    /// it starts with a digit and parses. Tags such as `latest` or `sha256-….sig` are not.
    pub fn from_tag(tag: &str) -> Option<Version> {
        if !tag.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        // Only the first `_` can have been the `+`; later ones were written as `_`.
        let text = match tag.split_once('_') {
            Some((release, build)) => format!("{release}+{build}"),
            None => tag.to_string(),
        };
        Version::parse(&text).ok()
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The OCI tag: `+` becomes `_`, since tags cannot hold `+` (Helm does the same).
    pub fn tag(&self) -> String {
        self.text.replace('+', "_")
    }

    /// Whether it has a pre-release part (`-rc.1`): such versions are not "the highest"
    /// while a release exists.
    pub fn is_prerelease(&self) -> bool {
        self.parts().pre.is_some()
    }

    /// Whether every release part is a number, so the version orders without doubt.
    pub fn is_numeric(&self) -> bool {
        self.parts()
            .release
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    }

    /// How the version departs from strict semantic versioning.
    pub fn strictness(&self) -> Strictness {
        if semver::Version::parse(&self.text).is_ok() {
            return Strictness::Semver;
        }
        let parts = self.parts();
        let release: Vec<&str> = parts.release.split('.').collect();
        if let Some(p) = release
            .iter()
            .find(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Strictness::Ambiguous(if p.is_empty() {
                "it has an empty part between dots".to_string()
            } else {
                format!("its part `{p}` is not a number")
            });
        }
        let mut why = Vec::new();
        if release.len() != 3 {
            why.push(format!("it has {} release parts, not 3", release.len()));
        }
        if release.iter().any(|p| p.len() > 1 && p.starts_with('0')) {
            why.push("a part has a leading zero".to_string());
        }
        if why.is_empty() {
            // The release is MAJOR.MINOR.PATCH: the pre-release or build part is off.
            why.push("its pre-release or build part is not semantic versioning's".to_string());
        }
        Strictness::Loose(why.join(", and "))
    }

    /// The release numbers without leading zeros, three parts at least, as the version
    /// orders: `26.02` orders as `26.2.0`.
    pub fn ordered_as(&self) -> String {
        let parts = self.parts();
        let mut release: Vec<String> = parts
            .release
            .split('.')
            .map(|p| {
                if p.bytes().all(|b| b.is_ascii_digit()) {
                    trim_zeros(p).to_string()
                } else {
                    p.to_string()
                }
            })
            .collect();
        while release.len() < 3 {
            release.push("0".into());
        }
        let mut out = release.join(".");
        if let Some(pre) = parts.pre {
            out.push('-');
            out.push_str(pre);
        }
        out
    }

    fn parts(&self) -> Parts<'_> {
        let (main, build) = match self.text.split_once('+') {
            Some((main, build)) => (main, Some(build)),
            None => (self.text.as_str(), None),
        };
        let (release, pre) = match main.split_once('-') {
            Some((release, pre)) => (release, Some(pre)),
            None => (main, None),
        };
        Parts {
            release,
            pre,
            _build: build,
        }
    }
}

struct Parts<'a> {
    release: &'a str,
    pre: Option<&'a str>,
    _build: Option<&'a str>,
}

fn trim_zeros(digits: &str) -> &str {
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() { "0" } else { trimmed }
}

/// Compares two dot-separated parts: numbers numerically (of any length), numbers before
/// text, text by bytes.
fn compare_part(a: &str, b: &str) -> Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match (numeric(a), numeric(b)) {
        (true, true) => {
            let (a, b) = (trim_zeros(a), trim_zeros(b));
            a.len().cmp(&b.len()).then_with(|| a.cmp(b))
        }
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.parts(), other.parts());
        let mut ra = a.release.split('.');
        let mut rb = b.release.split('.');
        loop {
            match (ra.next(), rb.next()) {
                (None, None) => break,
                (x, y) => {
                    let o = compare_part(x.unwrap_or("0"), y.unwrap_or("0"));
                    if o != Ordering::Equal {
                        return o;
                    }
                }
            }
        }
        let pre = match (a.pre, b.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => {
                let (mut x, mut y) = (x.split('.'), y.split('.'));
                loop {
                    match (x.next(), y.next()) {
                        (None, None) => break Ordering::Equal,
                        (None, Some(_)) => break Ordering::Less,
                        (Some(_), None) => break Ordering::Greater,
                        (Some(p), Some(q)) => {
                            let o = compare_part(p, q);
                            if o != Ordering::Equal {
                                break o;
                            }
                        }
                    }
                }
            }
        };
        pre.then_with(|| self.text.cmp(&other.text))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Version {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

/// The highest of `versions`: the highest release whose parts are all numbers, or, when
/// there is none, the highest such pre-release. Versions with text in their release parts
/// (`1.x`) are never picked.
pub fn highest<T>(versions: impl IntoIterator<Item = (Version, T)>) -> Option<(Version, T)> {
    let mut release: Option<(Version, T)> = None;
    let mut pre: Option<(Version, T)> = None;
    for (version, item) in versions {
        if !version.is_numeric() {
            continue;
        }
        let slot = if version.is_prerelease() {
            &mut pre
        } else {
            &mut release
        };
        if slot.as_ref().is_none_or(|(best, _)| version > *best) {
            *slot = Some((version, item));
        }
    }
    release.or(pre)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn accepts_what_real_packs_write() {
        for text in [
            "1.0.0",
            "26.02.0",
            "23.07.1",
            "1.5",
            "1.2.3.4",
            "2.0.1-up.1",
            "0.30.0-5.5.2026",
            "1.2.0+k3s.1",
            "1.29.0_rke2r1",
            "Version9",
        ] {
            assert_eq!(v(text).as_str(), text);
        }
    }

    #[test]
    fn refuses_what_palette_or_a_tag_cannot_take() {
        assert_eq!(Version::parse(""), Err(VersionError::Empty));
        assert_eq!(Version::parse("  "), Err(VersionError::Empty));
        let e = Version::parse("v1.2.3").unwrap_err();
        assert!(matches!(e, VersionError::LeadingV { .. }));
        assert_eq!(e.hint(), "drop the leading `v`: \"1.2.3\"");
        assert!(matches!(
            Version::parse("V2"),
            Err(VersionError::LeadingV { .. })
        ));
        for bad in ["1.0 beta", "1.0/2", "-1.0", ".1", "1+a+b", "1.0:2", "1.0é"] {
            assert!(
                matches!(Version::parse(bad), Err(VersionError::BadCharacter { .. })),
                "{bad}"
            );
        }
        let long = format!("1.0.0-{}", "a".repeat(130));
        assert!(matches!(
            Version::parse(&long),
            Err(VersionError::TooLong { .. })
        ));
    }

    #[test]
    fn orders_numerically_part_by_part() {
        let mut list: Vec<Version> = [
            "1.10.0",
            "1.5",
            "1.9.9",
            "26.02.0",
            "1.5.0.1",
            "2.0.0-rc.1",
            "2.0.0",
            "1.5.0",
            "2.0.0-rc.10",
            "2.0.0-rc.2",
            "2.0.0-alpha",
            "23.07.1",
        ]
        .into_iter()
        .map(v)
        .collect();
        list.sort();
        let shown: Vec<&str> = list.iter().map(Version::as_str).collect();
        assert_eq!(
            shown,
            [
                "1.5",
                "1.5.0",
                "1.5.0.1",
                "1.9.9",
                "1.10.0",
                "2.0.0-alpha",
                "2.0.0-rc.1",
                "2.0.0-rc.2",
                "2.0.0-rc.10",
                "2.0.0",
                "23.07.1",
                "26.02.0",
            ]
        );
        assert!(v("26.02.0") < v("26.10.0"));
        assert!(v("100000000000000000000000.1") > v("99999999999999999999999.1"));
        assert_ne!(v("26.02.0").cmp(&v("26.2.0")), Ordering::Equal);
    }

    #[test]
    fn tags_map_plus_to_underscore_and_back() {
        assert_eq!(v("1.2.0+k3s.1").tag(), "1.2.0_k3s.1");
        assert_eq!(Version::from_tag("1.2.0_k3s.1"), Some(v("1.2.0+k3s.1")));
        assert_eq!(Version::from_tag("26.02.0"), Some(v("26.02.0")));
        assert_eq!(Version::from_tag("latest"), None);
        assert_eq!(Version::from_tag("sha256-abc.sig"), None);
    }

    #[test]
    fn the_highest_is_a_release_when_there_is_one() {
        fn pick(list: &[&'static str]) -> &'static str {
            highest(list.iter().map(|t| (v(t), *t)))
                .map(|(_, t)| t)
                .unwrap_or("none")
        }
        assert_eq!(pick(&["1.5", "1.10", "2.0.0-rc.1"]), "1.10");
        assert_eq!(pick(&["2.0.0-rc.1", "2.0.0-rc.2"]), "2.0.0-rc.2");
        assert_eq!(pick(&["26.02.0", "25.12.1", "1.x"]), "26.02.0");
        assert_eq!(pick(&["1.x"]), "none");
    }

    #[test]
    fn says_how_a_version_departs_from_semver() {
        assert_eq!(v("1.2.3-rc.1+b.7").strictness(), Strictness::Semver);
        assert!(
            matches!(v("26.02.0").strictness(), Strictness::Loose(w) if w.contains("leading zero"))
        );
        assert!(
            matches!(v("1.5").strictness(), Strictness::Loose(w) if w.contains("2 release parts"))
        );
        assert!(
            matches!(v("1.2.3.4").strictness(), Strictness::Loose(w) if w.contains("4 release parts"))
        );
        assert!(
            matches!(v("1.2.3-01").strictness(), Strictness::Loose(w) if w.contains("pre-release"))
        );
        assert!(matches!(v("1.30.x").strictness(), Strictness::Ambiguous(w) if w.contains("`x`")));
        assert_eq!(v("26.02").ordered_as(), "26.2.0");
        assert_eq!(v("2.0.01-rc.1").ordered_as(), "2.0.1-rc.1");
    }
}
