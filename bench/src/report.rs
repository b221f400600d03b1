//! Results: a table on stdout, a JSON file, and an SVG chart.

use crate::{
    load::{Phase, Totals},
    Args,
};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::{io::Write, path::Path};

/// One `--find-max` step.
#[derive(Debug, Serialize)]
pub struct StepResult {
    pub rate: u32,
    pub events_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub lost: u64,
    pub behind: u64,
    pub held: bool,
}

/// Everything measured; also the JSON written with `--json`.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// `state` (subscribers apply the frames) or `refetch` (they read the
    /// whole session over HTTP after every event, as pages did before).
    pub mode: &'static str,
    pub subscribers: usize,
    pub sessions: usize,
    pub instances: usize,
    pub rate: u32,
    pub duration_s: f64,
    pub actions_ok: u64,
    pub actions_failed: u64,
    pub behind: u64,
    pub expected: u64,
    pub delivered: u64,
    pub events_per_s: f64,
    pub lost: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub dropped_connections: u64,
    /// Frames the protocol crate could not decode (a contract break).
    pub undecodable_frames: u64,
    /// `typing` frames athletes sent, and relayed ones trainers received.
    pub typing_sent: u64,
    pub typing_seen: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub commit_p50_ms: f64,
    pub commit_p90_ms: f64,
    pub commit_p99_ms: f64,
    pub commit_p999_ms: f64,
    pub commit_max_ms: f64,
    pub ssr_athlete_p50_ms: f64,
    pub ssr_athlete_p99_ms: f64,
    pub ssr_trainer_p50_ms: f64,
    pub ssr_trainer_p99_ms: f64,
    pub connect_s: f64,
    pub rss_before_kb: Option<u64>,
    pub rss_idle_kb: Option<u64>,
    pub rss_load_kb: Option<u64>,
    pub rss_idle_per_conn_kb: Option<f64>,
    pub cpu_s: Option<f64>,
    /// Server CPU of the load phases divided by the actions they carried
    /// (ms; includes the fan-out and the page renders running meanwhile).
    pub cpu_per_action_ms: Option<f64>,
    pub max_rate: Option<u32>,
    pub reconnect_storm_resumed_s: Option<f64>,
    pub wasm_raw_bytes: Option<u64>,
    pub wasm_gzip_bytes: Option<u64>,
    /// The brotli copy the release build writes next to the wasm
    /// (`--precompress`), as the server sends it; `None` without one.
    pub wasm_br_bytes: Option<u64>,
    /// The code the athlete's session page loads on a first visit (main
    /// wasm and JS, the split loader, the page's split modules if it has
    /// any): file
    /// names, and their sizes summed raw, gzip (level 9) and brotli (the
    /// build's `.br` copies, as the server sends them).
    pub athlete_page_files: Vec<String>,
    pub athlete_page_raw_bytes: Option<u64>,
    pub athlete_page_gzip_bytes: Option<u64>,
    pub athlete_page_br_bytes: Option<u64>,
    pub steps: Vec<StepResult>,
    /// Events delivered in each second of the run (for the chart).
    pub delivered_per_second: Vec<u64>,
    /// (latency ms, fraction of deliveries at or below it), for the chart.
    pub latency_cdf: Vec<(f64, f64)>,
}

/// Length of `bytes` gzipped at level 9.
fn gzipped_len(bytes: &[u8]) -> std::io::Result<u64> {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(bytes)?;
    Ok(gzip.finish()?.len() as u64)
}

fn ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    if histogram.is_empty() {
        return 0.0;
    }
    histogram.value_at_quantile(quantile) as f64 / 1000.0
}

impl Phase {
    /// Whether this step kept its promise: p99 under the bound, nothing
    /// lost, duplicated or reordered, every action sent and accepted.
    pub fn holds(&self, max_p99_ms: f64) -> bool {
        let planned = self.rate as f64 * self.duration_s;
        ms(&self.recorder.end_to_end, 0.99) <= max_p99_ms
            && self.delivered == self.expected
            && self.duplicates == 0
            && self.out_of_order == 0
            && self.actions_failed == 0
            && (self.behind as f64) <= planned * 0.01
    }

    /// The step's line for stderr.
    pub fn summary_line(&self, held: bool) -> String {
        format!(
            "spotter-bench: rate {:>6}/s: {:>8.0} events/s delivered, p50 {:.2} ms, p99 {:.2} ms, \
             lost {}, behind {}, failed {} → {}",
            self.rate,
            self.delivered as f64 / self.duration_s,
            ms(&self.recorder.end_to_end, 0.5),
            ms(&self.recorder.end_to_end, 0.99),
            self.expected.saturating_sub(self.delivered),
            self.behind,
            self.actions_failed,
            if held { "held" } else { "did not hold" }
        )
    }

    /// The step's row for `--find-max`.
    pub fn step(&self, held: bool) -> StepResult {
        StepResult {
            rate: self.rate,
            events_per_s: self.delivered as f64 / self.duration_s,
            p50_ms: ms(&self.recorder.end_to_end, 0.5),
            p99_ms: ms(&self.recorder.end_to_end, 0.99),
            lost: self.expected.saturating_sub(self.delivered),
            behind: self.behind,
            held,
        }
    }
}

impl Report {
    pub fn new(args: &Args) -> Report {
        Report {
            mode: if args.refetch { "refetch" } else { "state" },
            subscribers: args.sessions * 2,
            sessions: args.sessions,
            instances: args.urls.len(),
            ..Report::default()
        }
    }

    /// Takes a phase's rate, throughput and latencies as the result.
    pub fn adopt(&mut self, phase: &Phase) {
        let r = &phase.recorder;
        self.rate = phase.rate;
        self.duration_s = phase.duration_s;
        self.actions_ok = phase.actions_ok;
        self.actions_failed = phase.actions_failed;
        self.behind = phase.behind;
        self.events_per_s = phase.delivered as f64 / phase.duration_s;
        self.p50_ms = ms(&r.end_to_end, 0.5);
        self.p90_ms = ms(&r.end_to_end, 0.9);
        self.p99_ms = ms(&r.end_to_end, 0.99);
        self.p999_ms = ms(&r.end_to_end, 0.999);
        self.max_ms = r.end_to_end.max() as f64 / 1000.0;
        self.commit_p50_ms = ms(&r.commit, 0.5);
        self.commit_p90_ms = ms(&r.commit, 0.9);
        self.commit_p99_ms = ms(&r.commit, 0.99);
        self.commit_p999_ms = ms(&r.commit, 0.999);
        self.commit_max_ms = r.commit.max() as f64 / 1000.0;
        self.ssr_athlete_p50_ms = ms(&r.ssr_athlete, 0.5);
        self.ssr_athlete_p99_ms = ms(&r.ssr_athlete, 0.99);
        self.ssr_trainer_p50_ms = ms(&r.ssr_trainer, 0.5);
        self.ssr_trainer_p99_ms = ms(&r.ssr_trainer, 0.99);
        self.reconnect_storm_resumed_s = phase.storm_resume_s;
        if phase.rss_kb > self.rss_load_kb {
            self.rss_load_kb = phase.rss_kb;
        }
        self.delivered_per_second = r.per_second.clone();
        self.latency_cdf = r
            .end_to_end
            .iter_quantiles(1)
            .map(|v| {
                (
                    v.value_iterated_to() as f64 / 1000.0,
                    v.quantile_iterated_to(),
                )
            })
            .collect();
    }

    /// Takes the whole run's loss counts; computes memory per connection.
    pub fn count(&mut self, totals: &Totals) {
        self.expected = totals.expected;
        self.delivered = totals.delivered;
        self.lost = totals.lost;
        self.duplicates = totals.duplicates;
        self.out_of_order = totals.out_of_order;
        self.dropped_connections = totals.dropped;
        self.undecodable_frames = totals.undecodable;
        self.typing_sent = totals.typing_sent;
        self.typing_seen = totals.typing_seen;
        if let (Some(before), Some(idle)) = (self.rss_before_kb, self.rss_idle_kb) {
            self.rss_idle_per_conn_kb =
                Some(idle.saturating_sub(before) as f64 / self.subscribers.max(1) as f64);
        }
    }

    /// Reads the wasm file's size, raw and gzip (level 9), and its brotli
    /// copy's (`<path>.br`) if the build wrote one.
    pub fn wasm(&mut self, path: &Path) -> Result<(), String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut br = path.as_os_str().to_owned();
        br.push(".br");
        self.wasm_br_bytes = std::fs::metadata(&br).ok().map(|m| m.len());
        let compressed =
            gzipped_len(&bytes).map_err(|e| format!("cannot gzip {}: {e}", path.display()))?;
        self.wasm_raw_bytes = Some(bytes.len() as u64);
        self.wasm_gzip_bytes = Some(compressed);
        Ok(())
    }

    /// Reads which files the athlete's session page loads from the build's
    /// hash file (`js:`, `wasm:`, `split:`, `manifest:` lines) and the
    /// split manifest (the page's modules), and sums their sizes.
    pub fn athlete_page(&mut self, hash_file: &Path, pkg: &Path) -> Result<(), String> {
        let hashes = std::fs::read_to_string(hash_file)
            .map_err(|e| format!("cannot read {}: {e}", hash_file.display()))?;
        let hash = |kind: &str| {
            hashes.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == kind).then(|| value.trim().to_string())
            })
        };
        let (Some(js), Some(wasm)) = (hash("js"), hash("wasm")) else {
            return Err(format!("{} names no js and wasm", hash_file.display()));
        };
        let mut files = vec![format!("spotter.{wasm}.wasm"), format!("spotter.{js}.js")];
        if let (Some(split), Some(manifest)) = (hash("split"), hash("manifest")) {
            files.push(format!("__wasm_split.{split}.js"));
            let path = pkg.join(format!("__wasm_split_manifest.{manifest}.json"));
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let modules: std::collections::BTreeMap<String, Vec<String>> =
                serde_json::from_str(&text)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            // The athlete's page is in the main module (no entry of its
            // own) unless it is made a lazy route again.
            if let Some((_, page)) = modules
                .iter()
                .find(|(name, _)| name.starts_with("__athlete_session_view"))
            {
                files.extend(page.iter().map(|module| format!("{module}.wasm")));
            }
        }
        let (mut raw, mut gzip, mut br) = (0, 0, Some(0));
        for file in &files {
            let path = pkg.join(file);
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            raw += bytes.len() as u64;
            gzip +=
                gzipped_len(&bytes).map_err(|e| format!("cannot gzip {}: {e}", path.display()))?;
            let mut copy = path.into_os_string();
            copy.push(".br");
            br = br
                .zip(std::fs::metadata(&copy).ok())
                .map(|(sum, m)| sum + m.len());
        }
        self.athlete_page_files = files;
        self.athlete_page_raw_bytes = Some(raw);
        self.athlete_page_gzip_bytes = Some(gzip);
        self.athlete_page_br_bytes = br;
        Ok(())
    }

    /// The human table.
    pub fn print(&self) {
        let opt = |v: Option<f64>, unit: &str| match v {
            Some(v) => format!("{v:.1} {unit}"),
            None => "n/a (no --server-pid)".to_string(),
        };
        let kb = |v: Option<u64>| v.map(|v| v as f64 / 1024.0);
        println!();
        println!("spotter-bench results");
        println!(
            "  subscribers            {} ({} sessions, {} instance(s), mode {})",
            self.subscribers, self.sessions, self.instances, self.mode
        );
        println!("  connected in           {:.2} s", self.connect_s);
        println!("  rate                   {} actions/s for {:.1} s ({} ok, {} failed, {} not sent in time)", self.rate, self.duration_s, self.actions_ok, self.actions_failed, self.behind);
        println!(
            "  delivered              {} of {} expected ({:.0} events/s in the measured phase)",
            self.delivered, self.expected, self.events_per_s
        );
        println!(
            "  divergent / dup / reordered {} / {} / {}  (undecodable frames {})",
            self.lost, self.duplicates, self.out_of_order, self.undecodable_frames
        );
        println!(
            "  typing frames          {} sent by athletes, {} relayed to trainers",
            self.typing_sent, self.typing_seen
        );
        println!(
            "  end-to-end ms          p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
            self.p50_ms, self.p90_ms, self.p99_ms, self.p999_ms, self.max_ms
        );
        println!("  commit-to-arrival ms   p50 {:.0}  p90 {:.0}  p99 {:.0}  p99.9 {:.0}  max {:.0}  (1 ms resolution)", self.commit_p50_ms, self.commit_p90_ms, self.commit_p99_ms, self.commit_p999_ms, self.commit_max_ms);
        println!(
            "  SSR athlete page ms    p50 {:.2}  p99 {:.2}",
            self.ssr_athlete_p50_ms, self.ssr_athlete_p99_ms
        );
        println!(
            "  SSR trainer page ms    p50 {:.2}  p99 {:.2}",
            self.ssr_trainer_p50_ms, self.ssr_trainer_p99_ms
        );
        println!(
            "  server RSS             before {}, idle {}, load {}",
            opt(kb(self.rss_before_kb), "MiB"),
            opt(kb(self.rss_idle_kb), "MiB"),
            opt(kb(self.rss_load_kb), "MiB")
        );
        println!(
            "  RSS per idle conn      {}",
            opt(self.rss_idle_per_conn_kb, "KiB")
        );
        println!("  server CPU             {}", opt(self.cpu_s, "s"));
        println!(
            "  server CPU per action  {}",
            opt(self.cpu_per_action_ms, "ms")
        );
        if let Some(rate) = self.max_rate {
            println!("  saturation             {rate} actions/s held (p99 and no loss)");
        }
        if !self.steps.is_empty() && self.max_rate.is_none() {
            println!("  saturation             no step held");
        }
        if let Some(s) = self.reconnect_storm_resumed_s {
            println!(
                "  reconnect storm        all {} resumed in {s:.2} s",
                self.subscribers
            );
        }
        if let (Some(raw), Some(gz)) = (self.wasm_raw_bytes, self.wasm_gzip_bytes) {
            let br = self
                .wasm_br_bytes
                .map_or("no brotli copy".to_string(), |br| {
                    format!("{br} bytes brotli")
                });
            println!("  wasm                   {raw} bytes raw, {gz} bytes gzip, {br}");
        }
        if let (Some(raw), Some(gz)) = (self.athlete_page_raw_bytes, self.athlete_page_gzip_bytes) {
            let br = self
                .athlete_page_br_bytes
                .map_or("no brotli copies".to_string(), |br| {
                    format!("{br} bytes brotli")
                });
            println!(
                "  athlete's first page   {raw} bytes raw, {gz} bytes gzip, {br} ({} files)",
                self.athlete_page_files.len()
            );
        }
    }

    /// Writes the JSON, and the chart next to it.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(path, json + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let svg = path.with_extension("svg");
        self.chart(&svg)
            .map_err(|e| format!("cannot draw {}: {e}", svg.display()))?;
        eprintln!(
            "spotter-bench: wrote {} and {}",
            path.display(),
            svg.display()
        );
        Ok(())
    }

    fn chart(&self, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
        use plotters::prelude::*;
        let root = SVGBackend::new(path, (1100, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(550);

        let top = self.p999_ms.max(self.p99_ms).max(0.1) * 1.2;
        let mut cdf = ChartBuilder::on(&left)
            .caption("End-to-end latency (CDF)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..top, 0f64..1f64)?;
        cdf.configure_mesh()
            .x_desc("ms, action sent → event received")
            .y_desc("fraction of deliveries")
            .draw()?;
        cdf.draw_series(LineSeries::new(
            self.latency_cdf.iter().map(|&(x, y)| (x.min(top), y)),
            &BLUE,
        ))?;

        let seconds = self.delivered_per_second.len().max(1) as f64;
        let peak = self
            .delivered_per_second
            .iter()
            .copied()
            .max()
            .unwrap_or(1)
            .max(1) as f64
            * 1.1;
        let mut rate = ChartBuilder::on(&right)
            .caption("Events delivered per second", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..seconds, 0f64..peak)?;
        rate.configure_mesh()
            .x_desc("seconds since subscribers connected")
            .y_desc("deliveries / s")
            .draw()?;
        rate.draw_series(LineSeries::new(
            self.delivered_per_second
                .iter()
                .enumerate()
                .map(|(s, &n)| (s as f64, n as f64)),
            &RED,
        ))?;
        root.present()?;
        Ok(())
    }
}
