//! Server-rendered pages: the redirects and statuses a browser sees, and the
//! no-JavaScript form path (plain POST, redirect back with the error).

use crate::helpers::{new_client, spawn_app, Backend};
use reqwest::{header, StatusCode};

crate::on_both_backends!(
    pages_that_need_a_user_redirect_to_login_and_back,
    the_home_page_is_server_rendered_with_the_hydration_script,
    unknown_paths_answer_404,
    a_plain_form_post_with_bad_input_comes_back_to_the_form_with_the_message,
    a_plain_form_post_that_succeeds_redirects_and_logs_in,
);

async fn pages_that_need_a_user_redirect_to_login_and_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get_page(&new_client(), "/dashboard").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/login?next=/dashboard"
    );

    let login = app.get_page(&new_client(), "/login?next=/dashboard").await;
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.unwrap();
    assert!(
        html.contains(r#"name="next""#) && html.contains(r#"value="/dashboard""#),
        "login keeps where to go back to"
    );
}

async fn the_home_page_is_server_rendered_with_the_hydration_script(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get_page(&new_client(), "/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Train together, live."));
    assert!(
        // cargo-leptos builds name the wasm spotter.wasm, plain cargo builds
        // spotter_bg.wasm (leptos checks LEPTOS_OUTPUT_NAME at compile time).
        html.contains("/pkg/spotter.js") && html.contains(".wasm\""),
        "hydration script is linked"
    );
    assert!(html.contains("/pkg/spotter.css"));
    assert!(html.contains(r#"href="/register""#));
}

async fn unknown_paths_answer_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get_page(&new_client(), "/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("Page not found"));
}

async fn a_plain_form_post_with_bad_input_comes_back_to_the_form_with_the_message(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let client = new_client();
    let referer = format!("{}/register", app.address);
    let response = client
        .post(format!("{}/api/register", app.address))
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .header(header::REFERER, &referer)
        .form(&[
            ("display_name", "Ann"),
            ("email", "ann@example.com"),
            ("password", "short"),
            ("role", "athlete"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        location.starts_with(&referer) && location.contains("__err="),
        "{location}"
    );
    assert_eq!(app.count("users").await, 0);

    let page = client
        .get(&location)
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Your password must be at least 8 characters"),
        "the form shows the message: {html}"
    );
}

async fn a_plain_form_post_that_succeeds_redirects_and_logs_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = new_client();
    let response = client
        .post(format!("{}/api/register", app.address))
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, format!("{}/register", app.address))
        .form(&[
            ("display_name", "Ann"),
            ("email", "ann@example.com"),
            ("password", "long enough"),
            ("role", "athlete"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[header::LOCATION], "/dashboard");
    let dashboard = app.get_page(&client, "/dashboard").await;
    assert_eq!(dashboard.status(), StatusCode::OK);
    assert!(dashboard
        .text()
        .await
        .unwrap()
        .contains("signed in as athlete"));
}
