//! Dialects of a rejected token (SPEC §1.2): how the fake API answers an expired token
//! in each, and which client policies can read which answer. A policy that cannot
//! read its API's dialect never refreshes: its requests fail, as they would in
//! production.

use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, StatusCode};
use serde_json::Value;
use tokenstorm::client::basic_auth;
use tokenstorm::clock::{Clock, SIM_EPOCH_MS};
use tokenstorm::duration::Dur;
use tokenstorm::exchange::{Request, Response};
use tokenstorm::issuer::Issuer;
use tokenstorm::resource::Resource;
use tokenstorm::run::{self, Control};
use tokenstorm::scenario::{self, Dialect, IssuerConfig, ResourceConfig};

/// An issuer with 1-minute tokens and a resource speaking `dialect`.
fn world(dialect: Dialect) -> (Issuer, Resource) {
    let clock = Clock::start(SIM_EPOCH_MS);
    let mut ic = IssuerConfig::default();
    ic.access_token.ttl = Dur::secs(60);
    let issuer = Issuer::new(&ic, clock.skewed(0), 1).unwrap();
    let rc = ResourceConfig {
        dialect,
        ..Default::default()
    };
    let resource = Resource::new(&rc, &ic, issuer.keys(), clock.skewed(0));
    (issuer, resource)
}

async fn access_token(issuer: &Issuer) -> String {
    let c = IssuerConfig::default();
    let body = format!("grant_type=password&username=u&password={}", c.password);
    let req = http::Request::builder()
        .method(Method::POST)
        .uri("/token")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(AUTHORIZATION, basic_auth(&c.client_id, &c.client_secret))
        .body(Bytes::from(body))
        .unwrap();
    let resp = issuer.handle(req).await;
    let b: Value = serde_json::from_slice(resp.body()).unwrap();
    b["access_token"].as_str().unwrap().to_string()
}

fn get(uri: &str, token: Option<&str>) -> Request {
    let mut b = http::Request::builder().uri(uri);
    if let Some(t) = token {
        b = b.header(AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Bytes::new()).unwrap()
}

/// The answer to an expired token, in a resource speaking `dialect`, asked at `uri`.
async fn expired_answer(dialect: Dialect, uri: &str) -> Response {
    let (issuer, resource) = world(dialect);
    let token = access_token(&issuer).await;
    assert_eq!(resource.handle(get(uri, Some(&token))).await.status(), 200);
    tokio::time::sleep(Duration::from_secs(61)).await;
    let resp = resource.handle(get(uri, Some(&token))).await;
    assert_eq!(resource.stats().rejected_expired, 1);
    resp
}

fn body(resp: &Response) -> Value {
    serde_json::from_slice(resp.body()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn rfc6750_answers_401_with_a_challenge_and_a_json_error() {
    let r = expired_answer(Dialect::Rfc6750, "/api/me").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let c = r.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(c.contains("error=\"invalid_token\""), "{c}");
    assert_eq!(body(&r)["error"], "invalid_token");
}

#[tokio::test(start_paused = true)]
async fn json_code_answers_401_with_a_vendor_code_and_no_challenge() {
    let r = expired_answer(Dialect::JsonCode, "/api/me").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get(WWW_AUTHENTICATE).is_none());
    assert_eq!(body(&r)["error"]["code"], "InvalidAuthenticationToken");
}

#[tokio::test(start_paused = true)]
async fn forbidden_403_answers_403_without_a_challenge() {
    let r = expired_answer(Dialect::Forbidden403, "/api/me").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get(WWW_AUTHENTICATE).is_none());
    assert!(body(&r)["message"].as_str().unwrap().contains("expired"));
}

#[tokio::test(start_paused = true)]
async fn bare_401_answers_nothing_but_the_status() {
    let r = expired_answer(Dialect::Bare401, "/api/me").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().is_empty(), "{:?}", r.headers());
    assert!(r.body().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_request_may_ask_for_a_dialect_and_an_unknown_one_is_a_bad_request() {
    let r = expired_answer(Dialect::Rfc6750, "/api/me?dialect=forbidden_403").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, resource) = world(Dialect::Rfc6750);
    let r = resource
        .handle(get("/api/me?dialect=klingon", Some("abc")))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(&r)["error"], "invalid_request");
}

/// One reactive group of 20 clients with 5-minute tokens for 30 minutes, calling an API
/// in `dialect` with the policy keys `policy`; returns (failed, refresh attempts).
fn detection(dialect: &str, policy: &str) -> (u64, u64) {
    let yaml = format!(
        r#"
name: t
seed: 3
duration: 30m
issuer: {{ access_token: {{ ttl: 5m }} }}
clients:
  - name: c
    count: 20
    requests: {{ every: 10s }}
    dialect: {dialect}
    policy: {{ refresh: reactive, {policy} }}
"#
    );
    let s = scenario::parse(&yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    let r = run::run(&s, &Control::default()).unwrap();
    assert!(r.requests.unauthorized > 0, "{dialect} / {policy}");
    (r.requests.failed, r.refresh.attempts)
}

#[test]
fn each_policy_recovers_only_from_the_dialects_it_can_read() {
    let read = |d, p| {
        let (failed, refreshes) = detection(d, p);
        match (failed, refreshes) {
            (0, r) if r > 0 => true,
            (f, 0) if f > 0 => false,
            other => panic!("{d} / {p}: failed and refreshes {other:?}"),
        }
    };
    let strict = "on_401_when: invalid_token";
    let codes = "on_401_when: error_code";
    let any = "on_401_when: any";
    let forbidden = "on_401_when: invalid_token, on_403: refresh_and_retry";
    // rows: dialects; columns: strict, codes, any, 403-aware.
    let table = [
        ("rfc6750", [true, true, true, true]),
        ("json_code", [false, true, true, false]),
        ("forbidden_403", [false, false, false, true]),
        ("bare_401", [false, false, true, false]),
    ];
    for (dialect, expected) in table {
        let got = [strict, codes, any, forbidden].map(|p| read(dialect, p));
        assert_eq!(got, expected, "{dialect}: strict, codes, any, 403-aware");
    }
}

#[test]
fn a_403_counts_as_unauthorized_only_in_the_dialect_that_means_it() {
    let (failed, _) = detection("forbidden_403", "on_401_when: any");
    assert!(failed > 0);
}
