//! `mode: live`: the same clients over real HTTP in real time, against servers started
//! in-process on loopback, or against external servers named by `targets`.

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
