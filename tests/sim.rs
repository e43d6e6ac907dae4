//! Whole runs on the virtual clock: each test runs a small scenario end to end and checks
//! a figure that the behaviour under test determines.

use tokenstorm::report::Report;
use tokenstorm::run::{self, Control};
use tokenstorm::scenario;

fn run(yaml: &str) -> Report {
    let s = scenario::parse(yaml, "test.yaml").unwrap_or_else(|e| panic!("{e}"));
    run::run(&s, &Control::default()).expect("run")
}

/// The bytes of the JSON report, as `run` writes them, with the wall-clock fields blanked.
fn json_without_run_info(report: &Report) -> String {
    use tokenstorm::report::export::{Exporter, Json};
    let mut r = report.clone();
    r.run_info = Default::default();
    String::from_utf8(Json.export(&r).unwrap()).unwrap()
}

const BASE: &str = r#"
name: t
seed: 1
duration: 1h
tick: 10s
issuer:
  access_token: { ttl: 5m }
  latency: 20ms
resource:
  latency: 5ms
"#;

fn with_clients(extra: &str) -> String {
    format!("{BASE}{extra}")
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let yaml = with_clients(
        r#"
clients:
  - name: web
    count: 50
    workers: 2
    start: { uniform: 5m }
    requests: { every: 20s }
    clock_offset: { uniform: [-20s, 20s] }
    policy: { refresh: proactive, buffer: 30s, jitter: 20s }
"#,
    );
    let a = run(&yaml);
    let b = run(&yaml);
    assert_eq!(json_without_run_info(&a), json_without_run_info(&b));
    let c = run(&yaml.replace("seed: 1", "seed: 2"));
    assert_ne!(json_without_run_info(&a), json_without_run_info(&c));
    assert!(a.requests.total > 0);
}

#[test]
fn races_between_instances_replay_identically() {
    // Rotation races, reuse detection and forced logins depend on the order in which
    // tasks run; with ES256 each token's signature is random, yet the report is not.
    let yaml = r#"
name: t
seed: 9
duration: 1h
issuer:
  signing: es256
  access_token: { ttl: 5m }
  refresh_token: { rotation: true, reuse_detection: true, reuse_grace: 0s }
  latency: { distribution: lognormal, median: 20ms, p99: 300ms }
clients:
  - name: web
    count: 20
    instances: 3
    workers: 2
    requests: { every: 10s }
    policy: { refresh: proactive, buffer: 30s, jitter: 10s, coordination: none }
"#;
    let a = run(yaml);
    assert!(
        a.rotation.reuse_detected > 0,
        "the race happens: {:?}",
        a.rotation
    );
    assert_eq!(json_without_run_info(&a), json_without_run_info(&run(yaml)));
}

#[test]
fn reactive_constant_spacing_one_401_per_expiry_and_one_refresh_per_401() {
    let r = run(&with_clients(
        r#"
clients:
  - name: web
    count: 10
    requests: { every: 10s, distribution: constant }
    policy: { refresh: reactive, coordination: none }
"#,
    ));
    // A token lives 300 s and is replaced at the first request after it expired, so a
    // client meets one expiry about every 300-310 s: 11 in an hour.
    assert_eq!(r.requests.unauthorized, 10 * 11, "{:?}", r.requests);
    assert_eq!(r.refresh.attempts, r.requests.unauthorized);
    assert_eq!(r.refresh.succeeded, r.refresh.attempts);
    assert_eq!(r.requests.retried, r.requests.unauthorized);
    assert_eq!(r.requests.failed, 0);
    assert_eq!(r.resource.rejected_expired, r.requests.unauthorized);
    assert_eq!(r.login.initial, 10);
    assert_eq!(r.login.forced, 0);
}

#[test]
fn proactive_with_a_buffer_longer_than_the_round_trip_meets_no_401() {
    let r = run(&with_clients(
        r#"
clients:
  - name: web
    count: 20
    workers: 3
    requests: { every: 10s }
    policy: { refresh: proactive, buffer: 30s }
"#,
    ));
    assert_eq!(r.requests.unauthorized, 0);
    assert!(r.refresh.attempts >= 20 * 11, "{:?}", r.refresh);
    assert_eq!(r.requests.failed, 0);
}

#[test]
fn fraction_trigger_refreshes_at_that_share_of_the_lifetime() {
    let r = run(&with_clients(
        r#"
clients:
  - name: web
    count: 5
    requests: { every: 5s, distribution: constant }
    policy: { refresh: proactive, fraction: 0.5 }
"#,
    ));
    // Half of 5 minutes: a refresh about every 150 s, ~23 an hour per client.
    assert_eq!(r.requests.unauthorized, 0);
    let per_client = r.refresh.attempts / 5;
    assert!((22..=24).contains(&per_client), "{per_client}");
}

#[test]
fn resource_clock_ahead_causes_401s_despite_a_proactive_buffer() {
    let yaml = with_clients(
        r#"
clients:
  - name: web
    count: 20
    requests: { every: 10s }
    policy: { refresh: proactive, buffer: 60s }
"#,
    );
    let skewed = run(&yaml.replace("latency: 5ms", "latency: 5ms\n  clock_offset: 2m"));
    assert!(skewed.requests.unauthorized > 0);
    assert!(skewed.resource.rejected_expired > 0);
    // Leeway that covers the skew removes them.
    let tolerant = run(&yaml.replace(
        "latency: 5ms",
        "latency: 5ms\n  clock_offset: 2m\n  leeway: 90s",
    ));
    assert_eq!(tolerant.requests.unauthorized, 0);
}

#[test]
fn expiry_source_decides_whether_the_clients_own_clock_matters() {
    // The client's clock is 2 minutes behind: judged by the JWT's exp on that clock the
    // token seems to have 2 more minutes than it has; judged by expires_in at receipt,
    // the skew cancels out.
    let yaml = with_clients(
        r#"
clients:
  - name: web
    count: 10
    requests: { every: 10s }
    clock_offset: -2m
    policy: { refresh: proactive, buffer: 60s, expiry_source: EXPIRY }
"#,
    );
    let by_exp = run(&yaml.replace("EXPIRY", "jwt_exp"));
    let by_expires_in = run(&yaml.replace("EXPIRY", "expires_in"));
    assert!(by_exp.requests.unauthorized > 0);
    assert_eq!(by_expires_in.requests.unauthorized, 0);
}

#[test]
fn single_flight_removes_duplicates_within_an_instance() {
    // A slow issuer (200 ms) and busy workers: several callers meet every expiry while
    // the first one's refresh is in flight.
    let yaml = with_clients(
        r#"
clients:
  - name: web
    count: 5
    workers: 8
    requests: { every: 500ms }
    policy: { refresh: reactive, coordination: COORD }
"#,
    )
    .replace("duration: 1h", "duration: 16m")
    .replace("latency: 20ms", "latency: 200ms");
    let none = run(&yaml.replace("COORD", "none"));
    let single = run(&yaml.replace("COORD", "single_flight"));
    assert!(none.refresh.duplicates > 0, "{:?}", none.refresh);
    assert!(none.refresh.attempts > single.refresh.attempts);
    assert_eq!(single.refresh.duplicates, 0, "{:?}", single.refresh);
    assert!(single.lock.contended > 0);
    assert!(single.lock.max_waiters > 1);
    assert!(single.lock.wait_ms.max >= 100, "{:?}", single.lock);
    assert_eq!(none.lock.acquisitions, 0);
}

#[test]
fn instances_race_and_reuse_detection_revokes_families() {
    let yaml = with_clients(
        r#"
clients:
  - name: web
    count: 10
    instances: 4
    workers: 2
    requests: { every: 1s }
    policy: { refresh: reactive, coordination: single_flight }
"#,
    )
    .replace("duration: 1h", "duration: 20m")
    .replace("latency: 20ms", "latency: 300ms")
    .replace(
        "access_token: { ttl: 5m }",
        "access_token: { ttl: 5m }\n  refresh_token: { rotation: true, reuse_detection: true, reuse_grace: GRACE }",
    );
    let strict = run(&yaml.replace("GRACE", "0s"));
    assert!(strict.rotation.reuse_detected > 0, "{:?}", strict.rotation);
    // The clients' inference counts the issuer's detections, one for one.
    assert_eq!(
        strict.rotation.suspected_reuse, strict.rotation.reuse_detected,
        "{:?}",
        strict.rotation
    );
    assert!(strict.rotation.families_revoked > 0);
    assert!(strict.login.forced > 0);
    assert!(strict.refresh.invalid_grant > 0);
    let lenient = run(&yaml.replace("GRACE", "30s"));
    assert_eq!(lenient.rotation.reuse_detected, 0);
    assert_eq!(
        lenient.rotation.suspected_reuse, 0,
        "a graced reuse is not refused"
    );
    assert!(lenient.rotation.grace_accepted > 0);
    assert_eq!(lenient.login.forced, 0);
}

#[test]
fn absolute_refresh_token_expiry_forces_logins() {
    let yaml = with_clients(
        r#"
clients:
  - name: web
    count: 10
    requests: { every: 10s, distribution: constant }
    policy: { refresh: proactive, buffer: 30s }
"#,
    )
    .replace(
        "access_token: { ttl: 5m }",
        "access_token: { ttl: 5m }\n  refresh_token: { ttl: 20m }",
    );
    let r = run(&yaml);
    // Families die 20 min after each login: two forced logins per client in an hour.
    assert_eq!(r.login.forced, 20, "{:?}", r.login);
    assert_eq!(r.refresh.invalid_grant, 20);
    assert_eq!(r.requests.unauthorized, 0);
}

#[test]
fn idle_refresh_token_expiry_forces_logins() {
    // Requests every 20 min, tokens of 5 min: every refresh comes after 20 min of idleness.
    let yaml = with_clients(
        r#"
clients:
  - name: web
    count: 4
    requests: { every: 20m, distribution: constant }
    policy: { refresh: reactive }
"#,
    );
    let idle = run(&yaml.replace(
        "access_token: { ttl: 5m }",
        "access_token: { ttl: 5m }\n  refresh_token: { idle_ttl: 10m }",
    ));
    assert_eq!(idle.login.forced, idle.refresh.attempts);
    assert!(idle.login.forced > 0);
    let no_idle = run(&yaml);
    assert_eq!(no_idle.login.forced, 0);
}

#[test]
fn on_401_fail_gives_up_the_request() {
    let r = run(&with_clients(
        r#"
clients:
  - name: web
    count: 5
    requests: { every: 10s, distribution: constant }
    policy: { refresh: reactive, on_401: fail }
"#,
    ));
    assert!(r.requests.unauthorized > 0);
    assert_eq!(r.requests.failed, r.requests.unauthorized);
    assert_eq!(r.requests.retried, 0);
}

#[test]
fn timeouts_are_retried_with_backoff_then_given_up() {
    let r = run(&with_clients(
        r#"
clients:
  - name: web
    count: 2
    requests: { every: 1m, distribution: constant }
    policy: { timeout: 50ms, retry: { attempts: 3, backoff: 1s, jitter: none } }
"#,
    )
    .replace("latency: 5ms", "latency: 200ms"));
    assert!(r.requests.logical > 0);
    assert_eq!(r.requests.failed, r.requests.logical);
    assert_eq!(r.requests.timeouts, r.requests.total);
    assert_eq!(r.requests.total, 3 * r.requests.logical);
    assert_eq!(r.requests.retried, 2 * r.requests.logical);
}

#[test]
fn refresh_storm_after_a_burst_login_shows_as_a_peak() {
    let r = run(&with_clients(
        r#"
clients:
  - name: web
    count: 1000
    start: { burst: 0s }
    requests: { every: 30s, distribution: constant }
    policy: { refresh: reactive }
"#,
    ));
    // Every client sends at the same instant, so every 401 and refresh does too.
    assert_eq!(r.refresh.peak_per_second, 1000);
    assert!(r.refresh.max_concurrent >= 1000);
    let tick_of_first_storm = (5 * 60 + 30) / 10;
    assert!(
        r.timeline.series.refreshes[..tick_of_first_storm + 1]
            .iter()
            .sum::<u64>()
            >= 1000
    );
}

#[test]
fn timeline_sums_match_the_totals() {
    let r = run(&with_clients(
        r#"
clients:
  - name: web
    count: 30
    requests: { every: 15s }
"#,
    ));
    let s = &r.timeline.series;
    assert_eq!(s.requests.len(), 360);
    assert_eq!(s.requests.iter().sum::<u64>(), r.requests.total);
    assert_eq!(s.unauthorized.iter().sum::<u64>(), r.requests.unauthorized);
    assert_eq!(s.refreshes.iter().sum::<u64>(), r.refresh.attempts);
    assert_eq!(
        s.logins.iter().sum::<u64>(),
        r.login.initial + r.login.forced
    );
    assert_eq!(r.timeline.tick_ms, 10_000);
}

#[test]
fn per_group_figures_add_up_to_the_totals() {
    let r = run(&with_clients(
        r#"
clients:
  - name: reactive
    count: 10
    requests: { every: 10s }
    policy: { refresh: reactive }
  - name: proactive
    count: 10
    requests: { every: 10s }
    policy: { refresh: proactive, buffer: 30s }
"#,
    ));
    let g = &r.groups;
    assert_eq!(g.len(), 2);
    assert_eq!(
        g["reactive"].requests.total + g["proactive"].requests.total,
        r.requests.total
    );
    assert!(g["reactive"].requests.unauthorized > 0);
    assert_eq!(g["proactive"].requests.unauthorized, 0);
}

#[test]
fn a_stopped_run_reports_what_ran() {
    let s = scenario::parse(
        &with_clients("clients:\n  - name: web\n    count: 5\n"),
        "t.yaml",
    )
    .unwrap();
    let control = Control::default();
    control
        .stop
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let r = run::run(&s, &control).unwrap();
    assert!(r.run_info.interrupted);
    // Noticed soon (the executor looks in every 1,024 polls and jumps of time), not at
    // the end.
    assert!(r.duration_seconds < 3600.0, "{}", r.duration_seconds);
    assert!(r.duration_seconds > 0.0);
    // The timeline covers the time that ran, and the logins at the start ran.
    let ticks = (r.duration_seconds / 10.0).ceil() as usize;
    assert_eq!(r.timeline.series.requests.len(), ticks);
    assert_eq!(r.login.initial, 5);
}

#[test]
fn a_hostile_world_replays_identically() {
    // Every fault with randomness or shared waits at once: key rotation with a late
    // key set (waiters share one fetch), opaque tokens introspected through a queue,
    // random errors, revocation, and groups in several dialects.
    let yaml = r#"
name: t
seed: 4
duration: 1h
tick: 10s
issuer:
  access_token: { ttl: 5m, format: opaque }
  refresh_token: { rotation: true, max_per_user: 3 }
  latency: { distribution: lognormal, median: 20ms, p99: 200ms }
  capacity: 4
  faults:
    - { kind: errors, rate: 0.05, status: 503 }
    - { kind: revoke, at: 20m, fraction: 0.3 }
    - { kind: outage, at: 40m, for: 2m }
resource:
  introspection: { cache: 30s }
  faults: [ { kind: latency, latency: { distribution: uniform, min: 1ms, max: 30ms } } ]
clients:
  - name: a
    count: 30
    users: 8
    start: { uniform: 5m }
    requests: { every: 10s }
    dialect: json_code
    policy: { refresh: reactive, on_401_when: error_code }
  - name: b
    count: 30
    instances: 2
    start: { uniform: 5m }
    requests: { every: 10s }
    dialect: forbidden_403
    policy: { refresh: proactive, on_403: refresh_and_retry }
"#;
    let a = run(yaml);
    let b = run(yaml);
    assert_eq!(json_without_run_info(&a), json_without_run_info(&b));
    assert!(a.issuer.introspection_requests > 0 && a.issuer.errors_injected > 0);

    let jwt = yaml.replace("format: opaque", "format: jwt").replace(
        "- { kind: errors, rate: 0.05, status: 503 }",
        "- { kind: rotate_keys, every: 10m, publish_delay: 1m }",
    );
    let a = run(&jwt);
    let b = run(&jwt);
    assert_eq!(json_without_run_info(&a), json_without_run_info(&b));
    assert!(a.resource.rejected_unknown_key > 0);
}
