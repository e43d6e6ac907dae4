//! The fake servers over real HTTP: a hyper 1.x adapter around the same handlers the
//! sim calls in-process.
//!
//! Each accepted connection is served by hyper's HTTP/1.1 server with limits a public
//! endpoint needs: a cap on open connections (further ones wait in the listen backlog),
//! a cap on the request head (hyper answers 431 beyond it), a time limit for reading
//! it (and for an idle keep-alive connection), a cap on the body (413 beyond it, read
//! into one buffer) and a time limit for reading it (408). A request then passes the server's
//! [`Front`] (its gate: faults, latency, capacity and rate limit, in real time) and reaches
//! the handler. Malformed HTTP gets hyper's 400; nothing a client sends reaches a panic.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::front::{Front, Handler};
use crate::exchange::{Request, Response};

/// What one server accepts.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Bytes of the request line and headers.
    pub max_head_bytes: usize,
    /// Bytes of a request body.
    pub max_body_bytes: usize,
    /// Time to read a request head once a connection is open or idle: also how long an
    /// idle keep-alive connection is kept.
    pub head_timeout: Duration,
    /// Time to read a request body, from the end of its head: a body sent a byte at a
    /// time is answered 408 and its connection closed.
    pub body_timeout: Duration,
    /// Longest a request the gate never answers (an outage in `mode: timeout`) is held
    /// before its connection is closed, still without an answer (sim/live: the
    /// transport; over the wire the server cannot know how long the client waits, as
    /// the sim's exchange does). It bounds what a held request costs the server.
    pub no_answer_hold: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Well above a flood of a thousand slow or idle connections, which then
            // leaves room for the clients that behave; each costs at most its head
            // buffer and its body limit.
            max_connections: 4096,
            max_head_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            no_answer_hold: Duration::from_secs(600),
        }
    }
}

fn json_error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": code, "error_description": description});
    let mut r = Response::new(Bytes::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Reads a hyper request into the handlers' type, within the body's size and time
/// limits: into one buffer, each segment copied and let go, so a body sent in many
/// small pieces costs its length, not a buffer per piece.
async fn read(req: http::Request<Incoming>, limits: &Limits) -> Result<Request, Response> {
    let (parts, mut body) = req.into_parts();
    let max = limits.max_body_bytes;
    let too_large = || {
        let mut r = json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            &format!("the request body is over {max} bytes"),
        );
        close(&mut r);
        r
    };
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let mut buf = bytes::BytesMut::with_capacity(declared.unwrap_or(0));
    let collect = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| unreadable())?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > max {
                    return Err(too_large());
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(())
    };
    match tokio::time::timeout(limits.body_timeout, collect).await {
        Ok(Ok(())) => Ok(Request::from_parts(parts, buf.freeze())),
        Ok(Err(refused)) => Err(refused),
        Err(_) => {
            let mut r = json_error(
                StatusCode::REQUEST_TIMEOUT,
                "invalid_request",
                &format!(
                    "the request body did not arrive within {} s",
                    limits.body_timeout.as_secs_f64()
                ),
            );
            close(&mut r);
            Err(r)
        }
    }
}

fn unreadable() -> Response {
    json_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "the request body could not be read",
    )
}

/// The connection is closed after this answer: the rest of its body is not read.
fn close(r: &mut Response) {
    r.headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
}

/// A server bound to its address, not yet serving.
pub(crate) struct Bound {
    listener: TcpListener,
    pub addr: SocketAddr,
}

/// Binds `addr` (port 0 for any free port).
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<Bound> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    Ok(Bound { listener, addr })
}

impl Bound {
    /// Serves `front` until `shutdown` completes, then lets open requests finish.
    pub(crate) async fn serve<H: Handler>(
        self,
        front: Front<H>,
        limits: Limits,
        shutdown: impl Future<Output = ()>,
    ) {
        let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.head_timeout)
            .max_buf_size(limits.max_head_bytes.max(8192));
        tokio::pin!(shutdown);
        loop {
            let slot = tokio::select! {
                biased;
                () = &mut shutdown => break,
                slot = slots.clone().acquire_owned() => slot,
            };
            let Ok(slot) = slot else { break };
            let accepted = tokio::select! {
                biased;
                () = &mut shutdown => break,
                a = self.listener.accept() => a,
            };
            let Ok((stream, peer)) = accepted else {
                // Out of file descriptors and the like: wait a moment, go on.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            tracing::debug!(%peer, "connection");
            let front = front.clone();
            let hold = limits.no_answer_hold;
            let service = service_fn(move |req: http::Request<Incoming>| {
                let front = front.clone();
                async move {
                    let method = req.method().clone();
                    let path = req.uri().path().to_string();
                    let answered = match read(req, &limits).await {
                        Ok(req) => {
                            let endpoint = front.handler.endpoint(&req);
                            front.answer(endpoint, req, hold, None).await
                        }
                        Err(refused) => Ok(refused),
                    };
                    // Paths only: a query or a header could carry a token.
                    match &answered {
                        Ok(r) => {
                            tracing::info!(%method, %path, status = r.status().as_u16(), "request")
                        }
                        Err(_) => tracing::info!(%method, %path, "request held, never answered"),
                    }
                    // An error closes the connection with no answer at all.
                    answered.map(|r| r.map(Full::new))
                }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                drop(slot);
            });
        }
        // Let requests in flight finish, a little while at most.
        tokio::select! {
            biased;
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}
