//! The sim: the world in-process, on tokio's paused clock.
//!
//! A request is handed to the issuer's or the resource's front at once (it "arrives"
//! when sent), and its answer is delivered after the server's latency on the paused
//! clock: the time a server takes is time the client waits, and tokens issued at
//! arrival are already that much older when the client receives them, as over a wire.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::{Control, Outcome, RunError, RunOptions, World};
use crate::clock::{Clock, SIM_EPOCH_MS};
use crate::exchange::{Endpoint, Exchange, ExchangeError, Request, Response};
use crate::scenario::Scenario;
use crate::server::front::{Server, answer};

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
    ) -> impl Future<Output = Result<Response, ExchangeError>> + Send {
        let w = &self.world;
        let (gate, server) = if endpoint.is_issuer() {
            (&w.issuer.gate, Server::Issuer(&w.issuer.handler))
        } else {
            (&w.resource.gate, Server::Resource(&w.resource.handler))
        };
        answer(gate, server, endpoint, request, timeout)
    }
}

/// The sim's runtime (sim/live: the clock): one thread, its clock paused, so that the runtime jumps to the next
/// timer whenever every task is idle and every run of one seed goes the same way.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
}

/// Builds the world in-process and runs it on the paused clock.
pub(crate) async fn run(
    scenario: &Scenario,
    control: &Control,
    options: &RunOptions,
) -> Result<Outcome, RunError> {
    let clock = Clock::start(SIM_EPOCH_MS);
    let metrics = super::metrics_for(scenario, clock, control, options.shard.is_some());
    let world = World::build(scenario, clock, Some(metrics.clone()))?;
    let exchange = Arc::new(SimExchange { world });
    let driven = super::drive(
        scenario,
        &scenario.issuer,
        control,
        exchange.clone(),
        &metrics,
        clock,
        options,
    )
    .await?;
    // The sim's clock is not the wall's: no start on it.
    Ok(Outcome::of(&metrics, exchange.world.stats(), driven, 0))
}
