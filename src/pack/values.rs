//! values.yaml as a tree of located values, and the value paths that presets.yaml and
//! schema.yaml use to name parts of it: `a.b.c`, `charts.<chart>.a.b`, `a.$[]` for every item
//! of a list and `a.$[0]` (or `a.0`) for one.

use super::finding::{Finding, Position};
use super::load::{file_of, not_utf8, read_capped, unreadable, yaml_finding, yaml_options};
use super::walk::{NodeKind, Tree};
use super::{InputLimits, PackFile, VALUES_YAML};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::collections::HashSet;
use std::fmt;

/// The most dot-separated segments a value path may have; a longer path is refused before it
/// is looked up, since keys that hold dots make each lookup try every way to split the path.
pub const MAX_VALUE_PATH_SEGMENTS: usize = 256;

/// The most YAML nodes of one file held in memory, with positions, for looking value paths up
/// (about 100 bytes each). values.yaml may hold more and still be valid; its paths are then
/// not checked, with a warning. presets.yaml and schema.yaml over it are too large.
pub const MAX_LOCATED_YAML_NODES: usize = 1_000_000;

/// A YAML value with the position it starts at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Located {
    /// Where the value starts (for a block scalar, its `|` or `>` indicator).
    pub(crate) position: Position,
    /// The value.
    pub(crate) value: Value,
}

/// A YAML value, as a pack author wrote it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A number with a fraction or exponent.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Located>),
    /// A mapping, in file order.
    Map(Vec<Entry>),
}

/// One key of a mapping and its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The key as text; a key that is not a string is written as YAML shows it.
    pub(crate) key: String,
    /// Where the key starts.
    pub(crate) at: Position,
    /// The value.
    pub(crate) value: Located,
}

impl Value {
    /// The scalar as text; `None` for null and collections.
    pub(crate) fn text(&self) -> Option<String> {
        match self {
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Str(s) => Some(s.clone()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// Whether a user would call it unset: null, a blank string, or an empty collection.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(s) => s.trim().is_empty(),
            Value::Seq(items) => items.is_empty(),
            Value::Map(entries) => entries.is_empty(),
            Value::Bool(_) | Value::Int(_) | Value::Float(_) => false,
        }
    }

    /// What kind of value it is, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The value under `key`, when this is a mapping that has it.
    pub(crate) fn get(&self, key: &str) -> Option<&Located> {
        match self {
            Value::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Located {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        Ok(Located {
            position: position(&spanned.referenced),
            value: spanned.value,
        })
    }
}

fn position(location: &serde_saphyr::Location) -> Position {
    Position {
        line: location.line() as u32,
        column: location.column() as u32,
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i128::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Located>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Key>>()? {
            entries.push(Entry {
                key: key.value.0,
                at: position(&key.referenced),
                value: map.next_value::<Located>()?,
            });
        }
        Ok(Value::Map(entries))
    }
}

/// A mapping key as text: value paths name keys by their text, whatever their YAML type.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Null => Ok(Key("null".to_string())),
            Value::Seq(_) | Value::Map(_) => Err(de::Error::custom(
                "a mapping key is itself a list or mapping, which no value path can name",
            )),
            scalar => Ok(Key(scalar.text().unwrap_or_default())),
        }
    }
}

/// Parses one YAML document into located values, within `limits`.
pub(crate) fn parse(
    file: &str,
    text: &str,
    limits: &InputLimits,
) -> Result<Option<Located>, Box<Finding>> {
    // A file of comments alone holds no document, which is an empty file, not an error.
    let has_content = text.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#') && l != "---" && l != "..."
    });
    if !has_content {
        return Ok(None);
    }
    let limits = &InputLimits {
        max_yaml_nodes: limits.max_yaml_nodes.min(MAX_LOCATED_YAML_NODES),
        ..limits.clone()
    };
    serde_saphyr::from_str_with_options::<Located>(text, yaml_options(limits))
        .map(|v| (v.value != Value::Null).then_some(v))
        .map_err(|e| {
            let finding = yaml_finding(file, e, false, limits);
            // The shared hint speaks of values.yaml.
            Box::new(if finding.rule == "yaml-too-large" && file != VALUES_YAML {
                finding.hint(format!(
                    "keep {file} to what Palette needs; anchors and aliases count as the text they stand for"
                ))
            } else {
                finding
            })
        })
}

/// Reads a YAML file of the pack within `limits`; errors go to `findings` and give `None`.
pub(crate) fn read_text(
    file: &PackFile,
    limits: &InputLimits,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let too_large = |size: u64| {
        Finding::error(
            "file-too-large",
            &file.path,
            format!(
                "{} is {size} bytes; packctl reads YAML files of at most {} bytes",
                file.path, limits.max_yaml_bytes
            ),
        )
        .hint("keep the file to what Palette shows; move large data elsewhere")
    };
    if file.size > limits.max_yaml_bytes {
        findings.push(too_large(file.size));
        return None;
    }
    let bytes = match read_capped(&file.source, limits.max_yaml_bytes) {
        Ok(Some(b)) => b,
        Ok(None) => {
            findings.push(too_large(limits.max_yaml_bytes + 1));
            return None;
        }
        Err(e) => {
            findings.push(unreadable(&file.path, &e));
            return None;
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(e) => {
            findings.push(not_utf8(&file.path, e.as_bytes(), &e.utf8_error()));
            None
        }
    }
}

/// An optional file of the pack (presets.yaml, schema.yaml): `None` when it is absent or,
/// with a finding, when it is not a regular file.
pub(crate) fn optional_file(
    tree: &Tree,
    name: &str,
    findings: &mut Vec<Finding>,
) -> Option<PackFile> {
    match &tree.get(name)?.kind {
        NodeKind::File { .. } => file_of(tree, name),
        NodeKind::Dir => {
            findings.push(
                Finding::error(
                    "invalid-path",
                    name,
                    format!("{name} is a folder, not a file"),
                )
                .hint(format!(
                    "replace the folder with the file {name}, or remove it"
                )),
            );
            None
        }
        // Links and special files already have a finding from the walk.
        NodeKind::Unusable => None,
    }
}

/// values.yaml's values, for looking paths up: `None` when it cannot be read or parsed, which
/// its own checks already report, or when it is too large to hold, which is reported here
/// once. An empty file gives an empty mapping.
pub(crate) fn load_values(
    tree: &Tree,
    limits: &InputLimits,
    findings: &mut Vec<Finding>,
) -> Option<Located> {
    let file = file_of(tree, VALUES_YAML)?;
    let text = read_text(&file, limits, &mut Vec::new())?;
    match parse(VALUES_YAML, &text, limits) {
        Ok(Some(values)) => Some(values),
        Ok(None) => Some(Located {
            position: Position { line: 1, column: 1 },
            value: Value::Map(Vec::new()),
        }),
        // Only the cap that is stricter than values.yaml's own checks is news here.
        Err(f)
            if limits.max_yaml_nodes > MAX_LOCATED_YAML_NODES
                && f.message
                    .contains(&format!("more than {MAX_LOCATED_YAML_NODES} YAML nodes")) =>
        {
            let warning = Finding::warning(
                "values-not-checked",
                VALUES_YAML,
                format!(
                    "values.yaml holds more than {MAX_LOCATED_YAML_NODES} YAML nodes, too many to hold for checking the value paths of presets.yaml and schema.yaml; they are not checked"
                ),
            )
            .hint("keep values.yaml to values users set, or check the paths by hand");
            if !findings.contains(&warning) {
                findings.push(warning);
            }
            None
        }
        Err(_) => None,
    }
}

/// A value path split at its dots, checked for size.
pub(crate) fn split_path(path: &str) -> Result<Vec<&str>, String> {
    if path.trim().is_empty() {
        return Err("the value path is empty".to_string());
    }
    let segments: Vec<&str> = path.split('.').collect();
    if segments.len() > MAX_VALUE_PATH_SEGMENTS {
        return Err(format!(
            "the value path has {} segments; packctl looks up at most {MAX_VALUE_PATH_SEGMENTS}",
            segments.len()
        ));
    }
    if segments.iter().any(|s| s.is_empty()) {
        return Err(format!("the value path `{path}` has an empty segment"));
    }
    Ok(segments)
}

/// What looking a path up found.
#[derive(Debug)]
pub(crate) struct Lookup<'a> {
    /// Every value the path names (several for `$[]`); empty when it names none.
    pub(crate) found: Vec<&'a Located>,
    /// The longest leading part of the path that exists, for a hint when `found` is empty.
    pub(crate) deepest: usize,
}

/// Looks a path up in `root`. A key may hold dots itself (`nvidia.com/gpu`), so each way of
/// joining the next segments into one key is tried; each (value, segment) pair is visited once.
pub(crate) fn lookup<'a>(root: &'a Located, segments: &[&str]) -> Lookup<'a> {
    let mut found: Vec<&'a Located> = Vec::new();
    let mut deepest = 0;
    let mut seen = HashSet::new();
    let mut stack = vec![(root, 0usize)];
    while let Some((node, at)) = stack.pop() {
        if !seen.insert((node as *const Located, at)) {
            continue;
        }
        deepest = deepest.max(at);
        if at == segments.len() {
            if !found.iter().any(|f| std::ptr::eq(*f, node)) {
                found.push(node);
            }
            continue;
        }
        match &node.value {
            Value::Map(entries) => {
                let mut key = String::new();
                for (n, segment) in segments[at..].iter().enumerate() {
                    if n > 0 {
                        key.push('.');
                    }
                    key.push_str(segment);
                    if let Some(entry) = entries.iter().find(|e| e.key == key) {
                        stack.push((&entry.value, at + n + 1));
                    }
                }
            }
            Value::Seq(items) => {
                let segment = segments[at];
                if segment == "$[]" {
                    stack.extend(items.iter().rev().map(|item| (item, at + 1)));
                } else if let Some(item) = item_index(segment).and_then(|i| items.get(i)) {
                    stack.push((item, at + 1));
                }
            }
            _ => {}
        }
    }
    found.sort_by_key(|f| f.position);
    Lookup { found, deepest }
}

/// `$[3]` or `3`: one item of a list.
fn item_index(segment: &str) -> Option<usize> {
    let digits = segment
        .strip_prefix("$[")
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(segment);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The hint for a path that names nothing in values.yaml: how much of it exists.
pub(crate) fn missing_path_hint(segments: &[&str], lookup: &Lookup) -> String {
    if lookup.deepest == 0 {
        format!(
            "values.yaml has no top-level `{}`; correct the path or add the value to values.yaml",
            segments[0]
        )
    } else {
        format!(
            "values.yaml has `{}` but nothing at `{}` under it; correct the path or add the value to values.yaml",
            segments[..lookup.deepest].join("."),
            segments[lookup.deepest..].join(".")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Located {
        parse("values.yaml", text, &InputLimits::default())
            .unwrap()
            .unwrap()
    }

    fn find(root: &Located, path: &str) -> Vec<(u32, u32, Value)> {
        let segments = split_path(path).unwrap();
        lookup(root, &segments)
            .found
            .iter()
            .map(|f| (f.position.line, f.position.column, f.value.clone()))
            .collect()
    }

    #[test]
    fn paths_find_values_with_their_positions() {
        let root = values(
            "charts:\n  hello:\n    port: 80\n    hosts:\n      - a\n      - b\n    nvidia.com/gpu: \"1\"\nempty:\n",
        );
        assert_eq!(find(&root, "charts.hello.port"), [(3, 11, Value::Int(80))]);
        assert_eq!(
            find(&root, "charts.hello.hosts.$[]"),
            [
                (5, 9, Value::Str("a".into())),
                (6, 9, Value::Str("b".into()))
            ]
        );
        assert_eq!(
            find(&root, "charts.hello.hosts.$[1]"),
            [(6, 9, Value::Str("b".into()))]
        );
        assert_eq!(
            find(&root, "charts.hello.hosts.0"),
            [(5, 9, Value::Str("a".into()))]
        );
        assert_eq!(
            find(&root, "charts.hello.nvidia.com/gpu"),
            [(7, 21, Value::Str("1".into()))]
        );
        assert_eq!(find(&root, "empty")[0].2, Value::Null);
        let segments = split_path("charts.hello.image.tag").unwrap();
        let missing = lookup(&root, &segments);
        assert!(missing.found.is_empty());
        assert_eq!(missing.deepest, 2);
        assert!(find(&root, "charts.hello.hosts.$[2]").is_empty());
        assert!(find(&root, "charts.hello.port.$[]").is_empty());
    }

    #[test]
    fn merge_keys_bring_their_values() {
        let root = values("base: &base\n  port: 80\napp:\n  <<: *base\n  name: x\n");
        assert_eq!(find(&root, "app.port")[0].2, Value::Int(80));
        assert_eq!(find(&root, "app.name")[0].2, Value::Str("x".into()));
    }

    #[test]
    fn comments_alone_are_no_document() {
        let limits = InputLimits::default();
        assert_eq!(parse("v", "# nothing\n\n", &limits).unwrap(), None);
        assert_eq!(parse("v", "", &limits).unwrap(), None);
        let f = parse("v", "a: [\n", &limits).unwrap_err();
        assert_eq!(f.rule, "yaml-syntax");
        assert!(f.line.is_some(), "{f}");
    }

    #[test]
    fn long_paths_are_refused_before_lookup() {
        let long = vec!["a"; MAX_VALUE_PATH_SEGMENTS + 1].join(".");
        assert!(split_path(&long).unwrap_err().contains("at most"));
        assert!(split_path("a..b").is_err());
        assert!(split_path(" ").is_err());
    }

    #[test]
    fn keys_with_dots_do_not_blow_up_the_lookup() {
        // Every level offers a key of each length, so naive backtracking would be exponential.
        let mut text = String::new();
        for depth in 0..40 {
            let indent = "  ".repeat(depth);
            text.push_str(&format!("{indent}a.a: 1\n{indent}a:\n"));
        }
        text.push_str(&format!("{}b: 1\n", "  ".repeat(40)));
        let root = values(&text);
        let path = vec!["a"; 60].join(".") + ".zzz";
        let segments = split_path(&path).unwrap();
        let started = std::time::Instant::now();
        assert!(lookup(&root, &segments).found.is_empty());
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
