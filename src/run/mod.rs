//! Builds the world a scenario describes, runs it, and collects the report.
//!
//! `sim` runs on a current-thread tokio runtime whose clock is paused: the runtime
//! jumps to the next timer whenever every task is idle, so a day of simulated traffic
//! takes seconds and every run of the same scenario and seed does the same thing in the
//! same order. The only wall-clock readings are the ones that end up in `run_info`.

pub mod compare;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::client;
use crate::clock::ActorClock;
use crate::clock::{Clock, SIM_EPOCH_MS};
use crate::exchange::ExchangeStats;
use crate::issuer::{Issuer, IssuerStats};
use crate::lock::LockService;
use crate::metrics::{Counts, Metrics, Recorded};
use crate::report::model::{self as m, Report};
use crate::report::{recovery, threshold};
use crate::resource::{Resource, ResourceStats};
use crate::rng::{self, stream};
use crate::scenario::{Coordination, Fault, FaultKind, IssuerConfig, Mode, Scenario, Thresholds};
use crate::server::gate::Side;
use crate::shard::Shard;
use crate::world::sim::{SimExchange, SimUpstream};

/// Lets the caller watch and stop a run from another thread.
#[derive(Clone, Debug, Default)]
pub struct Control {
    /// Set to end the run early; the report covers what ran.
    pub stop: Arc<AtomicBool>,
    /// Milliseconds of run time done so far.
    pub progress: Arc<AtomicU64>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("mode `{0}` is not supported yet")]
    Unsupported(&'static str),
    #[error("could not start the runtime: {0}")]
    Runtime(#[from] std::io::Error),
    #[error("could not set up the issuer's keys: {0}")]
    Keys(#[from] crate::issuer::KeyError),
    #[error("could not start the servers: {0}")]
    Server(String),
    #[error("{0}")]
    Lock(String),
    #[error("could not encode the worker's latency histograms: {0}")]
    Histogram(String),
}

/// How a run is split when it is one worker of several (`run --worker I/N`).
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// The share of the clients this process runs; None: all of them, and an ordinary
    /// report. Callers check it against the scenario first
    /// ([`crate::shard::problems`]).
    pub shard: Option<Shard>,
    /// Names the run every worker belongs to; recorded in the report's `worker`.
    pub run_id: Option<String>,
}

/// Runs `scenario` and returns its report, thresholds evaluated.
pub fn run(scenario: &Scenario, control: &Control) -> Result<Report, RunError> {
    run_with(scenario, control, &RunOptions::default())
}

/// [`run`] as one worker of several when `options` has a shard: only that worker's
/// clients run, and the report carries what `merge` needs in its `worker` section.
pub fn run_with(
    scenario: &Scenario,
    control: &Control,
    options: &RunOptions,
) -> Result<Report, RunError> {
    match scenario.mode {
        Mode::Sim => run_sim(scenario, control, options),
        Mode::Live => run_live(scenario, control, options),
    }
}

/// What the world counted when the run ended.
struct Outcome {
    recorded: Recorded,
    issuer: IssuerStats,
    resource: ResourceStats,
    exchange: ExchangeStats,
    elapsed_ms: u64,
    interrupted: bool,
    /// Wall clock (Unix ms) at the start: 0 in the sim, whose clock is not the wall's.
    started_unix_ms: u64,
}

fn run_sim(
    scenario: &Scenario,
    control: &Control,
    options: &RunOptions,
) -> Result<Report, RunError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()?;
    run_on(
        runtime,
        scenario,
        options,
        simulate(scenario, control, options),
    )
}

fn run_live(
    scenario: &Scenario,
    control: &Control,
    options: &RunOptions,
) -> Result<Report, RunError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    run_on(runtime, scenario, options, live(scenario, control, options))
}

/// Runs `world` on `runtime` and assembles its report, with the wall-clock facts (and
/// a worker's section when it ran as one).
fn run_on(
    runtime: tokio::runtime::Runtime,
    scenario: &Scenario,
    options: &RunOptions,
    world: impl std::future::Future<Output = Result<Outcome, RunError>>,
) -> Result<Report, RunError> {
    let wall = std::time::Instant::now();
    let started_at = rfc3339_now();
    let mut outcome = runtime.block_on(world)?;
    // Dropping the runtime cancels whatever was still in flight at the end.
    drop(runtime);
    let worker = match options.shard {
        Some(shard) => Some(worker(scenario, shard, options, &mut outcome)?),
        None => None,
    };
    let mut report = assemble(scenario, outcome);
    report.worker = worker;
    report.run_info.wall_seconds = (wall.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    report.run_info.started_at = started_at;
    Ok(report)
}

async fn simulate(
    scenario: &Scenario,
    control: &Control,
    options: &RunOptions,
) -> Result<Outcome, RunError> {
    let shard = options.shard;
    let seed = scenario.seed;
    let clock = Clock::start(SIM_EPOCH_MS);
    let issuer = Arc::new(Issuer::new(
        &scenario.issuer,
        clock.skewed(scenario.issuer.clock_offset.as_ms()),
        seed,
    )?);
    // The resource reaches the issuer through the exchange, once the exchange exists.
    let upstream = Arc::new(SimUpstream::default());
    let resource = Arc::new(Resource::of_scenario(
        scenario,
        &issuer,
        clock.skewed(scenario.resource.clock_offset.as_ms()),
        upstream.clone(),
    ));
    let metrics = metrics_for(scenario, clock, control, shard.is_some());
    let exchange = Arc::new(SimExchange::new(
        issuer.clone(),
        resource.clone(),
        Side::issuer(scenario),
        Side::resource(scenario),
        metrics.clone(),
        rng::rng(seed, &[stream::EXCHANGE]),
    ));
    upstream.connect(&exchange);
    schedule_events(
        scenario,
        &issuer,
        issuer.clock(),
        resource.clock(),
        clock,
        scenario.duration.as_ms().max(0) as u64,
    );
    let (elapsed_ms, interrupted) = drive(
        scenario,
        &scenario.issuer,
        control,
        exchange.clone(),
        &metrics,
        clock,
        options,
    )
    .await?;
    Ok(Outcome {
        recorded: metrics.finish(),
        issuer: issuer.stats(),
        resource: resource.stats(),
        exchange: exchange.stats(),
        elapsed_ms,
        interrupted,
        started_unix_ms: 0,
    })
}

/// The run's recorder: a timeline of the scenario's ticks, a figure set per group, and
/// for a worker the time of each refresh.
fn metrics_for(scenario: &Scenario, clock: Clock, control: &Control, worker: bool) -> Arc<Metrics> {
    let duration_ms = scenario.duration.as_ms().max(0) as u64;
    let tick_ms = scenario.tick.as_ms().max(1) as u64;
    let metrics = Metrics::new(
        clock,
        tick_ms,
        ticks(duration_ms, tick_ms),
        scenario.clients.len(),
        control.progress.clone(),
    );
    Arc::new(if worker {
        metrics.keep_refresh_arrivals()
    } else {
        metrics
    })
}

/// The report's `worker` section: the shard, the latency histograms encoded, and the
/// refresh arrivals (taken out of `o`), sorted, with their groups numbered as the
/// report's `groups` lists them (by name).
fn worker(
    scenario: &Scenario,
    shard: Shard,
    options: &RunOptions,
    o: &mut Outcome,
) -> Result<m::Worker, RunError> {
    let r = &mut o.recorded;
    let mut by_name: Vec<(&str, usize)> = scenario
        .clients
        .iter()
        .enumerate()
        .map(|(g, group)| (group.name.as_str(), g))
        .collect();
    by_name.sort_unstable();
    let mut position = vec![0u32; scenario.clients.len()];
    for (p, (_, g)) in by_name.iter().enumerate() {
        position[*g] = p as u32;
    }
    let mut arrivals: Vec<(u64, u32)> = r
        .refresh_arrivals
        .take()
        .unwrap_or_default()
        .into_iter()
        .map(|(ms, g)| (ms, position.get(g).copied().unwrap_or(0)))
        .collect();
    arrivals.sort_unstable();
    let encode = |l: &crate::metrics::Latencies| l.encode().map_err(RunError::Histogram);
    Ok(m::Worker {
        index: shard.index,
        of: shard.of,
        run_id: options.run_id.clone(),
        started_unix_ms: o.started_unix_ms,
        histograms: m::WorkerHistograms {
            request: encode(&r.request_latency)?,
            refresh: encode(&r.refresh_latency)?,
            login: encode(&r.login_latency)?,
            lock_wait: encode(&r.lock_wait)?,
            issuer_queue_wait: encode(&r.issuer_queue_wait)?,
        },
        refresh_arrivals_ms: arrivals.iter().map(|a| a.0).collect(),
        refresh_arrival_groups: arrivals.iter().map(|a| a.1).collect(),
    })
}

/// Starts every client group against `exchange` and waits for the run's end (or a
/// stop request). Returns the run time covered and whether it was interrupted.
async fn drive<E: crate::exchange::Exchange>(
    scenario: &Scenario,
    issuer: &IssuerConfig,
    control: &Control,
    exchange: Arc<E>,
    metrics: &Arc<Metrics>,
    clock: Clock,
    options: &RunOptions,
) -> Result<(u64, bool), RunError> {
    let shard = options.shard;
    let duration_ms = scenario.duration.as_ms().max(0) as u64;
    let end = clock.at(duration_ms);
    let locks = lock_services(scenario, options).await?;
    for ((g, group), lock) in scenario.clients.iter().enumerate().zip(locks) {
        client::spawn_group(
            g,
            group,
            issuer,
            scenario.resource.dialect,
            exchange.clone(),
            metrics.clone(),
            clock,
            end,
            scenario.seed,
            lock,
            shard,
        );
    }
    // Wake once a (simulated) second to notice a stop request; in the sim the wake-ups
    // are part of every run alike, so they do not disturb determinism.
    let mut interrupted = false;
    loop {
        let next = (tokio::time::Instant::now() + Duration::from_secs(1)).min(end);
        tokio::time::sleep_until(next).await;
        if tokio::time::Instant::now() >= end {
            break;
        }
        if control.stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
    }
    let elapsed_ms = clock.elapsed_ms().min(duration_ms);
    control.progress.store(elapsed_ms, Ordering::Relaxed);
    Ok((elapsed_ms, interrupted))
}

/// The lock service of each group whose policy coordinates with `lock`, in group order.
async fn lock_services(
    scenario: &Scenario,
    options: &RunOptions,
) -> Result<Vec<Option<Arc<LockService>>>, RunError> {
    // Keys of one run must not meet another run's on a shared Redis; the workers of one
    // run share theirs through the run id. The sim's locks never leave the process:
    // neither the process id nor the wall clock is read there.
    let (namespace, tag) = match (&options.run_id, scenario.mode) {
        (_, Mode::Sim) => (scenario.name.clone(), "sim".to_string()),
        (Some(id), Mode::Live) => (
            format!("{}:{id}", scenario.name),
            std::process::id().to_string(),
        ),
        (None, Mode::Live) => (
            format!(
                "{}:{}:{}",
                scenario.name,
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis())
            ),
            std::process::id().to_string(),
        ),
    };
    let mut services = Vec::new();
    for group in &scenario.clients {
        let policy = crate::scenario::Policy::resolve(&group.policy);
        services.push(if policy.coordination == Coordination::Lock {
            let service = LockService::start(policy.lock, &namespace, &tag)
                .await
                .map_err(|e| RunError::Lock(e.to_string()))?;
            Some(Arc::new(service))
        } else {
            None
        });
    }
    Ok(services)
}

/// A live run: real HTTP in real time, against servers started here on loopback (or
/// the external ones of `targets`, whose counts the report then cannot know).
async fn live(
    scenario: &Scenario,
    control: &Control,
    options: &RunOptions,
) -> Result<Outcome, RunError> {
    let shard = options.shard;
    use crate::world::live::{Address, LiveExchange};
    let clock = Clock::wall();
    let metrics = metrics_for(scenario, clock, control, shard.is_some());
    let mut issuer_config = scenario.issuer.clone();
    let (exchange, servers) = match &scenario.targets {
        Some(t) => {
            if let Some(id) = &t.client_id {
                issuer_config.client_id = id.clone();
            }
            if let Some(secret) = &t.client_secret {
                issuer_config.client_secret = secret.clone();
            }
            if let Some(password) = &t.password {
                issuer_config.password = password.clone();
            }
            let exchange = LiveExchange::new(
                Address::Exact(t.issuer.clone()),
                Address::Exact(t.resource.clone()),
            );
            (exchange, None)
        }
        None => {
            let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let limits = crate::server::Limits {
                max_connections: 65_536,
                ..Default::default()
            };
            let servers = crate::server::start_on(
                scenario,
                loopback,
                loopback,
                limits,
                clock,
                Some(metrics.clone()),
            )
            .await
            .map_err(|e| RunError::Server(e.to_string()))?;
            let exchange = LiveExchange::new(
                Address::Root(format!("http://{}", servers.issuer)),
                Address::Root(format!("http://{}", servers.resource)),
            );
            (exchange, Some(servers))
        }
    };
    let (elapsed_ms, interrupted) = drive(
        scenario,
        &issuer_config,
        control,
        Arc::new(exchange),
        &metrics,
        clock,
        options,
    )
    .await?;
    let (issuer, resource, exchange) = servers.as_ref().map(|s| s.stats()).unwrap_or_default();
    Ok(Outcome {
        recorded: metrics.finish(),
        issuer,
        resource,
        exchange,
        elapsed_ms,
        interrupted,
        started_unix_ms: clock.epoch_ms().max(0) as u64,
    })
}

/// Schedules the faults that are moments rather than windows: clock jumps, key
/// rotations, revocations (sim and live alike).
pub(crate) fn schedule_events(
    scenario: &Scenario,
    issuer: &Arc<Issuer>,
    issuer_clock: &ActorClock,
    resource_clock: &ActorClock,
    clock: Clock,
    end_ms: u64,
) {
    schedule_clock_jumps(&scenario.issuer.faults, issuer_clock, clock);
    schedule_key_rotations(&scenario.issuer, issuer, clock, end_ms);
    schedule_clock_jumps(&scenario.resource.faults, resource_clock, clock);
    schedule_revocations(&scenario.issuer.faults, issuer, clock, scenario.seed);
}

/// Moves `actor`'s clock by each `clock_jump` fault's `by` at its `at`.
fn schedule_clock_jumps(faults: &[Fault], actor: &ActorClock, clock: Clock) {
    for f in faults.iter().filter(|f| f.kind == FaultKind::ClockJump) {
        let (Some(at), Some(by)) = (f.at, f.by) else {
            continue;
        };
        let actor = actor.clone();
        let when = clock.at(at.as_ms().max(0) as u64);
        tokio::spawn(async move {
            tokio::time::sleep_until(when).await;
            actor.jump(by.as_ms());
        });
    }
}

/// Rotates the issuer's signing key at each `rotate_keys` fault's `at`, and then every
/// `every` (from `every` when there is no `at`) until the end of the run.
fn schedule_key_rotations(config: &IssuerConfig, issuer: &Arc<Issuer>, clock: Clock, end_ms: u64) {
    for f in config
        .faults
        .iter()
        .filter(|f| f.kind == FaultKind::RotateKeys)
    {
        let every = f.every.map(|d| d.as_ms().max(1) as u64);
        let Some(first) = f.at.map(|d| d.as_ms().max(0) as u64).or(every) else {
            continue;
        };
        let overlap = f.overlap.unwrap_or(config.access_token.ttl).as_ms();
        let delay = f.publish_delay.map_or(0, |d| d.as_ms());
        let issuer = issuer.clone();
        tokio::spawn(async move {
            let mut at = first;
            while at < end_ms {
                tokio::time::sleep_until(clock.at(at)).await;
                // A key that cannot be made leaves the old one signing, as a failed
                // rotation would.
                let _ = issuer.rotate_keys(overlap, delay);
                match every {
                    Some(e) => at += e,
                    None => break,
                }
            }
        });
    }
}

/// Revokes a `fraction` of the live families at each `revoke` fault's `at`.
fn schedule_revocations(faults: &[Fault], issuer: &Arc<Issuer>, clock: Clock, seed: u64) {
    for (n, f) in faults.iter().enumerate() {
        if f.kind != FaultKind::Revoke {
            continue;
        }
        let issuer = issuer.clone();
        let when = clock.at(f.at.map_or(0, |d| d.as_ms().max(0) as u64));
        let fraction = f.fraction.unwrap_or(1.0);
        let mut rng = rng::rng(seed, &[stream::FAULTS, 2, n as u64]);
        tokio::spawn(async move {
            tokio::time::sleep_until(when).await;
            issuer.revoke_share(fraction, &mut rng);
        });
    }
}

/// Timeline buckets for a run: the last one may be partial.
pub fn ticks(duration_ms: u64, tick_ms: u64) -> usize {
    duration_ms.div_ceil(tick_ms.max(1)) as usize
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Rounds to 6 decimals, so rates read well and never carry float noise.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// `unauthorized_rate` and `failed_rate` of some requests (a run's or one group's);
/// `merge` recomputes them from summed counts the same way.
pub(crate) fn rates(r: &m::Requests) -> (f64, f64) {
    (
        round6(ratio(r.unauthorized, r.total)),
        round6(ratio(r.failed, r.logical)),
    )
}

/// `refresh.mean_per_second`: the attempts over the time the run covered.
pub(crate) fn mean_per_second(attempts: u64, duration_seconds: f64) -> f64 {
    if duration_seconds > 0.0 {
        round6(attempts as f64 / duration_seconds)
    } else {
        0.0
    }
}

fn requests(c: &Counts) -> m::Requests {
    m::Requests {
        total: c.attempts,
        ok: c.ok,
        unauthorized: c.unauthorized,
        failed: c.failed,
        retried: c.retried,
        logical: c.logical,
        timeouts: c.timeouts,
        errors: c.errors,
    }
}

fn login(c: &Counts) -> m::Login {
    m::Login {
        initial: c.login_initial,
        forced: c.login_forced,
        failed: c.login_failed,
    }
}

fn group(c: &Counts) -> m::Group {
    let requests = requests(c);
    let (unauthorized_rate, failed_rate) = rates(&requests);
    m::Group {
        requests,
        unauthorized_rate,
        failed_rate,
        refresh: m::GroupRefresh {
            attempts: c.refresh_attempts,
            succeeded: c.refresh_ok,
            failed: c.refresh_failed,
            invalid_grant: c.refresh_invalid_grant,
            duplicates: c.refresh_duplicates,
            peak_per_second: c.refresh_peak_per_second,
        },
        login: login(c),
        lock: m::GroupLock {
            acquisitions: c.lock_acquisitions,
            contended: c.lock_contended,
            timeouts: c.lock_timeouts,
            lost: c.lock_lost,
            refreshes_under_lost_lock: c.lock_lost_refreshes,
        },
    }
}

fn assemble(scenario: &Scenario, o: Outcome) -> Report {
    let r = o.recorded;
    let c = &Counts::sum(&r.groups);
    let duration_seconds = o.elapsed_ms as f64 / 1000.0;
    // An interrupted run's timeline ends where the run did.
    let kept = if o.interrupted {
        ticks(o.elapsed_ms, scenario.tick.as_ms().max(1) as u64)
    } else {
        usize::MAX
    };
    let cut = |mut v: Vec<u64>| {
        v.truncate(kept);
        v
    };
    let requests = requests(c);
    let (unauthorized_rate, failed_rate) = rates(&requests);
    let mut report = Report {
        schema_version: m::SCHEMA_VERSION,
        scenario: scenario.name.clone(),
        description: scenario.description.trim().to_string(),
        variant: None,
        seed: scenario.seed,
        mode: scenario.mode.as_str().to_string(),
        duration_seconds,
        run_info: m::RunInfo {
            wall_seconds: 0.0,
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: String::new(),
            interrupted: o.interrupted,
        },
        requests,
        unauthorized_rate,
        failed_rate,
        refresh: m::Refresh {
            attempts: c.refresh_attempts,
            succeeded: c.refresh_ok,
            failed: c.refresh_failed,
            invalid_grant: c.refresh_invalid_grant,
            duplicates: c.refresh_duplicates,
            peak_per_second: r.peaks.refresh_per_second,
            mean_per_second: mean_per_second(c.refresh_attempts, duration_seconds),
            max_concurrent: r.peaks.refresh_concurrent,
        },
        login: login(c),
        rotation: m::Rotation {
            reuse_detected: o.issuer.reuse_detected,
            families_revoked: o.issuer.families_revoked,
            grace_accepted: o.issuer.grace_accepted,
        },
        lock: m::Lock {
            acquisitions: c.lock_acquisitions,
            contended: c.lock_contended,
            timeouts: c.lock_timeouts,
            max_waiters: r.peaks.lock_waiters,
            wait_ms: r.lock_wait.wait_ms(),
            lost: c.lock_lost,
            refreshes_under_lost_lock: c.lock_lost_refreshes,
            max_holders: r.peaks.lock_holders,
            operations: c.lock_operations,
            errors: c.lock_errors,
        },
        latency_ms: m::LatencyMs {
            request: r.request_latency.percentiles(),
            refresh: r.refresh_latency.percentiles(),
            login: r.login_latency.percentiles(),
        },
        issuer: m::Issuer {
            // Requests answered before the handler (faults, the rate limit) reached the
            // endpoint too.
            token_requests: o.issuer.token_requests + o.exchange.token_refused,
            rate_limited: o.exchange.issuer_rate_limited,
            errors_injected: o.exchange.issuer_injected,
            queue_max: r.peaks.issuer_queue,
            revoked_by_faults: o.issuer.revoked_by_faults,
            queue_wait_ms: r.issuer_queue_wait.wait_ms(),
            refresh_tokens_evicted: o.issuer.refresh_tokens_evicted,
            key_rotations: o.issuer.key_rotations,
            key_set_requests: o.issuer.key_set_requests,
            introspection_requests: o.issuer.introspection_requests,
        },
        resource: m::Resource {
            requests: o.resource.requests,
            rejected_expired: o.resource.rejected_expired,
            rejected_not_yet_valid: o.resource.rejected_not_yet_valid,
            rejected_invalid: o.resource.rejected_invalid,
            rejected_missing: o.resource.rejected_missing,
            errors_injected: o.exchange.resource_injected,
            rejected_revoked: o.resource.rejected_revoked,
            rejected_unknown_key: o.resource.rejected_unknown_key,
            key_set_fetches: o.resource.key_set_fetches,
            key_set_fetch_failures: o.resource.key_set_fetch_failures,
            rejected_inactive: o.resource.rejected_inactive,
            introspections: o.resource.introspections,
            introspection_failures: o.resource.introspection_failures,
        },
        outages: Vec::new(),
        groups: scenario
            .clients
            .iter()
            .zip(r.groups.iter())
            .map(|(g, counts)| (g.name.clone(), group(counts)))
            .collect(),
        thresholds: Vec::new(),
        timeline: m::Timeline {
            tick_ms: scenario.tick.as_ms().max(1) as u64,
            series: m::Series {
                requests: cut(r.series_requests.into_values()),
                unauthorized: cut(r.series_unauthorized.into_values()),
                refreshes: cut(r.series_refreshes.into_values()),
                concurrent_refreshes: cut(r.concurrent_refreshes.into_values()),
                lock_waiters: cut(r.lock_waiters.into_values()),
                issuer_queue: cut(r.issuer_queue.into_values()),
                failed: cut(r.series_failed.into_values()),
                logins: cut(r.series_logins.into_values()),
                forced_logins: cut(r.series_forced_logins.into_values()),
                lock_holders: cut(r.lock_holders.into_values()),
            },
        },
        // run_on adds a worker's section.
        worker: None,
    };
    let series = &report.timeline.series;
    report.outages = recovery::outages(
        &series.unauthorized,
        &series.failed,
        report.timeline.tick_ms,
        &recovery::windows(&scenario.issuer.faults, &scenario.resource.faults),
    );
    judge(&mut report, &scenario.thresholds);
    report
}

/// Gives each of `thresholds` its verdict on the figures of `report`, in place of any
/// verdicts it had (`merge` judges the merged figures the same way).
pub(crate) fn judge(report: &mut Report, thresholds: &Thresholds) {
    report.thresholds.clear();
    let value = serde_json::to_value(&*report).unwrap_or_default();
    report.thresholds = threshold::evaluate(thresholds, &value);
}

/// Now as `YYYY-MM-DDTHH:MM:SSZ`, for `run_info.started_at` only.
fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
