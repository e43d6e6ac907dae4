//! The fake issuer's token endpoint, request by request: RFC 6749 success and error
//! shapes, client authentication, the JWT it signs, and what refresh-token families do
//! under rotation, reuse, grace, and idle and absolute expiry.

use base64::Engine;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Method, StatusCode};
use serde_json::Value;
use tokenstorm::client::basic_auth;
use tokenstorm::clock::{Clock, SIM_EPOCH_MS};
use tokenstorm::duration::Dur;
use tokenstorm::exchange::{Request, Response};
use tokenstorm::issuer::Issuer;
use tokenstorm::scenario::{IssuerConfig, Signing};

fn issuer(config: &IssuerConfig) -> Issuer {
    Issuer::new(
        config,
        Clock::start(SIM_EPOCH_MS).skewed(config.clock_offset.as_ms()),
        1,
    )
    .unwrap()
}

fn form(pairs: &[(&str, &str)]) -> Bytes {
    Bytes::from(
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish(),
    )
}

/// A POST /token with Basic client authentication.
fn token_request(pairs: &[(&str, &str)]) -> Request {
    let c = IssuerConfig::default();
    http::Request::builder()
        .method(Method::POST)
        .uri("/token")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(AUTHORIZATION, basic_auth(&c.client_id, &c.client_secret))
        .body(form(pairs))
        .unwrap()
}

fn login() -> Request {
    token_request(&[
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", &IssuerConfig::default().password),
    ])
}

fn refresh(token: &str) -> Request {
    token_request(&[("grant_type", "refresh_token"), ("refresh_token", token)])
}

fn body(resp: &Response) -> Value {
    serde_json::from_slice(resp.body()).unwrap_or_else(|e| panic!("{e}: {:?}", resp.body()))
}

/// The RFC 6749 §5.2 error of a response, checked for its shape.
fn error(resp: &Response) -> (StatusCode, String) {
    let b = body(resp);
    assert!(b["error_description"].is_string(), "{b}");
    assert_eq!(
        resp.headers()[CONTENT_TYPE],
        "application/json",
        "errors are JSON"
    );
    (resp.status(), b["error"].as_str().unwrap().to_string())
}

fn jwt_part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_login_gets_tokens_in_the_rfc_shape() {
    let config = IssuerConfig::default();
    let resp = issuer(&config).handle(login()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()[CONTENT_TYPE], "application/json");
    let b = body(&resp);
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 3600);
    assert_eq!(b["scope"], config.scope.as_str());
    assert!(b["refresh_token"].as_str().unwrap().starts_with("rt_"));

    let at = b["access_token"].as_str().unwrap();
    let header = jwt_part(at, 0);
    assert_eq!(header["alg"], "HS256");
    assert!(header["kid"].is_string());
    let claims = jwt_part(at, 1);
    assert_eq!(claims["iss"], config.issuer.as_str());
    assert_eq!(claims["aud"], config.audience.as_str());
    assert_eq!(claims["sub"], "alice");
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(iat, SIM_EPOCH_MS / 1000);
    assert_eq!(claims["nbf"].as_i64(), Some(iat));
    assert_eq!(claims["exp"].as_i64(), Some(iat + 3600));
    assert!(claims["jti"].is_string());
}

#[tokio::test(start_paused = true)]
async fn es256_tokens_say_so() {
    let config = IssuerConfig {
        signing: Signing::Es256,
        ..Default::default()
    };
    let b = body(&issuer(&config).handle(login()).await);
    assert_eq!(
        jwt_part(b["access_token"].as_str().unwrap(), 0)["alg"],
        "ES256"
    );
}

#[tokio::test(start_paused = true)]
async fn client_secret_post_works_and_client_credentials_has_no_refresh_token() {
    let c = IssuerConfig::default();
    let req = http::Request::builder()
        .method(Method::POST)
        .uri("/token")
        .header(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
        ]))
        .unwrap();
    let resp = issuer(&c).handle(req).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let b = body(&resp);
    assert!(b["access_token"].is_string());
    assert!(b.get("refresh_token").is_none(), "{b}");
}

#[tokio::test(start_paused = true)]
async fn client_authentication_errors() {
    let c = IssuerConfig::default();
    let iss = issuer(&c);
    let pairs = [("grant_type", "client_credentials")];

    let mut wrong = token_request(&pairs);
    wrong
        .headers_mut()
        .insert(AUTHORIZATION, basic_auth(&c.client_id, "nope"));
    let resp = iss.handle(wrong).await;
    assert_eq!(
        error(&resp),
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Basic"), "{challenge}");

    let mut none = token_request(&pairs);
    none.headers_mut().remove(AUTHORIZATION);
    let resp = iss.handle(none).await;
    assert_eq!(
        error(&resp),
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    assert!(resp.headers().contains_key("www-authenticate"));

    let both = token_request(&[
        ("grant_type", "client_credentials"),
        ("client_id", &c.client_id),
        ("client_secret", &c.client_secret),
    ]);
    assert_eq!(
        error(&iss.handle(both).await),
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
}

#[tokio::test(start_paused = true)]
async fn request_errors() {
    let iss = issuer(&IssuerConfig::default());
    let bad = (StatusCode::BAD_REQUEST, "invalid_request".to_string());

    let resp = iss
        .handle(token_request(&[("grant_type", "implicit")]))
        .await;
    assert_eq!(
        error(&resp),
        (StatusCode::BAD_REQUEST, "unsupported_grant_type".into())
    );
    assert_eq!(error(&iss.handle(token_request(&[])).await), bad);
    assert_eq!(
        error(
            &iss.handle(token_request(&[
                ("grant_type", "password"),
                ("grant_type", "password")
            ]))
            .await
        ),
        bad
    );
    assert_eq!(
        error(
            &iss.handle(token_request(&[("grant_type", "password")]))
                .await
        ),
        bad,
        "no username"
    );
    let mut json = login();
    json.headers_mut()
        .insert(CONTENT_TYPE, "application/json".parse().unwrap());
    assert_eq!(error(&iss.handle(json).await), bad);
    let mut garbage = login();
    *garbage.body_mut() = Bytes::from_static(&[0xff, 0xfe, 0x00]);
    assert_eq!(error(&iss.handle(garbage).await), bad);

    let wrong_password = token_request(&[
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "guess"),
    ]);
    assert_eq!(
        error(&iss.handle(wrong_password).await),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let scope = token_request(&[("grant_type", "client_credentials"), ("scope", "admin")]);
    assert_eq!(
        error(&iss.handle(scope).await),
        (StatusCode::BAD_REQUEST, "invalid_scope".into())
    );

    let mut get = login();
    *get.method_mut() = Method::GET;
    let resp = iss.handle(get).await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "POST");
    let mut elsewhere = login();
    *elsewhere.uri_mut() = "/authorize".parse().unwrap();
    assert_eq!(iss.handle(elsewhere).await.status(), StatusCode::NOT_FOUND);
}

async fn refresh_token_of(iss: &Issuer, req: Request) -> Result<String, String> {
    let resp = iss.handle(req).await;
    let b = body(&resp);
    match resp.status() {
        StatusCode::OK => Ok(b["refresh_token"].as_str().unwrap().to_string()),
        _ => Err(b["error"].as_str().unwrap().to_string()),
    }
}

fn rotating(grace: Dur) -> IssuerConfig {
    let mut c = IssuerConfig::default();
    c.refresh_token.rotation = true;
    c.refresh_token.reuse_grace = grace;
    c
}

#[tokio::test(start_paused = true)]
async fn reuse_after_rotation_revokes_the_whole_family() {
    let iss = issuer(&rotating(Dur::ZERO));
    let first = refresh_token_of(&iss, login()).await.unwrap();
    let second = refresh_token_of(&iss, refresh(&first)).await.unwrap();
    assert_ne!(first, second, "rotation issues a new refresh token");
    assert_eq!(
        refresh_token_of(&iss, refresh(&first)).await,
        Err("invalid_grant".into())
    );
    // The thief's replay also kills the legitimate holder's current token.
    assert_eq!(
        refresh_token_of(&iss, refresh(&second)).await,
        Err("invalid_grant".into())
    );
    let s = iss.stats();
    assert_eq!((s.reuse_detected, s.families_revoked), (1, 1));
    assert_eq!(s.invalid_grant, 2);
}

#[tokio::test(start_paused = true)]
async fn within_the_grace_an_old_token_gets_the_current_one() {
    let iss = issuer(&rotating(Dur::secs(10)));
    let first = refresh_token_of(&iss, login()).await.unwrap();
    let second = refresh_token_of(&iss, refresh(&first)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(
        refresh_token_of(&iss, refresh(&first)).await,
        Ok(second.clone())
    );
    assert_eq!(iss.stats().grace_accepted, 1);
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(
        refresh_token_of(&iss, refresh(&first)).await,
        Err("invalid_grant".into()),
        "after the grace it is reuse"
    );
    assert_eq!(iss.stats().reuse_detected, 1);
}

#[tokio::test(start_paused = true)]
async fn without_rotation_the_refresh_token_stays() {
    let iss = issuer(&IssuerConfig::default());
    let first = refresh_token_of(&iss, login()).await.unwrap();
    assert_eq!(
        refresh_token_of(&iss, refresh(&first)).await,
        Ok(first.clone())
    );
    assert_eq!(refresh_token_of(&iss, refresh(&first)).await, Ok(first));
    assert_eq!(iss.stats().refreshes, 2);
}

#[tokio::test(start_paused = true)]
async fn absolute_expiry_counts_from_the_login() {
    let mut c = IssuerConfig::default();
    c.refresh_token.ttl = Dur::secs(3600);
    let iss = issuer(&c);
    let rt = refresh_token_of(&iss, login()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3599)).await;
    assert!(refresh_token_of(&iss, refresh(&rt)).await.is_ok());
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        refresh_token_of(&iss, refresh(&rt)).await,
        Err("invalid_grant".into())
    );
}

#[tokio::test(start_paused = true)]
async fn idle_expiry_counts_from_the_last_use() {
    let mut c = IssuerConfig::default();
    c.refresh_token.idle_ttl = Some(Dur::secs(600));
    let iss = issuer(&c);
    let rt = refresh_token_of(&iss, login()).await.unwrap();
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_secs(599)).await;
        assert!(
            refresh_token_of(&iss, refresh(&rt)).await.is_ok(),
            "used in time"
        );
    }
    tokio::time::sleep(std::time::Duration::from_secs(600)).await;
    assert_eq!(
        refresh_token_of(&iss, refresh(&rt)).await,
        Err("invalid_grant".into())
    );
    assert_eq!(
        refresh_token_of(&iss, refresh("rt_not-a-token")).await,
        Err("invalid_grant".into())
    );
}

#[tokio::test(start_paused = true)]
async fn the_issuer_clock_offset_moves_iat() {
    let c = IssuerConfig {
        clock_offset: Dur::secs(60),
        ..Default::default()
    };
    let b = body(&issuer(&c).handle(login()).await);
    let claims = jwt_part(b["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["iat"].as_i64(), Some(SIM_EPOCH_MS / 1000 + 60));
}

#[tokio::test(start_paused = true)]
async fn a_refresh_may_narrow_its_scope_but_not_widen_it() {
    let mut config = rotating(Dur::ZERO);
    config.scope = "read write admin".into();
    let iss = issuer(&config);
    let login = token_request(&[
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", &config.password),
        ("scope", "read write"),
    ]);
    let rt = refresh_token_of(&iss, login).await.unwrap();
    // RFC 6749 §6: wider than granted is invalid_scope, and the token is not used up.
    let wider = token_request(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &rt),
        ("scope", "read admin"),
    ]);
    let resp = iss.handle(wider).await;
    assert_eq!(
        error(&resp),
        (StatusCode::BAD_REQUEST, "invalid_scope".into())
    );
    // Narrower: granted, for this access token; the refresh token keeps the grant.
    let narrower = token_request(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &rt),
        ("scope", "read"),
    ]);
    let resp = iss.handle(narrower).await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "the refused request rotated nothing"
    );
    let b = body(&resp);
    assert_eq!(b["scope"], "read");
    assert_eq!(
        jwt_part(b["access_token"].as_str().unwrap(), 1)["scope"],
        "read"
    );
    let next = b["refresh_token"].as_str().unwrap();
    let resp = iss.handle(refresh(next)).await;
    assert_eq!(body(&resp)["scope"], "read write");
    assert_eq!(iss.stats().reuse_detected, 0);
}
