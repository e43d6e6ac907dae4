//! `targets`: a user's own issuer and API, driven in `live` mode instead of ours, and
//! how the clients get their tokens from it.

use std::collections::BTreeMap;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::*;

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// The external issuer: its identifier, whose token endpoint discovery finds
    /// (RFC 8414, OpenID Connect Discovery 1.0), or the URL of the token endpoint
    /// itself. See [`Targets::discovers`].
    pub issuer: String,
    /// The URL of the external API resource the clients call.
    pub resource: String,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The password the clients log in with (password grant; each client's username
    /// is `<group>-<n>`). Default: `issuer.password`.
    #[serde(default)]
    pub password: Option<String>,
    /// How a client gets its first tokens, and new ones when it has no refresh token
    /// left. Default: `password`.
    #[serde(default)]
    pub grant: Grant,
    /// How a client authenticates at the token endpoint (RFC 6749 §2.3.1; `none`: a
    /// public client, which sends only its `client_id`, §2.1). Default:
    /// `client_secret_basic`.
    #[serde(default)]
    pub client_auth: ClientAuthMethod,
    /// `grant: refresh_token`: a file of refresh tokens, one a line, one per client
    /// (group by group, in order). A path relative to the scenario file's folder.
    #[serde(default)]
    pub refresh_tokens: Option<String>,
    /// What the grants that get tokens afresh (`password`, `client_credentials`) add to
    /// the token request. Refreshes send the refresh token alone.
    #[serde(default)]
    pub token_request: TokenRequest,
    /// Whether `issuer` is an issuer identifier to discover the endpoints from. Default:
    /// yes, unless its path ends in `token` (the token endpoint of every common
    /// issuer does: `/token`, `/oauth/token`, `/oauth2/v2.0/token`,
    /// `/protocol/openid-connect/token`).
    #[serde(default)]
    pub discovery: Option<bool>,
    /// `grant: authorization_code`: the client's registered redirect URI, where the
    /// issuer sends the code (never fetched: the code is read from the redirect).
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// `grant: authorization_code`: the authorization endpoint's URL. Default: the one
    /// discovery finds.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// `client_auth: private_key_jwt`: the client's private key, a PEM file (PKCS#8,
    /// or PKCS#1 RSA / SEC1 EC), relative to the scenario file's folder.
    #[serde(default)]
    pub private_key: Option<String>,
    /// `private_key_jwt`: the key's `kid` in the client's registered key set, put in
    /// each assertion's header so the issuer picks the key without trying each.
    #[serde(default)]
    pub key_id: Option<String>,
    /// `private_key_jwt`: the assertion's signing algorithm (RS256, PS256, ES256,
    /// ES384, EdDSA). Default: the one the key's type signs with (RS256 for RSA).
    #[serde(default)]
    pub assertion_alg: Option<String>,
    /// `private_key_jwt`: the assertion's `aud`. Default: the token endpoint's URL
    /// (OpenID Connect Core §9; RFC 7523 §3 accepts it).
    #[serde(default)]
    pub assertion_audience: Option<String>,
    /// A PEM file of CA certificates trusted besides the system's roots, for servers
    /// whose certificates a private CA signed. Relative to the scenario file's folder.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Accept any server certificate (self-signed test setups). Recorded in the report.
    #[serde(default)]
    pub insecure: bool,
    /// The bytes of `ca_file`, read by [`crate::scenario::parse`] (None: not read, or
    /// not readable; validation says which).
    #[serde(skip)]
    pub ca_pem: Option<Result<Arc<[u8]>, String>>,
    /// The bytes of `private_key`, read by [`crate::scenario::parse`].
    #[serde(skip)]
    pub private_key_pem: Option<Result<Arc<[u8]>, String>>,
    /// The lines of `refresh_tokens`, read by [`crate::scenario::parse`] (None: not
    /// read, or not readable; validation says which).
    #[serde(skip)]
    pub provisioned: Option<Result<Arc<[String]>, String>>,
}

/// How a client gets its tokens from the issuer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// RFC 6749 §4.3, as `<group>-<n>` with `password`.
    #[default]
    Password,
    /// RFC 6749 §4.4: the client alone, no refresh token; the policy decides when to
    /// ask again.
    ClientCredentials,
    /// RFC 6749 §6 from the start: each client presents a refresh token of
    /// `refresh_tokens`, as a device or service provisioned once does. A client whose
    /// refresh token dies cannot get a new one and is logged out.
    RefreshToken,
    /// RFC 6749 §4.1 with PKCE (RFC 7636, S256): each login asks the authorization
    /// endpoint as `login_hint=<group>-<n>` and follows the issuer's redirects to
    /// `redirect_uri`; it works with an issuer that completes the authorization by
    /// itself, and fails with the reason where a page asks a person to sign in.
    AuthorizationCode,
}

impl Grant {
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::Password => "password",
            Grant::ClientCredentials => "client_credentials",
            Grant::RefreshToken => "refresh_token",
            Grant::AuthorizationCode => "authorization_code",
        }
    }
}

/// Client authentication at the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// `Authorization: Basic`, RFC 6749 §2.3.1.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body, RFC 6749 §2.3.1.
    ClientSecretPost,
    /// A public client: `client_id` in the form body, no secret (RFC 6749 §2.1, §3.2.1).
    None,
    /// A JWT signed with the client's private key in the form body (RFC 7523 §2.2,
    /// OpenID Connect Core §9), made afresh for every token request.
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
            ClientAuthMethod::None => "none",
            ClientAuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// Parameters added to a token request that gets tokens afresh.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// RFC 6749 §3.3, space-separated (`openid offline_access`).
    #[serde(default)]
    pub scope: Option<String>,
    /// RFC 8707 resource indicators: one absolute URI, or a list of them.
    #[serde(default, deserialize_with = "one_or_many")]
    pub resource: Vec<String>,
    /// The `audience` parameter some issuers take instead of `resource`.
    #[serde(default)]
    pub audience: Option<String>,
    /// Any other parameters, as they are (names and values are form-encoded).
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

impl TokenRequest {
    /// The form pairs it adds, in a fixed order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        if let Some(scope) = &self.scope {
            pairs.push(("scope".to_string(), scope.clone()));
        }
        for r in &self.resource {
            pairs.push(("resource".to_string(), r.clone()));
        }
        if let Some(audience) = &self.audience {
            pairs.push(("audience".to_string(), audience.clone()));
        }
        pairs.extend(self.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        pairs
    }
}

/// The algorithms `private_key_jwt` signs with, by their JOSE names.
const ASSERTION_ALGS: &[(&str, Algorithm)] = &[
    ("RS256", Algorithm::RS256),
    ("PS256", Algorithm::PS256),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
];

/// The names of [`ASSERTION_ALGS`], for a message.
fn assertion_alg_names() -> String {
    let names: Vec<&str> = ASSERTION_ALGS.iter().map(|(n, _)| *n).collect();
    names.join(", ")
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl Targets {
    /// Whether the endpoints are discovered from `issuer` (see [`Targets::discovery`]).
    pub fn discovers(&self) -> bool {
        self.discovery.unwrap_or_else(|| {
            let path = self
                .issuer
                .parse::<http::Uri>()
                .map(|u| u.path().to_string());
            !path.is_ok_and(|p| p.trim_end_matches('/').ends_with("token"))
        })
    }

    /// Reads the files the targets name (relative to `folder`).
    pub(crate) fn read_files(&mut self, folder: &std::path::Path) {
        self.read_provisioned(folder);
        let read = |file: &String| {
            let path = folder.join(file);
            std::fs::read(&path)
                .map(Arc::from)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))
        };
        self.ca_pem = self.ca_file.as_ref().map(read);
        self.private_key_pem = self.private_key.as_ref().map(read);
    }

    /// `private_key_jwt`'s signing key from the bytes of `private_key`, with the
    /// algorithm named by `assertion_alg` or else the first its type signs with;
    /// what is wrong with it otherwise.
    pub fn assertion_key(&self, pem: &[u8]) -> Result<(EncodingKey, Algorithm), String> {
        let named = match self.assertion_algorithm()? {
            Some(alg) => vec![alg],
            None => vec![
                Algorithm::ES256,
                Algorithm::EdDSA,
                Algorithm::RS256,
                Algorithm::ES384,
            ],
        };
        for alg in named {
            let key = match alg {
                Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem),
                Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
                _ => EncodingKey::from_rsa_pem(pem),
            };
            // Parsing only reads the PEM; a signature proves the key fits the algorithm.
            let Ok(key) = key else { continue };
            if jsonwebtoken::encode(&Header::new(alg), &serde_json::json!({}), &key).is_ok() {
                return Ok((key, alg));
            }
        }
        Err(match &self.assertion_alg {
            Some(alg) => format!(
                "the key cannot sign {alg}: accepted a PEM private key of the algorithm's type"
            ),
            None => format!(
                "not a PEM private key tokenstorm can sign with: accepted an RSA, EC (P-256, P-384) or Ed25519 key, PKCS#8 or its type's own PEM ({})",
                assertion_alg_names()
            ),
        })
    }

    /// The algorithm `assertion_alg` names (None: not named); what is accepted when it
    /// names none tokenstorm signs with.
    pub fn assertion_algorithm(&self) -> Result<Option<Algorithm>, String> {
        let Some(name) = self.assertion_alg.as_deref() else {
            return Ok(None);
        };
        ASSERTION_ALGS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| Some(*a))
            .ok_or_else(|| format!("`{name}`: accepted {}", assertion_alg_names()))
    }

    /// Reads `refresh_tokens` (relative to `folder`): its non-empty lines, trimmed.
    fn read_provisioned(&mut self, folder: &std::path::Path) {
        let Some(file) = &self.refresh_tokens else {
            return;
        };
        let path = folder.join(file);
        self.provisioned = Some(
            std::fs::read_to_string(&path)
                .map(|text| {
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(String::from)
                        .collect()
                })
                .map_err(|e| format!("cannot read `{}`: {e}", path.display())),
        );
    }
}
