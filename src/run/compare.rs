//! Side-by-side runs of one scenario's variants (see [`crate::scenario::variants`]).
//!
//! Every variant runs on the same seed; they may run in parallel, each on its own
//! runtime, and the results are gathered in variant order, so the comparison is the same
//! however many ran at once.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::report::Report;
use crate::run::{self, Control, RunError};
use crate::scenario::Scenario;

/// Runs every scenario, `jobs` at a time, and returns the reports in the same order.
/// Each report is marked with its variant's name.
pub fn run_all(
    scenarios: &[Scenario],
    names: &[String],
    jobs: usize,
    control: &Control,
) -> Vec<Result<Report, RunError>> {
    let next = AtomicUsize::new(0);
    let jobs = jobs.clamp(1, scenarios.len().max(1));
    // Variants side by side take the cores; one alone may split its clients over them.
    let options = run::RunOptions {
        threads: (jobs > 1).then_some(1),
        ..Default::default()
    };
    let results: Mutex<Vec<Option<Result<Report, RunError>>>> =
        Mutex::new((0..scenarios.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(s) = scenarios.get(i) else { break };
                    let result = run::run_with(s, control, &options).map(|mut r| {
                        r.variant = names.get(i).cloned();
                        r
                    });
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.unwrap_or(Err(RunError::Unsupported("a variant that did not run"))))
        .collect()
}
