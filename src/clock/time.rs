//! Time and tasks for the actors, whichever clock runs them.
//!
//! Every actor reads the time, sleeps, times out and spawns through these functions
//! and nothing else. On a thread where the sim's `executor` runs they use its
//! virtual time and its task queue; anywhere else (live runs, `serve`, tests on tokio)
//! they are tokio's. So the actors are written once, and the sim does not pay for a
//! runtime made for real time.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

pub use tokio::time::Instant;

use super::executor;

/// Now, on the clock that runs this thread.
pub fn now() -> Instant {
    executor::with(|e| e.now()).unwrap_or_else(Instant::now)
}

/// Waits until `at`.
pub fn sleep_until(at: Instant) -> Sleep {
    if let Some(at_ns) = executor::with(|e| e.ns_of(at)) {
        Sleep::Sim(SimSleep { at_ns, timer: None })
    } else {
        Sleep::Tokio(Box::pin(tokio::time::sleep_until(at)))
    }
}

/// Waits for `d`.
pub fn sleep(d: Duration) -> Sleep {
    sleep_until(now() + d)
}

/// A sleep on whichever clock runs the thread. A named type rather than an async fn:
/// every request loop holds one or two, and the sim's is a timer handle (32 bytes)
/// where tokio's is far larger, so tokio's is boxed (live pays an allocation per
/// sleep, beside a network round trip).
pub enum Sleep {
    Sim(SimSleep),
    Tokio(Pin<Box<tokio::time::Sleep>>),
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Both variants are Unpin (a timer handle; a box).
        match self.get_mut() {
            Sleep::Sim(s) => Pin::new(s).poll(cx),
            Sleep::Tokio(s) => s.as_mut().poll(cx),
        }
    }
}

/// What a [`timeout`] gives when its time ran out first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed;

/// `future`, unless `d` passes first.
pub async fn timeout<F: Future>(d: Duration, future: F) -> Result<F::Output, Elapsed> {
    timeout_at(now() + d, future).await
}

/// `future`, unless `at` comes first.
pub async fn timeout_at<F: Future>(at: Instant, future: F) -> Result<F::Output, Elapsed> {
    let mut future = std::pin::pin!(future);
    let mut deadline = std::pin::pin!(sleep_until(at));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        deadline.as_mut().poll(cx).map(|()| Err(Elapsed))
    })
    .await
}

/// Runs `future` as a task of its own.
pub fn spawn<F: Future<Output = ()> + Send + 'static>(future: F) {
    spawn_touching(future, [std::ptr::null(); 2]);
}

/// Runs `future` as a task of its own that reads the memory at `touches` whenever it
/// runs (the state it holds behind pointers, for as long as it holds them). The sim
/// starts loading it, with the task's own, one event before the task is woken; it is
/// only a hint, never read. Tokio takes no hints.
pub fn spawn_touching<F: Future<Output = ()> + Send + 'static>(future: F, touches: [*const (); 2]) {
    if executor::active() {
        executor::with(|e| e.spawn_touching(Box::pin(future), touches));
    } else {
        tokio::spawn(future);
    }
}

/// Tells the sim what the running task will read when it next runs, beside what it
/// said when spawned (see [`spawn_touching`]): state it reaches behind pointers that
/// change as it goes. A hint, never read; tokio takes none.
pub fn touching_next(touches: [*const (); 4]) {
    executor::with(|e| e.touching_next(touches));
}

/// Waits until `end`, or until `stop` is set; returns whether it was `stop`. The sim's
/// executor looks in on its root every so many steps (polls and jumps of time); tokio's clock is real,
/// so there the flag is read every second.
pub async fn sleep_until_or_stopped(end: Instant, stop: &AtomicBool) -> bool {
    if executor::active() {
        let mut wait = std::pin::pin!(sleep_until(end));
        // Not at the first poll: a run stopped before it started still runs its start.
        let mut first = true;
        return std::future::poll_fn(|cx| {
            if !std::mem::take(&mut first) && stop.load(Ordering::Relaxed) {
                return Poll::Ready(true);
            }
            wait.as_mut().poll(cx).map(|()| false)
        })
        .await;
    }
    loop {
        let next = (Instant::now() + Duration::from_secs(1)).min(end);
        tokio::time::sleep_until(next).await;
        if Instant::now() >= end {
            return false;
        }
        if stop.load(Ordering::Relaxed) {
            return true;
        }
    }
}

/// A sleep on the sim's executor: a timer entry until it fires or is dropped. Its
/// deadline is kept in the executor's nanoseconds, compared without building an Instant.
pub struct SimSleep {
    at_ns: u64,
    timer: Option<(u32, u32)>,
}

impl Future for SimSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let at_ns = self.at_ns;
        let Some(now_ns) = executor::with(executor::Executor::now_ns) else {
            return Poll::Ready(());
        };
        if now_ns >= at_ns {
            // Due, though perhaps not yet fired (another timer of the same instant was).
            if let Some(handle) = self.timer.take() {
                executor::with(|e| e.disarm(handle));
            }
            return Poll::Ready(());
        }
        match self.timer {
            Some(handle) => {
                executor::with(|e| e.rearm(handle, cx.waker()));
            }
            None => self.timer = executor::with(|e| e.arm(at_ns, cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for SimSleep {
    fn drop(&mut self) {
        if let Some(handle) = self.timer.take() {
            executor::with(|e| e.disarm(handle));
        }
    }
}
