//! One run's record from the records of its threads (a sim run whose clients were
//! split over threads): counts and histograms add up, counters add tick by tick,
//! gauges are rebuilt from all their changes, and the peaks per second come from the
//! refresh arrivals of all. Each thread kept what this needs
//! ([`super::Metrics::keep_for_merge`]), so the result is what one thread running
//! every client would have recorded, not a bound of it.

use super::{Counts, Gauge, Recorded, peak_per_second};

impl Recorded {
    /// The record of all of `parts` (one or more), on ticks of `tick_ms`.
    pub(crate) fn merge(parts: Vec<Recorded>, tick_ms: u64) -> Recorded {
        let mut parts = parts.into_iter();
        let Some(mut all) = parts.next() else {
            panic!("a merge needs one record at least");
        };
        let rest: Vec<Recorded> = parts.collect();
        for part in &rest {
            all.add(part);
        }
        let gauges = |pick: fn(&Recorded) -> &Gauge| {
            let refs: Vec<&Gauge> = std::iter::once(&all).chain(&rest).map(pick).collect();
            Gauge::merge(&refs, tick_ms)
        };
        let logged_out = gauges(|r| &r.logged_out);
        let concurrent = gauges(|r| &r.concurrent_refreshes);
        let waiters = gauges(|r| &r.lock_waiters);
        let holders = gauges(|r| &r.lock_holders);
        let queue = gauges(|r| &r.issuer_queue);
        all.peaks.refresh_concurrent = concurrent.peak();
        all.peaks.lock_waiters = waiters.peak();
        all.peaks.lock_holders = holders.peak();
        all.peaks.issuer_queue = queue.peak();
        (
            all.logged_out,
            all.concurrent_refreshes,
            all.lock_waiters,
            all.lock_holders,
            all.issuer_queue,
        ) = (logged_out, concurrent, waiters, holders, queue);
        all.peak_rates();
        all
    }

    /// Adds `other`'s counts, histograms and counters, and its refresh arrivals.
    fn add(&mut self, other: &Recorded) {
        for (g, theirs) in self.groups.iter_mut().zip(&other.groups) {
            *g = Counts::sum([&*g, theirs]);
        }
        for (mine, theirs) in [
            (&mut self.request_latency, &other.request_latency),
            (&mut self.refresh_latency, &other.refresh_latency),
            (&mut self.login_latency, &other.login_latency),
            (&mut self.lock_wait, &other.lock_wait),
            (&mut self.issuer_queue_wait, &other.issuer_queue_wait),
        ] {
            // Cannot fail: every histogram here has the same bounds.
            let _ = mine.add(theirs.histogram());
        }
        for (mine, theirs) in [
            (&mut self.series_requests, &other.series_requests),
            (&mut self.series_unauthorized, &other.series_unauthorized),
            (&mut self.series_failed, &other.series_failed),
            (&mut self.series_refreshes, &other.series_refreshes),
            (&mut self.series_logins, &other.series_logins),
            (&mut self.series_forced_logins, &other.series_forced_logins),
        ] {
            mine.add_all(theirs);
        }
        if let (Some(mine), Some(theirs)) = (&mut self.refresh_arrivals, &other.refresh_arrivals) {
            mine.extend_from_slice(theirs);
        }
    }

    /// The run's and each group's most refreshes within a second, from the arrivals of
    /// all; the arrivals are then dropped (a split run's report does not carry them).
    fn peak_rates(&mut self) {
        let Some(mut arrivals) = self.refresh_arrivals.take() else {
            return;
        };
        arrivals.sort_by_key(|a| a.0);
        let times: Vec<u64> = arrivals.iter().map(|a| a.0).collect();
        self.peaks.refresh_per_second = peak_per_second(&times);
        for (g, counts) in self.groups.iter_mut().enumerate() {
            let times: Vec<u64> = arrivals.iter().filter(|a| a.1 == g).map(|a| a.0).collect();
            counts.refresh_peak_per_second = peak_per_second(&times);
        }
    }
}
