//! Polling a future once at once, then handing it on: the pure half of
//! `export.rs`, which answers a request inside the runtime's call when
//! nothing it needs is away, and otherwise hands the request's future to a
//! task.
//!
//! A future first polled here is polled later by the task with another
//! waker. The `Future` contract says only the latest waker must be woken,
//! but some futures keep the first one they were given (`worker::Delay`
//! does). So the first poll gets a relay waker, and the handed-on future
//! tells the relay the task's waker before every poll: whatever kept the
//! relay wakes the task.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// The waker of the first poll: it wakes whatever task polls the future
/// now (none yet: a task's first poll comes anyway).
#[derive(Default)]
struct Relay(Mutex<Option<Waker>>);

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(waker) = self.0.lock().ok().and_then(|w| w.clone()) {
            waker.wake();
        }
    }
}

/// A future that was polled once and is not done: poll it on from a task.
pub struct Relayed<F> {
    future: Pin<Box<F>>,
    relay: Arc<Relay>,
}

impl<F: Future> Future for Relayed<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if let Ok(mut slot) = self.relay.0.lock() {
            match slot.as_ref() {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        self.future.as_mut().poll(cx)
    }
}

/// What one poll gave.
pub enum FirstPoll<F: Future> {
    /// Done without waiting.
    Ready(F::Output),
    /// Waiting: the future, to be polled on by a task.
    Pending(Relayed<F>),
}

/// Polls `future` once.
pub fn first_poll<F: Future>(future: F) -> FirstPoll<F> {
    let relay = Arc::new(Relay::default());
    let waker = Waker::from(relay.clone());
    let mut future = Box::pin(future);
    match future.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(v) => FirstPoll::Ready(v),
        Poll::Pending => FirstPoll::Pending(Relayed { future, relay }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Like `worker::Delay`: keeps the waker of its first poll, and is ready
    /// once `fired` is set.
    #[derive(Default)]
    struct KeepsFirstWaker {
        first: Arc<Mutex<Option<Waker>>>,
        fired: Arc<Mutex<bool>>,
    }

    impl Future for KeepsFirstWaker {
        type Output = &'static str;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
            if *self.fired.lock().unwrap() {
                return Poll::Ready("fired");
            }
            self.first.lock().unwrap().get_or_insert_with(|| cx.waker().clone());
            Poll::Pending
        }
    }

    #[derive(Default)]
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_future_that_needs_nothing_is_done_in_the_first_poll() {
        assert!(matches!(first_poll(async { 7 }), FirstPoll::Ready(7)));
    }

    #[test]
    fn the_waker_a_future_kept_from_the_first_poll_wakes_the_task_that_polls_it_on() {
        let f = KeepsFirstWaker::default();
        let (first, fired) = (f.first.clone(), f.fired.clone());
        let FirstPoll::Pending(mut relayed) = first_poll(f) else { panic!("not done yet") };
        let task = Arc::new(Count::default());
        let task_waker = Waker::from(task.clone());
        let mut cx = Context::from_waker(&task_waker);
        assert!(Pin::new(&mut relayed).poll(&mut cx).is_pending());
        // The future fires and wakes the waker it kept: the first poll's.
        *fired.lock().unwrap() = true;
        first.lock().unwrap().take().expect("kept a waker").wake();
        assert_eq!(task.0.load(Ordering::SeqCst), 1, "the task was woken");
        assert_eq!(Pin::new(&mut relayed).poll(&mut cx), Poll::Ready("fired"));
    }

    #[test]
    fn a_wake_before_any_task_polled_is_not_lost_since_the_task_polls_once_anyway() {
        let f = KeepsFirstWaker::default();
        let (first, fired) = (f.first.clone(), f.fired.clone());
        let FirstPoll::Pending(mut relayed) = first_poll(f) else { panic!("not done yet") };
        *fired.lock().unwrap() = true;
        first.lock().unwrap().take().unwrap().wake(); // nobody to wake yet
        let task_waker = Waker::from(Arc::new(Count::default()));
        assert_eq!(Pin::new(&mut relayed).poll(&mut Context::from_waker(&task_waker)), Poll::Ready("fired"));
    }
}
