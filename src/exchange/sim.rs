//! The in-process exchange of `sim` mode.
//!
//! A request is handed to the issuer's or the resource's handler at once (it "arrives"
//! when sent), and its answer is delivered after the server's latency on the paused
//! clock: the time a server takes is time the client waits, and tokens issued at
//! arrival are already that much older when the client receives them, as over a wire.
//!
//! Before the handler, the server's hostile side applies: its faults (see
//! [`crate::faults`]), and for the issuer a rate limit (a token bucket answering 429 with
//! Retry-After) and a capacity (at most `capacity` token requests served at once, the
//! others queue in arrival order; a storm shows as waiting).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::latency::Sampler;
use super::{Endpoint, Exchange, ExchangeError, Request, Response};
use crate::faults::{Effect, Faults};
use crate::issuer::Issuer;
use crate::metrics::Metrics;
use crate::resource::Resource;
use crate::rng::Rng;
use crate::scenario::RateLimit;

/// A token bucket: `per_second` tokens a second, at most `burst` saved up.
struct Bucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(limit: &RateLimit) -> Bucket {
        Bucket {
            per_second: limit.per_second,
            burst: f64::from(limit.burst.max(1)),
            tokens: f64::from(limit.burst.max(1)),
            at: Instant::now(),
        }
    }

    /// Takes a token, or says in how many whole seconds one will be there.
    fn take(&mut self) -> Result<(), u64> {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - self.tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// The issuer's side of the exchange.
pub struct IssuerSide {
    pub latency: Sampler,
    pub faults: Faults,
    pub rate_limit: Option<RateLimit>,
    pub capacity: Option<u32>,
}

/// The resource's side of the exchange.
pub struct ResourceSide {
    pub latency: Sampler,
    pub faults: Faults,
}

/// What the exchange itself counted (requests that never reached a handler).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExchangeStats {
    pub issuer_rate_limited: u64,
    /// Token requests answered before the token endpoint (a fault, the rate limit).
    pub token_refused: u64,
    pub issuer_injected: u64,
    pub resource_injected: u64,
}

pub struct SimExchange {
    issuer: Arc<Issuer>,
    resource: Arc<Resource>,
    issuer_side: IssuerSide,
    resource_side: ResourceSide,
    bucket: Option<Mutex<Bucket>>,
    capacity: Option<Semaphore>,
    counts: Mutex<ExchangeStats>,
    metrics: Arc<Metrics>,
    rng: Mutex<Rng>,
}

impl SimExchange {
    pub fn new(
        issuer: Arc<Issuer>,
        resource: Arc<Resource>,
        issuer_side: IssuerSide,
        resource_side: ResourceSide,
        metrics: Arc<Metrics>,
        rng: Rng,
    ) -> SimExchange {
        SimExchange {
            bucket: issuer_side
                .rate_limit
                .as_ref()
                .map(|l| Mutex::new(Bucket::new(l))),
            capacity: issuer_side
                .capacity
                .map(|c| Semaphore::new(c.max(1) as usize)),
            issuer,
            resource,
            issuer_side,
            resource_side,
            counts: Mutex::new(ExchangeStats::default()),
            metrics,
            rng: Mutex::new(rng),
        }
    }

    pub fn stats(&self) -> ExchangeStats {
        ExchangeStats {
            issuer_injected: self.issuer_side.faults.injected(),
            resource_injected: self.resource_side.faults.injected(),
            ..*self.counts()
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, ExchangeStats> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A rate-limited answer (RFC 6585 §4), saying when to come back.
    fn too_many(retry_after: u64) -> Response {
        let mut r = error(StatusCode::TOO_MANY_REQUESTS);
        if let Ok(v) = HeaderValue::try_from(retry_after.to_string()) {
            r.headers_mut().insert(RETRY_AFTER, v);
        }
        r
    }
}

/// A server error answer with a JSON body.
fn error(status: StatusCode) -> Response {
    let code = match status {
        StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        _ => "server_error",
    };
    let mut r = Response::new(Bytes::from(format!(
        r#"{{"error":"{code}","error_description":"injected by the scenario"}}"#
    )));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

impl Exchange for SimExchange {
    async fn send(
        &self,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
    ) -> Result<Response, ExchangeError> {
        let (latency, faults) = if endpoint.is_issuer() {
            (&self.issuer_side.latency, &self.issuer_side.faults)
        } else {
            (&self.resource_side.latency, &self.resource_side.faults)
        };
        // Reading the clock costs a lock in the sim: only when there are faults to time.
        let (effect, extra) = if faults.is_empty() {
            (Effect::Pass, Duration::ZERO)
        } else {
            faults.decide(self.metrics.clock().elapsed_ms())
        };
        let delay = latency.sample(&mut self.rng.lock().unwrap_or_else(|e| e.into_inner())) + extra;
        if endpoint == Endpoint::Token && effect != Effect::Pass {
            self.counts().token_refused += 1;
        }
        if effect == Effect::NoAnswer {
            tokio::time::sleep(timeout).await;
            return Err(ExchangeError::Timeout);
        }
        // The issuer's capacity: wait for a free slot, hold it while serving. The key set
        // is a static document, served beside the queue.
        let mut queued = Duration::ZERO;
        let works = matches!(endpoint, Endpoint::Token | Endpoint::Introspect);
        let _slot = match (&self.capacity, works, effect) {
            (Some(slots), true, Effect::Pass) => match slots.try_acquire() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    self.metrics.issuer_queue_entered();
                    let waited_from = Instant::now();
                    let permit = slots.acquire().await.ok();
                    queued = waited_from.elapsed();
                    self.metrics.issuer_queue_left(queued);
                    permit
                }
            },
            _ => None,
        };
        let response = match effect {
            Effect::Answer(status) => error(status),
            _ => match endpoint {
                Endpoint::Token | Endpoint::Introspect => {
                    let limited = self
                        .bucket
                        .as_ref()
                        .and_then(|b| b.lock().unwrap_or_else(|e| e.into_inner()).take().err());
                    match limited {
                        Some(after) => {
                            let mut counts = self.counts();
                            counts.issuer_rate_limited += 1;
                            if endpoint == Endpoint::Token {
                                counts.token_refused += 1;
                            }
                            drop(counts);
                            Self::too_many(after)
                        }
                        None => self.issuer.handle(request).await,
                    }
                }
                Endpoint::Keys => self.issuer.handle(request).await,
                Endpoint::Api => self.resource.handle(request).await,
            },
        };
        // The server did the work either way; a late answer is lost to the client.
        let remaining = timeout.saturating_sub(queued);
        if delay >= remaining {
            tokio::time::sleep(remaining).await;
            return Err(ExchangeError::Timeout);
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok(response)
    }
}

/// The resource's line to the issuer in the sim: the same exchange, so the issuer's
/// latency, faults, capacity and rate limit apply to the resource's calls too. Set once
/// the exchange exists (the exchange holds the resource, which holds this).
#[derive(Default)]
pub struct SimUpstream(std::sync::OnceLock<std::sync::Weak<SimExchange>>);

impl SimUpstream {
    pub fn connect(&self, exchange: &Arc<SimExchange>) {
        let _ = self.0.set(Arc::downgrade(exchange));
    }
}

impl super::Upstream for SimUpstream {
    fn call(
        &self,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response, ExchangeError>> + Send + '_>,
    > {
        Box::pin(async move {
            match self.0.get().and_then(std::sync::Weak::upgrade) {
                Some(exchange) => exchange.send(endpoint, request, timeout).await,
                None => Err(ExchangeError::Connect("the issuer is not up".into())),
            }
        })
    }
}
