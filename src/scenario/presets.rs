//! Named policies that refresh the way real SDKs do (`policy.preset`).
//!
//! Each preset is one function returning the policy keys it sets; its doc comment names
//! the SDK, the version read, the file and line the numbers come from and the constants
//! copied. `on_invalid_grant` follows what the SDK can do once its refresh token is
//! refused: `fail` where the library raises and only the application or its user can
//! sign in again, `login` where the library gets a new credential by itself (an AWS
//! role assumed again from long-lived keys, a client-credentials grant, a web app
//! redirecting its user). Keys
//! written beside a preset in a scenario override the preset's, key by key. Where an
//! SDK's behaviour depends on a server-sent `refresh_in`, the preset reads it
//! (`use_refresh_in`) and the fake issuer sends it when `access_token.refresh_in` is set.

use crate::duration::Dur;
use crate::scenario::{
    AfterSoftFailure, Coordination, DuringRefresh, ExpirySource, JitterDirection, JitterPer,
    LockBackend, LockSpec, On401, On401When, OnInvalidGrant, OnLockTimeout, PolicySpec,
    RefreshMode, RetryAfter, RetryJitter, RetrySpec, SoftWindow, StatusPattern, ThrottleSpec,
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
        summary: "invalid 10 s before expiry; one mutex held across the refresh, everyone waits; no retry; logged out after invalid_grant",
        spec: golang_oauth2,
    },
    Preset {
        name: "google-auth-python",
        sdk: "google-auth-library-python",
        summary: "invalid 3m45s before expiry: each caller refreshes inline; 3 tries 1 s x2 ±10% on 500/503/504/408/429; replay a 401 twice; logged out after invalid_grant",
        spec: google_auth_python,
    },
    Preset {
        name: "google-cloud-go",
        sdk: "google-cloud-go auth",
        summary: "stale 3m45s: serve the cached token while one refresh runs in the background, none again after a failure until expiry",
        spec: google_cloud_go,
    },
    Preset {
        name: "google-auth-java",
        sdk: "google-auth-library-java",
        summary: "stale 3m45s: the first caller refreshes inline, others use the token; under 3 min everyone waits; a 401 refreshed and replayed up to 10 times",
        spec: google_auth_java,
    },
    Preset {
        name: "msal-python",
        sdk: "MSAL Python",
        summary: "under 5 min = expired; server refresh_in starts inline refreshes that keep the token on error; no retry; error answers replayed from a throttle",
        spec: msal_python,
    },
    Preset {
        name: "msal-dotnet",
        sdk: "MSAL.NET",
        summary: "5 min expiry buffer; refresh_on from refresh_in, ±300 s drawn at each check; fire-and-forget refresh; one retry on 5xx, none with Retry-After",
        spec: msal_dotnet,
    },
    Preset {
        name: "azure-identity",
        sdk: "azure-core / azure-identity (Python)",
        summary: "refresh under 300 s minus a per-token 0-60 s left, at most every 30 s; keep the token on error; a 401 drops it",
        spec: azure_identity,
    },
    Preset {
        name: "azure-core-dotnet",
        sdk: "Azure.Core (.NET)",
        summary: "refresh_on = RefreshOn, else expiry - 5 min; one background refresh serving the current token; retry 30 s later",
        spec: azure_core_dotnet,
    },
    Preset {
        name: "aws-sdk-rust",
        sdk: "smithy-rs aws-smithy-runtime",
        summary: "10 s buffer shortened by up to 5 s once per token (refresh in [exp-10 s, exp-5 s]); single-flight, all wait; no retry",
        spec: aws_sdk_rust,
    },
    Preset {
        name: "aws-sdk-java",
        sdk: "aws-sdk-java-v2",
        summary: "prefetch 5 min moved later by up to 3 min per token: one caller refreshes, others use the token; stale 1 min: all block; try-lock 5 s",
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
        summary: "60 s clock skew; no coordination; any 401 removes the authorized client, no replay; invalid_grant: the user signs in again",
        spec: spring_security,
    },
    Preset {
        name: "auth0-spa-js",
        sdk: "auth0-spa-js",
        summary: "60 s before expiry; a cross-tab Web Lock waited 5 s, then the call fails; 3 tries on network errors; logged out after invalid_grant",
        spec: auth0_spa_js,
    },
    Preset {
        name: "requests-oauthlib",
        sdk: "requests-oauthlib (Python)",
        summary: "refresh only once its own expires_at has passed; no lock, no retry, no replay of a 401; logged out after invalid_grant",
        spec: requests_oauthlib,
    },
    Preset {
        name: "authlib",
        sdk: "Authlib (Python)",
        summary: "refresh when less than leeway = 60 s is left; no lock between threads, no retry, no replay; logged out after invalid_grant",
        spec: authlib,
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

fn codes(codes: &[u16]) -> Option<Vec<StatusPattern>> {
    Some(codes.iter().map(|&c| StatusPattern::Code(c)).collect())
}

/// golang/oauth2 v0.35.0 (89ff2e1a): `token.go:22` `defaultExpiryDelta = 10 *
/// time.Second`, and `expired()` (`token.go:138-148`) makes a token invalid 10 s before
/// its expiry; `oauth2.go:308-321` `reuseTokenSource.Token` holds `mu` across
/// `s.new.Token()`, so every caller waits and then sees the new token; `tokenRefresher`
/// (`oauth2.go:274-291`) sends one request, no retry, and a failure reaches the caller.
/// The refresh token is replaced only on success (`oauth2.go:287-289`): after
/// invalid_grant every call fails, and a three-legged `Config.TokenSource` cannot sign
/// in again. Expiry = receipt + expires_in.
fn golang_oauth2() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(10)),
        hard_buffer: Some(Dur::secs(10)),
        soft_window: Some(SoftWindow::Block),
        coordination: Some(Coordination::SingleFlight),
        during_refresh: Some(DuringRefresh::Queue),
        retry: Some(no_retry()),
        on_401: Some(On401::Fail),
        on_invalid_grant: Some(OnInvalidGrant::Fail),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// google-auth 2.63.0 (Python): `_helpers.py:42` `REFRESH_THRESHOLD = 3 min 45 s`; a
/// token is not `valid` once less is left (`credentials.py:88-116`), and
/// `_blocking_refresh` (`credentials.py:203-205`) refreshes in the calling thread,
/// without a lock, raising on failure. `_exponential_backoff.py:22-32`: 3 tries, 1 s,
/// ×2, randomization 0.1, on `DEFAULT_RETRYABLE_STATUS_CODES = (500, 503, 504, 408,
/// 429)` (`transport/__init__.py:30-36`; not 502). `AuthorizedSession`
/// (`transport/requests.py:764-801`) refreshes on a 401 and replays at most
/// `DEFAULT_MAX_REFRESH_ATTEMPTS = 2` times (`transport/__init__.py:41-46`). User
/// credentials raise `RefreshError` after invalid_grant (`reauth.py:366-367`) on every
/// later call: no sign-in without the user.
fn google_auth_python() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(225)),
        hard_buffer: Some(Dur::secs(225)),
        soft_window: Some(SoftWindow::AllInline),
        coordination: Some(Coordination::None),
        retry: Some(RetrySpec {
            multiplier: Some(2.0),
            jitter_ratio: Some(0.1),
            statuses: codes(&[500, 503, 504, 408, 429]),
            ..retry(3, Dur::secs(1), RetryJitter::Proportional)
        }),
        on_401: Some(On401::RefreshAndRetry),
        replays: Some(2),
        on_invalid_grant: Some(OnInvalidGrant::Fail),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// google-cloud-go `auth` v0.20.0: `auth.go:49` `defaultExpiryDelta = 225 *
/// time.Second`; `tokenState` (`auth.go:339-354`) is stale past it and invalid at
/// expiry; a stale token is served while one background refresh runs
/// (`tokenNonBlocking`, `auth.go:319-336`; one goroutine at a time, `auth.go:363-383`);
/// after a failed one, `isRefreshErr` stops further background tries until the token
/// is invalid (`auth.go:369-373`), then `tokenBlocking` refreshes under the mutex
/// (`auth.go:385-398`). No retry. An authorized-user refresh token refused
/// (`threelegged.go:248-268`) fails every call.
fn google_cloud_go() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(225)),
        hard_buffer: Some(Dur::ZERO),
        soft_window: Some(SoftWindow::ServeStale),
        coordination: Some(Coordination::SingleFlight),
        retry: Some(RetrySpec {
            after_soft_failure: Some(AfterSoftFailure::Hold),
            ..no_retry()
        }),
        on_401: Some(On401::Fail),
        on_invalid_grant: Some(OnInvalidGrant::Fail),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// google-auth-library-java 1.43.0 (293240e7): `OAuth2Credentials.java:74-75`
/// `DEFAULT_REFRESH_MARGIN` 3m45s and `DEFAULT_EXPIRATION_MARGIN` 3 min. The synchronous
/// `getRequestMetadata` (`:184-187`, `asyncFetch` `:217-252`) lets the first stale
/// caller run the one refresh task inline while the others use the current token
/// (`:242-243`), a failure while stale keeps the token; under 3 min everyone waits on
/// the task (`:244-245`). `UserCredentials.doRefreshAccessToken`
/// (`UserCredentials.java:266-303`) does not retry (the 3 retries of `OAuth2Utils` are
/// the service account's). `HttpCredentialsAdapter.java:120-154` refreshes on a 401 and
/// the request is replayed while google-http-client's retries last
/// (`HttpRequest.java:76` `DEFAULT_NUMBER_OF_RETRIES = 10`). After invalid_grant every
/// call throws.
fn google_auth_java() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(225)),
        hard_buffer: Some(Dur::secs(180)),
        soft_window: Some(SoftWindow::OneInline),
        coordination: Some(Coordination::SingleFlight),
        retry: Some(no_retry()),
        on_401: Some(On401::RefreshAndRetry),
        replays: Some(10),
        on_invalid_grant: Some(OnInvalidGrant::Fail),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// msal 1.39.0 (Python): `application.py:1761-1764` skips a cached token with less than
/// `5*60` s left, so the call refreshes inline; `refresh_on` comes from the server's
/// `refresh_in` (`token_cache.py:477-479`) and past it the call refreshes inline
/// (`application.py:1772-1776`), returning the cached token on error
/// (`application.py:1831-1837`). No lock spans the refresh
/// (`individual_cache.py:269-273`). No retry of a token POST: the default session's
/// `HTTPAdapter(max_retries=1)` (`application.py:716-720`) retries connection errors
/// only. `throttled_http_client.py` replays an error answer without sending: 429/5xx
/// for their Retry-After, capped at 3600 s (`:30-40`), else `default_throttle_time` 5 s
/// for a confidential client (`application.py:721-727`; 60 s for a public one, write
/// `throttle.errors: 60s`); a 400 for 60 s (`:135-170`). After invalid_grant
/// `acquire_token_silent` returns None (`application.py:1591`): the app must sign in.
fn msal_python() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(300)),
        hard_buffer: Some(Dur::secs(300)),
        use_refresh_in: Some(true),
        soft_window: Some(SoftWindow::AllInline),
        coordination: Some(Coordination::None),
        retry: Some(RetrySpec {
            keep_token: Some(true),
            ..no_retry()
        }),
        throttle: Some(ThrottleSpec {
            errors: Some(Dur::secs(5)),
            bad_request: Some(Dur::secs(60)),
            max: Some(Dur::secs(3600)),
        }),
        on_401: Some(On401::Fail),
        on_invalid_grant: Some(OnInvalidGrant::Fail),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// MSAL.NET 4.86.1 (39d200113): `Constants.cs:36` `AccessTokenExpirationBuffer = 5 min`
/// (a token that close to expiry is not returned: the call refreshes); `RefreshOn` only
/// from the server's `refresh_in` (`MsalTokenResponse.cs:121-122`; half of a long
/// lifetime only for managed identity and app-token providers, `:231-275`);
/// `SilentRequestHelper.cs:251-258` adds `Random.Next(-300, 300)` s
/// (`DefaultJitterRangeInSeconds`, `Constants.cs:35`) at every check (`:72-80`) and
/// fires the proactive refresh and forgets it (`:86-96`), no lock. One retry after 1 s
/// (`DefaultRetryPolicy.cs:13-16`) on 5xx or a timeout, not 429, none when Retry-After
/// is present (`HttpRetryConditions.cs:86-104`); an answer with Retry-After is replayed
/// to the same request for that long, at most 1 h (`RetryAfterProvider.cs:21-60`).
/// After invalid_grant: `MsalUiRequiredException` (`MsalServiceExceptionFactory.cs`).
fn msal_dotnet() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::ZERO),
        use_refresh_in: Some(true),
        hard_buffer: Some(Dur::secs(300)),
        jitter: Some(Dur::secs(300)),
        jitter_per: Some(JitterPer::Check),
        jitter_direction: Some(JitterDirection::Both),
        soft_window: Some(SoftWindow::ServeStale),
        coordination: Some(Coordination::None),
        retry: Some(RetrySpec {
            statuses: Some(vec![StatusPattern::Class(5)]),
            retry_after: Some(RetryAfter::GiveUp),
            ..retry(2, Dur::secs(1), RetryJitter::None)
        }),
        throttle: Some(ThrottleSpec {
            errors: Some(Dur::ZERO),
            bad_request: Some(Dur::ZERO),
            max: Some(Dur::secs(3600)),
        }),
        on_401: Some(On401::Fail),
        on_invalid_grant: Some(OnInvalidGrant::Fail),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// azure-core 1.41.0 `pipeline/policies/_authentication.py` `BearerTokenCredentialPolicy`:
/// refresh when `expires_on - now < DEFAULT_REFRESH_WINDOW_SECONDS (300) - jitter`
/// (`:40-41`, `:68-70`), the jitter `random.randint(0, MAX_REFRESH_JITTER_SECONDS = 60)`
/// drawn anew with each token (`:106`, `:143`); with `refresh_on`, 0-60 s after it
/// (`:60-66`); the sync policy takes no lock; any 401 drops the cached token
/// (`:200-225`). azure-identity 1.27.0: at least `DEFAULT_TOKEN_REFRESH_RETRY_DELAY = 30`
/// s between tries (`_constants.py:10-11`, `_internal/utils.py:36-66`), and a failed
/// early refresh returns the cached token (`get_token_mixin.py:121-145`). Token POSTs
/// go through azure-core's `RetryPolicy` (`msal_client.py:98`): 3 status retries on
/// 408/429/500/502/503/504 and 506+, `retry_backoff_factor` 0.8 doubling, Retry-After
/// honoured (`_retry.py:78-143`; its first retry waits 0 s, here 0.8 s). Expiry:
/// `now + expires_in` as msal stores it (`token_cache.py:463`). A client-credentials
/// credential asks again by itself after a refusal.
fn azure_identity() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(300)),
        jitter: Some(Dur::secs(60)),
        jitter_per: Some(JitterPer::Token),
        jitter_direction: Some(JitterDirection::Later),
        use_refresh_in: Some(true),
        soft_window: Some(SoftWindow::AllInline),
        coordination: Some(Coordination::None),
        retry: Some(RetrySpec {
            min_interval: Some(Dur::secs(30)),
            keep_token: Some(true),
            multiplier: Some(2.0),
            statuses: Some(vec![
                StatusPattern::Code(408),
                StatusPattern::Code(429),
                StatusPattern::Code(500),
                StatusPattern::Code(502),
                StatusPattern::Code(503),
                StatusPattern::Code(504),
            ]),
            ..retry(4, Dur::ms(800), RetryJitter::None)
        }),
        on_401: Some(On401::DropToken),
        on_invalid_grant: Some(OnInvalidGrant::Login),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// Azure.Core 1.40+ (.NET) `BearerTokenAuthenticationPolicy.cs` (azure-sdk-for-net
/// d6f5cacc): `TokenRefreshOffset` 5 min and `TokenRefreshRetryDelay` 30 s (`:37`); the
/// refresh point is the token's `RefreshOn`, else `ExpiresOn - 5 min` (`:399-403`); in
/// the window one shared background task refreshes while every caller gets the current
/// token (`:351-357`); after a background failure the token is kept and the next try
/// comes 30 s later (`:371-384`). Only a CAE claims challenge 401 is handled
/// (`:175-193`). A client-credentials credential asks again by itself.
fn azure_core_dotnet() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(300)),
        use_refresh_in: Some(true),
        soft_window: Some(SoftWindow::ServeStale),
        coordination: Some(Coordination::SingleFlight),
        retry: Some(RetrySpec {
            min_interval: Some(Dur::secs(30)),
            ..no_retry()
        }),
        on_401: Some(On401::Fail),
        on_invalid_grant: Some(OnInvalidGrant::Login),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// smithy-rs aws-smithy-runtime 1.14.0 (56ee88c5) `client/identity/cache/lazy.rs`:
/// `DEFAULT_BUFFER_TIME = 10 s` (`:28`) and `DEFAULT_BUFFER_TIME_JITTER_FRACTION` U[0,
/// 0.5) (`:29`): the cache stores `expiration + jitter` (`:481-498`), moving the expiry
/// LATER, so the refresh falls in [exp - 10 s, exp - 5 s], one draw per identity. The
/// first caller past it clears the value and every caller waits on the one load
/// (`expiring_cache.rs:67-105`, `OnceCell`); a failed load is not cached and reaches
/// the callers; no retry in the cache. AssumeRole loads again from the base
/// credentials (`aws-config/src/sts/assume_role.rs:313-316`): it signs in by itself.
fn aws_sdk_rust() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(10)),
        jitter: Some(Dur::secs(5)),
        jitter_per: Some(JitterPer::Token),
        jitter_direction: Some(JitterDirection::Later),
        soft_window: Some(SoftWindow::Block),
        coordination: Some(Coordination::SingleFlight),
        during_refresh: Some(DuringRefresh::Queue),
        retry: Some(RetrySpec {
            keep_token: Some(false),
            ..no_retry()
        }),
        on_401: Some(On401::Fail),
        on_invalid_grant: Some(OnInvalidGrant::Login),
        expiry_source: Some(ExpirySource::JwtExp),
        ..Default::default()
    }
}

/// aws-sdk-java-v2 `utils/cache/CachedSupplier.java` with the STS provider's
/// `DEFAULT_PREFETCH_TIME` 5 min and `DEFAULT_STALE_TIME` 1 min
/// (`StsCredentialsProvider.java:52-53`): `jitteredPrefetchValueSupplier` (`:299-347`)
/// moves the prefetch LATER by U[0, (stale - 1 min) - prefetch) = U[0, 3 min), so the
/// refresh falls in [exp - 5 min, exp - 2 min]; there one caller refreshes
/// (`OneCallerBlocks.java:35-43`) and the others get the cached value, a failure keeps
/// it (`:264-294`); once stale all block on `tryLock(BLOCKING_REFRESH_MAX_WAIT = 5 s)`
/// (`:55`, `:194-228`), then re-check and refresh without the lock if it timed out. No
/// retry in the cache. AssumeRole signs in again from the STS client's credentials.
fn aws_sdk_java() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(300)),
        hard_buffer: Some(Dur::secs(60)),
        jitter: Some(Dur::secs(180)),
        jitter_per: Some(JitterPer::Token),
        jitter_direction: Some(JitterDirection::Later),
        soft_window: Some(SoftWindow::OneInline),
        coordination: Some(Coordination::TryLock),
        lock: Some(LockSpec {
            on_timeout: Some(OnLockTimeout::Refresh),
            ..lock_wait(Dur::secs(5))
        }),
        retry: Some(no_retry()),
        on_401: Some(On401::Fail),
        on_invalid_grant: Some(OnInvalidGrant::Login),
        expiry_source: Some(ExpirySource::JwtExp),
        ..Default::default()
    }
}

/// botocore 1.43.67 (0e6e2404) `credentials.py`: `_DEFAULT_ADVISORY_REFRESH_TIMEOUT = 15
/// * 60` and `_DEFAULT_MANDATORY_REFRESH_TIMEOUT = 10 * 60` (`:80-81`). In the advisory
/// window `_refresh_lock.acquire(False)` (`:577`): whoever gets it refreshes, the others
/// keep the old credentials, and a failure is swallowed (`:614-617`); in the mandatory
/// window callers block, re-check (`:588-594`) and a failure is raised (`:609-613`).
/// AssumeRole signs in again from the source credentials (`:915-922`).
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
        on_invalid_grant: Some(OnInvalidGrant::Login),
        expiry_source: Some(ExpirySource::JwtExp),
        ..Default::default()
    }
}

/// Spring Security 7.2 (d449950b): `RefreshTokenOAuth2AuthorizedClientProvider.java:57`
/// `clockSkew = Duration.ofSeconds(60)`; a token with less left counts as expired
/// (`:125-127`) and the caller refreshes it, uncoordinated, no retry; a failure is
/// thrown (`:114-123`). The RestClient interceptor maps any 401 without an `error` to
/// `invalid_token` (`OAuth2ClientHttpRequestInterceptor.java:111-114`, `:304-321`); with
/// the removing failure handler its factories install (`:180-194`) the authorized
/// client is removed, no replay. invalid_grant removes it too
/// (`DefaultOAuth2AuthorizedClientManager.java:131-141`), and the next request sends
/// the user to sign in (`OAuth2AuthorizationRequestRedirectFilter.java:200-214`).
fn spring_security() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(60)),
        hard_buffer: Some(Dur::secs(60)),
        soft_window: Some(SoftWindow::AllInline),
        coordination: Some(Coordination::None),
        retry: Some(no_retry()),
        on_401: Some(On401::DropToken),
        on_401_when: Some(On401When::Any),
        on_invalid_grant: Some(OnInvalidGrant::Login),
        expiry_source: Some(ExpirySource::ExpiresIn),
        ..Default::default()
    }
}

/// auth0-spa-js 2.28.3: a cached token within a literal `60` s of expiry is a miss
/// (`Auth0Client.ts:1864`, `cache/cache-manager.ts:113`; `expiresAt = now + expires_in`,
/// `:216`); the miss takes the cross-tab lock for `5000` ms (`Auth0Client.ts:1117-1124`)
/// and re-reads the cache inside it. With Web Locks the wait is aborted after the
/// timeout and throws `TimeoutError` (`lock.ts:35-54`): the caller fails (the 10-try
/// loop is the legacy localStorage lock, `lock.ts:79-88`). `http.ts:155-182` tries a
/// token request `DEFAULT_SILENT_TOKEN_RETRY_COUNT = 3` times, without delay, on network
/// errors and the `DEFAULT_FETCH_TIMEOUT_MS = 10000` timeout only. After invalid_grant
/// it throws (`http.ts:246`) and the app must call `loginWithRedirect`.
fn auth0_spa_js() -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(Dur::secs(60)),
        hard_buffer: Some(Dur::secs(60)),
        soft_window: Some(SoftWindow::Block),
        coordination: Some(Coordination::Lock),
        lock: Some(LockSpec {
            backend: Some(LockBackend::Local),
            on_timeout: Some(OnLockTimeout::Fail),
            ..lock_wait(Dur::secs(5))
        }),
        retry: Some(RetrySpec {
            statuses: Some(Vec::new()),
            ..retry(3, Dur::ZERO, RetryJitter::None)
        }),
        on_401: Some(On401::Fail),
        on_invalid_grant: Some(OnInvalidGrant::Fail),
        expiry_source: Some(ExpirySource::ExpiresIn),
        timeout: Some(Dur::secs(10)),
        ..Default::default()
    }
}

/// requests-oauthlib 2.0.0 with oauthlib 4.0.1: `expires_at = round(time.time()) +
/// expires_in` at receipt (oauthlib `parameters.py:524-526`); `add_token` raises
/// `TokenExpiredError` only once `expires_at < time.time()`
/// (`oauth2/rfc6749/clients/base.py:215-216`), and `OAuth2Session.request` then
/// refreshes inline with `auto_refresh_url` and `token_updater`
/// (`oauth2_session.py:527-560`): a request sent just before that meets a 401, which is
/// given back as it is (`:562-567`). No lock, no retry of the refresh (`:476-485`).
/// invalid_grant raises `InvalidGrantError` on every later request: the app must sign
/// the user in.
fn requests_oauthlib() -> PolicySpec {
    checked_per_request(Dur::ZERO)
}

/// Authlib 1.9.10: `OAuth2Client(leeway=60)` (`oauth2/client.py:89`,
/// `integrations/requests_client/oauth2_session.py:103`); `OAuth2Token.is_expired`
/// (`oauth2/rfc6749/wrappers.py:20-29`) is `expires_at - leeway < time.time()`, with
/// `expires_at = int(time.time()) + expires_in` at receipt (`:15-16`);
/// `ensure_active_token` (`client.py:323-338`) refreshes inline on every request that
/// finds it so. No lock between threads sharing a session, no retry of the refresh
/// (`client.py:462-477`), a 401 given back as it is. invalid_grant raises `OAuthError`
/// (`client.py:432-439`) on every later request.
fn authlib() -> PolicySpec {
    checked_per_request(Dur::secs(60))
}

/// A Python session that checks its token's `expires_at` minus `leeway` before every
/// request and refreshes in the calling thread: no lock between threads, no retry, a
/// 401 given back as it is, and a refused refresh token raised to the caller for good
/// (requests-oauthlib, Authlib).
fn checked_per_request(leeway: Dur) -> PolicySpec {
    PolicySpec {
        refresh: Some(RefreshMode::Proactive),
        buffer: Some(leeway),
        hard_buffer: Some(leeway),
        soft_window: Some(SoftWindow::AllInline),
        coordination: Some(Coordination::None),
        retry: Some(no_retry()),
        on_401: Some(On401::Fail),
        on_invalid_grant: Some(OnInvalidGrant::Fail),
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
/// The guide's table row says nothing of a refused refresh token: a forced login, the
/// default, is kept.
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
        assert_eq!(
            ALL.len(),
            17,
            "one preset per row of PRESETS.md, and the two it lists as not yet presets"
        );
        for p in ALL {
            assert!(p.spec().refresh.is_some(), "{}", p.name);
            let _ = crate::scenario::Policy::resolve(&PolicySpec {
                preset: Some(p.name.into()),
                ..Default::default()
            });
        }
    }
}
