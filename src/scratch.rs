//! Temporary files and folders, named so that a later run can tell a dead writer's from a
//! live one's, and swept when their writer is gone.
//!
//! Every temporary entry packctl makes beside a pull target, inside an `oci:` store or in
//! `$TMPDIR` is named `PREFIX<host>-<pid>-<start>-<random>`:
//!
//! - `PREFIX` is [`HIDDEN_PREFIX`] (`.packctl-tmp-`) beside the files it will become, and
//!   [`BUILD_PREFIX`] (`packctl-build-`) for build folders in `$TMPDIR`;
//! - `host` is eight hex digits naming this boot of this kernel and this PID namespace;
//! - `pid` and `start` are the writer's process id and its start time in clock ticks since
//!   boot (field 22 of `/proc/PID/stat`), which together name one process even after its
//!   id is reused;
//! - `random` keeps the names of one process apart.
//!
//! An entry is swept (removed) only when its name has exactly that shape, its `host` is ours
//! (on a system without `/proc/sys/kernel/random/boot_id`, nothing is swept), and its
//! writer is gone: `kill(pid, 0)` says no such process, or the process with that id
//! started at another time. An entry from another host, another boot, another PID namespace
//! (a container sharing the folder), or an older naming scheme is never touched, because
//! nothing here can tell whether its writer still runs.
//!
//! Why names rather than `flock` on each temporary file: a lock is only taken after the file
//! exists, so a sweeper could take it in that instant and remove a file a live writer is
//! about to use; a name carries its owner from the moment it appears. Folders (a pull's
//! staging area) cannot hold a lock portably either.
//!
//! A folder is swept at most once per process, on the first temporary entry made in it.
//! Entries a run makes are also remembered, so an interrupted run can remove its own with
//! [`remove_own`] after its work has stopped.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

/// The name prefix of temporary entries beside their final place (pull targets, store
/// blobs, index files).
pub const HIDDEN_PREFIX: &str = ".packctl-tmp-";

/// The name prefix of build folders in `$TMPDIR`.
pub const BUILD_PREFIX: &str = "packctl-build-";

/// Who this process is, as written into temporary names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    host: String,
    pid: u32,
    start: u64,
}

impl Owner {
    fn token(&self) -> String {
        format!("{}-{}-{}-", self.host, self.pid, self.start)
    }
}

static ME: LazyLock<Owner> = LazyLock::new(|| {
    let pid = std::process::id();
    Owner {
        host: host_tag(),
        pid,
        start: start_time(pid).unwrap_or(0),
    }
});

/// Folders (and name prefixes) this process made temporary entries in, for [`remove_own`].
static USED: Mutex<BTreeSet<(PathBuf, &'static str)>> = Mutex::new(BTreeSet::new());

/// Folders (and name prefixes) already swept by this process.
static SWEPT: Mutex<BTreeSet<(PathBuf, &'static str)>> = Mutex::new(BTreeSet::new());

/// Eight hex digits naming this boot and PID namespace; process ids mean nothing outside them.
fn host_tag() -> String {
    use sha2::{Digest, Sha256};
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let namespace = fs::read_link("/proc/self/ns/pid")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let hash = Sha256::digest(format!("{}\n{namespace}", boot.trim()).as_bytes());
    hash[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// A process's start time in clock ticks since boot, where `/proc` tells it.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses; fields after it do not.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// When the oldest packctl process still running on this machine started (this one
/// included): a store's writers are packctl processes, and what they may be about to name
/// in an index is never older than they are. `None` where `/proc` does not tell.
pub fn oldest_packctl_start() -> Option<std::time::SystemTime> {
    // Ages come from the clock process start times count on (seconds since boot, as
    // /proc/uptime gives it), then go back from now: `btime` of /proc/stat drifts from the
    // wall clock by seconds on virtual machines.
    let uptime: f64 = fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .ok()?
        .max(1);
    let mut oldest: Option<u64> = None;
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let is_packctl = fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| {
            exe.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("packctl"))
        }) || fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| c.trim().starts_with("packctl"));
        if is_packctl && let Some(start) = start_time(pid) {
            oldest = Some(oldest.map_or(start, |o| o.min(start)));
        }
    }
    let started = oldest? as f64 / ticks as f64;
    let age = std::time::Duration::from_secs_f64((uptime - started).max(0.0));
    std::time::SystemTime::now().checked_sub(age)
}

/// Whether the process `pid` exists (a process of another user counts).
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// The owner written into `name`, if it is a temporary name with `prefix`.
fn parse(name: &str, prefix: &str) -> Option<Owner> {
    let rest = name.strip_prefix(prefix)?;
    let mut parts = rest.splitn(4, '-');
    let host = parts.next()?;
    let pid = parts.next()?;
    let start = parts.next()?;
    let random = parts.next()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if host.len() != 8
        || !host.bytes().all(|b| b.is_ascii_hexdigit())
        || !digits(pid)
        || !digits(start)
        || random.is_empty()
    {
        return None;
    }
    Some(Owner {
        host: host.to_string(),
        pid: pid.parse().ok()?,
        start: start.parse().ok()?,
    })
}

/// Whether this system says which boot it is; without that, process ids in names could be
/// another machine's, and nothing is swept.
static KNOWS_BOOT: LazyLock<bool> = LazyLock::new(|| {
    fs::read_to_string("/proc/sys/kernel/random/boot_id").is_ok_and(|b| !b.trim().is_empty())
});

/// Whether the writer named by `owner` is certainly gone.
fn is_dead(owner: &Owner) -> bool {
    if !*KNOWS_BOOT || owner.host != ME.host {
        return false;
    }
    if owner == &*ME {
        return false;
    }
    if !process_exists(owner.pid) {
        return true;
    }
    // A process with that id runs; it is the writer unless it started at another time.
    matches!(start_time(owner.pid), Some(start) if start != owner.start)
}

/// How many times a folder is walked for removal, when work still writing into it makes
/// a walk fail (a folder not empty by the time it is removed).
const REMOVE_ATTEMPTS: usize = 3;

fn remove_entry(path: &Path) {
    // Best effort: another sweeper may be removing the same entry.
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            for _ in 0..REMOVE_ATTEMPTS {
                if fs::remove_dir_all(path).is_ok() || !path.exists() {
                    break;
                }
            }
        }
        Ok(_) => {
            let _ = fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// Removes the entries of `dir` named with `prefix` whose writer is gone; returns how many.
///
/// Errors are ignored: sweeping is tidying, and never the reason a command fails.
pub fn sweep(dir: &Path, prefix: &str) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(|n| parse(n, prefix)) else {
            continue;
        };
        if is_dead(&owner) {
            remove_entry(&entry.path());
            removed += 1;
        }
    }
    removed
}

/// Sweeps `dir` for `prefix` the first time this process makes a temporary entry there,
/// remembers it for [`remove_own`], and returns the name prefix of this process's entries.
fn prepare(dir: &Path, prefix: &'static str) -> String {
    let key = (dir.to_path_buf(), prefix);
    let first = SWEPT
        .lock()
        .is_ok_and(|mut swept| swept.insert(key.clone()));
    if first {
        sweep(dir, prefix);
    }
    if let Ok(mut used) = USED.lock() {
        used.insert(key);
    }
    format!("{prefix}{}", ME.token())
}

/// A new temporary file in `dir` (which must exist), removed when dropped unless persisted.
pub fn file_in(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    let prefix = prepare(dir, HIDDEN_PREFIX);
    tempfile::Builder::new().prefix(&prefix).tempfile_in(dir)
}

/// Writes `bytes` to `path` through a temporary file in the same folder, flushed to disk and
/// renamed over `path`: a reader sees the old content or the new, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut tmp = file_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A new temporary folder in `dir` (which must exist), removed when dropped unless kept.
pub fn dir_in(dir: &Path) -> io::Result<tempfile::TempDir> {
    let prefix = prepare(dir, HIDDEN_PREFIX);
    tempfile::Builder::new().prefix(&prefix).tempdir_in(dir)
}

/// A new build folder in `$TMPDIR`, removed when dropped.
pub fn build_dir() -> io::Result<tempfile::TempDir> {
    let dir = std::env::temp_dir();
    let prefix = prepare(&dir, BUILD_PREFIX);
    tempfile::Builder::new().prefix(&prefix).tempdir_in(dir)
}

/// Removes every temporary entry this process made and still has.
///
/// For an interrupted run, once its work has stopped: work cut short on another thread may
/// have recreated a folder after its owner removed it.
pub fn remove_own() {
    let used = match USED.lock() {
        Ok(used) => used.clone(),
        Err(_) => return,
    };
    for (dir, prefix) in used {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_str().and_then(|n| parse(n, prefix)).as_ref() == Some(&*ME) {
                remove_entry(&entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_of(owner: &Owner, prefix: &str) -> String {
        format!("{prefix}{}abc123", owner.token())
    }

    #[test]
    fn names_carry_their_owner() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_in(dir.path()).unwrap();
        let name = file.path().file_name().unwrap().to_str().unwrap();
        assert_eq!(parse(name, HIDDEN_PREFIX).as_ref(), Some(&*ME));
        assert!(parse(".packctl-abc123", HIDDEN_PREFIX).is_none());
        assert!(parse(".packctl-tmp-zzzzzzzz-1-2-x", HIDDEN_PREFIX).is_none());
        assert!(parse(".packctl-tmp-0123abcd-1-2-", HIDDEN_PREFIX).is_none());
    }

    #[test]
    fn sweeps_only_dead_writers() {
        let dir = tempfile::tempdir().unwrap();
        let mut live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        gone.wait().unwrap();
        let live_owner = Owner {
            host: ME.host.clone(),
            pid: live.id(),
            start: start_time(live.id()).unwrap(),
        };
        let dead_owner = Owner {
            host: ME.host.clone(),
            pid: gone.id(),
            start: 1,
        };
        let reused = Owner {
            start: live_owner.start + 1,
            ..live_owner.clone()
        };
        let elsewhere = Owner {
            host: "00000000".into(),
            ..dead_owner.clone()
        };
        for owner in [&live_owner, &dead_owner, &reused, &elsewhere, &*ME] {
            fs::write(dir.path().join(name_of(owner, HIDDEN_PREFIX)), b"x").unwrap();
        }
        fs::create_dir(dir.path().join(name_of(&dead_owner, BUILD_PREFIX))).unwrap();
        fs::write(dir.path().join(".packctl-old"), b"x").unwrap();

        assert_eq!(sweep(dir.path(), HIDDEN_PREFIX), 2);
        let left = |owner: &Owner, prefix: &str| dir.path().join(name_of(owner, prefix)).exists();
        assert!(left(&live_owner, HIDDEN_PREFIX));
        assert!(!left(&dead_owner, HIDDEN_PREFIX));
        assert!(!left(&reused, HIDDEN_PREFIX));
        assert!(left(&elsewhere, HIDDEN_PREFIX));
        assert!(left(&ME, HIDDEN_PREFIX));
        assert!(left(&dead_owner, BUILD_PREFIX));
        assert!(dir.path().join(".packctl-old").exists());
        assert_eq!(sweep(dir.path(), BUILD_PREFIX), 1);
        live.kill().unwrap();
        live.wait().unwrap();
    }
}
