//! What Palette's own public packs do, reproduced in packs of our own: versions that are not
//! strict semantic versions, empty and blank `eol`, a JPEG saved as logo.png, cloud types and
//! add-on types as Palette's schema has them, resource components, a missing README. Each is
//! judged as Palette would judge it, and each accepted pack travels byte for byte through an
//! `oci:` store and a real registry in both encodings.

mod common;

use common::registry::Registry;
use common::{Sandbox, edit_pack_json, sample, tree};
use packctl::pack::{Severity, validate};
use serde_json::{Value, json};
use std::fs;
use std::path::Path;

/// A change to a copy of the hello-chart sample.
type Mutation = fn(&Path);

/// What validation is expected to find, in order.
type Expected = &'static [(Severity, &'static str)];

fn set(dir: &Path, field: &str, value: Value) {
    edit_pack_json(dir, |m| {
        m.insert(field.into(), value);
    });
}

/// The smallest JPEG header that is whole: SOI, then an APP0 segment.
const JPEG: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9";

/// Each real-world case: its name, how it differs from hello-chart, and what validation says
/// (in order). All of them are packs Palette accepts.
const CASES: &[(&str, Mutation, Expected)] = &[
    (
        "calver-leading-zeros",
        |d| set(d, "version", json!("26.02.0")),
        &[(Severity::Note, "version-not-semver")],
    ),
    (
        "two-part-version",
        |d| set(d, "version", json!("1.5")),
        &[(Severity::Note, "version-not-semver")],
    ),
    (
        "four-part-version",
        |d| set(d, "version", json!("1.2.3.4")),
        &[(Severity::Note, "version-not-semver")],
    ),
    (
        "prerelease-with-a-date",
        |d| set(d, "version", json!("0.30.0-5.5.2026")),
        &[],
    ),
    (
        "rancher-up-version",
        |d| set(d, "version", json!("2.0.1-up.1")),
        &[],
    ),
    (
        "version-with-text",
        |d| set(d, "version", json!("1.30.x")),
        &[(Severity::Warning, "version-order-ambiguous")],
    ),
    ("empty-eol", |d| set(d, "eol", json!("")), &[]),
    (
        "blank-eol",
        |d| set(d, "eol", json!(" ")),
        &[(Severity::Warning, "blank-eol")],
    ),
    (
        "eol-not-a-date",
        |d| set(d, "eol", json!("when 2.x ends")),
        &[(Severity::Warning, "invalid-eol")],
    ),
    (
        "jpeg-logo",
        |d| fs::write(d.join("logo.png"), JPEG).unwrap(),
        &[(Severity::Warning, "logo-not-png")],
    ),
    (
        "no-readme",
        |d| fs::remove_file(d.join("README.md")).unwrap(),
        &[(Severity::Warning, "missing-readme")],
    ),
    (
        "palette-cloud-types",
        |d| {
            set(
                d,
                "cloudTypes",
                json!(["edge-native", "maas", "Libvirt", "custom"]),
            )
        },
        &[],
    ),
    (
        "seed-cloud-type",
        |d| set(d, "cloudTypes", json!(["AWS", "VMware"])),
        &[(Severity::Warning, "seed-cloud-type")],
    ),
    (
        "addon-type-not-in-the-seed",
        |d| set(d, "addonType", json!("app-services")),
        &[(Severity::Warning, "unknown-addon-type")],
    ),
    (
        "resource-components",
        |d| {
            edit_pack_json(d, |m| {
                m["constraints"]["resources"][0]["components"] = json!([
                    {
                        "resourceRequestParamRef": "charts.hello.resources.requests.cpu",
                        "replicaCountParamRef": "charts.hello.replicaCount",
                        "scheduleType": "worker"
                    },
                    {"scheduleType": "all"}
                ]);
            })
        },
        &[],
    ),
    (
        "dependency-without-type",
        |d| {
            edit_pack_json(d, |m| {
                let dependency = m["constraints"]["dependencies"][0].as_object_mut().unwrap();
                dependency.remove("type");
                dependency.insert("minVersion".into(), json!("1.34"));
            })
        },
        &[(Severity::Warning, "incomplete-constraint")],
    ),
    (
        "palette-pipeline-fields",
        |d| {
            edit_pack_json(d, |m| {
                m.insert("commit_msg".into(), json!("Add hello 0.1.0"));
                m.insert("addonSubType".into(), json!("greeting"));
                m.insert("cloudType".into(), json!("all"));
            })
        },
        &[],
    ),
    (
        "addon-without-images",
        |d| {
            fs::write(
                d.join("values.yaml"),
                "charts:\n  hello:\n    replicaCount: 1\n",
            )
            .unwrap()
        },
        &[(Severity::Warning, "content-no-images")],
    ),
];

fn case_dir(sandbox: &Sandbox, name: &str, mutate: Mutation) -> std::path::PathBuf {
    let dir = sandbox.copy(&sample("hello-chart"), name);
    mutate(&dir);
    dir
}

#[test]
fn real_world_cases_are_judged_as_palette_would() {
    let sandbox = Sandbox::new();
    for (name, mutate, expected) in CASES {
        let dir = case_dir(&sandbox, name, *mutate);
        let v = validate(&dir);
        let found: Vec<_> = v.findings.iter().map(|f| (f.severity, f.rule)).collect();
        assert_eq!(found, *expected, "{name}: {:#?}", v.findings);
        assert!(v.pack.is_some(), "{name}: Palette accepts this pack");
        for finding in &v.findings {
            assert!(finding.hint.is_some(), "{name}: {finding} has no hint");
        }
        let run = sandbox.run(["pack", "validate", dir.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{name}: {}", run.transcript());
        for (severity, rule) in *expected {
            assert!(
                run.stdout.contains(&format!("{severity}[{rule}]")),
                "{name}: {}",
                run.stdout
            );
        }
    }
}

#[test]
fn notes_are_shown_by_validate_and_left_out_of_push() {
    let sandbox = Sandbox::new();
    let dir = case_dir(&sandbox, "calver", |d| set(d, "version", json!("26.02.0")));
    let run = sandbox
        .run(["pack", "validate", dir.to_str().unwrap()])
        .success();
    assert!(
        run.stdout.contains("note[version-not-semver]")
            && run.stdout.contains("orders it as 26.2.0")
            && run
                .stdout
                .ends_with("valid: hello-chart 26.02.0 (0 errors, 0 warnings, 1 note)\n"),
        "{}",
        run.stdout
    );
    let json = sandbox
        .run([
            "pack",
            "validate",
            dir.to_str().unwrap(),
            "--output",
            "json",
        ])
        .success();
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["notes"], 1);
    assert_eq!(report["findings"][0]["severity"], "note");
    assert_eq!(report["pack"]["tag"], "26.02.0");

    let store = format!("oci:{}", sandbox.path().join("store").display());
    let run = sandbox
        .run(["pack", "push", dir.to_str().unwrap(), "-r", &store])
        .success();
    assert!(!run.stderr.contains("note"), "{}", run.stderr);
    assert!(run.stdout.contains(":26.02.0@sha256:"), "{}", run.stdout);
}

/// Pushes `dir` in `format` to `server`, pulls it back, and checks the bytes are the same.
fn round_trip(
    sandbox: &Sandbox,
    dir: &Path,
    server: &str,
    extra: &[&str],
    format: &str,
    label: &str,
) {
    let mut push = vec![
        "pack",
        "push",
        dir.to_str().unwrap(),
        "-r",
        server,
        "--format",
        format,
    ];
    push.extend(extra);
    let pushed = sandbox.run(&push).success();
    let reference = pushed.stdout.trim().to_string();
    let digest = reference.rsplit('@').next().unwrap();
    let target = sandbox.path().join(format!("pulled-{label}-{format}"));
    let name = "hello-chart";
    let by_digest = format!("{name}@{digest}");
    let mut pull = vec![
        "pack",
        "pull",
        &by_digest,
        target.to_str().unwrap(),
        "-r",
        server,
    ];
    pull.extend(extra);
    sandbox.run(&pull).success();
    assert_eq!(
        tree(&target),
        tree(dir),
        "{label} ({format}) through {server}"
    );
}

#[test]
fn accepted_real_world_packs_round_trip_in_both_encodings() {
    let sandbox = Sandbox::new();
    let registry = Registry::plain();
    for (index, (name, mutate, _)) in CASES.iter().enumerate() {
        let dir = case_dir(&sandbox, name, *mutate);
        for format in ["structured", "archive"] {
            // One store per case and encoding: the two encodings of a version differ.
            let store = format!(
                "oci:{}",
                sandbox
                    .path()
                    .join(format!("store-{index}-{format}"))
                    .display()
            );
            round_trip(&sandbox, &dir, &store, &[], format, &format!("{name}-oci"));
            let server = format!("{}/case-{index}-{format}", registry.host);
            let label = format!("{name}-registry");
            round_trip(&sandbox, &dir, &server, &["--plain-http"], format, &label);
        }
    }
}

/// Pushes hello-manifests at each of `versions` into `store`.
fn push_versions(sandbox: &Sandbox, store: &str, versions: &[&str]) {
    let dir = sandbox.copy(&sample("hello-manifests"), "versions");
    for version in versions {
        set(&dir, "version", json!(version));
        sandbox
            .run(["pack", "push", dir.to_str().unwrap(), "-r", store])
            .success();
    }
}

/// Pulls hello-manifests without a version from `store`; what the pull printed on stdout.
fn pull_highest(sandbox: &Sandbox, store: &str, label: &str) -> String {
    let target = sandbox.path().join(label);
    let args = [
        "pack",
        "pull",
        "hello-manifests",
        target.to_str().unwrap(),
        "-r",
        store,
    ];
    sandbox.run(args).success().stdout
}

#[test]
fn the_highest_version_orders_numbers_part_by_part_and_skips_prereleases() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    // In push order: none of these is the highest by text, or by the order pushed.
    push_versions(
        &sandbox,
        &store,
        &["1.10", "1.9.0", "2.0.0-rc.1", "1.10.0.1", "1.x", "1.5"],
    );
    let pulled = pull_highest(&sandbox, &store, "highest");
    assert!(pulled.contains(":1.10.0.1@"), "{pulled}");
    let run = sandbox
        .run([
            "pack",
            "inspect",
            "hello-manifests",
            "-r",
            &store,
            "--output",
            "json",
        ])
        .success();
    assert!(run.stdout.contains("1.10.0.1"), "{}", run.stdout);

    let run = sandbox
        .run(["pack", "ls", "-r", &store, "--output", "json"])
        .success();
    let listing: Value = serde_json::from_str(&run.stdout).unwrap();
    let tags: Vec<&str> = listing[0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        ["1.5", "1.9.0", "1.10", "1.10.0.1", "1.x", "2.0.0-rc.1"]
    );

    // CalVer with leading zeros orders by number, not by text.
    let calver = format!("oci:{}", sandbox.path().join("calver").display());
    push_versions(&sandbox, &calver, &["26.02.0", "26.10.1", "25.12.3"]);
    let pulled = pull_highest(&sandbox, &calver, "calver-highest");
    assert!(pulled.contains(":26.10.1@"), "{pulled}");

    // Only pre-releases: the highest of them.
    let pre = format!("oci:{}", sandbox.path().join("pre").display());
    push_versions(
        &sandbox,
        &pre,
        &["3.0.0-rc.2", "3.0.0-rc.10", "3.0.0-beta.1"],
    );
    let pulled = pull_highest(&sandbox, &pre, "pre-highest");
    assert!(pulled.contains(":3.0.0-rc.10@"), "{pulled}");
}
