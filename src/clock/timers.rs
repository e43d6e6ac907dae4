//! The sim executor's timers: a hierarchical timing wheel of millisecond slots.
//!
//! A binary heap of every armed timer costs a cache miss per level for each push and
//! pop, and a million idle clients make twenty levels. The wheel files a timer in one
//! of 64 slots of one of seven levels (level `l`'s slots are 64^l ms wide, by the
//! highest group of six bits in which its millisecond differs from the wheel's), so
//! arming is a push onto a vector; a slot is emptied once, when time reaches it, into
//! the level below, at most six times a timer and mostly never. The timers of the one
//! millisecond being run are kept in a small heap ordered by (deadline, order armed),
//! so that within a millisecond timers still fire in exact order.
//!
//! An emptied slot's vector is kept for the next slot to fill (up to a bound), so that
//! arming and cascading allocate nothing once the wheel has warmed up: a fresh vector
//! for every slot filled was two allocations per simulated request.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A timer: (deadline ns, order armed, timer index, timer generation).
pub(crate) type Entry = (u64, u64, u32, u32);

const BITS: u32 = 6;
const SLOTS: usize = 1 << BITS;
const LEVELS: usize = 7;
const NS_PER_MS: u64 = 1_000_000;
/// Emptied vectors kept for reuse: at most this many, of at most this many entries
/// each (1.5 MB at most; a larger one, a slot of a busy level, is freed).
const SPARE_MAX: usize = 128;
const SPARE_CAP: usize = 512;

struct Level {
    slots: Vec<Vec<Entry>>,
    /// Bit `s` set when slot `s` holds an entry.
    occupied: u64,
}

pub(crate) struct Timers {
    levels: Vec<Level>,
    /// The millisecond the wheel stands at: every filed entry is in a later one.
    at_ms: u64,
    /// The entries of millisecond `at_ms`, in firing order.
    current: BinaryHeap<Reverse<Entry>>,
    /// Entries past the wheel's reach (2,200 years).
    far: BinaryHeap<Reverse<Entry>>,
    /// Emptied slot vectors, for the next slots to fill.
    spare: Vec<Vec<Entry>>,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            levels: (0..LEVELS)
                .map(|_| Level {
                    slots: (0..SLOTS).map(|_| Vec::new()).collect(),
                    occupied: 0,
                })
                .collect(),
            at_ms: 0,
            current: BinaryHeap::new(),
            far: BinaryHeap::new(),
            spare: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, entry: Entry) {
        let ms = entry.0 / NS_PER_MS;
        if ms <= self.at_ms {
            self.current.push(Reverse(entry));
            return;
        }
        // The highest group of BITS bits in which `ms` differs from the wheel's.
        let level =
            ((63 - ((ms ^ self.at_ms) | (SLOTS as u64 - 1)).leading_zeros()) / BITS) as usize;
        if level >= LEVELS {
            self.far.push(Reverse(entry));
            return;
        }
        let slot = ((ms >> (BITS as usize * level)) as usize) & (SLOTS - 1);
        let l = &mut self.levels[level];
        let entries = &mut l.slots[slot];
        if entries.capacity() == 0
            && let Some(spare) = self.spare.pop()
        {
            *entries = spare;
        }
        entries.push(entry);
        l.occupied |= 1 << slot;
    }

    /// The next entry to fire, without taking it.
    pub(crate) fn peek(&mut self) -> Option<Entry> {
        while self.current.is_empty() {
            if !self.turn() {
                return None;
            }
        }
        self.current.peek().map(|r| r.0)
    }

    /// Takes the entry [`Timers::peek`] gave.
    pub(crate) fn pop(&mut self) -> Option<Entry> {
        self.peek()?;
        self.current.pop().map(|r| r.0)
    }

    /// Moves the wheel to its next occupied slot: the lowest level's, since a level's
    /// entries are all later than the levels' below it. Empties it into `current` (level
    /// 0) or into the levels below. False when nothing is filed.
    fn turn(&mut self) -> bool {
        for level in 0..LEVELS {
            let shift = BITS as usize * level;
            let position = ((self.at_ms >> shift) as usize) & (SLOTS - 1);
            let occupied = self.levels[level].occupied;
            // Only slots after the wheel's position hold entries of this level.
            let later = occupied & (u64::MAX.checked_shl(position as u32 + 1).unwrap_or(0));
            if later == 0 {
                continue;
            }
            let slot = later.trailing_zeros() as usize;
            let span = 1u64 << (shift + BITS as usize);
            self.at_ms = (self.at_ms & !(span - 1)) | ((slot as u64) << shift);
            // The slot starts again from nothing, its vector kept aside only if small:
            // a slot left as large as it had ever been made 12.9 MB of slots for
            // 40,000 clients (345 bytes a client).
            let l = &mut self.levels[level];
            let mut entries = std::mem::take(&mut l.slots[slot]);
            l.occupied &= !(1 << slot);
            for entry in entries.drain(..) {
                self.push(entry);
            }
            if entries.capacity() <= SPARE_CAP && self.spare.len() < SPARE_MAX {
                self.spare.push(entries);
            }
            return true;
        }
        // Only the far heap is left: move the wheel to its first entry.
        let Some(Reverse(first)) = self.far.pop() else {
            return false;
        };
        self.at_ms = first.0 / NS_PER_MS;
        self.current.push(Reverse(first));
        let far = std::mem::take(&mut self.far);
        for Reverse(entry) in far {
            self.push(entry);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wheel gives back what a heap would, in the same order, for deadlines spread
    /// over every level and pushes made as time goes on.
    #[test]
    fn fires_in_the_order_a_heap_would() {
        let mut wheel = Timers::new();
        let mut heap = BinaryHeap::new();
        let mut order = 0u64;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut now = 0u64;
        let mut fired = Vec::new();
        let mut expected = Vec::new();
        for round in 0..20_000 {
            // Pushes at several scales: sub-ms, ms, seconds, hours, years.
            for _ in 0..(next() % 3) {
                let scale = [
                    1_000u64,
                    NS_PER_MS,
                    1_000 * NS_PER_MS,
                    3_600_000 * NS_PER_MS,
                    400 * 86_400_000 * NS_PER_MS,
                ][(next() % 5) as usize];
                let deadline = now + next() % (scale * 10) + 1;
                let e = (deadline, order, order as u32, 0);
                order += 1;
                wheel.push(e);
                heap.push(Reverse(e));
            }
            if round % 2 == 0 {
                if let Some(e) = wheel.pop() {
                    now = e.0;
                    fired.push(e);
                }
                if let Some(Reverse(e)) = heap.pop() {
                    expected.push(e);
                }
            }
        }
        while let Some(e) = wheel.pop() {
            fired.push(e);
        }
        while let Some(Reverse(e)) = heap.pop() {
            expected.push(e);
        }
        assert_eq!(fired.len(), expected.len());
        assert!(
            fired == expected,
            "the wheel's order differs from the heap's"
        );
    }

    #[test]
    fn far_deadlines_and_same_millisecond_ties() {
        let mut wheel = Timers::new();
        let far = 300 * 365 * 86_400_000 * NS_PER_MS;
        wheel.push((far, 0, 0, 0));
        wheel.push((5 * NS_PER_MS + 7, 1, 1, 0));
        wheel.push((5 * NS_PER_MS + 3, 2, 2, 0));
        wheel.push((5 * NS_PER_MS + 3, 3, 3, 0));
        let order: Vec<u32> = std::iter::from_fn(|| wheel.pop()).map(|e| e.2).collect();
        assert_eq!(order, [2, 3, 1, 0]);
    }

    /// Emptied slots' vectors are reused by the next slots to fill, and what is kept
    /// aside stays within its bound however many timers went through.
    #[test]
    fn emptied_slots_are_reused_within_a_bound() {
        let mut wheel = Timers::new();
        for i in 0..100_000u64 {
            // Spread over a few hours: every level below the fourth fills and empties.
            wheel.push((1 + i * 97 * NS_PER_MS, i, i as u32, 0));
        }
        while wheel.pop().is_some() {}
        assert!(!wheel.spare.is_empty(), "no emptied vector was kept");
        assert!(wheel.spare.len() <= SPARE_MAX);
        assert!(
            wheel
                .spare
                .iter()
                .all(|v| v.is_empty() && v.capacity() <= SPARE_CAP)
        );
        let kept = wheel.spare.len();
        wheel.push((wheel.at_ms * NS_PER_MS + 5 * NS_PER_MS, 0, 0, 0));
        assert_eq!(
            wheel.spare.len(),
            kept - 1,
            "a new slot took a fresh vector"
        );
    }
}
