//! `tokenstorm validate`: checks scenario files without running them, one line per
//! problem, every file checked even after one fails.

use std::path::PathBuf;

use tokenstorm::scenario;

use super::Failure;
use super::output::out;

pub fn validate(files: &[PathBuf]) -> Result<(), Failure> {
    let mut bad = 0;
    for file in files {
        match scenario::load(file) {
            Ok(s) => {
                out(&format!("{}: ok ({})\n", file.display(), s.name));
                for w in scenario::warnings(&s) {
                    eprintln!("{}: warning: {w}", file.display());
                }
            }
            // Printed as found, not returned: the files after it are still checked.
            Err(e) => {
                bad += 1;
                eprintln!("{e}");
            }
        }
    }
    if bad > 0 {
        Err(Failure::Input(format!(
            "{bad} of {} file(s) have problems",
            files.len()
        )))
    } else {
        Ok(())
    }
}
