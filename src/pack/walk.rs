//! Walking a pack folder: every entry in a stable order, never following a link out of it,
//! and never entering what the ignore rules leave out.

use super::finding::{Finding, escaped};
use super::ignore::{IGNORE_FILE, IgnoreRule, Ignored, Rules};
use std::collections::BTreeMap;
use std::fs;
use std::ops::Bound;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What a path inside the pack is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeKind {
    /// A regular file, or a link to one inside the pack.
    File {
        /// Size in bytes.
        size: u64,
        /// Whether the owner may execute it.
        executable: bool,
        /// Whether it was reached through a symbolic link.
        linked: bool,
    },
    /// A folder.
    Dir,
    /// Something that cannot be packed; a finding says why.
    Unusable,
}

/// One path in the pack.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    /// Where to read the bytes from (a link's target for a linked file).
    pub(crate) source: PathBuf,
}

/// Every path in a pack folder, keyed by its `/`-separated path relative to the folder.
///
/// A `BTreeMap` keeps the order independent of the order the file system lists entries in.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    pub(crate) nodes: BTreeMap<String, Node>,
    /// What the ignore rules left out, by path; nothing below an ignored folder is listed.
    pub(crate) ignored: BTreeMap<String, Ignored>,
}

impl Tree {
    /// Walks `root`, adding a finding for each entry that cannot be packed.
    ///
    /// Ignored entries are judged by name alone: a link, pipe or unreadable folder that the
    /// rules leave out is never looked at, so it cannot make the pack invalid.
    pub(crate) fn walk(root: &Path, findings: &mut Vec<Finding>) -> std::io::Result<Tree> {
        let canonical_root = root.canonicalize()?;
        let rules = Rules::load(root, findings);
        let mut tree = Tree::default();
        let mut walker = Walker {
            root: &canonical_root,
            rules: &rules,
            tree: &mut tree,
            findings,
        };
        walker.dir(root, "")?;
        Ok(tree)
    }

    /// The ignored entry that leaves out `path`: the path itself or a folder holding it.
    pub(crate) fn ignored_by(&self, path: &str) -> Option<&Ignored> {
        ancestors(path)
            .chain(std::iter::once(path))
            .find_map(|p| self.ignored.get(p))
    }

    /// The node at a relative path.
    pub(crate) fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// The regular files, and links to files, below a folder (or in the whole pack for `""`).
    pub(crate) fn files_under<'a>(
        &'a self,
        dir: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Node)> + 'a {
        self.below(dir)
            .filter(|(_, node)| matches!(node.kind, NodeKind::File { .. }))
    }

    /// Every node strictly below a folder (everything for `""`).
    ///
    /// The paths below `dir/` sort together, so this reads only them.
    pub(crate) fn below<'a>(
        &'a self,
        dir: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Node)> + 'a {
        let start = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.nodes
            .range::<str, _>((Bound::Included(start.as_str()), Bound::Unbounded))
            .take_while(move |(path, _)| is_below(path, dir))
    }
}

/// The folders that hold `path`, outermost first: `a` and `a/b` for `a/b/c`.
pub(crate) fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// Whether `path` lies strictly below the folder `dir` (`""` is the pack itself).
pub(crate) fn is_below(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

struct Walker<'a> {
    root: &'a Path,
    rules: &'a Rules,
    tree: &'a mut Tree,
    findings: &'a mut Vec<Finding>,
}

impl Walker<'_> {
    /// Walks a folder; an error is returned only for the pack folder itself, since every
    /// entry below it is reported as a finding that names it.
    fn dir(&mut self, dir: &Path, rel: &str) -> std::io::Result<()> {
        let names = match list(dir) {
            Ok(names) => names,
            Err(e) if rel.is_empty() => return Err(e),
            Err(e) => {
                self.unreadable(rel, "the folder", &e, dir);
                return Ok(());
            }
        };
        for (name, file_type) in names {
            let path = dir.join(&name);
            if self.ignore(rel, &name, file_type) {
                continue;
            }
            let Some(name) = name.to_str() else {
                self.findings.push(
                    Finding::error(
                        "unsupported-file",
                        display_rel(rel, &name.to_string_lossy()),
                        "the file name is not valid UTF-8, so it cannot be named in an OCI artifact",
                    )
                    .hint("rename the file"),
                );
                continue;
            };
            let rel = display_rel(rel, name);
            if let Some(what) = unsupported_name(name) {
                let shown = escaped(&rel);
                self.findings.push(
                    Finding::error(
                        "invalid-file-name",
                        rel.clone(),
                        format!(
                            "the name `{shown}` holds {what}; `pack pull` refuses such names, so an artifact cannot carry it"
                        ),
                    )
                    .hint("rename it without `\\` or control characters"),
                );
                self.insert(&rel, NodeKind::Unusable, path);
                continue;
            }
            if name == IGNORE_FILE && file_type.is_some_and(|t| t.is_file()) {
                self.findings.push(
                    Finding::warning(
                        "nested-ignore-file",
                        rel.clone(),
                        format!("`{rel}` is not read: only the {IGNORE_FILE} at the top of the pack holds ignore rules; this one is packed as a plain file"),
                    )
                    .hint(format!("move its patterns, prefixed with their folder, into the top {IGNORE_FILE}")),
                );
            }
            self.entry(path, rel);
        }
        Ok(())
    }

    /// Records `name` in `rel` as left out, if the rules say so.
    fn ignore(
        &mut self,
        rel: &str,
        name: &std::ffi::OsStr,
        file_type: Option<fs::FileType>,
    ) -> bool {
        let dir = file_type.is_some_and(|t| t.is_dir());
        let rule = if rel.is_empty() && name == IGNORE_FILE {
            Some(IgnoreRule::IgnoreFile)
        } else {
            self.rules.rule_for(&Path::new(rel).join(name), dir)
        };
        let Some(rule) = rule else {
            return false;
        };
        let path = display_rel(rel, &name.to_string_lossy());
        self.tree
            .ignored
            .insert(path.clone(), Ignored { path, dir, rule });
        true
    }

    fn entry(&mut self, path: PathBuf, rel: String) {
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) => return self.unreadable(&rel, "the file", &e, &path),
        };
        let file_type = meta.file_type();
        if file_type.is_dir() {
            self.insert(&rel, NodeKind::Dir, path.clone());
            // An unreadable folder is reported and marked by `dir` itself.
            let _ = self.dir(&path, &rel);
            return;
        }
        if file_type.is_file() {
            let kind = file_kind(&meta, false);
            self.insert(&rel, kind, path);
            return;
        }
        if file_type.is_symlink() {
            return self.link(path, rel);
        }
        let what = if file_type.is_fifo() {
            "a named pipe"
        } else if file_type.is_socket() {
            "a socket"
        } else {
            "a device file"
        };
        self.findings.push(
            Finding::error(
                "unsupported-file",
                rel.clone(),
                format!("`{rel}` is {what}; a pack holds only regular files and folders"),
            )
            .hint("remove it from the pack folder"),
        );
        self.insert(&rel, NodeKind::Unusable, path);
    }

    fn link(&mut self, path: PathBuf, rel: String) {
        let target = match fs::read_link(&path) {
            Ok(target) => target,
            Err(e) => return self.unreadable(&rel, "the link", &e, &path),
        };
        let Ok(resolved) = path.canonicalize() else {
            self.findings.push(
                Finding::error(
                    "broken-symlink",
                    rel.clone(),
                    format!(
                        "`{rel}` is a symbolic link to `{}`, which does not exist",
                        target.display()
                    ),
                )
                .hint("point the link at a file inside the pack, or replace it with the file"),
            );
            self.insert(&rel, NodeKind::Unusable, path);
            return;
        };
        if !resolved.starts_with(self.root) {
            self.findings.push(
                Finding::error(
                    "symlink-escapes",
                    rel.clone(),
                    format!(
                        "`{rel}` is a symbolic link to `{}`, outside the pack folder",
                        target.display()
                    ),
                )
                .hint("copy the file into the pack instead of linking to it"),
            );
            self.insert(&rel, NodeKind::Unusable, path);
            return;
        }
        let meta = match fs::metadata(&resolved) {
            Ok(meta) => meta,
            Err(e) => return self.unreadable(&rel, "the link", &e, &path),
        };
        if meta.is_file() {
            self.findings.push(
                Finding::warning(
                    "symlink-copied",
                    rel.clone(),
                    format!(
                        "`{rel}` is a symbolic link to `{}`; the artifact carries a copy of its bytes",
                        target.display()
                    ),
                )
                .hint("replace the link with the file to silence this warning"),
            );
            self.insert(&rel, file_kind(&meta, true), resolved);
        } else {
            let (message, hint) = if meta.is_dir() {
                (
                    format!(
                        "`{rel}` is a symbolic link to the folder `{}`; linked folders are not packed",
                        target.display()
                    ),
                    "replace the link with a copy of the folder",
                )
            } else {
                (
                    format!(
                        "`{rel}` is a symbolic link to `{}`, which is not a regular file; a pack holds only regular files and folders",
                        target.display()
                    ),
                    "remove the link from the pack folder",
                )
            };
            self.findings
                .push(Finding::error("unsupported-file", rel.clone(), message).hint(hint));
            self.insert(&rel, NodeKind::Unusable, path);
        }
    }

    /// Reports an entry that cannot be read, by its own path, and keeps it out of the pack.
    fn unreadable(&mut self, rel: &str, what: &str, e: &std::io::Error, path: &Path) {
        self.findings.push(
            Finding::error(
                "unreadable",
                rel,
                format!("{what} `{rel}` cannot be read: {e}"),
            )
            .hint("check its permissions, and that its path is not too long"),
        );
        self.insert(rel, NodeKind::Unusable, path.to_path_buf());
    }

    fn insert(&mut self, rel: &str, kind: NodeKind, source: PathBuf) {
        self.tree
            .nodes
            .insert(rel.to_string(), Node { kind, source });
    }
}

/// The names in a folder, sorted by bytes, with their types where the listing gives them.
fn list(dir: &Path) -> std::io::Result<Vec<(std::ffi::OsString, Option<fs::FileType>)>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        names.push((entry.file_name(), entry.file_type().ok()));
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(names)
}

/// Why a file or folder name cannot be carried in an artifact, if it cannot: `pack pull`
/// refuses a title or tar entry with a backslash or a control character, so validation
/// refuses the same names before a push.
fn unsupported_name(name: &str) -> Option<String> {
    if name.contains('\\') {
        return Some("a backslash (`\\`)".to_string());
    }
    name.chars()
        .find(|c| c.is_control())
        .map(|c| format!("the control character U+{:04X}", u32::from(c)))
}

fn file_kind(meta: &fs::Metadata, linked: bool) -> NodeKind {
    NodeKind::File {
        size: meta.len(),
        executable: meta.permissions().mode() & 0o100 != 0,
        linked,
    }
}

fn display_rel(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn walks_in_sorted_order_and_judges_links() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/c")).unwrap();
        fs::write(root.join("b/c/z.txt"), "z").unwrap();
        fs::write(root.join("a.txt"), "a").unwrap();
        symlink("a.txt", root.join("inside")).unwrap();
        symlink(outside.path().join("secret"), root.join("outside")).unwrap();
        symlink("b", root.join("folder-link")).unwrap();
        symlink("missing", root.join("dangling")).unwrap();

        let mut findings = Vec::new();
        let tree = Tree::walk(root, &mut findings).unwrap();
        let paths: Vec<_> = tree.nodes.keys().cloned().collect();
        assert_eq!(
            paths,
            [
                "a.txt",
                "b",
                "b/c",
                "b/c/z.txt",
                "dangling",
                "folder-link",
                "inside",
                "outside"
            ]
        );
        let rules: Vec<_> = findings.iter().map(|f| (f.rule, f.file.as_str())).collect();
        assert_eq!(
            rules,
            [
                ("broken-symlink", "dangling"),
                ("unsupported-file", "folder-link"),
                ("symlink-copied", "inside"),
                ("symlink-escapes", "outside"),
            ]
        );
        assert!(matches!(
            tree.get("inside").unwrap().kind,
            NodeKind::File {
                linked: true,
                size: 1,
                ..
            }
        ));
        assert_eq!(tree.files_under("b").count(), 1);
    }

    #[test]
    fn ancestors_and_below() {
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), ["a", "a/b"]);
        assert_eq!(ancestors("a").count(), 0);
        let mut tree = Tree::default();
        for p in ["a", "a/x", "a/y/z", "a-b", "a0", "b"] {
            tree.nodes.insert(
                p.to_string(),
                Node {
                    kind: NodeKind::Dir,
                    source: PathBuf::new(),
                },
            );
        }
        let below: Vec<_> = tree.below("a").map(|(p, _)| p.as_str()).collect();
        assert_eq!(below, ["a/x", "a/y/z"]);
        assert_eq!(tree.below("").count(), 6);
    }

    #[test]
    fn is_below_needs_a_separator() {
        assert!(is_below("roles/a/x", "roles/a"));
        assert!(!is_below("roles/ab", "roles/a"));
        assert!(!is_below("roles/a", "roles/a"));
        assert!(is_below("anything", ""));
    }
}
