//! Thresholds: pass/fail conditions on the figures of a report, for CI.
//!
//! A threshold names a numeric path of the report (`unauthorized_rate`,
//! `refresh.peak_per_second`, `groups.web.login.forced`, `outages.0.recovery_seconds`:
//! array elements by number) and a condition `op value` with
//! op one of `< <= > >= == !=`, as k6 writes them. [`Condition::parse`] is used by the
//! scenario checks, so a bad condition is refused before anything runs; [`evaluate`]
//! gives each threshold its verdict once the report is assembled.

use std::fmt;

use serde_json::Value;

use crate::report::model::ThresholdResult;
use crate::scenario::Thresholds;

/// The comparison of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

/// `op value`, e.g. `< 0.001`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Condition {
    pub op: Op,
    pub value: f64,
}

/// What a condition may look like, for error messages.
pub const ACCEPTED: &str =
    "a condition `op value` with op one of < <= > >= == != and a number, e.g. \"< 0.001\"";

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, String> {
        let t = text.trim();
        // Two-character operators first, so `<=` is not read as `<` and `=5`.
        let ops = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        let Some((op, rest)) = ops
            .iter()
            .find_map(|(s, op)| t.strip_prefix(s).map(|rest| (*op, rest)))
        else {
            return Err(format!("`{text}` has no operator; expected {ACCEPTED}"));
        };
        let number = rest.trim();
        match number.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(Condition { op, value }),
            _ => Err(format!(
                "`{number}` in `{text}` is not a number; expected {ACCEPTED}"
            )),
        }
    }

    pub fn holds(&self, actual: f64) -> bool {
        match self.op {
            Op::Lt => actual < self.value,
            Op::Le => actual <= self.value,
            Op::Gt => actual > self.value,
            Op::Ge => actual >= self.value,
            Op::Eq => actual == self.value,
            Op::Ne => actual != self.value,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op.as_str(), self.value)
    }
}

/// The value at a dotted path (`refresh.peak_per_second`) of a JSON report.
pub fn lookup<'a>(report: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(report, |v, key| match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Every numeric path of a JSON report, in document order, array elements by number
/// (`outages.0.recovery_seconds`): what thresholds may name, and "did you mean".
pub fn numeric_paths(report: &Value) -> Vec<String> {
    fn join(prefix: &str, key: &str) -> String {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    }
    fn walk(v: &Value, prefix: &str, out: &mut Vec<String>) {
        match v {
            Value::Number(_) => out.push(prefix.to_string()),
            Value::Object(map) => {
                for (k, v) in map {
                    // Series and verdicts are not single figures.
                    if prefix.is_empty() && (k == "timeline" || k == "thresholds") {
                        continue;
                    }
                    walk(v, &join(prefix, k), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &join(prefix, &i.to_string()), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(report, "", &mut out);
    out
}

/// The verdict of every threshold, in file order. A path that holds no number fails
/// with `actual` NaN, serialized as null: the scenario checks refuse unknown paths
/// beforehand, but a figure may be null in a run (`outages.0.recovery_seconds` when the
/// run never recovered).
pub fn evaluate(thresholds: &Thresholds, report: &Value) -> Vec<ThresholdResult> {
    thresholds
        .0
        .iter()
        .map(|(metric, text)| {
            let actual = lookup(report, metric).and_then(Value::as_f64);
            let pass = match (Condition::parse(text), actual) {
                (Ok(c), Some(a)) => c.holds(a),
                _ => false,
            };
            ThresholdResult {
                metric: metric.clone(),
                condition: text.trim().to_string(),
                actual: actual.unwrap_or(f64::NAN),
                pass,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_operator() {
        for (text, op, value) in [
            ("< 0.001", Op::Lt, 0.001),
            ("<=5", Op::Le, 5.0),
            ("> -1", Op::Gt, -1.0),
            (">= 1e3", Op::Ge, 1000.0),
            ("== 0", Op::Eq, 0.0),
            ("  != 2.5 ", Op::Ne, 2.5),
        ] {
            assert_eq!(
                Condition::parse(text),
                Ok(Condition { op, value }),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_condition() {
        for text in [
            "", "0.1", "=< 1", "< ", "< abc", "<< 1", "< NaN", "< inf", "~ 1",
        ] {
            assert!(Condition::parse(text).is_err(), "{text} should be refused");
        }
    }

    #[test]
    fn holds_at_the_boundaries() {
        let c = |t: &str| Condition::parse(t).unwrap();
        assert!(c("< 1").holds(0.99) && !c("< 1").holds(1.0));
        assert!(c("<= 1").holds(1.0) && !c("<= 1").holds(1.01));
        assert!(c("> 1").holds(1.01) && !c("> 1").holds(1.0));
        assert!(c(">= 1").holds(1.0) && !c(">= 1").holds(0.99));
        assert!(c("== 0").holds(0.0) && !c("== 0").holds(0.1));
        assert!(c("!= 0").holds(0.1) && !c("!= 0").holds(0.0));
    }

    #[test]
    fn evaluates_dotted_paths_in_order() {
        let report = serde_json::json!({
            "unauthorized_rate": 0.002,
            "refresh": {"peak_per_second": 40},
            "groups": {"web": {"failed_rate": 0.0}},
            "scenario": "x",
        });
        let t = Thresholds(vec![
            ("unauthorized_rate".into(), "< 0.001".into()),
            ("refresh.peak_per_second".into(), "<= 40".into()),
            ("groups.web.failed_rate".into(), "== 0".into()),
            ("scenario".into(), "== 0".into()),
        ]);
        let r = evaluate(&t, &report);
        assert_eq!(
            r.iter().map(|r| r.pass).collect::<Vec<_>>(),
            [false, true, true, false]
        );
        assert_eq!(r[1].actual, 40.0);
        assert_eq!(r[0].metric, "unauthorized_rate");
        assert!(r[3].actual.is_nan());
    }

    #[test]
    fn numeric_paths_skip_series() {
        let report = serde_json::json!({
            "a": 1, "b": {"c": 2.0, "d": "x"}, "timeline": {"tick_ms": 1000}
        });
        assert_eq!(numeric_paths(&report), ["a", "b.c"]);
    }

    #[test]
    fn numeric_paths_number_array_elements_but_skip_series_and_verdicts() {
        let report = serde_json::json!({
            "outages": [{"at": 1, "recovery_seconds": 2.5}, {"at": 3, "recovery_seconds": null}],
            "thresholds": [{"actual": 1.0}],
            "timeline": {"series": {"requests": [1, 2]}},
        });
        let paths = numeric_paths(&report);
        assert_eq!(
            paths,
            ["outages.0.at", "outages.0.recovery_seconds", "outages.1.at"]
        );
        assert!(
            paths
                .iter()
                .all(|p| lookup(&report, p).is_some_and(Value::is_number))
        );
    }

    #[test]
    fn a_null_figure_fails_its_threshold() {
        let report = serde_json::json!({
            "outages": [{"recovery_seconds": 12.0}, {"recovery_seconds": null}],
        });
        let t = Thresholds(vec![
            ("outages.0.recovery_seconds".into(), "<= 60".into()),
            ("outages.1.recovery_seconds".into(), "<= 60".into()),
            ("outages.1.recovery_seconds".into(), "!= 0".into()),
            ("outages.2.recovery_seconds".into(), "<= 60".into()),
        ]);
        let r = evaluate(&t, &report);
        assert_eq!(
            r.iter().map(|r| r.pass).collect::<Vec<_>>(),
            [true, false, false, false]
        );
        assert_eq!(r[0].actual, 12.0);
        assert!(r[1].actual.is_nan());
        let json = serde_json::to_value(&r[1]).unwrap();
        assert_eq!(json["actual"], Value::Null);
    }
}
