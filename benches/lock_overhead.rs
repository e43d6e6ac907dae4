//! What `coordination: lock` costs the sim: the same population of 1,000 clients with
//! 4 instances each over 2 simulated hours, coordinated by single_flight (instances
//! uncoordinated), the local mutex, and the simulated Redis-like lock service.
//!
//! Compare the three in one run (the machine is shared: ratios, not absolute times).
//! Run with `cargo bench --bench lock_overhead`.

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use tokenstorm::run::{self, Control};
use tokenstorm::scenario;

fn scenario(policy: &str) -> String {
    format!(
        r#"
name: bench-lock
seed: 1
duration: 2h
tick: 10s
issuer:
  access_token: {{ ttl: 10m }}
  refresh_token: {{ rotation: true, reuse_grace: 10s }}
  latency: {{ distribution: lognormal, median: 20ms, p99: 200ms }}
resource:
  latency: 5ms
clients:
  - name: app
    count: 1000
    start: {{ uniform: 10m }}
    instances: 4
    requests: {{ every: 30s }}
    policy: {policy}
"#
    )
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("lock");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    for (name, policy) in [
        (
            "single_flight",
            "{ refresh: reactive, coordination: single_flight }",
        ),
        (
            "local",
            "{ refresh: reactive, coordination: lock, lock: { backend: local } }",
        ),
        (
            "simulated",
            "{ refresh: reactive, coordination: lock, lock: { backend: simulated } }",
        ),
    ] {
        let s = scenario::parse(&scenario(policy), "bench").expect("valid bench scenario");
        let requests = run::run(&s, &Control::default())
            .expect("run")
            .requests
            .total;
        group.throughput(Throughput::Elements(requests));
        group.bench_function(name, |b| {
            b.iter(|| run::run(&s, &Control::default()).expect("run"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
