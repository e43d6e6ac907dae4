//! Reports: the JSON contract of SPEC §2, recovery after outages, thresholds, the
//! terminal summary, and one exporter per file format.

pub mod export;
pub mod model;
pub mod recovery;
pub mod summary;
pub mod threshold;

pub use model::Report;
