//! The exchange of `live` mode: real HTTP/1.1 over a pooled hyper client.
//!
//! Requests to the issuer's endpoints go to the issuer's address, requests to the API
//! to the API's: either servers started in this process (their root URL, the request
//! keeping its path and query) or external ones named by `targets` (the exact URL of
//! the token endpoint and of the API resource, the request keeping only its query).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use super::{Control, Outcome, RunError, RunOptions};
use crate::clock::Clock;
use crate::exchange::{Endpoint, Exchange, ExchangeError, Request, Response};
use crate::scenario::Scenario;

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

/// A live run's runtime: every thread, real time.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// A live run: real HTTP in real time, against servers started here on loopback (or
/// the external ones of `targets`, whose counts the report then cannot know).
pub async fn run(
    scenario: &Scenario,
    control: &Control,
    options: &RunOptions,
) -> Result<Outcome, RunError> {
    let shard = options.shard;
    let clock = Clock::wall();
    let metrics = super::metrics_for(scenario, clock, control, shard.is_some());
    let mut issuer_config = scenario.issuer.clone();
    let (exchange, servers) = match &scenario.targets {
        Some(t) => {
            if let Some(id) = &t.client_id {
                issuer_config.client_id = id.clone();
            }
            if let Some(secret) = &t.client_secret {
                issuer_config.client_secret = secret.clone();
            }
            if let Some(password) = &t.password {
                issuer_config.password = password.clone();
            }
            let exchange = LiveExchange::new(
                Address::Exact(t.issuer.clone()),
                Address::Exact(t.resource.clone()),
            );
            (exchange, None)
        }
        None => {
            let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let limits = crate::server::Limits {
                max_connections: 65_536,
                ..Default::default()
            };
            let servers = crate::server::start_on(
                scenario,
                loopback,
                loopback,
                limits,
                clock,
                Some(metrics.clone()),
            )
            .await
            .map_err(|e| RunError::Server(e.to_string()))?;
            let exchange = LiveExchange::new(
                Address::Root(format!("http://{}", servers.issuer)),
                Address::Root(format!("http://{}", servers.resource)),
            );
            (exchange, Some(servers))
        }
    };
    let (elapsed_ms, interrupted) = super::drive(
        scenario,
        &issuer_config,
        control,
        Arc::new(exchange),
        &metrics,
        clock,
        options,
    )
    .await?;
    let (issuer, resource, exchange) = servers.as_ref().map(|s| s.stats()).unwrap_or_default();
    Ok(Outcome {
        recorded: metrics.finish(),
        issuer,
        resource,
        exchange,
        elapsed_ms,
        interrupted,
        started_unix_ms: clock.epoch_ms().max(0) as u64,
    })
}
