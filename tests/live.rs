//! `mode: live`: the same clients over real HTTP in real time, against servers started
//! in-process on loopback, or against external servers named by `targets`.

mod common;

use std::net::SocketAddr;

use tokenstorm::run::{self, Control};
use tokenstorm::scenario;
use tokenstorm::server::Limits;
use tokenstorm::world::live;

const LIVE: &str = r#"
name: t
mode: live
duration: 3s
tick: 1s
issuer:
  access_token: { ttl: 1s }
  latency: 1ms
resource:
  latency: 1ms
clients:
  - name: reactive
    count: 5
    requests: { every: 50ms, distribution: constant }
    policy: { refresh: reactive }
"#;

#[test]
fn a_live_run_drives_real_servers_in_real_time() {
    let s = scenario::parse(LIVE, "t.yaml").unwrap();
    let r = run::run(&s, &Control::default()).unwrap();
    assert_eq!(r.mode, "live");
    assert!(
        r.run_info.wall_seconds >= 3.0,
        "{}",
        r.run_info.wall_seconds
    );
    assert!(r.requests.total > 100, "{:?}", r.requests);
    assert_eq!(r.requests.failed, 0);
    // 1-second tokens over 3 seconds: each client meets an expiry and refreshes.
    assert!(r.requests.unauthorized >= 5, "{:?}", r.requests);
    assert!(r.refresh.succeeded >= 5);
    // The servers' own counts reach the report.
    assert_eq!(
        r.issuer.token_requests,
        r.login.initial + r.refresh.attempts
    );
    assert_eq!(r.resource.requests, r.requests.total);
    assert_eq!(r.resource.rejected_expired, r.requests.unauthorized);
}

#[test]
fn targets_drive_external_servers() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let external = scenario::parse(
        "name: ext\nduration: 1h\nissuer: { access_token: { ttl: 1s } }\nclients: [ { name: c, count: 1 } ]\n",
        "ext.yaml",
    )
    .unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let servers = rt
        .block_on(live::serve(&external, any, any, Limits::default()))
        .unwrap();
    let yaml = format!(
        r#"
name: t
mode: live
duration: 2s
targets:
  issuer: http://{}/token
  resource: http://{}/api/me
  client_id: demo
  client_secret: demo-secret
clients:
  - name: c
    count: 3
    requests: {{ every: 50ms, distribution: constant }}
"#,
        servers.issuer, servers.resource
    );
    let s = scenario::parse(&yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    let r = run::run(&s, &Control::default()).unwrap();
    assert!(r.requests.ok > 50, "{:?}", r.requests);
    assert_eq!(r.requests.failed, 0);
    assert!(r.refresh.succeeded >= 3, "1-second tokens: {:?}", r.refresh);
    // The external servers saw it all; the report cannot know their counts.
    // (A request in flight at the end reached the server without an answer to count.)
    let (issuer, resource, _) = servers.stats();
    let within = |server: u64, client: u64| (client..=client + 3).contains(&server);
    assert!(within(resource.requests, r.requests.total), "{resource:?}");
    assert!(within(
        issuer.token_requests,
        r.login.initial + r.refresh.attempts
    ));
    assert_eq!(r.issuer.token_requests, 0);
    rt.block_on(servers.stop());
}

#[test]
fn targets_refuse_server_knobs_and_need_live_mode() {
    let base = "name: t\nduration: 1m\nclients: [ { name: c, count: 1 } ]\ntargets: { issuer: http://127.0.0.1:1/token, resource: http://127.0.0.1:2/api }\n";
    let e = scenario::parse(base, "t.yaml").unwrap_err().to_string();
    assert!(e.contains("targets") && e.contains("mode: live"), "{e}");
    let with_knob = format!("{base}mode: live\nissuer: {{ access_token: {{ ttl: 5m }} }}\n");
    let e = scenario::parse(&with_knob, "t.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("issuer.access_token") && e.contains("external server"),
        "{e}"
    );
    let bad_url = base.replace("http://127.0.0.1:1/token", "ftp://x") + "mode: live\n";
    let e = scenario::parse(&bad_url, "t.yaml").unwrap_err().to_string();
    assert!(e.contains("targets.issuer"), "{e}");
    scenario::parse(&format!("{base}mode: live\n"), "t.yaml").unwrap();
}

#[test]
fn a_connection_the_server_closed_while_idle_is_replaced_not_failed() {
    use tokenstorm::exchange::{Endpoint, Exchange, Request};
    use tokenstorm::world::wire::{Address, LiveExchange};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = scenario::parse(
        "name: t\nduration: 1h\nclients: [ { name: c, count: 1 } ]\n",
        "t.yaml",
    )
    .unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let limits = Limits {
        head_timeout: std::time::Duration::from_millis(200),
        ..Limits::default()
    };
    rt.block_on(async {
        let servers = live::serve(&s, any, any, limits).await.unwrap();
        let exchange = LiveExchange::new(
            Address::Root(format!("http://{}", servers.issuer)),
            Address::Root(format!("http://{}", servers.resource)),
            None,
        );
        let get = || {
            let mut r = Request::new(bytes::Bytes::new());
            *r.uri_mut() = http::Uri::from_static("/api/me");
            r
        };
        let timeout = std::time::Duration::from_secs(5);
        for _ in 0..3 {
            let r = exchange
                .send(Endpoint::Api, get(), timeout, 0)
                .await
                .unwrap();
            assert_eq!(r.status(), 401);
            // Idle past the server's read timeout: it closes the pooled connection.
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        servers.stop().await;
    });
}

/// Our own servers, started on loopback as a user's issuer and API would be, with
/// `ttl` access tokens; and a runtime to keep them running.
fn external(ttl: &str) -> (tokio::runtime::Runtime, live::Servers) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let yaml = format!(
        "name: ext\nduration: 1h\nissuer: {{ access_token: {{ ttl: {ttl} }} }}\nclients: [ {{ name: c, count: 1 }} ]\n"
    );
    let external = scenario::parse(&yaml, "ext.yaml").unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let servers = rt
        .block_on(live::serve(&external, any, any, Limits::default()))
        .unwrap();
    (rt, servers)
}

/// A `targets` scenario against `servers`: `clients` clients sending every 50 ms for
/// 2 s, with these extra `targets` keys (indented by four spaces).
fn targets_scenario(servers: &live::Servers, clients: u32, keys: &str) -> String {
    format!(
        "name: t\nmode: live\nduration: 2s\ntargets:\n    issuer: http://{}/token\n    resource: http://{}/api/me\n{keys}clients:\n  - name: c\n    count: {clients}\n    requests: {{ every: 50ms, distribution: constant }}\n",
        servers.issuer, servers.resource
    )
}

#[test]
fn targets_get_tokens_with_client_credentials_and_ask_again_when_they_run_out() {
    let (rt, servers) = external("1s");
    let yaml = targets_scenario(
        &servers,
        3,
        "    client_id: demo\n    client_secret: demo-secret\n    client_auth: client_secret_post\n    grant: client_credentials\n    token_request: { scope: api }\n",
    );
    let s = scenario::parse(&yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    let r = run::run(&s, &Control::default()).unwrap();
    assert_eq!(r.requests.failed, 0, "{:?}", r.requests);
    assert_eq!(
        r.login.initial, 3,
        "one first login per client: {:?}",
        r.login
    );
    assert_eq!(r.clients.with_token, 3);
    // No refresh token: a client renews by asking again (1-second tokens, 2 seconds).
    assert_eq!(r.refresh.attempts, 0, "{:?}", r.refresh);
    assert!(r.login.renewed >= 3, "{:?}", r.login);
    assert_eq!(r.login.forced, 0);
    let (issuer, _, _) = servers.stats();
    assert_eq!(issuer.logins, 0, "no password grant: {issuer:?}");
    let asked = r.login.initial + r.login.renewed;
    assert!(
        (asked..=asked + 3).contains(&issuer.client_credentials),
        "{issuer:?} {:?}",
        r.login
    );
    let t = r.targets.as_ref().expect("a targets run says so");
    assert_eq!(
        (t.grant.as_str(), t.client_auth.as_str()),
        ("client_credentials", "client_secret_post")
    );
    rt.block_on(servers.stop());
}

/// A refresh token of our issuer for user `user`, by a password grant over HTTP.
fn refresh_token_of(issuer: SocketAddr, user: &str) -> String {
    use std::io::{Read, Write};
    let body = format!("grant_type=password&username={user}&password=demo-password");
    let mut conn = std::net::TcpStream::connect(issuer).unwrap();
    write!(
        conn,
        "POST /token HTTP/1.1\r\nHost: {issuer}\r\nAuthorization: Basic ZGVtbzpkZW1vLXNlY3JldA==\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let json = answer.split("\r\n\r\n").nth(1).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {answer}"));
    v["refresh_token"].as_str().unwrap().to_string()
}

#[test]
fn targets_start_each_client_from_a_refresh_token_it_was_provisioned_with() {
    let (rt, servers) = external("1s");
    let dir = common::temp_dir("live", "provisioned");
    let tokens: Vec<String> = (0..3)
        .map(|n| refresh_token_of(servers.issuer, &format!("device-{n}")))
        .collect();
    std::fs::write(dir.join("tokens.txt"), tokens.join("\n") + "\n\n").unwrap();
    let yaml = targets_scenario(
        &servers,
        3,
        "    grant: refresh_token\n    refresh_tokens: tokens.txt\n",
    );
    let file = dir.join("t.yaml");
    std::fs::write(&file, &yaml).unwrap();
    // The file is read relative to the scenario's folder.
    let s = scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let (before, _, _) = servers.stats();
    let r = run::run(&s, &Control::default()).unwrap();
    assert_eq!(r.requests.failed, 0, "{:?}", r.requests);
    assert_eq!(r.login.initial, 0, "no login at all: {:?}", r.login);
    assert_eq!(r.clients.with_token, 3);
    assert!(r.refresh.succeeded >= 3, "{:?}", r.refresh);
    let (after, _, _) = servers.stats();
    assert_eq!(after.logins, before.logins, "{after:?}");
    assert!(after.refreshes - before.refreshes >= r.refresh.succeeded);
    assert_eq!(
        after.reuse_detected, 0,
        "each client its own token: {after:?}"
    );

    // Fewer tokens than clients: refused before the run, naming the file.
    let four = targets_scenario(
        &servers,
        4,
        "    grant: refresh_token\n    refresh_tokens: tokens.txt\n",
    );
    std::fs::write(&file, four).unwrap();
    let e = scenario::load(&file).unwrap_err().to_string();
    assert!(
        e.contains("targets.refresh_tokens") && e.contains("3 refresh token(s) for 4 client(s)"),
        "{e}"
    );
    rt.block_on(servers.stop());
}

#[test]
fn a_targets_run_whose_clients_get_no_token_counts_clients_and_keeps_the_issuers_error() {
    let (rt, servers) = external("1m");
    let yaml = targets_scenario(
        &servers,
        2,
        "    client_id: demo\n    client_secret: wrong\n",
    );
    let s = scenario::parse(&yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    let r = run::run(&s, &Control::default()).unwrap();
    assert_eq!(r.requests.ok, 0);
    assert_eq!(r.login.initial, 2, "clients, not attempts: {:?}", r.login);
    assert!(
        r.login.retried > 0 && r.login.failed > r.login.initial,
        "{:?}",
        r.login
    );
    assert_eq!(r.clients.with_token, 0);
    let error = r.login.first_error.as_deref().unwrap_or_default();
    assert!(error.starts_with("401 invalid_client"), "{error}");
    let why = tokenstorm::report::no_token_obtained(&r).expect("a failed run");
    assert!(
        why.contains("invalid_client") && why.contains("grant password"),
        "{why}"
    );
    rt.block_on(servers.stop());
}
