//! Pulling, inspecting and copying from stores that lie: blobs that are links, pipes or
//! endless, manifests that name one blob thousands of times, configs that do not match, and
//! registries that stream forever. Each refusal must be quick, bounded in memory, name what
//! is wrong, and leave nothing beside the target.

mod common;

use common::{Run, Sandbox, sample};
use packctl::oci::{Descriptor, Digest, Manifest, annotation, media_type};
use packctl::store::Layout;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// No run here may take longer: an unbounded read shows up as a timeout, not a hung suite.
const RUN_TIMEOUT: Duration = Duration::from_secs(15);
/// Virtual memory a run may use (KiB): an unbounded read into memory fails instead of
/// eating the machine.
const MEMORY_KIB: u64 = 2 * 1024 * 1024;

/// Runs packctl with `args` and extra environment, killed after [`RUN_TIMEOUT`] and capped
/// at [`MEMORY_KIB`] of virtual memory.
fn run(sandbox: &Sandbox, args: &[&str], envs: &[(&str, String)]) -> (Run, Duration) {
    let mut cmd = sandbox.capped_command(MEMORY_KIB);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("packctl runs");
    // Drain both pipes while waiting, so that a chatty run never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            timed_out = true;
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let mut stderr = stderr.join().unwrap();
    if timed_out {
        stderr.push_str("\n[killed: the run did not finish in time]\n");
    }
    (
        Run {
            code: status.code().unwrap_or(-1),
            stdout: stdout.join().unwrap(),
            stderr,
        },
        elapsed,
    )
}

/// What a folder holds, by name.
fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A repository of an `oci:` store whose manifests the test writes by hand.
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

    /// The files of the `hello-manifests` sample, one layer each.
    fn pack_files(&self) -> Vec<Descriptor> {
        let dir = sample("hello-manifests");
        [
            "pack.json",
            "values.yaml",
            "logo.png",
            "manifests/namespace.yaml",
            "manifests/app.yaml",
        ]
        .iter()
        .map(|f| self.layer(media_type::FILE, f, &fs::read(dir.join(f)).unwrap()))
        .collect()
    }

    fn manifest(&self, config: Descriptor, layers: Vec<Descriptor>) -> Manifest {
        Manifest {
            schema_version: 2,
            media_type: Some(media_type::MANIFEST.into()),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: Default::default(),
        }
    }

    /// An `oras push`-style config: `{}` of the oras media type.
    fn oras_config(&self) -> Descriptor {
        Descriptor::new(media_type::UNKNOWN_CONFIG, self.blob(b"{}"), 2)
    }

    /// Tags `manifest` as 1.0.0 and returns the path of its blob.
    fn tag(&self, manifest: &Manifest) -> PathBuf {
        let bytes = manifest.to_canonical_json();
        let digest = self.blob(&bytes);
        let d = Descriptor::new(media_type::MANIFEST, digest.clone(), bytes.len() as u64);
        self.layout.put_manifest(&d, &bytes, Some("1.0.0")).unwrap();
        self.layout.blob_path(&digest)
    }
}

/// A store with one crafted pack, and a folder to pull into.
struct Scene {
    sandbox: Sandbox,
    store: PathBuf,
    crafted: Crafted,
}

impl Scene {
    fn new() -> Self {
        let sandbox = Sandbox::new();
        let store = sandbox.path().join("store");
        let crafted = Crafted::new(&store, "hostile");
        fs::create_dir_all(sandbox.path().join("pulls")).unwrap();
        Scene {
            sandbox,
            store,
            crafted,
        }
    }

    fn location(&self) -> String {
        format!("oci:{}", self.store.display())
    }

    fn pulls(&self) -> PathBuf {
        self.sandbox.path().join("pulls")
    }

    /// Pulls `hostile:1.0.0` into `pulls/out`.
    fn pull(&self, envs: &[(&str, String)]) -> (Run, Duration) {
        let target = self.pulls().join("out");
        run(
            &self.sandbox,
            &[
                "pack",
                "pull",
                "hostile:1.0.0",
                target.to_str().unwrap(),
                "-r",
                &self.location(),
            ],
            envs,
        )
    }

    /// Pulls, expecting a quick refusal that says each of `needles` and leaves nothing.
    fn refused(&self, envs: &[(&str, String)], needles: &[&str]) -> Run {
        let (run, elapsed) = self.pull(envs);
        let run = run.fails_with(needles);
        assert!(
            elapsed < Duration::from_secs(10),
            "the refusal took {elapsed:?}"
        );
        assert!(
            listing(&self.pulls()).is_empty(),
            "a refused pull left {:?} beside the target",
            listing(&self.pulls())
        );
        run
    }
}

#[test]
fn a_blob_that_is_a_link_to_a_device_is_refused() {
    let scene = Scene::new();
    let c = &scene.crafted;
    let mut layers = c.pack_files();
    let digest = Digest::of(b"what the link stands in for");
    std::os::unix::fs::symlink("/dev/zero", c.layout.blob_path(&digest)).unwrap();
    layers.push(
        Descriptor::new(media_type::FILE, digest.clone(), 64 << 20)
            .annotate(annotation::TITLE, "zeros.bin"),
    );
    c.tag(&c.manifest(c.oras_config(), layers));
    let path = c.layout.blob_path(&digest);
    scene.refused(&[], &[path.to_str().unwrap(), "not a regular file"]);
}

#[test]
fn a_refused_pull_removes_the_folders_it_made_for_the_target() {
    let scene = Scene::new();
    let c = &scene.crafted;
    let mut layers = c.pack_files();
    let digest = Digest::of(b"a link in place of a blob");
    std::os::unix::fs::symlink("/dev/zero", c.layout.blob_path(&digest)).unwrap();
    layers.push(
        Descriptor::new(media_type::FILE, digest, 10).annotate(annotation::TITLE, "zeros.bin"),
    );
    c.tag(&c.manifest(c.oras_config(), layers));
    let target = scene.pulls().join("new/deeper/out");
    let (run, _) = run(
        &scene.sandbox,
        &[
            "pack",
            "pull",
            "hostile:1.0.0",
            target.to_str().unwrap(),
            "-r",
            &scene.location(),
        ],
        &[],
    );
    run.fails_with(&["not a regular file"]);
    assert!(
        listing(&scene.pulls()).is_empty(),
        "{:?}",
        listing(&scene.pulls())
    );
}

#[test]
fn a_blob_that_is_a_pipe_is_refused() {
    let scene = Scene::new();
    let c = &scene.crafted;
    let mut layers = c.pack_files();
    let digest = Digest::of(b"a pipe nobody writes to");
    let path = c.layout.blob_path(&digest);
    let made = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success());
    layers.push(
        Descriptor::new(media_type::FILE, digest, 10).annotate(annotation::TITLE, "pipe.bin"),
    );
    c.tag(&c.manifest(c.oras_config(), layers));
    scene.refused(&[], &[path.to_str().unwrap(), "not a regular file"]);
}

#[test]
fn a_blob_that_is_a_device_is_refused() {
    let scene = Scene::new();
    let c = &scene.crafted;
    let mut layers = c.pack_files();
    let digest = Digest::of(b"a device node in place of a blob");
    let path = c.layout.blob_path(&digest);
    // The node is /dev/zero's (character device 1:5); making one needs CAP_MKNOD.
    let made = Command::new("mknod")
        .arg(&path)
        .args(["c", "1", "5"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    if !made.success() {
        eprintln!("skipped: this user may not make device nodes");
        return;
    }
    layers.push(
        Descriptor::new(media_type::FILE, digest, 64 << 20).annotate(annotation::TITLE, "dev"),
    );
    c.tag(&c.manifest(c.oras_config(), layers));
    scene.refused(
        &[],
        &[path.to_str().unwrap(), "is a device, not a regular file"],
    );
}

#[test]
fn a_manifest_that_is_a_link_to_a_device_is_refused() {
    let scene = Scene::new();
    let c = &scene.crafted;
    let manifest = c.tag(&c.manifest(c.oras_config(), c.pack_files()));
    fs::remove_file(&manifest).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &manifest).unwrap();
    scene.refused(&[], &[manifest.to_str().unwrap(), "not a regular file"]);
}

#[test]
fn an_index_that_is_a_link_to_a_device_is_refused() {
    let scene = Scene::new();
    let c = &scene.crafted;
    c.tag(&c.manifest(c.oras_config(), c.pack_files()));
    let index = c.layout.dir().join("index.json");
    fs::remove_file(&index).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &index).unwrap();
    scene.refused(&[], &["index.json", "not a regular file"]);
}

#[test]
fn an_index_over_the_cap_is_refused() {
    let scene = Scene::new();
    let c = &scene.crafted;
    c.tag(&c.manifest(c.oras_config(), c.pack_files()));
    let index = c.layout.dir().join("index.json");
    // Valid JSON, padded past the cap with whitespace.
    let mut bytes = fs::read(&index).unwrap();
    bytes.extend(std::iter::repeat_n(b' ', 17 << 20));
    fs::write(&index, bytes).unwrap();
    scene.refused(&[], &["index.json", "more than"]);
}

#[test]
fn a_blob_named_by_many_titles_counts_once_per_title_against_the_cap() {
    let scene = Scene::new();
    let c = &scene.crafted;
    let mut layers = c.pack_files();
    let megabyte = vec![7u8; 1 << 20];
    for i in 0..40 {
        layers.push(c.layer(media_type::FILE, &format!("copies/{i}.bin"), &megabyte));
    }
    c.tag(&c.manifest(c.oras_config(), layers));
    let sizes: u64 = c.pack_files().iter().map(|l| l.size).sum::<u64>() + (40 << 20);
    let run = scene.refused(
        &[("PACKCTL_MAX_PULL_BYTES", (16u64 << 20).to_string())],
        &[&format!("{sizes} bytes"), "PACKCTL_MAX_PULL_BYTES"],
    );
    assert!(run.stderr.contains("16777216"), "{}", run.stderr);
}

#[test]
fn the_summary_reports_the_bytes_really_written() {
    let scene = Scene::new();
    let c = &scene.crafted;
    let mut layers = c.pack_files();
    let megabyte = vec![7u8; 1 << 20];
    for i in 0..5 {
        layers.push(c.layer(media_type::FILE, &format!("copies/{i}.bin"), &megabyte));
    }
    c.tag(&c.manifest(c.oras_config(), layers));
    let (run, _) = scene.pull(&[]);
    let run = run.success();
    assert!(run.stderr.contains("6 blobs"), "{}", run.stderr);
    assert!(run.stderr.contains("5.0 MiB written"), "{}", run.stderr);
    let out = scene.pulls().join("out");
    for i in 0..5 {
        assert_eq!(
            fs::read(out.join(format!("copies/{i}.bin"))).unwrap(),
            megabyte
        );
    }
}

#[test]
fn the_layer_count_is_capped_before_anything_is_fetched() {
    let scene = Scene::new();
    let c = &scene.crafted;
    let mut layers = c.pack_files();
    // A blob that is never fetched: the count is checked first.
    let missing = Digest::of(b"never fetched");
    for i in 0..10 {
        layers.push(
            Descriptor::new(media_type::FILE, missing.clone(), 1)
                .annotate(annotation::TITLE, format!("extra/{i}")),
        );
    }
    c.tag(&c.manifest(c.oras_config(), layers));
    scene.refused(
        &[("PACKCTL_MAX_LAYERS", "12".into())],
        &["15 layers", "PACKCTL_MAX_LAYERS"],
    );
}

#[test]
fn a_structured_config_that_is_not_the_pack_json_layer_is_refused() {
    let scene = Scene::new();
    let c = &scene.crafted;
    let layers = c.pack_files();
    let other = br#"{"name":"someone-else"}"#;
    let config = Descriptor::new(media_type::CONFIG, c.blob(other), other.len() as u64);
    c.tag(&c.manifest(config, layers));
    scene.refused(&[], &["config", "pack.json"]);
}

#[test]
fn a_missing_config_is_refused() {
    let scene = Scene::new();
    let c = &scene.crafted;
    let config = c.oras_config();
    c.tag(&c.manifest(config.clone(), c.pack_files()));
    fs::remove_file(c.layout.blob_path(&config.digest)).unwrap();
    scene.refused(&[], &["config", config.digest.as_str(), "does not exist"]);
}

#[test]
fn an_archive_config_other_than_empty_json_is_refused() {
    let scene = Scene::new();
    let c = &scene.crafted;
    let gz = fs::read(sample("hello-manifests").join("logo.png")).unwrap();
    let layer = c.layer(media_type::TAR, "hello-manifests-1.0.0.tar.gz", &gz);
    let odd = br#"{"not":"empty"}"#;
    let config = Descriptor::new(media_type::UNKNOWN_CONFIG, c.blob(odd), odd.len() as u64);
    c.tag(&c.manifest(config, vec![layer]));
    scene.refused(&[], &["config", "{}"]);
}

#[test]
fn a_json_config_that_is_not_json_is_refused() {
    let scene = Scene::new();
    let c = &scene.crafted;
    let odd = b"not json at all";
    let config = Descriptor::new(
        "application/vnd.example+json",
        c.blob(odd),
        odd.len() as u64,
    );
    c.tag(&c.manifest(config, c.pack_files()));
    scene.refused(&[], &["config", "not JSON"]);
}

#[test]
fn a_plain_oras_artifact_with_an_empty_config_pulls() {
    let scene = Scene::new();
    let c = &scene.crafted;
    let config = Descriptor::new("application/vnd.oci.empty.v1+json", c.blob(b"{}"), 2);
    c.tag(&c.manifest(config, c.pack_files()));
    let (run, _) = scene.pull(&[]);
    run.success();
}

/// A manifest of 15,000 layers, with the layer cap raised to allow it.
fn many_layers(scene: &Scene, count: usize) {
    let c = &scene.crafted;
    let mut layers = c.pack_files();
    let shared = c.blob(b"x");
    for i in 0..count {
        layers.push(
            Descriptor::new(media_type::FILE, shared.clone(), 1)
                .annotate(annotation::TITLE, format!("many/d{}/f{i}", i % 100)),
        );
    }
    c.tag(&c.manifest(c.oras_config(), layers));
}

#[test]
fn inspecting_fifteen_thousand_layers_is_quick() {
    let scene = Scene::new();
    many_layers(&scene, 15_000);
    let (run, elapsed) = run(
        &scene.sandbox,
        &["pack", "inspect", "hostile:1.0.0", "-r", &scene.location()],
        &[],
    );
    let run = run.success();
    assert!(run.stdout.contains("encoding     files"), "{}", run.stdout);
    assert!(elapsed < Duration::from_secs(5), "inspect took {elapsed:?}");
}

#[test]
fn fifteen_thousand_layers_pull_only_under_a_raised_cap() {
    let scene = Scene::new();
    many_layers(&scene, 15_000);
    scene.refused(&[], &["15005 layers", "at most 10000"]);
    let (run, elapsed) = scene.pull(&[("PACKCTL_MAX_LAYERS", "20000".into())]);
    let run = run.success();
    assert!(run.stderr.contains("15.9 KiB written"), "{}", run.stderr);
    assert!(
        elapsed < Duration::from_secs(10),
        "the pull took {elapsed:?}"
    );
}

#[test]
fn a_corrupted_source_blob_is_blamed_on_the_source() {
    let sandbox = Sandbox::new();
    let from = sandbox.path().join("from");
    let to = sandbox.path().join("to");
    let from_location = format!("oci:{}", from.display());
    let to_location = format!("oci:{}", to.display());
    let (push, _) = run(
        &sandbox,
        &[
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            &from_location,
        ],
        &[],
    );
    push.success();
    // Damage the chart blob in place, keeping its size.
    let chart = fs::read(sample("hello-chart").join("charts/hello-0.1.0.tgz")).unwrap();
    let digest = Digest::of(&chart);
    let blob = Layout::at(from.join("spectro-packs/archive/hello-chart")).blob_path(&digest);
    let mut damaged = chart.clone();
    damaged[100] ^= 0xff;
    fs::write(&blob, &damaged).unwrap();
    let (copy, _) = run(
        &sandbox,
        &[
            "pack",
            "copy",
            "hello-chart:0.1.0",
            "--from",
            &from_location,
            "--to",
            &to_location,
        ],
        &[],
    );
    let copy = copy.fails_with(&[
        &format!("{from_location}/spectro-packs/archive/hello-chart"),
        digest.as_str(),
    ]);
    assert!(
        !copy.stderr.contains(&to_location),
        "the destination is blamed:\n{}",
        copy.stderr
    );
}

#[test]
fn a_corrupted_source_blob_is_not_blamed_on_a_registry() {
    let registry = common::registry::Registry::plain();
    let sandbox = Sandbox::new();
    let from = sandbox.path().join("from");
    let from_location = format!("oci:{}", from.display());
    let (push, _) = run(
        &sandbox,
        &[
            "pack",
            "push",
            "testdata/packs/hello-chart",
            "-r",
            &from_location,
        ],
        &[],
    );
    push.success();
    let chart = fs::read(sample("hello-chart").join("charts/hello-0.1.0.tgz")).unwrap();
    let digest = Digest::of(&chart);
    let blob = Layout::at(from.join("spectro-packs/archive/hello-chart")).blob_path(&digest);
    let mut damaged = chart.clone();
    damaged[100] ^= 0xff;
    fs::write(&blob, &damaged).unwrap();
    let (copy, _) = run(
        &sandbox,
        &[
            "pack",
            "copy",
            "hello-chart:0.1.0",
            "--from",
            &from_location,
            "--to",
            &registry.host,
        ],
        &[],
    );
    copy.fails_with(&[
        &format!("{from_location}/spectro-packs/archive/hello-chart"),
        digest.as_str(),
        "does not match",
    ]);
}

/// A registry that serves one pack whose chart blob never ends.
struct EndlessRegistry {
    host: String,
    served: Arc<AtomicU64>,
    _runtime: tokio::runtime::Runtime,
}

impl EndlessRegistry {
    fn start(manifest: Vec<u8>, blobs: Vec<Vec<u8>>, endless: Digest) -> Self {
        use axum::body::Body;
        use axum::http::{Method, Request, StatusCode, header};
        use axum::response::Response;
        let served = Arc::new(AtomicU64::new(0));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let manifest = Arc::new(manifest);
        let blobs: Arc<Vec<(Digest, Vec<u8>)>> =
            Arc::new(blobs.into_iter().map(|b| (Digest::of(&b), b)).collect());
        let counter = served.clone();
        let app = axum::Router::new().fallback(move |request: Request<Body>| {
            let manifest = manifest.clone();
            let blobs = blobs.clone();
            let endless = endless.clone();
            let counter = counter.clone();
            async move {
                let path = request.uri().path().to_string();
                let head = request.method() == Method::HEAD;
                let ok = Response::builder().status(StatusCode::OK);
                if path == "/v2/" {
                    return ok.body(Body::empty()).unwrap();
                }
                if path.contains("/manifests/") {
                    let digest = Digest::of(&manifest);
                    let r = ok
                        .header(header::CONTENT_TYPE, media_type::MANIFEST)
                        .header("docker-content-digest", digest.as_str())
                        .header(header::CONTENT_LENGTH, manifest.len());
                    return if head {
                        r.body(Body::empty()).unwrap()
                    } else {
                        r.body(Body::from(manifest.as_ref().clone())).unwrap()
                    };
                }
                if path.ends_with(endless.as_str()) {
                    let chunk = bytes::Bytes::from(vec![0u8; 64 * 1024]);
                    let stream = futures_util::stream::repeat_with(move || {
                        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                        Ok::<_, std::io::Error>(chunk.clone())
                    });
                    return ok.body(Body::from_stream(stream)).unwrap();
                }
                if let Some((_, bytes)) = blobs.iter().find(|(d, _)| path.ends_with(d.as_str())) {
                    return ok.body(Body::from(bytes.clone())).unwrap();
                }
                Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body(Body::empty())
                    .unwrap()
            }
        });
        runtime.spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        EndlessRegistry {
            host,
            served,
            _runtime: runtime,
        }
    }
}

/// hello-manifests' files as an `oras push` artifact, plus a layer `title` that announces
/// `size` bytes of the blob `endless`, served by a registry that never stops sending it.
fn endless_pack(endless: &Digest, size: u64, title: &str) -> EndlessRegistry {
    let dir = sample("hello-manifests");
    let mut blobs: Vec<Vec<u8>> = ["pack.json", "values.yaml", "logo.png"]
        .into_iter()
        .map(|f| fs::read(dir.join(f)).unwrap())
        .collect();
    let mut layers: Vec<Descriptor> = ["pack.json", "values.yaml", "logo.png"]
        .into_iter()
        .zip(&blobs)
        .map(|(f, b)| {
            Descriptor::new(media_type::FILE, Digest::of(b), b.len() as u64)
                .annotate(annotation::TITLE, f)
        })
        .collect();
    layers.push(
        Descriptor::new(media_type::FILE, endless.clone(), size).annotate(annotation::TITLE, title),
    );
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(media_type::MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::new(media_type::UNKNOWN_CONFIG, Digest::of(b"{}"), 2),
        layers,
        subject: None,
        annotations: Default::default(),
    };
    blobs.push(b"{}".to_vec());
    EndlessRegistry::start(manifest.to_canonical_json(), blobs, endless.clone())
}

#[test]
fn a_registry_blob_longer_than_its_descriptor_is_cut_off() {
    let sandbox = Sandbox::new();
    let endless = Digest::of(b"the first megabyte, as announced");
    let registry = endless_pack(&endless, 1 << 20, "endless.bin");
    let pulls = sandbox.path().join("pulls");
    fs::create_dir_all(&pulls).unwrap();
    let target = pulls.join("out");
    let (run, elapsed) = run(
        &sandbox,
        &[
            "pack",
            "pull",
            "hostile:1.0.0",
            target.to_str().unwrap(),
            "-r",
            &registry.host,
            "--plain-http",
        ],
        &[],
    );
    run.fails_with(&[endless.as_str(), "1048576"]);
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert!(listing(&pulls).is_empty(), "{:?}", listing(&pulls));
    // The client stopped reading right after the announced size; what the server managed to
    // push into socket buffers meanwhile is small.
    let served = registry.served.load(Ordering::Relaxed);
    assert!(served < 64 << 20, "the server sent {served} bytes");
}

#[test]
fn a_registry_blob_announced_as_huge_is_refused_before_it_is_fetched() {
    let sandbox = Sandbox::new();
    let endless = Digest::of(b"a terabyte of zeros");
    let registry = endless_pack(&endless, 1 << 40, "huge.bin");
    let pulls = sandbox.path().join("pulls");
    fs::create_dir_all(&pulls).unwrap();
    let target = pulls.join("out");
    let (run, _) = run(
        &sandbox,
        &[
            "pack",
            "pull",
            "hostile:1.0.0",
            target.to_str().unwrap(),
            "-r",
            &registry.host,
            "--plain-http",
        ],
        &[],
    );
    run.fails_with(&["would write", "PACKCTL_MAX_PULL_BYTES"]);
    assert_eq!(registry.served.load(Ordering::Relaxed), 0);
    assert!(listing(&pulls).is_empty(), "{:?}", listing(&pulls));
}
