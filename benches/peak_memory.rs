//! Peak memory of a 100,000-client run (2 simulated hours), read from the kernel's
//! high-water mark of this process. Run with `cargo bench --bench peak_memory`.

use tokenstorm::run::{self, Control};
use tokenstorm::scenario;

const SCENARIO: &str = r#"
name: bench-100k-memory
seed: 1
duration: 2h
tick: 10s
issuer:
  access_token: { ttl: 1h }
  refresh_token: { rotation: true, reuse_grace: 10s }
  latency: { distribution: lognormal, median: 20ms, p99: 200ms }
clients:
  - name: web
    count: 100000
    start: { uniform: 10m }
    requests: { every: 60s }
    policy: { refresh: proactive, buffer: 60s }
"#;

/// `VmHWM` from /proc/self/status, in KiB (Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    // `cargo test --benches` runs bench targets in test mode; only measure for `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let s = scenario::parse(SCENARIO, "bench").expect("valid bench scenario");
    let before = peak_rss_kib();
    let t0 = std::time::Instant::now();
    let report = run::run(&s, &Control::default()).expect("run");
    let wall = t0.elapsed().as_secs_f64();
    println!(
        "100k clients, 2h simulated: {} API requests in {wall:.1}s wall ({:.0} requests/s)",
        report.requests.total,
        report.requests.total as f64 / wall
    );
    match (before, peak_rss_kib()) {
        (Some(b), Some(p)) => println!(
            "peak memory (VmHWM): {:.0} MiB (before the run: {:.0} MiB)",
            p as f64 / 1024.0,
            b as f64 / 1024.0
        ),
        _ => println!("peak memory: not available on this platform"),
    }
}
