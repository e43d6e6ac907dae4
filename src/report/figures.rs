//! Figures derived from counts, computed the same way for a run and for a merged
//! report: rates, the mean refresh rate, and the thresholds' verdicts.

use crate::contract::{self as m, Report};
use crate::report::threshold;
use crate::scenario::Thresholds;

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Rounds to 6 decimals, so rates read well and never carry float noise.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// `unauthorized_rate` and `failed_rate` of some requests (a run's or one group's);
/// `merge` recomputes them from summed counts the same way.
pub(crate) fn rates(r: &m::Requests) -> (f64, f64) {
    (
        round6(ratio(r.unauthorized, r.total)),
        round6(ratio(r.failed, r.logical)),
    )
}

/// `refresh.mean_per_second`: the attempts over the time the run covered.
pub(crate) fn mean_per_second(attempts: u64, duration_seconds: f64) -> f64 {
    if duration_seconds > 0.0 {
        round6(attempts as f64 / duration_seconds)
    } else {
        0.0
    }
}

/// Gives each of `thresholds` its verdict on the figures of `report`, in place of any
/// verdicts it had (`merge` judges the merged figures the same way).
pub(crate) fn judge(report: &mut Report, thresholds: &Thresholds) {
    report.thresholds.clear();
    let value = report.to_json();
    report.thresholds = threshold::evaluate(thresholds, &value);
}
