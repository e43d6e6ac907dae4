//! The token endpoint, `POST /token` (RFC 6749 §3.2): client authentication
//! (§2.3.1, which introspection and revocation use too), the requested scope (§3.3),
//! the grants `password` (§4.3), `client_credentials` (§4.4) and `refresh_token` (§6),
//! the access tokens they issue (JWTs or opaque) and the token response (§5.1).

use base64::Engine;
use http::StatusCode;
use http::header;
use rand::RngExt as _;
use serde::Serialize;

use super::form::{Form, form_content, form_decode};
use super::tokens::{self, Presented};
use super::{Issuer, MIN_OPAQUE_SWEEP, OAuthError, Opaque, State, json};
use crate::exchange::{Request, Response};
use crate::scenario::TokenFormat;

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

/// An access token as minted under the issuer's lock: an opaque one, done, or a JWT's
/// claims, signed once the lock is released (signing is the costly part, and needs no
/// shared state).
enum Minted<'a> {
    Opaque(String),
    Unsigned(Claims<'a>),
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

impl Issuer {
    pub(super) fn token(&self, req: &Request) -> Result<Response, OAuthError> {
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
    pub(super) fn authenticate_client(&self, req: &Request, form: &Form) -> Result<(), OAuthError> {
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
            Some(asked) => within(asked, &self.config.scope, ""),
        }
    }

    fn access_token<'a>(
        &'a self,
        state: &mut State,
        sub: &'a str,
        scope: &'a str,
        sid: Option<u64>,
    ) -> Minted<'a> {
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
            return Minted::Opaque(format!("at_{id:032x}"));
        }
        state.next_jti += 1;
        Minted::Unsigned(Claims {
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
        })
    }

    /// The access token itself: a JWT's claims signed (outside the issuer's lock).
    fn finish(&self, minted: Minted) -> Result<String, OAuthError> {
        match minted {
            Minted::Opaque(token) => Ok(token),
            Minted::Unsigned(claims) => self.keys.sign(&claims).map_err(|e| {
                OAuthError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    e.to_string(),
                )
            }),
        }
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
        let minted = self.access_token(&mut state, username, scope, Some(family));
        state.stats.logins += 1;
        drop(state);
        let access = self.finish(minted)?;
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
        let minted = self.access_token(&mut state, &self.config.client_id, scope, None);
        state.stats.client_credentials += 1;
        drop(state);
        let access = self.finish(minted)?;
        Ok(self.tokens(access, None, scope))
    }

    fn refresh(&self, form: &Form) -> Result<Response, OAuthError> {
        let presented = form.require("refresh_token")?;
        let now = self.clock.now_ms();
        let mut guard = self.state();
        let state = &mut *guard;
        // Checked before the presentation, so a refused scope rotates nothing.
        let narrowed = narrowed_scope(form.get("scope"), state.families.scope_of(presented))?;
        let outcome = state.families.present(presented, now, self.rules());
        let granted = match outcome {
            Presented::Granted(g) => g,
            Presented::GraceAccepted(g) => {
                state.stats.grace_accepted += 1;
                g
            }
            Presented::ReuseDetected(family) => {
                state.stats.reuse_detected += 1;
                state.stats.families_revoked += 1;
                drop(guard);
                // The family's access tokens die with it, as on `/revoke` (Okta and
                // Auth0 revoke the family's grants): introspection answers inactive and
                // a resource that checks revocation rejects them.
                self.revocations
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(family);
                return Err(OAuthError::invalid_grant(
                    "refresh token reuse detected: the token family is revoked",
                ));
            }
            Presented::Dead(why) => return Err(OAuthError::invalid_grant(why)),
        };
        let scope = narrowed.unwrap_or(&granted.scope);
        let minted = self.access_token(state, &granted.sub, scope, Some(granted.family));
        state.stats.refreshes += 1;
        drop(guard);
        let access = self.finish(minted)?;
        Ok(self.tokens(access, Some(granted.refresh_token), scope))
    }
}

/// The scope a refresh asks for (RFC 6749 §6): None when it asks for none (the scope
/// granted, as it is); the one asked when every scope in it was granted;
/// `invalid_scope` when it asks for more. A token of no live family is left to the
/// presentation to refuse.
fn narrowed_scope<'a>(
    asked: Option<&'a str>,
    granted: Option<&str>,
) -> Result<Option<&'a str>, OAuthError> {
    match (asked, granted) {
        (Some(asked), Some(granted)) => within(asked, granted, " granted (RFC 6749 §6)").map(Some),
        _ => Ok(None),
    }
}

/// `asked` if every scope in it is in `allowed`, else `invalid_scope` (RFC 6749 §3.3);
/// `what` says of `allowed` what it is.
fn within<'a>(asked: &'a str, allowed: &str, what: &str) -> Result<&'a str, OAuthError> {
    let has: Vec<&str> = allowed.split_whitespace().collect();
    if asked.split_whitespace().all(|s| has.contains(&s)) {
        return Ok(asked);
    }
    Err(OAuthError::new(
        StatusCode::BAD_REQUEST,
        "invalid_scope",
        format!("scope `{asked}` exceeds `{allowed}`{what}"),
    ))
}
