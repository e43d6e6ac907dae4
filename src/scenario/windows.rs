//! The outages whose recovery a report measures, read off the scenario's faults.

use super::{Fault, FaultKind};

/// One outage, in run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// `issuer` or `resource`.
    pub section: &'static str,
    /// Its position in the section's `faults`.
    pub index: usize,
    pub at_ms: u64,
    pub for_ms: u64,
}

/// The outages whose recovery the report measures: every `outage` fault with both `at`
/// and `for` (one without them lasts the whole run), issuer first, then resource, each
/// in file order.
pub fn windows(issuer: &[Fault], resource: &[Fault]) -> Vec<Window> {
    let section = |name: &'static str, faults: &[Fault]| -> Vec<Window> {
        faults
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == FaultKind::Outage)
            .filter_map(|(index, f)| {
                Some(Window {
                    section: name,
                    index,
                    at_ms: f.at?.as_ms().max(0) as u64,
                    for_ms: f.for_?.as_ms().max(0) as u64,
                })
            })
            .collect()
    };
    let mut all = section("issuer", issuer);
    all.extend(section("resource", resource));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Dur;

    #[test]
    fn windows_are_the_timed_outages_issuer_first() {
        let fault = |kind, at: Option<i64>, len: Option<i64>| Fault {
            at: at.map(Dur::secs),
            for_: len.map(Dur::secs),
            ..Fault::of(kind)
        };
        let issuer = [
            fault(FaultKind::Errors, Some(1), Some(1)),
            fault(FaultKind::Outage, None, None),
            fault(FaultKind::Outage, Some(10), Some(5)),
        ];
        let resource = [fault(FaultKind::Outage, Some(3), Some(2))];
        let w = windows(&issuer, &resource);
        assert_eq!(
            w.iter()
                .map(|w| (w.section, w.index, w.at_ms, w.for_ms))
                .collect::<Vec<_>>(),
            [("issuer", 2, 10_000, 5_000), ("resource", 0, 3_000, 2_000)]
        );
    }
}
