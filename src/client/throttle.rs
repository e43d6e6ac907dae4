//! A client's cache of the token endpoint's error answers (`policy.throttle`).
//!
//! MSAL Python keeps an error answer and gives it back, without sending, to the same
//! token request for a while (`throttled_http_client.py`): the Retry-After of a 429 or
//! 5xx, a default when there is none, a fixed time for a 400. The issuer never sees
//! those requests; the client sees the same answer again.

use std::sync::{Mutex, MutexGuard};

use crate::clock::Instant;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use crate::duration::Dur;
use crate::exchange::{Response, retry_after_secs};
use crate::scenario::policy::Throttle;

/// One kept answer: which request it answers, until when, and what it said.
struct Kept {
    key: String,
    until: Instant,
    status: StatusCode,
    retry_after: Option<HeaderValue>,
    body: Bytes,
}

/// The answer kept last (one per client: a client sends one kind of token request at a
/// time).
#[derive(Default)]
pub(crate) struct Cache(Mutex<Option<Box<Kept>>>);

impl Cache {
    // Boxed: a client that is never throttled carries a pointer, not an answer.
    fn slot(&self) -> MutexGuard<'_, Option<Box<Kept>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer kept for `key`, while it lasts.
    pub(crate) fn replay(&self, key: &str) -> Option<Response> {
        let kept = self.slot();
        let k = kept
            .as_ref()
            .filter(|k| k.key == key && crate::clock::time::now() < k.until)?;
        let mut r = Response::new(k.body.clone());
        *r.status_mut() = k.status;
        if let Some(v) = &k.retry_after {
            r.headers_mut().insert(http::header::RETRY_AFTER, v.clone());
        }
        Some(r)
    }

    /// Keeps `answer` to `key` if the throttle keeps answers of its kind.
    pub(crate) fn keep(&self, throttle: &Throttle, key: &str, answer: &Response) {
        let retry_after = answer.headers().get(http::header::RETRY_AFTER).cloned();
        let after = retry_after_secs(answer).map(|s| Dur::secs(s.min(i64::MAX as u64) as i64));
        let Some(kept) = throttle.keep(answer.status().as_u16(), after) else {
            return;
        };
        *self.slot() = Some(Box::new(Kept {
            key: key.to_string(),
            until: crate::clock::time::now() + kept.to_std(),
            status: answer.status(),
            retry_after,
            body: answer.body().clone(),
        }));
    }
}
