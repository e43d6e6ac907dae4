//! Named policies that refresh the way real SDKs do (`policy.preset`).
//!
//! Each preset is one function returning the policy keys it sets; its doc comment names
//! the SDK, the source file the numbers come from and the constants copied. Keys
//! written beside a preset in a scenario override the preset's, key by key. Where an
//! SDK's behaviour depends on a server-sent `refresh_in`, the preset reads it
//! (`use_refresh_in`) and the fake issuer sends it when `access_token.refresh_in` is set.

use crate::duration::Dur;
use crate::scenario::{
    Coordination, DuringRefresh, ExpirySource, JitterPer, LockSpec, On401, On401When, PolicySpec,
    RefreshMode, RetryJitter, RetrySpec, SoftWindow, StatusPattern,
};

/// One preset: its name, the SDK it copies, a one-line summary, and its keys.
pub struct Preset {
    pub name: &'static str,
    pub sdk: &'static str,
    pub summary: &'static str,
    spec: fn() -> PolicySpec,
}

impl Preset {
    pub(crate) fn spec(&self) -> PolicySpec {
        (self.spec)()
    }
}

/// Every preset, in the order `tokenstorm presets` lists them.
pub const ALL: &[Preset] = &[
    Preset {
        name: "golang-oauth2",
        sdk: "golang/oauth2",
        summary: "refresh 10 s before expiry; one mutex held across the refresh, everyone waits; no retry",
        spec: golang_oauth2,
    },
    Preset {
        name: "google-auth-python",
        sdk: "google-auth-library-python",
        summary: "stale 3m45s before expiry; each caller refreshes inline; 3 tries 1 s x2 ±10%; replay a 401 twice",
        spec: google_auth_python,
    },
    Preset {
        name: "google-cloud-go",
        sdk: "google-cloud-go auth",
        summary: "stale 3m45s: serve the cached token while one refresh runs in the background",
        spec: google_cloud_go,
    },
    Preset {
        name: "google-auth-java",
        sdk: "google-auth-library-java",
        summary: "stale 3m45s: one async refresh, others use the token; under 3 min everyone waits; 401 replayed once",
        spec: google_auth_java,
    },
    Preset {
        name: "msal-python",
        sdk: "MSAL Python",
        summary: "under 5 min = expired; server refresh_in starts inline refreshes that keep the token on error; Retry-After",
        spec: msal_python,
    },
    Preset {
        name: "msal-dotnet",
        sdk: "MSAL.NET",
        summary: "5 min expiry buffer; refresh_on from refresh_in or half a >2 h lifetime, ±300 s jitter; fire-and-forget refresh",
        spec: msal_dotnet,
    },
    Preset {
        name: "azure-identity",
        sdk: "azure-core / azure-identity (Python)",
        summary: "refresh under 300 s left, at most every 30 s; keep the token on error; a 401 drops it",
        spec: azure_identity,
    },
    Preset {
        name: "azure-core-dotnet",
        sdk: "Azure.Core (.NET)",
        summary: "refresh_on = expiry - 5 min, one background refresh serving the current token; retry 30 s later",
        spec: azure_core_dotnet,
    },
    Preset {
        name: "aws-sdk-rust",
        sdk: "smithy-rs aws-smithy-runtime",
        summary: "10 s buffer moved earlier by up to 5 s once per token; single-flight, all wait; no retry",
        spec: aws_sdk_rust,
    },
    Preset {
        name: "aws-sdk-java",
        sdk: "aws-sdk-java-v2",
        summary: "prefetch 5 min (jittered per token): one caller refreshes, others use the token; stale 1 min: all block; try-lock 5 s",
        spec: aws_sdk_java,
    },
    Preset {
        name: "botocore",
        sdk: "botocore (Python)",
        summary: "advisory 15 min: non-blocking try-lock, old credentials; mandatory 10 min: blocking",
        spec: botocore,
    },
    Preset {
        name: "spring-security",
        sdk: "Spring Security OAuth2 client",
        summary: "60 s clock skew; no coordination; a 401 invalid_token removes the token, no replay",
        spec: spring_security,
    },
    Preset {
        name: "auth0-spa-js",
        sdk: "auth0-spa-js",
        summary: "60 s before expiry; a cross-tab lock tried 10 x 5 s, re-checked after",
        spec: auth0_spa_js,
    },
    Preset {
        name: "guide-js",
        sdk: "the JavaScript TokenManager of the OAuth2 expired-token guide",
        summary: "300 s threshold plus a timer; single-flight with queued requests; 3 tries 2 s, 4 s; replay an invalid_token 401 once",
        spec: guide_js,
    },
    Preset {
        name: "guide-python",
        sdk: "the Python async TokenManager of the OAuth2 expired-token guide",
        summary: "300 s threshold; an asyncio lock re-checked after acquiring; 3 tries 2 s, 4 s; replay an expired 401 once",
        spec: guide_python,
    },
];

/// The preset called `name`.
pub fn find(name: &str) -> Option<&'static Preset> {
    ALL.iter().find(|p| p.name == name)
}

/// The names, comma-separated, for error messages.
pub(crate) fn names() -> String {
    ALL.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}

fn retry(attempts: u32, backoff: Dur, jitter: RetryJitter) -> RetrySpec {
    RetrySpec {
        attempts: Some(attempts),
        backoff: Some(backoff),
        jitter: Some(jitter),
        ..Default::default()
    }
}

fn no_retry() -> RetrySpec {
    retry(1, Dur::ZERO, RetryJitter::None)
}

fn lock_wait(wait: Dur) -> LockSpec {
    LockSpec {
        wait: Some(wait),
        ..Default::default()
    }
}

/// golang/oauth2: `token.go` `expiryDelta = 10 * time.Second` (a token is invalid 10 s
/// before its expiry); `oauth2.go` `reuseTokenSource.Token` holds `mu` across the
/// refresh, so every caller waits and then sees the new token. No retry; a 401 is the
/// caller's problem. Expiry = now + expires_in.
fn golang_oauth2() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(10)),
        soft_window: Some(SoftWindow::Block),
        coordination: Some(Coordination::SingleFlight),
        during_refresh: Some(DuringRefresh::Queue),
        retry: Some(no_retry()),
        on_401: Some(On401::Fail),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// google-auth-library-python: `_helpers.py` `REFRESH_THRESHOLD = timedelta(minutes=3,
/// seconds=45)`; `credentials.py` refreshes a stale token in the calling thread,
/// without a lock in the default blocking mode. `_exponential_backoff.py`: 3 tries,
/// initial 1 s, multiplier 2, ±10 % jitter, on 5xx/408/429. The transport
/// (`requests.py` `_DEFAULT_MAX_REFRESH_ATTEMPTS = 2`) refreshes and replays a 401 at
/// most twice.
fn google_auth_python() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(225)),
        soft_window: Some(SoftWindow::AllInline),
        coordination: Some(Coordination::None),
        retry: Some(RetrySpec {
            multiplier: Some(2.0),
            jitter_ratio: Some(0.1),
            ..retry(3, Dur::secs(1), RetryJitter::Proportional)
        }),
        on_401: Some(On401::RefreshAndRetry),
        replays: Some(2),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// google-cloud-go: `auth/auth.go` `defaultExpiryDelta = 225 * time.Second`; a stale
/// token is served while one background refresh runs (`cachedTokenProvider`,
/// `tokenAsync`); only an invalid (expired) token blocks. After an async error no new
/// refresh starts until the token is invalid: one try.
fn google_cloud_go() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(225)),
        hard_buffer: Some(Dur::ZERO),
        soft_window: Some(SoftWindow::ServeStale),
        coordination: Some(Coordination::SingleFlight),
        retry: Some(no_retry()),
        on_401: Some(On401::Fail),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// google-auth-library-java: `OAuth2Credentials.java` `DEFAULT_REFRESH_MARGIN` 3m45s
/// (stale: one shared async task refreshes, others use the current token) and
/// `DEFAULT_EXPIRATION_MARGIN` 3 min (expired: everyone waits on the task). Retries 3
/// times from 1 s, ×2. A 401 (or an invalid_token challenge) is refreshed and retried
/// once.
fn google_auth_java() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(225)),
        hard_buffer: Some(Dur::secs(180)),
        soft_window: Some(SoftWindow::ServeStale),
        coordination: Some(Coordination::SingleFlight),
        retry: Some(retry(3, Dur::secs(1), RetryJitter::None)),
        on_401: Some(On401::RefreshAndRetry),
        replays: Some(1),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// MSAL Python: `token_cache.py` treats less than 5 min left as expired
/// (`expires_in` check with a 300 s margin); `application.py` refreshes inline once
/// `refresh_in` (the server's hint, stored as `refresh_on`) has passed, and on error
/// keeps the cached token. No lock. One retry; 429/5xx throttled by Retry-After
/// (`throttled_http_client.py`, default 5 s). A 401 is not retried by the library.
fn msal_python() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(300)),
        hard_buffer: Some(Dur::secs(300)),
        use_refresh_in: Some(true),
        soft_window: Some(SoftWindow::AllInline),
        coordination: Some(Coordination::None),
        retry: Some(RetrySpec {
            retry_after: Some(true),
            keep_token: Some(true),
            statuses: Some(vec![StatusPattern::Code(429), StatusPattern::Class(5)]),
            ..retry(2, Dur::secs(5), RetryJitter::None)
        }),
        on_401: Some(On401::Fail),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// MSAL.NET: `Constants.cs` `AccessTokenExpirationBuffer = 5 min`; `MsalTokenResponse.cs`
/// sets `refresh_on` from `refresh_in`, or to half the lifetime when it exceeds 2 h;
/// `SilentRequestHelper.cs` jitters the proactive point by up to ±300 s at each check
/// and fires the proactive refresh and forgets it (no lock). One retry after 1 s on 5xx.
fn msal_dotnet() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(300)),
        fraction: Some(0.5),
        min_lifetime: Some(Dur::secs(2 * 3600)),
        use_refresh_in: Some(true),
        hard_buffer: Some(Dur::secs(300)),
        jitter: Some(Dur::secs(300)),
        jitter_per: Some(JitterPer::Check),
        soft_window: Some(SoftWindow::ServeStale),
        coordination: Some(Coordination::None),
        retry: Some(RetrySpec {
            statuses: Some(vec![StatusPattern::Class(5)]),
            ..retry(2, Dur::secs(1), RetryJitter::None)
        }),
        on_401: Some(On401::Fail),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// azure-core (Python) `_authentication.py` `BearerTokenCredentialPolicy` and
/// azure-identity `get_token_mixin.py`: refresh when less than
/// `DEFAULT_REFRESH_OFFSET = 300` s is left and at least
/// `DEFAULT_TOKEN_REFRESH_RETRY_DELAY = 30` s have passed since the last attempt; the
/// sync policy takes no lock; on error the cached token is returned. A 401 challenge
/// drops the token (`on_challenge`). Expiry from `expires_on`.
fn azure_identity() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(300)),
        soft_window: Some(SoftWindow::AllInline),
        coordination: Some(Coordination::None),
        retry: Some(RetrySpec {
            min_interval: Some(Dur::secs(30)),
            keep_token: Some(true),
            ..no_retry()
        }),
        on_401: Some(On401::DropToken),
        expiry_source: Some(ExpirySource::JwtExp),
        ..Default::default()
    }
}

/// Azure.Core (.NET) `BearerTokenAuthenticationPolicy.cs`: `refresh_on = expiry - 5 min`
/// (`TokenRefreshOffset`); in that window the current token is served while one shared
/// background task refreshes; after a background failure the next try comes 30 s later
/// (`TokenRefreshRetryDelay`).
fn azure_core_dotnet() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(300)),
        soft_window: Some(SoftWindow::ServeStale),
        coordination: Some(Coordination::SingleFlight),
        retry: Some(RetrySpec {
            min_interval: Some(Dur::secs(30)),
            ..no_retry()
        }),
        on_401: Some(On401::Fail),
        expiry_source: Some(ExpirySource::JwtExp),
        ..Default::default()
    }
}

/// smithy-rs `aws-smithy-runtime/src/client/identity/cache/lazy.rs`:
/// `DEFAULT_BUFFER_TIME = 10 s`, with the expiry moved earlier by buffer × U[0, 0.5]
/// once per identity (`DEFAULT_BUFFER_TIME_JITTER_FRACTION`); loads are single-flight
/// (`OnceCell`), every caller waits on the one load; a failed load is not cached.
fn aws_sdk_rust() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(10)),
        jitter: Some(Dur::secs(5)),
        jitter_per: Some(JitterPer::Token),
        soft_window: Some(SoftWindow::Block),
        coordination: Some(Coordination::SingleFlight),
        during_refresh: Some(DuringRefresh::Queue),
        retry: Some(no_retry()),
        on_401: Some(On401::Fail),
        expiry_source: Some(ExpirySource::JwtExp),
        ..Default::default()
    }
}

/// aws-sdk-java-v2 `CachedSupplier.java`: prefetch 5 min before expiry (jittered once
/// per value), stale 1 min before; in the prefetch window one caller refreshes
/// (`OneCallerBlocks`) while others get the cached value; once stale all block. The
/// refresh lock is tried for 5 s (`BLOCKING_REFRESH_MAX_WAIT`), then the value is
/// re-checked. Failures throw: one try.
fn aws_sdk_java() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(300)),
        hard_buffer: Some(Dur::secs(60)),
        jitter: Some(Dur::secs(60)),
        jitter_per: Some(JitterPer::Token),
        soft_window: Some(SoftWindow::OneInline),
        coordination: Some(Coordination::TryLock),
        lock: Some(lock_wait(Dur::secs(5))),
        retry: Some(no_retry()),
        on_401: Some(On401::Fail),
        expiry_source: Some(ExpirySource::JwtExp),
        ..Default::default()
    }
}

/// botocore `credentials.py` `RefreshableCredentials`: `_advisory_refresh_timeout =
/// 15 * 60`, `_mandatory_refresh_timeout = 10 * 60`. In the advisory window a
/// non-blocking lock attempt: whoever gets it refreshes, the others keep the old
/// credentials, and a failure is ignored; in the mandatory window callers block and
/// re-check.
fn botocore() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(900)),
        hard_buffer: Some(Dur::secs(600)),
        soft_window: Some(SoftWindow::OneInline),
        coordination: Some(Coordination::TryLock),
        retry: Some(RetrySpec {
            keep_token: Some(true),
            ..no_retry()
        }),
        on_401: Some(On401::Fail),
        expiry_source: Some(ExpirySource::JwtExp),
        ..Default::default()
    }
}

/// Spring Security `RefreshTokenOAuth2AuthorizedClientProvider.java`: `clockSkew =
/// Duration.ofSeconds(60)`; no coordination, the caller blocks on its refresh; no
/// retry. `OAuth2AuthorizationFailureHandler` removes the authorized client on a 401
/// with invalid_token: no replay.
fn spring_security() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(60)),
        soft_window: Some(SoftWindow::AllInline),
        coordination: Some(Coordination::None),
        retry: Some(no_retry()),
        on_401: Some(On401::DropToken),
        on_401_when: Some(On401When::InvalidToken),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// auth0-spa-js `Auth0Client.ts`: `DEFAULT_EXPIRY_ADJUSTMENT_SECONDS`-style 60 s
/// leeway; `lock.ts` takes a cross-tab lock (`GET_TOKEN_SILENTLY_LOCK_KEY`) with 10
/// tries of 5000 ms and re-reads the cache after acquiring. No other retry.
fn auth0_spa_js() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(60)),
        soft_window: Some(SoftWindow::Block),
        coordination: Some(Coordination::TryLock),
        lock: Some(lock_wait(Dur::secs(50))),
        retry: Some(no_retry()),
        on_401: Some(On401::Fail),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// The JavaScript TokenManager + AuthenticatedHttpClient of the widely read OAuth2
/// expired-token guide: `refreshThreshold = 300` s checked on demand plus a timer
/// scheduled for that point at every token update (`scheduleRefresh`); an
/// `isRefreshing` flag and one shared promise (single-flight) with queued requests
/// (`RequestQueue`); 3 attempts waiting 2^attempt s (2 s, 4 s), none on invalid_grant or
/// invalid_client; a 401 saying invalid_token or "expired" is refreshed and retried once.
fn guide_js() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Background),
        buffer: Some(Dur::secs(300)),
        soft_window: Some(SoftWindow::Block),
        coordination: Some(Coordination::SingleFlight),
        during_refresh: Some(DuringRefresh::Queue),
        retry: Some(RetrySpec {
            multiplier: Some(2.0),
            ..retry(3, Dur::secs(2), RetryJitter::None)
        }),
        on_401: Some(On401::RefreshAndRetry),
        replays: Some(1),
        on_401_when: Some(On401When::InvalidToken),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// The Python async TokenManager + AuthenticatedSession of the same guide: 300 s
/// threshold on demand; an `asyncio.Lock` with a re-check after acquiring; 3 attempts
/// sleeping 2 s then 4 s, none on invalid_grant or invalid_client; the first 401 judged
/// expired (header, error code or description) is refreshed and retried once.
fn guide_python() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(300)),
        soft_window: Some(SoftWindow::Block),
        coordination: Some(Coordination::TryLock),
        retry: Some(RetrySpec {
            multiplier: Some(2.0),
            ..retry(3, Dur::secs(2), RetryJitter::None)
        }),
        on_401: Some(On401::RefreshAndRetry),
        replays: Some(1),
        on_401_when: Some(On401When::InvalidToken),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_preset_resolves() {
        let mut names: Vec<&str> = ALL.iter().map(|p| p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(ALL.len(), 15, "one preset per row of PRESETS.md");
        for p in ALL {
            assert!(p.spec().refresh.is_some(), "{}", p.name);
            let _ = crate::scenario::Policy::resolve(&PolicySpec {
                preset: Some(p.name.into()),
                ..Default::default()
            });
        }
    }
}
