//! `GET /.well-known/oauth-authorization-server`: the issuer's metadata (RFC 8414 §2,
//! at the well-known URI of §3), its endpoints, grant types, client authentication
//! methods and scopes. `serve` identifies the issuer by the URL it is served at (or
//! `--public-url`), so the document names the endpoints where they are.

use http::StatusCode;
use http::header::{self, HeaderValue};

use super::{Issuer, json};
use crate::exchange::Response;

impl Issuer {
    /// RFC 8414 metadata, its endpoints' URLs under the issuer's identifier: never
    /// under the request's `Host`, which anyone sending it chooses.
    pub(super) fn metadata(&self) -> Response {
        let base = self.config.issuer.trim_end_matches('/');
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
}
