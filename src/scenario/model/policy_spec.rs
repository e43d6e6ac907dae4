//! A client group's refresh policy as written (SPEC §1.3 names its presets): every key optional, resolved by [`crate::scenario::policy`].

use super::*;

/// A client group's refresh policy as written. Every key is optional: an unset key takes
/// the preset's value, else the default (see `scenario::policy`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// A named SDK behaviour (`tokenstorm presets`); the keys below override it.
    #[serde(default)]
    pub preset: Option<String>,
    #[serde(default)]
    pub refresh: Option<RefreshMode>,
    /// Soft point: refresh when less than this is left.
    #[serde(default)]
    pub buffer: Option<Dur>,
    /// Soft point: refresh once this share of the lifetime has passed.
    #[serde(default)]
    pub fraction: Option<f64>,
    /// The fraction applies only to tokens living at least this long; shorter ones use
    /// the buffer.
    #[serde(default)]
    pub min_lifetime: Option<Dur>,
    /// The server's `refresh_in`, when a token response carries one, sets the soft point.
    #[serde(default)]
    pub use_refresh_in: Option<bool>,
    /// Less than this left: every caller waits for a refresh. Default 0s (at expiry).
    #[serde(default)]
    pub hard_buffer: Option<Dur>,
    /// What callers do between the soft point and the hard buffer.
    #[serde(default)]
    pub soft_window: Option<SoftWindow>,
    /// Moves the soft point by up to this much, uniformly (`jitter_direction` says which
    /// way).
    #[serde(default)]
    pub jitter: Option<Dur>,
    /// Draw the jitter once per token (the default) or again at each check.
    #[serde(default)]
    pub jitter_per: Option<JitterPer>,
    /// Which way the jitter moves the soft point: `earlier` (the default), `later`, or
    /// `both` (± the jitter).
    #[serde(default)]
    pub jitter_direction: Option<JitterDirection>,
    #[serde(default)]
    pub on_401: Option<On401>,
    /// With refresh_and_retry: replays of one request at most. Default 1.
    #[serde(default)]
    pub replays: Option<u32>,
    /// With refresh_and_retry: which 401s lead to a refresh.
    #[serde(default)]
    pub on_401_when: Option<On401When>,
    /// What a 403 does: `fail` (the default, as SDKs do) or, for APIs that answer an
    /// expired token with 403, `refresh_and_retry` or `drop_token`.
    #[serde(default)]
    pub on_403: Option<On401>,
    /// What a client does once its refresh token is refused (`invalid_grant`), or
    /// whenever it would need a new login: log in again, or stay logged out.
    #[serde(default)]
    pub on_invalid_grant: Option<OnInvalidGrant>,
    #[serde(default)]
    pub coordination: Option<Coordination>,
    #[serde(default)]
    pub lock: Option<LockSpec>,
    /// What a request does while its instance refreshes.
    #[serde(default)]
    pub during_refresh: Option<DuringRefresh>,
    #[serde(default)]
    pub expiry_source: Option<ExpirySource>,
    #[serde(default)]
    pub retry: Option<RetrySpec>,
    /// Error answers of the token endpoint replayed without sending (MSAL's throttling
    /// cache); absent: none are.
    #[serde(default)]
    pub throttle: Option<ThrottleSpec>,
    #[serde(default)]
    pub timeout: Option<Dur>,
}

/// A client-side cache of the token endpoint's error answers: while an answer is kept,
/// the same token request (same grant, same refresh token) gets it again without being
/// sent.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSpec {
    /// How long a 429 or 5xx answer without Retry-After is kept. An answer with
    /// Retry-After is kept that long. Default 5s.
    #[serde(default)]
    pub errors: Option<Dur>,
    /// How long a 400 answer (invalid_grant, invalid_client, ...) is kept. Default 60s.
    #[serde(default)]
    pub bad_request: Option<Dur>,
    /// The longest any answer is kept, whatever its Retry-After. Default 1h.
    #[serde(default)]
    pub max: Option<Dur>,
}

/// Between the soft point and the hard buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SoftWindow {
    /// Every caller waits for a refresh (coordinated as `coordination` says).
    Block,
    /// One caller refreshes inline; the others use the current token meanwhile.
    OneInline,
    /// Every caller refreshes inline, uncoordinated.
    AllInline,
    /// Callers use the current token while one refresh runs in the background.
    ServeStale,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JitterPer {
    Check,
    Token,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JitterDirection {
    /// Refresh up to `jitter` before the soft point.
    Earlier,
    /// Refresh up to `jitter` after it (an expiry moved later, a window made shorter).
    Later,
    /// Either way, up to `jitter`.
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum On401When {
    /// Any 401.
    Any,
    /// Only a 401 whose challenge (or JSON body) says `invalid_token`.
    InvalidToken,
    /// A 401 whose challenge or JSON body carries an error code naming a bad token:
    /// RFC 6750's `invalid_token` or a vendor's (`InvalidAuthenticationToken`,
    /// `token_expired`, `INVALID_SESSION_ID`, ...).
    ErrorCode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DuringRefresh {
    /// Wait for the refresh in flight, then send with the new token.
    Queue,
    /// Send at once with the token at hand.
    OldToken,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshMode {
    /// Use the token until a 401, then refresh.
    Reactive,
    /// Refresh on demand when less than `buffer` is left.
    Proactive,
    /// A timer refreshes at the trigger point even when no request is waiting.
    Background,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum On401 {
    /// Refresh, then replay the request (at most `replays` times).
    RefreshAndRetry,
    /// Give the request up; keep the token.
    Fail,
    /// Give the request up and drop the access token: the next request renews it.
    DropToken,
}

/// After `invalid_grant`, or when the client holds no refresh token to renew with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnInvalidGrant {
    /// Log in again (a user at the keyboard, or a stored password): a forced login.
    Login,
    /// The client is logged out: it holds no token, and its requests fail until the
    /// run ends (a service, CLI or device provisioned once with a refresh token).
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Coordination {
    /// Every caller that sees the need refreshes.
    None,
    /// One refresh per instance in flight; the others wait for its result.
    SingleFlight,
    /// A mutex per instance taken with a timeout (`lock.wait`), then the store re-checked.
    TryLock,
    /// A lock across instances (`lock.backend`).
    Lock,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpirySource {
    /// `expires_in`, converted at receipt on the client's own clock.
    ExpiresIn,
    /// The JWT's `exp` claim, read against the client's own clock.
    JwtExp,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LockSpec {
    /// Where the lock of `coordination: lock` lives. Default `simulated`.
    #[serde(default)]
    pub backend: Option<LockBackend>,
    /// How long a lock is held at most before it expires by itself (PX). Default 10s.
    #[serde(default)]
    pub ttl: Option<Dur>,
    /// How long a caller waits for the coordination before giving up.
    #[serde(default)]
    pub wait: Option<Dur>,
    /// The round trip of one operation on the simulated lock service. Default 1ms.
    #[serde(default)]
    pub latency: Option<Dur>,
    /// How often a waiter tries the lock again. Default 100ms.
    #[serde(default)]
    pub poll: Option<Dur>,
    /// Waiters are woken when the lock is released or expires, instead of polling.
    #[serde(default)]
    pub notify: Option<bool>,
    /// The Redis server of the `redis` backend, e.g. `redis://127.0.0.1:6379` or
    /// `unix:///run/redis.sock`. Default: `$TOKENSTORM_REDIS_URL`, else
    /// `redis://127.0.0.1:6379`.
    #[serde(default)]
    pub url: Option<String>,
    /// What a caller does when `wait` runs out: `refresh` without the lock (the
    /// default) or `fail` its request.
    #[serde(default)]
    pub on_timeout: Option<OnLockTimeout>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnLockTimeout {
    /// Renew without the lock, once the store is re-checked.
    Refresh,
    /// Give the request up (a lock API that throws on timeout).
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockBackend {
    Local,
    Simulated,
    Redis,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Tries in all, the first included.
    #[serde(default)]
    pub attempts: Option<u32>,
    /// Wait before the first retry; multiplied for each further one.
    #[serde(default)]
    pub backoff: Option<Dur>,
    /// Factor between two successive waits. Default 2.
    #[serde(default)]
    pub multiplier: Option<f64>,
    #[serde(default)]
    pub max_backoff: Option<Dur>,
    #[serde(default)]
    pub jitter: Option<RetryJitter>,
    /// With jitter `proportional`: the wait varies by ± this share. Default 0.1.
    #[serde(default)]
    pub jitter_ratio: Option<f64>,
    /// HTTP statuses worth another try: numbers, or `5xx`. Default [408, 429, 5xx].
    #[serde(default)]
    pub statuses: Option<Vec<StatusPattern>>,
    /// At least this long between two refresh attempts of one client.
    #[serde(default)]
    pub min_interval: Option<Dur>,
    /// After a refresh that failed softly (not invalid_grant), keep using the current
    /// token while it lasts. Default true.
    #[serde(default)]
    pub keep_token: Option<bool>,
    /// What a 429 or 503 answer's Retry-After does: `true` waits at least that long
    /// before the next try (the default), `false` ignores it, `give_up` stops retrying.
    #[serde(default)]
    pub retry_after: Option<RetryAfter>,
    /// After a refresh that failed in the soft window: `retry` at the next check (the
    /// default), or `hold`: use the current token without trying again until the hard
    /// point.
    #[serde(default)]
    pub after_soft_failure: Option<AfterSoftFailure>,
}

/// What an answer's Retry-After does to the retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait at least that long before the next try (`true`).
    Wait,
    /// Wait only the backoff (`false`).
    Ignore,
    /// No further try (`give_up`).
    GiveUp,
}

impl Serialize for RetryAfter {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RetryAfter::Wait => s.serialize_bool(true),
            RetryAfter::Ignore => s.serialize_bool(false),
            RetryAfter::GiveUp => s.serialize_str("give_up"),
        }
    }
}

impl<'de> Deserialize<'de> for RetryAfter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RetryAfter;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false or give_up")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RetryAfter, E> {
                Ok(if v {
                    RetryAfter::Wait
                } else {
                    RetryAfter::Ignore
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RetryAfter, E> {
                match v {
                    "true" => Ok(RetryAfter::Wait),
                    "false" => Ok(RetryAfter::Ignore),
                    "give_up" => Ok(RetryAfter::GiveUp),
                    _ => Err(E::custom(format!(
                        "`{v}` is not accepted; expected true, false or give_up"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterSoftFailure {
    Retry,
    Hold,
}

/// One retryable status (`503`) or a class (`5xx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusPattern {
    Code(u16),
    Class(u16),
}

impl StatusPattern {
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Code(c) => c == status,
            StatusPattern::Class(c) => status / 100 == c,
        }
    }
}

impl Serialize for StatusPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            StatusPattern::Code(c) => s.serialize_u16(*c),
            StatusPattern::Class(c) => s.serialize_str(&format!("{c}xx")),
        }
    }
}

impl<'de> Deserialize<'de> for StatusPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StatusPattern;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an HTTP status from 100 to 599 (503) or a class (5xx)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusPattern, E> {
                match v {
                    100..=599 => Ok(StatusPattern::Code(v as u16)),
                    _ => Err(E::custom(format!(
                        "{v} is not an HTTP status; expected 100 to 599 or a class such as 5xx"
                    ))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusPattern, E> {
                self.visit_u64(u64::try_from(v).unwrap_or(0))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusPattern, E> {
                let b = v.as_bytes();
                if b.len() == 3
                    && (b'1'..=b'5').contains(&b[0])
                    && v[1..].eq_ignore_ascii_case("xx")
                {
                    return Ok(StatusPattern::Class(u16::from(b[0] - b'0')));
                }
                match v.parse::<u64>() {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!(
                        "`{v}` is not a status; expected 100 to 599 or a class such as 5xx"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryJitter {
    /// Wait exactly the backoff.
    None,
    /// Wait uniformly in [0, backoff].
    Full,
    /// Wait backoff/2 + uniformly in [0, backoff/2].
    Equal,
    /// Wait the backoff ± `jitter_ratio` of it, uniformly.
    Proportional,
}
