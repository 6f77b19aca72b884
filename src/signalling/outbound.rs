//! A socket's outbound queue: the registry pushes without waiting, the socket's session task
//! pops. Bounded: a push onto a full queue fails, and the registry cuts that slow reader off.
//!
//! Why not `tokio::sync::mpsc`: its channel allocates ~1 KiB per socket up front (a cache-padded
//! channel header and a first block of 32 slots), a twentieth of an idle socket's whole memory.
//! This queue is one small allocation plus a ring buffer that grows with what is actually queued
//! (a few slots for an idle socket). One producer (the registry), one consumer (the session); a
//! `std` mutex is enough, as neither side ever waits while holding it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures_util::task::AtomicWaker;

struct Shared<T> {
    state: Mutex<State<T>>,
    /// The consumer, waiting for an item or for the sender to go.
    waker: AtomicWaker,
    capacity: usize,
}

struct State<T> {
    items: VecDeque<T>,
    sender_gone: bool,
    receiver_gone: bool,
}

/// Why a push failed.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError {
    /// The queue holds `capacity` items: the consumer is too slow.
    Full,
    /// The consumer has gone.
    Closed,
}

/// The registry's end.
pub struct Sender<T>(Arc<Shared<T>>);

/// The session's end.
pub struct Receiver<T>(Arc<Shared<T>>);

/// A queue that holds at most `capacity` items.
pub fn queue<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            sender_gone: false,
            receiver_gone: false,
        }),
        waker: AtomicWaker::new(),
        capacity,
    });
    (Sender(shared.clone()), Receiver(shared))
}

impl<T> Shared<T> {
    /// The state, even if a panic elsewhere poisoned the lock (the queue's data stays valid:
    /// every critical section is a single push, pop or flag).
    fn state(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<T> Sender<T> {
    pub fn try_send(&self, item: T) -> Result<(), PushError> {
        {
            let mut s = self.0.state();
            if s.receiver_gone {
                return Err(PushError::Closed);
            }
            if s.items.len() >= self.0.capacity {
                return Err(PushError::Full);
            }
            s.items.push_back(item);
        }
        self.0.waker.wake();
        Ok(())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.0.state().sender_gone = true;
        self.0.waker.wake();
    }
}

impl<T> Receiver<T> {
    /// The next item; `None` once the sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| {
            // Registered before looking, so a push between the look and the return wakes us.
            self.0.waker.register(cx.waker());
            let mut s = self.0.state();
            match s.items.pop_front() {
                Some(item) => Poll::Ready(Some(item)),
                None if s.sender_gone => Poll::Ready(None),
                None => Poll::Pending,
            }
        })
        .await
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut s = self.0.state();
        s.receiver_gone = true;
        s.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_in_order_and_ends_when_the_sender_goes() {
        let (tx, mut rx) = queue(2);
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.try_send(2), Ok(()));
        assert_eq!(tx.try_send(3), Err(PushError::Full));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(tx.try_send(4), Ok(()));
        drop(tx);
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, Some(4));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_and_a_gone_one_refuses() {
        let (tx, mut rx) = queue(4);
        let waiting = tokio::spawn(async move { (rx.recv().await, rx) });
        tokio::task::yield_now().await;
        assert_eq!(tx.try_send("hi"), Ok(()));
        let (got, rx) = match waiting.await {
            Ok(v) => v,
            Err(e) => panic!("receiver task: {e}"),
        };
        assert_eq!(got, Some("hi"));
        drop(rx);
        assert_eq!(tx.try_send("late"), Err(PushError::Closed));
    }
}
