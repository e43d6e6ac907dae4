//! The in-process exchange of `sim` mode.
//!
//! A request is handed to the issuer's or the resource's handler at once (it "arrives"
//! when sent), and its answer is delivered after the server's latency on the paused
//! clock: the time a server takes is time the client waits, and tokens issued at
//! arrival are already that much older when the client receives them, as over a wire.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::latency::Sampler;
use super::{Endpoint, Exchange, ExchangeError, Request, Response};
use crate::issuer::Issuer;
use crate::resource::Resource;
use crate::rng::Rng;

pub struct SimExchange {
    issuer: Arc<Issuer>,
    resource: Arc<Resource>,
    issuer_latency: Sampler,
    resource_latency: Sampler,
    rng: Mutex<Rng>,
}

impl SimExchange {
    pub fn new(
        issuer: Arc<Issuer>,
        resource: Arc<Resource>,
        issuer_latency: Sampler,
        resource_latency: Sampler,
        rng: Rng,
    ) -> SimExchange {
        SimExchange {
            issuer,
            resource,
            issuer_latency,
            resource_latency,
            rng: Mutex::new(rng),
        }
    }
}

impl Exchange for SimExchange {
    async fn send(
        &self,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
    ) -> Result<Response, ExchangeError> {
        let sampler = match endpoint {
            Endpoint::Token => &self.issuer_latency,
            Endpoint::Api => &self.resource_latency,
        };
        let delay = sampler.sample(&mut self.rng.lock().unwrap_or_else(|e| e.into_inner()));
        let response = match endpoint {
            Endpoint::Token => self.issuer.handle(request).await,
            Endpoint::Api => self.resource.handle(request).await,
        };
        // The server did the work either way; a late answer is lost to the client.
        if delay >= timeout {
            tokio::time::sleep(timeout).await;
            return Err(ExchangeError::Timeout);
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok(response)
    }
}
