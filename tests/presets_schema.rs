//! presets.yaml and schema.yaml: each rule has a broken pack whose finding names the file,
//! line and column; the sample that uses every documented form passes and round-trips.

mod common;

use common::registry::Registry;
use common::{Sandbox, root, sample, tree};
use packctl::pack::{Severity, validate};
use std::fs;

/// Each broken pack, and the one finding it must give: rule, file, line, column and a part of
/// the message.
const LOCATED: &[(&str, &str, &str, u32, u32, &str)] = &[
    (
        "presets-add-invalid-yaml",
        "invalid-preset-add",
        "presets.yaml",
        19,
        15,
        "the `add` block of preset `public-registry` is not valid YAML",
    ),
    (
        "presets-add-not-a-mapping",
        "invalid-preset-add",
        "presets.yaml",
        7,
        7,
        "holds a list, not values to merge",
    ),
    (
        "presets-bare-list",
        "invalid-presets",
        "presets.yaml",
        1,
        1,
        "bare list",
    ),
    (
        "presets-duplicate-name",
        "duplicate-preset",
        "presets.yaml",
        10,
        11,
        "`private-registry` is used again (first on line 2)",
    ),
    (
        "presets-remove-not-a-list",
        "invalid-preset",
        "presets.yaml",
        5,
        13,
        "a string as `remove`",
    ),
    (
        "presets-two-groups",
        "invalid-preset",
        "presets.yaml",
        12,
        12,
        "a list as its `group`",
    ),
    (
        "presets-without-name",
        "invalid-preset",
        "presets.yaml",
        10,
        5,
        "has no `name`",
    ),
    (
        "schema-bad-range",
        "invalid-schema-expression",
        "schema.yaml",
        5,
        43,
        "the range [65535-1024] starts above its end",
    ),
    (
        "schema-bad-regex",
        "invalid-schema-expression",
        "schema.yaml",
        2,
        43,
        "is not valid RE2 syntax",
    ),
    (
        "schema-default-not-in-list",
        "schema-value-mismatch",
        "values.yaml",
        10,
        9,
        "`registry.type` is `PACK`, which is not one of GIT, CHART",
    ),
    (
        "schema-default-out-of-range",
        "schema-value-mismatch",
        "values.yaml",
        9,
        9,
        "`registry.port` is `5000`, which is outside the range 6000-6010",
    ),
    (
        "schema-default-regex-mismatch",
        "schema-value-mismatch",
        "values.yaml",
        8,
        13,
        "does not match /^[a-z0-9-]+$/",
    ),
    (
        "schema-list-item-mismatch",
        "schema-value-mismatch",
        "values.yaml",
        15,
        7,
        "does not have the form `${ipv4}-${ipv4}`",
    ),
    (
        "schema-not-a-mapping",
        "invalid-schema",
        "schema.yaml",
        1,
        1,
        "not a mapping of value paths",
    ),
    (
        "schema-required-readonly-empty",
        "schema-value-required",
        "values.yaml",
        19,
        13,
        "`registry.password` is required and read-only in schema.yaml (line 10)",
    ),
    (
        "schema-unclosed-expression",
        "invalid-schema-expression",
        "schema.yaml",
        11,
        45,
        "it ends before `}}`",
    ),
    (
        "schema-unknown-command",
        "invalid-schema-expression",
        "schema.yaml",
        11,
        15,
        "`requird` is not one of required, readonly, format, hints",
    ),
    (
        "schema-without-schema",
        "invalid-schema",
        "schema.yaml",
        10,
        1,
        "`registry.private` has no `schema`, only `required`",
    ),
];

#[test]
fn every_presets_and_schema_pack_is_covered() {
    let mut dirs: Vec<String> = fs::read_dir(root().join("testdata/invalid"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("presets-") || n.starts_with("schema-"))
        .collect();
    dirs.sort();
    let table: Vec<&str> = LOCATED.iter().map(|row| row.0).collect();
    assert_eq!(dirs, table);
}

#[test]
fn each_finding_is_located() {
    for (dir, rule, file, line, column, message) in LOCATED {
        let v = validate(&root().join("testdata/invalid").join(dir));
        assert_eq!(v.findings.len(), 1, "{dir}: {:#?}", v.findings);
        let f = &v.findings[0];
        assert_eq!(
            (f.severity, f.rule, f.file.as_str(), f.line, f.column),
            (Severity::Error, *rule, *file, Some(*line), Some(*column)),
            "{dir}: {f}"
        );
        assert!(f.message.contains(message), "{dir}: {f}");
        assert!(f.hint.as_deref().is_some_and(|h| !h.is_empty()), "{dir}");
    }
}

#[test]
fn the_sample_passes_and_round_trips_through_oci_and_a_registry() {
    let name = "registry-presets";
    let v = validate(&sample(name));
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
    assert!(v.pack.is_some());
    let sandbox = Sandbox::new();
    let registry = Registry::plain();
    let dir = format!("testdata/packs/{name}");
    let original = tree(&sample(name));
    assert!(original.contains_key("presets.yaml") && original.contains_key("schema.yaml"));
    for format in ["structured", "archive"] {
        let layout = format!("oci:{}", sandbox.path().join(format).display());
        for server in [layout.as_str(), registry.host.as_str()] {
            sandbox
                .run(["pack", "push", &dir, "-r", server, "--format", format, "-f"])
                .success();
            let target = sandbox.path().join(format!(
                "pulled-{format}-{}",
                server.replace([':', '/', '.'], "_")
            ));
            sandbox
                .run(["pack", "pull", name, target.to_str().unwrap(), "-r", server])
                .success();
            assert_eq!(tree(&target), original, "{format} via {server}");
        }
    }
}

#[test]
fn warnings_for_what_palette_tolerates() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("registry-presets"), "pack");
    fs::write(
        dir.join("presets.yaml"),
        "presets:\n  - name: plain\n    add: |\n      registry:\n        private: true\n    colour: red\n",
    )
    .unwrap();
    fs::write(
        dir.join("schema.yaml"),
        "registry.hostname:\n  schema: '{{ format \"${input}\" }}'\n  label: Host\n",
    )
    .unwrap();
    let v = validate(&dir);
    let found: Vec<_> = v
        .findings
        .iter()
        .map(|f| (f.severity, f.rule, f.file.as_str(), f.line, f.column))
        .collect();
    assert_eq!(
        found,
        [
            (
                Severity::Warning,
                "unknown-field",
                "presets.yaml",
                Some(6),
                Some(5)
            ),
            (
                Severity::Warning,
                "incomplete-preset",
                "presets.yaml",
                Some(2),
                Some(5)
            ),
            (
                Severity::Warning,
                "incomplete-preset",
                "presets.yaml",
                Some(2),
                Some(5)
            ),
            (
                Severity::Warning,
                "unknown-field",
                "schema.yaml",
                Some(3),
                Some(3)
            ),
            (
                Severity::Warning,
                "unknown-schema-format",
                "schema.yaml",
                Some(2),
                Some(11)
            ),
        ],
        "{:#?}",
        v.findings
    );
    assert!(v.pack.is_some());
}

#[test]
fn macros_and_empty_optional_values_are_not_held_to_formats() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("registry-presets"), "pack");
    let values = fs::read_to_string(dir.join("values.yaml"))
        .unwrap()
        .replace(
            "hostname: registry.local",
            "hostname: \"{{ .spectro.system.cluster.name }}\"",
        );
    fs::write(dir.join("values.yaml"), values).unwrap();
    let v = validate(&dir);
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
}

#[test]
fn cli_names_the_file_line_and_column() {
    let sandbox = Sandbox::new();
    for (dir, needles) in [
        (
            "schema-default-out-of-range",
            &[
                "error[schema-value-mismatch]: values.yaml:9:9:",
                "hint: set a default in values.yaml that satisfies schema.yaml line 4",
            ][..],
        ),
        (
            "presets-add-invalid-yaml",
            &["error[invalid-preset-add]: presets.yaml:19:15:"][..],
        ),
    ] {
        let run = sandbox.run(["pack", "validate", &format!("testdata/invalid/{dir}")]);
        assert_eq!(run.code, 1, "{}", run.transcript());
        for needle in needles {
            assert!(run.transcript().contains(needle), "{}", run.transcript());
        }
    }
}

#[test]
fn broken_values_yaml_is_reported_once() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("registry-presets"), "pack");
    fs::write(dir.join("values.yaml"), "registry: [\n").unwrap();
    let v = validate(&dir);
    let rules: Vec<_> = v
        .findings
        .iter()
        .map(|f| (f.rule, f.file.as_str()))
        .collect();
    assert_eq!(rules, [("yaml-syntax", "values.yaml")], "{:#?}", v.findings);
}

#[test]
fn oversized_presets_are_refused_from_their_size() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("registry-presets"), "pack");
    let limits = {
        let mut options = packctl::pack::InputLimits::default();
        options.max_yaml_bytes = 64;
        options
    };
    fs::write(
        dir.join("values.yaml"),
        "pack:\n  content:\n    images:\n      - image: registry:2\n",
    )
    .unwrap();
    fs::write(dir.join("schema.yaml"), "").unwrap();
    let v = packctl::pack::validate_with(&dir, &limits);
    let rules: Vec<_> = v
        .findings
        .iter()
        .map(|f| (f.rule, f.file.as_str()))
        .collect();
    assert_eq!(
        rules,
        [("file-too-large", "presets.yaml")],
        "{:#?}",
        v.findings
    );
}

#[test]
fn paths_that_only_a_preset_adds_exist() {
    // As in Palette's own packs: one preset of a group adds values, the others remove them,
    // and schema.yaml constrains them; none is in values.yaml's defaults.
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("registry-presets"), "pack");
    fs::write(
        dir.join("presets.yaml"),
        "presets:\n  - name: mirror\n    displayName: Mirror\n    group: Mode\n    remove: []\n    add: |\n      registry:\n        mirror:\n          url: https://mirror.local\n  - name: direct\n    displayName: Direct\n    group: Mode\n    remove: [\"registry.mirror\"]\n",
    )
    .unwrap();
    fs::write(
        dir.join("schema.yaml"),
        "registry.mirror.url:\n  schema: '{{ required | format \"${string:/^https:/}\" }}'\n",
    )
    .unwrap();
    let v = validate(&dir);
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
    fs::write(
        dir.join("schema.yaml"),
        "registry.mirror.uri:\n  schema: '{{ required }}'\n",
    )
    .unwrap();
    let v = validate(&dir);
    let rules: Vec<_> = v.findings.iter().map(|f| (f.rule, f.line)).collect();
    assert_eq!(
        rules,
        [("missing-value-path", Some(1))],
        "{:#?}",
        v.findings
    );
    assert!(v.pack.is_some());
}

#[test]
fn a_required_value_left_empty_is_a_warning() {
    // Palette's own packs leave credentials empty and required, for each profile to set.
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("registry-presets"), "pack");
    fs::write(
        dir.join("schema.yaml"),
        "registry.password:\n  schema: '{{ required | format \"${password}\" }}'\n",
    )
    .unwrap();
    let v = validate(&dir);
    let found: Vec<_> = v
        .findings
        .iter()
        .map(|f| (f.severity, f.rule, f.file.as_str(), f.line, f.column))
        .collect();
    assert_eq!(
        found,
        [(
            Severity::Warning,
            "schema-value-unset",
            "values.yaml",
            Some(19),
            Some(13)
        )],
        "{:#?}",
        v.findings
    );
    assert!(v.pack.is_some());
}

#[test]
fn paths_that_name_nothing_are_warnings_with_where_the_path_stops() {
    // Palette accepts both: removing a missing value does nothing, and a chart may read a
    // value (an optional token) that the pack's values.yaml does not set.
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("registry-presets"), "pack");
    let presets = fs::read_to_string(dir.join("presets.yaml"))
        .unwrap()
        .replace("registry.ingress.host\"]", "registry.ingres.host\"]");
    fs::write(dir.join("presets.yaml"), presets).unwrap();
    fs::write(
        dir.join("schema.yaml"),
        "registry.hostname:\n  schema: '{{ required }}'\n\nregistry.ai.token:\n  schema: '{{ format \"${password}\" }}'\n",
    )
    .unwrap();
    let v = validate(&dir);
    let found: Vec<_> = v
        .findings
        .iter()
        .map(|f| (f.severity, f.rule, f.file.as_str(), f.line, f.column))
        .collect();
    assert_eq!(
        found,
        [
            (
                Severity::Warning,
                "missing-value-path",
                "presets.yaml",
                Some(5),
                Some(14)
            ),
            (
                Severity::Warning,
                "missing-value-path",
                "schema.yaml",
                Some(4),
                Some(1)
            ),
        ],
        "{:#?}",
        v.findings
    );
    assert!(v.findings[0].message.contains("removing it does nothing"));
    assert_eq!(
        v.findings[0].hint.as_deref(),
        Some(
            "values.yaml has `registry` but nothing at `ingres.host` under it; correct the path or add the value to values.yaml"
        )
    );
    assert!(v.pack.is_some());
}

#[test]
fn unusable_paths_are_refused_before_lookup() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("registry-presets"), "pack");
    let long = vec!["a"; packctl::pack::MAX_VALUE_PATH_SEGMENTS + 1].join(".");
    fs::write(
        dir.join("schema.yaml"),
        format!("{long}:\n  schema: '{{{{ required }}}}'\nregistry..port:\n  schema: '{{{{ required }}}}'\n"),
    )
    .unwrap();
    let v = validate(&dir);
    let found: Vec<_> = v
        .findings
        .iter()
        .map(|f| (f.severity, f.rule, f.line, f.column))
        .collect();
    assert_eq!(
        found,
        [
            (Severity::Error, "invalid-schema", Some(1), Some(1)),
            (Severity::Error, "invalid-schema", Some(3), Some(1)),
        ],
        "{:#?}",
        v.findings
    );
    assert!(
        v.findings[0].message.contains("at most 256"),
        "{}",
        v.findings[0]
    );
}

#[test]
fn aliases_cannot_multiply_the_values_held_for_lookups() {
    // 100 aliases of a 600 KB string would hold 60 MB of text for path lookups; replayed
    // text counts against the YAML size cap, so the parse stops at the second alias.
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("registry-presets"), "pack");
    let mut values = fs::read_to_string(dir.join("values.yaml")).unwrap();
    values.push_str(&format!("big: &big \"{}\"\ncopies:\n", "x".repeat(600_000)));
    for i in 0..100 {
        values.push_str(&format!("  c{i}: *big\n"));
    }
    fs::write(dir.join("values.yaml"), values).unwrap();
    let limits = {
        let mut options = packctl::pack::InputLimits::default();
        options.max_yaml_bytes = 1 << 20;
        options
    };
    let started = std::time::Instant::now();
    let v = packctl::pack::validate_with(&dir, &limits);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let found: Vec<_> = v
        .findings
        .iter()
        .map(|f| (f.rule, f.file.as_str()))
        .collect();
    assert_eq!(
        found,
        [("yaml-too-large", "values.yaml")],
        "{:#?}",
        v.findings
    );
    assert!(
        v.findings[0].message.contains("over 1048576 bytes"),
        "{}",
        v.findings[0]
    );
}

#[test]
fn preset_add_blocks_share_the_file_s_text_cap() {
    // Every `add` is an alias of one large block: the blocks parsed together would be far
    // larger than the file, so the aliases are refused while presets.yaml is read.
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("registry-presets"), "pack");
    let mut presets = format!(
        "block: &block |\n  registry:\n    notes: \"{}\"\npresets:\n",
        "x".repeat(600_000)
    );
    for i in 0..100 {
        presets.push_str(&format!(
            "  - name: p{i}\n    displayName: P\n    group: G\n    add: *block\n"
        ));
    }
    fs::write(dir.join("presets.yaml"), presets).unwrap();
    let limits = {
        let mut options = packctl::pack::InputLimits::default();
        options.max_yaml_bytes = 1 << 20;
        options
    };
    let started = std::time::Instant::now();
    let v = packctl::pack::validate_with(&dir, &limits);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let found: Vec<_> = v
        .findings
        .iter()
        .map(|f| (f.rule, f.file.as_str()))
        .collect();
    assert_eq!(
        found,
        [("yaml-too-large", "presets.yaml")],
        "{:#?}",
        v.findings
    );
    let hint = v.findings[0].hint.as_deref().unwrap_or_default();
    assert!(hint.contains("keep presets.yaml"), "{}", v.findings[0]);
}

#[test]
fn values_too_many_to_hold_for_lookups_are_a_warning_not_a_blow_up() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("registry-presets"), "pack");
    let mut values = fs::read_to_string(dir.join("values.yaml")).unwrap();
    let items = packctl::pack::MAX_LOCATED_YAML_NODES + 10;
    values.push_str("many: [");
    values.push_str(&"0,".repeat(items));
    values.push_str("0]\n");
    fs::write(dir.join("values.yaml"), values).unwrap();
    let started = std::time::Instant::now();
    let v = validate(&dir);
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let found: Vec<_> = v
        .findings
        .iter()
        .map(|f| (f.severity, f.rule, f.file.as_str()))
        .collect();
    assert_eq!(
        found,
        [(Severity::Warning, "values-not-checked", "values.yaml")],
        "{:#?}",
        v.findings
    );
    assert!(
        v.findings[0].message.contains("1000000"),
        "{}",
        v.findings[0]
    );
}
