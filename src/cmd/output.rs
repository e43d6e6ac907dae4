//! What reaches the terminal: stdout that tolerates a closed pipe, a report written
//! and summarised, and the progress bar of a long run.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokenstorm::report::Report;
use tokenstorm::report::export::{self, Format};
use tokenstorm::report::summary::{self, Style};
use tokenstorm::run::Control;
use tokenstorm::scenario::Scenario;

use super::Failure;

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly.
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write to stdout: {e}");
    }
}

/// Writes `report` in `formats` under `dir` and prints its summary and paths (unless
/// `quiet`). The summary is printed even when the files cannot be written: what was
/// measured reaches the user one way or the other.
pub fn deliver(
    report: &Report,
    dir: &Path,
    formats: &[Format],
    quiet: bool,
) -> Result<(), Failure> {
    let written = export::write(report, dir, formats);
    if !quiet || written.is_err() {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        out(&summary::render(report, Style { color }));
    }
    let paths = written.map_err(Failure::run)?;
    if !quiet {
        for path in &paths {
            out(&format!("report: {}\n", path.display()));
        }
    }
    Ok(())
}

/// A progress bar over the run's (simulated) time, shown once the run has taken a second.
pub fn show_progress(
    scenario: &Scenario,
    control: &Control,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let total = scenario.duration.as_ms().max(1) as u64;
    let progress = control.progress.clone();
    let name = scenario.name.clone();
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(1) {
            if done.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {percent:>3}% of simulated time · {elapsed} wall, ~{eta} left",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(name);
        while !done.load(Ordering::Relaxed) {
            bar.set_position(progress.load(Ordering::Relaxed).min(total));
            std::thread::sleep(Duration::from_millis(100));
        }
        bar.finish_and_clear();
    })
}
