//! The session's thread (`POST /api/messages/send`, `message-sent`,
//! `GET /sessions/{id}/messages.csv`): both sides write while the session
//! goes on, every refusal names its field and changes nothing, what is
//! written is stored and shown as text.

use crate::helpers::{spawn_app, squat, Backend, Person, TestApp};
use reqwest::{header, StatusCode};
use spotter::{
    api::messages::SendMessage,
    model::{Message, Side, MESSAGES_SHOWN},
};

crate::on_both_backends!(
    both_sides_write_and_read_the_thread_and_a_resend_counts_once,
    bad_messages_are_refused_naming_the_field_and_change_nothing,
    a_stranger_cannot_read_or_write_and_an_ended_thread_is_read_only,
    a_plain_form_post_sends_a_message_without_javascript,
    the_thread_exports_as_its_own_csv,
    a_long_thread_pages_back_fifty_at_a_time_each_message_once,
);

/// `body` from `who` in `session`, with `key` (empty: none).
fn message(session: i64, body: &str, key: &str) -> SendMessage {
    SendMessage {
        session_id: session,
        body: body.into(),
        idempotency_key: key.into(),
    }
}

async fn both_sides_write_and_read_the_thread_and_a_resend_counts_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let key = "5b0e8a4e-2f3c-4c1d-9e8f-00000000beef";
    let first = app
        .send(&athlete, message(session, "  knee feels odd, swap?  ", key))
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let id: i64 = first.json().await.unwrap();
    // The phone lost the answer and sends it again: one message.
    let again = app
        .send(&athlete, message(session, "  knee feels odd, swap?  ", key))
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<i64>().await.unwrap(), id);
    let reply = app
        .send(
            &trainer,
            message(session, "Drop to 90 kg\r\nfor the last set", ""),
        )
        .await;
    assert_eq!(reply.status(), StatusCode::OK);
    let kinds = app.event_kinds(session).await;
    assert_eq!(kinds.iter().filter(|k| *k == "message-sent").count(), 2);
    for who in [&athlete, &trainer] {
        let view = app.view_of(who, session).await;
        let thread: Vec<(Side, &str)> = view
            .messages
            .iter()
            .map(|m| (m.by, m.body.as_str()))
            .collect();
        assert_eq!(
            thread,
            [
                (Side::Athlete, "knee feels odd, swap?"),
                (Side::Trainer, "Drop to 90 kg\nfor the last set"),
            ],
            "trimmed, one line break each, in order"
        );
    }
    // A long thread: the view carries the newest 50, in order.
    for n in 0..MESSAGES_SHOWN {
        let response = app
            .send(&trainer, message(session, &format!("note {n}"), ""))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let view = app.view_of(&athlete, session).await;
    assert_eq!(view.messages.len(), MESSAGES_SHOWN);
    assert_eq!(view.messages[0].body, "note 0");
    assert_eq!(view.messages.last().unwrap().body, "note 49");
    assert!(view.messages.windows(2).all(|w| w[0].id < w[1].id));
}

async fn bad_messages_are_refused_naming_the_field_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let over = "a".repeat(2001);
    for (body, why) in [
        ("", "Write a message first"),
        ("  \n  ", "Write a message first"),
        (over.as_str(), "at most 2000 characters"),
        ("ready\u{0}", "control characters"),
        ("\u{1b}[31mred", "control characters"),
    ] {
        let error = app
            .refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                app.send(&athlete, message(session, body, "")),
            )
            .await;
        let said = error.for_field("body").unwrap_or_default();
        assert!(said.contains(why), "{body:?}: {error:?}");
    }
    // 2,000 characters of any script are fine: counted as typed.
    let fine = "ä".repeat(2000);
    let response = app.send(&trainer, message(session, &fine, "")).await;
    assert_eq!(response.status(), StatusCode::OK);
    // A megabyte is refused before it is read.
    let huge = "m".repeat(1 << 20);
    app.refused(
        StatusCode::PAYLOAD_TOO_LARGE,
        app.send(&athlete, message(session, &huge, "")),
    )
    .await;
    // A session id that is not a number names its field.
    let error = app
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            app.call(
                &athlete,
                "/api/messages/send",
                &[("session_id", "seven"), ("body", "hi")],
            ),
        )
        .await;
    assert!(error.for_field("session_id").is_some(), "{error:?}");
    // Markup is stored as text and shown as text.
    let script = "<script>alert(1)</script> & <b>bold</b>";
    let response = app.send(&athlete, message(session, script, "")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let view = app.view_of(&trainer, session).await;
    assert_eq!(view.messages.last().unwrap().body, script);
    let page = app
        .get_page(&trainer.client, &format!("/sessions/{session}/trainer"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"),
        "the message is on the page as text"
    );
    assert!(!page.contains("<script>alert(1)"), "never as markup");
}

async fn a_stranger_cannot_read_or_write_and_an_ended_thread_is_read_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let response = app.send(&athlete, message(session, "ready", "")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let stranger = app.person("Sid Stranger", "athlete").await;
    let error = app
        .refused(
            StatusCode::FORBIDDEN,
            app.send(&stranger, message(session, "hello", "")),
        )
        .await;
    assert!(!error.to_string().contains("ready"));
    app.refused(
        StatusCode::NOT_FOUND,
        app.send(&athlete, message(session + 1000, "hello", "")),
    )
    .await;
    let csv = stranger
        .client
        .get(format!("{}/sessions/{session}/messages.csv", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::FORBIDDEN);
    assert!(
        !csv.text().await.unwrap().contains("ready"),
        "nothing leaks"
    );
    // Cancelled: the thread stays, read-only, for both.
    let response = app
        .call(
            &trainer,
            "/api/sessions/cancel",
            &[("session_id", &session.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    for who in [&athlete, &trainer] {
        let error = app
            .refused(
                StatusCode::CONFLICT,
                app.send(who, message(session, "one more thing", "")),
            )
            .await;
        assert!(error.to_string().contains("read-only"), "{error:?}");
        assert_eq!(app.view_of(who, session).await.messages.len(), 1);
    }
}

async fn a_plain_form_post_sends_a_message_without_javascript(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let page = format!("{}/sessions/{session}", app.address);
    let response = athlete
        .client
        .post(format!("{}/api/messages/send", app.address))
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, &page)
        .form(&[
            ("session_id", session.to_string()),
            ("body", "Need more rest".into()),
            (
                "idempotency_key",
                "5b0e8a4e-2f3c-4c1d-9e8f-0000000000fe".into(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = response.headers()[header::LOCATION].to_str().unwrap();
    // Back to the page (Leptos leaves an empty query: no error in it).
    assert!(
        back.trim_end_matches('?')
            .ends_with(&format!("/sessions/{session}")),
        "{back}"
    );
    // The thread renders on the page, for both sides.
    for (who, path) in [
        (&athlete, format!("/sessions/{session}")),
        (&trainer, format!("/sessions/{session}/trainer")),
    ] {
        let html = app.get_page(&who.client, &path).await.text().await.unwrap();
        assert!(html.contains("data-testid=\"thread\""), "{path}");
        assert!(html.contains("Need more rest"), "{path}");
    }
    // The athlete's quick replies are forms of their own.
    let html = app
        .get_page(&athlete.client, &format!("/sessions/{session}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-testid=\"quick-replies\""));
    assert!(html.contains("value=\"Too heavy\""));
}

async fn the_thread_exports_as_its_own_csv(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    app.release(&trainer, session, round).await;
    for (who, body) in [
        (&trainer, "Drop to 90 kg, then rest"),
        (&athlete, "=cmd|' /C calc'!A0"),
        (&athlete, "line one\nline \"two\""),
    ] {
        let response = app.send(who, message(session, body, "")).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = athlete
        .client
        .get(format!("{}/sessions/{session}/messages.csv", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.contains(&format!("spotter-session-{session}-messages.csv")));
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, ["sent_at", "session", "from", "name", "message"]);
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let cells: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r[2].as_str(), r[3].as_str(), r[4].as_str()))
        .collect();
    assert_eq!(
        cells,
        [
            ("trainer", "Tina Trainer", "Drop to 90 kg, then rest"),
            ("athlete", "Andy Athlete", "'=cmd|' /C calc'!A0"),
            ("athlete", "Andy Athlete", "line one\nline \"two\""),
        ],
        "a formula is shown, never run; commas, quotes and breaks survive"
    );
    assert!(rows.iter().all(|r| r[1] == session.to_string()));
    assert!(
        rows[0][0].ends_with('Z') && rows[0][0].contains('T'),
        "{}",
        rows[0][0]
    );
}

/// `POST /api/messages/older` as `who`.
async fn older(app: &TestApp, who: &Person, session: i64, before: &str) -> reqwest::Response {
    app.call(
        who,
        "/api/messages/older",
        &[("session_id", &session.to_string()), ("before", before)],
    )
    .await
}

async fn a_long_thread_pages_back_fifty_at_a_time_each_message_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    for n in 1..=120 {
        let who = if n % 3 == 0 { &athlete } else { &trainer };
        let response = app.send(who, message(session, &format!("m{n}"), "")).await;
        assert_eq!(response.status(), StatusCode::OK, "message {n}");
    }
    // The page shows the newest 50; "Show older messages" twice brings the
    // rest: 50, then 20 (fewer than 50: nothing before them).
    let view = app.view_of(&athlete, session).await;
    let mut pages = vec![view.messages.clone()];
    loop {
        let before = pages.last().unwrap()[0].id.to_string();
        let response = older(&app, &athlete, session, &before).await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: Vec<Message> = response.json().await.unwrap();
        let last = page.len() < MESSAGES_SHOWN;
        pages.push(page);
        if last {
            break;
        }
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [50, 50, 20]);
    let bodies: Vec<String> = pages
        .iter()
        .rev()
        .flatten()
        .map(|m| m.body.clone())
        .collect();
    let expected: Vec<String> = (1..=120).map(|n| format!("m{n}")).collect();
    assert_eq!(bodies, expected, "each message once, in order, no gap");
    // The history's whole thread is the same 120.
    let all = app
        .call(
            &trainer,
            "/api/messages/all",
            &[("session_id", &session.to_string())],
        )
        .await;
    assert_eq!(all.status(), StatusCode::OK);
    let all: Vec<Message> = all.json().await.unwrap();
    assert_eq!(all.len(), 120);
    assert_eq!(
        all,
        pages.iter().rev().flatten().cloned().collect::<Vec<_>>()
    );
    // Before the first message: nothing.
    let first = all[0].id.to_string();
    let none: Vec<Message> = older(&app, &athlete, session, &first)
        .await
        .json()
        .await
        .unwrap();
    assert!(none.is_empty());

    // Refusals: a stranger (403), no such session (404), logged out (401),
    // a letter where the id goes (422 naming the field).
    let stranger = app.person("Sam Stranger", "athlete").await;
    assert_eq!(
        older(&app, &stranger, session, "1000").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        older(&app, &athlete, session + 1000, "1000").await.status(),
        StatusCode::NOT_FOUND
    );
    let all = app
        .call(
            &stranger,
            "/api/messages/all",
            &[("session_id", &session.to_string())],
        )
        .await;
    assert_eq!(all.status(), StatusCode::FORBIDDEN);
    let logged_out = crate::helpers::new_client();
    let response = app
        .post_form(
            &logged_out,
            "/api/messages/older",
            &[("session_id", &session.to_string()), ("before", "1000")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let error = app
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            older(&app, &athlete, session, "ten"),
        )
        .await;
    assert!(error.for_field("before").is_some(), "{error:?}");
}
