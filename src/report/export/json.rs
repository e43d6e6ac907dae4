//! The JSON report of SPEC §2: pretty-printed, keys in a fixed order, newline-terminated.

use super::{ExportError, Exporter};
use crate::report::Report;
use crate::report::comparison::Comparison;

pub struct Json;

impl Exporter for Json {
    fn extension(&self) -> &'static str {
        "json"
    }

    fn export(&self, report: &Report) -> Result<Vec<u8>, ExportError> {
        let mut bytes = serde_json::to_vec_pretty(&report.to_json())
            .map_err(|e| ExportError::Encode(e.to_string()))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    fn export_comparison(
        &self,
        comparison: &Comparison,
        _reports: &[Report],
    ) -> Result<Option<Vec<u8>>, ExportError> {
        Ok(Some(crate::report::comparison::to_json(comparison)))
    }
}
