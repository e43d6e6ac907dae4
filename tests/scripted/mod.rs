//! One client against a scripted server, for the tests of policies and presets: its answers
//! decided by the test and every request's time logged on the virtual clock.

#![allow(dead_code)] // each test file uses a part

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use tokenstorm::client::{Client, Credentials, Group, Instance};
use tokenstorm::clock::{Clock, SIM_EPOCH_MS};
use tokenstorm::duration::Dur;
use tokenstorm::exchange::{Endpoint, Exchange, ExchangeError, Request, Response};
use tokenstorm::metrics::Metrics;
use tokenstorm::scenario::{Policy, PolicySpec};

/// One scripted answer.
#[derive(Clone)]
pub enum Answer {
    /// A token response (token endpoint) or 200 (API).
    Ok,
    Status(u16, Vec<(&'static str, &'static str)>),
    /// 400 with `{"error":"invalid_grant"}`.
    InvalidGrant,
    /// No answer before the client's timeout.
    Silent,
}

pub struct Scripted {
    start: tokio::time::Instant,
    ttl_secs: i64,
    /// `refresh_in` of every token response, if any.
    pub refresh_in: Option<i64>,
    /// How long the token endpoint takes to answer.
    pub token_delay: Duration,
    token: Mutex<VecDeque<Answer>>,
    api: Mutex<VecDeque<Answer>>,
    /// (ms since start, endpoint, grant type or path)
    log: Mutex<Vec<(u64, Endpoint, String)>>,
    issued: Mutex<u64>,
}

impl Scripted {
    pub fn new(ttl_secs: i64, token: &[Answer], api: &[Answer]) -> Scripted {
        Scripted {
            start: tokio::time::Instant::now(),
            ttl_secs,
            refresh_in: None,
            token_delay: Duration::ZERO,
            token: Mutex::new(token.iter().cloned().collect()),
            api: Mutex::new(api.iter().cloned().collect()),
            log: Mutex::new(Vec::new()),
            issued: Mutex::new(0),
        }
    }

    /// Times (ms) of the token requests with this grant type.
    pub fn grants(&self, grant: &str) -> Vec<u64> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e, what)| *e == Endpoint::Token && what == grant)
            .map(|(t, _, _)| *t)
            .collect()
    }

    pub fn api_calls(&self) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e, _)| *e == Endpoint::Api)
            .count()
    }

    fn token_body(&self) -> String {
        let n = {
            let mut i = self.issued.lock().unwrap();
            *i += 1;
            *i
        };
        let refresh_in = self
            .refresh_in
            .map(|r| format!(r#","refresh_in":{r}"#))
            .unwrap_or_default();
        format!(
            r#"{{"access_token":"at{n}","token_type":"Bearer","expires_in":{},"refresh_token":"rt{n}"{refresh_in}}}"#,
            self.ttl_secs
        )
    }
}

pub fn status(code: u16, headers: &[(&'static str, &'static str)], body: &'static str) -> Response {
    let mut r = Response::new(Bytes::from_static(body.as_bytes()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap();
    for (k, v) in headers {
        r.headers_mut().insert(*k, v.parse().unwrap());
    }
    r
}

impl Exchange for Scripted {
    async fn send(
        &self,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
        _draw: u64,
    ) -> Result<Response, ExchangeError> {
        let now = self.start.elapsed().as_millis() as u64;
        let what = match endpoint {
            Endpoint::Token => form_urlencoded::parse(request.body())
                .find(|(k, _)| k == "grant_type")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default(),
            _ => request.uri().path().to_string(),
        };
        self.log.lock().unwrap().push((now, endpoint, what));
        let queue = match endpoint {
            Endpoint::Token => &self.token,
            _ => &self.api,
        };
        let answer = queue.lock().unwrap().pop_front().unwrap_or(Answer::Ok);
        if endpoint == Endpoint::Token && !self.token_delay.is_zero() {
            tokio::time::sleep(self.token_delay).await;
        }
        if let Answer::Silent = answer {
            tokio::time::sleep(timeout).await;
            return Err(ExchangeError::Timeout);
        }
        Ok(match (answer, endpoint) {
            (Answer::Ok, Endpoint::Token) => {
                let mut r = Response::new(Bytes::from(self.token_body()));
                r.headers_mut()
                    .insert("content-type", "application/json".parse().unwrap());
                r
            }
            (Answer::Ok, _) => status(200, &[], "{}"),
            (Answer::Status(code, headers), _) => status(code, &headers, r#"{"error":"x"}"#),
            (Answer::InvalidGrant, _) => status(400, &[], r#"{"error":"invalid_grant"}"#),
            (Answer::Silent, _) => unreachable!("answered above"),
        })
    }
}

/// One client with one instance, its policy written as YAML.
pub fn client(policy: &str, server: Scripted) -> (Arc<Instance<Scripted>>, Arc<Scripted>) {
    let spec: PolicySpec = serde_saphyr::from_str(policy).unwrap();
    client_with(Policy::resolve(&spec), server, 1)
}

/// One client with one instance and this policy; `seed` feeds its draws.
pub fn client_with(
    policy: Policy,
    server: Scripted,
    seed: u64,
) -> (Arc<Instance<Scripted>>, Arc<Scripted>) {
    let server = Arc::new(server);
    let clock = Clock::start(SIM_EPOCH_MS);
    let metrics = Arc::new(Metrics::new(clock, 1000, 100, 1, Default::default()));
    let group = Arc::new(Group {
        index: 0,
        exchange: server.clone(),
        metrics,
        policy,
        login_latency: Dur::ZERO,
        credentials: Credentials::of_issuer(&Default::default()),
        api: http::Uri::from_static("/api/me"),
        dialect: tokenstorm::scenario::Dialect::Rfc6750,
        lock: None,
        name: "g".into(),
        users: None,
    });
    let c = Arc::new(Client::new(
        group,
        0,
        clock.skewed(0),
        tokenstorm::rng::Draws::new(seed, &[9]),
    ));
    (Arc::new(Instance::new(c, rng(seed))), server)
}

pub fn rng(n: u64) -> tokenstorm::rng::Rng {
    tokenstorm::rng::rng(n, &[99])
}

pub async fn at(ms: u64) {
    tokio::time::sleep_until(tokio::time::Instant::now() + Duration::from_millis(ms)).await;
}
