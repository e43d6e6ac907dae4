//! The clients' side of the wire in `live` mode: real HTTP/1.1 over a pooled hyper
//! client.
//!
//! Requests to the issuer's endpoints go to the issuer's address, requests to the API
//! to the API's: either servers started in this process (their root URL, the request
//! keeping its path and query) or external ones named by `targets` (the exact URL of
//! the token endpoint and of the API resource, the request keeping only its query).

use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use crate::exchange::{Endpoint, Exchange, ExchangeError, Request, Response};

/// Where one server is.
#[derive(Clone, Debug)]
pub enum Address {
    /// A server root (`http://127.0.0.1:8080`): the request's path and query follow.
    Root(String),
    /// One endpoint's URL: the request's query follows, its path does not.
    Exact(String),
}

/// An address, parsed once, with its idle connections.
struct Parsed {
    address: Address,
    scheme: Option<http::uri::Scheme>,
    authority: Option<http::uri::Authority>,
    idle: std::sync::Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

/// Connections kept idle per server at most.
const MAX_IDLE: usize = 1024;

impl Parsed {
    fn new(address: Address) -> Parsed {
        let url = match &address {
            Address::Root(u) | Address::Exact(u) => u.parse::<Uri>().ok(),
        };
        Parsed {
            scheme: url.as_ref().and_then(|u| u.scheme().cloned()),
            authority: url.as_ref().and_then(|u| u.authority().cloned()),
            address,
            idle: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// An idle connection (and true), or a new one (and false).
    async fn checkout(&self) -> Result<(SendRequest<Full<Bytes>>, bool), ExchangeError> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            match idle {
                Some(c) if !c.is_closed() => return Ok((c, true)),
                Some(_) => continue,
                None => break,
            }
        }
        Ok((self.connect().await?, false))
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ExchangeError> {
        let authority = self
            .authority
            .as_ref()
            .ok_or_else(|| ExchangeError::Connect("no host in the URL".into()))?;
        let host = authority.host();
        let port = authority.port_u16().unwrap_or(80);
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| ExchangeError::Connect(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ExchangeError::Connect(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    fn checkin(&self, sender: SendRequest<Full<Bytes>>) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(sender);
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
        let (Address::Exact(url) | Address::Root(url)) = &self.address;
        let text = match request.query() {
            Some(q) if url.contains('?') => format!("{url}&{q}"),
            Some(q) => format!("{url}?{q}"),
            None => url.clone(),
        };
        text.parse()
            .map_err(|e| ExchangeError::Connect(format!("bad URL {text}: {e}")))
    }
}

pub struct LiveExchange {
    issuer: Parsed,
    resource: Parsed,
}

impl LiveExchange {
    pub fn new(issuer: Address, resource: Address) -> LiveExchange {
        LiveExchange {
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
        // The server over the wire draws its own.
        _draw: u64,
    ) -> Result<Response, ExchangeError> {
        let address = if endpoint.is_issuer() {
            &self.issuer
        } else {
            &self.resource
        };
        let (mut parts, body) = request.into_parts();
        let full = address.uri(&parts.uri)?;
        // HTTP/1.1 on our own connection: origin-form target and a Host header.
        if let Some(a) = full.authority()
            && let Ok(v) = http::HeaderValue::try_from(a.as_str())
        {
            parts.headers.insert(http::header::HOST, v);
        }
        parts.uri = full
            .path_and_query()
            .map_or_else(|| Uri::from_static("/"), |p| Uri::from(p.clone()));
        let request = http::Request::from_parts(parts, Full::new(body));
        let exchange = async {
            let (mut sender, reused) = address.checkout().await?;
            let connect = |e: hyper::Error| ExchangeError::Connect(e.to_string());
            let response = match sender.ready().await {
                Ok(()) => sender.try_send_request(request).await,
                Err(_) if reused => {
                    // The server closed the idle connection: a new one.
                    sender = address.connect().await?;
                    sender.ready().await.map_err(connect)?;
                    sender.try_send_request(request).await
                }
                Err(e) => return Err(connect(e)),
            };
            let response = match response {
                Ok(r) => r,
                // Not sent at all on a reused connection: once more on a new one.
                Err(mut e) if reused && e.message().is_some() => {
                    let request = e.take_message().expect("checked above");
                    sender = address.connect().await?;
                    sender.ready().await.map_err(connect)?;
                    sender.send_request(request).await.map_err(connect)?
                }
                Err(e) => return Err(connect(e.into_error())),
            };
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| ExchangeError::Connect(e.to_string()))?
                .to_bytes();
            address.checkin(sender);
            Ok(Response::from_parts(parts, body))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| ExchangeError::Timeout)?
    }
}
