//! The exchange of `live` mode: real HTTP/1.1 over a pooled hyper client.
//!
//! Requests to the issuer's endpoints go to the issuer's address, requests to the API
//! to the API's: either servers started in this process (their root URL, the request
//! keeping its path and query) or external ones named by `targets` (the exact URL of
//! the token endpoint and of the API resource, the request keeping only its query).

use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{Endpoint, Exchange, ExchangeError, Request, Response};

/// Where one server is.
#[derive(Clone, Debug)]
pub enum Address {
    /// A server root (`http://127.0.0.1:8080`): the request's path and query follow.
    Root(String),
    /// One endpoint's URL: the request's query follows, its path does not.
    Exact(String),
}

/// An address, parsed once.
struct Parsed {
    address: Address,
    scheme: Option<http::uri::Scheme>,
    authority: Option<http::uri::Authority>,
}

impl Parsed {
    fn new(address: Address) -> Parsed {
        let url = match &address {
            Address::Root(u) | Address::Exact(u) => u.parse::<Uri>().ok(),
        };
        Parsed {
            scheme: url.as_ref().and_then(|u| u.scheme().cloned()),
            authority: url.as_ref().and_then(|u| u.authority().cloned()),
            address,
        }
    }

    fn uri(&self, request: &Uri) -> Result<Uri, ExchangeError> {
        if let Address::Root(_) = &self.address {
            // The hot path: reuse the parsed parts, no text round trip.
            let mut parts = http::uri::Parts::default();
            parts.scheme = self.scheme.clone();
            parts.authority = self.authority.clone();
            parts.path_and_query = request.path_and_query().cloned();
            return Uri::from_parts(parts)
                .map_err(|e| ExchangeError::Connect(format!("bad URL: {e}")));
        }
        let text = match &self.address {
            Address::Root(root) => format!(
                "{root}{}",
                request.path_and_query().map_or("/", |p| p.as_str())
            ),
            Address::Exact(url) => match request.query() {
                Some(q) if url.contains('?') => format!("{url}&{q}"),
                Some(q) => format!("{url}?{q}"),
                None => url.clone(),
            },
        };
        text.parse()
            .map_err(|e| ExchangeError::Connect(format!("bad URL {text}: {e}")))
    }
}

pub struct LiveExchange {
    client: Client<HttpConnector, Full<Bytes>>,
    issuer: Parsed,
    resource: Parsed,
}

impl LiveExchange {
    pub fn new(issuer: Address, resource: Address) -> LiveExchange {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(1024)
            .build(connector);
        LiveExchange {
            client,
            issuer: Parsed::new(issuer),
            resource: Parsed::new(resource),
        }
    }
}

impl Exchange for LiveExchange {
    async fn send(
        &self,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
    ) -> Result<Response, ExchangeError> {
        let address = if endpoint.is_issuer() {
            &self.issuer
        } else {
            &self.resource
        };
        let (mut parts, body) = request.into_parts();
        parts.uri = address.uri(&parts.uri)?;
        let request = http::Request::from_parts(parts, Full::new(body));
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| ExchangeError::Connect(e.to_string()))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| ExchangeError::Connect(e.to_string()))?
                .to_bytes();
            Ok(Response::from_parts(parts, body))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| ExchangeError::Timeout)?
    }
}
