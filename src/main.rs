//! The `tokenstorm` command: parses arguments, calls the library, prints results.
//!
//! Exit codes: 0 every threshold passed, 1 a threshold failed, 2 bad input or usage,
//! 3 the run itself failed, 130 interrupted (the report of what ran is still written).

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    cmd::init_logging(cli.verbose);
    let result = match cli.command {
        Command::Run(args) => cmd::run::run(args),
        Command::Validate { files } => cmd::validate::validate(&files),
        Command::Compare(args) => cmd::compare::compare(args),
        Command::Merge(args) => cmd::merge::merge(args),
        Command::Presets => cmd::presets::presets(),
        Command::Serve(args) => cmd::serve::serve(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if failure.needs_printing() {
                eprintln!("{failure}");
            }
            ExitCode::from(failure.code())
        }
    }
}
