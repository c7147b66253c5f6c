//! `pack init --from-chart`: a pack made from a Helm chart (a .tgz or a chart folder).
//!
//! The chart is untrusted input: only regular files are read, no entry may leave the chart,
//! and its size, file count and subchart depth are capped before anything is written.

use super::PackError;
use super::init::{InitOptions, display_name_from, write_new_files};
use super::metadata::{ADDON_TYPES, Layer};
use crate::oci::version::Version;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// The most bytes a chart may unpack to, subcharts included.
pub const MAX_CHART_BYTES: u64 = 64 * 1024 * 1024;
/// The most files a chart may hold, subcharts included.
pub const MAX_CHART_FILES: usize = 20_000;
/// How deep subcharts may nest.
pub const MAX_SUBCHART_DEPTH: usize = 8;

/// A Helm chart, read into memory.
#[derive(Debug, Clone)]
pub struct Chart {
    /// `name` of Chart.yaml.
    pub name: String,
    /// `version` of Chart.yaml.
    pub version: String,
    /// `appVersion` of Chart.yaml.
    pub app_version: Option<String>,
    /// `description` of Chart.yaml.
    pub description: Option<String>,
    /// `keywords` of Chart.yaml.
    pub keywords: Vec<String>,
    /// `icon` of Chart.yaml.
    pub icon: Option<String>,
    /// values.yaml as written (comments kept).
    pub values_text: String,
    /// Subcharts, each with the key its values live under in this chart's values.
    pub subcharts: Vec<(String, Chart)>,
    /// Every file, by path inside the chart.
    files: BTreeMap<String, Vec<u8>>,
    /// The .tgz it came from, when it came from one.
    archive: Option<Vec<u8>>,
}

fn chart_error(source: &str, reason: impl Into<String>) -> PackError {
    PackError::Chart {
        chart: source.to_string(),
        reason: reason.into(),
    }
}

/// Counts what a chart unpacks to against [`MAX_CHART_BYTES`] and [`MAX_CHART_FILES`].
struct Budget {
    bytes: u64,
    files: usize,
}

impl Budget {
    fn take(&mut self, label: &str, size: u64) -> Result<(), PackError> {
        self.files += 1;
        self.bytes = self.bytes.saturating_add(size);
        if self.files > MAX_CHART_FILES {
            return Err(chart_error(
                label,
                format!("it holds more than {MAX_CHART_FILES} files"),
            ));
        }
        if self.bytes > MAX_CHART_BYTES {
            return Err(chart_error(
                label,
                format!("it unpacks to more than {MAX_CHART_BYTES} bytes"),
            ));
        }
        Ok(())
    }
}

/// Reads a chart from a `.tgz` file or a chart folder.
pub fn load_chart(path: &Path) -> Result<Chart, PackError> {
    let label = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| chart_error(&label, e.to_string()))?;
    let mut budget = Budget { bytes: 0, files: 0 };
    if meta.is_dir() {
        let mut files = BTreeMap::new();
        read_dir(path, path, &label, &mut files, &mut budget)?;
        return build(files, None, &label, 0, &mut budget);
    }
    if meta.len() > MAX_CHART_BYTES {
        return Err(chart_error(
            &label,
            format!("it is larger than {MAX_CHART_BYTES} bytes"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| chart_error(&label, e.to_string()))?;
    load_chart_archive(&bytes, &label)
}

/// Reads a chart from the bytes of its `.tgz` (`label` names it in errors).
pub fn load_chart_archive(bytes: &[u8], label: &str) -> Result<Chart, PackError> {
    let mut budget = Budget { bytes: 0, files: 0 };
    from_archive(bytes, label, 0, &mut budget)
}

fn from_archive(
    bytes: &[u8],
    label: &str,
    depth: usize,
    budget: &mut Budget,
) -> Result<Chart, PackError> {
    if bytes.len() < 2 || bytes[..2] != [0x1f, 0x8b] {
        return Err(chart_error(label, "it is not a .tgz (no gzip header)"));
    }
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut files = BTreeMap::new();
    let entries = archive
        .entries()
        .map_err(|e| chart_error(label, e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| chart_error(label, e.to_string()))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| chart_error(label, e.to_string()))?
            .into_owned();
        if !kind.is_file() {
            return Err(chart_error(
                label,
                format!(
                    "`{}` is not a regular file (links are not read)",
                    path.display()
                ),
            ));
        }
        let relative = inside(&path)
            .ok_or_else(|| chart_error(label, format!("`{}` leaves the chart", path.display())))?;
        // Every entry sits under the chart's own folder: drop that first component.
        let Some((_, rest)) = relative.split_once('/') else {
            continue;
        };
        let size = entry.header().size().unwrap_or(u64::MAX);
        budget.take(label, size)?;
        let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
        entry
            .by_ref()
            .take(MAX_CHART_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| chart_error(label, e.to_string()))?;
        files.insert(rest.to_string(), data);
    }
    build(files, Some(bytes.to_vec()), label, depth, budget)
}

/// `path` as a `/`-separated relative path, when it stays inside.
fn inside(path: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?.to_string()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn read_dir(
    root: &Path,
    dir: &Path,
    label: &str,
    files: &mut BTreeMap<String, Vec<u8>>,
    budget: &mut Budget,
) -> Result<(), PackError> {
    let entries = std::fs::read_dir(dir).map_err(|e| chart_error(label, e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| chart_error(label, e.to_string()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| chart_error(label, e.to_string()))?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        if kind.is_dir() {
            read_dir(root, &path, label, files, budget)?;
        } else if kind.is_file() {
            let relative = path
                .strip_prefix(root)
                .ok()
                .and_then(inside)
                .ok_or_else(|| {
                    chart_error(label, format!("`{}` is not readable", path.display()))
                })?;
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            budget.take(label, size)?;
            let data = std::fs::read(&path).map_err(|e| chart_error(label, e.to_string()))?;
            files.insert(relative, data);
        } else {
            return Err(chart_error(
                label,
                format!(
                    "`{}` is not a regular file (links are not read)",
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// A YAML scalar as text: strings as they are, numbers and booleans printed.
fn scalar(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_yaml(label: &str, file: &str, text: &str) -> Result<Value, PackError> {
    let has_content = text.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#') && l != "---" && l != "..."
    });
    if !has_content {
        return Ok(Value::Null);
    }
    let options = super::load::yaml_options(&super::InputLimits::default());
    serde_saphyr::from_str_with_options::<Value>(text, options)
        .map_err(|e| chart_error(label, format!("{file} is not valid YAML: {e}")))
}

fn build(
    files: BTreeMap<String, Vec<u8>>,
    archive: Option<Vec<u8>>,
    label: &str,
    depth: usize,
    budget: &mut Budget,
) -> Result<Chart, PackError> {
    let text = |name: &str| -> Result<Option<String>, PackError> {
        match files.get(name) {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes.clone())
                .map(Some)
                .map_err(|_| chart_error(label, format!("{name} is not UTF-8"))),
        }
    };
    let chart_yaml =
        text("Chart.yaml")?.ok_or_else(|| chart_error(label, "it has no Chart.yaml"))?;
    let meta = parse_yaml(label, "Chart.yaml", &chart_yaml)?;
    let name = scalar(meta.get("name"))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| chart_error(label, "Chart.yaml has no `name`"))?;
    let version = scalar(meta.get("version"))
        .filter(|v| !v.is_empty())
        .ok_or_else(|| chart_error(label, "Chart.yaml has no `version`"))?;
    let keywords = meta
        .get("keywords")
        .and_then(Value::as_array)
        .map(|k| k.iter().filter_map(|v| scalar(Some(v))).collect())
        .unwrap_or_default();
    // A dependency's values live under its alias, when it has one.
    let mut aliases = BTreeMap::new();
    if let Some(deps) = meta.get("dependencies").and_then(Value::as_array) {
        for dep in deps {
            if let (Some(n), Some(a)) = (scalar(dep.get("name")), scalar(dep.get("alias"))) {
                aliases.insert(n, a);
            }
        }
    }
    let values_text = text("values.yaml")?.unwrap_or_default();
    let mut subcharts = Vec::new();
    let sub_dirs: BTreeSet<String> = files
        .keys()
        .filter_map(|k| k.strip_prefix("charts/"))
        .filter_map(|rest| rest.split_once('/'))
        .filter(|(_, file)| *file == "Chart.yaml")
        .map(|(dir, _)| dir.to_string())
        .collect();
    let sub_archives: Vec<&String> = files
        .keys()
        .filter(|k| {
            k.strip_prefix("charts/")
                .is_some_and(|rest| !rest.contains('/') && rest.ends_with(".tgz"))
        })
        .collect();
    if (!sub_dirs.is_empty() || !sub_archives.is_empty()) && depth >= MAX_SUBCHART_DEPTH {
        return Err(chart_error(
            label,
            format!("its subcharts nest deeper than {MAX_SUBCHART_DEPTH}"),
        ));
    }
    for key in sub_archives {
        let sub_label = format!("{label}: {key}");
        let sub = from_archive(&files[key], &sub_label, depth + 1, budget)?;
        let under = aliases.get(&sub.name).cloned().unwrap_or(sub.name.clone());
        subcharts.push((under, sub));
    }
    for dir in sub_dirs {
        let prefix = format!("charts/{dir}/");
        let sub_files: BTreeMap<String, Vec<u8>> = files
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
            .collect();
        let sub = build(
            sub_files,
            None,
            &format!("{label}: charts/{dir}"),
            depth + 1,
            budget,
        )?;
        let under = aliases.get(&sub.name).cloned().unwrap_or(sub.name.clone());
        subcharts.push((under, sub));
    }
    Ok(Chart {
        name,
        version,
        app_version: scalar(meta.get("appVersion")).filter(|v| !v.is_empty()),
        description: scalar(meta.get("description")),
        keywords,
        icon: scalar(meta.get("icon")),
        values_text,
        subcharts,
        files,
        archive,
    })
}

impl Chart {
    /// The templates: every file under `templates/`.
    fn templates(&self) -> impl Iterator<Item = (&String, String)> {
        self.files
            .iter()
            .filter(|(k, _)| k.starts_with("templates/"))
            .map(|(k, v)| (k, String::from_utf8_lossy(v).into_owned()))
    }

    /// Whether a template uses `.Chart.AppVersion` (as the tag's default, in most charts).
    fn uses_app_version(&self) -> bool {
        self.templates()
            .any(|(_, t)| t.contains(".Chart.AppVersion"))
    }

    /// The chart as a .tgz: the one it came from, else made from its files (sorted,
    /// fixed modes and times, so the same folder gives the same bytes).
    fn archive_bytes(&self) -> Result<Vec<u8>, PackError> {
        if let Some(bytes) = &self.archive {
            return Ok(bytes.clone());
        }
        let fail = |e: std::io::Error| chart_error(&self.name, e.to_string());
        let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        let mut tar = tar::Builder::new(encoder);
        tar.mode(tar::HeaderMode::Deterministic);
        for (path, data) in &self.files {
            let mut header = tar::Header::new_ustar();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(
                &mut header,
                format!("{}/{path}", self.name),
                data.as_slice(),
            )
            .map_err(fail)?;
        }
        tar.into_inner().and_then(|gz| gz.finish()).map_err(fail)
    }

    /// The chart's logo, when its `icon` is an embedded PNG or a PNG inside the chart.
    fn logo(&self) -> Option<Vec<u8>> {
        let icon = self.icon.as_deref()?.trim();
        let bytes = if let Some(data) = icon.strip_prefix("data:image/png;base64,") {
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .ok()?
        } else if icon.contains("://") && !icon.starts_with("file://") {
            return None;
        } else {
            let path = icon.trim_start_matches("file://");
            let key = inside(Path::new(path))?;
            self.files.get(&key)?.clone()
        };
        super::png::check(bytes.as_slice()).ok()?;
        Some(bytes)
    }
}

/// Merges `over` into `base`: mappings key by key, anything else replaced.
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) if !o.is_null() => *b = o.clone(),
        _ => {}
    }
}

/// The images a chart and its subcharts name, and what could not be resolved.
#[derive(Debug, Default)]
struct Scan {
    images: Vec<String>,
    warnings: Vec<String>,
}

impl Scan {
    fn add(&mut self, image: String) {
        if !self.images.contains(&image) {
            self.images.push(image);
        }
    }
}

/// Scans `chart` with `values` (its own merged with what its parents set).
fn scan(chart: &Chart, values: &Value, label: &str, out: &mut Scan) {
    let global_registry = values
        .pointer("/global/imageRegistry")
        .and_then(|v| scalar(Some(v)))
        .filter(|r| !r.is_empty());
    let mut covered = BTreeSet::new();
    walk(
        chart,
        values,
        "",
        global_registry.as_deref(),
        label,
        &mut covered,
        out,
    );
    for (file, text) in chart.templates() {
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
            let Some(value) = trimmed.strip_prefix("image:") else {
                continue;
            };
            let value = unquote(value.trim());
            if value.is_empty() {
                continue;
            }
            if !value.contains("{{") {
                out.add(value.to_string());
                continue;
            }
            match render(value, values, chart, &covered) {
                Rendered::Image(image) => out.add(image),
                Rendered::Covered => {}
                Rendered::Unresolved(why) => out.warnings.push(format!(
                    "{label}: {file} line {}: `image: {value}` is not resolved ({why}); list \
                     its image in pack.content.images by hand",
                    n + 1
                )),
            }
        }
    }
    for (under, sub) in &chart.subcharts {
        let mut sub_values = parse_yaml(label, "values.yaml", &sub.values_text)
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(Map::new()));
        if let Some(set) = values.get(under) {
            merge(&mut sub_values, set);
        }
        if let Some(global) = values.get("global") {
            let mut g = sub_values
                .get("global")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new()));
            merge(&mut g, global);
            if let Value::Object(m) = &mut sub_values {
                m.insert("global".into(), g);
            }
        }
        scan(sub, &sub_values, &format!("{label}/{}", sub.name), out);
    }
}

fn unquote(text: &str) -> &str {
    let t = text.trim();
    for q in ['"', '\''] {
        if let Some(inner) = t.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    t
}

/// Finds images in values: mappings with a `repository` (and a `tag`, `registry` or
/// `digest`, or named `image`), and `image:` strings.
fn walk(
    chart: &Chart,
    value: &Value,
    path: &str,
    global_registry: Option<&str>,
    label: &str,
    covered: &mut BTreeSet<String>,
    out: &mut Scan,
) {
    match value {
        Value::Object(m) => {
            let repository = scalar(m.get("repository")).filter(|r| !r.is_empty());
            let image_like = m.contains_key("tag")
                || m.contains_key("registry")
                || m.contains_key("digest")
                || path
                    .rsplit('.')
                    .next()
                    .is_some_and(|k| k.to_ascii_lowercase().ends_with("image"));
            if let Some(repository) = repository
                && image_like
                && !repository.contains("://")
            {
                covered.insert(path.to_string());
                // `global.imageRegistry` wins where it is set, as in the common charts'
                // image helpers.
                let registry = global_registry
                    .map(str::to_string)
                    .or(scalar(m.get("registry")).filter(|r| !r.is_empty()));
                let base = match registry {
                    Some(r) => format!("{}/{repository}", r.trim_end_matches('/')),
                    None => repository.clone(),
                };
                let tag = scalar(m.get("tag")).filter(|t| !t.is_empty());
                let digest = scalar(m.get("digest")).filter(|d| !d.is_empty());
                match (tag, digest) {
                    (Some(t), Some(d)) => out.add(format!("{base}:{t}@{d}")),
                    (None, Some(d)) => out.add(format!("{base}@{d}")),
                    (Some(t), None) => out.add(format!("{base}:{t}")),
                    (None, None) => match &chart.app_version {
                        Some(app) if chart.uses_app_version() => out.add(format!("{base}:{app}")),
                        _ => out.warnings.push(format!(
                            "{label}: values `{}repository` ({repository}) has no tag, and no \
                             template defaults it to the chart's appVersion; list its image \
                             by hand",
                            if path.is_empty() {
                                String::new()
                            } else {
                                format!("{path}.")
                            }
                        )),
                    },
                }
            }
            for (k, v) in m {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if k == "image"
                    && let Value::String(s) = v
                {
                    let s = s.trim();
                    if !s.is_empty() && !s.contains("{{") {
                        out.add(s.to_string());
                    }
                    continue;
                }
                walk(chart, v, &child, global_registry, label, covered, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(
                    chart,
                    v,
                    &format!("{path}[{i}]"),
                    global_registry,
                    label,
                    covered,
                    out,
                );
            }
        }
        _ => {}
    }
}

enum Rendered {
    Image(String),
    /// It reads an image mapping the values scan has listed.
    Covered,
    Unresolved(String),
}

/// Renders the `{{ … }}` actions of a template's `image:` value that only read values or
/// the chart's versions (`.Values.a.b`, `.Chart.AppVersion`, `| default X`, `| quote`).
fn render(text: &str, values: &Value, chart: &Chart, covered: &BTreeSet<String>) -> Rendered {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            return Rendered::Unresolved("an action without `}}`".into());
        };
        let action = rest[start + 2..start + end]
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        rest = &rest[start + end + 2..];
        let mut stages = action.split('|').map(str::trim);
        let first = stages.next().unwrap_or_default();
        if let Some(path) = first.strip_prefix(".Values.") {
            let parent = path.rsplit_once('.').map_or("", |(p, _)| p);
            if covered.contains(parent) {
                return Rendered::Covered;
            }
        }
        let mut value = match term(first, values, chart) {
            Ok(v) => v,
            Err(why) => return Rendered::Unresolved(why),
        };
        for stage in stages {
            if let Some(fallback) = stage.strip_prefix("default ") {
                if value.is_empty() {
                    value = match term(fallback.trim(), values, chart) {
                        Ok(v) => v,
                        Err(why) => return Rendered::Unresolved(why),
                    };
                }
            } else if !matches!(stage, "quote" | "toString" | "trim") {
                return Rendered::Unresolved(format!("`{stage}`"));
            }
        }
        if value.is_empty() {
            return Rendered::Unresolved(format!("`{first}` is empty"));
        }
        out.push_str(&value);
    }
    out.push_str(rest);
    Rendered::Image(unquote(&out).to_string())
}

/// One term of an action: a value, a chart field or a quoted string.
fn term(term: &str, values: &Value, chart: &Chart) -> Result<String, String> {
    if let Some(path) = term.strip_prefix(".Values.") {
        let mut v = values;
        for key in path.split('.') {
            match v.get(key) {
                Some(next) => v = next,
                None => return Ok(String::new()),
            }
        }
        return match v {
            Value::Null => Ok(String::new()),
            other => scalar(Some(other)).ok_or_else(|| format!("`{term}` is not a scalar")),
        };
    }
    match term {
        ".Chart.AppVersion" => Ok(chart.app_version.clone().unwrap_or_default()),
        ".Chart.Version" => Ok(chart.version.clone()),
        ".Chart.Name" => Ok(chart.name.clone()),
        t if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') => {
            Ok(t[1..t.len() - 1].to_string())
        }
        t => Err(format!("`{t}`")),
    }
}

/// The add-on type a chart's keywords (or name) suggest, as Palette names them.
pub fn infer_addon_type(chart: &Chart) -> Option<&'static str> {
    const WORDS: &[(&str, &[&str])] = &[
        (
            "monitoring",
            &[
                "monitoring",
                "metrics",
                "prometheus",
                "grafana",
                "observability",
                "alerting",
            ],
        ),
        (
            "logging",
            &["logging", "logs", "log", "fluentd", "fluent-bit", "loki"],
        ),
        ("ingress", &["ingress", "ingress-controller", "gateway"]),
        (
            "load balancer",
            &["loadbalancer", "load-balancer", "load balancer", "metallb"],
        ),
        (
            "authentication",
            &["authentication", "auth", "oauth", "oidc", "sso", "identity"],
        ),
        (
            "security",
            &[
                "security",
                "policy",
                "certificates",
                "cert-manager",
                "secrets",
                "vault",
            ],
        ),
        (
            "servicemesh",
            &["service-mesh", "servicemesh", "mesh", "istio", "linkerd"],
        ),
        ("registry", &["registry", "container-registry", "harbor"]),
        ("ai", &["ai", "ml", "machine-learning", "llm", "gpu"]),
        (
            "app services",
            &[
                "database",
                "postgresql",
                "mysql",
                "redis",
                "mongodb",
                "kafka",
                "messaging",
                "cache",
            ],
        ),
    ];
    let words: Vec<String> = chart
        .keywords
        .iter()
        .map(|k| k.to_ascii_lowercase())
        .chain(std::iter::once(chart.name.to_ascii_lowercase()))
        .collect();
    WORDS
        .iter()
        .find(|(_, ws)| words.iter().any(|w| ws.contains(&w.as_str())))
        .map(|(t, _)| *t)
        .filter(|t| ADDON_TYPES.contains(t))
}

/// What `pack init --from-chart` takes besides the chart.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ChartOptions {
    /// The pack name [default: the chart's].
    pub name: Option<String>,
    /// The pack version [default: the chart's].
    pub version: Option<Version>,
    /// The display name [default: from the name].
    pub display_name: Option<String>,
    /// The add-on type [default: inferred from the chart's keywords].
    pub addon_type: Option<String>,
    /// Cloud types [default: `all`].
    pub cloud_types: Vec<String>,
}

/// What `pack init --from-chart` made.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FromChart {
    /// The pack name.
    pub name: String,
    /// The pack version.
    pub version: String,
    /// The add-on type.
    pub addon_type: String,
    /// Whether it was inferred from the chart's keywords.
    pub addon_type_inferred: bool,
    /// The images listed in `pack.content.images`.
    pub images: Vec<String>,
    /// What could not be resolved, and other remarks.
    pub warnings: Vec<String>,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// The error for a pack name or version the chart's cannot give.
fn unusable(chart: &Chart, what: &str, value: &str, hint: &str) -> PackError {
    chart_error(
        &chart.name,
        format!("its {what} `{value}` cannot be the pack's {what}; {hint}"),
    )
}

/// Writes a pack made from `chart` into `dir` (never over existing files).
pub fn init_from_chart(
    dir: &Path,
    chart: &Chart,
    options: &ChartOptions,
) -> Result<FromChart, PackError> {
    let name = match &options.name {
        Some(n) => n.clone(),
        None if crate::oci::is_valid_name(&chart.name) => chart.name.clone(),
        None => {
            let suggestion = crate::oci::suggest_name(&chart.name);
            return Err(unusable(
                chart,
                "name",
                &chart.name,
                &format!("pass --name, such as --name {suggestion}"),
            ));
        }
    };
    let version = match &options.version {
        Some(v) => v.clone(),
        None => Version::parse(chart.version.trim_start_matches('v')).map_err(|e| {
            unusable(
                chart,
                "version",
                &chart.version,
                &format!("{e}; pass --version"),
            )
        })?,
    };
    let (addon_type, inferred) = match &options.addon_type {
        Some(t) => (t.clone(), false),
        None => match infer_addon_type(chart) {
            Some(t) => (t.to_string(), true),
            None => {
                return Err(chart_error(
                    &chart.name,
                    format!(
                        "its keywords ({}) name no add-on type; pass --addon-type, one of: {}",
                        if chart.keywords.is_empty() {
                            "none".to_string()
                        } else {
                            chart.keywords.join(", ")
                        },
                        ADDON_TYPES.join(", ")
                    ),
                ));
            }
        },
    };

    let values = parse_yaml(&chart.name, "values.yaml", &chart.values_text)?;
    let values = if values.is_object() {
        values
    } else {
        Value::Object(Map::new())
    };
    let mut found = Scan::default();
    scan(chart, &values, &chart.name, &mut found);

    let chart_file = format!("charts/{}-{}.tgz", chart.name, chart.version);
    let init = {
        let mut o = InitOptions::new(name.clone(), Layer::Addon, version.clone());
        o.display_name = options
            .display_name
            .clone()
            .or_else(|| Some(display_name_from(&name)));
        o.addon_type = Some(addon_type.clone());
        o.cloud_types = options.cloud_types.clone();
        o.charts = vec![chart_file.clone()];
        o
    };
    let mut warnings = found.warnings;
    let logo = match chart.logo() {
        Some(logo) => logo,
        None => {
            if chart.icon.is_some() {
                warnings.push(
                    "the chart's icon is not a PNG inside the chart: logo.png is packctl's \
                     placeholder; replace it"
                        .to_string(),
                );
            }
            super::init::LOGO.to_vec()
        }
    };
    let files: Vec<(String, Vec<u8>)> = vec![
        (
            super::metadata::PACK_JSON.to_string(),
            super::init::pack_json(&init).into_bytes(),
        ),
        (
            super::VALUES_YAML.to_string(),
            pack_values(&name, chart, &found.images).into_bytes(),
        ),
        (super::LOGO_PNG.to_string(), logo),
        ("README.md".to_string(), readme(&init, chart).into_bytes()),
        (chart_file, chart.archive_bytes()?),
    ];
    let written = write_new_files(dir, &files)?;
    Ok(FromChart {
        name,
        version: version.to_string(),
        addon_type,
        addon_type_inferred: inferred,
        images: found.images,
        warnings,
        files: written,
    })
}

/// values.yaml of the pack: `pack.namespace`, `pack.content.images`, and the chart's own
/// values under `charts.<chart name>`, comments kept.
fn pack_values(name: &str, chart: &Chart, images: &[String]) -> String {
    let quote = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let mut text = String::from(
        "# Values of the pack. Palette merges `charts.<chart>` over the chart's own values.\n",
    );
    text.push_str("pack:\n");
    text.push_str(&format!("  namespace: {}\n", quote(name)));
    if !images.is_empty() {
        text.push_str("  content:\n    images:\n");
        for image in images {
            text.push_str(&format!("      - image: {}\n", quote(image)));
        }
    }
    text.push_str("\ncharts:\n");
    let body: Vec<&str> = chart
        .values_text
        .lines()
        .filter(|l| !matches!(l.trim_end(), "---" | "..."))
        .collect();
    let has_content = body.iter().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#')
    });
    if has_content {
        text.push_str(&format!("  {}:\n", chart.name));
        for line in body {
            if line.trim().is_empty() {
                text.push('\n');
            } else {
                text.push_str("    ");
                text.push_str(line);
                text.push('\n');
            }
        }
    } else {
        text.push_str(&format!("  {}: {{}}\n", chart.name));
    }
    text
}

fn readme(o: &InitOptions, chart: &Chart) -> String {
    let display = o.display_name.clone().unwrap_or_default();
    let description = chart.description.clone().unwrap_or_default();
    format!(
        "# {display}\n\n{description}\n\n\
         The `{name}` pack, version {version}, deploys the Helm chart `{chart}` {chart_version}\n\
         (`charts/`). `values.yaml` holds the chart's values under `charts.{chart}`, and the\n\
         images it deploys under `pack.content.images`.\n\n\
         ```sh\n\
         packctl pack validate .\n\
         packctl pack push . --registry-server oci:./packs\n\
         ```\n",
        name = o.name,
        version = o.version,
        chart = chart.name,
        chart_version = chart.version,
    )
}
