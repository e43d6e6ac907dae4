//! Signing keys of the fake issuer, and the verification keys the resource uses.
//! (stub)
pub struct KeySet;
