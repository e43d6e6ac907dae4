//! A run split over workers (`run --worker I/N`) and merged (`merge`), through the
//! binary: the merged report is the whole run's, and what does not fit is refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{show, tokenstorm, write};

use serde_json::Value;
use tokenstorm::report::export::{Exporter, Json};
use tokenstorm::run::{self, Control, RunOptions};
use tokenstorm::scenario;
use tokenstorm::shard::Shard;

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("merge", name)
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{path:?}: {e}")))
        .unwrap()
}

/// Three groups that never meet: no issuer capacity or rate limit, constant latencies,
/// opaque tokens (every API request is introspected, so no key-set cache is shared
/// between clients), and faults that hit every client alike: an issuer outage and a
/// spell of extra API latency.
const SPLIT: &str = r#"
name: split
seed: 11
duration: 40m
tick: 30s
issuer:
  access_token: { ttl: 10m, format: opaque }
  latency: 20ms
  faults:
    - { kind: outage, at: 20m, for: 2m }
resource:
  latency: 5ms
  faults:
    - { kind: latency, at: 12m, for: 3m, latency: 40ms }
clients:
  - name: web
    count: 30
    start: { uniform: 5m }
    requests: { every: 20s, distribution: exponential }
    policy: { refresh: reactive }
  - name: mobile
    count: 17
    workers: 2
    start: { ramp: 2m }
    requests: { every: 45s }
    clock_offset: { uniform: [-20s, 20s] }
    policy: { refresh: proactive, buffer: 30s, jitter: 20s }
  - name: batch
    count: 9
    start: { burst: 0s }
    requests: { every: 1m }
    policy: { refresh: background, buffer: 60s }
thresholds:
  requests.total: "TOTAL"
  unauthorized_rate: "< 0.5"
"#;

/// Figures a merge can only bound: gauges, whose per-worker maxima need not coincide.
const GAUGES: [&str; 3] = [
    "/refresh/max_concurrent",
    "/lock/max_waiters",
    "/issuer/queue_max",
];
const GAUGE_SERIES: [&str; 3] = ["concurrent_refreshes", "lock_waiters", "issuer_queue"];

/// `report` without what differs between two runs of one scenario (`run_info`) and
/// without the gauges, which the caller checks apart.
fn comparable(report: &Value) -> Value {
    let mut r = report.clone();
    r.as_object_mut().unwrap().remove("run_info");
    for g in GAUGES {
        *r.pointer_mut(g).unwrap() = Value::Null;
    }
    for s in GAUGE_SERIES {
        r["timeline"]["series"][s] = Value::Null;
    }
    r
}

fn u64_at(report: &Value, pointer: &str) -> u64 {
    report
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{pointer} in {report}"))
}

/// The first key path where `a` and `b` differ, for a readable failure.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).find_map(|k| {
            first_difference(
                x.get(k).unwrap_or(&Value::Null),
                y.get(k).unwrap_or(&Value::Null),
                &format!("{path}.{k}"),
            )
        }),
        _ if a != b => Some(format!("{path}: {a} vs {b}")),
        _ => None,
    }
}

/// Runs SPLIT whole and as `n` workers, merges the workers' reports, and checks the
/// merge against the whole run.
fn whole_equals_merged(n: u32) {
    let dir = temp_dir(&format!("split-{n}"));
    // The whole run's request count, so that a threshold passes on it exactly and
    // fails on any share of it.
    let probe = write(&dir, "probe.yaml", &SPLIT.replace("TOTAL", ">= 0"));
    let probe_out = dir.join("probe");
    let out = tokenstorm(&["run", &probe, "--out", probe_out.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let total = u64_at(&json(&probe_out.join("split.json")), "/requests/total");
    let file = write(
        &dir,
        "split.yaml",
        &SPLIT.replace("TOTAL", &format!(">= {total}")),
    );

    let whole_dir = dir.join("whole");
    let out = tokenstorm(&["run", &file, "--out", whole_dir.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(0), "whole run: {}", show(&out));
    let whole = json(&whole_dir.join("split.json"));
    assert!(whole.get("worker").is_none());

    let parts = dir.join("parts");
    let mut files = Vec::new();
    let mut workers = Vec::new();
    for i in 0..n {
        let out = tokenstorm(&[
            "run",
            &file,
            "--worker",
            &format!("{i}/{n}"),
            "--run-id",
            "t1",
            "--out",
            parts.to_str().unwrap(),
            "-q",
        ]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "a worker alone falls short of requests.total >= {total}: {}",
            show(&out)
        );
        let path = parts.join(format!("split.worker-{i}-of-{n}.json"));
        let w = json(&path);
        assert_eq!(w["worker"]["index"], i);
        assert_eq!(w["worker"]["of"], n);
        assert_eq!(w["worker"]["run_id"], "t1");
        assert_eq!(w["worker"]["started_unix_ms"], 0);
        assert_eq!(
            w["worker"]["refresh_arrivals_ms"].as_array().unwrap().len() as u64,
            u64_at(&w, "/refresh/attempts")
        );
        assert!(u64_at(&w, "/requests/total") < total);
        assert!(u64_at(&w, "/login/initial") > 0, "every worker has clients");
        files.push(path.display().to_string());
        workers.push(w);
    }

    let merged_dir = dir.join("merged");
    // Given in reverse: the order of the files does not matter.
    let mut args = vec!["merge"];
    args.extend(files.iter().rev().map(String::as_str));
    args.extend(["--out", merged_dir.to_str().unwrap(), "--format", "json,md"]);
    let out = tokenstorm(&args);
    assert_eq!(out.status.code(), Some(0), "merge: {}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("✓ requests.total >= {total}")),
        "{stdout}"
    );
    assert!(merged_dir.join("split.md").exists());
    let merged = json(&merged_dir.join("split.json"));
    assert!(
        merged.get("worker").is_none(),
        "a merged report is not a worker's"
    );

    // The figures the brief names, one by one, then everything else at once.
    for section in ["requests", "login", "rotation", "groups", "latency_ms"] {
        assert_eq!(merged[section], whole[section], "{section} (N = {n})");
    }
    for key in [
        "attempts",
        "succeeded",
        "failed",
        "invalid_grant",
        "duplicates",
        "peak_per_second",
    ] {
        assert_eq!(
            merged["refresh"][key], whole["refresh"][key],
            "refresh.{key}"
        );
    }
    for series in ["requests", "unauthorized", "refreshes", "failed", "logins"] {
        assert_eq!(
            merged["timeline"]["series"][series], whole["timeline"]["series"][series],
            "timeline.series.{series}"
        );
    }
    assert!(u64_at(&whole, "/requests/unauthorized") > 0);
    assert!(
        u64_at(&whole, "/requests/failed") > 0,
        "the outage fails requests"
    );
    assert_eq!(merged["outages"].as_array().unwrap().len(), 1);
    assert_eq!(merged["thresholds"][0]["pass"], true);
    assert_eq!(merged["thresholds"][0]["actual"], total as f64);
    assert_eq!(
        first_difference(&comparable(&whole), &comparable(&merged), ""),
        None,
        "N = {n}"
    );

    // Gauges: at least the whole run's, at most the sum of the workers'.
    for g in GAUGES {
        let sum: u64 = workers.iter().map(|w| u64_at(w, g)).sum();
        let (m, w) = (u64_at(&merged, g), u64_at(&whole, g));
        assert!(w <= m && m <= sum, "{g}: whole {w}, merged {m}, sum {sum}");
    }
    for s in GAUGE_SERIES {
        let m = merged["timeline"]["series"][s].as_array().unwrap();
        let w = whole["timeline"]["series"][s].as_array().unwrap();
        assert_eq!(m.len(), w.len());
        assert!(
            m.iter().zip(w).all(|(m, w)| m.as_u64() >= w.as_u64()),
            "{s}"
        );
    }
    assert!(u64_at(&whole, "/refresh/max_concurrent") > 0);
}

#[test]
fn two_workers_merge_into_the_whole_run() {
    whole_equals_merged(2);
}

#[test]
fn three_workers_merge_into_the_whole_run() {
    whole_equals_merged(3);
}

#[test]
fn an_ordinary_report_has_no_worker_key_and_one_worker_of_one_is_the_whole_run() {
    let yaml = SPLIT.replace("TOTAL", ">= 0");
    let s = scenario::parse(&yaml, "split.yaml").unwrap_or_else(|e| panic!("{e}"));
    let bytes = |r: &tokenstorm::report::Report| {
        let mut r = r.clone();
        r.run_info = Default::default();
        String::from_utf8(Json.export(&r).unwrap()).unwrap()
    };
    let plain = run::run(&s, &Control::default()).unwrap();
    assert!(plain.worker.is_none());
    let text = bytes(&plain);
    assert!(!text.contains("\"worker\""), "{text}");
    let with_defaults = run::run_with(&s, &Control::default(), &RunOptions::default()).unwrap();
    assert_eq!(bytes(&with_defaults), text);

    let options = RunOptions {
        shard: Some(Shard { index: 0, of: 1 }),
        ..RunOptions::default()
    };
    let mut alone = run::run_with(&s, &Control::default(), &options).unwrap();
    let worker = alone.worker.take().expect("a worker section");
    assert_eq!((worker.index, worker.of, worker.run_id), (0, 1, None));
    assert_eq!(
        worker.refresh_arrivals_ms.len() as u64,
        plain.refresh.attempts
    );
    assert!(worker.refresh_arrivals_ms.is_sorted());
    assert_eq!(bytes(&alone), text, "worker 0 of 1 runs every client");
}

const SMALL: &str = r#"
name: small
seed: 5
duration: 10m
tick: 1m
clients:
  - { name: web, count: 4, requests: { every: 30s } }
"#;

fn assert_refused(out: &Output, message: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", show(out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(message),
        "expected `{message}` in:\n{stderr}"
    );
}

#[test]
fn bad_worker_arguments_exit_2() {
    let dir = temp_dir("args");
    let file = write(&dir, "small.yaml", SMALL);
    let run = |extra: &[&str]| {
        let mut args = vec!["run", &file, "-q", "--out", dir.to_str().unwrap()];
        args.extend(extra);
        tokenstorm(&args)
    };
    assert_refused(&run(&["--worker", "1"]), "`1` is not I/N");
    assert_refused(&run(&["--worker", "a/b"]), "`a/b` is not I/N");
    assert_refused(&run(&["--worker", "2/2"]), "I must be less than N");
    assert_refused(&run(&["--worker", "0/0"]), "N must be at least 1");
    assert_refused(&run(&["--run-id", "x"]), "--worker");

    let split = write(
        &dir,
        "split.yaml",
        &SMALL.replace("count: 4,", "count: 4, instances: 2,"),
    );
    let out = tokenstorm(&["run", &split, "-q", "--worker", "0/2"]);
    assert_refused(
        &out,
        "clients[0]: with --worker N > 1 the instances of one client run in different workers, and only a redis lock shares their tokens; set policy.coordination: lock and lock.backend: redis, or instances: 1",
    );
    // One worker of one splits nothing.
    let out_dir = dir.join("one");
    let out = tokenstorm(&[
        "run",
        &split,
        "-q",
        "--worker",
        "0/1",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(out_dir.join("small.worker-0-of-1.json").exists());

    let live = write(&dir, "live.yaml", &SMALL.replace("seed: 5", "mode: live"));
    assert_refused(
        &tokenstorm(&["run", &live, "-q", "--worker", "1/2"]),
        "--worker with N > 1 in live mode needs --run-id ID, the same for every worker, so their shared Redis keys do not mix with another run's",
    );
}

#[test]
fn reports_that_do_not_belong_together_exit_2() {
    let dir = temp_dir("mismatch");
    let small = write(&dir, "small.yaml", SMALL);
    let other = write(
        &dir,
        "other.yaml",
        &SMALL.replace("name: small", "name: other"),
    );
    let parts = dir.join("parts");
    let run = |file: &str, worker: &str| {
        let out = tokenstorm(&[
            "run",
            file,
            "-q",
            "--worker",
            worker,
            "--out",
            parts.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    };
    run(&small, "0/2");
    run(&small, "1/2");
    run(&other, "1/2");
    let plain_dir = dir.join("plain");
    let out = tokenstorm(&["run", &small, "-q", "--out", plain_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));

    let p = |name: &str| parts.join(name).display().to_string();
    let (w0, w1, o1) = (
        p("small.worker-0-of-2.json"),
        p("small.worker-1-of-2.json"),
        p("other.worker-1-of-2.json"),
    );
    let merged = dir.join("merged");
    let merge = |files: &[&str]| {
        let mut args = vec!["merge", "--out", merged.to_str().unwrap()];
        args.extend(files);
        tokenstorm(&args)
    };
    assert_refused(
        &merge(&[&w0]),
        "the report of worker 1 of 2 is missing: merge needs every worker's report",
    );
    assert_refused(
        &merge(&[&w0, &o1]),
        &format!("{o1}: the scenario is `other`, but in {w0} it is `small`"),
    );
    assert_refused(
        &merge(&[&w0, &w1, &w1]),
        &format!("{w1}: worker 1 of 2 again: {w1} is that worker too"),
    );
    let plain = plain_dir.join("small.json").display().to_string();
    assert_refused(
        &merge(&[&w0, &plain]),
        &format!("{plain}: not a worker report: run it with --worker I/N"),
    );
    let nowhere = dir.join("nowhere.json").display().to_string();
    assert_refused(&merge(&[&w0, &nowhere]), &nowhere);
    assert!(
        !merged.exists(),
        "nothing is written when the reports are refused"
    );

    let out = merge(&[&w1, &w0]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(merged.join("small.json").exists());
}

#[test]
fn merge_has_help_with_an_example() {
    let out = tokenstorm(&["merge", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tokenstorm merge parts/"), "{text}");
    assert!(text.contains("--worker 0/2"), "{text}");
}
