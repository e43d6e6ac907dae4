//! `tokenstorm merge`: the reports of a run's workers (`run --worker I/N`) combined
//! into the run's report, its thresholds judged on the merged figures.

use std::process::ExitCode;

use tokenstorm::report::merge as report_merge;

use super::output::deliver;
use super::{EXIT_INPUT, EXIT_THRESHOLD, formats};
use crate::cli::MergeArgs;

pub fn merge(args: MergeArgs) -> ExitCode {
    let formats = match formats(&args.reports.format) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let mut parts = Vec::new();
    for file in &args.files {
        match report_merge::read(file) {
            Ok(p) => parts.push(p),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_INPUT);
            }
        }
    }
    let report = match report_merge::merge(&parts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INPUT);
        }
    };
    if let Err(code) = deliver(&report, &args.reports.out, &formats, args.quiet) {
        return code;
    }
    if report.thresholds.iter().all(|t| t.pass) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_THRESHOLD)
    }
}
