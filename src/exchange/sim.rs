//! In-process exchange for `sim` mode. (stub)
