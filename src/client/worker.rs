//! A worker: one request loop of one instance.
//!
//! It sends a logical API request every `requests.every` (exponential or constant
//! spacing, open-loop: a slow request delays only itself), gets a token from its
//! instance first, and handles the answer as the policy says: a 401 leads to a refresh
//! and one replay (`on_401: refresh_and_retry`), a 5xx or a timeout to retries with
//! backoff.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Instant;
use bytes::Bytes;
use http::StatusCode;
use http::header::AUTHORIZATION;
use rand::RngExt;
use rand_distr::{Distribution, Exp};

use super::instance::Instance;
use super::session::{Need, retry_after};
use crate::exchange::Response;
use crate::exchange::{Endpoint, Exchange, Request};
use crate::metrics::Attempt;
use crate::rng::Rng;
use crate::scenario::{On401, On401When, Requests, RetryAfter, Spacing};

/// Gaps between a worker's requests.
pub(crate) struct Pacer {
    spacing: Spacing,
    every_ms: f64,
    exp: Option<Exp<f64>>,
}

impl Pacer {
    pub(crate) fn new(requests: &Requests) -> Pacer {
        let every_ms = requests.every.as_ms().max(1) as f64;
        Pacer {
            spacing: requests.distribution,
            every_ms,
            exp: Exp::new(1.0 / every_ms).ok(),
        }
    }

    /// The wait before the first request after the worker starts.
    pub(crate) fn first(&self, rng: &mut Rng) -> Duration {
        match self.spacing {
            Spacing::Constant => Duration::ZERO,
            Spacing::Exponential => self.next(rng),
        }
    }

    pub(crate) fn next(&self, rng: &mut Rng) -> Duration {
        let ms = match (self.spacing, &self.exp) {
            (Spacing::Exponential, Some(exp)) => exp.sample(rng),
            _ => self.every_ms,
        };
        Duration::from_millis(ms.round() as u64)
    }
}

/// Sends requests until `end`.
pub(crate) async fn run<E: Exchange>(
    instance: Arc<Instance<E>>,
    pacer: Arc<Pacer>,
    end: Instant,
    mut rng: Rng,
) {
    let mut next = crate::clock::time::now() + pacer.first(&mut rng);
    while next < end {
        crate::clock::time::sleep_until(next).await;
        let (_, done) = request(&instance, &mut rng).await;
        next = (next + pacer.next(&mut rng)).max(done);
    }
    // Done, it waits for the run to end with the others rather than returning: a
    // million loops freed one by one (each the last owner of its client's memory) cost
    // seconds of the run's last minute; left to the end, they are freed together, the
    // sim's aside (see `clock::executor`), live's with its runtime.
    std::future::pending::<()>().await;
}

/// One logical request, with its retries; records every attempt. Returns whether it
/// succeeded, and when it ended.
pub async fn request<E: Exchange>(instance: &Arc<Instance<E>>, rng: &mut Rng) -> (bool, Instant) {
    let client = instance.client();
    let policy = client.policy();
    let metrics = &client.group().metrics;
    let mut failures = 0u32;
    let mut replays = 0u32;
    let mut retry = false;
    let ok = loop {
        let Ok((version, token)) = instance.token(rng).await else {
            break false;
        };
        let t0 = crate::clock::time::now();
        // The request is built and sent in one expression: held in no local, it takes
        // no room in the loop's future while the answer is awaited.
        let answer = client
            .send(Endpoint::Api, api_request(client.group(), &token))
            .await
            .ok();
        let done = crate::clock::time::now();
        let status = answer.as_ref().map(|r| r.status());
        let rejected = client.group().dialect.rejection_status();
        let outcome = match status {
            Some(s) if s.is_success() => Attempt::Ok,
            Some(s) if s == StatusCode::UNAUTHORIZED || s.as_u16() == rejected => {
                Attempt::Unauthorized
            }
            Some(_) => Attempt::Error,
            None => Attempt::Timeout,
        };
        metrics.api_attempt(client.group().index, outcome, t0, done, retry);
        retry = true;
        match outcome {
            Attempt::Ok => break true,
            Attempt::Unauthorized => {
                // What the policy can read in the answer decides what it does.
                let (action, applies) = match (status, answer.as_ref()) {
                    (Some(StatusCode::UNAUTHORIZED), Some(resp)) => {
                        (policy.on_401, detects(policy.on_401_when, resp))
                    }
                    (Some(StatusCode::FORBIDDEN), _) => (policy.on_403, true),
                    _ => (On401::Fail, false),
                };
                match action {
                    On401::RefreshAndRetry if applies && replays < policy.replays => {
                        replays += 1;
                        if Box::pin(instance.obtain(Need::Refresh { seen: version }, rng))
                            .await
                            .is_err()
                        {
                            break false;
                        }
                    }
                    On401::DropToken if applies => {
                        client.drop_access(version);
                        break false;
                    }
                    _ => break false,
                }
            }
            Attempt::Error | Attempt::Timeout => {
                let again = status.is_none_or(|s| policy.retry.retryable(s.as_u16()));
                failures += 1;
                if !again || failures >= policy.retry.attempts {
                    break false;
                }
                let mut delay = policy.retry.delay(failures, rng.random::<f64>()).to_std();
                match (
                    policy.retry.retry_after,
                    answer.as_ref().and_then(retry_after),
                ) {
                    (RetryAfter::GiveUp, Some(_)) => break false,
                    (RetryAfter::Wait, Some(after)) => delay = delay.max(after),
                    _ => {}
                }
                crate::clock::time::sleep(delay).await;
            }
        }
    };
    let end = crate::clock::time::now();
    metrics.logical_request(client.group().index, ok, end);
    (ok, end)
}

/// The group's API request, carrying `token`.
fn api_request<E>(group: &super::Group<E>, token: &super::store::AccessToken) -> Request {
    let mut req = Request::new(Bytes::new());
    *req.uri_mut() = group.api.clone();
    // Room for its one header only (a first insert would make room for six).
    *req.headers_mut() = http::HeaderMap::with_capacity(1);
    req.headers_mut()
        .insert(AUTHORIZATION, token.header.clone());
    req
}

/// Whether a policy reading 401s `when` takes this one for a rejected token.
pub(crate) fn detects(when: On401When, resp: &Response) -> bool {
    match when {
        On401When::Any => true,
        On401When::InvalidToken => says_invalid_token(resp),
        On401When::ErrorCode => says_invalid_token(resp) || has_token_error_code(resp),
    }
}

/// Vendor error codes that name an invalid or expired access token.
const TOKEN_ERROR_CODES: [&str; 6] = [
    "invalid_token",
    "InvalidAuthenticationToken",
    "token_expired",
    "expired_token",
    "INVALID_SESSION_ID",
    "TokenExpired",
];

/// Whether a JSON body carries a token error code where APIs put one: `error` (a
/// string, or an object with `code`), `code` or `errorCode`, in the body or in the
/// first element of a body that is a list (as Salesforce answers).
fn has_token_error_code(resp: &Response) -> bool {
    let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(resp.body()) else {
        return false;
    };
    if let serde_json::Value::Array(items) = &mut body {
        body = items.first().cloned().unwrap_or_default();
    }
    let is_token_code = |v: Option<&serde_json::Value>| {
        v.and_then(|v| v.as_str())
            .is_some_and(|c| TOKEN_ERROR_CODES.contains(&c))
    };
    let error = body.get("error");
    is_token_code(error)
        || is_token_code(error.and_then(|e| e.get("code")))
        || is_token_code(body.get("code"))
        || is_token_code(body.get("errorCode"))
}

/// Whether a 401 says the token is invalid or expired: an RFC 6750 challenge with
/// `error="invalid_token"`, or a JSON body with that error code.
pub(crate) fn says_invalid_token(resp: &Response) -> bool {
    let challenge = resp
        .headers()
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("invalid_token"));
    challenge || {
        #[derive(serde::Deserialize)]
        struct E {
            error: String,
        }
        serde_json::from_slice::<E>(resp.body()).is_ok_and(|e| e.error == "invalid_token")
    }
}
