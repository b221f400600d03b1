//! What crosses the wire compressed, and what never is: pages and server
//! function answers are compressed for a client that accepts it (and only
//! then); live streams never are (an encoder would hold events back);
//! static files come from the build's precompressed copies, with a
//! validator, so a second visit gets 304 and no body.

use crate::helpers::{new_client, spawn_app, Backend};
use flate2::{read::GzDecoder, write::GzEncoder, Compression};
use reqwest::{header, StatusCode};
use std::{
    io::{Read, Write},
    time::Duration,
};

crate::on_both_backends!(
    pages_and_answers_are_compressed_only_for_clients_that_accept_it,
    a_live_event_stream_is_never_compressed,
    static_files_come_precompressed_and_revalidate_to_304,
);

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("valid gzip");
    text
}

async fn pages_and_answers_are_compressed_only_for_clients_that_accept_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = new_client();
    let url = format!("{}/login", app.address);

    let plain = client.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(
        plain.headers().get(header::CONTENT_ENCODING).is_none(),
        "nothing is compressed for a client that did not ask"
    );
    assert_eq!(plain.headers()[header::CACHE_CONTROL], "private, no-cache");
    let html = plain.text().await.unwrap();

    let gzipped = client
        .get(&url)
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.status(), StatusCode::OK);
    assert_eq!(gzipped.headers()[header::CONTENT_ENCODING], "gzip");
    assert!(
        gzipped.headers()[header::VARY]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("accept-encoding"),
        "caches keep the two apart"
    );
    let wire = gzipped.bytes().await.unwrap();
    let decoded = gunzip(&wire);
    // The same page (its CSP nonce differs, not its length).
    assert_eq!(decoded.len(), html.len());
    assert!(decoded.contains("</html>") && decoded.contains(r#"name="email""#));
    assert!(
        wire.len() * 2 < decoded.len(),
        "compressed to under half: {} of {} bytes",
        wire.len(),
        decoded.len()
    );

    // A server function's JSON answer, as the hydrated app asks for it.
    let (athlete, _trainer, session) = app.active_session().await;
    let answer = athlete
        .client
        .post(format!("{}/api/sessions/view", app.address))
        .header(header::ACCEPT, "application/json")
        .header(header::ACCEPT_ENCODING, "gzip, deflate, br")
        .form(&[("session_id", session.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()[header::CONTENT_ENCODING], "br");
    let gz_answer = athlete
        .client
        .post(format!("{}/api/sessions/view", app.address))
        .header(header::ACCEPT, "application/json")
        .header(header::ACCEPT_ENCODING, "gzip")
        .form(&[("session_id", session.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(gz_answer.headers()[header::CONTENT_ENCODING], "gzip");
    let view: serde_json::Value =
        serde_json::from_str(&gunzip(&gz_answer.bytes().await.unwrap())).expect("JSON");
    assert_eq!(view["summary"]["id"], session, "{view}");
}

async fn a_live_event_stream_is_never_compressed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let mut response = athlete
        .client
        .get(format!("{}/api/sessions/{session}/events", app.address))
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
    // The replayed events arrive at once, not when an encoder's buffer
    // fills.
    let mut text = String::new();
    while !text.contains("session-joined") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk())
            .await
            .expect("events within 5 s")
            .expect("no error")
            .expect("stream open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn static_files_come_precompressed_and_revalidate_to_304(backend: Backend) {
    let app = spawn_app(backend).await;
    // A file in the site's pkg folder with the gzip copy the release build
    // writes beside it (`--precompress`).
    let options = leptos::config::get_configuration(Some(spotter::server::config::LEPTOS_TOML))
        .expect("Leptos.toml")
        .leptos_options;
    let dir = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    std::fs::create_dir_all(&dir).unwrap();
    let name = format!("compression-test-{}-{backend:?}.js", std::process::id());
    let content = "console.log('spotter');\n".repeat(200);
    let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
    gzip.write_all(content.as_bytes()).unwrap();
    let gzipped = gzip.finish().unwrap();
    let (file, copy) = (dir.join(&name), dir.join(format!("{name}.gz")));
    std::fs::write(&file, &content).unwrap();
    std::fs::write(&copy, &gzipped).unwrap();
    let url = format!("{}/{}/{name}", app.address, options.site_pkg_dir);
    let client = new_client();

    let first = client
        .get(&url)
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    let plain = client.get(&url).send().await.unwrap();
    let (status, headers) = (first.status(), first.headers().clone());
    let body = first.bytes().await.unwrap();
    let plain_body = plain.bytes().await.unwrap();
    let again = match headers.get(header::LAST_MODIFIED) {
        Some(stamp) => Some(
            client
                .get(&url)
                .header(header::ACCEPT_ENCODING, "gzip")
                .header(header::IF_MODIFIED_SINCE, stamp)
                .send()
                .await
                .unwrap(),
        ),
        None => None,
    };
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(&copy);

    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(
        &body[..],
        &gzipped[..],
        "the build's copy, not recompressed"
    );
    assert_eq!(
        &plain_body[..],
        content.as_bytes(),
        "the file as it is without gzip"
    );
    let again = again.expect("a Last-Modified validator");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty(), "304 has no body");

    // A name the build gave by content is kept for a year: a new build is
    // a new name. A missing one is not.
    let hashed = format!(
        "compression-test-{}.Ab3_-defGhijklmnopq{:03}.js",
        std::process::id(),
        backend as u8
    );
    std::fs::write(dir.join(&hashed), &content).unwrap();
    let url = format!("{}/{}/{hashed}", app.address, options.site_pkg_dir);
    let kept = client.get(&url).send().await.unwrap();
    let _ = std::fs::remove_file(dir.join(&hashed));
    assert_eq!(kept.status(), StatusCode::OK);
    assert_eq!(
        kept.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let missing = client.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.headers()[header::CACHE_CONTROL], "no-cache");

    // A hostile path never leaves the site folder, however it is spelled,
    // and an Accept-Encoding nobody speaks gets the plain file.
    for path in [
        "/pkg/../../Cargo.toml",
        "/pkg/..%2f..%2fCargo.toml",
        "/pkg/%2e%2e/%2e%2e/Cargo.toml",
        "/..%5c..%5cCargo.toml",
    ] {
        let response = client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            status.is_client_error() && !body.contains("[package]"),
            "{path}: {status}"
        );
    }
    std::fs::write(&file, &content).unwrap();
    std::fs::write(&copy, &gzipped).unwrap();
    let odd = client
        .get(format!("{}/{}/{name}", app.address, options.site_pkg_dir))
        .header(header::ACCEPT_ENCODING, "x-unknown, ;;q=abc")
        .send()
        .await
        .unwrap();
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(&copy);
    assert_eq!(odd.status(), StatusCode::OK);
    assert!(odd.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(&odd.bytes().await.unwrap()[..], content.as_bytes());
}
