//! `tokenstorm merge`: the reports of a run's workers (`run --worker I/N`) combined
//! into the run's report, its thresholds judged on the merged figures.

use tokenstorm::report::merge as report_merge;

use super::output::deliver;
use super::{Failure, formats, passed};
use crate::cli::MergeArgs;

pub fn merge(args: MergeArgs) -> Result<(), Failure> {
    let formats = formats(&args.reports.format)?;
    let parts = args
        .files
        .iter()
        .map(|file| report_merge::read(file))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::input)?;
    let report = report_merge::merge(&parts).map_err(Failure::input)?;
    deliver(&report, &args.reports.out, &formats, args.quiet)?;
    // Only the thresholds decide, as `merge --help` says: the merged report records an
    // interrupted worker, but the merge itself was not interrupted.
    if passed(&report) {
        Ok(())
    } else {
        Err(Failure::Threshold)
    }
}
