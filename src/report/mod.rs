//! Reports: the JSON contract of SPEC §2, thresholds, the terminal summary, and one
//! exporter per file format.

pub mod export;
pub mod model;
pub mod summary;
pub mod threshold;

pub use model::Report;
