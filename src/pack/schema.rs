//! schema.yaml: Palette's constraints on a pack's values. Each key is a value path of
//! values.yaml (`charts.app.port`, `pools.$[]`) with a `schema` expression such as
//! `{{ required | format "${number:[1-65535]}" | hints "The port" }}`. Palette checks a
//! profile's values against it when the profile is saved; this checks the pack's own defaults
//! the same way, and that every expression parses and every path exists.

use super::finding::{Finding, Position};
use super::values::{self, Located, Value, load_values, lookup, optional_file, read_text};
use super::walk::Tree;
use super::{InputLimits, VALUES_YAML, presets};
use regex::{Regex, RegexBuilder};
use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// The optional schema file.
pub const SCHEMA_YAML: &str = "schema.yaml";

/// The most bytes a compiled `/regex/` of a schema expression may take; a larger one is an
/// error in the expression, reported before any value is matched against it.
pub const MAX_SCHEMA_REGEX_BYTES: usize = 1 << 20;

/// The keys Palette reads under a value path.
const ENTRY_KEYS: [&str; 1] = ["schema"];

/// The format types Palette documents.
const FORMAT_TYPES: [&str; 7] = [
    "string", "number", "boolean", "password", "list", "ipv4", "version",
];

/// Checks schema.yaml, when the pack has one, against values.yaml.
pub(crate) fn check(tree: &Tree, limits: &InputLimits, findings: &mut Vec<Finding>) {
    let Some(file) = optional_file(tree, SCHEMA_YAML, findings) else {
        return;
    };
    let Some(text) = read_text(&file, limits, findings) else {
        return;
    };
    let root = match values::parse(SCHEMA_YAML, &text, limits) {
        Ok(Some(root)) => root,
        Ok(None) => return,
        Err(finding) => {
            findings.push(*finding);
            return;
        }
    };
    let Value::Map(entries) = &root.value else {
        findings.push(
            Finding::error(
                "invalid-schema",
                SCHEMA_YAML,
                format!(
                    "schema.yaml holds {}, not a mapping of value paths",
                    root.value.kind()
                ),
            )
            .at(Some(root.position))
            .hint("write each value path as a key with `schema: '{{ … }}'` under it"),
        );
        return;
    };
    let values_yaml = load_values(tree, limits, findings);
    let added = presets::added_values(tree, limits);
    for entry in entries {
        let path = &entry.key;
        let Some(expression) = expression_of(entry, findings) else {
            continue;
        };
        let rule = match parse_expression(&expression.text) {
            Ok(rule) => rule,
            Err(e) => {
                findings.push(
                    Finding::error(
                        "invalid-schema-expression",
                        SCHEMA_YAML,
                        format!("the schema of `{path}` does not parse: {}", e.message),
                    )
                    .at(Some(expression.position_of(&text, e.offset)))
                    .hint(
                        "write `{{ required | readonly | format \"${type}\" | hints \"text\" }}`, \
                         keeping the parts you need; types are string, number, boolean, \
                         password, list:[a,b], ipv4 and version",
                    ),
                );
                continue;
            }
        };
        for unknown in &rule.unknown_types {
            findings.push(
                Finding::warning(
                    "unknown-schema-format",
                    SCHEMA_YAML,
                    format!(
                        "the schema of `{path}` uses the format type `{unknown}`, which Palette does not document; any value passes it here"
                    ),
                )
                .at(Some(expression.position))
                .hint(format!("use one of {}", FORMAT_TYPES.join(", "))),
            );
        }
        let segments = match values::split_path(path) {
            Ok(s) => s,
            Err(problem) => {
                findings.push(
                    Finding::error("invalid-schema", SCHEMA_YAML, problem)
                        .at(Some(entry.at))
                        .hint("write the path as keys joined by dots, such as charts.app.port"),
                );
                continue;
            }
        };
        let Some(values_yaml) = &values_yaml else {
            continue;
        };
        let found = lookup(values_yaml, &segments);
        // A value that only a preset sets is checked when the preset is chosen, not here.
        let added_here = || added.iter().any(|a| !lookup(a, &segments).found.is_empty());
        if found.found.is_empty() && !added_here() {
            // Palette accepts such a key, and a chart may read a value its pack does not set
            // (an optional token, say), so this is worth a look, not a refusal.
            findings.push(
                Finding::warning(
                    "missing-value-path",
                    SCHEMA_YAML,
                    format!(
                        "`{path}` names no value in values.yaml or in any preset; the constraint applies only once a profile sets it"
                    ),
                )
                .at(Some(entry.at))
                .hint(values::missing_path_hint(&segments, &found)),
            );
            continue;
        }
        for value in found.found {
            check_default(path, entry.at.line, &rule, value, findings);
        }
    }
}

/// A `schema` expression and where it is.
struct Expression {
    text: String,
    position: Position,
}

impl Expression {
    /// The position of the character at `offset` of the expression: exact for an expression on
    /// one line in quotes (the usual form), else the start of the value.
    fn position_of(&self, file: &str, offset: usize) -> Position {
        let line = file
            .split('\n')
            .nth(self.position.line.saturating_sub(1) as usize)
            .unwrap_or_default();
        let quote = line
            .chars()
            .nth(self.position.column.saturating_sub(1) as usize);
        if self.text.contains('\n') || !matches!(quote, Some('\'' | '"')) {
            return self.position;
        }
        // In single quotes a quote is written twice; in double quotes, escapes take two
        // characters or more, which is approximated as two.
        let before: String = self.text.chars().take(offset).collect();
        let extra = match quote {
            Some('\'') => before.matches('\'').count(),
            _ => before.matches(['"', '\\']).count(),
        };
        Position {
            line: self.position.line,
            column: self.position.column + 1 + (offset + extra) as u32,
        }
    }
}

fn expression_of(entry: &values::Entry, findings: &mut Vec<Finding>) -> Option<Expression> {
    let path = &entry.key;
    let hint = "put `schema: '{{ … }}'` under each value path";
    let Value::Map(keys) = &entry.value.value else {
        findings.push(
            Finding::error(
                "invalid-schema",
                SCHEMA_YAML,
                format!(
                    "`{path}` holds {}, not a mapping with `schema`",
                    entry.value.value.kind()
                ),
            )
            .at(Some(entry.at))
            .hint(hint),
        );
        return None;
    };
    let unknown: Vec<&values::Entry> = keys
        .iter()
        .filter(|k| !ENTRY_KEYS.contains(&k.key.as_str()))
        .collect();
    // Without `schema`, the other keys are the likely misspelling: the error names them.
    let has_schema = entry.value.value.get("schema").is_some();
    for key in unknown.iter().filter(|_| has_schema) {
        findings.push(
            Finding::warning(
                "unknown-field",
                SCHEMA_YAML,
                format!(
                    "`{path}` has the key `{}`, which Palette does not read",
                    key.key
                ),
            )
            .at(Some(key.at))
            .hint("keep only `schema` under a value path"),
        );
    }
    match entry.value.value.get("schema") {
        Some(Located {
            value: Value::Str(text),
            position,
        }) => Some(Expression {
            text: text.clone(),
            position: *position,
        }),
        Some(other) => {
            findings.push(
                Finding::error(
                    "invalid-schema",
                    SCHEMA_YAML,
                    format!(
                        "the `schema` of `{path}` is {}, not an expression",
                        other.value.kind()
                    ),
                )
                .at(Some(other.position))
                .hint("quote the expression: schema: '{{ required }}'"),
            );
            None
        }
        None => {
            findings.push(
                Finding::error(
                    "invalid-schema",
                    SCHEMA_YAML,
                    if unknown.is_empty() {
                        format!("`{path}` has no `schema`")
                    } else {
                        let names: Vec<String> =
                            unknown.iter().map(|k| format!("`{}`", k.key)).collect();
                        format!("`{path}` has no `schema`, only {}", names.join(", "))
                    },
                )
                .at(Some(entry.at))
                .hint(hint),
            );
            None
        }
    }
}

/// A parsed `schema` expression.
#[derive(Debug)]
pub(crate) struct Rule {
    required: bool,
    readonly: bool,
    format: Option<Format>,
    unknown_types: Vec<String>,
}

/// A `format` string: literal text and `${…}` placeholders.
#[derive(Debug)]
struct Format {
    text: String,
    parts: Vec<Part>,
    /// The whole format as one anchored pattern, when it has more than one part.
    whole: Option<Regex>,
}

#[derive(Debug)]
enum Part {
    Literal(String),
    Placeholder(Placeholder),
}

#[derive(Debug)]
enum Placeholder {
    /// `string`, `password` or an undocumented type, with an optional `/regex/`.
    Text(Option<Regex>),
    /// `number`, with an optional `[min-max]` range or `/regex/`.
    Number {
        range: Option<(f64, f64)>,
        regex: Option<Regex>,
    },
    Boolean,
    List(Vec<String>),
    Ipv4,
    Version,
}

/// Why an expression does not parse, and at which character of it.
#[derive(Debug)]
pub(crate) struct ParseError {
    message: String,
    offset: usize,
}

fn fail<T>(offset: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        message: message.into(),
        offset,
    })
}

/// Parses `{{ command | command … }}`: `required`, `readonly`, `format "…"`, `hints "…" …`.
pub(crate) fn parse_expression(text: &str) -> Result<Rule, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut at = skip_space(&chars, 0);
    if !chars[at..].starts_with(&['{', '{']) {
        return fail(at, "it does not start with `{{`");
    }
    at += 2;
    let mut rule = Rule {
        required: false,
        readonly: false,
        format: None,
        unknown_types: Vec::new(),
    };
    loop {
        at = skip_space(&chars, at);
        let start = at;
        while at < chars.len() && (chars[at].is_ascii_alphanumeric() || chars[at] == '_') {
            at += 1;
        }
        let word: String = chars[start..at].iter().collect();
        let mut args = Vec::new();
        loop {
            at = skip_space(&chars, at);
            match chars.get(at) {
                Some(q @ ('"' | '`')) => {
                    let (arg, next) = quoted(&chars, at, *q)?;
                    args.push((start_of_arg(at), arg));
                    at = next;
                }
                _ => break,
            }
        }
        match (word.as_str(), args.len()) {
            ("", _) => {
                return fail(
                    start,
                    if chars.get(at).is_none() {
                        "it ends before `}}`"
                    } else {
                        "a command is missing before this point"
                    },
                );
            }
            ("required", 0) => rule.required = true,
            ("readonly", 0) => rule.readonly = true,
            ("format", 1) => {
                if rule.format.is_some() {
                    return fail(start, "`format` is given twice");
                }
                let (offset, text) = &args[0];
                let format =
                    parse_format(text, &mut rule.unknown_types).map_err(|e| ParseError {
                        message: e.message,
                        offset: offset + e.offset,
                    })?;
                rule.format = Some(format);
            }
            ("hints", n) if n > 0 => {}
            ("required" | "readonly", _) => {
                return fail(start, format!("`{word}` takes no arguments"));
            }
            ("format", _) => return fail(start, "`format` takes one quoted format"),
            ("hints", _) => return fail(start, "`hints` takes one or more quoted texts"),
            _ => {
                return fail(
                    start,
                    format!("`{word}` is not one of required, readonly, format, hints"),
                );
            }
        }
        at = skip_space(&chars, at);
        match chars.get(at) {
            Some('|') => at += 1,
            Some('}') if chars.get(at + 1) == Some(&'}') => {
                let end = skip_space(&chars, at + 2);
                if end != chars.len() {
                    return fail(end, "there is text after `}}`");
                }
                return Ok(rule);
            }
            Some(c) => return fail(at, format!("`{c}` where `|` or `}}}}` should be")),
            None => return fail(at, "it ends before `}}`"),
        }
    }
}

/// Where the text of a quoted argument starts.
fn start_of_arg(quote: usize) -> usize {
    quote + 1
}

fn skip_space(chars: &[char], mut at: usize) -> usize {
    while chars.get(at).is_some_and(|c| c.is_whitespace()) {
        at += 1;
    }
    at
}

/// A quoted argument and the index after its closing quote. In double quotes `\"` is a quote
/// and `\\` a backslash; every other backslash stays, so regexes such as `\d` read as written.
fn quoted(chars: &[char], open: usize, quote: char) -> Result<(String, usize), ParseError> {
    let mut text = String::new();
    let mut at = open + 1;
    while let Some(&c) = chars.get(at) {
        if c == quote {
            return Ok((text, at + 1));
        }
        if c == '\\' && quote == '"' && matches!(chars.get(at + 1), Some('"' | '\\')) {
            text.push(chars[at + 1]);
            at += 2;
            continue;
        }
        text.push(c);
        at += 1;
    }
    fail(
        open,
        format!("the text opened by {quote} here is not closed"),
    )
}

/// Parses a format such as `${ipv4} - ${ipv4}` or `${number:[1-10]}`.
fn parse_format(text: &str, unknown: &mut Vec<String>) -> Result<Format, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut at = 0;
    while at < chars.len() {
        if !(chars[at] == '$' && chars.get(at + 1) == Some(&'{')) {
            literal.push(chars[at]);
            at += 1;
            continue;
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(std::mem::take(&mut literal)));
        }
        let start = at;
        at += 2;
        let name_start = at;
        while at < chars.len() && (chars[at].is_ascii_alphanumeric() || chars[at] == '_') {
            at += 1;
        }
        let name: String = chars[name_start..at].iter().collect();
        if name.is_empty() {
            return fail(start, "`${` is not followed by a format type");
        }
        let argument = match chars.get(at) {
            Some('}') => {
                at += 1;
                None
            }
            Some(':') => {
                let arg_start = at + 1;
                // A regex may hold `}` itself, so it ends at `/}`, a list or range at `]}`.
                let close: &[char] = match chars.get(arg_start) {
                    Some('/') => &['/', '}'],
                    Some('[') => &[']', '}'],
                    _ => &['}'],
                };
                let Some(end) = (arg_start + 1..=chars.len().saturating_sub(close.len()))
                    .find(|&i| chars[i..].starts_with(close))
                else {
                    return fail(start, format!("`${{{name}:` is not closed"));
                };
                let end = end + close.len() - 1;
                at = end + 1;
                Some((arg_start, chars[arg_start..end].iter().collect::<String>()))
            }
            _ => return fail(start, format!("`${{{name}` is not closed by `}}`")),
        };
        parts.push(Part::Placeholder(placeholder(
            &name, argument, start, unknown,
        )?));
    }
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    if parts.is_empty() {
        return fail(0, "the format is empty");
    }
    let whole = match parts.as_slice() {
        [Part::Placeholder(_)] => None,
        _ => Some(whole_pattern(&parts).ok_or_else(|| ParseError {
            message: format!(
                "the format, as one pattern, compiles to more than {MAX_SCHEMA_REGEX_BYTES} bytes"
            ),
            offset: 0,
        })?),
    };
    Ok(Format {
        text: text.to_string(),
        parts,
        whole,
    })
}

fn placeholder(
    name: &str,
    argument: Option<(usize, String)>,
    start: usize,
    unknown: &mut Vec<String>,
) -> Result<Placeholder, ParseError> {
    let regex = |offset: usize, arg: &str| -> Result<Regex, ParseError> {
        let pattern = &arg[1..arg.len() - 1];
        RegexBuilder::new(pattern)
            .size_limit(MAX_SCHEMA_REGEX_BYTES)
            .dfa_size_limit(MAX_SCHEMA_REGEX_BYTES)
            .build()
            .or_else(|e| {
                let why = match e {
                    regex::Error::CompiledTooBig(_) => format!(
                        "the regex /{pattern}/ compiles to more than {MAX_SCHEMA_REGEX_BYTES} bytes"
                    ),
                    regex::Error::Syntax(text) => {
                        // The parser's text draws the pattern with a caret under the fault;
                        // its last line says what the fault is.
                        let what = text.lines().last().unwrap_or_default();
                        let what = what.strip_prefix("error: ").unwrap_or(what);
                        format!("the regex /{pattern}/ is not valid RE2 syntax: {what}")
                    }
                    other => format!("the regex /{pattern}/ is not valid RE2 syntax: {other}"),
                };
                fail(offset, why)
            })
    };
    let is_regex = |arg: &str| arg.len() >= 2 && arg.starts_with('/') && arg.ends_with('/');
    let is_bracket = |arg: &str| arg.starts_with('[') && arg.ends_with(']');
    match (name, argument) {
        ("string" | "password", None) => Ok(Placeholder::Text(None)),
        ("string" | "password", Some((at, arg))) if is_regex(&arg) => {
            Ok(Placeholder::Text(Some(regex(at, &arg)?)))
        }
        ("number", None) => Ok(Placeholder::Number {
            range: None,
            regex: None,
        }),
        ("number", Some((at, arg))) if is_regex(&arg) => Ok(Placeholder::Number {
            range: None,
            regex: Some(regex(at, &arg)?),
        }),
        ("number", Some((at, arg))) if is_bracket(&arg) => {
            let inner = &arg[1..arg.len() - 1];
            let range = parse_range(inner).ok_or_else(|| ParseError {
                message: format!("`[{inner}]` is not a range such as [1-10]"),
                offset: at,
            })?;
            if range.0 > range.1 {
                return fail(at, format!("the range [{inner}] starts above its end"));
            }
            Ok(Placeholder::Number {
                range: Some(range),
                regex: None,
            })
        }
        ("list", Some((at, arg))) if is_bracket(&arg) => {
            let options: Vec<String> = arg[1..arg.len() - 1]
                .split(',')
                .map(|o| o.trim().to_string())
                .collect();
            if options.iter().any(String::is_empty) {
                return fail(at, format!("the list {arg} has an empty option"));
            }
            Ok(Placeholder::List(options))
        }
        ("list", _) => fail(start, "`${list:…}` needs its options, as in ${list:[a,b]}"),
        ("boolean", None) => Ok(Placeholder::Boolean),
        ("ipv4", None) => Ok(Placeholder::Ipv4),
        ("version", None) => Ok(Placeholder::Version),
        ("string" | "password" | "number" | "boolean" | "ipv4" | "version", Some((at, arg))) => {
            fail(
                at,
                match name {
                    "number" => format!("`{arg}` is neither a /regex/ nor a [min-max] range"),
                    "string" | "password" => format!("`{arg}` is not a /regex/"),
                    _ => format!("`${{{name}}}` takes no `:{arg}`"),
                },
            )
        }
        (other, argument) => {
            if !unknown.iter().any(|u| u == other) {
                unknown.push(other.to_string());
            }
            match argument {
                Some((at, arg)) if is_regex(&arg) => Ok(Placeholder::Text(Some(regex(at, &arg)?))),
                _ => Ok(Placeholder::Text(None)),
            }
        }
    }
}

/// `1-10`, `-5-5`, `0.5-1.5`: the first `-` after which both sides are numbers.
fn parse_range(inner: &str) -> Option<(f64, f64)> {
    inner
        .char_indices()
        .filter(|(_, c)| *c == '-')
        .find_map(|(i, _)| {
            let min = inner[..i].trim().parse::<f64>().ok()?;
            let max = inner[i + 1..].trim().parse::<f64>().ok()?;
            (min.is_finite() && max.is_finite()).then_some((min, max))
        })
}

/// The format as one anchored pattern: a placeholder is the shortest text of its type, and
/// each piece is then checked on its own. `None` when it is over the regex cap (a list of a
/// great many options, say).
fn whole_pattern(parts: &[Part]) -> Option<Regex> {
    let mut pattern = String::from("^");
    for part in parts {
        match part {
            Part::Literal(text) => pattern.push_str(&regex::escape(text)),
            Part::Placeholder(p) => {
                let piece = match p {
                    Placeholder::Number { .. } => r"([-+]?[0-9]+(?:\.[0-9]+)?)".to_string(),
                    Placeholder::Boolean => "(?i:(true|false))".to_string(),
                    Placeholder::Ipv4 => r"([0-9]{1,3}(?:\.[0-9]{1,3}){3})".to_string(),
                    Placeholder::Version => {
                        r"(v?[0-9]+(?:\.[0-9]+)*(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)"
                            .to_string()
                    }
                    Placeholder::List(options) => {
                        let mut alternatives = String::from("(");
                        for (i, o) in options.iter().enumerate() {
                            if i > 0 {
                                alternatives.push('|');
                            }
                            let _ = write!(alternatives, "{}", regex::escape(o));
                        }
                        alternatives.push(')');
                        alternatives
                    }
                    Placeholder::Text(_) => "(.+?)".to_string(),
                };
                pattern.push_str(&piece);
            }
        }
    }
    pattern.push('$');
    // Built from escaped literals and fixed pieces, so only its size can fail it.
    RegexBuilder::new(&pattern)
        .size_limit(MAX_SCHEMA_REGEX_BYTES)
        .dfa_size_limit(MAX_SCHEMA_REGEX_BYTES)
        .build()
        .ok()
}

/// Why `text` does not satisfy one placeholder, if it does not.
fn mismatch(placeholder: &Placeholder, value: &Value, text: &str) -> Option<String> {
    let regex_miss =
        |r: &Regex| (!r.is_match(text)).then(|| format!("does not match /{}/", r.as_str()));
    match placeholder {
        Placeholder::Text(regex) => regex.as_ref().and_then(regex_miss),
        Placeholder::Number { range, regex } => {
            let number = match value {
                Value::Int(i) => Some(*i as f64),
                Value::Float(f) => Some(*f),
                _ => text.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
            };
            let Some(number) = number else {
                return Some("is not a number".to_string());
            };
            if let Some((min, max)) = range
                && !(*min..=*max).contains(&number)
            {
                return Some(format!("is outside the range {min}-{max}"));
            }
            regex.as_ref().and_then(regex_miss)
        }
        Placeholder::Boolean => {
            let ok = matches!(value, Value::Bool(_))
                || [
                    "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False",
                ]
                .contains(&text);
            (!ok).then(|| "is not true or false".to_string())
        }
        Placeholder::List(options) => (!options.iter().any(|o| o == text))
            .then(|| format!("is not one of {}", options.join(", "))),
        Placeholder::Ipv4 => text
            .parse::<Ipv4Addr>()
            .is_err()
            .then(|| "is not an IPv4 address".to_string()),
        Placeholder::Version => {
            let ok = semver::Version::parse(text.strip_prefix('v').unwrap_or(text)).is_ok()
                || loose_version(text);
            (!ok).then(|| "is not a version".to_string())
        }
    }
}

/// `1.2`, `v1`, `1.2.3.4-rc.1`: versions Palette's looser version parsers accept.
fn loose_version(text: &str) -> bool {
    let text = text.strip_prefix('v').unwrap_or(text);
    let core = text.split(['-', '+']).next().unwrap_or_default();
    !core.is_empty()
        && core
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Why a value does not satisfy a format, if it does not.
fn check_format(format: &Format, value: &Value, text: &str) -> Option<String> {
    let Some(whole) = &format.whole else {
        let [Part::Placeholder(p)] = format.parts.as_slice() else {
            return None;
        };
        return mismatch(p, value, text);
    };
    let Some(captures) = whole.captures(text) else {
        return Some(format!("does not have the form `{}`", format.text));
    };
    let placeholders = format.parts.iter().filter_map(|p| match p {
        Part::Placeholder(p) => Some(p),
        Part::Literal(_) => None,
    });
    for (i, p) in placeholders.enumerate() {
        let piece = captures.get(i + 1).map_or("", |m| m.as_str());
        if let Some(why) = mismatch(p, &Value::Str(piece.to_string()), piece) {
            return Some(format!("has `{piece}`, which {why}, in `{}`", format.text));
        }
    }
    None
}

/// Checks one default of values.yaml against the rule for its path.
fn check_default(
    path: &str,
    schema_line: u32,
    rule: &Rule,
    value: &Located,
    findings: &mut Vec<Finding>,
) {
    let hint = format!(
        "set a default in values.yaml that satisfies schema.yaml line {schema_line}, or change the schema"
    );
    // A macro such as `{{ .spectro.system.cluster.name }}` has its value only on a cluster.
    if let Value::Str(s) = &value.value
        && s.contains("{{")
    {
        return;
    }
    if value.value.is_empty() {
        // Palette asks for a required value when a profile uses the pack, which is how packs
        // leave credentials and licence keys to each user; a read-only one nobody can set.
        if rule.required && rule.readonly {
            findings.push(
                Finding::error(
                    "schema-value-required",
                    VALUES_YAML,
                    format!(
                        "`{path}` is required and read-only in schema.yaml (line {schema_line}) but values.yaml leaves it empty, so no profile can set it"
                    ),
                )
                .at(Some(value.position))
                .hint(format!(
                    "set its value in values.yaml, or drop `readonly` at schema.yaml line {schema_line}"
                )),
            );
        } else if rule.required {
            findings.push(
                Finding::warning(
                    "schema-value-unset",
                    VALUES_YAML,
                    format!(
                        "`{path}` is required by schema.yaml (line {schema_line}) and empty in values.yaml: every profile that uses the pack must set it"
                    ),
                )
                .at(Some(value.position))
                .hint("give a default in values.yaml if one suits most clusters"),
            );
        }
        return;
    }
    let Some(format) = &rule.format else {
        return;
    };
    let Some(text) = value.value.text() else {
        // Palette's formats describe single values; a list is checked item by item with `$[]`.
        return;
    };
    if let Some(why) = check_format(format, &value.value, &text) {
        findings.push(
            Finding::error(
                "schema-value-mismatch",
                VALUES_YAML,
                format!(
                    "`{path}` is `{text}`, which {why}, as schema.yaml (line {schema_line}) requires"
                ),
            )
            .at(Some(value.position))
            .hint(hint),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> Rule {
        parse_expression(text).unwrap()
    }

    fn error(text: &str) -> (String, usize) {
        let e = parse_expression(text).unwrap_err();
        (e.message, e.offset)
    }

    fn why(expression: &str, value: Value) -> Option<String> {
        let rule = rule(expression);
        let text = value.text().unwrap();
        check_format(rule.format.as_ref().unwrap(), &value, &text)
    }

    #[test]
    fn expressions_parse() {
        let r = rule(r#"{{ required | format "${string}" | hints "a" "b" }}"#);
        assert!(r.required && r.format.is_some());
        let r = rule("{{ readonly }}");
        assert!(!r.required && r.readonly);
        let r = rule(r#"{{ format "${input}" }}"#);
        assert_eq!(r.unknown_types, ["input"]);
        rule(r#"{{ format "${string:/^a\d{2}}$/}" }}"#);
        rule(r#"{{ format "${number:[-5-5]}" }}"#);
    }

    #[test]
    fn broken_expressions_say_where() {
        assert_eq!(error("required }}").1, 0);
        assert_eq!(error("{{ requird }}").1, 3);
        assert!(error("{{ requird }}").0.contains("`requird`"));
        assert!(error("{{ required ").0.contains("ends before"));
        assert_eq!(error(r#"{{ format "${string" }}"#).1, 11);
        assert_eq!(error(r#"{{ format "${string:/a(/}" }}"#).1, 20);
        assert!(
            error(r#"{{ format "${number:[9-1]}" }}"#)
                .0
                .contains("above its end")
        );
        assert!(error(r#"{{ format "${list}" }}"#).0.contains("options"));
        assert!(error(r#"{{ format "a" "b" }}"#).0.contains("one quoted"));
        assert!(error(r#"{{ required } }}"#).0.contains("`}`"));
        assert!(error(r#"{{ required }} x"#).0.contains("after"));
        assert!(error(r#"{{ hints "open }}"#).0.contains("not closed"));
    }

    #[test]
    fn huge_formats_are_refused() {
        let options: Vec<String> = (0..100_000).map(|i| format!("option-{i}")).collect();
        let expression = format!(r#"{{{{ format "x ${{list:[{}]}}" }}}}"#, options.join(","));
        let e = error(&expression);
        assert!(e.0.contains("compiles to more than"), "{}", e.0);
    }

    #[test]
    fn huge_regexes_are_refused() {
        let e = error(r#"{{ format "${string:/\w{1000}\w{1000}\w{1000}/}" }}"#);
        assert!(e.0.contains("compiles to more than"), "{}", e.0);
    }

    #[test]
    fn values_are_held_to_formats() {
        let n = r#"{{ format "${number:[5000-5005]}" }}"#;
        assert_eq!(why(n, Value::Int(5003)), None);
        assert_eq!(why(n, Value::Str("5001".into())), None);
        assert!(why(n, Value::Int(80)).unwrap().contains("outside"));
        assert!(
            why(n, Value::Str("eighty".into()))
                .unwrap()
                .contains("not a number")
        );
        let s = r#"{{ format "${string:/size=\d+/}" }}"#;
        assert_eq!(why(s, Value::Str("type, size=150".into())), None);
        assert!(why(s, Value::Str("size=s".into())).is_some());
        let l = r#"{{ format "${list:[PACK,GIT]}" }}"#;
        assert_eq!(why(l, Value::Str("GIT".into())), None);
        assert!(
            why(l, Value::Str("git".into()))
                .unwrap()
                .contains("PACK, GIT")
        );
        let b = r#"{{ format "${boolean}" }}"#;
        assert_eq!(why(b, Value::Bool(false)), None);
        assert!(why(b, Value::Str("yes".into())).is_some());
        let ip = r#"{{ format "${ipv4} - ${ipv4}" }}"#;
        assert_eq!(why(ip, Value::Str("10.0.0.1 - 10.0.0.9".into())), None);
        assert!(
            why(ip, Value::Str("10.0.0.1-10.0.0.9".into()))
                .unwrap()
                .contains("form")
        );
        assert!(
            why(ip, Value::Str("10.0.0.1 - 10.0.0.999".into()))
                .unwrap()
                .contains("IPv4")
        );
        let image = r#"{{ format "${string}/${string}:${version}" }}"#;
        assert_eq!(
            why(image, Value::Str("ghcr.io/acme/app:1.3.2".into())),
            None
        );
        assert!(why(image, Value::Str("app".into())).is_some());
        let v = r#"{{ format "${version}" }}"#;
        assert_eq!(why(v, Value::Str("v1.29".into())), None);
        assert!(why(v, Value::Str("latest".into())).is_some());
    }
}
