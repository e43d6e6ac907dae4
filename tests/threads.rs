//! A sim run split over threads: the same report, byte for byte, whatever the number
//! of threads, for scenarios whose clients meet nothing; and one thread, with the
//! reason, for those whose clients do.

use tokenstorm::report::Report;
use tokenstorm::run::{self, Control, RunOptions};
use tokenstorm::scenario::{self, Scenario};

fn parse(yaml: &str) -> Scenario {
    scenario::parse(yaml, "threads.yaml").unwrap_or_else(|e| panic!("{e}"))
}

fn run_on(s: &Scenario, threads: u32) -> Report {
    let options = RunOptions {
        threads: Some(threads),
        ..RunOptions::default()
    };
    run::run_with(s, &Control::default(), &options).expect("run")
}

/// The JSON report's bytes without `run_info` (wall time, start, threads).
fn bytes(report: &Report) -> String {
    use tokenstorm::report::export::{Exporter, Json};
    let mut r = report.clone();
    r.run_info = Default::default();
    String::from_utf8(Json.export(&r).unwrap()).unwrap()
}

/// Everything a thread split must keep exact: drawn latencies and faults, timed key
/// rotations, error windows and an outage, a simulated lock whose locks expire while
/// held, with its gauges, single-flight waits, instances sharing a client's tokens
/// (a client's instances run on its thread), reuse detection logging clients out, and
/// a revocation of every family.
const SPLITTABLE: &str = r#"
name: split
seed: 11
duration: 40m
tick: 10s
issuer:
  access_token: { ttl: 4m }
  latency: { distribution: lognormal, median: 20ms, p99: 300ms }
  refresh_token: { rotation: true, reuse_detection: true, reuse_grace: 0s }
  faults:
    - { kind: errors, rate: 0.1, at: 10m, for: 5m }
    - { kind: outage, at: 20m, for: 30s }
    - { kind: rotate_keys, at: 25m, publish_delay: 1m }
    - { kind: revoke, at: 35m }
resource:
  latency: { distribution: lognormal, median: 5ms, p99: 50ms }
  jwks: { refresh: background, max_age: 3m }
  faults:
    - { kind: errors, rate: 0.02, status: 503 }
clients:
  - name: locked
    count: 40
    instances: 3
    workers: 2
    start: { uniform: 20s }
    requests: { every: 2s }
    policy: { refresh: reactive, coordination: lock, lock: { backend: simulated, ttl: 50ms } }
  - name: flight
    count: 50
    instances: 2
    workers: 2
    requests: { every: 3s, distribution: exponential }
    policy: { refresh: proactive, buffer: 10s, coordination: single_flight, jitter: 5s }
  - name: racing
    count: 30
    workers: 2
    requests: { every: 1s }
    policy: { refresh: reactive, coordination: none, on_invalid_grant: fail }
"#;

#[test]
fn any_number_of_threads_gives_the_same_bytes() {
    let s = parse(SPLITTABLE);
    let one = run_on(&s, 1);
    assert_eq!(one.run_info.threads, 1);
    // The scenario exercises what the merge has to get right.
    assert!(one.requests.errors > 0 && one.requests.timeouts + one.requests.errors > 0);
    assert!(one.lock.max_waiters > 0, "{:?}", one.lock);
    assert!(one.refresh.max_concurrent > 1);
    assert!(one.clients.logged_out > 0, "{:?}", one.clients);
    assert_eq!(one.issuer.key_rotations, 1);
    // The API's timed fetches, every 3 min less 5 s, are counted once, not per thread.
    assert_eq!(one.resource.key_set_fetches, 14, "{:?}", one.resource);
    let expected = bytes(&one);
    for threads in [2, 3, 7] {
        let split = run_on(&s, threads);
        assert_eq!(split.run_info.threads, threads);
        assert_eq!(bytes(&split), expected, "{threads} threads");
    }
}

#[test]
fn no_more_threads_than_clients() {
    let s = parse(
        &SPLITTABLE
            .replace("count: 40", "count: 1")
            .replace("count: 50", "count: 1")
            .replace("count: 30", "count: 1"),
    );
    assert_eq!(run_on(&s, 8).run_info.threads, 3);
}

#[test]
fn what_clients_meet_keeps_a_run_on_one_thread() {
    for (change, why) in [
        (
            ("refresh: background, ", ""),
            "resource.jwks.refresh: on_use",
        ),
        (
            (
                "  faults:\n    - { kind: errors, rate: 0.1",
                "  capacity: 4\n  faults:\n    - { kind: errors, rate: 0.1",
            ),
            "issuer.capacity",
        ),
        (
            (
                "  faults:\n    - { kind: errors, rate: 0.1",
                "  rate_limit: { per_second: 50, burst: 10 }\n  faults:\n    - { kind: errors, rate: 0.1",
            ),
            "issuer.rate_limit",
        ),
        (
            (
                "kind: revoke, at: 35m",
                "kind: revoke, at: 35m, fraction: 0.5",
            ),
            "issuer.faults[3]",
        ),
        (
            ("count: 50", "count: 50\n    users: 10"),
            "clients[1].users",
        ),
        (
            (
                "access_token: { ttl: 4m }",
                "access_token: { ttl: 4m, format: opaque }",
            ),
            "opaque",
        ),
    ] {
        let yaml = SPLITTABLE.replacen(change.0, change.1, 1);
        assert_ne!(yaml, SPLITTABLE, "{why}: the change applies");
        let s = parse(&yaml);
        let options = RunOptions {
            threads: Some(4),
            ..RunOptions::default()
        };
        let (threads, reason) = options.threads_for(&s);
        assert_eq!(threads, 1, "{why}");
        let reason = reason.unwrap_or_default();
        assert!(reason.contains(why), "{why}: {reason}");
    }
    let s = parse(SPLITTABLE);
    let one = RunOptions {
        threads: Some(1),
        ..RunOptions::default()
    };
    assert_eq!(
        one.threads_for(&s),
        (1, None),
        "one asked for, no reason needed"
    );
}

/// Five runs of one scenario, each on a thread of its own, give the same bytes: waiters
/// on a refresh in flight wake in the order they came, not in one a thread-local random
/// number picks (as tokio's watch channel would, tokio 1.54 sync/watch.rs:387-422).
#[test]
fn a_run_is_the_same_on_any_thread_of_any_process() {
    let s = parse(
        r#"
name: again
seed: 11
duration: 40m
tick: 10s
issuer:
  access_token: { ttl: 4m }
  latency: { distribution: lognormal, median: 20ms, p99: 300ms }
  refresh_token: { rotation: true, reuse_detection: true, reuse_grace: 0s }
  faults:
    - { kind: outage, at: 20m, for: 30s }
resource:
  latency: { distribution: lognormal, median: 5ms, p99: 50ms }
clients:
  - name: flight
    count: 4
    workers: 3
    start: { uniform: 20s }
    requests: { every: 2s }
    policy: { refresh: reactive, coordination: single_flight }
"#,
    );
    let runs: Vec<String> = (0..5)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || bytes(&run_on(&s, 1)))
                .join()
                .unwrap()
        })
        .collect();
    for r in &runs[1..] {
        assert_eq!(r, &runs[0]);
    }
}
