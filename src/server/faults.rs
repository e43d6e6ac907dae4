//! Faults: what a hostile server does to a request before it is handled.
//!
//! A section's `faults` (issuer or resource) become a [`Faults`] that the exchange asks,
//! once per request at its arrival, what happens to it: an `outage` answers 503 (or, with
//! `mode: timeout`, never answers, so the client waits out its timeout), `errors` fail a
//! random `rate` of requests with `status`, `latency` adds delay. Each holds from `at` for
//! `for`, or for the whole run. Draws come from the request's own RNG (see
//! [`crate::server::gate`]), so a run stays reproducible. (`clock_jump` is a scheduled event, run by the engine.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::StatusCode;
use rand::RngExt;

use crate::rng::Rng;
use crate::scenario::{Fault, FaultKind};
use crate::server::latency::Sampler;

/// What a fault does to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Handled as usual.
    Pass,
    /// Answered with this status instead of being handled.
    Answer(StatusCode),
    /// Never answered: the client waits out its timeout.
    NoAnswer,
}

enum Kind {
    Outage { no_answer: bool },
    Errors { rate: f64, status: StatusCode },
    Latency(Sampler),
}

struct Window {
    kind: Kind,
    from_ms: u64,
    /// None: until the run ends.
    to_ms: Option<u64>,
}

impl Window {
    fn holds(&self, at_ms: u64) -> bool {
        at_ms >= self.from_ms && self.to_ms.is_none_or(|to| at_ms < to)
    }
}

/// The request faults of one server.
pub(crate) struct Faults {
    windows: Vec<Window>,
    injected: AtomicU64,
}

/// The status an `errors` fault answers with when none is given.
pub(crate) const DEFAULT_STATUS: u16 = 500;

impl Faults {
    /// The request faults among `faults`; other kinds are the engine's.
    pub(crate) fn new(faults: &[Fault]) -> Faults {
        let windows = faults
            .iter()
            .filter_map(|f| {
                let kind = match f.kind {
                    FaultKind::Outage => Kind::Outage {
                        no_answer: f.mode.as_deref() == Some("timeout"),
                    },
                    FaultKind::Errors => Kind::Errors {
                        rate: f.rate.unwrap_or(1.0),
                        status: StatusCode::from_u16(f.status.unwrap_or(DEFAULT_STATUS))
                            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    },
                    FaultKind::Latency => Kind::Latency(Sampler::new(f.latency.as_ref()?)),
                    _ => return None,
                };
                let from_ms = f.at.map_or(0, |d| d.as_ms().max(0) as u64);
                Some(Window {
                    kind,
                    from_ms,
                    to_ms: f.for_.map(|d| from_ms + d.as_ms().max(0) as u64),
                })
            })
            .collect();
        Faults {
            windows,
            injected: AtomicU64::new(0),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// Requests failed on purpose so far.
    pub(crate) fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// What happens to a request arriving `at_ms` after the run's start, and the extra
    /// latency it meets, drawn from `rng`.
    pub(crate) fn decide(&self, at_ms: u64, rng: &mut Rng) -> (Effect, Duration) {
        let mut effect = Effect::Pass;
        let mut extra = Duration::ZERO;
        if self.windows.is_empty() {
            return (effect, extra);
        }
        for w in self.windows.iter().filter(|w| w.holds(at_ms)) {
            match &w.kind {
                Kind::Outage { no_answer } if effect == Effect::Pass => {
                    effect = if *no_answer {
                        Effect::NoAnswer
                    } else {
                        Effect::Answer(StatusCode::SERVICE_UNAVAILABLE)
                    };
                }
                // Drawn whatever happened before, so that one fault's draws do not
                // depend on another's outcome.
                Kind::Errors { rate, status } => {
                    if rng.random::<f64>() < *rate && effect == Effect::Pass {
                        effect = Effect::Answer(*status);
                    }
                }
                Kind::Latency(sampler) => extra += sampler.sample(rng),
                Kind::Outage { .. } => {}
            }
        }
        if effect != Effect::Pass {
            self.injected.fetch_add(1, Ordering::Relaxed);
        }
        (effect, extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Dur;
    use crate::scenario::Latency;

    fn fault(kind: FaultKind) -> Fault {
        Fault::of(kind)
    }

    #[test]
    fn windows_bound_faults_in_time() {
        let outage = Fault {
            at: Some(Dur::secs(10)),
            for_: Some(Dur::secs(5)),
            ..fault(FaultKind::Outage)
        };
        let f = Faults::new(&[outage]);
        let rng = &mut crate::rng::rng(1, &[]);
        assert_eq!(f.decide(9_999, rng).0, Effect::Pass);
        assert_eq!(
            f.decide(10_000, rng).0,
            Effect::Answer(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(
            f.decide(14_999, rng).0,
            Effect::Answer(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(f.decide(15_000, rng).0, Effect::Pass);
        assert_eq!(f.injected(), 2);
    }

    #[test]
    fn errors_hit_their_rate_and_latency_adds_up() {
        let errors = Fault {
            rate: Some(0.25),
            status: Some(502),
            ..fault(FaultKind::Errors)
        };
        let slow = Fault {
            latency: Some(Latency::Fixed(Dur::ms(300))),
            ..fault(FaultKind::Latency)
        };
        let f = Faults::new(&[errors, slow]);
        let rng = &mut crate::rng::rng(2, &[]);
        let mut failed = 0;
        for i in 0..10_000 {
            let (effect, extra) = f.decide(i, rng);
            assert_eq!(extra, Duration::from_millis(300));
            if effect == Effect::Answer(StatusCode::BAD_GATEWAY) {
                failed += 1;
            }
        }
        assert!((2_300..2_700).contains(&failed), "{failed}");
        let timeout = Fault {
            mode: Some("timeout".into()),
            ..fault(FaultKind::Outage)
        };
        assert_eq!(Faults::new(&[timeout]).decide(0, rng).0, Effect::NoAnswer);
    }
}
