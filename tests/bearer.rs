//! The fake API's bearer checks, request by request: RFC 6750 answers for missing,
//! malformed, invalid, expired and not-yet-valid tokens, judged on the API's own clock
//! with its leeway, and time claims checked on every request even once a token's
//! signature is cached.

use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, StatusCode};
use serde_json::Value;
use tokenstorm::client::basic_auth;
use tokenstorm::clock::{Clock, SIM_EPOCH_MS};
use tokenstorm::duration::Dur;
use tokenstorm::exchange::{Request, Response};
use tokenstorm::issuer::Issuer;
use tokenstorm::resource::Resource;
use tokenstorm::scenario::{IssuerConfig, ResourceConfig};

struct World {
    issuer: Issuer,
    resource: Resource,
}

/// An issuer (ttl 5m) and a resource with their own clock offsets, on one run clock.
fn world(issuer_offset: Dur, resource: ResourceConfig) -> World {
    let clock = Clock::start(SIM_EPOCH_MS);
    let mut ic = IssuerConfig {
        clock_offset: issuer_offset,
        ..Default::default()
    };
    ic.access_token.ttl = Dur::secs(300);
    let issuer = Issuer::new(&ic, clock.skewed(issuer_offset.as_ms()), 1).unwrap();
    let resource = Resource::new(
        &resource,
        &ic,
        issuer.keys(),
        clock.skewed(resource.clock_offset.as_ms()),
    );
    World { issuer, resource }
}

async fn access_token(issuer: &Issuer) -> String {
    let c = IssuerConfig::default();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", c.password.as_str()),
        ])
        .finish();
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

fn api(authorization: &[&str]) -> Request {
    let mut b = http::Request::builder().uri("/api/me");
    for a in authorization {
        b = b.header(AUTHORIZATION, HeaderValue::from_str(a).unwrap());
    }
    b.body(Bytes::new()).unwrap()
}

fn bearer(token: &str) -> Request {
    api(&[&format!("Bearer {token}")])
}

fn challenge(resp: &Response) -> String {
    resp.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_string()
}

/// Asserts an RFC 6750 invalid_token answer and returns its description.
fn invalid_token(resp: &Response) -> String {
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let c = challenge(resp);
    assert!(c.starts_with("Bearer realm=\"tokenstorm\""), "{c}");
    assert!(c.contains("error=\"invalid_token\""), "{c}");
    assert!(c.contains("error_description=\""), "{c}");
    let b: Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(b["error"], "invalid_token");
    b["error_description"].as_str().unwrap().to_string()
}

async fn sleep(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

#[tokio::test(start_paused = true)]
async fn a_valid_token_passes() {
    let w = world(Dur::ZERO, ResourceConfig::default());
    let t = access_token(&w.issuer).await;
    let resp = w.resource.handle(bearer(&t)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    // The scheme is case-insensitive (RFC 7235 §2.1).
    let resp = w.resource.handle(api(&[&format!("bearer {t}")])).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(w.resource.stats().ok, 2);
}

#[tokio::test(start_paused = true)]
async fn no_credentials_get_a_challenge_without_an_error_code() {
    let w = world(Dur::ZERO, ResourceConfig::default());
    for req in [api(&[]), api(&["Basic ZGVtbzpkZW1v"])] {
        let resp = w.resource.handle(req).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(challenge(&resp), "Bearer realm=\"tokenstorm\"");
    }
    assert_eq!(w.resource.stats().rejected_missing, 2);
}

#[tokio::test(start_paused = true)]
async fn a_malformed_authorization_is_a_bad_request() {
    let w = world(Dur::ZERO, ResourceConfig::default());
    let t = access_token(&w.issuer).await;
    for req in [
        api(&["Bearer"]),
        api(&["Bearer "]),
        api(&["Bearer a b"]),
        api(&["Bearer ,,,"]),
        api(&[&format!("Bearer {t}"), &format!("Bearer {t}")]),
    ] {
        let resp = w.resource.handle(req).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(
            challenge(&resp).contains("error=\"invalid_request\""),
            "{}",
            challenge(&resp)
        );
    }
    assert_eq!(w.resource.stats().malformed, 5);
}

#[tokio::test(start_paused = true)]
async fn tokens_that_do_not_verify_are_invalid() {
    let w = world(Dur::ZERO, ResourceConfig::default());
    let good = access_token(&w.issuer).await;
    // Same claims, another issuer's HMAC secret.
    let other = Issuer::new(
        &IssuerConfig::default(),
        Clock::start(SIM_EPOCH_MS).skewed(0),
        2,
    )
    .unwrap();
    let forged = access_token(&other).await;
    let (head, rest) = good.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let tampered = format!("{head}.eyJzdWIiOiJtYWxsb3J5In0.{sig}");
    for t in ["abc.def.ghi", "garbage", forged.as_str(), tampered.as_str()] {
        let d = invalid_token(&w.resource.handle(bearer(t)).await);
        assert!(d.contains("invalid"), "{d}");
    }
    assert_eq!(w.resource.stats().rejected_invalid, 4);
}

#[tokio::test(start_paused = true)]
async fn another_audience_is_invalid() {
    let clock = Clock::start(SIM_EPOCH_MS);
    let issuer = Issuer::new(&IssuerConfig::default(), clock.skewed(0), 1).unwrap();
    let elsewhere = IssuerConfig {
        audience: "https://other.api".into(),
        ..Default::default()
    };
    let resource = Resource::new(
        &ResourceConfig::default(),
        &elsewhere,
        issuer.keys(),
        clock.skewed(0),
    );
    let t = access_token(&issuer).await;
    invalid_token(&resource.handle(bearer(&t)).await);
}

#[tokio::test(start_paused = true)]
async fn expiry_is_checked_on_every_request_on_the_apis_clock() {
    let w = world(Dur::ZERO, ResourceConfig::default());
    let t = access_token(&w.issuer).await;
    assert_eq!(w.resource.handle(bearer(&t)).await.status(), StatusCode::OK);
    sleep(299).await;
    assert_eq!(w.resource.handle(bearer(&t)).await.status(), StatusCode::OK);
    sleep(1).await;
    // The same token, its signature cached: now expired.
    let d = invalid_token(&w.resource.handle(bearer(&t)).await);
    assert!(d.contains("expired"), "{d}");
    assert_eq!(w.resource.stats().rejected_expired, 1);
}

#[tokio::test(start_paused = true)]
async fn leeway_tolerates_that_much_past_exp() {
    let w = world(
        Dur::ZERO,
        ResourceConfig {
            leeway: Dur::secs(30),
            ..Default::default()
        },
    );
    let t = access_token(&w.issuer).await;
    sleep(310).await;
    assert_eq!(w.resource.handle(bearer(&t)).await.status(), StatusCode::OK);
    sleep(30).await;
    invalid_token(&w.resource.handle(bearer(&t)).await);
}

#[tokio::test(start_paused = true)]
async fn an_api_clock_ahead_rejects_tokens_early() {
    let ahead = world(
        Dur::ZERO,
        ResourceConfig {
            clock_offset: Dur::secs(120),
            ..Default::default()
        },
    );
    let on_time = world(Dur::ZERO, ResourceConfig::default());
    let t_ahead = access_token(&ahead.issuer).await;
    let t_on_time = access_token(&on_time.issuer).await;
    sleep(240).await; // one minute left by true time
    invalid_token(&ahead.resource.handle(bearer(&t_ahead)).await);
    assert_eq!(
        on_time.resource.handle(bearer(&t_on_time)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn an_issuer_clock_ahead_makes_tokens_not_yet_valid() {
    let strict = world(Dur::secs(300), ResourceConfig::default());
    let t = access_token(&strict.issuer).await;
    let d = invalid_token(&strict.resource.handle(bearer(&t)).await);
    assert!(d.contains("not valid yet"), "{d}");
    assert_eq!(strict.resource.stats().rejected_not_yet_valid, 1);

    let tolerant = world(
        Dur::secs(300),
        ResourceConfig {
            leeway: Dur::secs(300),
            ..Default::default()
        },
    );
    let t = access_token(&tolerant.issuer).await;
    assert_eq!(
        tolerant.resource.handle(bearer(&t)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn only_get_under_api() {
    let w = world(Dur::ZERO, ResourceConfig::default());
    let t = access_token(&w.issuer).await;
    let mut elsewhere = bearer(&t);
    *elsewhere.uri_mut() = "/admin".parse().unwrap();
    assert_eq!(
        w.resource.handle(elsewhere).await.status(),
        StatusCode::NOT_FOUND
    );
    let mut post = bearer(&t);
    *post.method_mut() = Method::POST;
    let resp = w.resource.handle(post).await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(resp.headers().contains_key("allow"));
}

/// A client's in-process API call is answered as the HTTP request it stands for:
/// the same status, challenge and body, for a good token and for each refusal; only
/// the Content-Type of a body is left to HTTP.
#[tokio::test(start_paused = true)]
async fn an_in_process_call_is_answered_as_its_http_request() {
    let w = world(Dur::ZERO, ResourceConfig::default());
    let t = access_token(&w.issuer).await;
    let uri = http::Uri::from_static("/api/me");
    let cases = [
        format!("Bearer {t}"),
        format!("Bearer {t}x"),
        "Basic YWxpY2U6cHc=".to_string(),
        "Bearer ".to_string(),
        "Bearer a,b".to_string(),
    ];
    for header in cases {
        let http = w.resource.handle(api(&[&header])).await;
        let call = tokenstorm::exchange::ApiCall {
            uri: &uri,
            authorization: &HeaderValue::from_str(&header).unwrap(),
        };
        let inproc = w.resource.call(call).await;
        assert_eq!(http.status(), inproc.status(), "{header}");
        assert_eq!(http.body(), inproc.body(), "{header}");
        assert_eq!(
            http.headers().get(WWW_AUTHENTICATE),
            inproc.headers().get(WWW_AUTHENTICATE),
            "{header}"
        );
        assert_eq!(http.headers()[CONTENT_TYPE], "application/json", "{header}");
        assert!(inproc.headers().get(CONTENT_TYPE).is_none(), "{header}");
    }
    sleep(301).await;
    let call = tokenstorm::exchange::ApiCall {
        uri: &uri,
        authorization: &HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
    };
    assert!(invalid_token(&w.resource.call(call).await).contains("expired"));
}

/// A token with `claims` and the `crit` header given, signed with the issuer's own
/// HMAC key (the default signing, hs256), as its key set gives it to its own API.
async fn minted(issuer: &Issuer, claims: Value, crit: Option<Vec<String>>) -> String {
    use base64::Engine;
    let mut req = http::Request::get("/jwks.json").body(Bytes::new()).unwrap();
    req.extensions_mut().insert(tokenstorm::exchange::Internal);
    let set: Value = serde_json::from_slice(issuer.handle(req).await.body()).unwrap();
    let key = &set["keys"][0];
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key["k"].as_str().unwrap())
        .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = key["kid"].as_str().map(String::from);
    header.crit = crit;
    let key = jsonwebtoken::EncodingKey::from_secret(&secret);
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[tokio::test(start_paused = true)]
async fn unknown_critical_headers_array_issuers_and_absurd_dates_are_invalid() {
    let w = world(Dur::ZERO, ResourceConfig::default());
    let c = IssuerConfig::default();
    let now = SIM_EPOCH_MS / 1000;
    let claims = |iss: Value, exp: i64| serde_json::json!({"iss": iss, "aud": c.audience, "sub": "m", "exp": exp, "nbf": now});
    // The same minting, with sane claims, is accepted: the refusals below are theirs.
    let fine = minted(&w.issuer, claims(c.issuer.as_str().into(), now + 60), None).await;
    assert_eq!(
        w.resource.handle(bearer(&fine)).await.status(),
        StatusCode::OK
    );
    let iss = || Value::from(c.issuer.as_str());
    for (why, token) in [
        (
            "crit names an extension the API does not know (RFC 7515 §4.1.11)",
            minted(&w.issuer, claims(iss(), now + 60), Some(vec!["exp".into()])).await,
        ),
        (
            "iss is an array, not a StringOrURI (RFC 7519 §4.1.1)",
            minted(
                &w.issuer,
                claims(serde_json::json!([c.issuer]), now + 60),
                None,
            )
            .await,
        ),
        (
            "exp is no date",
            minted(&w.issuer, claims(iss(), i64::MAX), None).await,
        ),
    ] {
        let resp = w.resource.handle(bearer(&token)).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{why}");
        invalid_token(&resp);
    }
}
