//! Scenario files with mistakes, as a new user would write them: each is refused before
//! anything runs, with one message per problem naming the file, the line and column,
//! the key path and what is accepted.

use tokenstorm::scenario::{Problem, parse};

const FILE: &str = "s.yaml";

fn problems(text: &str) -> Vec<Problem> {
    match parse(text, FILE) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.problems,
    }
}

/// The only problem of `text`.
fn problem(text: &str) -> Problem {
    let mut p = problems(text);
    assert_eq!(p.len(), 1, "expected one problem, got {p:#?}");
    p.remove(0)
}

const BASE: &str = "\
name: t
duration: 1h
issuer:
  access_token: { ttl: 15m }
clients:
  - name: web
    count: 10
";

#[test]
fn the_base_scenario_is_accepted() {
    parse(BASE, FILE).unwrap();
}

#[test]
fn an_unknown_key_names_its_line_path_and_the_accepted_keys() {
    let p = problem(&format!("{BASE}    policy:\n      bufer: 30s\n"));
    assert_eq!((p.line, p.column), (Some(9), Some(7)));
    assert_eq!(p.path, "clients[0].policy.bufer");
    assert!(p.message.contains("unknown field `bufer`"), "{}", p.message);
    assert!(p.message.contains("buffer"), "{}", p.message);
    assert_eq!(p.to_string().split(": ").next(), Some("s.yaml:9:7"), "{p}");
}

#[test]
fn a_wrong_type_names_its_path_and_what_is_accepted() {
    let p = problem(&BASE.replace("count: 10", "count: ten"));
    assert_eq!(p.line, Some(7));
    assert_eq!(p.path, "clients[0].count");
    assert!(p.message.contains("whole number"), "{}", p.message);

    let p = problem(&format!("{BASE}    policy: {{ timeout: 10 }}\n"));
    assert_eq!(p.path, "clients[0].policy.timeout");
    assert!(
        p.message.contains("30s"),
        "a duration's forms: {}",
        p.message
    );
}

#[test]
fn an_unknown_enum_value_lists_the_accepted_ones() {
    let p = problem(&format!("{BASE}    policy: {{ refresh: sometimes }}\n"));
    assert_eq!(p.path, "clients[0].policy.refresh");
    assert!(
        p.message.contains("reactive") && p.message.contains("proactive"),
        "{}",
        p.message
    );
}

#[test]
fn a_repeated_key_is_refused() {
    let p = problem(&BASE.replace("duration: 1h\n", "duration: 1h\nduration: 2h\n"));
    assert_eq!(p.path, "duration");
    assert_eq!(p.line, Some(3));
    assert!(p.message.contains("twice"), "{}", p.message);
}

#[test]
fn impossible_values_are_all_reported_at_once() {
    let text = "\
name: t
duration: 1h
issuer:
  access_token: { ttl: 0s }
  refresh_token: { ttl: 1h, idle_ttl: 2h }
clients:
  - name: web
    count: 0
";
    let p = problems(text);
    let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "issuer.access_token.ttl",
            "issuer.refresh_token.idle_ttl",
            "clients[0].count"
        ]
    );
    assert_eq!(p[0].line, Some(4));
    assert_eq!(p[1].line, Some(5));
    assert_eq!(p[2].line, Some(8));
    assert!(p[1].message.contains("at most the ttl"), "{}", p[1].message);
}

/// A buffer as long as the token's life runs (every use refreshes first, as an SDK
/// does with such tokens) and is warned about, at the key that set it.
#[test]
fn a_buffer_not_shorter_than_the_lifetime_is_a_warning() {
    let s = parse(
        &format!("{BASE}    policy: {{ refresh: proactive, buffer: 15m }}\n"),
        FILE,
    )
    .unwrap();
    let w = tokenstorm::scenario::warnings(&s);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("clients[0].policy.buffer: a buffer of 15m"),
        "{w:?}"
    );
    assert!(w[0].contains("every use refreshes"), "{w:?}");
    let fits = parse(
        &format!("{BASE}    policy: {{ refresh: proactive, buffer: 14m59s }}\n"),
        FILE,
    )
    .unwrap();
    assert!(tokenstorm::scenario::warnings(&fits).is_empty());
}

#[test]
fn each_rule_names_its_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("duration: 1h", "duration: 0s", "duration"),
        ("name: t", "name: a/b", "name"),
        ("name: t", "name: t\ntick: 2h", "tick"),
        (
            "count: 10",
            "count: 10\n    instances: 0",
            "clients[0].instances",
        ),
        (
            "count: 10",
            "count: 10\n    workers: 0",
            "clients[0].workers",
        ),
        (
            "count: 10",
            "count: 10\n    requests: { every: 0s }",
            "clients[0].requests.every",
        ),
        (
            "count: 10",
            "count: 10\n    start: { burst: 2h }",
            "clients[0].start.burst",
        ),
        (
            "count: 10",
            "count: 10\n    clock_offset: { uniform: [30s, -30s] }",
            "clients[0].clock_offset.uniform",
        ),
        (
            "count: 10",
            "count: 10\n    policy: { fraction: 1.5 }",
            "clients[0].policy.fraction",
        ),
        (
            "count: 10",
            "count: 10\n    policy: { retry: { attempts: 0 } }",
            "clients[0].policy.retry.attempts",
        ),
        (
            "count: 10",
            "count: 10\n    policy: { retry: { backoff: 10s, max_backoff: 1s } }",
            "clients[0].policy.retry.max_backoff",
        ),
        (
            "count: 10",
            "count: 10\n    policy: { timeout: 0s }",
            "clients[0].policy.timeout",
        ),
        (
            "ttl: 15m }",
            "ttl: 15m }\n  refresh_token: { rotation: false, reuse_detection: true }",
            "issuer.refresh_token.reuse_detection",
        ),
        ("ttl: 15m }", "ttl: 1500ms }", "issuer.access_token.ttl"),
        (
            "ttl: 15m }",
            "ttl: 15m }\n  latency: { distribution: lognormal, median: 50ms, p99: 10ms }",
            "issuer.latency.p99",
        ),
        (
            "ttl: 15m }",
            "ttl: 15m }\nresource: { leeway: -5s }",
            "resource.leeway",
        ),
    ];
    for (from, to, path) in cases {
        let text = BASE.replacen(from, to, 1);
        let p = problem(&text);
        assert_eq!(p.path, *path, "{text}\n{p}");
        assert!(p.line.is_some(), "{p}");
    }
}

#[test]
fn two_groups_may_not_share_a_name() {
    let p = problem(&format!("{BASE}  - name: web\n    count: 1\n"));
    assert_eq!(p.path, "clients[1].name");
    assert_eq!(p.line, Some(8));
}

#[test]
fn a_lock_takes_the_keys_of_its_backend_only() {
    parse(
        &format!("{BASE}    policy: {{ coordination: lock, lock: {{ backend: simulated, ttl: 2s, wait: 5s, latency: 3ms, poll: 50ms, notify: true }} }}\n"),
        FILE,
    )
    .unwrap();
    parse(
        &format!(
            "{BASE}    policy: {{ coordination: lock, lock: {{ backend: local, wait: 1s }} }}\n"
        ),
        FILE,
    )
    .unwrap();
    for (policy, path, says) in [
        (
            "{ coordination: lock, lock: { backend: local, ttl: 2s } }",
            "clients[0].policy.lock.ttl",
            "the local backend takes no `ttl`; accepted with it: wait",
        ),
        (
            "{ coordination: single_flight, lock: { ttl: 2s } }",
            "clients[0].policy.lock.ttl",
            "only `coordination: lock` takes a lock service",
        ),
        (
            "{ coordination: lock, lock: { ttl: 0s } }",
            "clients[0].policy.lock.ttl",
            "must be longer than 0",
        ),
        (
            "{ coordination: lock, lock: { backend: simulated, url: redis://x } }",
            "clients[0].policy.lock.url",
            "the simulated backend takes no `url`",
        ),
        (
            "{ coordination: lock, lock: { backend: redis, ttl: 2s } }",
            "clients[0].policy.lock.backend",
            "set `mode: live`",
        ),
        (
            "{ coordination: lock, lock: { backend: zookeeper } }",
            "clients[0].policy.lock.backend",
            "local",
        ),
    ] {
        let text = format!("{BASE}    policy: {policy}\n");
        let all = problems(&text);
        let p = &all[0];
        assert_eq!(p.path, path, "{text}\n{all:#?}");
        assert!(p.message.contains(says), "{}", p.message);
    }
}

#[test]
fn a_redis_lock_needs_a_build_with_redis() {
    let text = format!(
        "mode: live\n{}    policy: {{ coordination: lock, lock: {{ backend: redis }} }}\n",
        BASE.replace("duration: 1h", "duration: 10s")
    );
    let result = parse(&text, FILE);
    if cfg!(feature = "redis") {
        result.unwrap();
    } else {
        let p = problem(&text);
        assert_eq!(p.path, "clients[0].policy.lock.backend");
        assert!(p.message.contains("--features redis"), "{}", p.message);
    }
}

#[test]
fn a_key_rotation_needs_a_moment_and_belongs_to_the_issuer() {
    for (fault, path, says) in [
        ("{ kind: rotate_keys }", "issuer.faults[0]", "needs `at`"),
        (
            "{ kind: rotate_keys, at: 1m, for: 1m }",
            "issuer.faults[0].for",
            "takes no `for`",
        ),
        (
            "{ kind: rotate_keys, every: 0s }",
            "issuer.faults[0].every",
            "",
        ),
        (
            "{ kind: rotate_keys, at: 1m, overlap: -1s }",
            "issuer.faults[0].overlap",
            "",
        ),
        (
            "{ kind: outage, publish_delay: 1m }",
            "issuer.faults[0].publish_delay",
            "not a key of a `outage` fault",
        ),
    ] {
        let text = BASE.replace("ttl: 15m }", &format!("ttl: 15m }}\n  faults: [ {fault} ]"));
        let p = problem(&text);
        assert_eq!(p.path, path, "{fault}: {}", p.message);
        assert!(p.message.contains(says), "{}", p.message);
    }
    let on_resource = format!("{BASE}resource:\n  faults: [ {{ kind: rotate_keys, at: 1m }} ]\n");
    let p = problem(&on_resource);
    assert_eq!(p.path, "resource.faults[0].kind");
    assert!(p.message.contains("issuer fault"), "{}", p.message);
}

#[test]
fn an_unknown_preset_lists_the_known_ones() {
    let p = problem(&format!("{BASE}    policy: {{ preset: msal }}\n"));
    assert_eq!(p.path, "clients[0].policy.preset");
    assert!(
        p.message.contains("msal-python") && p.message.contains("golang-oauth2"),
        "{}",
        p.message
    );
}

#[test]
fn a_preset_whose_buffers_outlast_the_token_is_warned_about_at_the_preset() {
    // botocore treats credentials with less than 10 minutes left as expired.
    let text = BASE.replace("ttl: 15m", "ttl: 5m");
    let s = parse(&format!("{text}    policy: {{ preset: botocore }}\n"), FILE).unwrap();
    let w = tokenstorm::scenario::warnings(&s);
    assert!(
        w.iter()
            .all(|w| w.starts_with("clients[0].policy.preset: ")),
        "{w:#?}"
    );
    assert!(w.iter().any(|w| w.contains("hard buffer")), "{w:#?}");
    // Overriding the preset's keys makes it fit.
    let fits = parse(
        &format!("{text}    policy: {{ preset: botocore, buffer: 2m, hard_buffer: 1m }}\n"),
        FILE,
    )
    .unwrap();
    assert!(tokenstorm::scenario::warnings(&fits).is_empty());
}

#[test]
fn thresholds_must_name_a_figure_and_hold_a_condition() {
    let p = problems(&format!(
        "{BASE}thresholds:\n  unauthorised_rate: \"< 0.1\"\n  refresh.peak_per_second: \"about 5\"\n  groups.web.failed_rate: \"== 0\"\n  groups.mobile.failed_rate: \"== 0\"\n"
    ));
    assert_eq!(p.len(), 3, "{p:#?}");
    assert_eq!(p[0].path, "thresholds.unauthorised_rate");
    assert_eq!(p[0].line, Some(9));
    assert!(
        p[0].message.contains("did you mean `unauthorized_rate`"),
        "{}",
        p[0].message
    );
    assert_eq!(p[1].path, "thresholds.refresh.peak_per_second");
    assert!(p[1].message.contains("< <= > >= == !="), "{}", p[1].message);
    assert_eq!(p[2].path, "thresholds.groups.mobile.failed_rate");
}

#[test]
fn thresholds_name_only_the_outages_that_have_a_window() {
    // The whole-run outage has no recovery to measure: only the timed ones count,
    // issuer first, then resource.
    let text = |n: usize| {
        format!(
            "{}\nresource:\n  faults: [ {{ kind: outage, at: 50m, for: 1m }} ]\nthresholds:\n  outages.{n}.recovery_seconds: \"<= 60\"\n",
            BASE.replace(
                "ttl: 15m }",
                "ttl: 15m }\n  faults: [ { kind: outage, mode: timeout }, { kind: outage, at: 10m, for: 5m } ]"
            )
            .trim_end()
        )
    };
    for n in [0, 1] {
        parse(&text(n), FILE).unwrap_or_else(|e| panic!("outages.{n}: {e}"));
    }
    let p = problem(&text(2));
    assert_eq!(p.path, "thresholds.outages.2.recovery_seconds");
    assert!(p.line.is_some(), "{p}");
    assert!(
        p.message.contains("did you mean `outages."),
        "{}",
        p.message
    );
    assert!(p.message.contains("2 in this scenario"), "{}", p.message);
}

#[test]
fn text_that_is_not_yaml_has_a_line() {
    let p = problem("name: t\nclients: [ { name: web\n");
    assert!(p.line.is_some(), "{p}");
}

#[test]
fn faults_are_checked_key_by_key() {
    let with =
        |faults: &str| BASE.replace("ttl: 15m }", &format!("ttl: 15m }}\n  faults: {faults}"));
    for (faults, path, says) in [
        (
            "[ { kind: errors, rate: 1.5 } ]",
            "issuer.faults[0].rate",
            "at most 1",
        ),
        (
            "[ { kind: errors, status: 200 } ]",
            "issuer.faults[0].status",
            "400 to 599",
        ),
        (
            "[ { kind: outage, mode: sometimes } ]",
            "issuer.faults[0].mode",
            "timeout",
        ),
        (
            "[ { kind: outage, rate: 0.5 } ]",
            "issuer.faults[0].rate",
            "not a key of a `outage` fault",
        ),
        (
            "[ { kind: latency } ]",
            "issuer.faults[0]",
            "needs `latency`",
        ),
        (
            "[ { kind: clock_jump, at: 5m } ]",
            "issuer.faults[0]",
            "`by`",
        ),
        (
            "[ { kind: outage, at: 2h } ]",
            "issuer.faults[0].at",
            "not before the end",
        ),
        (
            "[ { kind: outage, at: 1m, for: 0s } ]",
            "issuer.faults[0].for",
            "longer than 0",
        ),
    ] {
        let p = problem(&with(faults));
        assert_eq!(p.path, path, "{faults}");
        assert!(p.message.contains(says), "{faults}: {}", p.message);
        assert!(p.line.is_some());
    }
    let p = problem(&format!(
        "{BASE}resource: {{ faults: [ {{ kind: revoke, at: 1m }} ] }}\n"
    ));
    assert_eq!(p.path, "resource.faults[0].kind");
    assert!(p.message.contains("issuer fault"), "{}", p.message);
    let p = problem(&BASE.replace("ttl: 15m }", "ttl: 15m }\n  capacity: 0"));
    assert_eq!(p.path, "issuer.capacity");
    let p = problem(&BASE.replace(
        "ttl: 15m }",
        "ttl: 15m }\n  rate_limit: { per_second: 0, burst: 5 }",
    ));
    assert_eq!(p.path, "issuer.rate_limit.per_second");
}

/// A `targets` scenario with these lines added under `targets` (two spaces in).
fn with_targets(keys: &str) -> String {
    format!(
        "name: t\nmode: live\nduration: 1m\nclients: [ {{ name: c, count: 2 }} ]\ntargets:\n  issuer: http://127.0.0.1:1/token\n  resource: http://127.0.0.1:1/api\n{keys}"
    )
}

#[test]
fn a_targets_grant_that_cannot_work_is_refused_with_what_is_accepted() {
    let p = problem(&with_targets("  grant: implicit\n"));
    assert_eq!((p.path.as_str(), p.line), ("targets.grant", Some(8)));
    assert!(
        p.message
            .contains("password, client_credentials, refresh_token"),
        "{p}"
    );

    let p = problem(&with_targets("  client_auth: tls_client_auth\n"));
    assert!(
        p.message
            .contains("client_secret_basic, client_secret_post, none, private_key_jwt"),
        "{p}"
    );
}

#[test]
fn private_key_jwt_needs_a_client_id_and_a_key_that_signs() {
    let mut p = problems(&with_targets(
        "  client_auth: private_key_jwt\n  client_secret: s\n",
    ));
    p.sort_by(|a, b| a.path.cmp(&b.path));
    let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "targets.client_id",
            "targets.client_secret",
            "targets.private_key"
        ],
        "{p:#?}"
    );
    assert!(p[2].message.contains("name its PEM file"), "{}", p[2]);
    let p = problem(&with_targets("  key_id: k1\n"));
    assert!(
        p.path == "targets.key_id"
            && p.message
                .contains("only with `client_auth: private_key_jwt`"),
        "{p}"
    );
    let dir = std::env::temp_dir().join(format!("tokenstorm-jwt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key.pem");
    let text = with_targets(&format!(
        "  client_id: svc\n  client_auth: private_key_jwt\n  private_key: {}\n",
        key.display()
    ));
    let p = problem(&text);
    assert!(p.message.contains("cannot read"), "{p}");
    std::fs::write(
        &key,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let p = problem(&text);
    assert!(
        p.path == "targets.private_key" && p.message.contains("not a PEM private key"),
        "{p}"
    );
    std::fs::write(&key, rcgen::KeyPair::generate().unwrap().serialize_pem()).unwrap();
    parse(&text, FILE).unwrap();
    // A P-256 key signs ES256, not RS256.
    let p = problem(&format!("{text}  assertion_alg: RS256\n"));
    assert!(p.message.contains("cannot sign RS256"), "{p}");
    let p = problem(&format!("{text}  assertion_alg: HS256\n"));
    assert!(
        p.path == "targets.assertion_alg" && p.message.contains("accepted RS256, PS256"),
        "{p}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_authorization_code_grant_needs_a_redirect_uri_and_an_authorization_endpoint() {
    // The token endpoint's URL names no authorization endpoint, and nothing is set.
    let mut p = problems(&with_targets("  grant: authorization_code\n"));
    p.sort_by(|a, b| a.path.cmp(&b.path));
    let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "targets.authorization_endpoint",
            "targets.client_id",
            "targets.redirect_uri"
        ],
        "{p:#?}"
    );
    assert!(p[0].message.contains("discover it from"), "{}", p[0]);
    assert!(p[2].message.contains("registered redirect URI"), "{}", p[2]);
    let p = problem(&with_targets(
        "  grant: authorization_code\n  client_id: app\n  redirect_uri: app:/cb#x\n  authorization_endpoint: https://id.example/authorize\n",
    ));
    assert!(
        p.path == "targets.redirect_uri" && p.message.contains("without a fragment"),
        "{p}"
    );
    let p = problem(&with_targets("  redirect_uri: https://app.example/cb\n"));
    assert!(
        p.path == "targets.redirect_uri"
            && p.message.contains("only with `grant: authorization_code`"),
        "{p}"
    );
    parse(
        &with_targets("  grant: authorization_code\n  client_id: app\n  redirect_uri: https://app.example/cb\n  authorization_endpoint: https://id.example/authorize\n"),
        FILE,
    )
    .unwrap();
}

#[test]
fn refresh_tokens_are_refused_unless_a_readable_file_gives_one_per_client() {
    let p = problem(&with_targets("  grant: refresh_token\n"));
    assert!(
        p.path == "targets.refresh_tokens" && p.message.contains("one per client"),
        "{p}"
    );
    let p = problem(&with_targets(
        "  grant: refresh_token\n  refresh_tokens: /nonexistent/t.txt\n",
    ));
    assert!(
        p.message.contains("cannot read `/nonexistent/t.txt`"),
        "{p}"
    );
    let p = problem(&with_targets("  refresh_tokens: t.txt\n"));
    assert!(
        p.message.contains("only with `grant: refresh_token`"),
        "{p}"
    );
    let dir = std::env::temp_dir().join(format!("tokenstorm-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tokens = dir.join("one.txt");
    std::fs::write(&tokens, "rt-1\n\n").unwrap();
    let text = with_targets(&format!(
        "  grant: refresh_token\n  refresh_tokens: {}\n",
        tokens.display()
    ));
    let p = problem(&text);
    assert!(
        p.message.contains("1 refresh token(s) for 2 client(s)"),
        "{p}"
    );
    std::fs::write(&tokens, "rt-1\nrt-2\n").unwrap();
    parse(&text, FILE).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn client_authentication_and_token_request_parameters_are_checked() {
    let p = problem(&with_targets("  client_auth: none\n  client_secret: s\n"));
    assert_eq!(p.path, "targets.client_secret");
    let p = problem(&with_targets("  client_auth: none\n"));
    assert!(
        p.path == "targets.client_id" && p.message.contains("public client"),
        "{p}"
    );
    let p = problem(&with_targets(
        "  token_request: { resource: [https://a/, not-a-uri] }\n",
    ));
    assert_eq!(p.path, "targets.token_request.resource[1]");
    assert!(p.message.contains("RFC 8707"), "{p}");
    let p = problem(&with_targets(
        "  token_request: { extra: { grant_type: x } }\n",
    ));
    assert_eq!(p.path, "targets.token_request.extra.grant_type");
    let p = problem(&with_targets("  token_request: { extra: { scope: x } }\n"));
    assert!(p.message.contains("token_request.scope"), "{p}");
    parse(
        &with_targets("  client_auth: none\n  client_id: spa\n  token_request: { scope: openid offline_access, resource: https://api.example/, audience: api, extra: { prompt: none } }\n"),
        FILE,
    )
    .unwrap();
}
