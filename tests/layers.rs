//! The library's layers, as docs/architecture.md draws them: every `crate::X` a module names
//! is allowed by the page's table, the table has no cycle, and the library's dependency tree
//! without the `cli` feature holds no command-line crate.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The table of docs/architecture.md: module → the modules it may use.
fn allowed() -> BTreeMap<String, BTreeSet<String>> {
    let page = fs::read_to_string(Path::new(ROOT).join("docs/architecture.md")).unwrap();
    let mut table = BTreeMap::new();
    for line in page.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        if cells.len() != 2 {
            continue;
        }
        let module = cells[0].trim();
        let Some(module) = module.strip_prefix('`').and_then(|m| m.strip_suffix('`')) else {
            continue;
        };
        let uses = cells[1]
            .split(',')
            .map(|u| u.trim().trim_matches('`').to_string())
            .filter(|u| !u.is_empty() && u != "—")
            .collect();
        assert!(
            table.insert(module.to_string(), uses).is_none(),
            "docs/architecture.md lists `{module}` twice"
        );
    }
    table
}

/// The top-level modules `src/lib.rs` declares.
fn modules() -> BTreeSet<String> {
    let lib = fs::read_to_string(Path::new(ROOT).join("src/lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)]` part.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules that `text` names as `crate::X` or in `use crate::{X, …}`.
fn named(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The first identifier of each top-level item of the group.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphabetic() || c == '_') => {
                        let word: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        found.insert(word);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.insert(word);
        }
    }
    found
}

/// What each top-level module of the library names of the others.
fn actual() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(ROOT).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        if first == "bin" || first == "lib.rs" {
            continue;
        }
        let module = first.trim_end_matches(".rs").to_string();
        let text = fs::read_to_string(&file).unwrap();
        let uses = graph.entry(module.clone()).or_default();
        uses.extend(named(&code(&text)).into_iter().filter(|m| *m != module));
    }
    graph
}

/// A cycle in `graph`, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn every_module_is_on_the_architecture_page() {
    let table = allowed();
    let declared = modules();
    let listed: BTreeSet<String> = table.keys().cloned().collect();
    assert_eq!(
        declared, listed,
        "src/lib.rs and the table of docs/architecture.md list different modules"
    );
    for (module, uses) in &table {
        for used in uses {
            assert!(
                declared.contains(used),
                "docs/architecture.md: `{module}` may use `{used}`, which is no module"
            );
        }
    }
}

#[test]
fn the_layers_have_no_cycle() {
    let table = allowed();
    assert_eq!(cycle(&table), None, "docs/architecture.md allows a cycle");
    assert_eq!(
        cycle(&actual()),
        None,
        "the library's modules use each other in a cycle"
    );
}

#[test]
fn every_module_uses_only_what_its_layer_allows() {
    let table = allowed();
    let mut breaks = Vec::new();
    for (module, uses) in actual() {
        let allowed = table.get(&module).cloned().unwrap_or_default();
        for used in uses.difference(&allowed) {
            breaks.push(format!("`{module}` uses `{used}`"));
        }
    }
    assert!(
        breaks.is_empty(),
        "imports that docs/architecture.md does not allow:\n  {}",
        breaks.join("\n  ")
    );
}

#[test]
fn the_check_finds_what_it_looks_for() {
    // The parser sees both spellings of an import, and a cycle.
    let text = code(
        "use crate::oci::{Digest, Manifest};\nuse crate::{auth::Credential, content::{self, Source}};\n// crate::ops in a comment\nfn f() { crate::store::open(); }",
    );
    let found: Vec<String> = named(&text).into_iter().collect();
    assert_eq!(found, ["auth", "content", "oci", "store"]);
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
    ]
    .into();
    assert_eq!(cycle(&graph).map(|c| c.len()), Some(3));
}

#[test]
fn the_library_depends_on_no_command_line_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .current_dir(ROOT)
        .args([
            "tree",
            "--locked",
            "-e",
            "normal",
            "--no-default-features",
            "-p",
            "packctl",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).unwrap();
    let crates: BTreeSet<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains("tokio"),
        "the tree lists no crates:\n{tree}"
    );
    for cli in [
        "clap",
        "clap_complete",
        "indicatif",
        "rpassword",
        "anyhow",
        "tracing-subscriber",
    ] {
        assert!(
            !crates.contains(cli),
            "`{cli}` is in the library's dependency tree without the cli feature"
        );
    }
}
