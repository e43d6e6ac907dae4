//! The servers' side of the wire: what happens to a request before a handler sees it
//! (its `gate`: `faults`, `latency`, capacity and rate limit), the `front` that
//! puts a handler behind its gate, and the `http` adapter that serves fronts over
//! hyper.

pub(crate) mod faults;
pub(crate) mod front;
pub(crate) mod gate;
pub(crate) mod http;
pub(crate) mod latency;

pub use front::{Front, Handler};
pub use http::Limits;
