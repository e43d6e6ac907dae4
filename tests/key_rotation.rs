//! Signing-key rotation: the issuer's published key set, and the resource's copy of it
//! (fetched on an unknown kid, at most once per cooldown, again once older than its
//! max age), on the virtual clock.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Method, StatusCode};
use serde_json::Value;
use tokenstorm::client::basic_auth;
use tokenstorm::clock::{Clock, SIM_EPOCH_MS};
use tokenstorm::duration::Dur;
use tokenstorm::exchange::{Endpoint, ExchangeError, Request, Response, Upstream};
use tokenstorm::issuer::Issuer;
use tokenstorm::resource::Resource;
use tokenstorm::run::{self, Control};
use tokenstorm::scenario::{self, IssuerConfig, JwksConfig, ResourceConfig, Signing};

/// The resource's line to the issuer: straight to its handler, counting key-set calls.
struct Direct {
    issuer: Arc<Issuer>,
    calls: AtomicU64,
}

impl Upstream for Direct {
    fn call(
        &self,
        endpoint: Endpoint,
        request: Request,
        _timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Response, ExchangeError>> + Send + '_>> {
        assert_eq!(endpoint, Endpoint::Keys);
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(self.issuer.handle(request).await) })
    }
}

struct World {
    issuer: Arc<Issuer>,
    resource: Resource,
    upstream: Arc<Direct>,
}

fn world(signing: Signing, cooldown: u64, max_age: u64) -> World {
    let clock = Clock::start(SIM_EPOCH_MS);
    let ic = IssuerConfig {
        signing,
        ..Default::default()
    };
    let issuer = Arc::new(Issuer::new(&ic, clock.skewed(0), 1).unwrap());
    let upstream = Arc::new(Direct {
        issuer: issuer.clone(),
        calls: AtomicU64::new(0),
    });
    let jwks = JwksConfig {
        cooldown: Dur::secs(cooldown as i64),
        max_age: Dur::secs(max_age as i64),
        timeout: Dur::secs(5),
        ..Default::default()
    };
    let resource = Resource::new(
        &ResourceConfig::default(),
        &ic,
        issuer.keys(),
        clock.skewed(0),
    )
    .fetching_keys(upstream.clone(), &jwks);
    World {
        issuer,
        resource,
        upstream,
    }
}

async fn login(issuer: &Issuer) -> String {
    let c = IssuerConfig::default();
    let body = format!("grant_type=password&username=u&password={}", c.password);
    let req = http::Request::builder()
        .method(Method::POST)
        .uri("/token")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(AUTHORIZATION, basic_auth(&c.client_id, &c.client_secret))
        .body(Bytes::from(body))
        .unwrap();
    let b: Value = serde_json::from_slice(issuer.handle(req).await.body()).unwrap();
    b["access_token"].as_str().unwrap().to_string()
}

impl World {
    async fn status(&self, token: &str) -> StatusCode {
        let req = http::Request::builder()
            .uri("/api/me")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(Bytes::new())
            .unwrap();
        self.resource.handle(req).await.status()
    }
    fn fetches(&self) -> u64 {
        self.upstream.calls.load(Ordering::SeqCst)
    }
}

async fn sleep(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_issuer_publishes_its_keys_as_a_jwk_set() {
    let w = world(Signing::Rs256, 30, 600);
    let req = http::Request::builder()
        .uri("/jwks.json")
        .body(Bytes::new())
        .unwrap();
    let resp = w.issuer.handle(req).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let set: Value = serde_json::from_slice(resp.body()).unwrap();
    let key = &set["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["kid"], "rs256-1");
    assert_eq!(key["use"], "sig");
    assert!(key["n"].is_string() && key["e"].is_string());
    assert!(key.get("d").is_none(), "no private part");
    let post = http::Request::builder()
        .method(Method::POST)
        .uri("/jwks.json")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(
        w.issuer.handle(post).await.status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test(start_paused = true)]
async fn an_unknown_kid_refetches_at_most_once_per_cooldown() {
    for signing in [Signing::Hs256, Signing::Es256, Signing::Eddsa] {
        let w = world(signing, 30, 3600);
        let old = login(&w.issuer).await;
        assert_eq!(w.status(&old).await, StatusCode::OK);
        assert_eq!(w.fetches(), 1, "the first token fetches the key set");
        sleep(60).await;
        // A new key signs from now on but is published only 2 minutes later.
        w.issuer.rotate_keys(600_000, 120_000).unwrap();
        let new = login(&w.issuer).await;
        assert_ne!(kid(&new), kid(&old));
        assert_eq!(w.status(&new).await, StatusCode::UNAUTHORIZED);
        assert_eq!(w.fetches(), 2, "an unknown kid refetches");
        assert_eq!(w.status(&new).await, StatusCode::UNAUTHORIZED);
        sleep(20).await;
        assert_eq!(w.status(&new).await, StatusCode::UNAUTHORIZED);
        assert_eq!(w.fetches(), 2, "not again within the cooldown");
        sleep(11).await;
        assert_eq!(w.status(&new).await, StatusCode::UNAUTHORIZED);
        assert_eq!(w.fetches(), 3, "again once the cooldown passed");
        sleep(120).await;
        assert_eq!(w.status(&new).await, StatusCode::OK, "{signing:?}");
        assert_eq!(w.fetches(), 4);
        // The old key is still published (overlap 10 minutes): its tokens verify.
        assert_eq!(w.status(&old).await, StatusCode::OK);
        assert_eq!(w.resource.stats().rejected_unknown_key, 4);
        assert_eq!(w.resource.stats().key_set_fetches, 4);
    }
}

#[tokio::test(start_paused = true)]
async fn the_old_key_verifies_until_its_overlap_ends_and_a_refetch_drops_it() {
    let w = world(Signing::Hs256, 30, 300);
    let seen = login(&w.issuer).await;
    let unseen = login(&w.issuer).await;
    assert_eq!(w.status(&seen).await, StatusCode::OK);
    w.issuer.rotate_keys(600_000, 0).unwrap();
    let new = login(&w.issuer).await;
    sleep(31).await;
    assert_eq!(w.status(&new).await, StatusCode::OK);
    // Within the overlap, a token of the old key never seen before still verifies.
    sleep(200).await;
    let unseen_later = login(&w.issuer).await; // signed by the new key
    assert_eq!(w.status(&unseen_later).await, StatusCode::OK);
    assert_eq!(w.status(&unseen).await, StatusCode::OK);
    // After the overlap (10 min) and the copy's max age (5 min), a fetch drops the old
    // key: its tokens, even one verified before, are rejected. (Verified tokens are
    // cached: the fetch comes with the next token not seen before.)
    sleep(400).await;
    let fresh = login(&w.issuer).await;
    assert_eq!(w.status(&fresh).await, StatusCode::OK);
    assert_eq!(w.fetches(), 3);
    assert_eq!(w.status(&seen).await, StatusCode::UNAUTHORIZED);
    assert!(w.resource.stats().rejected_unknown_key >= 1);
}

#[tokio::test(start_paused = true)]
async fn a_copy_kept_in_the_background_is_never_fetched_for_a_request() {
    let w = world(Signing::Hs256, 30, 300);
    let jwks = JwksConfig {
        max_age: Dur::secs(300),
        refresh: tokenstorm::scenario::JwksRefresh::Background,
        ..Default::default()
    };
    let resource = Arc::new(
        Resource::new(
            &ResourceConfig::default(),
            &IssuerConfig::default(),
            w.issuer.keys(),
            Clock::start(SIM_EPOCH_MS).skewed(0),
        )
        .fetching_keys(w.upstream.clone(), &jwks),
    );
    assert!(resource.keeps_keys_in_background());
    tokio::spawn(resource.clone().keep_keys());
    // Started before any request, as the world starts it: its first fetch is under way.
    tokio::task::yield_now().await;
    let status = |token: String| {
        let resource = resource.clone();
        async move {
            let req = http::Request::builder()
                .uri("/api/me")
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .body(Bytes::new())
                .unwrap();
            resource.handle(req).await.status()
        }
    };
    let old = login(&w.issuer).await;
    assert_eq!(status(old.clone()).await, StatusCode::OK);
    assert_eq!(w.fetches(), 1, "fetched at start, not for the token");
    sleep(60).await;
    w.issuer.rotate_keys(600_000, 0).unwrap();
    let new = login(&w.issuer).await;
    assert_eq!(status(new.clone()).await, StatusCode::UNAUTHORIZED);
    sleep(100).await;
    assert_eq!(status(new.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(w.fetches(), 1, "an unknown kid waits for the timer");
    // The timer fetches again 5 s before the copy's max age: at 295 s.
    sleep(134).await;
    assert_eq!(w.fetches(), 1);
    sleep(2).await;
    assert_eq!(w.fetches(), 2);
    assert_eq!(status(new).await, StatusCode::OK);
    assert_eq!(status(old).await, StatusCode::OK, "still in its overlap");
    sleep(295).await;
    assert_eq!(w.fetches(), 3);
    assert_eq!(resource.stats().key_set_fetches, 3);
    assert_eq!(resource.stats().rejected_unknown_key, 2);
}

fn run(yaml: &str) -> tokenstorm::report::Report {
    let s = scenario::parse(yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    run::run(&s, &Control::default()).unwrap()
}

fn rotating(fault: &str) -> String {
    format!(
        r#"
name: t
seed: 9
duration: 2h
issuer:
  access_token: {{ ttl: 10m }}
  faults: [ {fault} ]
resource:
  jwks: {{ cooldown: 30s, max_age: 1h }}
clients:
  - name: c
    count: 50
    start: {{ uniform: 5m }}
    requests: {{ every: 15s }}
    policy: {{ refresh: proactive, buffer: 1m }}
"#
    )
}

#[test]
fn a_rotation_published_at_once_costs_one_fetch_and_no_rejection() {
    let r = run(&rotating("{ kind: rotate_keys, at: 30m }"));
    assert_eq!(r.issuer.key_rotations, 1);
    assert_eq!(r.resource.rejected_unknown_key, 0);
    assert_eq!(r.requests.unauthorized, 0);
    // At start, at the new kid, and once an hour for the max age.
    assert_eq!(r.resource.key_set_fetches, 3);
    assert_eq!(r.issuer.key_set_requests, 3);
}

#[test]
fn a_late_published_key_is_rejected_until_it_appears_with_fetches_bounded_by_the_cooldown() {
    let r = run(&rotating(
        "{ kind: rotate_keys, at: 30m, publish_delay: 5m }",
    ));
    assert!(r.resource.rejected_unknown_key > 0);
    assert_eq!(r.requests.unauthorized, r.resource.rejected_unknown_key);
    // 5 minutes at one fetch per 30 s cooldown, plus start, max age and the last one.
    assert!(
        (10..=14).contains(&r.resource.key_set_fetches),
        "{}",
        r.resource.key_set_fetches
    );
    // Every 401 falls within the 5 unpublished minutes (and the request after).
    let unauthorized = &r.timeline.series.unauthorized;
    let tick_s = r.timeline.tick_ms / 1000;
    let first = unauthorized.iter().position(|&n| n > 0).unwrap() as u64 * tick_s;
    let last = unauthorized.iter().rposition(|&n| n > 0).unwrap() as u64 * tick_s;
    assert!(first >= 1800 && last < 1800 + 300 + 60, "{first}..{last}");
}

#[test]
fn rotate_keys_every_repeats_the_rotation() {
    let r = run(&rotating("{ kind: rotate_keys, every: 25m }"));
    assert_eq!(r.issuer.key_rotations, 4);
    assert_eq!(r.requests.unauthorized, 0);
}
