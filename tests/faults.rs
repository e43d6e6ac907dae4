//! A hostile issuer and API on the virtual clock: each fault kind, the issuer's rate
//! limit and its capacity, each in a run whose figures show the fault did what it says,
//! where it says, and nothing outside its window.

use tokenstorm::report::Report;
use tokenstorm::run::{self, Control};
use tokenstorm::scenario;

fn run(yaml: &str) -> Report {
    let s = scenario::parse(yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    run::run(&s, &Control::default()).expect("run")
}

/// 20 proactive clients for an hour, one-minute ticks, with `issuer` and `resource`
/// extra keys.
fn world(issuer: &str, resource: &str, policy: &str) -> String {
    format!(
        r#"
name: t
seed: 6
duration: 1h
tick: 1m
issuer:
  access_token: {{ ttl: 10m }}
  latency: 20ms
{issuer}
resource:
  latency: 5ms
{resource}
clients:
  - name: c
    count: 20
    start: {{ uniform: 1m }}
    requests: {{ every: 5s }}
    policy: {policy}
"#
    )
}

const PROACTIVE: &str =
    "{ refresh: proactive, buffer: 1m, retry: { attempts: 2, backoff: 1s, jitter: none } }";

#[test]
fn an_api_outage_fails_requests_only_within_its_window() {
    let r = run(&world(
        "",
        "  faults: [ { kind: outage, at: 20m, for: 10m } ]",
        PROACTIVE,
    ));
    assert!(r.requests.failed > 0);
    assert_eq!(r.resource.errors_injected, r.requests.errors);
    let failed = &r.timeline.series.failed;
    // Minutes 20 to 29 fail (a retry may spill one second past the end); none elsewhere.
    assert!(failed[..20].iter().all(|&n| n == 0), "{failed:?}");
    assert!(failed[20..30].iter().all(|&n| n > 0), "{failed:?}");
    assert!(failed[31..].iter().all(|&n| n == 0), "{failed:?}");
    assert_eq!(r.issuer.errors_injected, 0);
}

#[test]
fn an_outage_in_timeout_mode_never_answers() {
    let r = run(&world(
        "",
        "  faults: [ { kind: outage, mode: timeout, at: 20m, for: 5m } ]",
        "{ refresh: proactive, buffer: 1m, timeout: 2s, retry: { attempts: 1 } }",
    ));
    assert!(r.requests.timeouts > 0);
    assert_eq!(r.requests.timeouts, r.resource.errors_injected);
    assert_eq!(r.requests.errors, 0);
}

#[test]
fn issuer_errors_fail_their_rate_of_token_requests() {
    let r = run(&world(
        "  faults: [ { kind: errors, rate: 0.3, status: 502 } ]",
        "",
        "{ refresh: proactive, buffer: 1m, retry: { attempts: 5, backoff: 1s, jitter: none } }",
    ));
    let share = r.issuer.errors_injected as f64 / r.issuer.token_requests as f64;
    assert!((0.2..0.4).contains(&share), "{share}");
    assert!(r.refresh.failed > 0);
    // Retries get through before expiry; only a failed key-set fetch (the errors hit
    // the resource's calls to the issuer too) can reject a token.
    assert_eq!(r.resource.rejected_expired, 0);
    assert_eq!(r.requests.unauthorized, r.resource.rejected_unknown_key);
    assert!(r.resource.key_set_fetch_failures >= r.resource.rejected_unknown_key);
}

#[test]
fn a_latency_fault_slows_only_its_window() {
    let slow = run(&world(
        "",
        "  jwks: { max_age: 1h }\n  faults: [ { kind: latency, latency: 500ms, at: 10m, for: 10m } ]",
        PROACTIVE,
    ));
    let calm = run(&world("", "", PROACTIVE));
    // The first requests also wait for the resource's first key-set fetch (20ms).
    assert_eq!(calm.latency_ms.request.max, 25);
    assert_eq!(slow.latency_ms.request.max, 505);
    // About a sixth of the requests fall in the window: p50 stays, p90 does not.
    assert_eq!(slow.latency_ms.request.p50, 5);
    assert_eq!(slow.latency_ms.request.p90, 505);
}

#[test]
fn a_clock_jump_of_the_api_rejects_tokens_from_then_on() {
    let jumped = run(&world(
        "",
        "  faults: [ { kind: clock_jump, at: 30m, by: 5m } ]",
        PROACTIVE,
    ));
    assert!(jumped.resource.rejected_expired > 0);
    let unauthorized = &jumped.timeline.series.unauthorized;
    assert!(
        unauthorized[..30].iter().all(|&n| n == 0),
        "{unauthorized:?}"
    );
    assert!(unauthorized[30..].iter().sum::<u64>() > 0);
}

#[test]
fn the_rate_limit_answers_429_and_clients_come_back_after_retry_after() {
    let storm = r#"
name: t
seed: 2
duration: 10m
issuer:
  rate_limit: { per_second: 20, burst: 20 }
clients:
  - name: c
    count: 200
    start: { burst: 0s }
    requests: { every: 10s }
    policy: { retry: { attempts: 10, backoff: 100ms, jitter: full } }
"#;
    let r = run(storm);
    assert!(r.issuer.rate_limited > 0);
    assert_eq!(r.login.initial, 200);
    assert_eq!(r.login.failed, r.issuer.rate_limited);
    // Every client got in: no request lost for want of a token.
    assert_eq!(r.requests.failed, 0, "{:?}", r.requests);
}

#[test]
fn capacity_queues_a_storm_and_shows_its_wait() {
    let storm = |capacity: &str| {
        format!(
            r#"
name: t
seed: 2
duration: 10m
tick: 1s
issuer:
  latency: 100ms
{capacity}
clients:
  - name: c
    count: 100
    start: {{ burst: 0s }}
    requests: {{ every: 10s }}
"#
        )
    };
    let queued = run(&storm("  capacity: 10"));
    let open = run(&storm(""));
    assert!(queued.issuer.queue_max >= 80, "{:?}", queued.issuer);
    // Ten at a time, 100 ms each: the last of 100 logins waits about 900 ms.
    assert!(
        (850..=950).contains(&queued.issuer.queue_wait_ms.max),
        "{:?}",
        queued.issuer
    );
    assert!(queued.latency_ms.login.max >= 1000);
    assert_eq!(open.issuer.queue_max, 0);
    assert_eq!(open.latency_ms.login.max, 100);
    assert_eq!(
        queued.timeline.series.issuer_queue[0],
        queued.issuer.queue_max
    );
}

#[test]
fn a_revocation_kills_refresh_tokens_and_if_checked_access_tokens_too() {
    let yaml = |check: bool| {
        world(
            "  faults: [ { kind: revoke, at: 30m, fraction: 0.5 } ]",
            &format!("  check_revocation: {check}"),
            PROACTIVE,
        )
    };
    let unchecked = run(&yaml(false));
    let checked = run(&yaml(true));
    for r in [&unchecked, &checked] {
        // About half of the 20 families; each refreshes once more, meets invalid_grant
        // and logs in again.
        assert!(
            (5..=15).contains(&r.issuer.revoked_by_faults),
            "{:?}",
            r.issuer
        );
        assert_eq!(r.refresh.invalid_grant, r.issuer.revoked_by_faults);
        assert_eq!(r.login.forced, r.issuer.revoked_by_faults);
    }
    assert_eq!(unchecked.resource.rejected_revoked, 0);
    assert_eq!(unchecked.requests.unauthorized, 0, "the API does not know");
    assert!(checked.resource.rejected_revoked > 0);
    assert_eq!(
        checked.requests.unauthorized,
        checked.resource.rejected_revoked
    );
    let unauthorized = &checked.timeline.series.unauthorized;
    assert!(
        unauthorized[..30].iter().all(|&n| n == 0),
        "{unauthorized:?}"
    );
}

/// 30 devices of 3 users, 5-minute tokens, for an hour; `rt` is the refresh_token map.
fn shared_users(rt: &str) -> Report {
    run(&format!(
        r#"
name: t
seed: 4
duration: 1h
issuer:
  access_token: {{ ttl: 5m }}
  refresh_token: {rt}
clients:
  - name: d
    count: 30
    users: 3
    start: {{ ramp: 10m }}
    requests: {{ every: 30s }}
"#
    ))
}

#[test]
fn logins_beyond_the_per_user_limit_evict_the_oldest_refresh_tokens() {
    let free = shared_users("{ rotation: true }");
    assert_eq!(free.issuer.refresh_tokens_evicted, 0);
    assert_eq!(free.login.forced, 0);
    assert_eq!(free.refresh.invalid_grant, 0);

    // 10 devices a user, 8 tokens kept: the first two logins of each user are evicted,
    // their devices' next refresh fails and logs in again, evicting another: a cascade.
    let limited = shared_users("{ rotation: true, max_per_user: 8 }");
    assert!(
        limited.issuer.refresh_tokens_evicted >= 6,
        "{:?}",
        limited.issuer
    );
    assert!(limited.refresh.invalid_grant > 0);
    assert!(limited.login.forced > 0);
    // Every forced login evicts another device's family.
    assert_eq!(
        limited.issuer.refresh_tokens_evicted,
        6 + limited.login.forced
    );
}

#[test]
fn the_refresh_token_ttl_is_absolute_across_rotations() {
    // Tokens rotate every 5 minutes, yet each family dies 20 minutes after its login.
    let r = shared_users("{ rotation: true, ttl: 20m }");
    assert!(r.refresh.invalid_grant >= 30, "{:?}", r.refresh);
    assert!(r.login.forced >= 30);
}

#[test]
fn recovery_after_an_issuer_outage_is_measured_and_thresholds_reach_it() {
    let with = |thresholds: &str| {
        format!(
            "{}thresholds:\n{thresholds}\n",
            world(
                "  faults: [ { kind: latency, latency: 5ms }, { kind: outage, at: 20m, for: 10m } ]",
                "",
                "{ refresh: reactive, retry: { attempts: 2, backoff: 1s } }",
            )
        )
    };
    let r = run(&with(
        "  outages.0.recovery_seconds: \"<= 600\"\n  outages.0.peak_per_tick: \"> 0\"",
    ));
    assert_eq!(r.outages.len(), 1);
    let o = &r.outages[0];
    assert_eq!((o.section.as_str(), o.index), ("issuer", 1));
    assert_eq!((o.at_seconds, o.end_seconds), (1200.0, 1800.0));
    // Every token expires within the 10 minutes: reactive clients fail until it ends.
    assert!(o.peak_per_tick > 0, "{o:?}");
    let recovery = o.recovery_seconds.expect("recovered within the hour");
    assert!(recovery >= 0.0, "{o:?}");
    assert!(r.thresholds.iter().all(|t| t.pass), "{:?}", r.thresholds);
    assert_eq!(r.thresholds[0].metric, "outages.0.recovery_seconds");
    assert_eq!(r.thresholds[0].actual, recovery);

    let strict = run(&with("  outages.0.recovery_seconds: \"< 0\""));
    assert!(!strict.thresholds[0].pass);

    // Only one outage has `at` and `for`: there is no second entry to name.
    let e = scenario::parse(&with("  outages.1.recovery_seconds: \"<= 600\""), "t.yaml")
        .expect_err("no second outage");
    let text = e.to_string();
    assert!(
        text.contains("thresholds.outages.1.recovery_seconds: `outages.1.recovery_seconds` is not a numeric figure of the report"),
        "{text}"
    );
    assert!(text.contains("1 in this scenario"), "{text}");
}
