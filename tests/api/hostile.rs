//! What a hostile page or client sends, and what it gets: a clear refusal,
//! nothing changed. (Issue 14; more classes follow.)

use crate::helpers::squat;
use crate::helpers::{error_of, spawn_app, spawn_app_with, Backend, TestApp};
use crate::helpers::{exercise, feedback, ExerciseRow, FeedbackRow};
use reqwest::{header, StatusCode};
use tokio_tungstenite::{connect_async, tungstenite::client::IntoClientRequest};

crate::on_both_backends!(
    a_foreign_site_cannot_cancel_with_the_victims_cookie,
    a_foreign_site_cannot_open_a_live_socket,
    a_foreign_site_cannot_log_in_or_register,
    checkboxes_take_only_their_documented_values,
    control_characters_in_text_are_refused_naming_the_field,
    malformed_values_get_a_4xx_and_change_nothing,
    a_flood_of_ended_sessions_never_hides_an_open_one,
    logging_out_closes_that_logins_live_connections,
);

const EVIL: &str = "http://evil.example";

async fn cancel_from(
    app: &TestApp,
    cookie_of: &crate::helpers::Person,
    session: i64,
    headers: &[(&str, &str)],
) -> StatusCode {
    let mut request = cookie_of
        .client
        .post(format!("{}/api/sessions/cancel", app.address))
        .header(header::ACCEPT, "application/json")
        .form(&[
            ("session_id", session.to_string()),
            ("reason", "CSRF".into()),
        ]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("answered").status()
}

/// Cross-site request forgery: a page on another site posts the cancel
/// form; the browser attaches the athlete's cookie.
async fn a_foreign_site_cannot_cancel_with_the_victims_cookie(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let before = app.snapshot().await;
    for headers in [
        vec![("origin", EVIL)],
        vec![("origin", EVIL), ("sec-fetch-site", "cross-site")],
        // A sibling subdomain is same-site for SameSite cookies, but not
        // this origin.
        vec![("origin", "http://other.127.0.0.1")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("origin", "null")],
    ] {
        let status = cancel_from(&app, &athlete, session, &headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}");
    }
    assert_eq!(app.snapshot().await, before, "nothing changed");
    // From the site itself, the same request works.
    let own = app.address.clone();
    let status = cancel_from(
        &app,
        &athlete,
        session,
        &[("origin", &own), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(app.snapshot().await, before, "cancelled");
}

async fn upgrade(app: &TestApp, path: &str, cookie: &str, origin: Option<&str>) -> Result<(), u16> {
    let url = format!("{}{path}", app.address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert(header::ORIGIN, origin.parse().unwrap());
    }
    match connect_async(request).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("connect failed: {e}"),
    }
}

/// Cross-site WebSocket hijacking: WebSockets have no CORS, and the
/// browser sends the cookie with the upgrade.
async fn a_foreign_site_cannot_open_a_live_socket(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let live = format!("/api/sessions/{session}/live?since=0");
    assert_eq!(
        upgrade(&app, &live, &athlete.cookie, Some(EVIL)).await,
        Err(403)
    );
    assert_eq!(
        upgrade(&app, "/api/live", &athlete.cookie, Some(EVIL)).await,
        Err(403)
    );
    assert_eq!(
        upgrade(&app, &live, &athlete.cookie, Some(&app.address)).await,
        Ok(())
    );
    assert_eq!(
        upgrade(&app, "/api/live", &athlete.cookie, Some(&app.address)).await,
        Ok(())
    );
    // Not a browser (no Origin): allowed, as for the load generator.
    assert_eq!(upgrade(&app, &live, &athlete.cookie, None).await, Ok(()));
}

async fn a_foreign_site_cannot_log_in_or_register(backend: Backend) {
    let app = spawn_app(backend).await;
    let register = app
        .client
        .post(format!("{}/api/register", app.address))
        .header(header::ORIGIN, EVIL)
        .form(&[
            ("display_name", "Mallory"),
            ("email", "mallory@example.com"),
            ("password", "long enough password"),
            ("role", "athlete"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = register.json().await.unwrap();
    assert!(
        body["Forbidden"].as_str().unwrap().contains("another site"),
        "{body}"
    );
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(accounts, 0, "no account was created");
    let login = app
        .client
        .post(format!("{}/api/login", app.address))
        .header(header::ORIGIN, EVIL)
        .form(&[("email", "a@example.com"), ("password", "whatever it is")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FORBIDDEN);
    assert!(login.headers().get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn an_allowed_origin_may_post() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.allowed_origins = vec!["https://coach.example".into()];
    })
    .await;
    let (athlete, _trainer, session) = app.active_session().await;
    let status = cancel_from(
        &app,
        &athlete,
        session,
        &[("origin", "https://coach.example")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in ["/login", "/favicon.svg", "/no-such-page", "/healthz"] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(headers.contains_key("permissions-policy"), "{path}");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "not over plain http"
        );
    }
    let https = app
        .client
        .get(format!("{}/login", app.address))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(https.headers().contains_key("strict-transport-security"));
}

/// Pages limit scripts to this site's files and the inline scripts that
/// carry this response's nonce: an injected `<script>` would not run. The
/// nonce is new on every response and is the one on Leptos's scripts.
#[tokio::test]
async fn pages_allow_only_their_own_scripts() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut nonces = Vec::new();
    for path in ["/login", "/login", "/no-such-page"] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        let html = response.text().await.unwrap();
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("{path}: no nonce in {policy}"))
            .to_string();
        assert!(policy.contains("script-src 'self' 'nonce-"), "{policy}");
        assert!(policy.contains("'wasm-unsafe-eval'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(nonce.len() >= 16, "{nonce}");
        // Every inline script on the page carries it.
        let scripts = html.matches("<script").count();
        assert!(scripts > 0, "{path}: the hydration script");
        assert_eq!(
            html.matches(&format!("nonce=\"{nonce}\"")).count(),
            html.matches("<script").count() + html.matches("<style").count(),
            "{path}: every script and style carries the nonce"
        );
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a new nonce per response");
}

/// `is_final=false` used to make a round final (any value counted as
/// ticked) and `pain=0` recorded pain.
async fn checkboxes_take_only_their_documented_values(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let save = |is_final: &'static str| {
        let app = &app;
        let trainer = &trainer;
        async move {
            let mut form = crate::helpers::round_form(session, "", &[squat()], "");
            form.push(("is_final".into(), is_final.into()));
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.call(trainer, "/api/rounds/save", &pairs).await
        }
    };
    let before = app.snapshot().await;
    for bad in ["yes", "2", "onn", "TRUE!"] {
        let response = save(bad).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            error_of(response).await.for_field("is_final").is_some(),
            "{bad}"
        );
    }
    assert_eq!(app.snapshot().await, before, "nothing saved");
    let round: i64 = save("false").await.json().await.unwrap();
    let is_final: i64 = sqlx::query_scalar("SELECT is_final FROM rounds WHERE id = $1")
        .bind(round)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(is_final, 0, "is_final=false is not final");
    app.release(&trainer, session, round).await;
    let refused = app
        .complete(
            &athlete,
            session,
            round,
            1,
            &[feedback()
                .sets_done(3)
                .reps_done(8)
                .load_used(80)
                .rpe(7)
                .pain_as("maybe")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_of(refused)
        .await
        .for_field("feedback[0][pain]")
        .is_some());
    let done = app
        .complete(
            &athlete,
            session,
            round,
            1,
            &[feedback()
                .sets_done(3)
                .reps_done(8)
                .load_used(80)
                .rpe(7)
                .pain_as("0")],
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let pain: i64 = sqlx::query_scalar("SELECT pain FROM feedback WHERE round_id = $1")
        .bind(round)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(pain, 0, "pain=0 is no pain");
}

/// NUL and escape sequences were stored in names, notes and reasons on
/// SQLite; on PostgreSQL a NUL was a 500.
async fn control_characters_in_text_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let before = app.snapshot().await;
    for (name, notes, field) in [
        ("Squat\u{0}", "", "exercises[0][name]"),
        ("Squat", "Brace\u{1b}[31m", "exercises[0][notes]"),
        ("Sq\u{7}uat", "", "exercises[0][name]"),
    ] {
        let row = exercise(name)
            .sets(3)
            .reps(8)
            .load(80)
            .unit("kg")
            .rest(120)
            .notes(notes);
        let response = app.save_round(&trainer, session, "", &[row], false).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}"
        );
        let error = error_of(response).await;
        let message = error
            .for_field(field)
            .unwrap_or_else(|| panic!("{field}: {error:?}"));
        assert!(message.contains("control characters"), "{message}");
    }
    let reason = app
        .call(
            &athlete,
            "/api/sessions/cancel",
            &[("session_id", &session.to_string()), ("reason", "bye\u{0}")],
        )
        .await;
    assert_eq!(reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_of(reason).await.for_field("reason").is_some());
    assert_eq!(app.snapshot().await, before, "nothing changed");
    // Line breaks and tabs are text.
    let row = exercise("Back squat")
        .sets(3)
        .reps(8)
        .load(80)
        .unit("kg")
        .rest(120)
        .notes("Line one\nline\ttwo");
    let response = app.save_round(&trainer, session, "", &[row], false).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// A letter in a number field, a repeated key, a broken index, a body that
/// is not a form: the client's mistake, answered 4xx (was 500 with an ERROR
/// log line per request), nothing changed.
async fn malformed_values_get_a_4xx_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let before = app.snapshot().await;
    let raw = |who: &crate::helpers::Person,
               path: &'static str,
               body: String,
               content_type: &'static str| {
        let request = who
            .client
            .post(format!("{}{path}", app.address))
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, content_type)
            .body(body);
        async move { request.send().await.expect("answered") }
    };
    let form = "application/x-www-form-urlencoded";
    let s = session.to_string();
    for (who, path, body) in [
        (&athlete, "/api/sessions/view", "session_id=abc".to_string()),
        (&athlete, "/api/sessions/view", "session_id=1.5".to_string()),
        (&athlete, "/api/sessions/view", "session_id=NaN".to_string()),
        (
            &athlete,
            "/api/sessions/view",
            "session_id=99999999999999999999".to_string(),
        ),
        (
            &athlete,
            "/api/sessions/cancel",
            format!("session_id={s}&session_id=x"),
        ),
        (
            &trainer,
            "/api/rounds/save",
            format!("session_id={s}&round_id=&exercises[x][name]=Squat"),
        ),
        (
            &trainer,
            "/api/rounds/save",
            format!("session_id={s}&round_id=&exercises[18446744073709551616][name]=Squat"),
        ),
        (
            &trainer,
            "/api/rounds/save",
            format!("session_id={s}&round_id=&exercises=foo"),
        ),
        (
            &athlete,
            "/api/rounds/complete",
            format!("session_id={s}&round_id=1&revision=one"),
        ),
    ] {
        let response = raw(who, path, body.clone(), form).await;
        let status = response.status();
        assert!(status.is_client_error(), "{path} {body}: {status}");
        assert_ne!(status, StatusCode::NOT_FOUND, "{path} {body}");
        let error: serde_json::Value = response.json().await.expect("an error as JSON");
        // The answer names the field that could not be read.
        let field = error["Invalid"]["field"].as_str().unwrap_or_default();
        let expected = body
            .rsplit('&')
            .next()
            .and_then(|pair| pair.split(['=', '[']).next())
            .unwrap_or_default();
        assert_eq!(field, expected, "{path} {body}: {error}");
        assert!(
            !error["Invalid"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{error}"
        );
    }
    // A JSON body is not read as an empty form (that answered a misleading
    // 404 "There is no such session").
    let json = raw(
        &athlete,
        "/api/sessions/view",
        format!("{{\"session_id\": {s}}}"),
        "application/json",
    )
    .await;
    assert_eq!(json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Over 64 KiB without a Content-Length (chunked): 413, as with one.
    let big = format!("session_id={s}&reason={}", "x".repeat(70 * 1024));
    let chunks = futures::stream::iter(
        big.into_bytes()
            .chunks(8 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let chunked = athlete
        .client
        .post(format!("{}/api/sessions/cancel", app.address))
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, form)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(chunked.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.snapshot().await, before, "nothing changed");
}

fn tight(config: &mut spotter::server::config::Config) {
    use spotter::server::limits::{Rate, Rates};
    let minute = std::time::Duration::from_secs(60);
    config.rate_limits = Some(Rates {
        login_per_address: Rate {
            burst: 6,
            every: minute,
        },
        login_per_account: Rate {
            burst: 3,
            every: minute,
        },
        register_per_address: Rate {
            burst: 4,
            every: minute,
        },
        changes_per_user: Rate {
            burst: 5,
            every: minute,
        },
        starts_per_user: Rate {
            burst: 2,
            every: minute,
        },
    });
}

async fn login_from(
    app: &TestApp,
    email: &str,
    password: &str,
    forwarded: Option<&str>,
) -> reqwest::Response {
    let mut request = crate::helpers::new_client()
        .post(format!("{}/api/login", app.address))
        .header(header::ACCEPT, "application/json")
        .form(&[("email", email), ("password", password)]);
    if let Some(address) = forwarded {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

/// Guessing passwords: three tries per account, then 429 with
/// Retry-After, even for the right password, and no hash is computed.
#[tokio::test]
async fn password_guessing_is_limited_per_account_and_per_address() {
    let app = spawn_app_with(Backend::Sqlite, tight).await;
    let _victim = app.person("Vic Victim", "athlete").await;
    let email = "vic.victim@example.com";
    for _ in 0..3 {
        let wrong = login_from(&app, email, "not the password", None).await;
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let limited = login_from(&app, email, "long enough password", None).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert!(
        limited.headers().get(header::SET_COOKIE).is_none(),
        "no login"
    );
    assert!(matches!(
        error_of(limited).await,
        spotter::error::AppError::TooManyRequests(_)
    ));
    // The address has 6, four used (the refused try counted for the
    // address): two more tries at other accounts, then 429.
    for i in 0..2 {
        let other = login_from(&app, &format!("x{i}@example.com"), "whatever it is", None).await;
        assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY, "try {i}");
    }
    let address_limited = login_from(&app, "y@example.com", "whatever it is", None).await;
    assert_eq!(address_limited.status(), StatusCode::TOO_MANY_REQUESTS);
    // Behind a proxy on this machine, each client address has its own.
    let elsewhere = login_from(&app, "z@example.com", "whatever it is", Some("203.0.113.7")).await;
    assert_eq!(elsewhere.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// Mass registration from one address, and one user's flood of changes
/// (205 start-and-cancels pushed a real session off a dashboard).
#[tokio::test]
async fn registrations_and_changes_are_limited() {
    let app = spawn_app_with(Backend::Sqlite, tight).await;
    // active_session registers two and makes two changes (start, join).
    let (athlete, trainer, session) = app.active_session().await;
    app.person("Third Person", "trainer").await;
    app.person("Fourth Person", "trainer").await;
    let fifth = app
        .register(
            "Fifth",
            "fifth@example.com",
            "long enough password",
            "athlete",
        )
        .await;
    assert_eq!(fifth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.count("users").await,
        4,
        "the fifth account was not created"
    );
    // Starts: the athlete already started one; one more is allowed.
    let third_trainer: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE display_name = 'Third Person'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    app.start(&athlete, third_trainer).await;
    let fourth_trainer: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE display_name = 'Fourth Person'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    let before = app.snapshot().await;
    let third_start = app
        .call(
            &athlete,
            "/api/sessions/start",
            &[("trainer_id", &fourth_trainer.to_string())],
        )
        .await;
    assert_eq!(third_start.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.snapshot().await, before, "no session started");
    // Changes: the trainer joined (1 of 5); four saves pass, the fifth is 429.
    for i in 0..4 {
        let response = app
            .save_round(&trainer, session, "", &[squat()], false)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "save {i}");
    }
    let before = app.snapshot().await;
    let flood = app
        .save_round(&trainer, session, "", &[squat()], false)
        .await;
    assert_eq!(flood.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(flood.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(app.snapshot().await, before, "nothing saved");
}

/// `/dashboard?cancelled=1&by=trainer&reason=…` used to show any sentence
/// as a notice "from the trainer". The notice now comes from the stored
/// session, and only for the viewer's own cancelled session.
#[tokio::test]
async fn the_cancel_notice_comes_from_the_session_not_the_address() {
    let app = spawn_app(Backend::Sqlite).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let forged = format!("/dashboard?cancelled={session}&by=trainer&reason=Send%20your%20password%20to%20evil.example");
    let page = app
        .get_page(&athlete.client, &forged)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Hello, "), "the dashboard rendered");
    assert!(!page.contains("evil.example"), "no text from the address");
    assert!(
        !page.contains("cancel-notice"),
        "no notice for a session in progress"
    );
    let cancel = app
        .call(
            &athlete,
            "/api/sessions/cancel",
            &[
                ("session_id", &session.to_string()),
                ("reason", "Knee hurts"),
            ],
        )
        .await;
    assert_eq!(cancel.status(), StatusCode::OK);
    let page = app
        .get_page(&athlete.client, &forged)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("You cancelled the session: “Knee hurts”."),
        "the stored who and why"
    );
    assert!(!page.contains("evil.example"));
}

/// 205 start-and-cancels used to push a real session off the trainer's
/// dashboard (it showed the newest 200 of any status).
async fn a_flood_of_ended_sessions_never_hides_an_open_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_athlete, trainer, session) = app.active_session().await;
    let flooder = app.person("Flo Flooder", "athlete").await;
    for _ in 0..205 {
        sqlx::query(
            "INSERT INTO training_sessions (athlete_id, trainer_id, status, created_at, cancelled_by) VALUES ($1, $2, 'cancelled', 0, 'athlete')",
        )
        .bind(flooder.id)
        .bind(trainer.id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    }
    let dashboard: serde_json::Value = app
        .call(&trainer, "/api/dashboard", &[])
        .await
        .json()
        .await
        .unwrap();
    let active: Vec<i64> = dashboard["active"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(active, vec![session], "the session in progress is listed");
    assert_eq!(
        dashboard["past"].as_array().unwrap().len(),
        50,
        "the newest 50 ended ones"
    );
}

#[tokio::test]
async fn one_login_cannot_hold_hundreds_of_live_connections() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.live_connections_per_user = 3
    })
    .await;
    let (athlete, _trainer, session) = app.active_session().await;
    let live = format!("/api/sessions/{session}/live?since=0");
    let mut open = Vec::new();
    for _ in 0..2 {
        let url = format!("{}{live}", app.address.replace("http://", "ws://"));
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert(header::COOKIE, athlete.cookie.parse().unwrap());
        open.push(connect_async(request).await.expect("under the cap").0);
    }
    let url = format!("{}/api/live", app.address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert(header::COOKIE, athlete.cookie.parse().unwrap());
    open.push(
        connect_async(request)
            .await
            .expect("the dashboard counts too")
            .0,
    );
    assert_eq!(upgrade(&app, &live, &athlete.cookie, None).await, Err(429));
    let sse = athlete
        .client
        .get(format!("{}/api/sessions/{session}/events", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sse.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "event streams count too"
    );
    // Closing one frees its slot.
    drop(open.pop());
    let mut freed = false;
    for _ in 0..100 {
        if upgrade(&app, &live, &athlete.cookie, None).await.is_ok() {
            freed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(freed, "a closed connection gives its slot back");
}

/// A socket opened with a login kept receiving events after that login
/// logged out. Now its sockets close with 4401 and its event streams end;
/// the same user's other login (another device) stays connected.
async fn logging_out_closes_that_logins_live_connections(backend: Backend) {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::{protocol::frame::coding::CloseCode, Message};
    let app = spawn_app(backend).await;
    let (athlete, _trainer, session) = app.active_session().await;
    // The same athlete on a second device.
    let phone = crate::helpers::new_client();
    let login = app
        .login_with(&phone, "andy.athlete@example.com", "long enough password")
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let phone_cookie = login.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let open = |path: String, cookie: String| {
        let url = format!("{}{path}", app.address.replace("http://", "ws://"));
        async move {
            let mut request = url.into_client_request().unwrap();
            request
                .headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
            connect_async(request).await.expect("connected").0
        }
    };
    let live = format!("/api/sessions/{session}/live?since=0");
    let mut laptop_session = open(live.clone(), athlete.cookie.clone()).await;
    let mut laptop_dashboard = open("/api/live".into(), athlete.cookie.clone()).await;
    let mut phone_session = open(live.clone(), phone_cookie).await;
    let mut stream = athlete
        .client
        .get(format!("{}/api/sessions/{session}/events", app.address))
        .send()
        .await
        .unwrap();
    assert!(
        stream.chunk().await.unwrap().is_some(),
        "the event stream is open"
    );

    let logout = app.call(&athlete, "/api/logout", &[]).await;
    assert!(
        logout.status().is_success() || logout.status().is_redirection(),
        "{}",
        logout.status()
    );

    for socket in [&mut laptop_session, &mut laptop_dashboard] {
        let code = loop {
            match tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
                .await
                .expect("closed within 5 s")
            {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                other => panic!("dropped without a close frame: {other:?}"),
            }
        };
        assert_eq!(code, Some(CloseCode::from(4401)), "logged out");
    }
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await
    .expect("the event stream ends");
    // The phone's login is another login: it stays (heartbeats keep coming).
    let still = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        loop {
            match phone_session.next().await {
                Some(Ok(Message::Text(text))) if text.contains("heartbeat") => return true,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return false,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert_eq!(still, Ok(true), "the other login's socket is still live");
}
