//! Each preset against its row of the SDK table: the trigger, the mode, how concurrent
//! callers are coordinated, what they do while a refresh runs, failures, 401s and the
//! expiry source, as the resolved policy has them.

use tokenstorm::duration::Dur;
use tokenstorm::scenario::policy::Trigger;
use tokenstorm::scenario::{
    Coordination as C, DuringRefresh, ExpirySource as X, JitterPer, On401, On401When, PolicySpec,
    RefreshMode as M, RetryJitter, SoftWindow as W,
};
use tokenstorm::scenario::{Policy, presets};

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

/// The columns every row has.
#[allow(clippy::too_many_arguments)]
#[track_caller]
fn row(
    p: &Policy,
    mode: M,
    trigger: Trigger,
    hard: i64,
    window: W,
    coordination: C,
    attempts: u32,
    on_401: On401,
    expiry: X,
) {
    assert_eq!(p.refresh, mode, "mode");
    assert_eq!(p.trigger, trigger, "trigger");
    assert_eq!(p.hard_buffer, secs(hard), "hard buffer");
    assert_eq!(p.soft_window, window, "soft window");
    assert_eq!(p.coordination, coordination, "coordination");
    assert_eq!(p.retry.attempts, attempts, "tries");
    assert_eq!(p.on_401, on_401, "on 401");
    assert_eq!(p.expiry_source, expiry, "expiry source");
}

#[test]
fn golang_oauth2() {
    let p = preset("golang-oauth2");
    row(
        &p,
        M::Proactive,
        Trigger::Buffer(secs(10)),
        0,
        W::Block,
        C::SingleFlight,
        1,
        On401::Fail,
        X::ExpiresIn,
    );
    assert_eq!(p.during_refresh, DuringRefresh::Queue, "everyone waits");
}

#[test]
fn google_auth_python() {
    let p = preset("google-auth-python");
    row(
        &p,
        M::Proactive,
        Trigger::Buffer(secs(225)),
        0,
        W::AllInline,
        C::None,
        3,
        On401::RefreshAndRetry,
        X::ExpiresIn,
    );
    assert_eq!((p.retry.backoff, p.retry.multiplier), (secs(1), 2.0));
    assert_eq!(
        (p.retry.jitter, p.retry.jitter_ratio),
        (RetryJitter::Proportional, 0.1)
    );
    assert!(p.retry.retryable(503) && p.retry.retryable(408) && p.retry.retryable(429));
    assert_eq!(p.replays, 2);
}

#[test]
fn google_cloud_go() {
    let p = preset("google-cloud-go");
    row(
        &p,
        M::Proactive,
        Trigger::Buffer(secs(225)),
        0,
        W::ServeStale,
        C::SingleFlight,
        1,
        On401::Fail,
        X::ExpiresIn,
    );
}

#[test]
fn google_auth_java() {
    let p = preset("google-auth-java");
    row(
        &p,
        M::Proactive,
        Trigger::Buffer(secs(225)),
        180,
        W::ServeStale,
        C::SingleFlight,
        3,
        On401::RefreshAndRetry,
        X::ExpiresIn,
    );
    assert_eq!(p.replays, 1);
    assert_eq!(p.on_401_when, On401When::Any);
}

#[test]
fn msal_python() {
    let p = preset("msal-python");
    row(
        &p,
        M::Proactive,
        Trigger::Buffer(secs(300)),
        300,
        W::AllInline,
        C::None,
        2,
        On401::Fail,
        X::ExpiresIn,
    );
    assert!(p.use_refresh_in);
    assert!(p.retry.keep_token && p.retry.retry_after);
    assert!(p.retry.retryable(429) && p.retry.retryable(500) && !p.retry.retryable(408));
}

#[test]
fn msal_dotnet() {
    let p = preset("msal-dotnet");
    let trigger = Trigger::Fraction {
        fraction: 0.5,
        min_lifetime: secs(7200),
        buffer: secs(300),
    };
    row(
        &p,
        M::Proactive,
        trigger,
        300,
        W::ServeStale,
        C::None,
        2,
        On401::Fail,
        X::ExpiresIn,
    );
    assert!(p.use_refresh_in);
    assert_eq!((p.jitter, p.jitter_per), (secs(300), JitterPer::Check));
    assert!(p.retry.retryable(500) && !p.retry.retryable(429));
}

#[test]
fn azure_identity() {
    let p = preset("azure-identity");
    row(
        &p,
        M::Proactive,
        Trigger::Buffer(secs(300)),
        0,
        W::AllInline,
        C::None,
        1,
        On401::DropToken,
        X::JwtExp,
    );
    assert_eq!(p.retry.min_interval, secs(30));
    assert!(p.retry.keep_token);
}

#[test]
fn azure_core_dotnet() {
    let p = preset("azure-core-dotnet");
    row(
        &p,
        M::Proactive,
        Trigger::Buffer(secs(300)),
        0,
        W::ServeStale,
        C::SingleFlight,
        1,
        On401::Fail,
        X::JwtExp,
    );
    assert_eq!(p.retry.min_interval, secs(30));
}

#[test]
fn aws_sdk_rust() {
    let p = preset("aws-sdk-rust");
    row(
        &p,
        M::Proactive,
        Trigger::Buffer(secs(10)),
        0,
        W::Block,
        C::SingleFlight,
        1,
        On401::Fail,
        X::JwtExp,
    );
    assert_eq!(
        (p.jitter, p.jitter_per),
        (secs(5), JitterPer::Token),
        "buffer x U[0, 0.5] once per token"
    );
    assert_eq!(p.during_refresh, DuringRefresh::Queue);
}

#[test]
fn aws_sdk_java() {
    let p = preset("aws-sdk-java");
    row(
        &p,
        M::Proactive,
        Trigger::Buffer(secs(300)),
        60,
        W::OneInline,
        C::TryLock,
        1,
        On401::Fail,
        X::JwtExp,
    );
    assert_eq!(p.wait, Some(secs(5)));
    assert_eq!(p.jitter_per, JitterPer::Token);
}

#[test]
fn botocore() {
    let p = preset("botocore");
    row(
        &p,
        M::Proactive,
        Trigger::Buffer(secs(900)),
        600,
        W::OneInline,
        C::TryLock,
        1,
        On401::Fail,
        X::JwtExp,
    );
    assert!(p.retry.keep_token, "advisory failure ignored");
}

#[test]
fn spring_security() {
    let p = preset("spring-security");
    row(
        &p,
        M::Proactive,
        Trigger::Buffer(secs(60)),
        0,
        W::AllInline,
        C::None,
        1,
        On401::DropToken,
        X::ExpiresIn,
    );
    assert_eq!(p.on_401_when, On401When::InvalidToken);
}

#[test]
fn auth0_spa_js() {
    let p = preset("auth0-spa-js");
    row(
        &p,
        M::Proactive,
        Trigger::Buffer(secs(60)),
        0,
        W::Block,
        C::TryLock,
        1,
        On401::Fail,
        X::ExpiresIn,
    );
    assert_eq!(p.wait, Some(secs(50)), "10 tries of 5000 ms");
}

#[test]
fn guide_js() {
    let p = preset("guide-js");
    row(
        &p,
        M::Background,
        Trigger::Buffer(secs(300)),
        0,
        W::Block,
        C::SingleFlight,
        3,
        On401::RefreshAndRetry,
        X::ExpiresIn,
    );
    assert_eq!(p.during_refresh, DuringRefresh::Queue);
    assert_eq!(
        (p.retry.backoff, p.retry.multiplier, p.retry.jitter),
        (secs(2), 2.0, RetryJitter::None)
    );
    assert_eq!(p.retry.delay(2, 0.5), secs(4), "waits 2 s then 4 s");
    assert!(
        !p.retry.retryable(400),
        "no retry on invalid_grant / invalid_client"
    );
    assert_eq!((p.replays, p.on_401_when), (1, On401When::InvalidToken));
}

#[test]
fn guide_python() {
    let p = preset("guide-python");
    row(
        &p,
        M::Proactive,
        Trigger::Buffer(secs(300)),
        0,
        W::Block,
        C::TryLock,
        3,
        On401::RefreshAndRetry,
        X::ExpiresIn,
    );
    assert_eq!(p.wait, None, "an asyncio lock waits as long as it takes");
    assert_eq!((p.replays, p.on_401_when), (1, On401When::InvalidToken));
}

#[test]
fn every_preset_is_covered_here() {
    let names: Vec<&str> = presets::ALL.iter().map(|p| p.name).collect();
    let here = include_str!("presets.rs");
    for n in names {
        assert!(
            here.contains(&format!("preset(\"{n}\")")),
            "{n} has no test"
        );
    }
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
