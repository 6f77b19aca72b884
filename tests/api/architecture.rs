//! The layering of `src/`, checked from the source text: the pure core (`domain`) imports nothing
//! outside itself, and no two modules import each other, directly or round a longer circle —
//! neither the top-level modules (`routes`, `booking`, `db`, …) nor the files inside one of them
//! (`signalling::ice` and `signalling::protocol`). docs/architecture.md draws the layers.
//!
//! An import is any path through `crate::` or `super::` in a file, outside its `#[cfg(test)]`
//! part (tests may reach across layers to arrange things). A module's own `mod.rs` declaring or
//! re-exporting its children is not a dependency between siblings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One source file: its module path (`["signalling", "ice"]`) and its non-test text.
struct Source {
    module: Vec<String>,
    text: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "main.rs"))
        .map(|path| {
            let rel = path.strip_prefix(&root).expect("under src");
            let mut module: Vec<String> = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let is_dir_module =
                matches!(module.last().map(String::as_str), Some("mod") | Some("lib"));
            if is_dir_module {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            // Unit tests sit at the end of a file behind `#[cfg(test)]`.
            let text = match text.find("#[cfg(test)]") {
                Some(at) => text[..at].to_string(),
                None => text,
            };
            Source {
                module,
                text: strip_comments(&text),
            }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Drops `//` comments (doc comments mention paths that are not imports).
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            // `://` inside a string (a URL) is not a comment.
            Some(at) if !l[..at].ends_with(':') => &l[..at],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Every module path (absolute, from the crate root) this file reaches through `crate::…` or
/// `super::…`, including inside `use crate::{a::b, c}` groups.
fn imports(src: &Source) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    let text = &src.text;
    for (at, _) in text.match_indices("crate::") {
        // Not `loket::crate::` or `mycrate::`: the word must start here.
        if at > 0 && text[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[at + "crate::".len()..];
        for path in paths_from(rest) {
            out.insert(path);
        }
    }
    for (at, _) in text.match_indices("super::") {
        if at > 0 && text[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        // `super` is the parent of this file's module (for `a/b.rs` and `a/b/mod.rs` alike:
        // `a`); `super::super::x` goes one more step up for each.
        let mut anchor: Vec<String> = src.module.clone();
        anchor.pop();
        let mut rest = &text[at + "super::".len()..];
        while let Some(r) = rest.strip_prefix("super::") {
            rest = r;
            anchor.pop();
        }
        for path in paths_from(rest) {
            let mut full = anchor.clone();
            full.extend(path);
            out.insert(full);
        }
    }
    out
}

/// Module paths written at the start of `rest` (`a::b::C`, or a `{…}` group of them).
fn paths_from(rest: &str) -> Vec<Vec<String>> {
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 1;
        let mut end = group.len();
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let inner = &group[..end];
        let mut out = Vec::new();
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.extend(paths_from(inner[start..i].trim()));
                    start = i + 1;
                }
                _ => {}
            }
        }
        out.extend(paths_from(inner[start..].trim()));
        return out;
    }
    let mut path = Vec::new();
    let mut rest = rest;
    loop {
        let id = ident_at(rest);
        if id.is_empty() {
            break;
        }
        path.push(id.to_string());
        rest = &rest[id.len()..];
        match rest.strip_prefix("::") {
            Some(r) if r.starts_with('{') => {
                return paths_from(r)
                    .into_iter()
                    .map(|mut p| {
                        let mut full = path.clone();
                        full.append(&mut p);
                        full
                    })
                    .collect();
            }
            Some(r) => rest = r,
            None => break,
        }
    }
    if path.is_empty() { vec![] } else { vec![path] }
}

/// The modules that exist, so an import path can be cut to the module it names.
fn module_set(sources: &[Source]) -> BTreeSet<Vec<String>> {
    sources.iter().map(|s| s.module.clone()).collect()
}

/// The longest existing module that `path` starts with.
fn owning_module(modules: &BTreeSet<Vec<String>>, path: &[String]) -> Vec<String> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
        .unwrap_or_default()
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // Depth-first search with colours; returns the first circle found.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut circle = stack[from..].to_vec();
                    circle.push(next.clone());
                    return Some(circle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0
            && let Some(c) = visit(node, graph, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

/// Edges between modules at `depth` under `parent` (empty parent = the top level).
fn graph_at(
    sources: &[Source],
    modules: &BTreeSet<Vec<String>>,
    parent: &[String],
) -> BTreeMap<String, BTreeSet<String>> {
    let depth = parent.len() + 1;
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for src in sources {
        if src.module.len() < depth || src.module[..parent.len()] != *parent {
            continue;
        }
        let from = src.module[depth - 1].clone();
        for path in imports(src) {
            let target = owning_module(modules, &path);
            if target.len() < depth || target[..parent.len()] != *parent {
                continue;
            }
            let to = target[depth - 1].clone();
            if to != from {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

#[test]
fn the_pure_domain_imports_nothing_outside_domain() {
    let sources = sources();
    let modules = module_set(&sources);
    let mut offending = Vec::new();
    for src in sources
        .iter()
        .filter(|s| s.module.first().is_some_and(|m| m == "domain"))
    {
        for path in imports(src) {
            let target = owning_module(&modules, &path);
            if target.first().is_none_or(|m| m != "domain") {
                offending.push(format!("{} -> {}", src.module.join("::"), path.join("::")));
            }
        }
    }
    assert!(
        sources
            .iter()
            .any(|s| s.module.first().is_some_and(|m| m == "domain")),
        "no domain module found: the check would prove nothing"
    );
    assert!(
        offending.is_empty(),
        "domain reaches outside itself: {offending:#?}"
    );
}

#[test]
fn no_two_top_level_modules_import_each_other() {
    let sources = sources();
    let modules = module_set(&sources);
    let graph = graph_at(&sources, &modules, &[]);
    assert!(
        graph.len() > 5,
        "the import graph is nearly empty: {graph:?}"
    );
    if let Some(circle) = find_cycle(&graph) {
        panic!(
            "modules import each other in a circle: {}",
            circle.join(" -> ")
        );
    }
}

#[test]
fn no_two_files_of_one_module_import_each_other() {
    let sources = sources();
    let modules = module_set(&sources);
    let parents: BTreeSet<Vec<String>> = sources
        .iter()
        .filter(|s| s.module.len() >= 2)
        .map(|s| s.module[..s.module.len() - 1].to_vec())
        .collect();
    let mut circles = Vec::new();
    for parent in &parents {
        if let Some(circle) = find_cycle(&graph_at(&sources, &modules, parent)) {
            circles.push(format!("{}: {}", parent.join("::"), circle.join(" -> ")));
        }
    }
    assert!(
        circles.is_empty(),
        "files import each other in a circle: {circles:#?}"
    );
}

/// The routes are the outermost layer: nothing below them may reach up into HTTP.
#[test]
fn nothing_below_http_imports_the_routes_or_the_wiring() {
    let sources = sources();
    let modules = module_set(&sources);
    let top = ["routes", "startup", "state"];
    let mut offending = Vec::new();
    for src in &sources {
        let Some(me) = src.module.first() else {
            continue;
        };
        if top.contains(&me.as_str()) {
            continue;
        }
        for path in imports(src) {
            let target = owning_module(&modules, &path);
            if target.first().is_some_and(|t| top.contains(&t.as_str())) {
                offending.push(format!("{} -> {}", src.module.join("::"), path.join("::")));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "imports pointing up into HTTP: {offending:#?}"
    );
}

#[test]
fn the_checker_sees_a_circle_and_a_group_import() {
    // The checker itself must be able to fail.
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&g),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let src = Source {
        module: vec!["signalling".into(), "ice".into()],
        text: "use crate::{db::{self, x}, config::Settings};\nuse super::protocol::P;".into(),
    };
    let got = imports(&src);
    assert!(got.contains(&vec!["db".to_string(), "self".to_string()]));
    assert!(got.contains(&vec!["config".to_string(), "Settings".to_string()]));
    assert!(got.contains(&vec![
        "signalling".to_string(),
        "protocol".to_string(),
        "P".to_string()
    ]));
}
