//! Threshold verdicts as rows, for every place that shows them: the terminal summary,
//! `compare`'s table, Markdown and HTML. The rows and the headline counts are made
//! here; each format adds only its own markup.

use super::Report;
use super::format::figure;

/// One threshold's verdict, its texts ready to print.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Verdict<'a> {
    pub pass: bool,
    /// `✓` or `✗`.
    pub mark: &'static str,
    pub metric: &'a str,
    pub condition: &'a str,
    /// The actual value in full, as the terminal prints it; `null` for a figure that was
    /// null (an outage never recovered from).
    pub actual: String,
    /// The actual value as report files print it ([`figure`]); `-` for null.
    pub actual_figure: String,
}

/// A report's verdicts, in the order of its thresholds, and how many passed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Verdicts<'a> {
    pub rows: Vec<Verdict<'a>>,
    pub passed: usize,
}

impl<'a> Verdicts<'a> {
    pub(crate) fn of(report: &'a Report) -> Verdicts<'a> {
        let rows: Vec<Verdict<'a>> = report
            .thresholds
            .iter()
            .map(|t| Verdict {
                pass: t.pass,
                mark: if t.pass { "✓" } else { "✗" },
                metric: &t.metric,
                condition: &t.condition,
                actual: match &t.not_observed {
                    Some(why) => format!("not observed: {why}"),
                    None => actual(t.actual),
                },
                actual_figure: match &t.not_observed {
                    Some(_) => "not observed".to_string(),
                    None => figure(t.actual),
                },
            })
            .collect();
        let passed = rows.iter().filter(|v| v.pass).count();
        Verdicts { rows, passed }
    }

    /// How many thresholds there are.
    pub(crate) fn total(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// True when every threshold passed, and when there are none.
    pub(crate) fn all_passed(&self) -> bool {
        self.passed == self.rows.len()
    }
}

/// NaN stands for a figure that was null, and reads as such.
fn actual(v: f64) -> String {
    if v.is_nan() {
        "null".to_string()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ThresholdResult;

    #[test]
    fn rows_keep_the_order_and_count_the_passes() {
        let mut r = Report::default();
        for (metric, actual, pass) in [("a", 0.1234567, true), ("b", f64::NAN, false)] {
            r.thresholds.push(ThresholdResult {
                not_observed: None,
                metric: metric.into(),
                condition: "< 1".into(),
                actual,
                pass,
            });
        }
        let v = Verdicts::of(&r);
        assert_eq!((v.passed, v.total(), v.all_passed()), (1, 2, false));
        assert_eq!(v.rows[0].mark, "✓");
        assert_eq!(v.rows[0].actual, "0.1234567");
        assert_eq!(v.rows[0].actual_figure, "0.123457");
        assert_eq!((v.rows[1].metric, v.rows[1].mark), ("b", "✗"));
        assert_eq!(v.rows[1].actual, "null");
        assert_eq!(v.rows[1].actual_figure, "-");
        assert!(Verdicts::of(&Report::default()).all_passed());
    }
}
