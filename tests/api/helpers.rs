//! `spawn_app()` and the helpers tests use to talk to it.

use leptos::server_fn::ServerFn;
use reqwest::{header, redirect::Policy, Client, Response, StatusCode};
use serde::Serialize;
use spotter::{
    api::{
        rounds::{CompleteRound, ReleaseRound, SaveRound},
        sets::LogSet,
    },
    error::AppError,
    model::{ExerciseInput, FeedbackInput, User},
    server::{
        config::{leptos_options, Config},
        db::Database,
        live::Bus,
        startup,
        training::Writer,
    },
};
use sqlx::{any::install_default_drivers, AnyPool, Executor};
use std::sync::atomic::{AtomicU32, Ordering};

/// Which database a test runs against.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on. README command 2
/// (scripts/test.sh) makes sure it is running.
pub fn postgres_admin_url() -> String {
    std::env::var("SPOTTER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Generates a `sqlite` and a `postgres` test for each named async fn
/// taking a [`Backend`]. Each fails after 90 s rather than hang CI.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::helpers::within_time(super::$name($crate::helpers::Backend::Sqlite)).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::helpers::within_time(super::$name($crate::helpers::Backend::Postgres)).await
                }
            )*
        }
    };
}

/// Runs a test body, failing it if it takes more than 90 seconds.
pub async fn within_time(test: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(std::time::Duration::from_secs(90), test)
        .await
        .expect("the test finished within 90 s")
}

/// A running spotter with its own database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The app's database, for asserting what was (not) stored.
    pub db: Database,
    /// Its bus (hub and presence), for asserting who is connected.
    pub bus: Bus,
    /// Its writer (queue depth, SQLite commits); `None` for another process.
    pub writer: Option<Writer>,
    /// A client with its own cookie jar that does not follow redirects.
    pub client: Client,
    _cleanup: Option<Cleanup>,
}

/// Removes a test database when dropped.
pub enum Cleanup {
    SqliteDir(std::path::PathBuf),
    PostgresDb(String),
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::SqliteDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PostgresDb(name) => {
                let name = name.clone();
                // Drop runs inside the test's runtime; use a thread of our own.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(runtime) = runtime {
                        runtime.block_on(async {
                            if let Ok(pool) = AnyPool::connect(&postgres_admin_url()).await {
                                let _ = pool
                                    .execute(
                                        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")
                                            .as_str(),
                                    )
                                    .await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "spotter_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A fresh database URL (created and cleaned up by the returned guard).
pub async fn fresh_database(backend: Backend) -> (String, Cleanup) {
    install_default_drivers();
    let name = unique_name();
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(&name);
            std::fs::create_dir_all(&dir).expect("create a temp dir for SQLite");
            let url = format!("sqlite://{}/spotter.db?mode=rwc", dir.display());
            (url, Cleanup::SqliteDir(dir))
        }
        Backend::Postgres => {
            let admin = postgres_admin_url();
            let pool = AnyPool::connect(&admin).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL tests need a server at {admin} (set SPOTTER_TEST_POSTGRES_URL; \
                     scripts/test.sh starts the local one): {e}"
                )
            });
            pool.execute(format!("CREATE DATABASE \"{name}\"").as_str())
                .await
                .expect("create a test database");
            pool.close().await;
            let base = admin
                .rsplit_once('/')
                .map(|(base, _)| base)
                .unwrap_or(&admin);
            (format!("{base}/{name}"), Cleanup::PostgresDb(name))
        }
    }
}

/// Starts the real router on 127.0.0.1:0 with a fresh, migrated database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// [`spawn_app`] with the test configuration changed by `adjust`.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    // Server errors show up in a failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("warn")
        .try_init();
    let (url, cleanup) = fresh_database(backend).await;
    let leptos_options = leptos_options("Leptos.toml").expect("read Leptos.toml");
    let mut config = Config {
        // Short, so the heartbeat tests take a second, not thirty.
        heartbeat: std::time::Duration::from_millis(300),
        instance: "test".into(),
        // Tests register and act far faster than people; the limits have
        // their own tests (hostile.rs), which set them.
        rate_limits: None,
        ..Config::with_defaults(leptos_options, &url)
    };
    adjust(&mut config);
    // The same startup as `main`: database, bus (and its listener on
    // PostgreSQL), state, router.
    let app = startup::build(&config).await.expect("start spotter");
    assert!(app.is_new, "a fresh database reports itself as new");
    let (db, bus) = (app.state.db.clone(), app.state.bus.clone());
    let writer = Some(app.state.writer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let address = format!("http://{}", listener.local_addr().expect("local addr"));
    tokio::spawn(async move {
        app.serve(listener, std::future::pending())
            .await
            .expect("server runs");
    });
    TestApp {
        address,
        client: new_client(),
        db,
        bus,
        writer,
        _cleanup: Some(cleanup),
    }
}

impl TestApp {
    /// Talks to a spotter running elsewhere (another process) on `db`'s
    /// database; the caller keeps the database's cleanup guard.
    pub fn remote(address: String, db: Database) -> TestApp {
        TestApp {
            address,
            db,
            // Not the other process's: nothing is connected to this one.
            bus: Bus::local(),
            writer: None,
            client: new_client(),
            _cleanup: None,
        }
    }
}

/// A browser-like client: its own cookie jar, redirects not followed so tests
/// can assert them.
pub fn new_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        // A hung request fails the test at that request instead of hanging.
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("build HTTP client")
}

impl TestApp {
    /// POSTs a form to a server function the way the hydrated app does.
    pub async fn post_form(&self, client: &Client, path: &str, form: &[(&str, &str)]) -> Response {
        client
            .post(format!("{}{path}", self.address))
            .header(header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"))
    }

    /// Registers through `/api/register` with the default client.
    pub async fn register(&self, name: &str, email: &str, password: &str, role: &str) -> Response {
        self.register_with(&self.client, name, email, password, role)
            .await
    }

    /// Registers with a given client (its own cookie jar).
    pub async fn register_with(
        &self,
        client: &Client,
        name: &str,
        email: &str,
        password: &str,
        role: &str,
    ) -> Response {
        self.post_form(
            client,
            "/api/register",
            &[
                ("display_name", name),
                ("email", email),
                ("password", password),
                ("role", role),
            ],
        )
        .await
    }

    /// Logs in through `/api/login`.
    pub async fn login_with(&self, client: &Client, email: &str, password: &str) -> Response {
        self.post_form(
            client,
            "/api/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Who `/api/me` says the client is.
    pub async fn me(&self, client: &Client) -> Option<User> {
        let response = self.post_form(client, "/api/me", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("me answers JSON")
    }

    /// GETs a page as a browser navigation.
    pub async fn get_page(&self, client: &Client, path: &str) -> Response {
        client
            .get(format!("{}{path}", self.address))
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"))
    }

    /// Number of rows in `table`.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.db.pool)
            .await
            .expect("count rows")
    }
}

/// Starts the server binary (a separate process, so a test can kill it)
/// against `url` on a port of its choosing, with `env` set; returns it and
/// its address once it listens. Its log lines go to the test's output,
/// prefixed with `name`.
pub async fn start_binary(
    url: &str,
    name: &'static str,
    env: &[(&str, &str)],
) -> (tokio::process::Child, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_spotter"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", url)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("SPOTTER_DEMO", "0")
        .env("SPOTTER_INSTANCE", name)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the spotter binary");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let address = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(rest) = line.strip_prefix("spotter is listening on ") {
                return rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
        }
        panic!("instance {name} exited before listening");
    })
    .await
    .expect("the instance listens within 30 s");
    // Keep reading, so its log output never fills the pipe.
    tokio::spawn(async move {
        while let Ok(Some(l)) = lines.next_line().await {
            eprintln!("[{name}] {l}");
        }
    });
    (child, address)
}

/// An exercise row of the round builder, field by field, as a trainer
/// types it: `exercise("Back squat").sets(3).reps(8).load(80).unit("kg")`.
/// Every value is text (a test types anything a person can).
pub fn exercise(name: &str) -> ExerciseInput {
    ExerciseInput {
        name: name.into(),
        ..ExerciseInput::default()
    }
}

/// The usual first exercise: a back squat, 3 × 8 at 80 kg, 120 s rest.
pub fn squat() -> ExerciseInput {
    exercise("Back squat")
        .sets(3)
        .reps(8)
        .load(80)
        .unit("kg")
        .rest(120)
}

/// A timed exercise: a 45 s plank, no sets prescribed (one to log).
pub fn plank() -> ExerciseInput {
    exercise("Plank").duration(45)
}

/// The builder methods of [`exercise`].
pub trait ExerciseRow: Sized {
    fn sets(self, value: impl ToString) -> Self;
    fn reps(self, value: impl ToString) -> Self;
    fn load(self, value: impl ToString) -> Self;
    fn unit(self, value: impl ToString) -> Self;
    fn duration(self, value: impl ToString) -> Self;
    fn rest(self, value: impl ToString) -> Self;
    fn notes(self, value: impl ToString) -> Self;
}

/// Sets one text field of a builder's value.
macro_rules! setters {
    ($($method:ident => $field:ident),* $(,)?) => {$(
        fn $method(mut self, value: impl ToString) -> Self {
            self.$field = value.to_string();
            self
        }
    )*};
}

impl ExerciseRow for ExerciseInput {
    setters! {
        sets => sets,
        reps => reps,
        load => load,
        unit => load_unit,
        duration => duration_s,
        rest => rest_s,
        notes => notes,
    }
}

/// The athlete's feedback on one exercise, field by field:
/// `feedback().sets_done(3).reps_done(8).rpe(7).pain()`; `feedback()`
/// alone is "done as planned" (every field empty).
pub fn feedback() -> FeedbackInput {
    FeedbackInput::default()
}

/// The builder methods of [`feedback`].
pub trait FeedbackRow: Sized {
    fn sets_done(self, value: impl ToString) -> Self;
    fn reps_done(self, value: impl ToString) -> Self;
    fn load_used(self, value: impl ToString) -> Self;
    fn rpe(self, value: impl ToString) -> Self;
    fn notes(self, value: impl ToString) -> Self;
    /// The pain checkbox, ticked.
    fn pain(self) -> Self;
    /// The pain checkbox's value as a hostile client sends it.
    fn pain_as(self, value: &str) -> Self;
}

impl FeedbackRow for FeedbackInput {
    setters! {
        sets_done => sets_done,
        reps_done => reps_done,
        load_used => load_used,
        rpe => rpe,
        notes => notes,
    }

    fn pain(self) -> Self {
        self.pain_as("on")
    }

    fn pain_as(mut self, value: &str) -> Self {
        self.pain = Some(value.into());
        self
    }
}

/// Set `set` (1 first) of exercise `exercise` (0 first) of `round`, as the
/// athlete's "Set done" posts it against revision 1 with nothing typed:
/// `logged_set(session, round, 0, 1).reps(8).load("82,5").key(key)`.
pub fn logged_set(session: i64, round: i64, exercise: i64, set: i64) -> LogSet {
    LogSet {
        session_id: session,
        round_id: round,
        revision: 1,
        exercise,
        set,
        reps: String::new(),
        load: String::new(),
        rpe: String::new(),
        duration_s: String::new(),
        idempotency_key: String::new(),
    }
}

/// The builder methods of [`logged_set`].
pub trait SetValues: Sized {
    fn revision(self, seen: i64) -> Self;
    fn reps(self, value: impl ToString) -> Self;
    fn load(self, value: impl ToString) -> Self;
    fn rpe(self, value: impl ToString) -> Self;
    fn seconds(self, value: impl ToString) -> Self;
    fn key(self, value: impl ToString) -> Self;
}

impl SetValues for LogSet {
    setters! {
        reps => reps,
        load => load,
        rpe => rpe,
        seconds => duration_s,
        key => idempotency_key,
    }

    fn revision(mut self, seen: i64) -> Self {
        self.revision = seen;
        self
    }
}

/// A server function's arguments as the form `#[server]` posts (what the
/// hydrated app sends), in `(name, value)` pairs a test can change.
pub fn form_of<M: Serialize>(arguments: &M) -> Vec<(String, String)> {
    let text = serde_qs::to_string(arguments).expect("arguments encode as a form");
    form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The round builder's form for `rows` (`round_id` "" for a new round),
/// without `is_final` (an unticked checkbox sends nothing) and without an
/// idempotency key (a test adds its own).
pub fn round_form(
    session: i64,
    round_id: &str,
    rows: &[ExerciseInput],
    row_action: &str,
) -> Vec<(String, String)> {
    let mut form = form_of(&SaveRound {
        session_id: session,
        round_id: round_id.into(),
        exercises: rows.to_vec(),
        is_final: None,
        row_action: row_action.into(),
        idempotency_key: String::new(),
    });
    form.retain(|(name, _)| name != "idempotency_key");
    form
}

/// The JSON error body a refused server function answered with.
pub async fn error_of(response: Response) -> spotter::error::AppError {
    response.json().await.expect("error body is an AppError")
}

/// A registered user's client, id and login cookie (`name=value`).
pub struct Person {
    pub client: Client,
    pub id: i64,
    pub cookie: String,
}

impl TestApp {
    /// Registers a user with a fresh cookie jar.
    pub async fn person(&self, name: &str, role: &str) -> Person {
        let client = new_client();
        let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
        let response = self
            .register_with(&client, name, &email, "long enough password", role)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "register {name}");
        let cookie = response.headers()[header::SET_COOKIE]
            .to_str()
            .expect("cookie is text")
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string();
        let id = self
            .me(&client)
            .await
            .expect("registered user is logged in")
            .id;
        Person { client, id, cookie }
    }

    /// An athlete, a trainer, and a session between them that the trainer
    /// has joined (active).
    pub async fn active_session(&self) -> (Person, Person, i64) {
        let athlete = self.person("Andy Athlete", "athlete").await;
        let trainer = self.person("Tina Trainer", "trainer").await;
        let session = self.start(&athlete, trainer.id).await;
        self.join(&trainer, session).await;
        (athlete, trainer, session)
    }

    /// The trainer joins `session`, asserting success.
    pub async fn join(&self, trainer: &Person, session: i64) {
        let response = self
            .call(
                trainer,
                "/api/sessions/join",
                &[("session_id", &session.to_string())],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "join");
    }

    /// Calls a server function as `who`.
    pub async fn call(&self, who: &Person, path: &str, form: &[(&str, &str)]) -> Response {
        self.post_form(&who.client, path, form).await
    }

    /// Starts a session; returns its id.
    pub async fn start(&self, athlete: &Person, trainer_id: i64) -> i64 {
        let response = self
            .call(
                athlete,
                "/api/sessions/start",
                &[("trainer_id", &trainer_id.to_string())],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "start session");
        response.json().await.expect("session id")
    }

    /// Calls the server function whose arguments `arguments` are, as `who`:
    /// the form `#[server]` posts for them, to its path.
    pub async fn send<M: ServerFn + Serialize>(&self, who: &Person, arguments: M) -> Response {
        let form = form_of(&arguments);
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.call(who, M::PATH, &pairs).await
    }

    /// Makes `request` (any call: futures do nothing until awaited), asserts
    /// it was refused with `status` and that no table changed; the error it
    /// was refused with.
    pub async fn refused(
        &self,
        status: StatusCode,
        request: impl std::future::Future<Output = Response>,
    ) -> AppError {
        let before = self.snapshot().await;
        let response = request.await;
        assert_eq!(response.status(), status, "{}", response.url().path());
        let path = response.url().path().to_string();
        let error = error_of(response).await;
        assert_eq!(
            self.snapshot().await,
            before,
            "{path} refused, nothing changed"
        );
        error
    }

    /// Saves a round of `rows` ([`exercise`]); `round_id` "" creates one.
    pub async fn save_round(
        &self,
        who: &Person,
        session: i64,
        round_id: &str,
        rows: &[ExerciseInput],
        is_final: bool,
    ) -> Response {
        self.save_round_with(who, session, round_id, rows, is_final, "")
            .await
    }

    /// [`TestApp::save_round`] with a button pressed (`row_action`: `up:1`,
    /// `release`, ...).
    pub async fn save_round_with(
        &self,
        who: &Person,
        session: i64,
        round_id: &str,
        rows: &[ExerciseInput],
        is_final: bool,
        row_action: &str,
    ) -> Response {
        self.send(
            who,
            SaveRound {
                session_id: session,
                round_id: round_id.into(),
                exercises: rows.to_vec(),
                is_final: is_final.then(|| "on".into()),
                row_action: row_action.into(),
                idempotency_key: String::new(),
            },
        )
        .await
    }

    /// Saves a new round and returns its id.
    pub async fn new_round(
        &self,
        trainer: &Person,
        session: i64,
        rows: &[ExerciseInput],
        is_final: bool,
    ) -> i64 {
        let response = self.save_round(trainer, session, "", rows, is_final).await;
        assert_eq!(response.status(), StatusCode::OK, "save round");
        response.json().await.expect("round id")
    }

    /// Releases a round, asserting success.
    pub async fn release(&self, trainer: &Person, session: i64, round: i64) {
        let response = self
            .send(
                trainer,
                ReleaseRound {
                    session_id: session,
                    round_id: round,
                    idempotency_key: String::new(),
                },
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "release");
    }

    /// Calls a round server function taking session and round ids.
    pub async fn round_call(&self, who: &Person, path: &str, session: i64, round: i64) -> Response {
        self.call(
            who,
            path,
            &[
                ("session_id", &session.to_string()),
                ("round_id", &round.to_string()),
            ],
        )
        .await
    }

    /// Completes a round (seen at `revision`) with one [`feedback`] per
    /// exercise.
    pub async fn complete(
        &self,
        athlete: &Person,
        session: i64,
        round: i64,
        revision: i64,
        rows: &[FeedbackInput],
    ) -> Response {
        self.send(
            athlete,
            CompleteRound {
                session_id: session,
                round_id: round,
                revision,
                feedback: rows.to_vec(),
                idempotency_key: String::new(),
            },
        )
        .await
    }

    /// The session as `who` sees it, asserting they may.
    pub async fn view_of(&self, who: &Person, session: i64) -> spotter::model::SessionView {
        let response = self.view(who, session).await;
        assert_eq!(response.status(), StatusCode::OK, "view the session");
        response.json().await.expect("session view")
    }

    /// The session as `who` sees it.
    pub async fn view(&self, who: &Person, session: i64) -> Response {
        self.call(
            who,
            "/api/sessions/view",
            &[("session_id", &session.to_string())],
        )
        .await
    }

    /// Every row of every training table, as text: compare two snapshots to
    /// prove a refused request changed nothing.
    pub async fn snapshot(&self) -> String {
        let mut out = String::new();
        for (table, order) in [
            ("training_sessions", "id"),
            ("rounds", "id"),
            ("exercises", "id"),
            ("feedback", "id"),
            ("set_logs", "round_id, position, set_number"),
            ("pain_reports", "id"),
            ("messages", "id"),
            ("receipts", "session_id, side, kind, item_id, revision"),
            ("session_events", "session_id, seq"),
        ] {
            let rows: Vec<(String,)> = sqlx::query_as(&format!(
                "SELECT {} FROM {table} ORDER BY {order}",
                row_text(table)
            ))
            .fetch_all(&self.db.pool)
            .await
            .expect("snapshot");
            out.push_str(&format!("{table}: {rows:?}\n"));
        }
        out
    }

    /// Event kinds of a session, in seq order, asserting seqs are 1, 2, 3…
    pub async fn event_kinds(&self, session: i64) -> Vec<String> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, kind FROM session_events WHERE session_id = $1 ORDER BY seq",
        )
        .bind(session)
        .fetch_all(&self.db.pool)
        .await
        .expect("events");
        for (i, (seq, _)) in rows.iter().enumerate() {
            assert_eq!(*seq, i as i64 + 1, "seq has no gaps");
        }
        rows.into_iter().map(|(_, kind)| kind).collect()
    }
}

/// A portable "whole row as text" expression for the snapshot.
fn row_text(table: &str) -> String {
    let columns: &[&str] = match table {
        "training_sessions" => &[
            "id",
            "status",
            "joined_at",
            "completed_at",
            "cancelled_by",
            "cancel_reason",
            "last_seq",
        ],
        "rounds" => &[
            "id",
            "session_id",
            "number",
            "status",
            "is_final",
            "revision",
            "released_at",
            "completed_at",
        ],
        "exercises" => &[
            "id",
            "round_id",
            "position",
            "name",
            "sets",
            "reps",
            "load_centi",
            "load_unit",
            "duration_s",
            "rest_s",
            "notes",
        ],
        "feedback" => &[
            "id",
            "round_id",
            "position",
            "exercise_name",
            "sets_done",
            "reps_done",
            "load_used_centi",
            "rpe_half",
            "pain",
            "notes",
        ],
        "pain_reports" => &[
            "id",
            "session_id",
            "round_id",
            "position",
            "set_number",
            "note",
            "acknowledged_at",
        ],
        "set_logs" => &[
            "round_id",
            "position",
            "set_number",
            "reps",
            "load_centi",
            "rpe_half",
            "logged_at",
            "updated_at",
        ],
        "messages" => &["id", "session_id", "side", "body", "sent_at"],
        "receipts" => &[
            "session_id",
            "side",
            "kind",
            "item_id",
            "revision",
            "seen_at",
        ],
        _ => &["session_id", "seq", "kind", "payload"],
    };
    columns
        .iter()
        .map(|c| format!("COALESCE(CAST({c} AS TEXT), '-')"))
        .collect::<Vec<_>>()
        .join(" || '|' || ")
}

/// A TCP proxy in front of a test server that can black-hole the
/// connections open at that moment the way a phone's dead wifi does: no
/// FIN, no RST, bytes simply stop arriving (both ways). Connections opened
/// afterwards pass normally, like a new path after a network change.
pub struct Proxy {
    /// `http://127.0.0.1:<port>`: use instead of the app's address.
    pub address: String,
    cut: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Proxy {
    /// Listens on 127.0.0.1:0 and forwards to `target` (`http://host:port`).
    pub async fn start(target: &str) -> Proxy {
        use std::sync::atomic::AtomicU64;
        let upstream = target.trim_start_matches("http://").to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let address = format!("http://{}", listener.local_addr().expect("proxy address"));
        let cut = std::sync::Arc::new(AtomicU64::new(0));
        let generations = cut.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let born = generations.load(Ordering::SeqCst);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(forward(
                    client_read,
                    server_write,
                    generations.clone(),
                    born,
                ));
                tokio::spawn(forward(
                    server_read,
                    client_write,
                    generations.clone(),
                    born,
                ));
            }
        });
        Proxy { address, cut }
    }

    /// From now on, every connection open now delivers nothing, in either
    /// direction, and stays open.
    pub fn black_hole(&self) {
        self.cut.fetch_add(1, Ordering::SeqCst);
    }
}

/// Copies bytes until either side closes; once the proxy's generation moved
/// past `born`, reads what arrives and drops it (packets into the void).
async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    born: u64,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => {
                if generation.load(Ordering::SeqCst) == born {
                    let _ = to.shutdown().await;
                }
                // A black-holed path never tells the other side.
                if generation.load(Ordering::SeqCst) != born {
                    std::future::pending::<()>().await;
                }
                return;
            }
            Ok(n) => n,
        };
        if generation.load(Ordering::SeqCst) != born {
            continue;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
