//! Pack artifacts in the embedded `oci:` store: round trips, reproducible digests, interop
//! with oci-image-tool, skopeo and the image-spec JSON schema, push rules, and hostile
//! artifacts that must be refused.

mod common;

use common::{Sandbox, require_tool, root, sample, tree};
use packctl::artifact::{self, BuildOptions, Format};
use packctl::oci::{Descriptor, Digest, Manifest, annotation, media_type};
use packctl::pack::Pack;
use packctl::store::Layout;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const SAMPLES: [&str; 3] = ["golden-centos-aws", "hello-chart", "hello-manifests"];

fn build(dir: &Path, format: Format) -> artifact::Artifact {
    let (pack, _) = Pack::open(dir).unwrap();
    artifact::build(&pack, &{
        let mut options = BuildOptions::default();
        options.format = format;
        options.created = None;
        options
    })
    .unwrap()
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Structured => "structured",
        Format::Archive => "archive",
        _ => unreachable!("a format the test does not know"),
    }
}

#[test]
fn round_trip_every_sample_and_format() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    for format in [Format::Structured, Format::Archive] {
        for name in SAMPLES {
            let store = format!("{store}-{}", format_name(format));
            let dir = format!("testdata/packs/{name}");
            sandbox
                .run([
                    "pack",
                    "push",
                    &dir,
                    "-r",
                    &store,
                    "--format",
                    format_name(format),
                ])
                .success();
            let target = sandbox
                .path()
                .join(format!("pulled-{}-{name}", format_name(format)));
            let run = sandbox
                .run(["pack", "pull", name, target.to_str().unwrap(), "-r", &store])
                .success();
            assert!(
                run.stderr
                    .contains(&format!("{} encoding", format_name(format))),
                "{}",
                run.stderr
            );
            let original = tree(&sample(name));
            let pulled = tree(&target);
            assert_eq!(
                original.keys().collect::<Vec<_>>(),
                pulled.keys().collect::<Vec<_>>(),
                "{name} {format:?}: file lists differ"
            );
            for (path, (bytes, exec)) in &original {
                let (got, got_exec) = &pulled[path];
                assert!(bytes == got, "{name} {format:?}: {path} differs");
                assert_eq!(
                    exec, got_exec,
                    "{name} {format:?}: executable bit of {path}"
                );
            }
        }
    }
    let exec = tree(&sandbox.path().join("pulled-structured-golden-centos-aws"));
    assert!(
        exec["harden_os/files/check-hardening.sh"].1,
        "the test must cover an executable file"
    );
}

/// Copies a pack so that nothing but the bytes and the executable bits match the original.
fn scrambled_copy(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut entries: Vec<PathBuf> = Vec::new();
    fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                collect(&p, out);
            }
            out.push(p);
        }
    }
    collect(from, &mut entries);
    // Create in reverse order, so that directory listings differ from the original's.
    entries.sort();
    entries.reverse();
    fs::create_dir_all(to).unwrap();
    for src in &entries {
        let rel = src.strip_prefix(from).unwrap();
        let dst = to.join(rel);
        if src.is_dir() {
            fs::create_dir_all(&dst).unwrap();
            continue;
        }
        fs::create_dir_all(dst.parent().unwrap()).unwrap();
        fs::copy(src, &dst).unwrap();
        let exec = fs::metadata(src).unwrap().permissions().mode() & 0o100 != 0;
        // Other mode bits differ from the original: only the executable bit counts.
        fs::set_permissions(
            &dst,
            fs::Permissions::from_mode(if exec { 0o700 } else { 0o600 }),
        )
        .unwrap();
        let file = fs::File::options().write(true).open(&dst).unwrap();
        file.set_modified(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_234_567_890),
        )
        .unwrap();
        // As root, other owners too.
        let _ = std::os::unix::fs::chown(&dst, Some(4321), Some(4321));
    }
    for src in &entries {
        if src.is_dir() {
            let dst = to.join(src.strip_prefix(from).unwrap());
            fs::set_permissions(&dst, fs::Permissions::from_mode(0o700)).unwrap();
        }
    }
}

#[test]
fn builds_are_reproducible_from_any_copy() {
    let sandbox = Sandbox::new();
    for name in SAMPLES {
        let copy = sandbox.path().join(format!("copy-{name}"));
        scrambled_copy(&sample(name), &copy);
        for format in [Format::Structured, Format::Archive] {
            let a = build(&sample(name), format);
            let b = build(&copy, format);
            assert_eq!(a.digest, b.digest, "{name} {format:?}");
            assert_eq!(a.manifest_bytes, b.manifest_bytes);
            let c = build(&copy, format);
            assert_eq!(
                b.digest, c.digest,
                "{name} {format:?}: two builds of one folder differ"
            );
        }
    }
}

/// The manifest digest of every sample in both encodings. A change here is a change of the
/// artifact format: document it in docs/format.md before updating these.
const PINNED: &[(&str, Format, &str)] = &[
    (
        "golden-centos-aws",
        Format::Structured,
        "sha256:b5143022cac96844bf8458b32a41cd5f18416deb71d3bb2c930ade98d0b3bdb3",
    ),
    (
        "hello-chart",
        Format::Structured,
        "sha256:3b567493a6a5fcf5e04a140b98098b7da37c948c8dace7a9145bf7b46593c6f9",
    ),
    (
        "hello-manifests",
        Format::Structured,
        "sha256:97a54879d4c19279d20e88b42b286df78aa63caac4b132514166a564fd1f066b",
    ),
    (
        "golden-centos-aws",
        Format::Archive,
        "sha256:c6d2bafaa6d0a2bf878449f901cda3fdfaf3d7efc5a6d5304e4646843be90f6c",
    ),
    (
        "hello-chart",
        Format::Archive,
        "sha256:824ab12ef02ff0feef8793188c3bd08128291bd470ee6cb1ba4d65793cf6ba17",
    ),
    (
        "hello-manifests",
        Format::Archive,
        "sha256:ca2d8593ab9e9099356aa0266f02f08d89cf221eaebc567844a26868544d13a0",
    ),
];

#[test]
fn sample_digests_are_pinned() {
    let mut actual = Vec::new();
    for (name, format, _) in PINNED {
        actual.push((
            *name,
            *format,
            build(&sample(name), *format).digest.to_string(),
        ));
    }
    let expected: Vec<_> = PINNED
        .iter()
        .map(|(n, f, d)| (*n, *f, d.to_string()))
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn source_date_epoch_sets_only_the_created_annotation() {
    let sandbox = Sandbox::new();
    let out = |n: &str| sandbox.path().join(n);
    let run = sandbox
        .command()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args([
            "pack",
            "build",
            "testdata/packs/hello-chart",
            "--oci-layout",
        ])
        .arg(out("dated"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let dated = Layout::at(out("dated"));
    let descriptor = dated.resolve("0.1.0").unwrap().unwrap();
    let manifest =
        Manifest::from_slice(&dated.manifest(&descriptor.digest, "dated").unwrap()).unwrap();
    assert_eq!(
        manifest.annotations[annotation::CREATED],
        "2023-11-14T22:13:20Z"
    );

    let plain = build(&sample("hello-chart"), Format::Structured);
    assert_ne!(plain.digest, descriptor.digest);
    assert_eq!(
        plain.manifest.layers, manifest.layers,
        "only the annotation may differ"
    );
    assert_eq!(plain.manifest.config, manifest.config);
    let mut without = manifest.clone();
    without.annotations.remove(annotation::CREATED);
    assert_eq!(without, plain.manifest);

    let run = sandbox
        .command()
        .env("SOURCE_DATE_EPOCH", "yesterday")
        .args([
            "pack",
            "build",
            "testdata/packs/hello-chart",
            "--oci-layout",
        ])
        .arg(out("bad"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("SOURCE_DATE_EPOCH `yesterday`"));
    assert!(!out("bad").exists());
}

fn schema_dir() -> PathBuf {
    PathBuf::from("/usr/share/gocode/src/github.com/opencontainers/image-spec/schema")
}

#[test]
fn layouts_pass_oci_image_tool_skopeo_and_the_schema() {
    require_tool("oci-image-tool");
    require_tool("skopeo");
    assert!(
        schema_dir().join("image-manifest-schema.json").is_file(),
        "the image-spec schemas are missing; install golang-github-opencontainers-image-spec-dev"
    );
    let sandbox = Sandbox::new();
    for format in [Format::Structured, Format::Archive] {
        for name in SAMPLES {
            let out = sandbox
                .path()
                .join(format!("{name}-{}", format_name(format)));
            sandbox
                .run([
                    "pack",
                    "build",
                    &format!("testdata/packs/{name}"),
                    "--oci-layout",
                    out.to_str().unwrap(),
                    "--format",
                    format_name(format),
                ])
                .success();
            let check = |args: &[&str]| {
                let output = Command::new(args[0]).args(&args[1..]).output().unwrap();
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
                assert!(output.status.success(), "{args:?} failed:\n{text}");
                text
            };
            let index = out.join("index.json");
            let text = check(&[
                "oci-image-tool",
                "validate",
                "--type",
                "imageIndex",
                index.to_str().unwrap(),
            ]);
            assert!(text.contains("Validation succeeded"), "{text}");

            let layout = Layout::at(&out);
            let tag = layout.tags().unwrap().pop().unwrap();
            let descriptor = layout.resolve(&tag).unwrap().unwrap();
            let blob = layout.blob_path(&descriptor.digest);
            let text = check(&[
                "oci-image-tool",
                "validate",
                "--type",
                "manifest",
                blob.to_str().unwrap(),
            ]);
            assert!(text.contains("Validation succeeded"), "{text}");

            let raw = Command::new("skopeo")
                .args(["inspect", "--raw"])
                .arg(format!("oci:{}:{tag}", out.display()))
                .output()
                .unwrap();
            assert!(
                raw.status.success(),
                "{}",
                String::from_utf8_lossy(&raw.stderr)
            );
            assert_eq!(
                raw.stdout,
                fs::read(&blob).unwrap(),
                "skopeo read other bytes"
            );

            let schema = root().join("tests/support/check_schema.py");
            let text = check(&[
                "python3",
                schema.to_str().unwrap(),
                schema_dir().to_str().unwrap(),
                "image-manifest-schema.json",
                blob.to_str().unwrap(),
            ]);
            assert!(text.contains("valid"), "{text}");
            let text = check(&[
                "python3",
                schema.to_str().unwrap(),
                schema_dir().to_str().unwrap(),
                "image-index-schema.json",
                index.to_str().unwrap(),
            ]);
            assert!(text.contains("valid"), "{text}");
        }
    }
}

#[test]
fn the_schema_check_can_fail() {
    let sandbox = Sandbox::new();
    let bad = sandbox.path().join("bad.json");
    fs::write(&bad, r#"{"schemaVersion": 3, "config": {}, "layers": []}"#).unwrap();
    let output = Command::new("python3")
        .arg(root().join("tests/support/check_schema.py"))
        .arg(schema_dir())
        .arg("image-manifest-schema.json")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "an invalid manifest passed the schema check"
    );
}

fn push(sandbox: &Sandbox, dir: &Path, store: &str, extra: &[&str]) -> common::Run {
    let mut args = vec!["pack", "push", dir.to_str().unwrap(), "-r", store];
    args.extend_from_slice(extra);
    sandbox.run(args)
}

#[test]
fn push_rules_unchanged_refused_and_forced() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    let dir = sandbox.copy(&sample("hello-chart"), "hello-chart");
    let first = push(&sandbox, &dir, &store, &[]).success();
    let digest_one = first.stdout.trim().rsplit('@').next().unwrap().to_string();

    let blob_dir = sandbox
        .path()
        .join("store/spectro-packs/archive/hello-chart/blobs/sha256");
    let times = |dir: &Path| -> Vec<_> {
        let mut v: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name(), e.metadata().unwrap().modified().unwrap())
            })
            .collect();
        v.sort();
        v
    };
    let before = times(&blob_dir);
    let again = push(&sandbox, &dir, &store, &[]).success();
    assert_eq!(again.stdout, first.stdout);
    assert!(again.stderr.contains("unchanged"), "{}", again.stderr);
    assert_eq!(times(&blob_dir), before, "an unchanged push rewrote blobs");
    let json = push(&sandbox, &dir, &store, &["--output", "json"]).success();
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["status"], "unchanged");
    assert_eq!(json["blobs"]["transferred"], 0);
    assert_eq!(json["blobs"]["present"], 6);

    fs::write(dir.join("values.yaml"), "pack:\n  namespace: changed\n").unwrap();
    let refused = push(&sandbox, &dir, &store, &[]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("hint: pass -f to overwrite it"),
        "{}",
        refused.stderr
    );
    sandbox
        .settings()
        .bind(|| insta::assert_snapshot!("push-refused", refused.transcript()));
    let layout = Layout::at(
        sandbox
            .path()
            .join("store/spectro-packs/archive/hello-chart"),
    );
    assert_eq!(
        layout.resolve("0.1.0").unwrap().unwrap().digest.as_str(),
        digest_one,
        "the tag moved"
    );

    let forced = push(&sandbox, &dir, &store, &["-f"]).success();
    assert!(
        forced.stderr.contains(&format!(
            "overwrote {} (was {digest_one})",
            store.clone() + "/spectro-packs/archive/hello-chart:0.1.0"
        )),
        "{}",
        forced.stderr
    );
    let digest_two = forced.stdout.trim().rsplit('@').next().unwrap();
    assert_ne!(digest_two, digest_one);
    assert_eq!(
        layout.resolve("0.1.0").unwrap().unwrap().digest.as_str(),
        digest_two
    );
    assert_eq!(
        layout.tags().unwrap(),
        ["0.1.0"],
        "a tag appears once in index.json"
    );
}

#[test]
fn cli_transcripts_for_push_pull_ls_and_inspect() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("packs").display());
    let settings = sandbox.settings();
    settings.bind(|| {
        let run = sandbox.run(["pack", "push", "testdata/packs/hello-chart", "-r", &store]);
        insta::assert_snapshot!("push-hello-chart", run.success().transcript());
        sandbox
            .run([
                "pack",
                "push",
                "testdata/packs/golden-centos-aws",
                "-r",
                &store,
            ])
            .success();
        let run = sandbox.run(["pack", "ls", "-r", &store]);
        insta::assert_snapshot!("ls", run.success().transcript());
        let run = sandbox.run(["pack", "inspect", "hello-chart:0.1.0", "-r", &store]);
        insta::assert_snapshot!("inspect-hello-chart", run.success().transcript());
        let target = sandbox.path().join("out");
        let run = sandbox.run([
            "pack",
            "pull",
            "hello-chart:0.1.0",
            target.to_str().unwrap(),
            "-r",
            &store,
        ]);
        insta::assert_snapshot!("pull-hello-chart", run.success().transcript());
        let run = sandbox.run([
            "pack",
            "inspect",
            "hello-chart",
            "-r",
            &store,
            "--output",
            "json",
        ]);
        let json: serde_json::Value = serde_json::from_str(&run.success().stdout).unwrap();
        assert_eq!(json["pack"]["name"], "hello-chart");
        assert_eq!(json["encoding"], "structured");
        assert_eq!(json["manifest"]["artifactType"], media_type::PACK);
        let run = sandbox.run([
            "pack",
            "ls",
            "-r",
            &store,
            "-n",
            "golden-centos-aws",
            "--output",
            "json",
        ]);
        let json: serde_json::Value = serde_json::from_str(&run.success().stdout).unwrap();
        assert_eq!(json[0]["tags"][0]["version"], "7.7.1908");
        assert_eq!(json.as_array().unwrap().len(), 1);
    });
}

#[test]
fn pull_picks_the_highest_version_or_a_digest() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    let dir = sandbox.copy(&sample("hello-manifests"), "pack");
    let first = push(&sandbox, &dir, &store, &[]).success();
    let pack_json = dir.join("pack.json");
    let text = fs::read_to_string(&pack_json)
        .unwrap()
        .replace("1.2.0+build.7", "1.10.0");
    fs::write(&pack_json, text).unwrap();
    push(&sandbox, &dir, &store, &[]).success();

    let highest = sandbox.path().join("highest");
    let run = sandbox
        .run([
            "pack",
            "pull",
            "hello-manifests",
            highest.to_str().unwrap(),
            "-r",
            &store,
        ])
        .success();
    assert!(run.stdout.contains(":1.10.0@"), "{}", run.stdout);

    let digest = first.stdout.trim().rsplit('@').next().unwrap();
    let by_digest = sandbox.path().join("by-digest");
    let run = sandbox
        .run([
            "pack",
            "pull",
            &format!("hello-manifests@{digest}"),
            by_digest.to_str().unwrap(),
            "-r",
            &store,
        ])
        .success();
    assert!(
        run.stdout.ends_with(&format!("@{digest}\n")),
        "{}",
        run.stdout
    );
    assert!(
        fs::read_to_string(by_digest.join("pack.json"))
            .unwrap()
            .contains("1.2.0+build.7")
    );
}

#[test]
fn pull_never_writes_over_a_folder() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    sandbox
        .run(["pack", "push", "testdata/packs/hello-chart", "-r", &store])
        .success();
    let target = sandbox.path().join("busy");
    fs::create_dir_all(&target).unwrap();
    fs::write(target.join("mine.txt"), "keep me").unwrap();
    let run = sandbox.run([
        "pack",
        "pull",
        "hello-chart",
        target.to_str().unwrap(),
        "-r",
        &store,
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("already exists and is not empty"),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read_dir(&target).unwrap().count(), 1);

    let empty = sandbox.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    sandbox
        .run([
            "pack",
            "pull",
            "hello-chart",
            empty.to_str().unwrap(),
            "-r",
            &store,
        ])
        .success();
    assert!(empty.join("pack.json").is_file());

    let missing = sandbox.run(["pack", "pull", "hello-chart:9.9.9", "x", "-r", &store]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("hello-chart:9.9.9 does not exist"),
        "{}",
        missing.stderr
    );
    let none = sandbox.run(["pack", "pull", "nothing-here", "x", "-r", &store]);
    assert_eq!(none.code, 1);
    assert!(
        none.stderr.contains("holds no versions of `nothing-here`"),
        "{}",
        none.stderr
    );
}

// ----- hostile artifacts -----

/// Writes an artifact straight into a layout, bypassing every check packctl makes.
struct Crafted {
    layout: Layout,
}

impl Crafted {
    fn new(store: &Path, name: &str) -> Self {
        let layout = Layout::at(store.join("spectro-packs/archive").join(name));
        layout.create().unwrap();
        Crafted { layout }
    }

    fn blob(&self, bytes: &[u8]) -> Digest {
        let digest = Digest::of(bytes);
        fs::write(self.layout.blob_path(&digest), bytes).unwrap();
        digest
    }

    fn layer(&self, media: &str, title: &str, bytes: &[u8]) -> Descriptor {
        Descriptor::new(media, self.blob(bytes), bytes.len() as u64)
            .annotate(annotation::TITLE, title)
    }

    fn tag(&self, layers: Vec<Descriptor>) {
        let config = b"{}";
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(media_type::MANIFEST.into()),
            artifact_type: None,
            config: Descriptor::new(media_type::UNKNOWN_CONFIG, self.blob(config), 2),
            layers,
            subject: None,
            annotations: Default::default(),
        };
        self.tag_raw(&manifest.to_canonical_json());
    }

    fn tag_raw(&self, bytes: &[u8]) {
        let digest = self.blob(bytes);
        let d = Descriptor::new(media_type::MANIFEST, digest, bytes.len() as u64);
        self.layout.put_manifest(&d, bytes, Some("1.0.0")).unwrap();
    }
}

/// A tar.gz with one raw entry, written header by header so that any name can be used.
fn tar_gz(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (name, kind, link, data) in entries {
        let mut header = tar::Header::new_gnu();
        let raw = &mut header.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(*kind);
        header.set_mode(0o644);
        header.set_size(data.len() as u64);
        if !link.is_empty() {
            header.set_link_name(link).unwrap();
        }
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// Tags the sample's files plus one more layer.
fn plus(c: &Crafted, extra: Descriptor) {
    let mut layers = good_files(c);
    layers.push(extra);
    c.tag(layers);
}

fn good_files(c: &Crafted) -> Vec<Descriptor> {
    let dir = sample("hello-manifests");
    [
        "pack.json",
        "values.yaml",
        "logo.png",
        "manifests/namespace.yaml",
        "manifests/app.yaml",
        "README.md",
    ]
    .iter()
    .map(|f| {
        c.layer(
            "application/octet-stream",
            f,
            &fs::read(dir.join(f)).unwrap(),
        )
    })
    .collect()
}

#[test]
fn a_plain_oras_style_artifact_of_pack_files_pulls_as_a_pack() {
    let sandbox = Sandbox::new();
    let store = sandbox.path().join("store");
    let c = Crafted::new(&store, "from-oras");
    c.tag(good_files(&c));
    let target = sandbox.path().join("out");
    let run = sandbox
        .run([
            "pack",
            "pull",
            "from-oras:1.0.0",
            target.to_str().unwrap(),
            "-r",
            &format!("oci:{}", store.display()),
        ])
        .success();
    assert!(run.stderr.contains("files encoding"), "{}", run.stderr);
    assert_eq!(tree(&target), tree(&sample("hello-manifests")));
}

#[test]
fn hostile_artifacts_are_refused_and_leave_nothing() {
    let sandbox = Sandbox::new();
    let store = sandbox.path().join("store");
    // A role layer holding one raw tar entry: name, type, link target.
    let role = |c: &Crafted, name: &str, kind: tar::EntryType, link: &str| {
        c.layer(
            media_type::TAR_GZIP,
            "harden_os",
            &tar_gz(&[(name, kind, link, b"x")]),
        )
        .annotate(annotation::ORAS_UNPACK, "true")
    };
    type Case = (&'static str, Box<dyn Fn(&Crafted)>, &'static str);
    let cases: Vec<Case> = vec![
        (
            "dotdot-title",
            Box::new(|c| plus(c, c.layer("text/plain", "../escape.txt", b"x"))),
            "layer title `../escape.txt` is refused: it leaves the target folder",
        ),
        (
            "absolute-title",
            Box::new(|c| plus(c, c.layer("text/plain", "/tmp/escape.txt", b"x"))),
            "layer title `/tmp/escape.txt` is refused: it is an absolute path",
        ),
        (
            "dotdot-tar-entry",
            Box::new(move |c| {
                plus(
                    c,
                    role(c, "harden_os/../../escape.txt", tar::EntryType::Regular, ""),
                )
            }),
            "entry `harden_os/../../escape.txt` of layer `harden_os` is refused",
        ),
        (
            "entry-outside-folder",
            Box::new(move |c| plus(c, role(c, "other/file.txt", tar::EntryType::Regular, ""))),
            "it lies outside the layer's folder `harden_os`",
        ),
        (
            "symlink-entry",
            Box::new(move |c| {
                plus(
                    c,
                    role(
                        c,
                        "harden_os/passwd",
                        tar::EntryType::Symlink,
                        "/etc/passwd",
                    ),
                )
            }),
            "it is a symbolic link; packs hold only files and folders",
        ),
        (
            "hardlink-entry",
            Box::new(move |c| {
                plus(
                    c,
                    role(c, "harden_os/passwd", tar::EntryType::Link, "/etc/passwd"),
                )
            }),
            "it is a hard link",
        ),
        (
            "wrong-blob-bytes",
            Box::new(|c| {
                let l = good_files(c);
                // Replace a blob's bytes behind its digest.
                fs::write(c.layout.blob_path(&l[1].digest), b"tampered: yes\n").unwrap();
                c.tag(l);
            }),
            "does not match its descriptor",
        ),
        (
            "huge-manifest",
            Box::new(|c| {
                let padding = "x".repeat(5 * 1024 * 1024);
                let text = format!(
                    "{{\"schemaVersion\":2,\"config\":{{\"mediaType\":\"a/b\",\"digest\":\"{}\",\"size\":0}},\"layers\":[],\"annotations\":{{\"pad\":\"{padding}\"}}}}",
                    Digest::of(b"")
                );
                c.tag_raw(text.as_bytes());
            }),
            "packctl reads at most 4 MiB",
        ),
        (
            "two-layers-one-path",
            Box::new(|c| plus(c, c.layer("text/plain", "values.yaml", b"a: 1\n"))),
            "would overwrite each other",
        ),
        (
            "index-not-manifest",
            Box::new(|c| {
                c.tag_raw(br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#);
            }),
            "it is an image index, not a pack manifest",
        ),
    ];
    for (name, craft, message) in cases {
        let c = Crafted::new(&store, name);
        craft(&c);
        let parent = sandbox.path().join(format!("pull-{name}"));
        fs::create_dir_all(&parent).unwrap();
        let target = parent.join("pack");
        let run = sandbox.run([
            "pack",
            "pull",
            &format!("{name}:1.0.0"),
            target.to_str().unwrap(),
            "-r",
            &format!("oci:{}", store.display()),
        ]);
        assert_eq!(run.code, 1, "{name}: {}", run.transcript());
        assert!(
            run.stderr.contains(message),
            "{name}: expected {message:?} in\n{}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{name}");
        let left: Vec<_> = fs::read_dir(&parent)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{name}: left {left:?} behind");
        assert!(!sandbox.path().join("escape.txt").exists() && !store.join("escape.txt").exists());
    }
}

#[test]
fn an_invalid_pulled_pack_is_refused_unless_asked() {
    let sandbox = Sandbox::new();
    let store = sandbox.path().join("store");
    let c = Crafted::new(&store, "half");
    let mut layers = good_files(&c);
    layers.retain(|l| l.title() != Some("logo.png"));
    c.tag(layers);
    let location = format!("oci:{}", store.display());
    let target = sandbox.path().join("half");
    let run = sandbox.run([
        "pack",
        "pull",
        "half:1.0.0",
        target.to_str().unwrap(),
        "-r",
        &location,
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("error[missing-file]: logo.png"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--no-validate"), "{}", run.stderr);
    // The findings are about someone else's folder: none of their hints (add a logo, `pack
    // init`) is for the one who pulls.
    assert!(!run.stderr.contains("  hint:"), "{}", run.stderr);
    assert!(!target.exists());
    sandbox
        .run([
            "pack",
            "pull",
            "half:1.0.0",
            target.to_str().unwrap(),
            "-r",
            &location,
            "--no-validate",
        ])
        .success();
    assert!(target.join("pack.json").is_file());
}

#[tokio::test]
async fn unpacking_is_capped() {
    use packctl::artifact::unpack::Limits;
    use packctl::ops::{PullOptions, pull};
    let dir = tempfile::tempdir().unwrap();
    let c = Crafted::new(&dir.path().join("store"), "bomb");
    let mut layers = good_files(&c);
    let zeros = vec![0u8; 64 * 1024];
    layers.push(
        c.layer(
            media_type::TAR_GZIP,
            "harden_os",
            &tar_gz(&[("harden_os/zeros", tar::EntryType::Regular, "", &zeros)]),
        )
        .annotate(annotation::ORAS_UNPACK, "true"),
    );
    c.tag(layers);
    let store =
        packctl::store::Store::Layout(packctl::store::LayoutStore::new(dir.path().join("store")));
    let options = {
        let mut options = PullOptions::default();
        options.limits = Limits::new(16 * 1024, 100);
        options
    };
    let target = dir.path().join("out");
    let located = packctl::ops::Located::pack(&store, &"bomb:1.0.0".parse().unwrap());
    let reporter: packctl::progress::SharedReporter =
        std::sync::Arc::new(packctl::progress::Silent);
    let err = pull(&store, &located, &target, &options, &reporter)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("more than 16384 unpacked bytes"),
        "{err}"
    );
    assert!(!target.exists());
}

#[test]
fn verbose_push_lists_each_blob() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    let run = sandbox
        .run([
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            &store,
            "-v",
        ])
        .success();
    assert!(
        run.stderr.contains("  config (679 B): sent"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("  charts/hello-0.1.0.tgz (753 B): sent"),
        "{}",
        run.stderr
    );
    let run = sandbox
        .run([
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            &store,
            "--verify-blobs",
            "-v",
        ])
        .success();
    assert!(
        run.stderr.contains("  logo.png (209 B): already there"),
        "{}",
        run.stderr
    );
    let quiet = sandbox
        .run([
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            &store,
            "-q",
        ])
        .success();
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
}
