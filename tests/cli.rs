//! The command line as a whole: `--help` of every command, `pack init`, usage errors and
//! exit codes.

mod common;

use common::Sandbox;
use std::fs;

/// The subcommands listed in the "Commands:" section of a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn help_of_every_command() {
    let sandbox = Sandbox::new();
    let mut queue = vec![Vec::<String>::new()];
    let mut seen = 0;
    while let Some(path) = queue.pop() {
        let mut args = path.clone();
        args.push("--help".into());
        let run = sandbox.run(&args).success();
        assert!(run.stderr.is_empty(), "{args:?}: {}", run.stderr);
        let name = if path.is_empty() {
            "help".to_string()
        } else {
            format!("help-{}", path.join("-"))
        };
        insta::assert_snapshot!(name, run.stdout);
        for sub in subcommands(&run.stdout) {
            let mut next = path.clone();
            next.push(sub);
            queue.push(next);
        }
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} help texts found");
}

#[test]
fn init_writes_a_valid_pack() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("prometheus");
    let run = sandbox
        .run([
            "pack",
            "init",
            dir.to_str().unwrap(),
            "--name",
            "prometheus",
            "--layer",
            "addon",
            "--addon-type",
            "monitoring",
            "--cloud-types",
            "aws,azure",
            "--version",
            "2.3.4",
        ])
        .success();
    sandbox
        .settings()
        .bind(|| insta::assert_snapshot!("init-addon", run.transcript()));
    let pack_json: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("pack.json")).unwrap()).unwrap();
    assert_eq!(pack_json["name"], "prometheus");
    assert_eq!(pack_json["displayName"], "Prometheus");
    assert_eq!(pack_json["addonType"], "monitoring");
    assert_eq!(pack_json["version"], "2.3.4");
    assert_eq!(pack_json["cloudTypes"], serde_json::json!(["aws", "azure"]));
    let values = fs::read_to_string(dir.join("values.yaml")).unwrap();
    assert!(values.starts_with("# Values for the prometheus pack."));
    assert!(
        fs::read(dir.join("logo.png"))
            .unwrap()
            .starts_with(b"\x89PNG\r\n\x1a\n")
    );
    assert!(dir.join("README.md").exists());

    let run = sandbox
        .run(["pack", "validate", dir.to_str().unwrap()])
        .success();
    assert!(
        run.stdout
            .contains("valid: prometheus 2.3.4 (0 errors, 1 warning)")
            && run.stdout.contains("warning[content-no-images]"),
        "{}",
        run.stdout
    );
}

#[test]
fn init_json_output() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("os");
    let run = sandbox
        .run([
            "pack",
            "init",
            dir.to_str().unwrap(),
            "--name",
            "ubuntu-hardened",
            "--layer",
            "os",
            "--output",
            "json",
            "-q",
        ])
        .success();
    assert!(run.stderr.is_empty(), "-q printed: {}", run.stderr);
    let created: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        created["files"],
        serde_json::json!(["pack.json", "values.yaml", "logo.png", "README.md"])
    );
    assert_eq!(created["version"], "1.0.0");
    let pack_json: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("pack.json")).unwrap()).unwrap();
    assert_eq!(pack_json["displayName"], "Ubuntu Hardened");
    assert!(pack_json.get("addonType").is_none());
}

#[test]
fn init_never_overwrites() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("existing");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("pack.json"), "{\"mine\": true}\n").unwrap();
    let run = sandbox.run([
        "pack",
        "init",
        dir.to_str().unwrap(),
        "--name",
        "x",
        "--layer",
        "k8s",
    ]);
    assert_eq!(run.code, 1);
    sandbox
        .settings()
        .bind(|| insta::assert_snapshot!("init-refuses-overwrite", run.transcript()));
    assert_eq!(
        fs::read_to_string(dir.join("pack.json")).unwrap(),
        "{\"mine\": true}\n"
    );
    let left: Vec<_> = fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "init wrote files beside the existing one");
}

#[test]
fn usage_errors_exit_2() {
    let sandbox = Sandbox::new();
    let cases: [(&str, &[&str]); 5] = [
        (
            "init-addon-needs-type",
            &["pack", "init", "x", "--name", "x", "--layer", "addon"],
        ),
        (
            "init-bad-name",
            &["pack", "init", "x", "--name", "My Pack", "--layer", "os"],
        ),
        (
            "init-bad-layer",
            &["pack", "init", "x", "--name", "x", "--layer", "app"],
        ),
        (
            "init-bad-version",
            &[
                "pack",
                "init",
                "x",
                "--name",
                "x",
                "--layer",
                "os",
                "--version",
                "v1.0.0",
            ],
        ),
        ("unknown-command", &["pack", "frobnicate"]),
    ];
    for (name, args) in cases {
        let run = sandbox.run(args);
        assert_eq!(run.code, 2, "{name}: {}", run.transcript());
        insta::assert_snapshot!(format!("usage-{name}"), run.transcript());
    }
    assert!(
        !common::root().join("x").exists(),
        "a usage error wrote files"
    );
}

#[test]
fn store_operations_show_with_vv() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("packs").display());
    let push = |extra: &[&str]| {
        let mut args = vec![
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            &store,
            "-f",
        ];
        args.extend_from_slice(extra);
        sandbox.run(args).success()
    };
    let run = push(&["-vv"]);
    let quiet = push(&[]);
    assert!(!quiet.stderr.contains("packctl::store"), "{}", quiet.stderr);
    let events: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("packctl::store") && l.contains(": done "))
        .collect();
    // The first push resolves the tag, stores each blob and writes the tag, each an event
    // naming the operation, the store's repository, what it was about and its time.
    let repository = format!("store={store}/spectro-packs/archive/hello-chart ");
    for operation in ["resolve", "push_blob", "put_manifest_if"] {
        assert!(
            events
                .iter()
                .any(|l| l.contains(&format!("operation=\"{operation}\""))
                    && l.contains(&repository)
                    && l.contains("elapsed_ms=")),
            "no {operation} event in\n{}",
            run.stderr
        );
    }
    assert!(
        events.iter().any(|l| l.contains("subject=0.1.0")),
        "{}",
        run.stderr
    );
}
