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
use http::StatusCode;
use rand::RngExt;
use rand_distr::{Distribution, Exp};

use super::instance::Instance;
use super::session::{Need, retry_after};
use crate::exchange::Exchange;
use crate::exchange::Response;
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
///
/// The loop's state is one struct the future captures and borrows in place: an async
/// fn's arguments are copied into its locals and kept twice in its future (rustc lays
/// out upvars apart from locals), and a million futures make that a megabyte a byte.
pub(crate) fn run<E: Exchange>(
    instance: Arc<Instance<E>>,
    pacer: Arc<Pacer>,
    end: Instant,
    rng: Rng,
) -> impl std::future::Future<Output = ()> + Send {
    let mut state = Loop {
        instance,
        pacer,
        end,
        rng,
    };
    async move { state.run().await }
}

/// What a request loop keeps between its requests.
struct Loop<E> {
    instance: Arc<Instance<E>>,
    pacer: Arc<Pacer>,
    end: Instant,
    rng: Rng,
}

impl<E: Exchange> Loop<E> {
    async fn run(&mut self) {
        let mut next = crate::clock::time::now() + self.pacer.first(&mut self.rng);
        while next < self.end {
            crate::clock::time::sleep_until(next).await;
            let (_, done) = request(&self.instance, &mut self.rng).await;
            next = (next + self.pacer.next(&mut self.rng)).max(done);
        }
        // Done, it waits for the run to end with the others rather than returning: a
        // million loops freed one by one (each the last owner of its client's memory)
        // cost seconds of the run's last minute; left to the end, they are freed
        // together, the sim's aside (see `clock::executor`), live's with its runtime.
        std::future::pending::<()>().await;
    }
}

/// One logical request, with its retries; records every attempt. Returns whether it
/// succeeded, and when it ended.
///
/// What it holds while it waits is the answer on its way, the token it carries (the
/// resource reads the header where the client keeps it) and a few numbers: the
/// token is dropped once answered, and the answer is read into a step before
/// anything else is awaited, so no answer (144 bytes) is kept while it refreshes or
/// waits to retry.
pub async fn request<E: Exchange>(instance: &Arc<Instance<E>>, rng: &mut Rng) -> (bool, Instant) {
    let mut tries = Tries::default();
    let ok = loop {
        let Ok((version, token)) = instance.token(rng).await else {
            break false;
        };
        let client = instance.client();
        let t0 = crate::clock::time::now();
        let answering = client.send_api(&token.header);
        // What the next request reads again: the token, the end of its header (which
        // the API hashes) and where the API found it.
        let header = token.header.as_bytes();
        let [number, entry] = client.api_touches();
        crate::clock::time::touching_next([
            Arc::as_ptr(&token).cast(),
            header[header.len().saturating_sub(16)..].as_ptr().cast(),
            number as *const (),
            entry as *const (),
        ]);
        let answer = answering.await.ok();
        drop(token);
        match settle(client, t0, answer, version, &mut tries, rng) {
            Step::Over(ok) => break ok,
            Step::Refresh(seen) => {
                if Box::pin(instance.obtain(Need::Refresh { seen }, rng))
                    .await
                    .is_err()
                {
                    break false;
                }
            }
            Step::Retry(delay) => crate::clock::time::sleep(delay).await,
        }
    };
    let end = crate::clock::time::now();
    let group = instance.client().group();
    group.metrics.logical_request(group.index, ok, end);
    (ok, end)
}

/// What a request loop does after an attempt.
enum Step {
    /// The logical request is over: whether it succeeded.
    Over(bool),
    /// Refresh the token of this version, then replay.
    Refresh(u64),
    /// Wait this long, then retry.
    Retry(Duration),
}

/// What a logical request has used of its policy's replays and retries.
#[derive(Default)]
struct Tries {
    failures: u32,
    replays: u32,
    /// An attempt was made before this one.
    retry: bool,
}

/// Records the attempt sent at `t0` with the token of store `version`, which got
/// `answer` (None: none in time), and says what comes next.
fn settle<E: Exchange>(
    client: &super::session::Client<E>,
    t0: Instant,
    answer: Option<Response>,
    version: u64,
    tries: &mut Tries,
    rng: &mut Rng,
) -> Step {
    let done = crate::clock::time::now();
    let status = answer.as_ref().map(|r| r.status());
    let rejected = client.group().dialect.rejection_status();
    let outcome = match status {
        Some(s) if s.is_success() => Attempt::Ok,
        Some(s) if s == StatusCode::UNAUTHORIZED || s.as_u16() == rejected => Attempt::Unauthorized,
        Some(_) => Attempt::Error,
        None => Attempt::Timeout,
    };
    let group = client.group();
    group
        .metrics
        .api_attempt(group.index, outcome, t0, done, tries.retry);
    tries.retry = true;
    next_step(client, outcome, answer.as_ref(), version, tries, rng)
}

/// What the policy does after an attempt that ended in `outcome`, with `answer`.
fn next_step<E: Exchange>(
    client: &super::session::Client<E>,
    outcome: Attempt,
    answer: Option<&Response>,
    version: u64,
    tries: &mut Tries,
    rng: &mut Rng,
) -> Step {
    let policy = client.policy();
    let status = answer.map(|r| r.status());
    match outcome {
        Attempt::Ok => Step::Over(true),
        Attempt::Unauthorized => {
            // What the policy can read in the answer decides what it does.
            let (action, applies) = match (status, answer) {
                (Some(StatusCode::UNAUTHORIZED), Some(resp)) => {
                    (policy.on_401, detects(policy.on_401_when, resp))
                }
                (Some(StatusCode::FORBIDDEN), _) => (policy.on_403, true),
                _ => (On401::Fail, false),
            };
            match action {
                On401::RefreshAndRetry if applies && tries.replays < policy.replays => {
                    tries.replays += 1;
                    Step::Refresh(version)
                }
                On401::DropToken if applies => {
                    client.drop_access(version);
                    Step::Over(false)
                }
                _ => Step::Over(false),
            }
        }
        Attempt::Error | Attempt::Timeout => {
            let again = status.is_none_or(|s| policy.retry.retryable(s.as_u16()));
            tries.failures += 1;
            if !again || tries.failures >= policy.retry.attempts {
                return Step::Over(false);
            }
            let delay = policy
                .retry
                .delay(tries.failures, rng.random::<f64>())
                .to_std();
            match (policy.retry.retry_after, answer.and_then(retry_after)) {
                (RetryAfter::GiveUp, Some(_)) => Step::Over(false),
                (RetryAfter::Wait, Some(after)) => Step::Retry(delay.max(after)),
                _ => Step::Retry(delay),
            }
        }
    }
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
