//! Simulated API requests per wall-second: 10,000 clients over 6 simulated hours.
//!
//! Criterion reports the throughput in elements (simulated API requests) per second.
//! Run with `cargo bench --bench sim_throughput`.

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use tokenstorm::run::{self, Control};
use tokenstorm::scenario;

const SCENARIO: &str = r#"
name: bench-10k-6h
seed: 1
duration: 6h
tick: 10s
issuer:
  access_token: { ttl: 1h }
  refresh_token: { rotation: true, reuse_grace: 10s }
  latency: { distribution: lognormal, median: 20ms, p99: 200ms }
resource:
  latency: 5ms
clients:
  - name: web
    count: 10000
    start: { uniform: 10m }
    requests: { every: 30s }
    policy: { refresh: proactive, buffer: 60s }
"#;

fn bench(c: &mut Criterion) {
    let s = scenario::parse(SCENARIO, "bench").expect("valid bench scenario");
    // One run to learn the request count the throughput is expressed in.
    let requests = run::run(&s, &Control::default())
        .expect("run")
        .requests
        .total;
    let mut group = c.benchmark_group("sim");
    // One run takes tens of seconds: ten single runs, no linear ramp.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(std::time::Duration::from_secs(300));
    group.throughput(Throughput::Elements(requests));
    group.bench_function("10k_clients_6h", |b| {
        b.iter(|| run::run(&s, &Control::default()).expect("run"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
