//! Opaque access tokens checked by introspection (RFC 7662): the issuer's endpoint, the
//! resource's calls with and without a cache, and what they cost the issuer.

use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Method, StatusCode};
use serde_json::Value;
use tokenstorm::client::basic_auth;
use tokenstorm::clock::{Clock, SIM_EPOCH_MS};
use tokenstorm::duration::Dur;
use tokenstorm::exchange::Response;
use tokenstorm::issuer::Issuer;
use tokenstorm::report::Report;
use tokenstorm::run::{self, Control};
use tokenstorm::scenario::{self, IssuerConfig, TokenFormat};

fn issuer(format: TokenFormat) -> Issuer {
    let mut c = IssuerConfig::default();
    c.access_token.ttl = Dur::secs(60);
    c.access_token.format = format;
    Issuer::new(&c, Clock::start(SIM_EPOCH_MS).skewed(0), 1).unwrap()
}

fn post(uri: &str, body: &str, auth: bool) -> http::Request<Bytes> {
    let c = IssuerConfig::default();
    let mut b = http::Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    if auth {
        b = b.header(AUTHORIZATION, basic_auth(&c.client_id, &c.client_secret));
    }
    b.body(Bytes::from(body.to_string())).unwrap()
}

async fn login(issuer: &Issuer) -> String {
    let body = format!(
        "grant_type=password&username=alice&password={}",
        IssuerConfig::default().password
    );
    let resp = issuer.handle(post("/token", &body, true)).await;
    let b: Value = serde_json::from_slice(resp.body()).unwrap();
    b["access_token"].as_str().unwrap().to_string()
}

async fn introspect(issuer: &Issuer, token: &str) -> Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .finish();
    issuer.handle(post("/introspect", &body, true)).await
}

fn body(resp: &Response) -> Value {
    serde_json::from_slice(resp.body()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_live_opaque_token_is_active_with_its_claims() {
    let issuer = issuer(TokenFormat::Opaque);
    let token = login(&issuer).await;
    assert!(token.starts_with("at_"), "{token}");
    assert!(jsonwebtoken::decode_header(&token).is_err(), "not a JWT");
    let resp = introspect(&issuer, &token).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let b = body(&resp);
    assert_eq!(b["active"], true);
    assert_eq!(b["sub"], "alice");
    assert_eq!(b["client_id"], "demo");
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["exp"].as_i64().unwrap() - b["iat"].as_i64().unwrap(), 60);
}

#[tokio::test(start_paused = true)]
async fn an_unknown_expired_or_revoked_token_is_inactive_and_nothing_else() {
    let issuer = issuer(TokenFormat::Opaque);
    let inactive = serde_json::json!({"active": false});
    for unknown in ["at_0123456789abcdef0123456789abcdef", "garbage", "a.b.c"] {
        assert_eq!(body(&introspect(&issuer, unknown).await), inactive);
    }
    let token = login(&issuer).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(body(&introspect(&issuer, &token).await), inactive);

    let token = login(&issuer).await;
    assert_eq!(
        issuer.revoke_share(1.0, &mut tokenstorm::rng::rng(1, &[])),
        2
    );
    assert_eq!(body(&introspect(&issuer, &token).await), inactive);
}

async fn post_form(issuer: &Issuer, uri: &str, pairs: &[(&str, &str)]) -> Value {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    body_of(issuer.handle(post(uri, &body, true)).await)
}

fn body_of(resp: Response) -> Value {
    body(&resp)
}

#[tokio::test(start_paused = true)]
async fn reuse_detection_kills_the_familys_access_tokens_too() {
    for format in [TokenFormat::Opaque, TokenFormat::Jwt] {
        let mut c = IssuerConfig::default();
        c.access_token.format = format;
        c.refresh_token.rotation = true;
        let issuer = Issuer::new(&c, Clock::start(SIM_EPOCH_MS).skewed(0), 1).unwrap();
        let password = c.password.clone();
        let first = post_form(
            &issuer,
            "/token",
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", &password),
            ],
        )
        .await;
        let rt1 = first["refresh_token"].as_str().unwrap();
        let second = post_form(
            &issuer,
            "/token",
            &[("grant_type", "refresh_token"), ("refresh_token", rt1)],
        )
        .await;
        let access = second["access_token"].as_str().unwrap();
        assert_eq!(body(&introspect(&issuer, access).await)["active"], true);
        // rt1 again, after its rotation: reuse, and the family is revoked.
        let reuse = post_form(
            &issuer,
            "/token",
            &[("grant_type", "refresh_token"), ("refresh_token", rt1)],
        )
        .await;
        assert_eq!(reuse["error"], "invalid_grant");
        assert_eq!(
            body(&introspect(&issuer, access).await),
            serde_json::json!({"active": false}),
            "{format:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_jwt_of_the_issuer_can_be_introspected_too() {
    let issuer = issuer(TokenFormat::Jwt);
    let token = login(&issuer).await;
    assert_eq!(body(&introspect(&issuer, &token).await)["active"], true);
    let tampered = format!("{}x", &token[..token.len() - 1]);
    assert_eq!(body(&introspect(&issuer, &tampered).await)["active"], false);
}

#[tokio::test(start_paused = true)]
async fn introspection_requires_the_client_a_form_and_a_token() {
    let issuer = issuer(TokenFormat::Opaque);
    let r = issuer.handle(post("/introspect", "token=x", false)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body(&r)["error"], "invalid_client");
    let r = issuer.handle(post("/introspect", "", true)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(&r)["error"], "invalid_request");
    let get = http::Request::builder()
        .uri("/introspect")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(
        issuer.handle(get).await.status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
}

fn run(resource: &str, issuer_faults: &str) -> Report {
    let yaml = format!(
        r#"
name: t
seed: 5
duration: 1h
tick: 1m
issuer:
  access_token: {{ ttl: 10m, format: opaque }}
  faults: [ {issuer_faults} ]
resource:
{resource}
clients:
  - name: c
    count: 20
    start: {{ uniform: 1m }}
    requests: {{ every: 10s }}
    policy: {{ refresh: proactive, buffer: 1m, retry: {{ attempts: 2, backoff: 1s }} }}
"#
    );
    let s = scenario::parse(&yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    run::run(&s, &Control::default()).unwrap()
}

#[test]
fn without_a_cache_every_api_request_costs_the_issuer_an_introspection() {
    let r = run("  latency: 5ms", "");
    assert_eq!(r.requests.unauthorized, 0);
    assert_eq!(r.resource.introspections, r.resource.requests);
    assert_eq!(r.issuer.introspection_requests, r.resource.introspections);
    assert_eq!(r.resource.key_set_fetches, 0, "no JWT, no key set");
    // Each API request waits for the issuer's answer: 5ms + 20ms.
    assert_eq!(r.latency_ms.request.p50, 25);
}

#[test]
fn a_cache_saves_introspections_but_sees_a_revocation_late() {
    let revoke = "{ kind: revoke, at: 30m, fraction: 1.0 }";
    let uncached = run("  introspection: { cache: 0s }", revoke);
    let cached = run("  introspection: { cache: 2m }", revoke);
    assert!(
        cached.issuer.introspection_requests * 5 < uncached.issuer.introspection_requests,
        "{} vs {}",
        cached.issuer.introspection_requests,
        uncached.issuer.introspection_requests
    );
    // Revoked families: their tokens turn inactive at once without a cache, and only
    // once the cached answer runs out with one; either way the clients log in again.
    assert!(uncached.resource.rejected_inactive > 0);
    assert_eq!(uncached.login.forced, 20);
    assert!(cached.resource.rejected_inactive > 0);
    let first_401 = |r: &Report| {
        r.timeline
            .series
            .unauthorized
            .iter()
            .position(|&n| n > 0)
            .unwrap()
    };
    assert_eq!(first_401(&uncached), 30);
    assert!(first_401(&cached) >= 30);
}

#[test]
fn an_issuer_outage_makes_the_api_answer_503_while_it_cannot_introspect() {
    let r = run("  latency: 5ms", "{ kind: outage, at: 20m, for: 5m }");
    assert!(r.resource.introspection_failures > 0);
    assert_eq!(r.requests.unauthorized, 0, "unknown is not unauthorized");
    assert!(r.requests.failed > 0);
    let failed = &r.timeline.series.failed;
    assert!(failed[..20].iter().all(|&n| n == 0), "{failed:?}");
    assert!(failed[26..].iter().all(|&n| n == 0), "{failed:?}");
}
