//! Each preset against what its SDK's source does (the citations are the presets' doc
//! comments): one client against a scripted server, on the virtual clock, for each
//! column of behaviour. The refresh point and the jitter's window and direction; the
//! tries a failing refresh gets; what a rejected API request leads to; how four
//! callers at once are coordinated; and what the client can do once its refresh token
//! is refused. A row per preset says what its SDK does; every preset must have one.

use std::sync::Arc;

use tokenstorm::client::{Instance, worker};
use tokenstorm::duration::Dur;
use tokenstorm::scenario::policy::Trigger;
use tokenstorm::scenario::{Coordination as C, OnInvalidGrant, PolicySpec};
use tokenstorm::scenario::{Policy, presets};

mod scripted;
use scripted::{Answer, Scripted, at, client_with, rng};

fn preset(name: &str) -> Policy {
    assert!(presets::find(name).is_some(), "no preset {name}");
    Policy::resolve(&PolicySpec {
        preset: Some(name.into()),
        ..Default::default()
    })
}

fn secs(s: i64) -> Dur {
    Dur::secs(s)
}

/// What one SDK does, as its source says.
struct Row {
    name: &'static str,
    /// Where the first refresh falls, in seconds before the token's expiry (requests
    /// every second: the refresh comes at the first request past the point).
    window: (f64, f64),
    /// Tries of a refresh answered 503, 502 and 429 (without Retry-After) each time.
    tries: [usize; 3],
    /// API requests sent for one logical request answered 401 every time.
    sends_on_401: usize,
    /// Refreshes sent when four callers need one at once (a slow token endpoint).
    refreshes_of_four: usize,
    /// What a refused refresh token leads to.
    after_invalid_grant: OnInvalidGrant,
}

use OnInvalidGrant::{Fail as LoggedOut, Login as LogsIn};

const ROWS: &[Row] = &[
    Row {
        name: "golang-oauth2",
        window: (9.0, 10.0),
        tries: [1, 1, 1],
        sends_on_401: 1,
        refreshes_of_four: 1,
        after_invalid_grant: LoggedOut,
    },
    Row {
        name: "google-auth-python",
        window: (224.0, 225.0),
        tries: [3, 1, 3],
        sends_on_401: 3,
        refreshes_of_four: 4,
        after_invalid_grant: LoggedOut,
    },
    Row {
        name: "google-cloud-go",
        window: (224.0, 225.0),
        tries: [1, 1, 1],
        sends_on_401: 1,
        refreshes_of_four: 1,
        after_invalid_grant: LoggedOut,
    },
    Row {
        name: "google-auth-java",
        window: (224.0, 225.0),
        tries: [1, 1, 1],
        sends_on_401: 11,
        refreshes_of_four: 1,
        after_invalid_grant: LoggedOut,
    },
    Row {
        name: "msal-python",
        window: (299.0, 300.0),
        tries: [1, 1, 1],
        sends_on_401: 1,
        refreshes_of_four: 4,
        after_invalid_grant: LoggedOut,
    },
    Row {
        name: "msal-dotnet",
        window: (299.0, 300.0),
        tries: [2, 2, 1],
        sends_on_401: 1,
        refreshes_of_four: 4,
        after_invalid_grant: LoggedOut,
    },
    Row {
        name: "azure-identity",
        window: (239.0, 300.0),
        tries: [4, 4, 4],
        sends_on_401: 1,
        refreshes_of_four: 4,
        after_invalid_grant: LogsIn,
    },
    Row {
        name: "azure-core-dotnet",
        window: (299.0, 300.0),
        tries: [1, 1, 1],
        sends_on_401: 1,
        refreshes_of_four: 1,
        after_invalid_grant: LogsIn,
    },
    Row {
        name: "aws-sdk-rust",
        window: (4.0, 10.0),
        tries: [1, 1, 1],
        sends_on_401: 1,
        refreshes_of_four: 1,
        after_invalid_grant: LogsIn,
    },
    Row {
        name: "aws-sdk-java",
        window: (119.0, 300.0),
        tries: [1, 1, 1],
        sends_on_401: 1,
        refreshes_of_four: 1,
        after_invalid_grant: LogsIn,
    },
    Row {
        name: "botocore",
        window: (899.0, 900.0),
        tries: [1, 1, 1],
        sends_on_401: 1,
        refreshes_of_four: 1,
        after_invalid_grant: LogsIn,
    },
    Row {
        name: "spring-security",
        window: (59.0, 60.0),
        tries: [1, 1, 1],
        sends_on_401: 1,
        refreshes_of_four: 4,
        after_invalid_grant: LogsIn,
    },
    Row {
        name: "auth0-spa-js",
        window: (59.0, 60.0),
        tries: [1, 1, 1],
        sends_on_401: 1,
        refreshes_of_four: 1,
        after_invalid_grant: LoggedOut,
    },
    Row {
        name: "requests-oauthlib",
        window: (-1.0, 0.0),
        tries: [1, 1, 1],
        sends_on_401: 1,
        refreshes_of_four: 4,
        after_invalid_grant: LoggedOut,
    },
    Row {
        name: "authlib",
        window: (59.0, 60.0),
        tries: [1, 1, 1],
        sends_on_401: 1,
        refreshes_of_four: 4,
        after_invalid_grant: LoggedOut,
    },
    Row {
        name: "guide-js",
        window: (299.0, 300.0),
        tries: [3, 3, 3],
        sends_on_401: 2,
        refreshes_of_four: 1,
        after_invalid_grant: LogsIn,
    },
    Row {
        name: "guide-python",
        window: (299.0, 300.0),
        tries: [3, 3, 3],
        sends_on_401: 2,
        refreshes_of_four: 1,
        after_invalid_grant: LogsIn,
    },
];

const TTL: i64 = 3600;

/// A logged-in client of preset `name` (draws from `seed`) against `server`.
async fn logged_in(
    name: &str,
    server: Scripted,
    seed: u64,
) -> (Arc<Instance<Scripted>>, Arc<Scripted>) {
    let (i, s) = client_with(preset(name), server, seed);
    i.client().login(&mut rng(seed)).await.unwrap();
    (i, s)
}

/// Seconds before expiry at which a client of `row`'s preset first refreshed.
async fn refresh_point(row: &Row, seed: u64) -> f64 {
    let (i, s) = logged_in(row.name, Scripted::new(TTL, &[], &[]), seed).await;
    let mut r = rng(seed + 1000);
    let from = ((TTL as f64 - row.window.1 - 30.0) * 1000.0) as u64;
    at(from).await;
    let mut now = from;
    while s.grants("refresh_token").is_empty() && now < (TTL as u64 + 10) * 1000 {
        worker::request(&i, &mut r).await;
        at(1000).await;
        now += 1000;
    }
    let first = *s.grants("refresh_token").first().expect("a refresh");
    (TTL * 1000 - first as i64) as f64 / 1000.0
}

#[tokio::test(start_paused = true)]
async fn each_preset_refreshes_where_its_sdk_does() {
    for row in ROWS {
        let points: Vec<f64> = {
            let mut v = Vec::new();
            for seed in 0..24 {
                v.push(refresh_point(row, seed).await);
            }
            v
        };
        let (lo, hi) = points
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &p| (a.min(p), b.max(p)));
        assert!(
            lo >= row.window.0 && hi <= row.window.1,
            "{}: refreshed {lo}..{hi} s before expiry, its SDK in {:?}",
            row.name,
            row.window
        );
        // A jittered window is filled, not hit at one end.
        let width = row.window.1 - row.window.0;
        if width > 2.0 {
            assert!(
                hi - lo > width / 2.0,
                "{}: {lo}..{hi} fills too little of {:?}",
                row.name,
                row.window
            );
        }
    }
}

/// Refresh tries sent when every refresh is answered `answer`.
async fn tries(name: &str, answer: Answer) -> usize {
    let answers = [
        Answer::Ok,
        answer.clone(),
        answer.clone(),
        answer.clone(),
        answer.clone(),
        answer,
    ];
    let (i, s) = logged_in(name, Scripted::new(TTL, &answers, &[]), 1).await;
    at((TTL as u64 + 1) * 1000).await;
    worker::request(&i, &mut rng(2)).await;
    s.grants("refresh_token").len()
}

#[tokio::test(start_paused = true)]
async fn each_preset_retries_a_failed_refresh_as_its_sdk_does() {
    for row in ROWS {
        let got = [
            tries(row.name, Answer::Status(503, vec![])).await,
            tries(row.name, Answer::Status(502, vec![])).await,
            tries(row.name, Answer::Status(429, vec![])).await,
        ];
        assert_eq!(got, row.tries, "{}: tries on 503, 502, 429", row.name);
    }
}

#[tokio::test(start_paused = true)]
async fn each_preset_answers_a_401_as_its_sdk_does() {
    let challenge = Answer::Status(
        401,
        vec![("www-authenticate", "Bearer error=\"invalid_token\"")],
    );
    for row in ROWS {
        let api = vec![challenge.clone(); 20];
        let (i, s) = logged_in(row.name, Scripted::new(TTL, &[], &api), 1).await;
        let ok = worker::request(&i, &mut rng(2)).await.0;
        assert!(!ok, "{}", row.name);
        assert_eq!(
            s.api_calls(),
            row.sends_on_401,
            "{}: API requests for one 401",
            row.name
        );
    }
}

#[tokio::test(start_paused = true)]
async fn each_preset_coordinates_four_callers_as_its_sdk_does() {
    for row in ROWS {
        let mut server = Scripted::new(TTL, &[], &[]);
        server.token_delay = std::time::Duration::from_millis(500);
        let (i, s) = logged_in(row.name, server, 1).await;
        at((TTL as u64 + 1) * 1000).await;
        let call = |n| {
            let i = i.clone();
            async move { worker::request(&i, &mut rng(n)).await.0 }
        };
        let done = tokio::join!(call(11), call(12), call(13), call(14));
        assert_eq!(done, (true, true, true, true), "{}", row.name);
        assert_eq!(
            s.grants("refresh_token").len(),
            row.refreshes_of_four,
            "{}: refreshes for four callers",
            row.name
        );
    }
}

#[tokio::test(start_paused = true)]
async fn each_preset_logs_in_again_or_stays_logged_out_as_its_sdk_can() {
    for row in ROWS {
        let (i, s) = logged_in(
            row.name,
            Scripted::new(TTL, &[Answer::Ok, Answer::InvalidGrant], &[]),
            1,
        )
        .await;
        at((TTL as u64 + 1) * 1000).await;
        let mut r = rng(2);
        let first = worker::request(&i, &mut r).await.0;
        let later = worker::request(&i, &mut r).await.0;
        match row.after_invalid_grant {
            LoggedOut => {
                assert!(!first && !later, "{}", row.name);
                assert!(i.client().is_logged_out(), "{}", row.name);
                assert_eq!(
                    s.grants("password").len(),
                    1,
                    "{}: no second login",
                    row.name
                );
            }
            LogsIn => {
                assert!(first && later, "{}", row.name);
                assert_eq!(
                    s.grants("password").len(),
                    2,
                    "{}: a forced login",
                    row.name
                );
            }
        }
    }
}

#[test]
fn every_preset_has_a_row() {
    for p in presets::ALL {
        assert!(
            ROWS.iter().any(|r| r.name == p.name),
            "{} has no row",
            p.name
        );
    }
    assert_eq!(ROWS.len(), presets::ALL.len());
}

/// azure-core's per-token `randint(0, 60)` comes off the 300 s window: never earlier
/// than 300 s; aws-sdk-rust's jitter shortens the 10 s buffer: never earlier than 10 s.
/// Both are drawn once per token: the same client keeps its point at every check.
#[tokio::test(start_paused = true)]
async fn later_jitter_moves_the_refresh_towards_expiry_once_per_token() {
    for (name, buffer) in [
        ("azure-identity", 300.0),
        ("aws-sdk-rust", 10.0),
        ("aws-sdk-java", 300.0),
    ] {
        let row = ROWS.iter().find(|r| r.name == name).unwrap();
        for seed in 0..12 {
            let p = refresh_point(row, seed).await;
            assert!(
                p <= buffer,
                "{name}: {p} s before expiry is earlier than {buffer}"
            );
        }
    }
}

/// MSAL.NET draws ±300 s around `refresh_on` at every check: a single check 100 s after
/// `refresh_on` refreshes for most draws but not all (the jitter can move it later),
/// and one 100 s before for some.
#[tokio::test(start_paused = true)]
async fn msal_dotnet_jitters_refresh_on_both_ways_at_each_check() {
    let refreshed = |check_s: u64| async move {
        let mut n = 0;
        for seed in 0..60 {
            let mut server = Scripted::new(TTL, &[], &[]);
            server.refresh_in = Some(1800);
            let (i, s) = logged_in("msal-dotnet", server, seed).await;
            at(check_s * 1000).await;
            worker::request(&i, &mut rng(seed + 500)).await;
            tokio::task::yield_now().await;
            n += usize::from(!s.grants("refresh_token").is_empty());
        }
        n
    };
    let after = refreshed(1900).await;
    let before = refreshed(1700).await;
    assert!(
        after > 30 && after < 60,
        "{after} of 60 refreshed 100 s after refresh_on"
    );
    assert!(
        before > 0 && before < 30,
        "{before} of 60 refreshed 100 s before it"
    );
}

/// MSAL Python replays a kept error answer without sending: a 503 for 5 s, a 400 for
/// 60 s (`throttled_http_client.py`).
#[tokio::test(start_paused = true)]
async fn msal_python_replays_error_answers_from_its_throttle() {
    let answers = [Answer::Ok, Answer::Status(503, vec![])];
    let (i, s) = logged_in("msal-python", Scripted::new(TTL, &answers, &[]), 1).await;
    at((TTL as u64 - 200) * 1000).await;
    let mut r = rng(2);
    assert!(!worker::request(&i, &mut r).await.0, "the 503");
    at(2000).await;
    assert!(
        !worker::request(&i, &mut r).await.0,
        "the 503 again, replayed"
    );
    assert_eq!(s.grants("refresh_token").len(), 1);
    at(4000).await;
    assert!(worker::request(&i, &mut r).await.0, "sent again after 5 s");
    assert_eq!(s.grants("refresh_token").len(), 2);
}

/// google-cloud-go: after one failed background refresh, none until the token is
/// invalid (`isRefreshErr`); then one blocking refresh.
#[tokio::test(start_paused = true)]
async fn google_cloud_go_tries_once_per_stale_window() {
    let answers = [Answer::Ok, Answer::Status(503, vec![])];
    let (i, s) = logged_in("google-cloud-go", Scripted::new(TTL, &answers, &[]), 1).await;
    at((TTL as u64 - 220) * 1000).await;
    let mut r = rng(2);
    for _ in 0..200 {
        assert!(
            worker::request(&i, &mut r).await.0,
            "the stale token serves"
        );
        at(1000).await;
    }
    assert_eq!(s.grants("refresh_token").len(), 1, "one background try");
    at(21_000).await;
    assert!(worker::request(&i, &mut r).await.0);
    assert_eq!(
        s.grants("refresh_token").len(),
        2,
        "a blocking refresh at expiry"
    );
}

/// auth0-spa-js with Web Locks: a caller that waits 5 s for the lock fails with
/// TimeoutError; it does not refresh without the lock.
#[tokio::test(start_paused = true)]
async fn auth0_fails_a_caller_whose_lock_wait_runs_out() {
    let mut server = Scripted::new(TTL, &[], &[]);
    server.token_delay = std::time::Duration::from_secs(8);
    let (i, s) = logged_in("auth0-spa-js", server, 1).await;
    at((TTL as u64 + 1) * 1000).await;
    let (a, b) = (i.clone(), i.clone());
    let first = async move { worker::request(&a, &mut rng(3)).await.0 };
    let second = async move {
        at(100).await;
        worker::request(&b, &mut rng(4)).await.0
    };
    let (first, second) = tokio::join!(first, second);
    assert!(first && !second, "{first} {second}");
    assert_eq!(s.grants("refresh_token").len(), 1);
}

/// MSAL.NET retries a 5xx once, but not when the answer carries Retry-After.
#[tokio::test(start_paused = true)]
async fn msal_dotnet_gives_up_on_retry_after() {
    let limited = Answer::Status(503, vec![("retry-after", "2")]);
    assert_eq!(tries("msal-dotnet", limited).await, 1);
}

/// The presets whose tries depend on a timeout: auth0-spa-js tries a token request 3
/// times on network errors only.
#[tokio::test(start_paused = true)]
async fn auth0_retries_network_errors_only() {
    assert_eq!(tries("auth0-spa-js", Answer::Silent).await, 3);
    assert_eq!(tries("auth0-spa-js", Answer::Status(500, vec![])).await, 1);
}

#[test]
fn the_resolved_triggers_are_the_sdks_constants() {
    assert_eq!(preset("golang-oauth2").trigger, Trigger::Buffer(secs(10)));
    assert_eq!(preset("google-auth-java").hard_buffer, secs(180));
    assert_eq!(preset("botocore").hard_buffer, secs(600));
    assert_eq!(preset("aws-sdk-java").coordination, C::TryLock);
    assert_eq!(preset("aws-sdk-java").wait, Some(secs(5)));
}

#[test]
fn written_keys_override_a_preset() {
    let p = Policy::resolve(&PolicySpec {
        preset: Some("golang-oauth2".into()),
        buffer: Some(secs(30)),
        coordination: Some(C::None),
        ..Default::default()
    });
    assert_eq!(p.trigger, Trigger::Buffer(secs(30)));
    assert_eq!(p.coordination, C::None);
    assert_eq!(p.retry.attempts, 1, "the rest of the preset stays");
}

/// A scenario carries each group's policy resolved from the moment it is read, so the
/// checks, the workers' split and the run all read the one resolution; an edit in code
/// takes effect once resolved again.
#[test]
fn a_loaded_scenario_carries_its_resolved_policies() {
    let mut s = tokenstorm::scenario::parse(
        "name: t\nduration: 1h\nclients:\n  - { name: a, count: 1, policy: { preset: golang-oauth2, buffer: 30s } }\n  - { name: b, count: 1 }\n",
        "t.yaml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.clients[0].resolved, Policy::resolve(&s.clients[0].policy));
    assert_eq!(s.clients[0].resolved.trigger, Trigger::Buffer(secs(30)));
    assert_eq!(s.clients[0].resolved.retry.attempts, 1, "the preset's");
    assert_eq!(s.clients[1].resolved, Policy::default());
    s.clients[1].policy.coordination = Some(C::None);
    assert_ne!(s.clients[1].resolved.coordination, C::None);
    s.resolve();
    assert_eq!(s.clients[1].resolved.coordination, C::None);
}

/// The README's preset table is what `tokenstorm presets` prints, row for row.
#[test]
fn the_readme_lists_every_preset_as_it_is() {
    let readme = include_str!("../README.md");
    for p in presets::ALL {
        let row = format!("| `{}` | {}: {} |", p.name, p.sdk, p.summary);
        assert!(readme.contains(&row), "README lacks or differs on:\n{row}");
    }
}

/// Four threads sharing one google-auth session, against an issuer that rotates refresh
/// tokens with strict reuse detection: at the refresh point all four refresh with the
/// same refresh token; one gets new tokens, three get invalid_grant (the family is
/// revoked), and the session, holding only a refresh token, fails every call after.
#[test]
fn four_threads_on_one_google_auth_session_lose_it_to_reuse_detection() {
    let yaml = r#"
name: t
seed: 2
duration: 30m
issuer:
  access_token: { ttl: 10m }
  refresh_token: { rotation: true, reuse_detection: true, reuse_grace: 0s }
  latency: 100ms
resource: { check_revocation: true }
clients:
  - name: app
    count: 1
    workers: 4
    requests: { every: 1s, distribution: constant }
    policy: { preset: google-auth-python }
"#;
    let s = tokenstorm::scenario::parse(yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    let r = tokenstorm::run::run(&s, &tokenstorm::run::Control::default()).unwrap();
    assert_eq!(r.refresh.succeeded, 1, "{:?}", r.refresh);
    assert!(r.refresh.invalid_grant >= 3, "{:?}", r.refresh);
    assert_eq!(r.rotation.reuse_detected, 1);
    assert_eq!((r.login.forced, r.clients.logged_out), (0, 1));
    // From then on, every call fails: about four a second for the last 20 minutes.
    assert!(r.requests.failed > 4 * 60 * 19, "{:?}", r.requests);
}
