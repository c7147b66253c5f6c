//! presets.yaml: named sets of values that Palette offers when a pack is added to a profile.
//! Choosing one removes the `remove` value paths from the pack's values and merges its `add`
//! block in; presets that share a `group` exclude each other.

use super::InputLimits;
use super::finding::{Finding, Position};
use super::values::{self, Located, Value, load_values, lookup, optional_file, read_text};
use super::walk::Tree;
use std::collections::HashMap;

/// The optional presets file.
pub const PRESETS_YAML: &str = "presets.yaml";

/// The keys Palette reads in one preset.
const PRESET_KEYS: [&str; 5] = ["name", "displayName", "group", "remove", "add"];

/// Checks presets.yaml, when the pack has one, against values.yaml.
pub(crate) fn check(tree: &Tree, limits: &InputLimits, findings: &mut Vec<Finding>) {
    let Some(file) = optional_file(tree, PRESETS_YAML, findings) else {
        return;
    };
    let Some(text) = read_text(&file, limits, findings) else {
        return;
    };
    let root = match values::parse(PRESETS_YAML, &text, limits) {
        Ok(Some(root)) => root,
        Ok(None) => return,
        Err(finding) => {
            findings.push(*finding);
            return;
        }
    };
    let Some(list) = preset_list(&root, findings) else {
        return;
    };
    let mut names: HashMap<String, Position> = HashMap::new();
    let mut removes = Vec::new();
    let mut added = Vec::new();
    for item in list {
        let Value::Map(entries) = &item.value else {
            findings.push(
                Finding::error(
                    "invalid-preset",
                    PRESETS_YAML,
                    format!("a preset is {}, not a mapping", item.value.kind()),
                )
                .at(Some(item.position))
                .hint("give each preset `name`, `displayName`, `group`, `remove` and `add`"),
            );
            continue;
        };
        let name = check_name(item, &mut names, findings);
        let label = name.as_deref().unwrap_or("?");
        for entry in entries {
            let key = &entry.key;
            if !PRESET_KEYS.contains(&key.as_str()) {
                findings.push(
                    Finding::warning(
                        "unknown-field",
                        PRESETS_YAML,
                        format!(
                            "preset `{label}` has the key `{key}`, which Palette does not read"
                        ),
                    )
                    .at(Some(entry.at))
                    .hint(format!("use only {}", PRESET_KEYS.join(", "))),
                );
            }
        }
        check_labels(item, label, findings);
        if let Some(remove) = item.value.get("remove") {
            removes.push((label.to_string(), remove));
        }
        if let Some(add) = item.value.get("add") {
            added.extend(check_add(add, label, &text, limits, findings));
        }
    }
    if removes.is_empty() {
        return;
    }
    // values.yaml's own problems are reported by its own checks.
    let values_yaml = load_values(tree, limits, findings);
    for (label, remove) in removes {
        check_remove(remove, &label, values_yaml.as_ref(), &added, findings);
    }
}

/// The values the presets' `add` blocks set. Palette holds schema.yaml against the values a
/// profile ends up with, so a path that only a preset brings is a path that exists.
pub(crate) fn added_values(tree: &Tree, limits: &InputLimits) -> Vec<Located> {
    // Problems in presets.yaml are reported by its own check.
    let mut ignored = Vec::new();
    let Some(text) = optional_file(tree, PRESETS_YAML, &mut ignored)
        .and_then(|file| read_text(&file, limits, &mut ignored))
    else {
        return Vec::new();
    };
    let Ok(Some(root)) = values::parse(PRESETS_YAML, &text, limits) else {
        return Vec::new();
    };
    let Some(list) = preset_list(&root, &mut ignored) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|item| item.value.get("add"))
        .filter_map(|add| check_add(add, "", &text, limits, &mut ignored))
        .collect()
}

/// The list of presets under `presets:`.
fn preset_list<'a>(root: &'a Located, findings: &mut Vec<Finding>) -> Option<&'a [Located]> {
    let problem = match &root.value {
        Value::Map(_) => match root.value.get("presets") {
            Some(Located {
                value: Value::Seq(items),
                ..
            }) => return Some(items),
            Some(Located {
                value: Value::Null, ..
            }) => return None,
            Some(other) => Finding::error(
                "invalid-presets",
                PRESETS_YAML,
                format!("`presets` is {}, not a list", other.value.kind()),
            )
            .at(Some(other.position)),
            None => Finding::error(
                "invalid-presets",
                PRESETS_YAML,
                "presets.yaml has no top-level `presets` list",
            )
            .at(Some(root.position)),
        },
        Value::Seq(_) => Finding::error(
            "invalid-presets",
            PRESETS_YAML,
            "presets.yaml is a bare list; Palette reads the list under a top-level `presets` key",
        )
        .at(Some(root.position)),
        other => Finding::error(
            "invalid-presets",
            PRESETS_YAML,
            format!("presets.yaml holds {}, not a `presets` list", other.kind()),
        )
        .at(Some(root.position)),
    };
    findings.push(problem.hint("write `presets:` and under it one list item per preset"));
    None
}

/// The preset's name, which must be there and unique.
fn check_name(
    item: &Located,
    names: &mut HashMap<String, Position>,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let hint = "give the preset a `name` that no other preset of this pack has";
    let Some(name) = item.value.get("name") else {
        findings.push(
            Finding::error("invalid-preset", PRESETS_YAML, "a preset has no `name`")
                .at(Some(item.position))
                .hint(hint),
        );
        return None;
    };
    let text = name.value.text().filter(|t| !t.trim().is_empty());
    let Some(text) = text else {
        findings.push(
            Finding::error(
                "invalid-preset",
                PRESETS_YAML,
                format!("a preset's `name` is {}, not a name", describe(&name.value)),
            )
            .at(Some(name.position))
            .hint(hint),
        );
        return None;
    };
    if let Some(first) = names.get(&text) {
        findings.push(
            Finding::error(
                "duplicate-preset",
                PRESETS_YAML,
                format!(
                    "the preset name `{text}` is used again (first on line {})",
                    first.line
                ),
            )
            .at(Some(name.position))
            .hint("Palette tells presets apart by name: rename one of them"),
        );
    } else {
        names.insert(text.clone(), name.position);
    }
    Some(text)
}

/// `displayName` and `group`: one group per preset, and both shown by Palette.
fn check_labels(item: &Located, label: &str, findings: &mut Vec<Finding>) {
    for key in ["displayName", "group"] {
        match item.value.get(key) {
            Some(v @ Located {
                value: Value::Seq(_) | Value::Map(_),
                ..
            }) => findings.push(
                Finding::error(
                    "invalid-preset",
                    PRESETS_YAML,
                    format!(
                        "preset `{label}` has {} as its `{key}`; a preset has one, as text",
                        v.value.kind()
                    ),
                )
                .at(Some(v.position))
                .hint(if key == "group" {
                    "give one group name; to offer a choice in several groups, write one preset per group"
                } else {
                    "give the name Palette shows for the preset, as text"
                }),
            ),
            Some(v) if !v.value.is_empty() => {}
            found => findings.push(
                Finding::warning(
                    "incomplete-preset",
                    PRESETS_YAML,
                    format!("preset `{label}` has no `{key}`"),
                )
                .at(Some(found.map_or(item.position, |v| v.position)))
                .hint(if key == "group" {
                    "Palette lists presets by group and lets users pick one per group: name the group"
                } else {
                    "add the name Palette shows for the preset"
                }),
            ),
        }
    }
}

/// Every `remove` path must name a value of values.yaml.
fn check_remove(
    remove: &Located,
    label: &str,
    values_yaml: Option<&Located>,
    added: &[Located],
    findings: &mut Vec<Finding>,
) {
    let items = match &remove.value {
        Value::Null => return,
        Value::Seq(items) => items,
        other => {
            findings.push(
                Finding::error(
                    "invalid-preset",
                    PRESETS_YAML,
                    format!(
                        "preset `{label}` has {} as `remove`, not a list of value paths",
                        other.kind()
                    ),
                )
                .at(Some(remove.position))
                .hint("write `remove: []`, or a list such as `remove: [\"charts.app.ingress\"]`"),
            );
            return;
        }
    };
    for item in items {
        let Value::Str(path) = &item.value else {
            findings.push(
                Finding::error(
                    "invalid-preset",
                    PRESETS_YAML,
                    format!(
                        "preset `{label}` lists {} in `remove`, not a value path",
                        item.value.kind()
                    ),
                )
                .at(Some(item.position))
                .hint("write each path as text, such as \"charts.app.ingress\""),
            );
            continue;
        };
        let segments = match values::split_path(path) {
            Ok(s) => s,
            Err(problem) => {
                findings.push(
                    Finding::error(
                        "invalid-preset",
                        PRESETS_YAML,
                        format!("preset `{label}` removes `{path}`: {problem}"),
                    )
                    .at(Some(item.position))
                    .hint("write the path as keys joined by dots, such as charts.app.ingress"),
                );
                continue;
            }
        };
        // Without readable values there is nothing to hold the path against.
        let Some(values_yaml) = values_yaml else {
            continue;
        };
        let found = lookup(values_yaml, &segments);
        // Presets of one group often remove what the others add, so switching between them
        // leaves no stale values.
        let added_here = || added.iter().any(|a| !lookup(a, &segments).found.is_empty());
        if found.found.is_empty() && !added_here() {
            // Palette removes nothing then, and the pack still deploys: worth a look, since
            // the preset likely means a value that has moved.
            findings.push(
                Finding::warning(
                    "missing-value-path",
                    PRESETS_YAML,
                    format!(
                        "preset `{label}` removes `{path}`, which neither values.yaml nor any preset sets, so removing it does nothing"
                    ),
                )
                .at(Some(item.position))
                .hint(values::missing_path_hint(&segments, &found)),
            );
        }
    }
}

/// The `add` block: YAML that merges into the values, so a mapping, which it returns.
fn check_add(
    add: &Located,
    label: &str,
    text: &str,
    limits: &InputLimits,
    findings: &mut Vec<Finding>,
) -> Option<Located> {
    let hint = "write `add: |` followed by the values to set, indented, as in values.yaml";
    let block = match &add.value {
        Value::Null => return None,
        Value::Map(_) => return Some(add.clone()),
        Value::Str(block) => block,
        other => {
            findings.push(
                Finding::error(
                    "invalid-preset-add",
                    PRESETS_YAML,
                    format!(
                        "preset `{label}` has {} as `add`, not values to merge",
                        other.kind()
                    ),
                )
                .at(Some(add.position))
                .hint(hint),
            );
            return None;
        }
    };
    let what = format!("the `add` block of preset `{label}`");
    match values::parse(&what, block, limits) {
        Ok(None) => None,
        Ok(Some(
            added @ Located {
                value: Value::Map(_),
                ..
            },
        )) => Some(added),
        Ok(Some(other)) => {
            findings.push(
                Finding::error(
                    "invalid-preset-add",
                    PRESETS_YAML,
                    format!(
                        "{what} holds {}, not values to merge into values.yaml",
                        other.value.kind()
                    ),
                )
                .at(Some(block_position(text, add.position, other.position)))
                .hint(hint),
            );
            None
        }
        Err(finding) => {
            let mut finding = *finding;
            finding.rule = "invalid-preset-add";
            finding.file = PRESETS_YAML.to_string();
            let inner = finding
                .line
                .zip(finding.column)
                .map(|(line, column)| Position { line, column });
            finding.line = None;
            finding.column = None;
            let at = inner.map_or(add.position, |p| block_position(text, add.position, p));
            findings.push(finding.at(Some(at)));
            None
        }
    }
}

/// Where a position inside the `add` text lies in the file. A block scalar (`add: |`) is
/// located at its first content character and keeps its lines, each indented as far; a quoted
/// scalar has escapes and folded lines, so its own position is the best there is.
fn block_position(text: &str, block: Position, inner: Position) -> Position {
    let first = text
        .split('\n')
        .nth(block.line.saturating_sub(1) as usize)
        .and_then(|l| l.chars().nth(block.column.saturating_sub(1) as usize));
    if matches!(first, Some('"' | '\'') | None) {
        return block;
    }
    Position {
        line: block.line + inner.line.saturating_sub(1),
        column: inner.column + block.column.saturating_sub(1),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Str(_) => "empty".to_string(),
        other => other.kind().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_positions_map_into_the_file() {
        let text = "presets:\n  - name: a\n    add: |\n      x:\n        y: [\n";
        let block = Position { line: 4, column: 7 };
        assert_eq!(
            block_position(text, block, Position { line: 2, column: 6 }),
            Position {
                line: 5,
                column: 12
            }
        );
        let quoted = Position {
            line: 3,
            column: 10,
        };
        assert_eq!(
            block_position(
                "a:\nb:\n    add: \"x: [\"\n",
                quoted,
                Position { line: 1, column: 4 }
            ),
            quoted
        );
    }
}
