//! Live HTTP throughput on loopback: the live client's API requests per second against
//! the fake resource server (one token, verified once and cached), the resource
//! server's requests per second when every request brings a token it has not seen
//! (a full HS256 verification each), and beside them wrk's figure on the same endpoint
//! and machine when `wrk` is on the PATH.
//!
//! Run with `cargo bench --bench live_throughput`. The client and the servers share the
//! machine's cores, as wrk and the servers do.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use tokenstorm::client::basic_auth;
use tokenstorm::exchange::{Endpoint, Exchange, Request};
use tokenstorm::scenario;
use tokenstorm::server::Limits;
use tokenstorm::world::live::{self, Servers};
use tokenstorm::world::wire::{Address, LiveExchange};

const SCENARIO: &str = "name: bench\nduration: 1d\nissuer: { latency: 0s }\nresource: { latency: 0s }\nclients: [ { name: c, count: 1 } ]\n";
/// Requests in flight at once, for the client and for wrk alike.
const CONCURRENCY: usize = 64;
/// Requests per measured iteration.
const BATCH: usize = 20_000;

async fn token(exchange: &LiveExchange, user: usize) -> String {
    let mut req = Request::new(Bytes::from(format!(
        "grant_type=password&username=u{user}&password=demo-password"
    )));
    *req.method_mut() = http::Method::POST;
    *req.uri_mut() = http::Uri::from_static("/token");
    req.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    req.headers_mut()
        .insert(AUTHORIZATION, basic_auth("demo", "demo-secret"));
    let resp = exchange
        .send(Endpoint::Token, req, Duration::from_secs(5), 0)
        .await
        .expect("token");
    let v: serde_json::Value = serde_json::from_slice(resp.body()).expect("json");
    v["access_token"].as_str().expect("token").to_string()
}

/// Sends `tokens.len()` API requests, `CONCURRENCY` at a time, each with its token.
async fn fire(exchange: Arc<LiveExchange>, tokens: Arc<Vec<HeaderValue>>) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut loops = Vec::new();
    for _ in 0..CONCURRENCY {
        let (exchange, tokens, next) = (exchange.clone(), tokens.clone(), next.clone());
        loops.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(t) = tokens.get(i) else { break };
                let mut req = Request::new(Bytes::new());
                *req.uri_mut() = http::Uri::from_static("/api/me");
                req.headers_mut().insert(AUTHORIZATION, t.clone());
                let resp = exchange
                    .send(Endpoint::Api, req, Duration::from_secs(5), 0)
                    .await
                    .expect("answer");
                assert_eq!(resp.status(), 200);
            }
        }));
    }
    for l in loops {
        l.await.expect("loop");
    }
}

fn bearer(t: &str) -> HeaderValue {
    HeaderValue::try_from(format!("Bearer {t}")).expect("header")
}

/// wrk's requests per second on the API with `token`, if wrk is installed.
fn wrk(servers: &Servers, token: &str) -> Option<f64> {
    let out = std::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONCURRENCY}"),
            "-d5s",
            "-H",
            &format!("Authorization: Bearer {token}"),
            &format!("http://{}/api/me", servers.resource),
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let s = scenario::parse(SCENARIO, "bench").expect("scenario");
    let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let servers = rt
        .block_on(live::serve(&s, any, any, Limits::default()))
        .expect("servers");
    let exchange = Arc::new(LiveExchange::new(
        Address::Root(format!("http://{}", servers.issuer)),
        Address::Root(format!("http://{}", servers.resource)),
        None,
    ));
    let one = rt.block_on(token(&exchange, 0));
    let same = Arc::new(vec![bearer(&one); BATCH]);
    // wrk before and after: the machine's load drifts, the pair shows by how much.
    let wrk_before = wrk(&servers, &one);

    let mut group = c.benchmark_group("live");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("client_to_resource_cached_token", |b| {
        b.iter(|| rt.block_on(fire(exchange.clone(), same.clone())))
    });
    group.bench_function("resource_hs256_new_token_each", |b| {
        b.iter_batched(
            || {
                // Tokens the resource has not seen: each request verifies a signature.
                let tokens = rt.block_on(async {
                    let mut v = Vec::with_capacity(BATCH);
                    for i in 0..BATCH {
                        v.push(bearer(&token(&exchange, i).await));
                    }
                    v
                });
                Arc::new(tokens)
            },
            |tokens| rt.block_on(fire(exchange.clone(), tokens)),
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
    match (wrk_before, wrk(&servers, &one)) {
        (Some(a), Some(b)) => eprintln!(
            "wrk -t2 -c{CONCURRENCY} -d5s on the same endpoint: {a:.0} requests/s before, {b:.0} after"
        ),
        _ => eprintln!("wrk is not installed: no figure to compare with"),
    }
    rt.block_on(servers.stop());
}

criterion_group!(benches, bench);
criterion_main!(benches);
