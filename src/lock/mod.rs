//! The lock that lets one instance of a client refresh while its other instances wait
//! (`coordination: lock`), and the token store those instances share.
//!
//! Three backends, one protocol. `simulated` is a Redis-like lock service inside the
//! run: `SET key value NX PX ttl` to take the lock, a compare-and-delete to release it,
//! a round trip of `latency` per operation, and a lock that expires by itself after
//! `ttl` even while its holder still works (the holder learns it has lost the lock when
//! its release finds another value, or none). `local` is an in-process mutex: no
//! latency, no expiry. `redis` (cargo feature `redis`) is the same protocol on a real
//! Redis, where the tokens live too, so instances in different processes share them.
//!
//! A waiter either polls at `poll` or, with `notify`, sleeps until the lock is released
//! or expires. After taking the lock a holder re-reads the shared store: a token another
//! instance renewed meanwhile is used as it is.

#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::Instant;
use tokio::sync::{Notify, OwnedMutexGuard};

use crate::duration::Dur;
use crate::scenario::LockBackend;
pub use crate::scenario::policy::{LockSettings, lock_defaults as defaults};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the lock service failed: {0}")]
    Service(String),
    #[error("this build has no redis backend; build with `--features redis`")]
    NoRedis,
}

/// A held lock, to be given back to [`LockService::release`].
#[derive(Debug)]
pub struct Held {
    key: String,
    value: String,
    /// The local backend's mutex guard.
    guard: Option<OwnedMutexGuard<()>>,
}

impl Held {
    fn new(key: &str, value: String, guard: Option<OwnedMutexGuard<()>>) -> Held {
        Held {
            key: key.to_string(),
            value,
            guard,
        }
    }
}

/// How taking the lock went.
#[derive(Debug)]
pub enum Acquire {
    /// Taken; `waited` is Some when it was held by another first.
    Taken {
        held: Held,
        waited: Option<Duration>,
    },
    /// The caller gave up after `waited` (its `lock.wait`).
    TimedOut { waited: Duration },
    /// The lock service could not be asked (Redis down, say).
    Failed {
        waited: Option<Duration>,
        error: String,
    },
}

/// One key of the simulated lock service.
#[derive(Debug)]
struct Entry {
    value: String,
    expires: Instant,
}

/// The simulated lock service: a table of keys with values and expiries.
#[derive(Debug, Default)]
struct Simulated {
    keys: Mutex<BTreeMap<String, Entry>>,
    /// Per key, the waiters of `notify` mode.
    wakers: Mutex<BTreeMap<String, Arc<Notify>>>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Simulated {
    fn waker(&self, key: &str) -> Arc<Notify> {
        guard(&self.wakers)
            .entry(key.to_string())
            .or_default()
            .clone()
    }

    /// SET key value NX PX ttl: Ok(None) when taken, else when the holder's lock expires.
    fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> Option<Instant> {
        let now = crate::clock::time::now();
        let mut keys = guard(&self.keys);
        match keys.get(key) {
            Some(e) if e.expires > now => Some(e.expires),
            _ => {
                keys.insert(
                    key.to_string(),
                    Entry {
                        value: value.to_string(),
                        expires: now + ttl,
                    },
                );
                None
            }
        }
    }

    /// Deletes `key` if it still holds `value` and has not expired; true when it did.
    fn compare_and_delete(&self, key: &str, value: &str) -> bool {
        let now = crate::clock::time::now();
        let mut keys = guard(&self.keys);
        let ours = keys.get(key).is_some_and(|e| e.value == value);
        let live = keys.get(key).is_some_and(|e| e.expires > now);
        if ours {
            // An expired entry of ours is gone for Redis too: drop it either way.
            keys.remove(key);
        }
        drop(keys);
        if ours && let Some(w) = guard(&self.wakers).get(key) {
            w.notify_waiters();
        }
        ours && live
    }
}

/// The in-process mutexes of the local backend, one per key.
#[derive(Debug, Default)]
struct Local {
    mutexes: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Local {
    /// Takes the mutex of `key`: at once when it is free, else after waiting at most
    /// `wait`. `contended` is called before the wait.
    async fn acquire(
        &self,
        key: &str,
        value: String,
        wait: Option<Duration>,
        contended: impl FnOnce(),
    ) -> Acquire {
        let t0 = crate::clock::time::now();
        let mutex = guard(&self.mutexes)
            .entry(key.to_string())
            .or_default()
            .clone();
        if let Ok(g) = mutex.clone().try_lock_owned() {
            return Acquire::Taken {
                held: Held::new(key, value, Some(g)),
                waited: None,
            };
        }
        contended();
        let got = match wait {
            Some(w) => crate::clock::time::timeout(w, mutex.lock_owned())
                .await
                .ok(),
            None => Some(mutex.lock_owned().await),
        };
        let waited = crate::clock::time::now().saturating_duration_since(t0);
        match got {
            Some(g) => Acquire::Taken {
                held: Held::new(key, value, Some(g)),
                waited: Some(waited),
            },
            None => Acquire::TimedOut { waited },
        }
    }
}

enum Backend {
    Simulated(Simulated),
    Local(Local),
    #[cfg(feature = "redis")]
    Redis(redis::RedisLocks),
}

/// The lock service of one client group, and (with Redis) the store of its tokens.
pub struct LockService {
    backend: Backend,
    settings: LockSettings,
    /// Makes every lock value unique: this process's tag and a counter.
    tag: String,
    next: std::sync::atomic::AtomicU64,
}

impl LockService {
    /// A service for `settings`. The redis backend connects first; `namespace` prefixes
    /// its keys (the run id, so runs sharing one Redis do not mix), `tag` names this
    /// process in lock values.
    pub async fn start(
        settings: LockSettings,
        namespace: &str,
        tag: &str,
    ) -> Result<LockService, LockError> {
        let backend = match settings.backend {
            LockBackend::Simulated => Backend::Simulated(Simulated::default()),
            LockBackend::Local => Backend::Local(Local::default()),
            #[cfg(feature = "redis")]
            LockBackend::Redis => {
                Backend::Redis(redis::RedisLocks::connect(&settings.redis_url(), namespace).await?)
            }
            #[cfg(not(feature = "redis"))]
            LockBackend::Redis => {
                let _ = namespace;
                return Err(LockError::NoRedis);
            }
        };
        Ok(LockService {
            backend,
            settings,
            tag: tag.to_string(),
            next: std::sync::atomic::AtomicU64::new(1),
        })
    }

    /// The Redis store of tokens, when the tokens live in Redis.
    #[cfg(feature = "redis")]
    pub(crate) fn redis(&self) -> Option<&redis::RedisLocks> {
        match &self.backend {
            Backend::Redis(r) => Some(r),
            _ => None,
        }
    }

    /// One round trip to the simulated service.
    async fn round_trip(&self) {
        if self.settings.latency > Dur::ZERO {
            crate::clock::time::sleep(self.settings.latency.to_std()).await;
        }
    }

    /// Re-reads the shared store after taking the lock: a round trip on the simulated
    /// service (the store itself is the client's, in this process). Redis reads are
    /// real and go through [`redis::RedisLocks`].
    pub(crate) async fn read_store(&self) {
        if let Backend::Simulated(_) = self.backend {
            self.round_trip().await;
        }
    }

    /// Takes the lock `key`, waiting at most `wait` (None: as long as it takes).
    /// `contended` is called once, when the caller starts to wait. `ops` counts the
    /// operations sent to the service.
    pub async fn acquire(
        &self,
        key: &str,
        wait: Option<Duration>,
        contended: impl FnOnce(),
        ops: &mut u64,
    ) -> Acquire {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let value = format!("{}:{n}", self.tag);
        match &self.backend {
            // A mutex: no operations to count, no expiry to wait for.
            Backend::Local(local) => local.acquire(key, value, wait, contended).await,
            _ => self.acquire_remote(key, value, wait, contended, ops).await,
        }
    }

    /// SET NX until it takes, waiting between tries by polling or, with `notify` on the
    /// simulated service, until the release.
    async fn acquire_remote(
        &self,
        key: &str,
        value: String,
        wait: Option<Duration>,
        contended: impl FnOnce(),
        ops: &mut u64,
    ) -> Acquire {
        let t0 = crate::clock::time::now();
        let deadline = wait.map(|w| t0 + w);
        let mut contended = Some(contended);
        let mut waiting = false;
        loop {
            *ops += 1;
            let taken = self.try_take(key, &value).await;
            let waited = waiting.then(|| crate::clock::time::now().saturating_duration_since(t0));
            let holder_expires = match taken {
                Ok(None) => {
                    return Acquire::Taken {
                        held: Held::new(key, value, None),
                        waited,
                    };
                }
                Ok(Some(expires)) => expires,
                Err(error) => return Acquire::Failed { waited, error },
            };
            if !waiting {
                waiting = true;
                if let Some(f) = contended.take() {
                    f();
                }
            }
            let now = crate::clock::time::now();
            if deadline.is_some_and(|d| now >= d) {
                return Acquire::TimedOut {
                    waited: crate::clock::time::now().saturating_duration_since(t0),
                };
            }
            self.wait_to_retry(key, now, holder_expires, deadline).await;
        }
    }

    /// One SET key value NX PX ttl on a remote backend: Ok(None) when taken, else
    /// when the holder's lock expires.
    async fn try_take(&self, key: &str, value: &str) -> Result<Option<Instant>, String> {
        let ttl = self.settings.ttl.to_std();
        match &self.backend {
            Backend::Simulated(sim) => {
                self.round_trip().await;
                Ok(sim.set_nx(key, value, ttl))
            }
            Backend::Local(_) => unreachable!("the local backend takes no round trips"),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.set_nx(key, value, ttl).await.map(|ok| {
                // Redis does not say when the holder's lock expires: poll.
                (!ok).then(|| crate::clock::time::now() + ttl)
            }),
        }
    }

    /// Waits after a refused SET, at most until `deadline`: until the release or the
    /// holder's expiry with `notify` on the simulated service, else one `poll`.
    async fn wait_to_retry(
        &self,
        key: &str,
        now: Instant,
        holder_expires: Instant,
        deadline: Option<Instant>,
    ) {
        let mut until = match (&self.backend, self.settings.notify) {
            // Woken at the release, or when the holder's lock expires.
            (Backend::Simulated(_), true) => holder_expires,
            _ => now + self.settings.poll.to_std(),
        };
        if let Some(d) = deadline {
            until = until.min(d);
        }
        match &self.backend {
            Backend::Simulated(sim) if self.settings.notify => {
                let waker = sim.waker(key);
                let notified = waker.notified();
                tokio::pin!(notified);
                // Registered before any await, so a release at this very moment
                // is not missed.
                notified.as_mut().enable();
                let _ = crate::clock::time::timeout_at(until, notified).await;
            }
            _ => crate::clock::time::sleep_until(until).await,
        }
    }

    /// Gives the lock back: true when it was still ours, false when it had expired
    /// while held (lost: another caller may have taken it meanwhile).
    pub async fn release(&self, held: Held, ops: &mut u64) -> Result<bool, String> {
        match &self.backend {
            Backend::Local(_) => {
                drop(held.guard);
                Ok(true)
            }
            Backend::Simulated(sim) => {
                *ops += 1;
                self.round_trip().await;
                Ok(sim.compare_and_delete(&held.key, &held.value))
            }
            #[cfg(feature = "redis")]
            Backend::Redis(r) => {
                *ops += 1;
                r.compare_and_delete(&held.key, &held.value).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(backend: LockBackend, notify: bool) -> LockSettings {
        LockSettings {
            backend,
            ttl: Dur::secs(10),
            latency: Dur::ms(1),
            poll: Dur::ms(100),
            notify,
            url: None,
        }
    }

    async fn take(s: &LockService, wait: Option<Duration>) -> Acquire {
        s.acquire("k", wait, || {}, &mut 0).await
    }

    #[tokio::test(start_paused = true)]
    async fn set_nx_semantics_and_ttl_expiry_while_held() {
        let s = LockService::start(settings(LockBackend::Simulated, false), "t", "p")
            .await
            .unwrap();
        let t0 = crate::clock::time::now();
        let Acquire::Taken { held, waited } = take(&s, None).await else {
            panic!("free lock not taken")
        };
        assert!(waited.is_none());
        assert_eq!(
            crate::clock::time::now().saturating_duration_since(t0),
            Duration::from_millis(1),
            "one round trip"
        );
        // A second caller waits until the first lock expires by itself (10 s), polling.
        let Acquire::Taken {
            held: second,
            waited,
        } = take(&s, None).await
        else {
            panic!("expired lock not taken")
        };
        let waited = waited.expect("it waited");
        assert!(waited >= Duration::from_secs(10) && waited < Duration::from_millis(10_200));
        // The first holder has lost its lock: its release says so and leaves the
        // second holder's lock alone.
        assert!(!s.release(held, &mut 0).await.unwrap());
        assert!(matches!(
            take(&s, Some(Duration::from_millis(300))).await,
            Acquire::TimedOut { .. }
        ));
        assert!(s.release(second, &mut 0).await.unwrap());
        assert!(matches!(
            take(&s, None).await,
            Acquire::Taken { waited: None, .. }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn notified_waiters_wake_at_the_release_not_the_next_poll() {
        // The release reaches the service at 2001 ms. A notified waiter's next SET
        // lands one round trip later; a polling one tries every 101 ms (100 ms of sleep,
        // 1 ms of round trip) and gets it at its first try after the release.
        for (notify, expect_ms) in [(true, 2_002), (false, 2_021)] {
            let s = Arc::new(
                LockService::start(settings(LockBackend::Simulated, notify), "t", "p")
                    .await
                    .unwrap(),
            );
            let Acquire::Taken { held, .. } = take(&s, None).await else {
                panic!()
            };
            let t0 = crate::clock::time::now();
            let s2 = s.clone();
            let waiter = tokio::spawn(async move { take(&s2, None).await });
            crate::clock::time::sleep(Duration::from_millis(2_000)).await;
            assert!(s.release(held, &mut 0).await.unwrap());
            let Acquire::Taken { .. } = waiter.await.unwrap() else {
                panic!()
            };
            let ms = crate::clock::time::now()
                .saturating_duration_since(t0)
                .as_millis() as u64;
            assert!(
                ms.abs_diff(expect_ms) <= 2,
                "notify {notify}: took {ms} ms, expected about {expect_ms}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn local_is_a_mutex_without_expiry() {
        let s = Arc::new(
            LockService::start(settings(LockBackend::Local, false), "t", "p")
                .await
                .unwrap(),
        );
        let Acquire::Taken { held, .. } = take(&s, None).await else {
            panic!()
        };
        // Held far past any ttl, it is still held.
        crate::clock::time::sleep(Duration::from_secs(60)).await;
        assert!(matches!(
            take(&s, Some(Duration::from_secs(1))).await,
            Acquire::TimedOut { .. }
        ));
        assert!(s.release(held, &mut 0).await.unwrap());
        assert!(matches!(
            take(&s, None).await,
            Acquire::Taken { waited: None, .. }
        ));
    }
}
