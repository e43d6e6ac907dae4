//! The resource's copy of the issuer's key set, kept the way jose's remote JWK Set is.
//!
//! The copy is fetched (GET /jwks.json at the issuer, through the exchange, so the
//! issuer's latency and faults apply) when a token names a `kid` the copy lacks, and
//! before use once it is older than `max_age`. An unknown kid refetches at most once
//! per `cooldown`: a flood of tokens signed by a key the issuer does not publish yet
//! costs one fetch, then rejections until the cooldown ends. Callers that need a fetch
//! while one is running wait for it and share its result.
//!
//! With `refresh: background` the copy is kept as Envoy's jwt_authn filter keeps it
//! with `async_fetch` (envoyproxy/envoy#16298: fetched before the listener serves;
//! #24035: refetched `cache_duration` less 5 s after a fetch, 1 s after a failure):
//! [`KeyCache::refresh`] runs on a timer of the resource's, and a request only reads
//! the copy, waiting only for the first fetch. A `kid` the copy lacks is rejected
//! until the next fetch (Envoy refetches for one only with `refetch_on_kid_mismatch`,
//! envoyproxy/envoy#36458). Nothing then depends on which request came first, which
//! is what lets clients run on separate threads.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;

use crate::exchange::{Endpoint, Request, Upstream};
use crate::scenario::{JwksConfig, JwksRefresh};

/// What the cache counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CacheStats {
    pub fetches: u64,
    pub fetch_failures: u64,
}

struct Held {
    keys: Vec<(String, Arc<DecodingKey>)>,
    /// When the last successful fetch ended (resource clock, ms).
    fetched_ms: Option<i64>,
    stats: CacheStats,
}

pub(crate) struct KeyCache {
    upstream: Arc<dyn Upstream>,
    cooldown_ms: i64,
    max_age_ms: i64,
    timeout: Duration,
    /// Fetched on a timer, never for a request (`refresh: background`).
    background: bool,
    copy: Mutex<Held>,
    /// Held while fetching, so that concurrent callers share one fetch.
    fetching: tokio::sync::Mutex<()>,
}

/// A key found, and the kids the copy lost if a fetch just replaced it.
pub(crate) struct Found {
    /// None: the copy lacks it (within the cooldown, unpublished, or the fetch failed).
    pub key: Option<Arc<DecodingKey>>,
    pub dropped: Vec<String>,
}

impl KeyCache {
    pub(crate) fn new(upstream: Arc<dyn Upstream>, config: &JwksConfig) -> KeyCache {
        KeyCache {
            upstream,
            cooldown_ms: config.cooldown.as_ms(),
            max_age_ms: config.max_age.as_ms(),
            timeout: config.timeout.to_std(),
            background: config.refresh == JwksRefresh::Background,
            copy: Mutex::new(Held {
                keys: Vec::new(),
                fetched_ms: None,
                stats: CacheStats::default(),
            }),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        self.copy().stats
    }

    fn copy(&self) -> MutexGuard<'_, Held> {
        self.copy.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the copy is kept on a timer ([`KeyCache::refresh`]) rather than
    /// fetched for requests.
    pub(crate) fn in_background(&self) -> bool {
        self.background
    }

    /// The key `kid`, fetching the key set first if the copy is stale or lacks it and
    /// the cooldown allows. `now` reads the resource's clock.
    pub(crate) async fn key(&self, kid: &str, now: impl Fn() -> i64) -> Found {
        if self.background {
            return self.kept(kid).await;
        }
        let fresh_hit = |copy: &Held, at: i64| {
            let fresh = copy.fetched_ms.is_some_and(|f| at - f < self.max_age_ms);
            fresh.then(|| find(copy, kid)).flatten()
        };
        if let Some(k) = fresh_hit(&self.copy(), now()) {
            return Found {
                key: Some(k),
                dropped: Vec::new(),
            };
        }
        let _turn = self.fetching.lock().await;
        // Whoever held the turn before may have fetched what is needed.
        let at = now();
        let (stale, known, cooling) = {
            let copy = self.copy();
            if let Some(k) = fresh_hit(&copy, at) {
                return Found {
                    key: Some(k),
                    dropped: Vec::new(),
                };
            }
            let stale = copy.fetched_ms.is_none_or(|f| at - f >= self.max_age_ms);
            let cooling = copy.fetched_ms.is_some_and(|f| at - f < self.cooldown_ms);
            (stale, find(&copy, kid), cooling)
        };
        if !stale && cooling {
            return Found {
                key: known,
                dropped: Vec::new(),
            };
        }
        let dropped = self.fetched(now).await.unwrap_or_default();
        Found {
            key: find(&self.copy(), kid),
            dropped,
        }
    }

    /// The key `kid` from the copy as it is; before the first fetch has ended, once
    /// it has (requests wait for it, as Envoy's listener opens after it).
    async fn kept(&self, kid: &str) -> Found {
        if self.copy().fetched_ms.is_none() {
            drop(self.fetching.lock().await);
        }
        Found {
            key: find(&self.copy(), kid),
            dropped: Vec::new(),
        }
    }

    /// Fetches the key set now (the timer's turn, `refresh: background`): the kids the
    /// copy lost, and when the next fetch is due (resource clock, ms).
    pub(crate) async fn refresh(&self, now: impl Fn() -> i64) -> (Vec<String>, i64) {
        let _turn = self.fetching.lock().await;
        match self.fetched(&now).await {
            Some(dropped) => (dropped, now() + (self.max_age_ms - 5_000).max(1_000)),
            None => (Vec::new(), now() + 1_000),
        }
    }

    /// Fetches the key set and replaces the copy with it: the kids the copy lost, or
    /// None when the fetch failed (a stale copy serves while the issuer cannot be
    /// reached). The caller holds the fetching turn.
    async fn fetched(&self, now: impl Fn() -> i64) -> Option<Vec<String>> {
        let Some(set) = self.fetch().await else {
            self.copy().stats.fetch_failures += 1;
            return None;
        };
        let keys: Vec<(String, Arc<DecodingKey>)> = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some((kid, Arc::new(key)))
            })
            .collect();
        let mut copy = self.copy();
        let dropped = copy
            .keys
            .iter()
            .filter(|(old, _)| !keys.iter().any(|(k, _)| k == old))
            .map(|(k, _)| k.clone())
            .collect();
        copy.keys = keys;
        copy.fetched_ms = Some(now());
        copy.stats.fetches += 1;
        Some(dropped)
    }

    async fn fetch(&self) -> Option<JwkSet> {
        let mut req = Request::new(Bytes::new());
        *req.method_mut() = Method::GET;
        *req.uri_mut() = http::Uri::from_static("/jwks.json");
        // This API is the issuer's own: it is told the shared secret of hs256.
        req.extensions_mut().insert(crate::exchange::Internal);
        let resp = self
            .upstream
            .call(Endpoint::Keys, req, self.timeout)
            .await
            .ok()?;
        if resp.status() != StatusCode::OK {
            return None;
        }
        serde_json::from_slice(resp.body()).ok()
    }
}

fn find(copy: &Held, kid: &str) -> Option<Arc<DecodingKey>> {
    copy.keys
        .iter()
        .find(|(k, _)| k == kid)
        .map(|(_, key)| key.clone())
}
