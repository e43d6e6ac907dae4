//! Side-by-side runs of one scenario: its `variants`, or a sweep of one knob.
//!
//! A variant is the scenario with a few keys set differently (`set`, dotted paths such as
//! `clients.0.policy.buffer`). Each is built from the scenario's YAML with its keys
//! applied, then checked as a scenario is, so a variant that names no key or breaks a
//! rule is refused with the file, the line of its `set` entry and what is accepted.
//! Every variant runs on the same seed; they may run in parallel, each on its own
//! runtime, and the results are gathered in variant order, so the comparison is the same
//! however many ran at once. The [`Comparison`] puts the key figures side by side and
//! marks the best value of each.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::report::Report;
use crate::report::threshold::lookup;
use crate::run::{self, Control, RunError};
use crate::scenario::{self, Problem, Scenario, ScenarioError, locate::Index, validate};

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
pub fn build(text: &str, file: &str, variant: &VariantSpec) -> Result<Scenario, ScenarioError> {
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
    let scenario: Scenario = serde_json::from_value(doc).map_err(|e| fail(None, e.to_string()))?;
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

/// Runs every scenario, `jobs` at a time, and returns the reports in the same order.
/// Each report is marked with its variant's name.
pub fn run_all(
    scenarios: &[Scenario],
    names: &[String],
    jobs: usize,
    control: &Control,
) -> Vec<Result<Report, RunError>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Report, RunError>>>> =
        Mutex::new((0..scenarios.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, scenarios.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(s) = scenarios.get(i) else { break };
                    let result = run::run(s, control).map(|mut r| {
                        r.variant = names.get(i).cloned();
                        r
                    });
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.unwrap_or(Err(RunError::Unsupported("a variant that did not run"))))
        .collect()
}

/// The figures compared, in the order of the table. Lower is better for each.
pub const METRICS: &[&str] = &[
    "unauthorized_rate",
    "failed_rate",
    "requests.total",
    "requests.unauthorized",
    "refresh.attempts",
    "refresh.peak_per_second",
    "refresh.duplicates",
    "refresh.invalid_grant",
    "login.forced",
    "rotation.reuse_detected",
    "lock.contended",
    "lock.wait_ms.p99",
    "lock.lost",
    "latency_ms.request.p99",
    "latency_ms.refresh.p99",
    "issuer.token_requests",
];

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub scenario: String,
    pub seed: u64,
    /// The path `--vary` swept, if any.
    pub swept: Option<String>,
    pub variants: Vec<VariantSummary>,
    pub rows: Vec<Row>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VariantSummary {
    pub name: String,
    pub set: Map<String, Value>,
    pub thresholds_passed: bool,
    /// The variant's JSON report, under the same directory.
    pub report: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub metric: String,
    pub values: Vec<f64>,
    /// Indices of the variants with the lowest value; empty when all are equal.
    pub best: Vec<usize>,
}

impl Row {
    pub fn new(metric: &str, values: Vec<f64>) -> Row {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let all_equal = values.iter().all(|v| *v == min);
        let best = if all_equal {
            Vec::new()
        } else {
            (0..values.len()).filter(|&i| values[i] == min).collect()
        };
        Row {
            metric: metric.to_string(),
            values,
            best,
        }
    }
}

/// The side-by-side figures of `reports` (one per variant, in order).
pub fn compare(
    scenario: &Scenario,
    swept: Option<&str>,
    variants: &[VariantSpec],
    reports: &[Report],
) -> Comparison {
    let values: Vec<Value> = reports
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .collect();
    Comparison {
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        swept: swept.map(str::to_string),
        variants: variants
            .iter()
            .zip(reports)
            .map(|(v, r)| VariantSummary {
                name: v.name.clone(),
                set: v.set.iter().cloned().collect(),
                thresholds_passed: r.thresholds.iter().all(|t| t.pass),
                report: crate::report::export::file_name(r, "json"),
            })
            .collect(),
        rows: METRICS
            .iter()
            .map(|m| {
                Row::new(
                    m,
                    values
                        .iter()
                        .map(|v| lookup(v, m).and_then(Value::as_f64).unwrap_or(f64::NAN))
                        .collect(),
                )
            })
            .collect(),
    }
}

/// The comparison as pretty JSON, newline-terminated.
pub fn to_json(c: &Comparison) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(c).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// The table a person reads: figures as rows, variants as columns, the best of each row
/// marked `*`; then each variant's verdicts.
pub fn render(c: &Comparison, reports: &[Report]) -> String {
    use crate::report::summary::{self, Style};
    use crate::report::verdicts::Verdicts;
    use comfy_table::presets::NOTHING;
    use comfy_table::{Cell, CellAlignment, Table};
    let mut out = String::new();
    out.push_str(&format!(
        "{} — seed {}, {} variant{}{}\n\n",
        c.scenario,
        c.seed,
        c.variants.len(),
        if c.variants.len() == 1 { "" } else { "s" },
        c.swept
            .as_ref()
            .map(|p| format!(", sweeping {p}"))
            .unwrap_or_default()
    ));
    let mut table = Table::new();
    table.load_style(NOTHING);
    let mut header = vec![Cell::new("metric")];
    header.extend(c.variants.iter().map(|v| Cell::new(&v.name)));
    table.set_header(header);
    for row in &c.rows {
        let mut cells = vec![Cell::new(&row.metric)];
        for (i, v) in row.values.iter().enumerate() {
            let text = if v.is_nan() {
                "-".to_string()
            } else if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.6}").trim_end_matches('0').to_string()
            };
            cells.push(Cell::new(if row.best.contains(&i) {
                format!("{text} *")
            } else {
                text
            }));
        }
        table.add_row(cells);
    }
    for i in 1..=c.variants.len() {
        if let Some(col) = table.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    for line in table.to_string().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("\n* best (lowest) value of the row\n");
    for (v, r) in c.variants.iter().zip(reports) {
        let verdicts = Verdicts::of(r);
        if verdicts.is_empty() {
            continue;
        }
        out.push_str(&format!("\n{}\n", v.name));
        out.push_str(&summary::verdict_lines(&verdicts, Style::default()));
    }
    out
}

/// Reads a scenario file's text and checks it, for `build`.
pub fn load_text(path: &std::path::Path) -> Result<(String, Scenario), ScenarioError> {
    let file = path.display().to_string();
    let scenario = scenario::load(path)?;
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
    fn the_lowest_values_are_best_unless_all_are_equal() {
        assert_eq!(Row::new("m", vec![3.0, 1.0, 2.0, 1.0]).best, [1, 3]);
        assert!(Row::new("m", vec![0.0, 0.0]).best.is_empty());
    }

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
