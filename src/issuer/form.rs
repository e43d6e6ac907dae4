//! The form body of token, introspection and revocation requests: its content type
//! (`application/x-www-form-urlencoded`, RFC 6749 §4.3.2, RFC 7662 §2.1, RFC 7009
//! §2.1), its parameters, each at most once (RFC 6749 §3.2), and the form-encoded
//! halves of a Basic client credential (RFC 6749 §2.3.1).

use http::header;

use super::OAuthError;
use crate::exchange::Request;

/// The form of a token request, with each parameter at most once (RFC 6749 §3.2).
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    pub(super) fn parse(body: &[u8]) -> Result<Form, OAuthError> {
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

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn require(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter `{key}`")))
    }
}

/// Token and introspection requests carry a form (RFC 6749 §4.3.2, RFC 7662 §2.1).
pub(super) fn form_content(req: &Request) -> Result<(), OAuthError> {
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

/// Decodes one form-encoded half of a Basic credential (RFC 6749 §2.3.1).
pub(super) fn form_decode(s: &str) -> String {
    form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
