//! The sim: the world in-process, on the sim's executor and its virtual clock.
//!
//! A request is handed to the issuer's or the resource's front at once (it "arrives"
//! when sent), and its answer is delivered after the server's latency on virtual
//! time: the time a server takes is time the client waits, and tokens issued at
//! arrival are already that much older when the client receives them, as over a wire.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::{Control, Keep, Outcome, RunError, RunOptions, Transport, World};
use crate::clock::{Clock, SIM_EPOCH_MS};
use crate::exchange::{ApiCall, Endpoint, Exchange, ExchangeError, Request, Response};
use crate::resource::Asking;
use crate::scenario::Scenario;
use crate::server::front::{Job, Server, answer};

/// The clients' exchange in the sim: a call of the server's front (sim/live: the
/// transport; where `live` has a wire, this has a function call, and the front is the
/// same).
pub(crate) struct SimExchange {
    world: World,
}

impl Exchange for SimExchange {
    fn send(
        &self,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
        draw: u64,
    ) -> impl Future<Output = Result<Response, ExchangeError>> + Send {
        let w = &self.world;
        let (gate, server) = if endpoint.is_issuer() {
            (&w.issuer.gate, Server::Issuer(&w.issuer.handler))
        } else {
            (&w.resource.gate, Server::Resource(&w.resource.handler))
        };
        answer(gate, server.with(request), endpoint, timeout, Some(draw))
    }

    /// The call as it is: the resource reads it without an HTTP request made of it.
    fn send_api<'a>(
        &'a self,
        call: ApiCall<'a>,
        timeout: Duration,
        draw: u64,
    ) -> impl Future<Output = Result<Response, ExchangeError>> + Send + 'a {
        let r = &self.world.resource;
        let job = Job::Resource(&r.handler, Asking::Api(call));
        answer(&r.gate, job, Endpoint::Api, timeout, Some(draw))
    }

    fn api_touches(&self) -> [usize; 2] {
        self.world.resource.handler.last_found()
    }
}

/// Runs `world` on the sim's executor (sim/live: the clock): one thread, on virtual
/// time that jumps to the next timer whenever every task is idle, so that every run of
/// one seed goes the same way and idle simulated time costs nothing.
pub(crate) fn block_on(
    world: impl Future<Output = Result<Outcome, RunError>>,
) -> Result<Outcome, RunError> {
    crate::clock::executor::block_on(world).unwrap_or(Err(RunError::Stalled))
}

/// Builds the world in-process and runs it on virtual time.
pub(crate) async fn run(
    scenario: &Scenario,
    control: &Control,
    options: &RunOptions,
) -> Result<Outcome, RunError> {
    let keep = if options.shard.is_some() {
        Keep::Arrivals
    } else {
        Keep::Figures
    };
    run_keeping(scenario, control, options, keep).await
}

/// [`run`] as one thread of a split run (`options` names its share), keeping what the
/// merge of the threads needs.
pub(crate) async fn run_part(
    scenario: &Scenario,
    control: &Control,
    options: &RunOptions,
) -> Result<Outcome, RunError> {
    run_keeping(scenario, control, options, Keep::ForMerge).await
}

async fn run_keeping(
    scenario: &Scenario,
    control: &Control,
    options: &RunOptions,
    keep: Keep,
) -> Result<Outcome, RunError> {
    let clock = Clock::start(SIM_EPOCH_MS);
    let metrics = super::metrics_for(scenario, clock, control, keep);
    let world = World::build(scenario, clock, Some(metrics.clone()), Transport::InProcess)?;
    let exchange = Arc::new(SimExchange { world });
    let driven = super::drive(
        scenario,
        control,
        exchange.clone(),
        None,
        &metrics,
        clock,
        options,
    )
    .await?;
    // The sim's clock is not the wall's: no start on it.
    Ok(Outcome::of(&metrics, exchange.world.stats(), driven, 0))
}
