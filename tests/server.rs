//! The fake servers over real HTTP on loopback (port 0): the same handlers as the sim,
//! behind hyper with limits; garbage, oversized heads and bodies, bad forms and bad
//! tokens get the RFC's answers, and the scenario's faults apply in real time.

use std::net::SocketAddr;

use serde_json::Value;
use tokenstorm::scenario;
use tokenstorm::server::Limits;
use tokenstorm::world::live::{self, Servers};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(yaml_extra: &str) -> Servers {
    let yaml = format!("name: t\nduration: 1h\nclients: [ {{ name: c, count: 1 }} ]\n{yaml_extra}");
    let s = scenario::parse(&yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    live::serve(&s, any, any, Limits::default()).await.unwrap()
}

/// Sends raw bytes, reads until the server closes; returns (status, head, body).
async fn raw(addr: SocketAddr, bytes: &[u8]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    r.into_bytes()
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const CLIENT: (&str, &str) = ("Authorization", "Basic ZGVtbzpkZW1vLXNlY3JldA==");

async fn login(s: &Servers) -> String {
    let (status, _, body) = raw(
        s.issuer,
        &request(
            "POST",
            "/token",
            &[FORM, CLIENT],
            "grant_type=password&username=alice&password=demo-password",
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let b: Value = serde_json::from_str(&body).unwrap();
    b["access_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_the_issuer_opens_the_api() {
    let s = start("").await;
    let token = login(&s).await;
    // Real time: the token's exp is an hour from now on the wall clock.
    let claims: Value =
        serde_json::from_slice(&base64_url(token.split('.').nth(1).unwrap())).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((claims["exp"].as_i64().unwrap() - now - 3600).abs() <= 5);
    let auth = format!("Bearer {token}");
    let (status, _, body) = raw(
        s.resource,
        &request("GET", "/api/me", &[("Authorization", &auth)], ""),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, head, _) = raw(
        s.resource,
        &request("GET", "/api/me", &[("Authorization", "Bearer nope")], ""),
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        head.to_lowercase().contains("www-authenticate: bearer"),
        "{head}"
    );
    // hs256: the shared secret is its own API's alone, never listed for the world.
    let (status, _, body) = raw(s.issuer, &request("GET", "/jwks.json", &[], "")).await;
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"keys":[]}"#);
    s.stop().await;
    let s = start("issuer: { publish_secret: true }\n").await;
    let (_, _, body) = raw(s.issuer, &request("GET", "/jwks.json", &[], "")).await;
    assert!(body.contains(r#""kty":"oct""#), "{body}");
    s.stop().await;
}

fn base64_url(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_oversized_requests_get_http_errors_not_a_crash() {
    let s = start("").await;
    let (status, _, _) = raw(s.resource, b"GARBAGE\r\n\r\n").await;
    assert_eq!(status, 400);
    let (status, _, _) = raw(
        s.issuer,
        &[0xff, 0xfe, 0x00, 0x13, b'\r', b'\n', b'\r', b'\n'],
    )
    .await;
    assert_eq!(status, 400);
    let big = "a".repeat(64 * 1024);
    let (status, _, _) = raw(
        s.resource,
        &request("GET", "/api/me", &[("X-Big", &big)], ""),
    )
    .await;
    assert_eq!(status, 431);
    let body = "x".repeat(100 * 1024);
    let (status, _, resp) = raw(s.issuer, &request("POST", "/token", &[FORM, CLIENT], &body)).await;
    assert_eq!(status, 413);
    assert!(resp.contains("invalid_request"), "{resp}");
    // A body that is not even UTF-8.
    let mut garbage = request("POST", "/token", &[FORM, CLIENT], "12345");
    let n = garbage.len();
    garbage[n - 5..].copy_from_slice(&[0xc3, 0x28, 0xff, 0x00, 0x41]);
    let (status, _, resp) = raw(s.issuer, &garbage).await;
    assert_eq!(status, 400, "{resp}");
    assert!(resp.contains("invalid_request"), "{resp}");
    // The servers still answer after all that.
    login(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_forms_and_bad_credentials_get_rfc_6749_errors() {
    let s = start("").await;
    for (headers, body, status, error) in [
        (
            vec![FORM, CLIENT],
            "grant_type=password",
            400,
            "invalid_request",
        ),
        (
            vec![FORM, CLIENT],
            "grant_type=magic",
            400,
            "unsupported_grant_type",
        ),
        (
            vec![FORM],
            "grant_type=client_credentials",
            401,
            "invalid_client",
        ),
        (
            vec![CLIENT],
            "grant_type=client_credentials",
            400,
            "invalid_request",
        ),
        (vec![FORM, CLIENT], "%%%", 400, "invalid_request"),
        (
            vec![FORM, CLIENT],
            "grant_type=refresh_token&refresh_token=rt_x",
            400,
            "invalid_grant",
        ),
    ] {
        let (got, _, resp) = raw(s.issuer, &request("POST", "/token", &headers, body)).await;
        assert_eq!(got, status, "{body}: {resp}");
        let v: Value = serde_json::from_str(&resp).unwrap_or_else(|_| panic!("{resp}"));
        assert_eq!(v["error"], error, "{body}");
    }
    let (status, _, resp) = raw(
        s.issuer,
        &request("POST", "/introspect", &[FORM, CLIENT], "token=nope"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(resp, r#"{"active":false}"#);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scenarios_faults_apply_in_real_time() {
    let s = start("issuer:\n  faults: [ { kind: outage } ]\n").await;
    let (status, _, body) = raw(
        s.issuer,
        &request(
            "POST",
            "/token",
            &[FORM, CLIENT],
            "grant_type=client_credentials",
        ),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("temporarily_unavailable"));
    s.stop().await;
}

async fn start_limited(limits: Limits) -> Servers {
    let s = scenario::parse(
        "name: t\nduration: 1h\nclients: [ { name: c, count: 1 } ]\n",
        "t.yaml",
    )
    .unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    live::serve(&s, any, any, limits).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let s = start_limited(Limits {
        max_connections: 1,
        ..Limits::default()
    })
    .await;
    let first = TcpStream::connect(s.resource).await.unwrap();
    // Let the server take the first connection before the second arrives.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let second = tokio::spawn(raw(s.resource, request("GET", "/api/me", &[], "").leak()));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "served beyond the cap");
    drop(first);
    let (status, _, _) = tokio::time::timeout(std::time::Duration::from_secs(5), second)
        .await
        .expect("served once the first connection closed")
        .unwrap();
    assert_eq!(status, 401);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_head_is_cut_off() {
    let s = start_limited(Limits {
        head_timeout: std::time::Duration::from_millis(200),
        ..Limits::default()
    })
    .await;
    let mut stream = TcpStream::connect(s.resource).await.unwrap();
    stream
        .write_all(b"GET /api/me HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    // The server closes the connection (perhaps after a 408) instead of waiting on.
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut buf),
    )
    .await
    .expect("the connection was closed")
    .unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuer_lists_its_endpoints_and_revokes_tokens() {
    let s = start("").await;
    // The issuer is identified by the URL it is served at, and its endpoints are under
    // it: never under the Host a request names (`Host: t` in these requests).
    let base = format!("http://{}", s.issuer);
    let (status, _, body) = raw(
        s.issuer,
        &request("GET", "/.well-known/oauth-authorization-server", &[], ""),
    )
    .await;
    assert_eq!(status, 200);
    let meta: Value = serde_json::from_str(&body).unwrap();
    for (key, path) in [
        ("token_endpoint", "/token"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
        ("jwks_uri", "/jwks.json"),
    ] {
        assert_eq!(meta[key], format!("{base}{path}"), "{key}");
    }
    assert_eq!(meta["issuer"], base.as_str());
    assert_eq!(s.issuer_id, base);
    let evil = request("GET", "/.well-known/oauth-authorization-server", &[], "");
    let evil = String::from_utf8(evil)
        .unwrap()
        .replace("Host: t", "Host: evil.example");
    let (_, _, body) = raw(s.issuer, evil.as_bytes()).await;
    assert!(!body.contains("evil.example"), "{body}");

    // A refresh token revoked (RFC 7009): refreshing with it fails; an unknown token
    // is answered 200 all the same; no client authentication, 401.
    let (_, _, body) = raw(
        s.issuer,
        &request(
            "POST",
            "/token",
            &[FORM, CLIENT],
            "grant_type=password&username=bob&password=demo-password",
        ),
    )
    .await;
    let tokens: Value = serde_json::from_str(&body).unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let revoke = |token: String, auth: bool| {
        let mut headers = vec![FORM];
        if auth {
            headers.push(CLIENT);
        }
        request("POST", "/revoke", &headers, &format!("token={token}"))
    };
    let (status, _, _) = raw(s.issuer, &revoke(refresh.to_string(), true)).await;
    assert_eq!(status, 200);
    let (status, _, body) = raw(
        s.issuer,
        &request(
            "POST",
            "/token",
            &[FORM, CLIENT],
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("invalid_grant"), "{body}");
    let (status, _, _) = raw(s.issuer, &revoke("rt_unknown".into(), true)).await;
    assert_eq!(status, 200);
    let (status, _, _) = raw(s.issuer, &revoke("x".into(), false)).await;
    assert_eq!(status, 401);
    s.stop().await;
}

/// An outage in `mode: timeout` never answers, over the wire as in the sim: the server
/// holds the request (here 300 ms, for the test) and then closes the connection with
/// not a byte of an answer, rather than answering late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_no_answer_is_given_gets_none_at_all() {
    let s = scenario::parse(
        "name: t\nduration: 1h\nresource: { faults: [ { kind: outage, mode: timeout } ] }\nclients: [ { name: c, count: 1 } ]\n",
        "t.yaml",
    )
    .unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let hold = std::time::Duration::from_millis(300);
    let servers = live::serve(
        &s,
        any,
        any,
        Limits {
            no_answer_hold: hold,
            ..Limits::default()
        },
    )
    .await
    .unwrap();
    let mut stream = TcpStream::connect(servers.resource).await.unwrap();
    stream
        .write_all(&request("GET", "/api/me", &[], ""))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut buf),
    )
    .await
    .expect("the connection was closed")
    .unwrap();
    assert!(started.elapsed() >= hold / 2, "{:?}", started.elapsed());
    assert!(buf.is_empty(), "{}", String::from_utf8_lossy(&buf));
    assert_eq!(servers.stats().2.resource_injected, 1);
    servers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuer_is_the_public_url_its_tokens_and_metadata_name() {
    let s = scenario::parse(
        "name: t\nduration: 1h\nclients: [ { name: c, count: 1 } ]\n",
        "t.yaml",
    )
    .unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let public = "https://id.example.com/tenant";
    let servers = live::serve_at(&s, any, any, Limits::default(), Some(public))
        .await
        .unwrap();
    let (_, _, body) = raw(
        servers.issuer,
        &request("GET", "/.well-known/oauth-authorization-server", &[], ""),
    )
    .await;
    let meta: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(meta["issuer"], public);
    assert_eq!(meta["token_endpoint"], format!("{public}/token"));
    // The tokens carry it as `iss`, and the API accepts them.
    let token = login(&servers).await;
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], public);
    let (status, _, _) = raw(
        servers.resource,
        &request(
            "GET",
            "/api/me",
            &[("Authorization", &format!("Bearer {token}"))],
            "",
        ),
    )
    .await;
    assert_eq!(status, 200);
    servers.stop().await;
}

/// The head of a login whose body, `len` bytes, is to follow.
fn login_head(len: usize) -> String {
    format!(
        "POST /token HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: {}\r\nContent-Length: {len}\r\n\r\n",
        CLIENT.1
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_too_slowly_gets_408_and_one_sent_in_pieces_is_read_whole() {
    let s = start_limited(Limits {
        body_timeout: std::time::Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let mut slow = TcpStream::connect(s.issuer).await.unwrap();
    slow.write_all(login_head(100).as_bytes()).await.unwrap();
    slow.write_all(b"g").await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        slow.read_to_end(&mut answer),
    )
    .await
    .expect("answered and closed")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("invalid_request"), "{answer}");
    // The same login a byte per write, quickly: every piece lands in one body.
    let form = "grant_type=password&username=alice&password=demo-password";
    let mut pieces = TcpStream::connect(s.issuer).await.unwrap();
    pieces.set_nodelay(true).unwrap();
    pieces
        .write_all(login_head(form.len()).as_bytes())
        .await
        .unwrap();
    for b in form.bytes() {
        pieces.write_all(&[b]).await.unwrap();
    }
    let mut answer = vec![0; 4096];
    let n = pieces.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // A body declared over the limit is refused before it is sent.
    let (status, _, _) = raw(s.issuer, login_head(1 << 20).as_bytes()).await;
    assert_eq!(status, 413);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_slow_and_idle_connections_leaves_room_for_a_good_request() {
    let s = start("").await;
    // 1,024 connections that never finish: half send a body one byte and stop, half
    // open and say nothing (as idle keep-alive connections do).
    let mut flood = Vec::new();
    for i in 0..1024 {
        let mut c = TcpStream::connect(s.issuer).await.unwrap();
        if i % 2 == 0 {
            c.write_all(login_head(1000).as_bytes()).await.unwrap();
            c.write_all(b"g").await.unwrap();
        }
        flood.push(c);
    }
    // A well-behaved login is answered within a second all the same.
    let answered = tokio::time::timeout(std::time::Duration::from_secs(1), login(&s)).await;
    assert!(answered.is_ok(), "a good request waited behind the flood");
    drop(flood);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_serve_signs_with_keys_of_its_own_unless_the_scenario_fixes_them() {
    let key_set = |s: &Servers| {
        let issuer = s.issuer;
        async move {
            let (_, _, body) = raw(issuer, &request("GET", "/jwks.json", &[], "")).await;
            let set: Value = serde_json::from_str(&body).unwrap();
            set["keys"][0]["x"].clone()
        }
    };
    let es256 = "issuer: { signing: es256 }\n";
    let (a, b) = (start(es256).await, start(es256).await);
    assert_ne!(
        key_set(&a).await,
        key_set(&b).await,
        "fresh keys at each start"
    );
    // A token of one is nothing to the other's API.
    let token = login(&a).await;
    let auth = format!("Bearer {token}");
    let (status, _, _) = raw(
        b.resource,
        &request("GET", "/api/me", &[("Authorization", &auth)], ""),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, _) = raw(
        a.resource,
        &request("GET", "/api/me", &[("Authorization", &auth)], ""),
    )
    .await;
    assert_eq!(status, 200);
    // `issuer.keys: fixed`: the seed's keys, the same at every start.
    let fixed = "issuer: { signing: es256, keys: fixed }\n";
    let (c, d) = (start(fixed).await, start(fixed).await);
    assert_eq!(key_set(&c).await, key_set(&d).await);
    for s in [a, b, c, d] {
        s.stop().await;
    }
}
