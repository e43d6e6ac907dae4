//! A sim run on several threads: its clients dealt out round-robin, each thread
//! running its share in a world of its own on its own executor, the records and counts
//! merged at the end into what one thread would have made of them all.
//!
//! It holds because clients on separate threads meet nothing (see
//! [`crate::shard::one_thread_because`] for what keeps a run on one thread): each world
//! is built from the same scenario, a request's fate is drawn from its client's own
//! draws, and what the servers do on their own (key rotations, fault windows, the
//! API's timed key-set fetches) is the same in every world, so it is counted once.

use super::{Control, Outcome, RunError, RunOptions};
use crate::exchange::ExchangeStats;
use crate::issuer::IssuerStats;
use crate::metrics::Recorded;
use crate::resource::ResourceStats;
use crate::scenario::Scenario;
use crate::shard::Shard;

/// Runs `scenario` on `threads` threads (two or more) and merges what they recorded.
pub(crate) fn run(
    scenario: &Scenario,
    control: &Control,
    threads: u32,
) -> Result<Outcome, RunError> {
    let outcomes: Vec<Result<Outcome, RunError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|index| {
                let options = RunOptions {
                    shard: Some(Shard { index, of: threads }),
                    ..RunOptions::default()
                };
                s.spawn(move || {
                    super::sim::block_on(super::sim::run_part(scenario, control, &options))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let parts = outcomes.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(merge(parts, scenario.tick.as_ms().max(1) as u64))
}

/// One outcome of the threads' `parts` (thread 0 first).
fn merge(parts: Vec<Outcome>, tick_ms: u64) -> Outcome {
    let mut records = Vec::with_capacity(parts.len());
    let mut parts = parts.into_iter();
    let first = parts.next().expect("two threads at least");
    let (mut issuer, mut resource, mut exchange) = (first.issuer, first.resource, first.exchange);
    let (mut elapsed_ms, mut interrupted) = (first.elapsed_ms, first.interrupted);
    records.push(first.recorded);
    for part in parts {
        add_issuer(&mut issuer, &part.issuer);
        add_resource(&mut resource, &part.resource);
        add_exchange(&mut exchange, &part.exchange);
        // A stopped run covers what every thread ran.
        elapsed_ms = elapsed_ms.min(part.elapsed_ms);
        interrupted |= part.interrupted;
        records.push(part.recorded);
    }
    Outcome {
        recorded: Recorded::merge(records, tick_ms),
        issuer,
        resource,
        exchange,
        elapsed_ms,
        interrupted,
        started_unix_ms: 0,
        targets: None,
    }
}

/// The issuer's counts add up, but for what it does on its own, the same in every
/// world: its key rotations, and the key-set requests (only the API's timed fetches
/// ask for it when clients are split).
fn add_issuer(to: &mut IssuerStats, other: &IssuerStats) {
    // Destructured, so that a count added later has to be placed here.
    let IssuerStats {
        token_requests,
        key_set_requests: _,
        key_rotations: _,
        revocation_requests,
        tokens_revoked,
        introspection_requests,
        introspection_active,
        logins,
        client_credentials,
        refreshes,
        invalid_grant,
        reuse_detected,
        families_revoked,
        revoked_by_faults,
        grace_accepted,
        refresh_tokens_evicted,
    } = other;
    to.token_requests += token_requests;
    to.revocation_requests += revocation_requests;
    to.tokens_revoked += tokens_revoked;
    to.introspection_requests += introspection_requests;
    to.introspection_active += introspection_active;
    to.logins += logins;
    to.client_credentials += client_credentials;
    to.refreshes += refreshes;
    to.invalid_grant += invalid_grant;
    to.reuse_detected += reuse_detected;
    to.families_revoked += families_revoked;
    to.revoked_by_faults += revoked_by_faults;
    to.grace_accepted += grace_accepted;
    to.refresh_tokens_evicted += refresh_tokens_evicted;
}

/// The API's counts add up, but for its key-set fetches, timed alike in every world.
fn add_resource(to: &mut ResourceStats, other: &ResourceStats) {
    let ResourceStats {
        requests,
        ok,
        rejected_expired,
        rejected_not_yet_valid,
        rejected_invalid,
        rejected_missing,
        rejected_revoked,
        rejected_unknown_key,
        key_set_fetches: _,
        key_set_fetch_failures: _,
        rejected_inactive,
        introspections,
        introspection_failures,
        malformed,
    } = other;
    to.requests += requests;
    to.ok += ok;
    to.rejected_expired += rejected_expired;
    to.rejected_not_yet_valid += rejected_not_yet_valid;
    to.rejected_invalid += rejected_invalid;
    to.rejected_missing += rejected_missing;
    to.rejected_revoked += rejected_revoked;
    to.rejected_unknown_key += rejected_unknown_key;
    to.rejected_inactive += rejected_inactive;
    to.introspections += introspections;
    to.introspection_failures += introspection_failures;
    to.malformed += malformed;
}

/// The gates' counts add up, but for the faults injected into the API's own calls to
/// the issuer, made alike in every world.
fn add_exchange(to: &mut ExchangeStats, other: &ExchangeStats) {
    let ExchangeStats {
        issuer_rate_limited,
        token_refused,
        issuer_injected,
        issuer_injected_own,
        resource_injected,
    } = other;
    to.issuer_rate_limited += issuer_rate_limited;
    to.token_refused += token_refused;
    to.issuer_injected += issuer_injected - issuer_injected_own;
    to.resource_injected += resource_injected;
}
