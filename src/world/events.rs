//! The faults that are moments rather than windows, scheduled on the run's clock:
//! clock jumps, key rotations, revocations (sim and live alike).

use std::sync::Arc;

use crate::clock::{ActorClock, Clock};
use crate::issuer::Issuer;
use crate::rng::{self, stream};
use crate::scenario::{Fault, FaultKind, IssuerConfig, Scenario};

/// Schedules the faults that are moments rather than windows: clock jumps, key
/// rotations, revocations (sim and live alike).
pub(crate) fn schedule(
    scenario: &Scenario,
    issuer: &Arc<Issuer>,
    issuer_clock: &ActorClock,
    resource_clock: &ActorClock,
    clock: Clock,
    end_ms: u64,
) {
    schedule_clock_jumps(&scenario.issuer.faults, issuer_clock, clock);
    schedule_key_rotations(&scenario.issuer, issuer, clock, end_ms);
    schedule_clock_jumps(&scenario.resource.faults, resource_clock, clock);
    schedule_revocations(&scenario.issuer.faults, issuer, clock, scenario.seed);
}

/// Moves `actor`'s clock by each `clock_jump` fault's `by` at its `at`.
fn schedule_clock_jumps(faults: &[Fault], actor: &ActorClock, clock: Clock) {
    for f in faults.iter().filter(|f| f.kind == FaultKind::ClockJump) {
        let (Some(at), Some(by)) = (f.at, f.by) else {
            continue;
        };
        let actor = actor.clone();
        let when = clock.at(at.as_ms().max(0) as u64);
        crate::clock::time::spawn(async move {
            crate::clock::time::sleep_until(when).await;
            actor.jump(by.as_ms());
        });
    }
}

/// Rotates the issuer's signing key at each `rotate_keys` fault's `at`, and then every
/// `every` (from `every` when there is no `at`) until the end of the run.
fn schedule_key_rotations(config: &IssuerConfig, issuer: &Arc<Issuer>, clock: Clock, end_ms: u64) {
    for f in config
        .faults
        .iter()
        .filter(|f| f.kind == FaultKind::RotateKeys)
    {
        let every = f.every.map(|d| d.as_ms().max(1) as u64);
        let Some(first) = f.at.map(|d| d.as_ms().max(0) as u64).or(every) else {
            continue;
        };
        let overlap = f.overlap.unwrap_or(config.access_token.ttl).as_ms();
        let delay = f.publish_delay.map_or(0, |d| d.as_ms());
        let issuer = issuer.clone();
        crate::clock::time::spawn(async move {
            let mut at = first;
            while at < end_ms {
                crate::clock::time::sleep_until(clock.at(at)).await;
                // A key that cannot be made leaves the old one signing, as a failed
                // rotation would.
                let _ = issuer.rotate_keys(overlap, delay);
                match every {
                    Some(e) => at += e,
                    None => break,
                }
            }
        });
    }
}

/// Revokes a `fraction` of the live families at each `revoke` fault's `at`.
fn schedule_revocations(faults: &[Fault], issuer: &Arc<Issuer>, clock: Clock, seed: u64) {
    for (n, f) in faults.iter().enumerate() {
        if f.kind != FaultKind::Revoke {
            continue;
        }
        let issuer = issuer.clone();
        let when = clock.at(f.at.map_or(0, |d| d.as_ms().max(0) as u64));
        let fraction = f.fraction.unwrap_or(1.0);
        let mut rng = rng::rng(seed, &[stream::FAULTS, 2, n as u64]);
        crate::clock::time::spawn(async move {
            crate::clock::time::sleep_until(when).await;
            issuer.revoke_share(fraction, &mut rng);
        });
    }
}
