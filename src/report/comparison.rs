//! The comparison of a scenario's variants: the key figures side by side, the best
//! value of each marked, as JSON and as the table a person reads.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::contract::lookup;
use crate::report::Report;
use crate::scenario::Scenario;
use crate::scenario::variants::VariantSpec;

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
    "clients.logged_out",
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
    pub(crate) fn new(metric: &str, values: Vec<f64>) -> Row {
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
                report: crate::report::format::file_name(r, "json"),
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
pub(crate) fn to_json(c: &Comparison) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_values_are_best_unless_all_are_equal() {
        assert_eq!(Row::new("m", vec![3.0, 1.0, 2.0, 1.0]).best, [1, 3]);
        assert!(Row::new("m", vec![0.0, 0.0]).best.is_empty());
    }
}
