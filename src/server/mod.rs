//! The servers' side of the wire: what happens to a request before a handler sees it
//! (its [`gate`]: [`faults`], [`latency`], capacity and rate limit), the [`front`] that
//! puts a handler behind its gate, and the [`http`] adapter that serves fronts over
//! hyper.

pub mod faults;
pub mod front;
pub mod gate;
pub mod http;
pub mod latency;

pub use front::{Front, Handler};
pub use http::Limits;
