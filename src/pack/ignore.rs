//! Which paths of a pack folder are left out of the pack: a few defaults (VCS folders, Finder
//! files), then the rules of `.packignore` in gitignore syntax.
//!
//! Only the `.packignore` at the top of the pack is read: one file says what a pack leaves out,
//! and a pulled pack (which never carries one) cannot change how the folder it lands in is
//! packed. The defaults come first, so a `!` line can bring one of them back.

use super::finding::{Finding, Position};
use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The file of ignore rules, read only at the top of the pack folder and never packed.
pub const IGNORE_FILE: &str = ".packignore";

/// The most bytes of `.packignore`; a larger one is refused from its size, before it is read.
///
/// Compiling patterns costs memory: at this size the costliest patterns take about 65 MB,
/// while real ignore files are a few hundred bytes.
pub const MAX_IGNORE_FILE_BYTES: u64 = 64 << 10;

/// Patterns every pack folder is matched against before `.packignore`: version-control
/// folders and macOS Finder files, which are never part of what an author means to ship.
pub const DEFAULT_IGNORES: [&str; 4] = [".git", ".hg", ".svn", ".DS_Store"];

/// Why a path is left out of the pack.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IgnoreRule {
    /// One of [`DEFAULT_IGNORES`].
    Default(&'static str),
    /// A line of `.packignore`.
    Line {
        /// The line number, from 1.
        line: u32,
        /// The pattern as written (trailing spaces removed).
        pattern: String,
    },
    /// The path is `.packignore` itself.
    IgnoreFile,
}

impl fmt::Display for IgnoreRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IgnoreRule::Default(pattern) => write!(f, "default rule `{pattern}`"),
            IgnoreRule::Line { line, pattern } => write!(f, "{IGNORE_FILE}:{line} `{pattern}`"),
            IgnoreRule::IgnoreFile => f.write_str("the ignore file itself"),
        }
    }
}

/// A file or folder of the pack folder that is not part of the pack. Nothing inside an
/// ignored folder is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// Path relative to the pack folder, `/`-separated (a name that is not UTF-8 is shown
    /// with replacement characters).
    pub path: String,
    /// Whether it is a folder.
    pub dir: bool,
    /// The rule that left it out.
    pub rule: IgnoreRule,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slash = if self.dir { "/" } else { "" };
        write!(f, "{}{slash} ({})", self.path, self.rule)
    }
}

impl Ignored {
    /// The rule, as the end of a sentence about `named` (this path or one inside it):
    /// "… which .packignore line 3 (`build/`) leaves out".
    pub(crate) fn leaves_out(&self, named: &str) -> String {
        let rule = match &self.rule {
            IgnoreRule::Default(pattern) => format!("the default rule `{pattern}`"),
            IgnoreRule::Line { line, pattern } => {
                format!("{IGNORE_FILE} line {line} (`{pattern}`)")
            }
            IgnoreRule::IgnoreFile => {
                return format!("is the ignore file {IGNORE_FILE}, which is never packed");
            }
        };
        if named == self.path {
            format!("{rule} leaves out")
        } else {
            format!("{rule} leaves out with the folder `{}`", self.path)
        }
    }

    /// How to keep `named` (this path or one inside it) in the pack.
    pub(crate) fn hint(&self, named: &str) -> String {
        match &self.rule {
            IgnoreRule::Default(_) => {
                format!("add `!{}` to {IGNORE_FILE} to pack it anyway", self.path)
            }
            IgnoreRule::Line { line, .. } if named == self.path => format!(
                "remove or narrow the pattern on {IGNORE_FILE} line {line}, or add `!{named}` on a line after it"
            ),
            IgnoreRule::Line { line, .. } => format!(
                "narrow the pattern on {IGNORE_FILE} line {line}: `!` cannot bring back a path inside a folder that is left out"
            ),
            IgnoreRule::IgnoreFile => {
                format!("rename the file; {IGNORE_FILE} only holds ignore rules")
            }
        }
    }

    /// The finding for a file every pack must have (pack.json, values.yaml, logo.png) that
    /// this rule leaves out; it points at the rule's line when `.packignore` holds it.
    pub(crate) fn required_finding(&self, name: &str) -> Finding {
        let (file, line) = match &self.rule {
            IgnoreRule::Line { line, .. } => (IGNORE_FILE, Some(*line)),
            _ => (name, None),
        };
        Finding::error(
            "ignored-path",
            file,
            format!(
                "every pack needs {name}, but {}",
                self.leaves_out(name)
                    .replacen(" leaves out", " leaves it out", 1)
            ),
        )
        .at(line.map(|line| Position { line, column: 1 }))
        .hint(self.hint(name))
    }
}

/// The compiled rules of one pack folder.
pub(crate) struct Rules {
    matcher: Gitignore,
}

impl Rules {
    /// The default rules and the rules of `root/.packignore`, with a finding for each line
    /// that cannot be used; an unusable file leaves the defaults alone in force.
    pub(crate) fn load(root: &Path, findings: &mut Vec<Finding>) -> Rules {
        let builder = defaults();
        let mut with_file = builder.clone();
        if let Some(text) = read(&root.join(IGNORE_FILE), findings) {
            add_lines(&mut with_file, &text, findings);
        }
        let matcher = match with_file.build() {
            Ok(matcher) => matcher,
            Err(e) => {
                findings.push(
                    Finding::error(
                        "invalid-ignore-file",
                        IGNORE_FILE,
                        format!("the patterns of {IGNORE_FILE} cannot be compiled: {e}"),
                    )
                    .hint("use fewer or simpler patterns"),
                );
                builder.build().unwrap_or_else(|_| Gitignore::empty())
            }
        };
        Rules { matcher }
    }

    /// The rule that leaves out `rel` (relative to the pack folder), if one does: the last
    /// pattern that matches decides, and a `!` pattern keeps the path.
    pub(crate) fn rule_for(&self, rel: &Path, is_dir: bool) -> Option<IgnoreRule> {
        let Match::Ignore(glob) = self.matcher.matched(rel, is_dir) else {
            return None;
        };
        // Each line's number travels as the glob's origin: the matcher tells which glob
        // matched but not where it came from.
        let line = glob
            .from()
            .and_then(|from| from.to_str())
            .and_then(|n| n.parse().ok());
        Some(match line {
            Some(line) => IgnoreRule::Line {
                line,
                pattern: glob.original().to_string(),
            },
            None => DEFAULT_IGNORES
                .iter()
                .find(|d| **d == glob.original())
                .map_or(IgnoreRule::IgnoreFile, |d| IgnoreRule::Default(d)),
        })
    }
}

fn defaults() -> GitignoreBuilder {
    let mut builder = GitignoreBuilder::new(".");
    for pattern in DEFAULT_IGNORES {
        // Constant, plain names: they always parse (a unit test checks each).
        let _ = builder.add_line(None, pattern);
    }
    builder
}

fn add_lines(builder: &mut GitignoreBuilder, text: &str, findings: &mut Vec<Finding>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, line) in text.lines().enumerate() {
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if let Err(e) = builder.add_line(Some(PathBuf::from(number.to_string())), line) {
            findings.push(
                Finding::error(
                    "invalid-ignore-file",
                    IGNORE_FILE,
                    format!("line {number} is not a valid gitignore pattern: {e}"),
                )
                .at(Some(Position {
                    line: number,
                    column: 1,
                }))
                .hint("escape a literal `{`, `}`, `[`, `*` or `?` with `\\`"),
            );
        }
    }
}

/// The text of the ignore file, or `None` when there is none or it cannot be used (a
/// finding says why).
fn read(path: &Path, findings: &mut Vec<Finding>) -> Option<String> {
    let unreadable = |e: io::Error| {
        Finding::error(
            "unreadable",
            IGNORE_FILE,
            format!("{IGNORE_FILE} cannot be read: {e}"),
        )
        .hint("check the file's permissions")
    };
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => {
            findings.push(unreadable(e));
            return None;
        }
    };
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a folder"
        } else if kind.is_symlink() {
            "a symbolic link"
        } else if kind.is_fifo() {
            "a named pipe"
        } else {
            "a socket or device file"
        };
        findings.push(
            Finding::error(
                "invalid-ignore-file",
                IGNORE_FILE,
                format!("{IGNORE_FILE} is {what}; ignore rules are read only from a regular file"),
            )
            .hint("replace it with a file of gitignore patterns, or remove it"),
        );
        return None;
    }
    let too_large = |size: u64| {
        Finding::error(
            "file-too-large",
            IGNORE_FILE,
            format!("{IGNORE_FILE} is {size} bytes; packctl reads at most {MAX_IGNORE_FILE_BYTES}"),
        )
        .hint("use fewer, broader patterns (`build/` leaves out a whole folder)")
    };
    if meta.len() > MAX_IGNORE_FILE_BYTES {
        findings.push(too_large(meta.len()));
        return None;
    }
    // Not blocking on open: the entry may have been swapped for a pipe since it was looked at.
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    let mut bytes = Vec::new();
    match file.and_then(|f| read_regular(f, &mut bytes)) {
        Ok(()) => {}
        Err(e) => {
            findings.push(unreadable(e));
            return None;
        }
    }
    if bytes.len() as u64 > MAX_IGNORE_FILE_BYTES {
        findings.push(too_large(bytes.len() as u64));
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(e) => {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            findings.push(
                Finding::error(
                    "not-utf8",
                    IGNORE_FILE,
                    format!("{IGNORE_FILE} is not UTF-8 text"),
                )
                .at(Some(Position {
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                    column: 1,
                }))
                .hint("save the file as UTF-8"),
            );
            None
        }
    }
}

/// Reads at most one byte more than the cap, and only from a regular file.
fn read_regular(file: File, bytes: &mut Vec<u8>) -> io::Result<()> {
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("it is no longer a regular file"));
    }
    file.take(MAX_IGNORE_FILE_BYTES + 1).read_to_end(bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_pattern_parses() {
        for pattern in DEFAULT_IGNORES {
            GitignoreBuilder::new(".")
                .add_line(None, pattern)
                .unwrap_or_else(|e| panic!("{pattern}: {e}"));
        }
        assert_eq!(defaults().build().unwrap().num_ignores(), 4);
    }

    #[test]
    fn the_last_matching_line_decides() {
        let mut findings = Vec::new();
        let mut builder = defaults();
        add_lines(
            &mut builder,
            "\u{feff}*.log\n# comment\n!keep.log\nout/\n!.DS_Store\r\n",
            &mut findings,
        );
        assert!(findings.is_empty(), "{findings:?}");
        let rules = Rules {
            matcher: builder.build().unwrap(),
        };
        assert_eq!(
            rules.rule_for(Path::new("a/b.log"), false),
            Some(IgnoreRule::Line {
                line: 1,
                pattern: "*.log".into()
            })
        );
        assert_eq!(rules.rule_for(Path::new("keep.log"), false), None);
        assert_eq!(rules.rule_for(Path::new("out"), false), None);
        assert!(matches!(
            rules.rule_for(Path::new("x/out"), true),
            Some(IgnoreRule::Line { line: 4, .. })
        ));
        assert_eq!(
            rules.rule_for(Path::new("x/.git"), true),
            Some(IgnoreRule::Default(".git"))
        );
        assert_eq!(rules.rule_for(Path::new(".DS_Store"), false), None);
    }
}
