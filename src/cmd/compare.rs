//! `tokenstorm compare`: a scenario's variants (or a sweep of one knob) run on the
//! same seed, each report written, and the key figures shown side by side.

use std::path::{Path, PathBuf};

use tokenstorm::report::Report;
use tokenstorm::report::comparison::{self, Comparison};
use tokenstorm::report::export::{self, ExportError, Format};
use tokenstorm::run::Control;
use tokenstorm::run::compare as cmp;
use tokenstorm::scenario::Scenario;
use tokenstorm::scenario::variants::{self, VariantSpec};

use super::output::out;
use super::{Failure, formats, stop_on_ctrl_c, verdict};
use crate::cli::CompareArgs;

pub fn compare(args: CompareArgs) -> Result<(), Failure> {
    let formats = formats(&args.reports.format)?;
    let (text, mut base) = variants::load_text(&args.scenario)?;
    let (swept, variants) = variants(&args, &base)?;
    let file = args.scenario.display().to_string();
    let mut scenarios = variants::build_all(&text, &file, &variants)?;
    // One seed for every variant: their differences are then the knob's, not chance's.
    base.seed = args.seed.unwrap_or(base.seed);
    for s in &mut scenarios {
        s.seed = base.seed;
        if !args.force {
            super::fits(&args.scenario, s, None)?;
        }
    }
    let reports = run_variants(&args, &scenarios, &variants)?;
    let comparison = comparison::compare(&base, swept.as_deref(), &variants, &reports);
    let written = write_all(&comparison, &reports, &args.reports.out, &formats)?;
    if !args.quiet {
        let mut text = comparison::render(&comparison, &reports);
        text.push('\n');
        for p in &written {
            text.push_str(&format!("report: {}\n", p.display()));
        }
        out(&text);
    }
    verdict(&reports)
}

/// The knob swept by --vary (if any) and the variants to run: one per --vary value,
/// else the scenario's own `variants`.
fn variants(
    args: &CompareArgs,
    base: &Scenario,
) -> Result<(Option<String>, Vec<VariantSpec>), Failure> {
    let (swept, variants) = match &args.vary {
        Some(arg) => {
            let (path, v) =
                variants::sweep(arg).map_err(|e| Failure::input(format!("--vary {e}")))?;
            (Some(path), v)
        }
        None => (None, variants::declared(base)),
    };
    if variants.is_empty() {
        return Err(Failure::input(format!(
            "nothing to compare: {} has no `variants` and no --vary was given",
            args.scenario.display()
        )));
    }
    Ok((swept, variants))
}

/// Runs the variants `--jobs` at a time (default: one per core), Ctrl-C stopping all.
fn run_variants(
    args: &CompareArgs,
    scenarios: &[Scenario],
    variants: &[VariantSpec],
) -> Result<Vec<Report>, Failure> {
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let control = Control::default();
    stop_on_ctrl_c(control.stop.clone());
    let names: Vec<String> = variants.iter().map(|v| v.name.clone()).collect();
    cmp::run_all(scenarios, &names, jobs, &control)
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| super::run_failed(&args.scenario, e))
}

/// Writes every variant's report and then the comparison's. When one cannot be
/// written the table is shown anyway (even with --quiet): what was measured is not lost.
fn write_all(
    comparison: &Comparison,
    reports: &[Report],
    dir: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>, Failure> {
    write_reports(comparison, reports, dir, formats).map_err(|e| {
        out(&comparison::render(comparison, reports));
        Failure::run(e)
    })
}

fn write_reports(
    comparison: &Comparison,
    reports: &[Report],
    dir: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>, ExportError> {
    let mut written = Vec::new();
    for r in reports {
        written.extend(export::write(r, dir, formats)?);
    }
    written.extend(export::write_comparison(comparison, reports, dir, formats)?);
    Ok(written)
}
