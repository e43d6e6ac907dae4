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
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::SemaphorePermit;

use super::gate::{Admission, Gate, Verdict};
use crate::clock::time::Sleep;
use crate::exchange::{Endpoint, ExchangeError, ExchangeStats, Request, Response, Upstream};
use crate::issuer::Issuer;
use crate::resource::{Asking, Resource};

/// A handler of one server: the issuer or the resource.
pub trait Handler: Send + Sync + 'static {
    /// This server, for `answer`.
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

/// One of the two servers.
#[derive(Clone, Copy)]
pub enum Server<'a> {
    Issuer(&'a Issuer),
    Resource(&'a Resource),
}

impl<'a> Server<'a> {
    /// This server with `request` to serve.
    pub(crate) fn with(self, request: Request) -> Job<'a> {
        match self {
            Server::Issuer(issuer) => Job::Issuer(issuer, Box::new(request)),
            Server::Resource(resource) => Job::Resource(resource, Asking::Http(Box::new(request))),
        }
    }
}

/// A request and the server it is for. [`answer`] takes either server's, so that a
/// caller that may reach both (the sim's exchange) awaits one future rather than one
/// of two nested in its own: every request loop holds that future, and a nested one
/// would hold the request twice.
pub(crate) enum Job<'a> {
    /// Boxed, as the resource's: see [`Asking`].
    Issuer(&'a Issuer, Box<Request>),
    Resource(&'a Resource, Asking<'a>),
}

/// Answers one request to `endpoint` at `server` as its `gate` says, for a caller that
/// waits at most `timeout`: handled and delivered after the server's latency, refused,
/// or never answered (the caller waits out its timeout). The server does the work of a
/// request whose answer comes too late all the same, as a real one would; the capacity
/// slot is held until the answer leaves. `draw` seeds the gate's choices (see
/// [`Gate::admit`]).
///
/// The request arrives when this is called, not when the answer is first awaited: the
/// gate decides and, when nothing makes it wait (the API's requests with a token it has
/// seen), the handler answers at once, so that what the caller holds until the answer
/// is delivered is the answer and a timer, not the request and the handler's state.
pub(crate) fn answer<'a>(
    gate: &'a Gate,
    job: Job<'a>,
    endpoint: Endpoint,
    timeout: Duration,
    draw: Option<u64>,
) -> Answering<'a> {
    match gate.admit(endpoint, draw) {
        Ok(admission) => serve(job, timeout, admission),
        Err(queued) => Answering::Waiting(Box::pin(async move {
            let admission = queued.admit().await;
            serve(job, timeout, admission).await
        })),
    }
}

/// What becomes of an admitted request: answered now, or once its handler is done.
fn serve<'a>(job: Job<'a>, timeout: Duration, admission: Admission<'a>) -> Answering<'a> {
    let Admission {
        verdict,
        delay,
        queued,
        slot,
    } = admission;
    let leaving = Leaving {
        delay,
        queued,
        slot,
    };
    match verdict {
        Verdict::NoAnswer => Answering::Delivering(Delivery {
            sleep: Some(crate::clock::time::sleep(timeout)),
            result: Some(Err(ExchangeError::Timeout)),
            slot: leaving.slot,
        }),
        Verdict::Answer(r) => leaving.deliver(r, timeout),
        Verdict::Serve => match job {
            Job::Resource(resource, asking) => match resource.respond_now(&asking) {
                Some(r) => leaving.deliver(r, timeout),
                None => Answering::Waiting(Box::pin(async move {
                    let r = resource.respond(&asking).await;
                    leaving.deliver(r, timeout).await
                })),
            },
            // Boxed: the issuer's state is far larger than an answer, and token
            // requests are rare beside API requests.
            Job::Issuer(issuer, request) => Answering::Waiting(Box::pin(async move {
                let r = issuer.handle(*request).await;
                leaving.deliver(r, timeout).await
            })),
        },
    }
}

/// How a handled request's answer leaves: after its latency, unless the caller's
/// timeout (less the time it queued) comes first; the capacity slot goes with it.
struct Leaving<'a> {
    delay: Duration,
    queued: Duration,
    slot: Option<SemaphorePermit<'a>>,
}

impl<'a> Leaving<'a> {
    fn deliver(self, response: Response, timeout: Duration) -> Answering<'a> {
        let remaining = timeout.saturating_sub(self.queued);
        let (wait, result) = if self.delay >= remaining {
            (remaining, Err(ExchangeError::Timeout))
        } else {
            (self.delay, Ok(response))
        };
        Answering::Delivering(Delivery {
            sleep: (!wait.is_zero()).then(|| crate::clock::time::sleep(wait)),
            result: Some(result),
            slot: self.slot,
        })
    }
}

/// A request's answer on its way to the caller. A type of its own rather than an async
/// fn: a caller of a request answered at arrival holds the answer and a timer only,
/// and one whose request waits (a queue, the issuer's handling, a key set to fetch)
/// holds a box.
pub(crate) enum Answering<'a> {
    Delivering(Delivery<'a>),
    Waiting(Pin<Box<dyn Future<Output = Result<Response, ExchangeError>> + Send + 'a>>),
}

/// An answer given, delivered when its sleep ends.
pub(crate) struct Delivery<'a> {
    sleep: Option<Sleep>,
    result: Option<Result<Response, ExchangeError>>,
    slot: Option<SemaphorePermit<'a>>,
}

impl Future for Answering<'_> {
    type Output = Result<Response, ExchangeError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Answering::Delivering(d) => {
                if let Some(sleep) = &mut d.sleep {
                    std::task::ready!(Pin::new(sleep).poll(cx));
                    d.sleep = None;
                }
                d.slot = None;
                Poll::Ready(d.result.take().expect("an answer is delivered once"))
            }
            Answering::Waiting(f) => f.as_mut().poll(cx),
        }
    }
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
    ) -> Answering<'_> {
        answer(
            &self.gate,
            self.handler.server().with(request),
            endpoint,
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
