//! The spectro CLI's spellings, push messages, and the saved defaults of `packctl config`,
//! against a real docker-registry.

mod common;

use common::registry::{PASSWORD, Registry, USER};
use common::{Sandbox, edit_pack_json, sample};
use serde_json::{Value, json};

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn inspect(sandbox: &Sandbox, reference: &str, server: &str) -> Value {
    let run = sandbox
        .run([
            "pack", "inspect", reference, "-r", server, "--output", "json",
        ])
        .success();
    json_of(&run.stdout)
}

/// Palette's pack pipeline, with only the program name changed:
/// `spectro pack push -m "<message>" --registry-server S --force DIR`, for a pack without
/// `commit_msg` (the message is the pipeline's) and one with it (the pipeline greps it out
/// of pack.json, quotes and comma included).
#[test]
fn palettes_pipeline_line_runs_with_only_the_program_name_changed() {
    let registry = Registry::plain();
    let r = registry.host.as_str();
    let sandbox = Sandbox::new();
    let plain = sandbox.copy(&sample("hello-chart"), "hello-chart");
    let with_msg = sandbox.copy(&sample("hello-manifests"), "hello-manifests");
    edit_pack_json(&with_msg, |m| {
        m.insert("commit_msg".into(), json!("Add hello-manifests 0.2.0"));
    });
    let line = |message: &str, dir: &std::path::Path| {
        sandbox.run([
            "pack",
            "push",
            "-m",
            message,
            "--registry-server",
            r,
            "--force",
            dir.to_str().unwrap(),
        ])
    };
    let pushed = line("nightly catalog run", &plain).success();
    assert!(
        pushed.stdout.contains("/hello-chart:0.1.0@sha256:"),
        "{}",
        pushed.stdout
    );
    let grepped = " \"Add hello-manifests 0.2.0\",";
    line(grepped, &with_msg).success();

    let found = inspect(&sandbox, "hello-chart:0.1.0", r);
    assert_eq!(found["message"], "nightly catalog run");
    assert_eq!(
        found["manifest"]["annotations"]["io.packctl.pack.message"],
        "nightly catalog run"
    );
    let found = inspect(&sandbox, "hello-manifests", r);
    assert_eq!(found["message"], grepped.trim());

    // The text forms show it too.
    let text = sandbox
        .run(["pack", "inspect", "hello-chart:0.1.0", "-r", r])
        .success();
    assert!(
        text.stdout.contains("message      nightly catalog run"),
        "{}",
        text.stdout
    );
    let ls = sandbox.run(["pack", "ls", "-r", r]).success();
    assert!(ls.stdout.contains("MESSAGE"), "{}", ls.stdout);
    assert!(
        ls.stdout.lines().any(|l| l.starts_with("hello-chart")
            && l.contains("0.1.0")
            && l.ends_with("nightly catalog run")),
        "{}",
        ls.stdout
    );
    let ls = sandbox
        .run(["pack", "ls", "-r", r, "--output", "json"])
        .success();
    let ls = json_of(&ls.stdout);
    let chart = ls
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "hello-chart")
        .unwrap();
    assert_eq!(chart["tags"][0]["message"], "nightly catalog run");
    assert_eq!(chart["tags"][0]["digest"], found_digest(&sandbox, r));

    // The next run brings another message but the same pack: nothing is sent, and the
    // version keeps its first message, as spectro's digest check does.
    let again = line("another nightly run", &plain).success();
    assert!(again.stderr.contains("unchanged"), "{}", again.stderr);
    assert_eq!(
        inspect(&sandbox, "hello-chart:0.1.0", r)["message"],
        "nightly catalog run"
    );
    // --skip-digest-check sends it all again, with the new message.
    let resent = sandbox
        .run([
            "pack",
            "push",
            "-m",
            "another nightly run",
            "--registry-server",
            r,
            "--force",
            "--skip-digest-check",
            plain.to_str().unwrap(),
            "--output",
            "json",
        ])
        .success();
    let resent = json_of(&resent.stdout);
    assert_eq!(resent["status"], "overwritten", "{resent}");
    assert_eq!(resent["blobs"]["present"], 0, "{resent}");
    assert!(
        resent["blobs"]["transferred"].as_u64().unwrap() >= 6,
        "{resent}"
    );
    assert_eq!(
        inspect(&sandbox, "hello-chart:0.1.0", r)["message"],
        "another nightly run"
    );
}

fn found_digest(sandbox: &Sandbox, r: &str) -> Value {
    inspect(sandbox, "hello-chart:0.1.0", r)["digest"].clone()
}

/// Without -m, pack.json's `commit_msg` is the message; a push with neither records none.
#[test]
fn commit_msg_is_the_default_message() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    let pack = sandbox.copy(&sample("hello-manifests"), "hello-manifests");
    edit_pack_json(&pack, |m| {
        m.insert("commit_msg".into(), json!("Add version 0.2.0"));
    });
    sandbox
        .run(["pack", "push", pack.to_str().unwrap(), "-r", &store])
        .success();
    assert_eq!(
        inspect(&sandbox, "hello-manifests", &store)["message"],
        "Add version 0.2.0"
    );
    sandbox
        .run(["pack", "push", "testdata/packs/hello-chart", "-r", &store])
        .success();
    assert_eq!(
        inspect(&sandbox, "hello-chart", &store)["message"],
        Value::Null
    );
}

/// --skip-digest-check on an `oci:` store writes every blob again, even for the very pack
/// the tag names; without it the push sends nothing.
#[test]
fn skip_digest_check_resends_everything_to_a_folder_store() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    let push = |extra: &[&str]| {
        let mut args = vec![
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            &store,
            "--output",
            "json",
        ];
        args.extend_from_slice(extra);
        json_of(&sandbox.run(args).success().stdout)
    };
    let first = push(&[]);
    let again = push(&[]);
    assert_eq!(again["status"], "unchanged");
    assert_eq!(again["blobs"]["transferred"], 0);
    let resent = push(&["--skip-digest-check"]);
    assert_eq!(resent["status"], "unchanged", "{resent}");
    assert_eq!(resent["digest"], first["digest"]);
    assert_eq!(
        resent["blobs"]["transferred"],
        first["blobs"]["transferred"]
    );
    assert_eq!(resent["blobs"]["present"], 0, "{resent}");
}

/// Under the spectro-compatibility switch, -f needs -m as spectro requires; without it,
/// scripts that never passed -m keep working.
#[test]
fn spectro_compat_requires_a_message_with_force() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    let args = [
        "pack",
        "push",
        "testdata/packs/hello-chart",
        "-r",
        &store,
        "-f",
    ];
    let mut cmd = sandbox.command();
    cmd.args(args).env("PACKCTL_SPECTRO_COMPAT", "1");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("-m/--message is required with -f"),
        "{stderr}"
    );
    assert!(!sandbox.path().join("store").exists());

    // Saved with `config`, the switch holds too; -m satisfies it.
    sandbox
        .run(["config", "set", "spectro-compat", "true"])
        .success();
    assert_eq!(sandbox.run(args).code, 2);
    let mut with_message = args.to_vec();
    with_message.extend(["-m", "first"]);
    sandbox.run(with_message).success();
    // The environment wins over the setting.
    let mut cmd = sandbox.command();
    cmd.args(args).env("PACKCTL_SPECTRO_COMPAT", "0");
    assert_eq!(cmd.output().unwrap().status.code(), Some(0));
}

/// spectro's other spellings: `pack ls SERVER`, `pack tag add REF LABEL -g GROUP`,
/// `pack pull NAME` into ./NAME, `registry login -u -p`, `version`.
#[test]
fn spectro_spellings_map_onto_packctl() {
    let registry = Registry::secure();
    let r = registry.host.as_str();
    let sandbox = Sandbox::new();
    let ca = registry.ca_arg();
    let login = sandbox
        .run([
            "registry",
            "login",
            r,
            "-u",
            USER,
            "-p",
            PASSWORD,
            "--ca-file",
            &ca,
            "-d",
        ])
        .success();
    assert!(
        login
            .stderr
            .contains("warning: a password on the command line"),
        "{}",
        login.stderr
    );
    assert!(!login.stdout.contains(PASSWORD) && !login.stderr.contains(PASSWORD));
    let wrong = sandbox.run([
        "registry",
        "login",
        r,
        "--username",
        USER,
        "--password",
        "wrong",
        "--ca-file",
        &ca,
    ]);
    assert_eq!(wrong.code, 1, "{}", wrong.transcript());

    sandbox
        .run(["pack", "push", "testdata/packs/hello-chart"])
        .success();
    let ls = sandbox
        .run(["pack", "ls", r, "-n", "hello-chart"])
        .success();
    assert!(ls.stdout.contains("hello-chart  0.1.0"), "{}", ls.stdout);

    sandbox
        .run([
            "pack",
            "tag",
            "add",
            "hello-chart:0.1.0",
            "stable",
            "-g",
            "lts",
        ])
        .success();
    let ls = sandbox.run(["pack", "ls", "--output", "json"]).success();
    let tags: Vec<String> = json_of(&ls.stdout)[0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap().to_string())
        .collect();
    assert!(tags.contains(&"lts__stable".to_string()), "{tags:?}");

    // `pack pull NAME` writes ./NAME, and refuses to write it twice.
    let mut cmd = sandbox.command();
    cmd.current_dir(sandbox.path())
        .args(["pack", "pull", "hello-chart:0.1.0"]);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(sandbox.path().join("hello-chart/pack.json").is_file());
    let before = common::tree(&sandbox.path().join("hello-chart"));
    let mut cmd = sandbox.command();
    cmd.current_dir(sandbox.path())
        .args(["pack", "pull", "hello-chart:0.1.0"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(common::tree(&sandbox.path().join("hello-chart")), before);

    let version = sandbox.run(["version"]).success();
    assert!(version.stdout.starts_with("packctl "), "{}", version.stdout);
}

/// `config` saves the encoding for one registry: push and copy to it use `archive`, a flag
/// or PACKCTL_FORMAT wins, and other registries keep `structured`.
#[test]
fn a_saved_encoding_reaches_push_and_copy() {
    let palette = Registry::plain();
    let other = Registry::plain();
    let (p, o) = (palette.host.as_str(), other.host.as_str());
    let sandbox = Sandbox::new();
    sandbox
        .run(["config", "set", "format", "archive", "-r", p])
        .success();
    let got = sandbox.run(["config", "get", "format", "-r", p]).success();
    assert_eq!(got.stdout.trim(), "archive");
    assert_eq!(sandbox.run(["config", "get", "format"]).code, 1);

    let push = |server: &str, extra: &[&str]| {
        let mut args = vec![
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            server,
            "-f",
        ];
        args.extend_from_slice(extra);
        sandbox.run(args).success();
        inspect(&sandbox, "hello-chart:0.1.0", server)["encoding"].clone()
    };
    assert_eq!(push(p, &[]), "archive");
    assert_eq!(push(o, &[]), "structured");
    assert_eq!(push(p, &["--format", "structured"]), "structured");
    let mut cmd = sandbox.command();
    cmd.args(["pack", "push", "testdata/packs/hello-manifests", "-r", p])
        .env("PACKCTL_FORMAT", "structured");
    assert!(cmd.output().unwrap().status.success());
    assert_eq!(
        inspect(&sandbox, "hello-manifests", p)["encoding"],
        "structured"
    );

    // A copy to the Palette registry re-encodes the structured pack; run again, it is
    // unchanged.
    let copy = || {
        let run = sandbox
            .run([
                "pack",
                "copy",
                "hello-chart",
                "--from",
                o,
                "--to",
                p,
                "-f",
                "--output",
                "json",
            ])
            .success();
        json_of(&run.stdout)
    };
    let copied = copy();
    assert_eq!(copied[0]["reencoded"], true, "{copied}");
    assert_eq!(
        inspect(&sandbox, "hello-chart:0.1.0", p)["encoding"],
        "archive"
    );
    let again = copy();
    assert_eq!(again[0]["status"], "unchanged", "{again}");
    // The archive copy is the pack itself: pulled, it is the folder that was pushed.
    let target = sandbox.path().join("pulled");
    sandbox
        .run([
            "pack",
            "pull",
            "hello-chart:0.1.0",
            target.to_str().unwrap(),
            "-r",
            p,
        ])
        .success();
    assert_eq!(common::tree(&target), common::tree(&sample("hello-chart")));
    // A copy elsewhere keeps the pack as it is.
    let to = format!("oci:{}", sandbox.path().join("mirror").display());
    let run = sandbox
        .run([
            "pack",
            "copy",
            "hello-chart",
            "--from",
            o,
            "--to",
            &to,
            "--output",
            "json",
        ])
        .success();
    assert!(json_of(&run.stdout)[0].get("reencoded").is_none());

    // A default folder store is saved absolute, so it holds from any folder.
    let mut cmd = sandbox.command();
    cmd.current_dir(sandbox.path())
        .args(["config", "set", "registry", "oci:./packs"]);
    assert!(cmd.output().unwrap().status.success());
    let saved = sandbox.run(["config", "get", "registry"]).success();
    assert_eq!(
        saved.stdout.trim(),
        format!("oci:{}", sandbox.path().join("packs").display())
    );
    sandbox
        .run(["pack", "push", "testdata/packs/hello-chart"])
        .success();
    assert!(sandbox.path().join("packs").is_dir());

    // list shows it, unset removes it, and an unknown setting is refused with the list.
    let list = sandbox.run(["config", "list"]).success();
    assert!(
        list.stdout.contains(&format!("format = archive  (-r {p})")),
        "{}",
        list.stdout
    );
    sandbox
        .run(["config", "unset", "format", "-r", p])
        .success();
    assert_eq!(sandbox.run(["config", "get", "format", "-r", p]).code, 1);
    sandbox
        .run(["config", "set", "colour", "blue"])
        .fails_with(&[
            "`colour` is not a setting",
            "hint: settings: registry, format",
        ]);
    sandbox
        .run(["config", "set", "ca-file", "/etc/hostname"])
        .fails_with(&["saved per registry"]);
    sandbox
        .run(["config", "set", "format", "zip", "-r", p])
        .fails_with(&["structured or archive"]);
}

/// `--registry-config FILE`: login writes there, every command reads credentials from there,
/// and the usual Docker config stays untouched.
#[test]
fn registry_config_selects_another_docker_config_file() {
    let registry = Registry::secure();
    let r = registry.host.as_str();
    let ca = registry.ca_arg();
    let sandbox = Sandbox::new();
    let file = sandbox.path().join("ci/auth.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let file_arg = file.to_str().unwrap();
    let mut cmd = sandbox.command();
    cmd.args([
        "registry",
        "login",
        r,
        "-u",
        USER,
        "--password-stdin",
        "--ca-file",
        &ca,
        "--registry-config",
        file_arg,
    ]);
    let login = common::run_with_stdin(cmd, PASSWORD);
    assert_eq!(login.code, 0, "{}", login.transcript());
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(saved["auths"].get(r).is_some(), "{saved}");
    assert!(!sandbox.path().join("home/.docker/config.json").exists());

    let push = [
        "pack",
        "push",
        "testdata/packs/hello-chart",
        "-r",
        r,
        "--ca-file",
        &ca,
    ];
    sandbox.run(push).fails_with(&["401"]);
    let mut with_file = push.to_vec();
    with_file.extend(["--registry-config", file_arg]);
    sandbox.run(with_file).success();
}
