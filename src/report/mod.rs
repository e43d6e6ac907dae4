//! Reports: the JSON contract of SPEC §2, recovery after outages, thresholds and their
//! verdicts, the terminal summary, one exporter per file format, and the merge of a
//! split run's worker reports.

pub mod comparison;
pub mod export;
pub mod figures;
pub mod format;
pub mod merge;
pub mod model;
pub mod recovery;
pub mod summary;
pub mod threshold;
pub mod verdicts;

pub use model::Report;
