//! tokenstorm: see and measure what happens around access-token expiry.
//!
//! A fake OAuth2 issuer and a fake resource server, driven by many simulated clients
//! that refresh the way real SDKs do, on a virtual clock (`sim`) or over real HTTP
//! (`live`). The library builds and runs a world from a [`scenario::Scenario`] and
//! returns a [`report::Report`]; it never prints. The binary wires the command line.
//!
//! # The map
//!
//! Each module imports only from its own layer or the layers below, and no two modules
//! import each other (`tests/layers.rs` reads this list and checks both):
//!
//! 1. `clock`, `duration`, `rng`: time and randomness, the only sources of either
//! 2. `scenario`, `contract`, `metrics`, `exchange`: what a scenario says (with
//!    its policies resolved, presets, threshold conditions, variants), the report's JSON
//!    contract, the run's recorder, and the one seam between clients and servers
//! 3. `lock`, `issuer`, `resource`, `shard`: the lock services, the fake issuer (one
//!    file per endpoint), the fake API, a worker's share of the clients
//! 4. `server`, `client`: a server's hostile side (gate, faults, latency) and its hyper
//!    adapter; the simulated clients (session, instance, store, request loops)
//! 5. `world`: the world built once for both clocks, and its two ways to run (`sim` on
//!    virtual time, `live` over HTTP)
//! 6. `run`, `report`: running a scenario or its variants and assembling the report;
//!    what is derived from reports (rates, verdicts, recovery, merge, comparison) and
//!    how they are shown (summary, one exporter per format)
//!
//! Above them all, the binary (`main.rs`, `cli.rs`, `cmd/`) wires the command line.

pub mod client;
pub mod clock;
pub mod contract;
pub mod duration;
pub mod exchange;
pub mod issuer;
pub mod lock;
pub mod metrics;
pub mod report;
pub mod resource;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod server;
pub mod shard;
pub mod world;
