//! Scenario files: reading the YAML, and refusing what does not make sense.
//!
//! `load` parses a file into [`Scenario`] (unknown keys and wrong types are refused by
//! the parser, which knows the line and column), then `validate` checks what a parser
//! cannot: lifetimes that contradict each other, counts of zero, thresholds that name no
//! metric. Every problem becomes a [`Problem`] that names the file, the line and column
//! where known, the key path (`clients[0].policy.buffer`) and what is accepted.

pub mod model;

use std::fmt;
use std::path::Path;

pub use model::*;

/// One thing wrong with a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// Key path, e.g. `clients[0].policy.buffer`; empty for the document itself.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if self.path.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in one scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        problems: vec![Problem {
            file: file.clone(),
            line: None,
            column: None,
            path: String::new(),
            message: format!("cannot read the file: {e}"),
        }],
    })?;
    parse(&text, &file)
}

/// Parses and checks scenario text; `file` names it in messages.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let scenario: Scenario = serde_saphyr::from_str(text).map_err(|e| {
        let loc = e.location();
        ScenarioError {
            problems: vec![Problem {
                file: file.to_string(),
                line: loc.map(|l| l.line() as u32),
                column: loc.map(|l| l.column() as u32),
                path: String::new(),
                message: e.without_snippet().to_string(),
            }],
        }
    })?;
    Ok(scenario)
}
