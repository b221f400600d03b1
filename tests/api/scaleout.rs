//! Several spotter processes on one PostgreSQL database: live events cross
//! instances through LISTEN/NOTIFY, a client of a killed instance resumes on
//! another without loss, and a listener that lost its connection catches up.
//!
//! These start the real server binary (not an in-process router), so an
//! instance can be killed with SIGKILL.

use crate::helpers::{exercise, feedback, ExerciseRow, FeedbackRow};
use crate::{
    helpers::squat,
    helpers::{fresh_database, start_binary, within_time, Backend, Cleanup, Person, TestApp},
    live::{hello, listen, next_frame, Socket},
};
use futures::StreamExt;
use reqwest::StatusCode;
use spotter::{model::live::Frame, server::db::Database};
use sqlx::{any::AnyPoolOptions, AnyPool};
use std::time::Duration;
use tokio::process::Child;

/// A spotter server process.
struct Instance {
    child: Child,
    app: TestApp,
}

impl Instance {
    /// Starts the server binary on a port of its choosing against `url`,
    /// and waits until it listens.
    async fn start(url: &str, name: &'static str, pool: &AnyPool) -> Instance {
        let (child, address) = start_binary(
            url,
            name,
            &[
                // Long enough that the test can commit while it is down.
                ("SPOTTER_LISTENER_RETRY_MS", "1500"),
                ("RUST_LOG", "warn,tower_http=off"),
            ],
        )
        .await;
        let db = Database {
            pool: pool.clone(),
            sqlite_file: None,
            backend: spotter::server::db::Backend::Postgres,
        };
        Instance {
            child,
            app: TestApp::remote(address, db),
        }
    }

    /// `/readyz` as (status, body).
    async fn ready(&self) -> (StatusCode, serde_json::Value) {
        let response = self
            .app
            .client
            .get(format!("{}/readyz", self.app.address))
            .send()
            .await
            .expect("readyz answers");
        let status = response.status();
        (status, response.json().await.expect("readyz is JSON"))
    }

    /// Waits until `/readyz` answers `want` (up to 10 s).
    async fn wait_ready(&self, want: StatusCode) -> serde_json::Value {
        for _ in 0..1000 {
            let (status, body) = self.ready().await;
            if status == want {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{} never answered /readyz with {want}", self.app.address);
    }
}

/// A fresh PostgreSQL database and a pool on it (no listener of its own,
/// so the only listeners are the instances').
async fn database() -> (String, Cleanup, AnyPool) {
    let (url, cleanup) = fresh_database(Backend::Postgres).await;
    let pool = AnyPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .expect("connect to the test database");
    (url, cleanup, pool)
}

/// The session's log as (seq, kind).
async fn log(pool: &AnyPool, session: i64) -> Vec<(i64, String)> {
    sqlx::query_as("SELECT seq, kind FROM session_events WHERE session_id = $1 ORDER BY seq")
        .bind(session)
        .fetch_all(pool)
        .await
        .expect("read the log")
}

/// The athlete completes the round (at its current revision) through `app`.
async fn complete(app: &TestApp, pool: &AnyPool, athlete: &Person, session: i64, round: i64) {
    let revision: i64 = sqlx::query_scalar("SELECT revision FROM rounds WHERE id = $1")
        .bind(round)
        .fetch_one(pool)
        .await
        .expect("round revision");
    let feedback = [feedback()
        .sets_done(3)
        .reps_done(5)
        .load_used(80)
        .rpe("7.5")
        .pain()
        .notes("ok")];
    let done = app
        .complete(athlete, session, round, revision, &feedback)
        .await;
    assert_eq!(done.status(), StatusCode::OK, "complete the round");
}

/// Reads events until `last`, asserting they are exactly `after+1..=last`
/// in order, but for `hidden` (the trainer's drafts, which an athlete is
/// never sent); returns each event's commit-to-arrival time in ms.
async fn events_until(socket: &mut Socket, after: i64, last: i64, hidden: &[i64]) -> Vec<i64> {
    let mut expected = after + 1;
    while hidden.contains(&expected) {
        expected += 1;
    }
    let mut latencies = Vec::new();
    while expected <= last {
        match next_frame(socket).await {
            Frame::Event(e) => {
                assert_eq!(e.seq, expected, "in order, no gap, no duplicate");
                latencies.push(spotter::server::db::now_ms() - e.at);
                expected += 1;
                while hidden.contains(&expected) {
                    expected += 1;
                }
            }
            Frame::Presence { .. } => {}
            other => panic!("expected an event, got {other:?}"),
        }
    }
    latencies
}

/// Reads presence frames until one says (athlete, trainer) = `want`.
async fn presence_becomes(socket: &mut Socket, want: (bool, bool)) {
    loop {
        match next_frame(socket).await {
            Frame::Presence {
                athlete, trainer, ..
            } if (athlete, trainer) == want => return,
            Frame::Presence { .. } => continue,
            other => panic!("expected presence, got {other:?}"),
        }
    }
}

/// Asserts no further event arrives within half a second.
async fn nothing_more(socket: &mut Socket) {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(message) = tokio::time::timeout_at(deadline, socket.next()).await {
        let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) = message else {
            continue;
        };
        let frame: Frame = serde_json::from_str(&text).expect("a frame");
        assert!(
            !matches!(frame, Frame::Event(_)),
            "unexpected extra event {frame:?}"
        );
    }
}

/// Edits a round `times` times through `app` (each edit is one event).
async fn edit(app: &TestApp, trainer: &Person, session: i64, round: i64, times: usize) {
    for i in 0..times {
        let reps = (5 + i).to_string();
        let row = exercise("Back squat")
            .sets(3)
            .reps(reps.as_str())
            .load(80)
            .unit("kg")
            .rest(120);
        let response = app
            .save_round(trainer, session, &round.to_string(), &[row], false)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "edit round");
    }
}

#[tokio::test]
async fn events_committed_on_one_instance_reach_subscribers_of_another() {
    within_time(async {
        let (url, _cleanup, pool) = database().await;
        let a = Instance::start(&url, "a", &pool).await;
        let b = Instance::start(&url, "b", &pool).await;
        // Health: each names itself; both are ready with their listener up.
        for (instance, name) in [(&a, "a"), (&b, "b")] {
            let health = instance
                .app
                .client
                .get(format!("{}/healthz", instance.app.address))
                .send()
                .await
                .unwrap();
            assert_eq!(health.status(), StatusCode::OK);
            assert_eq!(health.headers()["x-spotter-instance"], name);
            let body: serde_json::Value = health.json().await.unwrap();
            assert_eq!(body["instance"], name);
            let (status, ready) = instance.ready().await;
            assert_eq!(status, StatusCode::OK, "{ready}");
            assert_eq!(ready["listener"], "connected");
            assert_eq!(ready["database"], "ok");
        }

        // Everyone acts through A; the athlete listens on B, the trainer on A.
        let (athlete, trainer, session) = a.app.active_session().await;
        let mut athlete_on_b = listen(&b.app, &athlete, session, 0).await;
        assert_eq!(hello(&mut athlete_on_b).await, 2);
        events_until(&mut athlete_on_b, 0, 2, &[3]).await;
        // From seq 2: no replay, so only presence comes until the next event.
        let mut trainer_on_a = listen(&a.app, &trainer, session, 2).await;
        assert_eq!(hello(&mut trainer_on_a).await, 2);
        // Presence crosses instances too: each sees the other connected.
        presence_becomes(&mut athlete_on_b, (true, true)).await;
        presence_becomes(&mut trainer_on_a, (true, true)).await;

        let round = a.app.new_round(&trainer, session, &[squat()], false).await;
        a.app.release(&trainer, session, round).await;
        events_until(&mut athlete_on_b, 2, 4, &[3]).await;
        // Each edit's event reaches B before the next edit: commit-to-arrival.
        let mut latencies = Vec::new();
        for seq in 5..25 {
            edit(&a.app, &trainer, session, round, 1).await;
            latencies.extend(events_until(&mut athlete_on_b, seq - 1, seq, &[3]).await);
        }
        // The athlete completes through B; the trainer hears it on A.
        complete(&b.app, &pool, &athlete, session, round).await;

        let logged = log(&pool, session).await;
        let last = logged.last().unwrap().0;
        assert_eq!(last, 2 + 1 + 1 + 20 + 1, "every action logged");
        events_until(&mut athlete_on_b, 24, last, &[3]).await;
        events_until(&mut trainer_on_a, 2, last, &[]).await;
        nothing_more(&mut athlete_on_b).await;
        nothing_more(&mut trainer_on_a).await;

        // The trainer leaves A: the athlete on B hears it.
        drop(trainer_on_a);
        presence_becomes(&mut athlete_on_b, (true, false)).await;

        latencies.sort_unstable();
        eprintln!(
            "commit-to-delivery across instances (ms, {} events): median {}, max {}",
            latencies.len(),
            latencies[latencies.len() / 2],
            latencies[latencies.len() - 1]
        );
    })
    .await
}

#[tokio::test]
async fn clients_of_a_killed_instance_resume_on_another_without_loss() {
    within_time(async {
        let (url, _cleanup, pool) = database().await;
        let mut a = Instance::start(&url, "a", &pool).await;
        let b = Instance::start(&url, "b", &pool).await;
        let (athlete, trainer, session) = a.app.active_session().await;
        let mut athlete_socket = listen(&a.app, &athlete, session, 0).await;
        let mut trainer_socket = listen(&a.app, &trainer, session, 0).await;
        hello(&mut athlete_socket).await;
        hello(&mut trainer_socket).await;
        let round = a.app.new_round(&trainer, session, &[squat()], false).await;
        a.app.release(&trainer, session, round).await;
        events_until(&mut athlete_socket, 0, 4, &[3]).await;
        events_until(&mut trainer_socket, 0, 4, &[]).await;

        // kill -9: no goodbye, the sockets just break.
        a.child.start_kill().expect("SIGKILL instance a");
        a.child.wait().await.expect("instance a exited");
        for socket in [&mut athlete_socket, &mut trainer_socket] {
            let end = tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    match socket.next().await {
                        None | Some(Err(_)) => break,
                        Some(Ok(_)) => continue,
                    }
                }
            })
            .await;
            assert!(end.is_ok(), "the socket to the killed instance ends");
        }

        // While nobody is connected, the trainer goes on through B.
        edit(&b.app, &trainer, session, round, 2).await;
        // Both resume on B from the last seq they applied.
        let mut athlete_socket = listen(&b.app, &athlete, session, 4).await;
        let mut trainer_socket = listen(&b.app, &trainer, session, 4).await;
        assert_eq!(hello(&mut athlete_socket).await, 6);
        assert_eq!(hello(&mut trainer_socket).await, 6);
        // And the trainer's next actions, through B, all arrive.
        edit(&b.app, &trainer, session, round, 3).await;
        complete(&b.app, &pool, &athlete, session, round).await;
        let last = log(&pool, session).await.last().unwrap().0;
        assert_eq!(last, 4 + 2 + 3 + 1);
        events_until(&mut athlete_socket, 4, last, &[3]).await;
        events_until(&mut trainer_socket, 4, last, &[]).await;
        nothing_more(&mut athlete_socket).await;
        nothing_more(&mut trainer_socket).await;
    })
    .await
}

#[tokio::test]
async fn a_listener_that_lost_its_connection_catches_up_exactly_once() {
    within_time(async {
        let (url, _cleanup, pool) = database().await;
        let a = Instance::start(&url, "a", &pool).await;
        let (athlete, trainer, session) = a.app.active_session().await;
        let mut athlete_socket = listen(&a.app, &athlete, session, 0).await;
        hello(&mut athlete_socket).await;
        events_until(&mut athlete_socket, 0, 2, &[3]).await;
        // The trainer's dashboard on the same instance.
        let dashboard_url = format!("{}/api/live", a.app.address.replace("http://", "ws://"));
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                dashboard_url,
            )
            .unwrap();
        request
            .headers_mut()
            .insert("cookie", trainer.cookie.parse().unwrap());
        let (mut dashboard, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert!(matches!(
            next_frame(&mut dashboard).await,
            Frame::Hello { .. }
        ));

        // Cut the listener's connection from the database side.
        let terminated: Vec<(bool,)> = sqlx::query_as(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'spotter-listener' AND datname = current_database()",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(terminated, vec![(true,)], "one listener connection");
        let down = a.wait_ready(StatusCode::SERVICE_UNAVAILABLE).await;
        assert_eq!(down["listener"], "reconnecting");

        // Committed while nobody listens: PostgreSQL drops these notifications.
        let round = a.app.new_round(&trainer, session, &[squat()], false).await;
        a.app.release(&trainer, session, round).await;
        edit(&a.app, &trainer, session, round, 3).await;
        assert_eq!(
            a.ready().await.1["listener"],
            "reconnecting",
            "the events were committed while the listener was down"
        );

        let up = a.wait_ready(StatusCode::OK).await;
        assert_eq!(up["listener_connects"], 2);
        assert!(up["listener_caught_up"].as_u64().unwrap() >= 1, "{up}");
        events_until(&mut athlete_socket, 2, 7, &[3]).await;
        // The dashboard is told to refetch.
        loop {
            match next_frame(&mut dashboard).await {
                Frame::Reset { .. } => break,
                Frame::Event(_) => continue,
                other => panic!("unexpected dashboard frame {other:?}"),
            }
        }
        // And live delivery works again on the new connection.
        edit(&a.app, &trainer, session, round, 1).await;
        events_until(&mut athlete_socket, 7, 8, &[3]).await;
        nothing_more(&mut athlete_socket).await;
    })
    .await
}

#[tokio::test]
async fn an_event_too_large_for_a_notification_is_read_from_the_log() {
    within_time(async {
        let app = crate::helpers::spawn_app(Backend::Postgres).await;
        let (athlete, trainer, session) = app.active_session().await;
        let mut socket = listen(&app, &athlete, session, 2).await;
        assert_eq!(hello(&mut socket).await, 2);
        // Written as a mutation would, then announced as the notifier
        // does: the hint leaves the event out (over 6000 bytes), so the
        // listener reads the log.
        let notes = "x".repeat(7000);
        let event = spotter::model::live::LiveEvent {
            seq: 3,
            session_id: session,
            at: 0,
            event: spotter::model::SessionEvent::SessionCancelled {
                by: spotter::model::Side::Trainer,
                reason: Some(notes),
            },
        };
        let payload = serde_json::to_value(&event.event).unwrap()["data"].to_string();
        sqlx::query("INSERT INTO session_events (session_id, seq, kind, payload, actor_id, at) VALUES ($1, 3, 'session-cancelled', $2, NULL, 0)")
            .bind(session)
            .bind(payload)
            .execute(&app.db.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE training_sessions SET last_seq = 3 WHERE id = $1")
            .bind(session)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let hints = spotter::server::live::notifier::payloads(&[(event, [athlete.id, trainer.id])]);
        assert_eq!(hints.len(), 1);
        assert!(!hints[0].contains("xxxx"), "the body stays out of the hint");
        sqlx::query("SELECT pg_notify('spotter_events', $1)")
            .bind(&hints[0])
            .execute(&app.db.pool)
            .await
            .unwrap();
        loop {
            match next_frame(&mut socket).await {
                Frame::Event(e) => {
                    assert_eq!(e.seq, 3);
                    let Some((_, Some(reason))) = e.event.cancel_notice() else {
                        panic!("expected the cancel, got {e:?}");
                    };
                    assert_eq!(reason.len(), 7000);
                    break;
                }
                Frame::Presence { .. } => continue,
                other => panic!("expected the event, got {other:?}"),
            }
        }
    })
    .await
}

#[tokio::test]
async fn sigterm_closes_live_connections_with_1001_and_the_process_exits_0() {
    use tokio_tungstenite::tungstenite::{protocol::frame::coding::CloseCode, Message};
    within_time(async {
        let (url, _cleanup, pool) = database().await;
        let mut a = Instance::start(&url, "a", &pool).await;
        let (athlete, trainer, session) = a.app.active_session().await;
        let mut socket = listen(&a.app, &athlete, session, 0).await;
        hello(&mut socket).await;
        // An open event stream too (it used to keep the process alive).
        let mut stream = trainer
            .client
            .get(format!("{}/api/sessions/{session}/events", a.app.address))
            .send()
            .await
            .expect("event stream");
        assert_eq!(stream.status(), StatusCode::OK);
        assert!(stream.chunk().await.expect("first chunk").is_some());
        // And a request whose body never finishes arriving (a phone that
        // lost its network mid-upload).
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let host = a.app.address.trim_start_matches("http://").to_string();
        let mut half_sent = tokio::net::TcpStream::connect(&host).await.unwrap();
        let head = format!(
            "POST /api/dashboard HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nsession_id=1&"
        );
        half_sent.write_all(head.as_bytes()).await.unwrap();

        let pid = a.child.id().expect("running") as libc::pid_t;
        // SAFETY: sends a signal to the child process this test started.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);

        let close = loop {
            match tokio::time::timeout(Duration::from_secs(5), socket.next())
                .await
                .expect("the socket is closed within 5 s")
            {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("dropped without a close frame: {e}"),
                None => break None,
            }
        };
        assert_eq!(close, Some(CloseCode::Away), "close 1001, going away");
        tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(Some(_)) = stream.chunk().await {}
        })
        .await
        .expect("the event stream ends within 5 s");
        // The half-sent request gets the drain time (10 s), then the
        // process exits anyway, with success.
        let status = tokio::time::timeout(Duration::from_secs(15), a.child.wait())
            .await
            .expect("the process exits within the drain time")
            .expect("exit status");
        assert!(status.success(), "exit status {status:?}");
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(1), half_sent.read_to_end(&mut rest))
            .await
            .expect("the half-sent request's connection is closed");
        assert!(read.is_err() || rest.is_empty() || rest.starts_with(b"HTTP/1.1"), "{read:?}");
    })
    .await
}

#[tokio::test]
async fn a_logout_on_one_instance_closes_that_logins_sockets_on_another() {
    use tokio_tungstenite::tungstenite::{protocol::frame::coding::CloseCode, Message};
    within_time(async {
        let (url, _cleanup, pool) = database().await;
        let a = Instance::start(&url, "a", &pool).await;
        let b = Instance::start(&url, "b", &pool).await;
        a.wait_ready(StatusCode::OK).await;
        b.wait_ready(StatusCode::OK).await;
        let (athlete, _trainer, session) = a.app.active_session().await;
        // The athlete's socket is on b; the logout goes to a.
        let mut socket = listen(&b.app, &athlete, session, 0).await;
        hello(&mut socket).await;
        let logout = a.app.call(&athlete, "/api/logout", &[]).await;
        assert!(logout.status().is_success(), "{}", logout.status());
        let close = loop {
            match tokio::time::timeout(Duration::from_secs(5), socket.next())
                .await
                .expect("closed within 5 s")
            {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                other => panic!("dropped without a close frame: {other:?}"),
            }
        };
        assert_eq!(
            close,
            Some(CloseCode::from(4401)),
            "logged out on the other instance"
        );
        // b remembered the login (it resolved it for the socket) and has
        // forgotten it with the notice: the old cookie is refused there at
        // once, not after the cache's 5 s.
        let me = crate::helpers::new_client()
            .post(format!("{}/api/me", b.app.address))
            .header("cookie", &athlete.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(
            me.json::<Option<spotter::model::User>>().await.unwrap(),
            None
        );
    })
    .await
}

#[tokio::test]
async fn typing_on_one_instance_reaches_the_other_side_on_another() {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    within_time(async {
        let (url, _cleanup, pool) = database().await;
        let a = Instance::start(&url, "a", &pool).await;
        let b = Instance::start(&url, "b", &pool).await;
        a.wait_ready(StatusCode::OK).await;
        b.wait_ready(StatusCode::OK).await;
        let (athlete, trainer, session) = a.app.active_session().await;
        let mut athlete_on_b = listen(&b.app, &athlete, session, 2).await;
        hello(&mut athlete_on_b).await;
        let mut trainer_on_a = listen(&a.app, &trainer, session, 2).await;
        hello(&mut trainer_on_a).await;
        presence_becomes(&mut athlete_on_b, (true, true)).await;
        let typed = tokio::time::Instant::now();
        trainer_on_a
            .send(Message::Text(r#"{"type":"typing"}"#.into()))
            .await
            .unwrap();
        loop {
            match next_frame(&mut athlete_on_b).await {
                Frame::Typing { session_id, by, .. } => {
                    assert_eq!((session_id, by), (session, spotter::model::Side::Trainer));
                    break;
                }
                Frame::Presence { .. } => continue,
                other => panic!("expected typing, got {other:?}"),
            }
        }
        eprintln!(
            "typing frame to the other side across instances: {} ms",
            typed.elapsed().as_millis()
        );
        assert_eq!(
            log(&pool, session).await.len(),
            2,
            "nothing logged by typing"
        );
    })
    .await
}
