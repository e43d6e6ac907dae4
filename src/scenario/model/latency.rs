//! A latency, fixed or drawn from a distribution, as the issuer, the resource and a login take it.

use super::*;

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
    pub(super) fn issuer_default() -> Latency {
        Latency::Fixed(Dur::ms(20))
    }
    pub(super) fn resource_default() -> Latency {
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
