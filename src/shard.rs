//! One run split over several workers (`run --worker I/N`), each running a share of
//! the clients, their reports merged afterwards (`merge`).
//!
//! Whole clients are dealt out round-robin: worker I of N runs the clients with
//! `client % N == I`, all of their instances. Only where a client's instances share
//! their tokens through a lock that reaches other processes (redis) are the
//! (client, instance) pairs dealt instead, `(client * instances + instance) % N == I`,
//! so that one client's instances meet across processes; [`problems`] refuses other
//! groups with `instances > 1` in a split of processes, since their instances would
//! not share tokens there. Every actor's RNG is keyed by its original indices, so a
//! worker's clients do exactly what they do in the whole run.

use std::fmt;

use crate::scenario::{Coordination, LockBackend, Mode, Policy, Scenario};

/// Worker `index` (0-based) of `of`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub of: u32,
}

/// What `--worker` accepts, for error messages.
pub(crate) const ACCEPTED: &str =
    "I/N: the worker's 0-based index and the number of workers, e.g. 0/4 … 3/4";

impl Shard {
    /// `I/N`, with I < N and N >= 1.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let number = |s: &str| s.parse::<u32>().ok().filter(|_| !s.starts_with('+'));
        let Some((index, of)) = text
            .split_once('/')
            .and_then(|(i, n)| Some((number(i)?, number(n)?)))
        else {
            return Err(format!("`{text}` is not {ACCEPTED}"));
        };
        if of == 0 {
            return Err(format!(
                "`{text}`: N must be at least 1 (the number of workers)"
            ));
        }
        if index >= of {
            return Err(format!(
                "`{text}`: I must be less than N; the workers of {of} are numbered 0 to {}",
                of - 1
            ));
        }
        Ok(Shard { index, of })
    }

    /// Whether this worker runs `instance` of `client` (of a group with `instances`),
    /// when the group's instances are dealt apart (`spread`: they share tokens through
    /// redis) or with their client.
    pub(crate) fn runs_instance(
        &self,
        client: u32,
        instances: u32,
        instance: u32,
        spread: bool,
    ) -> bool {
        if spread {
            self.runs(client, instances, instance)
        } else {
            self.runs(client, 1, 0)
        }
    }

    /// Whether this worker runs `instance` of `client` (of a group with `instances`),
    /// the pairs dealt apart.
    fn runs(&self, client: u32, instances: u32, instance: u32) -> bool {
        // u64: count × instances may not fit in u32.
        (u64::from(client) * u64::from(instances) + u64::from(instance)) % u64::from(self.of)
            == u64::from(self.index)
    }

    /// Whether this worker runs any instance of `client`; a client it runs none of is
    /// not started here at all.
    pub(crate) fn runs_client(&self, client: u32, instances: u32, spread: bool) -> bool {
        if !spread {
            return self.runs(client, 1, 0);
        }
        // `instances` consecutive positions cover every residue once there are N.
        instances >= self.of || (0..instances).any(|i| self.runs(client, instances, i))
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.of)
    }
}

/// Why `scenario` cannot run as `shard` (with `run_id`), one message per problem; empty
/// when it can.
pub fn problems(scenario: &Scenario, shard: Shard, run_id: Option<&str>) -> Vec<String> {
    let mut found = Vec::new();
    if run_id.is_some_and(|id| id.trim().is_empty()) {
        found.push("--run-id must not be empty".to_string());
    }
    if shard.of > 1 && scenario.mode == Mode::Live && run_id.is_none() {
        found.push(
            "--worker with N > 1 in live mode needs --run-id ID, the same for every worker, so their shared Redis keys do not mix with another run's"
                .to_string(),
        );
    }
    if shard.of > 1 {
        for (k, group) in scenario.clients.iter().enumerate() {
            if group.instances > 1 && !shares_tokens_across_processes(&group.resolved) {
                found.push(format!(
                    "clients[{k}]: with --worker N > 1 the instances of one client run in different workers, and only a redis lock shares their tokens; set policy.coordination: lock and lock.backend: redis, or instances: 1"
                ));
            } else if group.instances > 1 && scenario.targets.is_none() {
                // Tokens shared through Redis are only good at the issuer that made them.
                found.push(format!(
                    "clients[{k}]: the instances of one client run in different workers and share their tokens, so the workers need one issuer: add `targets` (e.g. a `tokenstorm serve` every worker reaches)"
                ));
            }
        }
    }
    found
}

/// Why `scenario`'s sim run must keep to one thread, or None when its clients can be
/// dealt out to threads and their records merged exactly.
///
/// Clients on separate threads meet nothing: each thread builds its own issuer and API
/// from the scenario, the servers' random choices about a request come from its
/// client's own draws ([`crate::rng::Draws`]), and fault events are timed, not drawn.
/// What clients do meet, where the first to arrive changes what the next one finds,
/// keeps the run on one thread.
pub fn one_thread_because(scenario: &Scenario) -> Option<String> {
    if scenario.mode != Mode::Sim {
        return Some("a live run runs on tokio's threads already".into());
    }
    if scenario.issuer.capacity.is_some() {
        return Some("issuer.capacity: every client queues for the same slots".into());
    }
    if scenario.issuer.rate_limit.is_some() {
        return Some("issuer.rate_limit: every client draws from the same token bucket".into());
    }
    if scenario.issuer.access_token.format == crate::scenario::TokenFormat::Opaque {
        return Some(
            "issuer.access_token.format: opaque: the API's introspection calls are the API's, not a client's"
                .into(),
        );
    }
    if scenario.resource.jwks.refresh == crate::scenario::JwksRefresh::OnUse {
        return Some(
            "resource.jwks.refresh: on_use (the default): the first request to find the API's copy of the key set stale fetches it for every client; `refresh: background` lets the clients split"
                .into(),
        );
    }
    if let Some(n) = scenario.issuer.faults.iter().position(|f| {
        f.kind == crate::scenario::FaultKind::Revoke && f.fraction.is_some_and(|x| x < 1.0)
    }) {
        return Some(format!(
            "issuer.faults[{n}]: a revoke of a fraction draws over the refresh-token families in the order the issuer made them"
        ));
    }
    for (k, group) in scenario.clients.iter().enumerate() {
        if group.users.is_some_and(|u| u < group.count) {
            return Some(format!(
                "clients[{k}].users: clients that share a user meet at the issuer"
            ));
        }
        if group.resolved.coordination == Coordination::Lock
            && group.resolved.lock.backend == LockBackend::Redis
        {
            return Some(format!(
                "clients[{k}].policy.lock.backend: redis: a real Redis runs on the wall clock"
            ));
        }
    }
    None
}

/// Whether a group's resolved policy coordinates a client's instances through redis,
/// the one lock that reaches other processes: then its instances are dealt apart.
pub(crate) fn shares_tokens_across_processes(policy: &Policy) -> bool {
    policy.coordination == Coordination::Lock && policy.lock.backend == LockBackend::Redis
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_i_of_n() {
        assert_eq!(Shard::parse("0/1"), Ok(Shard { index: 0, of: 1 }));
        assert_eq!(Shard::parse("3/4"), Ok(Shard { index: 3, of: 4 }));
        for bad in [
            "", "1", "1/", "/2", "a/2", "1/b", "-1/2", "+1/2", " 1/2", "1/2/3",
        ] {
            let e = Shard::parse(bad).unwrap_err();
            assert!(e.contains("is not I/N"), "{bad}: {e}");
        }
        assert!(
            Shard::parse("0/0")
                .unwrap_err()
                .contains("N must be at least 1")
        );
        assert!(
            Shard::parse("2/2")
                .unwrap_err()
                .contains("I must be less than N; the workers of 2 are numbered 0 to 1")
        );
    }

    #[test]
    fn every_pair_runs_in_exactly_one_worker() {
        for of in 1..=5 {
            for instances in 1..=4 {
                for c in 0..7 {
                    for i in 0..instances {
                        let runners = (0..of)
                            .filter(|&index| Shard { index, of }.runs(c, instances, i))
                            .count();
                        assert_eq!(runners, 1, "client {c} instance {i} of {instances}, N {of}");
                    }
                    for index in 0..of {
                        let s = Shard { index, of };
                        for spread in [true, false] {
                            assert_eq!(
                                s.runs_client(c, instances, spread),
                                (0..instances).any(|i| s.runs_instance(c, instances, i, spread))
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn one_instance_per_client_deals_whole_clients() {
        let s = Shard { index: 1, of: 3 };
        let clients: Vec<u32> = (0..10).filter(|&c| s.runs_client(c, 1, true)).collect();
        assert_eq!(clients, [1, 4, 7]);
    }

    #[test]
    fn instances_not_spread_go_with_their_client() {
        let s = Shard { index: 1, of: 3 };
        let clients: Vec<u32> = (0..10).filter(|&c| s.runs_client(c, 4, false)).collect();
        assert_eq!(clients, [1, 4, 7]);
        for c in clients {
            assert!(
                (0..4).all(|i| s.runs_instance(c, 4, i, false)),
                "client {c}"
            );
        }
        // Spread, client 1's four instances land in every worker.
        assert!((0..3).all(|index| Shard { index, of: 3 }.runs_client(1, 4, true)));
    }

    fn scenario(extra: &str) -> Scenario {
        let yaml = format!(
            "name: s\nduration: 1m\n{extra}clients:\n  - {{ name: a, count: 2 }}\n  - {{ name: b, count: 2, instances: 2 }}\n"
        );
        crate::scenario::parse(&yaml, "s.yaml").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn split_instances_need_a_redis_lock() {
        let s = scenario("");
        assert!(problems(&s, Shard { index: 0, of: 1 }, None).is_empty());
        let p = problems(&s, Shard { index: 0, of: 2 }, None);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("clients[1]: with --worker N > 1"), "{p:?}");
        // The check reads the resolved policy; validation of `lock` is another matter.
        let mut locked = s.clone();
        locked.clients[1].policy.coordination = Some(Coordination::Lock);
        locked.clients[1].policy.lock = Some(crate::scenario::LockSpec {
            backend: Some(LockBackend::Redis),
            ..Default::default()
        });
        locked.resolve();
        // Shared tokens need one issuer for every worker.
        let p = problems(&locked, Shard { index: 1, of: 2 }, None);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("add `targets`"), "{p:?}");
        locked.targets = Some(crate::scenario::Targets {
            issuer: "http://127.0.0.1:8080/token".into(),
            resource: "http://127.0.0.1:8081/api/me".into(),
            ..Default::default()
        });
        assert!(problems(&locked, Shard { index: 1, of: 2 }, None).is_empty());
        locked.clients[1].policy.lock = Some(crate::scenario::LockSpec {
            backend: Some(LockBackend::Simulated),
            ..Default::default()
        });
        locked.resolve();
        assert_eq!(problems(&locked, Shard { index: 1, of: 2 }, None).len(), 1);
    }

    #[test]
    fn live_workers_need_a_run_id() {
        let mut s = scenario("");
        s.clients.truncate(1);
        s.mode = Mode::Live;
        let p = problems(&s, Shard { index: 0, of: 2 }, None);
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("--worker with N > 1 in live mode needs --run-id ID"));
        assert!(problems(&s, Shard { index: 0, of: 2 }, Some("r1")).is_empty());
        assert!(problems(&s, Shard { index: 0, of: 1 }, None).is_empty());
        assert_eq!(
            problems(&s, Shard { index: 0, of: 2 }, Some(" ")),
            ["--run-id must not be empty"]
        );
    }
}
