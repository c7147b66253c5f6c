//! Positions of keys and values in a JSON text, and its duplicate keys.
//!
//! `serde_json` reports where a syntax error is, but not where a well-formed value sits, and a
//! `Value` silently keeps the last of two equal keys. Validation needs both, so this scanner
//! walks a text that `serde_json` has already accepted and records where every value and key
//! starts.
//!
//! The index is a tree with one node per value, each holding only its own key, so its size
//! grows with the text and not with the length of the paths in it: a long key above a long
//! array is stored once, not once per item.

use super::finding::{Position, escaped};
use std::collections::HashMap;
use std::fmt;

/// Duplicate keys reported one by one; the rest are counted in one more finding, so that a
/// hostile pack.json cannot make the report grow with the square of its size.
pub(crate) const MAX_REPORTED_DUPLICATES: usize = 100;

/// Characters of a key shown in a path; a longer key is cut and ends in `…`, so that a path
/// shown in a finding stays readable and its size bounded by the nesting depth.
pub(crate) const MAX_SHOWN_KEY_CHARS: usize = 64;

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Item(usize),
}

/// A path to a value in pack.json, shown as `constraints.dependencies[0].type`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct JsonPath(Vec<Step>);

impl JsonPath {
    /// The top-level field `name`.
    pub(crate) fn field(name: &str) -> Self {
        JsonPath(vec![Step::Key(name.to_string())])
    }

    /// The value under `key` of the object at this path.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Key(key.to_string()));
        JsonPath(steps)
    }

    /// The item `index` of the array at this path.
    pub(crate) fn item(&self, index: usize) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Item(index));
        JsonPath(steps)
    }
}

impl From<&str> for JsonPath {
    fn from(name: &str) -> Self {
        JsonPath::field(name)
    }
}

impl From<&JsonPath> for JsonPath {
    fn from(path: &JsonPath) -> Self {
        path.clone()
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(&shown_key(key))?;
                }
                Step::Item(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A key as a finding shows it: control characters escaped, and cut when very long.
pub(crate) fn shown_key(key: &str) -> String {
    match key.char_indices().nth(MAX_SHOWN_KEY_CHARS) {
        Some((end, _)) => format!("{}…", escaped(&key[..end])),
        None => escaped(key).into_owned(),
    }
}

/// The key the innermost step of `path` names (empty for an item).
fn key_name(path: &[Step]) -> &str {
    match path.last() {
        Some(Step::Key(key)) => key,
        _ => "",
    }
}

/// Where each value and key of a JSON document starts.
#[derive(Debug, Default)]
pub(crate) struct JsonIndex {
    nodes: Vec<Node>,
    /// Keys that appear twice in one object: the path shown and the position of the repeat,
    /// at most [`MAX_REPORTED_DUPLICATES`] of them.
    pub(crate) duplicates: Vec<(String, Position)>,
    /// Where the first occurrence of each key in `duplicates` is, in the same order.
    pub(crate) first_occurrences: Vec<Option<Position>>,
    /// Repeated keys beyond those in `duplicates`.
    pub(crate) more_duplicates: usize,
}

#[derive(Debug)]
struct Node {
    value_at: Position,
    key_at: Option<Position>,
    children: Children,
}

#[derive(Debug)]
enum Children {
    None,
    Object(HashMap<Box<str>, usize>),
    Array(Vec<usize>),
}

impl JsonIndex {
    /// Indexes `text`, which must be well-formed JSON; on anything else it stops early.
    ///
    /// The scanner recurses once per level of nesting; `serde_json`, which accepted the text
    /// first, refuses more than 128 levels, so the depth here is bounded too.
    pub(crate) fn new(text: &str) -> Self {
        let mut scanner = Scanner {
            bytes: text.as_bytes(),
            text,
            at: 0,
            line: 1,
            column: 1,
            index: JsonIndex::default(),
            path: Vec::new(),
        };
        scanner.value(None);
        scanner.index
    }

    fn node(&self, path: &JsonPath) -> Option<&Node> {
        let mut node = self.nodes.first()?;
        for step in &path.0 {
            let next = match (step, &node.children) {
                (Step::Key(key), Children::Object(map)) => *map.get(key.as_str())?,
                (Step::Item(i), Children::Array(items)) => *items.get(*i)?,
                _ => return None,
            };
            node = &self.nodes[next];
        }
        Some(node)
    }

    /// The position of the value at `path`.
    pub(crate) fn value(&self, path: &JsonPath) -> Option<Position> {
        self.node(path).map(|n| n.value_at)
    }

    /// The position of the key that names `path`, or of its value when it has no key.
    pub(crate) fn key(&self, path: &JsonPath) -> Option<Position> {
        self.node(path).map(|n| n.key_at.unwrap_or(n.value_at))
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
    line: u32,
    column: u32,
    index: JsonIndex,
    /// The path being scanned, for naming duplicates.
    path: Vec<Step>,
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
            self.line = self.line.saturating_add(1);
            self.column = 1;
        } else if b & 0xC0 != 0x80 {
            // Count a column at the first byte of each UTF-8 sequence only.
            self.column = self.column.saturating_add(1);
        }
    }

    fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    /// Scans one value and returns its node; `key_at` is where its key starts, if any.
    fn value(&mut self, key_at: Option<Position>) -> Option<usize> {
        self.whitespace();
        let id = self.index.nodes.len();
        self.index.nodes.push(Node {
            value_at: self.position(),
            key_at,
            children: Children::None,
        });
        match self.peek()? {
            b'{' => self.object(id)?,
            b'[' => self.array(id)?,
            b'"' => {
                self.string()?;
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.bump();
                }
            }
        }
        Some(id)
    }

    fn object(&mut self, id: usize) -> Option<()> {
        self.bump();
        let mut children: HashMap<Box<str>, usize> = HashMap::new();
        loop {
            self.whitespace();
            match self.peek()? {
                b'}' => {
                    self.bump();
                    self.index.nodes[id].children = Children::Object(children);
                    return Some(());
                }
                b',' => self.bump(),
                b'"' => {
                    let key_at = self.position();
                    let key = self.string()?;
                    let first = !children.contains_key(key.as_str());
                    self.path.push(Step::Key(key));
                    if !first {
                        let earlier = children
                            .get(key_name(&self.path))
                            .and_then(|id| self.index.nodes[*id].key_at);
                        self.duplicate(key_at, earlier);
                    }
                    self.whitespace();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.bump();
                    let child = self.value(Some(key_at))?;
                    let Some(Step::Key(key)) = self.path.pop() else {
                        unreachable!("the key pushed above")
                    };
                    // A repeat is scanned for its own duplicates but cannot be looked up, so
                    // the first occurrence keeps its positions.
                    if first {
                        children.insert(key.into_boxed_str(), child);
                    }
                }
                _ => return None,
            }
        }
    }

    fn duplicate(&mut self, at: Position, first: Option<Position>) {
        if self.index.duplicates.len() < MAX_REPORTED_DUPLICATES {
            self.index.first_occurrences.push(first);
            let shown = JsonPath(
                self.path
                    .iter()
                    .map(|step| match step {
                        Step::Key(key) => Step::Key(shown_key(key)),
                        Step::Item(i) => Step::Item(*i),
                    })
                    .collect(),
            );
            self.index.duplicates.push((shown.to_string(), at));
        } else {
            self.index.more_duplicates += 1;
        }
    }

    fn array(&mut self, id: usize) -> Option<()> {
        self.bump();
        let mut items = Vec::new();
        loop {
            self.whitespace();
            match self.peek()? {
                b']' => {
                    self.bump();
                    self.index.nodes[id].children = Children::Array(items);
                    return Some(());
                }
                b',' => self.bump(),
                _ => {
                    self.path.push(Step::Item(items.len()));
                    let child = self.value(None);
                    self.path.pop();
                    items.push(child?);
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

    fn path(text: &str) -> JsonPath {
        // Test paths only: keys without `.` or `[`, items as `[n]`.
        let mut p = JsonPath::default();
        for part in text.split('.') {
            let (key, items) = part.split_once('[').unwrap_or((part, ""));
            p = p.key(key);
            for i in items.split('[') {
                if let Some(n) = i.strip_suffix(']') {
                    p = p.item(n.parse().unwrap());
                }
            }
        }
        p
    }

    #[test]
    fn finds_values_keys_and_items() {
        let text =
            "{\n  \"name\": \"x\",\n  \"list\": [1, {\"é\": true}],\n  \"o\": {\"k\": null}\n}";
        let idx = JsonIndex::new(text);
        assert_eq!(idx.key(&path("name")), pos(2, 3));
        assert_eq!(idx.value(&path("name")), pos(2, 11));
        assert_eq!(idx.value(&path("list[0]")), pos(3, 12));
        assert_eq!(idx.value(&path("list[1].é")), pos(3, 21));
        assert_eq!(idx.value(&path("o.k")), pos(4, 14));
        assert_eq!(idx.value(&JsonPath::default()), pos(1, 1));
        assert_eq!(idx.value(&path("list[2]")), None);
        assert_eq!(idx.value(&path("name.x")), None);
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
        assert_eq!(idx.value(&path("a")), pos(1, 7));
        assert_eq!(idx.value(&path("b.c")), pos(1, 21));
    }

    #[test]
    fn escaped_keys_are_decoded() {
        let idx = JsonIndex::new(r#"{"a\"b": "x\"y", "z": 1, "d.e": {"f": 2}}"#);
        assert_eq!(idx.value(&JsonPath::field("a\"b")), pos(1, 10));
        assert_eq!(idx.value(&JsonPath::field("z")), pos(1, 23));
        assert_eq!(idx.value(&JsonPath::field("d.e").key("f")), pos(1, 39));
    }

    #[test]
    fn paths_are_shown_escaped_and_cut() {
        let long = "k".repeat(MAX_SHOWN_KEY_CHARS + 10);
        let p = JsonPath::field("a\u{1b}[2J").item(3).key(&long);
        let shown = p.to_string();
        assert_eq!(
            shown,
            format!("a\\u{{1b}}[2J[3].{}…", "k".repeat(MAX_SHOWN_KEY_CHARS))
        );
    }

    #[test]
    fn duplicates_beyond_the_cap_are_counted() {
        let items: Vec<String> = (0..MAX_REPORTED_DUPLICATES + 5)
            .map(|_| r#"{"x": 1, "x": 2}"#.to_string())
            .collect();
        let idx = JsonIndex::new(&format!("[{}]", items.join(",")));
        assert_eq!(idx.duplicates.len(), MAX_REPORTED_DUPLICATES);
        assert_eq!(idx.more_duplicates, 5);
        assert_eq!(idx.duplicates[7].0, "[7].x");
    }
}
