//! Exporters: one per file format, behind one trait (as hyperfine's `export/` does).
//!
//! An exporter turns a finished [`Report`] into bytes; [`write()`] puts them under the
//! output folder as `<scenario>[.<variant>].<ext>`. For `compare`, an exporter may also
//! render the comparison of several variants, written as `<scenario>.compare.<ext>`.
//! Adding a format is adding one file here and one arm to [`Format`].

mod csv;
mod html;
mod json;
mod junit;
mod markdown;

use std::path::{Path, PathBuf};

pub use csv::Csv;
pub use html::Html;
pub use json::Json;
pub use junit::Junit;
pub use markdown::Markdown;

use super::Report;
use crate::report::comparison::Comparison;
use crate::report::format::file_name;

/// A report format.
pub trait Exporter {
    /// The file name extension, without a dot.
    fn extension(&self) -> &'static str;
    fn export(&self, report: &Report) -> Result<Vec<u8>, ExportError>;
    /// The comparison of `reports` (one per variant, in order), if the format has one.
    fn export_comparison(
        &self,
        _comparison: &Comparison,
        _reports: &[Report],
    ) -> Result<Option<Vec<u8>>, ExportError> {
        Ok(None)
    }
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
    Markdown,
    Html,
    Csv,
    Junit,
}

impl Format {
    pub const ACCEPTED: &'static str = "json, md, html, csv, junit";

    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "md" | "markdown" => Some(Format::Markdown),
            "html" => Some(Format::Html),
            "csv" => Some(Format::Csv),
            "junit" | "xml" => Some(Format::Junit),
            _ => None,
        }
    }

    pub(crate) fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Json => Box::new(Json),
            Format::Markdown => Box::new(Markdown),
            Format::Html => Box::new(Html),
            Format::Csv => Box::new(Csv),
            Format::Junit => Box::new(Junit),
        }
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

/// Writes the comparison in every format that has one, as `<scenario>.compare.<ext>`
/// under `dir`; returns the paths.
pub fn write_comparison(
    comparison: &Comparison,
    reports: &[Report],
    dir: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>, ExportError> {
    std::fs::create_dir_all(dir).map_err(|e| ExportError::Io {
        path: dir.display().to_string(),
        source: e,
    })?;
    let mut written = Vec::new();
    for format in formats {
        let exporter = format.exporter();
        if let Some(bytes) = exporter.export_comparison(comparison, reports)? {
            let path = dir.join(format!(
                "{}.compare.{}",
                comparison.scenario,
                exporter.extension()
            ));
            std::fs::write(&path, bytes).map_err(|e| ExportError::Io {
                path: path.display().to_string(),
                source: e,
            })?;
            written.push(path);
        }
    }
    Ok(written)
}
