//! Leptos.toml (read by the built server) and Cargo.toml's
//! [package.metadata.leptos] (read by cargo-leptos) must not drift apart.

use toml::Value;

fn leptos_table(path: &str) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let doc: toml::Table = text.parse().unwrap_or_else(|e| panic!("parse {path}: {e}"));
    doc["package"]["metadata"]["leptos"]
        .as_table()
        .unwrap_or_else(|| panic!("{path} has [package.metadata.leptos]"))
        .clone()
}

#[test]
fn leptos_toml_agrees_with_cargo_toml() {
    let runtime = leptos_table("Leptos.toml");
    let build = leptos_table("Cargo.toml");
    for key in [
        "output-name",
        "site-root",
        "site-pkg-dir",
        "site-addr",
        "reload-port",
        "hash-files",
    ] {
        let (r, b) = (runtime.get(key), build.get(key));
        assert!(r.is_some(), "Leptos.toml sets {key}");
        assert_eq!(r, b, "{key} differs between Leptos.toml and Cargo.toml");
    }
    assert_eq!(
        runtime.get("env"),
        Some(&Value::String("PROD".into())),
        "the built server runs in PROD mode"
    );
}

#[test]
fn the_server_reads_leptos_toml() {
    let options =
        spotter::server::config::leptos_options("Leptos.toml").expect("Leptos.toml parses");
    assert_eq!(&*options.output_name, "spotter");
    assert_eq!(&*options.site_pkg_dir, "pkg");
}
