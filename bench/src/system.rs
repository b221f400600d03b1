//! The machine side: open-file limits, and a server's RSS and CPU time
//! from /proc.

use crate::Args;

/// Raises this process's open-file limit to what the system allows, and
/// fails if that is not enough for `2 × sessions` connections; warns if a
/// `--server-pid` cannot hold its share.
pub fn raise_open_files(args: &Args) -> Result<(), String> {
    let need = (args.sessions * 2 + 256) as u64;
    let have = rlimit::increase_nofile_limit(u64::MAX)
        .map_err(|e| format!("cannot read or raise the open-file limit: {e}"))?;
    if have < need {
        return Err(format!(
            "{} subscribers need about {need} open files, but this process may open only {have}: \
             raise the limit (ulimit -n {need}) or use fewer --sessions",
            args.sessions * 2
        ));
    }
    let per_server = (args.sessions * 2).div_ceil(args.urls.len().max(1)) as u64 + 256;
    for pid in &args.server_pids {
        if let Some(limit) = open_file_limit(*pid) {
            if limit < per_server {
                eprintln!(
                    "spotter-bench: warning: server process {pid} may open only {limit} files but \
                     will hold about {per_server} connections; start it after `ulimit -n {per_server}`"
                );
            }
        }
    }
    Ok(())
}

/// The soft "Max open files" of a process.
fn open_file_limit(pid: u32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Total resident memory of the processes, in KiB (None without pids or
/// when one cannot be read).
pub fn rss_kb(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter()
        .map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum()
}

/// Total user + system CPU time of the processes, in seconds.
pub fn cpu_seconds(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    // Clock ticks per second: 100 on Linux for every architecture spotter
    // runs on (USER_HZ).
    const TICKS: f64 = 100.0;
    pids.iter()
        .map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // Fields after the command name (which may contain spaces).
            let rest = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // utime and stime are fields 14 and 15 of the whole line.
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / TICKS)
        })
        .sum()
}
