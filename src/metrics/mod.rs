//! What happened in a run: counters, HDR latency histograms and per-tick timelines.
//!
//! Clients record every API attempt, refresh, login and coordination wait here, stamped
//! with the run's clock; the engine turns the result into the report. One recorder
//! serves the whole run; it sits behind a mutex that is never held across an await, and
//! on the sim's single thread it is never contended.

mod merge;
mod timeline;
mod wire;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::Instant;

use hdrhistogram::Histogram;

use crate::clock::Clock;
use crate::contract::{Percentiles, WaitMs};
pub use timeline::{Counter, Gauge};

/// How one API attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    Ok,
    Unauthorized,
    /// Any other HTTP status that is not a success.
    Error,
    /// No answer before the client's timeout.
    Timeout,
}

/// How one refresh attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefreshEnd {
    Ok,
    InvalidGrant,
    /// Any other failure (5xx, 429, timeout, unreadable answer).
    Failed,
}

/// Why a login happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LoginKind {
    /// A client's first.
    Initial,
    /// Its refresh token died (expired, revoked, its family revoked).
    Forced,
    /// It has no refresh token to renew with (client_credentials, or an issuer that
    /// gave none): logging in again is how it renews.
    Renewed,
    /// Its every earlier login failed.
    Retried,
}

/// A latency histogram in microseconds, 1 µs to 1 h, 3 significant digits.
#[derive(Clone, Debug)]
pub(crate) struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Latencies(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"))
    }
}

impl Latencies {
    pub(crate) fn record(&mut self, d: Duration) {
        self.0.saturating_record((d.as_micros() as u64).max(1));
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Milliseconds, rounded, at quantile `q`.
    fn ms_at(&self, q: f64) -> u64 {
        if self.0.is_empty() {
            return 0;
        }
        let v = self.0.median_equivalent(self.0.value_at_quantile(q));
        (v as f64 / 1000.0).round() as u64
    }

    fn max_ms(&self) -> u64 {
        (self.0.median_equivalent(self.0.max()) as f64 / 1000.0).round() as u64
    }

    pub(crate) fn percentiles(&self) -> Percentiles {
        Percentiles {
            p50: self.ms_at(0.50),
            p90: self.ms_at(0.90),
            p99: self.ms_at(0.99),
            p999: self.ms_at(0.999),
            max: self.max_ms(),
            mean: if self.0.is_empty() {
                0.0
            } else {
                (self.0.mean() / 1000.0 * 1000.0).round() / 1000.0
            },
        }
    }

    pub(crate) fn wait_ms(&self) -> WaitMs {
        WaitMs {
            p50: self.ms_at(0.50),
            p90: self.ms_at(0.90),
            p99: self.ms_at(0.99),
            max: self.max_ms(),
        }
    }

    pub(crate) fn histogram(&self) -> &Histogram<u64> {
        &self.0
    }
}

/// What one client group did; the run's totals are the sum over groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub attempts: u64,
    pub ok: u64,
    pub unauthorized: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub retried: u64,
    pub logical: u64,
    pub failed: u64,
    pub refresh_attempts: u64,
    pub refresh_ok: u64,
    pub refresh_failed: u64,
    pub refresh_invalid_grant: u64,
    pub refresh_duplicates: u64,
    /// Refresh tokens both rotated and refused (the clients' inference of a reuse).
    pub refresh_suspected_reuse: u64,
    /// Refresh answers replayed from the client's throttle without being sent.
    pub refresh_replayed: u64,
    pub login_initial: u64,
    pub login_forced: u64,
    pub login_failed: u64,
    pub login_renewed: u64,
    pub login_retried: u64,
    /// Clients that obtained a token at least once.
    pub with_token: u64,
    /// The first error answer of the token endpoint to a login or refresh
    /// (`400 invalid_client: ...`), and when (ms into the run). Of two at one instant,
    /// the lesser text: the same whatever the order or the thread they came on.
    pub token_error: Option<(u64, String)>,
    /// Login answers replayed from the client's throttle without being sent.
    pub login_replayed: u64,
    /// Clients logged out for good (`on_invalid_grant: fail`).
    pub logged_out: u64,
    pub lock_acquisitions: u64,
    pub lock_contended: u64,
    pub lock_timeouts: u64,
    /// Locks that expired while their holder still held them.
    pub lock_lost: u64,
    /// Refresh attempts sent by holders whose lock turned out lost.
    pub lock_lost_refreshes: u64,
    /// Operations sent to the lock service (acquire attempts, releases).
    pub lock_operations: u64,
    /// Lock operations the lock service failed (the caller went on without the lock).
    pub lock_errors: u64,
    /// The most refresh attempts of this group within any one second.
    pub refresh_peak_per_second: u64,
    /// Arrival times (ms) of this group's refreshes of the last second.
    window: VecDeque<u64>,
}

impl Counts {
    /// The sum of several groups' counts.
    pub(crate) fn sum<'a>(all: impl IntoIterator<Item = &'a Counts>) -> Counts {
        let mut t = Counts::default();
        for c in all {
            t.attempts += c.attempts;
            t.ok += c.ok;
            t.unauthorized += c.unauthorized;
            t.errors += c.errors;
            t.timeouts += c.timeouts;
            t.retried += c.retried;
            t.logical += c.logical;
            t.failed += c.failed;
            t.refresh_attempts += c.refresh_attempts;
            t.refresh_ok += c.refresh_ok;
            t.refresh_failed += c.refresh_failed;
            t.refresh_invalid_grant += c.refresh_invalid_grant;
            t.refresh_duplicates += c.refresh_duplicates;
            t.refresh_suspected_reuse += c.refresh_suspected_reuse;
            t.refresh_replayed += c.refresh_replayed;
            t.login_replayed += c.login_replayed;
            t.login_initial += c.login_initial;
            t.login_forced += c.login_forced;
            t.login_failed += c.login_failed;
            t.login_renewed += c.login_renewed;
            t.login_retried += c.login_retried;
            t.with_token += c.with_token;
            if let Some(e) = &c.token_error
                && t.token_error.as_ref().is_none_or(|kept| e < kept)
            {
                t.token_error = Some(e.clone());
            }
            t.logged_out += c.logged_out;
            t.lock_acquisitions += c.lock_acquisitions;
            t.lock_contended += c.lock_contended;
            t.lock_timeouts += c.lock_timeouts;
            t.lock_lost += c.lock_lost;
            t.lock_lost_refreshes += c.lock_lost_refreshes;
            t.lock_operations += c.lock_operations;
            t.lock_errors += c.lock_errors;
        }
        t
    }
}

/// Run-wide maxima, which do not add up across groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Peaks {
    /// Most refresh attempts sent within any one second.
    pub refresh_per_second: u64,
    /// Most refresh attempts in flight at once.
    pub refresh_concurrent: u64,
    /// Most callers waiting for another's refresh at once.
    pub lock_waiters: u64,
    /// Most callers holding a lock at once (more than one per client when locks expire
    /// while held).
    pub lock_holders: u64,
    /// The most token requests waiting for the issuer's capacity at once.
    pub issuer_queue: u64,
}

/// The recorder's state.
#[derive(Debug)]
pub(crate) struct Recorded {
    /// Per client group, in scenario order.
    pub groups: Vec<Counts>,
    pub peaks: Peaks,
    pub request_latency: Latencies,
    pub refresh_latency: Latencies,
    pub login_latency: Latencies,
    pub lock_wait: Latencies,
    /// How long token requests waited for the issuer's capacity.
    pub issuer_queue_wait: Latencies,
    pub series_requests: Counter,
    pub series_unauthorized: Counter,
    pub series_failed: Counter,
    pub series_refreshes: Counter,
    pub series_logins: Counter,
    pub series_forced_logins: Counter,
    /// Clients logged out so far (a level that only grows).
    pub logged_out: Gauge,
    pub concurrent_refreshes: Gauge,
    pub lock_waiters: Gauge,
    pub lock_holders: Gauge,
    pub issuer_queue: Gauge,
    /// Arrival times (ms) of the refreshes of the last second: the sliding window behind
    /// `refresh_peak_per_second`.
    refresh_window: VecDeque<u64>,
    /// (elapsed ms, group) of every refresh attempt, kept only when asked for (a
    /// worker's report carries them so that `merge` finds the peak of all workers).
    pub refresh_arrivals: Option<Vec<(u64, usize)>>,
}

/// Adds an event at `now_ms` to a sliding window of arrival times and returns how many
/// fall within the last second (the window behind a `peak_per_second`).
fn last_second(window: &mut VecDeque<u64>, now_ms: u64) -> u64 {
    window.push_back(now_ms);
    while window.front().is_some_and(|&t| t + 1000 <= now_ms) {
        window.pop_front();
    }
    window.len() as u64
}

/// Timeline buckets for a run: the last one may be partial.
pub(crate) fn ticks(duration_ms: u64, tick_ms: u64) -> usize {
    duration_ms.div_ceil(tick_ms.max(1)) as usize
}

/// The most of `arrivals_ms` (sorted) within any one second: the same sliding window
/// as the run's `peak_per_second`, for arrivals recorded elsewhere.
pub(crate) fn peak_per_second(arrivals_ms: &[u64]) -> u64 {
    let mut window = VecDeque::new();
    arrivals_ms
        .iter()
        .map(|&t| last_second(&mut window, t))
        .max()
        .unwrap_or(0)
}

/// Group `g`'s counts; a group index out of range (a caller's bug) lands in a scratch slot
/// rather than panicking inside a run.
fn group(groups: &mut Vec<Counts>, g: usize) -> &mut Counts {
    if g >= groups.len() {
        groups.resize(g + 1, Counts::default());
    }
    &mut groups[g]
}

pub struct Metrics {
    clock: Clock,
    tick_ms: u64,
    inner: Mutex<Recorded>,
    /// Elapsed ms of the latest event, for a progress display outside the run.
    progress: Arc<AtomicU64>,
}

impl Metrics {
    /// A recorder for a run of `ticks` ticks of `tick_ms` each.
    pub fn new(
        clock: Clock,
        tick_ms: u64,
        ticks: usize,
        groups: usize,
        progress: Arc<AtomicU64>,
    ) -> Metrics {
        Metrics {
            clock,
            tick_ms: tick_ms.max(1),
            inner: Mutex::new(Recorded {
                groups: vec![Counts::default(); groups],
                peaks: Peaks::default(),
                request_latency: Latencies::default(),
                refresh_latency: Latencies::default(),
                login_latency: Latencies::default(),
                lock_wait: Latencies::default(),
                issuer_queue_wait: Latencies::default(),
                series_requests: Counter::new(ticks),
                series_unauthorized: Counter::new(ticks),
                series_failed: Counter::new(ticks),
                series_refreshes: Counter::new(ticks),
                series_logins: Counter::new(ticks),
                series_forced_logins: Counter::new(ticks),
                logged_out: Gauge::new(ticks),
                concurrent_refreshes: Gauge::new(ticks),
                lock_waiters: Gauge::new(ticks),
                lock_holders: Gauge::new(ticks),
                issuer_queue: Gauge::new(ticks),
                refresh_window: VecDeque::new(),
                refresh_arrivals: None,
            }),
            progress,
        }
    }

    /// Keeps the time of every refresh attempt (`Recorded::refresh_arrivals`); a run
    /// as a worker asks for them, other runs do not carry them.
    pub(crate) fn keep_refresh_arrivals(mut self) -> Metrics {
        let m = self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
        m.refresh_arrivals = Some(Vec::new());
        self
    }

    /// Keeps what [`Recorded::merge`] needs beside the counts: the refresh arrivals
    /// and every gauge's changes. A thread of a split run asks for them.
    pub(crate) fn keep_for_merge(self) -> Metrics {
        let mut metrics = self.keep_refresh_arrivals();
        let m = metrics.inner.get_mut().unwrap_or_else(|e| e.into_inner());
        for g in [
            &mut m.logged_out,
            &mut m.concurrent_refreshes,
            &mut m.lock_waiters,
            &mut m.lock_holders,
            &mut m.issuer_queue,
        ] {
            *g = std::mem::replace(g, Gauge::new(0)).keeping_changes();
        }
        metrics
    }

    /// The state and the current (ms, tick).
    fn at(&self) -> (MutexGuard<'_, Recorded>, u64, usize) {
        self.at_ms(self.clock.elapsed_ms())
    }

    /// The state and the (ms, tick) of `t`; callers that already read the clock pass
    /// what they read (reading it costs a lock in the sim).
    fn at_instant(&self, t: Instant) -> (MutexGuard<'_, Recorded>, u64, usize) {
        self.at_ms(t.saturating_duration_since(self.clock.origin()).as_millis() as u64)
    }

    fn at_ms(&self, now: u64) -> (MutexGuard<'_, Recorded>, u64, usize) {
        self.progress.store(now, Ordering::Relaxed);
        let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (guard, now, (now / self.tick_ms) as usize)
    }

    /// One API attempt of group `g`, sent at `sent`, got its answer (or none) at `done`.
    /// `retry`: it repeated an earlier attempt.
    pub(crate) fn api_attempt(
        &self,
        g: usize,
        outcome: Attempt,
        sent: Instant,
        done: Instant,
        retry: bool,
    ) {
        let latency = done.saturating_duration_since(sent);
        let (mut guard, _, tick) = self.at_instant(done);
        let m = &mut *guard;
        let gc = group(&mut m.groups, g);
        gc.attempts += 1;
        m.series_requests.add(tick, 1);
        if retry {
            gc.retried += 1;
        }
        match outcome {
            Attempt::Ok => {
                gc.ok += 1;
            }
            Attempt::Unauthorized => {
                gc.unauthorized += 1;
                m.series_unauthorized.add(tick, 1);
            }
            Attempt::Error => {
                gc.errors += 1;
            }
            Attempt::Timeout => {
                gc.timeouts += 1;
            }
        }
        if outcome != Attempt::Timeout {
            m.request_latency.record(latency);
        }
    }

    /// A logical request of group `g` ended at `at`: with a 2xx (`ok`) or given up.
    pub(crate) fn logical_request(&self, g: usize, ok: bool, at: Instant) {
        let (mut guard, _, tick) = self.at_instant(at);
        let m = &mut *guard;
        let gc = group(&mut m.groups, g);
        gc.logical += 1;
        if !ok {
            gc.failed += 1;
            m.series_failed.add(tick, 1);
        }
    }

    /// A refresh attempt is sent to the issuer.
    pub(crate) fn refresh_sent(&self, g: usize, duplicate: bool) {
        let (mut guard, now, tick) = self.at();
        let m = &mut *guard;
        let gc = group(&mut m.groups, g);
        gc.refresh_attempts += 1;
        if duplicate {
            gc.refresh_duplicates += 1;
        }
        let in_group = last_second(&mut gc.window, now);
        gc.refresh_peak_per_second = gc.refresh_peak_per_second.max(in_group);
        m.series_refreshes.add(tick, 1);
        if let Some(arrivals) = &mut m.refresh_arrivals {
            arrivals.push((now, g));
        }
        let in_all = last_second(&mut m.refresh_window, now);
        m.peaks.refresh_per_second = m.peaks.refresh_per_second.max(in_all);
        m.concurrent_refreshes.up(now, tick);
    }

    /// A refresh attempt got its answer (or none).
    pub(crate) fn refresh_done(&self, g: usize, end: RefreshEnd, latency: Duration) {
        let (mut guard, now, tick) = self.at();
        let m = &mut *guard;
        let gc = group(&mut m.groups, g);
        m.concurrent_refreshes.down(now, tick);
        match end {
            RefreshEnd::Ok => {
                gc.refresh_ok += 1;
            }
            RefreshEnd::InvalidGrant => {
                gc.refresh_failed += 1;
                gc.refresh_invalid_grant += 1;
            }
            RefreshEnd::Failed => {
                gc.refresh_failed += 1;
            }
        }
        m.refresh_latency.record(latency);
    }

    /// A (re-)authentication starts.
    pub(crate) fn login_started(&self, g: usize, kind: LoginKind) {
        let (mut guard, _, tick) = self.at();
        let m = &mut *guard;
        let gc = group(&mut m.groups, g);
        m.series_logins.add(tick, 1);
        match kind {
            LoginKind::Initial => {
                gc.login_initial += 1;
            }
            LoginKind::Forced => {
                gc.login_forced += 1;
                m.series_forced_logins.add(tick, 1);
            }
            LoginKind::Renewed => gc.login_renewed += 1,
            LoginKind::Retried => gc.login_retried += 1,
        }
    }

    /// A client obtained its first token.
    pub(crate) fn obtained_first_token(&self, g: usize) {
        let (mut guard, _, _) = self.at();
        group(&mut guard.groups, g).with_token += 1;
    }

    /// The token endpoint answered a login or refresh with an error; the group keeps
    /// the first (see [`Counts::token_error`]; the text is made only when it may be).
    pub(crate) fn token_error(&self, g: usize, error: impl FnOnce() -> String) {
        let (mut guard, now, _) = self.at();
        let gc = group(&mut guard.groups, g);
        if gc.token_error.as_ref().is_some_and(|(at, _)| *at < now) {
            return;
        }
        let e = (now, error());
        if gc.token_error.as_ref().is_none_or(|kept| e < *kept) {
            gc.token_error = Some(e);
        }
    }

    /// A refresh token was both rotated and refused: the issuer probably took one of
    /// its presentations for a reuse (the clients' own inference).
    pub(crate) fn suspected_reuse(&self, g: usize) {
        let (mut guard, _, _) = self.at();
        group(&mut guard.groups, g).refresh_suspected_reuse += 1;
    }

    /// A refresh got the answer its client's throttle kept, without sending.
    pub(crate) fn refresh_replayed(&self, g: usize) {
        let (mut guard, _, _) = self.at();
        group(&mut guard.groups, g).refresh_replayed += 1;
    }

    /// A login got the answer its client's throttle kept, without sending.
    pub(crate) fn login_replayed(&self, g: usize) {
        let (mut guard, _, _) = self.at();
        group(&mut guard.groups, g).login_replayed += 1;
    }

    /// A client is logged out for good.
    pub(crate) fn client_logged_out(&self, g: usize) {
        let (mut guard, now, tick) = self.at();
        let m = &mut *guard;
        group(&mut m.groups, g).logged_out += 1;
        m.logged_out.up(now, tick);
    }

    /// A password grant got its answer; `ok` false means it will be retried or given up.
    pub(crate) fn login_attempt_done(&self, g: usize, ok: bool, latency: Duration) {
        let (mut guard, _, _) = self.at();
        let m = &mut *guard;
        if !ok {
            group(&mut m.groups, g).login_failed += 1;
        }
        m.login_latency.record(latency);
    }

    /// A caller took the refresh coordination at once, without waiting.
    pub(crate) fn lock_acquired(&self, g: usize) {
        let (mut guard, _, _) = self.at();
        let m = &mut *guard;
        group(&mut m.groups, g).lock_acquisitions += 1;
    }

    /// A caller starts waiting for another's refresh.
    pub(crate) fn lock_wait_started(&self) {
        let (mut m, now, tick) = self.at();
        m.lock_waiters.up(now, tick);
    }

    /// A caller now holds a lock of the lock service.
    pub(crate) fn lock_held(&self) {
        let (mut m, now, tick) = self.at();
        m.lock_holders.up(now, tick);
    }

    /// A holder gave its lock back; `lost`: it had expired while held, and the holder
    /// sent `refreshes` refresh attempts meanwhile.
    pub(crate) fn lock_released(&self, g: usize, lost: bool, refreshes: u64) {
        let (mut guard, now, tick) = self.at();
        let m = &mut *guard;
        m.lock_holders.down(now, tick);
        if lost {
            let gc = group(&mut m.groups, g);
            gc.lock_lost += 1;
            gc.lock_lost_refreshes += refreshes;
        }
    }

    /// `ops` operations were sent to the lock service; `failed`: the last one failed.
    pub(crate) fn lock_operations(&self, g: usize, ops: u64, failed: bool) {
        let (mut guard, _, _) = self.at();
        let gc = group(&mut guard.groups, g);
        gc.lock_operations += ops;
        if failed {
            gc.lock_errors += 1;
        }
    }

    /// A token request starts waiting for the issuer's capacity.
    pub(crate) fn issuer_queue_entered(&self) {
        let (mut m, now, tick) = self.at();
        m.issuer_queue.up(now, tick);
    }

    /// A token request got its turn after `waited`.
    pub(crate) fn issuer_queue_left(&self, waited: Duration) {
        let (mut m, now, tick) = self.at();
        m.issuer_queue.down(now, tick);
        m.issuer_queue_wait.record(waited);
    }

    /// A wait ended, after `waited`; `timed_out`: the caller gave up waiting.
    pub(crate) fn lock_wait_ended(&self, g: usize, waited: Duration, timed_out: bool) {
        let (mut guard, now, tick) = self.at();
        let m = &mut *guard;
        let gc = group(&mut m.groups, g);
        m.lock_waiters.down(now, tick);
        gc.lock_acquisitions += 1;
        gc.lock_contended += 1;
        if timed_out {
            gc.lock_timeouts += 1;
        }
        m.lock_wait.record(waited);
    }

    /// Everything recorded so far; the timelines' gauges carried to the end.
    pub(crate) fn finish(&self) -> Recorded {
        let (mut m, _, _) = self.at();
        m.concurrent_refreshes.close();
        m.lock_waiters.close();
        m.lock_holders.close();
        m.issuer_queue.close();
        m.logged_out.close();
        m.peaks.refresh_concurrent = m.concurrent_refreshes.peak();
        m.peaks.lock_waiters = m.lock_waiters.peak();
        m.peaks.lock_holders = m.lock_holders.peak();
        m.peaks.issuer_queue = m.issuer_queue.peak();
        let empty = Recorded {
            groups: Vec::new(),
            peaks: Peaks::default(),
            request_latency: Latencies::default(),
            refresh_latency: Latencies::default(),
            login_latency: Latencies::default(),
            lock_wait: Latencies::default(),
            issuer_queue_wait: Latencies::default(),
            series_requests: Counter::new(0),
            series_unauthorized: Counter::new(0),
            series_failed: Counter::new(0),
            series_refreshes: Counter::new(0),
            series_logins: Counter::new(0),
            series_forced_logins: Counter::new(0),
            logged_out: Gauge::new(0),
            concurrent_refreshes: Gauge::new(0),
            lock_waiters: Gauge::new(0),
            lock_holders: Gauge::new(0),
            issuer_queue: Gauge::new(0),
            refresh_window: VecDeque::new(),
            refresh_arrivals: None,
        };
        std::mem::replace(&mut *m, empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SIM_EPOCH_MS;

    fn recorder(ticks: usize) -> Metrics {
        Metrics::new(Clock::start(SIM_EPOCH_MS), 1000, ticks, 1, Arc::default())
    }

    #[tokio::test(start_paused = true)]
    async fn peak_per_second_is_a_sliding_window() {
        let m = recorder(10);
        // 3 refreshes at 0.6 s and 3 at 1.4 s: no fixed one-second bucket holds more than
        // 3, but the window [0.6 s, 1.6 s) holds 6.
        crate::clock::time::sleep(Duration::from_millis(600)).await;
        for _ in 0..3 {
            m.refresh_sent(0, false);
        }
        crate::clock::time::sleep(Duration::from_millis(800)).await;
        for _ in 0..3 {
            m.refresh_sent(0, false);
        }
        crate::clock::time::sleep(Duration::from_millis(1000)).await;
        m.refresh_sent(0, false);
        let r = m.finish();
        assert_eq!(r.peaks.refresh_per_second, 6);
        assert_eq!(r.groups[0].refresh_attempts, 7);
        assert_eq!(r.peaks.refresh_concurrent, 7);
        assert_eq!(r.series_refreshes.values(), &[3, 3, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(r.refresh_arrivals, None, "kept only when asked for");
    }

    #[tokio::test(start_paused = true)]
    async fn kept_arrivals_give_the_same_peak() {
        let m = recorder(10).keep_refresh_arrivals();
        for (wait, g) in [
            (600, 0),
            (0, 1),
            (0, 0),
            (800, 1),
            (0, 1),
            (0, 0),
            (1000, 0),
        ] {
            crate::clock::time::sleep(Duration::from_millis(wait)).await;
            m.refresh_sent(g, false);
        }
        let r = m.finish();
        let arrivals = r.refresh_arrivals.expect("kept");
        assert_eq!(
            arrivals,
            [
                (600, 0),
                (600, 1),
                (600, 0),
                (1400, 1),
                (1400, 1),
                (1400, 0),
                (2400, 0)
            ]
        );
        let times: Vec<u64> = arrivals.iter().map(|a| a.0).collect();
        assert_eq!(peak_per_second(&times), r.peaks.refresh_per_second);
        assert_eq!(peak_per_second(&times), 6);
        assert_eq!(peak_per_second(&[]), 0);
        assert_eq!(peak_per_second(&[0, 999, 1999]), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn gauges_keep_the_ticks_maximum_and_carry_over() {
        let m = recorder(5);
        m.lock_wait_started();
        m.lock_wait_started();
        crate::clock::time::sleep(Duration::from_millis(2500)).await;
        m.lock_wait_ended(0, Duration::from_millis(2500), false);
        let r = m.finish();
        assert_eq!(r.lock_waiters.values(), &[2, 2, 2, 1, 1]);
        assert_eq!(r.peaks.lock_waiters, 2);
        assert_eq!(r.groups[0].lock_contended, 1);
        assert_eq!(r.lock_wait.wait_ms().max, 2500);
    }

    #[test]
    fn percentiles_in_milliseconds() {
        let mut l = Latencies::default();
        for ms in 1..=100u64 {
            l.record(Duration::from_millis(ms));
        }
        let p = l.percentiles();
        assert_eq!(p.p50, 50);
        assert_eq!(p.p90, 90);
        assert_eq!(p.p99, 99);
        assert_eq!(p.max, 100);
        assert!((p.mean - 50.5).abs() < 0.1, "{}", p.mean);
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_token_error_is_the_same_whatever_the_order_or_the_thread() {
        let first = |order: [&str; 2]| {
            let m = recorder(10);
            for e in order {
                m.token_error(0, || e.to_string());
            }
            m.finish().groups[0].token_error.clone()
        };
        // Two at one instant: the lesser text, in either order.
        assert_eq!(first(["503 b", "429 a"]), Some((0, "429 a".into())));
        assert_eq!(first(["429 a", "503 b"]), Some((0, "429 a".into())));
        // Across threads' counts, the earliest.
        let at = |ms, e: &str| Counts {
            token_error: Some((ms, e.to_string())),
            ..Counts::default()
        };
        let (late, early) = (at(5, "400 a"), at(2, "503 z"));
        assert_eq!(Counts::sum([&late, &early]).token_error, early.token_error);
        assert_eq!(Counts::sum([&early, &late]).token_error, early.token_error);
    }
}
