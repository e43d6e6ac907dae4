//! The issuer's section (SPEC §1): token lifetimes, rotation and reuse detection, signing, the rate limit and capacity.

use super::*;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The issuer's clock minus true time.
    #[serde(default)]
    pub clock_offset: Dur,
    #[serde(default)]
    pub signing: Signing,
    /// Where the signing keys come from: `fixed` (the HMAC secret drawn from the seed,
    /// the repository's test key pairs), or `fresh` (made at start from the system's
    /// randomness). Default: `fixed` in `live` runs, `fresh` for `serve`, whose tokens
    /// must not be mintable by anyone who read this repository. A `sim` run, reproduced
    /// from its seed, always signs with fixed keys.
    #[serde(default)]
    pub keys: Option<KeySource>,
    /// `hs256`: list the shared secret in `/jwks.json` for anyone who asks (a test
    /// convenience that lets anyone mint tokens; the API in this process reads it
    /// either way). Default: no.
    #[serde(default)]
    pub publish_secret: bool,
    #[serde(default)]
    pub access_token: AccessTokenConfig,
    #[serde(default)]
    pub refresh_token: RefreshTokenConfig,
    /// Time the issuer takes to answer a token request. Default 20ms.
    #[serde(default = "Latency::issuer_default")]
    pub latency: Latency,
    /// Token requests served at once; more wait in a queue. Default: unlimited.
    #[serde(default)]
    pub capacity: Option<u32>,
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// The `iss` claim of every access token.
    #[serde(default = "IssuerConfig::default_issuer")]
    pub issuer: String,
    /// The `aud` claim of every access token, and what the resource requires.
    #[serde(default = "IssuerConfig::default_audience")]
    pub audience: String,
    /// The `scope` granted when a request asks for none.
    #[serde(default = "IssuerConfig::default_scope")]
    pub scope: String,
    /// The one registered client.
    #[serde(default = "IssuerConfig::default_client_id")]
    pub client_id: String,
    #[serde(default = "IssuerConfig::default_client_secret")]
    pub client_secret: String,
    /// Any username logs in with this password (password grant).
    #[serde(default = "IssuerConfig::default_password")]
    pub password: String,
}

impl IssuerConfig {
    fn default_issuer() -> String {
        "https://issuer.tokenstorm.test".into()
    }
    fn default_audience() -> String {
        "https://api.tokenstorm.test".into()
    }
    fn default_scope() -> String {
        "api".into()
    }
    fn default_client_id() -> String {
        "demo".into()
    }
    fn default_client_secret() -> String {
        "demo-secret".into()
    }
    fn default_password() -> String {
        "demo-password".into()
    }
}

impl Default for IssuerConfig {
    fn default() -> Self {
        IssuerConfig {
            clock_offset: Dur::ZERO,
            signing: Signing::default(),
            keys: None,
            publish_secret: false,
            access_token: AccessTokenConfig::default(),
            refresh_token: RefreshTokenConfig::default(),
            latency: Latency::issuer_default(),
            capacity: None,
            rate_limit: None,
            faults: Vec::new(),
            issuer: Self::default_issuer(),
            audience: Self::default_audience(),
            scope: Self::default_scope(),
            client_id: Self::default_client_id(),
            client_secret: Self::default_client_secret(),
            password: Self::default_password(),
        }
    }
}

/// Where the issuer's signing keys come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    /// Known in advance: the same for every run of the scenario and seed.
    Fixed,
    /// Made at start, known to this process alone.
    Fresh,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signing {
    #[default]
    Hs256,
    Rs256,
    Es256,
    Eddsa,
}

impl Signing {
    pub fn as_str(self) -> &'static str {
        match self {
            Signing::Hs256 => "hs256",
            Signing::Rs256 => "rs256",
            Signing::Es256 => "es256",
            Signing::Eddsa => "eddsa",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccessTokenConfig {
    /// Lifetime of an access token (`expires_in`). Default 1h.
    pub ttl: Dur,
    /// `jwt` (signed, checked by the resource on its own) or `opaque` (random, checked
    /// by an introspection call to the issuer). Default jwt.
    #[serde(default)]
    pub format: TokenFormat,
    /// Sent as `refresh_in` in token responses (as Microsoft's identity platform does):
    /// when the client should refresh. Default: not sent.
    #[serde(default)]
    pub refresh_in: Option<Dur>,
}

impl Default for AccessTokenConfig {
    fn default() -> Self {
        AccessTokenConfig {
            ttl: Dur::secs(3600),
            format: TokenFormat::Jwt,
            refresh_in: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenFormat {
    #[default]
    Jwt,
    Opaque,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenConfig {
    /// Absolute lifetime, from the login that started the family. Default 14d.
    #[serde(default = "RefreshTokenConfig::default_ttl")]
    pub ttl: Dur,
    /// A refresh token unused this long is dead. Default: no idle limit.
    #[serde(default)]
    pub idle_ttl: Option<Dur>,
    /// Each refresh returns a new refresh token. Default false.
    #[serde(default)]
    pub rotation: bool,
    /// Presenting a rotated-out token revokes the whole family. Default: same as rotation.
    #[serde(default)]
    pub reuse_detection: Option<bool>,
    /// ...except within this long after its rotation. Default 0s.
    #[serde(default)]
    pub reuse_grace: Dur,
    /// Live refresh tokens (families) one user may hold for the client; a login beyond
    /// it evicts the oldest, whose refresh then gets invalid_grant (Auth0 keeps 200,
    /// Google 100). Default: no limit.
    #[serde(default)]
    pub max_per_user: Option<u32>,
}

impl RefreshTokenConfig {
    fn default_ttl() -> Dur {
        Dur::secs(14 * 86_400)
    }
    /// Whether reuse detection is on, after its default.
    pub fn reuse_detection(&self) -> bool {
        self.reuse_detection.unwrap_or(self.rotation)
    }
}

impl Default for RefreshTokenConfig {
    fn default() -> Self {
        RefreshTokenConfig {
            ttl: Self::default_ttl(),
            idle_ttl: None,
            rotation: false,
            reuse_detection: None,
            reuse_grace: Dur::ZERO,
            max_per_user: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}
