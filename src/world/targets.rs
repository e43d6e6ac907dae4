//! Reaching a user's own servers (`targets`) before a live run: the token endpoint
//! found by discovery when `issuer` is an issuer identifier, the certificates of
//! `https://` servers checked, and what the report says of them.
//!
//! Discovery reads the issuer's metadata from OpenID Connect Discovery 1.0 §4's
//! `<issuer>/.well-known/openid-configuration`, then from RFC 8414 §3's
//! `<origin>/.well-known/oauth-authorization-server<path>`, and uses it only when its
//! `issuer` is identical to the identifier it was found from (RFC 8414 §3.3, OpenID
//! Connect Discovery §4.3): otherwise anyone answering at that URL could name the
//! endpoints.

use std::time::Duration;

use http::StatusCode;
use serde::Deserialize;

use super::RunError;
use super::wire::{Address, LiveExchange, Parsed};
use crate::contract as m;
use crate::scenario::Targets;

/// How long one discovery request may take.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The part of the issuer's metadata a run uses (RFC 8414 §2).
#[derive(Deserialize)]
struct Metadata {
    issuer: Option<String>,
    token_endpoint: Option<String>,
    authorization_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    introspection_endpoint: Option<String>,
}

/// The exchange to `t`'s servers and what the report records of them; refused with
/// the key at fault when discovery fails or a certificate does not verify.
pub(crate) async fn reach(t: &Targets) -> Result<(LiveExchange, m::Targets), RunError> {
    let refuse = |key: &'static str| move |message: String| RunError::Targets { key, message };
    let tls = super::tls::client_config(t).map_err(refuse("targets.ca_file"))?;
    let mut report = m::Targets {
        issuer: t.issuer.clone(),
        resource: t.resource.clone(),
        grant: t.grant.as_str().to_string(),
        client_auth: t.client_auth.as_str().to_string(),
        token_endpoint: t.issuer.clone(),
        authorization_endpoint: t.authorization_endpoint.clone(),
        insecure: t.insecure,
        ..Default::default()
    };
    if t.discovers() {
        let (url, metadata) = discover(&t.issuer, &tls)
            .await
            .map_err(refuse("targets.issuer"))?;
        report.discovered_from = Some(url);
        report.token_endpoint = metadata.token_endpoint.unwrap_or_default();
        report.revocation_endpoint = metadata.revocation_endpoint;
        report.introspection_endpoint = metadata.introspection_endpoint;
        if report.authorization_endpoint.is_none() {
            report.authorization_endpoint = metadata.authorization_endpoint;
        }
    }
    if t.grant == crate::scenario::Grant::AuthorizationCode
        && report.authorization_endpoint.is_none()
    {
        return Err(RunError::Targets {
            key: "targets.authorization_endpoint",
            message: format!(
                "`grant: authorization_code` needs the issuer's authorization endpoint, which {} does not name: set `targets.authorization_endpoint`",
                report
                    .discovered_from
                    .as_deref()
                    .unwrap_or("the issuer's metadata")
            ),
        });
    }
    let exchange = LiveExchange::new(
        Address::Exact(report.token_endpoint.clone()),
        Address::Exact(t.resource.clone()),
        Some(tls),
    );
    let [issuer, resource] = exchange.servers();
    issuer
        .check_tls()
        .await
        .map_err(|e| certificate(&report.token_endpoint, e))
        .map_err(refuse("targets.issuer"))?;
    resource
        .check_tls()
        .await
        .map_err(|e| certificate(&t.resource, e))
        .map_err(refuse("targets.resource"))?;
    Ok((exchange, report))
}

fn certificate(url: &str, e: String) -> String {
    format!(
        "{url}: {e}; accepted a certificate the system's roots or `targets.ca_file` (a PEM file of your CA) verify, or `targets.insecure: true` for a self-signed test setup"
    )
}

/// The metadata of `issuer`, and the URL it was read from.
async fn discover(
    issuer: &str,
    tls: &std::sync::Arc<rustls::ClientConfig>,
) -> Result<(String, Metadata), String> {
    let mut tried = Vec::new();
    for url in well_known(issuer)? {
        let server = Parsed::new(Address::Exact(url.clone()), Some(tls.clone()));
        let request = http::Request::get("/")
            .header(http::header::ACCEPT, "application/json")
            .body(bytes::Bytes::new())
            .map_err(|e| e.to_string())?;
        let response = server
            .send(request, DISCOVERY_TIMEOUT)
            .await
            .map_err(|e| format!("discovery at {url}: {e}"))?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => {
                tried.push(url);
                continue;
            }
            status => return Err(format!("discovery at {url} answered {status}")),
        }
        let metadata: Metadata = serde_json::from_slice(response.body())
            .map_err(|e| format!("discovery at {url}: not the issuer's metadata (JSON): {e}"))?;
        return checked(issuer, url, metadata);
    }
    Err(format!(
        "no metadata for this issuer: {} answered 404; give the token endpoint's URL instead (its path ends in `token`), or set `targets.discovery: false` to take this URL as the token endpoint",
        tried.join(" and ")
    ))
}

/// `metadata` if it names `issuer` and a token endpoint.
fn checked(issuer: &str, url: String, metadata: Metadata) -> Result<(String, Metadata), String> {
    match (&metadata.issuer, &metadata.token_endpoint) {
        (Some(named), _) if named != issuer => Err(format!(
            "the metadata at {url} is for the issuer `{named}`, not `{issuer}`: they must be identical (RFC 8414 §3.3); write `{named}` if that is the issuer"
        )),
        (None, _) => Err(format!(
            "the metadata at {url} names no `issuer`, so it cannot be checked (RFC 8414 §3.3)"
        )),
        (_, None) => Err(format!(
            "the metadata at {url} names no `token_endpoint`; give the token endpoint's URL instead"
        )),
        _ => Ok((url, metadata)),
    }
}

/// Where the metadata of `issuer` may be: OpenID Connect Discovery's URL, then RFC
/// 8414's (the same when the issuer has no path).
fn well_known(issuer: &str) -> Result<Vec<String>, String> {
    let uri: http::Uri = issuer
        .parse()
        .map_err(|e| format!("`{issuer}` is not a URL: {e}"))?;
    if uri.query().is_some() {
        return Err(format!(
            "`{issuer}`: an issuer identifier has no query (RFC 8414 §2)"
        ));
    }
    let (scheme, authority) = match (uri.scheme_str(), uri.authority()) {
        (Some(s), Some(a)) => (s, a.as_str()),
        _ => return Err(format!("`{issuer}` is not an absolute URL")),
    };
    let path = uri.path().trim_end_matches('/');
    let openid = format!("{scheme}://{authority}{path}/.well-known/openid-configuration");
    let oauth = format!("{scheme}://{authority}/.well-known/oauth-authorization-server{path}");
    Ok(if openid == oauth {
        vec![openid]
    } else {
        vec![openid, oauth]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_urls_follow_both_specifications() {
        assert_eq!(
            well_known("https://id.example.com").unwrap(),
            [
                "https://id.example.com/.well-known/openid-configuration",
                "https://id.example.com/.well-known/oauth-authorization-server"
            ]
        );
        assert_eq!(
            well_known("https://id.example.com/realms/a/").unwrap(),
            [
                "https://id.example.com/realms/a/.well-known/openid-configuration",
                "https://id.example.com/.well-known/oauth-authorization-server/realms/a"
            ]
        );
        assert!(well_known("https://id.example.com/?x=1").is_err());
    }

    fn metadata(issuer: Option<&str>, token: Option<&str>) -> Metadata {
        Metadata {
            issuer: issuer.map(String::from),
            token_endpoint: token.map(String::from),
            authorization_endpoint: None,
            revocation_endpoint: None,
            introspection_endpoint: None,
        }
    }

    #[test]
    fn metadata_is_used_only_for_the_issuer_it_names() {
        let url = || "u".to_string();
        let ok = checked("https://a", url(), metadata(Some("https://a"), Some("t")));
        assert!(ok.is_ok());
        let other = checked("https://a", url(), metadata(Some("https://a/"), Some("t")));
        assert!(other.err().unwrap().contains("must be identical"));
        let unnamed = checked("https://a", url(), metadata(None, Some("t")));
        assert!(unnamed.err().unwrap().contains("names no `issuer`"));
        let no_token = checked("https://a", url(), metadata(Some("https://a"), None));
        assert!(no_token.err().unwrap().contains("no `token_endpoint`"));
    }
}
