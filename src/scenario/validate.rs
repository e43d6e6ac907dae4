//! The checks a parser cannot make: values that are well-typed but impossible.
//!
//! Each rule names the key path it is about and says what is accepted; the caller turns
//! the paths into lines with [`super::locate::Index`]. Every problem is collected, not
//! just the first, so one edit can fix them all. Features the scenario format names but
//! this version does not run yet are refused here, loudly, rather than ignored.

use std::collections::BTreeSet;

use super::model::*;
use super::threshold::Condition;
use super::windows::windows;
use crate::contract::Report;
use crate::contract::numeric_paths;
use crate::duration::Dur;
use crate::scenario::policy::Trigger;
use crate::scenario::presets;

/// What a scenario runs as written but a user may not expect, one line each, key path
/// first: a policy whose buffer, hard buffer or jitter is not shorter than the access
/// token's lifetime refreshes before every use, as the SDK it copies would. A value the
/// preset set, not the scenario, is reported at `preset`. None for `targets`, whose
/// lifetime only the real issuer knows.
pub fn warnings(s: &Scenario) -> Vec<String> {
    let ttl = s.issuer.access_token.ttl;
    if s.targets.is_some() || ttl.as_ms() <= 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, g) in s.clients.iter().enumerate() {
        let (written, policy) = (&g.policy, &g.resolved);
        let buffer = match policy.trigger {
            Trigger::Buffer(b) if policy.ahead_of_expiry() => Some(b),
            _ => None,
        };
        let long = [
            ("buffer", "a buffer", buffer, written.buffer.is_some()),
            (
                "hard_buffer",
                "a hard buffer",
                Some(policy.hard_buffer),
                written.hard_buffer.is_some(),
            ),
            (
                "jitter",
                "a jitter",
                Some(policy.jitter),
                written.jitter.is_some(),
            ),
        ];
        for (key, what, value, set) in long {
            let Some(d) = value.filter(|d| *d >= ttl) else {
                continue;
            };
            let path = match set || written.preset.is_none() {
                true => format!("clients[{i}].policy.{key}"),
                false => format!("clients[{i}].policy.preset"),
            };
            out.push(format!(
                "{path}: {what} of {d} is not shorter than the access-token lifetime ({ttl}): every use refreshes the token first, as the SDK would"
            ));
        }
    }
    out
}

/// One problem: a key path and a message.
pub(crate) type Finding = (String, String);

/// Runs every check on a parsed scenario.
pub(crate) fn check(s: &Scenario) -> Vec<Finding> {
    let mut c = Checks::default();
    c.top(s);
    c.issuer(&s.issuer, s.duration);
    c.resource(&s.resource, s.duration);
    c.clients(s);
    c.thresholds(s);
    c.variants(s);
    c.out
}

#[derive(Default)]
struct Checks {
    out: Vec<Finding>,
}

const NAME_ACCEPTED: &str = "letters, digits, `-`, `_` and `.`";
/// The timeline holds one value per tick per series; more than this is a mistake.
const MAX_TICKS: i64 = 1_000_000;

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !s.starts_with('.')
}

impl Checks {
    fn bad(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.out.push((path.into(), message.into()));
    }

    /// A policy's `lock`: the keys its backend understands, with sensible values.
    fn lock(&mut self, p: &str, coordination: Option<Coordination>, lock: &LockSpec, mode: Mode) {
        let p = format!("{p}.lock");
        if let Some(wait) = lock.wait {
            self.positive(&format!("{p}.wait"), wait, "the wait");
        }
        let written = [
            ("backend", lock.backend.is_some()),
            ("ttl", lock.ttl.is_some()),
            ("latency", lock.latency.is_some()),
            ("poll", lock.poll.is_some()),
            ("notify", lock.notify.is_some()),
            ("url", lock.url.is_some()),
        ];
        if coordination != Some(Coordination::Lock) {
            for (key, _) in written.iter().filter(|(_, set)| *set) {
                self.bad(
                    format!("{p}.{key}"),
                    "only `coordination: lock` takes a lock service; single_flight and try_lock accept only `lock.wait` and `lock.on_timeout`",
                );
            }
            return;
        }
        let backend = lock.backend.unwrap_or(LockBackend::Simulated);
        let (name, accepted): (&str, &[&str]) = match backend {
            LockBackend::Simulated => ("simulated", &["wait", "ttl", "latency", "poll", "notify"]),
            LockBackend::Local => ("local", &["wait"]),
            LockBackend::Redis => ("redis", &["wait", "ttl", "poll", "url"]),
        };
        for (key, _) in written.iter().filter(|(k, set)| *set && *k != "backend") {
            if !accepted.contains(key) {
                self.bad(
                    format!("{p}.{key}"),
                    format!(
                        "the {name} backend takes no `{key}`; accepted with it: {}",
                        accepted.join(", ")
                    ),
                );
            }
        }
        if let Some(ttl) = lock.ttl {
            self.positive(&format!("{p}.ttl"), ttl, "the lock's ttl");
        }
        if let Some(poll) = lock.poll {
            self.positive(&format!("{p}.poll"), poll, "the poll interval");
        }
        if let Some(latency) = lock.latency {
            self.not_negative(&format!("{p}.latency"), latency);
        }
        if backend == LockBackend::Redis {
            if mode != Mode::Live {
                self.bad(
                    format!("{p}.backend"),
                    "the redis backend talks to a real server in real time: set `mode: live`, or use backend `simulated` (or `local`) in the sim",
                );
            }
            if !cfg!(feature = "redis") {
                self.bad(
                    format!("{p}.backend"),
                    "this build has no redis backend: build with `cargo build --release --features redis`; accepted here: simulated, local",
                );
            }
        }
    }

    fn positive(&mut self, path: &str, d: Dur, what: &str) {
        if d.as_ms() <= 0 {
            self.bad(path, format!("{what} must be longer than 0, found {d}"));
        }
    }

    fn not_negative(&mut self, path: &str, d: Dur) {
        if d.is_negative() {
            self.bad(path, format!("must not be negative, found {d}"));
        }
    }

    fn top(&mut self, s: &Scenario) {
        if !is_name(&s.name) {
            self.bad(
                "name",
                format!("`{}` cannot name report files; use {NAME_ACCEPTED}", s.name),
            );
        }
        self.positive("duration", s.duration, "the run");
        self.positive("tick", s.tick, "a tick");
        if s.tick.as_ms() > 0 && s.duration.as_ms() > 0 {
            if s.tick > s.duration {
                self.bad(
                    "tick",
                    format!(
                        "a tick of {} is longer than the run ({}); accepted: at most the duration",
                        s.tick, s.duration
                    ),
                );
            } else if s.duration.as_ms() / s.tick.as_ms() > MAX_TICKS {
                self.bad(
                    "tick",
                    format!(
                        "{} ticks of {} over {}: at most {MAX_TICKS} ticks are accepted; use a longer tick",
                        s.duration.as_ms() / s.tick.as_ms(),
                        s.tick,
                        s.duration
                    ),
                );
            }
        }
        if let Some(t) = &s.targets {
            if s.mode != Mode::Live {
                self.bad(
                    "targets",
                    "external servers are driven in real time: set `mode: live`, or remove `targets` to simulate",
                );
            }
            for (key, url, what) in [
                (
                    "issuer",
                    &t.issuer,
                    "the issuer's identifier, or its token endpoint",
                ),
                ("resource", &t.resource, "the API endpoint itself"),
            ]
            .into_iter()
            .chain(t.authorization_endpoint.as_ref().map(|url| {
                (
                    "authorization_endpoint",
                    url,
                    "the issuer's authorization endpoint",
                )
            })) {
                if !is_http_url(url) {
                    self.bad(
                        format!("targets.{key}"),
                        format!("`{url}`: accepted an http:// or https:// URL ({what})"),
                    );
                }
            }
            self.trust(t);
            self.getting_tokens(t, s.clients.iter().map(|g| u64::from(g.count)).sum());
            // The servers are someone else's: their knobs cannot be set from here.
            self.untouched("issuer", &s.issuer, &IssuerConfig::default());
            self.untouched("resource", &s.resource, &ResourceConfig::default());
        }
    }

    /// How `targets` gets its tokens: a grant an external issuer can be driven with,
    /// the credentials its client authentication needs, a refresh token for every
    /// client, token-request parameters that are well formed.
    fn getting_tokens(&mut self, t: &Targets, clients: u64) {
        match t.grant {
            Grant::AuthorizationCode => self.authorization_code(t),
            Grant::RefreshToken => self.provisioned(t, clients),
            Grant::Password | Grant::ClientCredentials => {}
        }
        if t.grant != Grant::AuthorizationCode {
            let keys = [
                ("redirect_uri", t.redirect_uri.is_some()),
                ("authorization_endpoint", t.authorization_endpoint.is_some()),
            ];
            self.only_with(
                &keys,
                "grant: authorization_code",
                "grant",
                t.grant.as_str(),
            );
        }
        if t.grant != Grant::RefreshToken {
            let keys = [("refresh_tokens", t.refresh_tokens.is_some())];
            self.only_with(&keys, "grant: refresh_token", "grant", t.grant.as_str());
        }
        let secret = t.client_secret.is_some();
        match t.client_auth {
            ClientAuthMethod::None if secret => self.bad(
                "targets.client_secret",
                "`client_auth: none` is a public client, which sends no secret; remove the secret, or use client_secret_basic or client_secret_post",
            ),
            ClientAuthMethod::None if t.client_id.is_none() => self.bad(
                "targets.client_id",
                "a public client (`client_auth: none`) names itself with its client_id; set it",
            ),
            ClientAuthMethod::PrivateKeyJwt => self.private_key_jwt(t),
            _ => {}
        }
        if t.client_auth != ClientAuthMethod::PrivateKeyJwt {
            let keys = [
                ("private_key", t.private_key.is_some()),
                ("key_id", t.key_id.is_some()),
                ("assertion_alg", t.assertion_alg.is_some()),
                ("assertion_audience", t.assertion_audience.is_some()),
            ];
            let is = t.client_auth.as_str();
            self.only_with(&keys, "client_auth: private_key_jwt", "client_auth", is);
        }
        for (i, r) in t.token_request.resource.iter().enumerate() {
            // RFC 8707 §2: an absolute URI without a fragment.
            let absolute = r.parse::<http::Uri>().is_ok_and(|u| u.scheme().is_some());
            if !absolute || r.contains('#') {
                self.bad(
                    format!("targets.token_request.resource[{i}]"),
                    format!("`{r}`: accepted an absolute URI without a fragment (RFC 8707 §2)"),
                );
            }
        }
        for key in t.token_request.extra.keys() {
            let path = format!("targets.token_request.extra.{key}");
            if ["scope", "resource", "audience"].contains(&key.as_str()) {
                self.bad(
                    path,
                    format!("`{key}` has its own key: `token_request.{key}`"),
                );
            } else if RESERVED.contains(&key.as_str()) {
                self.bad(
                    path,
                    format!(
                        "`{key}` is set by the grant or the client authentication; accepted: any other parameter name"
                    ),
                );
            }
        }
    }

    /// Each of `keys` that is set, refused: it is read only with `needs`, and `what` is
    /// `is`.
    fn only_with(&mut self, keys: &[(&str, bool)], needs: &str, what: &str, is: &str) {
        for (key, _) in keys.iter().filter(|(_, set)| *set) {
            self.bad(
                format!("targets.{key}"),
                format!(
                    "read only with `{needs}` (the {what} is `{is}`); remove it, or set the {what}"
                ),
            );
        }
    }

    /// `grant: authorization_code`: a redirect URI to wait for, and an authorization
    /// endpoint to ask (given, or from discovery).
    fn authorization_code(&mut self, t: &Targets) {
        match &t.redirect_uri {
            None => self.bad(
                "targets.redirect_uri",
                "`grant: authorization_code` waits for the issuer to redirect to the client's registered redirect URI: set it (it is never fetched)",
            ),
            Some(u) if !is_http_url(u) || u.contains('#') => self.bad(
                "targets.redirect_uri",
                format!("`{u}`: accepted an absolute http:// or https:// URI without a fragment (RFC 6749 §3.1.2)"),
            ),
            Some(_) => {}
        }
        if t.authorization_endpoint.is_none() && !t.discovers() {
            self.bad(
                "targets.authorization_endpoint",
                "`issuer` is the token endpoint, so nothing names the authorization endpoint: set it, or give the issuer's identifier to discover it from",
            );
        }
        if t.client_id.is_none() {
            self.bad(
                "targets.client_id",
                "the authorization request names the client: set its client_id",
            );
        }
    }

    /// `private_key_jwt` (RFC 7523 §2.2): a client_id to be the assertion's issuer and
    /// subject, no secret, and a private key that signs.
    fn private_key_jwt(&mut self, t: &Targets) {
        if t.client_secret.is_some() {
            self.bad(
                "targets.client_secret",
                "`client_auth: private_key_jwt` signs with `private_key` and sends no secret; remove the secret",
            );
        }
        if t.client_id.is_none() {
            self.bad(
                "targets.client_id",
                "`private_key_jwt` names the client in the assertion's `iss` and `sub`; set it",
            );
        }
        if let Err(e) = t.assertion_algorithm() {
            // The key cannot be judged against an algorithm that is none.
            return self.bad("targets.assertion_alg", e);
        }
        let path = "targets.private_key";
        match (&t.private_key, &t.private_key_pem) {
            (None, _) => self.bad(
                path,
                "`client_auth: private_key_jwt` signs with the client's private key: name its PEM file",
            ),
            (Some(_), Some(Err(e))) => self.bad(path, e.clone()),
            (Some(file), Some(Ok(pem))) => {
                if let Err(e) = t.assertion_key(pem) {
                    self.bad(path, format!("`{file}`: {e}"));
                }
            }
            (Some(_), None) => {}
        }
    }

    /// How servers' certificates are checked: a readable `ca_file` of PEM
    /// certificates, or `insecure`, not both.
    fn trust(&mut self, t: &Targets) {
        let path = "targets.ca_file";
        match (&t.ca_file, &t.ca_pem) {
            (Some(_), _) if t.insecure => self.bad(
                path,
                "`insecure: true` accepts any certificate, so a CA to check them with has no effect; keep one of the two",
            ),
            (Some(_), Some(Err(e))) => self.bad(path, e.clone()),
            (Some(file), Some(Ok(pem))) => {
                use rustls_pki_types::CertificateDer;
                use rustls_pki_types::pem::PemObject;
                let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
                match certs {
                    Ok(c) if !c.is_empty() => {}
                    Ok(_) => self.bad(
                        path,
                        format!("`{file}` holds no certificate: accepted a PEM file of `-----BEGIN CERTIFICATE-----` blocks"),
                    ),
                    Err(e) => self.bad(path, format!("`{file}` is not a PEM file of certificates: {e}")),
                }
            }
            _ => {}
        }
    }

    /// `grant: refresh_token`: a readable file with a refresh token for every client.
    fn provisioned(&mut self, t: &Targets, clients: u64) {
        let path = "targets.refresh_tokens";
        match (&t.refresh_tokens, &t.provisioned) {
            (None, _) => self.bad(
                path,
                "`grant: refresh_token` starts each client from a refresh token: name a file with one a line, one per client",
            ),
            (Some(_), Some(Err(e))) => self.bad(path, e.clone()),
            (Some(file), Some(Ok(tokens))) if (tokens.len() as u64) < clients => self.bad(
                path,
                format!(
                    "`{file}` has {} refresh token(s) for {clients} client(s): accepted one a line, at least one per client",
                    tokens.len()
                ),
            ),
            _ => {}
        }
    }

    /// With `targets`, every key of a server section must keep its default.
    fn untouched<T: serde::Serialize>(&mut self, section: &str, set: &T, default: &T) {
        let (Ok(serde_json::Value::Object(set)), Ok(serde_json::Value::Object(default))) =
            (serde_json::to_value(set), serde_json::to_value(default))
        else {
            return;
        };
        for (key, value) in &set {
            if default.get(key) != Some(value) {
                self.bad(
                    format!("{section}.{key}"),
                    format!(
                        "with `targets` the {section} is an external server: its knobs do not apply here; remove the key (client credentials go under `targets`)"
                    ),
                );
            }
        }
    }

    fn latency(&mut self, path: &str, l: &Latency) {
        match l {
            Latency::Fixed(d) => self.not_negative(path, *d),
            Latency::Dist(LatencyDist::Lognormal { median, p99 }) => {
                self.positive(&format!("{path}.median"), *median, "the median");
                if p99 < median {
                    self.bad(
                        format!("{path}.p99"),
                        format!("p99 ({p99}) must be at least the median ({median})"),
                    );
                }
            }
            Latency::Dist(LatencyDist::Uniform { min, max }) => {
                self.not_negative(&format!("{path}.min"), *min);
                if max < min {
                    self.bad(
                        format!("{path}.max"),
                        format!("max ({max}) must be at least min ({min})"),
                    );
                }
            }
        }
    }

    fn issuer(&mut self, i: &IssuerConfig, duration: Dur) {
        self.access_token(&i.access_token);
        self.refresh_token(&i.refresh_token);
        self.latency("issuer.latency", &i.latency);
        self.issuer_limits(i);
        self.faults("issuer.faults", &i.faults, duration);
        self.issuer_strings(i);
    }

    /// `issuer.access_token`: `expires_in` and `refresh_in` carry whole seconds.
    fn access_token(&mut self, t: &AccessTokenConfig) {
        let at = t.ttl;
        self.positive("issuer.access_token.ttl", at, "the access-token lifetime");
        if at.as_ms() > 0 && at.as_ms() % 1000 != 0 {
            self.bad(
                "issuer.access_token.ttl",
                format!("{at}: expires_in is whole seconds; accepted: a whole number of seconds"),
            );
        }
        if let Some(r) = t.refresh_in {
            self.positive("issuer.access_token.refresh_in", r, "refresh_in");
            if r >= at || r.as_ms() % 1000 != 0 {
                self.bad(
                    "issuer.access_token.refresh_in",
                    format!("{r}: accepted a whole number of seconds shorter than the ttl ({at})"),
                );
            }
        }
    }

    /// `issuer.refresh_token`: its lifetimes, and reuse rules that need rotation.
    fn refresh_token(&mut self, rt: &RefreshTokenConfig) {
        self.positive(
            "issuer.refresh_token.ttl",
            rt.ttl,
            "the refresh-token lifetime",
        );
        if let Some(idle) = rt.idle_ttl {
            self.positive("issuer.refresh_token.idle_ttl", idle, "the idle lifetime");
            if idle > rt.ttl {
                self.bad(
                    "issuer.refresh_token.idle_ttl",
                    format!(
                        "idle_ttl ({idle}) is longer than ttl ({}); accepted: at most the ttl",
                        rt.ttl
                    ),
                );
            }
        }
        if rt.reuse_detection == Some(true) && !rt.rotation {
            self.bad(
                "issuer.refresh_token.reuse_detection",
                "reuse detection needs rotation: a token is only reused once rotated out; set rotation: true or remove reuse_detection",
            );
        }
        self.not_negative("issuer.refresh_token.reuse_grace", rt.reuse_grace);
        if rt.max_per_user == Some(0) {
            self.bad(
                "issuer.refresh_token.max_per_user",
                "live refresh tokens a user may hold: accepted 1 or more",
            );
        }
    }

    /// `issuer.capacity` and `issuer.rate_limit`: how much the issuer serves.
    fn issuer_limits(&mut self, i: &IssuerConfig) {
        if i.capacity == Some(0) {
            self.bad(
                "issuer.capacity",
                "token requests served at once: accepted 1 or more",
            );
        }
        if let Some(r) = &i.rate_limit {
            if !(r.per_second > 0.0 && r.per_second.is_finite()) {
                self.bad(
                    "issuer.rate_limit.per_second",
                    format!(
                        "{}: accepted a number of requests per second above 0",
                        r.per_second
                    ),
                );
            }
            if r.burst == 0 {
                self.bad("issuer.rate_limit.burst", "accepted 1 or more");
            }
        }
    }

    /// The claims and credentials the issuer puts in tokens or expects from clients.
    fn issuer_strings(&mut self, i: &IssuerConfig) {
        for (key, value) in [
            ("issuer.issuer", &i.issuer),
            ("issuer.audience", &i.audience),
            ("issuer.client_id", &i.client_id),
            ("issuer.client_secret", &i.client_secret),
            ("issuer.password", &i.password),
        ] {
            if value.is_empty() {
                self.bad(key, "must not be empty");
            }
        }
    }

    fn faults(&mut self, p: &str, faults: &[Fault], duration: Dur) {
        for (n, f) in faults.iter().enumerate() {
            let p = format!("{p}[{n}]");
            self.fault_timing(&p, f, duration);
            self.fault_keys(&p, f);
            self.fault_values(&p, f);
        }
    }

    /// A fault's `at` falls within the run and its `for` lasts.
    fn fault_timing(&mut self, p: &str, f: &Fault, duration: Dur) {
        if let Some(at) = f.at {
            self.not_negative(&format!("{p}.at"), at);
            if duration.as_ms() > 0 && at >= duration {
                self.bad(
                    format!("{p}.at"),
                    format!("{at} is not before the end of the run ({duration})"),
                );
            }
        }
        if let Some(d) = f.for_ {
            self.positive(&format!("{p}.for"), d, "a fault");
        }
    }

    /// Keys that belong to other kinds are mistakes, not options.
    fn fault_keys(&mut self, p: &str, f: &Fault) {
        let allowed: &[&str] = match f.kind {
            FaultKind::Outage => &["mode"],
            FaultKind::Errors => &["rate", "status"],
            FaultKind::Latency => &["latency"],
            FaultKind::ClockJump => &["by"],
            FaultKind::Revoke => &["fraction"],
            FaultKind::RotateKeys => &["every", "overlap", "publish_delay"],
        };
        for (key, set) in [
            ("mode", f.mode.is_some()),
            ("rate", f.rate.is_some()),
            ("status", f.status.is_some()),
            ("latency", f.latency.is_some()),
            ("by", f.by.is_some()),
            ("fraction", f.fraction.is_some()),
            ("every", f.every.is_some()),
            ("overlap", f.overlap.is_some()),
            ("publish_delay", f.publish_delay.is_some()),
        ] {
            if set && !allowed.contains(&key) {
                self.bad(
                    format!("{p}.{key}"),
                    format!(
                        "`{key}` is not a key of a `{}` fault; accepted: kind, at, for, {}",
                        kind_name(f.kind),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// The values a fault's own kind takes.
    fn fault_values(&mut self, p: &str, f: &Fault) {
        match f.kind {
            FaultKind::Outage => {
                if let Some(m) = &f.mode
                    && m != "timeout"
                    && m != "error"
                {
                    self.bad(
                        format!("{p}.mode"),
                        format!("`{m}`: accepted error (answer 503, the default) or timeout (no answer)"),
                    );
                }
            }
            FaultKind::Errors => {
                if let Some(r) = f.rate
                    && !(r > 0.0 && r <= 1.0)
                {
                    self.bad(format!("{p}.rate"), format!("{r}: accepted a share above 0, at most 1"));
                }
                if let Some(st) = f.status
                    && !(400..=599).contains(&st)
                {
                    self.bad(format!("{p}.status"), format!("{st}: accepted an error status from 400 to 599"));
                }
            }
            FaultKind::Latency => match &f.latency {
                Some(l) => self.latency(&format!("{p}.latency"), l),
                None => self.bad(
                    p,
                    "a latency fault needs `latency` (20ms, or a distribution as for the section's latency)",
                ),
            },
            FaultKind::ClockJump => {
                if f.at.is_none() || f.by.is_none() {
                    self.bad(p, "a clock_jump needs `at` (when) and `by` (how far, e.g. -30s)");
                }
                if f.for_.is_some() {
                    self.bad(format!("{p}.for"), "a clock jump is a moment: it takes no `for`");
                }
            }
            FaultKind::Revoke => self.revoke(p, f),
            FaultKind::RotateKeys => self.rotate_keys(p, f),
        }
    }

    /// A `revoke` fault: a moment, and on the issuer only.
    fn revoke(&mut self, p: &str, f: &Fault) {
        if !p.starts_with("issuer.") {
            self.bad(
                format!("{p}.kind"),
                "revoke is an issuer fault (the resource sees it with check_revocation: true); accepted here: outage, errors, latency, clock_jump",
            );
        }
        if f.for_.is_some() {
            self.bad(
                format!("{p}.for"),
                "a revocation is a moment: it takes no `for`",
            );
        }
        if f.at.is_none() {
            self.bad(p, "a revoke needs `at`: when the families are revoked");
        }
        if let Some(fr) = f.fraction
            && !(fr > 0.0 && fr <= 1.0)
        {
            self.bad(
                format!("{p}.fraction"),
                format!("{fr}: accepted a share above 0, at most 1"),
            );
        }
    }

    /// A `rotate_keys` fault: on the issuer only, once or repeated, never lasting.
    fn rotate_keys(&mut self, p: &str, f: &Fault) {
        if !p.starts_with("issuer.") {
            self.bad(
                format!("{p}.kind"),
                "rotate_keys is an issuer fault (the resource sees it through the key set); accepted here: outage, errors, latency, clock_jump",
            );
        }
        if f.for_.is_some() {
            self.bad(
                format!("{p}.for"),
                "a key rotation is a moment: it takes no `for`; use `every` to repeat it",
            );
        }
        if f.at.is_none() && f.every.is_none() {
            self.bad(p, "a rotate_keys needs `at` (once), `every` (repeated), or both (first at `at`, then every `every`)");
        }
        if let Some(e) = f.every {
            self.positive(&format!("{p}.every"), e, "the rotation period");
        }
        if let Some(o) = f.overlap {
            self.not_negative(&format!("{p}.overlap"), o);
        }
        if let Some(d) = f.publish_delay {
            self.not_negative(&format!("{p}.publish_delay"), d);
        }
    }

    fn resource(&mut self, r: &ResourceConfig, duration: Dur) {
        self.not_negative("resource.leeway", r.leeway);
        self.not_negative("resource.jwks.cooldown", r.jwks.cooldown);
        self.positive(
            "resource.jwks.max_age",
            r.jwks.max_age,
            "how long fetched keys are trusted",
        );
        self.positive(
            "resource.jwks.timeout",
            r.jwks.timeout,
            "the key-set fetch timeout",
        );
        self.latency("resource.latency", &r.latency);
        self.faults("resource.faults", &r.faults, duration);
    }

    fn clients(&mut self, s: &Scenario) {
        if s.clients.is_empty() {
            self.bad("clients", "at least one client group is needed");
        }
        let mut names = BTreeSet::new();
        for (g, group) in s.clients.iter().enumerate() {
            let p = format!("clients[{g}]");
            if !is_name(&group.name) {
                self.bad(
                    format!("{p}.name"),
                    format!("`{}` is not a group name; use {NAME_ACCEPTED}", group.name),
                );
            } else if !names.insert(group.name.as_str()) {
                self.bad(
                    format!("{p}.name"),
                    format!(
                        "another group is already named `{}`; names must be unique",
                        group.name
                    ),
                );
            }
            for (key, n) in [
                ("count", group.count),
                ("instances", group.instances),
                ("workers", group.workers),
                ("users", group.users.unwrap_or(1)),
            ] {
                if n == 0 {
                    self.bad(format!("{p}.{key}"), "must be at least 1");
                }
            }
            if let Some(users) = group.users
                && users > group.count
            {
                self.bad(
                    format!("{p}.users"),
                    format!(
                        "{users} users for {} clients; accepted at most `count`",
                        group.count
                    ),
                );
            }
            match &group.start {
                Start::Burst(at) => {
                    self.not_negative(&format!("{p}.start.burst"), *at);
                    if *at >= s.duration && s.duration.as_ms() > 0 {
                        self.bad(
                            format!("{p}.start.burst"),
                            format!("{at} is not before the end of the run ({})", s.duration),
                        );
                    }
                }
                Start::Ramp(d) => self.not_negative(&format!("{p}.start.ramp"), *d),
                Start::Uniform(d) => self.not_negative(&format!("{p}.start.uniform"), *d),
            }
            self.positive(
                &format!("{p}.requests.every"),
                group.requests.every,
                "the time between requests",
            );
            self.not_negative(&format!("{p}.login.latency"), group.login.latency);
            if let ClockOffset::Uniform { uniform: [lo, hi] } = &group.clock_offset
                && lo > hi
            {
                self.bad(
                    format!("{p}.clock_offset.uniform"),
                    format!("[{lo}, {hi}]: the first bound must not exceed the second"),
                );
            }
            self.policy(&format!("{p}.policy"), &group.policy, s.mode);
        }
    }

    fn policy(&mut self, p: &str, written: &PolicySpec, mode: Mode) {
        if let Some(name) = &written.preset
            && presets::find(name).is_none()
        {
            self.bad(
                format!("{p}.preset"),
                format!(
                    "no preset is named `{name}`; accepted: {}",
                    presets::names()
                ),
            );
            return;
        }
        if let Some(lock) = &written.lock {
            self.lock(p, written.coordination, lock, mode);
        }
        self.refresh_timing(p, written);
        if let Some(r) = &written.retry {
            self.retry(p, r);
        }
        if let Some(t) = written.timeout {
            self.positive(&format!("{p}.timeout"), t, "the timeout");
        }
        if let Some(t) = &written.throttle {
            for (key, d) in [
                ("errors", t.errors),
                ("bad_request", t.bad_request),
                ("max", t.max),
            ] {
                if let Some(d) = d {
                    self.not_negative(&format!("{p}.throttle.{key}"), d);
                }
            }
        }
    }

    /// The written durations and the trigger that say when a policy refreshes.
    fn refresh_timing(&mut self, p: &str, written: &PolicySpec) {
        for (key, d) in [
            ("buffer", written.buffer),
            ("hard_buffer", written.hard_buffer),
            ("jitter", written.jitter),
            ("min_lifetime", written.min_lifetime),
        ] {
            if let Some(d) = d {
                self.not_negative(&format!("{p}.{key}"), d);
            }
        }
        if let Some(f) = written.fraction
            && !(f > 0.0 && f < 1.0)
        {
            self.bad(
                format!("{p}.fraction"),
                format!("{f} is not a fraction of the lifetime; accepted: a number between 0 and 1, exclusive"),
            );
        }
        if written.buffer.is_some() && written.fraction.is_some() && written.min_lifetime.is_none()
        {
            self.bad(
                format!("{p}.fraction"),
                "buffer and fraction are two triggers; give one of them (or min_lifetime, below which the buffer applies)",
            );
        }
    }

    /// A policy's `retry`: tries, waits and how they grow.
    fn retry(&mut self, p: &str, r: &RetrySpec) {
        if r.attempts == Some(0) {
            self.bad(
                format!("{p}.retry.attempts"),
                "counts every try, the first included: accepted 1 or more",
            );
        }
        for (key, d) in [("backoff", r.backoff), ("min_interval", r.min_interval)] {
            if let Some(d) = d {
                self.not_negative(&format!("{p}.retry.{key}"), d);
            }
        }
        if let (Some(b), Some(m)) = (r.backoff, r.max_backoff)
            && m < b
        {
            self.bad(
                format!("{p}.retry.max_backoff"),
                format!("max_backoff ({m}) must be at least backoff ({b})"),
            );
        }
        if let Some(m) = r.multiplier
            && !(m >= 1.0 && m.is_finite())
        {
            self.bad(
                format!("{p}.retry.multiplier"),
                format!("{m}: accepted a number of 1 or more (1 keeps the wait constant)"),
            );
        }
        if let Some(j) = r.jitter_ratio
            && !(0.0..1.0).contains(&j)
        {
            self.bad(
                format!("{p}.retry.jitter_ratio"),
                format!("{j}: accepted a number from 0 up to less than 1"),
            );
        }
    }

    fn thresholds(&mut self, s: &Scenario) {
        let groups: Vec<&str> = s.clients.iter().map(|g| g.name.as_str()).collect();
        let outages = windows(&s.issuer.faults, &s.resource.faults).len();
        let schema = Report::schema_for(&groups, outages);
        let known = numeric_paths(&schema);
        for (metric, text) in &s.thresholds.0 {
            let p = format!("thresholds.{metric}");
            if !known.iter().any(|k| k == metric) {
                let mut hint = match did_you_mean(metric, &known) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => "accepted: a numeric path of the report, such as unauthorized_rate, refresh.peak_per_second or groups.<group>.failed_rate (the README lists them all)".to_string(),
                };
                if metric.starts_with("outages.") {
                    hint.push_str(&format!(
                        " (`outages` has one entry per outage fault with `at` and `for`, numbered from 0, issuer first: {outages} in this scenario)"
                    ));
                }
                self.bad(
                    &p,
                    format!("`{metric}` is not a numeric figure of the report; {hint}"),
                );
            }
            if let Err(e) = Condition::parse(text) {
                self.bad(&p, e);
            }
        }
    }

    fn variants(&mut self, s: &Scenario) {
        let mut names = BTreeSet::new();
        for (i, v) in s.variants.iter().enumerate() {
            if !is_name(&v.name) {
                self.bad(
                    format!("variants[{i}].name"),
                    format!("`{}` is not a variant name; use {NAME_ACCEPTED}", v.name),
                );
            } else if !names.insert(v.name.as_str()) {
                self.bad(
                    format!("variants[{i}].name"),
                    format!("another variant is already named `{}`", v.name),
                );
            }
        }
    }
}

fn kind_name(k: FaultKind) -> &'static str {
    match k {
        FaultKind::Outage => "outage",
        FaultKind::Errors => "errors",
        FaultKind::Latency => "latency",
        FaultKind::Revoke => "revoke",
        FaultKind::RotateKeys => "rotate_keys",
        FaultKind::ClockJump => "clock_jump",
    }
}

/// The known path closest to `wrong` by edit distance, if it is close.
pub(crate) fn did_you_mean<'a>(wrong: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(wrong, k), k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// An absolute `http://` or `https://` URL with a host.
fn is_http_url(u: &str) -> bool {
    u.parse::<http::Uri>()
        .is_ok_and(|u| u.host().is_some() && matches!(u.scheme_str(), Some("http" | "https")))
}

/// Token-request parameters the grant or the client authentication sets.
const RESERVED: &[&str] = &[
    "grant_type",
    "username",
    "password",
    "refresh_token",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_or_absent() {
        let known = vec![
            "unauthorized_rate".to_string(),
            "refresh.peak_per_second".to_string(),
        ];
        assert_eq!(
            did_you_mean("unauthorised_rate", &known),
            Some("unauthorized_rate")
        );
        assert_eq!(did_you_mean("refresh.peak", &known), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
