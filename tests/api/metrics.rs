//! `GET /metrics`: behind a bearer token, in Prometheus's text format, and
//! the counters move when a session happens (issue 14, "Observability").
//! The recorder is one per process (other tests in this binary record into
//! it too), so the test compares values before and after its own actions.

use crate::helpers::squat;
use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp};
use futures::StreamExt;
use reqwest::{header, StatusCode};
use tokio_tungstenite::{connect_async, tungstenite::client::IntoClientRequest};

const TOKEN: &str = "let-me-see-the-numbers";

async fn scrape(app: &TestApp) -> String {
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// The value of the sample `series` (name with its labels, as rendered),
/// 0 when absent.
fn value(page: &str, series: &str) -> f64 {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok())?
        })
        .unwrap_or(0.0)
}

crate::on_both_backends!(metrics_need_the_token_and_move_with_a_session);

async fn metrics_need_the_token_and_move_with_a_session(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.metrics_token = Some(TOKEN.into());
    })
    .await;
    let url = format!("{}/metrics", app.address);
    let anonymous = app.client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = app
        .client
        .get(&url)
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let (athlete, trainer, session) = app.active_session().await;
    let before = scrape(&app).await;
    // A live socket that gets the replay and the new events.
    let ws = format!(
        "{}/api/sessions/{session}/live?since=0",
        app.address.replace("http://", "ws://")
    );
    let mut request = ws.into_client_request().unwrap();
    request
        .headers_mut()
        .insert(header::COOKIE, athlete.cookie.parse().unwrap());
    let (mut socket, _) = connect_async(request).await.expect("connected");
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    app.release(&trainer, session, round).await;
    // Wait until the socket has the release, so its frames are counted.
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(Ok(message)) = socket.next().await {
            if message
                .to_text()
                .unwrap_or_default()
                .contains("round-released")
            {
                break;
            }
        }
    })
    .await
    .expect("the release arrived");
    // A client mistake.
    let bad = app
        .call(&athlete, "/api/sessions/view", &[("session_id", "abc")])
        .await;
    assert!(bad.status().is_client_error());
    let during = scrape(&app).await;
    drop(socket);

    let moved = |series: &str, by: f64| {
        let (was, is) = (value(&before, series), value(&during, series));
        assert!(is >= was + by, "{series}: {was} -> {is}\n{during}");
    };
    moved("spotter_events_published_total", 2.0);
    moved(
        r#"spotter_frames_delivered_total{transport="websocket"}"#,
        3.0,
    );
    moved(r#"spotter_events_replayed_total"#, 2.0);
    moved(
        r#"spotter_action_seconds_count{function="rounds/save"}"#,
        1.0,
    );
    moved(
        r#"spotter_action_seconds_count{function="rounds/release"}"#,
        1.0,
    );
    moved(r#"spotter_http_responses_total{class="2xx"}"#, 3.0);
    moved(r#"spotter_http_responses_total{class="4xx"}"#, 1.0);
    assert!(
        value(
            &during,
            r#"spotter_live_connections{transport="websocket"}"#
        ) >= 1.0,
        "{during}"
    );
    assert!(during.contains("# TYPE spotter_action_seconds histogram"));
    assert!(during.contains(r#"spotter_action_seconds_bucket{function="rounds/save",le="0.005"}"#));
    match backend {
        Backend::Sqlite => assert!(during.contains("spotter_sqlite_writers_waiting")),
        // Events reach the hub through the listener, which times them.
        Backend::Postgres => moved("spotter_listener_lag_seconds_count", 2.0),
    }
}

/// Without a token there is no metrics page at all.
#[tokio::test]
async fn without_a_token_there_is_no_metrics_page() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// `SPOTTER_LOG_FORMAT=json`: every log line of the real binary is a JSON
/// object with a level and a message (the start-up banner stays text, on
/// its own line); an unknown format stops the start with a clear message.
#[tokio::test]
async fn logs_are_json_lines_when_asked() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let (url, _cleanup) = crate::helpers::fresh_database(Backend::Sqlite).await;
    let start = |format: &str| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_spotter"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("DATABASE_URL", &url)
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("SPOTTER_DEMO", "0")
            .env("SPOTTER_LOG_FORMAT", format)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the spotter binary")
    };
    let mut child = start("json");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut logged = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("spotter is listening on ") {
                return;
            }
            logged.push(line);
        }
        panic!("exited before listening: {logged:?}");
    })
    .await
    .expect("listening within 30 s");
    assert!(
        logged.iter().any(|l| l.contains("database ready")),
        "{logged:?}"
    );
    for line in logged.iter().filter(|l| !l.trim().is_empty()) {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(entry["level"].is_string(), "{line}");
        assert!(entry["fields"]["message"].is_string(), "{line}");
    }
    drop(child);

    let refused = start("xml").wait_with_output().await.unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("SPOTTER_LOG_FORMAT must be text or json"),
        "{said}"
    );
}
