//! The HTTP API document (`docs/http-api.md`) against the code: every
//! server function is documented, and everything documented exists.

use std::{collections::BTreeSet, path::Path};

/// `/api/<endpoint>` of every `#[server(endpoint = "…")]` in `src/api`.
fn server_functions() -> BTreeSet<String> {
    let api = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut endpoints = BTreeSet::new();
    for file in std::fs::read_dir(api).unwrap() {
        let source = std::fs::read_to_string(file.unwrap().path()).unwrap();
        for (at, _) in source.match_indices("#[server(endpoint = \"") {
            let rest = &source[at + "#[server(endpoint = \"".len()..];
            let end = rest.find('"').expect("closing quote");
            endpoints.insert(format!("/api/{}", &rest[..end]));
        }
    }
    endpoints
}

/// The `### \`POST /api/…\`` headings of the document.
fn documented() -> BTreeSet<String> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/http-api.md");
    std::fs::read_to_string(doc)
        .unwrap()
        .lines()
        .filter_map(|line| line.strip_prefix("### `POST "))
        .map(|rest| rest.trim_end_matches('`').to_string())
        .collect()
}

#[test]
fn every_server_function_is_documented_and_nothing_else() {
    let code = server_functions();
    assert!(
        code.len() >= 14,
        "the scan finds the server functions: {code:?}"
    );
    assert_eq!(
        documented(),
        code,
        "docs/http-api.md headings vs #[server] endpoints"
    );
}

/// Every `spotter_…` metric name in `text` (without the `_bucket`,
/// `_count`, `_sum` a histogram adds).
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices("spotter_") {
        let name: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        let name = ["_bucket", "_count", "_sum"]
            .iter()
            .fold(name.as_str(), |n, suffix| {
                n.strip_suffix(suffix).unwrap_or(n)
            })
            .to_string();
        if name.len() > "spotter_".len() {
            names.insert(name);
        }
    }
    names
}

/// The metrics the code records, the README's Monitoring table and the
/// Grafana dashboard name the same set.
#[test]
fn the_metrics_docs_and_dashboard_agree_with_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
    let code: BTreeSet<String> = ["src/server/metrics.rs", "src/server/db.rs"]
        .iter()
        .map(|path| read(path))
        .flat_map(|source| {
            // Only names passed to the recording macros count.
            let mut found = BTreeSet::new();
            for call in ["counter!(\"", "gauge!(\"", "histogram!(\""] {
                for (at, _) in source.match_indices(call) {
                    let name = source[at + call.len()..]
                        .split('"')
                        .next()
                        .unwrap_or_default();
                    found.extend(metric_names(name));
                }
            }
            found
        })
        .collect();
    assert!(code.len() >= 12, "the scan finds the metrics: {code:?}");
    let readme = read("README.md");
    let monitoring = readme
        .split("## Monitoring")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a Monitoring section");
    assert_eq!(metric_names(monitoring), code, "README, Monitoring");
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("docs/grafana-dashboard.json")).expect("the dashboard is JSON");
    assert_eq!(
        metric_names(&dashboard.to_string()),
        code,
        "docs/grafana-dashboard.json"
    );
}
