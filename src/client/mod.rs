//! The simulated clients: token managers that refresh the way real SDKs do.
//!
//! A client group has `count` clients (users), each with `instances` processes that
//! share one token store, each running `workers` request loops. `spawn_group` starts
//! them all on the current runtime: each client logs in at its start time, then its
//! workers send API requests until the run ends. The same code runs on the sim's
//! virtual clock and, over an HTTP exchange, in real time.

mod authorize;
mod credentials;
mod flight;
mod instance;
pub(crate) mod session;
pub(crate) mod store;
mod throttle;
pub mod worker;

use std::sync::Arc;

use crate::clock::Instant;
use http::Uri;
use rand::RngExt;

use crate::clock::Clock;
use crate::exchange::Exchange;
pub use crate::exchange::basic_auth;
use crate::metrics::Metrics;
use crate::rng::{self, stream};
use crate::scenario::{ClientGroup, ClockOffset, Coordination, Dialect, RefreshMode, Start};
use crate::shard::Shard;
pub use credentials::{ClientAuth, Credentials};
pub use instance::Instance;
pub use session::{Client, Group, Need};

/// The API request of a group: `/api/me`, asking for the group's dialect if it has one.
fn api_uri(dialect: Option<Dialect>) -> Uri {
    match dialect {
        None => Uri::from_static("/api/me"),
        Some(d) => Uri::try_from(format!("/api/me?dialect={}", d.as_str()))
            .unwrap_or_else(|_| Uri::from_static("/api/me")),
    }
}

/// The moment (ms after the run's start) client `index` of `count` logs in first.
pub(crate) fn start_ms(start: &Start, index: u32, count: u32, rng: &mut rng::Rng) -> u64 {
    match start {
        Start::Burst(at) => at.as_ms().max(0) as u64,
        Start::Ramp(over) => {
            (over.as_ms().max(0) as u128 * index as u128 / count.max(1) as u128) as u64
        }
        Start::Uniform(over) => match over.as_ms() {
            ms if ms > 0 => rng.random_range(0..ms as u64),
            _ => 0,
        },
    }
}

/// The clock offset of one client: fixed, or drawn from `rng` within the bounds.
fn clock_offset(offset: &ClockOffset, rng: &mut rng::Rng) -> i64 {
    match offset {
        ClockOffset::Fixed(d) => d.as_ms(),
        ClockOffset::Uniform { uniform: [lo, hi] } if lo < hi => {
            rng.random_range(lo.as_ms()..=hi.as_ms())
        }
        ClockOffset::Uniform { uniform: [lo, _] } => lo.as_ms(),
    }
}

/// Where one client's instances run and how long: what its task needs besides the
/// client itself.
struct Plan {
    g: usize,
    c: u32,
    seed: u64,
    instances: u32,
    workers: u32,
    shard: Option<Shard>,
    /// Whether the shard deals this group's instances apart ([`Shard::runs_instance`]).
    spread: bool,
    end: Instant,
    pacer: Arc<worker::Pacer>,
}

/// Starts every client of group number `g` (with `shard`, only the instances that
/// worker runs). Returns at once; the clients run as tasks until `end`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn spawn_group<E: Exchange>(
    g: usize,
    group: &ClientGroup,
    credentials: Credentials,
    dialect: Dialect,
    exchange: Arc<E>,
    metrics: Arc<Metrics>,
    clock: Clock,
    end: Instant,
    seed: u64,
    lock: Option<Arc<crate::lock::LockService>>,
    shard: Option<Shard>,
) {
    let shared = Arc::new(Group {
        index: g,
        exchange,
        metrics,
        policy: group.resolved.clone(),
        login_latency: group.login.latency,
        credentials,
        api: api_uri(group.dialect),
        dialect: group.dialect.unwrap_or(dialect),
        lock,
        name: group.name.clone(),
        users: group.users,
    });
    let pacer = Arc::new(worker::Pacer::new(&group.requests));
    let (instances, workers) = (group.instances.max(1), group.workers.max(1));
    let spread = crate::shard::shares_tokens_across_processes(&group.resolved);
    for c in 0..group.count {
        if shard.is_some_and(|s| !s.runs_client(c, instances, spread)) {
            continue;
        }
        let mut crng = rng::rng(seed, &[stream::CLIENT, g as u64, c as u64]);
        let draws = rng::Draws::new(seed, &[stream::SENDER, g as u64, c as u64]);
        let (at, client) = new_client(&shared, group, c, clock, &mut crng, draws);
        let plan = Plan {
            g,
            c,
            seed,
            instances,
            workers,
            shard,
            spread,
            end,
            pacer: pacer.clone(),
        };
        crate::clock::time::spawn(run_client(client, at, crng, plan));
    }
}

/// Client `c` of the group, and when it starts on `clock`. Its stream draws the start
/// first, then the clock offset.
fn new_client<E: Exchange>(
    shared: &Arc<Group<E>>,
    group: &ClientGroup,
    c: u32,
    clock: Clock,
    crng: &mut rng::Rng,
    draws: rng::Draws,
) -> (Instant, Arc<Client<E>>) {
    let at = clock.at(start_ms(&group.start, c, group.count, crng));
    let offset = clock_offset(&group.clock_offset, crng);
    let client = Arc::new(Client::new(
        shared.clone(),
        c,
        clock.fixed_skew(offset),
        draws,
    ));
    if let Some(token) = shared.credentials.provisioned(c) {
        client.provision(token);
    }
    (at, client)
}

/// One client's task: waits for its start, logs in, and starts its instances (with
/// their timer and workers).
async fn run_client<E: Exchange>(client: Arc<Client<E>>, at: Instant, crng: rng::Rng, plan: Plan) {
    if at >= plan.end {
        return;
    }
    crate::clock::time::sleep_until(at).await;
    // Boxed once started: a client waiting for its start holds only its arguments.
    Box::pin(start_client(client, crng, plan)).await;
}

/// Logs the client in and starts its instances, once its start time has come.
async fn start_client<E: Exchange>(client: Arc<Client<E>>, mut crng: rng::Rng, plan: Plan) {
    let locked = client.policy().coordination == Coordination::Lock;
    // A failed first login is retried by the first request that needs a token.
    // Under a lock the login is the lock's too: instances elsewhere (in this
    // process or another) may have logged in already.
    if !locked {
        let _ = client.login(&mut crng).await;
    }
    let mut timer = client.policy().refresh == RefreshMode::Background;
    let mut first = true;
    let Plan { g, c, seed, .. } = plan;
    for i in 0..plan.instances {
        if plan
            .shard
            .is_some_and(|s| !s.runs_instance(c, plan.instances, i, plan.spread))
        {
            continue;
        }
        let irng = rng::rng(seed, &[stream::BACKGROUND, g as u64, c as u64, i as u64]);
        let instance = Arc::new(Instance::new(client.clone(), irng));
        if locked && std::mem::take(&mut first) {
            let _ = instance.obtain(Need::Login { seen: 0 }, &mut crng).await;
        }
        // One timer per token store: its first instance's (with a shard, the
        // first this process runs: the store is the process's).
        if std::mem::take(&mut timer) {
            crate::clock::time::spawn(instance.clone().timer(plan.end));
        }
        start_workers(&instance, i, &plan);
    }
}

/// Starts the request loops of instance `i`, each with its own stream.
fn start_workers<E: Exchange>(instance: &Arc<Instance<E>>, i: u32, plan: &Plan) {
    let Plan { g, c, seed, .. } = *plan;
    for w in 0..plan.workers {
        let wrng = rng::rng(
            seed,
            &[stream::WORKER, g as u64, c as u64, i as u64, w as u64],
        );
        // Its instance and client are read whenever it wakes.
        let touches = [
            Arc::as_ptr(instance).cast(),
            std::ptr::from_ref(instance.client()).cast(),
        ];
        crate::clock::time::spawn_touching(
            worker::run(instance.clone(), plan.pacer.clone(), plan.end, wrng),
            touches,
        );
    }
}
