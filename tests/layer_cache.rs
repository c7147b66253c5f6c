//! The layer cache: an unchanged pack folder is not compressed again, and any change to it
//! (content, mode, the set of files, the ignore rules) is seen, even one that keeps sizes
//! and modification times.

mod common;

use common::{Sandbox, sample, tree};
use packctl::artifact::{self, Artifact, BlobSource, BuildOptions, Format};
use packctl::pack::Pack;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

/// Files changed less than two seconds ago are never cached: let the copies settle.
fn settle() {
    std::thread::sleep(Duration::from_millis(2100));
}

fn build(dir: &Path, format: Format, cache: Option<&Path>) -> Artifact {
    let (pack, _) = Pack::open(dir).unwrap();
    let mut options = BuildOptions::default();
    options.format = format;
    options.cache_dir = cache.map(Path::to_path_buf);
    artifact::build(&pack, &options).unwrap()
}

/// Builds with the cache and without, and checks that they agree on every digest; says
/// whether the cached build compressed nothing.
fn cached_build_agrees(dir: &Path, format: Format, cache: &Path) -> bool {
    let cached = build(dir, format, Some(cache));
    let fresh = build(dir, format, None);
    assert_eq!(
        cached.digest, fresh.digest,
        "the cache gave another artifact"
    );
    assert!(fresh.deferred().next().is_none());
    let deferred: Vec<_> = cached.deferred().collect();
    for blob in &deferred {
        assert!(matches!(blob.source, BlobSource::Deferred));
    }
    !deferred.is_empty()
}

#[test]
fn the_layer_cache_sees_every_change() {
    let sandbox = Sandbox::new();
    let cache = sandbox.path().join("cache");
    let dir = sandbox.copy(&sample("golden-centos-aws"), "pack");
    settle();
    for format in [Format::Archive, Format::Structured] {
        // The first build compresses and remembers; the second compresses nothing.
        assert!(!cached_build_agrees(&dir, format, &cache));
        assert!(cached_build_agrees(&dir, format, &cache), "{format}");
    }
    assert!(cache.join("layers-v1.json").is_file());

    // Another byte of the same size, with the modification time put back.
    let rules = dir.join("harden_os/files/audit.rules");
    let modified = std::fs::metadata(&rules).unwrap().modified().unwrap();
    let mut text = std::fs::read(&rules).unwrap();
    text[0] ^= 1;
    std::fs::write(&rules, &text).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&rules)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    for format in [Format::Archive, Format::Structured] {
        assert!(!cached_build_agrees(&dir, format, &cache), "{format}");
    }

    // A mode.
    let script = dir.join("harden_os/files/check-hardening.sh");
    let mut mode = std::fs::metadata(&script).unwrap().permissions();
    mode.set_mode(mode.mode() ^ 0o111);
    std::fs::set_permissions(&script, mode).unwrap();
    assert!(!cached_build_agrees(&dir, Format::Archive, &cache));

    // A new file, and a new ignore rule that leaves one out.
    std::fs::write(dir.join("harden_os/files/extra.conf"), "x = 1\n").unwrap();
    assert!(!cached_build_agrees(&dir, Format::Archive, &cache));
    std::fs::write(dir.join(".packignore"), "harden_os/files/extra.conf\n").unwrap();
    assert!(!cached_build_agrees(&dir, Format::Archive, &cache));

    // Once those changes have settled, they are cached in turn.
    settle();
    assert!(!cached_build_agrees(&dir, Format::Archive, &cache));
    assert!(cached_build_agrees(&dir, Format::Archive, &cache));
}

#[test]
fn an_unchanged_archive_push_compresses_nothing_and_a_new_store_gets_the_layer() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("golden-centos-aws"), "pack");
    settle();
    let dir = dir.to_str().unwrap();
    let first = format!("oci:{}", sandbox.path().join("first").display());
    let push = |store: &str| {
        sandbox.run([
            "pack", "push", dir, "-r", store, "--format", "archive", "-vv",
        ])
    };
    let run = push(&first).success();
    assert!(
        !run.stderr.contains("the layer cache knows"),
        "{}",
        run.transcript()
    );
    let run = push(&first).success();
    assert!(
        run.stderr.contains("the layer cache knows"),
        "{}",
        run.transcript()
    );
    assert!(run.stderr.contains("unchanged"), "{}", run.transcript());

    // A store that lacks the layer: the pack is compressed again, to the same digest.
    let second = format!("oci:{}", sandbox.path().join("second").display());
    let pushed = push(&second).success();
    let digest = |out: &str| out.trim().rsplit('@').next().unwrap().to_string();
    assert_eq!(digest(&pushed.stdout), digest(&run.stdout));
    let back = sandbox.path().join("back");
    sandbox
        .run([
            "pack",
            "pull",
            "golden-centos-aws",
            back.to_str().unwrap(),
            "-r",
            &second,
        ])
        .success();
    assert_eq!(tree(&back), tree(Path::new(dir)));
}
