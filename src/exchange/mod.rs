//! The one seam between clients and servers.
//!
//! A client sends an `http::Request` to an [`Endpoint`] and gets an `http::Response`
//! back. In `sim` the `world::sim::SimExchange` calls the issuer's or the resource's handler
//! in-process, after the scenario's latency on virtual time; in `live` an HTTP
//! exchange sends the same request over the wire. Clients are written once against
//! this trait.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::HeaderValue;

/// Where a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// The issuer's token endpoint (RFC 6749 §3.2).
    Token,
    /// The issuer's authorization endpoint (RFC 6749 §3.1), and the pages it sends a
    /// user agent on to: the request's URI is the absolute URL to get, or a path at the
    /// issuer.
    Authorize,
    /// The issuer's introspection endpoint (RFC 7662), called by the resource.
    Introspect,
    /// The issuer's key set (RFC 7517), fetched by the resource.
    Keys,
    /// The protected API.
    Api,
}

impl Endpoint {
    /// Whether the issuer answers it (and its faults and latency apply).
    pub(crate) fn is_issuer(self) -> bool {
        !matches!(self, Endpoint::Api)
    }
}

/// What the servers' gates counted (requests that never reached a handler).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExchangeStats {
    pub issuer_rate_limited: u64,
    /// Token requests answered before the token endpoint (a fault, the rate limit).
    pub token_refused: u64,
    pub issuer_injected: u64,
    /// Of those, the ones injected into the resource's own calls (key-set fetches,
    /// introspections), which every thread of a split run makes alike.
    pub issuer_injected_own: u64,
    pub resource_injected: u64,
}

/// A request that got no HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    #[error("no answer before the timeout")]
    Timeout,
    #[error("connection failed: {0}")]
    Connect(String),
}

pub type Request = http::Request<Bytes>;
pub type Response = http::Response<Bytes>;

/// Marks a request made by a server of this process (the API's own calls to its
/// issuer), in the request's extensions, which nothing sent over the wire can set: the
/// issuer tells it what it tells no one else (an `hs256` key set's shared secret).
#[derive(Clone, Copy, Debug)]
pub struct Internal;

/// The origin (`scheme://authority`) of an absolute URI, `http` when it names none.
pub fn origin(uri: &http::Uri) -> String {
    format!(
        "{}://{}",
        uri.scheme_str().unwrap_or("http"),
        uri.authority().map_or("", |a| a.as_str())
    )
}

/// A client's request to the API: `GET` of `uri` with one `Authorization` header.
///
/// What a client sends the API most, by far. A transport that needs an
/// `http::Request` builds one from it ([`ApiCall::request`]); the sim hands it to the
/// resource as it is, which reads the same target and the same header from it without
/// a header map, a URI or a request to build and free for every simulated request.
pub struct ApiCall<'a> {
    pub uri: &'a http::Uri,
    pub authorization: &'a HeaderValue,
}

impl ApiCall<'_> {
    /// The HTTP request it stands for.
    pub fn request(self) -> Request {
        let mut req = Request::new(Bytes::new());
        *req.uri_mut() = self.uri.clone();
        // Room for its one header only (a first insert would make room for six).
        *req.headers_mut() = http::HeaderMap::with_capacity(1);
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, self.authorization.clone());
        req
    }
}

/// A server's own calls to the issuer: the resource fetching the key set or
/// introspecting a token. Boxed, since the resource holds it as a trait object
/// whatever the exchange.
pub trait Upstream: Send + Sync + 'static {
    fn call(
        &self,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Response, ExchangeError>> + Send + '_>>;
}

/// Sends a request and waits for its answer, at most `timeout`.
///
/// The timeout belongs to the exchange rather than the caller so that the sim, which
/// knows how long an answer will take when it sends, spends no timer on it.
pub trait Exchange: Send + Sync + 'static {
    /// Sends `request` and waits at most `timeout` for its answer. `draw` is the
    /// sender's own randomness for what the server decides about it (its latency and
    /// faults): the sim's servers use it, a server over the wire draws its own.
    fn send(
        &self,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
        draw: u64,
    ) -> impl Future<Output = Result<Response, ExchangeError>> + Send;

    /// Sends the API request `call` as [`Exchange::send`] sends a request to
    /// [`Endpoint::Api`]; by default, as that request.
    fn send_api<'a>(
        &'a self,
        call: ApiCall<'a>,
        timeout: Duration,
        draw: u64,
    ) -> impl Future<Output = Result<Response, ExchangeError>> + Send + 'a {
        self.send(Endpoint::Api, call.request(), timeout, draw)
    }

    /// Where the API, when it is in this process, last found a token it had verified:
    /// the call just sent's, unless that one was new (a hint for the sim's prefetch,
    /// never read, so a stale one costs a wasted load; 0 when unknown).
    fn api_touches(&self) -> [usize; 2] {
        [0; 2]
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))`, RFC 6749 §2.3.1.
pub fn basic_auth(client_id: &str, client_secret: &str) -> HeaderValue {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!("{}:{}", enc(client_id), enc(client_secret));
    let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
    HeaderValue::try_from(format!("Basic {b64}")).expect("base64 is a valid header value")
}

/// The seconds of an answer's `Retry-After: <seconds>` header, whatever its status (the
/// HTTP-date form is not read).
pub(crate) fn retry_after_secs(resp: &Response) -> Option<u64> {
    resp.headers()
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}
