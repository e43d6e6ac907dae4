//! Exporters: one per file format, behind one trait (as hyperfine's `export/` does).
//!
//! An exporter turns a finished [`Report`] into bytes; [`write`] puts them under the
//! output folder as `<scenario>[.<variant>].<ext>`. Adding a format is adding one file
//! here and one arm to [`Format`].

mod json;

use std::path::{Path, PathBuf};

pub use json::Json;

use super::Report;

/// A report format.
pub trait Exporter {
    /// The file name extension, without a dot.
    fn extension(&self) -> &'static str;
    fn export(&self, report: &Report) -> Result<Vec<u8>, ExportError>;
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("could not write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("could not encode the report: {0}")]
    Encode(String),
}

/// The formats `--format` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
}

impl Format {
    pub const ACCEPTED: &'static str = "json";

    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Json => Box::new(Json),
        }
    }
}

/// `<scenario>[.<variant>].<ext>`
pub fn file_name(report: &Report, extension: &str) -> String {
    match &report.variant {
        Some(v) => format!("{}.{}.{}", report.scenario, v, extension),
        None => format!("{}.{}", report.scenario, extension),
    }
}

/// Writes `report` in every format under `dir` (created if missing); returns the paths.
pub fn write(report: &Report, dir: &Path, formats: &[Format]) -> Result<Vec<PathBuf>, ExportError> {
    let io = |path: &Path, source| ExportError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut written = Vec::new();
    for format in formats {
        let exporter = format.exporter();
        let bytes = exporter.export(report)?;
        let path = dir.join(file_name(report, exporter.extension()));
        std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}
