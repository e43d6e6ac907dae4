//! The JSON report of SPEC §2, as types: the contract between a run, its exporters,
//! `merge` and CI. It imports nothing of the crate, so every layer may read it.
//!
//! Field order here is the order in the JSON; serde_json writes structs in declaration
//! order, so a report is byte-for-byte reproducible. Keys are never renamed or dropped;
//! new ones are added where a user would expect more.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub scenario: String,
    /// The scenario's description, for reports a person reads.
    pub description: String,
    pub variant: Option<String>,
    pub seed: u64,
    pub mode: String,
    /// Only in a run against a user's own servers (`targets`): which, and how the
    /// clients got their tokens. Absent from every other report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Targets>,
    /// Time covered by the run (simulated in `sim`); shorter than asked when interrupted.
    pub duration_seconds: f64,
    /// Wall-clock facts: the only fields that differ between two runs of one scenario.
    pub run_info: RunInfo,
    pub requests: Requests,
    pub unauthorized_rate: f64,
    pub failed_rate: f64,
    pub refresh: Refresh,
    pub login: Login,
    /// What became of the clients themselves.
    #[serde(default)]
    pub clients: Clients,
    pub rotation: Rotation,
    pub lock: Lock,
    pub latency_ms: LatencyMs,
    pub issuer: Issuer,
    pub resource: Resource,
    /// One entry per `outage` fault with `at` and `for`, issuer first, then resource, in
    /// file order (thresholds may name them: `outages.0.recovery_seconds`).
    pub outages: Vec<Outage>,
    /// The same figures per client group, by group name (thresholds may name them:
    /// `groups.web.unauthorized_rate`).
    pub groups: BTreeMap<String, Group>,
    pub thresholds: Vec<ThresholdResult>,
    /// What ran as written but may surprise (a buffer as long as the token's life, ...),
    /// each led by its key path.
    #[serde(default)]
    pub warnings: Vec<String>,
    pub timeline: Timeline,
    /// Only in the report of one worker of several (`run --worker I/N`): what `merge`
    /// needs beyond the figures above. Absent from every other report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<Worker>,
}

/// The external servers a `targets` run drove.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    pub issuer: String,
    pub resource: String,
    /// `password`, `client_credentials`, `refresh_token` or `authorization_code`.
    pub grant: String,
    /// `client_secret_basic`, `client_secret_post`, `none` or `private_key_jwt`.
    pub client_auth: String,
    /// The token endpoint the clients used: `issuer` itself, or the one discovery found.
    #[serde(default)]
    pub token_endpoint: String,
    /// The metadata URL the endpoints were read from; null when `issuer` was the token
    /// endpoint itself.
    #[serde(default)]
    pub discovered_from: Option<String>,
    /// The issuer's revocation and introspection endpoints, as its metadata names them.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// `grant: authorization_code`: the authorization endpoint the clients asked,
    /// `targets.authorization_endpoint` or the one discovery found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// Certificates were not checked (`targets.insecure: true`).
    #[serde(default)]
    pub insecure: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub wall_seconds: f64,
    pub version: String,
    pub started_at: String,
    /// The run was stopped (Ctrl-C) before its duration; figures cover what ran.
    pub interrupted: bool,
    /// Threads the run used: a sim run splits its clients over the cores when nothing
    /// makes them meet, with the same figures as on one (0: not recorded).
    #[serde(default)]
    pub threads: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Requests {
    /// API request attempts sent, retries included.
    pub total: u64,
    /// Attempts answered 2xx.
    pub ok: u64,
    /// Attempts answered 401 (or the dialect's equivalent).
    pub unauthorized: u64,
    /// Logical requests that never got a 2xx after all retries.
    pub failed: u64,
    /// Attempts that repeated an earlier one (after a 401, a 5xx or a timeout).
    pub retried: u64,
    /// Logical requests (each may take several attempts); the denominator of failed_rate.
    pub logical: u64,
    /// Attempts that got no answer before the client's timeout.
    pub timeouts: u64,
    /// Attempts answered with another error status (5xx, 4xx other than 401).
    pub errors: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Refresh {
    /// Refresh-token grant requests that reached the issuer.
    pub attempts: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Attempts answered `invalid_grant` (dead, expired or revoked refresh token).
    pub invalid_grant: u64,
    /// Attempts presenting a refresh token another attempt of the family already presented.
    pub duplicates: u64,
    /// Most refresh attempts arriving within any one second.
    pub peak_per_second: u64,
    pub mean_per_second: f64,
    /// Most refresh attempts in flight at once.
    pub max_concurrent: u64,
    /// Refreshes answered from the client's own throttle (`policy.throttle`) with an
    /// error it kept, without reaching the issuer.
    #[serde(default)]
    pub replayed: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Login {
    /// First logins, one per client.
    pub initial: u64,
    /// Re-authentications caused by a dead refresh token.
    pub forced: u64,
    /// Login attempts that failed (and were retried, or given up).
    pub failed: u64,
    /// Logins answered from the client's own throttle, without reaching the issuer.
    #[serde(default)]
    pub replayed: u64,
    /// Logins of a client that had no refresh token to renew with (the
    /// client_credentials grant, or an issuer that gave none): how it renews.
    #[serde(default)]
    pub renewed: u64,
    /// Logins of a client whose every earlier login had failed.
    #[serde(default)]
    pub retried: u64,
    /// The first error the token endpoint answered a login or refresh with
    /// (`400 invalid_client: unknown client`); absent when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Clients {
    /// Clients logged out for good: their refresh token was refused and their policy
    /// cannot log in again (`on_invalid_grant: fail`); their requests fail from then on.
    pub logged_out: u64,
    /// Clients that obtained a token from the issuer at least once (one adopted from
    /// another process's shared store is not counted).
    #[serde(default)]
    pub with_token: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rotation {
    pub reuse_detected: u64,
    pub families_revoked: u64,
    pub grace_accepted: u64,
    /// Inferred on the clients' side, so known in a `targets` run too: refresh tokens
    /// of which one presentation got new tokens and another invalid_grant, which only
    /// an issuer detecting the second as a reuse answers.
    #[serde(default)]
    pub suspected_reuse: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    pub acquisitions: u64,
    pub contended: u64,
    pub timeouts: u64,
    pub max_waiters: u64,
    pub wait_ms: WaitMs,
    /// `coordination: lock`: locks that expired (ttl) while their holder still held them.
    pub lost: u64,
    /// Refresh attempts sent by holders whose lock turned out lost: refreshes no lock
    /// protected.
    pub refreshes_under_lost_lock: u64,
    /// The most callers holding a lock at once (above one per client: lost locks).
    pub max_holders: u64,
    /// Operations sent to the lock service (acquire attempts and releases).
    pub operations: u64,
    /// Operations the lock service failed; the caller went on without the lock.
    pub errors: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WaitMs {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    pub request: Percentiles,
    pub refresh: Percentiles,
    /// Password grants (initial and forced logins), the issuer's part only.
    pub login: Percentiles,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Issuer {
    /// Every request to the token endpoint, whatever its grant.
    pub token_requests: u64,
    pub rate_limited: u64,
    pub errors_injected: u64,
    /// The most token requests waiting for the issuer's `capacity` at once.
    pub queue_max: u64,
    /// Token families revoked by `revoke` faults.
    pub revoked_by_faults: u64,
    /// How long token requests waited for the issuer's capacity.
    pub queue_wait_ms: WaitMs,
    /// Refresh-token families evicted by `refresh_token.max_per_user`.
    pub refresh_tokens_evicted: u64,
    /// Signing keys rotated by `rotate_keys` faults.
    pub key_rotations: u64,
    /// Key-set requests (GET /jwks.json) that reached the issuer.
    pub key_set_requests: u64,
    /// Introspection requests (POST /introspect) that reached the issuer: the load
    /// opaque tokens put on it.
    pub introspection_requests: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// API requests the resource server answered.
    pub requests: u64,
    /// Rejections because `exp` (plus leeway) had passed on the resource's clock.
    pub rejected_expired: u64,
    /// Rejections because `nbf` (minus leeway) was still ahead on the resource's clock.
    pub rejected_not_yet_valid: u64,
    /// Rejections for a bad signature, issuer, audience or shape.
    pub rejected_invalid: u64,
    /// Requests with no credentials at all.
    pub rejected_missing: u64,
    /// API requests failed on purpose by a fault.
    pub errors_injected: u64,
    /// Rejections because the token's family was revoked (`check_revocation`).
    pub rejected_revoked: u64,
    /// Rejections because no key in the resource's key set has the token's kid (also
    /// counted in rejected_invalid).
    pub rejected_unknown_key: u64,
    /// Key-set fetches from the issuer that succeeded, and that failed.
    pub key_set_fetches: u64,
    pub key_set_fetch_failures: u64,
    /// Rejections because introspection called the opaque token inactive.
    pub rejected_inactive: u64,
    /// Introspection calls the resource made, and those that got no usable answer
    /// (the API request was answered 503).
    pub introspections: u64,
    pub introspection_failures: u64,
}

/// How the run came back after one outage (see `report::recovery` for the rule).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// `issuer` or `resource`: the section whose `faults` hold it.
    pub section: String,
    /// Its position in that section's `faults`.
    pub index: usize,
    pub at_seconds: f64,
    pub end_seconds: f64,
    /// Unauthorized + failed per tick over the window before the outage, as long as it.
    pub baseline_per_tick: f64,
    /// The most unauthorized + failed in one tick from its start until recovery.
    pub peak_per_tick: u64,
    /// From its end to the start of the first tick back at the baseline's level; null
    /// when the run ended first.
    pub recovery_seconds: Option<f64>,
}

/// One client group's share of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub requests: Requests,
    pub unauthorized_rate: f64,
    pub failed_rate: f64,
    pub refresh: GroupRefresh,
    pub login: Login,
    #[serde(default)]
    pub clients: Clients,
    pub lock: GroupLock,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupRefresh {
    pub attempts: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub invalid_grant: u64,
    pub duplicates: u64,
    /// The most of this group's refresh attempts within any one second.
    pub peak_per_second: u64,
    #[serde(default)]
    pub replayed: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupLock {
    pub acquisitions: u64,
    pub contended: u64,
    pub timeouts: u64,
    pub lost: u64,
    pub refreshes_under_lost_lock: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    pub metric: String,
    pub condition: String,
    /// NaN (null in JSON) when the path held no number.
    #[serde(deserialize_with = "nan_if_null")]
    pub actual: f64,
    pub pass: bool,
    /// Why the figure is not observed in this run (a `targets` run cannot see inside
    /// the external servers); the threshold then fails. Absent when it was observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_observed: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub tick_ms: u64,
    pub series: Series,
}

/// One value per tick: counts per tick, gauges the tick's maximum.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub requests: Vec<u64>,
    pub unauthorized: Vec<u64>,
    pub refreshes: Vec<u64>,
    pub concurrent_refreshes: Vec<u64>,
    pub lock_waiters: Vec<u64>,
    /// Token requests waiting for the issuer's capacity (the tick's maximum).
    pub issuer_queue: Vec<u64>,
    pub failed: Vec<u64>,
    pub logins: Vec<u64>,
    pub forced_logins: Vec<u64>,
    /// Callers holding a lock of `coordination: lock` (the tick's maximum).
    pub lock_holders: Vec<u64>,
    /// Clients logged out for good by the end of the tick.
    #[serde(default)]
    pub logged_out: Vec<u64>,
}

impl Series {
    /// Every series with its name, in the order reports show them.
    pub fn columns(&self) -> [(&'static str, &[u64]); 11] {
        [
            ("requests", &self.requests),
            ("unauthorized", &self.unauthorized),
            ("refreshes", &self.refreshes),
            ("concurrent_refreshes", &self.concurrent_refreshes),
            ("lock_waiters", &self.lock_waiters),
            ("issuer_queue", &self.issuer_queue),
            ("failed", &self.failed),
            ("logins", &self.logins),
            ("forced_logins", &self.forced_logins),
            ("lock_holders", &self.lock_holders),
            ("logged_out", &self.logged_out),
        ]
    }
}

impl Report {
    /// The report's shape with every figure zero: what threshold paths are checked against.
    pub fn schema() -> serde_json::Value {
        Self::schema_for(&[], 0)
    }

    /// The shape of a report of a scenario with these client groups and this many
    /// outages with `at` and `for`.
    pub fn schema_for(groups: &[&str], outages: usize) -> serde_json::Value {
        let mut report = Report::default();
        for g in groups {
            report.groups.insert((*g).to_string(), Group::default());
        }
        // A figure, not null, so that the path counts as numeric.
        report.outages = vec![
            Outage {
                recovery_seconds: Some(0.0),
                ..Outage::default()
            };
            outages
        ];
        serde_json::to_value(report).expect("a report always serializes")
    }
}

/// What a `targets` run cannot see from the clients' side: the counts kept inside the
/// external issuer and API, each prefix (a section, or one figure) with the reason a
/// person reads. `rotation.suspected_reuse` is the clients' own inference, so observed.
const NOT_OBSERVED: &[(&str, &str)] = &[
    ("issuer", EXTERNAL_SERVERS),
    ("resource", EXTERNAL_SERVERS),
    ("rotation.reuse_detected", EXTERNAL_ROTATION),
    ("rotation.families_revoked", EXTERNAL_ROTATION),
    ("rotation.grace_accepted", EXTERNAL_ROTATION),
    ("timeline.series.issuer_queue", EXTERNAL_SERVERS),
];

const EXTERNAL_SERVERS: &str = "the issuer and API are external (`targets`): their own counts are not visible to the clients; read them from the servers";
const EXTERNAL_ROTATION: &str = "the issuer is external (`targets`): which presentations it took for reuse, and which families it revoked, it does not tell the clients (see rotation.suspected_reuse, the clients' inference)";

/// Why the figure at `path` (a dotted report path) is not observed in a `targets` run,
/// or None when the clients see it.
pub fn not_observed(path: &str) -> Option<&'static str> {
    NOT_OBSERVED
        .iter()
        .find(|(prefix, _)| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
        .map(|(_, why)| *why)
}

/// The JSON pointer of a dotted report path.
fn pointer(path: &str) -> String {
    format!("/{}", path.replace('.', "/"))
}

/// Whether a JSON report is of a `targets` run, whose servers are someone else's.
pub fn is_external_json(report: &Value) -> bool {
    report.get("targets").is_some_and(|t| !t.is_null())
}

impl Report {
    /// Whether the servers were someone else's (`targets`): then [`not_observed`]
    /// figures were never counted.
    pub fn is_external(&self) -> bool {
        self.targets.is_some()
    }

    /// Whether this run counted the figure at `path`: every one, but in a `targets`
    /// run those that are [`not_observed`].
    pub fn observed(&self, path: &str) -> bool {
        !self.is_external() || not_observed(path).is_none()
    }

    /// The report as the JSON of SPEC §2. In a `targets` run every figure the clients
    /// cannot observe is null, not the 0 its type holds, so that nobody reads a count
    /// that was never made as "none happened".
    pub fn to_json(&self) -> Value {
        let mut value = serde_json::to_value(self).expect("a report always serializes");
        if self.is_external() {
            for (path, _) in NOT_OBSERVED {
                if let Some(v) = value.pointer_mut(&pointer(path)) {
                    null_figures(v);
                }
            }
        }
        value
    }
}

/// Every number under `v` (itself included) made null; arrays of numbers become null.
fn null_figures(v: &mut Value) {
    match v {
        Value::Object(map) => map.values_mut().for_each(null_figures),
        _ => *v = Value::Null,
    }
}

/// A report read back (`merge`): the nulls [`Report::to_json`] wrote for what a
/// `targets` run cannot observe, as the zeros and empty series its types hold.
pub fn unnull_not_observed(value: &mut Value) {
    if !is_external_json(value) {
        return;
    }
    fn zero(v: &mut Value, series: bool) {
        match v {
            Value::Object(map) => map.values_mut().for_each(|v| zero(v, series)),
            Value::Null if series => *v = Value::Array(Vec::new()),
            Value::Null => *v = Value::from(0),
            _ => {}
        }
    }
    for (path, _) in NOT_OBSERVED {
        if let Some(v) = value.pointer_mut(&pointer(path)) {
            zero(v, path.starts_with("timeline"));
        }
    }
}

/// A number, or NaN for the null that serde_json writes for NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// One worker's share of a run split over several (`run --worker I/N`), and what
/// `merge` needs to combine the workers' figures exactly.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Worker {
    /// Its 0-based number, of `of` workers.
    pub index: u32,
    pub of: u32,
    /// The `--run-id` every worker of the run was given, if any.
    pub run_id: Option<String>,
    /// Wall clock (Unix ms) at its start, to line the workers' timelines up; 0 in
    /// `sim`, whose clock starts every run at the same moment.
    pub started_unix_ms: u64,
    pub histograms: WorkerHistograms,
    /// When each refresh attempt was sent, in ms from the worker's start, sorted.
    pub refresh_arrivals_ms: Vec<u64>,
    /// The group of each of `refresh_arrivals_ms`, as its position in `groups` (which
    /// lists the groups by name).
    pub refresh_arrival_groups: Vec<u32>,
}

/// The worker's latency histograms, each HdrHistogram V2 + DEFLATE, base64 (standard):
/// the recorded values (µs), which add up across workers where percentiles do not.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerHistograms {
    /// `latency_ms.request`
    pub request: String,
    /// `latency_ms.refresh`
    pub refresh: String,
    /// `latency_ms.login`
    pub login: String,
    /// `lock.wait_ms`
    pub lock_wait: String,
    /// `issuer.queue_wait_ms`
    pub issuer_queue_wait: String,
}

/// The value at a dotted path (`refresh.peak_per_second`) of a JSON report.
pub fn lookup<'a>(report: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(report, |v, key| match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Every numeric path of a JSON report, in document order, array elements by number
/// (`outages.0.recovery_seconds`): what thresholds may name, and "did you mean".
pub fn numeric_paths(report: &Value) -> Vec<String> {
    fn join(prefix: &str, key: &str) -> String {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    }
    fn walk(v: &Value, prefix: &str, out: &mut Vec<String>) {
        match v {
            Value::Number(_) => out.push(prefix.to_string()),
            Value::Object(map) => {
                for (k, v) in map {
                    // Series and verdicts are not single figures.
                    if prefix.is_empty() && (k == "timeline" || k == "thresholds") {
                        continue;
                    }
                    walk(v, &join(prefix, k), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &join(prefix, &i.to_string()), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(report, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_targets_report_nulls_what_it_cannot_observe_and_reads_back_the_same() {
        let mut r = Report::default();
        r.requests.total = 5;
        r.rotation.suspected_reuse = 2;
        r.timeline.series.issuer_queue = vec![0, 0];
        // Without targets every figure is the fake servers' own.
        assert_eq!(r.to_json()["issuer"]["token_requests"], 0);
        r.targets = Some(Targets::default());
        let mut json = r.to_json();
        assert!(json["issuer"]["token_requests"].is_null());
        assert!(json["issuer"]["queue_wait_ms"]["max"].is_null());
        assert!(json["resource"]["requests"].is_null());
        assert!(json["rotation"]["reuse_detected"].is_null());
        assert!(json["timeline"]["series"]["issuer_queue"].is_null());
        assert_eq!(json["rotation"]["suspected_reuse"], 2);
        assert_eq!(json["requests"]["total"], 5);
        unnull_not_observed(&mut json);
        r.timeline.series.issuer_queue.clear();
        assert_eq!(serde_json::from_value::<Report>(json).unwrap(), r);
        assert_eq!(not_observed("issuer"), Some(EXTERNAL_SERVERS));
        assert_eq!(not_observed("rotation.suspected_reuse"), None);
        assert_eq!(not_observed("issuers.x"), None);
    }

    #[test]
    fn numeric_paths_skip_series() {
        let report = serde_json::json!({
            "a": 1, "b": {"c": 2.0, "d": "x"}, "timeline": {"tick_ms": 1000}
        });
        assert_eq!(numeric_paths(&report), ["a", "b.c"]);
    }

    #[test]
    fn numeric_paths_number_array_elements_but_skip_series_and_verdicts() {
        let report = serde_json::json!({
            "outages": [{"at": 1, "recovery_seconds": 2.5}, {"at": 3, "recovery_seconds": null}],
            "thresholds": [{"actual": 1.0}],
            "timeline": {"series": {"requests": [1, 2]}},
        });
        let paths = numeric_paths(&report);
        assert_eq!(
            paths,
            ["outages.0.at", "outages.0.recovery_seconds", "outages.1.at"]
        );
        assert!(
            paths
                .iter()
                .all(|p| lookup(&report, p).is_some_and(Value::is_number))
        );
    }
}
