//! One client: its shared token store, and how it logs in and refreshes.
//!
//! A [`Client`] is one user (one token family at a time); its instances
//! ([`super::Instance`]) are the processes that share its store and ask it to renew.
//! A caller re-checks the store first, so a token another instance already renewed is
//! not renewed again. Only `coordination: lock` coordinates the instances of one
//! client: their leaders take the client's lock ([`crate::lock`]), re-check the shared
//! store and renew only if nobody did meanwhile ([`Client::locked`]). Without it,
//! rotation races between instances show.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::Instant;
use http::{HeaderValue, StatusCode, Uri};
use rand::RngExt;

use super::store::{AccessToken, TokenResponse, TokenState};
use crate::clock::ActorClock;
use crate::duration::Dur;
use crate::exchange::{ApiCall, Endpoint, Exchange, ExchangeError, Request, Response};
use crate::lock::{Acquire, LockService};
use crate::metrics::{LoginKind, Metrics, RefreshEnd};
use crate::rng::Rng;
use crate::scenario::policy::Policy;
use crate::scenario::{
    Dialect, Grant, JitterDirection, JitterPer, OnInvalidGrant, OnLockTimeout, RetryAfter,
};

/// What every client of a group shares.
pub struct Group<E> {
    /// The group's position in the scenario, for per-group figures.
    pub index: usize,
    pub exchange: Arc<E>,
    pub metrics: Arc<Metrics>,
    pub policy: Policy,
    pub login_latency: Dur,
    /// How its clients get tokens and authenticate at the token endpoint.
    pub credentials: super::Credentials,
    /// The API request every worker sends (its query names the group's dialect).
    pub api: Uri,
    /// How the API answers a rejected token: a 403 counts as unauthorized in
    /// `forbidden_403`.
    pub dialect: Dialect,
    /// The lock service of `coordination: lock` (and, on Redis, the shared token store).
    pub lock: Option<Arc<LockService>>,
    /// The group's name, which names its users and its clients' keys.
    pub name: String,
    /// `users`: how many users its clients log in as (None: one each).
    pub users: Option<u32>,
}

/// Why a caller got no token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    Refresh,
    Login,
    /// The wait for another caller's refresh ran out (`lock.on_timeout: fail`).
    LockTimeout,
    /// The refresh token was refused while another caller renewed it: this call fails
    /// even where a soft failure would keep the token (`on_invalid_grant: fail`).
    InvalidGrant,
    /// The client is logged out for good (`on_invalid_grant: fail`).
    LoggedOut,
}

/// What a caller needs, and the store version it saw when it decided so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Refresh { seen: u64 },
    Login { seen: u64 },
}

impl Need {
    pub(super) fn seen(self) -> u64 {
        match self {
            Need::Refresh { seen } | Need::Login { seen } => seen,
        }
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The seconds of a `Retry-After: <seconds>` header on a 429 or 503 answer.
pub(crate) fn retry_after(resp: &Response) -> Option<Duration> {
    if resp.status() != StatusCode::TOO_MANY_REQUESTS
        && resp.status() != StatusCode::SERVICE_UNAVAILABLE
    {
        return None;
    }
    crate::exchange::retry_after_secs(resp).map(Duration::from_secs)
}

/// One draw of the policy's jitter: how many ms earlier than its soft point a token is
/// renewed (negative: later).
pub(super) fn draw_jitter(policy: &Policy, rng: &mut Rng) -> i64 {
    let j = policy.jitter.as_ms();
    if j <= 0 {
        return 0;
    }
    match policy.jitter_direction {
        JitterDirection::Earlier => rng.random_range(0..=j),
        JitterDirection::Later => -rng.random_range(0..=j),
        JitterDirection::Both => rng.random_range(-j..=j),
    }
}

/// An RFC 6749 §5.2 error body.
#[derive(serde::Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// An error answer of the token endpoint in a line: `400 invalid_client: unknown
/// client` from an RFC 6749 §5.2 body, else the status and the body's start.
fn describe_error(resp: &Response) -> String {
    let status = resp.status().as_u16();
    match serde_json::from_slice::<ErrorBody>(resp.body()) {
        Ok(ErrorBody {
            error,
            error_description: Some(d),
        }) => format!("{status} {error}: {d}"),
        Ok(ErrorBody { error, .. }) => format!("{status} {error}"),
        Err(_) => {
            let body = String::from_utf8_lossy(resp.body());
            let body: String = body.trim().chars().take(200).collect();
            if body.is_empty() {
                status.to_string()
            } else {
                format!("{status}: {body}")
            }
        }
    }
}

/// The `error` code of an RFC 6749 §5.2 error body.
fn oauth_error(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|e| e.error)
}

// In this order (repr C): what every request reads first, in one or two cache lines;
// with a million clients each request's first touch of its client is a cache miss.
#[repr(C)]
pub struct Client<E> {
    pub(super) group: Arc<Group<E>>,
    /// What the servers decide about each of its requests is drawn from these.
    draws: crate::rng::Draws,
    pub(super) store: Mutex<TokenState>,
    /// Logged out for good: its refresh token died and it cannot log in again.
    logged_out: AtomicBool,
    logged_in: AtomicBool,
    /// Its first login has started (so later ones while not logged in are retries).
    began: AtomicBool,
    pub(super) clock: ActorClock,
    /// Its number in the group: it names its user and its key (made when needed, not
    /// kept: two strings a client are 100 bytes and two allocations).
    number: u32,
    /// Error answers of the token endpoint kept for replay (`policy.throttle`).
    throttled: super::throttle::Cache,
    /// When this client last sent a refresh (for `retry.min_interval`).
    last_refresh: Mutex<Option<Instant>>,
}

impl<E: Exchange> Client<E> {
    pub fn new(
        group: Arc<Group<E>>,
        number: u32,
        clock: ActorClock,
        draws: crate::rng::Draws,
    ) -> Client<E> {
        Client {
            group,
            draws,
            number,
            clock,
            store: Mutex::new(TokenState::default()),
            logged_in: AtomicBool::new(false),
            began: AtomicBool::new(false),
            logged_out: AtomicBool::new(false),
            throttled: Default::default(),
            last_refresh: Mutex::new(None),
        }
    }

    /// Starts it from a refresh token it was provisioned with (`grant: refresh_token`).
    pub(crate) fn provision(&self, refresh_token: &str) {
        lock(&self.store).refresh_token = Some(refresh_token.into());
    }

    pub(crate) fn group(&self) -> &Group<E> {
        &self.group
    }

    /// The user it logs in as: `<group>-<number modulo users>`.
    fn username(&self) -> String {
        let user = self.number % self.group.users.unwrap_or(u32::MAX).max(1);
        format!("{}-{user}", self.group.name)
    }

    /// Names its lock and its shared record: `<group>:<number>`.
    fn key(&self) -> String {
        format!("{}:{}", self.group.name, self.number)
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.group.policy
    }

    /// Whether the client is logged out for good (`on_invalid_grant: fail`).
    pub fn is_logged_out(&self) -> bool {
        self.logged_out.load(Ordering::Relaxed)
    }

    /// Logs the client out for good: it drops its tokens and is counted once.
    fn log_out(&self) {
        {
            let mut s = lock(&self.store);
            s.dead = true;
            s.access = None;
        }
        if !self.logged_out.swap(true, Ordering::Relaxed) {
            self.group.metrics.client_logged_out(self.group.index);
        }
    }

    /// The current token and its store version.
    pub(crate) fn current(&self) -> (u64, Option<Arc<AccessToken>>) {
        let s = lock(&self.store);
        (s.version, s.access.clone())
    }

    /// Sends `request` with the policy's timeout; an error when no answer came in time.
    pub(crate) fn send(
        &self,
        endpoint: Endpoint,
        request: Request,
    ) -> impl Future<Output = Result<Response, ExchangeError>> + Send + '_ {
        // The exchange's own future, not an async fn around it: one would keep a copy
        // of the request (or of the whole exchange) in every request loop's future.
        let timeout = self.policy().timeout.to_std();
        self.group
            .exchange
            .send(endpoint, request, timeout, self.draws.next())
    }

    /// Sends the group's API request carrying `authorization`, as [`Client::send`].
    pub(crate) fn send_api<'a>(
        &'a self,
        authorization: &'a HeaderValue,
    ) -> impl Future<Output = Result<Response, ExchangeError>> + Send + 'a {
        let timeout = self.policy().timeout.to_std();
        let call = ApiCall {
            uri: &self.group.api,
            authorization,
        };
        self.group
            .exchange
            .send_api(call, timeout, self.draws.next())
    }

    /// Where the API last found a token it had verified: a hint (see
    /// [`Exchange::api_touches`]).
    pub(crate) fn api_touches(&self) -> [usize; 2] {
        self.group.exchange.api_touches()
    }

    /// Drops the access token of `version` (on_401: drop_token); the next caller
    /// renews it.
    pub(crate) fn drop_access(&self, version: u64) {
        let mut s = lock(&self.store);
        if s.version == version {
            s.access = None;
        }
    }

    /// Whether a refresh was sent less than `retry.min_interval` ago.
    pub(super) fn too_soon(&self) -> bool {
        let min = self.policy().retry.min_interval;
        min > Dur::ZERO
            && lock(&self.last_refresh).is_some_and(|t| {
                crate::clock::time::now().saturating_duration_since(t) < min.to_std()
            })
    }

    /// The tokens of a 200 answer, the access token's expiry judged per the policy on
    /// this client's clock; None when the body is not a token response.
    fn tokens_of(&self, resp: &Response) -> Option<(AccessToken, Option<String>)> {
        let tokens = TokenResponse::parse(resp.body())?;
        let access = tokens.access_token(self.policy().expiry_source, self.clock.now_ms())?;
        Some((access, tokens.refresh_token))
    }

    /// Keeps a token response, with its per-token jitter drawn.
    fn keep(&self, mut access: AccessToken, refresh_token: Option<String>, rng: &mut Rng) {
        let policy = self.policy();
        if policy.jitter_per == JitterPer::Token {
            access.jitter_ms = draw_jitter(policy, rng);
        }
        lock(&self.store).store(access, refresh_token);
    }

    /// Waits before retry `n`, per the policy and the answer's Retry-After; false when
    /// the Retry-After says to give up (`retry_after: give_up`).
    async fn back_off(&self, n: u32, answer: Option<&Response>, rng: &mut Rng) -> bool {
        let retry = &self.policy().retry;
        let mut delay = retry.delay(n, rng.random::<f64>()).to_std();
        match (retry.retry_after, answer.and_then(retry_after)) {
            (RetryAfter::GiveUp, Some(_)) => return false,
            (RetryAfter::Wait, Some(after)) => delay = delay.max(after),
            _ => {}
        }
        if !delay.is_zero() {
            crate::clock::time::sleep(delay).await;
        }
        true
    }

    /// Does what `need` asks, without any coordination.
    pub(crate) async fn renew(&self, need: Need, rng: &mut Rng) -> Result<(), Failure> {
        self.renew_counted(need, rng, &mut 0).await
    }

    /// `renew`, adding the refresh attempts it sends to `sent`; with a shared store in
    /// Redis, what it got is written there for the other processes.
    async fn renew_counted(
        &self,
        need: Need,
        rng: &mut Rng,
        sent: &mut u64,
    ) -> Result<(), Failure> {
        let result = match need {
            Need::Login { .. } => self.login_counted(rng, sent).await,
            Need::Refresh { .. } => self.refresh(rng, sent).await,
        };
        self.push().await;
        result
    }

    /// Reads the shared store of other processes (Redis) and adopts a newer record;
    /// returns the store version this process now holds.
    async fn pull(&self) -> u64 {
        #[cfg(feature = "redis")]
        if let Some(redis) = self.group.lock.as_ref().and_then(|l| l.redis()) {
            let got = redis.get(&format!("tokens:{}", self.key())).await;
            self.group
                .metrics
                .lock_operations(self.group.index, 1, got.is_err());
            match got {
                Ok(Some(text)) => {
                    if let Ok(record) = serde_json::from_str(&text)
                        && lock(&self.store).adopt(record)
                    {
                        self.logged_in.store(true, Ordering::Relaxed);
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("could not read the shared token store: {e}"),
            }
        }
        lock(&self.store).version
    }

    /// Writes this process's tokens to the shared store of other processes (Redis).
    async fn push(&self) {
        #[cfg(feature = "redis")]
        if let Some(redis) = self.group.lock.as_ref().and_then(|l| l.redis()) {
            let text = serde_json::to_string(&lock(&self.store).record()).unwrap_or_default();
            let put = redis.put(&format!("tokens:{}", self.key()), &text).await;
            self.group
                .metrics
                .lock_operations(self.group.index, 1, put.is_err());
            if let Err(e) = put {
                tracing::warn!("could not write the shared token store: {e}");
            }
        }
    }

    /// Whether another process already presented the refresh token of `version`
    /// (Redis); false when the store is this process's alone.
    async fn presented_elsewhere(&self, version: u64) -> bool {
        #[cfg(feature = "redis")]
        if let Some(redis) = self.group.lock.as_ref().and_then(|l| l.redis()) {
            let marked = redis
                .mark(&format!("presented:{}:{version}", self.key()))
                .await;
            self.group
                .metrics
                .lock_operations(self.group.index, 1, marked.is_err());
            return marked.unwrap_or(false);
        }
        let _ = version;
        false
    }

    /// Does what `need` asks under the client's lock (`coordination: lock`): re-checks
    /// the shared store, takes the lock (waiting at most `lock.wait`), re-checks the
    /// store again, renews only if nobody did meanwhile, and releases. A caller that
    /// gives up waiting, or whose lock service fails, renews without the lock.
    pub(crate) async fn locked(&self, need: Need, rng: &mut Rng) -> Result<(), Failure> {
        let Some(service) = self.group.lock.clone() else {
            return self.renew(need, rng).await;
        };
        let metrics = self.group.metrics.clone();
        let g = self.group.index;
        if self.pull().await != need.seen() {
            return Ok(());
        }
        let mut ops = 0;
        let wait = self.policy().wait.map(Dur::to_std);
        let key = format!("lock:{}", self.key());
        let outcome = service
            .acquire(&key, wait, || metrics.lock_wait_started(), &mut ops)
            .await;
        match outcome {
            Acquire::Taken { held, waited } => {
                match waited {
                    Some(w) => metrics.lock_wait_ended(g, w, false),
                    None => metrics.lock_acquired(g),
                }
                metrics.lock_held();
                service.read_store().await;
                let mut sent = 0;
                let result = if self.pull().await != need.seen() {
                    Ok(())
                } else {
                    self.renew_counted(need, rng, &mut sent).await
                };
                let kept = service.release(held, &mut ops).await;
                if let Err(e) = &kept {
                    tracing::warn!("could not release the lock: {e}");
                }
                metrics.lock_released(g, kept == Ok(false), sent);
                metrics.lock_operations(g, ops, kept.is_err());
                result
            }
            Acquire::TimedOut { waited } => {
                metrics.lock_wait_ended(g, waited, true);
                metrics.lock_operations(g, ops, false);
                if self.pull().await != need.seen() {
                    return Ok(());
                }
                match self.policy().on_lock_timeout {
                    OnLockTimeout::Fail => Err(Failure::LockTimeout),
                    OnLockTimeout::Refresh => self.renew(need, rng).await,
                }
            }
            Acquire::Failed { waited, error } => {
                if let Some(w) = waited {
                    metrics.lock_wait_ended(g, w, false);
                }
                metrics.lock_operations(g, ops, true);
                tracing::warn!("the lock service failed, refreshing without the lock: {error}");
                self.renew(need, rng).await
            }
        }
    }

    /// A full authentication (the grant of its credentials): the first, or a new one
    /// after the refresh token died (or, without one, to renew). A client that cannot
    /// log in again by itself (`on_invalid_grant: fail`, or a provisioned refresh token
    /// that died) is logged out instead of a forced login.
    pub async fn login(&self, rng: &mut Rng) -> Result<(), Failure> {
        self.login_counted(rng, &mut 0).await
    }

    /// `login`, adding the refresh attempts it sends to `sent` (a client provisioned
    /// with a refresh token logs in by refreshing it).
    async fn login_counted(&self, rng: &mut Rng, sent: &mut u64) -> Result<(), Failure> {
        let credentials = &self.group.credentials;
        if credentials.grant == Grant::RefreshToken {
            // Its refresh token died, or it never had one: it cannot get another.
            if self.usable().is_none() {
                self.log_out();
                return Err(Failure::LoggedOut);
            }
            return Box::pin(self.refresh(rng, sent)).await;
        }
        let metrics = &self.group.metrics;
        let g = self.group.index;
        let kind = self.login_kind();
        if kind == LoginKind::Forced && self.policy().on_invalid_grant == OnInvalidGrant::Fail {
            self.log_out();
            return Err(Failure::LoggedOut);
        }
        metrics.login_started(g, kind);
        if self.group.login_latency > Dur::ZERO {
            crate::clock::time::sleep(self.group.login_latency.to_std()).await;
        }
        let username = self.username();
        let key = format!("{}:{username}", credentials.grant.as_str());
        let login_pairs = credentials.login_pairs(&username);
        let attempts = self.policy().retry.attempts;
        for attempt in 1..=attempts {
            let t0 = crate::clock::time::now();
            let code = match self.authorization(&username, rng).await {
                Ok(code) => code,
                Err(why) => {
                    // A page, a refusal or a redirect loop: asking again changes nothing.
                    metrics.token_error(g, || why.clone());
                    let spent = crate::clock::time::now().saturating_duration_since(t0);
                    metrics.login_attempt_done(g, false, spent);
                    break;
                }
            };
            let pairs = match &code {
                Some(code) => credentials.code_pairs(code),
                None => login_pairs.clone(),
            };
            let (answer, latency, replayed) = self.token_call(&key, &pairs, || {}).await;
            // An authorization's time is its login's too.
            let latency = match code {
                Some(_) => crate::clock::time::now().saturating_duration_since(t0),
                None => latency,
            };
            let retry = match &answer {
                Some(resp) if resp.status() == StatusCode::OK => {
                    if let Some((access, refresh_token)) = self.tokens_of(resp) {
                        self.keep(access, refresh_token, rng);
                        self.obtained();
                        metrics.login_attempt_done(g, true, latency);
                        return Ok(());
                    }
                    false
                }
                Some(resp) => self.policy().retry.retryable(resp.status().as_u16()),
                None => true,
            };
            if replayed {
                metrics.login_replayed(g);
            } else {
                metrics.login_attempt_done(g, false, latency);
            }
            if !retry || attempt == attempts || !self.back_off(attempt, answer.as_ref(), rng).await
            {
                break;
            }
        }
        Err(Failure::Login)
    }

    /// `grant: authorization_code`: the code of a new authorization as `user`, its
    /// requests sent through this client's exchange; None for the other grants.
    async fn authorization(
        &self,
        user: &str,
        rng: &mut Rng,
    ) -> Result<Option<super::authorize::Code>, String> {
        let Some(at) = &self.group.credentials.authorize else {
            return Ok(None);
        };
        let send = |req| self.send(Endpoint::Authorize, req);
        super::authorize::authorize(at, user, rng, send)
            .await
            .map(Some)
    }

    /// Why it logs in now: its first login, a retry of a first that failed, a refresh
    /// token that died, or no refresh token to renew with.
    fn login_kind(&self) -> LoginKind {
        if !self.logged_in.load(Ordering::Relaxed) {
            return match self.began.swap(true, Ordering::Relaxed) {
                false => LoginKind::Initial,
                true => LoginKind::Retried,
            };
        }
        match lock(&self.store).refresh_token {
            Some(_) => LoginKind::Forced,
            None => LoginKind::Renewed,
        }
    }

    /// It holds tokens: the first time, it is counted.
    fn obtained(&self) {
        if !self.logged_in.swap(true, Ordering::Relaxed) {
            self.group.metrics.obtained_first_token(self.group.index);
        }
    }

    /// Sends one token request, or replays the answer the throttle kept for `key`
    /// (`before_send` runs only when it is sent): the answer, how long it took, and
    /// whether it was replayed.
    async fn token_call(
        &self,
        key: &str,
        pairs: &[(&str, &str)],
        before_send: impl FnOnce(),
    ) -> (Option<Response>, Duration, bool) {
        if self.policy().throttle.is_some()
            && let Some(kept) = self.throttled.replay(key)
        {
            return (Some(kept), Duration::ZERO, true);
        }
        before_send();
        let req = self
            .group
            .credentials
            .token_request(pairs, self.clock.now_ms());
        let t0 = crate::clock::time::now();
        let answer = match self.send(Endpoint::Token, req).await {
            Ok(resp) => {
                if !resp.status().is_success() {
                    let g = self.group.index;
                    self.group.metrics.token_error(g, || describe_error(&resp));
                }
                Some(resp)
            }
            Err(e) => {
                let g = self.group.index;
                self.group
                    .metrics
                    .token_error(g, || format!("no answer: {e}"));
                None
            }
        };
        let latency = crate::clock::time::now().saturating_duration_since(t0);
        if let (Some(throttle), Some(resp)) = (&self.policy().throttle, &answer)
            && !resp.status().is_success()
        {
            self.throttled.keep(throttle, key, resp);
        }
        (answer, latency, false)
    }

    /// The refresh token to present, its store version, and whether another operation
    /// presented it already; None when there is none alive.
    fn usable(&self) -> Option<(u64, Arc<str>, bool)> {
        let mut s = lock(&self.store);
        match s.refresh_token.clone() {
            Some(rt) if !s.dead => {
                let v = s.version;
                Some((v, rt, s.present(v)))
            }
            _ => None,
        }
    }

    /// A refresh-token grant with the stored refresh token; a dead refresh token leads
    /// to a forced login (or, with `on_invalid_grant: fail`, to being logged out).
    async fn refresh(&self, rng: &mut Rng, sent: &mut u64) -> Result<(), Failure> {
        let metrics = &self.group.metrics;
        let g = self.group.index;
        let Some((version, refresh_token, mut duplicate)) = self.usable() else {
            return self.login(rng).await;
        };
        duplicate |= self.presented_elsewhere(version).await;
        let pairs = [
            ("grant_type", "refresh_token"),
            ("refresh_token", &*refresh_token),
        ];
        let attempts = self.policy().retry.attempts;
        for attempt in 1..=attempts {
            let send = || {
                metrics.refresh_sent(g, duplicate && attempt == 1);
                *sent += 1;
                *lock(&self.last_refresh) = Some(crate::clock::time::now());
            };
            let (answer, latency, replayed) = self.token_call(&refresh_token, &pairs, send).await;
            let end = |how| match replayed {
                true => metrics.refresh_replayed(g),
                false => metrics.refresh_done(g, how, latency),
            };
            let retry = match &answer {
                Some(resp) if resp.status() == StatusCode::OK => {
                    if let Some((access, refresh_token)) = self.tokens_of(resp) {
                        end(RefreshEnd::Ok);
                        self.refresh_ended(version, true);
                        self.keep(access, refresh_token, rng);
                        self.obtained();
                        return Ok(());
                    }
                    false
                }
                Some(resp)
                    if resp.status() == StatusCode::BAD_REQUEST
                        && oauth_error(resp.body()).as_deref() == Some("invalid_grant") =>
                {
                    end(RefreshEnd::InvalidGrant);
                    self.refresh_ended(version, false);
                    return self.refused(version, rng).await;
                }
                Some(resp) => self.policy().retry.retryable(resp.status().as_u16()),
                None => true,
            };
            end(RefreshEnd::Failed);
            if !retry || attempt == attempts || !self.back_off(attempt, answer.as_ref(), rng).await
            {
                break;
            }
        }
        Err(Failure::Refresh)
    }

    /// Counts a suspected reuse when the refresh token of `version` has now been both
    /// rotated and refused ([`super::store::TokenState::refresh_ended`]).
    fn refresh_ended(&self, version: u64, rotated: bool) {
        if lock(&self.store).refresh_ended(version, rotated) {
            self.group.metrics.suspected_reuse(self.group.index);
        }
    }

    /// The refresh token of `version` was refused (invalid_grant): it is dead, and the
    /// client logs in again, unless another caller replaced the tokens meanwhile.
    async fn refused(&self, version: u64, rng: &mut Rng) -> Result<(), Failure> {
        let moved_on = {
            let mut s = lock(&self.store);
            s.mark_dead(version);
            s.version != version
        };
        // Another caller already replaced the tokens: nothing to log in for. A library
        // that raises the error to its caller fails this call all the same
        // (`on_invalid_grant: fail`).
        if moved_on {
            return match self.policy().on_invalid_grant {
                OnInvalidGrant::Login => Ok(()),
                OnInvalidGrant::Fail => Err(Failure::InvalidGrant),
            };
        }
        self.login(rng).await
    }
}
