//! Thresholds: pass/fail conditions on the figures of a report, for CI.
//!
//! A threshold names a numeric path of the report (`unauthorized_rate`,
//! `refresh.peak_per_second`, `groups.web.login.forced`, `outages.0.recovery_seconds`:
//! array elements by number) and a condition (see [`crate::scenario::threshold`]);
//! [`evaluate`] gives each threshold its verdict once the report is assembled.

use serde_json::Value;

use crate::contract::{ThresholdResult, is_external_json, lookup, not_observed};
use crate::scenario::Thresholds;
use crate::scenario::threshold::Condition;

/// The verdict of every threshold, in file order. A path that holds no number fails
/// with `actual` NaN, serialized as null: the scenario checks refuse unknown paths
/// beforehand, but a figure may be null in a run (`outages.0.recovery_seconds` when the
/// run never recovered).
pub(crate) fn evaluate(thresholds: &Thresholds, report: &Value) -> Vec<ThresholdResult> {
    let external = is_external_json(report);
    thresholds
        .0
        .iter()
        .map(|(metric, text)| {
            let not_observed = external.then(|| not_observed(metric)).flatten();
            if let Some(why) = not_observed {
                return ThresholdResult {
                    metric: metric.clone(),
                    condition: text.trim().to_string(),
                    actual: f64::NAN,
                    pass: false,
                    not_observed: Some(why.to_string()),
                };
            }
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
                not_observed: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_figure_a_targets_run_cannot_observe_fails_with_the_reason() {
        let report = serde_json::json!({
            "targets": {"issuer": "https://id.example.com"},
            "rotation": {"reuse_detected": 0},
            "issuer": {"token_requests": 0},
            "requests": {"failed": 0},
        });
        let t = Thresholds(vec![
            ("rotation.reuse_detected".into(), "== 0".into()),
            ("issuer.token_requests".into(), "== 0".into()),
            ("requests.failed".into(), "== 0".into()),
            ("rotation.suspected_reuse".into(), "== 0".into()),
        ]);
        let mut report = report;
        report["rotation"]["suspected_reuse"] = 0.into();
        let r = evaluate(&t, &report);
        assert_eq!(
            r.iter().map(|r| r.pass).collect::<Vec<_>>(),
            [false, false, true, true]
        );
        assert!(r[0].actual.is_nan());
        assert!(r[0].not_observed.as_deref().unwrap().contains("external"));
        assert_eq!(r[2].not_observed, None);
        // Without targets the same figures are the fake servers' own, and observed.
        let ours = serde_json::json!({"targets": null, "rotation": {"reuse_detected": 0}});
        let r = evaluate(&Thresholds(vec![t.0[0].clone()]), &ours);
        assert!(r[0].pass);
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
