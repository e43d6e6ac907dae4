//! The timeline as CSV: one row per tick, one column per series, for spreadsheets and
//! plotting tools.

use super::{ExportError, Exporter};
use crate::report::Report;

pub struct Csv;

impl Exporter for Csv {
    fn extension(&self) -> &'static str {
        "csv"
    }

    fn export(&self, report: &Report) -> Result<Vec<u8>, ExportError> {
        let encode = |e: csv::Error| ExportError::Encode(e.to_string());
        let columns = report.timeline.series.columns();
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["tick", "start_seconds"];
        header.extend(columns.iter().map(|(name, _)| *name));
        w.write_record(&header).map_err(encode)?;
        let ticks = columns.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
        let tick_ms = report.timeline.tick_ms;
        for t in 0..ticks {
            let mut row = vec![
                t.to_string(),
                crate::report::format::figure((t as u64 * tick_ms) as f64 / 1000.0),
            ];
            // A series a `targets` run cannot observe is left empty, not zero.
            row.extend(columns.iter().map(|(name, v)| {
                if report.observed(&format!("timeline.series.{name}")) {
                    v.get(t).copied().unwrap_or(0).to_string()
                } else {
                    String::new()
                }
            }));
            w.write_record(&row).map_err(encode)?;
        }
        w.into_inner()
            .map_err(|e| ExportError::Encode(e.to_string()))
    }
}
