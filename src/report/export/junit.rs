//! JUnit XML for CI systems: one test case per threshold, a failure carrying the actual
//! value against the condition. A comparison is one test suite per variant.

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::{ExportError, Exporter};
use crate::report::Report;
use crate::report::comparison::Comparison;

pub struct Junit;

fn suite(report: &Report) -> TestSuite {
    let name = match &report.variant {
        Some(v) => format!("{}.{v}", report.scenario),
        None => report.scenario.clone(),
    };
    let mut suite = TestSuite::new(name.clone());
    for t in &report.thresholds {
        let status = if t.pass {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(match &t.not_observed {
                Some(why) => format!("not observed, so it cannot pass: {why}"),
                None => format!(
                    "actual {}, expected {} {}",
                    crate::report::format::figure(t.actual),
                    t.metric,
                    t.condition
                ),
            });
            s.set_type("threshold");
            s
        };
        let mut case = TestCase::new(format!("{} {}", t.metric, t.condition), status);
        case.set_classname(format!("tokenstorm.{name}"));
        suite.add_test_case(case);
    }
    suite
}

fn encode(suites: Vec<TestSuite>) -> Result<Vec<u8>, ExportError> {
    let mut report = quick_junit::Report::new("tokenstorm");
    report.add_test_suites(suites);
    let mut bytes = Vec::new();
    report
        .serialize(&mut bytes)
        .map_err(|e| ExportError::Encode(e.to_string()))?;
    Ok(bytes)
}

impl Exporter for Junit {
    fn extension(&self) -> &'static str {
        "junit.xml"
    }

    fn export(&self, report: &Report) -> Result<Vec<u8>, ExportError> {
        encode(vec![suite(report)])
    }

    fn export_comparison(
        &self,
        _comparison: &Comparison,
        reports: &[Report],
    ) -> Result<Option<Vec<u8>>, ExportError> {
        encode(reports.iter().map(suite).collect()).map(Some)
    }
}
