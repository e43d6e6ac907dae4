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

pub mod keys;
mod tokens;

use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use serde::Serialize;

use crate::clock::ActorClock;
use crate::exchange::{Request, Response};
use crate::rng::{self, stream};
use crate::scenario::{IssuerConfig, TokenFormat};
pub use keys::{KeyError, KeySet};
use rand::RngExt as _;
use tokens::{Families, Presented};

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
    let bytes = serde_json::to_vec(body).unwrap_or_default();
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

/// The claims of an access token.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
    scope: &'a str,
    client_id: &'a str,
    /// The refresh-token family (session) the token belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

#[derive(Serialize)]
struct TokenBody<'a> {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_in: Option<i64>,
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

/// An RFC 7662 §2.2 answer for an active token.
#[derive(Serialize)]
struct Active<'a> {
    active: bool,
    scope: &'a str,
    client_id: &'a str,
    token_type: &'static str,
    sub: &'a str,
    aud: &'a str,
    iss: &'a str,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

/// The claims introspection reads from a JWT access token.
#[derive(serde::Deserialize)]
struct JwtClaims {
    sub: String,
    scope: String,
    iat: i64,
    exp: i64,
    sid: Option<String>,
}

const MIN_OPAQUE_SWEEP: usize = 1024;

/// The families revoked by faults, shared with a resource that checks revocation.
pub type Revocations = Arc<std::sync::RwLock<std::collections::HashSet<u64>>>;

/// The family id of a `sid` claim (`fam-<hex>`).
pub fn family_of_sid(sid: &str) -> Option<u64> {
    u64::from_str_radix(sid.strip_prefix("fam-")?, 16).ok()
}

pub struct Issuer {
    config: IssuerConfig,
    revocations: Revocations,
    clock: ActorClock,
    keys: Arc<KeySet>,
    state: Mutex<State>,
}

/// The form of a token request, with each parameter at most once (RFC 6749 §3.2).
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Result<Form, OAuthError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| OAuthError::invalid_request("the body is not UTF-8"))?;
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(text.as_bytes()) {
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter `{k}` is repeated"
                )));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Form(pairs))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn require(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter `{key}`")))
    }
}

/// Token and introspection requests carry a form (RFC 6749 §4.3.2, RFC 7662 §2.1).
fn form_content(req: &Request) -> Result<(), OAuthError> {
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
        .unwrap_or(false);
    if form_type {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ))
    }
}

/// The id of an opaque access token (`at_<32 hex>`).
fn decode_opaque(token: &str) -> Option<u128> {
    let hex = token.strip_prefix("at_")?;
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

/// Decodes one form-encoded half of a Basic credential (RFC 6749 §2.3.1).
fn form_decode(s: &str) -> String {
    form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl Issuer {
    pub fn new(config: &IssuerConfig, clock: ActorClock, seed: u64) -> Result<Issuer, KeyError> {
        Ok(Issuer {
            config: config.clone(),
            revocations: Revocations::default(),
            clock,
            keys: Arc::new(KeySet::new(
                config.signing,
                rng::derive(seed, &[stream::KEYS]),
            )?),
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
    pub fn revocations(&self) -> Revocations {
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
    pub fn clock(&self) -> &ActorClock {
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
                self.metadata(&req)
            }
            "/jwks.json" => {
                self.state().stats.key_set_requests += 1;
                if let Some(refused) = only(&req, Method::GET) {
                    return refused;
                }
                let mut resp = json(StatusCode::OK, &self.keys.published(self.clock.now_ms()));
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

    /// Starts signing with a new key now (a `rotate_keys` fault); see [`KeySet::rotate`].
    pub fn rotate_keys(&self, overlap_ms: i64, publish_delay_ms: i64) -> Result<String, KeyError> {
        let kid = self
            .keys
            .rotate(self.clock.now_ms(), overlap_ms, publish_delay_ms)?;
        self.state().stats.key_rotations += 1;
        Ok(kid)
    }

    fn token(&self, req: &Request) -> Result<Response, OAuthError> {
        form_content(req)?;
        let form = Form::parse(req.body())?;
        self.authenticate_client(req, &form)?;
        let grant = form
            .get("grant_type")
            .ok_or_else(|| OAuthError::invalid_request("missing parameter `grant_type`"))?;
        match grant {
            "password" => self.password(&form),
            "client_credentials" => self.client_credentials(&form),
            "refresh_token" => self.refresh(&form),
            other => Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "grant type `{other}` is not supported; accepted: password, client_credentials, refresh_token"
                ),
            )),
        }
    }

    /// client_secret_basic or client_secret_post, not both (RFC 6749 §2.3.1).
    fn authenticate_client(&self, req: &Request, form: &Form) -> Result<(), OAuthError> {
        let mut basic = None;
        let mut authorizations = req.headers().get_all(header::AUTHORIZATION).iter();
        if let Some(value) = authorizations.next() {
            if authorizations.next().is_some() {
                return Err(OAuthError::invalid_request(
                    "more than one Authorization header",
                ));
            }
            let value = value
                .to_str()
                .map_err(|_| OAuthError::invalid_client("unreadable Authorization header"))?;
            let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(OAuthError::invalid_client(
                    "client authentication must use the Basic scheme",
                ));
            }
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
            basic = Some((form_decode(id), form_decode(secret)));
        }
        let post = form.get("client_secret").map(|secret| {
            (
                form.get("client_id").unwrap_or_default().to_string(),
                secret.to_string(),
            )
        });
        let (id, secret) = match (basic, post) {
            (Some(_), Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not both",
                ));
            }
            (Some(c), None) | (None, Some(c)) => c,
            (None, None) => {
                return Err(OAuthError::invalid_client("client authentication required"));
            }
        };
        if id != self.config.client_id || secret != self.config.client_secret {
            return Err(OAuthError::invalid_client("unknown client or wrong secret"));
        }
        Ok(())
    }

    /// The scope asked for, which must be within the issuer's scope.
    fn scope<'a>(&'a self, form: &'a Form) -> Result<&'a str, OAuthError> {
        match form.get("scope") {
            None => Ok(&self.config.scope),
            Some(asked) => {
                let allowed: Vec<&str> = self.config.scope.split_whitespace().collect();
                if asked.split_whitespace().all(|s| allowed.contains(&s)) {
                    Ok(asked)
                } else {
                    Err(OAuthError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        format!("scope `{asked}` exceeds `{}`", self.config.scope),
                    ))
                }
            }
        }
    }

    /// RFC 7009: revokes the token in the form. A refresh token takes its whole family
    /// (and, where revocation is checked, the family's access tokens); an opaque access
    /// token dies alone. Unknown tokens are answered 200 all the same (§2.2).
    fn revoke(&self, req: &Request) -> Result<Response, OAuthError> {
        form_content(req)?;
        let form = Form::parse(req.body())?;
        self.authenticate_client(req, &form)?;
        let token = form.require("token")?;
        let mut state = self.state();
        if let Some(id) = decode_opaque(token) {
            if state.opaque.remove(&id).is_some() {
                state.stats.tokens_revoked += 1;
            }
        } else if let Some(family) = state.families.revoke_token(token) {
            state.stats.tokens_revoked += 1;
            drop(state);
            self.revocations
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(family);
        }
        Ok(json(StatusCode::OK, &serde_json::json!({})))
    }

    /// RFC 8414 metadata, its URLs on the host the request was sent to.
    fn metadata(&self, req: &Request) -> Response {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let base = format!("http://{host}");
        let mut resp = json(
            StatusCode::OK,
            &serde_json::json!({
                "issuer": self.config.issuer,
                "token_endpoint": format!("{base}/token"),
                "revocation_endpoint": format!("{base}/revoke"),
                "introspection_endpoint": format!("{base}/introspect"),
                "jwks_uri": format!("{base}/jwks.json"),
                "grant_types_supported": ["password", "client_credentials", "refresh_token"],
                "response_types_supported": [],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": self.config.scope.split_whitespace().collect::<Vec<_>>(),
            }),
        );
        resp.headers_mut().remove(header::PRAGMA);
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        resp
    }

    /// RFC 7662: the state of the token in the form. An unknown, expired or revoked
    /// token is `{"active": false}` and nothing else (§2.2).
    fn introspect(&self, req: &Request) -> Result<Response, OAuthError> {
        form_content(req)?;
        let form = Form::parse(req.body())?;
        self.authenticate_client(req, &form)?;
        let token = form.require("token")?;
        let now = self.clock.now_secs();
        let inactive = || json(StatusCode::OK, &serde_json::json!({"active": false}));
        let revoked = |family: Option<u64>| {
            family.is_some_and(|f| {
                self.revocations
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains(&f)
            })
        };
        let active = |sub: &str, scope: &str, iat: i64, exp: i64, family: Option<u64>| {
            json(
                StatusCode::OK,
                &Active {
                    active: true,
                    scope,
                    client_id: &self.config.client_id,
                    token_type: "Bearer",
                    sub,
                    aud: &self.config.audience,
                    iss: &self.config.issuer,
                    iat,
                    exp,
                    sid: family.map(|f| format!("fam-{f:x}")),
                },
            )
        };
        if let Some(id) = decode_opaque(token) {
            let state = self.state();
            return Ok(match state.opaque.get(&id) {
                Some(t) if now < t.exp && !revoked(t.family) => {
                    let r = active(&t.sub, &t.scope, t.iat, t.exp, t.family);
                    drop(state);
                    self.state().stats.introspection_active += 1;
                    r
                }
                _ => inactive(),
            });
        }
        // A JWT of this issuer: its signature by a published key, then its claims.
        let Some(claims) = jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|h| h.kid)
            .and_then(|kid| {
                let mut v = jsonwebtoken::Validation::new(self.keys.algorithm());
                v.validate_exp = false;
                v.set_issuer(&[&self.config.issuer]);
                v.set_audience(&[&self.config.audience]);
                self.keys
                    .with_published_key(&kid, self.clock.now_ms(), |key| {
                        jsonwebtoken::decode::<JwtClaims>(token, key, &v).ok()
                    })
                    .flatten()
            })
            .map(|d| d.claims)
        else {
            return Ok(inactive());
        };
        let family = claims.sid.as_deref().and_then(family_of_sid);
        if now >= claims.exp || revoked(family) {
            return Ok(inactive());
        }
        self.state().stats.introspection_active += 1;
        Ok(active(
            &claims.sub,
            &claims.scope,
            claims.iat,
            claims.exp,
            family,
        ))
    }

    fn access_token(
        &self,
        state: &mut State,
        sub: &str,
        scope: &str,
        sid: Option<u64>,
    ) -> Result<String, OAuthError> {
        let iat = self.clock.now_secs();
        let ttl = self.config.access_token.ttl.as_ms() / 1000;
        if self.config.access_token.format == TokenFormat::Opaque {
            if state.opaque.len() >= state.opaque_sweep_at {
                state.opaque.retain(|_, t| t.exp > iat);
                state.opaque_sweep_at = (state.opaque.len() * 2).max(MIN_OPAQUE_SWEEP);
            }
            let id: u128 = loop {
                let id = state.rng.random();
                if !state.opaque.contains_key(&id) {
                    break id;
                }
            };
            state.opaque.insert(
                id,
                Opaque {
                    sub: sub.into(),
                    scope: scope.into(),
                    family: sid,
                    iat,
                    exp: iat + ttl,
                },
            );
            return Ok(format!("at_{id:032x}"));
        }
        state.next_jti += 1;
        let claims = Claims {
            iss: &self.config.issuer,
            sub,
            aud: &self.config.audience,
            iat,
            nbf: iat,
            exp: iat + ttl,
            jti: format!("at-{:x}", state.next_jti),
            scope,
            client_id: &self.config.client_id,
            sid: sid.map(|f| format!("fam-{f:x}")),
        };
        self.keys.sign(&claims).map_err(|e| {
            OAuthError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                e.to_string(),
            )
        })
    }

    fn tokens(&self, access_token: String, refresh_token: Option<String>, scope: &str) -> Response {
        json(
            StatusCode::OK,
            &TokenBody {
                access_token,
                token_type: "Bearer",
                expires_in: self.config.access_token.ttl.as_ms() / 1000,
                refresh_token,
                scope,
                refresh_in: self
                    .config
                    .access_token
                    .refresh_in
                    .map(|d| d.as_ms() / 1000),
            },
        )
    }

    fn password(&self, form: &Form) -> Result<Response, OAuthError> {
        let username = form.require("username")?;
        let password = form.require("password")?;
        if password != self.config.password {
            return Err(OAuthError::invalid_grant("wrong username or password"));
        }
        let scope = self.scope(form)?;
        let now = self.clock.now_ms();
        let mut state = self.state();
        let (family, refresh_token, evicted) =
            state
                .families
                .start_limited(username, scope, now, self.rules());
        state.stats.refresh_tokens_evicted += evicted;
        let access = self.access_token(&mut state, username, scope, Some(family))?;
        state.stats.logins += 1;
        Ok(self.tokens(access, Some(refresh_token), scope))
    }

    /// The refresh-token rules of the configuration, in ms.
    fn rules(&self) -> tokens::Rules {
        let rt = &self.config.refresh_token;
        tokens::Rules {
            ttl_ms: rt.ttl.as_ms(),
            idle_ttl_ms: rt.idle_ttl.map(|d| d.as_ms()),
            rotation: rt.rotation,
            reuse_detection: rt.reuse_detection(),
            reuse_grace_ms: rt.reuse_grace.as_ms(),
            max_per_user: rt.max_per_user,
        }
    }

    fn client_credentials(&self, form: &Form) -> Result<Response, OAuthError> {
        let scope = self.scope(form)?;
        let mut state = self.state();
        let access = self.access_token(&mut state, &self.config.client_id, scope, None)?;
        state.stats.client_credentials += 1;
        Ok(self.tokens(access, None, scope))
    }

    fn refresh(&self, form: &Form) -> Result<Response, OAuthError> {
        let presented = form.require("refresh_token")?;
        let now = self.clock.now_ms();
        let mut guard = self.state();
        let state = &mut *guard;
        let outcome = state.families.present(presented, now, self.rules());
        let granted = match outcome {
            Presented::Granted(g) => g,
            Presented::GraceAccepted(g) => {
                state.stats.grace_accepted += 1;
                g
            }
            Presented::ReuseDetected => {
                state.stats.reuse_detected += 1;
                state.stats.families_revoked += 1;
                return Err(OAuthError::invalid_grant(
                    "refresh token reuse detected: the token family is revoked",
                ));
            }
            Presented::Dead(why) => return Err(OAuthError::invalid_grant(why)),
        };
        let access =
            self.access_token(state, &granted.sub, &granted.scope, Some(granted.family))?;
        state.stats.refreshes += 1;
        Ok(self.tokens(access, Some(granted.refresh_token), &granted.scope))
    }
}
