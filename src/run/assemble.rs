//! The report of a run: the world's counts and the recorder's figures copied into the
//! report's model, outages and verdicts derived; and a worker's section.

use crate::contract::{self as m, Report};
use crate::metrics::{Counts, Recorded};
use crate::report::figures::{judge, mean_per_second, rates};
use crate::report::recovery;
use crate::scenario::Scenario;
use crate::shard::Shard;
use crate::world::{Outcome, RunError, RunOptions};

/// The report's `worker` section: the shard, the latency histograms encoded, and the
/// refresh arrivals (taken out of `o`), sorted, with their groups numbered as the
/// report's `groups` lists them (by name).
pub(crate) fn worker(
    scenario: &Scenario,
    shard: Shard,
    options: &RunOptions,
    o: &mut Outcome,
) -> Result<m::Worker, RunError> {
    let r = &mut o.recorded;
    let mut by_name: Vec<(&str, usize)> = scenario
        .clients
        .iter()
        .enumerate()
        .map(|(g, group)| (group.name.as_str(), g))
        .collect();
    by_name.sort_unstable();
    let mut position = vec![0u32; scenario.clients.len()];
    for (p, (_, g)) in by_name.iter().enumerate() {
        position[*g] = p as u32;
    }
    let mut arrivals: Vec<(u64, u32)> = r
        .refresh_arrivals
        .take()
        .unwrap_or_default()
        .into_iter()
        .map(|(ms, g)| (ms, position.get(g).copied().unwrap_or(0)))
        .collect();
    arrivals.sort_unstable();
    let encode = |l: &crate::metrics::Latencies| l.encode().map_err(RunError::Histogram);
    Ok(m::Worker {
        index: shard.index,
        of: shard.of,
        run_id: options.run_id.clone(),
        started_unix_ms: o.started_unix_ms,
        histograms: m::WorkerHistograms {
            request: encode(&r.request_latency)?,
            refresh: encode(&r.refresh_latency)?,
            login: encode(&r.login_latency)?,
            lock_wait: encode(&r.lock_wait)?,
            issuer_queue_wait: encode(&r.issuer_queue_wait)?,
        },
        refresh_arrivals_ms: arrivals.iter().map(|a| a.0).collect(),
        refresh_arrival_groups: arrivals.iter().map(|a| a.1).collect(),
    })
}

fn requests(c: &Counts) -> m::Requests {
    m::Requests {
        total: c.attempts,
        ok: c.ok,
        unauthorized: c.unauthorized,
        failed: c.failed,
        retried: c.retried,
        logical: c.logical,
        timeouts: c.timeouts,
        errors: c.errors,
    }
}

fn login(c: &Counts) -> m::Login {
    m::Login {
        initial: c.login_initial,
        forced: c.login_forced,
        failed: c.login_failed,
        replayed: c.login_replayed,
        renewed: c.login_renewed,
        retried: c.login_retried,
        first_error: c.token_error.as_ref().map(|(_, e)| e.clone()),
    }
}

fn group(c: &Counts) -> m::Group {
    let requests = requests(c);
    let (unauthorized_rate, failed_rate) = rates(&requests);
    m::Group {
        requests,
        unauthorized_rate,
        failed_rate,
        refresh: m::GroupRefresh {
            attempts: c.refresh_attempts,
            succeeded: c.refresh_ok,
            failed: c.refresh_failed,
            invalid_grant: c.refresh_invalid_grant,
            duplicates: c.refresh_duplicates,
            peak_per_second: c.refresh_peak_per_second,
            replayed: c.refresh_replayed,
        },
        login: login(c),
        clients: m::Clients {
            logged_out: c.logged_out,
            with_token: c.with_token,
        },
        lock: m::GroupLock {
            acquisitions: c.lock_acquisitions,
            contended: c.lock_contended,
            timeouts: c.lock_timeouts,
            lost: c.lock_lost,
            refreshes_under_lost_lock: c.lock_lost_refreshes,
        },
    }
}

pub(crate) fn assemble(scenario: &Scenario, o: Outcome) -> Report {
    let r = &o.recorded;
    let c = &Counts::sum(&r.groups);
    let duration_seconds = o.elapsed_ms as f64 / 1000.0;
    let requests = requests(c);
    let (unauthorized_rate, failed_rate) = rates(&requests);
    let mut report = Report {
        schema_version: m::SCHEMA_VERSION,
        scenario: scenario.name.clone(),
        description: scenario.description.trim().to_string(),
        variant: None,
        seed: scenario.seed,
        mode: scenario.mode.as_str().to_string(),
        targets: o.targets.clone(),
        duration_seconds,
        run_info: m::RunInfo {
            wall_seconds: 0.0,
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: String::new(),
            interrupted: o.interrupted,
            threads: 1,
        },
        requests,
        unauthorized_rate,
        failed_rate,
        refresh: refresh(c, r, duration_seconds),
        login: login(c),
        clients: m::Clients {
            logged_out: c.logged_out,
            with_token: c.with_token,
        },
        rotation: rotation(&o, c),
        lock: lock(c, r),
        latency_ms: latency(r),
        issuer: issuer(&o),
        resource: resource(&o),
        outages: Vec::new(),
        groups: scenario
            .clients
            .iter()
            .zip(r.groups.iter())
            .map(|(g, counts)| (g.name.clone(), group(counts)))
            .collect(),
        thresholds: Vec::new(),
        warnings: crate::scenario::warnings(scenario),
        timeline: timeline(scenario, &o),
        // run_on adds a worker's section.
        worker: None,
    };
    let series = &report.timeline.series;
    report.outages = recovery::outages(
        &series.unauthorized,
        &series.failed,
        report.timeline.tick_ms,
        &recovery::windows(&scenario.issuer.faults, &scenario.resource.faults),
    );
    judge(&mut report, &scenario.thresholds);
    report
}

fn refresh(c: &Counts, r: &Recorded, duration_seconds: f64) -> m::Refresh {
    m::Refresh {
        attempts: c.refresh_attempts,
        succeeded: c.refresh_ok,
        failed: c.refresh_failed,
        invalid_grant: c.refresh_invalid_grant,
        duplicates: c.refresh_duplicates,
        peak_per_second: r.peaks.refresh_per_second,
        mean_per_second: mean_per_second(c.refresh_attempts, duration_seconds),
        max_concurrent: r.peaks.refresh_concurrent,
        replayed: c.refresh_replayed,
    }
}

fn rotation(o: &Outcome, c: &Counts) -> m::Rotation {
    m::Rotation {
        suspected_reuse: c.refresh_suspected_reuse,
        reuse_detected: o.issuer.reuse_detected,
        families_revoked: o.issuer.families_revoked,
        grace_accepted: o.issuer.grace_accepted,
    }
}

fn lock(c: &Counts, r: &Recorded) -> m::Lock {
    m::Lock {
        acquisitions: c.lock_acquisitions,
        contended: c.lock_contended,
        timeouts: c.lock_timeouts,
        max_waiters: r.peaks.lock_waiters,
        wait_ms: r.lock_wait.wait_ms(),
        lost: c.lock_lost,
        refreshes_under_lost_lock: c.lock_lost_refreshes,
        max_holders: r.peaks.lock_holders,
        operations: c.lock_operations,
        errors: c.lock_errors,
    }
}

fn latency(r: &Recorded) -> m::LatencyMs {
    m::LatencyMs {
        request: r.request_latency.percentiles(),
        refresh: r.refresh_latency.percentiles(),
        login: r.login_latency.percentiles(),
    }
}

fn issuer(o: &Outcome) -> m::Issuer {
    m::Issuer {
        // Requests answered before the handler (faults, the rate limit) reached the
        // endpoint too.
        token_requests: o.issuer.token_requests + o.exchange.token_refused,
        rate_limited: o.exchange.issuer_rate_limited,
        errors_injected: o.exchange.issuer_injected,
        queue_max: o.recorded.peaks.issuer_queue,
        revoked_by_faults: o.issuer.revoked_by_faults,
        queue_wait_ms: o.recorded.issuer_queue_wait.wait_ms(),
        refresh_tokens_evicted: o.issuer.refresh_tokens_evicted,
        key_rotations: o.issuer.key_rotations,
        key_set_requests: o.issuer.key_set_requests,
        introspection_requests: o.issuer.introspection_requests,
    }
}

fn resource(o: &Outcome) -> m::Resource {
    m::Resource {
        requests: o.resource.requests,
        rejected_expired: o.resource.rejected_expired,
        rejected_not_yet_valid: o.resource.rejected_not_yet_valid,
        rejected_invalid: o.resource.rejected_invalid,
        rejected_missing: o.resource.rejected_missing,
        errors_injected: o.exchange.resource_injected,
        rejected_revoked: o.resource.rejected_revoked,
        rejected_unknown_key: o.resource.rejected_unknown_key,
        key_set_fetches: o.resource.key_set_fetches,
        key_set_fetch_failures: o.resource.key_set_fetch_failures,
        rejected_inactive: o.resource.rejected_inactive,
        introspections: o.resource.introspections,
        introspection_failures: o.resource.introspection_failures,
    }
}

/// The timeline's series; an interrupted run's end where the run did.
fn timeline(scenario: &Scenario, o: &Outcome) -> m::Timeline {
    let tick_ms = scenario.tick.as_ms().max(1) as u64;
    let kept = if o.interrupted {
        crate::metrics::ticks(o.elapsed_ms, tick_ms)
    } else {
        usize::MAX
    };
    let r = &o.recorded;
    let cut = |v: &[u64]| v[..kept.min(v.len())].to_vec();
    m::Timeline {
        tick_ms,
        series: m::Series {
            requests: cut(r.series_requests.values()),
            unauthorized: cut(r.series_unauthorized.values()),
            refreshes: cut(r.series_refreshes.values()),
            concurrent_refreshes: cut(r.concurrent_refreshes.values()),
            lock_waiters: cut(r.lock_waiters.values()),
            issuer_queue: cut(r.issuer_queue.values()),
            failed: cut(r.series_failed.values()),
            logins: cut(r.series_logins.values()),
            forced_logins: cut(r.series_forced_logins.values()),
            lock_holders: cut(r.lock_holders.values()),
            logged_out: cut(r.logged_out.values()),
        },
    }
}
