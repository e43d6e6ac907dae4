//! Per-tick series: counters (events per tick) and gauges (the tick's maximum).

/// Events counted per tick. Events past the last tick count in the last one.
#[derive(Clone, Debug)]
pub struct Counter(Vec<u64>);

impl Counter {
    pub(crate) fn new(ticks: usize) -> Counter {
        Counter(vec![0; ticks])
    }

    pub(crate) fn add(&mut self, tick: usize, n: u64) {
        if let Some(last) = self.0.len().checked_sub(1) {
            self.0[tick.min(last)] += n;
        }
    }

    pub(crate) fn values(&self) -> &[u64] {
        &self.0
    }

    /// Adds `other`'s counts, tick by tick.
    pub(crate) fn add_all(&mut self, other: &Counter) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a += b;
        }
    }
}

/// A level over time; each tick keeps the highest level it saw, including the level it
/// started with.
///
/// The level an instant reaches counts every arrival of that millisecond before any of
/// its departures: the start level plus the arrivals. So a millisecond's maximum
/// depends on which changes it held, not on the order they came in, which at one
/// instant is the executor's choice; and two gauges' changes, merged millisecond by
/// millisecond (`Gauge::merge`), give the gauge of both exactly.
#[derive(Clone, Debug)]
pub struct Gauge {
    values: Vec<u64>,
    current: u64,
    /// Ticks before this one are final.
    next: usize,
    /// The millisecond of the latest change, the level it began at, and its arrivals.
    ms: u64,
    start: u64,
    ups: u64,
    peak: u64,
    /// Every millisecond's changes, for a merge, when kept.
    log: Option<Vec<Change>>,
}

/// One millisecond's changes of a gauge: its arrivals and its departures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub ms: u64,
    pub ups: u32,
    pub downs: u32,
}

impl Gauge {
    pub(crate) fn new(ticks: usize) -> Gauge {
        Gauge {
            values: vec![0; ticks],
            current: 0,
            next: 0,
            // No millisecond yet: the first change starts one.
            ms: u64::MAX,
            start: 0,
            ups: 0,
            peak: 0,
            log: None,
        }
    }

    /// Keeps every change, for [`Gauge::merge`].
    pub(crate) fn keeping_changes(mut self) -> Gauge {
        self.log = Some(Vec::new());
        self
    }

    /// The level rises by one at `ms`, in `tick`.
    pub(crate) fn up(&mut self, ms: u64, tick: usize) {
        self.apply(
            Change {
                ms,
                ups: 1,
                downs: 0,
            },
            tick,
        );
    }

    /// The level falls by one at `ms`, in `tick` (never below zero).
    pub(crate) fn down(&mut self, ms: u64, tick: usize) {
        if self.current > 0 {
            self.apply(
                Change {
                    ms,
                    ups: 0,
                    downs: 1,
                },
                tick,
            );
        }
    }

    fn apply(&mut self, change: Change, tick: usize) {
        if change.ms != self.ms {
            (self.ms, self.start, self.ups) = (change.ms, self.current, 0);
        }
        if let Some(log) = &mut self.log {
            match log.last_mut() {
                Some(last) if last.ms == change.ms => {
                    last.ups += change.ups;
                    last.downs += change.downs;
                }
                _ => log.push(change),
            }
        }
        let before = self.current;
        self.current = before + u64::from(change.ups) - u64::from(change.downs);
        self.ups += u64::from(change.ups);
        let reached = self.start + self.ups;
        self.peak = self.peak.max(reached);
        let Some(last) = self.values.len().checked_sub(1) else {
            return;
        };
        let tick = tick.min(last);
        // The ticks the level held through unchanged.
        while self.next <= tick {
            self.values[self.next] = self.values[self.next].max(before);
            self.next += 1;
        }
        self.values[tick] = self.values[tick].max(reached);
    }

    /// The highest level reached.
    pub(crate) fn peak(&self) -> u64 {
        self.peak
    }

    /// The gauge of all of `parts`' changes (each kept them), on ticks of `tick_ms`,
    /// carried to its end.
    pub(crate) fn merge(parts: &[&Gauge], tick_ms: u64) -> Gauge {
        let ticks = parts.first().map_or(0, |g| g.values.len());
        let mut changes: Vec<Change> = parts
            .iter()
            .flat_map(|g| g.log.iter().flatten().copied())
            .collect();
        // Stable: the order within a millisecond does not matter, the sums do.
        changes.sort_by_key(|c| c.ms);
        let mut merged = Gauge::new(ticks).keeping_changes();
        for c in changes {
            merged.apply(c, (c.ms / tick_ms.max(1)) as usize);
        }
        merged.close();
        merged
    }

    /// Carries the current level through the remaining ticks.
    pub(crate) fn close(&mut self) {
        while self.next < self.values.len() {
            self.values[self.next] = self.values[self.next].max(self.current);
            self.next += 1;
        }
    }

    pub(crate) fn values(&self) -> &[u64] {
        &self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// Random ups and downs, as (ms, up) pairs in time order, with no down below zero
    /// within any one part.
    fn changes(rng: &mut crate::rng::Rng, n: usize) -> Vec<(u64, bool)> {
        let (mut ms, mut level, mut out) = (0u64, 0u64, Vec::new());
        for _ in 0..n {
            ms += rng.random_range(0..3u64);
            let up = level == 0 || rng.random_bool(0.55);
            level = if up { level + 1 } else { level - 1 };
            out.push((ms, up));
        }
        out
    }

    fn fed(changes: &[(u64, bool)], ticks: usize, tick_ms: u64) -> Gauge {
        let mut g = Gauge::new(ticks).keeping_changes();
        for &(ms, up) in changes {
            let tick = (ms / tick_ms) as usize;
            if up { g.up(ms, tick) } else { g.down(ms, tick) }
        }
        g.close();
        g
    }

    #[test]
    fn an_instant_counts_its_arrivals_before_its_departures() {
        let mut g = Gauge::new(3);
        g.up(0, 0);
        // At 5 ms one leaves and one comes: in either order, the instant reaches 2.
        g.down(5, 0);
        g.up(5, 0);
        g.down(20, 2);
        g.close();
        assert_eq!(g.values(), &[2, 1, 1]);
        assert_eq!(g.peak(), 2);
        let mut h = Gauge::new(3);
        h.up(0, 0);
        h.up(5, 0);
        h.down(5, 0);
        h.down(20, 2);
        h.close();
        assert_eq!((h.values(), h.peak()), (g.values(), g.peak()));
    }

    #[test]
    fn merged_parts_are_the_gauge_of_all_their_changes() {
        let mut rng = crate::rng::Rng::seed_from_u64(3);
        for round in 0..200 {
            let parts: Vec<Vec<(u64, bool)>> = (0..rng.random_range(1..5))
                .map(|_| changes(&mut rng, 60))
                .collect();
            let tick_ms = rng.random_range(1..20);
            let ticks = 12;
            // One gauge fed every change in time order (parts interleaved anyhow
            // within a millisecond) against the merge of the parts' gauges.
            let mut all: Vec<(u64, bool)> = parts.iter().flatten().copied().collect();
            all.sort_by_key(|c| c.0);
            let whole = fed(&all, ticks, tick_ms);
            let gauges: Vec<Gauge> = parts.iter().map(|p| fed(p, ticks, tick_ms)).collect();
            let refs: Vec<&Gauge> = gauges.iter().collect();
            let merged = Gauge::merge(&refs, tick_ms);
            assert_eq!(merged.values(), whole.values(), "round {round}");
            assert_eq!(merged.peak(), whole.peak(), "round {round}");
        }
    }
}
