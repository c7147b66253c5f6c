//! Real CNCF distribution registries (`docker-registry` from Debian) on free loopback ports:
//! one anonymous over plain HTTP, one with htpasswd Basic auth over TLS with a self-signed CA.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The user and password of the authenticated registry.
pub const USER: &str = "alice";
pub const PASSWORD: &str = "s3cret-passw0rd";

/// A running registry, stopped when dropped.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub host: String,
    /// Holds the config and the data.
    pub dir: tempfile::TempDir,
    /// The CA that signed its certificate, for the TLS registry.
    pub ca: Option<PathBuf>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free loopback port")
        .local_addr()
        .unwrap()
        .port()
}

fn run(program: &str, args: &[&str], dir: &Path) {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("`{program}` cannot run ({e}); `bash .ci/run` installs it"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 and localhost, made once per test process.
pub fn certificates() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("packctl-certs-").tempdir().unwrap().keep();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend(["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=packctl test CA"]);
        run("openssl", &ca, &dir);
        let mut csr = vec!["req"];
        csr.extend(ec);
        csr.extend(["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
        run("openssl", &csr, &dir);
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(
            "openssl",
            &[
                "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf",
            ],
            &dir,
        );
        dir
    })
}

impl Registry {
    fn start(config_extra: &str, ca: Option<PathBuf>, dir: tempfile::TempDir) -> Registry {
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\nlog: {{level: error}}\nstorage:\n  filesystem: {{rootdirectory: {}}}\n  delete: {{enabled: true}}\nhttp:\n  addr: {host}\n{config_extra}",
            dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("registry.log")).unwrap(),
            ))
            .spawn()
            .expect(
                "docker-registry runs; `bash .ci/run` installs it (Debian package docker-registry)",
            );
        let registry = Registry {
            child,
            host,
            dir,
            ca,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&registry.host).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not start on {}",
                registry.host
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        registry
    }

    /// An anonymous registry over plain HTTP.
    pub fn plain() -> Registry {
        Registry::start("", None, tempfile::tempdir().unwrap())
    }

    /// A registry with htpasswd Basic auth ([`USER`], [`PASSWORD`]) over TLS.
    pub fn secure() -> Registry {
        let certs = certificates();
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = Command::new("htpasswd")
            .args(["-Bbn", USER, PASSWORD])
            .output()
            .expect("htpasswd runs; `bash .ci/run` installs it (Debian package apache2-utils)");
        assert!(htpasswd.status.success());
        std::fs::write(dir.path().join("htpasswd"), &htpasswd.stdout).unwrap();
        let extra = format!(
            "  tls: {{certificate: {}, key: {}}}\nauth:\n  htpasswd: {{realm: packctl-test, path: {}}}\n",
            certs.join("server.crt").display(),
            certs.join("server.key").display(),
            dir.path().join("htpasswd").display()
        );
        Registry::start(&extra, Some(certs.join("ca.crt")), dir)
    }

    /// The CA file, as a string for command lines.
    pub fn ca_arg(&self) -> String {
        self.ca
            .as_ref()
            .expect("a TLS registry")
            .display()
            .to_string()
    }
}

/// Runs a command and returns stdout, panicking with its output on failure.
pub fn check_output(program: &str, args: &[String], env: &[(&str, &Path)]) -> String {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("`{program}` cannot run: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
