//! The `pack.content` section of values.yaml: the images and charts a pack deploys, which
//! Palette's air-gap mirroring and security scans read instead of rendering the pack.

use super::finding::{Finding, Position};
use super::{InputLimits, PackFile, VALUES_YAML};
use crate::oci::is_valid_tag;
use crate::oci::{check_host, check_repository, is_host};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::cell::Cell;
use std::fmt;
use std::io::Read;
use std::path::Path;

/// The most YAML nodes of `pack.content` that validation holds in memory at once (with their
/// positions); a section over it is reported as too large before any of it is checked. Real
/// packs list tens of images, a few hundred nodes.
pub const MAX_CONTENT_NODES: usize = 100_000;

/// The registry an image reference without a host names, as Docker and Kubernetes read it.
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// The layers whose packs deploy workloads of their own, so Palette mirrors and scans their
/// images: a pack of one of them should list them.
const LAYERS_WITH_IMAGES: [&str; 3] = ["addon", "cni", "csi"];

const IMAGE_KEYS: [&str; 1] = ["image"];
const CHART_KEYS: [&str; 3] = ["repo", "name", "version"];
const CONTENT_KEYS: [&str; 2] = ["images", "charts"];

/// A container image reference: `[host[:port]/]path[:tag][@digest]`, as the Docker reference
/// grammar reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host (`docker.io` when the reference names none).
    pub registry: String,
    /// The repository (`library/NAME` for a one-part Docker Hub name).
    pub repository: String,
    /// The tag, when given.
    pub tag: Option<String>,
    /// The digest (`algorithm:hex`), when given; it wins over the tag.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses an image reference; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<ImageRef, String> {
        if text.is_empty() {
            return Err("it is empty".into());
        }
        if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("it holds {:?}", c));
        }
        if text.contains("://") {
            return Err("it is a URL; an image reference has no scheme".into());
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                check_digest(digest)?;
                (rest, Some(digest.to_string()))
            }
            None => (text, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag
            && !is_valid_tag(tag)
        {
            return Err(format!(
                "`{tag}` is not a valid tag (letters, digits, `_`, `.` and `-`, at most 128)"
            ));
        }
        let (registry, path) = match name.split_once('/') {
            Some((host, path)) if is_host(host) => {
                check_host(host)?;
                (host.to_string(), path.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DEFAULT_REGISTRY.to_string(),
            _ => registry,
        };
        check_repository(&path)?;
        let repository = if registry == DEFAULT_REGISTRY && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        Ok(ImageRef {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// What to ask the registry for: the digest, else the tag, else `latest`.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn check_digest(digest: &str) -> Result<(), String> {
    let bad = || format!("`{digest}` is not a digest (`sha256:` and 64 hex digits)");
    let (algorithm, encoded) = digest.split_once(':').ok_or_else(bad)?;
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.split(['+', '.', '_', '-']).all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    let encoded_ok = match algorithm {
        "sha256" => encoded.len() == 64,
        "sha512" => encoded.len() == 128,
        _ => !encoded.is_empty(),
    } && encoded
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if algorithm_ok && encoded_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// An image `pack.content.images` lists, where values.yaml lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedImage {
    /// The reference as written.
    pub image: String,
    /// The reference, parsed.
    pub reference: ImageRef,
    /// Where in values.yaml.
    pub position: Option<Position>,
}

/// A Helm chart `pack.content.charts` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedChart {
    /// The chart repository: `oci://HOST/PATH` for a registry, else an HTTP chart repository.
    pub repo: String,
    /// The chart name.
    pub name: String,
    /// The chart version.
    pub version: String,
    /// Where in values.yaml.
    pub position: Option<Position>,
}

impl ListedChart {
    /// The chart as an OCI reference (`HOST/PATH/NAME:VERSION`), when its repository is a
    /// registry (`oci://`); `Helm` stores a chart version's `+` as `_` in its tag.
    pub fn oci_reference(&self) -> Option<Result<ImageRef, String>> {
        let rest = self.repo.strip_prefix("oci://")?;
        let text = format!(
            "{}/{}:{}",
            rest.trim_end_matches('/'),
            self.name,
            self.version.replace('+', "_")
        );
        Some(ImageRef::parse(&text).and_then(|r| {
            if r.registry == DEFAULT_REGISTRY && !rest.starts_with(DEFAULT_REGISTRY) {
                Err(format!("`{}` names no registry host", self.repo))
            } else {
                Ok(r)
            }
        }))
    }
}

impl fmt::Display for ListedChart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}:{}",
            self.repo.trim_end_matches('/'),
            self.name,
            self.version
        )
    }
}

/// The images a pack's values.yaml lists under `pack.content.images` that parse as image
/// references; the rest are validation errors and are left out.
pub fn content_images(dir: &Path, limits: &InputLimits) -> Vec<ListedImage> {
    content_listing(dir, limits).0
}

/// The images and the charts a pack's values.yaml lists under `pack.content`, the ones that
/// are well formed (the rest are validation errors and are left out).
pub fn content_listing(dir: &Path, limits: &InputLimits) -> (Vec<ListedImage>, Vec<ListedChart>) {
    let Ok(Some(text)) = read_values(&dir.join(VALUES_YAML), limits) else {
        return (Vec::new(), Vec::new());
    };
    let mut findings = Vec::new();
    let content = parse(&text, limits, &mut findings);
    check_content(content, None, &mut findings)
}

/// Checks the `pack.content` section of values.yaml, which has already parsed as YAML.
pub(super) fn check(
    values: &PackFile,
    layer: Option<&str>,
    limits: &InputLimits,
    findings: &mut Vec<Finding>,
) {
    // values.yaml was read and parsed already; a failure to read it again was reported then.
    let Ok(Some(text)) = read_values(&values.source, limits) else {
        return;
    };
    let content = parse(&text, limits, findings);
    check_content(content, layer, findings);
}

fn read_values(path: &Path, limits: &InputLimits) -> std::io::Result<Option<String>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limits.max_yaml_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limits.max_yaml_bytes {
        return Ok(None);
    }
    Ok(String::from_utf8(bytes).ok())
}

/// What `pack.content` held: absent, or its node.
enum Content {
    Absent,
    Present(Spanned<Yaml>),
}

fn parse(text: &str, limits: &InputLimits, findings: &mut Vec<Finding>) -> Content {
    // The same limits as the values.yaml check, which has already passed.
    let options = super::load::yaml_options(limits);
    NODES_LEFT.with(|n| n.set(MAX_CONTENT_NODES));
    match serde_saphyr::from_str_with_options::<Option<Top>>(text, options) {
        Ok(Some(Top(Some(content)))) => Content::Present(content),
        Ok(_) => Content::Absent,
        Err(e) => {
            if e.to_string().contains(TOO_MANY_NODES) {
                findings.push(
                    Finding::error(
                        "content-too-large",
                        VALUES_YAML,
                        format!(
                            "pack.content holds more than {MAX_CONTENT_NODES} YAML nodes; packctl checks at most that many"
                        ),
                    )
                    .field("pack.content")
                    .hint("list each image and chart once; move other data out of pack.content"),
                );
            }
            // Any other failure is a YAML error, which the values.yaml check reports.
            Content::Absent
        }
    }
}

fn check_content(
    content: Content,
    layer: Option<&str>,
    findings: &mut Vec<Finding>,
) -> (Vec<ListedImage>, Vec<ListedChart>) {
    let mut images = Vec::new();
    let mut charts = Vec::new();
    let mut has_images = false;
    if let Content::Present(content) = content {
        match &content.value {
            Yaml::Null => {}
            Yaml::Map(entries) => {
                for (key, value) in entries {
                    let name = key.value.as_key();
                    match name.as_deref() {
                        Some("images") => {
                            has_images = check_list(
                                value,
                                "pack.content.images",
                                &IMAGE_KEYS,
                                findings,
                                |path, entry, findings| {
                                    images.extend(check_image(path, entry, findings))
                                },
                            )
                        }
                        Some("charts") => {
                            check_list(
                                value,
                                "pack.content.charts",
                                &CHART_KEYS,
                                findings,
                                |path, entry, findings| {
                                    charts.extend(check_chart(path, entry, findings))
                                },
                            );
                        }
                        _ => {
                            let name = name.unwrap_or_else(|| "a key that is not text".into());
                            findings.push(
                                Finding::warning(
                                    "content-unknown-key",
                                    VALUES_YAML,
                                    format!(
                                        "pack.content has a key `{name}` that Palette does not read"
                                    ),
                                )
                                .field(format!("pack.content.{name}"))
                                .at(position(key))
                                .hint(unknown_key_hint(&name, &CONTENT_KEYS)),
                            );
                        }
                    }
                }
            }
            other => findings.push(wrong_type(
                "pack.content",
                &content,
                other,
                "a mapping with `images` and `charts`",
            )),
        }
    }
    if !has_images && let Some(layer) = layer.filter(|l| LAYERS_WITH_IMAGES.contains(l)) {
        findings.push(
            Finding::warning(
                "content-no-images",
                VALUES_YAML,
                format!(
                    "values.yaml lists no images under pack.content.images; Palette's air-gap mirroring and image scans of this {layer} pack read that list"
                ),
            )
            .field("pack.content.images")
            .hint("list every image the pack deploys under `pack.content.images`, each as `- image: REGISTRY/REPOSITORY:TAG`"),
        );
    }
    (images, charts)
}

/// Checks a list of entries; `false` when it is empty or null (a value that is no list is an
/// error of its own, not an empty list).
fn check_list(
    list: &Spanned<Yaml>,
    path: &str,
    keys: &[&'static str],
    findings: &mut Vec<Finding>,
    mut check_entry: impl FnMut(&str, &Entry<'_>, &mut Vec<Finding>),
) -> bool {
    let items = match &list.value {
        Yaml::Null => return false,
        Yaml::Seq(items) => items,
        other => {
            findings.push(wrong_type(path, list, other, "a list"));
            // Not empty: it is wrong, and that is its finding.
            return true;
        }
    };
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let Yaml::Map(entries) = &item.value else {
            findings.push(wrong_type(
                &item_path,
                item,
                &item.value,
                &format!("a mapping with {}", quoted(keys)),
            ));
            continue;
        };
        let mut misspelt = Vec::new();
        for (key, _) in entries {
            let name = key.value.as_key();
            if name.as_deref().is_some_and(|n| keys.contains(&n)) {
                continue;
            }
            let name = name.unwrap_or_else(|| "a key that is not text".into());
            misspelt.extend(closest_key(&name, keys));
            findings.push(
                Finding::error(
                    "content-unknown-key",
                    VALUES_YAML,
                    format!(
                        "{item_path} has a key `{name}`, which is not one of {}",
                        quoted(keys)
                    ),
                )
                .field(format!("{item_path}.{name}"))
                .at(position(key))
                .hint(unknown_key_hint(&name, keys)),
            );
        }
        let entry = Entry {
            entries,
            misspelt: &misspelt,
        };
        check_entry(&item_path, &entry, findings);
    }
    !items.is_empty()
}

/// An entry of a list, and the keys it seems to misspell (already reported).
struct Entry<'a> {
    entries: &'a [(Spanned<Yaml>, Spanned<Yaml>)],
    misspelt: &'a [&'static str],
}

fn check_image(path: &str, entry: &Entry<'_>, findings: &mut Vec<Finding>) -> Option<ListedImage> {
    let value = required_text(path, entry, "image", findings)?;
    let text = value.value.as_text()?;
    match ImageRef::parse(&text) {
        Ok(reference) => Some(ListedImage {
            image: text,
            reference,
            position: position(value),
        }),
        Err(reason) => {
            findings.push(
                Finding::error(
                    "content-invalid-image",
                    VALUES_YAML,
                    format!("{path}.image `{text}` is not an image reference: {reason}"),
                )
                .field(format!("{path}.image"))
                .at(position(value))
                .hint("write [REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST], such as ghcr.io/org/app:1.2.3"),
            );
            None
        }
    }
}

fn check_chart(path: &str, entry: &Entry<'_>, findings: &mut Vec<Finding>) -> Option<ListedChart> {
    let [repo, name, version] = CHART_KEYS.map(|key| required_text(path, entry, key, findings));
    let text = |node: Option<&Spanned<Yaml>>| node.and_then(|n| n.value.as_text());
    Some(ListedChart {
        position: repo.and_then(position),
        repo: text(repo)?.trim().to_string(),
        name: text(name)?.trim().to_string(),
        version: text(version)?.trim().to_string(),
    })
}

/// The value of `key` in an entry, when it is a non-empty scalar; otherwise a finding (but
/// none for a missing key that the entry misspells, which is reported already).
fn required_text<'a>(
    path: &str,
    entry: &Entry<'a>,
    key: &'static str,
    findings: &mut Vec<Finding>,
) -> Option<&'a Spanned<Yaml>> {
    let entries = entry.entries;
    let found = entries
        .iter()
        .find(|(k, _)| k.value.as_key().as_deref() == Some(key));
    let field = format!("{path}.{key}");
    let Some((key_node, value)) = found else {
        if entry.misspelt.contains(&key) {
            return None;
        }
        let at = entries.first().and_then(|(k, _)| position(k));
        findings.push(
            Finding::error(
                "content-missing-field",
                VALUES_YAML,
                format!("{path} has no `{key}`"),
            )
            .field(field)
            .at(at)
            .hint(format!("add `{key}:` to the entry")),
        );
        return None;
    };
    match value.value.as_text() {
        Some(text) if !text.trim().is_empty() => Some(value),
        Some(_) | None if matches!(value.value, Yaml::Scalar(_) | Yaml::Null) => {
            findings.push(
                Finding::error(
                    "content-missing-field",
                    VALUES_YAML,
                    format!("{field} is empty"),
                )
                .field(field)
                .at(position(value).or(position(key_node)))
                .hint(format!("give `{key}` a value, or remove the entry")),
            );
            None
        }
        _ => {
            findings.push(wrong_type(&field, value, &value.value, "text"));
            None
        }
    }
}

fn wrong_type(path: &str, node: &Spanned<Yaml>, value: &Yaml, want: &str) -> Finding {
    Finding::error(
        "content-wrong-type",
        VALUES_YAML,
        format!("{path} is {}, not {want}", value.kind()),
    )
    .field(path)
    .at(position(node))
    .hint(format!("make {path} {want}, as Palette's packs write it"))
}

fn quoted(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown_key_hint(name: &str, keys: &[&'static str]) -> String {
    match closest_key(name, keys) {
        Some(k) => format!("did you mean `{k}`?"),
        None => format!("use one of {}", quoted(keys)),
    }
}

/// The known key an unknown one most likely means: a few letters off, or a longer spelling
/// of it (`repository` for `repo`).
fn closest_key(name: &str, keys: &[&'static str]) -> Option<&'static str> {
    let name = name.to_lowercase();
    keys.iter()
        .map(|k| {
            let d = if name.len() >= 3 && (name.starts_with(k) || k.starts_with(name.as_str())) {
                1
            } else {
                edit_distance(&name, k)
            };
            (d, *k)
        })
        .filter(|(d, k)| *d <= 2.max(k.len() / 3) && *d < k.len())
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance with transpositions counted once, over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Keys are short; a long one is simply not close.
    if a.len() > 64 {
        return usize::MAX;
    }
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

fn position(node: &Spanned<Yaml>) -> Option<Position> {
    let l = node.referenced;
    (l.line() > 0).then(|| Position {
        line: l.line() as u32,
        column: l.column() as u32,
    })
}

const TOO_MANY_NODES: &str = "pack.content holds too many nodes";

thread_local! {
    // serde's Deserialize takes no context, so the node budget of one parse lives here.
    static NODES_LEFT: Cell<usize> = const { Cell::new(MAX_CONTENT_NODES) };
}

fn spend_node<E: de::Error>() -> Result<(), E> {
    NODES_LEFT.with(|n| match n.get() {
        0 => Err(E::custom(TOO_MANY_NODES)),
        left => {
            n.set(left - 1);
            Ok(())
        }
    })
}

/// A YAML node with the positions of its children.
#[derive(Debug)]
enum Yaml {
    Null,
    /// A scalar, as text (numbers and booleans as written by their canonical form).
    Scalar(String),
    Seq(Vec<Spanned<Yaml>>),
    Map(Vec<(Spanned<Yaml>, Spanned<Yaml>)>),
}

impl Yaml {
    fn kind(&self) -> &'static str {
        match self {
            Yaml::Null => "empty",
            Yaml::Scalar(_) => "a single value",
            Yaml::Seq(_) => "a list",
            Yaml::Map(_) => "a mapping",
        }
    }

    fn as_text(&self) -> Option<String> {
        match self {
            Yaml::Scalar(s) => Some(s.clone()),
            Yaml::Null => Some(String::new()),
            _ => None,
        }
    }

    fn as_key(&self) -> Option<String> {
        match self {
            Yaml::Scalar(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(YamlVisitor)
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Yaml;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Yaml, E> {
        spend_node()?;
        Ok(Yaml::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Yaml, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Yaml, D::Error> {
        deserializer.deserialize_any(YamlVisitor)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Yaml, E> {
        spend_node()?;
        Ok(Yaml::Scalar(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Yaml, E> {
        spend_node()?;
        Ok(Yaml::Scalar(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Yaml, E> {
        spend_node()?;
        Ok(Yaml::Scalar(v.to_string()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Yaml, E> {
        spend_node()?;
        Ok(Yaml::Scalar(v.to_string()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Yaml, E> {
        spend_node()?;
        Ok(Yaml::Scalar(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Yaml, E> {
        spend_node()?;
        Ok(Yaml::Scalar(v.to_string()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Yaml, E> {
        spend_node()?;
        Ok(Yaml::Scalar(v.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        spend_node()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Yaml::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        spend_node()?;
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Yaml::Map(entries))
    }
}

/// The top of values.yaml, keeping only `pack.content`: the rest of the file may be large and
/// is never held.
struct Top(Option<Spanned<Yaml>>);

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(PickVisitor {
                key: "pack",
                inner: PickLevel::Pack,
            })
            .map(Top)
    }
}

#[derive(Clone, Copy)]
enum PickLevel {
    Pack,
    Content,
}

/// Walks a mapping, keeping one key's value and skipping the rest; anything but a mapping
/// holds no such key.
struct PickVisitor {
    key: &'static str,
    inner: PickLevel,
}

struct Pick(Option<Spanned<Yaml>>);

impl<'de> Deserialize<'de> for Pick {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(PickVisitor {
                key: "content",
                inner: PickLevel::Content,
            })
            .map(Pick)
    }
}

impl<'de> Visitor<'de> for PickVisitor {
    type Value = Option<Spanned<Yaml>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<KeyName>()? {
            if key.0.as_deref() != Some(self.key) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            found = match self.inner {
                PickLevel::Pack => map.next_value::<Pick>()?.0,
                PickLevel::Content => Some(map.next_value::<Spanned<Yaml>>()?),
            };
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A mapping key, as text when it is a scalar.
struct KeyName(Option<String>);

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyName, E> {
                Ok(KeyName(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyName, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(KeyName(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyName, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(KeyName(None))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.reference()),
            ("docker.io", "library/nginx", "latest")
        );
        let r = ImageRef::parse("bitnami/redis:7.2.4-debian-12-r0").unwrap();
        assert_eq!(r.repository, "bitnami/redis");
        assert_eq!(r.reference(), "7.2.4-debian-12-r0");
        let r = ImageRef::parse("localhost:5000/a/b:1.0").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("localhost:5000", "a/b")
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("registry.k8s.io/pause:3.9@{d}")).unwrap();
        assert_eq!(r.reference(), d);
        assert_eq!(r.to_string(), format!("registry.k8s.io/pause:3.9@{d}"));
        let r = ImageRef::parse("index.docker.io/library/busybox").unwrap();
        assert_eq!(r.registry, "docker.io");
        for bad in [
            "",
            "Nginx",
            "nginx:",
            "nginx:bad tag",
            "ghcr.io/",
            "ghcr.io/a//b",
            "https://ghcr.io/a",
            "a@sha256:123",
            "host:99999/a",
            "-bad.io/a",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_close_to_a_known_one_are_suggested() {
        assert_eq!(
            unknown_key_hint("iamge", &IMAGE_KEYS),
            "did you mean `image`?"
        );
        assert_eq!(
            unknown_key_hint("repository", &CHART_KEYS),
            "did you mean `repo`?"
        );
        assert_eq!(
            unknown_key_hint("tag", &CHART_KEYS),
            "use one of `repo`, `name`, `version`"
        );
        assert_eq!(
            unknown_key_hint("verison", &CHART_KEYS),
            "did you mean `version`?"
        );
        assert_eq!(unknown_key_hint("xyz", &IMAGE_KEYS), "use one of `image`");
    }

    #[test]
    fn only_pack_content_is_kept() {
        let text =
            "a: [1, 2]\npack:\n  namespace: x\n  content:\n    images:\n      - image: nginx\n";
        let mut findings = Vec::new();
        let (images, _) = check_content(
            parse(text, &InputLimits::default(), &mut findings),
            Some("addon"),
            &mut findings,
        );
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(images.len(), 1);
        assert_eq!(
            images[0].position,
            Some(Position {
                line: 6,
                column: 16
            })
        );
        for text in ["", "- a\n- b\n", "7\n", "pack: 3\n", "pack:\n  content:\n"] {
            let mut findings = Vec::new();
            let (images, _) = check_content(
                parse(text, &InputLimits::default(), &mut findings),
                Some("os"),
                &mut findings,
            );
            assert!(
                images.is_empty() && findings.is_empty(),
                "{text:?}: {findings:?}"
            );
        }
    }

    #[test]
    fn workload_layers_without_images_are_warned() {
        let text = "pack:\n  namespace: x\n";
        for (layer, warned) in [
            ("addon", true),
            ("cni", true),
            ("csi", true),
            ("os", false),
            ("k8s", false),
        ] {
            let mut findings = Vec::new();
            check_content(
                parse(text, &InputLimits::default(), &mut findings),
                Some(layer),
                &mut findings,
            );
            let rules: Vec<_> = findings.iter().map(|f| (f.severity, f.rule)).collect();
            let want = if warned {
                vec![(crate::pack::Severity::Warning, "content-no-images")]
            } else {
                vec![]
            };
            assert_eq!(rules, want, "{layer}");
        }
        let mut findings = Vec::new();
        let empty = "pack:\n  content:\n    images: []\n";
        check_content(
            parse(empty, &InputLimits::default(), &mut findings),
            Some("addon"),
            &mut findings,
        );
        assert_eq!(findings.len(), 1);
    }

    #[test]
    fn a_huge_content_section_is_refused_not_held() {
        let mut text = String::from("pack:\n  content:\n    images: [");
        text.push_str(&"{image: a},".repeat(MAX_CONTENT_NODES / 2));
        text.push_str("]\n");
        let mut findings = Vec::new();
        parse(&text, &InputLimits::default(), &mut findings);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, "content-too-large");
    }
}
