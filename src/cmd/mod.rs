//! The commands, one file each, and what they share: exit codes, loading a scenario,
//! reading `--format`, Ctrl-C handling and logging. Terminal output lives in `output`.

pub mod compare;
pub mod merge;
pub mod output;
pub mod presets;
pub mod run;
pub mod serve;
pub mod validate;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokenstorm::report::export::Format;
use tokenstorm::scenario::{self, Scenario};

pub const EXIT_THRESHOLD: u8 = 1;
pub const EXIT_INPUT: u8 = 2;
pub const EXIT_RUN: u8 = 3;
pub const EXIT_INTERRUPTED: u8 = 130;

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

pub fn load(path: &Path) -> Result<Scenario, ExitCode> {
    scenario::load(path).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(EXIT_INPUT)
    })
}

pub fn formats(names: &[String]) -> Result<Vec<Format>, ExitCode> {
    let mut formats = Vec::new();
    for f in names {
        match Format::parse(f) {
            Some(format) => formats.push(format),
            None => {
                eprintln!(
                    "error: unknown report format `{f}` in --format (accepted: {})",
                    Format::ACCEPTED
                );
                return Err(ExitCode::from(EXIT_INPUT));
            }
        }
    }
    Ok(formats)
}

/// The first Ctrl-C ends the run and keeps its report; a second one exits at once.
pub fn stop_on_ctrl_c(stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::Relaxed);
                eprintln!(
                    "\ninterrupted: finishing the report of what ran (Ctrl-C again to quit at once)"
                );
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(EXIT_INTERRUPTED as i32);
            }
        });
    });
}
