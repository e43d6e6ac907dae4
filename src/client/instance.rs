//! One process of a client: when its callers renew the token, and how they wait.
//!
//! Before each request a caller asks its [`Instance`] for a token, and the policy
//! decides: past the soft point the soft window applies (block, one caller inline,
//! every caller inline, or serve the current token while a background refresh runs);
//! past the hard buffer everyone waits. How callers that need a new token are
//! coordinated is the policy's `coordination`: with `none` each refreshes itself; with
//! `single_flight` one refresh per instance is in flight and the others wait for its
//! result; with `try_lock` they take the instance's mutex with a timeout and re-check
//! the store; with `lock` the instance's callers gather behind one leader (as with
//! single_flight), who renews under the client's lock ([`Client::locked`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::flight;
use crate::clock::Instant;

use super::session::{Client, Failure, Need, draw_jitter, lock};
use super::store::AccessToken;
use crate::exchange::Exchange;
use crate::rng::Rng;
use crate::scenario::Coordination;
use crate::scenario::policy::Trigger;
use crate::scenario::{AfterSoftFailure, DuringRefresh, JitterPer, OnLockTimeout, SoftWindow};

/// Where a token stands for a policy that refreshes ahead of expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Fresh,
    /// Past the soft point: the soft window applies.
    Soft,
    /// Past the hard buffer: every caller waits for a new token.
    Hard,
}

/// One process of a client: shares the client's store, coordinates its own callers.
pub struct Instance<E> {
    client: Arc<Client<E>>,
    /// The refresh in flight in this instance, if any (single_flight).
    flight: Mutex<Option<flight::Receiver>>,
    /// The instance's refresh mutex: only `try_lock` takes one, so only its instances
    /// have one (a million of them are 64 MB).
    mutex: Option<Arc<tokio::sync::Mutex<()>>>,
    /// Draws for refreshes that run in the background (serve_stale, the timer).
    rng: Mutex<Rng>,
    /// The store version whose soft-window refresh failed (`after_soft_failure: hold`).
    /// 0: none (a token's version is 1 or more).
    soft_failed: AtomicU64,
}

enum Role {
    Lead(flight::Sender),
    Wait(flight::Receiver),
    AlreadyDone,
}

impl<E: Exchange> Instance<E> {
    pub fn new(client: Arc<Client<E>>, rng: Rng) -> Instance<E> {
        let mutex = (client.policy().coordination == Coordination::TryLock)
            .then(|| Arc::new(tokio::sync::Mutex::new(())));
        Instance {
            client,
            flight: Mutex::new(None),
            mutex,
            rng: Mutex::new(rng),
            soft_failed: AtomicU64::new(0),
        }
    }

    pub fn client(&self) -> &Client<E> {
        &self.client
    }

    /// The soft point of `token` on the client's clock, before jitter.
    fn soft_point(&self, token: &AccessToken) -> i64 {
        let policy = self.client.policy();
        if policy.use_refresh_in
            && let Some(at) = token.refresh_at_ms()
        {
            return at;
        }
        match policy.trigger {
            Trigger::Buffer(buffer) => token.expires_at_ms - buffer.as_ms(),
            Trigger::Fraction {
                fraction,
                min_lifetime,
                buffer,
            } => {
                if token.lifetime_ms() >= min_lifetime.as_ms() {
                    token.received_at_ms + (token.lifetime_ms() as f64 * fraction) as i64
                } else {
                    token.expires_at_ms - buffer.as_ms()
                }
            }
        }
    }

    /// The jitter for one check of `token`: ms earlier than its soft point (negative:
    /// later).
    fn jitter(&self, token: &AccessToken, rng: &mut Rng) -> i64 {
        let policy = self.client.policy();
        match policy.jitter_per {
            JitterPer::Token => token.jitter_ms,
            JitterPer::Check => draw_jitter(policy, rng),
        }
    }

    /// Where the token of store `version` stands now, for a policy that refreshes ahead
    /// of expiry.
    fn stage(&self, version: u64, token: &AccessToken, rng: &mut Rng) -> Stage {
        let policy = self.client.policy();
        let now = self.client.clock.now_ms();
        if now >= token.expires_at_ms - policy.hard_buffer.as_ms() {
            return Stage::Hard;
        }
        let held = policy.retry.after_soft_failure == AfterSoftFailure::Hold
            && self.soft_failed.load(Ordering::Relaxed) == version;
        if now + self.jitter(token, rng) >= self.soft_point(token)
            && !held
            && !self.client.too_soon()
        {
            return Stage::Soft;
        }
        Stage::Fresh
    }

    /// A refresh of the token of `version` failed in the soft window.
    fn soft_failure(&self, version: u64) {
        self.soft_failed.store(version, Ordering::Relaxed);
    }

    /// Whether a refresh is in flight in this instance.
    fn busy(&self) -> bool {
        lock(&self.flight).is_some() || self.mutex.as_ref().is_some_and(|m| m.try_lock().is_err())
    }

    /// Waits for the refresh in flight in this instance, if any (during_refresh: queue).
    /// The wait counts as a lock wait.
    async fn queue_behind_flight(&self) -> bool {
        let rx = lock(&self.flight).clone();
        let metrics = &self.client.group.metrics;
        let g = self.client.group.index;
        if let Some(rx) = rx {
            metrics.lock_wait_started();
            let t0 = crate::clock::time::now();
            let _ = rx.outcome().await;
            metrics.lock_wait_ended(
                g,
                crate::clock::time::now().saturating_duration_since(t0),
                false,
            );
            return true;
        }
        if let Some(mutex) = &self.mutex
            && mutex.try_lock().is_err()
        {
            metrics.lock_wait_started();
            let t0 = crate::clock::time::now();
            drop(mutex.lock().await);
            metrics.lock_wait_ended(
                g,
                crate::clock::time::now().saturating_duration_since(t0),
                false,
            );
            return true;
        }
        false
    }

    /// A token to send a request with, renewing it first when the policy says so.
    pub async fn token(
        self: &Arc<Self>,
        rng: &mut Rng,
    ) -> Result<(u64, Arc<AccessToken>), Failure> {
        let policy = self.client.policy();
        let mut renewed = false;
        if self.client.is_logged_out() {
            return Err(Failure::LoggedOut);
        }
        // The slow paths are boxed: the request loop's future holds only a pointer to
        // them, not their state, and pays for the box only when a refresh happens.
        if policy.during_refresh == DuringRefresh::Queue && self.busy() {
            Box::pin(self.queue_behind_flight()).await;
        }
        loop {
            let (version, access) = self.client.current();
            let token = match access {
                None if renewed => return Err(Failure::Login),
                None => {
                    renewed = true;
                    // A refresh when a refresh token is at hand (the access token was
                    // dropped), else a login: `renew` decides.
                    Box::pin(self.obtain(Need::Refresh { seen: version }, rng)).await?;
                    continue;
                }
                Some(token) => token,
            };
            if !policy.ahead_of_expiry() || renewed {
                return Ok((version, token));
            }
            let need = Need::Refresh { seen: version };
            let stage = self.stage(version, &token, rng);
            let window = match stage {
                Stage::Fresh => return Ok((version, token)),
                Stage::Hard => SoftWindow::Block,
                Stage::Soft => policy.soft_window,
            };
            renewed = true;
            let result = match window {
                SoftWindow::Block => Box::pin(self.obtain(need, rng)).await,
                SoftWindow::AllInline => Box::pin(self.client.renew(need, rng)).await,
                SoftWindow::OneInline if self.busy() => return Ok((version, token)),
                SoftWindow::OneInline => Box::pin(self.obtain(need, rng)).await,
                SoftWindow::ServeStale => {
                    self.refresh_in_background(need);
                    return Ok((version, token));
                }
            };
            if let Err(failure) = result {
                return self.after_failure(failure, stage, version);
            }
        }
    }

    /// What a caller whose renewal failed gets: a hard failure, or any past the hard
    /// point (where the SDKs give the error to the caller), reaches it; after a soft one
    /// the current token may still serve, if the policy keeps it.
    fn after_failure(
        &self,
        failure: Failure,
        stage: Stage,
        version: u64,
    ) -> Result<(u64, Arc<AccessToken>), Failure> {
        match failure {
            Failure::InvalidGrant | Failure::LoggedOut | Failure::LockTimeout => Err(failure),
            _ if stage == Stage::Hard => Err(Failure::Refresh),
            _ => {
                self.soft_failure(version);
                match self.client.current() {
                    (v, Some(t)) if self.client.policy().retry.keep_token => Ok((v, t)),
                    _ => Err(Failure::Refresh),
                }
            }
        }
    }

    /// Starts a refresh that no caller waits for (serve_stale). With coordination, one
    /// at a time per instance: the flight (or the mutex) is claimed before this returns,
    /// so the next caller sees it busy; without, every caller starts its own.
    fn refresh_in_background(self: &Arc<Self>, need: Need) {
        let mut rng = {
            let mut r = lock(&self.rng);
            <Rng as rand::SeedableRng>::from_rng(&mut *r)
        };
        let this = self.clone();
        match self.client.policy().coordination {
            Coordination::SingleFlight | Coordination::Lock => {
                let Role::Lead(tx) = self.claim(need) else {
                    return;
                };
                crate::clock::time::spawn(async move {
                    if this.lead(tx, need, &mut rng).await.is_err() {
                        this.soft_failure(need.seen());
                    }
                });
            }
            Coordination::TryLock => {
                let Some(Ok(guard)) = self.mutex.clone().map(|m| m.try_lock_owned()) else {
                    return;
                };
                self.client
                    .group
                    .metrics
                    .lock_acquired(self.client.group.index);
                crate::clock::time::spawn(async move {
                    if lock(&this.client.store).version == need.seen()
                        && this.client.renew(need, &mut rng).await.is_err()
                    {
                        this.soft_failure(need.seen());
                    }
                    drop(guard);
                });
            }
            Coordination::None => {
                crate::clock::time::spawn(async move {
                    if this.client.renew(need, &mut rng).await.is_err() {
                        this.soft_failure(need.seen());
                    }
                });
            }
        }
    }

    /// Refreshes at each token's soft point whether or not a request is waiting
    /// (refresh: background), until `end`.
    pub(crate) async fn timer(self: Arc<Self>, end: Instant) {
        let mut rng = {
            let mut r = lock(&self.rng);
            <Rng as rand::SeedableRng>::from_rng(&mut *r)
        };
        let pause = self
            .client
            .policy()
            .retry
            .backoff
            .to_std()
            .max(Duration::from_secs(1));
        while crate::clock::time::now() < end && !self.client.is_logged_out() {
            let (version, access) = self.client.current();
            let Some(token) = access else {
                crate::clock::time::sleep(pause.min(until(end))).await;
                continue;
            };
            let due = self.soft_point(&token) - self.jitter(&token, &mut rng);
            let now = self.client.clock.now_ms();
            if due <= token.received_at_ms {
                // Due as it arrived (a lifetime within the buffer): the requests renew
                // it on use; a timer would renew it in a loop.
                let left = (token.expires_at_ms - now).max(1000) as u64;
                crate::clock::time::sleep(Duration::from_millis(left).min(until(end))).await;
                continue;
            }
            let wait_ms = due - now;
            if wait_ms > 0 {
                crate::clock::time::sleep(Duration::from_millis(wait_ms as u64).min(until(end)))
                    .await;
                continue;
            }
            if self.client.current().0 == version
                && self
                    .obtain(Need::Refresh { seen: version }, &mut rng)
                    .await
                    .is_err()
            {
                crate::clock::time::sleep(pause.min(until(end))).await;
            }
            if self.client.current().0 == version {
                // Nothing changed (a failure, or a refresh too soon): do not spin.
                crate::clock::time::sleep(pause.min(until(end))).await;
            }
        }
    }

    /// Gets what `need` asks for, coordinated as the policy says.
    pub(crate) async fn obtain(&self, need: Need, rng: &mut Rng) -> Result<(), Failure> {
        match self.client.policy().coordination {
            // With `lock`, the instance's callers gather behind one leader, who takes
            // the client's lock.
            Coordination::SingleFlight | Coordination::Lock => self.single_flight(need, rng).await,
            Coordination::TryLock => self.try_lock(need, rng).await,
            Coordination::None => self.client.renew(need, rng).await,
        }
    }

    /// Takes the instance's mutex, waiting at most `lock.wait`, then re-checks the store:
    /// a token renewed meanwhile is used as it is. A caller that times out re-checks too,
    /// and renews without the lock if nothing changed.
    async fn try_lock(&self, need: Need, rng: &mut Rng) -> Result<(), Failure> {
        // An instance of a try_lock policy has its mutex; without one, there is
        // nothing to take and the caller renews as a timed-out one does.
        let Some(mutex) = self.mutex.as_deref() else {
            return self.client.renew(need, rng).await;
        };
        let metrics = self.client.group.metrics.clone();
        let g = self.client.group.index;
        let guard = match mutex.try_lock() {
            Ok(guard) => Some(guard),
            Err(_) => {
                metrics.lock_wait_started();
                let t0 = crate::clock::time::now();
                let guard = match self.client.policy().wait {
                    Some(limit) => crate::clock::time::timeout(limit.to_std(), mutex.lock())
                        .await
                        .ok(),
                    None => Some(mutex.lock().await),
                };
                metrics.lock_wait_ended(
                    g,
                    crate::clock::time::now().saturating_duration_since(t0),
                    guard.is_none(),
                );
                guard
            }
        };
        if guard.is_some() {
            metrics.lock_acquired(g);
        }
        if lock(&self.client.store).version != need.seen() {
            return Ok(());
        }
        if guard.is_none() && self.client.policy().on_lock_timeout == OnLockTimeout::Fail {
            return Err(Failure::LockTimeout);
        }
        let result = self.client.renew(need, rng).await;
        drop(guard);
        result
    }

    /// Who does the work for `need` in this instance: a new leader, a waiter on the
    /// flight in progress, or nobody because the store moved on already.
    fn claim(&self, need: Need) -> Role {
        let mut flight = lock(&self.flight);
        if let Some(rx) = flight.as_ref() {
            Role::Wait(rx.clone())
        } else if lock(&self.client.store).version != need.seen() {
            Role::AlreadyDone
        } else {
            let (tx, rx) = flight::channel();
            *flight = Some(rx);
            Role::Lead(tx)
        }
    }

    /// Renews as the leader of a flight and tells the waiters.
    async fn lead(&self, tx: flight::Sender, need: Need, rng: &mut Rng) -> Result<(), Failure> {
        let result = if self.client.policy().coordination == Coordination::Lock {
            // The flight only gathers this instance's callers; the lock is the client's.
            self.client.locked(need, rng).await
        } else {
            self.client
                .group
                .metrics
                .lock_acquired(self.client.group.index);
            self.client.renew(need, rng).await
        };
        *lock(&self.flight) = None;
        tx.send(result);
        result
    }

    async fn single_flight(&self, need: Need, rng: &mut Rng) -> Result<(), Failure> {
        let metrics = self.client.group.metrics.clone();
        loop {
            match self.claim(need) {
                Role::AlreadyDone => return Ok(()),
                Role::Lead(tx) => return self.lead(tx, need, rng).await,
                Role::Wait(rx) if self.client.policy().coordination == Coordination::Lock => {
                    // Behind this instance's leader, who waits for the lock itself; a
                    // lock that throws on timeout bounds this wait too (each caller of
                    // a Web Lock waits for it on its own).
                    let policy = self.client.policy();
                    let wait = rx.outcome();
                    let bounded = match (policy.on_lock_timeout, policy.wait) {
                        (OnLockTimeout::Fail, Some(limit)) => {
                            crate::clock::time::timeout(limit.to_std(), wait).await.ok()
                        }
                        _ => Some(wait.await),
                    };
                    match bounded {
                        None => return Err(Failure::LockTimeout),
                        Some(Ok(v)) => return v.unwrap_or(Err(Failure::Refresh)),
                        Some(Err(_)) => continue,
                    }
                }
                Role::Wait(rx) => {
                    metrics.lock_wait_started();
                    let t0 = crate::clock::time::now();
                    let wait = rx.outcome();
                    let outcome = match self.client.policy().wait {
                        Some(limit) => crate::clock::time::timeout(limit.to_std(), wait).await.ok(),
                        None => Some(wait.await),
                    }
                    .map(|r| r.map(|v| v.unwrap_or(Err(Failure::Refresh))));
                    metrics.lock_wait_ended(
                        self.client.group.index,
                        crate::clock::time::now().saturating_duration_since(t0),
                        outcome.is_none(),
                    );
                    match outcome {
                        None if self.client.policy().on_lock_timeout == OnLockTimeout::Fail => {
                            return Err(Failure::LockTimeout);
                        }
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
fn until(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(crate::clock::time::now())
}
