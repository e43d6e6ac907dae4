//! `tokenstorm run`: one scenario (or one worker's share of it), its report written
//! and summarised, with a progress bar on a terminal and Ctrl-C keeping what ran.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokenstorm::run::{self, Control, RunOptions};
use tokenstorm::shard;

use super::output::{deliver, show_progress};
use super::{
    EXIT_INPUT, EXIT_INTERRUPTED, EXIT_RUN, EXIT_THRESHOLD, formats, load, stop_on_ctrl_c,
};
use crate::cli::RunArgs;

pub fn run(args: RunArgs) -> ExitCode {
    let formats = match formats(&args.reports.format) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let mut scenario = match load(&args.scenario) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if let Some(shard) = args.worker {
        let problems = shard::problems(&scenario, shard, args.run_id.as_deref());
        for p in &problems {
            eprintln!("error: {}: {p}", args.scenario.display());
        }
        if !problems.is_empty() {
            return ExitCode::from(EXIT_INPUT);
        }
    }
    let options = RunOptions {
        shard: args.worker,
        run_id: args.run_id.clone(),
    };

    let control = Control::default();
    stop_on_ctrl_c(control.stop.clone());
    let done = Arc::new(AtomicBool::new(false));
    let progress = (!args.quiet && std::io::stderr().is_terminal())
        .then(|| show_progress(&scenario, &control, done.clone()));
    let result = run::run_with(&scenario, &control, &options);
    done.store(true, Ordering::Relaxed);
    if let Some(handle) = progress {
        let _ = handle.join();
    }

    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", args.scenario.display());
            return ExitCode::from(EXIT_RUN);
        }
    };
    if let Err(code) = deliver(&report, &args.reports.out, &formats, args.quiet) {
        return code;
    }
    if report.run_info.interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if report.thresholds.iter().all(|t| t.pass) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_THRESHOLD)
    }
}
