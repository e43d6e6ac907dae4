//! `tokenstorm compare`: a scenario's variants (or a sweep of one knob) run on the
//! same seed, each report written, and the key figures shown side by side.

use std::process::ExitCode;

use tokenstorm::report::export;
use tokenstorm::run::Control;
use tokenstorm::run::compare as cmp;

use super::output::out;
use super::{EXIT_INPUT, EXIT_INTERRUPTED, EXIT_RUN, EXIT_THRESHOLD, formats, stop_on_ctrl_c};
use crate::cli::CompareArgs;

pub fn compare(args: CompareArgs) -> ExitCode {
    let formats = match formats(&args.reports.format) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let (text, base) = match cmp::load_text(&args.scenario) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_INPUT);
        }
    };
    let (swept, variants) = match &args.vary {
        Some(arg) => match cmp::sweep(arg) {
            Ok((path, v)) => (Some(path), v),
            Err(e) => {
                eprintln!("error: --vary {e}");
                return ExitCode::from(EXIT_INPUT);
            }
        },
        None => (None, cmp::declared(&base)),
    };
    if variants.is_empty() {
        eprintln!(
            "error: nothing to compare: {} has no `variants` and no --vary was given",
            args.scenario.display()
        );
        return ExitCode::from(EXIT_INPUT);
    }
    let file = args.scenario.display().to_string();
    let mut scenarios = match cmp::build_all(&text, &file, &variants) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_INPUT);
        }
    };
    let seed = args.seed.unwrap_or(base.seed);
    for s in &mut scenarios {
        s.seed = seed;
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let control = Control::default();
    stop_on_ctrl_c(control.stop.clone());
    let names: Vec<String> = variants.iter().map(|v| v.name.clone()).collect();
    let mut reports = Vec::new();
    for result in cmp::run_all(&scenarios, &names, jobs, &control) {
        match result {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("error: {}: {e}", args.scenario.display());
                return ExitCode::from(EXIT_RUN);
            }
        }
    }
    let mut base = base;
    base.seed = seed;
    let comparison = cmp::compare(&base, swept.as_deref(), &variants, &reports);
    let mut written = Vec::new();
    for r in &reports {
        match export::write(r, &args.reports.out, &formats) {
            Ok(paths) => written.extend(paths),
            Err(e) => {
                out(&cmp::render(&comparison, &reports));
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_RUN);
            }
        }
    }
    match export::write_comparison(&comparison, &reports, &args.reports.out, &formats) {
        Ok(paths) => written.extend(paths),
        Err(e) => {
            out(&cmp::render(&comparison, &reports));
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_RUN);
        }
    }
    if !args.quiet {
        let mut text = cmp::render(&comparison, &reports);
        text.push('\n');
        for p in &written {
            text.push_str(&format!("report: {}\n", p.display()));
        }
        out(&text);
    }
    if reports.iter().any(|r| r.run_info.interrupted) {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if reports.iter().all(|r| r.thresholds.iter().all(|t| t.pass)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_THRESHOLD)
    }
}
