//! The fake authorization server: handlers of RFC 6749 token requests and their kin.
//!
//! `POST /token` takes a form body, client authentication by `client_secret_basic` or
//! `client_secret_post`, and the grants `password` (a login: it starts a refresh-token
//! family), `client_credentials` and `refresh_token`. Access tokens are JWTs, or opaque
//! when the scenario says so; refresh tokens are opaque and belong to families, which
//! carry rotation, reuse detection with its grace period, idle and absolute expiry and
//! a per-user limit. `GET /jwks.json` publishes the verification keys (RFC 7517);
//! `POST /introspect` tells a resource whether an access token is active (RFC 7662);
//! `POST /revoke` revokes a token (RFC 7009); `GET
//! /.well-known/oauth-authorization-server` lists them all (RFC 8414). Errors are RFC
//! 6749 §5.2 answers. The handlers read time only from the issuer's own clock (the
//! run's clock plus its skew).
//!
//! Each endpoint has its file: `form` reads request bodies, `token` the token endpoint
//! and its grants, `introspect`, `revoke` and `metadata` the others. This one routes
//! requests, serves `GET /jwks.json` itself and holds what the endpoints share.

mod form;
mod introspect;
pub(crate) mod keys;
mod metadata;
mod revoke;
mod token;
mod tokens;

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use serde::Serialize;

use crate::clock::ActorClock;
use crate::exchange::{Request, Response};
use crate::rng::{self, stream};
use crate::scenario::IssuerConfig;
pub use keys::{KeyError, KeySet};
use tokens::Families;

/// What the issuer counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IssuerStats {
    /// Every request to the token endpoint, whatever its grant or outcome.
    pub token_requests: u64,
    /// Requests for the key set (GET /jwks.json).
    pub key_set_requests: u64,
    /// Signing keys rotated (`rotate_keys` faults).
    pub key_rotations: u64,
    /// Revocation requests (POST /revoke), and the live tokens they revoked.
    pub revocation_requests: u64,
    pub tokens_revoked: u64,
    /// Introspection requests (POST /introspect), and those answered active.
    pub introspection_requests: u64,
    pub introspection_active: u64,
    /// Successful password grants.
    pub logins: u64,
    /// Successful client_credentials grants.
    pub client_credentials: u64,
    /// Successful refresh_token grants (grace acceptances included).
    pub refreshes: u64,
    /// Requests answered invalid_grant.
    pub invalid_grant: u64,
    /// Rotated-out refresh tokens presented after their grace (with reuse detection on).
    pub reuse_detected: u64,
    /// Families revoked by reuse detection.
    pub families_revoked: u64,
    /// Families revoked by a `revoke` fault.
    pub revoked_by_faults: u64,
    /// Rotated-out refresh tokens accepted because they came within reuse_grace.
    pub grace_accepted: u64,
    /// Families evicted because their user logged in once too many (`max_per_user`).
    pub refresh_tokens_evicted: u64,
}

/// An RFC 6749 §5.2 error.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            code,
            description: description.into(),
        }
    }
    fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }
    fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", d)
    }
    fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", d)
    }
}

/// A 405 unless `req` uses `method` (HEAD too, for GET).
fn only(req: &Request, method: Method) -> Option<Response> {
    let m = req.method();
    if *m == method || (method == Method::GET && *m == Method::HEAD) {
        return None;
    }
    let mut resp = json(
        StatusCode::METHOD_NOT_ALLOWED,
        &serde_json::json!({"error": "invalid_request", "error_description": format!("this endpoint takes {method}")}),
    );
    if let Ok(v) = HeaderValue::try_from(method.as_str()) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    Some(resp)
}

/// A JSON answer with the headers RFC 6749 §5.1 requires of token responses.
fn json(status: StatusCode, body: &impl Serialize) -> Response {
    // Room for a token answer (its tokens and a few fields), not grown from nothing.
    let mut bytes = Vec::with_capacity(1024);
    if serde_json::to_writer(&mut bytes, body).is_err() {
        bytes.clear();
    }
    let mut resp = Response::new(Bytes::from(bytes));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

fn error_response(e: &OAuthError) -> Response {
    #[derive(Serialize)]
    struct Body<'a> {
        error: &'a str,
        error_description: &'a str,
    }
    let mut resp = json(
        e.status,
        &Body {
            error: e.code,
            error_description: &e.description,
        },
    );
    if e.status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tokenstorm\""),
        );
    }
    resp
}

struct State {
    families: Families,
    next_jti: u64,
    stats: IssuerStats,
    /// Opaque access tokens issued and not yet swept (they are swept once expired).
    opaque: std::collections::HashMap<u128, Opaque>,
    opaque_sweep_at: usize,
    /// Draws opaque access tokens.
    rng: crate::rng::Rng,
}

/// What the issuer knows of an opaque access token, for introspection.
struct Opaque {
    sub: Box<str>,
    scope: Box<str>,
    family: Option<u64>,
    iat: i64,
    exp: i64,
}

const MIN_OPAQUE_SWEEP: usize = 1024;

/// The families revoked by faults, shared with a resource that checks revocation.
pub(crate) type Revocations = Arc<std::sync::RwLock<std::collections::HashSet<u64>>>;

/// The family id of a `sid` claim (`fam-<hex>`).
pub(crate) fn family_of_sid(sid: &str) -> Option<u64> {
    u64::from_str_radix(sid.strip_prefix("fam-")?, 16).ok()
}

pub struct Issuer {
    config: IssuerConfig,
    revocations: Revocations,
    clock: ActorClock,
    keys: Arc<KeySet>,
    state: Mutex<State>,
}

/// The id of an opaque access token (`at_<32 hex>`).
fn decode_opaque(token: &str) -> Option<u128> {
    let hex = token.strip_prefix("at_")?;
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

impl Issuer {
    pub fn new(config: &IssuerConfig, clock: ActorClock, seed: u64) -> Result<Issuer, KeyError> {
        Ok(Issuer {
            config: config.clone(),
            revocations: Revocations::default(),
            clock,
            keys: Arc::new(match config.keys {
                Some(crate::scenario::KeySource::Fresh) => KeySet::fresh(config.signing)?,
                _ => KeySet::new(config.signing, rng::derive(seed, &[stream::KEYS]))?,
            }),
            state: Mutex::new(State {
                families: Families::new(rng::rng(seed, &[stream::ISSUER])),
                next_jti: 0,
                stats: IssuerStats::default(),
                opaque: std::collections::HashMap::new(),
                opaque_sweep_at: MIN_OPAQUE_SWEEP,
                rng: rng::rng(seed, &[stream::ISSUER, 1]),
            }),
        })
    }

    /// The families revoked by faults so far, as the resource may check them.
    pub(crate) fn revocations(&self) -> Revocations {
        self.revocations.clone()
    }

    /// Revokes a `fraction` of the live families (a `revoke` fault); returns how many.
    pub fn revoke_share(&self, fraction: f64, rng: &mut crate::rng::Rng) -> u64 {
        let ids = {
            let mut state = self.state();
            let ids = state.families.revoke_share(fraction, rng);
            state.stats.revoked_by_faults += ids.len() as u64;
            ids
        };
        let n = ids.len() as u64;
        self.revocations
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .extend(ids);
        n
    }

    /// The keys that verify this issuer's tokens.
    pub fn keys(&self) -> Arc<KeySet> {
        self.keys.clone()
    }

    /// The server's clock (the run's clock plus its skew), shared: a jump moves it.
    pub(crate) fn clock(&self) -> &ActorClock {
        &self.clock
    }

    pub fn stats(&self) -> IssuerStats {
        self.state().stats.clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers one HTTP request.
    pub async fn handle(&self, req: Request) -> Response {
        match req.uri().path() {
            "/token" => {
                self.state().stats.token_requests += 1;
                if let Some(refused) = only(&req, Method::POST) {
                    return refused;
                }
                match self.token(&req) {
                    Ok(resp) => resp,
                    Err(e) => {
                        if e.code == "invalid_grant" {
                            self.state().stats.invalid_grant += 1;
                        }
                        error_response(&e)
                    }
                }
            }
            "/introspect" => {
                self.state().stats.introspection_requests += 1;
                if let Some(refused) = only(&req, Method::POST) {
                    return refused;
                }
                match self.introspect(&req) {
                    Ok(resp) => resp,
                    Err(e) => error_response(&e),
                }
            }
            "/revoke" => {
                self.state().stats.revocation_requests += 1;
                if let Some(refused) = only(&req, Method::POST) {
                    return refused;
                }
                match self.revoke(&req) {
                    Ok(resp) => resp,
                    Err(e) => error_response(&e),
                }
            }
            "/.well-known/oauth-authorization-server" => {
                if let Some(refused) = only(&req, Method::GET) {
                    return refused;
                }
                self.metadata()
            }
            "/jwks.json" => {
                self.state().stats.key_set_requests += 1;
                if let Some(refused) = only(&req, Method::GET) {
                    return refused;
                }
                // A shared secret goes to this process's own API, and to everyone only
                // when the scenario asks (`publish_secret`).
                let secrets = self.config.publish_secret
                    || req
                        .extensions()
                        .get::<crate::exchange::Internal>()
                        .is_some();
                let published = self.keys.published(self.clock.now_ms(), secrets);
                let mut resp = json(StatusCode::OK, &published);
                resp.headers_mut().remove(header::PRAGMA);
                resp.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                resp
            }
            _ => json(
                StatusCode::NOT_FOUND,
                &serde_json::json!({"error": "not_found", "error_description": "the issuer serves POST /token, POST /revoke, POST /introspect, GET /jwks.json and GET /.well-known/oauth-authorization-server"}),
            ),
        }
    }

    /// Starts signing with a new key now (a `rotate_keys` fault); see `KeySet::rotate`.
    pub fn rotate_keys(&self, overlap_ms: i64, publish_delay_ms: i64) -> Result<String, KeyError> {
        let kid = self
            .keys
            .rotate(self.clock.now_ms(), overlap_ms, publish_delay_ms)?;
        self.state().stats.key_rotations += 1;
        Ok(kid)
    }
}
