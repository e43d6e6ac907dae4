//! The world a scenario describes, and its two ways to run: `sim` in-process on
//! virtual time, [`live`] over real HTTP in real time.
//!
//! The world is built in one place, `World::build`, for both clocks: the issuer, the
//! resource and their fronts (gates with their faults, latency, capacity and rate
//! limit), one latency stream for both servers, and the scheduled fault events. The
//! two ways to run differ only where the clock or the transport forces them to, each
//! place marked `sim/live:` in a comment:
//!
//! - the runtime and its clock: the sim's executor on virtual time, or tokio's, real
//!   and many-threaded (`sim::block_on`, `live::runtime`), and so a worker's start on
//!   the wall clock;
//! - what the API's cache of verified tokens keeps: the request's own header value
//!   in-process, a copy off the wire (`Transport`);
//! - the exchange: a call of a server's front, or a request over the wire
//!   (`sim::SimExchange`, [`wire::LiveExchange`]), and so `targets`, servers that are
//!   not ours, whose counts a live run cannot know;
//! - a request no answer is given: the sim's caller waits out its own timeout, while a
//!   server over the wire cannot know the client's and holds the request for
//!   [`crate::server::Limits::no_answer_hold`];
//! - the lock keys' namespace, which in `live` must keep apart runs sharing a Redis.
//!
//! What else both share lives here too: the run's control and errors, what the world
//! counted (`Outcome`), the run's recorder, and the driving of the client groups.

pub(crate) mod events;
pub mod live;
pub(crate) mod sim;
pub(crate) mod targets;
pub(crate) mod threads;
pub(crate) mod tls;
pub mod wire;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::client;
use crate::clock::Clock;
use crate::exchange::ExchangeStats;
use crate::issuer::{Issuer, IssuerStats, KeyError};
use crate::lock::LockService;
use crate::metrics::{Metrics, Recorded};
use crate::resource::{Resource, ResourceStats};
use crate::rng::{self, stream};
use crate::scenario::{Coordination, Mode, Scenario};
use crate::server::Front;
use crate::server::gate::{Gate, Side};
use crate::shard::Shard;

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
    #[error("the simulation stalled: no task could run and no timer was left before the run's end")]
    Stalled,
    #[error("could not encode the worker's latency histograms: {0}")]
    Histogram(String),
    /// A `targets` server refused the run before it began (discovery, certificates).
    #[error("{key}: {message}")]
    Targets { key: &'static str, message: String },
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
    /// The most threads a sim run may use; None: one per core. A run uses more than
    /// one only where its clients can be split ([`crate::shard::one_thread_because`]).
    pub threads: Option<u32>,
}

impl RunOptions {
    /// How many threads a run of `scenario` takes, and why only one when more were
    /// allowed but the scenario keeps it to one.
    pub fn threads_for(&self, scenario: &Scenario) -> (u32, Option<String>) {
        let allowed = self
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
        if allowed <= 1 || scenario.mode != Mode::Sim {
            return (1, None);
        }
        if self.shard.is_some() {
            return (
                1,
                Some("a worker of a split run (--worker) runs on one thread".into()),
            );
        }
        if let Some(why) = crate::shard::one_thread_because(scenario) {
            return (1, Some(why));
        }
        let clients: u64 = scenario.clients.iter().map(|g| u64::from(g.count)).sum();
        (
            allowed.min(clients.max(1).min(u64::from(u32::MAX)) as u32),
            None,
        )
    }
}

/// How requests reach the servers (sim/live: the transport).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    /// A call of the server's front: a request's bytes are its sender's.
    InProcess,
    /// HTTP: a request's bytes are the server's copy off the wire.
    Wire,
}

/// The servers of a scenario, built once for either clock: each handler behind its
/// gate, the resource reaching the issuer through the issuer's front.
pub(crate) struct World {
    pub issuer: Front<Issuer>,
    pub resource: Front<Resource>,
}

impl World {
    /// Builds the issuer and the resource of `scenario` on `clock` (each on its own
    /// skewed view of it), their gates, and schedules the fault events that are
    /// moments. `metrics` records the issuer's queue when the run records one.
    pub(crate) fn build(
        scenario: &Scenario,
        clock: Clock,
        metrics: Option<Arc<Metrics>>,
        transport: Transport,
    ) -> Result<World, KeyError> {
        // The sim is reproduced from its seed: its keys are the seed's, whatever the
        // scenario asks (fresh keys are for servers others reach).
        let mut config = scenario.issuer.clone();
        if transport == Transport::InProcess {
            config.keys = Some(crate::scenario::KeySource::Fixed);
        }
        let issuer = Arc::new(Issuer::new(
            &config,
            clock.skewed(scenario.issuer.clock_offset.as_ms()),
            scenario.seed,
        )?);
        // One latency stream for both servers: draws follow the order of arrivals.
        let latency = Arc::new(Mutex::new(rng::rng(scenario.seed, &[stream::EXCHANGE])));
        let gate = |side: Side| Arc::new(Gate::new(side, clock, metrics.clone(), latency.clone()));
        let issuer_front = Front {
            handler: issuer.clone(),
            gate: gate(Side::issuer(scenario)),
        };
        let mut resource = Resource::of_scenario(
            scenario,
            &issuer,
            clock.skewed(scenario.resource.clock_offset.as_ms()),
            Arc::new(issuer_front.clone()),
        );
        if transport == Transport::InProcess {
            resource = resource.sharing_presented_tokens();
        }
        let resource = Arc::new(resource);
        if resource.keeps_keys_in_background() {
            crate::clock::time::spawn(resource.clone().keep_keys());
        }
        let world = World {
            issuer: issuer_front,
            resource: Front {
                handler: resource,
                gate: gate(Side::resource(scenario)),
            },
        };
        events::schedule(
            scenario,
            &world.issuer.handler,
            world.issuer.handler.clock(),
            world.resource.handler.clock(),
            clock,
            scenario.duration.as_ms().max(0) as u64,
        );
        Ok(world)
    }

    /// What the servers and their gates counted so far.
    pub(crate) fn stats(&self) -> (IssuerStats, ResourceStats, ExchangeStats) {
        (
            self.issuer.handler.stats(),
            self.resource.handler.stats(),
            crate::server::front::stats(&self.issuer.gate, &self.resource.gate),
        )
    }
}

/// What the world counted when the run ended.
pub(crate) struct Outcome {
    pub recorded: Recorded,
    pub issuer: IssuerStats,
    pub resource: ResourceStats,
    pub exchange: ExchangeStats,
    pub elapsed_ms: u64,
    pub interrupted: bool,
    /// Wall clock (Unix ms) at the start: 0 in the sim, whose clock is not the wall's
    /// (sim/live: the clock).
    pub started_unix_ms: u64,
    /// A `targets` run: the servers it drove, as they were reached.
    pub targets: Option<crate::contract::Targets>,
}

impl Outcome {
    /// What `metrics` recorded and the servers counted (`stats`), once the run has
    /// covered `elapsed_ms` (ending early when `interrupted`).
    fn of(
        metrics: &Metrics,
        stats: (IssuerStats, ResourceStats, ExchangeStats),
        (elapsed_ms, interrupted): (u64, bool),
        started_unix_ms: u64,
    ) -> Outcome {
        let (issuer, resource, exchange) = stats;
        Outcome {
            recorded: metrics.finish(),
            issuer,
            resource,
            exchange,
            elapsed_ms,
            interrupted,
            started_unix_ms,
            targets: None,
        }
    }
}

/// What a recorder keeps beyond the report's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keep {
    /// Nothing: a whole run.
    Figures,
    /// The time of each refresh: a worker, for `merge`.
    Arrivals,
    /// What a thread of a split run needs for the in-process merge.
    ForMerge,
}

/// The run's recorder: a timeline of the scenario's ticks, a figure set per group, and
/// what `keep` says.
pub(crate) fn metrics_for(
    scenario: &Scenario,
    clock: Clock,
    control: &Control,
    keep: Keep,
) -> Arc<Metrics> {
    let duration_ms = scenario.duration.as_ms().max(0) as u64;
    let tick_ms = scenario.tick.as_ms().max(1) as u64;
    let metrics = Metrics::new(
        clock,
        tick_ms,
        crate::metrics::ticks(duration_ms, tick_ms),
        scenario.clients.len(),
        control.progress.clone(),
    );
    Arc::new(match keep {
        Keep::Figures => metrics,
        Keep::Arrivals => metrics.keep_refresh_arrivals(),
        Keep::ForMerge => metrics.keep_for_merge(),
    })
}

/// Starts every client group against `exchange` and waits for the run's end (or a
/// stop request). Returns the run time covered and whether it was interrupted.
/// `reached`: a targets run's endpoints, which its clients' credentials name.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn drive<E: crate::exchange::Exchange>(
    scenario: &Scenario,
    control: &Control,
    exchange: Arc<E>,
    reached: Option<&crate::contract::Targets>,
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
            client::Credentials::of_group(scenario, g, reached),
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
    let interrupted = crate::clock::time::sleep_until_or_stopped(end, &control.stop).await;
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
    // run share theirs through the run id (sim/live: the transport). The sim's locks
    // never leave the process:
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
        let policy = &group.resolved;
        services.push(if policy.coordination == Coordination::Lock {
            let service = LockService::start(policy.lock.clone(), &namespace, &tag)
                .await
                .map_err(|e| RunError::Lock(e.to_string()))?;
            Some(Arc::new(service))
        } else {
            None
        });
    }
    Ok(services)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sim signs with the seed's keys even where the scenario asks for fresh ones
    /// (for `serve`): no randomness outside the seed reaches a simulated run.
    #[test]
    fn the_sim_keeps_the_seeds_keys_whatever_the_scenario_asks() {
        let yaml = "name: t\nduration: 1m\nissuer: { signing: es256, keys: fresh }\nclients: [ { name: c, count: 1 } ]\n";
        let s = crate::scenario::parse(yaml, "t.yaml").unwrap();
        let key = |transport| {
            let w = World::build(&s, Clock::start(0), None, transport).unwrap();
            let set = w.issuer.handler.keys().published(0, true);
            serde_json::to_value(&set.keys[0]).unwrap()
        };
        assert_eq!(key(Transport::InProcess), key(Transport::InProcess));
        assert_ne!(
            key(Transport::Wire),
            key(Transport::InProcess),
            "fresh over the wire"
        );
    }
}
