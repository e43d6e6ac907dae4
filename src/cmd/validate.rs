//! `tokenstorm validate`: checks scenario files without running them, one line per
//! problem, every file checked even after one fails.

use std::path::PathBuf;
use std::process::ExitCode;

use tokenstorm::scenario;

use super::EXIT_INPUT;
use super::output::out;

pub fn validate(files: &[PathBuf]) -> ExitCode {
    let mut bad = 0;
    for file in files {
        match scenario::load(file) {
            Ok(s) => out(&format!("{}: ok ({})\n", file.display(), s.name)),
            Err(e) => {
                bad += 1;
                eprintln!("{e}");
            }
        }
    }
    if bad > 0 {
        eprintln!("{bad} of {} file(s) have problems", files.len());
        ExitCode::from(EXIT_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}
