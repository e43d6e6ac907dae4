//! Runs a scenario and collects its report.
//!
//! `sim` runs on the sim's own executor, on virtual time: it jumps to the next timer
//! whenever every task is idle, so a day of simulated traffic
//! takes seconds and every run of the same scenario and seed does the same thing in the
//! same order. The only wall-clock readings are the ones that end up in `run_info`.

pub(crate) mod assemble;
pub mod compare;

use crate::report::Report;
use crate::scenario::{Mode, Scenario};
use crate::world::{self, Outcome};
pub use crate::world::{Control, RunError, RunOptions};

/// Runs `scenario` and returns its report, thresholds evaluated.
pub fn run(scenario: &Scenario, control: &Control) -> Result<Report, RunError> {
    run_with(scenario, control, &RunOptions::default())
}

/// [`run`] as one worker of several when `options` has a shard: only that worker's
/// clients run, and the report carries what `merge` needs in its `worker` section.
pub fn run_with(
    scenario: &Scenario,
    control: &Control,
    options: &RunOptions,
) -> Result<Report, RunError> {
    match scenario.mode {
        Mode::Sim => {
            let (threads, _) = options.threads_for(scenario);
            let mut report = run_on(scenario, options, || {
                if threads > 1 {
                    world::threads::run(scenario, control, threads)
                } else {
                    world::sim::block_on(world::sim::run(scenario, control, options))
                }
            })?;
            report.run_info.threads = threads;
            Ok(report)
        }
        Mode::Live => {
            let runtime = world::live::runtime()?;
            run_on(scenario, options, || {
                let outcome = runtime.block_on(world::live::run(scenario, control, options));
                // Dropping the runtime cancels whatever was still in flight at the end.
                drop(runtime);
                outcome
            })
        }
    }
}

/// Runs the world (`world` runs it on its clock) and assembles its report, with the
/// wall-clock facts (and a worker's section when it ran as one).
fn run_on(
    scenario: &Scenario,
    options: &RunOptions,
    world: impl FnOnce() -> Result<Outcome, RunError>,
) -> Result<Report, RunError> {
    let wall = std::time::Instant::now();
    let started_at = rfc3339_now();
    let mut outcome = world()?;
    let worker = match options.shard {
        Some(shard) => Some(assemble::worker(scenario, shard, options, &mut outcome)?),
        None => None,
    };
    let mut report = assemble::assemble(scenario, outcome);
    report.worker = worker;
    report.run_info.wall_seconds = (wall.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    report.run_info.started_at = started_at;
    Ok(report)
}

/// Now as `YYYY-MM-DDTHH:MM:SSZ`, for `run_info.started_at` only.
fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
