//! The clients' side of the wire in `live` mode: real HTTP/1.1 over a pooled hyper
//! client.
//!
//! Requests to the issuer's endpoints go to the issuer's address, requests to the API
//! to the API's: either servers started in this process (their root URL, the request
//! keeping its path and query) or external ones named by `targets` (the exact URL of
//! the token endpoint and of the API resource, the request keeping only its query).
//! An `https://` address is reached over TLS (rustls, [`super::tls`]).

use std::sync::Arc;
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
pub(crate) struct Parsed {
    address: Address,
    scheme: Option<http::uri::Scheme>,
    authority: Option<http::uri::Authority>,
    /// `https://`: the connector, and the name the certificate must carry.
    tls: Option<(
        tokio_rustls::TlsConnector,
        rustls_pki_types::ServerName<'static>,
    )>,
    idle: std::sync::Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

/// The largest answer body read, in bytes (a token response or an issuer's metadata
/// is a few kilobytes).
const MAX_BODY: usize = 1 << 20;

/// Origins an authorization's redirects reach whose connections are kept.
const MAX_BROWSED: usize = 8;

/// Connections kept idle per server at most.
const MAX_IDLE: usize = 1024;

impl Parsed {
    /// `address`, reached over TLS with `tls` when it is an `https://` URL.
    pub(crate) fn new(address: Address, tls: Option<Arc<rustls::ClientConfig>>) -> Parsed {
        let url = match &address {
            Address::Root(u) | Address::Exact(u) => u.parse::<Uri>().ok(),
        };
        let authority = url.as_ref().and_then(|u| u.authority().cloned());
        let https = url.as_ref().and_then(Uri::scheme_str) == Some("https");
        let tls = match (https, tls, &authority) {
            (true, Some(config), Some(a)) => {
                let host = a.host().trim_start_matches('[').trim_end_matches(']');
                rustls_pki_types::ServerName::try_from(host.to_string())
                    .ok()
                    .map(|name| (tokio_rustls::TlsConnector::from(config), name))
            }
            _ => None,
        };
        Parsed {
            scheme: url.as_ref().and_then(|u| u.scheme().cloned()),
            authority,
            tls,
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
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let https = self.scheme.as_ref().is_some_and(|s| s.as_str() == "https");
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| ExchangeError::Connect(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        match (&self.tls, https) {
            (Some((connector, name)), _) => {
                let stream = connector
                    .connect(name.clone(), stream)
                    .await
                    .map_err(|e| ExchangeError::Connect(format!("{TLS_FAILED}: {e}")))?;
                handshake(stream).await
            }
            (None, true) => Err(ExchangeError::Connect(format!(
                "{TLS_FAILED}: no TLS settings, or a host that is no server name"
            ))),
            (None, false) => handshake(stream).await,
        }
    }

    /// Whether a connection can be made and its certificate verifies: Err only for a
    /// TLS failure (a server that does not answer is the run's to measure).
    pub(crate) async fn check_tls(&self) -> Result<(), String> {
        match self.connect().await {
            Err(ExchangeError::Connect(e)) if e.starts_with(TLS_FAILED) => Err(e),
            Err(_) => Ok(()),
            Ok(sender) => {
                self.checkin(sender);
                Ok(())
            }
        }
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

/// How a TLS failure's message starts.
const TLS_FAILED: &str = "TLS handshake failed";

/// HTTP/1.1 over `io`, its connection driven by a task of its own.
async fn handshake<I>(io: I) -> Result<SendRequest<Full<Bytes>>, ExchangeError>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| ExchangeError::Connect(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

pub struct LiveExchange {
    issuer: Parsed,
    resource: Parsed,
    /// The origins an authorization's redirects went to, each with its connections
    /// (the authorization endpoint's first; rarely more than two).
    browsed: std::sync::Mutex<Vec<(String, Arc<Parsed>)>>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl LiveExchange {
    /// The exchange to two servers, `https://` ones reached with `tls`.
    pub fn new(
        issuer: Address,
        resource: Address,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> LiveExchange {
        LiveExchange {
            issuer: Parsed::new(issuer, tls.clone()),
            resource: Parsed::new(resource, tls.clone()),
            browsed: std::sync::Mutex::new(Vec::new()),
            tls,
        }
    }

    /// The server at the origin of the absolute `uri`, reached as a user agent would;
    /// its connections kept for the next authorization, for a few origins at most
    /// (an issuer could send its redirects anywhere).
    fn origin(&self, uri: &Uri) -> Arc<Parsed> {
        let origin = crate::exchange::origin(uri);
        let mut browsed = self.browsed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, p)) = browsed.iter().find(|(o, _)| *o == origin) {
            return p.clone();
        }
        let p = Arc::new(Parsed::new(Address::Root(origin.clone()), self.tls.clone()));
        if browsed.len() < MAX_BROWSED {
            browsed.push((origin, p.clone()));
        }
        p
    }

    /// The issuer's side and the API's, to check before a run.
    pub(crate) fn servers(&self) -> [&Parsed; 2] {
        [&self.issuer, &self.resource]
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
        if endpoint == Endpoint::Authorize && request.uri().scheme().is_some() {
            let origin = self.origin(request.uri());
            return origin.send(request, timeout).await;
        }
        let address = if endpoint.is_issuer() {
            &self.issuer
        } else {
            &self.resource
        };
        address.send(request, timeout).await
    }
}

impl Parsed {
    /// `request` sent to this address (its path kept or replaced, as the address
    /// says), on an idle connection or a new one, within `timeout`.
    pub(crate) async fn send(
        &self,
        request: Request,
        timeout: Duration,
    ) -> Result<Response, ExchangeError> {
        let (mut parts, body) = request.into_parts();
        let full = self.uri(&parts.uri)?;
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
        tokio::time::timeout(timeout, self.exchange(request))
            .await
            .map_err(|_| ExchangeError::Timeout)?
    }

    async fn exchange(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<Response, ExchangeError> {
        let (mut sender, reused) = self.checkout().await?;
        let connect = |e: hyper::Error| ExchangeError::Connect(e.to_string());
        let response = match sender.ready().await {
            Ok(()) => sender.try_send_request(request).await,
            Err(_) if reused => {
                // The server closed the idle connection: a new one.
                sender = self.connect().await?;
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
                sender = self.connect().await?;
                sender.ready().await.map_err(connect)?;
                sender.send_request(request).await.map_err(connect)?
            }
            Err(e) => return Err(connect(e.into_error())),
        };
        let (parts, body) = response.into_parts();
        // A server's answer costs bounded memory, whatever it sends.
        let body = http_body_util::Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| ExchangeError::Connect(format!("the answer's body: {e}")))?
            .to_bytes();
        self.checkin(sender);
        Ok(Response::from_parts(parts, body))
    }
}
