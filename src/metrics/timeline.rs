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
}

/// A level over time; each tick keeps the highest level it saw, including the level it
/// started with.
#[derive(Clone, Debug)]
pub struct Gauge {
    values: Vec<u64>,
    current: u64,
    /// Ticks before this one are final.
    next: usize,
}

impl Gauge {
    pub(crate) fn new(ticks: usize) -> Gauge {
        Gauge {
            values: vec![0; ticks],
            current: 0,
            next: 0,
        }
    }

    pub(crate) fn current(&self) -> u64 {
        self.current
    }

    /// The level becomes `value` during `tick`.
    pub(crate) fn set(&mut self, tick: usize, value: u64) {
        let Some(last) = self.values.len().checked_sub(1) else {
            self.current = value;
            return;
        };
        let tick = tick.min(last);
        // The ticks the level held through unchanged.
        while self.next <= tick {
            self.values[self.next] = self.values[self.next].max(self.current);
            self.next += 1;
        }
        self.values[tick] = self.values[tick].max(value);
        self.current = value;
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
