//! spotter-bench: a load generator for spotter's live layer.
//!
//! It creates users and training sessions through the server's own HTTP
//! API, opens one authenticated live WebSocket per participant (two per
//! session, spread round-robin over the `--url`s), then has trainers build,
//! release and edit rounds and athletes complete them at `--rate` actions
//! per second (each action commits exactly one event). For every event at
//! every subscriber it records the end-to-end latency (action request sent
//! → event received) and the commit-to-arrival latency (the event's commit
//! timestamp → received) in HDR histograms, and it checks each subscriber's
//! sequence numbers for loss, duplicates and reordering.
//!
//! Everything is bounded: at most 10,000 sessions, 600 s per phase, and it
//! stops by itself. docs/BENCHMARKS.md has the commands and the results.

mod load;
mod report;
mod setup;
mod system;

use clap::Parser;
use std::path::PathBuf;

/// Command-line options.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "spotter-bench",
    about = "Load generator for spotter: live subscribers, actions at a fixed rate, latency and loss"
)]
pub struct Args {
    /// Server base URL, e.g. http://127.0.0.1:3000; repeat it for several
    /// instances (subscriptions and actions go round-robin).
    #[arg(long = "url", required = true)]
    pub urls: Vec<String>,
    /// Training sessions; each has two live subscribers (1 to 10000).
    #[arg(long, default_value_t = 100)]
    pub sessions: usize,
    /// Actions (= events) per second, in total.
    #[arg(long, default_value_t = 100)]
    pub rate: u32,
    /// Seconds of load (of each step with --find-max; 1 to 600).
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Write the results as JSON here, and the chart next to it (.svg).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// A server process to read RSS and CPU time from (/proc); repeatable.
    #[arg(long = "server-pid")]
    pub server_pids: Vec<u32>,
    /// Raise the rate by --step per step until the end-to-end p99 passes
    /// --max-p99-ms, anything is lost, or the rate cannot be sent.
    #[arg(long)]
    pub find_max: bool,
    /// Rate increase per --find-max step (default: --rate).
    #[arg(long)]
    pub step: Option<u32>,
    /// End-to-end p99 (ms) a --find-max step must stay under.
    #[arg(long, default_value_t = 25.0)]
    pub max_p99_ms: f64,
    /// Halfway through, drop every subscriber at once and reconnect them
    /// all with the last seq each applied.
    #[arg(long)]
    pub reconnect_storm: bool,
    /// Also report this wasm file's size, raw and gzip.
    #[arg(long)]
    pub wasm: Option<PathBuf>,
    /// The release build's hash file (`target/release/hash.txt`): also
    /// report the code the athlete's session page loads (main wasm and
    /// JS, the split loader, and that page's split modules), found in
    /// `--pkg-dir`.
    #[arg(long, requires = "pkg_dir")]
    pub hash_file: Option<PathBuf>,
    /// The site's `pkg` folder (`target/site/pkg`).
    #[arg(long)]
    pub pkg_dir: Option<PathBuf>,
    /// Exit with status 1 if any event was lost, duplicated or reordered,
    /// or any subscriber's view (a snapshot plus every event applied)
    /// differs from a fresh snapshot at the end.
    #[arg(long)]
    pub check: bool,
    /// Subscribers behave like the pages before the live link carried the
    /// state: after every event they read the whole session over HTTP
    /// (`POST /api/sessions/view`), and "the view is updated" when that
    /// answer is in. For before/after comparisons in one sitting.
    #[arg(long)]
    pub refetch: bool,
    /// Do not render pages during the load (by default an athlete and a
    /// trainer page every 100 ms, to time SSR under load): the server's
    /// CPU per action then counts only the actions and what the
    /// subscribers cost.
    #[arg(long)]
    pub no_probe: bool,
    /// Requests in flight while creating users and sessions.
    #[arg(long, default_value_t = 32)]
    pub setup_concurrency: usize,
}

impl Args {
    fn validate(&self) -> Result<(), String> {
        if !(1..=10_000).contains(&self.sessions) {
            return Err("--sessions must be from 1 to 10000".into());
        }
        if !(1..=100_000).contains(&self.rate) {
            return Err("--rate must be from 1 to 100000 events per second".into());
        }
        if !(1..=600).contains(&self.duration) {
            return Err("--duration must be from 1 to 600 seconds".into());
        }
        if !(1..=256).contains(&self.setup_concurrency) {
            return Err("--setup-concurrency must be from 1 to 256".into());
        }
        for url in &self.urls {
            if !url.starts_with("http://") {
                return Err(format!("--url must start with http://, got {url:?}"));
            }
        }
        Ok(())
    }
}

fn main() {
    let args = Args::parse();
    if let Err(message) = args.validate() {
        eprintln!("spotter-bench: {message}");
        std::process::exit(2);
    }
    if let Err(message) = system::raise_open_files(&args) {
        eprintln!("spotter-bench: {message}");
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start the tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(clean) => std::process::exit(if clean { 0 } else { 1 }),
        Err(message) => {
            eprintln!("spotter-bench: {message}");
            std::process::exit(2);
        }
    }
}

/// Runs the whole benchmark; `Ok(false)` when `--check` found a problem.
async fn run(args: Args) -> Result<bool, String> {
    let fleet = setup::create(&args).await?;
    let mut report = report::Report::new(&args);
    report.rss_before_kb = system::rss_kb(&args.server_pids);
    let cpu_before = system::cpu_seconds(&args.server_pids);

    let live = load::Live::connect(&args, &fleet).await?;
    report.connect_s = live.connected_in.as_secs_f64();
    // Let allocations settle before reading the idle footprint.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    report.rss_idle_kb = system::rss_kb(&args.server_pids);
    // CPU of the load phases alone (not registering, starting sessions,
    // connecting), and the actions they carried.
    let cpu_load_start = system::cpu_seconds(&args.server_pids);
    let mut load_actions = 0;

    if args.find_max {
        let step = args.step.unwrap_or(args.rate).max(1);
        let mut rate = args.rate;
        loop {
            let phase = live.phase(&args, &fleet, rate, false).await;
            let held = phase.holds(args.max_p99_ms);
            load_actions += phase.actions_ok;
            eprintln!("{}", phase.summary_line(held));
            report.steps.push(phase.step(held));
            if !held {
                break;
            }
            report.max_rate = Some(rate);
            report.adopt(&phase);
            if rate >= 100_000 {
                break;
            }
            rate = rate.saturating_add(step).min(100_000);
        }
        if report.max_rate.is_none() {
            eprintln!("spotter-bench: not even --rate {} held", args.rate);
        }
    } else {
        let phase = live
            .phase(&args, &fleet, args.rate, args.reconnect_storm)
            .await;
        eprintln!("{}", phase.summary_line(phase.holds(args.max_p99_ms)));
        load_actions += phase.actions_ok;
        report.adopt(&phase);
    }
    let cpu_end = system::cpu_seconds(&args.server_pids);
    report.rss_load_kb = report.rss_load_kb.max(system::rss_kb(&args.server_pids));
    report.cpu_s = match (cpu_before, cpu_end) {
        (Some(before), Some(after)) => Some(after - before),
        _ => None,
    };
    report.cpu_per_action_ms = match (cpu_load_start, cpu_end) {
        (Some(start), Some(end)) if load_actions > 0 => {
            Some((end - start) * 1000.0 / load_actions as f64)
        }
        _ => None,
    };
    let totals = live.finish(&fleet).await;
    report.count(&totals);
    if let Some(path) = &args.wasm {
        report.wasm(path)?;
    }
    if let (Some(hashes), Some(pkg)) = (&args.hash_file, &args.pkg_dir) {
        report.athlete_page(hashes, pkg)?;
    }
    report.print();
    if let Some(path) = &args.json {
        report.write(path)?;
    }
    // A run in which the server refused or nothing happened proves nothing.
    let clean = totals.clean() && report.actions_failed == 0 && report.actions_ok > 0;
    if args.check && !clean {
        eprintln!(
            "spotter-bench: check failed: {} divergent views, {} duplicated, {} reordered, {} undecodable frames, {} actions failed, {} succeeded",
            totals.divergent, totals.duplicates, totals.out_of_order, totals.undecodable, report.actions_failed, report.actions_ok
        );
    }
    Ok(!args.check || clean)
}
