//! Validation findings: what is wrong with a pack, where, and how to fix it.

use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// The pack is invalid and cannot be built or pushed.
    Error,
    /// The pack is usable, but something looks wrong.
    Warning,
    /// Worth knowing, nothing to fix: how packctl reads something Palette accepts (a version
    /// that is not strict semantic versioning, say). `pack validate` shows notes; other
    /// commands leave them out.
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1, in characters.
    pub column: u32,
}

/// One problem found in a pack.
///
/// The serialised form is part of `packctl pack validate --output json` and is kept stable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// A stable identifier of the rule that was broken, such as `invalid-version`.
    pub rule: &'static str,
    /// The file the finding is about, relative to the pack folder (`.` for the folder itself).
    pub file: String,
    /// The pack.json field, as a path such as `constraints.dependencies[0].type`.
    pub field: Option<String>,
    /// Line in `file`, from 1, where the input has one.
    pub line: Option<u32>,
    /// Column in `file`, from 1, where the input has one.
    pub column: Option<u32>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Finding {
    /// A finding about `file` with no position yet.
    pub fn new(
        severity: Severity,
        rule: &'static str,
        file: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            severity,
            rule,
            file: printable(file.into()),
            field: None,
            line: None,
            column: None,
            message: printable(message.into()),
            hint: None,
        }
    }

    /// An error about `file`.
    pub fn error(rule: &'static str, file: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, rule, file, message)
    }

    /// A warning about `file`.
    pub fn warning(
        rule: &'static str,
        file: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Warning, rule, file, message)
    }

    /// A note about `file`.
    pub fn note(rule: &'static str, file: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, rule, file, message)
    }

    /// Names the pack.json field the finding is about.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(printable(field.into()));
        self
    }

    /// Places the finding at a position, where there is one.
    pub fn at(mut self, position: Option<Position>) -> Self {
        if let Some(p) = position {
            self.line = Some(p.line);
            self.column = Some(p.column);
        }
        self
    }

    /// Adds a hint that says how to fix it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(printable(hint.into()));
        self
    }

    /// Whether this finding makes the pack invalid.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:column`, as far as known.
    pub fn location(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", self.file),
            (Some(l), None) => format!("{}:{l}", self.file),
            _ => self.file.clone(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A finding about the folder as a whole (`.`) names it in its message already.
        if self.file == "." && self.line.is_none() {
            write!(f, "{}[{}]: {}", self.severity, self.rule, self.message)?;
        } else {
            write!(
                f,
                "{}[{}]: {}: {}",
                self.severity,
                self.rule,
                self.location(),
                self.message
            )?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Text as a finding shows it: control characters, which could move a terminal's cursor or
/// forge a line of the report, are written as escapes such as `\n` and `\u{1b}`.
pub(crate) fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn printable(text: String) -> String {
    match escaped(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(out) => out,
    }
}

/// Converts a byte column on a 1-based line of `text` into a character column.
pub(crate) fn char_column(text: &str, line: usize, byte_column: usize) -> u32 {
    let Some(line_text) = text.split('\n').nth(line.saturating_sub(1)) else {
        return byte_column as u32;
    };
    let end = byte_column.saturating_sub(1).min(line_text.len());
    let mut end_char = end;
    while !line_text.is_char_boundary(end_char) {
        end_char -= 1;
    }
    (line_text[..end_char].chars().count() + 1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_column_counts_characters() {
        let text = "{\n  \"a\": \"é\", x}";
        // `x` is the 13th byte of line 2 but its 12th character.
        assert_eq!(char_column(text, 2, 14), 13);
        assert_eq!(char_column("abc", 1, 3), 3);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escaped("plain é"), "plain é");
        assert_eq!(escaped("a\nb\u{1b}[2J\t"), "a\\nb\\u{1b}[2J\\t");
        let f = Finding::error("x", "bad\nname", "it is `bad\rname`").hint("rename `\u{7}`");
        assert_eq!(f.file, "bad\\nname");
        assert!(!f.to_string().contains(['\r', '\u{7}']), "{f}");
        assert_eq!(f.to_string().lines().count(), 2);
    }

    #[test]
    fn display_includes_position_and_hint() {
        let f = Finding::error("invalid-version", "pack.json", "bad")
            .at(Some(Position {
                line: 3,
                column: 14,
            }))
            .hint("fix it");
        assert_eq!(
            f.to_string(),
            "error[invalid-version]: pack.json:3:14: bad\n  hint: fix it"
        );
    }
}
