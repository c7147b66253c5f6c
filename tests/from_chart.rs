//! `pack init --from-chart`: packs made from Helm charts built here, checked with the
//! validator, by their image lists, and through a push and pull on a real docker-registry.

mod common;

use common::registry::{Registry, check_output};
use common::{Sandbox, root, tree};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Writes `files` (path, text) under `dir`.
fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// A .tgz as `helm package` makes it: every entry under `<name>/`.
fn tgz(name: &str, files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("{name}/{path}"), data.as_slice())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn text(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// Runs `pack init --from-chart` and returns its JSON result.
fn init(sandbox: &Sandbox, chart: &str, dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "pack",
        "init",
        dir.to_str().unwrap(),
        "--from-chart",
        chart,
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let run = sandbox.run(args).success();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.transcript()))
}

fn listed_images(dir: &Path) -> Vec<String> {
    let values: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(dir.join("values.yaml")).unwrap()).unwrap();
    values["pack"]["content"]["images"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["image"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn validates_cleanly(sandbox: &Sandbox, dir: &Path) {
    let run = sandbox
        .run([
            "pack",
            "validate",
            dir.to_str().unwrap(),
            "--output",
            "json",
        ])
        .success();
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let errors: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

/// Pushes the pack and pulls it back: the pulled folder is the one init wrote.
fn round_trips(sandbox: &Sandbox, dir: &Path, registry: &Registry, name: &str) {
    sandbox
        .run(["pack", "push", dir.to_str().unwrap(), "-r", &registry.host])
        .success();
    let pulled = sandbox.path().join(format!("pulled-{name}"));
    sandbox
        .run([
            "pack",
            "pull",
            name,
            pulled.to_str().unwrap(),
            "-r",
            &registry.host,
        ])
        .success();
    assert_eq!(tree(&pulled), tree(dir));
}

/// A chart with two subcharts (one packaged as a .tgz inside the chart's .tgz, one as a
/// folder with an alias): values the parent sets reach them, and `global.imageRegistry`
/// wins over a subchart's own registry, as the common charts' image helpers have it.
#[test]
fn a_chart_with_subcharts() {
    let sandbox = Sandbox::new();
    let registry = Registry::plain();
    let cache = tgz(
        "cache",
        &[
            (
                "Chart.yaml",
                text("apiVersion: v2\nname: cache\nversion: 0.3.0\nappVersion: \"7.0\"\n"),
            ),
            (
                "values.yaml",
                text("image:\n  repository: library/redis\n  tag: \"7.0.1\"\n"),
            ),
            (
                "templates/statefulset.yaml",
                text(
                    "spec:\n  template:\n    spec:\n      containers:\n        - image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n",
                ),
            ),
        ],
    );
    let shop = tgz(
        "shop",
        &[
            (
                "Chart.yaml",
                text(
                    "apiVersion: v2\nname: shop\nversion: 2.0.1\nappVersion: 2.0.1\n\
                     description: A shop with a cache and a worker\n\
                     keywords:\n  - database\n  - web\n\
                     dependencies:\n  - name: cache\n    version: 0.3.0\n  - name: worker\n    version: 1.0.0\n    alias: jobs\n",
                ),
            ),
            (
                "values.yaml",
                text(
                    "# Shop settings.\nglobal:\n  imageRegistry: mirror.example.com\n\
                     image:\n  repository: team/shop\n  tag: 2.0.1\n\
                     cache:\n  image:\n    tag: \"7.2.4\"   # pinned\n\
                     jobs:\n  image:\n    tag: \"1.1.0\"\n",
                ),
            ),
            (
                "templates/deploy.yaml",
                text("image: {{ .Values.image.repository }}:{{ .Values.image.tag }}\n"),
            ),
            ("charts/cache-0.3.0.tgz", cache),
            (
                "charts/worker/Chart.yaml",
                text("apiVersion: v2\nname: worker\nversion: 1.0.0\n"),
            ),
            (
                "charts/worker/values.yaml",
                text("image:\n  registry: ghcr.io\n  repository: team/worker\n  tag: \"1.0.0\"\n"),
            ),
        ],
    );
    let chart = sandbox.path().join("shop-2.0.1.tgz");
    std::fs::write(&chart, &shop).unwrap();
    let dir = sandbox.path().join("shop");
    let made = init(&sandbox, chart.to_str().unwrap(), &dir, &[]);
    assert_eq!(made["addonType"], "app services", "{made}");
    assert_eq!(made["addonTypeInferred"], true);
    let expected = [
        "mirror.example.com/team/shop:2.0.1",
        "mirror.example.com/library/redis:7.2.4",
        "mirror.example.com/team/worker:1.1.0",
    ];
    assert_eq!(listed_images(&dir), expected);
    assert_eq!(made["images"], serde_json::json!(expected));
    assert_eq!(made["warnings"], serde_json::json!([]));
    // The chart goes in as it came, and the pack names it.
    assert_eq!(
        std::fs::read(dir.join("charts/shop-2.0.1.tgz")).unwrap(),
        shop
    );
    let pack: Value =
        serde_json::from_slice(&std::fs::read(dir.join("pack.json")).unwrap()).unwrap();
    assert_eq!(pack["name"], "shop");
    assert_eq!(pack["version"], "2.0.1");
    assert_eq!(pack["layer"], "addon");
    assert_eq!(pack["charts"], serde_json::json!(["charts/shop-2.0.1.tgz"]));
    // The chart's values sit under charts.shop, comments kept.
    let values = std::fs::read_to_string(dir.join("values.yaml")).unwrap();
    assert!(
        values.contains("charts:\n  shop:\n    # Shop settings.\n"),
        "{values}"
    );
    assert!(values.contains("tag: \"7.2.4\"   # pinned"), "{values}");
    assert!(values.contains("  namespace: \"shop\"\n"), "{values}");
    validates_cleanly(&sandbox, &dir);
    round_trips(&sandbox, &dir, &registry, "shop");
}

/// A chart folder whose image is set through `image.registry`/`repository`/`tag`, the tag
/// left empty for the templates to default to the appVersion, and one mapping with no tag
/// and nothing to default it: that one is a warning, not a guess.
#[test]
fn a_chart_with_registry_repository_and_tag_values() {
    let sandbox = Sandbox::new();
    let registry = Registry::plain();
    let chart = sandbox.path().join("charts-src/web");
    write_tree(
        &chart,
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: web\nversion: 0.9.0\nappVersion: \"3.4.5\"\nkeywords: [ingress]\n",
            ),
            (
                "values.yaml",
                "image:\n  registry: registry.example.com\n  repository: team/web\n  tag: \"\"\n  pullPolicy: IfNotPresent\n\
                 metrics:\n  image:\n    registry: quay.io\n    repository: team/exporter\n    digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\
                 helmRepo:\n  repository: https://charts.example.com\n",
            ),
            (
                "templates/deploy.yaml",
                "containers:\n  - image: \"{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}\"\n",
            ),
        ],
    );
    let dir = sandbox.path().join("web");
    let made = init(
        &sandbox,
        chart.to_str().unwrap(),
        &dir,
        &["--name", "web-app"],
    );
    assert_eq!(made["addonType"], "ingress");
    assert_eq!(
        listed_images(&dir),
        [
            "registry.example.com/team/web:3.4.5",
            "quay.io/team/exporter@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ]
    );
    validates_cleanly(&sandbox, &dir);
    round_trips(&sandbox, &dir, &registry, "web-app");

    // Without a template that defaults the tag, the empty tag is reported, never guessed.
    std::fs::write(
        chart.join("templates/deploy.yaml"),
        "containers:\n  - image: \"{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n",
    )
    .unwrap();
    let again = sandbox.path().join("web-again");
    let made = init(&sandbox, chart.to_str().unwrap(), &again, &[]);
    assert_eq!(
        listed_images(&again),
        [
            "quay.io/team/exporter@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        ]
    );
    let warnings = made["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("`image.repository` (team/web) has no tag")),
        "{warnings:?}"
    );
}

/// A chart with literal images in its templates, pulled from a registry by `oci://`
/// reference as `helm push` stores it; an `include` it cannot follow is a warning.
#[test]
fn a_chart_with_literal_images_in_templates_from_an_oci_reference() {
    let sandbox = Sandbox::new();
    let registry = Registry::plain();
    let tools = tgz(
        "tools",
        &[
            (
                "Chart.yaml",
                text(
                    "apiVersion: v2\nname: tools\nversion: 1.2.3\nkeywords: [monitoring]\nicon: data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR4nGNgAAIAAAUAAXpeqz8AAAAASUVORK5CYII=\n",
                ),
            ),
            ("values.yaml", text("replicas: 1\n")),
            (
                "templates/jobs.yaml",
                text(
                    "containers:\n  - name: shell\n    image: docker.io/library/busybox:1.36.1\n\
                     \x20 - name: curl\n    image: 'curlimages/curl:8.5.0'\n\
                     \x20 - name: again\n    image: \"docker.io/library/busybox:1.36.1\"\n\
                     \x20 - name: helper\n    image: {{ include \"tools.helper\" . }}\n",
                ),
            ),
        ],
    );
    let chart = sandbox.path().join("tools-1.2.3.tgz");
    std::fs::write(&chart, &tools).unwrap();
    let config = sandbox.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"name":"tools","version":"1.2.3","apiVersion":"v2"}"#,
    )
    .unwrap();
    let reference = format!("{}/charts/tools:1.2.3", registry.host);
    check_output(
        "python3",
        &[
            root()
                .join("tests/support/oras_push_chart.py")
                .display()
                .to_string(),
            reference.clone(),
            chart.display().to_string(),
            config.display().to_string(),
        ],
        &[("HOME", &sandbox.path().join("home"))],
    );
    let dir = sandbox.path().join("tools");
    let made = init(&sandbox, &format!("oci://{reference}"), &dir, &[]);
    assert_eq!(made["addonType"], "monitoring");
    assert_eq!(
        listed_images(&dir),
        ["docker.io/library/busybox:1.36.1", "curlimages/curl:8.5.0"]
    );
    let warnings = made["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains("templates/jobs.yaml line 9")
    );
    // The embedded PNG icon is the logo.
    let logo = std::fs::read(dir.join("logo.png")).unwrap();
    assert_eq!(&logo[1..4], b"PNG");
    assert_eq!(logo.len(), 68);
    assert_eq!(
        std::fs::read(dir.join("charts/tools-1.2.3.tgz")).unwrap(),
        tools
    );
    validates_cleanly(&sandbox, &dir);
    round_trips(&sandbox, &dir, &registry, "tools");
}

/// Bad charts are refused by name and reason, and leave nothing behind.
#[test]
fn bad_charts_are_refused_and_leave_nothing() {
    let sandbox = Sandbox::new();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not-gzip.tgz", b"hello".to_vec(), "not a .tgz"),
        (
            "no-chart-yaml.tgz",
            tgz("x", &[("values.yaml", text("a: 1\n"))]),
            "it has no Chart.yaml",
        ),
        (
            "escapes.tgz",
            {
                // An entry that climbs out of the chart.
                let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                let mut tar = tar::Builder::new(gz);
                let data = b"x";
                let mut header = tar::Header::new_gnu();
                header.set_size(1);
                header.set_mode(0o644);
                header.set_entry_type(tar::EntryType::Regular);
                let name = b"x/../../evil";
                header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
                header.set_cksum();
                tar.append(&header, &data[..]).unwrap();
                tar.into_inner().unwrap().finish().unwrap()
            },
            "leaves the chart",
        ),
        (
            "no-addon-type.tgz",
            tgz(
                "plain",
                &[(
                    "Chart.yaml",
                    text("apiVersion: v2\nname: plain\nversion: 1.0.0\n"),
                )],
            ),
            "pass --addon-type",
        ),
        (
            "bad-name.tgz",
            tgz(
                "Bad",
                &[(
                    "Chart.yaml",
                    text(
                        "apiVersion: v2\nname: My_Chart\nversion: 1.0.0\nkeywords: [web, ingress]\n",
                    ),
                )],
            ),
            "pass --name",
        ),
    ];
    for (file, bytes, needle) in cases {
        let chart: PathBuf = sandbox.path().join(file);
        std::fs::write(&chart, bytes).unwrap();
        let dir = sandbox.path().join(format!("out-{file}"));
        sandbox
            .run([
                "pack",
                "init",
                dir.to_str().unwrap(),
                "--from-chart",
                chart.to_str().unwrap(),
            ])
            .fails_with(&[needle]);
        assert!(!dir.exists(), "{file} left {}", dir.display());
    }
    // A folder that already holds a pack file is never overwritten.
    let dir = sandbox.path().join("taken");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("values.yaml"), "mine: true\n").unwrap();
    let chart = sandbox.path().join("ok.tgz");
    std::fs::write(
        &chart,
        tgz(
            "ok",
            &[(
                "Chart.yaml",
                text("apiVersion: v2\nname: ok\nversion: 1.0.0\nkeywords: [logging]\n"),
            )],
        ),
    )
    .unwrap();
    sandbox
        .run([
            "pack",
            "init",
            dir.to_str().unwrap(),
            "--from-chart",
            chart.to_str().unwrap(),
        ])
        .fails_with(&["already holds values.yaml"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("values.yaml")).unwrap(),
        "mine: true\n"
    );
    assert!(!dir.join("charts").exists());
}

/// A chart fetched from a link, as `helm pull https://…/chart.tgz` takes it (a loopback
/// web server here, so plain HTTP); a link that answers 404 is refused by its status.
#[test]
fn a_chart_from_a_link() {
    let sandbox = Sandbox::new();
    let site = sandbox.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    let chart = tgz(
        "linked",
        &[
            (
                "Chart.yaml",
                text("apiVersion: v2\nname: linked\nversion: 0.1.0\nkeywords: [logging]\n"),
            ),
            (
                "values.yaml",
                text("image:\n  repository: grafana/loki\n  tag: 3.0.0\n"),
            ),
        ],
    );
    std::fs::write(site.join("linked-0.1.0.tgz"), &chart).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(&site)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the web server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let dir = sandbox.path().join("linked");
    let link = format!("http://127.0.0.1:{port}/linked-0.1.0.tgz");
    let made = init(&sandbox, &link, &dir, &[]);
    assert_eq!(made["images"], serde_json::json!(["grafana/loki:3.0.0"]));
    assert_eq!(
        std::fs::read(dir.join("charts/linked-0.1.0.tgz")).unwrap(),
        chart
    );
    validates_cleanly(&sandbox, &dir);
    let missing = sandbox.path().join("missing");
    sandbox
        .run([
            "pack",
            "init",
            missing.to_str().unwrap(),
            "--from-chart",
            &format!("http://127.0.0.1:{port}/nothing.tgz"),
        ])
        .fails_with(&["404"]);
    assert!(!missing.exists());
    let _ = server.kill();
    let _ = server.wait();
}
