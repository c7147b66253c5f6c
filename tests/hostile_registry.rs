//! packctl against registries that misbehave or are set up the way their documentation says:
//! redirects to hosts with their own token realms, absurd token lifetimes, stalled and cut
//! transfers, self-signed and mutual TLS, and many logins at once.

mod common;

use base64::Engine as _;
use common::fake::{Fake, Faults};
use common::registry::{PASSWORD, Registry, USER};
use common::{Run, Sandbox, sample, tree};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The longest a bounded run may take before it counts as hung.
const HUNG: Duration = Duration::from_secs(20);

/// Runs a prepared command, killing it if it outlives [`HUNG`]; `None` when it hung.
fn run_bounded(mut cmd: Command) -> Option<Run> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("packctl runs");
    let deadline = Instant::now() + HUNG;
    loop {
        if child.try_wait().unwrap().is_some() {
            let output = child.wait_with_output().unwrap();
            return Some(Run {
                code: output.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn push_to(sandbox: &Sandbox, host: &str) -> Run {
    sandbox.run([
        "pack",
        "push",
        "testdata/packs/golden-centos-aws",
        "-r",
        host,
    ])
}

fn pull_command(sandbox: &Sandbox, host: &str, target: &Path) -> Command {
    let mut cmd = sandbox.command();
    cmd.args([
        "pack",
        "pull",
        "golden-centos-aws",
        target.to_str().unwrap(),
        "-r",
        host,
    ]);
    cmd
}

/// Writes Basic credentials for `host` into the sandbox's Docker config.
fn save_credentials(sandbox: &Sandbox, host: &str) {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let config = serde_json::json!({ "auths": { host: { "auth": auth } } });
    std::fs::write(
        sandbox.path().join("home/.docker/config.json"),
        config.to_string(),
    )
    .unwrap();
}

/// `registry login` with the password on stdin.
fn login(sandbox: &Sandbox, server: &str, extra: &[&str]) -> Run {
    let mut cmd = sandbox.command();
    cmd.args(["registry", "login", server, "-u", USER, "--password-stdin"])
        .args(extra);
    common::run_with_stdin(cmd, PASSWORD)
}

#[test]
fn credentials_never_go_to_a_token_realm_on_another_host() {
    let storage = Fake::start(Faults {
        storage_challenge: true,
        ..Faults::default()
    });
    let registry = Fake::start(Faults {
        bearer: true,
        redirect_blobs_to: Some(format!("http://{}", storage.host)),
        ..Faults::default()
    });
    let sandbox = Sandbox::new();
    save_credentials(&sandbox, &registry.host);
    push_to(&sandbox, &registry.host).success();
    let target = sandbox.path().join("pulled");
    let run = run_bounded(pull_command(&sandbox, &registry.host, &target)).expect("bounded");
    run.fails_with(&[&format!("redirected to {}", storage.host), "hint: "]);
    let log = storage.log();
    assert!(
        log.iter().any(|(_, path, _)| path.starts_with("/storage/")),
        "the redirect was not followed: {log:?}"
    );
    assert!(
        log.iter().all(|(_, _, auth)| auth.is_none()),
        "credentials went to another host's token realm: {log:?}"
    );
    assert!(!target.exists(), "a refused pull left {target:?}");
}

#[test]
fn absurd_token_lifetimes_are_clamped() {
    for expires_in in ["18446744073709551615", "-1", "1e300"] {
        let fake = Fake::start(Faults {
            bearer: true,
            token_expires_in: Some(expires_in.into()),
            ..Faults::default()
        });
        let sandbox = Sandbox::new();
        let run = push_to(&sandbox, &fake.host);
        assert_eq!(
            run.code,
            0,
            "expires_in {expires_in}:\n{}",
            run.transcript()
        );
    }
}

#[test]
fn hosts_are_compared_without_case() {
    let registry = Registry::secure();
    let port = registry.host.rsplit_once(':').unwrap().1.to_string();
    let sandbox = Sandbox::new();
    let ca = registry.ca_arg();
    let ok = login(&sandbox, &format!("LocalHost:{port}"), &["--ca-file", &ca]);
    assert_eq!(ok.code, 0, "{}", ok.transcript());
    let config = std::fs::read_to_string(sandbox.path().join("home/.docker/config.json")).unwrap();
    assert!(
        config.contains(&format!("\"localhost:{port}\"")),
        "credentials stored under another name:\n{config}"
    );
    let run = sandbox.run([
        "pack",
        "push",
        "testdata/packs/hello-chart",
        "-r",
        &format!("LOCALHOST:{port}"),
        "--ca-file",
        &ca,
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

#[test]
fn oci_and_http_schemes_are_not_taken_for_folders_or_dropped() {
    let sandbox = Sandbox::new();
    sandbox
        .run(["pack", "ls", "-r", "oci://127.0.0.1:9"])
        .usage_fails_with(&["oci://127.0.0.1:9", "hint: ", "-r 127.0.0.1:9"]);
    sandbox
        .run(["pack", "inspect", "oci://127.0.0.1:9/team/hello:1.0.0"])
        .usage_fails_with(&["oci://", "-r 127.0.0.1:9"]);
    sandbox
        .run(["pack", "ls", "-r", "http://registry.invalid"])
        .usage_fails_with(&[
            "`http://registry.invalid` is not a registry server",
            "--plain-http",
        ]);
    assert!(!Path::new("/127.0.0.1:9").exists());
}

#[test]
fn parallel_logins_keep_every_credential() {
    const LOGINS: usize = 12;
    let registries: Vec<Registry> = (0..LOGINS).map(|_| Registry::plain()).collect();
    let sandbox = Sandbox::new();
    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = registries
            .iter()
            .map(|r| {
                let sandbox = &sandbox;
                scope.spawn(move || login(sandbox, &r.host, &[]))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in &runs {
        assert_eq!(run.code, 0, "{}", run.transcript());
    }
    let config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(sandbox.path().join("home/.docker/config.json")).unwrap(),
    )
    .unwrap();
    let auths = config["auths"].as_object().unwrap();
    for r in &registries {
        assert!(auths.contains_key(&r.host), "{} lost: {config}", r.host);
    }
    assert_eq!(auths.len(), LOGINS);
}

#[test]
fn a_symlinked_docker_config_stays_a_symlink() {
    let registry = Registry::plain();
    let sandbox = Sandbox::new();
    let dotfiles = sandbox.path().join("dotfiles");
    std::fs::create_dir_all(&dotfiles).unwrap();
    let real = dotfiles.join("docker-config.json");
    std::fs::write(&real, r#"{"auths":{},"detachKeys":"ctrl-x"}"#).unwrap();
    let link = sandbox.path().join("home/.docker/config.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let ok = login(&sandbox, &registry.host, &[]);
    assert_eq!(ok.code, 0, "{}", ok.transcript());
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "config.json was replaced by a regular file"
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(text.contains(&registry.host), "{text}");
    assert!(text.contains("detachKeys"), "{text}");
}

#[test]
fn upload_session_urls_are_never_printed() {
    let fake = Fake::start(Faults {
        upload_base: Some("http://127.0.0.1:1".into()),
        ..Faults::default()
    });
    let sandbox = Sandbox::new();
    let run = push_to(&sandbox, &fake.host);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        !run.stderr.contains("_state") && !run.stderr.contains("opaque-"),
        "an upload session URL was printed:\n{}",
        run.stderr
    );
}

#[test]
fn ls_gives_the_real_cause_of_a_refused_catalog() {
    let registry = Registry::secure();
    let sandbox = Sandbox::new();
    let ca = registry.ca_arg();
    let run = sandbox
        .run(["pack", "ls", "-r", &registry.host, "--ca-file", &ca])
        .fails_with(&["refused access", "hint: log in first"]);
    assert!(!run.stderr.contains("catalog"), "{}", run.stderr);
    let run = sandbox
        .run(["pack", "ls", "-r", &registry.host, "--plain-http"])
        .fails_with(&["HTTPS", "hint: ", "drop --plain-http"]);
    assert!(!run.stderr.contains("catalog"), "{}", run.stderr);
}

#[test]
fn login_saves_an_absolute_ca_file() {
    let registry = Registry::secure();
    let sandbox = Sandbox::new();
    let certs = sandbox.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(registry.ca.as_ref().unwrap(), certs.join("ca.crt")).unwrap();
    let mut cmd = sandbox.command();
    cmd.current_dir(sandbox.path()).args([
        "registry",
        "login",
        &registry.host,
        "-u",
        USER,
        "--password-stdin",
        "-d",
        "--ca-file",
        "certs/ca.crt",
    ]);
    let ok = common::run_with_stdin(cmd, PASSWORD);
    assert_eq!(ok.code, 0, "{}", ok.transcript());
    let settings: serde_json::Value = serde_json::from_slice(
        &std::fs::read(sandbox.path().join("home/.config/packctl/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(settings["defaultRegistry"], registry.host.as_str());
    let saved = PathBuf::from(
        settings["registries"][registry.host.as_str()]["caFile"]
            .as_str()
            .unwrap(),
    );
    assert!(saved.is_absolute(), "{saved:?}");
    assert_eq!(
        saved.canonicalize().unwrap(),
        certs.join("ca.crt").canonicalize().unwrap()
    );
    // From another folder, the default registry still works.
    sandbox.run(["pack", "ls"]).success();
}

/// A pushed pack on a fake whose faults are then switched on for the pull.
fn pushed_fake(sandbox: &Sandbox, faults: impl FnOnce(&mut Faults)) -> Fake {
    let fake = Fake::start(Faults::default());
    push_to(sandbox, &fake.host).success();
    faults(&mut fake.state.lock().unwrap().faults);
    fake
}

#[test]
fn a_dribbling_download_fails_after_the_stall_timeout() {
    let sandbox = Sandbox::new();
    let fake = pushed_fake(&sandbox, |f| {
        f.dribble_blobs = Some(Duration::from_millis(400))
    });
    let target = sandbox.path().join("pulled");
    let mut cmd = pull_command(&sandbox, &fake.host, &target);
    cmd.env("PACKCTL_STALL_TIMEOUT", "1");
    let run = run_bounded(cmd).expect("a stalled download kept packctl waiting");
    run.fails_with(&[&fake.host, "no progress", "PACKCTL_STALL_TIMEOUT"]);
    assert!(!target.exists());
}

#[test]
fn a_hung_upload_fails_after_the_stall_timeout() {
    let fake = Fake::start(Faults {
        hang_upload_puts: Some(Duration::from_secs(60)),
        ..Faults::default()
    });
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.command();
    cmd.args([
        "pack",
        "push",
        "testdata/packs/golden-centos-aws",
        "-r",
        &fake.host,
    ])
    .env("PACKCTL_STALL_TIMEOUT", "1");
    let run = run_bounded(cmd).expect("a hung upload kept packctl waiting");
    run.fails_with(&[&fake.host, "no progress"]);
}

#[test]
fn a_download_cut_midway_is_resumed() {
    let sandbox = Sandbox::new();
    let fake = pushed_fake(&sandbox, |f| f.cut_blob_gets = 3);
    let target = sandbox.path().join("pulled");
    let run = run_bounded(pull_command(&sandbox, &fake.host, &target)).expect("bounded");
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(tree(&target), tree(&sample("golden-centos-aws")));
    let ranges = fake.state.lock().unwrap().ranges.clone();
    assert!(
        ranges
            .iter()
            .any(|r| r.starts_with("bytes=") && r != "bytes=0-"),
        "no download was resumed: {ranges:?}"
    );
}

#[test]
fn a_download_cut_every_time_names_the_registry_and_blob() {
    let sandbox = Sandbox::new();
    let fake = pushed_fake(&sandbox, |f| f.cut_blob_gets = usize::MAX);
    let target = sandbox.path().join("pulled");
    let run = run_bounded(pull_command(&sandbox, &fake.host, &target)).expect("bounded");
    let run = run.fails_with(&[&fake.host, "sha256:", "broke off"]);
    assert!(
        !run.stderr.contains("cannot read or write"),
        "{}",
        run.stderr
    );
    assert!(!target.exists());
}

/// A certificate made the way the distribution registry's documentation says: self-signed,
/// for 127.0.0.1 and localhost; `(certificate, key)`.
fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let crt = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .args([
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    (crt, key)
}

/// A client certificate signed by a new CA; `(ca, client.cert, client.key)`.
fn client_identity(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args:?}");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "clientca.key",
        "-out",
        "clientca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=client CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "client.key",
        "-out",
        "client.csr",
        "-subj",
        "/CN=packctl client",
    ]);
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "client.csr",
        "-CA",
        "clientca.crt",
        "-CAkey",
        "clientca.key",
        "-CAcreateserial",
        "-out",
        "client.cert",
        "-days",
        "2",
        "-extfile",
        "client.ext",
    ]);
    (
        dir.join("clientca.crt"),
        dir.join("client.cert"),
        dir.join("client.key"),
    )
}

/// A real `docker-registry` over TLS with a given certificate, optionally asking clients
/// for certificates signed by `client_ca`.
struct TlsRegistry {
    child: Child,
    host: String,
    _dir: tempfile::TempDir,
}

impl Drop for TlsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TlsRegistry {
    fn start(crt: &Path, key: &Path, client_ca: Option<&Path>) -> TlsRegistry {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("127.0.0.1:{port}");
        let clientcas =
            client_ca.map_or_else(String::new, |ca| format!(", clientcas: [{}]", ca.display()));
        let config = format!(
            "version: 0.1\nlog: {{level: error}}\nstorage:\n  filesystem: {{rootdirectory: {}}}\nhttp:\n  addr: {host}\n  tls: {{certificate: {}, key: {}{clientcas}}}\n",
            dir.path().join("data").display(),
            crt.display(),
            key.display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry runs");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&host).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(25));
        }
        TlsRegistry {
            child,
            host,
            _dir: dir,
        }
    }
}

#[test]
fn a_self_signed_registry_certificate_is_trusted_when_given() {
    let sandbox = Sandbox::new();
    let (crt, key) = self_signed(sandbox.path(), "domain");
    let registry = TlsRegistry::start(&crt, &key, None);
    let run = sandbox.run([
        "pack",
        "push",
        "testdata/packs/hello-chart",
        "-r",
        &registry.host,
        "--ca-file",
        crt.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());

    // The same certificate in certs.d/HOST/, as Docker reads it.
    let certs_d = sandbox.path().join("certs.d");
    std::fs::create_dir_all(certs_d.join(&registry.host)).unwrap();
    std::fs::copy(&crt, certs_d.join(&registry.host).join("domain.crt")).unwrap();
    let mut cmd = sandbox.command();
    cmd.args(["pack", "ls", "-r", &registry.host])
        .env("PACKCTL_CERTS_DIRS", &certs_d);
    let run = run_bounded(cmd).expect("bounded");
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("hello-chart"), "{}", run.stdout);

    // Another self-signed certificate proves nothing, and the hint does not ask for the
    // --ca-file that was given.
    let (other, _) = self_signed(sandbox.path(), "other");
    let run = sandbox
        .run([
            "pack",
            "ls",
            "-r",
            &registry.host,
            "--ca-file",
            other.to_str().unwrap(),
        ])
        .fails_with(&["hint: "]);
    assert!(
        !run.stderr.contains("give its CA with --ca-file"),
        "{}",
        run.stderr
    );
}

#[test]
fn mutual_tls_reads_the_client_certificate_from_certs_d() {
    let sandbox = Sandbox::new();
    let (crt, key) = self_signed(sandbox.path(), "domain");
    let (client_ca, client_cert, client_key) = client_identity(sandbox.path());
    let registry = TlsRegistry::start(&crt, &key, Some(&client_ca));
    let certs_d = sandbox.path().join("certs.d");
    let host_dir = certs_d.join(&registry.host);
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::copy(&crt, host_dir.join("ca.crt")).unwrap();
    let push = |sandbox: &Sandbox| {
        let mut cmd = sandbox.command();
        cmd.args([
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            &registry.host,
        ])
        .env("PACKCTL_CERTS_DIRS", &certs_d);
        run_bounded(cmd).expect("bounded")
    };
    // Without a client certificate the registry hangs up.
    let run = push(&sandbox);
    assert_eq!(run.code, 1, "{}", run.transcript());
    std::fs::copy(&client_cert, host_dir.join("client.cert")).unwrap();
    std::fs::copy(&client_key, host_dir.join("client.key")).unwrap();
    let run = push(&sandbox);
    assert_eq!(run.code, 0, "{}", run.transcript());
}
