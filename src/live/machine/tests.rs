//! The link's rules, input by input (see `live::machine`).

use super::*;
use crate::model::live::DEFAULT_HEARTBEAT_MS;

fn at(now: f64) -> Env {
    Env {
        now,
        online: true,
        random: 0.5,
    }
}

fn opened(doing: &[Do]) -> Vec<(u32, bool)> {
    doing
        .iter()
        .filter_map(|d| match d {
            Do::Open { id, sse } => Some((*id, *sse)),
            _ => None,
        })
        .collect()
}

fn closed(doing: &[Do]) -> Vec<u32> {
    doing
        .iter()
        .filter_map(|d| match d {
            Do::Close(id) => Some(*id),
            _ => None,
        })
        .collect()
}

fn status(doing: &[Do]) -> Option<LinkStatus> {
    doing.iter().rev().find_map(|d| match d {
        Do::Status(s) => Some(*s),
        _ => None,
    })
}

/// The watchdog's ticks, every second after `from` up to `to`; `hear`:
/// a frame on that connection before each.
fn ticks(m: &mut Machine, from: f64, to: f64, hear: Option<u32>) -> Vec<Do> {
    let mut doing = Vec::new();
    let mut t = from + 1_000.0;
    while t <= to {
        if let Some(conn) = hear {
            m.heard(at(t), conn);
        }
        doing.extend(m.tick(at(t)));
        t += 1_000.0;
    }
    doing
}

/// A session page Live on connection 0 at `t`.
fn live_session(t: f64) -> Machine {
    let mut m = Machine::new(false, t);
    assert_eq!(opened(&m.connect(at(t))), [(0, false)]);
    m.hello(at(t), 0, DEFAULT_HEARTBEAT_MS);
    assert!(!m.is_live(), "a session page waits for its snapshot");
    assert_eq!(status(&m.snapshot_taken()), Some(LinkStatus::Live));
    assert!(m.is_live());
    m
}

#[test]
fn dead_after_two_and_a_half_silent_heartbeats() {
    let mut m = live_session(0.0);
    let window = dead_after_ms(DEFAULT_HEARTBEAT_MS) as f64;
    assert_eq!(window, 2.5 * DEFAULT_HEARTBEAT_MS as f64);
    let mut t = 0.0;
    while t + 1_000.0 <= window {
        t += 1_000.0;
        assert!(m.tick(at(t)).is_empty(), "still Live at {t} ms");
    }
    let doing = m.tick(at(window + 1.0));
    assert_eq!(closed(&doing), [0]);
    assert_eq!(status(&doing), Some(LinkStatus::Reconnecting(1)));
    assert!(doing.iter().any(|d| matches!(d, Do::RetryIn(_))));
    assert!(!m.is_live());
}

#[test]
fn a_heartbeat_keeps_the_link_live() {
    let mut m = live_session(0.0);
    let window = dead_after_ms(DEFAULT_HEARTBEAT_MS) as f64;
    assert!(ticks(&mut m, 0.0, 20_000.0, None).is_empty());
    assert!(m.heard(at(20_000.0), 0));
    assert!(m.heartbeat(at(20_000.0), 0, 0, 0).is_empty());
    assert!(ticks(&mut m, 20_000.0, 20_000.0 + window - 1.0, None).is_empty());
    assert!(m.is_live());
}

#[test]
fn server_events_after_four_websocket_failures() {
    let mut m = Machine::new(false, 0.0);
    let mut t = 0.0;
    let mut doing = m.connect(at(t));
    for failure in 1..=WEBSOCKET_TRIES_BEFORE_SSE {
        let (id, sse) = opened(&doing)[0];
        assert!(!sse, "try {failure} is a WebSocket");
        let retry = m.closed(at(t), id, Some(1006));
        assert_eq!(status(&retry), Some(LinkStatus::Reconnecting(failure)));
        assert!(ticks(&mut m, t, t + 1_000.0, None).is_empty());
        t += 1_000.0;
        doing = m.connect(at(t));
    }
    assert_eq!(opened(&doing), [(4, true)]);
    m.hello(at(t), 4, DEFAULT_HEARTBEAT_MS);
    m.snapshot_taken();
    assert_eq!(m.live_websocket(), None, "calls never go over SSE");
    // Live on SSE: a WebSocket trial at once, then not again for 30 s.
    let trial = m.tick(at(t + 1_000.0));
    assert_eq!(opened(&trial), [(5, false)]);
    let failed = m.closed(at(t + 1_500.0), 5, Some(1006));
    assert_eq!(closed(&failed), [5]);
    assert_eq!(status(&failed), None, "a failed trial leaves SSE Live");
    assert!(m.is_live());
    let next = t + 1_000.0 + WEBSOCKET_TRIAL_EVERY_MS;
    assert!(ticks(&mut m, t + 1_000.0, next, Some(4)).is_empty());
    let again = ticks(&mut m, next, next + 1_000.0, Some(4));
    assert_eq!(opened(&again), [(6, false)]);
    // The trial says hello: it replaces SSE, and calls can go.
    let hello = m.hello(at(next + 1_500.0), 6, DEFAULT_HEARTBEAT_MS);
    assert_eq!(closed(&hello), [4]);
    assert_eq!(m.live_websocket(), Some(6));
}

#[test]
fn the_newest_hello_wins() {
    let mut m = live_session(0.0);
    // Back after 10 s away: a fresh connection beside the old one.
    m.went_away(at(1_000.0));
    let doing = m.wake(at(11_000.0));
    assert_eq!(opened(&doing), [(1, false)]);
    assert!(closed(&doing).is_empty(), "the old one stays until hello");
    // A late hello of the old connection changes nothing.
    assert!(m.hello(at(11_100.0), 0, DEFAULT_HEARTBEAT_MS).is_empty());
    let hello = m.hello(at(11_200.0), 1, DEFAULT_HEARTBEAT_MS);
    assert_eq!(closed(&hello), [0]);
    assert!(m.is_live_conn(1) && !m.is_live_conn(0));
    assert_eq!(m.route(0), Route::Ignore);
    assert_eq!(m.route(1), Route::Apply);
}

#[test]
fn refused_connections_stop_without_a_retry() {
    for code in [CLOSE_UNAUTHORIZED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND] {
        let mut m = live_session(0.0);
        let doing = m.closed(at(100.0), 0, Some(code));
        assert_eq!(status(&doing), Some(LinkStatus::Offline), "{code}");
        assert!(!doing.iter().any(|d| matches!(d, Do::RetryIn(_))), "{code}");
        // For good: waking up, a failed request or the watchdog do not
        // open it again, and a call waiting for it need not wait.
        assert!(!m.may_come_back(), "{code}");
        m.went_away(at(200.0));
        assert!(m.wake(at(10_000.0)).is_empty(), "{code}");
        assert!(m.request_failed(at(10_100.0)).is_empty(), "{code}");
        assert!(m.tick(at(60_000.0)).is_empty(), "{code}");
    }
    let mut m = live_session(0.0);
    let doing = m.closed(at(100.0), 0, Some(1006));
    assert!(doing.iter().any(|d| matches!(d, Do::RetryIn(_))));
    assert!(m.may_come_back());
}

#[test]
fn a_short_absence_probes_and_an_unanswered_probe_resyncs() {
    let mut m = live_session(0.0);
    m.went_away(at(1_000.0));
    let doing = m.wake(at(2_000.0));
    assert_eq!(doing, [Do::Ping { conn: 0, id: 0 }]);
    // Answered: nothing more.
    m.pong(0);
    assert!(ticks(&mut m, 0.0, 4_000.0, Some(0)).is_empty());
    // Not answered within a second: not Live, a fresh connection.
    assert_eq!(
        m.probe_requested(at(4_000.0)),
        [Do::Ping { conn: 0, id: 1 }]
    );
    let doing = m.tick(at(4_000.0 + PROBE_MS + 1.0));
    assert_eq!(closed(&doing), [0]);
    assert_eq!(opened(&doing), [(1, false)]);
    assert_eq!(status(&doing), Some(LinkStatus::Reconnecting(1)));
}

#[test]
fn a_frozen_page_gets_a_fresh_connection() {
    let mut m = live_session(0.0);
    let doing = m.tick(at(AWAY_MS + 1_000.0));
    assert_eq!(opened(&doing), [(1, false)]);
}

#[test]
fn a_heartbeat_ahead_of_the_view_resyncs() {
    let mut m = live_session(0.0);
    assert!(m.heartbeat(at(500.0), 0, 7, 7).is_empty());
    let doing = m.heartbeat(at(600.0), 0, 8, 7);
    assert_eq!(closed(&doing), [0]);
    assert_eq!(opened(&doing), [(1, false)]);
    assert!(!m.is_live());
}

#[test]
fn failed_requests_resync_at_most_once_per_pause() {
    let mut m = live_session(0.0);
    assert_eq!(opened(&m.request_failed(at(10_000.0))), [(1, false)]);
    assert!(m.request_failed(at(12_000.0)).is_empty());
    let mut dashboard = Machine::new(true, 0.0);
    dashboard.connect(at(0.0));
    assert!(dashboard.request_failed(at(10_000.0)).is_empty());
}

#[test]
fn offline_closes_everything_and_tries_nothing() {
    let mut m = live_session(0.0);
    let doing = m.offline(at(100.0));
    assert_eq!(closed(&doing), [0]);
    assert_eq!(status(&doing), Some(LinkStatus::Offline));
    let offline = Env {
        online: false,
        ..at(200.0)
    };
    let doing = m.connect(offline);
    assert!(opened(&doing).is_empty());
    assert_eq!(status(&doing), Some(LinkStatus::Offline));
    // Online again after 20 s: a fresh connection at once.
    assert_eq!(opened(&m.wake(at(20_000.0))), [(1, false)]);
}

#[test]
fn a_handshake_that_never_ends_counts_as_failed() {
    let mut m = Machine::new(false, 0.0);
    m.connect(at(0.0));
    let late = OPENING_MS.max(dead_after_ms(0) as f64);
    assert!(ticks(&mut m, 0.0, late, None).is_empty());
    let doing = m.tick(at(late + 1.0));
    assert_eq!(closed(&doing), [0]);
    assert_eq!(status(&doing), Some(LinkStatus::Reconnecting(1)));
}

#[test]
fn a_dashboard_is_live_at_hello_and_refetches_after_a_reconnect() {
    let mut m = Machine::new(true, 0.0);
    m.connect(at(0.0));
    let first = m.hello(at(10.0), 0, DEFAULT_HEARTBEAT_MS);
    assert_eq!(first, [Do::Status(LinkStatus::Live)]);
    assert_eq!(m.route(0), Route::Refetch);
    m.closed(at(20.0), 0, Some(1006));
    m.connect(at(1_000.0));
    let again = m.hello(at(1_010.0), 1, DEFAULT_HEARTBEAT_MS);
    assert!(again.contains(&Do::Refetch));
}
