//! Shared test harness: run the built `packctl` in isolation and snapshot what it prints.
#![allow(dead_code)]

pub mod fake;
pub mod registry;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root, where `testdata/` lives.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A sample pack under `testdata/packs/`.
pub fn sample(name: &str) -> PathBuf {
    root().join("testdata/packs").join(name)
}

/// What a run of packctl left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The exit code and both streams, for a snapshot.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// Panics unless the run failed with exit 1 and said each of `needles` on stderr.
    pub fn fails_with(self, needles: &[&str]) -> Self {
        assert_eq!(self.code, 1, "expected a failure:\n{}", self.transcript());
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "expected {needle:?} in:\n{}",
                self.stderr
            );
        }
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }
}

/// The NAME and VERSION columns of a `pack ls` table, header left out.
pub fn ls_versions(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cells = l.split_whitespace();
            Some((cells.next()?.to_string(), cells.next()?.to_string()))
        })
        .collect()
}

impl Run {
    /// The SIGNED column of the `pack ls` row of `name` `version`.
    pub fn ls_signed(&self, name: &str, version: &str) -> Option<bool> {
        let header: Vec<&str> = self.stdout.lines().next()?.split_whitespace().collect();
        let column = header.iter().position(|h| *h == "SIGNED")?;
        self.stdout.lines().skip(1).find_map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            (cells.first() == Some(&name) && cells.get(1) == Some(&version))
                .then(|| cells.get(column) == Some(&"yes"))
        })
    }
}

impl Run {
    /// Panics unless the run ended with a usage error (exit 2) whose message holds every
    /// needle.
    pub fn usage_fails_with(self, needles: &[&str]) -> Self {
        assert_eq!(
            self.code,
            2,
            "expected a usage error:\n{}",
            self.transcript()
        );
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "expected {needle:?} in:\n{}",
                self.stderr
            );
        }
        self
    }

    /// Panics unless the run succeeded.
    pub fn success(self) -> Self {
        assert_eq!(self.code, 0, "packctl failed:\n{}", self.transcript());
        self
    }
}

/// A scratch folder with its own HOME and DOCKER_CONFIG, so no test sees the user's files.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::create_dir_all(dir.path().join("home/.docker")).unwrap();
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A `packctl` command that runs in the repository root with an isolated environment.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_packctl"));
        self.isolate(&mut cmd);
        cmd
    }

    /// A `packctl` command like [`Sandbox::command`] that may use at most `memory_kib` KiB
    /// of virtual memory (`ulimit -v`): an unbounded read into memory fails instead of
    /// eating the machine.
    pub fn capped_command(&self, memory_kib: u64) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit -v {memory_kib}; exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_packctl"));
        self.isolate(&mut cmd);
        // glibc reserves address space per thread for malloc arenas; with the async runtime's
        // threads that reservation, not use, could reach the cap.
        cmd.env("MALLOC_ARENA_MAX", "2");
        cmd
    }

    fn isolate(&self, cmd: &mut Command) {
        let home = self.path().join("home");
        cmd.current_dir(root())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("DOCKER_CONFIG", home.join(".docker"))
            .env("NO_COLOR", "1");
    }

    /// Runs packctl with `args` and collects what it printed.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let output = self.command().args(args).output().expect("packctl runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Copies a folder tree (links as links) into the sandbox and returns the copy.
    pub fn copy(&self, from: &Path, name: &str) -> PathBuf {
        let to = self.path().join(name);
        copy_tree(from, &to);
        to
    }

    /// Filters that make a transcript independent of this sandbox's location.
    pub fn settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        let path = self.path().canonicalize().unwrap();
        settings.add_filter(&regex_escape(&path.display().to_string()), "[SANDBOX]");
        settings.add_filter(
            &regex_escape(&self.path().display().to_string()),
            "[SANDBOX]",
        );
        settings
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if kind.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

pub fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Rewrites the pack.json in `dir` with `edit`, as pretty JSON.
pub fn edit_pack_json(
    dir: &Path,
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) {
    let path = dir.join("pack.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(value.as_object_mut().unwrap());
    std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
}

/// What a folder holds: each file's bytes and executable bit, by relative path.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, (Vec<u8>, bool)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = std::collections::BTreeMap::new();
    fn walk(
        base: &Path,
        dir: &Path,
        out: &mut std::collections::BTreeMap<String, (Vec<u8>, bool)>,
    ) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let meta = std::fs::metadata(&path).unwrap();
            if meta.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let exec = meta.permissions().mode() & 0o100 != 0;
                out.insert(rel, (std::fs::read(&path).unwrap(), exec));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// Panics with an install hint unless `program` is on PATH.
pub fn require_tool(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{program}` is not installed; `bash .ci/run` installs every tool the tests use"
    );
}

/// Runs a prepared command with `input` on stdin.
pub fn run_with_stdin(mut cmd: Command, input: &str) -> Run {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("packctl runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
