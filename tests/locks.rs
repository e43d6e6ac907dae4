//! `coordination: lock` in the sim: the lock keeps a client's instances from racing on
//! a rotating refresh token, a lock whose ttl is shorter than a refresh is lost and lets
//! them race again, waiters poll or are woken, and every figure lands in the report.

use tokenstorm::report::Report;
use tokenstorm::run::{self, Control};
use tokenstorm::scenario;

fn run(yaml: &str) -> Report {
    let s = scenario::parse(yaml, "locks.yaml").unwrap_or_else(|e| panic!("{e}"));
    run::run(&s, &Control::default()).unwrap()
}

/// `clients` clients of 4 instances on a rotating, reuse-detecting issuer whose
/// refresh takes `issuer_latency`; the policy is `policy`.
fn race(clients: u32, issuer_latency: &str, policy: &str) -> String {
    format!(
        "name: race
seed: 11
duration: 40m
tick: 10s
issuer:
  access_token: {{ ttl: 10m }}
  refresh_token: {{ rotation: true, reuse_detection: true, reuse_grace: 0s }}
  latency: {issuer_latency}
resource:
  latency: 5ms
clients:
  - name: app
    count: {clients}
    start: {{ uniform: 2m }}
    instances: 4
    workers: 2
    requests: {{ every: 5s }}
    policy: {policy}
"
    )
}

#[test]
fn a_lock_stops_instances_racing_on_a_rotating_refresh_token() {
    let unlocked = run(&race(30, "100ms", "{ refresh: reactive }"));
    assert!(
        unlocked.rotation.reuse_detected > 0,
        "{:?}",
        unlocked.rotation
    );
    assert!(unlocked.refresh.duplicates > 0);

    let locked = run(&race(
        30,
        "100ms",
        "{ refresh: reactive, coordination: lock, lock: { ttl: 10s } }",
    ));
    assert_eq!(locked.rotation.reuse_detected, 0, "{:?}", locked.rotation);
    assert_eq!(locked.refresh.duplicates, 0);
    assert_eq!(locked.login.forced, 0);
    assert_eq!(
        locked.login.initial, 30,
        "one login per client, under the lock"
    );
    // Every 10 minutes each client's token expires once: one refresh per client.
    assert_eq!(locked.refresh.attempts, 30 * 3);
    assert!(locked.lock.contended > 0, "{:?}", locked.lock);
    assert_eq!(locked.lock.lost, 0);
    assert_eq!(locked.lock.refreshes_under_lost_lock, 0);
    assert!(locked.lock.operations >= locked.lock.acquisitions);
    assert_eq!(locked.lock.max_holders, locked.lock.max_holders.min(30));
    assert!(locked.timeline.series.lock_holders.iter().any(|&h| h > 0));
    assert!(locked.timeline.series.lock_waiters.iter().any(|&w| w > 0));
    assert_eq!(locked.lock.errors, 0);
}

#[test]
fn a_ttl_shorter_than_a_refresh_loses_the_lock_and_the_race_comes_back() {
    let policy = |ttl: &str| {
        format!("{{ refresh: reactive, coordination: lock, lock: {{ ttl: {ttl}, poll: 20ms }} }}")
    };
    // One client, so that two holders at once can only be a lost lock.
    let short = run(&race(1, "600ms", &policy("200ms")));
    assert!(short.lock.lost > 0, "{:?}", short.lock);
    assert!(short.lock.refreshes_under_lost_lock > 0);
    assert!(short.lock.max_holders >= 2, "{:?}", short.lock);
    assert!(short.refresh.duplicates > 0);
    assert!(short.rotation.reuse_detected > 0);
    assert!(short.login.forced > 0);

    let long = run(&race(1, "600ms", &policy("5s")));
    assert_eq!(long.lock.lost, 0, "{:?}", long.lock);
    assert_eq!(long.lock.max_holders, 1);
    assert_eq!(long.refresh.duplicates, 0);
    assert_eq!(long.rotation.reuse_detected, 0);
}

#[test]
fn notified_waiters_wait_less_than_polling_ones() {
    let policy = |notify: bool| {
        format!(
            "{{ refresh: reactive, coordination: lock, lock: {{ poll: 500ms, notify: {notify} }} }}"
        )
    };
    let polled = run(&race(20, "100ms", &policy(false)));
    let notified = run(&race(20, "100ms", &policy(true)));
    assert!(polled.lock.contended > 0 && notified.lock.contended > 0);
    // A polling waiter sleeps whole poll intervals past the release.
    assert!(polled.lock.wait_ms.p50 >= 500, "{:?}", polled.lock.wait_ms);
    assert!(
        notified.lock.wait_ms.p50 < 300,
        "notified: {:?}",
        notified.lock.wait_ms
    );
    assert!(notified.lock.operations <= polled.lock.operations);
    assert_eq!(notified.rotation.reuse_detected, 0);
}

#[test]
fn a_local_lock_never_expires_and_a_short_wait_gives_up() {
    let local = run(&race(
        1,
        "600ms",
        "{ refresh: reactive, coordination: lock, lock: { backend: local } }",
    ));
    assert_eq!(local.lock.lost, 0);
    assert_eq!(
        local.lock.operations, 0,
        "an in-process mutex is no round trip"
    );
    assert_eq!(local.rotation.reuse_detected, 0);
    assert!(local.lock.contended > 0);

    // Waiters give up after 100 ms and refresh without the lock: the race is back.
    let impatient = run(&race(
        1,
        "600ms",
        "{ refresh: reactive, coordination: lock, lock: { ttl: 10s, wait: 100ms, poll: 20ms } }",
    ));
    assert!(impatient.lock.timeouts > 0, "{:?}", impatient.lock);
    assert!(impatient.refresh.duplicates > 0);
}

#[test]
fn a_locked_run_is_deterministic() {
    let yaml = race(
        20,
        "{ distribution: lognormal, median: 300ms, p99: 2s }",
        "{ refresh: proactive, buffer: 30s, jitter: 10s, coordination: lock, lock: { ttl: 500ms, poll: 50ms } }",
    );
    let json = || {
        let mut r = run(&yaml);
        assert!(r.lock.lost > 0, "the run exercises lost locks too");
        r.run_info = Default::default();
        serde_json::to_string(&r).unwrap()
    };
    assert_eq!(json(), json());
}
