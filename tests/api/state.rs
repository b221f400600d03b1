//! The live link carries the page's state: a side's `snapshot` frame plus
//! the events after it, applied with the one shared rule
//! (`SessionView::apply`), always equals a fresh snapshot; the athlete's
//! streams never carry anything about a draft. Random sessions (every
//! mutation a page can make, in random order) on both backends, over real
//! WebSockets and SSE.

use crate::helpers::{exercise, feedback, ExerciseRow, FeedbackRow};
use crate::{
    helpers::{spawn_app, Backend, Person, TestApp},
    live::Socket,
};
use futures::StreamExt;
use reqwest::{header, StatusCode};
use spotter::model::{
    live::{Frame, LiveEvent},
    state::Applied,
    RoundStatus, SessionStatus, SessionView, Side,
};
use spotter::model::{ExerciseInput, FeedbackInput};
use std::{collections::BTreeMap, time::Duration};
use tokio::sync::mpsc;
use tokio_tungstenite::{
    connect_async,
    tungstenite::{client::IntoClientRequest, Message},
};

crate::on_both_backends!(
    random_sessions_converge_on_the_fresh_snapshot,
    the_athlete_hears_nothing_of_drafts,
    a_snapshot_carries_a_thirty_exercise_round,
);

/// A small deterministic generator (xorshift64*): a failing seed is printed
/// and replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A live connection to `session` asking for the side's snapshot (`since`
/// and no snapshot: a replay).
async fn open(app: &TestApp, who: &Person, session: i64, since: i64, snapshot: bool) -> Socket {
    let url = format!(
        "{}/api/sessions/{session}/live?since={since}{}",
        app.address.replace("http://", "ws://"),
        if snapshot { "&snapshot=1" } else { "" }
    );
    let mut request = url.into_client_request().expect("valid request");
    request
        .headers_mut()
        .insert(header::COOKIE, who.cookie.parse().expect("cookie header"));
    connect_async(request)
        .await
        .expect("participant may listen")
        .0
}

/// Reads a socket as a browser does, all the time (answering the server's
/// pings, so an idle page is not dropped as silent), and hands on its
/// frames.
fn reader(mut socket: Socket) -> mpsc::UnboundedReceiver<Frame> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                let frame: Frame = serde_json::from_str(&text).expect("a protocol frame");
                if tx.send(frame).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// The next frame within `wait`, or None.
async fn frame_within(
    frames: &mut mpsc::UnboundedReceiver<Frame>,
    wait: Duration,
) -> Option<Frame> {
    tokio::time::timeout(wait, frames.recv()).await.ok()?
}

/// Every frame arriving within `wait` (heartbeats keep coming: a fixed
/// time, not "until quiet").
async fn frames_for(frames: &mut mpsc::UnboundedReceiver<Frame>, wait: Duration) -> Vec<Frame> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut got = Vec::new();
    while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, frames.recv()).await {
        got.push(frame);
    }
    got
}

/// A follower as a page is one: its view, built only from the frames.
struct Page {
    side: Side,
    frames: mpsc::UnboundedReceiver<Frame>,
    view: Option<SessionView>,
    /// Every event received, to check what this side was told.
    events: Vec<LiveEvent>,
}

impl Page {
    async fn open(app: &TestApp, who: &Person, side: Side, session: i64) -> Page {
        Page {
            side,
            frames: reader(open(app, who, session, 0, true).await),
            view: None,
            events: Vec::new(),
        }
    }

    /// A replaying follower that starts from a view it already has.
    async fn resume(app: &TestApp, who: &Person, side: Side, view: SessionView) -> Page {
        let socket = open(app, who, view.summary.id, view.summary.last_seq, false).await;
        Page {
            side,
            frames: reader(socket),
            view: Some(view),
            events: Vec::new(),
        }
    }

    fn take(&mut self, frame: Frame) {
        match frame {
            Frame::Snapshot { last_seq, view } => {
                assert_eq!(
                    view.summary.last_seq, last_seq,
                    "the frame's position is the view's"
                );
                assert_eq!(view.viewer, self.side);
                self.view = Some(*view);
            }
            Frame::Event(event) => {
                let view = self.view.as_mut().expect("a snapshot before any event");
                assert_eq!(view.apply(&event), Applied::Changed, "{event:?} applies");
                self.events.push(event);
            }
            Frame::Hello { version, .. } => assert_eq!(version, 2),
            _ => {}
        }
    }

    /// Reads frames until the view reaches `seq` (failing after 5 s).
    async fn catch_up(&mut self, seq: i64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while self.view.as_ref().is_none_or(|v| v.summary.last_seq < seq) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = frame_within(&mut self.frames, left)
                .await
                .unwrap_or_else(|| panic!("{:?} page did not reach seq {seq}", self.side));
            self.take(frame);
        }
    }

    /// Reads whatever arrives within `wait`.
    async fn drain(&mut self, wait: Duration) {
        for frame in frames_for(&mut self.frames, wait).await {
            self.take(frame);
        }
    }
}

/// The session as `who` sees it now, read over HTTP (`sessions/view`: the
/// same read as the snapshot frame).
async fn fresh(app: &TestApp, who: &Person, session: i64) -> SessionView {
    let response = app.view(who, session).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("session view")
}

/// Equal as pages show them: all but the server's clock reading.
fn same(mut a: SessionView, mut b: SessionView) -> Result<(), String> {
    a.now = 0;
    b.now = 0;
    if a == b {
        Ok(())
    } else {
        Err(format!("applied:\n{a:#?}\nfresh:\n{b:#?}"))
    }
}

const NAMES: [&str; 4] = ["Back squat", "Plank", "Row", "Bench press"];

/// 1-3 random exercise rows for the round builder.
fn rows(rng: &mut Rng) -> Vec<ExerciseInput> {
    (0..1 + rng.below(3))
        .map(|_| {
            let name = NAMES[rng.below(4) as usize].to_string();
            let sets = (1 + rng.below(3)).to_string();
            let reps = (1 + rng.below(10)).to_string();
            let (load, unit) = if rng.chance(50) {
                ((20 + rng.below(100)).to_string(), "kg".to_string())
            } else {
                (String::new(), String::new())
            };
            let rest = if rng.chance(50) { "60" } else { "" }.to_string();
            let notes = if rng.chance(30) { "Slow down" } else { "" }.to_string();
            exercise(&name)
                .sets(sets)
                .reps(reps)
                .load(load)
                .unit(unit)
                .rest(rest)
                .notes(notes)
        })
        .collect()
}

async fn save(app: &TestApp, trainer: &Person, session: i64, round_id: &str, rng: &mut Rng) {
    let rows = rows(rng);
    let action = if round_id.is_empty() && rng.chance(30) {
        "release"
    } else {
        ""
    };
    let is_final = rng.chance(15);
    app.save_round_with(trainer, session, round_id, &rows, is_final, action)
        .await;
}

/// One random mutation a page could make now (some are refused by the
/// rules, which must change nothing for either side).
async fn step(app: &TestApp, athlete: &Person, trainer: &Person, session: i64, rng: &mut Rng) {
    let view = fresh(app, trainer, session).await;
    let s = session.to_string();
    if view.summary.status == SessionStatus::Waiting {
        app.join(trainer, session).await;
        return;
    }
    let released = view.released_round().cloned();
    let draft = view.draft_round().cloned();
    let unseen = view.unacknowledged_pain().next().map(|p| p.id);
    match rng.below(12) {
        0 | 1 => match &draft {
            Some(d) => save(app, trainer, session, &d.id.to_string(), rng).await,
            None => save(app, trainer, session, "", rng).await,
        },
        2 => {
            if let Some(d) = &draft {
                // Refused while another round is open: changes nothing.
                app.round_call(trainer, "/api/rounds/release", session, d.id)
                    .await;
            }
        }
        3 => {
            let round = if rng.chance(50) { &draft } else { &released };
            if let Some(r) = round {
                app.round_call(trainer, "/api/rounds/delete", session, r.id)
                    .await;
            }
        }
        4..=7 => {
            if let Some(r) = &released {
                let exercise = rng.below(r.exercises.len() as u64);
                let sets = r.exercises[exercise as usize].sets.unwrap_or(1).max(1);
                let set = 1 + rng.below(u64::from(sets));
                let reps = (1 + rng.below(12)).to_string();
                let load = if rng.chance(50) { "62.5" } else { "" };
                let rpe = if rng.chance(50) { "8.5" } else { "" };
                app.call(
                    athlete,
                    "/api/sets/log",
                    &[
                        ("session_id", &s),
                        ("round_id", &r.id.to_string()),
                        ("revision", &r.revision.to_string()),
                        ("exercise", &exercise.to_string()),
                        ("set", &set.to_string()),
                        ("reps", &reps),
                        ("load", load),
                        ("rpe", rpe),
                    ],
                )
                .await;
            }
        }
        8 => {
            if let Some(r) = &released {
                if rng.chance(50) {
                    app.call(
                        athlete,
                        "/api/pain/report",
                        &[
                            ("session_id", &s),
                            ("round_id", &r.id.to_string()),
                            ("exercise", "0"),
                            ("set", ""),
                            ("note", "Left knee"),
                        ],
                    )
                    .await;
                } else {
                    save(app, trainer, session, &r.id.to_string(), rng).await;
                }
            }
        }
        9 => {
            if let Some(id) = unseen {
                app.call(
                    trainer,
                    "/api/pain/acknowledge",
                    &[("session_id", &s), ("report_id", &id.to_string())],
                )
                .await;
            }
        }
        10 => {
            if let Some(r) = &released {
                let rows: Vec<FeedbackInput> = r
                    .exercises
                    .iter()
                    .map(|_| {
                        let done = feedback()
                            .sets_done(3)
                            .reps_done(8)
                            .load_used(60)
                            .rpe(8)
                            .notes("Fine");
                        if rng.chance(20) {
                            done.pain()
                        } else {
                            done
                        }
                    })
                    .collect();
                app.complete(athlete, session, r.id, r.revision, &rows)
                    .await;
            }
        }
        _ if rng.chance(70) => {
            let who = if rng.chance(50) { athlete } else { trainer };
            let body = ["Ready", "Need more rest", "Drop to 90 kg"][rng.below(3) as usize];
            app.call(
                who,
                "/api/messages/send",
                &[("session_id", &s), ("body", body)],
            )
            .await;
        }
        _ if rng.chance(50) => {
            // Receipts, in any order: a message of the other side (an
            // older one sometimes: changes nothing), or the round opened.
            let (who, side) = if rng.chance(50) {
                (athlete, Side::Athlete)
            } else {
                (trainer, Side::Trainer)
            };
            let theirs: Vec<i64> = view
                .messages
                .iter()
                .filter(|m| m.by != side)
                .map(|m| m.id)
                .collect();
            if !theirs.is_empty() {
                let id = theirs[rng.below(theirs.len() as u64) as usize];
                app.call(
                    who,
                    "/api/messages/read",
                    &[("session_id", &s), ("message_id", &id.to_string())],
                )
                .await;
            }
            if let Some(r) = &released {
                let revision = 1 + rng.below(r.revision.max(1) as u64);
                app.call(
                    athlete,
                    "/api/rounds/opened",
                    &[
                        ("session_id", &s),
                        ("round_id", &r.id.to_string()),
                        ("revision", &revision.to_string()),
                    ],
                )
                .await;
            }
        }
        _ => {
            if rng.chance(8) {
                let who = if rng.chance(50) { athlete } else { trainer };
                app.call(
                    who,
                    "/api/sessions/cancel",
                    &[("session_id", &s), ("reason", "Gym closes")],
                )
                .await;
            }
        }
    }
}

/// For random sessions: both sides' pages (snapshot, then events) and a
/// page that joins halfway end up exactly where a fresh snapshot is; and a
/// replay from any earlier position applied to the view of that position
/// gets there too.
async fn random_sessions_converge_on_the_fresh_snapshot(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut all_kinds = std::collections::BTreeSet::new();
    for seed in [7u64, 1_234_567, 987_654_321_123] {
        let mut rng = Rng(seed);
        let athlete = app.person(&format!("Andy {seed}"), "athlete").await;
        let trainer = app.person(&format!("Tina {seed}"), "trainer").await;
        let session = app.start(&athlete, trainer.id).await;
        let mut pages = vec![
            Page::open(&app, &athlete, Side::Athlete, session).await,
            Page::open(&app, &trainer, Side::Trainer, session).await,
        ];
        // Each side's view at each position, for the replays below.
        let mut seen: [BTreeMap<i64, SessionView>; 2] = Default::default();
        for n in 0..60 {
            step(&app, &athlete, &trainer, session, &mut rng).await;
            for (i, who) in [&athlete, &trainer].into_iter().enumerate() {
                let view = fresh(&app, who, session).await;
                seen[i].insert(view.summary.last_seq, view);
            }
            if n == 30 {
                pages.push(Page::open(&app, &athlete, Side::Athlete, session).await);
                pages.push(Page::open(&app, &trainer, Side::Trainer, session).await);
            }
            if fresh(&app, &trainer, session)
                .await
                .summary
                .status
                .has_ended()
            {
                break;
            }
        }
        let finals = [
            fresh(&app, &athlete, session).await,
            fresh(&app, &trainer, session).await,
        ];
        for page in &mut pages {
            let want = &finals[page.side as usize];
            page.catch_up(want.summary.last_seq).await;
            let got = page.view.clone().expect("a view");
            if let Err(diff) = same(got, want.clone()) {
                panic!("seed {seed}, {:?}: {diff}", page.side);
            }
        }
        // Replays from three earlier positions of each side.
        for (i, (side, who)) in [(Side::Athlete, &athlete), (Side::Trainer, &trainer)]
            .into_iter()
            .enumerate()
        {
            let positions: Vec<i64> = seen[i].keys().copied().collect();
            for _ in 0..3 {
                let at = positions[rng.below(positions.len() as u64) as usize];
                let mut page = Page::resume(&app, who, side, seen[i][&at].clone()).await;
                page.catch_up(finals[i].summary.last_seq).await;
                if let Err(diff) = same(page.view.clone().expect("a view"), finals[i].clone()) {
                    panic!("seed {seed}, {side:?} replay from {at}: {diff}");
                }
            }
        }
        let kinds: Vec<&str> = pages[1].events.iter().map(LiveEvent::kind).collect();
        assert!(kinds.len() > 10, "seed {seed}: a real session ({kinds:?})");
        all_kinds.extend(kinds);
    }
    for kind in [
        "message-sent",
        "messages-read",
        "round-opened",
        "set-logged",
    ] {
        assert!(
            all_kinds.contains(kind),
            "the mix has {kind}: {all_kinds:?}"
        );
    }
}

/// Whether an event tells anything about a draft.
fn about_a_draft(event: &LiveEvent) -> bool {
    !event.event.visible_to(Side::Athlete)
}

/// A session with drafts saved, edited, deleted and released: the
/// athlete's WebSocket (snapshot and replay) and SSE streams carry no
/// draft event, and every position they report is one of the athlete's
/// own events.
async fn the_athlete_hears_nothing_of_drafts(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let mut live = Page::open(&app, &athlete, Side::Athlete, session).await;
    let squat = [exercise("Back squat")
        .sets(3)
        .reps(8)
        .load(80)
        .unit("kg")
        .rest(120)];
    let first = app.new_round(&trainer, session, &squat, false).await;
    for _ in 0..3 {
        app.save_round(&trainer, session, &first.to_string(), &squat, false)
            .await;
    }
    let scrap = app.new_round(&trainer, session, &squat, false).await;
    app.round_call(&trainer, "/api/rounds/delete", session, scrap)
        .await;
    let second = app.new_round(&trainer, session, &squat, false).await;
    app.release(&trainer, session, second).await;
    let next = app.new_round(&trainer, session, &squat, false).await;
    app.save_round(&trainer, session, &next.to_string(), &squat, false)
        .await;
    let want = fresh(&app, &athlete, session).await;
    assert!(
        want.rounds.iter().all(|r| r.status != RoundStatus::Draft),
        "no draft in the athlete's view"
    );
    live.catch_up(want.summary.last_seq).await;
    live.drain(Duration::from_millis(300)).await;
    // The replay from 0 to the end: the raw log as the athlete gets it.
    let replay = {
        let mut frames = reader(open(&app, &athlete, session, 0, false).await);
        let mut events = Vec::new();
        for frame in frames_for(&mut frames, Duration::from_millis(800)).await {
            match frame {
                Frame::Hello { last_seq, .. } => {
                    assert_eq!(
                        last_seq, want.summary.last_seq,
                        "hello: the athlete's position"
                    )
                }
                Frame::Event(e) => events.push(e),
                Frame::Heartbeat { last_seq, .. } => {
                    assert_eq!(
                        last_seq, want.summary.last_seq,
                        "heartbeat: the athlete's position"
                    )
                }
                _ => {}
            }
        }
        events
    };
    for event in live.events.iter().chain(&replay) {
        assert!(!about_a_draft(event), "the athlete got {event:?}");
    }
    let log_end: (i64,) = sqlx::query_as("SELECT last_seq FROM training_sessions WHERE id = $1")
        .bind(session)
        .fetch_one(&app.db.pool)
        .await
        .expect("log end");
    assert!(
        log_end.0 > want.summary.last_seq,
        "the log holds draft events"
    );
    assert_eq!(
        replay.last().map(|e| e.seq),
        Some(want.summary.last_seq),
        "the athlete's last event is the release"
    );
    // Server-Sent Events: the same.
    let response = athlete
        .client
        .get(format!(
            "{}/api/sessions/{session}/events?since=0&snapshot=1",
            app.address
        ))
        .send()
        .await
        .expect("sse");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let _ = tokio::time::timeout(Duration::from_millis(800), async {
        while let Some(Ok(chunk)) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(text.contains("event: snapshot"), "{text}");
    for line in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
        let frame: Frame = serde_json::from_str(line).expect("a frame");
        match frame {
            Frame::Event(e) => assert!(!about_a_draft(&e), "SSE: {e:?}"),
            Frame::Snapshot { view, .. } => {
                same(*view, want.clone()).expect("the SSE snapshot is the athlete's view")
            }
            _ => {}
        }
    }
}

/// The largest round there is (30 exercises with long notes) travels in
/// one snapshot frame and one event, and both equal what HTTP reads.
async fn a_snapshot_carries_a_thirty_exercise_round(backend: Backend) {
    let app = spawn_app(backend).await;
    let (athlete, trainer, session) = app.active_session().await;
    let mut page = Page::open(&app, &athlete, Side::Athlete, session).await;
    let notes = "n".repeat(spotter::model::NOTES_MAX_CHARS);
    let rows: Vec<ExerciseInput> = (0..spotter::model::EXERCISES_MAX)
        .map(|_| {
            exercise("Row")
                .sets(5)
                .reps(5)
                .load(60)
                .unit("kg")
                .rest(90)
                .notes(notes.as_str())
        })
        .collect();
    let round = app.new_round(&trainer, session, &rows, false).await;
    app.release(&trainer, session, round).await;
    let want = fresh(&app, &athlete, session).await;
    assert_eq!(
        want.rounds[0].exercises.len(),
        spotter::model::EXERCISES_MAX
    );
    page.catch_up(want.summary.last_seq).await;
    same(page.view.clone().expect("view"), want.clone()).expect("event applied");
    let mut again = Page::open(&app, &athlete, Side::Athlete, session).await;
    again.catch_up(want.summary.last_seq).await;
    same(again.view.clone().expect("view"), want).expect("snapshot");
}
