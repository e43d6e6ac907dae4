//! Reports: the JSON contract of SPEC §2, thresholds, and one exporter per format.

pub mod model;
pub mod threshold;

pub use model::Report;
