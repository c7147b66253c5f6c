//! Validation under hostile pack input: memory and time stay bounded, names that a pull would
//! refuse are refused before a push, broken archives and oversized YAML are reported for what
//! they are, and no input makes validation panic or crash.

mod common;

use common::{Run, Sandbox, sample};
use packctl::pack::{InputLimits, Severity, validate, validate_with};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Virtual memory a packctl run may use in these tests, in KiB (`ulimit -v`): a normal
/// validate needs well under 100 MB.
const MEMORY_KIB: u64 = 400_000;

/// Runs packctl under the memory cap and returns what it printed and how long it took.
fn run_capped(sandbox: &Sandbox, args: &[&str]) -> (Run, Duration) {
    let mut cmd = sandbox.capped_command(MEMORY_KIB);
    cmd.args(args);
    let started = Instant::now();
    let output = cmd.output().expect("sh runs");
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    (run, started.elapsed())
}

/// Adds a raw `"key": value` member to the top of pack.json.
fn add_raw_member(dir: &Path, key: &str, value: &str) {
    let path = dir.join("pack.json");
    let text = fs::read_to_string(&path).unwrap();
    let rest = text.trim_start().strip_prefix('{').unwrap();
    fs::write(&path, format!("{{\"{key}\": {value},{rest}")).unwrap();
}

#[test]
fn a_long_key_over_a_long_array_validates_in_bounded_memory() {
    let sandbox = Sandbox::new();
    let key = "k".repeat(40_000);

    let dir = sandbox.copy(&sample("hello-chart"), "long-key");
    let items = vec!["1"; 40_000].join(",");
    add_raw_member(&dir, &key, &format!("[{items}]"));
    let (run, took) = run_capped(&sandbox, &["pack", "validate", dir.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("warning[unknown-field]"),
        "{}",
        run.stdout
    );
    assert!(took < Duration::from_secs(10), "validate took {took:?}");

    // Repeats inside the array: each one is a finding, so the report is bounded too.
    let dir = sandbox.copy(&sample("hello-chart"), "long-key-repeats");
    let items = vec![r#"{"x":1,"x":2}"#; 40_000].join(",");
    add_raw_member(&dir, &key, &format!("[{items}]"));
    let (run, took) = run_capped(&sandbox, &["pack", "validate", dir.to_str().unwrap()]);
    assert_eq!(
        run.code,
        1,
        "{}",
        run.stdout.get(..2000).unwrap_or(&run.stdout)
    );
    assert!(run.stdout.contains("error[duplicate-key]"));
    assert!(
        run.stdout.contains("39900 more keys are given twice"),
        "{}",
        &run.stdout[run.stdout.len().saturating_sub(2000)..]
    );
    assert!(run.stdout.len() < 200_000, "{} bytes", run.stdout.len());
    assert!(took < Duration::from_secs(10), "validate took {took:?}");
}

#[test]
fn pulling_a_pack_with_a_long_key_stays_in_bounded_memory() {
    let sandbox = Sandbox::new();
    let store = format!("oci:{}", sandbox.path().join("store").display());
    let dir = sandbox.copy(&sample("hello-chart"), "long-key");
    let items = vec!["1"; 40_000].join(",");
    add_raw_member(&dir, &"k".repeat(40_000), &format!("[{items}]"));
    let (run, _) = run_capped(
        &sandbox,
        &["pack", "push", dir.to_str().unwrap(), "-r", &store],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let target = sandbox.path().join("pulled");
    let (run, took) = run_capped(
        &sandbox,
        &[
            "pack",
            "pull",
            "hello-chart:0.1.0",
            target.to_str().unwrap(),
            "-r",
            &store,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(target.join("pack.json").is_file());
    assert!(took < Duration::from_secs(10), "pull took {took:?}");
}

#[test]
fn file_names_in_findings_are_escaped() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-chart"), "escaped");
    std::os::unix::fs::symlink("nowhere", dir.join("gone\u{1b}[2J")).unwrap();
    let v = validate(&dir);
    let files: Vec<_> = v.findings.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, ["gone\\u{1b}[2J"], "{:#?}", v.findings);
}

fn rules(dir: &Path) -> Vec<(Severity, &'static str)> {
    validate(dir)
        .findings
        .iter()
        .map(|f| (f.severity, f.rule))
        .collect()
}

#[test]
fn large_well_formed_yaml_is_valid() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-manifests"), "large-yaml");
    let mut values = "pack:\n  content:\n    images:\n      - image: nginx:1.27.0\n".to_string();
    for i in 0..130_000 {
        values.push_str(&format!("key{i}: {i}\n"));
    }
    fs::write(dir.join("values.yaml"), values).unwrap();
    let mut manifest = String::new();
    for i in 0..3_000 {
        manifest.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n"
        ));
    }
    fs::write(dir.join("manifests/namespace.yaml"), manifest).unwrap();
    let started = Instant::now();
    assert_eq!(rules(&dir), []);
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn yaml_over_a_limit_is_too_large_not_invalid() {
    let sandbox = Sandbox::new();
    let limits = {
        let mut options = InputLimits::default();
        options.max_yaml_documents = 10;
        options.max_yaml_nodes = 1_000;
        options.max_yaml_depth = 8;
        options
    };
    let check = |name: &str, file: &str, text: String, needle: &str| {
        let dir = sandbox.copy(&sample("hello-manifests"), name);
        fs::write(dir.join(file), text).unwrap();
        let v = validate_with(&dir, &limits);
        let found: Vec<_> = v.findings.iter().map(|f| (f.severity, f.rule)).collect();
        assert_eq!(
            found,
            [(Severity::Error, "yaml-too-large")],
            "{name}: {v:#?}"
        );
        let finding = &v.findings[0];
        assert_eq!(finding.file, file);
        assert!(finding.message.contains(file), "{}", finding.message);
        assert!(finding.message.contains(needle), "{}", finding.message);
        assert!(
            !finding.message.contains("not valid"),
            "{}",
            finding.message
        );
    };
    check(
        "documents",
        "manifests/namespace.yaml",
        "---\na: 1\n".repeat(11),
        "more than 10 YAML documents",
    );
    check(
        "nodes",
        "values.yaml",
        (0..600).map(|i| format!("k{i}: {i}\n")).collect(),
        "more than 1000 YAML nodes",
    );
    check(
        "block-depth",
        "values.yaml",
        (0..10)
            .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
            .collect::<String>()
            + "          - 1\n",
        "more than 8 levels deep",
    );
    check(
        "flow-depth",
        "values.yaml",
        format!("a: {}{}\n", "[".repeat(20), "]".repeat(20)),
        "more than 8 levels deep",
    );

    // Aliases that expand a billion-fold are refused as too large, under the default limits.
    let dir = sandbox.copy(&sample("hello-manifests"), "aliases");
    let mut laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n".to_string();
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        laughs.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    fs::write(dir.join("values.yaml"), laughs).unwrap();
    let started = Instant::now();
    let run = sandbox.run(["pack", "validate", dir.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stdout.contains("error[yaml-too-large]: values.yaml:")
            && run.stdout.contains("anchors and aliases"),
        "{}",
        run.stdout
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // Size is judged before reading: a sparse file over the cap costs nothing to refuse.
    let dir = sandbox.copy(&sample("hello-manifests"), "huge-values");
    let file = fs::File::create(dir.join("values.yaml")).unwrap();
    file.set_len(packctl::pack::MAX_YAML_BYTES + 1).unwrap();
    let started = Instant::now();
    let run = sandbox.run(["pack", "validate", dir.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stdout.contains("error[file-too-large]: values.yaml:"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&packctl::pack::MAX_YAML_BYTES.to_string())
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

fn chart_bytes() -> Vec<u8> {
    fs::read(sample("hello-chart/charts/hello-0.1.0.tgz")).unwrap()
}

#[test]
fn a_cut_or_damaged_chart_is_refused() {
    let sandbox = Sandbox::new();
    let good = chart_bytes();
    let mut flipped_crc = good.clone();
    let at = good.len() - 6;
    flipped_crc[at] ^= 0xff;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("without its length", good[..good.len() - 4].to_vec()),
        ("without its trailer", good[..good.len() - 8].to_vec()),
        ("cut in the middle", good[..good.len() / 2].to_vec()),
        ("with a wrong checksum", flipped_crc),
    ];
    for (name, bytes) in cases {
        let dir = sandbox.copy(&sample("hello-chart"), name);
        fs::write(dir.join("charts/hello-0.1.0.tgz"), bytes).unwrap();
        let v = validate(&dir);
        let found: Vec<_> = v.findings.iter().map(|f| (f.severity, f.rule)).collect();
        assert_eq!(
            found,
            [(Severity::Error, "invalid-chart")],
            "{name}: {:#?}",
            v.findings
        );
        assert_eq!(v.findings[0].file, "charts/hello-0.1.0.tgz");
        assert!(
            v.findings[0].message.contains("`charts/hello-0.1.0.tgz`"),
            "{}",
            v.findings[0].message
        );
    }
    // The untouched chart still passes.
    let dir = sandbox.copy(&sample("hello-chart"), "intact");
    assert_eq!(rules(&dir), []);
}

/// A chart archive with Chart.yaml and one more file of `padding` zero bytes.
fn chart_with_padding(padding: usize) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, data) in [
        (
            "hello/Chart.yaml",
            b"apiVersion: v2\nname: hello\nversion: 0.1.0\n".to_vec(),
        ),
        ("hello/files/zeros", vec![0u8; padding]),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, data.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

#[test]
fn a_chart_that_decompresses_past_the_cap_is_too_large() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-chart"), "bomb");
    fs::write(
        dir.join("charts/hello-0.1.0.tgz"),
        chart_with_padding(2 << 20),
    )
    .unwrap();
    assert_eq!(rules(&dir), [], "under the default cap it is a chart");
    let limits = {
        let mut options = InputLimits::default();
        options.max_chart_unpacked_bytes = 1 << 20;
        options
    };
    let v = validate_with(&dir, &limits);
    let found: Vec<_> = v.findings.iter().map(|f| (f.severity, f.rule)).collect();
    assert_eq!(found, [(Severity::Error, "file-too-large")], "{v:#?}");
    assert!(v.findings[0].message.contains("1048576"));
    assert_eq!(v.findings[0].file, "charts/hello-0.1.0.tgz");
}

/// Names `pack pull` refuses as titles or tar entries; validation must refuse each.
const REFUSED_NAMES: &[&str] = &[
    "back\\slash.txt",
    "new\nline.txt",
    "carriage\rreturn.txt",
    "tab\there.txt",
    "escape\u{1b}[31m.txt",
    "bell\u{7}.txt",
    "delete\u{7f}.txt",
    "next-line\u{85}.txt",
];

/// Unusual names that `pack pull` accepts; validation must accept them too.
const ACCEPTED_NAMES: &[&str] = &[
    "with space.txt",
    "ünïcödé.txt",
    "colon:and;semicolon.txt",
    "right-to-left\u{202e}txt.md",
    "zero\u{200b}width.txt",
    "-leading-dash",
];

fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

#[test]
fn names_a_pull_refuses_are_refused_at_validate() {
    use packctl::artifact::unpack::check_title;
    let sandbox = Sandbox::new();
    for (i, name) in REFUSED_NAMES.iter().enumerate() {
        assert!(check_title(name).is_err(), "pull accepts {name:?}");
        for as_folder in [false, true] {
            let dir = sandbox.copy(&sample("hello-chart"), &format!("refused-{i}-{as_folder}"));
            if as_folder {
                fs::create_dir(dir.join(name)).unwrap();
                fs::write(dir.join(name).join("inside.txt"), "x").unwrap();
            } else {
                fs::write(dir.join(name), "x").unwrap();
            }
            let v = validate(&dir);
            let found: Vec<_> = v.findings.iter().map(|f| (f.severity, f.rule)).collect();
            assert_eq!(
                found,
                [(Severity::Error, "invalid-file-name")],
                "{name:?}: {:#?}",
                v.findings
            );
            let finding = &v.findings[0];
            assert!(!has_control(&finding.file), "{:?}", finding.file);
            assert!(!finding.file.contains('\n'), "{:?}", finding.file);
            assert!(!has_control(&finding.message), "{:?}", finding.message);
            assert!(finding.hint.is_some());

            let run = sandbox.run(["pack", "validate", dir.to_str().unwrap()]);
            assert_eq!(run.code, 1, "{}", run.transcript());
            assert!(!has_control(&run.stdout), "{:?}", run.stdout);
            assert_eq!(run.stdout.lines().count(), 3, "{:?}", run.stdout);
            let store = format!("oci:{}", sandbox.path().join("store").display());
            let push = sandbox.run(["pack", "push", dir.to_str().unwrap(), "-r", &store]);
            assert_eq!(push.code, 1, "{}", push.transcript());
        }
    }
    let dir = sandbox.copy(&sample("hello-chart"), "accepted");
    for name in ACCEPTED_NAMES {
        assert!(check_title(name).is_ok(), "pull refuses {name:?}");
        fs::write(dir.join(name), "x").unwrap();
    }
    assert_eq!(rules(&dir), []);
    // And they survive a round trip through a store.
    let store = format!("oci:{}", sandbox.path().join("store").display());
    sandbox
        .run(["pack", "push", dir.to_str().unwrap(), "-r", &store])
        .success();
    let target = sandbox.path().join("pulled");
    sandbox
        .run([
            "pack",
            "pull",
            "hello-chart",
            target.to_str().unwrap(),
            "-r",
            &store,
        ])
        .success();
    for name in ACCEPTED_NAMES {
        assert!(target.join(name).is_file(), "{name:?}");
    }
}

#[test]
fn an_unreadable_subfolder_is_named() {
    // A path longer than PATH_MAX fails to read even for root, where chmod 000 does not.
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-chart"), "deep");
    let part = "d".repeat(250);
    // Two steps, each under PATH_MAX, make a folder whose full path is over it.
    let chain = [part.as_str(); 9].join("/");
    let mut at = dir.clone();
    for _ in 0..2 {
        let status = Command::new("mkdir")
            .arg("-p")
            .arg(&chain)
            .current_dir(&at)
            .status()
            .unwrap();
        assert!(status.success());
        at = at.join(&chain);
    }
    assert!(at.as_os_str().len() > 4096);
    let v = validate(&dir);
    let found: Vec<_> = v
        .findings
        .iter()
        .map(|f| (f.severity, f.rule, f.file.as_str()))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    let (severity, rule, file) = found[0];
    assert_eq!((severity, rule), (Severity::Error, "unreadable"));
    assert_ne!(file, ".");
    assert!(file.starts_with(&format!("{part}/{part}/")), "{file}");
    assert!(v.findings[0].message.contains(file));
}

#[test]
fn many_listed_paths_validate_in_near_linear_time() {
    let sandbox = Sandbox::new();
    const N: usize = 20_000;

    // Missing charts among many files: each one looks for a file of the same name.
    let dir = sandbox.copy(&sample("hello-chart"), "missing");
    fs::create_dir(dir.join("files")).unwrap();
    for i in 0..N {
        fs::write(dir.join(format!("files/f{i}")), "x").unwrap();
    }
    let charts: Vec<String> = (0..N).map(|i| format!("charts/missing{i}.tgz")).collect();
    edit_list(&dir, "charts", &charts);
    let started = Instant::now();
    let v = validate(&dir);
    let took = started.elapsed();
    assert_eq!(v.errors(), N);
    assert!(took < Duration::from_secs(15), "validate took {took:?}");

    // Many listed manifests, each checked against the others for overlaps.
    let dir = sandbox.copy(&sample("hello-chart"), "listed");
    fs::create_dir(dir.join("manifests")).unwrap();
    let mut manifests = Vec::new();
    for i in 0..N {
        let path = format!("manifests/m{i}.yaml");
        fs::write(dir.join(&path), "a: 1\n").unwrap();
        manifests.push(path);
    }
    edit_list(&dir, "kubeManifests", &manifests);
    let started = Instant::now();
    let v = validate(&dir);
    let took = started.elapsed();
    assert_eq!(v.errors(), 0, "{:?}", v.findings.first());
    assert_eq!(v.pack.unwrap().parts().len(), 6 + N);
    assert!(took < Duration::from_secs(15), "validate took {took:?}");
}

fn edit_list(dir: &Path, field: &str, paths: &[String]) {
    let path = dir.join("pack.json");
    let mut value: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    value[field] = serde_json::json!(paths);
    fs::write(&path, serde_json::to_string(&value).unwrap()).unwrap();
}

/// A small deterministic generator (xorshift64*), so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Text that stresses parsers: odd Unicode, control characters, huge numbers, deep nesting.
const ODD: &[&str] = &[
    "\u{feff}",
    "\u{202e}",
    "\u{0}",
    "\u{1b}[2J",
    "\u{85}",
    "\u{2028}",
    "é\u{301}",
    "\u{10ffff}",
    "\\ud800",
    "\\u0000",
    "1e999999",
    "-0.0e-99999",
    "123456789012345678901234567890123456789",
    "&a [*a, *a]",
    "*missing",
    "<<: *a",
    "!!binary x",
    "? [a]\n: b",
    "\"",
    "'",
    "{",
    "}",
    "[",
    "]",
    ":",
    "- ",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "\t",
    "\r",
    "#",
];

fn mutate(rng: &mut Rng, base: &[u8], json: bool) -> Vec<u8> {
    let mut out = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(8) {
            0 => {
                if !out.is_empty() {
                    let i = rng.below(out.len());
                    out[i] ^= 1 << rng.below(8);
                }
            }
            1 => out.truncate(at),
            2 => {
                let odd = rng.pick(ODD).as_bytes().to_vec();
                out.splice(at..at, odd);
            }
            3 => {
                // Repeat a slice, which duplicates keys and whole entries.
                let end = (at + rng.below(80)).min(out.len());
                let slice = out[at..end].to_vec();
                out.splice(end..end, slice);
            }
            4 => {
                let depth = 1 + rng.below(3000);
                let (open, close) = if json || rng.below(2) == 0 {
                    ("[", "]")
                } else {
                    ("{a: ", "}")
                };
                let nested = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                let nested = if json {
                    nested
                } else {
                    format!("\nk: {nested}\n")
                };
                out.splice(at..at, nested.into_bytes());
            }
            5 => {
                let depth = 1 + rng.below(400);
                let block: String = (0..depth)
                    .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                    .collect();
                out.splice(at..at, block.into_bytes());
            }
            6 => {
                let key = if json {
                    "\"name\": \"x\", \"name\": 1, "
                } else {
                    "\nname: a\nname: b\n"
                };
                out.splice(at..at, key.bytes());
            }
            _ => {
                if !out.is_empty() {
                    let i = rng.below(out.len());
                    out[i] = rng.next() as u8;
                }
            }
        }
    }
    out
}

#[test]
fn mutated_inputs_never_panic_or_crash() {
    let sandbox = Sandbox::new();
    let dir = sandbox.copy(&sample("hello-manifests"), "fuzz");
    let pack_json = fs::read(dir.join("pack.json")).unwrap();
    let values = fs::read(dir.join("values.yaml")).unwrap();
    let manifest = fs::read(dir.join("manifests/namespace.yaml")).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let mut runs = 0;
    for round in 0..400 {
        // Mostly one file at a time, so that each parser meets inputs the others accept.
        let (which, base, json) = match round % 3 {
            0 => ("pack.json", &pack_json, true),
            1 => ("values.yaml", &values, false),
            _ => ("manifests/namespace.yaml", &manifest, false),
        };
        fs::write(dir.join("pack.json"), &pack_json).unwrap();
        fs::write(dir.join("values.yaml"), &values).unwrap();
        fs::write(dir.join("manifests/namespace.yaml"), &manifest).unwrap();
        let input = mutate(&mut rng, base, json);
        fs::File::create(dir.join(which))
            .unwrap()
            .write_all(&input)
            .unwrap();
        let result = std::panic::catch_unwind(|| validate(&dir));
        let validation = match result {
            Ok(v) => v,
            Err(_) => panic!(
                "validate panicked on {which} (round {round}): {:?}",
                String::from_utf8_lossy(&input)
            ),
        };
        for finding in &validation.findings {
            assert!(!has_control(&finding.message), "{finding:?}");
            assert!(!finding.message.contains('\n'), "{finding:?}");
        }
        if round % 20 == 0 {
            let run = sandbox.run(["pack", "validate", dir.to_str().unwrap()]);
            assert!(
                run.code == 0 || run.code == 1,
                "round {round}, {which}: {}\ninput: {:?}",
                run.transcript(),
                String::from_utf8_lossy(&input)
            );
            assert_eq!(
                run.code == 0,
                validation.errors() == 0,
                "{}",
                run.transcript()
            );
            runs += 1;
        }
    }
    assert_eq!(runs, 20);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
