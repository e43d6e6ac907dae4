//! Thresholds: `metric: "op value"` conditions on any numeric path of the report.
// (placeholder until the threshold module lands)
pub fn evaluate(
    _t: &crate::scenario::Thresholds,
    _v: &serde_json::Value,
) -> Vec<crate::report::model::ThresholdResult> {
    Vec::new()
}
