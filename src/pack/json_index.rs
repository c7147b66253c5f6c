//! Positions of keys and values in a JSON text, and its duplicate keys.
//!
//! `serde_json` reports where a syntax error is, but not where a well-formed value sits, and a
//! `Value` silently keeps the last of two equal keys. Validation needs both, so this scanner
//! walks a text that `serde_json` has already accepted and records the position of every value
//! and key by its path (`constraints.dependencies[0].type`).

use super::finding::Position;
use std::collections::{HashMap, HashSet};

/// Where each value and key of a JSON document starts.
#[derive(Debug, Default)]
pub(crate) struct JsonIndex {
    values: HashMap<String, Position>,
    keys: HashMap<String, Position>,
    /// Keys that appear twice in one object: the path and the position of the repeat.
    pub(crate) duplicates: Vec<(String, Position)>,
}

impl JsonIndex {
    /// Indexes `text`, which must be well-formed JSON; on anything else it stops early.
    pub(crate) fn new(text: &str) -> Self {
        let mut scanner = Scanner {
            bytes: text.as_bytes(),
            text,
            at: 0,
            line: 1,
            column: 1,
            index: JsonIndex::default(),
        };
        scanner.value(String::new());
        scanner.index
    }

    /// The position of the value at `path`.
    pub(crate) fn value(&self, path: &str) -> Option<Position> {
        self.values.get(path).copied()
    }

    /// The position of the key that names `path`, or of its value when it has no key.
    pub(crate) fn key(&self, path: &str) -> Option<Position> {
        self.keys
            .get(path)
            .or_else(|| self.values.get(path))
            .copied()
    }
}

/// Joins an object path and a key.
pub(crate) fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Joins an array path and an index.
pub(crate) fn item(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

struct Scanner<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
    line: u32,
    column: u32,
    index: JsonIndex,
}

impl Scanner<'_> {
    fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn bump(&mut self) {
        let Some(b) = self.peek() else { return };
        self.at += 1;
        if b == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if b & 0xC0 != 0x80 {
            // Count a column at the first byte of each UTF-8 sequence only.
            self.column += 1;
        }
    }

    fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn value(&mut self, path: String) -> Option<()> {
        self.whitespace();
        self.index.values.insert(path.clone(), self.position());
        match self.peek()? {
            b'{' => self.object(&path),
            b'[' => self.array(&path),
            b'"' => self.string().map(|_| ()),
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.bump();
                }
                Some(())
            }
        }
    }

    fn object(&mut self, path: &str) -> Option<()> {
        self.bump();
        let mut seen = HashSet::new();
        loop {
            self.whitespace();
            match self.peek()? {
                b'}' => {
                    self.bump();
                    return Some(());
                }
                b',' => self.bump(),
                b'"' => {
                    let key_at = self.position();
                    let key = self.string()?;
                    let key_path = child(path, &key);
                    let first = seen.insert(key);
                    if first {
                        self.index.keys.insert(key_path.clone(), key_at);
                    } else {
                        self.index.duplicates.push((key_path.clone(), key_at));
                    }
                    self.whitespace();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.bump();
                    // A repeat is scanned under a path nobody asks for, so the first
                    // occurrence keeps its positions.
                    self.value(if first {
                        key_path
                    } else {
                        format!("{key_path}\u{0}repeat")
                    })?;
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, path: &str) -> Option<()> {
        self.bump();
        let mut n = 0;
        loop {
            self.whitespace();
            match self.peek()? {
                b']' => {
                    self.bump();
                    return Some(());
                }
                b',' => self.bump(),
                _ => {
                    self.value(item(path, n))?;
                    n += 1;
                }
            }
        }
    }

    /// Consumes a string literal and returns its decoded text.
    fn string(&mut self) -> Option<String> {
        let start = self.at;
        self.bump();
        loop {
            match self.peek()? {
                b'\\' => {
                    self.bump();
                    self.bump();
                }
                b'"' => {
                    self.bump();
                    break;
                }
                _ => self.bump(),
            }
        }
        serde_json::from_str(self.text.get(start..self.at)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, column: u32) -> Option<Position> {
        Some(Position { line, column })
    }

    #[test]
    fn finds_values_keys_and_items() {
        let text =
            "{\n  \"name\": \"x\",\n  \"list\": [1, {\"é\": true}],\n  \"o\": {\"k\": null}\n}";
        let idx = JsonIndex::new(text);
        assert_eq!(idx.key("name"), pos(2, 3));
        assert_eq!(idx.value("name"), pos(2, 11));
        assert_eq!(idx.value("list[0]"), pos(3, 12));
        assert_eq!(idx.value("list[1].é"), pos(3, 21));
        assert_eq!(idx.value("o.k"), pos(4, 14));
        assert!(idx.duplicates.is_empty());
    }

    #[test]
    fn reports_each_duplicate_with_the_first_positions_kept() {
        let text = "{\"a\": 1, \"b\": {\"c\": 1, \"c\": 2}, \"a\": 3}";
        let idx = JsonIndex::new(text);
        assert_eq!(
            idx.duplicates,
            vec![
                (
                    "b.c".to_string(),
                    Position {
                        line: 1,
                        column: 24
                    }
                ),
                (
                    "a".to_string(),
                    Position {
                        line: 1,
                        column: 33
                    }
                ),
            ]
        );
        assert_eq!(idx.value("a"), pos(1, 7));
    }

    #[test]
    fn escaped_keys_are_decoded() {
        let idx = JsonIndex::new(r#"{"a\"b": "x\"y", "z": 1}"#);
        assert_eq!(idx.value("a\"b"), pos(1, 10));
        assert_eq!(idx.value("z"), pos(1, 23));
    }
}
