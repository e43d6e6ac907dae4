//! `POST /revoke` (RFC 7009 §2): revokes a refresh token with its family, or an opaque
//! access token alone.

use http::StatusCode;

use super::form::{Form, form_content};
use super::{Issuer, OAuthError, decode_opaque, json};
use crate::exchange::{Request, Response};

impl Issuer {
    /// RFC 7009: revokes the token in the form. A refresh token takes its whole family
    /// (and, where revocation is checked, the family's access tokens); an opaque access
    /// token dies alone. Unknown tokens are answered 200 all the same (§2.2).
    pub(super) fn revoke(&self, req: &Request) -> Result<Response, OAuthError> {
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
}
