//! How a client gets its tokens: the grant it logs in with, how it authenticates at
//! the token endpoint (RFC 6749 §2.3.1), and what its token requests add (scope, RFC
//! 8707 resource indicators, audience, any other parameter).
//!
//! `private_key_jwt` (RFC 7523 §2.2, §3; OpenID Connect Core §9) signs a fresh
//! assertion for every token request: `iss` and `sub` the client_id, `aud` the token
//! endpoint, a `jti` never used before, `iat` now and `exp` a minute later on the
//! client's own clock, so a skewed client sends skewed assertions, as it would.
//!
//! Against our own issuer a client logs in with the password grant and
//! `client_secret_basic`; `targets` chooses for a user's own issuer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Uri};

use crate::contract as m;
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
    /// `client_assertion` and its type in the form, signed for each request.
    PrivateKeyJwt(Box<Assertion>),
}

/// What `private_key_jwt`'s assertions are made from.
pub struct Assertion {
    id: String,
    key: jsonwebtoken::EncodingKey,
    header: jsonwebtoken::Header,
    audience: String,
    /// Assertions signed by this process, for a `jti` of their own.
    signed: AtomicU64,
}

/// How long an assertion is valid: long enough for a slow token endpoint, short as
/// RFC 7523 §3 asks (issuers keep each `jti` until it expires, to refuse replays).
const ASSERTION_SECONDS: i64 = 60;

impl Assertion {
    /// An assertion for a request sent at `now_ms` (the client's Unix time). The `jti`
    /// joins the time, the process and a count: unique across runs and workers, as an
    /// issuer that refuses replayed assertions needs.
    fn sign(&self, now_ms: i64) -> String {
        let now = now_ms.div_euclid(1000);
        let n = self.signed.fetch_add(1, Ordering::Relaxed);
        let claims = serde_json::json!({
            "iss": self.id,
            "sub": self.id,
            "aud": self.audience,
            "jti": format!("{now_ms}.{}.{n}", std::process::id()),
            "iat": now,
            "exp": now + ASSERTION_SECONDS,
        });
        // The key signed at validation, with this algorithm: signing cannot fail.
        jsonwebtoken::encode(&self.header, &claims, &self.key).unwrap_or_default()
    }
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
    /// `grant: authorization_code`: where and as whom the clients ask.
    pub authorize: Option<super::authorize::AuthorizeAt>,
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
            authorize: None,
        }
    }

    /// Group `g`'s: `targets`' when the scenario has them, else our issuer's.
    /// `reached`: the endpoints a targets run found (the token endpoint is
    /// `private_key_jwt`'s default audience).
    pub fn of_group(scenario: &Scenario, g: usize, reached: Option<&m::Targets>) -> Credentials {
        let token_endpoint = reached.map(|r| r.token_endpoint.as_str());
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
            ClientAuthMethod::PrivateKeyJwt => {
                let audience = t.assertion_audience.as_deref().or(token_endpoint);
                ClientAuth::PrivateKeyJwt(Box::new(assertion(t, id, audience.unwrap_or(&t.issuer))))
            }
        };
        let first = scenario.clients[..g].iter().map(|c| c.count as usize).sum();
        let authorize = match (t.grant, reached, &t.redirect_uri) {
            (Grant::AuthorizationCode, Some(r), Some(redirect_uri)) => r
                .authorization_endpoint
                .as_ref()
                .map(|endpoint| super::authorize::AuthorizeAt {
                    endpoint: endpoint.clone(),
                    redirect_uri: redirect_uri.clone(),
                    client_id: t.client_id.clone().unwrap_or_default(),
                    params: t.token_request.pairs(),
                }),
            _ => None,
        };
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
            authorize,
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
            // A refresh, or a code exchange ([`Credentials::code_pairs`]).
            Grant::RefreshToken | Grant::AuthorizationCode => Vec::new(),
        };
        pairs.extend(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        pairs
    }

    /// The form exchanging an authorization's code for tokens (RFC 6749 §4.1.3, with
    /// RFC 7636 §4.5's verifier).
    pub(crate) fn code_pairs<'a>(
        &'a self,
        code: &'a super::authorize::Code,
    ) -> Vec<(&'a str, &'a str)> {
        let redirect_uri = self
            .authorize
            .as_ref()
            .map_or("", |a| a.redirect_uri.as_str());
        vec![
            ("grant_type", "authorization_code"),
            ("code", code.code.as_str()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code.verifier.as_str()),
        ]
    }

    /// A token request with `pairs`, authenticated as the client, sent at `now_ms`
    /// (the client's Unix time).
    pub(crate) fn token_request(&self, pairs: &[(&str, &str)], now_ms: i64) -> Request {
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
            ClientAuth::PrivateKeyJwt(a) => {
                form.append_pair("client_id", &a.id);
                form.append_pair("client_assertion_type", JWT_BEARER);
                form.append_pair("client_assertion", &a.sign(now_ms));
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

/// RFC 7523 §2.2's `client_assertion_type`.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `t`'s assertion maker; validation has checked that its key signs.
fn assertion(t: &crate::scenario::Targets, id: String, audience: &str) -> Assertion {
    let pem = match &t.private_key_pem {
        Some(Ok(pem)) => pem.as_ref(),
        _ => &[],
    };
    let (key, alg) = t.assertion_key(pem).unwrap_or_else(|_| {
        (
            jsonwebtoken::EncodingKey::from_secret(&[]),
            jsonwebtoken::Algorithm::HS256,
        )
    });
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = t.key_id.clone();
    Assertion {
        id,
        key,
        header,
        audience: audience.to_string(),
        signed: AtomicU64::new(0),
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
        Credentials::of_group(&s, 0, Some(&reached("https://id.example/token")))
    }

    fn reached(token_endpoint: &str) -> m::Targets {
        m::Targets {
            token_endpoint: token_endpoint.into(),
            ..Default::default()
        }
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
        let req = basic.token_request(&basic.login_pairs("c-0"), 0);
        assert_eq!(
            req.headers()[AUTHORIZATION],
            basic_auth("app", "s3cret"),
            "client_secret_basic, the default"
        );
        assert!(!form(&req).iter().any(|(k, _)| k.starts_with("client_")));

        let post = credentials(
            "  client_id: app\n  client_secret: s3cret\n  client_auth: client_secret_post\n",
        );
        let req = post.token_request(&[("grant_type", "client_credentials")], 0);
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
        let req = public.token_request(&[("grant_type", "refresh_token")], 0);
        assert!(req.headers().get(AUTHORIZATION).is_none());
        assert_eq!(
            form(&req),
            pairs(&[("grant_type", "refresh_token"), ("client_id", "spa")])
        );
    }

    #[test]
    fn private_key_jwt_signs_a_fresh_rfc_7523_assertion_for_each_request() {
        let key = rcgen::KeyPair::generate().unwrap();
        let file = std::env::temp_dir().join(format!("tokenstorm-pkj-{}.pem", std::process::id()));
        std::fs::write(&file, key.serialize_pem()).unwrap();
        let yaml = format!(
            "name: t\nmode: live\nduration: 1s\nclients: [ {{ name: c, count: 1 }} ]\ntargets:\n  issuer: https://id.example\n  resource: https://api.example/me\n  client_id: svc\n  client_auth: private_key_jwt\n  private_key: {}\n  key_id: k1\n",
            file.display()
        );
        let s = crate::scenario::parse(&yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::remove_file(&file);
        let c = Credentials::of_group(&s, 0, Some(&reached("https://id.example/oauth/token")));
        let now_ms = 1_700_000_000_123;
        let sent: Vec<_> = (0..2)
            .map(|_| form(&c.token_request(&[("grant_type", "client_credentials")], now_ms)))
            .collect();
        let field = |f: &[(String, String)], k: &str| {
            f.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(
            field(&sent[0], "client_assertion_type"),
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        );
        assert_eq!(field(&sent[0], "client_id"), "svc");
        let public =
            jsonwebtoken::DecodingKey::from_ec_pem(key.public_key_pem().as_bytes()).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        v.validate_exp = false;
        v.set_audience(&["https://id.example/oauth/token"]);
        let claims: Vec<serde_json::Value> = sent
            .iter()
            .map(|f| {
                let jwt = field(f, "client_assertion");
                assert_eq!(
                    jsonwebtoken::decode_header(&jwt).unwrap().kid.as_deref(),
                    Some("k1")
                );
                jsonwebtoken::decode::<serde_json::Value>(&jwt, &public, &v)
                    .unwrap()
                    .claims
            })
            .collect();
        let c0 = &claims[0];
        assert_eq!(
            (c0["iss"].as_str(), c0["sub"].as_str()),
            (Some("svc"), Some("svc"))
        );
        assert_eq!(c0["iat"], 1_700_000_000);
        assert_eq!(c0["exp"], 1_700_000_060);
        assert_ne!(c0["jti"], claims[1]["jti"], "a jti is never used twice");
        assert!(!sent[0].iter().any(|(k, _)| k == "client_secret"));
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
