//! What a slow, silent, unreading or oversized client gets at the
//! connection level: its connection ends after its deadline with a clear
//! close where there is one, and nothing else ends with it (issue 14).

use crate::helpers::squat;
use crate::helpers::{spawn_app_with, Backend, Person, TestApp};
use futures::{SinkExt, StreamExt};
use reqwest::{header, StatusCode};
use spotter::server::{config::Config, connection::Deadlines};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{client::IntoClientRequest, protocol::frame::coding::CloseCode, Message},
};

/// 500 ms to send a request head (and idle keep-alive), 1 s for a write,
/// and a small kernel send buffer (on loopback the kernel's own sizing
/// takes megabytes to fill).
fn short_deadlines(config: &mut Config) {
    config.deadlines = Deadlines {
        head: Duration::from_millis(500),
        write_stall: Duration::from_secs(1),
        send_buffer: Some(8 * 1024),
    };
}

fn host(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_string()
}

async fn websocket(
    app: &TestApp,
    who: &Person,
    path: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!("{}{path}", app.address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert(header::COOKIE, who.cookie.parse().unwrap());
    connect_async(request).await.expect("connected").0
}

/// Slow-header clients (one header line every 200 ms) and idle keep-alive
/// connections used to stay open for minutes; both are closed after the
/// header timeout (here 500 ms).
#[tokio::test]
async fn slow_and_idle_connections_are_closed() {
    let app = spawn_app_with(Backend::Sqlite, short_deadlines).await;
    // Slow headers: never finishes its request.
    let mut slow = tokio::net::TcpStream::connect(host(&app)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let closed = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if slow.write_all(b"X-Slow: 1\r\n").await.is_err() {
            break started.elapsed();
        }
        let mut byte = [0u8; 1];
        // Closed (or answered, say 408): over either way.
        if tokio::time::timeout(Duration::from_millis(1), slow.read(&mut byte))
            .await
            .is_ok()
        {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still open after 5 s"
        );
    };
    assert!(
        closed >= Duration::from_millis(400),
        "not before the timeout: {closed:?}"
    );
    // Silent from the start: connected, sends nothing.
    let mut silent = tokio::net::TcpStream::connect(host(&app)).await.unwrap();
    let mut rest = Vec::new();
    let eof = tokio::time::timeout(Duration::from_secs(3), silent.read_to_end(&mut rest)).await;
    assert!(eof.is_ok(), "a silent connection is closed");
    // Idle keep-alive: one request answered, then nothing.
    let mut idle = tokio::net::TcpStream::connect(host(&app)).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0u8; 4096];
    let n = idle.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "answered");
    let eof = tokio::time::timeout(Duration::from_secs(3), idle.read_to_end(&mut rest)).await;
    assert!(eof.is_ok(), "an idle keep-alive connection is closed");
    // A keep-alive client that comes back in time is served again.
    let mut reused = tokio::net::TcpStream::connect(host(&app)).await.unwrap();
    for _ in 0..3 {
        reused
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let n = reused.read(&mut answer).await.unwrap();
        assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "served again");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The header timeout must not end what is meant to stay open: a live
/// WebSocket and an event stream, both quiet from the client's side, are
/// still live after six header timeouts.
#[tokio::test]
async fn live_connections_outlive_the_header_timeout() {
    let app = spawn_app_with(Backend::Sqlite, short_deadlines).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let mut socket = websocket(
        &app,
        &athlete,
        &format!("/api/sessions/{session}/live?since=0"),
    )
    .await;
    let mut stream = athlete
        .client
        .get(format!("{}/api/sessions/{session}/events", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    // The socket answers pings (the client's automatic pongs keep it from
    // the 4008 silence rule, which is not what is tested here).
    let quiet_until = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < quiet_until {
        match tokio::time::timeout(Duration::from_secs(1), socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => panic!("closed: {frame:?}"),
            Ok(None) | Ok(Some(Err(_))) => panic!("the socket ended"),
            _ => {}
        }
    }
    socket
        .send(Message::Text(r#"{"type":"ping","id":7}"#.into()))
        .await
        .expect("still open");
    let pong = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) if text.contains("pong") => return true,
                Some(Ok(_)) => continue,
                _ => return false,
            }
        }
    })
    .await;
    assert_eq!(pong, Ok(true), "the socket still answers");
    // The stream, read only now, still brings heartbeats.
    let heartbeat = tokio::time::timeout(Duration::from_secs(2), async {
        let mut seen = String::new();
        while let Ok(Some(chunk)) = stream.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.matches("event: heartbeat").count() >= 8 {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(heartbeat, Ok(true), "the event stream is still live");
}

/// An event stream whose client never reads used to be kept forever, with
/// its presence ("the athlete is here") and its slot under the per-user
/// cap: its follower waited for room in the stream's 64-frame buffer for
/// ever. Now the connection is dropped once a write has waited the
/// write-stall deadline for the client to read, and its presence and slot
/// end with it. (A client that reads, but slower than events come, falls
/// more than the hub's buffer behind and is told to resume, as on the
/// WebSocket.)
#[tokio::test]
async fn an_event_stream_nobody_reads_is_given_up() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        short_deadlines(config);
        config.live_connections_per_user = 1;
    })
    .await;
    let (athlete, trainer, session) = app.active_session().await;
    // A client that asks for the stream and never reads a byte, with a
    // small receive window so the buffers fill after a few hundred frames.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut deaf = socket.connect(host(&app).parse().unwrap()).await.unwrap();
    deaf.write_all(
        format!(
            "GET /api/sessions/{session}/events HTTP/1.1\r\nHost: x\r\nCookie: {}\r\n\r\n",
            athlete.cookie
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let here = |app: &TestApp| app.bus.presences().who_is_here(session).0;
    tokio::time::timeout(Duration::from_secs(5), async {
        while !here(&app) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the stream made the athlete present");
    // The trainer keeps editing; every save is an event for the stream.
    let round = app.new_round(&trainer, session, &[squat()], false).await;
    let round = round.to_string();
    let started = tokio::time::Instant::now();
    let mut saves = 0;
    while here(&app) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still present after 60 s and {saves} events"
        );
        let saved = app
            .save_round(&trainer, session, &round, &[squat()], false)
            .await;
        assert_eq!(saved.status(), StatusCode::OK);
        saves += 1;
    }
    // The slot comes back once the stalled write gives up (1 s here).
    let mut again = None;
    for _ in 0..100 {
        let response = athlete
            .client
            .get(format!("{}/api/sessions/{session}/events", app.address))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            again = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut again = again.expect("the slot was given back within 10 s");
    // And the new stream, which reads, is live and present.
    assert!(again.chunk().await.unwrap().is_some());
    drop(deaf);
}

/// A 70 KiB WebSocket message (clients only send small pings) used to reset
/// the connection with no reason given; now it gets close code 1009.
#[tokio::test]
async fn an_oversized_websocket_message_gets_1009() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let mut socket = websocket(
        &app,
        &athlete,
        &format!("/api/sessions/{session}/live?since=0"),
    )
    .await;
    let big = format!(
        r#"{{"type":"ping","id":1,"pad":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    socket.send(Message::Text(big.into())).await.expect("sent");
    let code = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                other => panic!("ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("closed within 5 s");
    assert_eq!(code, Some(CloseCode::from(1009)));
}

/// A server-function call whose body trickles in (or never finishes) is
/// answered 408 after the header timeout, and nothing is changed; it
/// used to hold the connection (and a stopping server) as long as the
/// client liked.
#[tokio::test]
async fn a_trickled_body_gets_408() {
    let app = spawn_app_with(Backend::Sqlite, short_deadlines).await;
    let (athlete, _trainer, session) = app.active_session().await;
    let before = app.snapshot().await;
    let mut slow = tokio::net::TcpStream::connect(host(&app)).await.unwrap();
    let body = format!("session_id={session}&reason=tired");
    slow.write_all(
        format!(
            "POST /api/sessions/cancel HTTP/1.1\r\nHost: x\r\nCookie: {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{}",
            athlete.cookie,
            body.len(),
            &body[..5]
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let started = tokio::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut chunk = [0u8; 1024];
        loop {
            // One more byte every 200 ms: progress, but never done.
            let _ = slow.write_all(b"x").await;
            match tokio::time::timeout(Duration::from_millis(200), slow.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => answer.extend_from_slice(&chunk[..n]),
                Err(_) => {}
            }
            if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "answered within 5 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(app.snapshot().await, before, "nothing changed");
}
