//! `pack validate` and the pack model: every rule has a broken pack that fails for exactly
//! that reason, the samples pass, and the CLI output is snapshot-tested.

mod common;

use common::{Sandbox, edit_pack_json, root, sample};
use packctl::pack::{Part, Severity, validate};
use std::fs;
use std::path::Path;

/// Each folder under `testdata/invalid/` and the one rule it breaks.
const INVALID: &[(&str, &str)] = &[
    ("addon-without-addon-type", "missing-addon-type"),
    ("annotation-not-string", "annotation-not-string"),
    ("annotations-not-object", "wrong-type"),
    ("chart-folder-not-packaged", "missing-path"),
    ("chart-is-folder", "invalid-path"),
    ("chart-missing", "missing-path"),
    ("chart-not-a-helm-archive", "invalid-chart"),
    ("chart-path-absolute", "invalid-path"),
    ("chart-path-backslash", "invalid-path"),
    ("chart-path-dotdot", "invalid-path"),
    ("chart-truncated", "invalid-chart"),
    ("charts-not-array", "wrong-type"),
    ("cloud-types-empty", "invalid-cloud-type"),
    ("cloud-types-not-array", "wrong-type"),
    ("cloud-types-unknown", "invalid-cloud-type"),
    ("constraint-type-unknown", "invalid-constraint"),
    ("content-chart-key-misspelt", "content-unknown-key"),
    ("content-chart-without-version", "content-missing-field"),
    ("content-image-digest-invalid", "content-invalid-image"),
    ("content-image-empty", "content-missing-field"),
    ("content-image-invalid", "content-invalid-image"),
    ("content-image-key-misspelt", "content-unknown-key"),
    ("content-images-not-list", "content-wrong-type"),
    ("dependency-without-pack-name", "invalid-constraint"),
    ("display-name-empty", "invalid-value"),
    ("duplicate-chart-path", "duplicate-path"),
    ("group-not-string", "wrong-type"),
    ("layer-unknown", "invalid-layer"),
    ("logo-is-folder", "missing-file"),
    ("logo-not-an-image", "invalid-png"),
    ("logo-symlink-escapes", "symlink-escapes"),
    ("logo-truncated", "invalid-png"),
    ("manifest-duplicate-key", "duplicate-key"),
    ("manifest-inside-role", "overlapping-path"),
    ("manifest-invalid-yaml", "yaml-syntax"),
    ("manifest-is-values-yaml", "overlapping-path"),
    ("missing-cloud-types", "missing-field"),
    ("missing-display-name", "missing-field"),
    ("missing-layer", "missing-field"),
    ("missing-logo-png", "missing-file"),
    ("missing-name", "missing-field"),
    ("missing-pack-json", "missing-file"),
    ("missing-values-yaml", "missing-file"),
    ("missing-version", "missing-field"),
    ("name-uppercase", "invalid-name"),
    ("pack-json-duplicate-key", "duplicate-key"),
    ("pack-json-not-object", "wrong-type"),
    ("pack-json-not-utf8", "not-utf8"),
    ("pack-json-syntax-error", "json-syntax"),
    ("resource-schedule-type-unknown", "invalid-constraint"),
    ("resource-type-unknown", "invalid-constraint"),
    ("role-folder-symlink", "unsupported-file"),
    ("role-is-file", "invalid-path"),
    ("role-missing", "missing-path"),
    ("role-symlink-escapes", "symlink-escapes"),
    ("symlink-dangling", "broken-symlink"),
    ("values-yaml-duplicate-key", "duplicate-key"),
    ("values-yaml-not-utf8", "not-utf8"),
    ("values-yaml-syntax-error", "yaml-syntax"),
    ("values-yaml-too-deep", "yaml-too-large"),
    ("version-is-number", "wrong-type"),
    ("version-empty", "invalid-version"),
    ("version-leading-v", "invalid-version"),
    ("version-not-a-tag", "invalid-version"),
    ("presets-add-invalid-yaml", "invalid-preset-add"),
    ("presets-add-not-a-mapping", "invalid-preset-add"),
    ("presets-bare-list", "invalid-presets"),
    ("presets-duplicate-name", "duplicate-preset"),
    ("presets-remove-not-a-list", "invalid-preset"),
    ("presets-two-groups", "invalid-preset"),
    ("presets-without-name", "invalid-preset"),
    ("schema-bad-range", "invalid-schema-expression"),
    ("schema-bad-regex", "invalid-schema-expression"),
    ("schema-default-not-in-list", "schema-value-mismatch"),
    ("schema-default-out-of-range", "schema-value-mismatch"),
    ("schema-default-regex-mismatch", "schema-value-mismatch"),
    ("schema-list-item-mismatch", "schema-value-mismatch"),
    ("schema-not-a-mapping", "invalid-schema"),
    ("schema-required-readonly-empty", "schema-value-required"),
    ("schema-unclosed-expression", "invalid-schema-expression"),
    ("schema-unknown-command", "invalid-schema-expression"),
    ("schema-without-schema", "invalid-schema"),
];

fn invalid_dirs() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root().join("testdata/invalid"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".md"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_broken_pack_is_in_the_table() {
    let mut table: Vec<&str> = INVALID.iter().map(|(dir, _)| *dir).collect();
    table.sort_unstable();
    assert_eq!(
        invalid_dirs(),
        table,
        "testdata/invalid and INVALID disagree"
    );
}

#[test]
fn each_broken_pack_fails_for_exactly_its_reason() {
    for (dir, rule) in INVALID {
        let v = validate(&root().join("testdata/invalid").join(dir));
        let rules: Vec<_> = v.findings.iter().map(|f| (f.severity, f.rule)).collect();
        assert_eq!(
            rules,
            [(Severity::Error, *rule)],
            "{dir}: {:#?}",
            v.findings
        );
        assert!(v.pack.is_none(), "{dir} loaded a pack");
        let finding = &v.findings[0];
        assert!(
            finding.hint.as_deref().is_some_and(|h| !h.is_empty()),
            "{dir} has no hint"
        );
        assert!(!finding.file.is_empty());
    }
}

#[test]
fn cli_reports_for_broken_packs() {
    let sandbox = Sandbox::new();
    for (dir, _) in INVALID {
        let run = sandbox.run(["pack", "validate", &format!("testdata/invalid/{dir}")]);
        assert_eq!(run.code, 1, "{dir}");
        insta::assert_snapshot!(format!("invalid-{dir}"), run.transcript());
    }
}

#[test]
fn samples_are_valid_with_no_findings() {
    let sandbox = Sandbox::new();
    for name in ["golden-centos-aws", "hello-chart", "hello-manifests"] {
        let v = validate(&sample(name));
        assert!(v.findings.is_empty(), "{name}: {:#?}", v.findings);
        let run = sandbox
            .run(["pack", "validate", &format!("testdata/packs/{name}")])
            .success();
        insta::assert_snapshot!(format!("sample-{name}"), run.transcript());
    }
}

#[test]
fn json_output_is_stable() {
    let sandbox = Sandbox::new();
    let run = sandbox.run([
        "pack",
        "validate",
        "--output",
        "json",
        "testdata/invalid/version-leading-v",
    ]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("json-invalid", run.transcript());
    let run = sandbox
        .run([
            "pack",
            "validate",
            "testdata/packs/hello-manifests",
            "--output=json",
        ])
        .success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["pack"]["tag"], "1.2.0_build.7");
    assert_eq!(report["pack"]["version"], "1.2.0+build.7");
    insta::assert_snapshot!("json-valid", run.transcript());
}

#[test]
fn the_pack_model_orders_parts_for_the_artifact() {
    let (pack, warnings) = packctl::pack::Pack::open(&sample("golden-centos-aws")).unwrap();
    // README.md is carried as a file of its own, after the parts pack.json names.
    assert!(warnings.is_empty());
    let kinds: Vec<String> = pack
        .parts()
        .iter()
        .map(|p| match p {
            Part::Metadata(f) => format!("metadata {}", f.path),
            Part::Values(f) => format!("values {}", f.path),
            Part::Logo(f) => format!("logo {}", f.path),
            Part::Chart(f) => format!("chart {}", f.path),
            Part::KubeManifest(f) => format!("manifest {}", f.path),
            Part::AnsibleRole { path, dirs, files } => format!(
                "role {path} dirs={} files={}",
                dirs.join(","),
                files
                    .iter()
                    .map(|f| f.path.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Part::Other(f) => format!("other {}", f.path),
            _ => unreachable!("a part the test does not know"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "metadata pack.json",
            "values values.yaml",
            "logo logo.png",
            "role harden_os dirs=harden_os/defaults,harden_os/files,harden_os/handlers,harden_os/meta,harden_os/tasks,harden_os/templates,harden_os/vars files=harden_os/defaults/main.yml,harden_os/files/audit.rules,harden_os/files/check-hardening.sh,harden_os/handlers/main.yml,harden_os/meta/main.yml,harden_os/tasks/main.yml,harden_os/templates/sshd_config.j2,harden_os/vars/.gitkeep",
            "other README.md",
        ]
    );
    let Part::AnsibleRole { files, .. } = &pack.parts()[3] else {
        unreachable!()
    };
    let script = files
        .iter()
        .find(|f| f.path.ends_with("check-hardening.sh"))
        .unwrap();
    assert!(script.executable);
    assert!(!files[0].executable);
    let meta = pack.metadata();
    assert_eq!(meta.annotations.len(), 7);
    assert_eq!(
        pack.metadata_bytes(),
        fs::read(sample("golden-centos-aws/pack.json")).unwrap()
    );

    let (pack, _) = packctl::pack::Pack::open(&sample("hello-chart")).unwrap();
    let paths: Vec<&str> = pack.parts().iter().map(Part::path).collect();
    assert_eq!(
        paths,
        [
            "pack.json",
            "values.yaml",
            "logo.png",
            "charts/hello-0.1.0.tgz",
            "README.md",
            "presets.yaml"
        ]
    );
    let (pack, _) = packctl::pack::Pack::open(&sample("hello-manifests")).unwrap();
    let paths: Vec<&str> = pack.parts().iter().map(Part::path).collect();
    assert_eq!(
        paths,
        [
            "pack.json",
            "values.yaml",
            "logo.png",
            "manifests/namespace.yaml",
            "manifests/app.yaml",
            "README.md"
        ]
    );
}

fn rules(dir: &Path) -> Vec<(Severity, &'static str)> {
    validate(dir)
        .findings
        .iter()
        .map(|f| (f.severity, f.rule))
        .collect()
}

#[test]
fn warnings_leave_the_pack_valid() {
    use serde_json::json;
    let sandbox = Sandbox::new();
    type Mutation = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "unknown-field",
            Box::new(|d| {
                edit_pack_json(d, |m| {
                    m.insert("lables".into(), json!({}));
                })
            }),
            "unknown-field",
        ),
        (
            "unknown-addon-type",
            Box::new(|d| {
                edit_pack_json(d, |m| {
                    m.insert("addonType".into(), json!("databases"));
                })
            }),
            "unknown-addon-type",
        ),
        (
            "unused-addon-type",
            Box::new(|d| {
                edit_pack_json(d, |m| {
                    m.insert("layer".into(), json!("csi"));
                })
            }),
            "unused-addon-type",
        ),
        (
            "duplicate-cloud-type",
            Box::new(|d| {
                edit_pack_json(d, |m| {
                    m.insert("cloudTypes".into(), json!(["aws", "AWS"]));
                })
            }),
            "duplicate-value",
        ),
        (
            "unknown-dependency-field",
            Box::new(|d| {
                edit_pack_json(d, |m| {
                    m["constraints"]["dependencies"][0]["minVerison"] = json!("1.0.0");
                })
            }),
            "unknown-field",
        ),
        (
            "loose-max-version",
            Box::new(|d| {
                edit_pack_json(d, |m| {
                    m["constraints"]["dependencies"][0]["maxVersion"] = json!("1.30.x");
                })
            }),
            "invalid-version",
        ),
        (
            "unlisted-chart",
            Box::new(|d| {
                fs::copy(
                    d.join("charts/hello-0.1.0.tgz"),
                    d.join("charts/other-1.0.0.tgz"),
                )
                .unwrap();
            }),
            "unlisted-file",
        ),
        (
            "linked-readme",
            Box::new(|d| {
                fs::remove_file(d.join("README.md")).unwrap();
                std::os::unix::fs::symlink("presets.yaml", d.join("README.md")).unwrap();
            }),
            "symlink-copied",
        ),
        (
            "role-without-tasks",
            Box::new(|d| {
                fs::create_dir_all(d.join("roles/empty/files")).unwrap();
                fs::write(d.join("roles/empty/files/motd"), "hi\n").unwrap();
                edit_pack_json(d, |m| {
                    m.insert("ansibleRoles".into(), json!(["roles/empty"]));
                });
            }),
            "role-without-tasks",
        ),
    ];
    for (name, mutate, rule) in cases {
        let dir = sandbox.copy(&sample("hello-chart"), name);
        mutate(&dir);
        assert_eq!(rules(&dir), [(Severity::Warning, rule)], "{name}");
        let v = validate(&dir);
        assert!(
            v.pack.is_some(),
            "{name}: a warning must not invalidate the pack"
        );
        let run = sandbox.run(["pack", "validate", dir.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{name}: {}", run.transcript());
        assert!(run.stdout.contains(&format!("warning[{rule}]")), "{name}");
    }
}

#[test]
fn templated_manifests_are_not_parsed_as_yaml() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-manifests"), "templated");
    fs::write(
        dir.join("manifests/namespace.yaml"),
        "{{- if .Values.pack.namespace }}\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ .Values.pack.namespace }}\n{{- end }}\n",
    )
    .unwrap();
    assert_eq!(rules(&dir), []);
}

#[test]
fn every_finding_is_reported_at_once() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-chart"), "many");
    edit_pack_json(&dir, |m| {
        m.insert("version".into(), "v2".into());
        m.insert("layer".into(), "Addon".into());
        m.insert("eol".into(), "soon".into());
        m.insert("charts".into(), serde_json::json!(["../outside.tgz"]));
    });
    fs::write(dir.join("values.yaml"), "a: 1\na: 2\n").unwrap();
    fs::write(dir.join("logo.png"), "GIF89a").unwrap();
    let found = rules(&dir);
    for rule in [
        "invalid-version",
        "invalid-layer",
        "duplicate-key",
        "invalid-png",
    ] {
        assert!(
            found.contains(&(Severity::Error, rule)),
            "{rule} missing from {found:?}"
        );
    }
    assert!(found.contains(&(Severity::Warning, "invalid-eol")));
    let run = sandbox.run(["pack", "validate", dir.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    sandbox.settings().bind(|| {
        insta::assert_snapshot!("many-findings", run.transcript());
    });
}

#[test]
fn files_a_pack_cannot_hold() {
    use std::os::unix::ffi::OsStrExt;
    let sandbox = Sandbox::new();

    let dir = sandbox.copy(&sample("hello-chart"), "fifo");
    let fifo = dir.join("pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(rules(&dir), [(Severity::Error, "unsupported-file")]);

    let dir = sandbox.copy(&sample("hello-chart"), "latin1-name");
    fs::write(dir.join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt")), "x").unwrap();
    assert_eq!(rules(&dir), [(Severity::Error, "unsupported-file")]);

    let dir = sandbox.copy(&sample("hello-chart"), "huge-pack-json");
    edit_pack_json(&dir, |m| {
        m.insert("padding".into(), "x".repeat(1 << 20).into());
    });
    assert_eq!(rules(&dir), [(Severity::Error, "file-too-large")]);
}

#[test]
fn a_missing_folder_or_a_file_is_not_a_pack() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(["pack", "validate", "testdata/packs/does-not-exist"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("missing-folder", run.transcript());
    let run = sandbox.run(["pack", "validate", "testdata/packs/hello-chart/pack.json"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("error[not-a-pack]"), "{}", run.stdout);
}
