//! `tokenstorm serve`: a scenario's fake issuer and API over HTTP, in real time, for
//! other programs to test against, until Ctrl-C.

use std::process::ExitCode;

use tokenstorm::scenario;

use super::output::out;
use super::{EXIT_RUN, load};
use crate::cli::ServeArgs;

const SERVE_DEFAULT: &str = "name: serve\nduration: 1d\nclients: [ { name: none, count: 1 } ]\n";

pub fn serve(args: ServeArgs) -> ExitCode {
    let scenario = match &args.scenario {
        Some(path) => match load(path) {
            Ok(s) => s,
            Err(code) => return code,
        },
        None => match scenario::parse(SERVE_DEFAULT, "(defaults)") {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(EXIT_RUN);
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start the runtime: {e}");
            return ExitCode::from(EXIT_RUN);
        }
    };
    runtime.block_on(async {
        let issuer_addr = std::net::SocketAddr::new(args.bind, args.issuer_port);
        let resource_addr = std::net::SocketAddr::new(args.bind, args.resource_port);
        let servers = match tokenstorm::server::start(
            &scenario,
            issuer_addr,
            resource_addr,
            tokenstorm::server::Limits::default(),
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_RUN);
            }
        };
        let i = &scenario.issuer;
        let text = format!(
            "tokenstorm serve — scenario {}\n\n  issuer    http://{iss}  (POST /token, POST /revoke, POST /introspect, GET /jwks.json,\n             GET /.well-known/oauth-authorization-server)\n  API       http://{res}/api/me  (GET, Authorization: Bearer <token>)\n\n  client_id      {}\n  client_secret  {}\n  log in with the password grant: any username, password {}\n  access tokens live {}; signing {}\n\nCtrl-C stops.\n",
            scenario.name,
            i.client_id,
            i.client_secret,
            i.password,
            i.access_token.ttl,
            i.signing.as_str(),
            iss = servers.issuer,
            res = servers.resource,
        );
        out(&text);
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping");
        servers.stop().await;
        ExitCode::SUCCESS
    })
}
