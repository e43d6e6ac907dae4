//! How a client gets its tokens: the grant it logs in with, how it authenticates at
//! the token endpoint (RFC 6749 §2.3.1), and what its token requests add (scope, RFC
//! 8707 resource indicators, audience, any other parameter).
//!
//! Against our own issuer a client logs in with the password grant and
//! `client_secret_basic`; `targets` chooses for a user's own issuer.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Uri};

use crate::exchange::{Request, basic_auth};
use crate::scenario::{ClientAuthMethod, Grant, IssuerConfig, Scenario};

/// How a group's clients authenticate at the token endpoint.
pub enum ClientAuth {
    /// `Authorization: Basic ...`, made once.
    Basic(HeaderValue),
    /// `client_id` and `client_secret` in the form.
    Post { id: String, secret: String },
    /// A public client: `client_id` in the form, no secret.
    Public { id: String },
}

/// What a group's clients get tokens with.
pub struct Credentials {
    pub grant: Grant,
    pub auth: ClientAuth,
    /// The password grant's password.
    pub password: String,
    /// What a grant that gets tokens afresh adds to its form.
    pub extra: Vec<(String, String)>,
    /// `grant: refresh_token`: the run's provisioned refresh tokens, and the index of
    /// this group's first client among them.
    pub provisioned: Option<(Arc<[String]>, usize)>,
}

impl Credentials {
    /// Our own issuer's: the password grant, `client_secret_basic`.
    pub fn of_issuer(issuer: &IssuerConfig) -> Credentials {
        Credentials {
            grant: Grant::Password,
            auth: ClientAuth::Basic(basic_auth(&issuer.client_id, &issuer.client_secret)),
            password: issuer.password.clone(),
            extra: Vec::new(),
            provisioned: None,
        }
    }

    /// Group `g`'s: `targets`' when the scenario has them, else our issuer's.
    pub fn of_group(scenario: &Scenario, g: usize) -> Credentials {
        let issuer = &scenario.issuer;
        let Some(t) = &scenario.targets else {
            return Credentials::of_issuer(issuer);
        };
        let id = t
            .client_id
            .clone()
            .unwrap_or_else(|| issuer.client_id.clone());
        let secret = t
            .client_secret
            .clone()
            .unwrap_or_else(|| issuer.client_secret.clone());
        let auth = match t.client_auth {
            ClientAuthMethod::ClientSecretBasic => ClientAuth::Basic(basic_auth(&id, &secret)),
            ClientAuthMethod::ClientSecretPost => ClientAuth::Post { id, secret },
            ClientAuthMethod::None => ClientAuth::Public { id },
        };
        let first = scenario.clients[..g].iter().map(|c| c.count as usize).sum();
        Credentials {
            grant: t.grant,
            auth,
            password: t
                .password
                .clone()
                .unwrap_or_else(|| issuer.password.clone()),
            extra: t.token_request.pairs(),
            provisioned: match &t.provisioned {
                Some(Ok(tokens)) if t.grant == Grant::RefreshToken => Some((tokens.clone(), first)),
                _ => None,
            },
        }
    }

    /// The refresh token client `c` of the group starts from, if it is provisioned.
    pub(crate) fn provisioned(&self, c: u32) -> Option<&str> {
        let (tokens, first) = self.provisioned.as_ref()?;
        tokens.get(first + c as usize).map(String::as_str)
    }

    /// The form of a login as `username`: the grant's own pairs and then the extra
    /// ones (None for `refresh_token`, which logs in by refreshing).
    pub(crate) fn login_pairs<'a>(&'a self, username: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut pairs = match self.grant {
            Grant::Password => vec![
                ("grant_type", "password"),
                ("username", username),
                ("password", self.password.as_str()),
            ],
            Grant::ClientCredentials => vec![("grant_type", "client_credentials")],
            // Refused by validation; as a refresh, never sent.
            Grant::RefreshToken | Grant::AuthorizationCode => Vec::new(),
        };
        pairs.extend(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        pairs
    }

    /// A token request with `pairs`, authenticated as the client.
    pub(crate) fn token_request(&self, pairs: &[(&str, &str)]) -> Request {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.extend_pairs(pairs);
        match &self.auth {
            ClientAuth::Basic(_) => {}
            ClientAuth::Post { id, secret } => {
                form.append_pair("client_id", id);
                form.append_pair("client_secret", secret);
            }
            ClientAuth::Public { id } => {
                form.append_pair("client_id", id);
            }
        }
        let mut req = Request::new(Bytes::from(form.finish()));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = Uri::from_static("/token");
        let h = req.headers_mut();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        if let ClientAuth::Basic(basic) = &self.auth {
            h.insert(AUTHORIZATION, basic.clone());
        }
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(targets: &str) -> Credentials {
        let yaml = format!(
            "name: t\nmode: live\nduration: 1s\nclients: [ {{ name: c, count: 1 }} ]\ntargets:\n  issuer: http://127.0.0.1:1/token\n  resource: http://127.0.0.1:1/api\n{targets}"
        );
        let s = crate::scenario::parse(&yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
        Credentials::of_group(&s, 0)
    }

    fn form(req: &Request) -> Vec<(String, String)> {
        form_urlencoded::parse(req.body()).into_owned().collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn each_client_authentication_puts_the_credentials_where_rfc_6749_says() {
        let basic = credentials("  client_id: app\n  client_secret: s3cret\n");
        let req = basic.token_request(&basic.login_pairs("c-0"));
        assert_eq!(
            req.headers()[AUTHORIZATION],
            basic_auth("app", "s3cret"),
            "client_secret_basic, the default"
        );
        assert!(!form(&req).iter().any(|(k, _)| k.starts_with("client_")));

        let post = credentials(
            "  client_id: app\n  client_secret: s3cret\n  client_auth: client_secret_post\n",
        );
        let req = post.token_request(&[("grant_type", "client_credentials")]);
        assert!(req.headers().get(AUTHORIZATION).is_none());
        assert_eq!(
            form(&req),
            pairs(&[
                ("grant_type", "client_credentials"),
                ("client_id", "app"),
                ("client_secret", "s3cret")
            ])
        );

        let public = credentials("  client_id: spa\n  client_auth: none\n");
        let req = public.token_request(&[("grant_type", "refresh_token")]);
        assert!(req.headers().get(AUTHORIZATION).is_none());
        assert_eq!(
            form(&req),
            pairs(&[("grant_type", "refresh_token"), ("client_id", "spa")])
        );
    }

    #[test]
    fn a_login_asks_with_the_grant_and_the_token_request_parameters() {
        let c = credentials(
            "  grant: client_credentials\n  token_request:\n    scope: read write\n    resource: [https://a.example/, https://b.example/]\n    audience: api\n    extra: { organization: acme }\n",
        );
        assert_eq!(
            c.login_pairs("c-0"),
            [
                ("grant_type", "client_credentials"),
                ("scope", "read write"),
                ("resource", "https://a.example/"),
                ("resource", "https://b.example/"),
                ("audience", "api"),
                ("organization", "acme"),
            ]
        );
        let p = credentials("  password: pw\n");
        assert_eq!(
            p.login_pairs("c-0"),
            [
                ("grant_type", "password"),
                ("username", "c-0"),
                ("password", "pw")
            ]
        );
    }
}
