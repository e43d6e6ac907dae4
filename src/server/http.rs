//! The fake servers over real HTTP: a hyper 1.x adapter around the same handlers the
//! sim calls in-process.
//!
//! Each accepted connection is served by hyper's HTTP/1.1 server with limits a public
//! endpoint needs: a cap on open connections (further ones wait in the listen backlog),
//! a cap on the request head (hyper answers 431 beyond it), a time limit for reading
//! it, and a cap on the body (413 beyond it). A request then passes the server's
//! [`Gate`] (its faults, latency, capacity and rate limit, in real time) and reaches
//! the handler. Malformed HTTP gets hyper's 400; nothing a client sends reaches a panic.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::exchange::{Endpoint, Request, Response};
use crate::issuer::Issuer;
use crate::resource::Resource;
use crate::server::gate::{Gate, Verdict};

/// What one server accepts.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Bytes of the request line and headers.
    pub max_head_bytes: usize,
    /// Bytes of a request body.
    pub max_body_bytes: usize,
    /// Time to read a request head once a connection is open or idle.
    pub head_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            max_head_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            head_timeout: Duration::from_secs(10),
        }
    }
}

/// Longest a request of an outage in `mode: timeout` is held unanswered.
const NO_ANSWER_HOLD: Duration = Duration::from_secs(600);

/// A handler of one server: the issuer or the resource.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, req: Request) -> impl Future<Output = Response> + Send;
    /// Which endpoint a request is, for the gate (capacity and rate limit apply to
    /// the issuer's work only).
    fn endpoint(&self, req: &Request) -> Endpoint;
}

impl Handler for Issuer {
    fn handle(&self, req: Request) -> impl Future<Output = Response> + Send {
        Issuer::handle(self, req)
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
    fn handle(&self, req: Request) -> impl Future<Output = Response> + Send {
        Resource::handle(self, req)
    }
    fn endpoint(&self, _: &Request) -> Endpoint {
        Endpoint::Api
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
    /// Answers one request as the gate says: handled, refused, or never answered.
    pub async fn answer(&self, req: Request) -> Response {
        let endpoint = self.handler.endpoint(&req);
        let admission = self.gate.admit(endpoint).await;
        let response = match admission.verdict {
            Verdict::NoAnswer => {
                tokio::time::sleep(NO_ANSWER_HOLD).await;
                return json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "no answer",
                );
            }
            Verdict::Answer(r) => r,
            Verdict::Serve => self.handler.handle(req).await,
        };
        if !admission.delay.is_zero() {
            tokio::time::sleep(admission.delay).await;
        }
        response
    }
}

fn json_error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": code, "error_description": description});
    let mut r = Response::new(Bytes::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Reads a hyper request into the handlers' type, within the body limit.
async fn read(req: http::Request<Incoming>, max_body: usize) -> Result<Request, Response> {
    let (parts, body) = req.into_parts();
    match Limited::new(body, max_body).collect().await {
        Ok(collected) => Ok(Request::from_parts(parts, collected.to_bytes())),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            &format!("the request body is over {max_body} bytes"),
        )),
        Err(_) => Err(json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request body could not be read",
        )),
    }
}

/// A server bound to its address, not yet serving.
pub struct Bound {
    listener: TcpListener,
    pub addr: SocketAddr,
}

/// Binds `addr` (port 0 for any free port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<Bound> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    Ok(Bound { listener, addr })
}

impl Bound {
    /// Serves `front` until `shutdown` completes, then lets open requests finish.
    pub async fn serve<H: Handler>(
        self,
        front: Front<H>,
        limits: Limits,
        shutdown: impl Future<Output = ()>,
    ) {
        let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.head_timeout)
            .max_buf_size(limits.max_head_bytes.max(8192));
        tokio::pin!(shutdown);
        loop {
            let slot = tokio::select! {
                biased;
                () = &mut shutdown => break,
                slot = slots.clone().acquire_owned() => slot,
            };
            let Ok(slot) = slot else { break };
            let accepted = tokio::select! {
                biased;
                () = &mut shutdown => break,
                a = self.listener.accept() => a,
            };
            let Ok((stream, peer)) = accepted else {
                // Out of file descriptors and the like: wait a moment, go on.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            tracing::debug!(%peer, "connection");
            let front = front.clone();
            let max_body = limits.max_body_bytes;
            let service = service_fn(move |req: http::Request<Incoming>| {
                let front = front.clone();
                async move {
                    let method = req.method().clone();
                    let path = req.uri().path().to_string();
                    let response = match read(req, max_body).await {
                        Ok(req) => front.answer(req).await,
                        Err(refused) => refused,
                    };
                    // Paths only: a query or a header could carry a token.
                    tracing::info!(%method, %path, status = response.status().as_u16(), "request");
                    Ok::<_, Infallible>(response.map(Full::new))
                }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                drop(slot);
            });
        }
        // Let requests in flight finish, a little while at most.
        tokio::select! {
            biased;
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

/// The resource's line to an issuer in the same process: through the issuer's gate, so
/// its faults and latency apply to key-set fetches and introspections as over a wire.
impl crate::exchange::Upstream for Front<Issuer> {
    fn call(
        &self,
        _endpoint: Endpoint,
        request: Request,
        timeout: Duration,
    ) -> std::pin::Pin<
        Box<dyn Future<Output = Result<Response, crate::exchange::ExchangeError>> + Send + '_>,
    > {
        Box::pin(async move {
            tokio::time::timeout(timeout, self.answer(request))
                .await
                .map_err(|_| crate::exchange::ExchangeError::Timeout)
        })
    }
}

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
    pub resource: SocketAddr,
    issuer_front: Front<Issuer>,
    resource_front: Front<Resource>,
    stop: Arc<tokio::sync::Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Servers {
    /// What the servers and their gates counted so far.
    pub fn stats(
        &self,
    ) -> (
        crate::issuer::IssuerStats,
        crate::resource::ResourceStats,
        crate::exchange::ExchangeStats,
    ) {
        let counts = self.issuer_front.gate.counts();
        (
            self.issuer_front.handler.stats(),
            self.resource_front.handler.stats(),
            crate::exchange::ExchangeStats {
                issuer_rate_limited: counts.rate_limited,
                token_refused: counts.token_refused,
                issuer_injected: self.issuer_front.gate.injected(),
                resource_injected: self.resource_front.gate.injected(),
            },
        )
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
/// starts now, on the wall clock, so tokens carry real `iat` and `exp`.
pub async fn start(
    scenario: &crate::scenario::Scenario,
    issuer_addr: SocketAddr,
    resource_addr: SocketAddr,
    limits: Limits,
) -> Result<Servers, StartError> {
    let clock = crate::clock::Clock::wall();
    start_on(scenario, issuer_addr, resource_addr, limits, clock, None).await
}

/// As [`start`], on a given clock, recording the issuer's queue into `metrics`.
pub async fn start_on(
    scenario: &crate::scenario::Scenario,
    issuer_addr: SocketAddr,
    resource_addr: SocketAddr,
    limits: Limits,
    clock: crate::clock::Clock,
    metrics: Option<Arc<crate::metrics::Metrics>>,
) -> Result<Servers, StartError> {
    use crate::rng::{self, stream};
    use crate::server::gate::Side;

    let seed = scenario.seed;
    let issuer = Arc::new(Issuer::new(
        &scenario.issuer,
        clock.skewed(scenario.issuer.clock_offset.as_ms()),
        seed,
    )?);
    let latency_rng = |n: u64| {
        Arc::new(std::sync::Mutex::new(rng::rng(
            seed,
            &[stream::EXCHANGE, n],
        )))
    };
    let issuer_front = Front {
        handler: issuer.clone(),
        gate: Arc::new(Gate::new(
            Side::issuer(scenario),
            clock,
            metrics,
            latency_rng(0),
        )),
    };
    let upstream: Arc<dyn crate::exchange::Upstream> = Arc::new(issuer_front.clone());
    let resource = Resource::of_scenario(
        scenario,
        &issuer,
        clock.skewed(scenario.resource.clock_offset.as_ms()),
        upstream,
    );
    let resource_front = Front {
        handler: Arc::new(resource),
        gate: Arc::new(Gate::new(
            Side::resource(scenario),
            clock,
            None,
            latency_rng(1),
        )),
    };
    let end_ms = scenario.duration.as_ms().max(0) as u64;
    crate::world::events::schedule(
        scenario,
        &issuer,
        issuer_front.handler.clock(),
        resource_front.handler.clock(),
        clock,
        end_ms,
    );

    let issuer_bound = bind(issuer_addr)
        .await
        .map_err(|e| StartError::Bind(issuer_addr, e))?;
    let resource_bound = bind(resource_addr)
        .await
        .map_err(|e| StartError::Bind(resource_addr, e))?;
    let stop = Arc::new(tokio::sync::Notify::new());
    let (issuer, resource) = (issuer_bound.addr, resource_bound.addr);
    let s1 = stop.clone();
    let s2 = stop.clone();
    let tasks = vec![
        tokio::spawn(
            issuer_bound.serve(
                issuer_front.clone(),
                limits,
                async move { s1.notified().await },
            ),
        ),
        tokio::spawn(
            resource_bound.serve(resource_front.clone(), limits, async move {
                s2.notified().await
            }),
        ),
    ];
    Ok(Servers {
        issuer,
        resource,
        issuer_front,
        resource_front,
        stop,
        tasks,
    })
}
