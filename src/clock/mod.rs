//! The project's clock: the only way anything in tokenstorm reads the time.
//!
//! A [`Clock`] is an `Instant` (virtual when the sim's executor runs the thread, real
//! otherwise) measured from the run's start, plus a fixed Unix epoch for that start. An
//! [`ActorClock`] adds one actor's skew, which a `clock_jump` fault may change while the
//! run goes on. Nothing inside a run calls `SystemTime::now()` or `std::time::Instant`.
//!
//! [`time`] is how actors read the time, sleep and spawn, on whichever clock runs
//! them: the sim's `executor` on virtual time, or tokio in real time.

pub(crate) mod executor;
pub mod time;
mod timers;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub use time::Instant;

/// The Unix time (ms) at which every simulated run starts: 2026-01-01T00:00:00Z. Fixed so
/// that tokens, and so reports, are identical from run to run.
pub const SIM_EPOCH_MS: i64 = 1_767_225_600_000;

/// True time of the run.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: Instant,
    epoch_ms: i64,
}

impl Clock {
    /// A clock whose "now" is `epoch_ms` (Unix ms) at the moment of the call.
    pub fn start(epoch_ms: i64) -> Clock {
        Clock {
            origin: time::now(),
            epoch_ms,
        }
    }

    /// A clock that reads the wall clock's time now (live runs and `serve`: tokens must
    /// carry real `iat` and `exp` for programs that read them).
    pub(crate) fn wall() -> Clock {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Clock::start(now_ms)
    }

    /// The Unix time (ms) of the run's start.
    pub(crate) fn epoch_ms(&self) -> i64 {
        self.epoch_ms
    }

    /// The instant the run started (for `sleep_until`).
    pub(crate) fn origin(&self) -> Instant {
        self.origin
    }

    /// Milliseconds since the run started.
    pub(crate) fn elapsed_ms(&self) -> u64 {
        time::now()
            .saturating_duration_since(self.origin)
            .as_millis() as u64
    }

    /// True Unix time in milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        self.epoch_ms + self.elapsed_ms() as i64
    }

    /// The instant at `ms` after the run's start.
    pub(crate) fn at(&self, ms: u64) -> Instant {
        self.origin + std::time::Duration::from_millis(ms)
    }

    /// A clock for one actor that runs `offset_ms` ahead (negative: behind), which a
    /// `clock_jump` may move (a server's).
    pub fn skewed(&self, offset_ms: i64) -> ActorClock {
        ActorClock {
            base: *self,
            fixed: 0,
            jumps: Some(Arc::new(AtomicI64::new(offset_ms))),
        }
    }

    /// A clock for one actor that runs `offset_ms` ahead for good (a client's: no fault
    /// moves it, and a million of them should not each cost an allocation to read).
    pub fn fixed_skew(&self, offset_ms: i64) -> ActorClock {
        ActorClock {
            base: *self,
            fixed: offset_ms,
            jumps: None,
        }
    }
}

/// One actor's view of the time: the run's clock plus its own skew.
#[derive(Clone, Debug)]
pub struct ActorClock {
    base: Clock,
    fixed: i64,
    /// The skew, when it can jump; shared with whoever jumps it.
    jumps: Option<Arc<AtomicI64>>,
}

impl ActorClock {
    /// The actor's current skew in ms (its clock minus true time).
    pub(crate) fn offset_ms(&self) -> i64 {
        self.fixed + self.jumps.as_ref().map_or(0, |j| j.load(Ordering::Relaxed))
    }

    /// Moves the actor's clock by `by_ms` (a `clock_jump`); a fixed skew does not move.
    pub(crate) fn jump(&self, by_ms: i64) {
        if let Some(j) = &self.jumps {
            j.fetch_add(by_ms, Ordering::Relaxed);
        }
    }

    /// The actor's Unix time in milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        self.base.now_ms() + self.offset_ms()
    }

    /// The actor's Unix time in whole seconds (JWT NumericDate).
    pub(crate) fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn virtual_time_and_skew() {
        let clock = Clock::start(SIM_EPOCH_MS);
        let ahead = clock.skewed(45_000);
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        assert_eq!(clock.elapsed_ms(), 3_600_000);
        assert_eq!(clock.now_ms(), SIM_EPOCH_MS + 3_600_000);
        assert_eq!(ahead.now_ms(), SIM_EPOCH_MS + 3_645_000);
        ahead.jump(-60_000);
        assert_eq!(ahead.now_ms(), SIM_EPOCH_MS + 3_585_000);
        assert_eq!(ahead.now_secs(), (SIM_EPOCH_MS + 3_585_000) / 1000);
    }
}
