//! The module map, checked: dependencies between the modules of
//! `src/server` (and between the files of `src/server/live`) point one way,
//! with no cycle, and `db` depends on nothing else in the server; the
//! app's modules (`app`, `pages`, `components`, `live`, `model`, `api`,
//! `error`) have no cycle either, `model` uses nothing of the app,
//! components never use pages and no page uses another. Read from the
//! `super::…`, `crate::…` and `crate::server::…` paths in the source.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The first name of each path in `super::{a, b::c, d::{e, f}}` or
/// `super::a::b` after `prefix`.
fn names_after(source: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in source.match_indices(prefix) {
        // A whole path segment: `server::`, not `observer::`.
        let before = source[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &source[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            names.push(item);
        } else {
            names.push(rest.to_string());
        }
    }
    names
        .into_iter()
        .map(|n| {
            n.trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|n| !n.is_empty() && n != "self")
        .collect()
}

/// A source file without its comments (docs name modules freely).
fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Modules of a folder: `x.rs` and `x/` (as `x`), without `mod.rs`.
fn modules(folder: &Path) -> BTreeSet<String> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_stem()?.to_str()?.to_string();
            (name != "mod" && (p.is_dir() || p.extension()? == "rs")).then_some(name)
        })
        .collect()
}

/// Every `.rs` file of a module (a file, or a folder's files).
fn files_of(folder: &Path, module: &str) -> Vec<std::path::PathBuf> {
    let file = folder.join(format!("{module}.rs"));
    if file.exists() {
        return vec![file];
    }
    std::fs::read_dir(folder.join(module))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

/// Server-level graph: a module depends on another if any of its files
/// names it (as `super::x` from its top file, `super::super::x` or
/// `server::x` (in `crate::server::x` or `crate::{server::x}`) from any).
fn server_graph(server: &Path) -> Graph {
    let all = modules(server);
    let mut graph = Graph::new();
    for module in &all {
        let mut uses = BTreeSet::new();
        for file in files_of(server, module) {
            let source = read(&file);
            let top = file.parent() == Some(server) || file.ends_with("mod.rs");
            let mut names = names_after(&source, "server::");
            if top {
                names.extend(names_after(&source, "super::"));
            } else {
                names.extend(names_after(&source, "super::super::"));
            }
            uses.extend(names.into_iter().filter(|n| all.contains(n) && n != module));
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

/// The graph between the files of one folder (`super::x` from a file).
fn folder_graph(folder: &Path) -> Graph {
    let all = modules(folder);
    all.iter()
        .map(|module| {
            let source = read(&folder.join(format!("{module}.rs")));
            let uses = names_after(&source, "super::")
                .into_iter()
                .filter(|n| all.contains(n) && n != module)
                .collect();
            (module.clone(), uses)
        })
        .collect()
}

/// The graph between the files of one of the app's folders: `super::x` or
/// `<folder>::x` (in `crate::<folder>::x` or a `crate::{<folder>::…}`
/// group) from a file.
fn app_folder_graph(src: &Path, folder: &str) -> Graph {
    let all = modules(&src.join(folder));
    all.iter()
        .map(|module| {
            let source = read(&src.join(folder).join(format!("{module}.rs")));
            let mut names = names_after(&source, "super::");
            names.extend(names_after(&source, &format!("{folder}::")));
            let uses = names
                .into_iter()
                .filter(|n| all.contains(n) && n != module)
                .collect();
            (module.clone(), uses)
        })
        .collect()
}

/// A cycle, if there is one.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(graph, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}

#[test]
fn server_modules_depend_one_way_and_db_on_nothing() {
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
    let graph = server_graph(&server);
    assert!(
        graph.len() > 10 && graph["training"].contains("events"),
        "the scan sees the modules and their uses: {graph:?}"
    );
    assert_eq!(cycle(&graph), None, "server modules: {graph:#?}");
    assert!(graph["db"].is_empty(), "db uses {:?}", graph["db"]);
    assert!(
        !graph["events"].contains("live") && !graph["training"].contains("state"),
        "the log and the mutations know nothing of transports or the app state"
    );
    let live = folder_graph(&server.join("live"));
    assert_eq!(cycle(&live), None, "live files: {live:#?}");
    assert!(live["hub"].is_empty(), "the hub is local fan-out only");
    let training = folder_graph(&server.join("training"));
    assert_eq!(cycle(&training), None, "training files: {training:#?}");
}

/// The graph between the app's top-level modules: a module depends on
/// another if any of its files names it as `crate::x` (in a path or a
/// `crate::{x, …}` group).
fn crate_graph(src: &Path, all: &[&str]) -> Graph {
    all.iter()
        .map(|module| {
            let uses = files_of(src, module)
                .iter()
                .flat_map(|file| names_after(&read(file), "crate::"))
                .filter(|n| all.contains(&n.as_str()) && n != module)
                .collect();
            (module.to_string(), uses)
        })
        .collect()
}

#[test]
fn app_modules_depend_one_way_and_pages_stand_alone() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let app = [
        "app",
        "pages",
        "components",
        "live",
        "model",
        "api",
        "error",
    ];
    let graph = crate_graph(&src, &app);
    assert!(
        graph["pages"].contains("components") && graph["app"].contains("pages"),
        "the scan sees the modules and their uses: {graph:?}"
    );
    assert_eq!(cycle(&graph), None, "app modules: {graph:#?}");
    assert!(graph["model"].is_empty(), "model uses {:?}", graph["model"]);
    assert!(
        !graph["components"].contains("pages") && !graph["components"].contains("app"),
        "components use {:?}",
        graph["components"]
    );
    assert!(
        !graph["live"].contains("components") && !graph["live"].contains("api"),
        "live uses {:?}",
        graph["live"]
    );
    for folder in ["components", "live", "model"] {
        let files = app_folder_graph(&src, folder);
        assert_eq!(cycle(&files), None, "{folder} files: {files:#?}");
    }
    let components = app_folder_graph(&src, "components");
    assert!(
        components["session"].contains("field"),
        "the scan sees the files' uses: {components:?}"
    );
    let pages = app_folder_graph(&src, "pages");
    assert!(
        pages.values().all(BTreeSet::is_empty),
        "a page uses another page: {pages:#?}"
    );
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(from, to)| (from.to_string(), BTreeSet::from([to.to_string()])))
        .collect();
    assert!(cycle(&graph).is_some());
    assert_eq!(
        names_after(
            "use super::{db::{now_ms, Database}, events, live::Bus};",
            "super::"
        ),
        vec!["db", "events", "live"]
    );
}
