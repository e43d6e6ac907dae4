//! The hostile side of a server: what happens to a request before its handler sees it.
//!
//! Each server (the issuer, the resource) has a [`Gate`] that decides, once per request
//! at its arrival: its faults (see [`crate::server::faults`]), the latency it will take, and for
//! the issuer's work (token requests and introspections) a capacity (at most `capacity`
//! served at once, the others queue in arrival order: a storm shows as waiting) and a
//! rate limit (a token bucket answering 429 with Retry-After). The sim exchange and the
//! live HTTP servers both ask it, so a fault means the same in both.
//!
//! A request's random choices (its latency, whether an `errors` fault hits it) come
//! from an RNG seeded by one draw: the sender's own in the sim ([`crate::rng::Draws`]),
//! so that what happens to a client's request depends on that client alone, not on
//! the order other clients' requests arrived in; the gate's own stream for requests
//! off the wire and the resource's calls to the issuer (sim/live: the transport).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::Instant;
use bytes::Bytes;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::latency::Sampler;
use crate::clock::Clock;
use crate::exchange::{Endpoint, Response};
use crate::metrics::Metrics;
use crate::rng::Rng;
use crate::scenario::RateLimit;
use crate::server::faults::{Effect, Faults};
use rand::{RngExt, SeedableRng};

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
            at: crate::clock::time::now(),
        }
    }

    /// Takes a token, or says in how many whole seconds one will be there.
    fn take(&mut self) -> Result<(), u64> {
        let now = crate::clock::time::now();
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

/// What a server's gate is made of.
pub(crate) struct Side {
    pub latency: Sampler,
    pub faults: Faults,
    pub rate_limit: Option<RateLimit>,
    pub capacity: Option<u32>,
}

impl Side {
    /// The issuer's side as the scenario describes it, its faults drawing from the run's
    /// seed.
    pub(crate) fn issuer(s: &crate::scenario::Scenario) -> Side {
        Side {
            latency: Sampler::new(&s.issuer.latency),
            faults: Faults::new(&s.issuer.faults),
            rate_limit: s.issuer.rate_limit.clone(),
            capacity: s.issuer.capacity,
        }
    }

    /// The resource's side: faults and latency only.
    pub(crate) fn resource(s: &crate::scenario::Scenario) -> Side {
        Side {
            latency: Sampler::new(&s.resource.latency),
            faults: Faults::new(&s.resource.faults),
            rate_limit: None,
            capacity: None,
        }
    }
}

/// What a gate counted beside its faults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct GateCounts {
    /// Requests answered 429 by the rate limit.
    pub rate_limited: u64,
    /// Token requests answered before the token endpoint (a fault, the rate limit).
    pub token_refused: u64,
}

/// What becomes of a request.
pub(crate) enum Verdict {
    /// Its handler answers it.
    Serve,
    /// This answer, instead of the handler's.
    Answer(Response),
    /// No answer ever: the client waits out its timeout.
    NoAnswer,
}

/// A request let through the gate: what becomes of it, how long its answer takes once
/// handled, how long it queued, and the capacity slot it holds until answered.
pub(crate) struct Admission<'a> {
    pub verdict: Verdict,
    pub delay: Duration,
    pub queued: Duration,
    pub slot: Option<SemaphorePermit<'a>>,
}

pub struct Gate {
    latency: Sampler,
    faults: Faults,
    bucket: Option<Mutex<Bucket>>,
    capacity: Option<Semaphore>,
    clock: Clock,
    /// Where queueing is recorded (the issuer's queue metrics), when a run records.
    metrics: Option<Arc<Metrics>>,
    rng: Arc<Mutex<Rng>>,
    counts: Mutex<GateCounts>,
    /// Faults injected into requests that brought no draw of their own.
    own_injected: std::sync::atomic::AtomicU64,
}

impl Gate {
    /// A gate timing its faults on `clock` (from the run's start), seeding the choices
    /// about requests that bring no draw of their own from `rng`.
    pub(crate) fn new(
        side: Side,
        clock: Clock,
        metrics: Option<Arc<Metrics>>,
        rng: Arc<Mutex<Rng>>,
    ) -> Gate {
        Gate {
            bucket: side.rate_limit.as_ref().map(|l| Mutex::new(Bucket::new(l))),
            capacity: side.capacity.map(|c| Semaphore::new(c.max(1) as usize)),
            latency: side.latency,
            faults: side.faults,
            clock,
            metrics,
            rng,
            counts: Mutex::new(GateCounts::default()),
            own_injected: Default::default(),
        }
    }

    pub(crate) fn counts(&self) -> GateCounts {
        *self.lock_counts()
    }

    /// Requests failed on purpose by a fault.
    pub(crate) fn injected(&self) -> u64 {
        self.faults.injected()
    }

    /// Of those, requests that brought no draw of their own (off the wire, or the
    /// resource's own calls).
    pub(crate) fn own_injected(&self) -> u64 {
        self.own_injected.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock_counts(&self) -> MutexGuard<'_, GateCounts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decides what becomes of a request to `endpoint` arriving now, its random
    /// choices seeded by `draw` (None: a draw of the gate's own). At once, unless it
    /// must queue for a capacity slot first: then the [`Queued`] request waits for one.
    pub(crate) fn admit(
        &self,
        endpoint: Endpoint,
        draw: Option<u64>,
    ) -> Result<Admission<'_>, Box<Queued<'_>>> {
        let own = draw.is_none();
        let draw =
            draw.unwrap_or_else(|| self.rng.lock().unwrap_or_else(|e| e.into_inner()).random());
        // Only timed and seeded when something is drawn: with a fixed latency and no
        // faults (the common API request) neither the clock nor an RNG is needed.
        let (effect, delay) = match (&self.latency, self.faults.is_empty()) {
            (Sampler::Fixed(d), true) => (Effect::Pass, *d),
            _ => {
                let mut rng = Rng::seed_from_u64(draw);
                let (effect, extra) = self.faults.decide(self.clock.elapsed_ms(), &mut rng);
                (effect, self.latency.sample(&mut rng) + extra)
            }
        };
        if own && effect != Effect::Pass {
            self.own_injected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if endpoint == Endpoint::Token && effect != Effect::Pass {
            self.lock_counts().token_refused += 1;
        }
        let mut admission = Admission {
            verdict: Verdict::Serve,
            delay,
            queued: Duration::ZERO,
            slot: None,
        };
        if effect == Effect::NoAnswer {
            admission.verdict = Verdict::NoAnswer;
            return Ok(admission);
        }
        // The issuer's work holds a capacity slot while served; the key set is a static
        // document, served beside the queue.
        if let (Some(slots), true, Effect::Pass) = (&self.capacity, works(endpoint), effect) {
            match slots.try_acquire() {
                Ok(permit) => admission.slot = Some(permit),
                Err(_) => {
                    // Boxed: the queue is the rare way, and its wait is boxed anyway.
                    return Err(Box::new(Queued {
                        gate: self,
                        endpoint,
                        admission,
                    }));
                }
            }
        }
        Ok(self.limit(endpoint, effect, admission))
    }

    /// The fault's answer, or the rate limit's, for a request past the capacity.
    fn limit<'a>(
        &self,
        endpoint: Endpoint,
        effect: Effect,
        mut admission: Admission<'a>,
    ) -> Admission<'a> {
        if let Effect::Answer(status) = effect {
            admission.verdict = Verdict::Answer(error(status));
        } else if works(endpoint)
            && let Some(after) = self
                .bucket
                .as_ref()
                .and_then(|b| b.lock().unwrap_or_else(|e| e.into_inner()).take().err())
        {
            let mut counts = self.lock_counts();
            counts.rate_limited += 1;
            if endpoint == Endpoint::Token {
                counts.token_refused += 1;
            }
            admission.verdict = Verdict::Answer(too_many(after));
        }
        admission
    }
}

/// Whether requests to `endpoint` are the issuer's work (capacity and rate limit).
fn works(endpoint: Endpoint) -> bool {
    matches!(endpoint, Endpoint::Token | Endpoint::Introspect)
}

/// A request waiting in the issuer's queue for a capacity slot (in arrival order).
pub(crate) struct Queued<'a> {
    gate: &'a Gate,
    endpoint: Endpoint,
    admission: Admission<'a>,
}

impl<'a> Queued<'a> {
    /// Waits for a slot; then the rate limit decides as for a request that found one.
    pub(crate) async fn admit(self: Box<Self>) -> Admission<'a> {
        let Queued {
            gate,
            endpoint,
            mut admission,
        } = *self;
        if let Some(m) = &gate.metrics {
            m.issuer_queue_entered();
        }
        let waited_from = crate::clock::time::now();
        if let Some(slots) = &gate.capacity {
            admission.slot = slots.acquire().await.ok();
        }
        admission.queued = crate::clock::time::now().saturating_duration_since(waited_from);
        if let Some(m) = &gate.metrics {
            m.issuer_queue_left(admission.queued);
        }
        gate.limit(endpoint, Effect::Pass, admission)
    }
}

/// A rate-limited answer (RFC 6585 §4), saying when to come back.
fn too_many(retry_after: u64) -> Response {
    let mut r = error(StatusCode::TOO_MANY_REQUESTS);
    if let Ok(v) = HeaderValue::try_from(retry_after.to_string()) {
        r.headers_mut().insert(RETRY_AFTER, v);
    }
    r
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
