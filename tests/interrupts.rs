//! Interrupts, killed runs, closed stdout and hostile text: what packctl leaves behind and
//! what it prints when it is stopped, killed, or read by nobody.

mod common;

use common::{Sandbox, sample};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

/// How long the slow server keeps a response open before giving up.
const STALL: Duration = Duration::from_secs(15);
/// How long a test waits for packctl to reach the point where it is stopped.
const REACH: Duration = Duration::from_secs(10);

/// What the slow registry does with requests other than `/v2/`.
#[derive(Clone)]
enum Mode {
    /// Serve manifests and configs from this store root at once, and other blob bodies a
    /// byte at a time, never the last byte.
    Dribble(PathBuf),
    /// Never answer.
    Hang,
}

/// A registry on a loopback port that is slow on purpose, so a transfer is still running
/// when the test stops packctl.
struct Slow {
    host: String,
    requests: Receiver<String>,
    stop: Arc<AtomicBool>,
}

impl Drop for Slow {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Slow {
    fn start(mode: Mode) -> Slow {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, requests) = channel();
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (mode, tx, stop) = (mode.clone(), tx.clone(), stopping.clone());
                std::thread::spawn(move || serve(stream, &mode, &tx, &stop));
            }
        });
        Slow {
            host,
            requests,
            stop,
        }
    }

    /// Waits until a request whose line contains `needle` arrived.
    fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + REACH;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.requests.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no request for {needle} arrived");
    }
}

fn serve(mut stream: TcpStream, mode: &Mode, tx: &Sender<String>, stop: &AtomicBool) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let line = head.lines().next().unwrap_or("").to_string();
    let mut words = line.split(' ');
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("").to_string();
    let _ = tx.send(format!("{method} {path}"));
    let respond =
        |stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]| {
            let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
            for (name, value) in headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            let _ = stream.write_all(out.as_bytes());
            if method != "HEAD" {
                let _ = stream.write_all(body);
            }
        };
    let stall = |stop: &AtomicBool| {
        let until = Instant::now() + STALL;
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    if path == "/v2/" || path == "/v2" {
        let api = (
            "Docker-Distribution-API-Version",
            "registry/2.0".to_string(),
        );
        return respond(&mut stream, "200 OK", &[api], b"{}");
    }
    let root = match mode {
        Mode::Hang => return stall(stop),
        Mode::Dribble(root) => root,
    };
    let not_found = |stream: &mut TcpStream| {
        respond(
            stream,
            "404 Not Found",
            &[("Content-Type", "application/json".into())],
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}"#,
        )
    };
    let Some(rest) = path.strip_prefix("/v2/") else {
        return not_found(&mut stream);
    };
    if let Some((repo, reference)) = rest.rsplit_once("/manifests/") {
        let layout = root.join(repo);
        let digest = if reference.starts_with("sha256:") {
            reference.to_string()
        } else {
            let index: serde_json::Value =
                serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
            let found = index["manifests"].as_array().unwrap().iter().find(|d| {
                d["annotations"]["org.opencontainers.image.ref.name"].as_str() == Some(reference)
            });
            match found {
                Some(d) => d["digest"].as_str().unwrap().to_string(),
                None => return not_found(&mut stream),
            }
        };
        let Ok(bytes) = std::fs::read(blob_path(&layout, &digest)) else {
            return not_found(&mut stream);
        };
        let manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let media_type = manifest["mediaType"]
            .as_str()
            .unwrap_or("application/vnd.oci.image.manifest.v1+json")
            .to_string();
        return respond(
            &mut stream,
            "200 OK",
            &[
                ("Content-Type", media_type),
                ("Docker-Content-Digest", digest),
            ],
            &bytes,
        );
    }
    if let Some((repo, digest)) = rest.rsplit_once("/blobs/") {
        let Ok(bytes) = std::fs::read(blob_path(&root.join(repo), digest)) else {
            return not_found(&mut stream);
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n\
             Docker-Content-Digest: {digest}\r\nContent-Length: {}\r\n\r\n",
            bytes.len()
        );
        if stream.write_all(head.as_bytes()).is_err() || method == "HEAD" {
            return;
        }
        // A pull reads the config before it makes any folder: serve it whole.
        if is_config(&root.join(repo), digest) {
            let _ = stream.write_all(&bytes);
            return;
        }
        let until = Instant::now() + STALL;
        for &b in &bytes[..bytes.len().saturating_sub(1)] {
            if Instant::now() > until
                || stop.load(Ordering::SeqCst)
                || stream.write_all(&[b]).is_err()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        return stall(stop);
    }
    not_found(&mut stream)
}

/// Whether a manifest of the layout names `digest` as its config.
fn is_config(layout: &Path, digest: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(layout.join("blobs/sha256")) else {
        return false;
    };
    entries.flatten().any(|entry| {
        std::fs::read(entry.path())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .is_some_and(|manifest| manifest["config"]["digest"].as_str() == Some(digest))
    })
}

fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

const REPO: &str = "spectro-packs/archive/hello-chart";

/// A store holding `hello-chart` 0.1.0, written by packctl itself.
fn source_store(sandbox: &Sandbox) -> PathBuf {
    let store = sandbox.path().join("source");
    let store_arg = format!("oci:{}", store.display());
    sandbox
        .run([
            "pack",
            "push",
            sample("hello-chart").to_str().unwrap(),
            "-r",
            &store_arg,
        ])
        .success();
    store
}

/// The entries of `dir` that are packctl's temporary files or folders.
fn temporaries(dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".packctl-") || n.starts_with("packctl-build-"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Waits until `dir` holds a temporary entry of packctl's.
fn wait_for_temporaries(dir: &Path, child: &mut Child) {
    wait_for_new_temporaries(dir, child, &[]);
}

/// Waits until `dir` holds a temporary entry of packctl's that is not in `known`.
fn wait_for_new_temporaries(dir: &Path, child: &mut Child, known: &[String]) {
    let deadline = Instant::now() + REACH;
    while Instant::now() < deadline {
        if temporaries(dir).iter().any(|name| !known.contains(name)) {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "packctl ended ({status}) before writing into {}",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("packctl wrote nothing into {}", dir.display());
}

/// A packctl command with `TMPDIR` inside the sandbox.
fn packctl(sandbox: &Sandbox, args: &[&str]) -> Command {
    let tmp = sandbox.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = sandbox.command();
    cmd.env("TMPDIR", &tmp).args(args);
    cmd
}

fn spawn(mut cmd: Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits (bounded) for `child` and returns its exit code (-1 when a signal ended it) and
/// stderr.
fn finish(mut child: Child) -> (i32, String) {
    let deadline = Instant::now() + REACH;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return (status.code().unwrap_or(-1), stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("packctl did not stop after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_interrupted(child: Child) {
    let (code, stderr) = finish(child);
    assert_eq!(code, 130, "stderr:\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A pull that is still fetching its blobs.
fn slow_pull(sandbox: &Sandbox, server: &Slow, target: &Path) -> Child {
    let child = spawn(packctl(
        sandbox,
        &[
            "pack",
            "pull",
            "hello-chart:0.1.0",
            target.to_str().unwrap(),
            "-r",
            &server.host,
            "--plain-http",
        ],
    ));
    server.wait_for("/blobs/");
    child
}

/// A copy into `store` that is still writing its blobs.
fn slow_copy(sandbox: &Sandbox, server: &Slow, store: &Path) -> Child {
    slow_copy_beside(sandbox, server, store, &[])
}

/// A copy into `store` that is still writing its blobs, beside the temporary files `known`.
fn slow_copy_beside(sandbox: &Sandbox, server: &Slow, store: &Path, known: &[String]) -> Child {
    let mut child = spawn(packctl(
        sandbox,
        &[
            "pack",
            "copy",
            "hello-chart:0.1.0",
            "--from",
            &server.host,
            "--to",
            &format!("oci:{}", store.display()),
            "--plain-http",
        ],
    ));
    wait_for_new_temporaries(&store.join(REPO).join("blobs/sha256"), &mut child, known);
    child
}

/// A push that has built its artifact and waits for the registry.
fn slow_push(sandbox: &Sandbox, server: &Slow) -> Child {
    let mut child = spawn(packctl(
        sandbox,
        &[
            "pack",
            "push",
            sample("hello-chart").to_str().unwrap(),
            "-r",
            &server.host,
            "--plain-http",
        ],
    ));
    server.wait_for("/v2/spectro-packs/");
    wait_for_temporaries(&sandbox.path().join("tmp"), &mut child);
    child
}

#[test]
fn sigint_during_a_pull_removes_its_folders() {
    let sandbox = Sandbox::new();
    let server = Slow::start(Mode::Dribble(source_store(&sandbox)));
    let parent = sandbox.path().join("out");
    let target = parent.join("hello");
    let mut child = slow_pull(&sandbox, &server, &target);
    wait_for_temporaries(&parent, &mut child);
    signal(&child, "INT");
    assert_interrupted(child);
    assert_eq!(temporaries(&parent), Vec::<String>::new());
    assert!(!target.exists());
}

#[test]
fn sigterm_during_a_copy_removes_the_partial_blob() {
    let sandbox = Sandbox::new();
    let server = Slow::start(Mode::Dribble(source_store(&sandbox)));
    let store = sandbox.path().join("store");
    let child = slow_copy(&sandbox, &server, &store);
    signal(&child, "TERM");
    assert_interrupted(child);
    assert_eq!(
        temporaries(&store.join(REPO).join("blobs/sha256")),
        Vec::<String>::new()
    );
    assert_eq!(temporaries(&store.join(REPO)), Vec::<String>::new());
}

#[test]
fn sigint_during_a_push_removes_the_build_folder() {
    let sandbox = Sandbox::new();
    let server = Slow::start(Mode::Hang);
    let child = slow_push(&sandbox, &server);
    signal(&child, "INT");
    assert_interrupted(child);
    assert_eq!(
        temporaries(&sandbox.path().join("tmp")),
        Vec::<String>::new()
    );
}

#[test]
fn sigint_while_unpacking_leaves_nothing() {
    let sandbox = Sandbox::new();
    // A role folder of many small files takes a moment to unpack: the signal lands while
    // another thread creates folders and files in the temporary folder.
    let pack = sandbox.copy(&sample("golden-centos-aws"), "pack");
    for d in 0..40 {
        let dir = pack.join(format!("harden_os/files/d{d:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..75 {
            std::fs::write(dir.join(format!("f{f:03}.txt")), [b'x'; 100]).unwrap();
        }
    }
    let source = format!("oci:{}", sandbox.path().join("source").display());
    let out = packctl(
        &sandbox,
        &["pack", "push", pack.to_str().unwrap(), "-r", &source],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let parent = sandbox.path().join("out");
    let target = parent.join("golden");
    let mut child = spawn(packctl(
        &sandbox,
        &[
            "pack",
            "pull",
            "golden-centos-aws",
            target.to_str().unwrap(),
            "-r",
            &source,
        ],
    ));
    let deadline = Instant::now() + REACH;
    while !temporaries(&parent)
        .iter()
        .any(|t| parent.join(t).join("harden_os").exists())
    {
        assert!(
            Instant::now() < deadline,
            "the role folder was never unpacked"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the pull ended before the signal"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    signal(&child, "INT");
    assert_interrupted(child);
    assert_eq!(temporaries(&parent), Vec::<String>::new());
    assert!(!target.exists());
}

#[test]
fn a_killed_pull_is_swept_by_the_next_pull() {
    let sandbox = Sandbox::new();
    let source = source_store(&sandbox);
    let server = Slow::start(Mode::Dribble(source.clone()));
    let parent = sandbox.path().join("out");
    let mut child = slow_pull(&sandbox, &server, &parent.join("first"));
    wait_for_temporaries(&parent, &mut child);
    signal(&child, "KILL");
    finish(child);
    assert!(
        !temporaries(&parent).is_empty(),
        "a killed run left nothing to sweep"
    );

    let second = parent.join("second");
    let source = format!("oci:{}", source.display());
    let out = packctl(
        &sandbox,
        &[
            "pack",
            "pull",
            "hello-chart:0.1.0",
            second.to_str().unwrap(),
            "-r",
            &source,
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(temporaries(&parent), Vec::<String>::new());
    assert!(second.join("pack.json").is_file());
}

#[test]
fn a_killed_copy_is_swept_by_the_next_write_to_the_store() {
    let sandbox = Sandbox::new();
    let server = Slow::start(Mode::Dribble(source_store(&sandbox)));
    let store = sandbox.path().join("store");
    let blobs = store.join(REPO).join("blobs/sha256");
    let child = slow_copy(&sandbox, &server, &store);
    signal(&child, "KILL");
    finish(child);
    assert!(
        !temporaries(&blobs).is_empty(),
        "a killed run left nothing to sweep"
    );

    let store_arg = format!("oci:{}", store.display());
    let out = packctl(
        &sandbox,
        &[
            "pack",
            "push",
            sample("hello-chart").to_str().unwrap(),
            "-r",
            &store_arg,
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(temporaries(&blobs), Vec::<String>::new());
    assert_eq!(temporaries(&store.join(REPO)), Vec::<String>::new());
}

#[test]
fn a_killed_build_is_swept_by_the_next_build() {
    let sandbox = Sandbox::new();
    let server = Slow::start(Mode::Hang);
    let tmp = sandbox.path().join("tmp");
    let child = slow_push(&sandbox, &server);
    signal(&child, "KILL");
    finish(child);
    assert!(
        !temporaries(&tmp).is_empty(),
        "a killed run left nothing to sweep"
    );

    let store_arg = format!("oci:{}", sandbox.path().join("store").display());
    let out = packctl(
        &sandbox,
        &[
            "pack",
            "push",
            sample("hello-chart").to_str().unwrap(),
            "-r",
            &store_arg,
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(temporaries(&tmp), Vec::<String>::new());
}

#[test]
fn a_sweep_leaves_a_live_writers_files_alone() {
    let sandbox = Sandbox::new();
    let source = source_store(&sandbox);
    let server = Slow::start(Mode::Dribble(source.clone()));
    let store = sandbox.path().join("store");
    let blobs = store.join(REPO).join("blobs/sha256");
    let parent = sandbox.path().join("out");

    // What killed runs left, which the sweeps below must remove.
    let mut dead = slow_pull(&sandbox, &server, &parent.join("dead"));
    wait_for_temporaries(&parent, &mut dead);
    signal(&dead, "KILL");
    finish(dead);
    let dead = slow_copy(&sandbox, &server, &store);
    signal(&dead, "KILL");
    finish(dead);
    let dead_pulls = temporaries(&parent);
    let dead_copies = temporaries(&blobs);

    let mut pulling = slow_pull(&sandbox, &server, &parent.join("first"));
    wait_for_new_temporaries(&parent, &mut pulling, &dead_pulls);
    let copying = slow_copy_beside(&sandbox, &server, &store, &dead_copies);
    let live = |dir: &Path, dead: &[String]| -> Vec<String> {
        temporaries(dir)
            .into_iter()
            .filter(|n| !dead.contains(n))
            .collect()
    };
    let pulls = live(&parent, &dead_pulls);
    let copies = live(&blobs, &dead_copies);
    assert!(!dead_pulls.is_empty() && !dead_copies.is_empty());
    assert!(!pulls.is_empty() && !copies.is_empty());

    let source = format!("oci:{}", source.display());
    let second = parent.join("second");
    let out = packctl(
        &sandbox,
        &[
            "pack",
            "pull",
            "hello-chart:0.1.0",
            second.to_str().unwrap(),
            "-r",
            &source,
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same pack into the same repository: the blobs the live copy is writing, too.
    let store_arg = format!("oci:{}", store.display());
    let out = packctl(
        &sandbox,
        &[
            "pack",
            "push",
            sample("hello-chart").to_str().unwrap(),
            "-r",
            &store_arg,
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    for name in &dead_pulls {
        assert!(!parent.join(name).exists(), "a killed pull left {name}");
    }
    for name in &dead_copies {
        assert!(!blobs.join(name).exists(), "a killed copy left {name}");
    }
    for name in &pulls {
        assert!(parent.join(name).exists(), "a live pull lost {name}");
    }
    for name in &copies {
        assert!(blobs.join(name).exists(), "a live copy lost {name}");
    }
    signal(&pulling, "INT");
    signal(&copying, "INT");
    assert_interrupted(pulling);
    assert_interrupted(copying);
}

/// Rewrites the manifest `tag` points at in `layout` with `change`, keeping the store valid.
fn rewrite_manifest(layout: &Path, tag: &str, change: impl FnOnce(&mut serde_json::Value)) {
    use sha2::{Digest, Sha256};
    let index_path = layout.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap();
    let old = entry["digest"].as_str().unwrap().to_string();
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob_path(layout, &old)).unwrap()).unwrap();
    change(&mut manifest);
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let digest = format!("sha256:{:x}", Sha256::digest(&bytes));
    std::fs::write(blob_path(layout, &digest), &bytes).unwrap();
    entry["digest"] = digest.into();
    entry["size"] = bytes.len().into();
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
}

#[test]
fn control_characters_from_an_artifact_are_escaped() {
    let sandbox = Sandbox::new();
    let store = source_store(&sandbox);
    let title = "charts/\u{1b}[2J\u{1b}]0;owned\u{7}evil\nhint: forged\u{9b}31m.tgz";
    rewrite_manifest(&store.join(REPO), "0.1.0", |manifest| {
        manifest["layers"][0]["annotations"]["org.opencontainers.image.title"] = title.into();
    });
    let store_arg = format!("oci:{}", store.display());
    let target = sandbox.path().join("out/hello");
    let runs = [
        vec![
            "pack",
            "pull",
            "hello-chart:0.1.0",
            target.to_str().unwrap(),
            "-r",
            &store_arg,
        ],
        vec![
            "-v",
            "pack",
            "pull",
            "hello-chart:0.1.0",
            target.to_str().unwrap(),
            "-r",
            &store_arg,
        ],
        vec!["pack", "inspect", "hello-chart:0.1.0", "-r", &store_arg],
        vec![
            "--output",
            "json",
            "pack",
            "inspect",
            "hello-chart:0.1.0",
            "-r",
            &store_arg,
        ],
    ];
    for args in runs {
        let out = packctl(&sandbox, &args).output().unwrap();
        let (stdout, stderr) = (&out.stdout, &out.stderr);
        let shown = format!(
            "{args:?}\n{}\n{}",
            String::from_utf8_lossy(stdout),
            String::from_utf8_lossy(stderr)
        );
        for stream in [stdout, stderr] {
            assert!(!stream.contains(&0x1b), "raw ESC in {shown}");
            assert!(!stream.contains(&0x07), "raw BEL in {shown}");
            assert!(
                !String::from_utf8_lossy(stream).contains('\u{9b}'),
                "raw CSI in {shown}"
            );
            assert!(
                !String::from_utf8_lossy(stream)
                    .lines()
                    .any(|l| l.starts_with("hint: forged")),
                "a forged line in {shown}"
            );
        }
        assert!(!shown.contains("panicked"), "{shown}");
        assert!(
            shown.contains("\\u{1b}") || shown.contains("\\u001b"),
            "the title is not shown escaped: {shown}"
        );
    }
    assert!(!target.exists());
}

/// Runs packctl with stdout a pipe whose reader is already gone; returns the exit code and
/// stderr.
fn closed_stdout(sandbox: &Sandbox, args: &[&str]) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = packctl(sandbox, args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `packctl ARGS | true` in bash and returns packctl's exit status and stderr.
fn piped_into_true(sandbox: &Sandbox, args: &[&str]) -> (i32, String) {
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#""$@" | true; exit "${PIPESTATUS[0]}""#)
        .arg("bash")
        .arg(env!("CARGO_BIN_EXE_packctl"))
        .args(args)
        .current_dir(common::root())
        .env("HOME", sandbox.path().join("home"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_keeps_the_exit_status() {
    let sandbox = Sandbox::new();
    let invalid = common::root().join("testdata/invalid/missing-name");
    let valid = sample("hello-chart");
    let cases: [(&[&str], i32); 4] = [
        (&["completion", "bash"], 0),
        (&["pack", "validate", invalid.to_str().unwrap()], 1),
        (
            &[
                "--output",
                "json",
                "pack",
                "validate",
                invalid.to_str().unwrap(),
            ],
            1,
        ),
        (&["pack", "validate", valid.to_str().unwrap()], 0),
    ];
    for (args, expected) in cases {
        for _ in 0..20 {
            for (code, stderr) in [
                closed_stdout(&sandbox, args),
                piped_into_true(&sandbox, args),
            ] {
                assert_eq!(code, expected, "{args:?}: {stderr}");
                assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
                assert!(!stderr.contains("crashed"), "{args:?}: {stderr}");
                assert!(!stderr.contains("error:"), "{args:?}: {stderr}");
            }
        }
    }
}

#[test]
fn a_full_stdout_is_a_clear_error() {
    let sandbox = Sandbox::new();
    let valid = sample("hello-chart");
    let cases: [&[&str]; 2] = [
        &["completion", "bash"],
        &["pack", "validate", valid.to_str().unwrap()],
    ];
    for args in cases {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = packctl(&sandbox, args)
            .stdout(full)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("error: cannot write the result to stdout"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("caused by: No space left"),
            "{args:?}: {stderr}"
        );
    }
}
