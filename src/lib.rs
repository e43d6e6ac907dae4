//! tokenstorm: see and measure what happens around access-token expiry.
//!
//! A fake OAuth2 issuer and a fake resource server, driven by many simulated clients
//! that refresh the way real SDKs do, on a virtual clock (`sim`) or over real HTTP
//! (`live`). The library builds and runs a world from a [`scenario::Scenario`] and
//! returns a [`report::Report`]; it never prints. The binary wires the command line.

pub mod client;
pub mod clock;
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
