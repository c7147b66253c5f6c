//! The output contract: exit 2 for what the command line cannot mean, each result printed
//! once, one vocabulary, colours only on a terminal.

mod common;

use common::{Sandbox, sample};
use std::process::Command;

/// packctl in a pseudo-terminal of `columns` columns (util-linux `script`), with the
/// sandbox's environment and `extra` variables.
fn terminal_command(
    sandbox: &Sandbox,
    args: &[&str],
    columns: u16,
    extra: &[(&str, &str)],
) -> Command {
    let binary = env!("CARGO_BIN_EXE_packctl");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let line = format!("stty cols {columns} rows 50; {binary} {}", quoted.join(" "));
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .current_dir(sandbox.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sandbox.path().join("home"))
        .env("TERM", "xterm");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd
}

/// Runs [`terminal_command`]; returns everything the terminal showed.
fn in_terminal(sandbox: &Sandbox, args: &[&str], columns: u16, extra: &[(&str, &str)]) -> String {
    let out = terminal_command(sandbox, args, columns, extra)
        .output()
        .expect("script runs (util-linux)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// [`in_terminal`] at 80 columns without colours, with `input` typed at the terminal.
fn in_terminal_with_input(sandbox: &Sandbox, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = terminal_command(sandbox, args, 80, &[("NO_COLOR", "1")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script runs (util-linux)");
    // The prompt comes after the store is read: give it the time to appear.
    std::thread::sleep(std::time::Duration::from_millis(500));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An `oci:` store in the sandbox holding the hello-chart sample, with a second tag
/// `stable` on its version when `tagged`; returns `oci:PATH`.
fn hello_store(sandbox: &Sandbox, tagged: bool) -> String {
    let store = format!("oci:{}", sandbox.path().join("s").display());
    let dir = sample("hello-chart").display().to_string();
    sandbox.run(["pack", "push", &dir, "-r", &store]).success();
    if tagged {
        sandbox
            .run([
                "pack",
                "tag",
                "add",
                "hello-chart:0.1.0",
                "stable",
                "-r",
                &store,
            ])
            .success();
    }
    store
}

#[test]
fn what_cannot_name_anything_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("s").display());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["pack", "ls"], "no registry server given"),
        (
            vec!["pack", "inspect", "My Addon", "-r", &store],
            "is not a pack name",
        ),
        (
            vec!["pack", "inspect", "a:1.0.0:extra", "-r", &store],
            "neither a version nor a tag",
        ),
        (vec!["pack", "ls", "-r", "oci:"], "needs a folder"),
        (
            vec!["pack", "tag", "add", "a:1.0.0", "bad!tag", "-r", &store],
            "not a valid OCI tag",
        ),
        (
            vec!["pack", "ls", "-r", "host/Bad_Path"],
            "cannot start a repository",
        ),
        (
            vec!["pack", "ls", "-r", "local host:1"],
            "is not a registry host",
        ),
    ];
    for (args, needle) in cases {
        let run = sandbox.run(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.transcript());
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
    // The variable is named, not only --output.
    let mut cmd = sandbox.command();
    let out = cmd
        .args(["pack", "ls", "-r", &store])
        .env("PACKCTL_OUTPUT", "xml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PACKCTL_OUTPUT is `xml`"));
    // A store that does not exist is an error of its own (exit 1), not an empty list.
    let missing = format!("oci:{}", sandbox.path().join("missing").display());
    sandbox
        .run(["pack", "ls", "-r", &missing])
        .fails_with(&["does not exist"]);
}

#[test]
fn a_result_names_its_digest_once_and_says_what_moved() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("s").display());
    let dir = sample("hello-chart").display().to_string();
    let pushed = sandbox.run(["pack", "push", &dir, "-r", &store]).success();
    assert!(
        pushed
            .stderr
            .contains("6 blobs, 2.2 KiB sent, 0 already there"),
        "{}",
        pushed.stderr
    );
    let digest = pushed.stdout.trim().rsplit_once('@').unwrap().1.to_string();
    let by_digest = format!("hello-chart@{digest}");
    let target = sandbox.path().join("pulled").display().to_string();
    let pulled = sandbox
        .run(["-v", "pack", "pull", &by_digest, &target, "-r", &store])
        .success();
    assert_eq!(
        pulled.stdout.matches(&digest).count(),
        1,
        "{}",
        pulled.stdout
    );
    assert!(!pulled.stderr.contains(&format!("{digest}@{digest}")));
    assert!(pulled.stderr.contains(": received"), "{}", pulled.stderr);
    assert!(!pulled.stderr.contains(": sent"), "{}", pulled.stderr);
    // A build says what it wrote, and has no repository.
    let layout = sandbox.path().join("layout").display().to_string();
    let built = sandbox
        .run([
            "pack",
            "build",
            &dir,
            "--oci-layout",
            &layout,
            "--output",
            "json",
        ])
        .success();
    let json: serde_json::Value = serde_json::from_str(&built.stdout).unwrap();
    assert_eq!(json["status"], "built", "{json}");
    assert_eq!(json["layout"], layout.as_str());
    assert!(json.get("repository").is_none(), "{json}");
    let built = sandbox
        .run(["-v", "pack", "build", &dir, "--oci-layout", &layout, "-f"])
        .success();
    assert!(!built.stderr.contains("blob(s)"), "{}", built.stderr);
}

#[test]
fn errors_are_coloured_on_a_terminal_only() {
    let sandbox = Sandbox::new();
    let missing = format!("oci:{}", sandbox.path().join("missing").display());
    let args = ["pack", "ls", "-r", missing.as_str()];
    let shown = in_terminal(&sandbox, &args, 80, &[]);
    assert!(
        shown.contains("\x1b[1;31merror\x1b[0m: the store"),
        "{shown:?}"
    );
    let plain = in_terminal(&sandbox, &args, 80, &[("NO_COLOR", "1")]);
    assert!(plain.contains("error: the store"), "{plain:?}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    // Not a terminal: plain, whatever NO_COLOR says.
    let mut cmd = sandbox.command();
    cmd.env_remove("NO_COLOR").args(args);
    let piped = cmd.output().unwrap();
    assert!(!String::from_utf8_lossy(&piped.stderr).contains('\x1b'));
}

#[test]
fn keys_take_dash_f_and_a_private_key_is_named_as_such() {
    let sandbox = Sandbox::new();
    let prefix = sandbox.path().join("cosign").display().to_string();
    let generate = |extra: &[&str]| {
        let mut cmd = sandbox.command();
        cmd.args(["key", "generate", "--output-key-prefix", &prefix])
            .args(extra)
            .env("COSIGN_PASSWORD", "pw");
        cmd.output().unwrap()
    };
    assert!(generate(&[]).status.success());
    assert_eq!(
        generate(&[]).status.code(),
        Some(1),
        "an existing key stays"
    );
    assert!(generate(&["-f"]).status.success());
    let store = hello_store(&sandbox, false);
    sandbox
        .run([
            "pack",
            "verify",
            "hello-chart:0.1.0",
            "--key",
            &format!("{prefix}.key"),
            "-r",
            &store,
        ])
        .fails_with(&["it is a private key", "cosign.pub"]);
}

#[test]
fn validation_messages_say_what_a_reader_needs() {
    let sandbox = Sandbox::new();
    let pack = sandbox.copy(&sample("hello-chart"), "pack");
    let pack_arg = pack.display().to_string();
    let original = std::fs::read(pack.join("pack.json")).unwrap();
    // A byte-order mark is named as such, not as bad JSON.
    let mut with_bom = b"\xef\xbb\xbf".to_vec();
    with_bom.extend_from_slice(&original);
    std::fs::write(pack.join("pack.json"), &with_bom).unwrap();
    let run = sandbox.run(["pack", "validate", &pack_arg]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("error[json-bom]"), "{}", run.stdout);
    assert!(!run.stdout.contains("json-syntax"), "{}", run.stdout);
    // A push of an invalid pack prints its errors and does not send the user to validate
    // for them.
    let store = format!("oci:{}", sandbox.path().join("s").display());
    let pushed = sandbox
        .run(["pack", "push", &pack_arg, "-r", &store])
        .fails_with(&["error[json-bom]", "fix the errors above"]);
    assert!(
        !pushed.stderr.contains("to see every finding"),
        "{}",
        pushed.stderr
    );
    std::fs::write(pack.join("pack.json"), &original).unwrap();

    // A chart archive named unlike its chart, and a role folder pack.json does not list.
    std::fs::copy(
        pack.join("charts/hello-0.1.0.tgz"),
        pack.join("charts/latest.tgz"),
    )
    .unwrap();
    std::fs::remove_file(pack.join("charts/hello-0.1.0.tgz")).unwrap();
    common::edit_pack_json(&pack, |v| {
        v["charts"] = serde_json::json!(["charts/latest.tgz"])
    });
    std::fs::create_dir_all(pack.join("roles/web/tasks")).unwrap();
    std::fs::write(pack.join("roles/web/tasks/main.yml"), "- debug: msg=hi\n").unwrap();
    let run = sandbox.run(["pack", "validate", &pack_arg]).success();
    assert!(
        run.stdout.contains("warning[chart-file-name]") && run.stdout.contains("hello-0.1.0.tgz"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("`roles/web` looks like an Ansible role but `ansibleRoles` does not list it"),
        "{}",
        run.stdout
    );
    common::edit_pack_json(&pack, |v| {
        v["ansibleRoles"] = serde_json::json!(["roles/web"])
    });
    let run = sandbox.run(["pack", "validate", &pack_arg]).success();
    assert!(!run.stdout.contains("Ansible role but"), "{}", run.stdout);
}

#[test]
fn deletes_ask_on_a_terminal_and_say_what_goes() {
    let sandbox = Sandbox::new();
    let store = hello_store(&sandbox, true);
    // No version: the hint does not offer NAME as a way out.
    let run = sandbox
        .run(["pack", "delete", "hello-chart", "-r", &store])
        .usage_fails_with(&["names no version", "pack ls -n NAME"]);
    assert!(
        !run.stderr.contains("write NAME, NAME:VERSION"),
        "{}",
        run.stderr
    );
    // A dry run says what would go, and nothing goes.
    let dry = sandbox
        .run([
            "pack",
            "delete",
            "hello-chart:0.1.0",
            "--dry-run",
            "-r",
            &store,
            "--output",
            "json",
        ])
        .success();
    let plan: serde_json::Value = serde_json::from_str(&dry.stdout).unwrap();
    assert_eq!(plan["dryRun"], true);
    assert_eq!(plan["tags"], serde_json::json!(["0.1.0", "stable"]));
    sandbox
        .run(["pack", "inspect", "hello-chart:0.1.0", "-r", &store])
        .success();
    // A terminal is asked; "n" keeps the version.
    let shown = in_terminal_with_input(
        &sandbox,
        &["pack", "delete", "hello-chart:0.1.0", "-r", &store],
        "n\n",
    );
    assert!(
        shown.contains("Delete ") && shown.contains("[y/N]"),
        "{shown:?}"
    );
    assert!(shown.contains("not deleted"), "{shown:?}");
    sandbox
        .run(["pack", "inspect", "hello-chart:0.1.0", "-r", &store])
        .success();
    // The last tag of a version says the version goes with it; another tag keeps it.
    let kept = sandbox
        .run([
            "pack",
            "tag",
            "delete",
            "hello-chart:stable",
            "-y",
            "-r",
            &store,
        ])
        .success();
    assert!(kept.stderr.contains("deleted tag"), "{}", kept.stderr);
    assert!(!kept.stderr.contains("last tag"), "{}", kept.stderr);
    let last = sandbox
        .run([
            "pack",
            "tag",
            "delete",
            "hello-chart:0.1.0",
            "--dry-run",
            "-r",
            &store,
        ])
        .success();
    assert!(last.stderr.contains("is the last tag"), "{}", last.stderr);
    // Scripts are not asked.
    sandbox
        .run(["pack", "delete", "hello-chart:0.1.0", "-r", &store])
        .success();
    sandbox
        .run(["pack", "inspect", "hello-chart:0.1.0", "-r", &store])
        .fails_with(&["does not exist"]);
}

#[test]
fn signing_resolves_first_and_a_forced_push_over_a_signature_warns() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("s").display());
    let prefix = sandbox.path().join("cosign").display().to_string();
    let mut generate = sandbox.command();
    generate
        .args(["key", "generate", "--output-key-prefix", &prefix])
        .env("COSIGN_PASSWORD", "pw");
    assert!(generate.output().unwrap().status.success());
    let key = format!("{prefix}.key");
    // No password is available: a reference that names nothing fails on the reference.
    sandbox
        .run(["pack", "sign", "nothing:1.0.0", "--key", &key, "-r", &store])
        .fails_with(&["nothing"]);
    let pack = sandbox.copy(&sample("hello-chart"), "pack");
    let pack_arg = pack.display().to_string();
    sandbox
        .run(["pack", "push", &pack_arg, "-r", &store])
        .success();
    let mut sign = sandbox.command();
    sign.args(["pack", "sign", "hello-chart", "--key", &key, "-r", &store])
        .env("COSIGN_PASSWORD", "pw");
    let signed = sign.output().unwrap();
    let stderr = String::from_utf8_lossy(&signed.stderr);
    assert!(signed.status.success(), "{stderr}");
    assert!(
        stderr.contains("signing its highest") && stderr.contains(":0.1.0"),
        "{stderr}"
    );
    // Another pack under the same version, forced: the old signatures cover the old one.
    std::fs::write(pack.join("README.md"), "changed\n").unwrap();
    let forced = sandbox
        .run(["pack", "push", &pack_arg, "-r", &store, "-f"])
        .success();
    assert!(
        forced.stderr.contains("was signed") && forced.stderr.contains("sign "),
        "{}",
        forced.stderr
    );
}

#[test]
fn ls_has_a_row_per_version_with_its_tags() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("s").display());
    for pack in ["hello-chart", "hello-manifests"] {
        let dir = sample(pack).display().to_string();
        sandbox.run(["pack", "push", &dir, "-r", &store]).success();
    }
    sandbox
        .run([
            "pack",
            "tag",
            "add",
            "hello-chart:0.1.0",
            "stable",
            "-r",
            &store,
        ])
        .success();
    let run = sandbox.run(["pack", "ls", "-r", &store]).success();
    let header: Vec<&str> = run
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "NAME", "VERSION", "DIGEST", "SIZE", "CREATED", "SIGNED", "TAGS", "MESSAGE"
        ]
    );
    // `stable` is a tag of 0.1.0, not a version of its own.
    assert_eq!(
        common::ls_versions(&run.stdout),
        [
            ("hello-chart", "0.1.0"),
            ("hello-manifests", "1.2.0+build.7")
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()))
    );
    assert!(run.stdout.contains("0.1.0,stable"), "{}", run.stdout);
    assert_eq!(run.ls_signed("hello-chart", "0.1.0"), Some(false));
    // JSON carries the same, per version.
    let json = sandbox
        .run(["pack", "ls", "-r", &store, "--output", "json"])
        .success();
    let packs: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let versions = &packs[0]["versions"];
    assert_eq!(versions.as_array().unwrap().len(), 1, "{packs}");
    assert_eq!(versions[0]["tags"], serde_json::json!(["0.1.0", "stable"]));
    assert_eq!(versions[0]["signed"], false);
    assert!(versions[0]["size"].as_u64().unwrap() > 1000);
    assert!(
        versions[0]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // -n takes a pattern.
    let only = sandbox
        .run(["pack", "ls", "-r", &store, "-n", "hello-m*"])
        .success();
    assert_eq!(
        common::ls_versions(&only.stdout),
        [("hello-manifests".to_string(), "1.2.0+build.7".to_string())]
    );
}

#[test]
fn inspect_shows_metadata_tags_signatures_and_sizes_that_add_up() {
    let sandbox = Sandbox::new();
    let store = hello_store(&sandbox, true);
    let text = sandbox
        .run(["pack", "inspect", "hello-chart:0.1.0", "-r", &store])
        .success();
    let json = sandbox
        .run([
            "pack",
            "inspect",
            "hello-chart:0.1.0",
            "-r",
            &store,
            "--output",
            "json",
        ])
        .success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let (size, blobs, total) = (
        v["size"].as_u64().unwrap(),
        v["blobsSize"].as_u64().unwrap(),
        v["totalSize"].as_u64().unwrap(),
    );
    assert_eq!(size + blobs, total);
    assert!(
        text.stdout
            .contains(&format!("({total} B: manifest {size} B + blobs {blobs} B)")),
        "{}",
        text.stdout
    );
    assert_eq!(v["tags"], serde_json::json!(["0.1.0", "stable"]));
    for (label, value) in [
        ("addonType", "app services"),
        ("cloudTypes", "all"),
        ("eol", "2028-04-30"),
        ("constraints", "needs kubernetes (k8s) 1.27.0 or later"),
        ("tags", "0.1.0, stable"),
    ] {
        let line = text
            .stdout
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in {}", text.stdout));
        assert!(line.contains(value), "{line}");
    }
}

#[test]
fn version_man_page_and_completions() {
    let sandbox = Sandbox::new();
    let version = sandbox.run(["version"]).success();
    let first = version.stdout.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("packctl {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{first}"
    );
    assert!(
        version.stdout.contains("features: cli"),
        "{}",
        version.stdout
    );
    let flag = sandbox.run(["--version"]).success();
    assert_eq!(flag.stdout.lines().next(), Some(first));
    let json = sandbox.run(["version", "--output", "json"]).success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(v["commit"].as_str().is_some_and(|c| !c.is_empty()));
    // The man page is roff from the same definitions as --help.
    let man = sandbox.run(["man"]).success();
    assert!(
        man.stdout.contains(".TH packctl 1"),
        "{}",
        &man.stdout[..200]
    );
    assert!(
        man.stdout.contains("registry"),
        "the subcommands are listed"
    );
    // bash completes a value with a space as one word, escaped for the command line.
    let script = sandbox.path().join("packctl.bash");
    std::fs::write(
        &script,
        sandbox.run(["completion", "bash"]).success().stdout,
    )
    .unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}'; COMP_WORDS=(packctl pack init d --addon-type loa); COMP_CWORD=5; _packctl packctl loa --addon-type; printf '[%s]\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[load\\ balancer]\n");
}

/// Every row a terminal of `columns` columns showed for `raw`, replayed through a VT100
/// emulator (pyte, tests/support/screen.py).
fn screen_rows(sandbox: &Sandbox, raw: &str, columns: u16) -> Vec<String> {
    let file = sandbox.path().join(format!("screen-{columns}.raw"));
    std::fs::write(&file, raw).unwrap();
    let out = common::registry::check_output(
        "python3",
        &[
            common::root()
                .join("tests/support/screen.py")
                .display()
                .to_string(),
            columns.to_string(),
            file.display().to_string(),
        ],
        &[],
    );
    out.lines().map(str::to_string).collect()
}

#[test]
fn progress_bars_fit_the_terminal_with_an_overall_bar() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("s").display());
    let pack = sandbox.copy(&sample("hello-chart"), "pack");
    // Files big enough that their bars are drawn.
    for i in 0..3 {
        let data: Vec<u8> = (0..3_000_000u32)
            .map(|x| (x.wrapping_mul(2_654_435_761).wrapping_add(i) >> 13) as u8)
            .collect();
        std::fs::write(pack.join(format!("data-{i}.bin")), data).unwrap();
    }
    let pack_arg = pack.display().to_string();
    sandbox
        .run(["pack", "push", &pack_arg, "-r", &store])
        .success();
    for columns in [80u16, 200] {
        let file = sandbox.path().join(format!("export-{columns}.tar"));
        let shown = in_terminal(
            &sandbox,
            &[
                "pack",
                "export",
                "hello-chart:0.1.0",
                "-r",
                &store,
                "-o",
                &file.display().to_string(),
            ],
            columns,
            &[("NO_COLOR", "1")],
        );
        let rows = screen_rows(&sandbox, &shown, columns);
        // Each bar is one row: a blob's starts with its digest and ends with its rate, and
        // no row is the wrapped tail of a longer one.
        for row in rows.iter().filter(|r| r.contains("B/s")) {
            assert!(
                row.starts_with("sha256:"),
                "a wrapped bar at {columns} columns: {row:?} in {rows:#?}"
            );
        }
        assert!(
            rows.iter()
                .any(|r| r.starts_with("export") && r.contains("items") && r.contains("ETA")),
            "no overall bar at {columns} columns: {rows:#?}"
        );
        assert!(file.is_file());
    }
}

#[test]
fn copy_labels_the_config_blob_as_push_does() {
    let sandbox = Sandbox::new();
    let from = format!("oci:{}", sandbox.path().join("a").display());
    let to = format!("oci:{}", sandbox.path().join("b").display());
    let dir = sample("hello-chart").display().to_string();
    let pushed = sandbox
        .run([
            "-v", "pack", "push", &dir, "-r", &from, "--format", "archive",
        ])
        .success();
    assert!(pushed.stderr.contains("  config ("), "{}", pushed.stderr);
    let copied = sandbox
        .run([
            "-v",
            "pack",
            "copy",
            "hello-chart:0.1.0",
            "--from",
            &from,
            "--to",
            &to,
        ])
        .success();
    assert!(copied.stderr.contains("  config ("), "{}", copied.stderr);
    assert!(!copied.stderr.contains("  sha256:"), "{}", copied.stderr);
}

#[test]
fn dynamic_completion_offers_the_default_stores_packs() {
    let sandbox = Sandbox::new();
    let store = hello_store(&sandbox, false);
    let complete = |words: &[&str]| {
        let mut cmd = sandbox.command();
        cmd.env("PACKCTL_COMPLETE", "fish")
            .env("PACKCTL_REGISTRY", &store)
            .arg("--")
            .args(words);
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    let offered = complete(&["packctl", "pack", "inspect", "hel"]);
    let names: Vec<&str> = offered
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(names, ["hello-chart", "hello-chart:0.1.0"], "{offered}");
    // Without a default store there is nothing to offer, and nothing fails.
    let mut cmd = sandbox.command();
    cmd.env("PACKCTL_COMPLETE", "fish")
        .args(["--", "packctl", "pack", "inspect", "hel"]);
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).trim().is_empty());
    // The registration a shell sources.
    let mut cmd = sandbox.command();
    cmd.env("PACKCTL_COMPLETE", "bash");
    let script = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
    assert!(
        script.contains("complete ") && script.contains("PACKCTL_COMPLETE"),
        "{script}"
    );
}

#[test]
fn logout_says_the_default_stays_and_login_says_whether_it_is_the_default() {
    let sandbox = Sandbox::new();
    let registry = common::registry::Registry::plain();
    let host = registry.host.as_str();
    let login = || {
        let run = sandbox
            .run([
                "registry", "login", host, "-u", "someone", "-p", "secret", "--output", "json",
            ])
            .success();
        serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap()
    };
    assert_eq!(login()["default"], false);
    sandbox.run(["config", "set", "registry", host]).success();
    // Saved as the default by `config`, not by -d: still the default.
    assert_eq!(login()["default"], true);
    let out = sandbox
        .run(["registry", "logout", host, "--output", "json"])
        .success();
    assert!(
        out.stderr.contains("stays the default registry"),
        "{}",
        out.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["removed"], true);
    assert_eq!(v["default"], true);
}

#[test]
fn a_forced_push_over_a_version_with_only_an_sbom_does_not_speak_of_signatures() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("s").display());
    let pack = sandbox.copy(&sample("hello-chart"), "pack");
    let pack_arg = pack.display().to_string();
    sandbox
        .run(["pack", "push", &pack_arg, "-r", &store])
        .success();
    let sbom = sandbox.path().join("sbom.spdx.json");
    std::fs::write(&sbom, "{}\n").unwrap();
    sandbox
        .run([
            "pack",
            "attach",
            "hello-chart:0.1.0",
            "--artifact-type",
            "application/spdx+json",
            &sbom.display().to_string(),
            "-r",
            &store,
        ])
        .success();
    std::fs::write(pack.join("README.md"), "changed\n").unwrap();
    let forced = sandbox
        .run(["pack", "push", &pack_arg, "-r", &store, "-f"])
        .success();
    assert!(forced.stderr.contains("overwrote"), "{}", forced.stderr);
    assert!(!forced.stderr.contains("was signed"), "{}", forced.stderr);
}
