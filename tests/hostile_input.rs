//! Validation under hostile pack input: memory and time stay bounded, names that a pull would
//! refuse are refused before a push, broken archives and oversized YAML are reported for what
//! they are, and no input makes validation panic or crash.

mod common;

use common::{Run, Sandbox, root, sample};
use packctl::pack::validate;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Virtual memory a packctl run may use in these tests, in KiB (`ulimit -v`): a normal
/// validate needs well under 100 MB.
const MEMORY_KIB: u64 = 400_000;

/// Runs packctl under the memory cap and returns what it printed and how long it took.
fn run_capped(sandbox: &Sandbox, args: &[&str]) -> (Run, Duration) {
    let home = sandbox.path().join("home");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_packctl"))
        .args(args)
        .current_dir(root())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("DOCKER_CONFIG", home.join(".docker"))
        .env("NO_COLOR", "1");
    let started = Instant::now();
    let output = cmd.output().expect("sh runs");
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    (run, started.elapsed())
}

/// Adds a raw `"key": value` member to the top of pack.json.
fn add_raw_member(dir: &Path, key: &str, value: &str) {
    let path = dir.join("pack.json");
    let text = fs::read_to_string(&path).unwrap();
    let rest = text.trim_start().strip_prefix('{').unwrap();
    fs::write(&path, format!("{{\"{key}\": {value},{rest}")).unwrap();
}

#[test]
fn a_long_key_over_a_long_array_validates_in_bounded_memory() {
    let sandbox = Sandbox::new();
    let key = "k".repeat(40_000);

    let dir = sandbox.copy(&sample("hello-chart"), "long-key");
    let items = vec!["1"; 40_000].join(",");
    add_raw_member(&dir, &key, &format!("[{items}]"));
    let (run, took) = run_capped(&sandbox, &["pack", "validate", dir.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("warning[unknown-field]"),
        "{}",
        run.stdout
    );
    assert!(took < Duration::from_secs(10), "validate took {took:?}");

    // Repeats inside the array: each one is a finding, so the report is bounded too.
    let dir = sandbox.copy(&sample("hello-chart"), "long-key-repeats");
    let items = vec![r#"{"x":1,"x":2}"#; 40_000].join(",");
    add_raw_member(&dir, &key, &format!("[{items}]"));
    let (run, took) = run_capped(&sandbox, &["pack", "validate", dir.to_str().unwrap()]);
    assert_eq!(
        run.code,
        1,
        "{}",
        run.stdout.get(..2000).unwrap_or(&run.stdout)
    );
    assert!(run.stdout.contains("error[duplicate-key]"));
    assert!(
        run.stdout.contains("39900 more keys are given twice"),
        "{}",
        &run.stdout[run.stdout.len().saturating_sub(2000)..]
    );
    assert!(run.stdout.len() < 200_000, "{} bytes", run.stdout.len());
    assert!(took < Duration::from_secs(10), "validate took {took:?}");
}

#[test]
fn pulling_a_pack_with_a_long_key_stays_in_bounded_memory() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    let dir = sandbox.copy(&sample("hello-chart"), "long-key");
    let items = vec!["1"; 40_000].join(",");
    add_raw_member(&dir, &"k".repeat(40_000), &format!("[{items}]"));
    let (run, _) = run_capped(
        &sandbox,
        &["pack", "push", dir.to_str().unwrap(), "-r", &store],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let target = sandbox.path().join("pulled");
    let (run, took) = run_capped(
        &sandbox,
        &[
            "pack",
            "pull",
            "hello-chart:0.1.0",
            target.to_str().unwrap(),
            "-r",
            &store,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(target.join("pack.json").is_file());
    assert!(took < Duration::from_secs(10), "pull took {took:?}");
}

#[test]
fn file_names_in_findings_are_escaped() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-chart"), "escaped");
    std::os::unix::fs::symlink("nowhere", dir.join("gone\u{1b}[2J")).unwrap();
    let v = validate(&dir);
    let files: Vec<_> = v.findings.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, ["gone\\u{1b}[2J"], "{:#?}", v.findings);
}
