//! packctl against real `docker-registry` processes, checked with independent clients: the
//! `oras` Python SDK and `skopeo`.

mod common;

use common::registry::{PASSWORD, Registry, USER, check_output};
use common::{Sandbox, require_tool, root, sample, tree};
use std::fs;

const SAMPLES: [&str; 3] = ["golden-centos-aws", "hello-chart", "hello-manifests"];

fn digest_of(stdout: &str) -> String {
    stdout.trim().rsplit('@').next().unwrap().to_string()
}

/// `skopeo inspect --raw` of a registry reference, through the given flags.
fn skopeo_raw(reference: &str, flags: &[String]) -> String {
    let mut args = vec!["inspect".to_string(), "--raw".to_string()];
    args.extend_from_slice(flags);
    args.push(format!("docker://{reference}"));
    check_output("skopeo", &args, &[])
}

fn skopeo_tags(repository: &str, flags: &[String]) -> Vec<String> {
    let mut args = vec!["list-tags".to_string()];
    args.extend_from_slice(flags);
    args.push(format!("docker://{repository}"));
    let out = check_output("skopeo", &args, &[]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut tags: Vec<String> = json["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    tags.sort();
    tags
}

/// `registry login` with the password on stdin and any extra flags.
fn login(sandbox: &Sandbox, host: &str, password: &str, extra: &[&str]) -> common::Run {
    let mut cmd = sandbox.command();
    cmd.args(["registry", "login", host, "-u", USER, "--password-stdin"])
        .args(extra);
    common::run_with_stdin(cmd, password)
}

fn plain_flags() -> Vec<String> {
    vec!["--tls-verify=false".into()]
}

/// Pulls with the oras Python SDK and checks that the folder is the sample's.
fn oras_pull_matches(sandbox: &Sandbox, reference: &str, name: &str, extra: &[&str]) {
    let out = sandbox.path().join(format!("oras-{name}-{}", extra.len()));
    let mut args = vec![
        root()
            .join("tests/support/oras_pull.py")
            .display()
            .to_string(),
        reference.to_string(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    check_output("python3", &args, &[("HOME", &sandbox.path().join("home"))]);
    assert_eq!(
        tree(&out),
        tree(&sample(name)),
        "oras pulled another folder for {name}"
    );
}

#[test]
fn push_pull_and_inspect_on_a_plain_registry() {
    require_tool("skopeo");
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let r = registry.host.as_str();
    for name in SAMPLES {
        let run = sandbox
            .run(["pack", "push", &format!("testdata/packs/{name}"), "-r", r])
            .success();
        let digest = digest_of(&run.stdout);
        let tag = match name {
            "golden-centos-aws" => "7.7.1908",
            "hello-chart" => "0.1.0",
            _ => "1.2.0_build.7",
        };
        let reference = format!("{r}/spectro-packs/archive/{name}:{tag}");
        assert_eq!(run.stdout.trim(), format!("{reference}@{digest}"));

        // Independent clients see exactly what was pushed.
        let raw = skopeo_raw(&reference, &plain_flags());
        assert_eq!(packctl::oci::Digest::of(raw.as_bytes()).as_str(), digest);
        assert_eq!(
            skopeo_tags(&format!("{r}/spectro-packs/archive/{name}"), &plain_flags()),
            [tag]
        );
        oras_pull_matches(&sandbox, &reference, name, &["--plain-http"]);

        // packctl pulls it back byte for byte.
        let target = sandbox.path().join(format!("pulled-{name}"));
        sandbox
            .run(["pack", "pull", name, target.to_str().unwrap(), "-r", r])
            .success();
        assert_eq!(tree(&target), tree(&sample(name)));
    }

    let run = sandbox.run(["pack", "ls", "-r", r]).success();
    assert_eq!(
        common::ls_versions(&run.stdout),
        [
            ("golden-centos-aws", "7.7.1908"),
            ("hello-chart", "0.1.0"),
            ("hello-manifests", "1.2.0+build.7"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()))
    );
    let run = sandbox
        .run([
            "pack",
            "inspect",
            "hello-chart:0.1.0",
            "-r",
            r,
            "--output",
            "json",
        ])
        .success();
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["pack"]["displayName"], "Hello");
    assert_eq!(json["manifest"]["layers"].as_array().unwrap().len(), 6);
    // A full reference names its registry itself.
    let run = sandbox
        .run([
            "pack",
            "inspect",
            &format!("{r}/spectro-packs/archive/hello-chart:0.1.0"),
        ])
        .success();
    assert!(
        run.stdout.contains("encoding     structured"),
        "{}",
        run.stdout
    );
}

#[test]
fn push_rules_on_a_registry() {
    require_tool("skopeo");
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let r = registry.host.as_str();
    let dir = sandbox.copy(&sample("hello-chart"), "hello-chart");
    let reference = format!("{r}/spectro-packs/archive/hello-chart:0.1.0");
    let first = sandbox
        .run(["pack", "push", dir.to_str().unwrap(), "-r", r])
        .success();
    let old = digest_of(&first.stdout);

    let again = sandbox
        .run([
            "pack",
            "push",
            dir.to_str().unwrap(),
            "-r",
            r,
            "--output",
            "json",
        ])
        .success();
    let json: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(json["status"], "unchanged");
    assert_eq!(
        json["blobs"]["transferred"], 0,
        "an unchanged push uploaded blobs"
    );

    fs::write(dir.join("values.yaml"), "pack:\n  namespace: other\n").unwrap();
    let refused = sandbox.run(["pack", "push", dir.to_str().unwrap(), "-r", r]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("pass -f to overwrite"),
        "{}",
        refused.stderr
    );
    let raw = skopeo_raw(&reference, &plain_flags());
    assert_eq!(
        packctl::oci::Digest::of(raw.as_bytes()).as_str(),
        old,
        "the refused push moved the tag"
    );

    let forced = sandbox
        .run(["pack", "push", dir.to_str().unwrap(), "-r", r, "-f"])
        .success();
    let new = digest_of(&forced.stdout);
    assert_ne!(new, old);
    assert!(
        forced.stderr.contains(&format!("(was {old})")),
        "{}",
        forced.stderr
    );
    // Only the changed blob travels.
    assert!(forced.stderr.contains("1 blob, "), "{}", forced.stderr);
    let raw = skopeo_raw(&reference, &plain_flags());
    assert_eq!(packctl::oci::Digest::of(raw.as_bytes()).as_str(), new);
}

#[test]
fn tags_and_deletion() {
    require_tool("skopeo");
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let r = registry.host.as_str();
    let repo = format!("{r}/spectro-packs/archive/hello-manifests");
    let run = sandbox
        .run(["pack", "push", "testdata/packs/hello-manifests", "-r", r])
        .success();
    let digest = digest_of(&run.stdout);

    let run = sandbox
        .run([
            "pack",
            "tag",
            "add",
            "hello-manifests:1.2.0+build.7",
            "stable",
            "-r",
            r,
        ])
        .success();
    assert_eq!(run.stdout.trim(), format!("{repo}:stable@{digest}"));
    sandbox
        .run([
            "pack",
            "tag",
            "add",
            "hello-manifests:1.2.0_build.7",
            "candidate",
            "-r",
            r,
        ])
        .success();
    assert_eq!(
        skopeo_tags(&repo, &plain_flags()),
        ["1.2.0_build.7", "candidate", "stable"]
    );

    // Deleting one tag leaves the others (the registry cannot delete by tag by itself).
    sandbox
        .run(["pack", "tag", "delete", "hello-manifests:stable", "-r", r])
        .success();
    assert_eq!(
        skopeo_tags(&repo, &plain_flags()),
        ["1.2.0_build.7", "candidate"]
    );
    let raw = skopeo_raw(&format!("{repo}:candidate"), &plain_flags());
    assert_eq!(packctl::oci::Digest::of(raw.as_bytes()).as_str(), digest);

    let missing = sandbox.run(["pack", "tag", "delete", "hello-manifests:nope", "-r", r]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("does not exist"),
        "{}",
        missing.stderr
    );

    let run = sandbox
        .run(["pack", "delete", "hello-manifests:1.2.0+build.7", "-r", r])
        .success();
    assert!(
        run.stderr.contains("tags 1.2.0_build.7, candidate"),
        "{}",
        run.stderr
    );
    assert!(skopeo_tags(&repo, &plain_flags()).is_empty());
    let gone = sandbox.run([
        "pack",
        "pull",
        "hello-manifests:1.2.0+build.7",
        "x",
        "-r",
        r,
    ]);
    assert_eq!(gone.code, 1);
    assert!(gone.stderr.contains("does not exist"), "{}", gone.stderr);
}

#[test]
fn login_push_pull_logout_on_a_tls_registry_with_basic_auth() {
    require_tool("skopeo");
    let registry = Registry::secure();
    let sandbox = Sandbox::new();
    let r = registry.host.as_str();
    let ca = registry.ca_arg();

    // Anonymous: refused, with a hint to log in.
    let run = sandbox.run([
        "pack",
        "push",
        "testdata/packs/hello-chart",
        "-r",
        r,
        "--ca-file",
        &ca,
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains(&format!("hint: log in first: packctl registry login {r}")),
        "{}",
        run.stderr
    );
    // An unknown CA: refused, with a TLS hint.
    let run = sandbox.run(["pack", "push", "testdata/packs/hello-chart", "-r", r]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--ca-file"), "{}", run.stderr);

    // A wrong password is refused and nothing is stored.
    let wrong = login(&sandbox, r, "not-the-password\n", &["--ca-file", &ca]);
    assert_eq!(wrong.code, 1, "{}", wrong.transcript());
    assert!(!sandbox.path().join("home/.docker/config.json").exists());

    let ok = login(&sandbox, r, &format!("{PASSWORD}\n"), &["--ca-file", &ca]);
    assert_eq!(ok.code, 0, "{}", ok.transcript());
    assert!(!ok.stderr.contains(PASSWORD) && !ok.stdout.contains(PASSWORD));
    let config_path = sandbox.path().join("home/.docker/config.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&config_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let config: serde_json::Value =
        serde_json::from_slice(&fs::read(&config_path).unwrap()).unwrap();
    assert!(config["auths"][r]["auth"].is_string());

    let run = sandbox
        .run([
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            r,
            "--ca-file",
            &ca,
        ])
        .success();
    let reference = format!("{r}/spectro-packs/archive/hello-chart:0.1.0");
    assert!(run.stdout.starts_with(&reference));

    // oras reads the credentials packctl stored; skopeo reads them from the same file.
    oras_pull_matches(&sandbox, &reference, "hello-chart", &["--ca-file", &ca]);
    let cert_dir = sandbox.path().join("skopeo-certs");
    fs::create_dir_all(&cert_dir).unwrap();
    fs::copy(&ca, cert_dir.join("ca.crt")).unwrap();
    let flags = vec![
        format!("--cert-dir={}", cert_dir.display()),
        format!("--authfile={}", config_path.display()),
    ];
    let raw = skopeo_raw(&reference, &flags);
    assert_eq!(
        packctl::oci::Digest::of(raw.as_bytes()).as_str(),
        digest_of(&run.stdout)
    );

    // certs.d/HOST/ca.crt works as it does for Docker.
    let certs_d = sandbox.path().join("home/.docker/certs.d").join(r);
    fs::create_dir_all(&certs_d).unwrap();
    fs::copy(&ca, certs_d.join("ca.crt")).unwrap();
    let target = sandbox.path().join("pulled");
    sandbox
        .run([
            "pack",
            "pull",
            "hello-chart",
            target.to_str().unwrap(),
            "-r",
            r,
        ])
        .success();
    assert_eq!(tree(&target), tree(&sample("hello-chart")));

    let run = sandbox.run(["registry", "logout", r]).success();
    assert!(
        run.stderr.contains("Removed the credentials"),
        "{}",
        run.stderr
    );
    let config: serde_json::Value =
        serde_json::from_slice(&fs::read(&config_path).unwrap()).unwrap();
    assert!(config["auths"].get(r).is_none());
    let run = sandbox.run(["pack", "ls", "-r", r]);
    assert_eq!(run.code, 1, "{}", run.transcript());
}

#[test]
fn a_default_registry_saved_at_login() {
    let registry = Registry::secure();
    let sandbox = Sandbox::new();
    let r = registry.host.as_str();
    let ok = login(
        &sandbox,
        r,
        PASSWORD,
        &["-d", "--ca-file", &registry.ca_arg()],
    );
    assert_eq!(ok.code, 0, "{}", ok.transcript());
    let run = sandbox
        .run(["pack", "push", "testdata/packs/hello-manifests"])
        .success();
    assert!(
        run.stdout
            .starts_with(&format!("{r}/spectro-packs/archive/hello-manifests:")),
        "{}",
        run.stdout
    );
    let run = sandbox.run(["pack", "ls"]).success();
    assert!(run.stdout.contains("hello-manifests"), "{}", run.stdout);
}

#[test]
fn copy_between_registries_and_oci_stores() {
    let plain = Registry::plain();
    let secure = Registry::secure();
    let sandbox = Sandbox::new();
    let (a, b) = (plain.host.as_str(), secure.host.as_str());
    assert_eq!(
        login(&sandbox, b, PASSWORD, &["--ca-file", &secure.ca_arg()]).code,
        0
    );

    for name in SAMPLES {
        sandbox
            .run(["pack", "push", &format!("testdata/packs/{name}"), "-r", a])
            .success();
    }
    let dir = sandbox.copy(&sample("hello-chart"), "v2");
    let text = fs::read_to_string(dir.join("pack.json"))
        .unwrap()
        .replace("\"0.1.0\"", "\"0.2.0\"");
    fs::write(dir.join("pack.json"), text).unwrap();
    sandbox
        .run(["pack", "push", dir.to_str().unwrap(), "-r", a])
        .success();

    // Registry -> oci: folder (air gap), every version of one pack.
    let store = format!("oci:{}", sandbox.path().join("airgap").display());
    let run = sandbox
        .run(["pack", "copy", "hello-chart", "--from", a, "--to", &store])
        .success();
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
    let layout_digests: Vec<String> = run.stdout.lines().map(digest_of).collect();

    // oci: folder -> another registry, base path included; digests are kept.
    let target = format!("{b}/mirror");
    let ca = secure.ca_arg();
    let run = sandbox
        .run([
            "pack",
            "copy",
            "hello-chart",
            "--from",
            &store,
            "--to",
            &target,
            "--ca-file",
            &ca,
        ])
        .success();
    let copied: Vec<String> = run.stdout.lines().map(digest_of).collect();
    assert_eq!(copied, layout_digests);
    let pulled = sandbox.path().join("from-mirror");
    sandbox
        .run([
            "pack",
            "pull",
            "hello-chart:0.1.0",
            pulled.to_str().unwrap(),
            "-r",
            &target,
            "--ca-file",
            &ca,
        ])
        .success();
    assert_eq!(tree(&pulled), tree(&sample("hello-chart")));

    // Copying again moves nothing.
    let again = sandbox
        .run([
            "pack",
            "copy",
            "hello-chart",
            "--from",
            &store,
            "--to",
            &target,
            "--ca-file",
            &ca,
            "--output",
            "json",
        ])
        .success();
    let json: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "unchanged" && c["blobs"]["transferred"] == 0)
    );

    // Registry -> registry, everything.
    let run = sandbox
        .run([
            "pack",
            "copy",
            "--all",
            "--from",
            a,
            "--to",
            &format!("{b}/all"),
            "--ca-file",
            &ca,
        ])
        .success();
    assert_eq!(run.stdout.lines().count(), 4, "{}", run.stdout);
    let run = sandbox
        .run(["pack", "ls", "-r", &format!("{b}/all"), "--ca-file", &ca])
        .success();
    assert_eq!(run.stdout.lines().count(), 5, "{}", run.stdout);

    // One version, registry -> registry on the same host: blobs are mounted, not sent.
    let run = sandbox
        .run([
            "pack",
            "copy",
            "hello-chart:0.2.0",
            "--from",
            &format!("{b}/all"),
            "--to",
            &format!("{b}/mounted"),
            "--ca-file",
            &ca,
            "--output",
            "json",
        ])
        .success();
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["status"], "pushed");
    // Every blob (config and layers) mounted: none sent, none there before.
    let blobs = &json[0]["blobs"];
    assert!(blobs["mounted"].as_u64().unwrap() >= 2, "{blobs}");
    assert_eq!(blobs["transferred"], 0, "{blobs}");
    assert_eq!(blobs["bytes"], 0, "{blobs}");
    assert_eq!(blobs["present"], 0, "{blobs}");
}

#[test]
fn unreachable_registry_is_a_clear_error() {
    let sandbox = Sandbox::new();
    // Nothing listens on a port that was just free.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = sandbox.run(["pack", "ls", "-r", &format!("127.0.0.1:{port}")]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!(
            "error: cannot reach the registry 127.0.0.1:{port}"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
}

/// A credential helper backed by a file, as `docker-credential-<name>` helpers behave.
fn install_helper(sandbox: &Sandbox) -> std::path::PathBuf {
    let bin = sandbox.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let db = sandbox.path().join("helper-db.json");
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n  store) cat > '{db}' ;;\n  get) cat > /dev/null; if [ -f '{db}' ]; then cat '{db}'; else echo 'credentials not found in native keychain'; exit 1; fi ;;\n  erase) cat > /dev/null; rm -f '{db}' ;;\nesac\n",
        db = db.display()
    );
    let path = bin.join("docker-credential-filestore");
    fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    db
}

fn with_helper_path(sandbox: &Sandbox, mut cmd: std::process::Command) -> std::process::Command {
    let path = format!(
        "{}:{}",
        sandbox.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path);
    cmd
}

#[test]
fn credentials_go_to_a_configured_helper() {
    let registry = Registry::secure();
    let sandbox = Sandbox::new();
    let r = registry.host.as_str();
    let db = install_helper(&sandbox);
    let config = sandbox.path().join("home/.docker/config.json");
    fs::write(
        &config,
        format!(r#"{{"credHelpers": {{"{r}": "filestore"}}, "psFormat": "keep me"}}"#),
    )
    .unwrap();

    let mut login = with_helper_path(&sandbox, sandbox.command());
    login.args(["registry", "login", r, "-u", USER, "--password-stdin", "-i"]);
    let ok = common::run_with_stdin(login, PASSWORD);
    assert_eq!(ok.code, 0, "{}", ok.transcript());
    assert!(
        ok.stderr.contains("docker-credential-filestore"),
        "{}",
        ok.stderr
    );
    let stored: serde_json::Value = serde_json::from_slice(&fs::read(&db).unwrap()).unwrap();
    assert_eq!(stored["Username"], USER);
    assert_eq!(stored["ServerURL"], r);
    // The config file is untouched: no secret in it, other settings kept.
    let text = fs::read_to_string(&config).unwrap();
    assert!(
        !text.contains("auths") && text.contains("keep me"),
        "{text}"
    );

    // -i skips TLS verification; the helper supplies the credentials.
    let mut push = with_helper_path(&sandbox, sandbox.command());
    push.args([
        "pack",
        "push",
        "testdata/packs/hello-manifests",
        "-r",
        r,
        "-i",
    ]);
    let run = common::run_with_stdin(push, "");
    assert_eq!(run.code, 0, "{}", run.transcript());

    let mut logout = with_helper_path(&sandbox, sandbox.command());
    logout.args(["registry", "logout", r]);
    assert_eq!(common::run_with_stdin(logout, "").code, 0);
    assert!(!db.exists(), "the helper still holds the credentials");
}

#[test]
fn plain_http_can_be_forced() {
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let run = sandbox
        .run([
            "pack",
            "push",
            "testdata/packs/hello-manifests",
            "-r",
            &registry.host,
            "--plain-http",
        ])
        .success();
    assert!(run.stdout.starts_with(&registry.host));
    // Forcing plain HTTP on a TLS registry fails rather than silently switching to TLS.
    let secure = Registry::secure();
    let run = sandbox.run([
        "pack",
        "push",
        "testdata/packs/hello-manifests",
        "-r",
        &secure.host,
        "--plain-http",
        "--ca-file",
        &secure.ca_arg(),
    ]);
    assert_eq!(run.code, 1, "plain HTTP to a TLS registry cannot work");
}

#[test]
fn vv_shows_every_request() {
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let r = registry.host.as_str();
    let quiet = sandbox
        .run(["pack", "push", "testdata/packs/hello-chart", "-r", r])
        .success();
    assert!(
        !quiet.stderr.contains("packctl::registry"),
        "{}",
        quiet.stderr
    );
    let run = sandbox
        .run([
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            r,
            "-f",
            "--verify-blobs",
            "-vv",
        ])
        .success();
    let requests: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("packctl::registry") && l.contains(": request "))
        .collect();
    // The unchanged push with --verify-blobs resolves the tag and checks each blob: every
    // request is a line with
    // its method, URL, status and attempt.
    let manifest = format!("url=http://{r}/v2/spectro-packs/archive/hello-chart/manifests/0.1.0");
    assert!(
        requests
            .iter()
            .any(|l| l.contains("method=GET") || l.contains("method=HEAD")),
        "{}",
        run.stderr
    );
    assert!(
        requests
            .iter()
            .any(|l| l.contains(&manifest) && l.contains("status=200")),
        "{}",
        run.stderr
    );
    let blob_checks = requests
        .iter()
        .filter(|l| {
            (l.contains("method=HEAD") && l.contains("/blobs/sha256:"))
                || (l.contains("method=POST") && l.contains("/blobs/uploads/ status=201"))
        })
        .count();
    assert!(blob_checks >= 2, "{}", run.stderr);
    assert!(
        requests
            .iter()
            .all(|l| l.contains("attempt=1") && l.contains("ms="))
    );
}
