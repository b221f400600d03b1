//! What an operator watches: counters, gauges and histograms, recorded with
//! the `metrics` facade and rendered by `metrics-exporter-prometheus` at
//! `GET /metrics` (Prometheus text format) for a caller that sends
//! `Authorization: Bearer <SPOTTER_METRICS_TOKEN>`; without a token set the
//! page does not exist (404).
//!
//! Every name is here, as a function, so the list below is the whole
//! vocabulary (README, "Monitoring"; `docs/grafana-dashboard.json`):
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `spotter_live_connections` | gauge | `transport`: `websocket`, `dashboard`, `sse` |
//! | `spotter_events_published_total` | counter | |
//! | `spotter_frames_delivered_total` | counter | `transport` |
//! | `spotter_events_replayed_total` | counter | |
//! | `spotter_live_resets_total` | counter | |
//! | `spotter_live_snapshots_total` | counter | |
//! | `spotter_live_dropped_total` | counter | `reason`: `fell_behind`, `silent`, `too_big`, `stalled_write`, `header_timeout` |
//! | `spotter_action_seconds` | histogram | `function`: the server function's endpoint |
//! | `spotter_http_responses_total` | counter | `class`: `2xx` … `5xx` |
//! | `spotter_rate_limited_total` | counter | `limit`: `login`, `register`, `change`, `start`, `live_connections` |
//! | `spotter_listener_lag_seconds` | histogram | (PostgreSQL) commit to this instance's hub |
//! | `spotter_listener_reconnects_total` | counter | (PostgreSQL) |
//! | `spotter_sqlite_writers_waiting` | gauge | (SQLite) changes queued for the one writer |
//!
//! One recorder per process (the `metrics` facade is global); a second
//! server in the same process (tests) shares it.

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sha2::{Digest, Sha256};
use std::{sync::OnceLock, time::Duration};

/// Seconds: 0.5 ms to 5 s.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The process's recorder, installed on first use.
pub fn recorder() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => Some(handle),
                Err(error) => {
                    tracing::warn!(%error, "metrics are off: no recorder");
                    None
                }
            }
        })
        .clone()
}

/// What `/metrics` needs: the recorder and the token's digest.
#[derive(Clone)]
pub struct Exporter {
    handle: PrometheusHandle,
    token: [u8; 32],
}

impl Exporter {
    /// The exporter, if a token is set and a recorder could be installed.
    pub fn new(token: Option<&str>) -> Option<Exporter> {
        let token = token.filter(|t| !t.is_empty())?;
        Some(Exporter {
            handle: recorder()?,
            token: Sha256::digest(token.as_bytes()).into(),
        })
    }

    /// Drains histogram samples into their buckets (call every few
    /// seconds; the exporter keeps unbounded samples otherwise).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Exporter")
    }
}

/// `GET /metrics`.
pub async fn page(State(exporter): State<Option<Exporter>>, headers: HeaderMap) -> Response {
    let Some(exporter) = exporter else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Digests compared, so the time taken says nothing about the token.
    let offered: [u8; 32] = Sha256::digest(offered.trim().as_bytes()).into();
    if offered != exporter.token {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "send Authorization: Bearer <SPOTTER_METRICS_TOKEN>",
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        exporter.handle.render(),
    )
        .into_response()
}

/// How a live connection reaches its client.
#[derive(Clone, Copy, Debug)]
pub enum Transport {
    /// A session's WebSocket.
    WebSocket,
    /// A dashboard's WebSocket.
    Dashboard,
    /// A session's event stream.
    EventStream,
}

impl Transport {
    fn label(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::Dashboard => "dashboard",
            Transport::EventStream => "sse",
        }
    }
}

/// Counts an open live connection while it lives.
#[derive(Debug)]
pub struct Open(Transport);

impl Open {
    /// One more open connection.
    pub fn new(transport: Transport) -> Open {
        gauge!("spotter_live_connections", "transport" => transport.label()).increment(1.0);
        Open(transport)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        gauge!("spotter_live_connections", "transport" => self.0.label()).decrement(1.0);
    }
}

/// Committed events handed to the bus.
pub fn events_published(count: usize) {
    counter!("spotter_events_published_total").increment(count as u64);
}

/// A frame written to a client.
pub fn frame_delivered(transport: Transport) {
    counter!("spotter_frames_delivered_total", "transport" => transport.label()).increment(1);
}

/// Events read back from the log for a (re)connecting client.
pub fn events_replayed(count: usize) {
    counter!("spotter_events_replayed_total").increment(count as u64);
}

/// A client asked to resume from past the log's end.
pub fn live_reset() {
    counter!("spotter_live_resets_total").increment(1);
}

/// A live connection started with the side's snapshot of its session.
pub fn live_snapshot() {
    counter!("spotter_live_snapshots_total").increment(1);
}

/// Why the server ended a connection.
#[derive(Clone, Copy, Debug)]
pub enum Dropped {
    /// More than the hub's buffer behind (close 4000).
    FellBehind,
    /// Sent nothing for two heartbeats (close 4008).
    Silent,
    /// Sent a message over the size limit (close 1009).
    TooBig,
    /// Read nothing for the write-stall deadline.
    StalledWrite,
    /// Sent no request head in time.
    HeaderTimeout,
}

/// The server ended a connection.
pub fn dropped(reason: Dropped) {
    let reason = match reason {
        Dropped::FellBehind => "fell_behind",
        Dropped::Silent => "silent",
        Dropped::TooBig => "too_big",
        Dropped::StalledWrite => "stalled_write",
        Dropped::HeaderTimeout => "header_timeout",
    };
    counter!("spotter_live_dropped_total", "reason" => reason).increment(1);
}

/// A server function answered after `took`.
pub fn action(function: &'static str, took: Duration) {
    histogram!("spotter_action_seconds", "function" => function).record(took.as_secs_f64());
}

/// An answer's status.
pub fn response(status: StatusCode) {
    let class = match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    counter!("spotter_http_responses_total", "class" => class).increment(1);
}

/// A request refused by a rate limit or the live-connection cap.
pub fn rate_limited(limit: &'static str) {
    counter!("spotter_rate_limited_total", "limit" => limit).increment(1);
}

/// An event reached this instance's hub `lag` after its commit.
pub fn listener_lag(lag: Duration) {
    histogram!("spotter_listener_lag_seconds").record(lag.as_secs_f64());
}

/// The PostgreSQL listener lost its connection.
pub fn listener_reconnect() {
    counter!("spotter_listener_reconnects_total").increment(1);
}

/// Actions waiting for the SQLite writer (or refused: see [`write_refused`]).
pub fn write_queue(waiting: usize) {
    gauge!("spotter_sqlite_writers_waiting").set(waiting as f64);
}

/// Actions in one SQLite commit.
pub fn write_batch(actions: usize) {
    histogram!("spotter_write_batch_actions").record(actions as f64);
}

/// An action refused because too many were waiting for the database (503).
pub fn write_refused() {
    counter!("spotter_write_refused_total").increment(1);
}
