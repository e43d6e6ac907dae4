//! Variants of one scenario: its `variants`, or a sweep of one knob (`--vary`).
//!
//! A variant is the scenario with a few keys set differently (`set`, dotted paths such as
//! `clients.0.policy.buffer`). Each is built from the scenario's YAML with its keys
//! applied, then checked as a scenario is, so a variant that names no key or breaks a
//! rule is refused with the file, the line of its `set` entry and what is accepted.

use serde_json::{Map, Value};

use super::{Problem, Scenario, ScenarioError, locate::Index, validate};

/// One variant to build: a name and the keys it sets, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantSpec {
    pub name: String,
    pub set: Vec<(String, Value)>,
    /// Where its `set` entries are written (`variants[1].set`), for error messages; None
    /// for a sweep given on the command line.
    pub origin: Option<String>,
}

/// The scenario's own `variants`.
pub fn declared(s: &Scenario) -> Vec<VariantSpec> {
    s.variants
        .iter()
        .enumerate()
        .map(|(i, v)| VariantSpec {
            name: v.name.clone(),
            set: v.set.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            origin: Some(format!("variants[{i}].set")),
        })
        .collect()
}

/// The variants of `--vary PATH=V1,V2,...`: one per value, each value read as YAML
/// (`10` a number, `30s` a string, `true` a boolean).
pub fn sweep(arg: &str) -> Result<(String, Vec<VariantSpec>), String> {
    let accepted = "expected PATH=V1,V2,... such as clients.0.policy.buffer=0s,30s,60s";
    let (path, values) = arg
        .split_once('=')
        .ok_or_else(|| format!("`{arg}`: {accepted}"))?;
    let path = path.trim();
    if path.is_empty() || values.trim().is_empty() {
        return Err(format!("`{arg}`: {accepted}"));
    }
    let leaf = path.rsplit('.').next().unwrap_or(path);
    let mut out: Vec<VariantSpec> = Vec::new();
    for raw in values.split(',').map(str::trim) {
        if raw.is_empty() {
            return Err(format!("`{arg}` has an empty value; {accepted}"));
        }
        let value: Value = serde_saphyr::from_str(raw)
            .map_err(|e| format!("`{raw}` in --vary is not a YAML value: {e}"))?;
        let name = sanitize(&format!("{leaf}-{raw}"));
        if out.iter().any(|v| v.name == name) {
            return Err(format!("`{raw}` is given twice in --vary"));
        }
        out.push(VariantSpec {
            name,
            set: vec![(path.to_string(), value)],
            origin: None,
        });
    }
    Ok((path.to_string(), out))
}

/// A name fit for a file: letters, digits, `-`, `_` and `.`; anything else becomes `-`.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Sets `path` (dotted; numeric segments index lists) in `doc` to `value`.
fn set_path(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(format!(
            "`{path}` is not a dotted key path such as clients.0.policy.buffer"
        ));
    }
    let mut at = doc;
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let here = segments[..i].join(".");
        at = match at {
            Value::Array(items) => {
                let n = items.len();
                let idx: usize = seg.parse().map_err(|_| {
                    format!(
                        "`{here}` is a list: `{seg}` should be an index from 0 to {}",
                        n.saturating_sub(1)
                    )
                })?;
                let slot = items.get_mut(idx).ok_or_else(|| {
                    format!(
                        "`{here}` has {n} entries: index {idx} does not exist (0 to {})",
                        n.saturating_sub(1)
                    )
                })?;
                if last {
                    *slot = value;
                    return Ok(());
                }
                slot
            }
            Value::Object(map) => {
                if last {
                    map.insert((*seg).to_string(), value);
                    return Ok(());
                }
                map.entry((*seg).to_string())
                    .or_insert_with(|| Value::Object(Map::new()))
            }
            Value::Null => {
                *at = Value::Object(Map::new());
                let Value::Object(map) = at else {
                    unreachable!()
                };
                if last {
                    map.insert((*seg).to_string(), value);
                    return Ok(());
                }
                map.entry((*seg).to_string())
                    .or_insert_with(|| Value::Object(Map::new()))
            }
            _ => {
                return Err(format!(
                    "`{here}` holds a value, not keys: `{path}` cannot be set"
                ));
            }
        };
    }
    Ok(())
}

/// The scenario `text` (from `file`) with `variant`'s keys applied, checked.
pub(crate) fn build(
    text: &str,
    file: &str,
    variant: &VariantSpec,
) -> Result<Scenario, ScenarioError> {
    let index = Index::new(text);
    let fail = |key: Option<&str>, message: String| {
        let path = match (&variant.origin, key) {
            (Some(o), Some(k)) => format!("{o}.{k}"),
            (Some(o), None) => o.clone(),
            (None, Some(k)) => format!("--vary {k}"),
            (None, None) => "--vary".to_string(),
        };
        let at = variant.origin.as_ref().and_then(|_| index.locate(&path));
        ScenarioError {
            problems: vec![Problem {
                file: file.to_string(),
                line: at.map(|a| a.0),
                column: at.map(|a| a.1),
                path,
                message: format!("variant `{}`: {message}", variant.name),
            }],
        }
    };
    let mut doc: Value =
        serde_saphyr::from_str(text).map_err(|e| fail(None, e.without_snippet().to_string()))?;
    // Applied one at a time, so that a refusal names the key that caused it.
    for (key, value) in &variant.set {
        set_path(&mut doc, key, value.clone()).map_err(|m| fail(Some(key), m))?;
        if let Err(e) = serde_json::from_value::<Scenario>(doc.clone()) {
            return Err(fail(Some(key), e.to_string()));
        }
    }
    let mut scenario: Scenario =
        serde_json::from_value(doc).map_err(|e| fail(None, e.to_string()))?;
    scenario.resolve();
    let findings = validate::check(&scenario);
    if let Some((path, message)) = findings.into_iter().next() {
        let key = variant
            .set
            .iter()
            .map(|(k, _)| k.as_str())
            .find(|k| dotted(k) == path)
            .or(variant.set.first().map(|(k, _)| k.as_str()));
        return Err(fail(key, format!("{path}: {message}")));
    }
    Ok(scenario)
}

/// `clients.0.policy.buffer` → `clients[0].policy.buffer`, the form checks report.
fn dotted(path: &str) -> String {
    let mut out = String::new();
    for seg in path.split('.') {
        if seg.bytes().all(|b| b.is_ascii_digit()) && !out.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

/// Builds every variant; every problem of every variant, or the scenarios.
pub fn build_all(
    text: &str,
    file: &str,
    variants: &[VariantSpec],
) -> Result<Vec<Scenario>, ScenarioError> {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for v in variants {
        match build(text, file, v) {
            Ok(s) => out.push(s),
            Err(e) => problems.extend(e.problems),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ScenarioError { problems })
    }
}

/// Reads a scenario file's text and checks it, for `build`.
pub fn load_text(path: &std::path::Path) -> Result<(String, Scenario), ScenarioError> {
    let file = path.display().to_string();
    let scenario = super::load(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        problems: vec![Problem {
            file,
            line: None,
            column: None,
            path: String::new(),
            message: format!("cannot read the file: {e}"),
        }],
    })?;
    Ok((text, scenario))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_read_values_as_yaml() {
        let (path, v) = sweep("clients.0.count=10,20").unwrap();
        assert_eq!(path, "clients.0.count");
        assert_eq!(v[0].name, "count-10");
        assert_eq!(v[1].set[0].1, serde_json::json!(20));
        let (_, v) = sweep("clients.0.policy.buffer=30s").unwrap();
        assert_eq!(v[0].set[0].1, serde_json::json!("30s"));
        assert!(sweep("nothing").is_err());
        assert!(sweep("a=1,,2").is_err());
        assert!(sweep("a=1,1").is_err());
    }

    #[test]
    fn paths_set_keys_and_index_lists() {
        let mut doc = serde_json::json!({"clients": [{"name": "a"}]});
        set_path(
            &mut doc,
            "clients.0.policy.buffer",
            serde_json::json!("30s"),
        )
        .unwrap();
        assert_eq!(doc["clients"][0]["policy"]["buffer"], "30s");
        assert!(set_path(&mut doc, "clients.3.count", serde_json::json!(1)).is_err());
        assert!(set_path(&mut doc, "clients.x.count", serde_json::json!(1)).is_err());
        assert!(set_path(&mut doc, "clients.0.name.x", serde_json::json!(1)).is_err());
        assert_eq!(
            dotted("clients.0.policy.buffer"),
            "clients[0].policy.buffer"
        );
    }
}
