//! The servers' side of the wire: what happens to a request before a handler sees it
//! (its [`gate`]: [`faults`], [`latency`], capacity and rate limit), and the [`http`]
//! adapter that serves the handlers over hyper.

pub mod faults;
pub mod gate;
pub mod http;
pub mod latency;

pub use http::{Handler, Limits, Servers, StartError, start, start_on};
