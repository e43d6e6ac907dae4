//! The resource's section (SPEC §1): its dialect of a rejected token (§1.2), its copy of the key set, introspection.

use super::*;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// The resource's clock minus true time.
    #[serde(default)]
    pub clock_offset: Dur,
    /// Clock tolerance on `exp` and `nbf`. Default 0s.
    #[serde(default)]
    pub leeway: Dur,
    /// Time the API takes to answer. Default 5ms.
    #[serde(default = "Latency::resource_default")]
    pub latency: Latency,
    #[serde(default)]
    pub dialect: Dialect,
    /// Reject access tokens whose family the issuer revoked (a `revoke` fault).
    #[serde(default)]
    pub check_revocation: bool,
    /// How the resource keeps the issuer's key set.
    #[serde(default)]
    pub jwks: JwksConfig,
    /// How the resource checks opaque access tokens.
    #[serde(default)]
    pub introspection: IntrospectionConfig,
    #[serde(default)]
    pub faults: Vec<Fault>,
}

/// Introspection (RFC 7662) of opaque access tokens: each token not in the cache costs
/// the issuer a request.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionConfig {
    /// How long an answer is reused (never past the token's `exp`). Default 0s: every
    /// request is introspected.
    #[serde(default)]
    pub cache: Dur,
    /// How long an introspection call may take. Default 5s.
    #[serde(default = "JwksConfig::default_timeout")]
    pub timeout: Dur,
}

impl Default for IntrospectionConfig {
    fn default() -> Self {
        IntrospectionConfig {
            cache: Dur::ZERO,
            timeout: JwksConfig::default_timeout(),
        }
    }
}

/// The resource's copy of the issuer's key set. By default kept as jose's remote key
/// set does: fetched when a token names an unknown `kid` (at most once per `cooldown`)
/// or when the copy is older than `max_age`. With `refresh: background`, as Envoy's
/// jwt_authn filter with `async_fetch` does: fetched at start, before requests are
/// served, and again `max_age` less 5 s after each fetch (1 s after a failed one);
/// never for a request, so a `kid` the copy lacks is rejected until the next fetch.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JwksConfig {
    /// Least time between two fetches for an unknown kid. Default 30s.
    #[serde(default = "JwksConfig::default_cooldown")]
    pub cooldown: Dur,
    /// A copy older than this is fetched again before use. Default 10m.
    #[serde(default = "JwksConfig::default_max_age")]
    pub max_age: Dur,
    /// How long a fetch may take. Default 5s.
    #[serde(default = "JwksConfig::default_timeout")]
    pub timeout: Dur,
    /// When the copy is fetched: `on_use` (default) or `background`.
    #[serde(default)]
    pub refresh: JwksRefresh,
}

/// When the resource fetches its copy of the key set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JwksRefresh {
    /// For the request that finds the copy stale or lacking its `kid` (jose).
    #[default]
    OnUse,
    /// On a timer of its own, never for a request (Envoy's `async_fetch`).
    Background,
}

impl JwksConfig {
    fn default_cooldown() -> Dur {
        Dur::secs(30)
    }
    fn default_max_age() -> Dur {
        Dur::secs(600)
    }
    fn default_timeout() -> Dur {
        Dur::secs(5)
    }
}

impl Default for JwksConfig {
    fn default() -> Self {
        JwksConfig {
            cooldown: Self::default_cooldown(),
            max_age: Self::default_max_age(),
            timeout: Self::default_timeout(),
            refresh: JwksRefresh::default(),
        }
    }
}

impl Default for ResourceConfig {
    fn default() -> Self {
        ResourceConfig {
            clock_offset: Dur::ZERO,
            leeway: Dur::ZERO,
            latency: Latency::resource_default(),
            dialect: Dialect::default(),
            check_revocation: false,
            jwks: JwksConfig::default(),
            introspection: IntrospectionConfig::default(),
            faults: Vec::new(),
        }
    }
}

/// How the resource answers a rejected token (SPEC §1.2). Each mimics a kind of real
/// API, so that a client's expiry detection can be tested against it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// 401, `WWW-Authenticate: Bearer error="invalid_token"`, the same error as JSON.
    #[default]
    Rfc6750,
    /// 401 without a challenge; a vendor error code in a JSON body,
    /// `{"error":{"code":"InvalidAuthenticationToken","message":...}}`, as
    /// Microsoft Graph-style APIs answer.
    JsonCode,
    /// 403 with a JSON message and no challenge: APIs that call an expired token
    /// forbidden.
    #[serde(rename = "forbidden_403")]
    Forbidden403,
    /// 401 with no header and no body.
    #[serde(rename = "bare_401")]
    Bare401,
}

impl Dialect {
    pub const ALL: [Dialect; 4] = [
        Dialect::Rfc6750,
        Dialect::JsonCode,
        Dialect::Forbidden403,
        Dialect::Bare401,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Rfc6750 => "rfc6750",
            Dialect::JsonCode => "json_code",
            Dialect::Forbidden403 => "forbidden_403",
            Dialect::Bare401 => "bare_401",
        }
    }

    pub fn parse(s: &str) -> Option<Dialect> {
        Dialect::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The status a rejected token gets.
    pub fn rejection_status(self) -> u16 {
        match self {
            Dialect::Forbidden403 => 403,
            _ => 401,
        }
    }
}
