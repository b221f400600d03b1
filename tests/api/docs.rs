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
