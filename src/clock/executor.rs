//! The sim's executor: runs the actors' futures on virtual time, on one thread.
//!
//! tokio's paused clock was made for tests: every clock read takes a lock, every timer
//! goes through a wheel built for real time, and the runtime wakes to check its driver
//! between tasks. A simulation with millions of timers needs less: a queue of tasks
//! ready to run and timers ordered by (deadline, order of arming). When no
//! task is ready, time jumps to the earliest timer, so idle simulated time costs
//! nothing. The timers are a hierarchical wheel ([`super::timers`]). The actors do not know which one runs them: they reach time and tasks only
//! through [`super::time`], which asks this executor when one runs on the thread and
//! tokio otherwise.
//!
//! Order is deterministic: tasks run in the order they were woken, timers with one
//! deadline fire in the order they were armed, and nothing depends on the wall clock.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::Duration;

use tokio::time::Instant;

use super::timers::{Entry, Timers};

// Send, as `time::spawn` requires of every task: so that what is left of a large run
// can be freed on another thread (see `drop_tasks`).
type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Past this many tasks left at the end, they are freed on a thread of their own.
const FREED_ASIDE: usize = 10_000;

/// A task's place: its future (out while it is being polled), the generation that
/// tells a stale wake from a live one, whether it is in the ready queue, and the
/// addresses it reads when it runs (0: none; see [`Executor::prefetch`]).
struct Slot {
    future: Option<Task>,
    generation: u32,
    queued: bool,
    touches: [usize; 2],
    /// What it said, while it last ran, it will read when it next runs (0: nothing).
    next_touches: [usize; 4],
}

/// An armed timer: whom to wake. `generation` moves on when it is dropped or fires, so
/// that its entry in the heap is recognised as stale.
struct Timer {
    generation: u32,
    waker: Option<Waker>,
}

/// The root future's task index in a waker.
const ROOT: u32 = u32::MAX;
/// Every so many steps (task polls and jumps of time) the root is polled, so that it
/// can notice a stop request (an atomic flag set by another thread) without a timer of
/// its own, in a burst of tasks at one instant as in a long idle stretch.
const ROOT_EVERY: u32 = 1024;

pub(crate) struct Executor {
    base: Instant,
    now_ns: Cell<u64>,
    /// `base + now_ns`, kept as time moves: read far more often than time moves.
    now: Cell<Instant>,
    tasks: RefCell<Vec<Slot>>,
    free_tasks: RefCell<Vec<u32>>,
    ready: RefCell<VecDeque<(u32, u32)>>,
    timers: RefCell<Vec<Timer>>,
    free_timers: RefCell<Vec<u32>>,
    wheel: RefCell<Timers>,
    /// [`Executor::advance`]'s room for the timers due at one instant, kept.
    due: Cell<Vec<Entry>>,
    wakers: Cell<Vec<Waker>>,
    armed: Cell<u64>,
    root_woken: Cell<bool>,
    steps: Cell<u32>,
    /// The task being polled (ROOT when none is).
    running: Cell<u32>,
}

thread_local! {
    static CURRENT: Cell<*const Executor> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` with the executor of this thread, if one is running.
pub(crate) fn with<R>(f: impl FnOnce(&Executor) -> R) -> Option<R> {
    let ptr = CURRENT.with(Cell::get);
    // SAFETY: CURRENT is set only by `block_on`, to an executor on its own stack that
    // outlives the setting (the guard clears it before the executor is dropped).
    (!ptr.is_null()).then(|| f(unsafe { &*ptr }))
}

/// Whether the sim's executor runs on this thread.
pub(crate) fn active() -> bool {
    !CURRENT.with(Cell::get).is_null()
}

/// Puts back the CURRENT that was there before `block_on`, when it ends, even by a
/// panic.
struct Installed(*const Executor);

impl Drop for Installed {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

impl Executor {
    fn new() -> Executor {
        // Only a reference point: every instant is this plus virtual time, so its value
        // reaches nothing.
        let base = Instant::now();
        Executor {
            base,
            now_ns: Cell::new(0),
            now: Cell::new(base),
            tasks: RefCell::new(Vec::new()),
            free_tasks: RefCell::new(Vec::new()),
            ready: RefCell::new(VecDeque::new()),
            timers: RefCell::new(Vec::new()),
            free_timers: RefCell::new(Vec::new()),
            wheel: RefCell::new(Timers::new()),
            due: Cell::new(Vec::new()),
            wakers: Cell::new(Vec::new()),
            armed: Cell::new(0),
            root_woken: Cell::new(true),
            steps: Cell::new(0),
            running: Cell::new(ROOT),
        }
    }

    /// Virtual now.
    pub(crate) fn now(&self) -> Instant {
        self.now.get()
    }

    /// Virtual now, in ns since the executor's base.
    pub(crate) fn now_ns(&self) -> u64 {
        self.now_ns.get()
    }

    /// `at` in ns since the executor's base.
    pub(crate) fn ns_of(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Starts `future` as a task that reads the memory at `touches` when it runs; it
    /// runs once the running task yields.
    pub(crate) fn spawn_touching(&self, future: Task, touches: [*const (); 2]) {
        let index = self.free_tasks.borrow_mut().pop();
        let mut tasks = self.tasks.borrow_mut();
        let touches = touches.map(|p| p as usize);
        let index = match index {
            Some(i) => {
                tasks[i as usize].future = Some(future);
                tasks[i as usize].touches = touches;
                tasks[i as usize].next_touches = [0; 4];
                i
            }
            None => {
                tasks.push(Slot {
                    future: Some(future),
                    generation: 0,
                    queued: false,
                    touches,
                    next_touches: [0; 4],
                });
                (tasks.len() - 1) as u32
            }
        };
        let slot = &mut tasks[index as usize];
        slot.queued = true;
        self.ready.borrow_mut().push_back((index, slot.generation));
    }

    /// Notes what the running task will read when it next runs.
    pub(crate) fn touching_next(&self, touches: [*const (); 4]) {
        let index = self.running.get();
        if let Some(slot) = self.tasks.borrow_mut().get_mut(index as usize) {
            slot.next_touches = touches.map(|p| p as usize);
        }
    }

    fn wake(&self, index: u32, generation: u32) {
        if index == ROOT {
            self.root_woken.set(true);
            return;
        }
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get_mut(index as usize) else {
            return;
        };
        if slot.generation == generation && !slot.queued {
            slot.queued = true;
            self.ready.borrow_mut().push_back((index, generation));
        }
    }

    /// Arms a timer for `at_ns` (after now) that wakes `waker`; returns its handle.
    pub(crate) fn arm(&self, at_ns: u64, waker: Waker) -> (u32, u32) {
        let mut timers = self.timers.borrow_mut();
        let index = match self.free_timers.borrow_mut().pop() {
            Some(i) => {
                timers[i as usize].waker = Some(waker);
                i
            }
            None => {
                timers.push(Timer {
                    generation: 0,
                    waker: Some(waker),
                });
                (timers.len() - 1) as u32
            }
        };
        let generation = timers[index as usize].generation;
        let order = self.armed.get();
        self.armed.set(order + 1);
        self.wheel
            .borrow_mut()
            .push((at_ns, order, index, generation));
        (index, generation)
    }

    /// Gives a new waker to an armed timer (its future moved to another task).
    pub(crate) fn rearm(&self, (index, generation): (u32, u32), waker: &Waker) {
        let mut timers = self.timers.borrow_mut();
        if let Some(t) = timers.get_mut(index as usize)
            && t.generation == generation
            && !t.waker.as_ref().is_some_and(|w| w.will_wake(waker))
        {
            t.waker = Some(waker.clone());
        }
    }

    /// Forgets a timer that has not fired (its future was dropped).
    pub(crate) fn disarm(&self, (index, generation): (u32, u32)) {
        let mut timers = self.timers.borrow_mut();
        if let Some(t) = timers.get_mut(index as usize)
            && t.generation == generation
        {
            t.generation = t.generation.wrapping_add(1);
            t.waker = None;
            self.free_timers.borrow_mut().push(index);
        }
    }

    /// Moves time to the earliest live timer and fires every timer due then. False when
    /// no timer is left.
    ///
    /// The timers due at one instant are taken together: first their entries (each
    /// timer's place asked to load), then their wakers (each task's place asked to
    /// load), then the wakes, in the order armed. A million clients put dozens of
    /// timers on each millisecond, and woken one by one each waited for its own
    /// cache misses.
    fn advance(&self) -> bool {
        let mut due = self.due.take();
        let mut wakers = self.wakers.take();
        let fired = loop {
            self.take_due(&mut due);
            let Some(&(deadline, ..)) = due.first() else {
                break false;
            };
            if !self.take_wakers(&due, &mut wakers) {
                continue;
            }
            if deadline > self.now_ns.get() {
                self.now_ns.set(deadline);
                self.now.set(self.base + Duration::from_nanos(deadline));
            }
            self.count_step();
            for w in wakers.drain(..) {
                w.wake();
            }
            break true;
        };
        due.clear();
        self.due.replace(due);
        self.wakers.replace(wakers);
        if fired && let Some((_, _, index, generation)) = self.wheel.borrow_mut().peek() {
            self.prefetch_timer(index, generation);
        }
        fired
    }

    /// Takes the entries of the earliest deadline off the wheel into `due`.
    fn take_due(&self, due: &mut Vec<Entry>) {
        due.clear();
        let mut wheel = self.wheel.borrow_mut();
        let timers = self.timers.borrow();
        while let Some(entry) = wheel.peek() {
            if due.first().is_some_and(|first| entry.0 > first.0) {
                break;
            }
            wheel.pop();
            if let Some(t) = timers.get(entry.2 as usize) {
                prefetch(std::ptr::from_ref(t).cast(), 1);
            }
            due.push(entry);
        }
    }

    /// Takes the wakers of the live timers among `due` into `wakers`; whether any was
    /// live (the others were dropped before they fired).
    fn take_wakers(&self, due: &[Entry], wakers: &mut Vec<Waker>) -> bool {
        let mut timers = self.timers.borrow_mut();
        let mut free = self.free_timers.borrow_mut();
        let tasks = self.tasks.borrow();
        let mut live = false;
        for &(_, _, index, generation) in due {
            let t = &mut timers[index as usize];
            if t.generation != generation {
                continue;
            }
            live = true;
            t.generation = t.generation.wrapping_add(1);
            free.push(index);
            let Some(w) = t.waker.take() else { continue };
            if std::ptr::eq(w.vtable(), &VTABLE)
                && let Some(slot) = tasks.get(task_of(w.data()).0 as usize)
            {
                prefetch(std::ptr::from_ref(slot).cast(), 1);
            }
            wakers.push(w);
        }
        live
    }

    /// Starts loading what the task timer `index` wakes will read ([`Self::prefetch`]).
    fn prefetch_timer(&self, index: u32, generation: u32) {
        let task = {
            let timers = self.timers.borrow();
            let Some(Timer {
                generation: g,
                waker: Some(w),
            }) = timers.get(index as usize)
            else {
                return;
            };
            if *g != generation || !std::ptr::eq(w.vtable(), &VTABLE) {
                return;
            }
            task_of(w.data()).0
        };
        self.prefetch(task);
    }

    /// Starts loading the future of task `index`, and the memory it said it touches,
    /// one event before it runs: a million clients' states are out of cache, and the
    /// first touch of a woken request loop's future, its instance and its client were
    /// half the sim's time.
    fn prefetch(&self, index: u32) {
        let tasks = self.tasks.borrow();
        if let Some(Slot {
            future: Some(f),
            touches,
            next_touches,
            ..
        }) = tasks.get(index as usize)
        {
            let start = (&**f as *const (dyn Future<Output = ()> + Send)).cast::<u8>();
            prefetch(start, std::mem::size_of_val(&**f));
            for &at in touches.iter().filter(|&&at| at != 0) {
                prefetch(at as *const u8, 128);
            }
            for &at in next_touches.iter().filter(|&&at| at != 0) {
                prefetch(at as *const u8, 64);
            }
        }
    }

    fn count_step(&self) {
        let steps = self.steps.get() + 1;
        if steps >= ROOT_EVERY {
            self.steps.set(0);
            self.root_woken.set(true);
        } else {
            self.steps.set(steps);
        }
    }

    /// Polls the task at `index` if it is still the one that was woken.
    fn run(&self, index: u32, generation: u32) {
        let future = {
            let mut tasks = self.tasks.borrow_mut();
            let slot = &mut tasks[index as usize];
            if slot.generation != generation {
                return;
            }
            slot.queued = false;
            slot.future.take()
        };
        let Some(mut future) = future else { return };
        self.count_step();
        let waker = waker(index, generation);
        self.running.set(index);
        let done = future
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready();
        self.running.set(ROOT);
        let mut tasks = self.tasks.borrow_mut();
        let slot = &mut tasks[index as usize];
        if done {
            slot.generation = slot.generation.wrapping_add(1);
            slot.queued = false;
            self.free_tasks.borrow_mut().push(index);
            drop(tasks);
            drop(future);
        } else {
            slot.future = Some(future);
        }
    }

    /// Drops every task left. A few are dropped here, with the executor still
    /// installed (their timers disarm). A million request loops take seconds to free,
    /// one allocation at a time, after the run has measured all it measures: those are
    /// freed on a thread of their own, where their timers have no executor to disarm
    /// and nothing else to reach (every actor of the run is in them), while the caller
    /// goes on to write the report.
    fn drop_tasks(&self) {
        let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
        self.ready.borrow_mut().clear();
        if tasks.len() > FREED_ASIDE {
            // Without a thread to be had, the closure and its tasks are dropped here.
            let _ = std::thread::Builder::new()
                .name("sim-free".into())
                .spawn(move || drop(tasks));
        }
    }
}

/// Runs `future` to its end on a fresh executor, with the tasks it spawns; returns
/// None if it can never end (no task ready and no timer left). Tasks still running
/// when it ends are dropped.
pub(crate) fn block_on<F: Future>(future: F) -> Option<F::Output> {
    let executor = Executor::new();
    let previous = CURRENT.with(|c| c.replace(&executor));
    let _installed = Installed(previous);
    let mut root = std::pin::pin!(future);
    let root_waker = waker(ROOT, 0);
    let mut cx = Context::from_waker(&root_waker);
    let out = loop {
        if executor.root_woken.replace(false)
            && let Poll::Ready(v) = root.as_mut().poll(&mut cx)
        {
            break Some(v);
        }
        let (next, after) = {
            let mut ready = executor.ready.borrow_mut();
            (ready.pop_front(), ready.front().map(|&(index, _)| index))
        };
        if let Some(after) = after {
            executor.prefetch(after);
        }
        match next {
            Some((index, generation)) => executor.run(index, generation),
            None if executor.root_woken.get() => {}
            None if !executor.advance() => break None,
            None => {}
        }
    };
    executor.drop_tasks();
    out
}

/// Asks the CPU to bring the `len` bytes at `start` into cache. Only a hint: it reads
/// nothing and cannot fault.
fn prefetch(start: *const u8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    for offset in (0..len).step_by(64) {
        // SAFETY: a prefetch is a hint that never faults, whatever the address.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                start.wrapping_add(offset).cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (start, len);
}

fn waker(index: u32, generation: u32) -> Waker {
    let data = ((u64::from(index) << 32) | u64::from(generation)) as usize as *const ();
    // SAFETY: the vtable's functions only read `data` as a number; none dereference it.
    unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(
    |data| RawWaker::new(data, &VTABLE),
    wake_data,
    wake_data,
    |_| {},
);

/// The task index and generation a waker of [`waker`] carries.
fn task_of(data: *const ()) -> (u32, u32) {
    let bits = data as usize as u64;
    ((bits >> 32) as u32, bits as u32)
}

fn wake_data(data: *const ()) {
    let (index, generation) = task_of(data);
    // A wake from a thread without the executor (none happens in the sim) is dropped.
    with(|e| e.wake(index, generation));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::time;
    use std::sync::{Arc, Mutex};

    #[test]
    fn timers_fire_in_deadline_then_arming_order_and_time_jumps() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let out = block_on({
            let log = log.clone();
            async move {
                let t0 = time::now();
                for (name, ms) in [("c", 30u64), ("a", 10), ("b", 10), ("d", 0)] {
                    let log = log.clone();
                    time::spawn(async move {
                        time::sleep(Duration::from_millis(ms)).await;
                        log.lock()
                            .unwrap()
                            .push((name, (time::now() - t0).as_millis()));
                    });
                }
                // Ten years of nothing cost one jump.
                time::sleep(Duration::from_secs(10 * 365 * 86_400)).await;
                (time::now() - t0).as_secs()
            }
        });
        assert_eq!(out, Some(10 * 365 * 86_400));
        assert_eq!(
            *log.lock().unwrap(),
            [("d", 0), ("a", 10), ("b", 10), ("c", 30)]
        );
    }

    #[test]
    fn a_dropped_timer_does_not_fire_and_timeouts_race_their_future() {
        let out = block_on(async {
            let t0 = time::now();
            let fast = time::timeout(Duration::from_millis(50), async {
                time::sleep(Duration::from_millis(20)).await;
                7
            })
            .await;
            let slow = time::timeout(
                Duration::from_millis(50),
                time::sleep(Duration::from_secs(1)),
            )
            .await;
            (fast.ok(), slow.is_err(), (time::now() - t0).as_millis())
        });
        assert_eq!(out, Some((Some(7), true, 70)));
    }

    #[test]
    fn a_root_that_cannot_end_returns_none() {
        let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
        assert_eq!(block_on(async { rx.await.ok() }), None);
    }

    #[test]
    fn tokio_sync_primitives_wake_tasks() {
        let out = block_on(async {
            let notify = Arc::new(tokio::sync::Notify::new());
            let n2 = notify.clone();
            let (tx, rx) = tokio::sync::oneshot::channel();
            time::spawn(async move {
                n2.notified().await;
                let _ = tx.send(time::now());
            });
            time::sleep(Duration::from_millis(5)).await;
            notify.notify_one();
            let t = rx.await.unwrap();
            t.duration_since(time::now())
        });
        assert_eq!(out, Some(Duration::ZERO));
    }

    /// What a running task says it will read next is kept with it until it says
    /// otherwise, and a task that said nothing keeps nothing.
    #[test]
    fn a_task_notes_what_it_reads_next() {
        let noted = block_on(async {
            // Addresses only (never read): as numbers, so that the task is Send.
            let (a, b) = (0x1000usize, 0x2040usize);
            time::spawn(async move {
                time::touching_next([
                    a as *const (),
                    b as *const (),
                    std::ptr::null(),
                    std::ptr::null(),
                ]);
                time::sleep(Duration::from_millis(5)).await;
            });
            time::spawn(async {
                time::sleep(Duration::from_millis(5)).await;
            });
            time::sleep(Duration::from_millis(1)).await;
            let noted = with(|e| {
                let tasks = e.tasks.borrow();
                (tasks[0].next_touches, tasks[1].next_touches)
            });
            (noted, [a, b, 0, 0])
        });
        let Some((Some((first, second)), expected)) = noted else {
            panic!("the run did not end");
        };
        assert_eq!(first, expected);
        assert_eq!(second, [0; 4]);
    }

    /// Timers due at one instant fire together in the order armed, the dropped ones
    /// among them skipped, whatever their number.
    #[test]
    fn timers_of_one_instant_fire_in_arming_order() {
        let log = Arc::new(Mutex::new(Vec::new()));
        block_on({
            let log = log.clone();
            async move {
                for n in 0..100u32 {
                    let log = log.clone();
                    time::spawn(async move {
                        let wait = time::sleep(Duration::from_millis(10));
                        if n % 7 == 3 {
                            // Armed, then dropped before it fires.
                            let _ = time::timeout(Duration::from_millis(5), wait).await;
                            return;
                        }
                        wait.await;
                        log.lock().unwrap().push(n);
                    });
                }
                time::sleep(Duration::from_millis(20)).await;
            }
        });
        let expected: Vec<u32> = (0..100).filter(|n| n % 7 != 3).collect();
        assert_eq!(*log.lock().unwrap(), expected);
    }
}
