//! The live subscribers and the action driver.

use crate::{
    setup::{post, Fleet, SEQ_AFTER_SETUP},
    Args,
};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use spotter_protocol::{live::Frame, state::Applied, view::SessionView};
use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

/// Latencies are recorded in microseconds, up to a minute.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// What subscribers record while a phase is measured.
pub struct Recorder {
    pub end_to_end: Histogram<u64>,
    pub commit: Histogram<u64>,
    pub ssr_athlete: Histogram<u64>,
    pub ssr_trainer: Histogram<u64>,
    /// Deliveries per second since the bench started (for the chart).
    pub per_second: Vec<u64>,
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            end_to_end: histogram(),
            commit: histogram(),
            ssr_athlete: histogram(),
            ssr_trainer: histogram(),
            per_second: Vec::new(),
        }
    }
}

/// State shared by the driver and every subscriber.
struct Shared {
    started: Instant,
    /// Per session: when the action that produced seq `i` was sent
    /// (µs since `started`, 0 = unknown).
    sent: Vec<Mutex<Vec<u64>>>,
    recorder: Mutex<Recorder>,
    /// Events delivered (to any subscriber) since the bench started.
    delivered: AtomicU64,
    duplicates: AtomicU64,
    out_of_order: AtomicU64,
    /// Subscribers that have their (first or renewed) `hello`.
    connected: AtomicUsize,
    /// Connections that ended without the bench asking.
    dropped: AtomicU64,
    /// Text frames the protocol crate could not decode.
    undecodable: AtomicU64,
    /// Per session: tells its athlete's subscriber to send a `typing`
    /// frame (before the athlete's message).
    typing: Vec<tokio::sync::Notify>,
    /// `typing` frames sent, and relayed ones received (by trainers).
    typing_sent: AtomicU64,
    typing_seen: AtomicU64,
    /// Browser-like subscribers that read the whole session over HTTP
    /// (`sessions/view`) after every event, as pages did before the live
    /// link carried the state (`--refetch`).
    refetch: bool,
    /// Where and how subscribers refetch (`--refetch`).
    client: reqwest::Client,
}

impl Shared {
    fn micros(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }
}

/// One subscriber's tally, at the end.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub received: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub last_seq: i64,
    pub session: usize,
    /// The athlete's subscriber (not sent the trainer's drafts).
    pub athlete: bool,
}

/// A subscriber as it ended: its tally, and the view it built from the
/// frames alone (a snapshot, then each event applied), with what it
/// needs to read a fresh snapshot to compare.
pub struct Ended {
    tally: Tally,
    view: Option<SessionView>,
    url: String,
    cookie: String,
}

/// Loss, duplicates and reordering over every subscriber.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    /// Subscribers whose view, built from the frames, differs from a
    /// fresh snapshot of their side (or that have none).
    pub divergent: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub dropped: u64,
    pub undecodable: u64,
    /// `typing` frames athletes sent, and those trainers received (best
    /// effort: at most one per second per connection is relayed).
    pub typing_sent: u64,
    pub typing_seen: u64,
}

impl Totals {
    /// Nothing lost, duplicated, reordered or unreadable.
    pub fn clean(&self) -> bool {
        self.lost == 0
            && self.divergent == 0
            && self.duplicates == 0
            && self.out_of_order == 0
            && self.undecodable == 0
    }
}

/// One measured phase at one rate.
pub struct Phase {
    pub rate: u32,
    pub duration_s: f64,
    pub actions_ok: u64,
    pub actions_failed: u64,
    /// Actions the driver could not start in time (every session busy).
    pub behind: u64,
    pub delivered: u64,
    pub expected: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub recorder: Recorder,
    pub storm_resume_s: Option<f64>,
    pub rss_kb: Option<u64>,
}

/// Per-session driving state: which action comes next. A round goes
/// save, release, edit, then its three sets logged one by one (the most
/// frequent action in a real session), then complete; after the first
/// set the athlete writes a message (typing first: a `typing` frame on
/// their live connection) and the trainer's page sends its read receipt.
#[derive(Clone, Copy, Debug)]
enum Step {
    NewRound,
    Release { round: i64 },
    Edit { round: i64 },
    LogSet { round: i64, set: u32 },
    Message { round: i64 },
    Read { round: i64, message: i64 },
    Complete { round: i64 },
}

/// Sets per round (the exercise the bench prescribes has 3).
const SETS: u32 = 3;

#[derive(Clone, Copy, Debug)]
struct Driven {
    index: usize,
    step: Step,
    /// The session's last committed seq.
    seq: i64,
    /// New rounds saved (each a draft's event the athlete is not sent).
    drafts: i64,
}

/// The live connections, and the driver's view of each session.
pub struct Live {
    shared: Arc<Shared>,
    storm: watch::Sender<u64>,
    stop: watch::Sender<bool>,
    subscribers: Vec<tokio::task::JoinHandle<Ended>>,
    driven: Mutex<Vec<Driven>>,
    pub connected_in: Duration,
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl Live {
    /// Opens both subscribers of every session and waits for every `hello`.
    pub async fn connect(args: &Args, fleet: &Fleet) -> Result<Live, String> {
        let shared = Arc::new(Shared {
            started: Instant::now(),
            sent: (0..fleet.sessions.len())
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
            recorder: Mutex::new(Recorder::new()),
            delivered: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            out_of_order: AtomicU64::new(0),
            connected: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            undecodable: AtomicU64::new(0),
            typing: fleet
                .sessions
                .iter()
                .map(|_| tokio::sync::Notify::new())
                .collect(),
            typing_sent: AtomicU64::new(0),
            typing_seen: AtomicU64::new(0),
            refetch: args.refetch,
            client: fleet.client.clone(),
        });
        let (storm, _) = watch::channel(0u64);
        let (stop, _) = watch::channel(false);
        let started = Instant::now();
        let mut subscribers = Vec::with_capacity(fleet.sessions.len() * 2);
        for (index, session) in fleet.sessions.iter().enumerate() {
            for side in 0..2 {
                let n = index * 2 + side;
                let url = fleet.urls[n % fleet.urls.len()].replacen("http://", "ws://", 1);
                let cookie = if side == 0 {
                    fleet.athletes[session.athlete].cookie.clone()
                } else {
                    fleet.trainers[session.trainer].cookie.clone()
                };
                subscribers.push(tokio::spawn(subscribe(
                    shared.clone(),
                    format!("{url}/api/sessions/{}/live", session.id),
                    cookie,
                    index,
                    side == 0,
                    storm.subscribe(),
                    stop.subscribe(),
                )));
            }
            // Do not open thousands of connections in the same instant.
            if index % 64 == 63 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let total = subscribers.len();
        let deadline = Instant::now() + Duration::from_secs(120);
        while shared.connected.load(Ordering::SeqCst) < total {
            if Instant::now() > deadline {
                return Err(format!(
                    "only {} of {total} subscribers connected within 120 s",
                    shared.connected.load(Ordering::SeqCst)
                ));
            }
            if subscribers.iter().any(|s| s.is_finished()) {
                return Err("a subscriber could not connect (see above)".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let connected_in = started.elapsed();
        eprintln!(
            "spotter-bench: {total} subscribers connected in {:.2} s",
            connected_in.as_secs_f64()
        );
        let driven = (0..fleet.sessions.len())
            .map(|index| Driven {
                index,
                step: Step::NewRound,
                seq: SEQ_AFTER_SETUP,
                drafts: 0,
            })
            .collect();
        Ok(Live {
            shared,
            storm,
            stop,
            subscribers,
            driven: Mutex::new(driven),
            connected_in,
        })
    }

    /// Drives actions at `rate` for the configured duration, measuring
    /// every delivery; with `storm`, drops and reconnects every subscriber
    /// halfway through.
    pub async fn phase(&self, args: &Args, fleet: &Fleet, rate: u32, storm: bool) -> Phase {
        {
            // A fresh recorder for this phase; the timeline goes on.
            let mut recorder = self.shared.recorder.lock().unwrap();
            let per_second = std::mem::take(&mut recorder.per_second);
            *recorder = Recorder {
                per_second,
                ..Recorder::new()
            };
        }
        let delivered_before = self.shared.delivered.load(Ordering::SeqCst);
        let duplicates_before = self.shared.duplicates.load(Ordering::SeqCst);
        let out_of_order_before = self.shared.out_of_order.load(Ordering::SeqCst);
        let subscribers = self.subscribers.len() as u64;
        let duration = Duration::from_secs(args.duration);

        let (idle_tx, mut idle_rx) = mpsc::unbounded_channel::<Driven>();
        let sessions = std::mem::take(&mut *self.driven.lock().unwrap());
        let total_sessions = sessions.len();
        for driven in sessions {
            let _ = idle_tx.send(driven);
        }
        let ok = Arc::new(AtomicU64::new(0));
        let drafts = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let probing = Arc::new(AtomicBool::new(true));
        let pages = if args.no_probe {
            Vec::new()
        } else {
            fleet_pages(fleet)
        };
        let probe = tokio::spawn(probe_pages(self.shared.clone(), pages, probing.clone()));

        let started = Instant::now();
        let mut issued: u64 = 0;
        let mut behind: u64 = 0;
        let mut storm_at = storm.then(|| started + duration / 2);
        let mut storm_started: Option<Instant> = None;
        let mut storm_resume_s = None;
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut rss_kb = None;
        let mut rss_read = false;
        while started.elapsed() < duration {
            tick.tick().await;
            let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
            while issued < due {
                let Ok(driven) = idle_rx.try_recv() else {
                    behind += due - issued;
                    issued = due;
                    break;
                };
                issued += 1;
                tokio::spawn(act(
                    self.shared.clone(),
                    fleet.client.clone(),
                    fleet.action_url(driven.index).to_string(),
                    fleet_cookies(fleet, driven.index),
                    fleet.sessions[driven.index].id,
                    driven,
                    idle_tx.clone(),
                    [ok.clone(), drafts.clone()],
                    failed.clone(),
                ));
            }
            if !rss_read && started.elapsed() > duration * 3 / 4 {
                rss_kb = crate::system::rss_kb(&args.server_pids);
                rss_read = true;
            }
            if storm_at.is_some_and(|at| Instant::now() >= at) {
                storm_at = None;
                self.shared.connected.store(0, Ordering::SeqCst);
                storm_started = Some(Instant::now());
                self.storm.send_modify(|n| *n += 1);
            }
            if let Some(since) = storm_started {
                if self.shared.connected.load(Ordering::SeqCst) as u64 >= subscribers {
                    storm_resume_s = Some(since.elapsed().as_secs_f64());
                    storm_started = None;
                }
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        probing.store(false, Ordering::SeqCst);
        // Wait for the actions in flight, then for their deliveries.
        let mut back = Vec::with_capacity(total_sessions);
        let deadline = Instant::now() + Duration::from_secs(30);
        while back.len() < total_sessions && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_millis(100), idle_rx.recv()).await {
                Ok(Some(driven)) => back.push(driven),
                _ => continue,
            }
        }
        if let Some(since) = storm_started {
            // The storm started late in the phase: wait for it to finish.
            while (self.shared.connected.load(Ordering::SeqCst) as u64) < subscribers
                && since.elapsed() < Duration::from_secs(60)
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if self.shared.connected.load(Ordering::SeqCst) as u64 >= subscribers {
                storm_resume_s = Some(since.elapsed().as_secs_f64());
            }
        }
        let ok = ok.load(Ordering::SeqCst);
        // Each event goes to both subscribers of its session, but a new
        // round's (a draft's) only to the trainer's.
        let expected = ok * 2 - drafts.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.shared.delivered.load(Ordering::SeqCst) - delivered_before < expected
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Anything more (duplicates) would show up right after.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = probe.await;
        *self.driven.lock().unwrap() = back;
        let recorder = {
            let mut recorder = self.shared.recorder.lock().unwrap();
            let per_second = recorder.per_second.clone();
            std::mem::replace(
                &mut *recorder,
                Recorder {
                    per_second,
                    ..Recorder::new()
                },
            )
        };
        Phase {
            rate,
            duration_s: elapsed,
            actions_ok: ok,
            actions_failed: failed.load(Ordering::SeqCst),
            behind,
            delivered: self.shared.delivered.load(Ordering::SeqCst) - delivered_before,
            expected,
            duplicates: self.shared.duplicates.load(Ordering::SeqCst) - duplicates_before,
            out_of_order: self.shared.out_of_order.load(Ordering::SeqCst) - out_of_order_before,
            recorder,
            storm_resume_s,
            rss_kb,
        }
    }

    /// Closes every subscriber and counts what each received against what
    /// its session's log holds.
    pub async fn finish(self, fleet: &Fleet) -> Totals {
        let _ = self.stop.send(true);
        // Per session: (last seq, drafts' events).
        let final_seq: Vec<(i64, i64)> = {
            let mut seqs = vec![(SEQ_AFTER_SETUP, 0); fleet.sessions.len()];
            for driven in self.driven.lock().unwrap().iter() {
                seqs[driven.index] = (driven.seq, driven.drafts);
            }
            seqs
        };
        let mut totals = Totals {
            dropped: self.shared.dropped.load(Ordering::SeqCst),
            undecodable: self.shared.undecodable.load(Ordering::SeqCst),
            typing_sent: self.shared.typing_sent.load(Ordering::SeqCst),
            typing_seen: self.shared.typing_seen.load(Ordering::SeqCst),
            ..Totals::default()
        };
        let mut ended = Vec::with_capacity(self.subscribers.len());
        for handle in self.subscribers {
            let Ok(end) = handle.await else { continue };
            let tally = end.tally;
            let (last, drafts) = final_seq[tally.session];
            let hidden = if tally.athlete { drafts } else { 0 };
            let expected = (last - SEQ_AFTER_SETUP - hidden).max(0) as u64;
            totals.expected += expected;
            totals.delivered += tally.received;
            totals.duplicates += tally.duplicates;
            totals.out_of_order += tally.out_of_order;
            ended.push(end);
        }
        // What each subscriber built from the frames must be exactly what
        // a fresh snapshot of its side says now (a few at a time).
        let divergent = futures::stream::iter(ended)
            .map(|end| async move {
                match (end.view, fresh_view(&end.url, &end.cookie).await) {
                    (Some(mut built), Some(mut fresh)) => {
                        built.now = 0;
                        fresh.now = 0;
                        built != fresh
                    }
                    _ => true,
                }
            })
            .buffer_unordered(64)
            .filter(|divergent| std::future::ready(*divergent))
            .count()
            .await;
        totals.divergent = divergent as u64;
        totals.lost = totals.divergent;
        totals
    }
}

/// A fresh snapshot of a session as the cookie's side sees it, read the
/// way a page reads one (a new live connection's `snapshot` frame).
async fn fresh_view(url: &str, cookie: &str) -> Option<SessionView> {
    let mut request = format!("{url}?snapshot=1").into_client_request().ok()?;
    request.headers_mut().insert("cookie", cookie.parse().ok()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.ok()?;
    let view = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                if let Ok(Frame::Snapshot { view, .. }) = serde_json::from_str::<Frame>(&text) {
                    return Some(*view);
                }
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    let _ = socket.close(None).await;
    view
}

fn fleet_cookies(fleet: &Fleet, index: usize) -> [String; 2] {
    let session = &fleet.sessions[index];
    [
        fleet.athletes[session.athlete].cookie.clone(),
        fleet.trainers[session.trainer].cookie.clone(),
    ]
}

/// The athlete and trainer pages of a few sessions, with their cookies.
fn fleet_pages(fleet: &Fleet) -> Vec<(String, String, String, reqwest::Client)> {
    fleet
        .sessions
        .iter()
        .enumerate()
        .take(16)
        .map(|(index, session)| {
            let [athlete, trainer] = fleet_cookies(fleet, index);
            let url = fleet.action_url(index);
            (
                format!("{url}/sessions/{}", session.id),
                athlete,
                trainer,
                fleet.client.clone(),
            )
        })
        .collect()
}

/// While `probing`, renders an athlete page and a trainer page every
/// 100 ms and records how long the server took (SSR under load).
async fn probe_pages(
    shared: Arc<Shared>,
    pages: Vec<(String, String, String, reqwest::Client)>,
    probing: Arc<AtomicBool>,
) {
    let mut n = 0;
    while probing.load(Ordering::SeqCst) && !pages.is_empty() {
        let (url, athlete, trainer, client) = &pages[n % pages.len()];
        n += 1;
        for (path, cookie, trainer_side) in [
            (url.clone(), athlete, false),
            (format!("{url}/trainer"), trainer, true),
        ] {
            let started = Instant::now();
            let response = client
                .get(&path)
                .header("cookie", cookie.as_str())
                .header("accept", "text/html")
                .send()
                .await;
            let ok = match response {
                Ok(response) if response.status().is_success() => response.bytes().await.is_ok(),
                _ => false,
            };
            if ok {
                let micros = started.elapsed().as_micros() as u64;
                let mut recorder = shared.recorder.lock().unwrap();
                let histogram = if trainer_side {
                    &mut recorder.ssr_trainer
                } else {
                    &mut recorder.ssr_athlete
                };
                let _ = histogram.record(micros.max(1));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Performs one session's next action; each commits exactly one event.
#[allow(clippy::too_many_arguments)]
async fn act(
    shared: Arc<Shared>,
    client: reqwest::Client,
    url: String,
    [athlete, trainer]: [String; 2],
    session_id: i64,
    mut driven: Driven,
    idle: mpsc::UnboundedSender<Driven>,
    [ok, drafts]: [Arc<AtomicU64>; 2],
    failed: Arc<AtomicU64>,
) {
    let seq = driven.seq + 1;
    let session = session_id.to_string();
    let exercise = |reps: &str| {
        vec![
            ("session_id", session.clone()),
            ("exercises[0][name]", "Back squat".to_string()),
            ("exercises[0][sets]", "3".to_string()),
            ("exercises[0][reps]", reps.to_string()),
            ("exercises[0][load]", "80".to_string()),
            ("exercises[0][load_unit]", "kg".to_string()),
            ("exercises[0][duration_s]", String::new()),
            ("exercises[0][rest_s]", "120".to_string()),
            ("exercises[0][notes]", String::new()),
        ]
    };
    let (path, cookie, form) = match driven.step {
        Step::NewRound => {
            let mut form = exercise("8");
            form.push(("round_id", String::new()));
            ("/api/rounds/save", &trainer, form)
        }
        Step::Release { round } => (
            "/api/rounds/release",
            &trainer,
            vec![
                ("session_id", session.clone()),
                ("round_id", round.to_string()),
            ],
        ),
        Step::Edit { round } => {
            let mut form = exercise("6");
            form.push(("round_id", round.to_string()));
            ("/api/rounds/save", &trainer, form)
        }
        Step::LogSet { round, set } => (
            "/api/sets/log",
            &athlete,
            vec![
                ("session_id", session.clone()),
                ("round_id", round.to_string()),
                ("revision", "2".to_string()),
                ("exercise", "0".to_string()),
                ("set", set.to_string()),
                ("reps", "6".to_string()),
                ("load", "80".to_string()),
                ("rpe", "8".to_string()),
            ],
        ),
        Step::Message { .. } => {
            // The athlete types, then sends.
            shared.typing[driven.index].notify_one();
            (
                "/api/messages/send",
                &athlete,
                vec![
                    ("session_id", session.clone()),
                    ("body", "Need more rest".to_string()),
                ],
            )
        }
        Step::Read { message, .. } => (
            "/api/messages/read",
            &trainer,
            vec![
                ("session_id", session.clone()),
                ("message_id", message.to_string()),
            ],
        ),
        Step::Complete { round } => (
            "/api/rounds/complete",
            &athlete,
            vec![
                ("session_id", session.clone()),
                ("round_id", round.to_string()),
                // New → 1, release keeps it, one edit → 2.
                ("revision", "2".to_string()),
                ("feedback[0][sets_done]", "3".to_string()),
                ("feedback[0][reps_done]", "6".to_string()),
                ("feedback[0][load_used]", "80".to_string()),
                ("feedback[0][rpe]", "8".to_string()),
                ("feedback[0][notes]", String::new()),
            ],
        ),
    };
    {
        let mut sent = shared.sent[driven.index].lock().unwrap();
        let at = seq as usize;
        if sent.len() <= at {
            sent.resize(at + 1, 0);
        }
        sent[at] = shared.micros();
    }
    let response = post(&client, &url, path, Some(cookie), &form).await;
    let body = match response {
        Ok(response) if response.status().is_success() => response.text().await.ok(),
        Ok(response) => {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            if failed.load(Ordering::SeqCst) < 5 {
                eprintln!("spotter-bench: {path} answered {status}: {text}");
            }
            None
        }
        Err(e) => {
            if failed.load(Ordering::SeqCst) < 5 {
                eprintln!("spotter-bench: {e}");
            }
            None
        }
    };
    match body {
        Some(body) => {
            driven.seq = seq;
            if matches!(driven.step, Step::NewRound) {
                drafts.fetch_add(1, Ordering::SeqCst);
                driven.drafts += 1;
            }
            driven.step = match driven.step {
                Step::NewRound => Step::Release {
                    round: body.trim().parse().unwrap_or_default(),
                },
                Step::Release { round } => Step::Edit { round },
                Step::Edit { round } => Step::LogSet { round, set: 1 },
                Step::LogSet { round, set: 1 } => Step::Message { round },
                Step::Message { round } => Step::Read {
                    round,
                    message: body.trim().parse().unwrap_or_default(),
                },
                Step::Read { round, .. } => Step::LogSet { round, set: 2 },
                Step::LogSet { round, set } if set < SETS => Step::LogSet {
                    round,
                    set: set + 1,
                },
                Step::LogSet { round, .. } => Step::Complete { round },
                Step::Complete { .. } => Step::NewRound,
            };
            ok.fetch_add(1, Ordering::SeqCst);
        }
        None => {
            failed.fetch_add(1, Ordering::SeqCst);
        }
    }
    let _ = idle.send(driven);
}

/// One live subscriber, as a page is one: connects with `snapshot=1`,
/// keeps the session's view by applying every event to the snapshot (the
/// protocol crate's `SessionView::apply`), times each event from the
/// action to "the view is updated", reconnects on every storm (and gets a
/// new snapshot), until told to stop. With `--refetch` it behaves like the
/// pages before: after each event it reads the whole session over HTTP
/// (`sessions/view`), and the view is updated when that answer is in.
async fn subscribe(
    shared: Arc<Shared>,
    url: String,
    cookie: String,
    session: usize,
    athlete: bool,
    mut storm: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
) -> Ended {
    let mut tally = Tally {
        last_seq: SEQ_AFTER_SETUP,
        session,
        athlete,
        ..Tally::default()
    };
    let mut view: Option<SessionView> = None;
    let mut attempts = 0;
    let done = |tally, view| Ended {
        tally,
        view,
        url: url.clone(),
        cookie: cookie.clone(),
    };
    loop {
        let live = format!("{url}?since={}&snapshot=1", tally.last_seq);
        let mut request = match live.into_client_request() {
            Ok(request) => request,
            Err(e) => {
                eprintln!("spotter-bench: bad live URL {url}: {e}");
                return done(tally, view);
            }
        };
        if let Ok(value) = cookie.parse() {
            request.headers_mut().insert("cookie", value);
        }
        let mut socket = match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => socket,
            Err(e) => {
                attempts += 1;
                if attempts >= 50 {
                    eprintln!("spotter-bench: cannot connect to {url}: {e}");
                    return done(tally, view);
                }
                tokio::time::sleep(Duration::from_millis(20 * attempts)).await;
                continue;
            }
        };
        attempts = 0;
        let mut said_hello = false;
        let reason = loop {
            tokio::select! {
                message = socket.next() => {
                    let text = match message {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(_)) => continue,
                        None | Some(Err(_)) => break "dropped",
                    };
                    // Decoded as the protocol defines it: a frame or event
                    // the protocol crate cannot read is counted, not skipped.
                    let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
                        shared.undecodable.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    match frame {
                        Frame::Hello { .. } => {}
                        Frame::Typing { .. } => {
                            shared.typing_seen.fetch_add(1, Ordering::Relaxed);
                        }
                        Frame::Snapshot { view: snapshot, .. } => {
                            tally.last_seq = tally.last_seq.max(snapshot.summary.last_seq);
                            view = Some(*snapshot);
                            if !said_hello {
                                said_hello = true;
                                shared.connected.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        Frame::Event(event) => {
                            let applied = view.as_mut().map(|v| v.apply(&event));
                            match applied {
                                Some(Applied::Changed) => {
                                    // A trainer is sent every event; an
                                    // athlete's have gaps (the drafts).
                                    let next = event.seq == tally.last_seq + 1;
                                    if shared.refetch {
                                        refetch(&shared, &url, &cookie, view.as_ref()).await;
                                    }
                                    record(&shared, &mut tally, event.seq, event.at, athlete || next);
                                }
                                Some(Applied::Stale) => {
                                    tally.duplicates += 1;
                                    shared.duplicates.fetch_add(1, Ordering::Relaxed);
                                }
                                // A draft's event sent to an athlete, or an
                                // event before any snapshot: the protocol
                                // broken.
                                Some(Applied::NotShown) | None => {
                                    tally.out_of_order += 1;
                                    shared.out_of_order.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                () = shared.typing[session].notified(), if athlete => {
                    if socket.send(Message::Text(r#"{"type":"typing"}"#.into())).await.is_ok() {
                        shared.typing_sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
                _ = storm.changed() => break "storm",
                _ = stop.changed() => break "stop",
            }
        };
        match reason {
            "stop" => {
                let _ = socket.close(None).await;
                return done(tally, view);
            }
            "storm" => {
                // Everyone drops at once, like a network blip in the gym.
                drop(socket);
            }
            _ => {
                shared.dropped.fetch_add(1, Ordering::SeqCst);
                if said_hello {
                    shared.connected.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }
}

/// What a page did on every live event before the link carried the
/// state: read the whole session again over HTTP.
async fn refetch(shared: &Shared, live_url: &str, cookie: &str, view: Option<&SessionView>) {
    let Some(view) = view else { return };
    // ws://host/api/sessions/7/live -> http://host/api/sessions/view
    let Some(base) = live_url.split("/api/").next() else {
        return;
    };
    let base = base.replacen("ws://", "http://", 1);
    let form = [("session_id", view.summary.id.to_string())];
    if let Ok(response) = post(
        &shared.client,
        &base,
        "/api/sessions/view",
        Some(cookie),
        &form,
    )
    .await
    {
        let _ = response.bytes().await;
    }
}

/// Counts and times one event applied to a subscriber's view (`in_order`:
/// the next seq, or a gap the side is allowed to have).
fn record(shared: &Shared, tally: &mut Tally, seq: i64, at: i64, in_order: bool) {
    let now = shared.micros();
    tally.received += 1;
    shared.delivered.fetch_add(1, Ordering::Relaxed);
    if !in_order {
        tally.out_of_order += 1;
        shared.out_of_order.fetch_add(1, Ordering::Relaxed);
    }
    tally.last_seq = seq;
    let sent = shared.sent[tally.session]
        .lock()
        .unwrap()
        .get(seq as usize)
        .copied()
        .unwrap_or(0);
    let commit_micros = ((wall_ms() - at).max(0) as u64) * 1000;
    let second = (now / 1_000_000) as usize;
    let mut recorder = shared.recorder.lock().unwrap();
    if recorder.per_second.len() <= second {
        recorder.per_second.resize(second + 1, 0);
    }
    recorder.per_second[second] += 1;
    if sent > 0 && now >= sent {
        let _ = recorder.end_to_end.record((now - sent).max(1));
    }
    let _ = recorder.commit.record(commit_micros.max(1));
}
