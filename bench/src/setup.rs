//! Users and sessions, created through the server's own HTTP API.
//!
//! Registering is deliberately slow (argon2), so the bench registers only
//! about 2·√sessions users: athlete `i` and trainer `j` share session
//! `i + j·n`, each pair having its one open session.

use crate::Args;
use futures::{stream, StreamExt, TryStreamExt};
use reqwest::{header, Client, StatusCode};
use serde::Deserialize;
use std::time::Instant;

/// A registered user: login cookie and id.
#[derive(Clone, Debug)]
pub struct User {
    pub cookie: String,
    pub id: i64,
}

/// One training session the bench drives.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: i64,
    pub athlete: usize,
    pub trainer: usize,
}

/// Everyone and everything the bench created.
pub struct Fleet {
    pub client: Client,
    pub urls: Vec<String>,
    pub athletes: Vec<User>,
    pub trainers: Vec<User>,
    pub sessions: Vec<Session>,
}

/// The seq each session's log is at after start and join.
pub const SEQ_AFTER_SETUP: i64 = 2;

impl Fleet {
    /// The URL that session `index`'s actions go to.
    pub fn action_url(&self, index: usize) -> &str {
        &self.urls[index % self.urls.len()]
    }
}

#[derive(Deserialize)]
struct Me {
    id: i64,
}

/// An HTTP client for many small requests to a few hosts.
pub fn client() -> Client {
    Client::builder()
        .pool_max_idle_per_host(512)
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("build the HTTP client")
}

/// POSTs a form to a server function as `cookie`.
pub async fn post(
    client: &Client,
    url: &str,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, String)],
) -> Result<reqwest::Response, String> {
    let mut request = client
        .post(format!("{url}{path}"))
        .header(header::ACCEPT, "application/json")
        .form(form);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request
        .send()
        .await
        .map_err(|e| format!("{path} on {url}: {}", with_causes(&e)))
}

/// An error with what caused it ("error sending request: connection
/// closed before message completed"): reqwest's own text names only the
/// first.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

async fn expect_ok(response: reqwest::Response, what: &str) -> Result<String, String> {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status == StatusCode::OK {
        Ok(body)
    } else {
        Err(format!("{what} failed with {status}: {body}"))
    }
}

async fn register(
    client: &Client,
    url: &str,
    run: &str,
    role: &str,
    n: usize,
) -> Result<User, String> {
    let form = [
        ("display_name", format!("Bench {role} {n}")),
        ("email", format!("bench-{run}-{role}-{n}@example.com")),
        ("password", format!("bench password {run}")),
        ("role", role.to_string()),
    ];
    let response = post(client, url, "/api/register", None, &form).await?;
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    expect_ok(response, "register").await?;
    let cookie = cookie.ok_or("register set no cookie")?;
    let me = post(client, url, "/api/me", Some(&cookie), &[]).await?;
    let me: Me = serde_json::from_str(&expect_ok(me, "me").await?)
        .map_err(|e| format!("/api/me answered something else: {e}"))?;
    Ok(User { cookie, id: me.id })
}

/// Registers the users and starts and joins every session.
pub async fn create(args: &Args) -> Result<Fleet, String> {
    let started = Instant::now();
    let client = client();
    let urls: Vec<String> = args
        .urls
        .iter()
        .map(|u| u.trim_end_matches('/').to_string())
        .collect();
    let run = format!("{:x}", rand_id());
    let per_side = (args.sessions as f64).sqrt().ceil() as usize;
    let concurrency = args.setup_concurrency;
    let register_all = |role: &'static str| {
        let client = client.clone();
        let url = urls[0].clone();
        let run = run.clone();
        stream::iter(0..per_side)
            .map(move |n| {
                let (client, url, run) = (client.clone(), url.clone(), run.clone());
                async move { register(&client, &url, &run, role, n).await }
            })
            .buffered(concurrency)
            .try_collect::<Vec<User>>()
    };
    let athletes = register_all("athlete").await?;
    let trainers = register_all("trainer").await?;
    eprintln!(
        "spotter-bench: registered {} users in {:.1} s",
        2 * per_side,
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let sessions: Vec<Session> = stream::iter(0..args.sessions)
        .map(|k| {
            let (athlete, trainer) = (k % per_side, k / per_side);
            let client = client.clone();
            let url = urls[k % urls.len()].clone();
            let (a, t) = (athletes[athlete].clone(), trainers[trainer].clone());
            async move {
                let form = [("trainer_id", t.id.to_string())];
                let response =
                    post(&client, &url, "/api/sessions/start", Some(&a.cookie), &form).await?;
                let id: i64 = expect_ok(response, "start session")
                    .await?
                    .trim()
                    .parse()
                    .map_err(|e| format!("start session answered no id: {e}"))?;
                let form = [("session_id", id.to_string())];
                let response =
                    post(&client, &url, "/api/sessions/join", Some(&t.cookie), &form).await?;
                expect_ok(response, "join session").await?;
                Ok::<_, String>(Session {
                    id,
                    athlete,
                    trainer,
                })
            }
        })
        .buffered(concurrency)
        .try_collect()
        .await?;
    eprintln!(
        "spotter-bench: started and joined {} sessions in {:.1} s",
        sessions.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Fleet {
        client,
        urls,
        athletes,
        trainers,
        sessions,
    })
}

/// A run id, so repeated runs against one database do not collide.
fn rand_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish()
}
