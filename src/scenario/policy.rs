//! A client group's refresh policy, resolved: every knob has its value.
//!
//! The scenario's `policy` keys are all optional (see `scenario::PolicySpec`). A
//! `preset` supplies the values of a real SDK (see [`super::presets`]); keys written
//! beside it override them; whatever is still unset takes the defaults below, chosen
//! to match the most common SDK behaviour (on-demand refresh, one refresh per process
//! at a time, three tries).

use crate::duration::Dur;
use crate::scenario::{
    AfterSoftFailure, Coordination, DuringRefresh, ExpirySource, JitterDirection, JitterPer,
    LockBackend, LockSpec, On401, On401When, OnInvalidGrant, OnLockTimeout, PolicySpec,
    RefreshMode, RetryAfter, RetryJitter, RetrySpec, SoftWindow, StatusPattern, ThrottleSpec,
};

/// What the defaults are, in one place (the README's reference quotes them).
pub(crate) mod defaults {
    use super::*;
    pub(crate) const REFRESH: RefreshMode = RefreshMode::Reactive;
    pub(crate) const BUFFER: Dur = Dur::secs(60);
    pub(crate) const HARD_BUFFER: Dur = Dur::ZERO;
    pub(crate) const SOFT_WINDOW: SoftWindow = SoftWindow::Block;
    /// One draw per token: "refresh up to this much earlier, uniformly" holds for each
    /// token (a draw per check bunches refreshes at the first checks of the window).
    pub(crate) const JITTER_PER: JitterPer = JitterPer::Token;
    pub(crate) const JITTER_DIRECTION: JitterDirection = JitterDirection::Earlier;
    pub(crate) const ON_LOCK_TIMEOUT: OnLockTimeout = OnLockTimeout::Refresh;
    /// MSAL Python's `default_throttle_time` for confidential clients
    /// (`application.py:721-727`), its 400 cache (`throttled_http_client.py:135-170`)
    /// and its cap (`throttled_http_client.py:30-40`).
    pub(crate) const THROTTLE_ERRORS: Dur = Dur::secs(5);
    pub(crate) const THROTTLE_BAD_REQUEST: Dur = Dur::secs(60);
    pub(crate) const THROTTLE_MAX: Dur = Dur::secs(3600);
    pub(crate) const ON_401: On401 = On401::RefreshAndRetry;
    pub(crate) const REPLAYS: u32 = 1;
    pub(crate) const ON_401_WHEN: On401When = On401When::Any;
    pub(crate) const ON_403: On401 = On401::Fail;
    pub(crate) const ON_INVALID_GRANT: OnInvalidGrant = OnInvalidGrant::Login;
    pub(crate) const COORDINATION: Coordination = Coordination::SingleFlight;
    pub(crate) const DURING_REFRESH: DuringRefresh = DuringRefresh::OldToken;
    pub(crate) const EXPIRY_SOURCE: ExpirySource = ExpirySource::ExpiresIn;
    pub(crate) const ATTEMPTS: u32 = 3;
    pub(crate) const BACKOFF: Dur = Dur::secs(1);
    pub(crate) const MULTIPLIER: f64 = 2.0;
    pub(crate) const MAX_BACKOFF: Dur = Dur::secs(30);
    pub(crate) const RETRY_JITTER: RetryJitter = RetryJitter::Full;
    pub(crate) const JITTER_RATIO: f64 = 0.1;
    pub(crate) const STATUSES: [StatusPattern; 3] = [
        StatusPattern::Code(408),
        StatusPattern::Code(429),
        StatusPattern::Class(5),
    ];
    pub(crate) const TIMEOUT: Dur = Dur::secs(10);
}

/// When a token's soft point comes, before jitter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trigger {
    /// Less than this is left before expiry.
    Buffer(Dur),
    /// This share of the lifetime has passed, for tokens living at least `min_lifetime`;
    /// shorter-lived tokens fall back to `buffer`.
    Fraction {
        fraction: f64,
        min_lifetime: Dur,
        buffer: Dur,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Retry {
    /// Tries in all, the first included.
    pub attempts: u32,
    pub backoff: Dur,
    pub multiplier: f64,
    pub max_backoff: Dur,
    pub jitter: RetryJitter,
    pub jitter_ratio: f64,
    pub statuses: Vec<StatusPattern>,
    /// Between two refresh attempts of one client.
    pub min_interval: Dur,
    pub keep_token: bool,
    pub retry_after: RetryAfter,
    pub after_soft_failure: AfterSoftFailure,
}

/// How long the token endpoint's error answers are replayed (`policy.throttle`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throttle {
    pub errors: Dur,
    pub bad_request: Dur,
    pub max: Dur,
}

impl Throttle {
    fn of(spec: &ThrottleSpec) -> Throttle {
        Throttle {
            errors: spec.errors.unwrap_or(defaults::THROTTLE_ERRORS),
            bad_request: spec.bad_request.unwrap_or(defaults::THROTTLE_BAD_REQUEST),
            max: spec.max.unwrap_or(defaults::THROTTLE_MAX),
        }
    }

    /// How long an answer with `status` and this Retry-After is replayed; None: not.
    pub fn keep(&self, status: u16, retry_after: Option<Dur>) -> Option<Dur> {
        let kept = match (status, retry_after) {
            (_, Some(after)) => after,
            (429 | 500..=599, None) => self.errors,
            (400, None) => self.bad_request,
            _ => return None,
        };
        Some(kept.min(self.max)).filter(|d| *d > Dur::ZERO)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub refresh: RefreshMode,
    pub trigger: Trigger,
    pub use_refresh_in: bool,
    pub hard_buffer: Dur,
    pub soft_window: SoftWindow,
    /// Moves the soft point by up to this much, drawn uniformly.
    pub jitter: Dur,
    pub jitter_per: JitterPer,
    pub jitter_direction: JitterDirection,
    pub on_401: On401,
    pub replays: u32,
    pub on_401_when: On401When,
    /// What a 403 does (for APIs that answer an expired token with 403).
    pub on_403: On401,
    /// After `invalid_grant` (or with no refresh token): log in again, or stay out.
    pub on_invalid_grant: OnInvalidGrant,
    pub coordination: Coordination,
    /// How long a caller waits for another's refresh (or for the lock) before going on
    /// without it; None: as long as it takes.
    pub wait: Option<Dur>,
    /// What a caller does when `wait` runs out.
    pub on_lock_timeout: OnLockTimeout,
    /// The lock of `coordination: lock`.
    pub lock: LockSettings,
    pub during_refresh: DuringRefresh,
    pub expiry_source: ExpirySource,
    pub retry: Retry,
    pub throttle: Option<Throttle>,
    /// Per exchange (API request, refresh, login).
    pub timeout: Dur,
}

/// `over` written on top of `base`: every key `over` sets wins, per key (also inside
/// `retry` and `lock`).
pub(crate) fn overlay(base: &PolicySpec, over: &PolicySpec) -> PolicySpec {
    fn pick<T: Clone>(over: &Option<T>, base: &Option<T>) -> Option<T> {
        over.clone().or_else(|| base.clone())
    }
    let retry = match (&base.retry, &over.retry) {
        (Some(b), Some(o)) => Some(RetrySpec {
            attempts: pick(&o.attempts, &b.attempts),
            backoff: pick(&o.backoff, &b.backoff),
            multiplier: pick(&o.multiplier, &b.multiplier),
            max_backoff: pick(&o.max_backoff, &b.max_backoff),
            jitter: pick(&o.jitter, &b.jitter),
            jitter_ratio: pick(&o.jitter_ratio, &b.jitter_ratio),
            statuses: pick(&o.statuses, &b.statuses),
            min_interval: pick(&o.min_interval, &b.min_interval),
            keep_token: pick(&o.keep_token, &b.keep_token),
            retry_after: pick(&o.retry_after, &b.retry_after),
            after_soft_failure: pick(&o.after_soft_failure, &b.after_soft_failure),
        }),
        (b, o) => pick(o, b),
    };
    let lock = match (&base.lock, &over.lock) {
        (Some(b), Some(o)) => Some(crate::scenario::LockSpec {
            backend: pick(&o.backend, &b.backend),
            ttl: pick(&o.ttl, &b.ttl),
            wait: pick(&o.wait, &b.wait),
            latency: pick(&o.latency, &b.latency),
            poll: pick(&o.poll, &b.poll),
            notify: pick(&o.notify, &b.notify),
            url: pick(&o.url, &b.url),
            on_timeout: pick(&o.on_timeout, &b.on_timeout),
        }),
        (b, o) => pick(o, b),
    };
    // A trigger written explicitly replaces the preset's, whichever kind it is.
    let (buffer, fraction) = if over.buffer.is_some() || over.fraction.is_some() {
        (over.buffer, over.fraction)
    } else {
        (base.buffer, base.fraction)
    };
    PolicySpec {
        preset: pick(&over.preset, &base.preset),
        refresh: pick(&over.refresh, &base.refresh),
        buffer,
        fraction,
        min_lifetime: pick(&over.min_lifetime, &base.min_lifetime),
        use_refresh_in: pick(&over.use_refresh_in, &base.use_refresh_in),
        hard_buffer: pick(&over.hard_buffer, &base.hard_buffer),
        soft_window: pick(&over.soft_window, &base.soft_window),
        jitter: pick(&over.jitter, &base.jitter),
        jitter_per: pick(&over.jitter_per, &base.jitter_per),
        jitter_direction: pick(&over.jitter_direction, &base.jitter_direction),
        on_401: pick(&over.on_401, &base.on_401),
        replays: pick(&over.replays, &base.replays),
        on_401_when: pick(&over.on_401_when, &base.on_401_when),
        on_403: pick(&over.on_403, &base.on_403),
        on_invalid_grant: pick(&over.on_invalid_grant, &base.on_invalid_grant),
        coordination: pick(&over.coordination, &base.coordination),
        lock,
        during_refresh: pick(&over.during_refresh, &base.during_refresh),
        expiry_source: pick(&over.expiry_source, &base.expiry_source),
        retry,
        throttle: match (&base.throttle, &over.throttle) {
            (Some(b), Some(o)) => Some(ThrottleSpec {
                errors: pick(&o.errors, &b.errors),
                bad_request: pick(&o.bad_request, &b.bad_request),
                max: pick(&o.max, &b.max),
            }),
            (b, o) => pick(o, b),
        },
        timeout: pick(&over.timeout, &base.timeout),
    }
}

impl Default for Policy {
    /// The policy of a group that writes no `policy` keys.
    fn default() -> Policy {
        Policy::resolve(&PolicySpec::default())
    }
}

impl Policy {
    /// The policy a group's `policy` section describes: its preset (which must exist;
    /// the scenario checks refuse unknown names), overridden by its own keys, then the
    /// defaults.
    pub fn resolve(written: &PolicySpec) -> Policy {
        let preset = written
            .preset
            .as_deref()
            .and_then(super::presets::find)
            .map(|p| p.spec());
        let spec = match &preset {
            Some(p) => overlay(p, written),
            None => written.clone(),
        };
        Self::from_spec(&spec)
    }

    fn from_spec(spec: &PolicySpec) -> Policy {
        let buffer = spec.buffer.unwrap_or(defaults::BUFFER);
        let trigger = match spec.fraction {
            Some(fraction) => Trigger::Fraction {
                fraction,
                min_lifetime: spec.min_lifetime.unwrap_or(Dur::ZERO),
                buffer,
            },
            None => Trigger::Buffer(buffer),
        };
        let retry = spec.retry.clone().unwrap_or_default();
        Policy {
            refresh: spec.refresh.unwrap_or(defaults::REFRESH),
            trigger,
            use_refresh_in: spec.use_refresh_in.unwrap_or(false),
            hard_buffer: spec.hard_buffer.unwrap_or(defaults::HARD_BUFFER),
            soft_window: spec.soft_window.unwrap_or(defaults::SOFT_WINDOW),
            jitter: spec.jitter.unwrap_or(Dur::ZERO),
            jitter_per: spec.jitter_per.unwrap_or(defaults::JITTER_PER),
            jitter_direction: spec.jitter_direction.unwrap_or(defaults::JITTER_DIRECTION),
            on_401: spec.on_401.unwrap_or(defaults::ON_401),
            replays: spec.replays.unwrap_or(defaults::REPLAYS),
            on_401_when: spec.on_401_when.unwrap_or(defaults::ON_401_WHEN),
            on_403: spec.on_403.unwrap_or(defaults::ON_403),
            on_invalid_grant: spec.on_invalid_grant.unwrap_or(defaults::ON_INVALID_GRANT),
            coordination: spec.coordination.unwrap_or(defaults::COORDINATION),
            wait: spec.lock.as_ref().and_then(|l| l.wait),
            on_lock_timeout: spec
                .lock
                .as_ref()
                .and_then(|l| l.on_timeout)
                .unwrap_or(defaults::ON_LOCK_TIMEOUT),
            lock: LockSettings::of(spec.lock.as_ref()),
            during_refresh: spec.during_refresh.unwrap_or(defaults::DURING_REFRESH),
            expiry_source: spec.expiry_source.unwrap_or(defaults::EXPIRY_SOURCE),
            retry: Retry {
                attempts: retry.attempts.unwrap_or(defaults::ATTEMPTS).max(1),
                backoff: retry.backoff.unwrap_or(defaults::BACKOFF),
                multiplier: retry.multiplier.unwrap_or(defaults::MULTIPLIER),
                max_backoff: retry.max_backoff.unwrap_or(defaults::MAX_BACKOFF),
                jitter: retry.jitter.unwrap_or(defaults::RETRY_JITTER),
                jitter_ratio: retry.jitter_ratio.unwrap_or(defaults::JITTER_RATIO),
                statuses: retry
                    .statuses
                    .unwrap_or_else(|| defaults::STATUSES.to_vec()),
                min_interval: retry.min_interval.unwrap_or(Dur::ZERO),
                keep_token: retry.keep_token.unwrap_or(true),
                retry_after: retry.retry_after.unwrap_or(RetryAfter::Wait),
                after_soft_failure: retry.after_soft_failure.unwrap_or(AfterSoftFailure::Retry),
            },
            throttle: spec.throttle.as_ref().map(Throttle::of),
            timeout: spec.timeout.unwrap_or(defaults::TIMEOUT),
        }
    }

    /// Whether the policy ever refreshes before a 401.
    pub(crate) fn ahead_of_expiry(&self) -> bool {
        self.refresh != RefreshMode::Reactive
    }
}

impl Retry {
    /// The wait before retry number `n` (1 for the first retry): backoff × multiplier^(n-1),
    /// capped, and jittered as configured. `unit` is a uniform draw in [0, 1).
    pub fn delay(&self, n: u32, unit: f64) -> Dur {
        let exp = n.saturating_sub(1).min(60) as i32;
        let base = (self.backoff.as_ms() as f64 * self.multiplier.powi(exp))
            .min(self.max_backoff.as_ms() as f64);
        let ms = match self.jitter {
            RetryJitter::None => base,
            RetryJitter::Full => base * unit,
            RetryJitter::Equal => base / 2.0 + base / 2.0 * unit,
            RetryJitter::Proportional => base * (1.0 + self.jitter_ratio * (2.0 * unit - 1.0)),
        };
        Dur::ms(ms.round().max(0.0) as i64)
    }

    /// Whether an answer with this status is worth another try.
    pub fn retryable(&self, status: u16) -> bool {
        self.statuses.iter().any(|p| p.matches(status))
    }
}

/// A lock's settings, defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct LockSettings {
    pub backend: LockBackend,
    pub ttl: Dur,
    pub latency: Dur,
    pub poll: Dur,
    pub notify: bool,
    pub url: Option<String>,
}

/// A lock's defaults (see `LockSettings::of`).
pub mod lock_defaults {
    use crate::duration::Dur;
    /// A Redis lock's usual expiry (redlock's examples, redis-py users).
    pub(crate) const TTL: Dur = Dur::secs(10);
    /// A Redis round trip on one network.
    pub(crate) const LATENCY: Dur = Dur::ms(1);
    /// redis-py's `Lock(sleep=0.1)`.
    pub(crate) const POLL: Dur = Dur::ms(100);
    pub const URL: &str = "redis://127.0.0.1:6379";
    /// Where a URL is taken from when the scenario names none.
    pub const URL_VAR: &str = "TOKENSTORM_REDIS_URL";
}

impl LockSettings {
    pub(crate) fn of(spec: Option<&LockSpec>) -> LockSettings {
        let d = LockSpec::default();
        let spec = spec.unwrap_or(&d);
        LockSettings {
            backend: spec.backend.unwrap_or(LockBackend::Simulated),
            ttl: spec.ttl.unwrap_or(lock_defaults::TTL),
            latency: spec.latency.unwrap_or(lock_defaults::LATENCY),
            poll: spec.poll.unwrap_or(lock_defaults::POLL),
            notify: spec.notify.unwrap_or(false),
            url: spec.url.clone(),
        }
    }

    /// The Redis URL: the scenario's, else `$TOKENSTORM_REDIS_URL`, else the default.
    pub fn redis_url(&self) -> String {
        self.url
            .clone()
            .or_else(|| std::env::var(lock_defaults::URL_VAR).ok())
            .unwrap_or_else(|| lock_defaults::URL.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_is_unset() {
        let p = Policy::resolve(&PolicySpec::default());
        assert_eq!(p.refresh, RefreshMode::Reactive);
        assert_eq!(p.trigger, Trigger::Buffer(Dur::secs(60)));
        assert_eq!(p.coordination, Coordination::SingleFlight);
        assert_eq!(p.retry.attempts, 3);
        assert_eq!(p.timeout, Dur::secs(10));
        assert!(p.retry.retryable(503) && p.retry.retryable(429) && !p.retry.retryable(400));
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
        assert!(matches!(p.trigger, Trigger::Fraction { fraction, .. } if fraction == 0.8));
        assert_eq!(p.coordination, Coordination::None);
        assert_eq!(p.retry.attempts, 5);
    }

    #[test]
    fn keys_beside_a_preset_override_it_one_by_one() {
        let written = PolicySpec {
            preset: Some("google-auth-python".into()),
            buffer: Some(Dur::secs(30)),
            retry: Some(RetrySpec {
                attempts: Some(7),
                ..Default::default()
            }),
            ..Default::default()
        };
        let p = Policy::resolve(&written);
        assert_eq!(p.trigger, Trigger::Buffer(Dur::secs(30)));
        assert_eq!(p.retry.attempts, 7);
        // Untouched preset values stay.
        assert_eq!(p.retry.jitter, RetryJitter::Proportional);
        assert_eq!(p.replays, 2);
    }

    #[test]
    fn backoff_multiplies_caps_and_jitters() {
        let r = Retry {
            attempts: 5,
            backoff: Dur::secs(1),
            multiplier: 2.0,
            max_backoff: Dur::secs(3),
            jitter: RetryJitter::None,
            jitter_ratio: 0.1,
            statuses: defaults::STATUSES.to_vec(),
            min_interval: Dur::ZERO,
            keep_token: true,
            retry_after: RetryAfter::Wait,
            after_soft_failure: AfterSoftFailure::Retry,
        };
        assert_eq!(r.delay(1, 0.5), Dur::secs(1));
        assert_eq!(r.delay(2, 0.5), Dur::secs(2));
        assert_eq!(r.delay(3, 0.5), Dur::secs(3));
        let triple = Retry {
            multiplier: 3.0,
            max_backoff: Dur::secs(100),
            ..r.clone()
        };
        assert_eq!(triple.delay(3, 0.5), Dur::secs(9));
        let full = Retry {
            jitter: RetryJitter::Full,
            ..r.clone()
        };
        assert_eq!(full.delay(2, 0.25), Dur::ms(500));
        let equal = Retry {
            jitter: RetryJitter::Equal,
            ..r.clone()
        };
        assert_eq!(equal.delay(2, 0.0), Dur::secs(1));
        assert_eq!(equal.delay(2, 1.0), Dur::secs(2));
        let prop = Retry {
            jitter: RetryJitter::Proportional,
            ..r
        };
        assert_eq!(prop.delay(1, 0.0), Dur::ms(900));
        assert_eq!(prop.delay(1, 1.0), Dur::ms(1100));
    }
}
