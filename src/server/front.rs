//! A server as its callers meet it: a handler (the issuer or the resource) behind its
//! [`Gate`].
//!
//! [`Front::answer`] is the one way a request reaches a handler, whatever the clock and
//! the transport: the sim's exchange calls it in-process, the resource calls the
//! issuer's front for key sets and introspections, and the hyper adapter calls it for
//! each request off the wire. So a fault, a latency or a queue means the same in `sim`
//! and `live`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::gate::{Gate, Verdict};
use crate::exchange::{Endpoint, ExchangeError, ExchangeStats, Request, Response, Upstream};
use crate::issuer::Issuer;
use crate::resource::Resource;

/// A handler of one server: the issuer or the resource.
pub trait Handler: Send + Sync + 'static {
    /// This server, for [`answer`].
    fn server(&self) -> Server<'_>;
    /// Which endpoint a request off the wire is, for the gate (capacity and rate limit
    /// apply to the issuer's work only).
    fn endpoint(&self, req: &Request) -> Endpoint;
}

impl Handler for Issuer {
    fn server(&self) -> Server<'_> {
        Server::Issuer(self)
    }
    fn endpoint(&self, req: &Request) -> Endpoint {
        match req.uri().path() {
            // Revocation is work like introspection: the capacity and the rate limit.
            "/introspect" | "/revoke" => Endpoint::Introspect,
            "/token" => Endpoint::Token,
            _ => Endpoint::Keys,
        }
    }
}

impl Handler for Resource {
    fn server(&self) -> Server<'_> {
        Server::Resource(self)
    }
    fn endpoint(&self, _: &Request) -> Endpoint {
        Endpoint::Api
    }
}

/// One of the two servers. [`answer`] takes either, so that a caller that may reach
/// both (the sim's exchange) awaits one future rather than one of two nested in its
/// own: every request loop holds that future, and a nested one would hold the request
/// twice.
#[derive(Clone, Copy)]
pub enum Server<'a> {
    Issuer(&'a Issuer),
    Resource(&'a Resource),
}

/// Answers one request to `endpoint` at `server` as its `gate` says, for a caller that
/// waits at most `timeout`: handled and delivered after the server's latency, refused,
/// or never answered (the caller waits out its timeout). The server does the work of a
/// request whose answer comes too late all the same, as a real one would; the capacity
/// slot is held until the answer leaves. `draw` seeds the gate's choices (see
/// [`Gate::admit`]).
pub(crate) async fn answer(
    gate: &Gate,
    server: Server<'_>,
    endpoint: Endpoint,
    request: Request,
    timeout: Duration,
    draw: Option<u64>,
) -> Result<Response, ExchangeError> {
    let admission = gate.admit(endpoint, draw).await;
    // Matched in two steps: a tuple as the scrutinee would be a temporary held across
    // the handler's await, one more answer's worth in every request loop's future.
    let response = match admission.verdict {
        Verdict::NoAnswer => {
            crate::clock::time::sleep(timeout).await;
            return Err(ExchangeError::Timeout);
        }
        Verdict::Answer(r) => r,
        Verdict::Serve => match server {
            // Boxed: a request loop's future holds the API's state inline, the issuer's
            // (rarer, and far larger) only while a token request is in flight.
            Server::Issuer(issuer) => Box::pin(issuer.handle(request)).await,
            Server::Resource(resource) => resource.handle(&request).await,
        },
    };
    let remaining = timeout.saturating_sub(admission.queued);
    if admission.delay >= remaining {
        crate::clock::time::sleep(remaining).await;
        return Err(ExchangeError::Timeout);
    }
    if !admission.delay.is_zero() {
        crate::clock::time::sleep(admission.delay).await;
    }
    Ok(response)
}

/// A handler behind its gate.
pub struct Front<H> {
    pub handler: Arc<H>,
    pub gate: Arc<Gate>,
}

impl<H> Clone for Front<H> {
    fn clone(&self) -> Self {
        Front {
            handler: self.handler.clone(),
            gate: self.gate.clone(),
        }
    }
}

impl<H: Handler> Front<H> {
    /// Answers one request to `endpoint` (see [`answer`]).
    pub(crate) fn answer(
        &self,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
        draw: Option<u64>,
    ) -> impl Future<Output = Result<Response, ExchangeError>> + Send + '_ {
        answer(
            &self.gate,
            self.handler.server(),
            endpoint,
            request,
            timeout,
            draw,
        )
    }
}

/// The resource's line to the issuer in the same process, in `sim` and `live` alike:
/// through the issuer's gate, so its faults, latency, capacity and rate limit apply to
/// key-set fetches and introspections as to the clients' requests.
impl Upstream for Front<Issuer> {
    fn call(
        &self,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Response, ExchangeError>> + Send + '_>> {
        // The resource's own calls bring no client's draw: the gate draws.
        Box::pin(self.answer(endpoint, request, timeout, None))
    }
}

/// What the gates of an issuer and a resource counted (requests that never reached a
/// handler).
pub(crate) fn stats(issuer: &Gate, resource: &Gate) -> ExchangeStats {
    let counts = issuer.counts();
    ExchangeStats {
        issuer_rate_limited: counts.rate_limited,
        token_refused: counts.token_refused,
        issuer_injected: issuer.injected(),
        issuer_injected_own: issuer.own_injected(),
        resource_injected: resource.injected(),
    }
}
