//! How a report's figures and files are named for people: one place, so that the
//! summary, every exporter and the comparison print a number and name a file alike.

use serde_json::Value;

use super::Report;
use crate::contract::{is_external_json, lookup, not_observed};

/// The figure at a dotted `path` of `json` (the report's [`Report::to_json`]): `not
/// observed` where a `targets` run could not count it, else as [`figure`] prints it.
pub(crate) fn figure_at(json: &Value, path: &str) -> String {
    match lookup(json, path).and_then(Value::as_f64) {
        None if is_external_json(json) && not_observed(path).is_some() => {
            "not observed".to_string()
        }
        v => figure(v.unwrap_or(f64::NAN)),
    }
}

/// A figure as reports print it: whole numbers without decimals, others to six places
/// at most, NaN as `-`.
pub(crate) fn figure(v: f64) -> String {
    if v.is_nan() {
        "-".to_string()
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// `<scenario>[.<variant>][.worker-<I>-of-<N>].<ext>`: a worker's report is named
/// apart, so that the workers of one run, and their merge, can share a folder.
pub(crate) fn file_name(report: &Report, extension: &str) -> String {
    let mut name = report.scenario.clone();
    if let Some(v) = &report.variant {
        name = format!("{name}.{v}");
    }
    if let Some(w) = &report.worker {
        name = format!("{name}.worker-{}-of-{}", w.index, w.of);
    }
    format!("{name}.{extension}")
}
