//! `POST /introspect` (RFC 7662): whether an access token, JWT or opaque, is active,
//! and what it holds when it is (§2.2).

use http::StatusCode;
use serde::Serialize;

use super::form::{Form, form_content};
use super::{Issuer, OAuthError, decode_opaque, family_of_sid, json};
use crate::exchange::{Request, Response};

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

impl Issuer {
    /// RFC 7662: the state of the token in the form. An unknown, expired or revoked
    /// token is `{"active": false}` and nothing else (§2.2).
    pub(super) fn introspect(&self, req: &Request) -> Result<Response, OAuthError> {
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
}
