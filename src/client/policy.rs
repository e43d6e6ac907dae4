//! A client group's refresh policy, resolved: every knob has its value.
//!
//! The scenario's `policy` keys are all optional (see `scenario::PolicySpec`); this module
//! fills what the user left out, from defaults chosen to match the most common SDK
//! behaviour (on-demand refresh, one refresh per process at a time, three tries).

use crate::duration::Dur;
use crate::scenario::{Coordination, ExpirySource, On401, PolicySpec, RefreshMode, RetryJitter};

/// What the defaults are, in one place (the README's reference quotes them).
pub mod defaults {
    use super::*;
    pub const REFRESH: RefreshMode = RefreshMode::Reactive;
    pub const BUFFER: Dur = Dur::secs(60);
    pub const ON_401: On401 = On401::RefreshAndRetry;
    pub const COORDINATION: Coordination = Coordination::SingleFlight;
    pub const EXPIRY_SOURCE: ExpirySource = ExpirySource::ExpiresIn;
    pub const ATTEMPTS: u32 = 3;
    pub const BACKOFF: Dur = Dur::secs(1);
    pub const MAX_BACKOFF: Dur = Dur::secs(30);
    pub const RETRY_JITTER: RetryJitter = RetryJitter::Full;
    pub const TIMEOUT: Dur = Dur::secs(10);
}

/// When a proactive client decides its token needs refreshing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trigger {
    /// Less than this is left before expiry.
    Buffer(Dur),
    /// This fraction of the token's lifetime has passed.
    Fraction(f64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Retry {
    /// Tries in all, the first included.
    pub attempts: u32,
    pub backoff: Dur,
    pub max_backoff: Dur,
    pub jitter: RetryJitter,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub refresh: RefreshMode,
    pub trigger: Trigger,
    /// Refresh up to this much earlier, drawn uniformly at each check.
    pub jitter: Dur,
    pub on_401: On401,
    pub coordination: Coordination,
    /// How long a caller waits for another's refresh before doing its own; None: forever.
    pub wait: Option<Dur>,
    pub expiry_source: ExpirySource,
    pub retry: Retry,
    /// Per exchange (API request, refresh, login).
    pub timeout: Dur,
}

impl Policy {
    pub fn resolve(spec: &PolicySpec) -> Policy {
        let trigger = match (spec.fraction, spec.buffer) {
            (Some(f), _) => Trigger::Fraction(f),
            (None, Some(b)) => Trigger::Buffer(b),
            (None, None) => Trigger::Buffer(defaults::BUFFER),
        };
        let retry = spec.retry.clone().unwrap_or_default();
        Policy {
            refresh: spec.refresh.unwrap_or(defaults::REFRESH),
            trigger,
            jitter: spec.jitter.unwrap_or(Dur::ZERO),
            on_401: spec.on_401.unwrap_or(defaults::ON_401),
            coordination: spec.coordination.unwrap_or(defaults::COORDINATION),
            wait: spec.lock.as_ref().and_then(|l| l.wait),
            expiry_source: spec.expiry_source.unwrap_or(defaults::EXPIRY_SOURCE),
            retry: Retry {
                attempts: retry.attempts.unwrap_or(defaults::ATTEMPTS).max(1),
                backoff: retry.backoff.unwrap_or(defaults::BACKOFF),
                max_backoff: retry.max_backoff.unwrap_or(defaults::MAX_BACKOFF),
                jitter: retry.jitter.unwrap_or(defaults::RETRY_JITTER),
            },
            timeout: spec.timeout.unwrap_or(defaults::TIMEOUT),
        }
    }
}

impl Retry {
    /// The wait before retry number `n` (1 for the first retry): exponential, capped, and
    /// jittered as configured. `unit` is a uniform draw in [0, 1).
    pub fn delay(&self, n: u32, unit: f64) -> Dur {
        let exp = n.saturating_sub(1).min(30);
        let base = (self.backoff.as_ms().saturating_mul(1i64 << exp)).min(self.max_backoff.as_ms());
        let ms = match self.jitter {
            RetryJitter::None => base as f64,
            RetryJitter::Full => base as f64 * unit,
            RetryJitter::Equal => base as f64 / 2.0 + base as f64 / 2.0 * unit,
        };
        Dur::ms(ms.round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::RetrySpec;

    #[test]
    fn defaults_fill_what_is_unset() {
        let p = Policy::resolve(&PolicySpec::default());
        assert_eq!(p.refresh, RefreshMode::Reactive);
        assert_eq!(p.trigger, Trigger::Buffer(Dur::secs(60)));
        assert_eq!(p.coordination, Coordination::SingleFlight);
        assert_eq!(p.retry.attempts, 3);
        assert_eq!(p.timeout, Dur::secs(10));
    }

    #[test]
    fn written_keys_win() {
        let spec = PolicySpec {
            refresh: Some(RefreshMode::Proactive),
            fraction: Some(0.8),
            coordination: Some(Coordination::None),
            retry: Some(RetrySpec {
                attempts: Some(5),
                ..Default::default()
            }),
            ..Default::default()
        };
        let p = Policy::resolve(&spec);
        assert_eq!(p.refresh, RefreshMode::Proactive);
        assert_eq!(p.trigger, Trigger::Fraction(0.8));
        assert_eq!(p.coordination, Coordination::None);
        assert_eq!(p.retry.attempts, 5);
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let r = Retry {
            attempts: 5,
            backoff: Dur::secs(1),
            max_backoff: Dur::secs(3),
            jitter: RetryJitter::None,
        };
        assert_eq!(r.delay(1, 0.5), Dur::secs(1));
        assert_eq!(r.delay(2, 0.5), Dur::secs(2));
        assert_eq!(r.delay(3, 0.5), Dur::secs(3));
        let full = Retry {
            jitter: RetryJitter::Full,
            ..r.clone()
        };
        assert_eq!(full.delay(2, 0.25), Dur::ms(500));
        let equal = Retry {
            jitter: RetryJitter::Equal,
            ..r
        };
        assert_eq!(equal.delay(2, 0.0), Dur::secs(1));
        assert_eq!(equal.delay(2, 1.0), Dur::secs(2));
    }
}
