//! Recovery after an outage: how long the run took to get back to its level.
//!
//! An outage's harm outlives it: tokens that expired during it are refreshed afterwards,
//! retries pile up, and requests go on failing for a while. For each `outage` fault with
//! `at` and `for`, `outages` reads the timeline's unauthorized and failed series and
//! says how many seconds after the outage's end they came back down to what they were
//! before it, and how high they went meanwhile. Pure: the engine hands it the series.

use super::format::figure;
use crate::contract::Outage;
pub use crate::scenario::windows::{Window, windows};

/// Each outage's baseline, peak and recovery, from the per-tick `unauthorized` and
/// `failed` series (ticks of `tick_ms`).
///
/// A tick's "bad" count is its unauthorized plus its failed. The baseline is the mean
/// bad per tick over the window just before the outage and as long as it, clamped to the
/// run's start (0 for an outage at the start). Bad counts are noisy, so "back to its
/// level" is not "at or below the mean": the run has recovered at the first tick, from
/// the tick holding the outage's end on, whose bad count is at most the baseline
/// window's busiest tick (which is never below the mean). `recovery_seconds` runs
/// from the outage's end to the start of that tick, never below 0, and is None when the
/// timeline ends first (the run, or an interrupted run, ended before recovery).
/// `peak_per_tick` is the highest bad count from the outage's start until recovery
/// (or the end of the timeline).
pub(crate) fn outages(
    unauthorized: &[u64],
    failed: &[u64],
    tick_ms: u64,
    windows: &[Window],
) -> Vec<Outage> {
    let tick_ms = tick_ms.max(1);
    let bad: Vec<u64> = unauthorized
        .iter()
        .zip(failed)
        .map(|(u, f)| u + f)
        .collect();
    let n = bad.len();
    windows
        .iter()
        .map(|w| {
            let end_ms = w.at_ms + w.for_ms;
            let start = (w.at_ms / tick_ms) as usize;
            let end = (end_ms / tick_ms) as usize;
            // The tick holding the outage's start belongs to the outage, not its baseline.
            let before =
                &bad[((w.at_ms.saturating_sub(w.for_ms) / tick_ms) as usize).min(n)..start.min(n)];
            let mean = if before.is_empty() {
                0.0
            } else {
                before.iter().sum::<u64>() as f64 / before.len() as f64
            };
            let level = before.iter().copied().max().unwrap_or(0);
            let back = (end.min(n)..n).find(|&t| bad[t] <= level);
            let last = back.unwrap_or(n.saturating_sub(1));
            Outage {
                section: w.section.to_string(),
                index: w.index,
                at_seconds: w.at_ms as f64 / 1000.0,
                end_seconds: end_ms as f64 / 1000.0,
                baseline_per_tick: (mean * 1e6).round() / 1e6,
                peak_per_tick: bad
                    .get(start.min(n)..(last + 1).min(n))
                    .and_then(|s| s.iter().copied().max())
                    .unwrap_or(0),
                recovery_seconds: back
                    .map(|t| (t as u64 * tick_ms).saturating_sub(end_ms) as f64 / 1000.0),
            }
        })
        .collect()
}

/// One line for a person: `issuer outage 2400–3000 s: recovered 42 s after its end
/// (peak 310 unauthorized+failed per tick)`.
pub fn describe(o: &Outage) -> String {
    let outcome = match o.recovery_seconds {
        Some(s) => format!("recovered {} s after its end", figure(s)),
        None => "not recovered by the end of the run".to_string(),
    };
    format!(
        "{} outage {}–{} s: {outcome} (peak {} unauthorized+failed per tick)",
        o.section,
        figure(o.at_seconds),
        figure(o.end_seconds),
        o.peak_per_tick
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An issuer outage from tick `at` for `len` ticks of one second.
    fn window(at: u64, len: u64) -> Window {
        Window {
            section: "issuer",
            index: 0,
            at_ms: at * 1000,
            for_ms: len * 1000,
        }
    }

    /// Recovery of `w` when the bad counts are `bad` (all unauthorized, then all failed,
    /// which must agree).
    fn one(bad: &[u64], w: Window) -> Outage {
        let zeros = vec![0; bad.len()];
        let as_unauthorized = outages(bad, &zeros, 1000, std::slice::from_ref(&w));
        let as_failed = outages(&zeros, bad, 1000, std::slice::from_ref(&w));
        assert_eq!(as_unauthorized, as_failed);
        as_unauthorized
            .into_iter()
            .next()
            .expect("one window, one entry")
    }

    #[test]
    fn immediate_recovery_is_zero() {
        //        baseline   outage     after
        let bad = [0, 0, 0, 9, 8, 7, 0, 0, 0];
        let o = one(&bad, window(3, 3));
        assert_eq!(o.recovery_seconds, Some(0.0));
        assert_eq!(o.baseline_per_tick, 0.0);
        assert_eq!(o.peak_per_tick, 9);
        assert_eq!((o.at_seconds, o.end_seconds), (3.0, 6.0));
    }

    #[test]
    fn delayed_recovery_counts_from_the_end() {
        let bad = [0, 0, 0, 5, 5, 5, 20, 12, 3, 0, 0];
        let o = one(&bad, window(3, 3));
        assert_eq!(o.recovery_seconds, Some(3.0));
        // The peak after the end counts too.
        assert_eq!(o.peak_per_tick, 20);
    }

    #[test]
    fn an_end_inside_a_tick_never_gives_a_negative_recovery() {
        let bad = [0, 0, 0, 5, 5, 0, 0];
        let w = Window {
            for_ms: 2_500,
            ..window(3, 0)
        };
        let o = one(&bad, w);
        assert_eq!(o.recovery_seconds, Some(0.0), "tick 5 starts before 5.5 s");
        let late = one(&[0, 0, 0, 5, 5, 5, 0], w);
        assert_eq!(late.recovery_seconds, Some(0.5));
    }

    #[test]
    fn never_recovered_is_none() {
        let bad = [0, 0, 0, 5, 5, 5, 4, 3, 2];
        let o = one(&bad, window(3, 3));
        assert_eq!(o.recovery_seconds, None);
        assert_eq!(o.peak_per_tick, 5);
        // A timeline cut before the outage ends (an interrupted run) neither.
        let cut = one(&bad[..4], window(3, 3));
        assert_eq!((cut.recovery_seconds, cut.peak_per_tick), (None, 5));
        let before = one(&bad[..2], window(3, 3));
        assert_eq!((before.recovery_seconds, before.peak_per_tick), (None, 0));
    }

    #[test]
    fn an_outage_at_the_start_has_a_zero_baseline() {
        let bad = [7, 7, 1, 0, 0];
        let o = one(&bad, window(0, 2));
        assert_eq!(o.baseline_per_tick, 0.0);
        assert_eq!(o.recovery_seconds, Some(1.0), "1 is above a baseline of 0");
        // A window reaching back past the start is clamped to it.
        let clamped = one(&[2, 0, 9, 9, 9, 1, 0], window(2, 3));
        assert_eq!(clamped.baseline_per_tick, 1.0);
        assert_eq!(clamped.recovery_seconds, Some(0.0));
    }

    #[test]
    fn a_noisy_baseline_allows_its_own_busiest_tick() {
        //         baseline      outage           after
        let bad = [0, 3, 1, 2, 30, 30, 30, 30, 4, 3, 5, 0];
        let o = one(&bad, window(4, 4));
        assert_eq!(o.baseline_per_tick, 1.5);
        // 3 is above the mean and its ceiling, but no worse than the baseline's busiest
        // tick; what follows recovery does not matter.
        assert_eq!(o.recovery_seconds, Some(1.0));
        assert_eq!(o.peak_per_tick, 30);
        let thirds = one(&[2, 0, 2, 9, 9, 9, 2, 0], window(3, 3));
        assert_eq!(thirds.baseline_per_tick, 1.333333);
        assert_eq!(thirds.recovery_seconds, Some(0.0));
    }

    #[test]
    fn the_sum_of_both_series_is_what_counts() {
        let w = [window(2, 2)];
        let o = &outages(&[0, 0, 3, 3, 1, 0, 0], &[0, 0, 3, 3, 0, 1, 0], 1000, &w)[0];
        assert_eq!(o.peak_per_tick, 6);
        assert_eq!(
            o.recovery_seconds,
            Some(2.0),
            "1 + 0, then 0 + 1, then 0 + 0"
        );
    }

    #[test]
    fn described_in_one_line() {
        let mut o = Outage {
            section: "issuer".into(),
            index: 0,
            at_seconds: 3600.0,
            end_seconds: 3900.0,
            baseline_per_tick: 0.5,
            peak_per_tick: 310,
            recovery_seconds: Some(42.0),
        };
        assert_eq!(
            describe(&o),
            "issuer outage 3600–3900 s: recovered 42 s after its end (peak 310 unauthorized+failed per tick)"
        );
        o.recovery_seconds = None;
        assert!(describe(&o).contains(": not recovered by the end of the run (peak 310"));
    }
}
