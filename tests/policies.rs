//! Every refresh-policy knob, each in a test that fails if the knob is ignored.
//!
//! Two kinds of test: a client alone against a scripted server (answers decided by the
//! test, every request's time logged on the virtual clock) for retries, Retry-After,
//! minimum intervals and 401 handling; and whole sim runs for the knobs whose effect is
//! a figure of the report (triggers, jitter, soft windows, coordination, queueing).

use std::sync::Arc;

use tokenstorm::client::{Instance, worker};
use tokenstorm::report::Report;
use tokenstorm::run::{self, Control};
use tokenstorm::scenario;

// ---------------------------------------------------------------------------------------
// A client against a scripted server

mod scripted;
use scripted::{Answer, Scripted, at, client, rng};

const UNAVAILABLE: Answer = Answer::Status(503, Vec::new());

#[tokio::test(start_paused = true)]
async fn retries_wait_backoff_times_multiplier() {
    let (i, s) = client(
        "retry: { attempts: 3, backoff: 1s, multiplier: 3, jitter: none }",
        Scripted::new(600, &[UNAVAILABLE, UNAVAILABLE], &[]),
    );
    i.client().login(&mut rng(1)).await.unwrap();
    assert_eq!(s.grants("password"), [0, 1000, 4000]);
}

#[tokio::test(start_paused = true)]
async fn only_the_listed_statuses_are_retried() {
    let (i, s) = client(
        "retry: { attempts: 3, backoff: 1s, jitter: none, statuses: [500] }",
        Scripted::new(600, &[UNAVAILABLE], &[]),
    );
    assert!(i.client().login(&mut rng(1)).await.is_err());
    assert_eq!(s.grants("password"), [0]);
    let (i, s) = client(
        "retry: { attempts: 3, backoff: 1s, jitter: none, statuses: [5xx] }",
        Scripted::new(600, &[UNAVAILABLE], &[]),
    );
    assert!(i.client().login(&mut rng(1)).await.is_ok());
    assert_eq!(s.grants("password"), [0, 1000]);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_unless_switched_off() {
    let limited = || Answer::Status(429, vec![("retry-after", "7")]);
    let (i, s) = client(
        "retry: { attempts: 2, backoff: 1s, jitter: none }",
        Scripted::new(600, &[limited()], &[]),
    );
    i.client().login(&mut rng(1)).await.unwrap();
    assert_eq!(s.grants("password"), [0, 7000]);
    let (i, s) = client(
        "retry: { attempts: 2, backoff: 1s, jitter: none, retry_after: false }",
        Scripted::new(600, &[limited()], &[]),
    );
    i.client().login(&mut rng(1)).await.unwrap();
    assert_eq!(s.grants("password"), [0, 1000]);
}

#[tokio::test(start_paused = true)]
async fn min_interval_spaces_soft_refreshes_and_keep_token_serves_the_old_one() {
    let policy = "{ refresh: proactive, buffer: 5m, soft_window: all_inline, retry: { attempts: 1, min_interval: 2m } }";
    // login ok, then the first refresh fails.
    let (i, s) = client(policy, Scripted::new(600, &[Answer::Ok, UNAVAILABLE], &[]));
    let mut r = rng(2);
    i.token(&mut r).await.unwrap();
    at(360_000).await; // 6 min: soft
    assert!(i.token(&mut r).await.is_ok(), "the old token is kept");
    at(30_000).await; // 6m30s: within the minimum interval
    i.token(&mut r).await.unwrap();
    assert_eq!(s.grants("refresh_token"), [360_000]);
    at(91_000).await; // 8m01s: past it
    i.token(&mut r).await.unwrap();
    assert_eq!(s.grants("refresh_token"), [360_000, 481_000]);

    let strict = "{ refresh: proactive, buffer: 5m, soft_window: all_inline, retry: { attempts: 1, keep_token: false } }";
    let (i, _) = client(strict, Scripted::new(600, &[Answer::Ok, UNAVAILABLE], &[]));
    i.token(&mut r).await.unwrap();
    at(360_000).await;
    assert!(i.token(&mut r).await.is_err(), "keep_token: false gives up");
}

fn unauthorized(challenge: bool) -> Answer {
    if challenge {
        Answer::Status(
            401,
            vec![(
                "www-authenticate",
                "Bearer realm=\"x\", error=\"invalid_token\"",
            )],
        )
    } else {
        Answer::Status(401, Vec::new())
    }
}

/// One logical request after the login; whether it succeeded.
async fn one_request(i: &Arc<Instance<Scripted>>) -> bool {
    let mut r = rng(3);
    i.token(&mut r).await.unwrap();
    worker::request(i, &mut r).await.0
}

#[tokio::test(start_paused = true)]
async fn on_401_replays_at_most_n_times() {
    let twice = [unauthorized(true), unauthorized(true)];
    let (i, s) = client(
        "{ on_401: refresh_and_retry, replays: 2 }",
        Scripted::new(600, &[], &twice),
    );
    assert!(one_request(&i).await);
    assert_eq!((s.grants("refresh_token").len(), s.api_calls()), (2, 3));
    let (i, s) = client(
        "{ on_401: refresh_and_retry, replays: 1 }",
        Scripted::new(600, &[], &twice),
    );
    assert!(!one_request(&i).await);
    assert_eq!((s.grants("refresh_token").len(), s.api_calls()), (1, 2));
}

#[tokio::test(start_paused = true)]
async fn on_401_when_invalid_token_ignores_a_bare_401() {
    let policy = "{ on_401: refresh_and_retry, on_401_when: invalid_token }";
    let (i, s) = client(policy, Scripted::new(600, &[], &[unauthorized(false)]));
    assert!(!one_request(&i).await);
    assert!(s.grants("refresh_token").is_empty());
    let (i, s) = client(policy, Scripted::new(600, &[], &[unauthorized(true)]));
    assert!(one_request(&i).await);
    assert_eq!(s.grants("refresh_token").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn on_401_fail_keeps_the_token_and_drop_token_renews_it_next_time() {
    let (i, s) = client(
        "{ on_401: fail }",
        Scripted::new(600, &[], &[unauthorized(true)]),
    );
    assert!(!one_request(&i).await);
    assert!(one_request(&i).await);
    assert!(s.grants("refresh_token").is_empty());

    let (i, s) = client(
        "{ on_401: drop_token }",
        Scripted::new(600, &[], &[unauthorized(true)]),
    );
    assert!(!one_request(&i).await, "no replay");
    assert!(s.grants("refresh_token").is_empty());
    assert!(one_request(&i).await);
    assert_eq!(
        s.grants("refresh_token").len(),
        1,
        "the next request renewed it"
    );
}

#[tokio::test(start_paused = true)]
async fn on_invalid_grant_fail_logs_the_client_out_for_good() {
    let refused = [Answer::Ok, Answer::InvalidGrant];
    let (i, s) = client(
        "{ on_invalid_grant: fail }",
        Scripted::new(600, &refused, &[unauthorized(true)]),
    );
    assert!(
        !one_request(&i).await,
        "the refresh after the 401 is refused"
    );
    assert!(i.client().is_logged_out());
    let mut r = rng(4);
    for _ in 0..3 {
        assert!(!worker::request(&i, &mut r).await.0);
    }
    assert_eq!(s.grants("password").len(), 1, "no second login");
    assert_eq!(s.grants("refresh_token").len(), 1);
    assert_eq!(s.api_calls(), 1, "a logged-out client sends nothing");

    let (i, s) = client(
        "{ on_invalid_grant: login }",
        Scripted::new(600, &refused, &[unauthorized(true)]),
    );
    assert!(one_request(&i).await, "a forced login, then the replay");
    assert!(!i.client().is_logged_out());
    assert_eq!(s.grants("password").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn retry_after_give_up_stops_the_retries() {
    let limited = || Answer::Status(503, vec![("retry-after", "2")]);
    let (i, s) = client(
        "retry: { attempts: 3, backoff: 1s, jitter: none, retry_after: give_up }",
        Scripted::new(600, &[limited()], &[]),
    );
    assert!(i.client().login(&mut rng(1)).await.is_err());
    assert_eq!(s.grants("password"), [0]);
    let (i, s) = client(
        "retry: { attempts: 3, backoff: 1s, jitter: none, retry_after: give_up }",
        Scripted::new(600, &[UNAVAILABLE], &[]),
    );
    assert!(
        i.client().login(&mut rng(1)).await.is_ok(),
        "no Retry-After: retried"
    );
    assert_eq!(s.grants("password"), [0, 1000]);
}

#[tokio::test(start_paused = true)]
async fn a_throttle_replays_kept_error_answers_without_sending() {
    let limited = Answer::Status(429, vec![("retry-after", "30")]);
    let (i, s) = client(
        "{ throttle: { errors: 5s, bad_request: 60s }, retry: { attempts: 1 } }",
        Scripted::new(600, std::slice::from_ref(&limited), &[]),
    );
    let mut r = rng(1);
    assert!(i.client().login(&mut r).await.is_err());
    at(20_000).await;
    assert!(
        i.client().login(&mut r).await.is_err(),
        "replayed for its Retry-After"
    );
    assert_eq!(s.grants("password").len(), 1);
    at(11_000).await;
    assert!(
        i.client().login(&mut r).await.is_ok(),
        "sent once the 30 s are over"
    );
    assert_eq!(s.grants("password").len(), 2);
    // Without a throttle every try is sent.
    let (i, s) = client(
        "{ retry: { attempts: 1 } }",
        Scripted::new(600, &[limited], &[]),
    );
    assert!(i.client().login(&mut r).await.is_err());
    assert!(i.client().login(&mut r).await.is_ok());
    assert_eq!(s.grants("password").len(), 2);
}

/// Refreshes sent in 30 s of the soft window while every refresh fails.
async fn soft_tries(retry: &str) -> usize {
    let failing = [Answer::Ok, UNAVAILABLE, UNAVAILABLE, UNAVAILABLE];
    let policy = format!(
        "{{ refresh: proactive, buffer: 2m, soft_window: all_inline, coordination: none, retry: {retry} }}"
    );
    let (i, s) = client(&policy, Scripted::new(600, &failing, &[]));
    let mut r = rng(1);
    i.client().login(&mut r).await.unwrap();
    at(500_000).await;
    for _ in 0..30 {
        assert!(
            worker::request(&i, &mut r).await.0,
            "the current token serves"
        );
        at(1000).await;
    }
    s.grants("refresh_token").len()
}

#[tokio::test(start_paused = true)]
async fn after_a_soft_failure_hold_waits_for_the_hard_point() {
    assert_eq!(
        soft_tries("{ attempts: 1, after_soft_failure: hold }").await,
        1
    );
    assert_eq!(
        soft_tries("{ attempts: 1 }").await,
        4,
        "retried at every check until one works"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_refresh_past_the_hard_point_fails_the_request() {
    let failing = [Answer::Ok, UNAVAILABLE];
    let (i, s) = client(
        "{ refresh: proactive, buffer: 2m, hard_buffer: 1m, retry: { attempts: 1 } }",
        Scripted::new(600, &failing, &[]),
    );
    let mut r = rng(1);
    i.client().login(&mut r).await.unwrap();
    at(550_000).await;
    assert!(
        !worker::request(&i, &mut r).await.0,
        "no request with a token past its hard point"
    );
    assert_eq!(s.api_calls(), 0);
    assert!(worker::request(&i, &mut r).await.0, "the next try works");
}

#[tokio::test(start_paused = true)]
async fn lock_on_timeout_fail_gives_the_waiter_up() {
    let run = |policy: &'static str| async move {
        let mut server = Scripted::new(600, &[], &[]);
        server.token_delay = std::time::Duration::from_secs(3);
        let (i, s) = client(policy, server);
        i.client().login(&mut rng(1)).await.unwrap();
        at(601_000).await;
        let (a, b) = (i.clone(), i.clone());
        let first = async move { worker::request(&a, &mut rng(3)).await.0 };
        let second = async move { worker::request(&b, &mut rng(4)).await.0 };
        let got = tokio::join!(first, second);
        (got, s.grants("refresh_token").len())
    };
    let fail =
        "{ refresh: proactive, coordination: try_lock, lock: { wait: 1s, on_timeout: fail } }";
    assert_eq!(run(fail).await, ((true, false), 1));
    let refresh = "{ refresh: proactive, coordination: try_lock, lock: { wait: 1s } }";
    assert_eq!(
        run(refresh).await,
        ((true, true), 2),
        "refreshes without the lock"
    );
}

// ---------------------------------------------------------------------------------------
// Whole runs

fn run(yaml: &str) -> Report {
    let s = scenario::parse(yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    run::run(&s, &Control::default()).expect("run")
}

/// Clients per run.
const N: u64 = 8;

/// N clients for `duration`, tokens of `ttl`, requests every `every` from `workers`
/// workers, with `policy`.
fn world(duration: &str, ttl: &str, every: &str, workers: u32, policy: &str) -> String {
    world_spaced(duration, ttl, every, "constant", workers, policy)
}

fn world_spaced(
    duration: &str,
    ttl: &str,
    every: &str,
    spacing: &str,
    workers: u32,
    policy: &str,
) -> String {
    format!(
        r#"
name: t
seed: 11
duration: {duration}
issuer:
  access_token: {{ ttl: {ttl} }}
  latency: {{ distribution: uniform, min: 50ms, max: 150ms }}
clients:
  - name: c
    count: {N}
    workers: {workers}
    start: {{ uniform: 1m }}
    requests: {{ every: {every}, distribution: {spacing} }}
    policy: {policy}
"#
    )
}

#[test]
fn background_refreshes_without_requests_waiting() {
    let on_demand = run(&world(
        "6h",
        "10m",
        "30m",
        1,
        "{ refresh: proactive, buffer: 2m }",
    ));
    let timer = run(&world(
        "6h",
        "10m",
        "30m",
        1,
        "{ refresh: background, buffer: 2m }",
    ));
    // On demand: about one refresh per request (12 per client); by timer, one per
    // 8 minutes (45 per client).
    let per_client = |r: &Report| r.refresh.attempts / N;
    assert!(
        (11..=13).contains(&per_client(&on_demand)),
        "{}",
        per_client(&on_demand)
    );
    assert!(
        (43..=46).contains(&per_client(&timer)),
        "{}",
        per_client(&timer)
    );
    assert_eq!(timer.requests.unauthorized, 0);
}

#[test]
fn fraction_applies_above_min_lifetime_else_the_buffer() {
    let policy = |min: &str| {
        format!("{{ refresh: background, fraction: 0.5, buffer: 1m, min_lifetime: {min} }}")
    };
    let half = run(&world("4h", "1h", "1h", 1, &policy("30m")));
    let buffer = run(&world("4h", "1h", "1h", 1, &policy("2h")));
    // Every 30 minutes against every 59 minutes.
    assert!(
        (7..=8).contains(&(half.refresh.attempts / N)),
        "{}",
        half.refresh.attempts
    );
    assert!(
        (4..=4).contains(&(buffer.refresh.attempts / N)),
        "{}",
        buffer.refresh.attempts
    );
}

#[test]
fn the_servers_refresh_in_sets_the_point_when_used() {
    let yaml = |use_it: bool| {
        world(
            "4h",
            "1h",
            "1h",
            1,
            &format!("{{ refresh: background, buffer: 1m, use_refresh_in: {use_it} }}"),
        )
        .replace("ttl: 1h }", "ttl: 1h, refresh_in: 10m }")
    };
    let used = run(&yaml(true));
    let ignored = run(&yaml(false));
    assert!(
        (23..=24).contains(&(used.refresh.attempts / N)),
        "{}",
        used.refresh.attempts
    );
    assert_eq!(ignored.refresh.attempts / N, 4);
}

#[test]
fn jitter_is_drawn_once_per_token_unless_asked_per_check() {
    let default = run(&world(
        "2h",
        "10m",
        "2s",
        1,
        "{ refresh: proactive, buffer: 1m, jitter: 4m }",
    ));
    let token = run(&world(
        "2h",
        "10m",
        "2s",
        1,
        "{ refresh: proactive, buffer: 1m, jitter: 4m, jitter_per: token }",
    ));
    assert_eq!(default.refresh.attempts, token.refresh.attempts);
}

#[test]
fn later_and_both_jitter_move_the_refresh_towards_expiry_or_either_way() {
    let per = |r: &Report| r.refresh.attempts as f64 / N as f64;
    let with = |direction: &str| {
        run(&world(
            "2h",
            "10m",
            "2s",
            1,
            &format!(
                "{{ refresh: proactive, buffer: 5m, jitter: 4m, jitter_direction: {direction} }}"
            ),
        ))
    };
    let none = run(&world(
        "2h",
        "10m",
        "2s",
        1,
        "{ refresh: proactive, buffer: 5m }",
    ));
    let (earlier, later, both) = (with("earlier"), with("later"), with("both"));
    // Tokens live 5 min without jitter; about 3 min earlier, 7 min later, 5 min both.
    assert!(
        per(&earlier) > per(&none) + 5.0,
        "{} vs {}",
        per(&earlier),
        per(&none)
    );
    assert!(
        per(&later) < per(&none) - 3.0,
        "{} vs {}",
        per(&later),
        per(&none)
    );
    assert!(
        (per(&both) - per(&none)).abs() < 3.0,
        "{} vs {}",
        per(&both),
        per(&none)
    );
    assert_eq!(later.requests.unauthorized, 0, "still before expiry");
}

/// A token shorter than the buffer runs: every use refreshes it first, and the report
/// says why.
#[test]
fn a_token_shorter_than_the_buffer_is_refreshed_at_every_use_with_a_warning() {
    let r = run(&world(
        "10m",
        "8s",
        "20s",
        1,
        "{ preset: google-auth-python }",
    ));
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    assert!(r.warnings[0].starts_with("clients[0].policy.preset: a buffer of 3m45s"));
    // About one refresh per request (30 a client in 10 minutes), no 401.
    assert!(
        r.refresh.attempts >= r.requests.ok - N,
        "{:?} {:?}",
        r.refresh,
        r.requests
    );
    assert_eq!(r.requests.unauthorized, 0);
}

#[test]
fn jitter_per_check_pulls_refreshes_earlier_than_per_token() {
    let policy =
        |per: &str| format!("{{ refresh: proactive, buffer: 1m, jitter: 4m, jitter_per: {per} }}");
    let check = run(&world("2h", "10m", "2s", 1, &policy("check")));
    let token = run(&world("2h", "10m", "2s", 1, &policy("token")));
    let none = run(&world(
        "2h",
        "10m",
        "2s",
        1,
        "{ refresh: proactive, buffer: 1m }",
    ));
    // With a draw at every check, one soon lands near the full jitter: tokens live
    // about 5 min; with one draw per token, 7 min on average; without jitter, 9 min.
    let per = |r: &Report| r.refresh.attempts as f64 / N as f64;
    assert!(
        per(&check) > per(&token) + 3.0,
        "{} vs {}",
        per(&check),
        per(&token)
    );
    assert!(
        per(&token) > per(&none) + 2.0,
        "{} vs {}",
        per(&token),
        per(&none)
    );
}

#[test]
fn soft_windows_decide_who_waits() {
    let policy =
        |window: &str| format!("{{ refresh: proactive, buffer: 2m, soft_window: {window} }}");
    let block = run(&world("1h", "10m", "1s", 4, &policy("block")));
    let stale = run(&world("1h", "10m", "1s", 4, &policy("serve_stale")));
    let one = run(&world("1h", "10m", "1s", 4, &policy("one_inline")));
    let all = run(&world("1h", "10m", "1s", 4, &policy("all_inline")));
    for r in [&block, &stale, &one, &all] {
        assert_eq!(r.requests.unauthorized, 0);
        assert!(r.refresh.attempts >= N * 6);
    }
    // block: the instance's other workers wait on the refresh.
    assert!(block.lock.contended > 0);
    // serve_stale: nobody waits, not even the caller that started the refresh.
    assert_eq!(stale.lock.contended, 0);
    assert_eq!(
        stale.refresh.duplicates, 0,
        "one background refresh at a time"
    );
    // one_inline: the caller that refreshes waits, the others do not.
    assert_eq!(one.lock.contended, 0);
    assert_eq!(one.refresh.duplicates, 0);
    // all_inline: every caller past the point refreshes: duplicates.
    assert!(all.refresh.duplicates > 0, "{:?}", all.refresh);
    assert_eq!(block.refresh.duplicates, 0);
}

#[test]
fn a_hard_buffer_makes_everyone_wait_even_when_serving_stale() {
    let stale_hard = run(&world(
        "1h",
        "10m",
        "1s",
        4,
        "{ refresh: proactive, buffer: 2m, hard_buffer: 2m, soft_window: serve_stale }",
    ));
    assert!(stale_hard.lock.contended > 0);
}

#[test]
fn try_lock_rechecks_and_times_out_into_uncoordinated_refreshes() {
    let patient = run(&world(
        "1h",
        "10m",
        "1s",
        4,
        "{ refresh: proactive, buffer: 2m, coordination: try_lock, lock: { wait: 5s } }",
    ));
    assert!(patient.lock.contended > 0);
    assert_eq!(patient.lock.timeouts, 0);
    assert_eq!(
        patient.refresh.duplicates, 0,
        "the store is re-checked after acquiring"
    );
    let hasty = run(&world(
        "1h",
        "10m",
        "1s",
        4,
        "{ refresh: proactive, buffer: 2m, coordination: try_lock, lock: { wait: 10ms } }",
    ));
    assert!(hasty.lock.timeouts > 0);
    assert!(hasty.refresh.duplicates > 0, "{:?}", hasty.refresh);
}

#[test]
fn queueing_during_a_refresh_avoids_the_401s_of_the_old_token() {
    let policy = |during: &str| format!("{{ refresh: reactive, during_refresh: {during} }}");
    let old = run(&world_spaced(
        "1h",
        "10m",
        "200ms",
        "exponential",
        4,
        &policy("old_token"),
    ));
    let queue = run(&world_spaced(
        "1h",
        "10m",
        "200ms",
        "exponential",
        4,
        &policy("queue"),
    ));
    assert!(
        queue.requests.unauthorized < old.requests.unauthorized,
        "{} vs {}",
        queue.requests.unauthorized,
        old.requests.unauthorized
    );
    assert!(queue.lock.contended > 0);
}

/// N clients of 4 workers sharing one session (no coordination), tokens rotated with
/// strict reuse detection: the race of the real libraries.
fn shared_session(on_invalid_grant: &str) -> Report {
    run(&format!(
        r#"
name: t
seed: 5
duration: 1h
issuer:
  access_token: {{ ttl: 10m }}
  refresh_token: {{ rotation: true, reuse_detection: true, reuse_grace: 0s }}
  latency: {{ distribution: uniform, min: 50ms, max: 150ms }}
resource: {{ check_revocation: true }}
clients:
  - name: c
    count: {N}
    workers: 4
    start: {{ uniform: 1m }}
    requests: {{ every: 1s }}
    policy: {{ refresh: proactive, buffer: 1m, soft_window: all_inline, coordination: none, on_invalid_grant: {on_invalid_grant} }}
"#
    ))
}

#[test]
fn a_rotation_race_logs_refresh_token_only_clients_out() {
    let out = shared_session("fail");
    assert!(out.rotation.reuse_detected > 0);
    assert_eq!(out.login.forced, 0, "nobody logs in again");
    assert!(out.clients.logged_out > 0);
    assert!(out.clients.logged_out <= N);
    assert!(out.requests.failed > 0);
    let series = &out.timeline.series.logged_out;
    assert_eq!(series.last().copied(), Some(out.clients.logged_out));
    assert!(
        series.windows(2).all(|w| w[0] <= w[1]),
        "a level that only grows"
    );
    assert_eq!(out.groups["c"].clients.logged_out, out.clients.logged_out);
    // The revoked family's access tokens die too: the API, checking revocation,
    // rejects the ones still held.
    assert!(out.resource.rejected_revoked > 0, "{:?}", out.resource);

    let back = shared_session("login");
    assert!(back.rotation.reuse_detected > 0);
    assert!(back.login.forced > 0);
    assert_eq!(back.clients.logged_out, 0);
    assert!(back.requests.failed < out.requests.failed);
}
