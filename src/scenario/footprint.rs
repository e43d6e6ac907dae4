//! How much memory a scenario's run takes, estimated before it runs, so that a
//! population that cannot fit is refused with a figure instead of eating the machine.
//!
//! The figures are measured: peak resident memory of sim runs for 10 minutes, of
//! 40,000 clients with one and with four request loops each (83,908 and 149,064 KB:
//! 556 bytes a loop, its future, its task's place and its timer), and of 1,000,000
//! clients with one (1,803,828 KB: 1,830 bytes a client with its loop, the tables that
//! grow by doubling at their largest). So about 1.29 KB a client (its session, token
//! store, tokens, the issuer's family and the API's cache entry) and 556 bytes a
//! request loop, over a base of 16 MiB. Live runs hold connections on top of that, so
//! their estimate is a floor.

use super::Scenario;
use crate::contract::Series;

/// One client's share, workers aside (bytes).
pub const PER_CLIENT: u64 = 1_290;
/// One request loop of one instance (bytes).
pub const PER_WORKER: u64 = 556;
/// The process before any client (bytes).
pub const BASE: u64 = 16 << 20;

/// The clients and request loops of a scenario, and the memory they take (bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    pub clients: u64,
    pub workers: u64,
    pub bytes: u64,
}

/// The estimated peak memory of running `s`: its clients, their request loops, and one
/// value per tick for each timeline series.
pub fn estimate(s: &Scenario) -> Footprint {
    let clients: u64 = s.clients.iter().map(|g| u64::from(g.count)).sum();
    let workers: u64 = s
        .clients
        .iter()
        .map(|g| {
            u64::from(g.count)
                .saturating_mul(u64::from(g.instances.max(1)))
                .saturating_mul(u64::from(g.workers.max(1)))
        })
        .fold(0, u64::saturating_add);
    let ticks = (s.duration.as_ms().max(0) as u64).div_ceil(s.tick.as_ms().max(1) as u64);
    let columns = Series::default().columns().len() as u64;
    let series = ticks.saturating_mul(columns * 8);
    let bytes = BASE
        .saturating_add(clients.saturating_mul(PER_CLIENT))
        .saturating_add(workers.saturating_mul(PER_WORKER))
        .saturating_add(series);
    Footprint {
        clients,
        workers,
        bytes,
    }
}
