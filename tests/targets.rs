//! `targets` reached as a user's own issuer would be: its endpoints discovered from
//! its identifier (RFC 8414, OpenID Connect Discovery), over HTTPS with a private CA
//! or `insecure`, and refused before the run, at the key, when either fails.
//!
//! The servers are tokenstorm's own issuer and API on loopback, behind a metadata
//! server and TLS front ends started here.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokenstorm::run::{self, Control, RunError};
use tokenstorm::scenario;
use tokenstorm::server::Limits;
use tokenstorm::world::live::{self, Servers};

use common::{temp_dir, tokenstorm, write};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// tokenstorm's own issuer and API on loopback, 2-second tokens.
fn ours(rt: &tokio::runtime::Runtime) -> Servers {
    let s = scenario::parse(
        "name: ext\nduration: 1h\nissuer: { access_token: { ttl: 2s } }\nclients: [ { name: c, count: 1 } ]\n",
        "ext.yaml",
    )
    .unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    rt.block_on(live::serve(&s, any, any, Limits::default()))
        .unwrap()
}

/// A server on loopback answering `path` with `body` (200, JSON) and anything else
/// with 404, as an issuer's metadata is served.
fn metadata_server(
    rt: &tokio::runtime::Runtime,
    path: &'static str,
    body: impl Fn(SocketAddr) -> String,
) -> SocketAddr {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Bytes::from(body(addr));
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let found = req.uri().path() == path;
                let answer = http::Response::builder()
                    .status(if found { 200 } else { 404 })
                    .header("content-type", "application/json")
                    .body(Full::new(if found { body.clone() } else { Bytes::new() }))
                    .unwrap();
                async move { Ok::<_, Infallible>(answer) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    addr
}

/// A private CA, and a certificate it signed for 127.0.0.1 with its key.
struct Pki {
    ca_pem: String,
    chain: Vec<rustls_pki_types::CertificateDer<'static>>,
    key: rustls_pki_types::PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        chain: vec![leaf.der().clone()],
        key: rustls_pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    }
}

/// A TLS front end on loopback for `upstream`, with `pki`'s certificate.
fn tls_front(rt: &tokio::runtime::Runtime, pki: &Pki, upstream: SocketAddr) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

fn scenario_text(targets: &str) -> String {
    format!(
        "name: t\nmode: live\nduration: 1s\ntargets:\n{targets}  client_id: demo\n  client_secret: demo-secret\nclients:\n  - name: c\n    count: 2\n    requests: {{ every: 50ms, distribution: constant }}\n"
    )
}

#[test]
fn an_issuer_identifier_is_discovered_at_rfc_8414s_well_known_url() {
    let rt = runtime();
    let servers = ours(&rt);
    let token = format!("http://{}/token", servers.issuer);
    // An issuer with a path: RFC 8414 §3.1 puts the well-known part before it.
    let meta = metadata_server(
        &rt,
        "/.well-known/oauth-authorization-server/tenant",
        |at| {
            serde_json::json!({
                "issuer": format!("http://{at}/tenant"),
                "token_endpoint": token,
                "revocation_endpoint": format!("http://{at}/revoke"),
            })
            .to_string()
        },
    );
    let yaml = scenario_text(&format!(
        "  issuer: http://{meta}/tenant\n  resource: http://{}/api/me\n",
        servers.resource
    ));
    let s = scenario::parse(&yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    let r = run::run(&s, &Control::default()).unwrap();
    assert!(r.requests.ok > 10, "{:?}", r.requests);
    assert_eq!(r.requests.failed, 0);
    let t = r.targets.unwrap();
    assert_eq!(t.token_endpoint, token);
    assert_eq!(
        t.discovered_from.as_deref(),
        Some(format!("http://{meta}/.well-known/oauth-authorization-server/tenant").as_str())
    );
    assert_eq!(t.revocation_endpoint, Some(format!("http://{meta}/revoke")));
    assert!(!t.insecure);
    rt.block_on(servers.stop());
}

#[test]
fn tokenstorms_own_served_issuer_is_discovered_by_its_url() {
    // `serve` names itself by the URL it is served at, so the identical-issuer check
    // of RFC 8414 §3.3 passes against it.
    let rt = runtime();
    let servers = ours(&rt);
    let yaml = scenario_text(&format!(
        "  issuer: http://{}\n  resource: http://{}/api/me\n",
        servers.issuer, servers.resource
    ));
    let s = scenario::parse(&yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    let r = run::run(&s, &Control::default()).unwrap();
    assert_eq!(r.requests.failed, 0, "{:?}", r.login);
    let t = r.targets.unwrap();
    assert_eq!(t.token_endpoint, format!("http://{}/token", servers.issuer));
    // It has no OpenID configuration yet: RFC 8414's document is found.
    let from = t.discovered_from.unwrap();
    assert!(
        from.ends_with("/.well-known/oauth-authorization-server"),
        "{from}"
    );
    rt.block_on(servers.stop());
}

#[test]
fn metadata_naming_another_issuer_is_not_used() {
    let rt = runtime();
    let meta = metadata_server(&rt, "/.well-known/openid-configuration", |at| {
        serde_json::json!({ "issuer": format!("http://{at}/"), "token_endpoint": "http://127.0.0.1:1/token" })
            .to_string()
    });
    let yaml = scenario_text(&format!(
        "  issuer: http://{meta}\n  resource: http://127.0.0.1:1/api\n"
    ));
    let s = scenario::parse(&yaml, "t.yaml").unwrap();
    match run::run(&s, &Control::default()) {
        Err(RunError::Targets { key, message }) => {
            assert_eq!(key, "targets.issuer");
            assert!(
                message.contains("must be identical (RFC 8414 §3.3)"),
                "{message}"
            );
        }
        other => panic!("{:?}", other.map(|r| r.requests)),
    }
}

#[test]
fn an_issuer_without_metadata_is_refused_before_the_run_at_its_key() {
    let rt = runtime();
    let meta = metadata_server(&rt, "/nowhere", |_| String::new());
    let dir = temp_dir("targets", "no-metadata");
    let file = write(
        &dir,
        "s.yaml",
        &scenario_text(&format!(
            "  issuer: http://{meta}/realms/a\n  resource: http://127.0.0.1:1/api\n"
        )),
    );
    let out = tokenstorm(&["run", &file, "--out", &dir.display().to_string(), "--quiet"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The file, the key's line (5: `issuer` under `targets`), the key, what was tried.
    assert!(stderr.contains(&format!("{file}:5:")), "{stderr}");
    assert!(
        stderr.contains("targets.issuer: no metadata for this issuer"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("http://{meta}/realms/a/.well-known/openid-configuration and http://{meta}/.well-known/oauth-authorization-server/realms/a answered 404")),
        "{stderr}"
    );
    assert!(!dir.join("t.json").exists(), "nothing ran");
}

#[test]
fn https_servers_are_verified_against_the_system_roots_and_ca_file() {
    let rt = runtime();
    let servers = ours(&rt);
    let pki = pki();
    let issuer = tls_front(&rt, &pki, servers.issuer);
    let resource = tls_front(&rt, &pki, servers.resource);
    let dir = temp_dir("targets", "https");
    write(&dir, "ca.pem", &pki.ca_pem);
    let urls = format!("  issuer: https://{issuer}/token\n  resource: https://{resource}/api/me\n");
    let load = |extra: &str| {
        let file = write(&dir, "s.yaml", &scenario_text(&format!("{urls}{extra}")));
        scenario::load(std::path::Path::new(&file)).unwrap_or_else(|e| panic!("{e}"))
    };

    // The private CA, from the file: every request goes through.
    let r = run::run(&load("  ca_file: ca.pem\n"), &Control::default()).unwrap();
    assert!(r.requests.ok > 10, "{:?}", r.requests);
    assert_eq!(r.requests.failed, 0);
    assert!(r.refresh.succeeded + r.login.initial > 0);
    assert!(!r.targets.unwrap().insecure);

    // The system's roots alone do not know it: refused before the run.
    match run::run(&load(""), &Control::default()) {
        Err(RunError::Targets { key, message }) => {
            assert_eq!(key, "targets.issuer");
            assert!(message.contains("TLS handshake failed"), "{message}");
            assert!(message.contains("targets.ca_file"), "{message}");
        }
        other => panic!("{:?}", other.map(|r| r.requests)),
    }

    // `insecure`: accepted, and said so in the report.
    let r = run::run(&load("  insecure: true\n"), &Control::default()).unwrap();
    assert!(r.requests.ok > 10, "{:?}", r.requests);
    assert!(r.targets.unwrap().insecure);
    rt.block_on(servers.stop());
}

#[test]
fn a_ca_file_that_holds_no_certificate_is_refused_by_validation() {
    let dir = temp_dir("targets", "bad-ca");
    write(&dir, "ca.pem", "not a certificate\n");
    let file = write(
        &dir,
        "s.yaml",
        &scenario_text(
            "  issuer: https://127.0.0.1:1/token\n  resource: https://127.0.0.1:1/api\n  ca_file: ca.pem\n",
        ),
    );
    let out = tokenstorm(&["validate", &file]);
    assert_eq!(out.status.code(), Some(2), "{}", common::show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("targets.ca_file: `ca.pem` holds no certificate"),
        "{stderr}"
    );
}

#[test]
fn a_threshold_on_what_an_external_issuer_keeps_to_itself_fails_and_says_why() {
    let rt = runtime();
    let servers = ours(&rt);
    let dir = temp_dir("targets", "not-observed");
    let text = scenario_text(&format!(
        "  issuer: http://{}/token\n  resource: http://{}/api/me\n",
        servers.issuer, servers.resource
    ));
    let file = write(
        &dir,
        "s.yaml",
        &format!(
            "{text}thresholds:\n  requests.failed: \"== 0\"\n  rotation.reuse_detected: \"== 0\"\n"
        ),
    );
    let out = tokenstorm(&[
        "run",
        &file,
        "--out",
        &dir.display().to_string(),
        "--format",
        "json,junit,md,html,csv",
    ]);
    // The threshold fails: passing on a 0 never counted would be a guess.
    assert_eq!(out.status.code(), Some(1), "{}", common::show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("✓ requests.failed == 0"), "{stdout}");
    assert!(
        stdout.contains(
            "✗ rotation.reuse_detected == 0  (actual not observed: the issuer is external"
        ),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("t.json")).unwrap()).unwrap();
    // What only the servers know is null in the report, not 0; what the clients
    // counted or inferred is a number.
    for unseen in ["reuse_detected", "families_revoked", "grace_accepted"] {
        assert!(json["rotation"][unseen].is_null(), "{}", json["rotation"]);
    }
    assert!(json["rotation"]["suspected_reuse"].is_u64());
    assert!(
        json["issuer"]["token_requests"].is_null(),
        "{}",
        json["issuer"]
    );
    assert!(json["issuer"]["queue_wait_ms"]["p99"].is_null());
    assert!(json["resource"]["rejected_expired"].is_null());
    assert!(json["timeline"]["series"]["issuer_queue"].is_null());
    assert!(json["requests"]["total"].as_u64().unwrap() > 0);
    assert!(
        stdout.contains("issuer    not observed (the servers are external"),
        "{stdout}"
    );
    let verdict = &json["thresholds"][1];
    assert_eq!(verdict["actual"], serde_json::Value::Null);
    assert!(
        verdict["not_observed"]
            .as_str()
            .unwrap()
            .contains("external")
    );
    let md = std::fs::read_to_string(dir.join("t.md")).unwrap();
    let row = md.lines().find(|l| l.contains("`issuer.token_requests`"));
    assert!(row.is_some_and(|r| r.contains("| not observed")), "{md}");
    let html = std::fs::read_to_string(dir.join("t.html")).unwrap();
    assert!(html.contains("<td>not observed</td>"), "{html}");
    let csv = std::fs::read_to_string(dir.join("t.csv")).unwrap();
    let row = csv.lines().nth(1).unwrap();
    let queue = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == "issuer_queue");
    assert_eq!(row.split(',').nth(queue.unwrap()), Some(""), "{csv}");
    let junit = std::fs::read_to_string(dir.join("t.junit.xml")).unwrap();
    assert!(junit.contains("not observed, so it cannot pass"), "{junit}");
    rt.block_on(servers.stop());
}
