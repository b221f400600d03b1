//! Register, log in, log out and bad input, over HTTP, asserting the answer
//! and what the database holds afterwards.

use crate::helpers::{error_of, new_client, spawn_app, Backend};
use reqwest::{header, StatusCode};
use spotter::{model::Role, server::demo};

const PASSWORD: &str = "correct horse battery";

crate::on_both_backends!(
    register_creates_an_account_and_logs_it_in,
    register_refuses_bad_input_and_stores_nothing,
    register_refuses_a_taken_email_in_any_case,
    login_works_and_wrong_password_matches_unknown_email,
    login_only_redirects_within_the_site,
    logout_revokes_the_session_server_side,
    expired_sessions_are_not_accepted,
    forged_cookies_are_ignored,
    oversized_requests_are_refused,
    demo_accounts_are_created_once_and_can_log_in,
    a_failed_login_without_javascript_comes_back_with_the_email_kept,
);

async fn register_creates_an_account_and_logs_it_in(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app
        .register("  Ann Trainer ", "Ann@Example.com", PASSWORD, "trainer")
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::LOCATION], "/dashboard");
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("spotter_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http gets no Secure flag: {cookie}"
    );
    let token = cookie["spotter_session=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_string();

    let (email, name, role, hash): (String, String, String, String) =
        sqlx::query_as("SELECT email, display_name, role, password_hash FROM users")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(
        (email.as_str(), name.as_str(), role.as_str()),
        ("ann@example.com", "Ann Trainer", "trainer")
    );
    assert!(hash.starts_with("$argon2id$"), "argon2id hash, got {hash}");
    assert!(!hash.contains(PASSWORD));

    let stored: String = sqlx::query_scalar("SELECT token_hash FROM auth_sessions")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_ne!(stored, token, "only a hash of the token is stored");
    assert_eq!(stored.len(), 64);

    let me = app
        .me(&app.client)
        .await
        .expect("logged in after registering");
    assert_eq!(me.display_name, "Ann Trainer");
    assert_eq!(me.role, Role::Trainer);

    let dashboard = app.get_page(&app.client, "/dashboard").await;
    assert_eq!(dashboard.status(), StatusCode::OK);
    let html = dashboard.text().await.unwrap();
    assert!(html.contains("Ann Trainer"), "dashboard greets the user");
}

async fn register_refuses_bad_input_and_stores_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let long_name = "n".repeat(101);
    let long_password = "p".repeat(1025);
    let cases: [(&str, &str, &str, &str, &str, &str); 8] = [
        (
            "Ann",
            "not-an-email",
            PASSWORD,
            "athlete",
            "email",
            "Enter an email address",
        ),
        (
            "Ann",
            "ann@localhost",
            PASSWORD,
            "athlete",
            "email",
            "Enter an email address",
        ),
        ("Ann", "", PASSWORD, "athlete", "email", "Enter your email"),
        (
            "Ann",
            "ann@example.com",
            "short",
            "athlete",
            "password",
            "at least 8",
        ),
        (
            "Ann",
            "ann@example.com",
            &long_password,
            "athlete",
            "password",
            "at most 1024",
        ),
        (
            "Ann",
            "ann@example.com",
            PASSWORD,
            "admin",
            "role",
            "trainer or an athlete",
        ),
        (
            &long_name,
            "ann@example.com",
            PASSWORD,
            "athlete",
            "display_name",
            "at most 100",
        ),
        (
            "   ",
            "ann@example.com",
            PASSWORD,
            "athlete",
            "display_name",
            "Enter your name",
        ),
    ];
    for (name, email, password, role, field, message) in cases {
        let response = app.register(name, email, password, role).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {email} {role}"
        );
        assert!(response.headers().get(header::SET_COOKIE).is_none());
        let error = error_of(response).await;
        let shown = error
            .for_field(field)
            .unwrap_or_else(|| panic!("error on {field}, got {error:?}"));
        assert!(
            shown.contains(message),
            "{shown:?} should contain {message:?}"
        );
    }
    // An unticked radio button sends no `role` at all.
    let response = app
        .post_form(
            &app.client,
            "/api/register",
            &[
                ("display_name", "Ann"),
                ("email", "ann@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_of(response).await.for_field("role").is_some());
    let response = app.post_form(&app.client, "/api/login", &[]).await;
    assert_eq!(
        error_of(response).await.for_field("email").as_deref(),
        Some("Enter your email address")
    );

    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("auth_sessions").await, 0);
}

async fn register_refuses_a_taken_email_in_any_case(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(
        app.register("Ann", "ann@example.com", PASSWORD, "athlete")
            .await
            .status(),
        StatusCode::OK
    );

    let other = new_client();
    let response = app
        .register_with(
            &other,
            "Impostor",
            "ANN@example.com ",
            "another password",
            "trainer",
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error = error_of(response).await;
    assert!(error.for_field("email").unwrap().contains("already exists"));
    assert_eq!(app.count("users").await, 1);
    let name: String = sqlx::query_scalar("SELECT display_name FROM users")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(name, "Ann", "the existing account is untouched");
    assert!(app.me(&other).await.is_none());
}

async fn login_works_and_wrong_password_matches_unknown_email(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("Ann", "ann@example.com", PASSWORD, "athlete")
        .await;
    let sessions_before = app.count("auth_sessions").await;

    let wrong_password = app
        .login_with(&new_client(), "ann@example.com", "not the password")
        .await;
    let unknown_email = app
        .login_with(&new_client(), "bob@example.com", PASSWORD)
        .await;
    assert_eq!(wrong_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown_email.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (a, b) = (
        error_of(wrong_password).await,
        error_of(unknown_email).await,
    );
    assert_eq!(a, b, "no hint whether the email exists");
    assert!(a.for_field("password").is_some());
    assert_eq!(
        app.count("auth_sessions").await,
        sessions_before,
        "failed logins store nothing"
    );

    let malformed = app.login_with(&new_client(), "ann", PASSWORD).await;
    assert_eq!(
        error_of(malformed)
            .await
            .for_field("email")
            .map(|m| m.contains("email")),
        Some(true)
    );

    let client = new_client();
    let ok = app.login_with(&client, " ANN@example.com", PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()[header::LOCATION], "/dashboard");
    assert_eq!(
        app.me(&client).await.map(|u| u.email),
        Some("ann@example.com".to_string())
    );
    assert_eq!(app.count("auth_sessions").await, sessions_before + 1);
}

async fn login_only_redirects_within_the_site(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("Ann", "ann@example.com", PASSWORD, "athlete")
        .await;
    for (next, expected) in [
        ("/sessions/7", "/sessions/7"),
        ("//evil.example/x", "/dashboard"),
        ("https://evil.example", "/dashboard"),
        ("", "/dashboard"),
    ] {
        let response = app
            .post_form(
                &new_client(),
                "/api/login",
                &[
                    ("email", "ann@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::LOCATION],
            expected,
            "next={next:?}"
        );
    }
}

async fn logout_revokes_the_session_server_side(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .register("Ann", "ann@example.com", PASSWORD, "athlete")
        .await;
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(app.count("auth_sessions").await, 1);

    let response = app.post_form(&app.client, "/api/logout", &[]).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::LOCATION], "/");
    let cleared = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(app.count("auth_sessions").await, 0);
    assert!(app.me(&app.client).await.is_none());

    // A copy of the old cookie (say, from another tab or a thief) is dead too.
    let replay = new_client()
        .post(format!("{}/api/me", app.address))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replay.json::<Option<spotter::model::User>>().await.unwrap(),
        None
    );
}

async fn expired_sessions_are_not_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("Ann", "ann@example.com", PASSWORD, "athlete")
        .await;
    // A login that ends in 500 ms: accepted (and remembered), then not,
    // although the server remembers logins for longer than that.
    sqlx::query("UPDATE auth_sessions SET expires_at = $1")
        .bind(spotter::server::db::now_ms() + 500)
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert!(app.me(&app.client).await.is_some());
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(app.me(&app.client).await.is_none());
    let page = app.get_page(&app.client, "/dashboard").await;
    assert_eq!(page.status(), StatusCode::FOUND);
}

async fn forged_cookies_are_ignored(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("Ann", "ann@example.com", PASSWORD, "athlete")
        .await;
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM auth_sessions")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    for forged in [
        "spotter_session=",
        "spotter_session=abc",
        &format!("spotter_session={stored}"),
    ] {
        let response = new_client()
            .post(format!("{}/api/me", app.address))
            .header(header::COOKIE, forged)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response
                .json::<Option<spotter::model::User>>()
                .await
                .unwrap(),
            None,
            "{forged}"
        );
    }
}

async fn oversized_requests_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let huge_name = "x".repeat(70 * 1024);
    let response = app
        .register(&huge_name, "ann@example.com", PASSWORD, "athlete")
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.count("users").await, 0);
}

async fn demo_accounts_are_created_once_and_can_log_in(backend: Backend) {
    let app = spawn_app(backend).await;

    let logins = demo::seed(&app.db).await.expect("seed demo accounts");
    assert_eq!(
        logins.iter().map(|l| l.role).collect::<Vec<_>>(),
        vec![Role::Trainer, Role::Athlete]
    );
    assert!(
        demo::seed(&app.db).await.unwrap().is_empty(),
        "seeding twice adds nothing"
    );
    assert_eq!(app.count("users").await, 2);

    for login in &logins {
        let client = new_client();
        let response = app.login_with(&client, &login.email, &login.password).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", login.email);
        assert_eq!(app.me(&client).await.map(|u| u.role), Some(login.role));
    }
    let other = spawn_app(backend).await;
    let other_logins = demo::seed(&other.db).await.unwrap();
    assert_ne!(
        logins[0].password, other_logins[0].password,
        "demo passwords are random per database"
    );
}

async fn a_failed_login_without_javascript_comes_back_with_the_email_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("Ann", "ann@example.com", PASSWORD, "athlete")
        .await;
    let logins = app.count("auth_sessions").await;
    let browser = new_client();
    // A plain HTML form post, as a browser without JavaScript sends it.
    let response = browser
        .post(format!("{}/api/login", app.address))
        .header(header::ACCEPT, "text/html")
        .header(
            header::REFERER,
            format!("{}/login?next=%2Fdashboard", app.address),
        )
        .form(&[
            ("email", "Ann@Example.com"),
            ("password", "not the password"),
            ("next", "/dashboard"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/login?next=%2Fdashboard",
        "back to the login page, no error encoded in the address"
    );
    assert_eq!(app.count("auth_sessions").await, logins, "not logged in");

    // The page shows the email as typed and the message under the password.
    let page = app.get_page(&browser, "/login?next=%2Fdashboard").await;
    assert_eq!(page.status(), StatusCode::OK);
    let cleared = page
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("spotter_login_failed=;"));
    assert!(cleared, "the message is shown once");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"value="Ann@Example.com""#), "email kept");
    assert!(html.contains("That email and password do not match an account"));

    // Once: the next load is a clean form.
    let html = app.get_page(&browser, "/login").await.text().await.unwrap();
    assert!(!html.contains("Ann@Example.com"));
    assert!(!html.contains("do not match an account"));

    // A form on another site gets no such cookie (it could prefill ours).
    let response = browser
        .post(format!("{}/api/login", app.address))
        .header(header::ACCEPT, "text/html")
        .header(header::ORIGIN, "http://evil.example")
        .header(header::REFERER, "http://evil.example/")
        .form(&[("email", "victim@example.com"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert!(response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .all(|c| !c.to_str().unwrap().starts_with("spotter_login_failed")));
    let html = app.get_page(&browser, "/login").await.text().await.unwrap();
    assert!(!html.contains("victim@example.com"));

    // With JavaScript (the app's own calls) a refusal stays a 422 with the
    // message, and sets no cookie.
    let response = app
        .login_with(&new_client(), "ann@example.com", "not the password")
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
}

/// Static files never run the login query. Shown on PostgreSQL, where a
/// test can hold a lock on the login table: a request that looked the
/// cookie up would wait for it. (The rule is a path check in the
/// middleware, the same on both backends.)
#[tokio::test]
async fn static_files_never_look_up_the_login() {
    crate::helpers::within_time(async {
        use sqlx::Executor;
        let app = spawn_app(Backend::Postgres).await;
        let response = app
            .register("Ann", "ann@example.com", PASSWORD, "athlete")
            .await;
        let cookie = response.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let mut lock = app.db.pool.begin().await.unwrap();
        lock.execute("LOCK TABLE auth_sessions IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
        let get = |path: &'static str| {
            new_client()
                .get(format!("{}{path}", app.address))
                .header(header::COOKIE, cookie.clone())
                .timeout(std::time::Duration::from_secs(2))
                .send()
        };
        for path in ["/pkg/spotter.css", "/pkg/spotter.wasm", "/favicon.svg"] {
            let answered = get(path).await;
            assert!(
                answered.is_ok(),
                "{path} answered while the login table was locked"
            );
        }
        // A page does look the login up, so it waits for the lock.
        assert!(get("/dashboard").await.is_err(), "a page waits");
        lock.rollback().await.unwrap();
        assert_eq!(
            get("/dashboard").await.unwrap().status(),
            StatusCode::OK,
            "and is served once the lock is gone"
        );
    })
    .await
}
