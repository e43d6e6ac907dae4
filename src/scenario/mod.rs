//! Scenario files: reading the YAML, and refusing what does not make sense.
//!
//! `load` parses a file into [`Scenario`] (unknown keys and wrong types are refused by
//! the parser, which knows the line and column), then `validate` checks what a parser
//! cannot: lifetimes that contradict each other, counts of zero, thresholds that name no
//! metric. Every problem becomes a [`Problem`] that names the file, the line and column
//! where known, the key path (`clients[0].policy.buffer`) and what is accepted.

pub mod footprint;
pub(crate) mod locate;
pub(crate) mod model;
pub mod policy;
pub mod presets;
pub(crate) mod threshold;
pub(crate) mod validate;
pub mod variants;
pub mod windows;

use std::fmt;
use std::path::Path;

pub use model::*;
pub use policy::Policy;
pub use validate::warnings;

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

impl ScenarioError {
    /// One problem with the key `path` of the scenario file `file`, found after it was
    /// read (a `targets` server that refused the run before it began), placed at the
    /// key's line when the file still has it.
    pub fn at(file: &Path, path: &str, message: String) -> ScenarioError {
        let at = std::fs::read_to_string(file)
            .ok()
            .and_then(|text| locate::Index::new(&text).locate(path));
        ScenarioError {
            problems: vec![Problem {
                file: file.display().to_string(),
                line: at.map(|a| a.0),
                column: at.map(|a| a.1),
                path: path.to_string(),
                message,
            }],
        }
    }
}

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
    let index = locate::Index::new(text);
    let problem = |path: String, message: String, at: Option<(u32, u32)>| Problem {
        file: file.to_string(),
        line: at.map(|a| a.0),
        column: at.map(|a| a.1),
        path,
        message,
    };
    let mut scenario: Scenario = serde_saphyr::from_str(text).map_err(|e| {
        let at = e.location().map(|l| (l.line() as u32, l.column() as u32));
        let mut path = at
            .and_then(|(l, c)| index.path_at(l, c))
            .unwrap_or_default()
            .to_string();
        let mut message = explain(&e.without_snippet().to_string(), &path);
        if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
            let key = key.split(',').next().unwrap_or(key).trim().to_string();
            // The index kept the first occurrence; the repeat is its sibling.
            path = match locate::parent(&path) {
                Some(p) if path[p.len()..].starts_with('.') => format!("{p}.{key}"),
                _ => key.clone(),
            };
            message = format!("the key `{key}` is given twice; each key may appear once");
        }
        ScenarioError {
            problems: vec![problem(path, message, at)],
        }
    })?;
    scenario.resolve();
    if let Some(t) = &mut scenario.targets {
        t.read_files(Path::new(file).parent().unwrap_or(Path::new("")));
    }
    let problems: Vec<Problem> = validate::check(&scenario)
        .into_iter()
        .map(|(path, message)| {
            let at = index.locate(&path);
            problem(path, message, at)
        })
        .collect();
    if problems.is_empty() {
        Ok(scenario)
    } else {
        Err(ScenarioError { problems })
    }
}

/// A parser message without its location (the Problem carries it), and with what is
/// accepted where the parser's own words are terse.
fn explain(raw: &str, path: &str) -> String {
    let mut m = raw.trim();
    m = m.strip_prefix("error: ").unwrap_or(m);
    if let Some(rest) = m.strip_prefix("line ")
        && let Some((_, after)) = rest.split_once(": ")
    {
        m = after;
    }
    if let Some(i) = m.rfind(" at line ") {
        m = &m[..i];
    }
    let leaf = path.rsplit(['.', '[']).next().unwrap_or("");
    let accepted = match leaf {
        "count" | "instances" | "workers" | "attempts" | "capacity" | "burst" => {
            Some("a whole number, 1 or more")
        }
        "seed" => Some("a whole number from 0 to 18446744073709551615"),
        "rotation" | "reuse_detection" => Some("true or false"),
        "fraction" | "rate" => Some("a number between 0 and 1"),
        _ => None,
    };
    match accepted {
        Some(a) if !m.contains("expected") => format!("{m}; expected {a}"),
        _ => m.to_string(),
    }
}
