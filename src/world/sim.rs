//! The in-process exchange of `sim` mode.
//!
//! A request is handed to the issuer's or the resource's handler at once (it "arrives"
//! when sent), and its answer is delivered after the server's latency on the paused
//! clock: the time a server takes is time the client waits, and tokens issued at
//! arrival are already that much older when the client receives them, as over a wire.
//!
//! Before the handler, the server's hostile side applies: its [`Gate`] (faults, and for
//! the issuer a capacity and a rate limit).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Control, Outcome, RunError, RunOptions};
use crate::clock::{Clock, SIM_EPOCH_MS};
use crate::exchange::{Endpoint, Exchange, ExchangeError, ExchangeStats, Request, Response};
use crate::issuer::Issuer;
use crate::metrics::Metrics;
use crate::resource::Resource;
use crate::rng::{self, Rng, stream};
use crate::scenario::Scenario;
use crate::server::gate::{Gate, Side, Verdict};

pub struct SimExchange {
    issuer: Arc<Issuer>,
    resource: Arc<Resource>,
    issuer_gate: Gate,
    resource_gate: Gate,
}

impl SimExchange {
    pub fn new(
        issuer: Arc<Issuer>,
        resource: Arc<Resource>,
        issuer_side: Side,
        resource_side: Side,
        metrics: Arc<Metrics>,
        rng: Rng,
    ) -> SimExchange {
        // One latency stream for both servers: draws follow the order of arrivals.
        let rng = Arc::new(Mutex::new(rng));
        let clock = *metrics.clock();
        SimExchange {
            issuer,
            resource,
            issuer_gate: Gate::new(issuer_side, clock, Some(metrics.clone()), rng.clone()),
            resource_gate: Gate::new(resource_side, clock, Some(metrics), rng),
        }
    }

    pub fn stats(&self) -> ExchangeStats {
        let issuer = self.issuer_gate.counts();
        ExchangeStats {
            issuer_rate_limited: issuer.rate_limited,
            token_refused: issuer.token_refused,
            issuer_injected: self.issuer_gate.injected(),
            resource_injected: self.resource_gate.injected(),
        }
    }
}

impl Exchange for SimExchange {
    async fn send(
        &self,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
    ) -> Result<Response, ExchangeError> {
        let gate = if endpoint.is_issuer() {
            &self.issuer_gate
        } else {
            &self.resource_gate
        };
        let admission = gate.admit(endpoint).await;
        let response = match admission.verdict {
            Verdict::NoAnswer => {
                tokio::time::sleep(timeout).await;
                return Err(ExchangeError::Timeout);
            }
            Verdict::Answer(r) => r,
            Verdict::Serve if endpoint.is_issuer() => self.issuer.handle(request).await,
            Verdict::Serve => self.resource.handle(request).await,
        };
        // The server did the work either way; a late answer is lost to the client.
        let remaining = timeout.saturating_sub(admission.queued);
        if admission.delay >= remaining {
            tokio::time::sleep(remaining).await;
            return Err(ExchangeError::Timeout);
        }
        if !admission.delay.is_zero() {
            tokio::time::sleep(admission.delay).await;
        }
        Ok(response)
    }
}

/// The resource's line to the issuer in the sim: the same exchange, so the issuer's
/// latency, faults, capacity and rate limit apply to the resource's calls too. Set once
/// the exchange exists (the exchange holds the resource, which holds this).
#[derive(Default)]
pub struct SimUpstream(std::sync::OnceLock<std::sync::Weak<SimExchange>>);

impl SimUpstream {
    pub fn connect(&self, exchange: &Arc<SimExchange>) {
        let _ = self.0.set(Arc::downgrade(exchange));
    }
}

impl crate::exchange::Upstream for SimUpstream {
    fn call(
        &self,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response, ExchangeError>> + Send + '_>,
    > {
        Box::pin(async move {
            match self.0.get().and_then(std::sync::Weak::upgrade) {
                Some(exchange) => exchange.send(endpoint, request, timeout).await,
                None => Err(ExchangeError::Connect("the issuer is not up".into())),
            }
        })
    }
}

/// The sim's runtime: one thread, its clock paused, so that the runtime jumps to the next
/// timer whenever every task is idle and every run of one seed goes the same way.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
}

/// Builds the world in-process and runs it on the paused clock.
pub async fn run(
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
    let metrics = super::metrics_for(scenario, clock, control, shard.is_some());
    let exchange = Arc::new(SimExchange::new(
        issuer.clone(),
        resource.clone(),
        Side::issuer(scenario),
        Side::resource(scenario),
        metrics.clone(),
        rng::rng(seed, &[stream::EXCHANGE]),
    ));
    upstream.connect(&exchange);
    super::events::schedule(
        scenario,
        &issuer,
        issuer.clock(),
        resource.clock(),
        clock,
        scenario.duration.as_ms().max(0) as u64,
    );
    let (elapsed_ms, interrupted) = super::drive(
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
