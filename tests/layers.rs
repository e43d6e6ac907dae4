//! The crate's layering, checked: every module imports only from its own layer or the
//! layers below it, and no two modules import each other, directly or round a loop.
//!
//! The layers are read from the map that opens `src/lib.rs` (its lines `//! N. `name`,
//! `name`: what they are`), so the map and the check cannot drift apart. Imports are
//! the `crate::` paths of the library's sources, outside comments. Run it alone with
//! `cargo test --test layers`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`report::model`) → layer, from lib.rs's map.
fn layers(lib: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for line in lib.lines().map_while(|l| l.strip_prefix("//!")) {
        let line = line.trim();
        let Some((n, rest)) = line.split_once(". ") else {
            continue;
        };
        let Ok(n) = n.parse::<u32>() else { continue };
        let names = rest.split(": ").next().unwrap_or("");
        for name in names.split(',') {
            let name = name.trim().trim_matches('`').trim_end_matches('/');
            if !name.is_empty() {
                out.insert(name.replace('/', "::"), n);
            }
        }
    }
    out
}

/// The library's source files (the binary's own files are above every layer).
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's module path: `src/report/export/html.rs` → `report::export::html`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file
        .strip_prefix(src)
        .expect("under src/")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The entry of the map a module path belongs to: its longest prefix in the map.
fn owner<'a>(map: &'a BTreeMap<String, u32>, module: &str) -> Option<(&'a str, u32)> {
    map.iter()
        .filter(|(name, _)| module == name.as_str() || module.starts_with(&format!("{name}::")))
        .max_by_key(|(name, _)| name.len())
        .map(|(name, layer)| (name.as_str(), *layer))
}

/// The module paths a line names with `crate::` (`crate::a::b::C`, `crate::{a, b::c}`).
fn imports(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `tokenstorm_crate::` and the like
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            out.extend(group[..end].split(',').map(|p| path_of(p.trim())));
        } else {
            out.push(path_of(rest));
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// The lowercase segments a path starts with: `report::model::Report` → `report::model`.
fn path_of(text: &str) -> String {
    text.split("::")
        .map(|s| {
            s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")
        })
        .take_while(|s| s.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
        .collect::<Vec<_>>()
        .join("::")
}

/// Code only: a line's text before any `//`.
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or("")
}

struct House {
    /// Every import that points up: (file:line, from, to).
    upward: Vec<String>,
    /// Map entry → the entries it imports.
    edges: BTreeMap<String, BTreeSet<String>>,
    /// Files that belong to no entry of the map.
    unplaced: Vec<String>,
}

fn survey() -> House {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let map = layers(&lib);
    assert!(
        map.len() >= 10,
        "lib.rs opens with the map of layers: {map:?}"
    );
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut house = House {
        upward: Vec::new(),
        edges: BTreeMap::new(),
        unplaced: Vec::new(),
    };
    for file in files {
        let module = module_of(&src, &file);
        if module == "lib" || module == "main" || module == "cli" || module.starts_with("cmd") {
            continue;
        }
        let Some((from, layer)) = owner(&map, &module) else {
            house.unplaced.push(file.display().to_string());
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("a source file");
        for (n, line) in text.lines().enumerate() {
            for target in imports(code(line)) {
                let Some((to, to_layer)) = owner(&map, &target) else {
                    house
                        .unplaced
                        .push(format!("crate::{target} ({})", file.display()));
                    continue;
                };
                if to == from {
                    continue;
                }
                if to_layer > layer {
                    house.upward.push(format!(
                        "{}:{}: `{from}` (layer {layer}) imports `crate::{target}` (layer {to_layer})",
                        file.strip_prefix(root).unwrap_or(&file).display(),
                        n + 1
                    ));
                }
                house
                    .edges
                    .entry(from.to_string())
                    .or_default()
                    .insert(to.to_string());
            }
        }
    }
    house
}

/// A loop of imports between map entries, if there is one.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_string());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn every_module_has_a_layer() {
    let house = survey();
    assert!(
        house.unplaced.is_empty(),
        "not in lib.rs's map of layers: {:#?}",
        house.unplaced
    );
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let house = survey();
    assert!(
        house.upward.is_empty(),
        "imports that point up the layers:\n{}",
        house.upward.join("\n")
    );
}

#[test]
fn no_two_modules_import_each_other() {
    let house = survey();
    if let Some(found) = cycle(&house.edges) {
        panic!("a loop of imports: {}", found.join(" -> "));
    }
}

#[test]
fn the_check_sees_what_it_should() {
    assert_eq!(
        imports("use crate::report::model::{self as m, Report};"),
        ["report::model"]
    );
    assert_eq!(
        imports("let x = crate::scenario::Policy::resolve(&p);"),
        ["scenario"]
    );
    assert_eq!(
        imports("use crate::{clock, world::sim};"),
        ["clock", "world::sim"]
    );
    assert!(imports(code("// see crate::world")).is_empty());
    let map = layers("//! 1. `clock`, `rng`: time\n//! 2. `report::model`, `report/`: x\n");
    assert_eq!(owner(&map, "report::model"), Some(("report::model", 2)));
    assert_eq!(owner(&map, "report::export::html"), Some(("report", 2)));
    assert_eq!(owner(&map, "rngs"), None);
    let mut edges = BTreeMap::new();
    edges.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    edges.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(
        cycle(&edges),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
}
