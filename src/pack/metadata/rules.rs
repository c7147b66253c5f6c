//! The field rules of pack.json: each field read, checked against Palette's own rules, and
//! reported as findings, into the typed model.

use super::constants::*;
use super::model::*;
use crate::oci::version::{Strictness, Version};
use crate::oci::{is_valid_name, suggest_name};
use crate::pack::finding::{Finding, Position};
use crate::pack::json_index::{JsonIndex, JsonPath, MAX_REPORTED_DUPLICATES, shown_key};
use serde_json::{Map, Value};

/// Whether `text` is a calendar date written `YYYY-MM-DD`.
pub fn is_valid_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = &text[r];
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

const KNOWN_FIELDS: [&str; 16] = [
    "name",
    "displayName",
    "layer",
    "addonType",
    "addonSubType",
    "version",
    "cloudTypes",
    "cloudType",
    "group",
    "annotations",
    "eol",
    "kubeManifests",
    "charts",
    "ansibleRoles",
    "constraints",
    // Palette's pack pipeline passes it to `spectro pack push -m`.
    "commit_msg",
];

/// The paths pack.json names, as written: read even when other fields are broken, so that
/// validation can check them too.
#[derive(Debug, Default)]
pub(crate) struct Listed {
    pub(crate) charts: Vec<String>,
    pub(crate) kube_manifests: Vec<String>,
    pub(crate) ansible_roles: Vec<String>,
}

/// What reading pack.json gave.
#[derive(Debug, Default)]
pub(crate) struct MetadataRead {
    /// The metadata, unless an error left a required field without a usable value.
    pub(crate) metadata: Option<PackMetadata>,
    /// The paths it lists, when it holds an object.
    pub(crate) listed: Option<Listed>,
    /// Where its fields are, when it is well-formed JSON.
    pub(crate) index: JsonIndex,
}

/// Reads pack.json text into [`PackMetadata`], adding a finding for every problem.
pub(crate) fn read(text: &str, findings: &mut Vec<Finding>) -> MetadataRead {
    // Go's JSON reader (Palette's) refuses the mark; the rest is checked without it. The
    // mark is one character at the start of line 1, so positions after it stay right.
    if let Some(rest) = text.strip_prefix('\u{feff}') {
        findings.push(
            Finding::error(
                "json-bom",
                PACK_JSON,
                "pack.json starts with a UTF-8 byte-order mark (EF BB BF), which Palette's JSON reader refuses",
            )
            .at(Some(Position { line: 1, column: 1 }))
            .hint("save pack.json as UTF-8 without a BOM (in VS Code: the encoding in the status bar, \"UTF-8\")"),
        );
        let mut read = read(rest, findings);
        read.metadata = None;
        return read;
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let position = (e.line() > 0).then(|| Position {
                line: e.line() as u32,
                column: crate::pack::finding::char_column(text, e.line(), e.column()),
            });
            findings.push(
                Finding::error(
                    "json-syntax",
                    PACK_JSON,
                    format!("pack.json is not valid JSON: {}", strip_json_position(&e)),
                )
                .at(position)
                .hint("fix the JSON syntax at the position shown"),
            );
            return MetadataRead::default();
        }
    };
    let index = JsonIndex::new(text);
    let mut reader = Reader {
        index: &index,
        findings,
    };
    for (i, (path, at)) in index.duplicates.iter().enumerate() {
        let first = match index.first_occurrences.get(i).copied().flatten() {
            Some(p) => format!(" (first at line {}, column {})", p.line, p.column),
            None => String::new(),
        };
        reader.findings.push(
            Finding::error(
                "duplicate-key",
                PACK_JSON,
                format!("`{path}` is given twice{first}; JSON readers disagree on which one wins"),
            )
            .field(path.clone())
            .at(Some(*at))
            .hint("keep one of the two keys"),
        );
    }
    if index.more_duplicates > 0 {
        reader.findings.push(
            Finding::error(
                "duplicate-key",
                PACK_JSON,
                format!(
                    "{} more keys are given twice; only the first {MAX_REPORTED_DUPLICATES} are shown",
                    index.more_duplicates
                ),
            )
            .hint("keep one of each pair of keys"),
        );
    }
    let Value::Object(object) = value else {
        reader.findings.push(
            Finding::error(
                "wrong-type",
                PACK_JSON,
                format!(
                    "pack.json must hold a JSON object, not {}",
                    describe(&value)
                ),
            )
            .at(index.value(&JsonPath::default()))
            .hint("write the fields inside `{ … }`"),
        );
        return MetadataRead {
            index,
            ..MetadataRead::default()
        };
    };
    let (metadata, listed) = reader.object(object);
    MetadataRead {
        metadata,
        listed: Some(listed),
        index,
    }
}

fn strip_json_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct Reader<'a> {
    index: &'a JsonIndex,
    findings: &'a mut Vec<Finding>,
}

impl Reader<'_> {
    fn error(
        &mut self,
        rule: &'static str,
        path: impl Into<JsonPath>,
        message: String,
        hint: String,
    ) {
        let path = path.into();
        let finding = Finding::error(rule, PACK_JSON, message)
            .field(path.to_string())
            .at(self.index.value(&path))
            .hint(hint);
        self.findings.push(finding);
    }

    fn warning(
        &mut self,
        rule: &'static str,
        path: impl Into<JsonPath>,
        message: String,
        hint: String,
    ) {
        let path = path.into();
        let finding = Finding::warning(rule, PACK_JSON, message)
            .field(path.to_string())
            .at(self.index.value(&path))
            .hint(hint);
        self.findings.push(finding);
    }

    fn wrong_type(
        &mut self,
        path: impl Into<JsonPath>,
        expected: &str,
        found: &Value,
        example: &str,
    ) {
        let path = path.into();
        self.error(
            "wrong-type",
            &path,
            format!("`{path}` must be {expected}, not {}", describe(found)),
            format!("write it as {example}"),
        );
    }

    fn missing(&mut self, field: &str, example: &str) {
        let finding = Finding::error(
            "missing-field",
            PACK_JSON,
            format!("the required field `{field}` is missing"),
        )
        .field(field)
        .hint(format!("add `\"{field}\": {example}`"));
        self.findings.push(finding);
    }

    /// A required or optional string field.
    fn string(
        &mut self,
        object: &Map<String, Value>,
        field: &str,
        required: bool,
        example: &str,
    ) -> Option<String> {
        match object.get(field) {
            None if required => {
                self.missing(field, example);
                None
            }
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.wrong_type(field, "a string", other, example);
                None
            }
        }
    }

    fn object(&mut self, object: Map<String, Value>) -> (Option<PackMetadata>, Listed) {
        let mut extra = Map::new();
        for (key, value) in &object {
            if !KNOWN_FIELDS.contains(&key.as_str()) {
                let path = JsonPath::field(key);
                let finding = Finding::warning(
                    "unknown-field",
                    PACK_JSON,
                    format!(
                        "`{path}` is not a pack.json field packctl knows; it is kept as written"
                    ),
                )
                .field(path.to_string())
                .at(self.index.key(&path))
                .hint(format!(
                    "check the spelling; known fields: {}",
                    KNOWN_FIELDS.join(", ")
                ));
                self.findings.push(finding);
                extra.insert(key.clone(), value.clone());
            }
        }

        let name = self.name(&object);
        let display_name = self.display_name(&object);
        let layer = self.layer(&object);
        let addon_type = self.addon_type(&object, layer);
        let version = self.version(&object);
        let cloud_types = self.cloud_types(&object);
        let group = self.string(&object, "group", false, "\"LTS\"");
        self.string(&object, "addonSubType", false, "\"ingress\"");
        let commit_msg = self.string(&object, "commit_msg", false, "\"Add version 1.2.0\"");
        self.cloud_type(&object);
        let annotations = self.annotations(&object);
        let eol = self.eol(&object);
        let kube_manifests = self.paths(&object, "kubeManifests", "[\"manifests/app.yaml\"]");
        let charts = self.paths(&object, "charts", "[\"charts/app-1.0.0.tgz\"]");
        let ansible_roles = self.paths(&object, "ansibleRoles", "[\"harden_os\"]");
        let constraints = self.constraints(&object);

        let listed = Listed {
            charts,
            kube_manifests,
            ansible_roles,
        };
        let metadata = match (name, display_name, layer, version, cloud_types) {
            (Some(name), Some(display_name), Some(layer), Some(version), Some(cloud_types)) => {
                Some(PackMetadata {
                    name,
                    display_name,
                    layer,
                    addon_type,
                    version,
                    cloud_types,
                    group,
                    annotations,
                    eol,
                    kube_manifests: listed.kube_manifests.clone(),
                    charts: listed.charts.clone(),
                    ansible_roles: listed.ansible_roles.clone(),
                    constraints,
                    commit_msg,
                    extra,
                })
            }
            _ => None,
        };
        (metadata, listed)
    }

    fn name(&mut self, object: &Map<String, Value>) -> Option<String> {
        let name = self.string(object, "name", true, "\"my-pack\"")?;
        if is_valid_name(&name) {
            return Some(name);
        }
        let suggestion = suggest_name(&name);
        let hint = if suggestion.is_empty() {
            "use lowercase letters and digits, separated by single `.`, `_` or `-`".to_string()
        } else {
            format!(
                "use lowercase letters and digits, separated by single `.`, `_` or `-`, such as \"{suggestion}\""
            )
        };
        self.error(
            "invalid-name",
            "name",
            format!("`name` \"{name}\" cannot be used in an OCI repository path"),
            hint,
        );
        None
    }

    fn display_name(&mut self, object: &Map<String, Value>) -> Option<String> {
        let display = self.string(object, "displayName", true, "\"My Pack\"")?;
        if display.trim().is_empty() {
            self.error(
                "invalid-value",
                "displayName",
                "`displayName` is empty".to_string(),
                "give the name Palette shows for the pack, such as \"Prometheus\"".to_string(),
            );
            return None;
        }
        Some(display)
    }

    fn layer(&mut self, object: &Map<String, Value>) -> Option<Layer> {
        let text = self.string(object, "layer", true, "\"addon\"")?;
        match text.parse::<Layer>() {
            Ok(layer) => Some(layer),
            Err(expected) => {
                let lower = text.to_ascii_lowercase();
                let hint = if lower.parse::<Layer>().is_ok() {
                    format!("layers are lowercase: \"{lower}\"")
                } else {
                    expected
                };
                self.error(
                    "invalid-layer",
                    "layer",
                    format!("`layer` \"{text}\" is not a layer"),
                    hint,
                );
                None
            }
        }
    }

    fn addon_type(&mut self, object: &Map<String, Value>, layer: Option<Layer>) -> Option<String> {
        let addon_type = self.string(object, "addonType", false, "\"monitoring\"");
        match (&addon_type, layer) {
            (None, Some(Layer::Addon)) if !object.contains_key("addonType") => {
                self.findings.push(
                    Finding::error(
                        "missing-addon-type",
                        PACK_JSON,
                        "`addonType` is required when `layer` is \"addon\"",
                    )
                    .field("addonType")
                    .at(self.index.value(&JsonPath::field("layer")))
                    .hint(format!(
                        "add `\"addonType\": \"monitoring\"`, or another of {}",
                        quoted_list(&ADDON_TYPES)
                    )),
                );
            }
            (Some(t), Some(Layer::Addon)) if !ADDON_TYPES.contains(&t.as_str()) => {
                self.warning(
                    "unknown-addon-type",
                    "addonType",
                    format!("`addonType` \"{t}\" is not one Palette is known to sort by"),
                    format!("one of {}", quoted_list(&ADDON_TYPES)),
                );
            }
            (Some(_), Some(layer)) if layer != Layer::Addon => {
                self.warning(
                    "unused-addon-type",
                    "addonType",
                    format!("`addonType` only applies to addon packs, and this pack's layer is \"{layer}\""),
                    "remove `addonType`, or set `layer` to \"addon\"".to_string(),
                );
            }
            _ => {}
        }
        addon_type
    }

    fn version(&mut self, object: &Map<String, Value>) -> Option<Version> {
        let text = self.string(object, "version", true, "\"1.0.0\"")?;
        let version = match Version::parse(&text) {
            Ok(version) => version,
            Err(e) => {
                self.error(
                    "invalid-version",
                    "version",
                    format!("`version` cannot be used: {e}"),
                    e.hint(),
                );
                return None;
            }
        };
        match version.strictness() {
            Strictness::Semver => {}
            Strictness::Loose(why) => {
                let finding = Finding::note(
                    "version-not-semver",
                    PACK_JSON,
                    format!(
                        "`version` \"{text}\" is not a strict semantic version ({why}); Palette accepts it, and packctl orders it as {}",
                        version.ordered_as()
                    ),
                )
                .field("version")
                .at(self.index.value(&JsonPath::field("version")))
                .hint("nothing to fix; write MAJOR.MINOR.PATCH if tools that need semantic versions read this pack");
                self.findings.push(finding);
            }
            Strictness::Ambiguous(why) => self.warning(
                "version-order-ambiguous",
                "version",
                format!(
                    "`version` \"{text}\" does not order as a version: {why}, so it compares as text there and is never taken as the highest version"
                ),
                "use numbers between the dots, such as \"1.30.0\"".to_string(),
            ),
        }
        Some(version)
    }

    fn cloud_types(&mut self, object: &Map<String, Value>) -> Option<Vec<String>> {
        let example = "[\"all\"]";
        let list = match object.get("cloudTypes") {
            None => {
                self.missing("cloudTypes", example);
                return None;
            }
            Some(Value::Array(list)) => list,
            Some(other) => {
                self.wrong_type("cloudTypes", "an array of strings", other, example);
                return None;
            }
        };
        if list.is_empty() {
            self.error(
                "invalid-cloud-type",
                "cloudTypes",
                "`cloudTypes` is empty; a pack supports at least one cloud type".to_string(),
                "write [\"all\"] for a pack that runs anywhere".to_string(),
            );
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (i, value) in list.iter().enumerate() {
            let path = JsonPath::field("cloudTypes").item(i);
            let Value::String(text) = value else {
                self.wrong_type(&path, "a string", value, "\"aws\"");
                ok = false;
                continue;
            };
            let lower = text.to_ascii_lowercase();
            if lower == SEED_VSPHERE {
                self.warning(
                    "seed-cloud-type",
                    &path,
                    format!("\"{text}\" in `cloudTypes` is the seed's name for vSphere; Palette's pack schema calls it \"vsphere\""),
                    "write \"vsphere\"".to_string(),
                );
            } else if !CLOUD_TYPES.contains(&lower.as_str()) {
                self.error(
                    "invalid-cloud-type",
                    &path,
                    format!("\"{text}\" in `cloudTypes` is not a cloud type Palette's pack schema allows"),
                    format!("one of {}", quoted_list(&CLOUD_TYPES)),
                );
                ok = false;
            } else if out.iter().any(|o: &String| o.eq_ignore_ascii_case(text)) {
                self.warning(
                    "duplicate-value",
                    &path,
                    format!("\"{text}\" is listed twice in `cloudTypes`"),
                    "remove the repeat".to_string(),
                );
            }
            out.push(text.clone());
        }
        ok.then_some(out)
    }

    /// `cloudType`, one cloud type, which Palette's pack schema also allows.
    fn cloud_type(&mut self, object: &Map<String, Value>) {
        let Some(text) = self.string(object, "cloudType", false, "\"all\"") else {
            return;
        };
        if !CLOUD_TYPES.contains(&text.to_ascii_lowercase().as_str()) {
            self.error(
                "invalid-cloud-type",
                "cloudType",
                format!("`cloudType` \"{text}\" is not a cloud type Palette's pack schema allows"),
                format!("one of {}", quoted_list(&CLOUD_TYPES)),
            );
        }
    }

    fn annotations(&mut self, object: &Map<String, Value>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match object.get("annotations") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (key, value) in map {
                    let path = JsonPath::field("annotations").key(key);
                    match value {
                        Value::String(s) => out.push((key.clone(), s.clone())),
                        other => {
                            let written = serde_json::to_string(other).unwrap_or_default();
                            self.error(
                                "annotation-not-string",
                                &path,
                                format!(
                                    "annotation `{key}` must be a string, not {}",
                                    describe(other)
                                ),
                                format!("quote it: \"{key}\": \"{}\"", written.trim_matches('"')),
                            );
                        }
                    }
                }
            }
            Some(other) => self.wrong_type(
                "annotations",
                "an object of strings",
                other,
                "{\"osName\": \"ubuntu\"}",
            ),
        }
        out
    }

    fn eol(&mut self, object: &Map<String, Value>) -> Option<String> {
        let eol = self.string(object, "eol", false, "\"2028-04-30\"")?;
        if eol.is_empty() || is_valid_date(&eol) {
            // Palette's own packs write "" for "no end of life".
            return (!eol.is_empty()).then_some(eol);
        }
        if eol.trim().is_empty() {
            self.warning(
                "blank-eol",
                "eol",
                "`eol` holds only blanks; it is read as no end-of-life date".to_string(),
                "write \"\" or remove the field, or give a date as YYYY-MM-DD".to_string(),
            );
            return None;
        }
        self.warning(
            "invalid-eol",
            "eol",
            format!("`eol` \"{eol}\" is not a date; Palette shows it as written"),
            "write a calendar date as YYYY-MM-DD, such as \"2028-04-30\"".to_string(),
        );
        Some(eol)
    }

    fn paths(&mut self, object: &Map<String, Value>, field: &str, example: &str) -> Vec<String> {
        let mut out = Vec::new();
        match object.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, value) in list.iter().enumerate() {
                    match value {
                        Value::String(s) => out.push(s.clone()),
                        other => self.wrong_type(
                            JsonPath::field(field).item(i),
                            "a string",
                            other,
                            "a relative path",
                        ),
                    }
                }
            }
            Some(other) => self.wrong_type(field, "an array of relative paths", other, example),
        }
        out
    }

    fn constraints(&mut self, object: &Map<String, Value>) -> Option<Constraints> {
        let value = object.get("constraints")?;
        let Value::Object(map) = value else {
            self.wrong_type(
                "constraints",
                "an object",
                value,
                "{\"dependencies\": [], \"resources\": []}",
            );
            return None;
        };
        let mut constraints = Constraints::default();
        for (key, value) in map {
            let path = JsonPath::field("constraints").key(key);
            match (key.as_str(), value) {
                ("dependencies", Value::Array(list)) => {
                    for (i, entry) in list.iter().enumerate() {
                        if let Some(d) = self.dependency(&path.item(i), entry) {
                            constraints.dependencies.push(d);
                        }
                    }
                }
                ("resources", Value::Array(list)) => {
                    for (i, entry) in list.iter().enumerate() {
                        if let Some(r) = self.resource(&path.item(i), entry) {
                            constraints.resources.push(r);
                        }
                    }
                }
                ("dependencies" | "resources", other) => {
                    self.wrong_type(&path, "an array of objects", other, "[]")
                }
                _ => self.unknown_key(&path, key, &["dependencies", "resources"]),
            }
        }
        Some(constraints)
    }

    fn unknown_key(&mut self, path: &JsonPath, key: &str, known: &[&str]) {
        let finding = Finding::warning(
            "unknown-field",
            PACK_JSON,
            format!("`{path}` is not a field packctl knows; it is kept as written"),
        )
        .field(path.to_string())
        .at(self.index.key(path))
        .hint(format!(
            "check the spelling of `{}`; known here: {}",
            shown_key(key),
            known.join(", ")
        ));
        self.findings.push(finding);
    }

    fn dependency(&mut self, path: &JsonPath, value: &Value) -> Option<Dependency> {
        const FIELDS: [&str; 5] = ["packName", "layer", "minVersion", "maxVersion", "type"];
        let Value::Object(map) = value else {
            self.wrong_type(
                path,
                "an object",
                value,
                "{\"packName\": \"kubernetes\", \"type\": \"required\"}",
            );
            return None;
        };
        for key in map.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
            self.unknown_key(&path.key(key), key, &FIELDS);
        }
        let text = |reader: &mut Self, key: &str| -> Option<String> {
            match map.get(key)? {
                Value::String(s) => Some(s.clone()),
                other => {
                    reader.wrong_type(path.key(key), "a string", other, "\"…\"");
                    None
                }
            }
        };
        let pack_name = text(self, "packName");
        let layer = text(self, "layer").and_then(|l| match l.parse::<Layer>() {
            Ok(layer) => Some(layer),
            Err(expected) => {
                self.error(
                    "invalid-layer",
                    path.key("layer"),
                    format!("dependency layer \"{l}\" is not a layer"),
                    expected,
                );
                None
            }
        });
        let mut versions = [None, None];
        for (slot, key) in versions.iter_mut().zip(["minVersion", "maxVersion"]) {
            let Some(v) = text(self, key) else { continue };
            let comparable = Version::parse(v.strip_prefix('v').unwrap_or(&v))
                .is_ok_and(|version| version.is_numeric());
            if !v.is_empty() && !comparable {
                self.warning(
                    "invalid-version",
                    path.key(key),
                    format!("`{key}` \"{v}\" is not a version, so Palette may not compare it"),
                    "write numbers between the dots, such as \"1.27.0\"".to_string(),
                );
            }
            *slot = Some(v);
        }
        let kind = text(self, "type");
        if let Some(k) = &kind
            && !DEPENDENCY_TYPES.contains(&k.as_str())
        {
            self.error(
                "invalid-constraint",
                path.key("type"),
                format!("dependency type \"{k}\" is not one Palette knows"),
                format!("one of {}", quoted_list(&DEPENDENCY_TYPES)),
            );
        }
        for (key, example) in [("layer", "\"k8s\""), ("type", "\"required\"")] {
            if !map.contains_key(key) {
                let finding = Finding::warning(
                    "incomplete-constraint",
                    PACK_JSON,
                    format!(
                        "`{path}` names no `{key}`, which Palette's pack schema requires of a dependency"
                    ),
                )
                .field(path.to_string())
                .at(self.index.value(path))
                .hint(format!("add `\"{key}\": {example}`"));
                self.findings.push(finding);
            }
        }
        let Some(pack_name) = pack_name.filter(|n| !n.is_empty()) else {
            let finding = Finding::error(
                "invalid-constraint",
                PACK_JSON,
                format!("`{path}` names no `packName`"),
            )
            .field(path.to_string())
            .at(self.index.value(path))
            .hint("add `\"packName\"` with the name of the pack this one depends on");
            self.findings.push(finding);
            return None;
        };
        let [min_version, max_version] = versions;
        Some(Dependency {
            pack_name,
            layer,
            min_version,
            max_version,
            kind,
        })
    }

    fn resource(&mut self, path: &JsonPath, value: &Value) -> Option<Resource> {
        const FIELDS: [&str; 3] = ["type", "minLimit", "components"];
        let Value::Object(map) = value else {
            self.wrong_type(
                path,
                "an object",
                value,
                "{\"type\": \"cpu\", \"minLimit\": 2000}",
            );
            return None;
        };
        for key in map.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
            self.unknown_key(&path.key(key), key, &FIELDS);
        }
        let min_limit = match map.get("minLimit") {
            None => None,
            Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f >= 0.0) => n.as_f64(),
            Some(other) => {
                self.wrong_type(
                    path.key("minLimit"),
                    "a number of zero or more",
                    other,
                    "2000",
                );
                None
            }
        };
        let components = match map.get("components") {
            None => Vec::new(),
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .filter_map(|(i, entry)| self.component(&path.key("components").item(i), entry))
                .collect(),
            Some(other) => {
                self.wrong_type(path.key("components"), "an array of objects", other, "[]");
                Vec::new()
            }
        };
        match map.get("type") {
            Some(Value::String(kind)) if RESOURCE_TYPES.contains(&kind.as_str()) => {
                Some(Resource {
                    kind: kind.clone(),
                    min_limit,
                    components,
                })
            }
            Some(Value::String(kind)) => {
                self.error(
                    "invalid-constraint",
                    path.key("type"),
                    format!("resource type \"{kind}\" is not one Palette knows"),
                    format!("one of {}", quoted_list(&RESOURCE_TYPES)),
                );
                None
            }
            Some(other) => {
                self.wrong_type(path.key("type"), "a string", other, "\"cpu\"");
                None
            }
            None => {
                let finding = Finding::error(
                    "invalid-constraint",
                    PACK_JSON,
                    format!("`{path}` names no resource `type`"),
                )
                .field(path.to_string())
                .at(self.index.value(path))
                .hint(format!(
                    "add `\"type\"`: one of {}",
                    quoted_list(&RESOURCE_TYPES)
                ));
                self.findings.push(finding);
                None
            }
        }
    }

    fn component(&mut self, path: &JsonPath, value: &Value) -> Option<ResourceComponent> {
        const FIELDS: [&str; 3] = [
            "scheduleType",
            "resourceRequestParamRef",
            "replicaCountParamRef",
        ];
        let Value::Object(map) = value else {
            self.wrong_type(path, "an object", value, "{\"scheduleType\": \"worker\"}");
            return None;
        };
        for key in map.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
            self.unknown_key(&path.key(key), key, &FIELDS);
        }
        let mut text = |key: &str| match map.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(
                    path.key(key),
                    "a string",
                    other,
                    "\"charts.app.replicaCount\"",
                );
                None
            }
        };
        let resource_request_param_ref = text("resourceRequestParamRef");
        let replica_count_param_ref = text("replicaCountParamRef");
        let schedule_type = match map.get("scheduleType") {
            Some(Value::String(t)) if SCHEDULE_TYPES.contains(&t.as_str()) => t.clone(),
            Some(Value::String(t)) => {
                self.error(
                    "invalid-constraint",
                    path.key("scheduleType"),
                    format!("schedule type \"{t}\" is not one Palette knows"),
                    format!("one of {}", quoted_list(&SCHEDULE_TYPES)),
                );
                return None;
            }
            Some(other) => {
                self.wrong_type(path.key("scheduleType"), "a string", other, "\"worker\"");
                return None;
            }
            None => {
                let finding = Finding::error(
                    "invalid-constraint",
                    PACK_JSON,
                    format!("`{path}` names no `scheduleType`"),
                )
                .field(path.to_string())
                .at(self.index.value(path))
                .hint(format!(
                    "add `\"scheduleType\"`: one of {}",
                    quoted_list(&SCHEDULE_TYPES)
                ));
                self.findings.push(finding);
                return None;
            }
        };
        Some(ResourceComponent {
            schedule_type,
            resource_request_param_ref,
            replica_count_param_ref,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(is_valid_date("2028-04-30"));
        assert!(is_valid_date("2024-02-29"));
        assert!(!is_valid_date("2023-02-29"));
        assert!(!is_valid_date("1900-02-29"));
        assert!(!is_valid_date("2028-4-30"));
        assert!(!is_valid_date("2028-13-01"));
        assert!(!is_valid_date("2028-04-31"));
        assert!(!is_valid_date("2028/04/30"));
        assert!(!is_valid_date("+028-04-30"));
    }

    #[test]
    fn reads_a_full_pack_json_and_keeps_unknown_fields_in_order() {
        let text = r#"{
          "name": "golden-centos-aws", "displayName": "CentOS", "layer": "os",
          "version": "7.7.1908", "cloudTypes": ["AWS", "VMware"], "group": "",
          "zeta": 1, "alpha": {"x": [1]},
          "annotations": {"imageId": "ami-1", "skipK8sInstall": "false"},
          "eol": "2024-06-30", "ansibleRoles": ["harden_os"],
          "constraints": {"dependencies": [{"packName": "kubernetes", "layer": "k8s",
             "minVersion": "1.27.0", "maxVersion": "", "type": "required"}],
             "resources": [{"type": "cpu", "minLimit": 2000}]}
        }"#;
        let mut findings = Vec::new();
        let meta = read(text, &mut findings).metadata.unwrap();
        let rules: Vec<_> = findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["unknown-field", "unknown-field", "seed-cloud-type"]);
        assert_eq!(meta.layer, Layer::Os);
        assert_eq!(meta.tag(), "7.7.1908");
        assert_eq!(
            meta.annotations[1],
            ("skipK8sInstall".into(), "false".into())
        );
        assert_eq!(meta.extra.keys().collect::<Vec<_>>(), ["zeta", "alpha"]);
        let c = meta.constraints.unwrap();
        assert_eq!(c.dependencies[0].layer, Some(Layer::K8s));
        assert_eq!(c.resources[0].min_limit, Some(2000.0));
    }
}
