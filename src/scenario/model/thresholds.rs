//! What CI judges and compares: `thresholds` (conditions on the report's figures) and `variants`.

use super::*;

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
