//! Reports: what is derived from the JSON contract of SPEC §2 ([`crate::contract`],
//! also at `report::model`): rates and verdicts, recovery after outages, the merge of a
//! split run's worker reports, the comparison of variants; and how reports are shown:
//! the terminal summary and one exporter per file format.

pub mod comparison;
pub mod export;
pub(crate) mod figures;
pub(crate) mod format;
pub mod merge;
pub mod recovery;
pub mod summary;
pub(crate) mod threshold;
pub(crate) mod verdicts;

/// The report model, under the name it has always had.
pub use crate::contract as model;
pub use crate::contract::Report;
