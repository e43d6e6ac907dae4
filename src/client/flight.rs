//! One refresh in flight in an instance, and its outcome for the callers that wait for
//! it (single_flight): the leader sends the outcome once; a leader that vanishes
//! without sending lets its waiters know, so that one of them leads instead.
//!
//! Not tokio's `watch`: its receivers wait on one of eight `Notify`s picked by a
//! thread-local random number (tokio 1.54, `sync/watch.rs:387-422`, `BigNotify`), so
//! the order in which a flight's waiters wake, and so a sim run, would differ from one
//! process to the next. One `Notify` wakes its waiters in the order they came.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::session::Failure;

/// What a flight came to: None while it runs.
pub(crate) type Outcome = Option<Result<(), Failure>>;

#[derive(Default)]
struct Shared {
    /// The outcome once sent; `gone` once the leader vanished without one.
    state: Mutex<(Outcome, bool)>,
    done: Notify,
}

/// The leader's end of a flight.
pub(crate) struct Sender(Arc<Shared>);

/// A waiter's end of a flight.
#[derive(Clone)]
pub(crate) struct Receiver(Arc<Shared>);

/// The leader vanished without an outcome.
#[derive(Debug)]
pub(crate) struct Gone;

/// A new flight.
pub(crate) fn channel() -> (Sender, Receiver) {
    let shared = Arc::new(Shared::default());
    (Sender(shared.clone()), Receiver(shared))
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, (Outcome, bool)> {
    shared.state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sender {
    /// Tells every waiter, present and future, how the flight ended.
    pub(crate) fn send(self, outcome: Result<(), Failure>) {
        lock(&self.0).0 = Some(outcome);
        // Drop tells the waiters.
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let mut state = lock(&self.0);
        if state.0.is_none() {
            state.1 = true;
        }
        drop(state);
        self.0.done.notify_waiters();
    }
}

impl Receiver {
    /// Waits for the flight's outcome.
    pub(crate) async fn outcome(&self) -> Result<Outcome, Gone> {
        loop {
            let notified = self.0.done.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the state is read, so a send in between is not missed.
            notified.as_mut().enable();
            match *lock(&self.0) {
                (Some(outcome), _) => return Ok(Some(outcome)),
                (None, true) => return Err(Gone),
                (None, false) => {}
            }
            notified.await;
        }
    }
}
