//! A client group (SPEC §1): how many, when they start, how they send requests, their clocks.

use super::*;

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
