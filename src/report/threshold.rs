//! Thresholds: `metric: "op value"` conditions on any numeric path of the report.
