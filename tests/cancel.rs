//! A program that embeds the library drops futures: at a timeout, in a `select!`, when a task
//! is aborted. Whenever a push or a pull is dropped, nothing it made may stay behind: no
//! temporary file in the store, no half-written pull target, no build folder.

use packctl::artifact::Format;
use packctl::oci::{Location, PackRef};
use packctl::ops::{Located, PullOptions, PushOptions, pull, push};
use packctl::progress::{SharedReporter, Silent};
use packctl::store::{OpenOptions, Store};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

/// A pack of many small files, so that building, unpacking and validating take long enough
/// to be interrupted in the middle.
fn many_file_pack(dir: &Path) -> PathBuf {
    let pack = dir.join("many");
    std::fs::create_dir_all(pack.join("manifests")).unwrap();
    let manifests: Vec<String> = (0..150)
        .map(|i| format!("manifests/m{i:03}.yaml"))
        .collect();
    for (i, path) in manifests.iter().enumerate() {
        let body = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m{i}\ndata:\n  pad: \"{}\"\n",
            "x".repeat(2000 + i)
        );
        std::fs::write(pack.join(path), body).unwrap();
    }
    let metadata = serde_json::json!({
        "name": "many-files",
        "displayName": "Many files",
        "layer": "addon",
        "addonType": "system app",
        "version": "1.0.0",
        "cloudTypes": ["all"],
        "kubeManifests": manifests,
    });
    std::fs::write(pack.join("pack.json"), metadata.to_string()).unwrap();
    std::fs::write(pack.join("values.yaml"), "pack:\n  namespace: many\n").unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/packs/hello-chart/logo.png"),
        pack.join("logo.png"),
    )
    .unwrap();
    pack
}

/// Runs `make()`'s future on a fresh runtime for at most `polls` polls, then drops it and
/// shuts the runtime down, which waits for the blocking work it started. `Some` when it
/// finished first.
fn run_for<F, T>(polls: usize, make: impl FnOnce() -> F) -> Option<T>
where
    F: Future<Output = T>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let finished = runtime.block_on(async {
        let mut future = pin!(make());
        for _ in 0..polls {
            let polled = std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await;
            if let Poll::Ready(output) = polled {
                return Some(output);
            }
            tokio::time::sleep(std::time::Duration::from_micros(200)).await;
        }
        None
    });
    drop(runtime);
    finished
}

/// Every entry under `dir` whose name marks it as packctl's temporary file or folder.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(packctl::scratch::HIDDEN_PREFIX)
            || name.starts_with(packctl::scratch::BUILD_PREFIX)
        {
            found.push(path.clone());
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(temporaries(&path));
        }
    }
    found
}

/// This process's build folders in the system's temporary folder.
fn own_build_folders() -> Vec<PathBuf> {
    let pid = format!("-{}-", std::process::id());
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(packctl::scratch::BUILD_PREFIX) && name.contains(&pid)
        })
        .collect()
}

fn oci(path: &Path) -> Store {
    let location = Location::parse(&format!("oci:{}", path.display())).unwrap();
    Store::open_blocking(&location, &OpenOptions::default()).unwrap()
}

/// The tests here look for this process's temporary folders: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_dropped_push_or_pull_leaves_nothing_behind() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let pack = many_file_pack(dir.path());
    let silent: SharedReporter = Arc::new(Silent);

    // Pushes in both encodings, dropped after ever more polls, until one finishes.
    for format in [Format::Structured, Format::Archive] {
        let store_dir = dir.path().join(format!("store-{format}"));
        let store = oci(&store_dir);
        let mut options = PushOptions::default();
        options.build.format = format;
        let mut dropped = 0;
        let mut polls = 1;
        loop {
            let outcome = run_for(polls, || push(&store, &pack, &options, &silent));
            let left = temporaries(&store_dir);
            assert!(
                left.is_empty(),
                "a push dropped after {polls} polls left {left:?}"
            );
            let builds = own_build_folders();
            assert!(
                builds.is_empty(),
                "a push dropped after {polls} polls left {builds:?}"
            );
            match outcome {
                Some(result) => {
                    result.unwrap();
                    break;
                }
                None => dropped += 1,
            }
            polls += 1;
            assert!(polls < 5000, "the push never finished");
        }
        assert!(
            dropped >= 2,
            "only {dropped} {format} pushes were interrupted"
        );
    }

    // Pulls into a folder that does not exist yet, dropped likewise.
    let store = oci(&dir.path().join("store-structured"));
    let pack_ref: PackRef = "many-files:1.0.0".parse().unwrap();
    let located = Located::pack(&store, &pack_ref);
    let pull_options = PullOptions::default();
    let mut dropped = 0;
    let mut polls = 1;
    loop {
        let parent = dir.path().join(format!("pulls/{polls}"));
        let target = parent.join("many-files");
        let outcome = run_for(polls, || {
            pull(&store, &located, &target, &pull_options, &silent)
        });
        match outcome {
            Some(result) => {
                result.unwrap();
                assert!(target.join("pack.json").is_file());
                assert!(temporaries(&parent).is_empty());
                break;
            }
            None => {
                dropped += 1;
                // Either the pull got as far as the rename, or nothing of it is left: not
                // the target, not its staging folders, not the folders made for it.
                if target.exists() {
                    assert!(target.join("pack.json").is_file());
                    assert!(temporaries(&parent).is_empty());
                } else {
                    assert!(
                        !parent.exists(),
                        "a pull dropped after {polls} polls left {:?}",
                        temporaries(&dir.path().join("pulls"))
                    );
                }
            }
        }
        polls += 1;
        assert!(polls < 5000, "the pull never finished");
    }
    assert!(dropped >= 2, "only {dropped} pulls were interrupted");
}

#[test]
fn a_dropped_export_leaves_no_file_and_no_temporary() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let pack = many_file_pack(dir.path());
    let silent: SharedReporter = Arc::new(Silent);
    let store = oci(&dir.path().join("store"));
    let push_options = PushOptions::default();
    run_for(usize::MAX, || push(&store, &pack, &push_options, &silent))
        .unwrap()
        .unwrap();
    let pack_ref: PackRef = "many-files:1.0.0".parse().unwrap();
    let located = vec![Located::pack(&store, &pack_ref)];
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("packs.tar");
    let options = packctl::ops::ExportOptions::default();
    let mut dropped = 0;
    let mut polls = 1;
    loop {
        let outcome = run_for(polls, || {
            packctl::ops::export(&store, &located, &file, &options, &silent)
        });
        let left = temporaries(&out);
        assert!(
            left.is_empty(),
            "an export dropped after {polls} polls left {left:?}"
        );
        match outcome {
            Some(result) => {
                result.unwrap();
                assert!(file.is_file());
                break;
            }
            None => {
                dropped += 1;
                // Either it had sent everything and the file is whole, or there is none.
                if file.exists() {
                    let runtime = tokio::runtime::Runtime::new().unwrap();
                    let archive = runtime
                        .block_on(packctl::store::ArchiveStore::open(&file, None))
                        .unwrap_or_else(|e| panic!("an export dropped after {polls} polls: {e}"));
                    assert_eq!(archive.entries().len(), 1);
                    std::fs::remove_file(&file).unwrap();
                }
            }
        }
        polls += 1;
        assert!(polls < 5000, "the export never finished");
    }
    assert!(dropped >= 2, "only {dropped} exports were interrupted");
}
