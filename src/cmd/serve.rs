//! `tokenstorm serve`: a scenario's fake issuer and API over HTTP, in real time, for
//! other programs to test against, until Ctrl-C or SIGTERM (a clean stop: requests in
//! flight are answered, exit 0).

use std::net::SocketAddr;

use tokenstorm::scenario::{self, Scenario};
use tokenstorm::server::Limits;
use tokenstorm::world::live;

use super::Failure;
use super::output::out;
use crate::cli::ServeArgs;

const SERVE_DEFAULT: &str = "name: serve\nduration: 1d\nclients: [ { name: none, count: 1 } ]\n";

pub fn serve(args: ServeArgs) -> Result<(), Failure> {
    let scenario = match &args.scenario {
        Some(path) => scenario::load(path)?,
        // The built-in defaults not parsing is a fault of the program, not of the input.
        None => {
            scenario::parse(SERVE_DEFAULT, "(defaults)").map_err(|e| Failure::Run(e.to_string()))?
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::run(format!("could not start the runtime: {e}")))?;
    runtime.block_on(serve_until_stopped(&scenario, &args))
}

async fn serve_until_stopped(scenario: &Scenario, args: &ServeArgs) -> Result<(), Failure> {
    let issuer_addr = SocketAddr::new(args.bind, args.issuer_port);
    let resource_addr = SocketAddr::new(args.bind, args.resource_port);
    let public_url = args.public_url.as_deref();
    let servers = live::serve_at(
        scenario,
        issuer_addr,
        resource_addr,
        Limits::default(),
        public_url,
    )
    .await
    .map_err(Failure::run)?;
    if let Some(why) = known_keys(scenario, args.bind) {
        eprintln!(
            "warning: serving on {} with {why}: anyone who can reach it can mint tokens its API accepts",
            args.bind
        );
    }
    out(&banner(scenario, &servers));
    let _ = super::stop_signal().await;
    eprintln!("stopping");
    servers.stop().await;
    Ok(())
}

/// Why tokens of a `serve` on `bind` could be minted by others, when it listens beyond
/// loopback: keys anyone can read, or a shared secret its key set publishes.
fn known_keys(scenario: &Scenario, bind: std::net::IpAddr) -> Option<&'static str> {
    use tokenstorm::scenario::{KeySource, Signing};
    if bind.is_loopback() {
        return None;
    }
    if scenario.issuer.keys == Some(KeySource::Fixed) {
        return Some("the fixed test keys (`issuer.keys: fixed`)");
    }
    (scenario.issuer.signing == Signing::Hs256 && scenario.issuer.publish_secret).then_some(
        "hs256 and `issuer.publish_secret: true`, whose key set lists its secret at /jwks.json",
    )
}

/// Where the servers listen (the ports may have been chosen by the system) and the
/// credentials that log in, for pointing another program at them.
fn banner(scenario: &Scenario, servers: &live::Servers) -> String {
    let i = &scenario.issuer;
    format!(
        "tokenstorm serve — scenario {}\n\n  issuer    {iss}  (POST /token, POST /revoke, POST /introspect, GET /jwks.json,\n             GET /.well-known/oauth-authorization-server)\n  API       {res}/api/me  (GET, Authorization: Bearer <token>)\n\n  client_id      {}\n  client_secret  {}\n  log in with the password grant: any username, password {}\n  access tokens live {}; signing {}\n\nCtrl-C or SIGTERM stops.\n",
        scenario.name,
        i.client_id,
        i.client_secret,
        i.password,
        i.access_token.ttl,
        i.signing.as_str(),
        iss = servers.issuer_id,
        res = live::served_url(servers.resource),
    )
}
