//! Tokens the issuer's token endpoint issues per wall-second, per signing algorithm:
//! a password grant, the way `serve` answers one (form, client authentication, a new
//! family, a signed access token, the JSON answer). Criterion reports elements (tokens)
//! per second. Run with `cargo bench --bench token_issuing`.

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use tokenstorm::client::basic_auth;
use tokenstorm::clock::{Clock, SIM_EPOCH_MS};
use tokenstorm::issuer::Issuer;
use tokenstorm::scenario::{IssuerConfig, Signing};

fn login(c: &IssuerConfig) -> http::Request<Bytes> {
    let body = format!("grant_type=password&username=alice&password={}", c.password);
    http::Request::builder()
        .method("POST")
        .uri("/token")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(AUTHORIZATION, basic_auth(&c.client_id, &c.client_secret))
        .body(Bytes::from(body))
        .expect("a request")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("issuer");
    group.throughput(Throughput::Elements(1));
    for signing in [
        Signing::Hs256,
        Signing::Rs256,
        Signing::Es256,
        Signing::Eddsa,
    ] {
        let config = IssuerConfig {
            signing,
            ..Default::default()
        };
        let issuer =
            Issuer::new(&config, Clock::start(SIM_EPOCH_MS).skewed(0), 1).expect("an issuer");
        let req = login(&config);
        group.bench_function(format!("password_grant_{}", signing.as_str()), |b| {
            b.iter(|| {
                let resp = rt.block_on(issuer.handle(req.clone()));
                assert_eq!(resp.status(), http::StatusCode::OK);
                resp
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
