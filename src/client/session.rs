//! One client: its shared token store, its instances, and how it refreshes and logs in.
//!
//! A [`Client`] is one user (one token family at a time); its [`Instance`]s are the
//! processes that share its store. How a caller that needs a new token behaves is the
//! policy's `coordination`: with `none` it refreshes itself, whatever others are doing;
//! with `single_flight` one refresh per instance is in flight and the instance's other
//! callers wait for it (and a caller re-checks the store first, so a token another
//! instance already renewed is not renewed again). Instances are never coordinated with
//! each other here, which is why rotation races between them show.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode, Uri};
use rand::RngExt;
use tokio::sync::watch;
use tokio::time::Instant;

use super::policy::{Policy, Trigger};
use super::store::{AccessToken, TokenResponse, TokenState};
use crate::clock::ActorClock;
use crate::duration::Dur;
use crate::exchange::{Endpoint, Exchange, Request, Response};
use crate::metrics::{LoginKind, Metrics, RefreshEnd};
use crate::rng::Rng;
use crate::scenario::{Coordination, RefreshMode};

/// What every client of a group shares.
pub struct Group<E> {
    /// The group's position in the scenario, for per-group figures.
    pub index: usize,
    pub exchange: Arc<E>,
    pub metrics: Arc<Metrics>,
    pub policy: Policy,
    pub login_latency: Dur,
    /// `Basic ...` for client_secret_basic.
    pub client_auth: HeaderValue,
    pub password: String,
}

/// Why a caller got no token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    Refresh,
    Login,
}

/// What a caller needs, and the store version it saw when it decided so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Refresh { seen: u64 },
    Login { seen: u64 },
}

impl Need {
    fn seen(self) -> u64 {
        match self {
            Need::Refresh { seen } | Need::Login { seen } => seen,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// 5xx, 429 and 408 are worth another try; everything else is an answer.
pub fn retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// The `error` code of an RFC 6749 §5.2 error body.
fn oauth_error(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct E {
        error: String,
    }
    serde_json::from_slice::<E>(body).ok().map(|e| e.error)
}

pub struct Client<E> {
    group: Arc<Group<E>>,
    username: String,
    clock: ActorClock,
    store: Mutex<TokenState>,
    logged_in: AtomicBool,
}

impl<E: Exchange> Client<E> {
    pub fn new(group: Arc<Group<E>>, username: String, clock: ActorClock) -> Client<E> {
        Client {
            group,
            username,
            clock,
            store: Mutex::new(TokenState::default()),
            logged_in: AtomicBool::new(false),
        }
    }

    pub fn group(&self) -> &Group<E> {
        &self.group
    }

    pub fn policy(&self) -> &Policy {
        &self.group.policy
    }

    /// The current token and its store version.
    pub fn current(&self) -> (u64, Option<Arc<AccessToken>>) {
        let s = lock(&self.store);
        (s.version, s.access.clone())
    }

    /// Sends `request` with the policy's timeout; `None` when no answer came in time.
    pub async fn send(&self, endpoint: Endpoint, request: Request) -> Option<Response> {
        let timeout = self.policy().timeout.to_std();
        self.group
            .exchange
            .send(endpoint, request, timeout)
            .await
            .ok()
    }

    fn token_request(&self, pairs: &[(&str, &str)]) -> Request {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let mut req = Request::new(Bytes::from(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = Uri::from_static("/token");
        let h = req.headers_mut();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        h.insert(AUTHORIZATION, self.group.client_auth.clone());
        req
    }

    /// Waits before retry `n`, per the policy.
    async fn back_off(&self, n: u32, rng: &mut Rng) {
        let delay = self.policy().retry.delay(n, rng.random::<f64>());
        if delay > Dur::ZERO {
            tokio::time::sleep(delay.to_std()).await;
        }
    }

    /// Does what `need` asks, without any coordination.
    pub async fn renew(&self, need: Need, rng: &mut Rng) -> Result<(), Failure> {
        match need {
            Need::Login { .. } => self.login(rng).await,
            Need::Refresh { .. } => self.refresh(rng).await,
        }
    }

    /// A full authentication (password grant): the first, or a forced one after the
    /// refresh token died.
    pub async fn login(&self, rng: &mut Rng) -> Result<(), Failure> {
        let metrics = &self.group.metrics;
        let kind = if self.logged_in.load(Ordering::Relaxed) {
            LoginKind::Forced
        } else {
            LoginKind::Initial
        };
        metrics.login_started(self.group.index, kind);
        if self.group.login_latency > Dur::ZERO {
            tokio::time::sleep(self.group.login_latency.to_std()).await;
        }
        let attempts = self.policy().retry.attempts;
        for attempt in 1..=attempts {
            let req = self.token_request(&[
                ("grant_type", "password"),
                ("username", &self.username),
                ("password", &self.group.password),
            ]);
            let t0 = Instant::now();
            let answer = self.send(Endpoint::Token, req).await;
            let latency = t0.elapsed();
            let retry = match &answer {
                Some(resp) if resp.status() == StatusCode::OK => {
                    if let Some(tokens) = TokenResponse::parse(resp.body())
                        && let Some(access) =
                            tokens.access_token(self.policy().expiry_source, self.clock.now_ms())
                    {
                        lock(&self.store).store(access, tokens.refresh_token);
                        self.logged_in.store(true, Ordering::Relaxed);
                        metrics.login_attempt_done(self.group.index, true, latency);
                        return Ok(());
                    }
                    false
                }
                Some(resp) => retryable(resp.status()),
                None => true,
            };
            metrics.login_attempt_done(self.group.index, false, latency);
            if !retry || attempt == attempts {
                break;
            }
            self.back_off(attempt, rng).await;
        }
        Err(Failure::Login)
    }

    /// A refresh-token grant with the stored refresh token; a dead refresh token leads
    /// to a forced login.
    async fn refresh(&self, rng: &mut Rng) -> Result<(), Failure> {
        let metrics = &self.group.metrics;
        let usable = {
            let mut s = lock(&self.store);
            match s.refresh_token.clone() {
                Some(rt) if !s.dead => {
                    let v = s.version;
                    Some((v, rt, s.present(v)))
                }
                _ => None,
            }
        };
        let Some((version, refresh_token, duplicate)) = usable else {
            return self.login(rng).await;
        };
        let attempts = self.policy().retry.attempts;
        for attempt in 1..=attempts {
            let req = self.token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ]);
            metrics.refresh_sent(self.group.index, duplicate && attempt == 1);
            let t0 = Instant::now();
            let answer = self.send(Endpoint::Token, req).await;
            let latency = t0.elapsed();
            let retry = match &answer {
                Some(resp) if resp.status() == StatusCode::OK => {
                    if let Some(tokens) = TokenResponse::parse(resp.body())
                        && let Some(access) =
                            tokens.access_token(self.policy().expiry_source, self.clock.now_ms())
                    {
                        metrics.refresh_done(self.group.index, RefreshEnd::Ok, latency);
                        lock(&self.store).store(access, tokens.refresh_token);
                        return Ok(());
                    }
                    false
                }
                Some(resp)
                    if resp.status() == StatusCode::BAD_REQUEST
                        && oauth_error(resp.body()).as_deref() == Some("invalid_grant") =>
                {
                    metrics.refresh_done(self.group.index, RefreshEnd::InvalidGrant, latency);
                    let moved_on = {
                        let mut s = lock(&self.store);
                        s.mark_dead(version);
                        s.version != version
                    };
                    // Another caller already replaced the tokens: nothing to log in for.
                    if moved_on {
                        return Ok(());
                    }
                    return self.login(rng).await;
                }
                Some(resp) => retryable(resp.status()),
                None => true,
            };
            metrics.refresh_done(self.group.index, RefreshEnd::Failed, latency);
            if !retry || attempt == attempts {
                break;
            }
            self.back_off(attempt, rng).await;
        }
        Err(Failure::Refresh)
    }
}

/// What a single-flight leader tells its waiters: `None` while the refresh runs.
type FlightResult = Option<Result<(), Failure>>;

/// One process of a client: shares the client's store, coordinates its own callers.
pub struct Instance<E> {
    client: Arc<Client<E>>,
    /// The refresh in flight in this instance, if any (single_flight).
    flight: Mutex<Option<watch::Receiver<FlightResult>>>,
}

enum Role {
    Lead(watch::Sender<FlightResult>),
    Wait(watch::Receiver<FlightResult>),
    AlreadyDone,
}

impl<E: Exchange> Instance<E> {
    pub fn new(client: Arc<Client<E>>) -> Instance<E> {
        Instance {
            client,
            flight: Mutex::new(None),
        }
    }

    pub fn client(&self) -> &Client<E> {
        &self.client
    }

    /// Whether a proactive policy wants this token renewed now.
    fn due(&self, token: &AccessToken, rng: &mut Rng) -> bool {
        let policy = self.client.policy();
        let now = self.client.clock.now_ms();
        let jitter = match policy.jitter.as_ms() {
            j if j > 0 => rng.random_range(0..=j),
            _ => 0,
        };
        match policy.trigger {
            Trigger::Buffer(buffer) => token.expires_at_ms - now < buffer.as_ms() + jitter,
            Trigger::Fraction(f) => {
                now + jitter >= token.received_at_ms + (token.lifetime_ms() as f64 * f) as i64
            }
        }
    }

    /// A token to send a request with, renewing it first when the policy says so.
    pub async fn token(&self, rng: &mut Rng) -> Result<(u64, Arc<AccessToken>), Failure> {
        let proactive = self.client.policy().refresh != RefreshMode::Reactive;
        let mut renewed = false;
        loop {
            let (version, access) = self.client.current();
            match access {
                None if renewed => return Err(Failure::Login),
                None => {
                    renewed = true;
                    self.obtain(Need::Login { seen: version }, rng).await?;
                }
                Some(token) if proactive && !renewed && self.due(&token, rng) => {
                    renewed = true;
                    // On failure the old token is still worth a try.
                    if self
                        .obtain(Need::Refresh { seen: version }, rng)
                        .await
                        .is_err()
                    {
                        return Ok((version, token));
                    }
                }
                Some(token) => return Ok((version, token)),
            }
        }
    }

    /// Gets what `need` asks for, coordinated as the policy says.
    pub async fn obtain(&self, need: Need, rng: &mut Rng) -> Result<(), Failure> {
        match self.client.policy().coordination {
            Coordination::SingleFlight => self.single_flight(need, rng).await,
            // `lock` coordination across instances is refused by validation for now.
            Coordination::None | Coordination::Lock => self.client.renew(need, rng).await,
        }
    }

    async fn single_flight(&self, need: Need, rng: &mut Rng) -> Result<(), Failure> {
        let metrics = self.client.group.metrics.clone();
        loop {
            let role = {
                let mut flight = lock(&self.flight);
                if let Some(rx) = flight.as_ref() {
                    Role::Wait(rx.clone())
                } else if lock(&self.client.store).version != need.seen() {
                    Role::AlreadyDone
                } else {
                    let (tx, rx) = watch::channel(None);
                    *flight = Some(rx);
                    Role::Lead(tx)
                }
            };
            match role {
                Role::AlreadyDone => return Ok(()),
                Role::Lead(tx) => {
                    metrics.lock_acquired(self.client.group.index);
                    let result = self.client.renew(need, rng).await;
                    *lock(&self.flight) = None;
                    let _ = tx.send(Some(result));
                    return result;
                }
                Role::Wait(mut rx) => {
                    metrics.lock_wait_started();
                    let t0 = Instant::now();
                    let wait = rx.wait_for(Option::is_some);
                    let outcome = match self.client.policy().wait {
                        Some(limit) => tokio::time::timeout(limit.to_std(), wait).await.ok(),
                        None => Some(wait.await),
                    }
                    .map(|r| r.map(|v| v.unwrap_or(Err(Failure::Refresh))));
                    metrics.lock_wait_ended(
                        self.client.group.index,
                        t0.elapsed(),
                        outcome.is_none(),
                    );
                    match outcome {
                        // Gave up waiting: renew without coordination.
                        None => return self.client.renew(need, rng).await,
                        Some(Ok(result)) => return result,
                        // The leader vanished without an answer: try again.
                        Some(Err(_)) => continue,
                    }
                }
            }
        }
    }
}

/// Time left before `deadline`, for callers that must not outlive the run.
pub fn until(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}
