//! The fake authorization server: a handler of RFC 6749 token requests.
//!
//! (stub: to be implemented)

pub mod keys;

use std::sync::Arc;

use crate::clock::ActorClock;
use crate::exchange::{Request, Response};
use crate::scenario::IssuerConfig;

/// What the issuer counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IssuerStats {
    /// Every request to the token endpoint, whatever its grant or outcome.
    pub token_requests: u64,
    /// Successful password grants.
    pub logins: u64,
    /// Successful client_credentials grants.
    pub client_credentials: u64,
    /// Successful refresh_token grants (grace acceptances included).
    pub refreshes: u64,
    /// Requests answered invalid_grant.
    pub invalid_grant: u64,
    /// Rotated-out refresh tokens presented after their grace (with reuse detection on).
    pub reuse_detected: u64,
    /// Families revoked (by reuse detection now; by faults later).
    pub families_revoked: u64,
    /// Rotated-out refresh tokens accepted because they came within reuse_grace.
    pub grace_accepted: u64,
    /// Answered 429 (0 until rate limits exist).
    pub rate_limited: u64,
    /// Failed on purpose by a fault (0 until faults exist).
    pub errors_injected: u64,
}

pub struct Issuer {
    _keys: Arc<keys::KeySet>,
}

impl Issuer {
    pub fn new(_config: &IssuerConfig, _clock: ActorClock, _seed: u64) -> Issuer {
        todo!()
    }
    pub fn keys(&self) -> Arc<keys::KeySet> {
        todo!()
    }
    pub async fn handle(&self, _req: Request) -> Response {
        todo!()
    }
    pub fn stats(&self) -> IssuerStats {
        todo!()
    }
}
