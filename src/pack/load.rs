//! Loading a pack folder: the file checks, and assembling the parts of a valid pack.

use super::finding::{Finding, Position};
use super::json_index::{JsonIndex, JsonPath};
use super::metadata::{self, Listed, MetadataRead, PACK_JSON, quoted_list};
use super::walk::{Node, NodeKind, Tree, ancestors};
use super::{
    Ignored, InputLimits, LOGO_PNG, Pack, PackFile, Part, README_MD, VALUES_YAML, Validation, png,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read};
use std::ops::Bound;
use std::path::Path;

/// The most bytes of pack.json: it becomes a config blob, and registries cap those.
pub const MAX_PACK_JSON_BYTES: u64 = 1 << 20;

/// Validates the pack in `dir`, reporting every finding at once.
pub fn validate(dir: &Path) -> Validation {
    validate_with(dir, &InputLimits::default())
}

/// Validates the pack in `dir` with caps of its own on what is read.
pub fn validate_with(dir: &Path, limits: &InputLimits) -> Validation {
    let mut findings = Vec::new();
    let mut ignored = Vec::new();
    let pack = load(dir, limits, &mut findings, &mut ignored);
    let pack = pack.filter(|_| !findings.iter().any(Finding::is_error));
    Validation {
        findings,
        pack,
        ignored,
    }
}

fn load(
    dir: &Path,
    limits: &InputLimits,
    findings: &mut Vec<Finding>,
    ignored: &mut Vec<Ignored>,
) -> Option<Pack> {
    let unreadable_folder = |e: io::Error| {
        Finding::error(
            "unreadable",
            ".",
            format!("the pack folder `{}` cannot be read: {e}", dir.display()),
        )
        .hint("check the folder's permissions")
    };
    let problem = match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => None,
        Ok(_) => Some(
            Finding::error(
                "not-a-pack",
                ".",
                format!("`{}` is a file, not a pack folder", dir.display()),
            )
            .hint("give the folder that holds pack.json"),
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Some(
            Finding::error(
                "not-a-pack",
                ".",
                format!("the pack folder `{}` does not exist", dir.display()),
            )
            .hint("check the path; `packctl pack init DIR` creates a new pack"),
        ),
        Err(e) => Some(unreadable_folder(e)),
    };
    if let Some(finding) = problem {
        findings.push(finding);
        return None;
    }
    let tree = match Tree::walk(dir, findings) {
        Ok(tree) => tree,
        Err(e) => {
            findings.push(unreadable_folder(e));
            return None;
        }
    };
    ignored.extend(tree.ignored.values().cloned());

    let (metadata_bytes, read) = read_metadata(&tree, findings);
    let values = required_file(&tree, VALUES_YAML, "an empty values.yaml is fine", findings);
    if let Some(file) = &values {
        check_yaml_file(file, false, limits, findings);
    }
    let logo = required_file(
        &tree,
        LOGO_PNG,
        "add the pack's logo as a PNG image",
        findings,
    );
    if let Some(file) = &logo {
        check_logo(file, findings);
    }
    check_readme(&tree, findings);
    super::presets::check(&tree, limits, findings);
    super::schema::check(&tree, limits, findings);
    // Without a pack.json object there is no list to hold files against.
    let listed = read.listed?;
    let references = check_references(&listed, &tree, &read.index, limits, findings);
    warn_unlisted(&tree, &references, findings);
    if let Some(file) = values
        .as_ref()
        .filter(|_| !has_error_in(findings, VALUES_YAML))
    {
        let layer = read.metadata.as_ref().map(|m| m.layer.as_str());
        super::content::check(file, layer, limits, findings);
    }
    let metadata = read.metadata?;
    let parts = assemble(&tree, &references, values?, logo?)?;
    let pack_json = file_of(&tree, PACK_JSON)?;
    Some(Pack {
        root: dir.to_path_buf(),
        metadata,
        metadata_bytes,
        parts: std::iter::once(Part::Metadata(pack_json))
            .chain(parts)
            .collect(),
        ignored: ignored.clone(),
    })
}

pub(crate) fn file_of(tree: &Tree, path: &str) -> Option<PackFile> {
    match tree.get(path)? {
        Node {
            kind: NodeKind::File {
                size, executable, ..
            },
            source,
        } => Some(PackFile {
            path: path.to_string(),
            source: source.clone(),
            size: *size,
            executable: *executable,
        }),
        _ => None,
    }
}

/// A fixed file every pack must have, as a regular file.
/// README.md: Palette's pack repository asks for one (Palette itself does not).
fn check_readme(tree: &Tree, findings: &mut Vec<Finding>) {
    if matches!(
        tree.get(README_MD).map(|n| &n.kind),
        Some(NodeKind::File { .. })
    ) {
        return;
    }
    let other_case = tree
        .nodes
        .keys()
        .find(|p| !p.contains('/') && p.eq_ignore_ascii_case(README_MD));
    let hint = match other_case {
        Some(name) => {
            format!("rename {name} to {README_MD}: Palette's pack repository looks for that name")
        }
        None => {
            "add a README.md that says what the pack deploys and how to configure it".to_string()
        }
    };
    let message = match tree.ignored_by(README_MD) {
        Some(ignored) => format!(
            "{README_MD} {}; Palette's pack repository requires one",
            ignored.leaves_out(README_MD)
        ),
        None => format!(
            "the pack has no {README_MD}; Palette's pack repository requires one, Palette itself does not"
        ),
    };
    findings.push(Finding::warning("missing-readme", README_MD, message).hint(hint));
}

fn required_file(
    tree: &Tree,
    name: &str,
    hint: &str,
    findings: &mut Vec<Finding>,
) -> Option<PackFile> {
    match tree.get(name).map(|n| &n.kind) {
        None => {
            findings.push(match tree.ignored_by(name) {
                Some(ignored) => ignored.required_finding(name),
                None => Finding::error("missing-file", name, format!("the pack has no {name}"))
                    .hint(hint),
            });
            None
        }
        Some(NodeKind::Dir) => {
            findings.push(
                Finding::error(
                    "missing-file",
                    name,
                    format!("{name} is a folder, not a file"),
                )
                .hint(format!("replace the folder with the file {name}")),
            );
            None
        }
        // Links and special files already have a finding from the walk.
        Some(NodeKind::Unusable) => None,
        Some(NodeKind::File { .. }) => file_of(tree, name),
    }
}

fn read_metadata(tree: &Tree, findings: &mut Vec<Finding>) -> (Vec<u8>, MetadataRead) {
    let hint = "run `packctl pack init` to start a pack, or add pack.json with name, displayName, layer, version and cloudTypes";
    let Some(file) = required_file(tree, PACK_JSON, hint, findings) else {
        return (Vec::new(), MetadataRead::default());
    };
    let too_large = |size: u64| {
        Finding::error(
            "file-too-large",
            PACK_JSON,
            format!("pack.json is {size} bytes; packctl reads at most {MAX_PACK_JSON_BYTES}"),
        )
        .hint("keep pack.json to metadata; move data into values.yaml or other files")
    };
    if file.size > MAX_PACK_JSON_BYTES {
        findings.push(too_large(file.size));
        return (Vec::new(), MetadataRead::default());
    }
    let bytes = match read_capped(&file.source, MAX_PACK_JSON_BYTES) {
        Ok(Some(b)) => b,
        Ok(None) => {
            findings.push(too_large(MAX_PACK_JSON_BYTES + 1));
            return (Vec::new(), MetadataRead::default());
        }
        Err(e) => {
            findings.push(unreadable(PACK_JSON, &e));
            return (Vec::new(), MetadataRead::default());
        }
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            findings.push(not_utf8(PACK_JSON, &bytes, &e));
            return (bytes, MetadataRead::default());
        }
    };
    let read = metadata::read(text, findings);
    (bytes, read)
}

fn has_error_in(findings: &[Finding], file: &str) -> bool {
    findings.iter().any(|f| f.is_error() && f.file == file)
}

/// Reads a whole file, or `None` when it holds more than `limit` bytes: the size the walk saw
/// is checked first, but the file may have grown since.
pub(crate) fn read_capped(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

pub(crate) fn unreadable(file: &str, e: &io::Error) -> Finding {
    Finding::error("unreadable", file, format!("{file} cannot be read: {e}"))
        .hint("check the file's permissions")
}

pub(crate) fn not_utf8(file: &str, bytes: &[u8], e: &std::str::Utf8Error) -> Finding {
    let good = &bytes[..e.valid_up_to()];
    let text = std::str::from_utf8(good).unwrap_or_default();
    let line = text.matches('\n').count() + 1;
    let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Finding::error("not-utf8", file, format!("{file} is not UTF-8 text"))
        .at(Some(Position {
            line: line as u32,
            column: column as u32,
        }))
        .hint("save the file as UTF-8")
}

/// Checks that a YAML file parses (every document, when `multi`), with no duplicate keys.
fn check_yaml_file(
    file: &PackFile,
    multi: bool,
    limits: &InputLimits,
    findings: &mut Vec<Finding>,
) {
    let too_large = |size: u64| {
        Finding::error(
            "file-too-large",
            &file.path,
            format!(
                "{} is {size} bytes; packctl reads YAML files of at most {} bytes",
                file.path, limits.max_yaml_bytes
            ),
        )
        .hint(if multi {
            "split the manifest into several files"
        } else {
            "keep values.yaml to values users set; move large data into other files"
        })
    };
    if file.size > limits.max_yaml_bytes {
        findings.push(too_large(file.size));
        return;
    }
    let bytes = match read_capped(&file.source, limits.max_yaml_bytes) {
        Ok(Some(b)) => b,
        Ok(None) => {
            findings.push(too_large(limits.max_yaml_bytes + 1));
            return;
        }
        Err(e) => {
            findings.push(unreadable(&file.path, &e));
            return;
        }
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            findings.push(not_utf8(&file.path, &bytes, &e));
            return;
        }
    };
    // A templated manifest (`{{ … }}`) is YAML only once rendered, so it is not parsed here.
    if multi && text.contains("{{") {
        return;
    }
    if let Some(finding) = check_yaml(&file.path, text, multi, limits) {
        findings.push(finding);
    }
}

/// Parses YAML text; `None` when it is well formed.
pub(crate) fn check_yaml(
    file: &str,
    text: &str,
    multi: bool,
    limits: &InputLimits,
) -> Option<Finding> {
    use serde::de::IgnoredAny;
    let options = yaml_options(limits);
    let result = if multi {
        serde_saphyr::from_str_multiple_with_options::<IgnoredAny, Vec<_>>(text, options).map(drop)
    } else {
        serde_saphyr::from_str_with_options::<IgnoredAny>(text, options).map(drop)
    };
    Some(yaml_finding(file, result.err()?, multi, limits))
}

/// Parser options that hold a YAML file to `limits`.
pub(crate) fn yaml_options(limits: &InputLimits) -> serde_saphyr::options::Options {
    let mut options = serde_saphyr::options::Options::default();
    options.with_snippet = false;
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_documents = limits.max_yaml_documents;
    budget.max_nodes = limits.max_yaml_nodes;
    // Every node is at most two events (start and end), and each document adds a few more.
    budget.max_events = limits
        .max_yaml_nodes
        .saturating_mul(2)
        .saturating_add(limits.max_yaml_documents.saturating_mul(4))
        .saturating_add(16);
    budget.max_depth = limits.max_yaml_depth;
    budget.flow_nesting_limit = limits.max_yaml_depth;
    // Scalars are bounded by the file size, which is checked before parsing.
    budget.max_total_scalar_bytes = usize::try_from(limits.max_yaml_bytes).unwrap_or(usize::MAX);
    options.budget = Some(budget);
    options
}

/// The finding for a YAML parse error, placed where the parser stopped.
pub(crate) fn yaml_finding(
    file: &str,
    error: serde_saphyr::Error,
    multi: bool,
    limits: &InputLimits,
) -> Finding {
    let position = error.location().map(|l| Position {
        line: l.line() as u32,
        column: l.column() as u32,
    });
    // An error met while replaying an alias comes wrapped; what went wrong is inside.
    let mut cause = &error;
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = cause
    {
        cause = error;
    }
    let finding = match cause {
        serde_saphyr::Error::AliasReplayCounterOverflow { .. }
        | serde_saphyr::Error::AliasReplayLimitExceeded { .. }
        | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
        | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. } => {
            let (what, hint) = budget_breach(
                &serde_saphyr::budget::BudgetBreach::Aliases { aliases: 0 },
                limits,
                multi,
            );
            too_large_yaml(file, &what, hint)
        }
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => Finding::error(
            "duplicate-key",
            file,
            match key {
                Some(k) => format!("the key `{k}` is given twice in one mapping"),
                None => "a key is given twice in one mapping".to_string(),
            },
        )
        .hint("keep one of the two keys; YAML readers disagree on which one wins"),
        serde_saphyr::Error::Budget { breach, .. } => {
            let (what, hint) = budget_breach(breach, limits, multi);
            too_large_yaml(file, &what, hint)
        }
        serde_saphyr::Error::ExternalMessage { source, .. }
            if matches!(
                &**source,
                serde_saphyr::ExternalMessageSource::Parser(scan)
                    if matches!(scan.kind(), serde_saphyr::granit_parser::ErrorKind::RecursionLimitExceeded)
            ) =>
        {
            // The parser's own nesting limit is the depth budget, hit before the budget sees it.
            let (what, hint) = budget_breach(
                &serde_saphyr::budget::BudgetBreach::Depth {
                    depth: limits.max_yaml_depth + 1,
                },
                limits,
                multi,
            );
            too_large_yaml(file, &what, hint)
        }
        other => {
            let text = other.to_string();
            let message = text
                .rfind(" at line ")
                .map_or(text.as_str(), |i| &text[..i]);
            let hint = if multi {
                "fix the YAML syntax at the position shown; separate documents with `---`"
            } else {
                "fix the YAML syntax at the position shown"
            };
            Finding::error(
                "yaml-syntax",
                file,
                format!("{file} is not valid YAML: {message}"),
            )
            .hint(hint)
        }
    };
    finding.at(position)
}

fn too_large_yaml(file: &str, what: &str, hint: &str) -> Finding {
    Finding::error(
        "yaml-too-large",
        file,
        format!("{file} is too large to check: {what}"),
    )
    .hint(hint)
}

/// What a YAML budget breach means, with the limit that was hit, and how to stay under it.
fn budget_breach(
    breach: &serde_saphyr::budget::BudgetBreach,
    limits: &InputLimits,
    multi: bool,
) -> (String, &'static str) {
    use serde_saphyr::budget::BudgetBreach as B;
    let split = if multi {
        "split the manifest into several files"
    } else {
        "keep values.yaml to values users set; move large data into other files"
    };
    match breach {
        B::Documents { .. } => (
            format!(
                "it holds more than {} YAML documents",
                limits.max_yaml_documents
            ),
            split,
        ),
        B::Nodes { .. } | B::Events { .. } => (
            format!(
                "it holds more than {} YAML nodes (keys, values and items)",
                limits.max_yaml_nodes
            ),
            split,
        ),
        B::Depth { .. } => (
            format!(
                "it nests sequences and mappings more than {} levels deep",
                limits.max_yaml_depth
            ),
            "flatten the nesting",
        ),
        B::ScalarBytes { .. } | B::InputBytes { .. } => (
            format!("its text is over {} bytes", limits.max_yaml_bytes),
            split,
        ),
        B::Aliases { .. }
        | B::Anchors { .. }
        | B::AliasAnchorRatio { .. }
        | B::RecordedAnchorEvents { .. }
        | B::RecordedAnchorBytes { .. }
        | B::MergeKeys { .. } => (
            "its anchors and aliases (`&a`, `*a`, `<<`) expand to more than packctl reads".into(),
            "write the repeated values out, or use fewer aliases",
        ),
        other => (format!("it exceeds a parser limit ({other:?})"), split),
    }
}

fn check_logo(file: &PackFile, findings: &mut Vec<Finding>) {
    let result = File::open(&file.source)
        .map_err(|e| png::LogoError::Invalid(format!("it cannot be read: {e}")))
        .and_then(png::check);
    match result {
        Ok(_) => {}
        Err(png::LogoError::OtherFormat(kind)) => findings.push(
            Finding::warning(
                "logo-not-png",
                LOGO_PNG,
                format!("logo.png holds {kind}, not a PNG image; browsers, and so Palette, show it all the same"),
            )
            .hint("save the logo in PNG format, which every tool that reads logo.png expects"),
        ),
        Err(png::LogoError::Invalid(why)) => findings.push(
            Finding::error(
                "invalid-png",
                LOGO_PNG,
                format!("logo.png is not a usable image: {why}"),
            )
            .hint("save the logo in PNG format (Palette shows it in the pack list)"),
        ),
    }
}

/// A path named in `charts`, `kubeManifests` or `ansibleRoles`, after normalisation.
#[derive(Debug)]
pub(crate) struct Reference {
    pub(crate) list: &'static str,
    pub(crate) index: usize,
    pub(crate) path: String,
}

impl Reference {
    fn field(&self) -> JsonPath {
        JsonPath::field(self.list).item(self.index)
    }
}

/// Normalises a relative path from pack.json: `/`-separated, no `.` or empty components.
pub(crate) fn normalize(raw: &str) -> Result<String, (&'static str, &'static str)> {
    if raw.is_empty() {
        return Err(("is empty", "give a path relative to the pack folder"));
    }
    if raw.contains('\\') {
        return Err(("uses `\\`", "separate folders with `/`"));
    }
    if raw.starts_with('/') || (raw.len() >= 2 && raw.as_bytes()[1] == b':') {
        return Err((
            "is an absolute path",
            "give a path relative to the pack folder",
        ));
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err((
                    "leaves the pack folder (`..`)",
                    "keep the file inside the pack folder and name it from there",
                ));
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err((
            "names the pack folder itself",
            "name a file or folder inside the pack",
        ));
    }
    Ok(parts.join("/"))
}

fn check_references(
    listed: &Listed,
    tree: &Tree,
    index: &JsonIndex,
    limits: &InputLimits,
    findings: &mut Vec<Finding>,
) -> Vec<Reference> {
    let lists: [(&'static str, &Vec<String>); 3] = [
        ("charts", &listed.charts),
        ("kubeManifests", &listed.kube_manifests),
        ("ansibleRoles", &listed.ansible_roles),
    ];
    let mut references: Vec<Reference> = Vec::new();
    let same = SameName::new(tree);
    for (list, paths) in lists {
        for (position, raw) in paths.iter().enumerate() {
            let field = JsonPath::field(list).item(position);
            let path = match normalize(raw) {
                Ok(p) => p,
                Err((what, hint)) => {
                    findings.push(
                        Finding::error(
                            "invalid-path",
                            PACK_JSON,
                            format!("`{field}` \"{raw}\" {what}"),
                        )
                        .at(index.value(&field))
                        .field(field.to_string())
                        .hint(hint),
                    );
                    continue;
                }
            };
            let reference = Reference {
                list,
                index: position,
                path,
            };
            if check_reference(&reference, raw, tree, &same, index, limits, findings) {
                references.push(reference);
            }
        }
    }
    check_overlaps(&references, index, findings);
    references
}

/// Checks one referenced path; `true` when it can be packed.
fn check_reference(
    reference: &Reference,
    raw: &str,
    tree: &Tree,
    same: &SameName<'_>,
    index: &JsonIndex,
    limits: &InputLimits,
    findings: &mut Vec<Finding>,
) -> bool {
    let field = reference.field();
    let path = &reference.path;
    let want_dir = reference.list == "ansibleRoles";
    let node = tree.get(path);
    let problem = match node.map(|n| &n.kind) {
        None => Some(match tree.ignored_by(path) {
            Some(ignored) => (
                "ignored-path",
                format!(
                    "`{field}` names \"{raw}\", which {}",
                    ignored.leaves_out(path)
                ),
                ignored.hint(path),
            ),
            None => (
                "missing-path",
                format!("`{field}` names \"{raw}\", which is not in the pack"),
                match unpacked_chart(tree, path).filter(|_| reference.list == "charts") {
                    Some(folder) => {
                        let parent = folder.rsplit_once('/').map_or(".", |(p, _)| p);
                        format!(
                            "\"{folder}\" is the chart unpacked: package it with `helm package {folder} -d {parent}` and list the .tgz it writes"
                        )
                    }
                    None => suggest_existing(same, path, want_dir),
                },
            ),
        }),
        // The walk already reported why this entry cannot be packed.
        Some(NodeKind::Unusable) => return false,
        Some(NodeKind::Dir) if !want_dir => Some((
            "invalid-path",
            format!(
                "`{field}` names the folder \"{raw}\"; {} must name files",
                reference.list
            ),
            "name the file itself".to_string(),
        )),
        Some(NodeKind::File { .. }) if want_dir => Some((
            "invalid-path",
            format!("`{field}` names the file \"{raw}\"; an Ansible role is a folder"),
            "name the role's folder, the one that holds tasks/".to_string(),
        )),
        _ => None,
    };
    if let Some((rule, message, hint)) = problem {
        findings.push(
            Finding::error(rule, PACK_JSON, message)
                .at(index.value(&field))
                .field(field.to_string())
                .hint(hint),
        );
        return false;
    }
    let node = node.expect("checked above");
    match reference.list {
        "charts" => check_chart(path, node, limits, findings),
        "kubeManifests" => {
            if let Some(file) = file_of(tree, path) {
                check_yaml_file(&file, true, limits, findings);
            }
        }
        _ => check_role(path, tree, findings),
    }
    true
}

/// The unpacked chart folder (one holding Chart.yaml) beside a missing chart archive:
/// `charts/NAME` for `charts/NAME-1.2.3.tgz` or `charts/NAME.tgz`.
fn unpacked_chart(tree: &Tree, archive: &str) -> Option<String> {
    let (parent, file) = match archive.rsplit_once('/') {
        Some((parent, file)) => (Some(parent), file),
        None => (None, archive),
    };
    let stem = file
        .strip_suffix(".tgz")
        .or_else(|| file.strip_suffix(".tar.gz"))?;
    let candidates = std::iter::once(stem).chain(
        stem.match_indices('-')
            .rev()
            .map(|(i, _)| &stem[..i])
            .filter(|name| !name.is_empty()),
    );
    candidates
        .map(|name| match parent {
            Some(parent) => format!("{parent}/{name}"),
            None => name.to_string(),
        })
        .find(|folder| {
            matches!(tree.get(folder).map(|n| &n.kind), Some(NodeKind::Dir))
                && tree.get(&format!("{folder}/Chart.yaml")).is_some()
        })
}

/// Up to three paths for each file or folder name, to suggest for a listed path that is missing.
///
/// Built once, so that many missing paths in a large pack cost one pass over the pack each,
/// not one pass per missing path.
struct SameName<'a>(HashMap<(&'a str, bool), Vec<&'a str>>);

impl<'a> SameName<'a> {
    fn new(tree: &'a Tree) -> Self {
        let mut map: HashMap<(&str, bool), Vec<&str>> = HashMap::new();
        for (path, node) in &tree.nodes {
            let name = path.rsplit('/').next().unwrap_or(path);
            let paths = map
                .entry((name, matches!(node.kind, NodeKind::Dir)))
                .or_default();
            if paths.len() < 3 {
                paths.push(path);
            }
        }
        SameName(map)
    }
}

fn suggest_existing(same: &SameName<'_>, path: &str, want_dir: bool) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    let same_name: &[&str] = same.0.get(&(name, want_dir)).map_or(&[], Vec::as_slice);
    if same_name.is_empty() {
        "check the path; it is relative to the pack folder".to_string()
    } else {
        format!("did you mean {}?", quoted_list(same_name))
    }
}

fn check_chart(path: &str, node: &Node, limits: &InputLimits, findings: &mut Vec<Finding>) {
    let result = File::open(&node.source)
        .map_err(|e| ChartProblem::Broken(format!("it cannot be read: {e}")))
        .and_then(|file| chart_name(file, limits.max_chart_unpacked_bytes));
    match result {
        Ok(chart) => {
            // Helm names an archive NAME-VERSION.tgz; Palette and `helm install` go by
            // Chart.yaml, so another file name only misleads whoever reads the pack.
            if let (Some(name), Some(version)) = (chart.name, chart.version) {
                let expected = format!("{name}-{version}.tgz");
                let file = path.rsplit('/').next().unwrap_or(path);
                if file != expected {
                    findings.push(
                        Finding::warning(
                            "chart-file-name",
                            path,
                            format!(
                                "`{path}` holds the chart {name} {version}, which Helm names `{expected}`"
                            ),
                        )
                        .hint(format!(
                            "rename it to `{expected}` (and its entry in `charts`), or package the chart again with `helm package`"
                        )),
                    );
                }
            }
        }
        Err(ChartProblem::Broken(why)) => findings.push(
            Finding::error(
                "invalid-chart",
                path,
                format!("`{path}` is not a Helm chart archive: {why}"),
            )
            .hint("package the chart with `helm package CHART_DIR` and name the .tgz it writes"),
        ),
        Err(ChartProblem::TooLarge) => findings.push(
            Finding::error(
                "file-too-large",
                path,
                format!(
                    "`{path}` holds more than {} bytes once decompressed; packctl reads at most that",
                    limits.max_chart_unpacked_bytes
                ),
            )
            .hint("keep large files out of the chart; Helm refuses such charts too"),
        ),
    }
}

/// Why a chart archive cannot be used.
enum ChartProblem {
    /// It is not a readable, complete Helm chart archive.
    Broken(String),
    /// It decompresses to more than the cap.
    TooLarge,
}

/// Finds the chart folder of a Helm chart archive: the top folder holding Chart.yaml.
///
/// The whole gzip stream is read, up to its checksum, so that an archive cut short or damaged
/// after Chart.yaml is refused here rather than by Helm at install time.
fn chart_name(file: File, max_unpacked: u64) -> Result<ChartHead, ChartProblem> {
    let broken = |why: &str| ChartProblem::Broken(why.to_string());
    let mut magic = [0u8; 2];
    let mut reader = io::BufReader::new(file);
    let mut head = (&mut reader).take(2);
    head.read_exact(&mut magic)
        .map_err(|_| broken("it is shorter than a gzip header"))?;
    if magic != [0x1f, 0x8b] {
        return Err(broken("it is not gzip-compressed"));
    }
    let stream = io::Cursor::new(magic).chain(reader);
    let mut unpacked = Capped {
        inner: flate2::read::GzDecoder::new(stream),
        left: max_unpacked,
        over: false,
    };
    let result = scan_chart(&mut unpacked);
    if unpacked.over {
        return Err(ChartProblem::TooLarge);
    }
    result.map_err(ChartProblem::Broken)
}

/// What a chart archive says of itself: its folder, and Chart.yaml's name and version.
struct ChartHead {
    name: Option<String>,
    version: Option<String>,
}

/// Chart.yaml's name and version, when it is YAML that has them as text.
fn chart_yaml_head(bytes: &[u8]) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Head {
        name: Option<String>,
        version: Option<String>,
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return (None, None);
    };
    let options = yaml_options(&InputLimits::default());
    match serde_saphyr::from_str_with_options::<Head>(text, options) {
        Ok(head) => (head.name, head.version),
        Err(_) => (None, None),
    }
}

fn scan_chart(unpacked: &mut impl Read) -> Result<ChartHead, String> {
    let mut name = None;
    let mut head = (None, None);
    {
        let mut archive = tar::Archive::new(&mut *unpacked);
        let entries = archive
            .entries()
            .map_err(|e| format!("it is not a tar archive: {e}"))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("it is damaged or cut short: {e}"))?;
            if name.is_some() {
                continue;
            }
            let path = entry
                .path()
                .map_err(|e| format!("it holds a bad entry name: {e}"))?;
            let parts: Vec<_> = path.components().collect();
            if parts.len() == 2 && parts[1].as_os_str() == "Chart.yaml" {
                name = Some(parts[0].as_os_str().to_string_lossy().into_owned());
                // Chart.yaml is small; a bigger one is not read for its name.
                let mut entry = entry;
                let mut bytes = Vec::new();
                if (&mut entry)
                    .take(1024 * 1024)
                    .read_to_end(&mut bytes)
                    .is_ok()
                {
                    head = chart_yaml_head(&bytes);
                }
            }
        }
    }
    // The tar ends before the gzip stream does; reading on checks the stream's length and
    // checksum.
    io::copy(unpacked, &mut io::sink()).map_err(|e| format!("it is damaged or cut short: {e}"))?;
    name.ok_or_else(|| "it holds no CHART/Chart.yaml".to_string())?;
    Ok(ChartHead {
        name: head.0,
        version: head.1,
    })
}

/// A reader that fails once more than `left` bytes have come through it.
struct Capped<R> {
    inner: R,
    left: u64,
    over: bool,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Ask for one byte more than allowed, to tell "exactly at the cap" from "over it".
        let want = buf.len().min(
            usize::try_from(self.left)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
        );
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            self.over = true;
            return Err(io::Error::other("the decompressed size is over the cap"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn check_role(path: &str, tree: &Tree, findings: &mut Vec<Finding>) {
    let has_tasks = ["tasks/main.yml", "tasks/main.yaml"]
        .iter()
        .any(|t| tree.get(&format!("{path}/{t}")).is_some());
    if !has_tasks {
        findings.push(
            Finding::warning(
                "role-without-tasks",
                path,
                format!("the Ansible role `{path}` has no tasks/main.yml, so Ansible runs nothing from it"),
            )
            .hint("add the role's tasks in tasks/main.yml"),
        );
    }
}

fn check_overlaps(references: &[Reference], index: &JsonIndex, findings: &mut Vec<Finding>) {
    let fixed = [PACK_JSON, VALUES_YAML, LOGO_PNG];
    let mut seen: BTreeMap<&str, &Reference> = BTreeMap::new();
    for r in references {
        if fixed.contains(&r.path.as_str()) {
            findings.push(
                Finding::error(
                    "overlapping-path",
                    PACK_JSON,
                    format!(
                        "`{}` names {}, which the pack carries on its own",
                        r.field(),
                        r.path
                    ),
                )
                .at(index.value(&r.field()))
                .field(r.field().to_string())
                .hint("remove the entry"),
            );
            continue;
        }
        if let Some(earlier) = seen.get(r.path.as_str()) {
            findings.push(
                Finding::error(
                    "duplicate-path",
                    PACK_JSON,
                    format!(
                        "`{}` names \"{}\" again (first in `{}`)",
                        r.field(),
                        r.path,
                        earlier.field()
                    ),
                )
                .at(index.value(&r.field()))
                .field(r.field().to_string())
                .hint("name each file or folder once"),
            );
            continue;
        }
        // Either a listed folder holds this path, or this path holds one listed earlier.
        let inside = format!("{}/", r.path);
        let holder = ancestors(&r.path).find_map(|a| seen.get(a));
        let held = seen
            .range::<str, _>((Bound::Included(inside.as_str()), Bound::Unbounded))
            .next()
            .filter(|(p, _)| p.starts_with(&inside))
            .map(|(_, e)| e);
        if let Some(other) = holder.or(held) {
            findings.push(
                Finding::error(
                    "overlapping-path",
                    PACK_JSON,
                    format!(
                        "`{}` (\"{}\") and `{}` (\"{}\") overlap: one lies inside the other",
                        r.field(),
                        r.path,
                        other.field(),
                        other.path
                    ),
                )
                .at(index.value(&r.field()))
                .field(r.field().to_string())
                .hint("a file belongs either to a role folder or to its own list, not both"),
            );
            continue;
        }
        seen.insert(&r.path, r);
    }
}

/// Warns about charts and manifests in their usual folders, and Ansible role folders (a
/// folder with `tasks/main.yml`), that pack.json does not list.
fn warn_unlisted(tree: &Tree, references: &[Reference], findings: &mut Vec<Finding>) {
    warn_unlisted_files(tree, references, findings);
    let claimed: HashSet<&str> = references.iter().map(|r| r.path.as_str()).collect();
    let mut warned = HashSet::new();
    for (path, _) in tree.files_under("") {
        let Some(role) = path
            .strip_suffix("/tasks/main.yml")
            .or_else(|| path.strip_suffix("/tasks/main.yaml"))
        else {
            continue;
        };
        // Listed itself, inside a listed folder, or named in part (a finding of its own).
        let inside = format!("{role}/");
        let listed = claimed.contains(role)
            || ancestors(role).any(|a| claimed.contains(a))
            || claimed.iter().any(|c| c.starts_with(&inside))
            // A list entry that names something inside it was refused already.
            || findings.iter().any(|f| f.message.contains(&format!("\"{inside}")));
        if listed || !warned.insert(role.to_string()) {
            continue;
        }
        findings.push(
            Finding::warning(
                "unlisted-file",
                role.to_string(),
                format!(
                    "`{role}` looks like an Ansible role but `ansibleRoles` does not list it; it is carried as plain files"
                ),
            )
            .hint(format!(
                "add \"{role}\" to `ansibleRoles` in pack.json, or move it elsewhere"
            )),
        );
    }
}

fn warn_unlisted_files(tree: &Tree, references: &[Reference], findings: &mut Vec<Finding>) {
    let claimed: HashSet<&str> = references.iter().map(|r| r.path.as_str()).collect();
    let roles: HashSet<&str> = references
        .iter()
        .filter(|r| r.list == "ansibleRoles")
        .map(|r| r.path.as_str())
        .collect();
    for (path, _) in tree.files_under("") {
        if claimed.contains(path.as_str()) || ancestors(path).any(|a| roles.contains(a)) {
            continue;
        }
        let (list, looks_like) = if path.starts_with("charts/") && path.ends_with(".tgz") {
            ("charts", "a Helm chart")
        } else if path.starts_with("manifests/")
            && (path.ends_with(".yaml") || path.ends_with(".yml"))
        {
            ("kubeManifests", "a Kubernetes manifest")
        } else {
            continue;
        };
        findings.push(
            Finding::warning(
                "unlisted-file",
                path.clone(),
                format!("`{path}` looks like {looks_like} but `{list}` does not list it; it is carried as a plain file"),
            )
            .hint(format!("add \"{path}\" to `{list}` in pack.json, or move it elsewhere")),
        );
    }
}

fn assemble(
    tree: &Tree,
    references: &[Reference],
    values: PackFile,
    logo: PackFile,
) -> Option<Vec<Part>> {
    let mut parts = vec![Part::Values(values), Part::Logo(logo)];
    for list in ["charts", "kubeManifests", "ansibleRoles"] {
        for r in references.iter().filter(|r| r.list == list) {
            let part = match list {
                "charts" => Part::Chart(file_of(tree, &r.path)?),
                "kubeManifests" => Part::KubeManifest(file_of(tree, &r.path)?),
                _ => role(tree, &r.path),
            };
            parts.push(part);
        }
    }
    let mut claimed: HashSet<&str> = HashSet::from([PACK_JSON]);
    claimed.extend(parts.iter().map(Part::path));
    let others: Vec<Part> = tree
        .files_under("")
        .filter(|(path, _)| {
            !claimed.contains(path.as_str()) && !ancestors(path).any(|a| claimed.contains(a))
        })
        .filter_map(|(path, _)| file_of(tree, path).map(Part::Other))
        .collect();
    parts.extend(others);
    Some(parts)
}

fn role(tree: &Tree, path: &str) -> Part {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for (p, node) in tree.below(path) {
        match node.kind {
            NodeKind::Dir => dirs.push(p.clone()),
            NodeKind::File { .. } => files.extend(file_of(tree, p)),
            NodeKind::Unusable => {}
        }
    }
    Part::AnsibleRole {
        path: path.to_string(),
        dirs,
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize("./charts//a.tgz").unwrap(), "charts/a.tgz");
        assert_eq!(normalize("harden_os/").unwrap(), "harden_os");
        assert!(normalize("../x").is_err());
        assert!(normalize("a/../../x").is_err());
        assert!(normalize("/etc/passwd").is_err());
        assert!(normalize("C:/x").is_err());
        assert!(normalize("a\\b").is_err());
        assert!(normalize("").is_err());
        assert!(normalize("./").is_err());
    }

    #[test]
    fn yaml_findings_carry_positions() {
        let f = check_yaml(
            "values.yaml",
            "a: 1\nb:\n  c: 1\n  c: 2\n",
            false,
            &InputLimits::default(),
        )
        .unwrap();
        assert_eq!(
            (f.rule, f.line, f.column),
            ("duplicate-key", Some(4), Some(3))
        );
        let f = check_yaml("m.yaml", "a: 1\n---\nb: [\n", true, &InputLimits::default()).unwrap();
        assert_eq!((f.rule, f.line), ("yaml-syntax", Some(3)));
        assert!(!f.message.contains(" at line "), "{}", f.message);
        assert!(check_yaml("values.yaml", "", false, &InputLimits::default()).is_none());
        assert!(
            check_yaml(
                "values.yaml",
                "# only comments\n",
                false,
                &InputLimits::default()
            )
            .is_none()
        );
    }
}
