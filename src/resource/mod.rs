//! The fake API: a handler that checks the Bearer access token of each request.
//!
//! Any path under `/api` answers a small JSON body when the request carries a valid
//! token (RFC 6750 §2.1: `Authorization: Bearer <token>`). The token's signature, `iss`
//! and `aud` are checked once and the result cached by token, as real gateways do; its
//! time claims `exp` and `nbf` are checked on every request against the resource's own
//! clock (the run's clock plus its skew) with the scenario's leeway. jsonwebtoken would
//! read the system clock for those, so its time checks are switched off and done here.
//! Rejections are answered in the resource's dialect (SPEC §1.2), or in the one a
//! request asks for with `?dialect=`; RFC 6750 §3 answers by default.

mod key_cache;
mod verified;

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use jsonwebtoken::Validation;
use serde::Deserialize;

use crate::clock::ActorClock;
use crate::exchange::{ApiCall, Request, Response, Upstream};
use crate::issuer::keys::KeySet;
use crate::scenario::{Dialect, IntrospectionConfig, IssuerConfig, JwksConfig, ResourceConfig};

/// What the resource counted (see contract::Resource for meanings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceStats {
    pub requests: u64,
    pub ok: u64,
    pub rejected_expired: u64,
    pub rejected_not_yet_valid: u64,
    pub rejected_invalid: u64,
    pub rejected_missing: u64,
    /// Rejected because their family was revoked (with revocation checks on).
    pub rejected_revoked: u64,
    /// Rejected because no key of the resource's key set has their kid (a subset of
    /// rejected_invalid).
    pub rejected_unknown_key: u64,
    /// Key-set fetches from the issuer that succeeded, and that failed.
    pub key_set_fetches: u64,
    pub key_set_fetch_failures: u64,
    /// Opaque tokens introspection called inactive.
    pub rejected_inactive: u64,
    /// Introspection calls made, and those that got no usable answer (the request
    /// was answered 503).
    pub introspections: u64,
    pub introspection_failures: u64,
    /// Answered 400 invalid_request (an unreadable Authorization header).
    pub malformed: u64,
}

/// The claims of a token whose signature, issuer and audience were verified.
///
/// Kept compact, one for every live token: `nbf` is `i64::MIN` when the token has none,
/// `family` [`NO_FAMILY`] when it names none.
#[derive(Clone, Copy, Debug)]
struct TimeClaims {
    exp: i64,
    nbf: i64,
    /// Its refresh-token family, from the `sid` claim.
    family: u64,
    /// The number of the key that signed it (`hs256-3` → 3), to forget the token when
    /// the key leaves the key set.
    key: u32,
    /// Until when (resource clock, ms) the cached check holds: an introspection answer
    /// is reused only for the cache time; a verified signature holds for good.
    until_ms: i64,
}

/// A token's family when its `sid` names none. The issuer numbers families from 1 up,
/// so no family it made is this one.
const NO_FAMILY: u64 = u64::MAX;

/// The family a `sid` claim names.
fn family_of(sid: Option<&str>) -> u64 {
    sid.and_then(crate::issuer::family_of_sid)
        .unwrap_or(NO_FAMILY)
}

/// How the resource checks opaque tokens: a call to the issuer's introspection
/// endpoint, authenticated as the registered client.
struct Introspection {
    upstream: Arc<dyn Upstream>,
    client_auth: HeaderValue,
    cache_ms: i64,
    timeout: std::time::Duration,
}

/// The part of an RFC 7662 answer the resource reads.
#[derive(Deserialize)]
struct Introspected {
    active: bool,
    exp: Option<i64>,
    sid: Option<String>,
}

/// The number at the end of a kid (`rs256-2` → 2); 0 for kids not of that shape.
fn key_number(kid: &str) -> u32 {
    kid.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Where the resource gets the issuer's verification keys.
enum Keys {
    /// Straight from the issuer's key set as published now (no fetch, no cache).
    Direct(Arc<KeySet>),
    /// From its own copy, fetched over the exchange.
    Fetched(key_cache::KeyCache),
}

#[derive(Deserialize)]
struct Claims {
    exp: i64,
    nbf: Option<i64>,
    sid: Option<String>,
    /// Read only to refuse what is not one string (RFC 7519 §4.1.1: a StringOrURI;
    /// jsonwebtoken takes an array too): the validation checks its value.
    #[serde(rename = "iss", deserialize_with = "one_string")]
    _iss: (),
}

/// Accepts a string, and nothing else, without keeping it.
fn one_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    struct Text;
    impl serde::de::Visitor<'_> for Text {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
    }
    d.deserialize_str(Text)
}

/// The latest NumericDate taken, 9999-12-31T23:59:59Z: later is no real token's, and
/// near `i64::MAX` its milliseconds would not fit.
const LAST_DATE: i64 = 253_402_300_799;

impl Claims {
    /// Its time claims, if they are dates at all.
    fn sane(&self) -> bool {
        let date = |t: i64| (0..=LAST_DATE).contains(&t);
        date(self.exp) && self.nbf.is_none_or(date)
    }
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rejection {
    /// Not a b64token: the request is malformed, not the token invalid.
    Malformed,
    /// Its family was revoked (checked only when the resource checks revocation).
    Revoked,
    /// Its kid is not in the resource's key set.
    UnknownKey,
    /// Introspection said it is not active.
    Inactive,
    /// Introspection failed: the resource cannot tell.
    Unavailable,
    Expired,
    NotYetValid,
    Invalid,
}

/// A cache of verified tokens; expired entries are swept once it doubles in size.
struct Verified {
    tokens: verified::Tokens<TimeClaims>,
    sweep_at: usize,
}

struct State {
    stats: ResourceStats,
    verified: Verified,
    /// Where the last token found in the cache was found (see [`Resource::last_found`]).
    found: [usize; 2],
}

pub struct Resource {
    clock: ActorClock,
    leeway_ms: i64,
    dialect: Dialect,
    keys: Keys,
    introspection: Option<Introspection>,
    validation: Validation,
    /// Families revoked at the issuer, when this resource checks revocation.
    revocations: Option<crate::issuer::Revocations>,
    state: Mutex<State>,
    /// Whether cached tokens keep the request's own header value (in-process) rather
    /// than a copy (off the wire); see `verified`.
    share_tokens: bool,
}

const REALM: &str = "tokenstorm";
const MIN_SWEEP: usize = 1024;

impl Resource {
    pub fn new(
        config: &ResourceConfig,
        issuer: &IssuerConfig,
        keys: Arc<KeySet>,
        clock: ActorClock,
    ) -> Resource {
        let mut validation = Validation::new(keys.algorithm());
        // Time claims are checked against the resource's own clock, not the system's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims = ["exp", "iss", "aud"].map(String::from).into();
        validation.set_issuer(&[&issuer.issuer]);
        validation.set_audience(&[&issuer.audience]);
        Resource {
            clock,
            leeway_ms: config.leeway.as_ms(),
            dialect: config.dialect,
            keys: Keys::Direct(keys),
            introspection: None,
            validation,
            revocations: None,
            share_tokens: false,
            state: Mutex::new(State {
                stats: ResourceStats::default(),
                verified: Verified {
                    tokens: Default::default(),
                    sweep_at: MIN_SWEEP,
                },
                found: [0; 2],
            }),
        }
    }

    /// The resource a scenario describes, reaching `issuer` through `upstream` for its
    /// key set (and, with opaque tokens, for introspection).
    pub(crate) fn of_scenario(
        scenario: &crate::scenario::Scenario,
        issuer: &crate::issuer::Issuer,
        clock: ActorClock,
        upstream: Arc<dyn Upstream>,
    ) -> Resource {
        let mut r = Resource::new(&scenario.resource, &scenario.issuer, issuer.keys(), clock)
            .fetching_keys(upstream.clone(), &scenario.resource.jwks);
        if scenario.resource.check_revocation {
            r = r.checking_revocation(issuer.revocations());
        }
        if scenario.issuer.access_token.format == crate::scenario::TokenFormat::Opaque {
            r = r.introspecting(upstream, &scenario.resource.introspection, &scenario.issuer);
        }
        r
    }

    /// Rejects tokens of the families in `revocations` (an introspection-like check that
    /// real gateways make against a revocation list).
    pub(crate) fn checking_revocation(
        mut self,
        revocations: crate::issuer::Revocations,
    ) -> Resource {
        self.revocations = Some(revocations);
        self
    }

    /// Keeps the presented header values of the tokens it caches, for a resource whose
    /// requests come in-process (the sim), where they are the clients' own bytes.
    pub(crate) fn sharing_presented_tokens(mut self) -> Resource {
        self.share_tokens = true;
        self
    }

    /// Keeps its own copy of the issuer's key set, fetched through `upstream` as
    /// `config` says, instead of reading the issuer's keys directly.
    pub fn fetching_keys(mut self, upstream: Arc<dyn Upstream>, config: &JwksConfig) -> Resource {
        self.keys = Keys::Fetched(key_cache::KeyCache::new(upstream, config));
        self
    }

    /// Checks tokens by introspection at the issuer (RFC 7662) through `upstream`,
    /// authenticated as the client of `issuer`, instead of verifying JWTs.
    pub(crate) fn introspecting(
        mut self,
        upstream: Arc<dyn Upstream>,
        config: &IntrospectionConfig,
        issuer: &IssuerConfig,
    ) -> Resource {
        self.introspection = Some(Introspection {
            upstream,
            client_auth: crate::exchange::basic_auth(&issuer.client_id, &issuer.client_secret),
            cache_ms: config.cache.as_ms(),
            timeout: config.timeout.to_std(),
        });
        self
    }

    /// The server's clock (the run's clock plus its skew), shared: a jump moves it.
    pub(crate) fn clock(&self) -> &ActorClock {
        &self.clock
    }

    pub fn stats(&self) -> ResourceStats {
        let mut stats = self.state().stats.clone();
        if let Keys::Fetched(cache) = &self.keys {
            let c = cache.stats();
            stats.key_set_fetches = c.fetches;
            stats.key_set_fetch_failures = c.fetch_failures;
        }
        stats
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers one HTTP request.
    pub async fn handle(&self, req: Request) -> Response {
        self.respond(&Asking::Http(Box::new(req))).await
    }

    /// Answers a client's API call made in-process, as it answers the HTTP request the
    /// call stands for, less the Content-Type of its body.
    pub async fn call(&self, call: ApiCall<'_>) -> Response {
        self.respond(&Asking::Api(call)).await
    }

    /// Answers one request, HTTP or in-process.
    pub(crate) async fn respond(&self, asking: &Asking<'_>) -> Response {
        match self.respond_now(asking) {
            Some(r) => r,
            None => self.handle_unseen(asking).await,
        }
    }

    /// The answer to `asking` when giving it needs no wait: every request but one whose
    /// token was not seen before (or whose introspection answer is past its cache
    /// time). For that one None, having counted nothing.
    pub(crate) fn respond_now(&self, asking: &Asking<'_>) -> Option<Response> {
        let read = read(asking, self.dialect);
        // One lock for the lookup and the counts of the request that passes, by far
        // the most common (its answer takes no other).
        let mut state = self.state();
        let asked = match read {
            Ok(asked) => Ok((self.check_seen_in(&mut state, asked.token)?, asked.dialect)),
            Err(refusal) => Err(refusal),
        };
        state.stats.requests += 1;
        if let Ok((Ok(()), _)) = asked {
            state.stats.ok += 1;
            drop(state);
            return Some(asking.frame(passed()));
        }
        drop(state);
        Some(asking.frame(match asked {
            Ok((checked, dialect)) => self.answer(checked, dialect),
            Err(refusal) => self.refuse(refusal),
        }))
    }

    /// [`Resource::respond`] for a request whose token must be verified or
    /// introspected first.
    async fn handle_unseen(&self, asking: &Asking<'_>) -> Response {
        self.state().stats.requests += 1;
        asking.frame(match read(asking, self.dialect) {
            Ok(asked) => {
                let checked = self.check(asked.value, asked.token).await;
                self.answer(checked, asked.dialect)
            }
            Err(refusal) => self.refuse(refusal),
        })
    }

    /// The answer to a request refused before its token was looked at, counted.
    fn refuse(&self, refusal: Refusal) -> Response {
        match refusal {
            Refusal::NotServed(n) => n.answer(),
            Refusal::UnknownDialect => {
                self.state().stats.malformed += 1;
                challenge(
                    StatusCode::BAD_REQUEST,
                    Some((
                        "invalid_request",
                        "unknown dialect; accepted: rfc6750, json_code, forbidden_403, bare_401",
                    )),
                )
            }
            Refusal::Missing(dialect) => {
                self.state().stats.rejected_missing += 1;
                reject(dialect, None)
            }
            Refusal::Malformed(why) => {
                self.state().stats.malformed += 1;
                challenge(StatusCode::BAD_REQUEST, Some(("invalid_request", why)))
            }
        }
    }

    /// The answer to a request whose token was checked, counted by its outcome.
    fn answer(&self, checked: Result<(), Rejection>, dialect: Dialect) -> Response {
        match checked {
            Ok(()) => {
                self.state().stats.ok += 1;
                passed()
            }
            // Not the token's fault: a bad request, or a check that could not be made.
            Err(Rejection::Malformed) => {
                self.state().stats.malformed += 1;
                challenge(
                    StatusCode::BAD_REQUEST,
                    Some((
                        "invalid_request",
                        "the Bearer credentials are not a b64token",
                    )),
                )
            }
            Err(Rejection::Unavailable) => {
                self.state().stats.introspection_failures += 1;
                json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    r#"{"error":"temporarily_unavailable","error_description":"the token could not be introspected"}"#,
                )
            }
            Err(why) => reject(dialect, Some(self.count_rejection(why))),
        }
    }

    /// Counts a refused token under its reason, and says why it was refused.
    fn count_rejection(&self, why: Rejection) -> &'static str {
        let mut state = self.state();
        match why {
            Rejection::Expired => {
                state.stats.rejected_expired += 1;
                "the access token expired"
            }
            Rejection::NotYetValid => {
                state.stats.rejected_not_yet_valid += 1;
                "the access token is not valid yet"
            }
            Rejection::Revoked => {
                state.stats.rejected_revoked += 1;
                "the access token was revoked"
            }
            Rejection::Inactive => {
                state.stats.rejected_inactive += 1;
                "the access token is not active"
            }
            Rejection::UnknownKey => {
                state.stats.rejected_invalid += 1;
                state.stats.rejected_unknown_key += 1;
                "the access token is signed by an unknown key"
            }
            // `answer` handles Malformed and Unavailable itself: they never get here.
            Rejection::Invalid | Rejection::Malformed | Rejection::Unavailable => {
                state.stats.rejected_invalid += 1;
                "the access token is invalid"
            }
        }
    }

    /// Where in its cache the last token it found was: a request loop that will present
    /// the same token again has the sim load them before its next request (a hint).
    pub(crate) fn last_found(&self) -> [usize; 2] {
        self.state().found
    }

    /// The check of a token verified before, from the cache; None for a token not
    /// seen, or whose introspection answer is past its cache time (asked again).
    fn check_seen(&self, token: &[u8]) -> Option<Result<(), Rejection>> {
        self.check_seen_in(&mut self.state(), token)
    }

    /// [`Resource::check_seen`], with the state already locked.
    fn check_seen_in(&self, state: &mut State, token: &[u8]) -> Option<Result<(), Rejection>> {
        let (&cached, places) = state
            .verified
            .tokens
            .find(verified::TokenBytes::new(token))?;
        state.found = places;
        let fresh = cached.until_ms == i64::MAX || self.clock.now_ms() < cached.until_ms;
        fresh.then(|| self.check_time_and_family(&cached))
    }

    async fn check(&self, value: &HeaderValue, token: &[u8]) -> Result<(), Rejection> {
        if let Some(checked) = self.check_seen(token) {
            return checked;
        }
        if !is_token68(token) {
            return Err(Rejection::Malformed);
        }
        // Once per token: boxed, so that the requests that hit the cache do not
        // carry the verification's state in their futures.
        let c = match &self.introspection {
            Some(i) => Box::pin(self.introspect(i, token)).await?,
            None => Box::pin(self.verify(token)).await?,
        };
        let now = self.clock.now_ms();
        let leeway = self.leeway_ms;
        {
            let mut state = self.state();
            let v = &mut state.verified;
            if v.tokens.len() >= v.sweep_at {
                v.tokens.retain(|c| !expired(c, now, leeway));
                v.sweep_at = (v.tokens.len() * 2).max(MIN_SWEEP);
            }
            if c.until_ms > now {
                v.tokens
                    .insert(verified::Key::new(value, token, self.share_tokens), c);
            }
        }
        self.check_time_and_family(&c)
    }

    /// What is checked on every request: `exp` and `nbf` on the resource's clock, and
    /// (with revocation checks on) the token's family.
    fn check_time_and_family(&self, claims: &TimeClaims) -> Result<(), Rejection> {
        let now = self.clock.now_ms();
        if expired(claims, now, self.leeway_ms) {
            return Err(Rejection::Expired);
        }
        if now + self.leeway_ms < claims.nbf.saturating_mul(1000) {
            return Err(Rejection::NotYetValid);
        }
        if let Some(revoked) = &self.revocations
            && claims.family != NO_FAMILY
            && revoked
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&claims.family)
        {
            return Err(Rejection::Revoked);
        }
        Ok(())
    }

    /// Tokens of keys that left the key set no longer verify.
    fn forget_keys(&self, dropped: &[String]) {
        if !dropped.is_empty() {
            let gone: Vec<u32> = dropped.iter().map(|k| key_number(k)).collect();
            self.state()
                .verified
                .tokens
                .retain(|c| !gone.contains(&c.key));
        }
    }

    /// Whether its copy of the key set is kept on a timer of its own
    /// (`resource.jwks.refresh: background`), which [`Resource::keep_keys`] runs.
    pub fn keeps_keys_in_background(&self) -> bool {
        matches!(&self.keys, Keys::Fetched(cache) if cache.in_background())
    }

    /// Keeps the copy of the key set on its own timer, for as long as the run lasts
    /// (the world spawns it when [`Resource::keeps_keys_in_background`], before any
    /// client: requests wait for the first fetch once it has begun).
    pub async fn keep_keys(self: Arc<Self>) {
        let Keys::Fetched(cache) = &self.keys else {
            return;
        };
        loop {
            let (dropped, next_ms) = cache.refresh(|| self.clock.now_ms()).await;
            self.forget_keys(&dropped);
            let wait = (next_ms - self.clock.now_ms()).max(1) as u64;
            crate::clock::time::sleep(std::time::Duration::from_millis(wait)).await;
        }
    }

    /// Signature (by the header's kid), algorithm, iss and aud.
    async fn verify(&self, token: &[u8]) -> Result<TimeClaims, Rejection> {
        let token = std::str::from_utf8(token).map_err(|_| Rejection::Invalid)?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejection::Invalid)?;
        // RFC 7515 §4.1.11: an extension the recipient must understand, and this one
        // understands none (an empty list is not allowed either).
        if header.crit.is_some() {
            return Err(Rejection::Invalid);
        }
        let kid = header.kid.ok_or(Rejection::Invalid)?;
        let decode = |key: &jsonwebtoken::DecodingKey| {
            jsonwebtoken::decode::<Claims>(token, key, &self.validation)
        };
        let decoded = match &self.keys {
            Keys::Direct(set) => set
                .with_published_key(&kid, self.clock.now_ms(), decode)
                .ok_or(Rejection::UnknownKey)?,
            Keys::Fetched(cache) => {
                let found = cache.key(&kid, || self.clock.now_ms()).await;
                self.forget_keys(&found.dropped);
                let key = found.key.ok_or(Rejection::UnknownKey)?;
                decode(&key)
            }
        };
        decoded
            .ok()
            .filter(|data| data.claims.sane())
            .map(|data| TimeClaims {
                exp: data.claims.exp,
                nbf: data.claims.nbf.unwrap_or(i64::MIN),
                family: family_of(data.claims.sid.as_deref()),
                key: key_number(&kid),
                until_ms: i64::MAX,
            })
            .ok_or(Rejection::Invalid)
    }

    /// Asks the issuer whether an opaque token is active (RFC 7662 §2.1).
    async fn introspect(&self, i: &Introspection, token: &[u8]) -> Result<TimeClaims, Rejection> {
        let token = std::str::from_utf8(token).map_err(|_| Rejection::Invalid)?;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let mut req = Request::new(Bytes::from(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = http::Uri::from_static("/introspect");
        let h = req.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        h.insert(header::AUTHORIZATION, i.client_auth.clone());
        self.state().stats.introspections += 1;
        let resp = i
            .upstream
            .call(crate::exchange::Endpoint::Introspect, req, i.timeout)
            .await
            .map_err(|_| Rejection::Unavailable)?;
        if resp.status() != StatusCode::OK {
            return Err(Rejection::Unavailable);
        }
        let answer: Introspected =
            serde_json::from_slice(resp.body()).map_err(|_| Rejection::Unavailable)?;
        match (answer.active, answer.exp) {
            (true, Some(exp)) => Ok(TimeClaims {
                exp,
                nbf: i64::MIN,
                family: family_of(answer.sid.as_deref()),
                key: 0,
                until_ms: self.clock.now_ms().saturating_add(i.cache_ms),
            }),
            _ => Err(Rejection::Inactive),
        }
    }
}

/// RFC 7519 §4.1.4: the token must not be accepted on or after `exp`.
fn expired(c: &TimeClaims, now_ms: i64, leeway_ms: i64) -> bool {
    now_ms >= c.exp.saturating_mul(1000).saturating_add(leeway_ms)
}

/// A request the API does not serve: off `/api`, or not a GET or HEAD. Neither
/// looks at credentials.
#[derive(Clone, Copy)]
enum NotServed {
    Path,
    Method,
}

fn not_served(path: &str, method: &Method) -> Option<NotServed> {
    if path != "/api" && !path.starts_with("/api/") {
        return Some(NotServed::Path);
    }
    if method != Method::GET && method != Method::HEAD {
        return Some(NotServed::Method);
    }
    None
}

impl NotServed {
    /// A 404, or a 405 naming the methods served.
    fn answer(self) -> Response {
        match self {
            NotServed::Path => json(
                StatusCode::NOT_FOUND,
                r#"{"error":"not_found","error_description":"the API lives under /api"}"#,
            ),
            NotServed::Method => {
                let mut resp = json(
                    StatusCode::METHOD_NOT_ALLOWED,
                    r#"{"error":"method_not_allowed","error_description":"the API answers GET"}"#,
                );
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                resp
            }
        }
    }
}

/// Why a request is refused before its token is looked at.
enum Refusal {
    NotServed(NotServed),
    UnknownDialect,
    /// No Bearer credentials: rejected in this dialect.
    Missing(Dialect),
    Malformed(&'static str),
}

/// A request's Bearer token (the header value, and the token within it) and the
/// dialect to answer it in.
struct Asked<'a> {
    value: &'a HeaderValue,
    token: &'a [u8],
    dialect: Dialect,
}

/// A request as it reaches the API: an HTTP request (off the wire, or built as one),
/// or a client's API call made in-process (see [`ApiCall`]). The resource reads the
/// same things of both.
pub(crate) enum Asking<'a> {
    /// Boxed: a request is five times a call's size, and the sim moves calls.
    Http(Box<Request>),
    Api(ApiCall<'a>),
}

impl Asking<'_> {
    /// Its target, its method, and its Authorization header (an error when it has
    /// more than one).
    fn parts(&self) -> (&http::Uri, &Method, Result<Option<&HeaderValue>, ()>) {
        match self {
            Asking::Http(req) => {
                let mut values = req.headers().get_all(header::AUTHORIZATION).iter();
                let first = values.next();
                let value = match values.next() {
                    Some(_) => Err(()),
                    None => Ok(first),
                };
                (req.uri(), req.method(), value)
            }
            Asking::Api(call) => (call.uri, &Method::GET, Ok(Some(call.authorization))),
        }
    }

    /// The answer as it leaves: over HTTP a body says what it is (every body the API
    /// writes is JSON); to a call in-process, which reads no content type, as it is.
    fn frame(&self, mut resp: Response) -> Response {
        if matches!(self, Asking::Http(_)) && !resp.body().is_empty() {
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        resp
    }
}

/// Reads what the API needs of a request, without counting anything: its token and
/// the dialect asked (`dialect` unless the query names one).
fn read<'a>(asking: &'a Asking<'_>, dialect: Dialect) -> Result<Asked<'a>, Refusal> {
    let (uri, method, authorization) = asking.parts();
    if let Some(refused) = not_served(uri.path(), method) {
        return Err(Refusal::NotServed(refused));
    }
    let dialect = match dialect_asked(uri.query()) {
        Ok(d) => d.unwrap_or(dialect),
        Err(()) => return Err(Refusal::UnknownDialect),
    };
    let credentials = match authorization {
        Ok(value) => bearer(value),
        Err(()) => Credentials::Malformed("more than one Authorization header"),
    };
    match credentials {
        Credentials::Missing => Err(Refusal::Missing(dialect)),
        Credentials::Malformed(why) => Err(Refusal::Malformed(why)),
        Credentials::Token(value, token) => Ok(Asked {
            value,
            token,
            dialect,
        }),
    }
}

enum Credentials<'a> {
    Missing,
    Malformed(&'static str),
    /// The header value, and the token within it.
    Token(&'a HeaderValue, &'a [u8]),
}

/// Reads the Bearer token of the Authorization header (RFC 6750 §2.1). A request with
/// no credentials, or credentials of another scheme, carries no bearer token (§3.1:
/// answer without an error code); a Bearer header that breaks the syntax is malformed.
fn bearer(value: Option<&HeaderValue>) -> Credentials<'_> {
    let Some(value) = value else {
        return Credentials::Missing;
    };
    let bytes = value.as_bytes();
    let (scheme, rest) = match bytes.iter().position(|&b| b == b' ') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[][..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Credentials::Missing;
    }
    let rest = rest.trim_ascii();
    if rest.is_empty() {
        return Credentials::Malformed("the Bearer credentials are empty");
    }
    // The b64token syntax is checked only for tokens not seen before (see `check`).
    Credentials::Token(value, rest)
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_token68(s: &[u8]) -> bool {
    let body = s.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    body > 0 && s[..body].iter().all(|&b| B64TOKEN[b as usize])
}

/// The bytes a b64token may hold before its `=` padding.
static B64TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    t
};

/// The answer to a request whose token passed.
fn passed() -> Response {
    json(StatusCode::OK, r#"{"ok":true}"#)
}

fn json(status: StatusCode, body: &'static str) -> Response {
    let mut resp = Response::new(Bytes::from_static(body.as_bytes()));
    *resp.status_mut() = status;
    resp
}

/// The dialect a request asks for with `?dialect=`, if any; an unknown one is a
/// malformed request.
fn dialect_asked(query: Option<&str>) -> Result<Option<Dialect>, ()> {
    let Some(query) = query else {
        return Ok(None);
    };
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == "dialect" {
            return match Dialect::parse(&v) {
                Some(d) => Ok(Some(d)),
                None => Err(()),
            };
        }
    }
    Ok(None)
}

/// A missing (`None`) or rejected token, answered in `dialect` (SPEC §1.2).
fn reject(dialect: Dialect, description: Option<&str>) -> Response {
    let described = description.unwrap_or("a Bearer access token is required");
    match dialect {
        Dialect::Rfc6750 => challenge(
            StatusCode::UNAUTHORIZED,
            description.map(|d| ("invalid_token", d)),
        ),
        Dialect::JsonCode => {
            let code = if description.is_some() {
                "InvalidAuthenticationToken"
            } else {
                "AuthenticationRequired"
            };
            let body = serde_json::json!({"error": {"code": code, "message": described}});
            json_owned(StatusCode::UNAUTHORIZED, body.to_string())
        }
        Dialect::Forbidden403 => {
            let body = serde_json::json!({"message": described});
            json_owned(StatusCode::FORBIDDEN, body.to_string())
        }
        Dialect::Bare401 => {
            let mut resp = Response::new(Bytes::new());
            *resp.status_mut() = StatusCode::UNAUTHORIZED;
            resp
        }
    }
}

fn json_owned(status: StatusCode, body: String) -> Response {
    let mut resp = Response::new(Bytes::from(body));
    *resp.status_mut() = status;
    resp
}

/// An RFC 6750 §3 answer: the challenge, and the same error as a JSON body.
fn challenge(status: StatusCode, error: Option<(&str, &str)>) -> Response {
    let (value, body) = match error {
        None => (
            format!("Bearer realm=\"{REALM}\""),
            r#"{"message":"a Bearer access token is required"}"#.to_string(),
        ),
        Some((code, description)) => (
            format!(
                "Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{description}\""
            ),
            serde_json::json!({"error": code, "error_description": description}).to_string(),
        ),
    };
    let mut resp = Response::new(Bytes::from(body));
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::try_from(value) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64token_syntax() {
        assert!(is_token68(b"abc.DEF-_~+/=="));
        assert!(!is_token68(b"=="));
        assert!(!is_token68(b"a b"));
        assert!(!is_token68(b"a=b"));
        assert!(!is_token68(b"a,b"));
    }
}
