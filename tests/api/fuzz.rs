//! Mutated forms against every server function (a seeded, repeatable fuzz
//! run on stable Rust; `cargo fuzz` needs a nightly toolchain this project's
//! machines do not have): whatever the bytes, the answer is never a 5xx,
//! and a refusal is a JSON error a client can show.

use crate::helpers::{spawn_app, Backend};
use rand::{rngs::StdRng, Rng, SeedableRng};
use reqwest::header;

/// Valid-looking bodies, one per server function that reads a form.
fn seeds(session: i64) -> Vec<(&'static str, String)> {
    let s = session;
    vec![
        ("/api/sessions/view", format!("session_id={s}")),
        ("/api/sessions/join", format!("session_id={s}")),
        (
            "/api/sessions/start",
            "trainer_id=2&idempotency_key=abcdefghijklmnop".into(),
        ),
        (
            "/api/rounds/save",
            format!(
                "session_id={s}&round_id=&row_action=&exercises[0][name]=Squat&exercises[0][sets]=3\
                 &exercises[0][reps]=5&exercises[0][load]=80&exercises[0][load_unit]=kg\
                 &exercises[0][duration_s]=&exercises[0][rest_s]=120&exercises[0][notes]=Slow"
            ),
        ),
        (
            "/api/rounds/release",
            format!("session_id={s}&round_id=1&revision=1"),
        ),
        (
            "/api/rounds/delete",
            format!("session_id={s}&round_id=1&revision=1"),
        ),
        (
            "/api/rounds/complete",
            format!(
                "session_id={s}&round_id=1&revision=1&feedback[0][sets_done]=3\
                 &feedback[0][reps_done]=5&feedback[0][load_used]=80&feedback[0][rpe]=8\
                 &feedback[0][pain]=on&feedback[0][notes]=ok"
            ),
        ),
        ("/api/login", "email=a%40b.c&password=wrong+password".into()),
        (
            "/api/register",
            "display_name=A&email=x%40y.z&password=long+enough+password&role=athlete".into(),
        ),
    ]
}

/// Pieces a hostile client likes.
const NASTY: &[&str] = &[
    "[",
    "]",
    "[]",
    "[0]",
    "[x]",
    "[18446744073709551616]",
    "%",
    "%ZZ",
    "%FF%FE",
    "%00",
    "&",
    "=",
    "==",
    "&&",
    "-1",
    "1e9",
    "NaN",
    "9999999999999999999999",
    "\u{1b}[31m",
    "\u{0}",
    "ü",
    "+",
    "[0][0][0][0][0][0]",
    "session_id",
    "revision",
];

fn mutate(rng: &mut StdRng, seed: &str) -> Vec<u8> {
    let mut body = seed.as_bytes().to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let at = rng.gen_range(0..=body.len());
        match rng.gen_range(0..5) {
            0 => {
                let piece = NASTY[rng.gen_range(0..NASTY.len())];
                body.splice(at..at, piece.bytes());
            }
            1 if !body.is_empty() => {
                let end = (at + rng.gen_range(1..8)).min(body.len());
                body.drain(at.min(body.len())..end);
            }
            2 => body.insert(at, rng.gen()),
            3 => {
                // Repeat a pair.
                let copy = body.clone();
                body.push(b'&');
                body.extend_from_slice(&copy[..at.min(copy.len())]);
            }
            _ => body.truncate(at),
        }
    }
    body
}

async fn mutated_forms_never_get_a_5xx(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let mut rng = StdRng::seed_from_u64(14);
    let mut answered = 0;
    for round in 0..40 {
        for (path, seed) in seeds(session) {
            let who = if round % 2 == 0 { &athlete } else { &trainer };
            let body = mutate(&mut rng, &seed);
            let response = who
                .client
                .post(format!("{}{path}", app.address))
                .header(header::ACCEPT, "application/json")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await
                .expect("answered");
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            assert!(
                !status.is_server_error(),
                "{path} {:?}: {status} {text}",
                String::from_utf8_lossy(&body)
            );
            if status.is_client_error() {
                let error: Result<spotter::error::AppError, _> = serde_json::from_str(&text);
                assert!(
                    error.is_ok(),
                    "{path} {:?}: {status} not a JSON error: {text}",
                    String::from_utf8_lossy(&body)
                );
            }
            answered += 1;
        }
    }
    assert_eq!(answered, 40 * seeds(session).len());
}

crate::on_both_backends!(mutated_forms_never_get_a_5xx);
