//! `live`: the world over real HTTP in real time, on the wall clock.
//!
//! The world's fronts are served by the hyper adapter on loopback (or the servers are
//! external ones, named by `targets`), and the clients reach them through the
//! [`wire`](super::wire) exchange. [`serve`] starts the servers alone, for other
//! programs to test against (`tokenstorm serve`).

use std::net::SocketAddr;
use std::sync::Arc;

use super::wire::{Address, LiveExchange};
use super::{Control, Outcome, RunError, RunOptions, Transport, World};
use crate::clock::Clock;
use crate::exchange::ExchangeStats;
use crate::issuer::IssuerStats;
use crate::resource::ResourceStats;
use crate::scenario::Scenario;
use crate::server::http::{Limits, bind};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("could not set up the issuer's keys: {0}")]
    Keys(#[from] crate::issuer::KeyError),
}

/// A scenario's issuer and API serving over HTTP in real time.
pub struct Servers {
    pub issuer: SocketAddr,
    /// The issuer's identifier: its tokens' `iss`, its metadata's `issuer`.
    pub issuer_id: String,
    pub resource: SocketAddr,
    world: World,
    stop: Arc<tokio::sync::Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Servers {
    /// What the servers and their gates counted so far.
    pub fn stats(&self) -> (IssuerStats, ResourceStats, ExchangeStats) {
        self.world.stats()
    }

    /// Stops accepting, lets requests in flight finish, and returns.
    pub async fn stop(self) {
        self.stop.notify_waiters();
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Starts the issuer and the API of `scenario` on the given addresses (port 0: any
/// free port), with every lifetime, skew and fault of the scenario in real time: time
/// starts now, on the wall clock, so tokens carry real `iat` and `exp`. The issuer is
/// identified by the URL it is served at ([`serve_at`]).
pub async fn serve(
    scenario: &Scenario,
    issuer_addr: SocketAddr,
    resource_addr: SocketAddr,
    limits: Limits,
) -> Result<Servers, StartError> {
    serve_at(scenario, issuer_addr, resource_addr, limits, None).await
}

/// [`serve`] with fresh signing keys (unless the scenario names `issuer.keys: fixed`),
/// the issuer identified by `public_url` (its `iss`, its metadata's
/// `issuer`, the base of its endpoints' URLs), or else by the scenario's
/// `issuer.issuer` when set, or else by the URL it is served at: so that clients that
/// compare the metadata's issuer with where they found it (RFC 8414 §3.3) accept it.
pub async fn serve_at(
    scenario: &Scenario,
    issuer_addr: SocketAddr,
    resource_addr: SocketAddr,
    limits: Limits,
    public_url: Option<&str>,
) -> Result<Servers, StartError> {
    let (issuer_bound, resource_bound) = bind_both(issuer_addr, resource_addr).await?;
    let mut scenario = scenario.clone();
    let default = crate::scenario::IssuerConfig::default().issuer;
    match public_url {
        Some(url) => scenario.issuer.issuer = url.trim_end_matches('/').to_string(),
        None if scenario.issuer.issuer == default => {
            scenario.issuer.issuer = served_url(issuer_bound.addr);
        }
        None => {}
    }
    // Tokens nobody else can mint, unless the scenario asks for its fixed keys.
    scenario
        .issuer
        .keys
        .get_or_insert(crate::scenario::KeySource::Fresh);
    let world = World::build(&scenario, Clock::wall(), None, Transport::Wire)?;
    let id = scenario.issuer.issuer;
    Ok(serve_bound(world, id, issuer_bound, resource_bound, limits))
}

/// `http://` and the address a server listens on; loopback for an unspecified address
/// (`0.0.0.0` is where it listens, not a place to reach it: `--public-url` says that).
pub fn served_url(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}")
}

async fn bind_both(
    issuer_addr: SocketAddr,
    resource_addr: SocketAddr,
) -> Result<(crate::server::http::Bound, crate::server::http::Bound), StartError> {
    let issuer_bound = bind(issuer_addr)
        .await
        .map_err(|e| StartError::Bind(issuer_addr, e))?;
    let resource_bound = bind(resource_addr)
        .await
        .map_err(|e| StartError::Bind(resource_addr, e))?;
    Ok((issuer_bound, resource_bound))
}

/// Serves `world`'s fronts over HTTP on the given addresses.
async fn serve_world(
    world: World,
    issuer_id: String,
    issuer_addr: SocketAddr,
    resource_addr: SocketAddr,
    limits: Limits,
) -> Result<Servers, StartError> {
    let (issuer_bound, resource_bound) = bind_both(issuer_addr, resource_addr).await?;
    Ok(serve_bound(
        world,
        issuer_id,
        issuer_bound,
        resource_bound,
        limits,
    ))
}

/// Serves `world`'s fronts (its issuer identified as `issuer_id`) on listeners
/// already bound.
fn serve_bound(
    world: World,
    issuer_id: String,
    issuer_bound: crate::server::http::Bound,
    resource_bound: crate::server::http::Bound,
    limits: Limits,
) -> Servers {
    let stop = Arc::new(tokio::sync::Notify::new());
    let (issuer, resource) = (issuer_bound.addr, resource_bound.addr);
    let (s1, s2) = (stop.clone(), stop.clone());
    let tasks = vec![
        tokio::spawn(
            issuer_bound.serve(
                world.issuer.clone(),
                limits,
                async move { s1.notified().await },
            ),
        ),
        tokio::spawn(
            resource_bound.serve(world.resource.clone(), limits, async move {
                s2.notified().await
            }),
        ),
    ];
    Servers {
        issuer,
        issuer_id,
        resource,
        world,
        stop,
        tasks,
    }
}

/// A live run's runtime (sim/live: the clock): every thread, real time.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// A live run: real HTTP in real time, against servers started here on loopback (or
/// the external ones of `targets`, whose counts the report then cannot know; sim/live:
/// the transport).
pub(crate) async fn run(
    scenario: &Scenario,
    control: &Control,
    options: &RunOptions,
) -> Result<Outcome, RunError> {
    let clock = Clock::wall();
    let keep = if options.shard.is_some() {
        super::Keep::Arrivals
    } else {
        super::Keep::Figures
    };
    let metrics = super::metrics_for(scenario, clock, control, keep);
    let (exchange, servers, reached) = match &scenario.targets {
        Some(t) => {
            let (exchange, reached) = super::targets::reach(t).await?;
            (exchange, None, Some(reached))
        }
        None => {
            let world = World::build(scenario, clock, Some(metrics.clone()), Transport::Wire)?;
            let id = scenario.issuer.issuer.clone();
            let (exchange, servers) = on_loopback(world, id).await?;
            (exchange, Some(servers), None)
        }
    };
    let driven = super::drive(
        scenario,
        control,
        Arc::new(exchange),
        reached.as_ref(),
        &metrics,
        clock,
        options,
    )
    .await?;
    let stats = servers.as_ref().map(Servers::stats).unwrap_or_default();
    let started = clock.epoch_ms().max(0) as u64;
    let mut outcome = Outcome::of(&metrics, stats, driven, started);
    outcome.targets = reached;
    Ok(outcome)
}

/// `world` served on loopback ports, and the exchange to it. A live run's clients
/// never read the metadata, so its issuer keeps the scenario's identifier, as the sim's.
async fn on_loopback(world: World, issuer_id: String) -> Result<(LiveExchange, Servers), RunError> {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let limits = Limits {
        max_connections: 65_536,
        ..Default::default()
    };
    let servers = serve_world(world, issuer_id, loopback, loopback, limits)
        .await
        .map_err(|e| RunError::Server(e.to_string()))?;
    let exchange = LiveExchange::new(
        Address::Root(format!("http://{}", servers.issuer)),
        Address::Root(format!("http://{}", servers.resource)),
        None,
    );
    Ok((exchange, servers))
}
