//! The fake API: checks the Bearer access token of each request.
//! (stub: to be implemented)

use std::sync::Arc;

use crate::clock::ActorClock;
use crate::exchange::{Request, Response};
use crate::issuer::keys::KeySet;
use crate::scenario::{IssuerConfig, ResourceConfig};

/// What the resource counted (see report::model::Resource for meanings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceStats {
    pub requests: u64,
    pub ok: u64,
    pub rejected_expired: u64,
    pub rejected_not_yet_valid: u64,
    pub rejected_invalid: u64,
    pub rejected_missing: u64,
    pub malformed: u64,
}

pub struct Resource;

impl Resource {
    pub fn new(
        _config: &ResourceConfig,
        _issuer: &IssuerConfig,
        _keys: Arc<KeySet>,
        _clock: ActorClock,
    ) -> Resource {
        todo!()
    }
    pub async fn handle(&self, _req: Request) -> Response {
        todo!()
    }
    pub fn stats(&self) -> ResourceStats {
        todo!()
    }
}
