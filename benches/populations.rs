//! The sim at the populations where storms happen, as whole processes: simulated API
//! requests per wall-second and peak resident memory per client, for the built binary
//! and, beside it in the same run, a previous one.
//!
//! Run with `cargo bench --bench populations`; to compare, build the previous release
//! into a directory of its own and name its binary in `TOKENSTORM_PREVIOUS`:
//!
//! ```text
//! git worktree add /tmp/prev <commit> && (cd /tmp/prev && cargo build --release)
//! TOKENSTORM_PREVIOUS=/tmp/prev/target/release/tokenstorm cargo bench --bench populations
//! ```
//!
//! `TOKENSTORM_POPULATIONS=10k-24h,idle-10y` runs only those. Every population is the
//! same shape: proactive clients refreshing 60 s before their 1 h tokens expire, one
//! request a client a minute (the idle one: an hour), starting over the first minute.
//! Each runs on one thread (`--threads 1`), but `1m-10m-2t`: the million clients again
//! on two threads, the API keeping its key set in the background so that they split.
//! Each process is timed from spawn to exit and its peak resident set read from the
//! kernel (`wait4`'s `ru_maxrss`); the two binaries alternate, so that the machine's
//! load falls on both alike. The figures are the median of `TOKENSTORM_RUNS` (default
//! 1) runs of each.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

struct Population {
    name: &'static str,
    clients: u64,
    duration: &'static str,
    every: &'static str,
    tick: &'static str,
    /// Threads of the run: 1, or 2 with the API's key set kept in the background
    /// (`resource.jwks.refresh: background`), which lets the clients split.
    threads: u32,
}

const POPULATIONS: [Population; 5] = [
    Population {
        name: "10k-24h",
        clients: 10_000,
        duration: "24h",
        every: "1m",
        tick: "1m",
        threads: 1,
    },
    Population {
        name: "100k-1h",
        clients: 100_000,
        duration: "1h",
        every: "1m",
        tick: "1m",
        threads: 1,
    },
    Population {
        name: "1m-10m",
        clients: 1_000_000,
        duration: "10m",
        every: "1m",
        tick: "1m",
        threads: 1,
    },
    Population {
        name: "idle-10y",
        clients: 1,
        duration: "3650d",
        every: "1h",
        tick: "1d",
        threads: 1,
    },
    Population {
        name: "1m-10m-2t",
        clients: 1_000_000,
        duration: "10m",
        every: "1m",
        tick: "1m",
        threads: 2,
    },
];

fn scenario(p: &Population) -> String {
    let resource = if p.threads > 1 {
        "resource:\n  jwks: { refresh: background }\n"
    } else {
        ""
    };
    format!(
        "name: {name}\nseed: 1\nduration: {duration}\ntick: {tick}\nissuer:\n  access_token: {{ ttl: 1h }}\n{resource}clients:\n  - name: web\n    count: {clients}\n    start: {{ uniform: 1m }}\n    requests: {{ every: {every} }}\n    policy: {{ refresh: proactive, buffer: 60s }}\n",
        name = p.name,
        duration = p.duration,
        clients = p.clients,
        every = p.every,
        tick = p.tick,
    )
}

/// One run of `binary` on `scenario`: wall seconds, peak RSS in bytes, requests.
struct Measured {
    wall: f64,
    peak: u64,
    requests: u64,
}

fn run(binary: &Path, scenario: &Path, out: &Path, threads: u32) -> Result<Measured, String> {
    let t0 = Instant::now();
    let child = Command::new(binary)
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .arg("--force")
        .arg("--threads")
        .arg(threads.to_string())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let (status, maxrss_kib) = wait4(child.id() as libc::pid_t)?;
    let wall = t0.elapsed().as_secs_f64();
    // Exit 1 is a failed threshold; these scenarios have none, but the figures hold.
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) <= 1) {
        return Err(format!("{} exited with {status}", binary.display()));
    }
    let name = scenario.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let report = std::fs::read_to_string(out.join(format!("{name}.json")))
        .map_err(|e| format!("the report: {e}"))?;
    let requests = serde_json::from_str::<serde_json::Value>(&report)
        .ok()
        .and_then(|v| v["requests"]["total"].as_u64())
        .ok_or("the report has no requests.total")?;
    Ok(Measured {
        wall,
        peak: maxrss_kib * 1024,
        requests,
    })
}

/// Waits for `pid`; its exit status and its own peak resident set (KiB).
fn wait4(pid: libc::pid_t) -> Result<(i32, u64), String> {
    let mut status = 0;
    // SAFETY: plain FFI with pointers to locals that outlive the call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if got != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    Ok((status, usage.ru_maxrss as u64))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The median of `runs` runs of each binary, alternating: (wall, peak, requests) each.
fn measure(
    binaries: &[PathBuf],
    file: &Path,
    p: &Population,
    out: &Path,
    runs: usize,
) -> Vec<Measured> {
    let mut all: Vec<Vec<Measured>> = binaries.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (b, binary) in binaries.iter().enumerate() {
            match run(binary, file, out, p.threads) {
                Ok(m) => all[b].push(m),
                Err(e) => panic!("{e}"),
            }
        }
    }
    all.into_iter()
        .map(|ms| Measured {
            wall: median(ms.iter().map(|m| m.wall).collect()),
            peak: median(ms.iter().map(|m| m.peak as f64).collect()) as u64,
            requests: ms[0].requests,
        })
        .collect()
}

fn main() {
    // `cargo test --benches` runs bench targets in test mode; only measure for `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let current = PathBuf::from(env!("CARGO_BIN_EXE_tokenstorm"));
    let previous = std::env::var_os("TOKENSTORM_PREVIOUS").map(PathBuf::from);
    let only = std::env::var("TOKENSTORM_POPULATIONS").ok();
    let runs = std::env::var("TOKENSTORM_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    let dir = std::env::temp_dir().join(format!("tokenstorm-populations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let mut binaries = vec![current];
    binaries.extend(previous.clone());
    println!(
        "| population × simulated time | requests | binary | wall (s) | simulated requests / s | peak RSS (MiB) | bytes / client |"
    );
    println!("|---|---|---|---|---|---|---|");
    for p in POPULATIONS.iter().filter(|p| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|n| n == p.name))
    }) {
        let file = dir.join(format!("{}.yaml", p.name));
        std::fs::write(&file, scenario(p)).expect("the scenario written");
        let measured = measure(&binaries, &file, p, &dir, runs);
        for (m, label) in measured.iter().zip(["this", "previous"]) {
            println!(
                "| {} × {}{} | {} | {label} | {:.2} | {:.0} | {:.0} | {:.0} |",
                p.clients,
                p.duration,
                if p.threads > 1 { ", 2 threads" } else { "" },
                m.requests,
                m.wall,
                m.requests as f64 / m.wall,
                m.peak as f64 / (1024.0 * 1024.0),
                m.peak as f64 / p.clients as f64,
            );
        }
        if let [new, old] = &measured[..] {
            println!(
                "|  |  | previous ÷ this | {:.2}× faster | | {:.2}× less memory | |",
                old.wall / new.wall,
                old.peak as f64 / new.peak as f64
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
