//! `tokenstorm run`: one scenario (or one worker's share of it), its report written
//! and summarised, with a progress bar on a terminal and Ctrl-C keeping what ran.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokenstorm::report::Report;
use tokenstorm::run::{self, Control, RunError, RunOptions};
use tokenstorm::scenario::{self, Scenario};
use tokenstorm::shard::{self, Shard};

use super::output::{deliver, show_progress};
use super::{Failure, formats, stop_on_ctrl_c, verdict};
use crate::cli::RunArgs;

pub fn run(args: RunArgs) -> Result<(), Failure> {
    let formats = formats(&args.reports.format)?;
    let mut scenario = scenario::load(&args.scenario)?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if let Some(shard) = args.worker {
        check_worker(&args, &scenario, shard)?;
    }
    if !args.force {
        super::fits(&args.scenario, &scenario, args.worker)?;
    }
    let options = RunOptions {
        shard: args.worker,
        run_id: args.run_id.clone(),
        threads: args.threads,
    };
    let report = run_watched(&scenario, &options, args.quiet)
        .map_err(|e| super::run_failed(&args.scenario, e))?;
    deliver(&report, &args.reports.out, &formats, args.quiet)?;
    verdict(std::slice::from_ref(&report))
}

/// Refuses a worker that cannot run this scenario, with every reason at once (one
/// line each) so they can all be fixed in one go.
fn check_worker(args: &RunArgs, scenario: &Scenario, shard: Shard) -> Result<(), Failure> {
    let problems = shard::problems(scenario, shard, args.run_id.as_deref());
    if problems.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("error: {}: {p}", args.scenario.display()))
        .collect();
    Err(Failure::Input(lines.join("\n")))
}

/// Runs `scenario` with Ctrl-C stopping it early and, unless `quiet`, a progress bar
/// when stderr is a terminal (never in a pipe or a log file).
fn run_watched(scenario: &Scenario, options: &RunOptions, quiet: bool) -> Result<Report, RunError> {
    let control = Control::default();
    stop_on_ctrl_c(control.stop.clone());
    let done = Arc::new(AtomicBool::new(false));
    let progress = (!quiet && std::io::stderr().is_terminal())
        .then(|| show_progress(scenario, &control, done.clone()));
    let result = run::run_with(scenario, &control, options);
    done.store(true, Ordering::Relaxed);
    if let Some(handle) = progress {
        let _ = handle.join();
    }
    result
}
