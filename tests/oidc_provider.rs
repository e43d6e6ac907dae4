//! tokenstorm's `targets` against a real OpenID provider: the `oidc-provider` package
//! of `peers/oidc-provider` (pinned there), with rotation, 2-second JWT access tokens
//! and an API verifying them with `jose`. Each case compares the report with the
//! provider's own counters.
//!
//! It needs the peer installed (`npm ci --prefix peers/oidc-provider`, as `.ci/run`
//! does). Without it the test says so and passes, unless `TOKENSTORM_OIDC_PROVIDER`
//! is set, as CI sets it, when it fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use tokenstorm::report::Report;
use tokenstorm::run::{self, Control};
use tokenstorm::scenario;

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/oidc-provider");

/// The provider, stopped when dropped.
struct Provider {
    child: Child,
    token_endpoint: String,
    api: String,
    counters: String,
    /// The `private_key_jwt` client's id, kid and PKCS#8 PEM private key.
    jwt_client: (String, String, String),
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Option<Provider> {
    start_with(&[])
}

/// The provider with `env` set besides its short access tokens.
fn start_with(env: &[(&str, &str)]) -> Option<Provider> {
    if !Path::new(PEER).join("node_modules/oidc-provider").exists() {
        assert!(
            std::env::var_os("TOKENSTORM_OIDC_PROVIDER").is_none(),
            "TOKENSTORM_OIDC_PROVIDER is set but {PEER} is not installed: npm ci --prefix peers/oidc-provider"
        );
        eprintln!(
            "skipped: the oidc-provider peer is not installed (npm ci --prefix peers/oidc-provider)"
        );
        return None;
    }
    let mut child = Command::new("node")
        .arg(Path::new(PEER).join("provider.mjs"))
        .env("ACCESS_TTL", "2")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let text = |k: &str| ready[k].as_str().unwrap().to_string();
    Some(Provider {
        token_endpoint: text("token_endpoint"),
        api: text("api"),
        counters: text("counters"),
        jwt_client: (
            ready["private_key_jwt"]["client_id"]
                .as_str()
                .unwrap()
                .into(),
            ready["private_key_jwt"]["kid"].as_str().unwrap().into(),
            ready["private_key_jwt"]["private_key_pem"]
                .as_str()
                .unwrap()
                .into(),
        ),
        child,
    })
}

/// One HTTP/1.0 request to `url` on loopback (so no chunked answer), its JSON answer.
fn http(method: &str, url: &str) -> Value {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

/// A run of `clients` against the provider, its report and the provider's counters
/// for that run alone.
fn run_against(p: &Provider, clients: &str) -> (Report, Value) {
    let secret = "  client_id: demo\n  client_secret: demo-secret\n";
    run_as(p, secret, None, clients)
}

/// A run whose clients authenticate with `auth` (the targets' keys for it), with
/// `key` as `private_key`'s bytes when it has one.
fn run_as(p: &Provider, auth: &str, key: Option<&str>, clients: &str) -> (Report, Value) {
    http("POST", &format!("{}/reset", p.counters));
    let yaml = format!(
        "name: oidc\nmode: live\nseed: 3\nduration: 7s\ntargets:\n  issuer: {}\n  resource: {}\n{auth}  password: demo-password\nclients:\n{clients}",
        p.token_endpoint, p.api
    );
    let yaml = if yaml.contains("token_request") {
        yaml
    } else {
        yaml.replace(
            "\nclients:\n",
            "\n  token_request: { scope: openid offline_access }\nclients:\n",
        )
    };
    // The scenario's folder, where `private_key: key.pem` is read.
    let dir = std::env::temp_dir().join(format!("tokenstorm-oidc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(key) = key {
        std::fs::write(dir.join("key.pem"), key).unwrap();
    }
    let file = dir.join("oidc.yaml").display().to_string();
    let s = scenario::parse(&yaml, &file).unwrap_or_else(|e| panic!("{e}"));
    let report = run::run(&s, &Control::default()).unwrap();
    // What was still in flight when the run ended reaches the provider's counts.
    std::thread::sleep(std::time::Duration::from_millis(300));
    (report, http("GET", &p.counters))
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// The figures both sides count. A request cut off by the run's end reached the
/// provider without an answer the client could count, so the provider may count up
/// to `in_flight` more of each.
fn same_counts(r: &Report, c: &Value, in_flight: u64) {
    let within = |what: &str, server: u64, client: u64| {
        assert!(
            (client..=client + in_flight).contains(&server),
            "{what}: the provider counted {server}, tokenstorm {client}\n{c:#}\n{:?}\n{:?}\n{:?}",
            r.requests,
            r.refresh,
            r.login
        );
    };
    within("API 200s", n(&c["api_ok"]), r.requests.ok);
    within(
        "API 401s",
        n(&c["api_unauthorized"]),
        r.requests.unauthorized,
    );
    let refresh = &c["token_requests"]["refresh_token"];
    within("refresh grants ok", n(&refresh["ok"]), r.refresh.succeeded);
    within(
        "refresh grants invalid_grant",
        n(&refresh["invalid_grant"]),
        r.refresh.invalid_grant,
    );
    let password = &c["token_requests"]["password"];
    let logins = r.login.initial + r.login.forced + r.login.renewed + r.login.retried;
    within(
        "password grants",
        n(&password["ok"]),
        logins - r.login.failed,
    );
    assert_eq!(r.requests.failed, 0, "{:?}", r.requests);
}

#[test]
fn tokenstorms_figures_are_the_real_providers_own() {
    let Some(p) = start() else { return };

    // Reactive: 2-second tokens, each client meets expiries, 401s, refreshes.
    let (r, c) = run_against(
        &p,
        "  - name: app\n    count: 5\n    requests: { every: 200ms, distribution: constant }\n    policy: { refresh: reactive }\n",
    );
    same_counts(&r, &c, 5);
    assert!(
        r.requests.unauthorized > 0 && r.refresh.succeeded > 0,
        "{:?}",
        r.refresh
    );
    assert_eq!(n(&c["grants_revoked"]), 0);

    // Proactive: refreshed before expiry, so (nearly) no 401.
    let (r, c) = run_against(
        &p,
        "  - name: app\n    count: 5\n    requests: { every: 200ms, distribution: constant }\n    policy: { refresh: proactive, buffer: 1s }\n",
    );
    same_counts(&r, &c, 5);
    assert!(r.refresh.succeeded >= 10, "{:?}", r.refresh);
    assert_eq!(r.refresh.invalid_grant, 0);

    // The race: 4 instances share a refresh token and refresh it uncoordinated; the
    // provider takes the second presentation for reuse and revokes the grant
    // (actions/grants/refresh_token.js:107-112 of oidc-provider 9.13.3).
    let race = "  - name: app\n    count: 5\n    instances: 4\n    requests: { every: 200ms, distribution: constant }\n    policy: { refresh: reactive, coordination: none }\n";
    let (r, c) = run_against(&p, race);
    same_counts(&r, &c, 20);
    assert!(r.refresh.invalid_grant > 0, "{:?}", r.refresh);
    let revoked = n(&c["grants_revoked_by_reuse"]);
    assert!(revoked > 0, "{c:#}");
    assert!(r.login.forced > 0, "{:?}", r.login);
    // The issuer does not tell why it refused, so the report's reuse is the clients'
    // inference (a token both rotated and refused); it equals the provider's count but
    // for a race whose second answer the run's end cut off.
    let suspected = r.rotation.suspected_reuse;
    assert!(
        suspected > 0 && (suspected..=suspected + 20).contains(&revoked),
        "suspected {suspected}, revoked {revoked}: {c:#}"
    );

    // The same race under a lock shared by the instances: one refresh per token.
    let (r, c) = run_against(
        &p,
        &race.replace(
            "coordination: none",
            "coordination: lock, lock: { backend: local }",
        ),
    );
    same_counts(&r, &c, 20);
    assert_eq!(r.refresh.invalid_grant, 0, "{:?}", r.refresh);
    assert_eq!(n(&c["grants_revoked"]), 0, "{c:#}");
}

#[test]
fn private_key_jwt_logs_in_and_refreshes_at_the_real_provider() {
    let Some(p) = start() else { return };
    let (id, kid, pem) = p.jwt_client.clone();
    let auth = format!(
        "  client_id: {id}\n  client_auth: private_key_jwt\n  private_key: key.pem\n  key_id: {kid}\n"
    );
    let clients = "  - name: svc\n    count: 3\n    requests: { every: 200ms, distribution: constant }\n    policy: { refresh: reactive }\n";
    let (r, c) = run_as(&p, &auth, Some(&pem), clients);
    // Every login and every refresh authenticated with a fresh assertion: the
    // provider refuses a jti it has seen (lib/shared/jwt_client_auth.js of 9.13.3).
    same_counts(&r, &c, 3);
    assert_eq!(r.clients.with_token, 3, "{:?}", r.login);
    assert!(r.refresh.succeeded >= 3, "{:?}", r.refresh);
    assert_eq!(c["other_errors"], serde_json::json!({}), "{c:#}");

    // Another key: the provider cannot verify the assertion, so no client gets in.
    let wrong = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let (r, c) = run_as(&p, &auth, Some(&wrong), clients);
    assert_eq!(r.clients.with_token, 0, "{:?}", r.login);
    assert!(n(&c["other_errors"]["invalid_client"]) >= 3, "{c:#}");
    let error = r.login.first_error.unwrap_or_default();
    assert!(error.contains("invalid_client"), "{error}");
}

/// The authorization code grant's targets keys (the tests name the issuer by its
/// identifier, so the authorization endpoint is discovered). offline_access is kept only with
/// prompt=consent (OpenID Connect Core §11; lib/actions/authorization/scopes.js).
const AUTHORIZATION_CODE: &str = "  client_id: demo\n  client_secret: demo-secret\n  grant: authorization_code\n  redirect_uri: http://127.0.0.1/callback\n  token_request: { scope: openid offline_access, extra: { prompt: consent } }\n";

#[test]
fn the_authorization_code_grant_logs_in_where_the_issuer_completes_it_by_itself() {
    // AUTO_LOGIN: the provider finishes its login and consent interactions itself.
    let Some(mut p) = start_with(&[("AUTO_LOGIN", "1")]) else {
        return;
    };
    p.token_endpoint = p.token_endpoint.trim_end_matches("/token").to_string();
    let auth = AUTHORIZATION_CODE;
    let race = "  - name: web\n    count: 4\n    instances: 3\n    requests: { every: 200ms, distribution: constant }\n    policy: { refresh: reactive, coordination: none }\n";
    let (r, c) = run_as(&p, auth, None, race);
    let codes = &c["token_requests"]["authorization_code"];
    // Every login, the first and the forced ones after a reuse, went through an
    // authorization and its code: the provider's count of code grants is theirs.
    let logins = r.login.initial + r.login.forced + r.login.retried;
    assert_eq!(r.clients.with_token, 4, "{:?}", r.login);
    assert!(
        (logins..=logins + 12).contains(&n(&codes["ok"])),
        "{logins} logins, provider {c:#}"
    );
    assert_eq!(n(&codes["invalid_grant"]), 0, "{c:#}");
    let refresh = &c["token_requests"]["refresh_token"];
    assert!(r.refresh.succeeded > 0, "{:?}", r.refresh);
    assert!(
        (r.refresh.succeeded..=r.refresh.succeeded + 12).contains(&n(&refresh["ok"])),
        "{:?} {c:#}",
        r.refresh
    );
    assert!(r.login.forced > 0, "the race forces logins: {:?}", r.login);
    assert_eq!(r.requests.failed, 0, "{:?}", r.requests);
    let reached = r.targets.unwrap();
    assert!(
        reached
            .authorization_endpoint
            .is_some_and(|a| a.ends_with("/auth")),
        "discovered"
    );
}

#[test]
fn the_authorization_code_grant_says_why_when_a_person_must_sign_in() {
    // The stock provider shows its login form.
    let Some(mut p) = start() else { return };
    p.token_endpoint = p.token_endpoint.trim_end_matches("/token").to_string();
    let auth = AUTHORIZATION_CODE;
    let clients = "  - name: web\n    count: 2\n    requests: { every: 1s }\n";
    let (r, c) = run_as(&p, auth, None, clients);
    assert_eq!(r.clients.with_token, 0, "{:?}", r.login);
    assert_eq!(r.login.initial, 2);
    let error = r.login.first_error.unwrap_or_default();
    assert!(
        error.contains("answered with a page") && error.contains("asks a person to sign in"),
        "{error}"
    );
    assert!(
        c["token_requests"].get("authorization_code").is_none(),
        "{c:#}"
    );
}
