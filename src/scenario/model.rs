//! The scenario file's types: SPEC §1, key for key.
//!
//! These structs are what the YAML deserializes into (unknown keys refused). Values a
//! preset may supply stay `Option` here so that a key written by the user can be told from
//! a default; `client::policy` resolves them. Defaults that are not obvious are stated on
//! the field and in the README's scenario reference.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::policy::Policy;
use crate::duration::Dur;

fn default_tick() -> Dur {
    Dur::secs(1)
}

/// A whole scenario file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Used in report names; letters, digits, `-`, `_` and `.`.
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: u64,
    pub duration: Dur,
    #[serde(default)]
    pub mode: Mode,
    /// Width of one timeline bucket in the report.
    #[serde(default = "default_tick")]
    pub tick: Dur,
    #[serde(default)]
    pub issuer: IssuerConfig,
    #[serde(default)]
    pub resource: ResourceConfig,
    pub clients: Vec<ClientGroup>,
    #[serde(default)]
    pub targets: Option<Targets>,
    #[serde(default)]
    pub thresholds: Thresholds,
    #[serde(default)]
    pub variants: Vec<Variant>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Virtual clock, in-process.
    #[default]
    Sim,
    /// Real HTTP, real time.
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sim => "sim",
            Mode::Live => "live",
        }
    }
}

// ---------------------------------------------------------------------------------------
// Issuer

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The issuer's clock minus true time.
    #[serde(default)]
    pub clock_offset: Dur,
    #[serde(default)]
    pub signing: Signing,
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

/// A fault injected into the issuer or the resource (SPEC §1.1).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub kind: FaultKind,
    #[serde(default)]
    pub at: Option<Dur>,
    #[serde(default, rename = "for")]
    pub for_: Option<Dur>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub rate: Option<f64>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub fraction: Option<f64>,
    #[serde(default)]
    pub every: Option<Dur>,
    #[serde(default)]
    pub by: Option<Dur>,
    #[serde(default)]
    pub latency: Option<Latency>,
    /// rotate_keys: how long the old key stays in the key set. Default: the access
    /// token's ttl, so that every token it signed can verify until it expires.
    #[serde(default)]
    pub overlap: Option<Dur>,
    /// rotate_keys: the new key signs at once but appears in the key set this much
    /// later (a cached key-set document). Default 0s.
    #[serde(default)]
    pub publish_delay: Option<Dur>,
}

impl Fault {
    /// A fault of `kind` with every other key unset, to fill in by hand.
    pub fn of(kind: FaultKind) -> Fault {
        Fault {
            kind,
            at: None,
            for_: None,
            mode: None,
            rate: None,
            status: None,
            fraction: None,
            every: None,
            by: None,
            latency: None,
            overlap: None,
            publish_delay: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    Outage,
    Errors,
    Latency,
    Revoke,
    RotateKeys,
    ClockJump,
}

// ---------------------------------------------------------------------------------------
// Resource

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

/// The resource's copy of the issuer's key set, kept as jose's remote key set does:
/// fetched when a token names an unknown `kid` (at most once per `cooldown`) or when
/// the copy is older than `max_age`.
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

// ---------------------------------------------------------------------------------------
// Latency

/// A latency: a fixed duration or a distribution.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Latency {
    Fixed(Dur),
    Dist(LatencyDist),
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "distribution", rename_all = "snake_case", deny_unknown_fields)]
pub enum LatencyDist {
    /// Log-normal with this median and 99th percentile.
    Lognormal { median: Dur, p99: Dur },
    /// Uniform between min and max.
    Uniform { min: Dur, max: Dur },
}

impl Latency {
    fn issuer_default() -> Latency {
        Latency::Fixed(Dur::ms(20))
    }
    fn resource_default() -> Latency {
        Latency::Fixed(Dur::ms(5))
    }
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Latency;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration (20ms), { distribution: lognormal, median: 20ms, p99: 250ms } \
                     or { distribution: uniform, min: 5ms, max: 50ms }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Latency, E> {
                Dur::parse(v).map(Latency::Fixed).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Latency, E> {
                if v == 0 {
                    Ok(Latency::Fixed(Dur::ZERO))
                } else {
                    Err(E::custom(format!(
                        "`{v}` has no unit: expected {}",
                        crate::duration::ACCEPTED
                    )))
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Latency, A::Error> {
                LatencyDist::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Latency::Dist)
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------
// Clients

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientGroup {
    pub name: String,
    /// Clients (users / apps), each with its own token family.
    pub count: u32,
    /// Users the clients log in as, when several clients (devices, installs, runners)
    /// share one: client `i` is user `i mod users`. Default: one user per client.
    #[serde(default)]
    pub users: Option<u32>,
    #[serde(default)]
    pub start: Start,
    /// Processes sharing one client's token (one token store). Default 1.
    #[serde(default = "one")]
    pub instances: u32,
    /// Concurrent request loops in each instance. Default 1.
    #[serde(default = "one")]
    pub workers: u32,
    #[serde(default)]
    pub requests: Requests,
    #[serde(default)]
    pub login: Login,
    #[serde(default)]
    pub clock_offset: ClockOffset,
    /// The dialect of the API this group calls (default: `resource.dialect`): its
    /// requests ask the fake API to answer in it.
    #[serde(default)]
    pub dialect: Option<Dialect>,
    #[serde(default)]
    pub policy: PolicySpec,
    /// `policy` resolved: its preset, overridden by its own keys, then the defaults.
    /// What the checks and the run read. [`crate::scenario::parse`] fills it in; after
    /// changing a `policy` in code, call [`Scenario::resolve`].
    #[serde(skip)]
    pub resolved: Policy,
}

impl Scenario {
    /// Resolves every group's `policy` into its [`ClientGroup::resolved`], once.
    pub fn resolve(&mut self) {
        for group in &mut self.clients {
            group.resolved = Policy::resolve(&group.policy);
        }
    }
}

fn one() -> u32 {
    1
}

/// When the clients of a group log in for the first time.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Start {
    /// All at this moment.
    Burst(Dur),
    /// Evenly spaced over this long.
    Ramp(Dur),
    /// Uniformly at random over this long.
    Uniform(Dur),
}

impl Default for Start {
    fn default() -> Self {
        Start::Burst(Dur::ZERO)
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Requests {
    /// Mean time between two requests of one worker. Default 30s.
    #[serde(default = "Requests::default_every")]
    pub every: Dur,
    #[serde(default)]
    pub distribution: Spacing,
}

impl Requests {
    fn default_every() -> Dur {
        Dur::secs(30)
    }
}

impl Default for Requests {
    fn default() -> Self {
        Requests {
            every: Self::default_every(),
            distribution: Spacing::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    /// Poisson arrivals: exponential gaps with the given mean.
    #[default]
    Exponential,
    /// Exactly `every` apart.
    Constant,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Client-side cost of a full (re-)authentication before the password grant is sent:
    /// the user typing, the redirect dance. Default 0s.
    #[serde(default)]
    pub latency: Dur,
}

/// The clients' clock minus true time: one value, or drawn per client.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ClockOffset {
    Fixed(Dur),
    Uniform { uniform: [Dur; 2] },
}

impl Default for ClockOffset {
    fn default() -> Self {
        ClockOffset::Fixed(Dur::ZERO)
    }
}

impl<'de> Deserialize<'de> for ClockOffset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct UniformSpec {
            uniform: [Dur; 2],
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ClockOffset;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration (-30s) or { uniform: [-30s, 30s] }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ClockOffset, E> {
                Dur::parse(v).map(ClockOffset::Fixed).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ClockOffset, E> {
                Dur::deserialize(de::value::U64Deserializer::new(v)).map(ClockOffset::Fixed)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ClockOffset, A::Error> {
                UniformSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|u| ClockOffset::Uniform { uniform: u.uniform })
            }
        }
        d.deserialize_any(V)
    }
}

/// A client group's refresh policy as written. Every key is optional: an unset key takes
/// the preset's value, else the default (see `client::policy`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// A named SDK behaviour (`tokenstorm presets`); the keys below override it.
    #[serde(default)]
    pub preset: Option<String>,
    #[serde(default)]
    pub refresh: Option<RefreshMode>,
    /// Soft point: refresh when less than this is left.
    #[serde(default)]
    pub buffer: Option<Dur>,
    /// Soft point: refresh once this share of the lifetime has passed.
    #[serde(default)]
    pub fraction: Option<f64>,
    /// The fraction applies only to tokens living at least this long; shorter ones use
    /// the buffer.
    #[serde(default)]
    pub min_lifetime: Option<Dur>,
    /// The server's `refresh_in`, when a token response carries one, sets the soft point.
    #[serde(default)]
    pub use_refresh_in: Option<bool>,
    /// Less than this left: every caller waits for a refresh. Default 0s (at expiry).
    #[serde(default)]
    pub hard_buffer: Option<Dur>,
    /// What callers do between the soft point and the hard buffer.
    #[serde(default)]
    pub soft_window: Option<SoftWindow>,
    #[serde(default)]
    pub jitter: Option<Dur>,
    /// Draw the jitter at each check, or once per token.
    #[serde(default)]
    pub jitter_per: Option<JitterPer>,
    #[serde(default)]
    pub on_401: Option<On401>,
    /// With refresh_and_retry: replays of one request at most. Default 1.
    #[serde(default)]
    pub replays: Option<u32>,
    /// With refresh_and_retry: which 401s lead to a refresh.
    #[serde(default)]
    pub on_401_when: Option<On401When>,
    /// What a 403 does: `fail` (the default, as SDKs do) or, for APIs that answer an
    /// expired token with 403, `refresh_and_retry` or `drop_token`.
    #[serde(default)]
    pub on_403: Option<On401>,
    #[serde(default)]
    pub coordination: Option<Coordination>,
    #[serde(default)]
    pub lock: Option<LockSpec>,
    /// What a request does while its instance refreshes.
    #[serde(default)]
    pub during_refresh: Option<DuringRefresh>,
    #[serde(default)]
    pub expiry_source: Option<ExpirySource>,
    #[serde(default)]
    pub retry: Option<RetrySpec>,
    #[serde(default)]
    pub timeout: Option<Dur>,
}

/// Between the soft point and the hard buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SoftWindow {
    /// Every caller waits for a refresh (coordinated as `coordination` says).
    Block,
    /// One caller refreshes inline; the others use the current token meanwhile.
    OneInline,
    /// Every caller refreshes inline, uncoordinated.
    AllInline,
    /// Callers use the current token while one refresh runs in the background.
    ServeStale,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JitterPer {
    Check,
    Token,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum On401When {
    /// Any 401.
    Any,
    /// Only a 401 whose challenge (or JSON body) says `invalid_token`.
    InvalidToken,
    /// A 401 whose challenge or JSON body carries an error code naming a bad token:
    /// RFC 6750's `invalid_token` or a vendor's (`InvalidAuthenticationToken`,
    /// `token_expired`, `INVALID_SESSION_ID`, ...).
    ErrorCode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DuringRefresh {
    /// Wait for the refresh in flight, then send with the new token.
    Queue,
    /// Send at once with the token at hand.
    OldToken,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshMode {
    /// Use the token until a 401, then refresh.
    Reactive,
    /// Refresh on demand when less than `buffer` is left.
    Proactive,
    /// A timer refreshes at the trigger point even when no request is waiting.
    Background,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum On401 {
    /// Refresh, then replay the request (at most `replays` times).
    RefreshAndRetry,
    /// Give the request up; keep the token.
    Fail,
    /// Give the request up and drop the access token: the next request renews it.
    DropToken,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Coordination {
    /// Every caller that sees the need refreshes.
    None,
    /// One refresh per instance in flight; the others wait for its result.
    SingleFlight,
    /// A mutex per instance taken with a timeout (`lock.wait`), then the store re-checked.
    TryLock,
    /// A lock across instances (`lock.backend`).
    Lock,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpirySource {
    /// `expires_in`, converted at receipt on the client's own clock.
    ExpiresIn,
    /// The JWT's `exp` claim, read against the client's own clock.
    JwtExp,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LockSpec {
    /// Where the lock of `coordination: lock` lives. Default `simulated`.
    #[serde(default)]
    pub backend: Option<LockBackend>,
    /// How long a lock is held at most before it expires by itself (PX). Default 10s.
    #[serde(default)]
    pub ttl: Option<Dur>,
    /// How long a caller waits for the coordination before giving up.
    #[serde(default)]
    pub wait: Option<Dur>,
    /// The round trip of one operation on the simulated lock service. Default 1ms.
    #[serde(default)]
    pub latency: Option<Dur>,
    /// How often a waiter tries the lock again. Default 100ms.
    #[serde(default)]
    pub poll: Option<Dur>,
    /// Waiters are woken when the lock is released or expires, instead of polling.
    #[serde(default)]
    pub notify: Option<bool>,
    /// The Redis server of the `redis` backend, e.g. `redis://127.0.0.1:6379` or
    /// `unix:///run/redis.sock`. Default: `$TOKENSTORM_REDIS_URL`, else
    /// `redis://127.0.0.1:6379`.
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockBackend {
    Local,
    Simulated,
    Redis,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Tries in all, the first included.
    #[serde(default)]
    pub attempts: Option<u32>,
    /// Wait before the first retry; multiplied for each further one.
    #[serde(default)]
    pub backoff: Option<Dur>,
    /// Factor between two successive waits. Default 2.
    #[serde(default)]
    pub multiplier: Option<f64>,
    #[serde(default)]
    pub max_backoff: Option<Dur>,
    #[serde(default)]
    pub jitter: Option<RetryJitter>,
    /// With jitter `proportional`: the wait varies by ± this share. Default 0.1.
    #[serde(default)]
    pub jitter_ratio: Option<f64>,
    /// HTTP statuses worth another try: numbers, or `5xx`. Default [408, 429, 5xx].
    #[serde(default)]
    pub statuses: Option<Vec<StatusPattern>>,
    /// At least this long between two refresh attempts of one client.
    #[serde(default)]
    pub min_interval: Option<Dur>,
    /// After a refresh that failed softly (not invalid_grant), keep using the current
    /// token while it lasts. Default true.
    #[serde(default)]
    pub keep_token: Option<bool>,
    /// Wait at least what a 429 or 503 answer's Retry-After says. Default true.
    #[serde(default)]
    pub retry_after: Option<bool>,
}

/// One retryable status (`503`) or a class (`5xx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusPattern {
    Code(u16),
    Class(u16),
}

impl StatusPattern {
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Code(c) => c == status,
            StatusPattern::Class(c) => status / 100 == c,
        }
    }
}

impl Serialize for StatusPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            StatusPattern::Code(c) => s.serialize_u16(*c),
            StatusPattern::Class(c) => s.serialize_str(&format!("{c}xx")),
        }
    }
}

impl<'de> Deserialize<'de> for StatusPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StatusPattern;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an HTTP status from 100 to 599 (503) or a class (5xx)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusPattern, E> {
                match v {
                    100..=599 => Ok(StatusPattern::Code(v as u16)),
                    _ => Err(E::custom(format!(
                        "{v} is not an HTTP status; expected 100 to 599 or a class such as 5xx"
                    ))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusPattern, E> {
                self.visit_u64(u64::try_from(v).unwrap_or(0))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusPattern, E> {
                let b = v.as_bytes();
                if b.len() == 3
                    && (b'1'..=b'5').contains(&b[0])
                    && v[1..].eq_ignore_ascii_case("xx")
                {
                    return Ok(StatusPattern::Class(u16::from(b[0] - b'0')));
                }
                match v.parse::<u64>() {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!(
                        "`{v}` is not a status; expected 100 to 599 or a class such as 5xx"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryJitter {
    /// Wait exactly the backoff.
    None,
    /// Wait uniformly in [0, backoff].
    Full,
    /// Wait backoff/2 + uniformly in [0, backoff/2].
    Equal,
    /// Wait the backoff ± `jitter_ratio` of it, uniformly.
    Proportional,
}

// ---------------------------------------------------------------------------------------
// Targets, thresholds, variants

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// The URL of the external token endpoint.
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
}

/// `metric: "op value"` pairs, in file order. A metric may carry a list of conditions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Thresholds(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for Thresholds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Thresholds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a mapping of metric paths to conditions, e.g. unauthorized_rate: \"< 0.001\"",
                )
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Thresholds, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    match map.next_value::<OneOrMany>().map_err(|_| {
                        de::Error::custom(format!(
                            "the threshold for `{key}` must be a condition such as \"< 0.001\" or a list of them"
                        ))
                    })? {
                        OneOrMany::One(c) => out.push((key, c)),
                        OneOrMany::Many(cs) => out.extend(cs.into_iter().map(|c| (key.clone(), c))),
                    }
                }
                Ok(Thresholds(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A named set of overrides, for `compare`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub name: String,
    /// Dotted paths into the scenario (`clients.0.policy.buffer`) and their values.
    #[serde(default)]
    pub set: serde_json::Map<String, serde_json::Value>,
}
