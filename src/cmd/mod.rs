//! The commands, one file each, and what they share: the one error type they return
//! (`main` turns it into the exit code), reading `--format`, the verdict on reports,
//! Ctrl-C and SIGTERM handling and logging. Terminal output lives in `output`.

pub mod compare;
pub mod merge;
pub mod output;
pub mod presets;
pub mod run;
pub mod serve;
pub mod validate;

use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use tokenstorm::report::Report;
use tokenstorm::report::export::Format;
use tokenstorm::scenario::ScenarioError;
use tokenstorm::scenario::footprint;
use tokenstorm::shard::Shard;

/// Why a command did not end with every threshold passed. `main` turns it into the
/// exit code and prints it once.
pub enum Failure {
    /// Bad input or usage (exit 2); the text as printed.
    Input(String),
    /// The run itself failed (exit 3); the text as printed.
    Run(String),
    /// A threshold failed (exit 1).
    Threshold,
    /// Ctrl-C or SIGTERM ended the run (exit 130 or 143: 128 and the signal's
    /// number, as a shell reports it); the report of what ran was still written.
    Interrupted,
}

impl Failure {
    /// Bad input, printed `error: {message}`.
    pub fn input(message: impl fmt::Display) -> Self {
        Self::Input(format!("error: {message}"))
    }

    /// A failed run, printed `error: {message}`.
    pub fn run(message: impl fmt::Display) -> Self {
        Self::Run(format!("error: {message}"))
    }

    pub fn code(&self) -> u8 {
        match self {
            Self::Threshold => 1,
            Self::Input(_) => 2,
            Self::Run(_) => 3,
            Self::Interrupted => 128 + STOPPED_BY.load(Ordering::Relaxed),
        }
    }

    /// Whether `main` still has to print it: a failed threshold is in the summary
    /// already, and the Ctrl-C handler has announced the interruption.
    pub fn needs_printing(&self) -> bool {
        matches!(self, Self::Input(_) | Self::Run(_))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Input(text) | Self::Run(text) => f.write_str(text),
            Self::Threshold => f.write_str("a threshold failed"),
            Self::Interrupted => f.write_str("interrupted"),
        }
    }
}

/// A scenario's problems already say where (file:line:column), one per line, so they
/// are printed as they are.
/// A run of `file` that failed: exit 2 when its `targets` refused it before it began
/// (named at their key, as a scenario error is), else exit 3.
fn run_failed(file: &std::path::Path, e: tokenstorm::run::RunError) -> Failure {
    match e {
        tokenstorm::run::RunError::Targets { key, message } => {
            ScenarioError::at(file, key, message).into()
        }
        e => Failure::run(format!("{}: {e}", file.display())),
    }
}

impl From<ScenarioError> for Failure {
    fn from(e: ScenarioError) -> Self {
        Self::Input(e.to_string())
    }
}

pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "tokenstorm=info",
        2 => "tokenstorm=debug",
        _ => "tokenstorm=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .try_init();
}

/// The `--format` names as formats; the first unknown one is refused.
pub fn formats(names: &[String]) -> Result<Vec<Format>, Failure> {
    names
        .iter()
        .map(|f| {
            Format::parse(f).ok_or_else(|| {
                Failure::input(format!(
                    "unknown report format `{f}` in --format (accepted: {})",
                    Format::ACCEPTED
                ))
            })
        })
        .collect()
}

pub fn passed(report: &Report) -> bool {
    report.thresholds.iter().all(|t| t.pass)
}

/// Interrupted if any of `reports` was (its figures cover only part of the run), else
/// whether every threshold of every report passed.
pub fn verdict(reports: &[Report]) -> Result<(), Failure> {
    if reports.iter().any(|r| r.run_info.interrupted) {
        Err(Failure::Interrupted)
    } else if let Some(why) = reports
        .iter()
        .find_map(tokenstorm::report::no_token_obtained)
    {
        Err(Failure::run(why))
    } else if reports.iter().all(passed) {
        Ok(())
    } else {
        Err(Failure::Threshold)
    }
}

/// The signal that stopped the run: 2 (SIGINT, Ctrl-C) or 15 (SIGTERM).
static STOPPED_BY: AtomicU8 = AtomicU8::new(SIGINT);
const SIGINT: u8 = 2;
const SIGTERM: u8 = 15;

/// Waits for Ctrl-C or SIGTERM (what CI runners, `timeout` and container engines send)
/// and gives its number; None when neither can be listened for.
pub async fn stop_signal() -> Option<u8> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                biased;
                r = tokio::signal::ctrl_c() => r.ok().map(|()| SIGINT),
                _ = term.recv() => Some(SIGTERM),
            };
        }
    }
    tokio::signal::ctrl_c().await.ok().map(|()| SIGINT)
}

/// The first Ctrl-C or SIGTERM ends the run and keeps its report; a second one exits at
/// once.
pub fn stop_on_ctrl_c(stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if let Some(signal) = stop_signal().await {
                STOPPED_BY.store(signal, Ordering::Relaxed);
                stop.store(true, Ordering::Relaxed);
                let by = if signal == SIGTERM { " by SIGTERM" } else { "" };
                eprintln!(
                    "\ninterrupted{by}: finishing the report of what ran (Ctrl-C again to quit at once)"
                );
            }
            if stop_signal().await.is_some() {
                std::process::exit(Failure::Interrupted.code().into());
            }
        });
    });
}

/// Refuses a scenario whose estimated memory exceeds what the machine has available
/// (`MemAvailable`), before anything runs; a worker needs only its share. Where the
/// available memory cannot be read, nothing is refused.
pub fn fits(
    file: &std::path::Path,
    scenario: &tokenstorm::scenario::Scenario,
    shard: Option<Shard>,
) -> Result<(), Failure> {
    let Some(available) = available_memory() else {
        return Ok(());
    };
    let f = footprint::estimate(scenario);
    let share = shard.map_or(1, |s| u64::from(s.of.max(1)));
    let needed = f.bytes / share;
    if needed <= available {
        return Ok(());
    }
    let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
    Err(Failure::input(format!(
        "{}: this run needs about {:.1} GiB ({} clients and {} request loops{}, at about {} bytes a client and {} a loop), more than the {:.1} GiB available; lower `count`, `instances` or `workers`, split it with --worker I/N, or run it anyway with --force",
        file.display(),
        gib(needed),
        f.clients,
        f.workers,
        if share > 1 {
            format!(", a 1/{share} share")
        } else {
            String::new()
        },
        footprint::PER_CLIENT,
        footprint::PER_WORKER,
        gib(available),
    )))
}

/// `MemAvailable` of /proc/meminfo, in bytes.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
