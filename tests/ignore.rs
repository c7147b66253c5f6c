//! `.packignore` and the default ignores: what is left out, that validate, build, push and
//! pull agree on the file set, and that a pack which ignores nothing keeps its digest.

mod common;

use common::registry::{Registry, check_output};
use common::{Sandbox, require_tool, sample, tree};
use packctl::pack::{Part, validate};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// What the sample `hello-ignore` packs; everything else in its folder is left out.
const KEPT: &[&str] = &[
    "README.md",
    "docs/usage.md",
    "logo.png",
    "manifests/greeter.yaml",
    "pack.json",
    "sub/notes.txt",
    "values.yaml",
];

/// What `-v` lists for the sample with VCS folders added, in path order.
const LEFT_OUT: &[&str] = &[
    "left out: #scratch.txt (.packignore:15 `\\#scratch.txt`)",
    "left out: .DS_Store (default rule `.DS_Store`)",
    "left out: .git/ (default rule `.git`)",
    "left out: .hg/ (default rule `.hg`)",
    "left out: .packignore (the ignore file itself)",
    "left out: .svn/ (default rule `.svn`)",
    "left out: build/ (.packignore:5 `build/`)",
    "left out: docs/draft.md (.packignore:11 `docs/*`)",
    "left out: manifests/.DS_Store (default rule `.DS_Store`)",
    "left out: manifests/.greeter.yaml.swp (.packignore:2 `*.swp`)",
    "left out: notes.txt (.packignore:8 `/notes.txt`)",
];

/// The sample, with the VCS folders a working copy has (git cannot hold them in testdata).
fn sample_with_vcs(sandbox: &Sandbox, name: &str) -> std::path::PathBuf {
    let dir = sandbox.copy(&sample("hello-ignore"), name);
    add_vcs_leftovers(&dir);
    dir
}

fn add_vcs_leftovers(dir: &Path) {
    fs::create_dir_all(dir.join(".git/objects/ab")).unwrap();
    fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    fs::write(dir.join(".git/objects/ab/cdef"), "object").unwrap();
    fs::create_dir_all(dir.join(".hg/store")).unwrap();
    fs::write(dir.join(".hg/store/data"), "hg").unwrap();
    fs::create_dir_all(dir.join(".svn")).unwrap();
    fs::write(dir.join(".svn/entries"), "12\n").unwrap();
    fs::write(dir.join(".DS_Store"), "Bud1").unwrap();
}

fn left_out_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("left out: "))
        .collect()
}

/// The `org.opencontainers.image.title` of every layer of a manifest, in order.
fn titles(manifest: &str) -> Vec<String> {
    let manifest: serde_json::Value = serde_json::from_str(manifest).unwrap();
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["annotations"]["org.opencontainers.image.title"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// The one manifest of an OCI image layout that `pack build` wrote.
fn layout_manifest(layout: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "{index}");
    let digest = manifests[0]["digest"].as_str().unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap();
    fs::read_to_string(layout.join("blobs/sha256").join(hex)).unwrap()
}

/// The pack files validation hands to build and push, by path.
fn validated_files(dir: &Path) -> Vec<String> {
    let validation = validate(dir);
    let pack = validation
        .pack
        .unwrap_or_else(|| panic!("{dir:?} is invalid: {:#?}", validation.findings));
    let mut files = Vec::new();
    for part in pack.parts() {
        match part {
            Part::AnsibleRole { files: inside, .. } => {
                files.extend(inside.iter().map(|f| f.path.clone()))
            }
            other => files.push(other.path().to_string()),
        }
    }
    files
}

fn kept() -> Vec<String> {
    KEPT.iter().map(|s| s.to_string()).collect()
}

#[test]
fn v_lists_what_validate_build_and_push_leave_out() {
    let sandbox = Sandbox::new();
    let dir = sample_with_vcs(&sandbox, "pack");
    let dir = dir.to_str().unwrap();
    let layout = sandbox.path().join("layout");
    let store = format!("oci:{}", sandbox.path().join("store").display());
    let layout = layout.to_str().unwrap();
    let runs = [
        sandbox.run(["pack", "validate", "-v", dir]).success(),
        sandbox
            .run(["pack", "build", "-v", dir, "--oci-layout", layout])
            .success(),
        sandbox
            .run(["pack", "push", "-v", dir, "-r", &store])
            .success(),
    ];
    for run in &runs {
        assert_eq!(left_out_lines(&run.stderr), LEFT_OUT, "{}", run.stderr);
    }
    // Without -v nothing is listed.
    let quiet = [
        sandbox.run(["pack", "validate", dir]).success(),
        sandbox
            .run(["pack", "build", dir, "--oci-layout", layout, "-f"])
            .success(),
        sandbox.run(["pack", "push", dir, "-r", &store]).success(),
    ];
    for run in &quiet {
        assert!(left_out_lines(&run.stderr).is_empty(), "{}", run.stderr);
    }
}

#[test]
fn validate_build_push_and_pull_agree_on_the_file_set() {
    require_tool("skopeo");
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let dir = sample_with_vcs(&sandbox, "pack");
    let dir_arg = dir.to_str().unwrap();

    let mut validated = validated_files(&dir);
    validated.sort();
    assert_eq!(validated, kept());

    let layout = sandbox.path().join("layout");
    sandbox
        .run([
            "pack",
            "build",
            dir_arg,
            "--oci-layout",
            layout.to_str().unwrap(),
        ])
        .success();
    let built = titles(&layout_manifest(&layout));

    sandbox
        .run(["pack", "push", dir_arg, "-r", &registry.host])
        .success();
    let reference = format!(
        "docker://{}/spectro-packs/archive/hello-ignore:0.3.0",
        registry.host
    );
    let raw = check_output(
        "skopeo",
        &[
            "inspect".into(),
            "--raw".into(),
            "--tls-verify=false".into(),
            reference,
        ],
        &[],
    );
    let pushed = titles(&raw);
    assert_eq!(built, pushed, "build and push wrote different layers");
    let expected: BTreeSet<String> = kept().into_iter().collect();
    assert_eq!(pushed.iter().cloned().collect::<BTreeSet<_>>(), expected);
}

#[test]
fn pull_gives_back_exactly_the_kept_files_in_both_encodings() {
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let dir = sample_with_vcs(&sandbox, "pack");
    let original = tree(&dir);
    let expected: BTreeMap<_, _> = original
        .into_iter()
        .filter(|(path, _)| KEPT.contains(&path.as_str()))
        .collect();
    assert_eq!(expected.len(), KEPT.len());
    for format in ["structured", "archive"] {
        for (kind, server) in [
            (
                "oci",
                format!("oci:{}", sandbox.path().join(format).display()),
            ),
            ("registry", format!("{}/{format}", registry.host)),
        ] {
            sandbox
                .run([
                    "pack",
                    "push",
                    dir.to_str().unwrap(),
                    "-r",
                    &server,
                    "--format",
                    format,
                ])
                .success();
            let target = sandbox.path().join(format!("pulled-{kind}-{format}"));
            sandbox
                .run([
                    "pack",
                    "pull",
                    "hello-ignore:0.3.0",
                    target.to_str().unwrap(),
                    "-r",
                    &server,
                ])
                .success();
            assert_eq!(tree(&target), expected, "{kind} {format}");
        }
    }
}

#[test]
fn a_pack_that_ignores_nothing_keeps_its_digest() {
    let sandbox = Sandbox::new();
    for name in ["golden-centos-aws", "hello-chart", "hello-manifests"] {
        for format in ["structured", "archive"] {
            let build = |dir: &Path, out: &str| {
                let layout = sandbox.path().join(out);
                let run = sandbox
                    .run([
                        "pack",
                        "build",
                        dir.to_str().unwrap(),
                        "--oci-layout",
                        layout.to_str().unwrap(),
                        "--format",
                        format,
                    ])
                    .success();
                run.stdout.trim().rsplit('@').next().unwrap().to_string()
            };
            let plain = build(&sample(name), &format!("{name}-{format}-plain"));
            // VCS folders, Finder files and a .packignore of comments change nothing.
            let copy = sandbox.copy(&sample(name), &format!("{name}-{format}"));
            add_vcs_leftovers(&copy);
            fs::write(copy.join(".packignore"), "# nothing to leave out\n\n").unwrap();
            let ignoring = build(&copy, &format!("{name}-{format}-ignoring"));
            assert_eq!(plain, ignoring, "{name} {format}");
        }
    }
}

/// The JSON report of `pack validate`.
fn validate_json(sandbox: &Sandbox, dir: &Path) -> serde_json::Value {
    let run = sandbox.run([
        "pack",
        "validate",
        "--output",
        "json",
        dir.to_str().unwrap(),
    ]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// `(rule, file, line)` of every finding with `severity`.
fn findings(report: &serde_json::Value, severity: &str) -> Vec<(String, String, Option<u64>)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64(),
            )
        })
        .collect()
}

fn finding<'a>(report: &'a serde_json::Value, rule: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} in {report:#}"))
}

#[test]
fn an_ignored_path_named_in_pack_json_is_an_error() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-ignore"), "listed");
    fs::write(
        dir.join(".packignore"),
        "# manifests are generated\nmanifests/\n",
    )
    .unwrap();
    let run = sandbox
        .run(["pack", "validate", dir.to_str().unwrap()])
        .fails_with(&[]);
    assert!(
        run.stdout.contains("error[ignored-path]: pack.json:"),
        "{}",
        run.stdout
    );
    let report = validate_json(&sandbox, &dir);
    assert_eq!(
        findings(&report, "error"),
        [(
            "ignored-path".to_string(),
            "pack.json".to_string(),
            Some(11)
        )]
    );
    let f = finding(&report, "ignored-path");
    assert_eq!(f["field"], "kubeManifests[0]");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("manifests/greeter.yaml"), "{message}");
    assert!(message.contains(".packignore line 2"), "{message}");
    assert!(message.contains("`manifests/`"), "{message}");
    let hint = f["hint"].as_str().unwrap();
    assert!(hint.contains("line 2"), "{hint}");

    // A file pattern can be undone with `!`, and the hint says how.
    fs::write(dir.join(".packignore"), "*.yaml\n").unwrap();
    let report = validate_json(&sandbox, &dir);
    let errors = findings(&report, "error");
    assert_eq!(
        errors,
        [
            (
                "ignored-path".to_string(),
                ".packignore".to_string(),
                Some(1)
            ),
            (
                "ignored-path".to_string(),
                "pack.json".to_string(),
                Some(11)
            ),
        ],
        "{report:#}"
    );
    let f = finding(&report, "ignored-path");
    assert!(
        f["message"].as_str().unwrap().contains("values.yaml"),
        "{f}"
    );
    assert!(f["hint"].as_str().unwrap().contains("!values.yaml"), "{f}");
    fs::write(
        dir.join(".packignore"),
        "*.yaml\n!values.yaml\n!manifests/greeter.yaml\n",
    )
    .unwrap();
    sandbox
        .run(["pack", "validate", dir.to_str().unwrap()])
        .success();
}

#[test]
fn a_negation_brings_back_a_default() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-ignore"), "negated");
    let mut files = validated_files(&dir);
    assert!(!files.contains(&".DS_Store".to_string()), "{files:?}");
    let mut rules = fs::read_to_string(dir.join(".packignore")).unwrap();
    rules.push_str("!/.DS_Store\n");
    fs::write(dir.join(".packignore"), rules).unwrap();
    files = validated_files(&dir);
    assert!(files.contains(&".DS_Store".to_string()), "{files:?}");
    assert!(
        !files.contains(&"manifests/.DS_Store".to_string()),
        "{files:?}"
    );
    // The ignore file itself stays out, whatever it says.
    fs::write(dir.join(".packignore"), "!.packignore\n").unwrap();
    assert!(!validated_files(&dir).contains(&".packignore".to_string()));
}

#[test]
fn ignored_entries_are_not_examined() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-chart"), "unexamined");
    fs::create_dir_all(dir.join("node_modules/pkg")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("node_modules/pkg/escapes")).unwrap();
    let fifo = dir.join("node_modules/pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    std::os::unix::fs::symlink("nowhere", dir.join("dangling.tmp")).unwrap();
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"not-utf8-\xff.tmp");
        fs::write(dir.join(name), "x").unwrap();
    }
    fs::write(dir.join("line\nbreak.tmp"), "x").unwrap();
    // Without rules, each is an error: the rules below are what makes the pack valid.
    let before = validate_json(&sandbox, &dir);
    let mut rules: Vec<String> = findings(&before, "error")
        .into_iter()
        .map(|(rule, _, _)| rule)
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "broken-symlink",
            "invalid-file-name",
            "symlink-escapes",
            "unsupported-file",
            "unsupported-file"
        ]
    );
    fs::write(dir.join(".packignore"), "node_modules/\n*.tmp\n").unwrap();
    let run = sandbox
        .run(["pack", "validate", "-v", dir.to_str().unwrap()])
        .success();
    assert_eq!(
        left_out_lines(&run.stderr),
        [
            "left out: .packignore (the ignore file itself)",
            "left out: dangling.tmp (.packignore:2 `*.tmp`)",
            "left out: line\\nbreak.tmp (.packignore:2 `*.tmp`)",
            "left out: node_modules/ (.packignore:1 `node_modules/`)",
            "left out: not-utf8-\u{fffd}.tmp (.packignore:2 `*.tmp`)",
        ]
    );
}

/// Writes a broken `.packignore` at the path given.
type Make = Box<dyn Fn(&Path)>;
/// The rule and line of the one error a case must give.
type Expected = (&'static str, Option<u64>);

#[test]
fn a_broken_packignore_is_a_located_finding() {
    let sandbox = Sandbox::new();
    let cases: Vec<(&str, Make, Expected)> = vec![
        (
            "folder",
            Box::new(|p: &Path| fs::create_dir(p).unwrap()),
            ("invalid-ignore-file", None),
        ),
        (
            "link",
            Box::new(|p: &Path| std::os::unix::fs::symlink("README.md", p).unwrap()),
            ("invalid-ignore-file", None),
        ),
        (
            "pipe",
            Box::new(|p: &Path| {
                assert!(
                    std::process::Command::new("mkfifo")
                        .arg(p)
                        .status()
                        .unwrap()
                        .success()
                )
            }),
            ("invalid-ignore-file", None),
        ),
        (
            "too-large",
            Box::new(|p: &Path| {
                let line = "# padding padding padding padding padding padding padding\n";
                let text =
                    line.repeat((packctl::pack::MAX_IGNORE_FILE_BYTES as usize) / line.len() + 1);
                fs::write(p, text).unwrap()
            }),
            ("file-too-large", None),
        ),
        (
            "not-utf8",
            Box::new(|p: &Path| fs::write(p, b"build/\nbad\xff\n").unwrap()),
            ("not-utf8", Some(2)),
        ),
        (
            "bad-pattern",
            Box::new(|p: &Path| fs::write(p, "build/\n# fine\n[z-a].log\n").unwrap()),
            ("invalid-ignore-file", Some(3)),
        ),
    ];
    for (name, make, (rule, line)) in cases {
        let dir = sandbox.copy(&sample("hello-chart"), name);
        make(&dir.join(".packignore"));
        let report = validate_json(&sandbox, &dir);
        assert_eq!(
            findings(&report, "error"),
            [(rule.to_string(), ".packignore".to_string(), line)],
            "{name}: {report:#}"
        );
        assert!(finding(&report, rule)["hint"].is_string(), "{name}");
    }
}

#[test]
fn a_large_packignore_is_read_in_bounded_time() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-chart"), "many-rules");
    let mut rules = String::new();
    let mut i = 0;
    while rules.len() < packctl::pack::MAX_IGNORE_FILE_BYTES as usize - 64 {
        rules.push_str(&format!("generated/part-{i}/*.bin\n"));
        i += 1;
    }
    fs::write(dir.join(".packignore"), rules).unwrap();
    let started = std::time::Instant::now();
    let report = validate_json(&sandbox, &dir);
    assert!(findings(&report, "error").is_empty(), "{report:#}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_nested_packignore_is_not_read_and_is_packed() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-ignore"), "nested");
    fs::write(dir.join("sub/.packignore"), "*\n").unwrap();
    let report = validate_json(&sandbox, &dir);
    let nested: Vec<_> = findings(&report, "warning")
        .into_iter()
        .filter(|(rule, _, _)| rule == "nested-ignore-file")
        .collect();
    assert_eq!(
        nested,
        [(
            "nested-ignore-file".to_string(),
            "sub/.packignore".to_string(),
            None
        )]
    );
    let files = validated_files(&dir);
    assert!(files.contains(&"sub/.packignore".to_string()), "{files:?}");
    assert!(files.contains(&"sub/notes.txt".to_string()), "{files:?}");
}
