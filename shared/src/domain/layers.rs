//! The domain's layers, checked from its own source: every module imports only from its own
//! layer or below, and the imports within a layer form no circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each module of the domain and its layer (see the domain's module comment).
const LAYERS: [(&str, u8); 23] = [
    ("weight", 1),
    ("text", 1),
    ("field", 1),
    ("failure", 1),
    ("alias", 1),
    ("alarm", 1),
    ("json", 1),
    ("strategy", 2),
    ("analysis", 2),
    ("provisioned", 2),
    ("approval", 2),
    ("hooks", 2),
    ("managed", 2),
    ("request", 3),
    ("limits", 4),
    ("cost", 4),
    ("preflight", 4),
    ("accept", 4),
    ("idle", 4),
    ("deployment", 5),
    ("lifecycle", 6),
    ("record", 7),
    ("waves", 8),
];

/// The code of a source file before its `#[cfg(test)]` items (tests may use anything).
fn non_test(source: &str) -> &str {
    source
        .find("#[cfg(test)]")
        .map_or(source, |at| &source[..at])
}

/// The domain modules a source file refers to (`super::x`, `crate::domain::x`, and `x` inside
/// a `use super::{…}` or `use crate::domain::{…}` group).
fn imports(source: &str) -> BTreeSet<String> {
    let known: BTreeSet<&str> = LAYERS.iter().map(|(m, _)| *m).collect();
    let mut found = BTreeSet::new();
    let code = non_test(source);
    for prefix in ["super::", "crate::domain::", "super::super::"] {
        for (at, _) in code.match_indices(prefix) {
            let rest = &code[at + prefix.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name = item.trim().split("::").next().unwrap_or("").trim();
                    if known.contains(name) {
                        found.insert(name.to_owned());
                    }
                }
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if known.contains(name.as_str()) {
                found.insert(name);
            }
        }
    }
    found
}

/// Every module's imports, read from `dir` (a module may be a file or a folder of files).
fn graph(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for (module, _) in LAYERS {
        let mut files = vec![dir.join(format!("{module}.rs"))];
        let folder = dir.join(module);
        if let Ok(entries) = std::fs::read_dir(&folder) {
            files.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
        }
        let mut uses = BTreeSet::new();
        for file in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        {
            if let Ok(source) = std::fs::read_to_string(file) {
                // Inside a folder module, `super::` is the module itself.
                let source = if file.starts_with(&folder) {
                    source.replace("super::", "self::")
                } else {
                    source
                };
                uses.extend(imports(&source));
            }
        }
        uses.remove(module);
        graph.insert(module.to_owned(), uses);
    }
    graph
}

/// What is wrong with `graph`: upward imports, and circles within a layer.
fn problems(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut found = Vec::new();
    for (module, uses) in graph {
        for used in uses {
            if layer[used.as_str()] > layer[module.as_str()] {
                found.push(format!(
                    "{module} (layer {}) imports {used} (layer {})",
                    layer[module.as_str()],
                    layer[used.as_str()]
                ));
            }
        }
    }
    // A circle: a module that reaches itself.
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = graph[start].iter().collect();
        while let Some(next) = stack.pop() {
            if next == start {
                found.push(format!("{start} is in an import circle"));
                break;
            }
            if seen.insert(next.clone()) {
                stack.extend(graph.get(next).into_iter().flatten());
            }
        }
    }
    found
}

#[test]
fn the_domain_imports_only_downward_and_has_no_circle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
    let graph = graph(&dir);
    assert!(
        graph.values().any(|uses| !uses.is_empty()),
        "no imports found: the reader is broken"
    );
    let problems = problems(&graph);
    assert!(problems.is_empty(), "{problems:#?}");
    // Every module file of the domain has a layer.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry
            .unwrap()
            .file_name()
            .to_string_lossy()
            .replace(".rs", "");
        if !["mod", "layers"].contains(&name.as_str()) {
            assert!(
                LAYERS.iter().any(|(m, _)| *m == name),
                "{name} has no layer"
            );
        }
    }
}

#[test]
fn an_upward_import_and_a_circle_are_reported() {
    let read = |pairs: &[(&str, &str)]| {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in pairs {
            graph
                .entry((*from).to_owned())
                .or_default()
                .insert((*to).to_owned());
            graph.entry((*to).to_owned()).or_default();
        }
        problems(&graph)
    };
    assert_eq!(read(&[("request", "strategy")]), Vec::<String>::new());
    assert_eq!(
        read(&[("strategy", "request")]),
        ["strategy (layer 2) imports request (layer 3)"]
    );
    assert_eq!(
        read(&[("hooks", "approval"), ("approval", "hooks")]).len(),
        2
    );
    let source = "use super::{alias::Member, weight::Weight};\nuse crate::domain::request::X;\n\
                  #[cfg(test)]\nmod tests { use super::deployment::D; }";
    assert_eq!(
        imports(source),
        ["alias", "request", "weight"].map(str::to_owned).into()
    );
}
