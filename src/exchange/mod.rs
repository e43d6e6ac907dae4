//! The one seam between clients and servers.
//!
//! A client sends an `http::Request` to an [`Endpoint`] and gets an `http::Response`
//! back. In `sim` the [`sim::SimExchange`] calls the issuer's or the resource's handler
//! in-process, after the scenario's latency on the paused clock; in `live` an HTTP
//! exchange sends the same request over the wire. Clients are written once against
//! this trait.

pub mod latency;
pub mod sim;

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

/// Where a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// The issuer's token endpoint (RFC 6749 §3.2).
    Token,
    /// The protected API.
    Api,
}

/// A request that got no HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    #[error("no answer before the timeout")]
    Timeout,
    #[error("connection failed: {0}")]
    Connect(String),
}

pub type Request = http::Request<Bytes>;
pub type Response = http::Response<Bytes>;

/// Sends a request and waits for its answer, at most `timeout`.
///
/// The timeout belongs to the exchange rather than the caller so that the sim, which
/// knows how long an answer will take when it sends, spends no timer on it.
pub trait Exchange: Send + Sync + 'static {
    fn send(
        &self,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
    ) -> impl Future<Output = Result<Response, ExchangeError>> + Send;
}
