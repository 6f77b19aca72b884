//! A socket's outbound queue: the registry pushes without waiting, the socket's session task
//! pops. Bounded: a push onto a full queue fails, and the registry cuts that slow reader off.
//!
//! Why not `tokio::sync::mpsc`: its channel allocates ~1 KiB per socket up front (a cache-padded
//! channel header and a first block of 32 slots), a twentieth of an idle socket's whole memory.
//! This queue is one small allocation plus a ring buffer that grows with what is actually queued
//! (a few slots for an idle socket). One consumer (the session); producers are the registry and,
//! once the room has paired two admitted participants, the peer's session through a [`Relay`]
//! (the direct relay). A `std` mutex is enough, as no side ever waits while holding it.
//!
//! The direct relay is revocable without the peer's cooperation: the queue accepts a relay only
//! while its `relay_from` equals the relay's key (the sending socket's id), and the registry
//! changes `relay_from` under the same lock as its own pushes. So a relayed item lands either
//! before whatever the registry queued when it revoked the pairing (`waiting`, `peer_left`,
//! `closed`) or not at all.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures_util::task::AtomicWaker;

struct Shared<T> {
    state: Mutex<State<T>>,
    /// The consumer, waiting for an item or for the sender to go.
    waker: AtomicWaker,
    capacity: usize,
    /// Requests this queue's session has handed to the registry and the registry has not
    /// finished yet. The session relays directly only when this is 0, so a direct message never
    /// overtakes one of its own still on its way through the registry.
    routed: AtomicU32,
}

struct State<T> {
    items: VecDeque<T>,
    sender_gone: bool,
    receiver_gone: bool,
    /// The key a [`Relay`] into this queue must carry to be accepted; 0: none is.
    relay_from: u64,
}

/// Why a push failed.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError {
    /// The queue holds `capacity` items: the consumer is too slow.
    Full,
    /// The consumer has gone.
    Closed,
    /// (A [`Relay`] only) the registry has revoked the pairing this relay belonged to.
    Revoked,
}

/// The registry's end.
pub struct Sender<T>(Arc<Shared<T>>);

/// The session's end.
pub struct Receiver<T>(Arc<Shared<T>>);

/// A peer session's way into this queue, valid while the registry keeps `relay_from` at its key.
/// Dropping it does not end the queue (only the [`Sender`] does).
pub struct Relay<T> {
    shared: Arc<Shared<T>>,
    key: u64,
}

/// A queue that holds at most `capacity` items.
pub fn queue<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            sender_gone: false,
            receiver_gone: false,
            relay_from: 0,
        }),
        waker: AtomicWaker::new(),
        capacity,
        routed: AtomicU32::new(0),
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

impl<T> Shared<T> {
    /// Pushes `item`; with `key`, only if relays with that key are accepted. A refused item is
    /// given back.
    fn push(&self, item: T, key: Option<u64>) -> Result<(), (PushError, T)> {
        {
            let mut s = self.state();
            if key.is_some_and(|k| k != s.relay_from) {
                return Err((PushError::Revoked, item));
            }
            if s.receiver_gone {
                return Err((PushError::Closed, item));
            }
            if s.items.len() >= self.capacity {
                return Err((PushError::Full, item));
            }
            s.items.push_back(item);
        }
        self.waker.wake();
        Ok(())
    }
}

impl<T> Sender<T> {
    pub fn try_send(&self, item: T) -> Result<(), PushError> {
        self.0.push(item, None).map_err(|(e, _)| e)
    }

    /// From now on, accepts relays with key `from` only (`None`: no relay at all). Relays with
    /// any other key fail with [`PushError::Revoked`] from this moment on.
    pub fn accept_relay(&self, from: Option<u64>) {
        self.0.state().relay_from = from.unwrap_or(0);
    }

    /// A relay into this queue carrying `key` (accepted while [`Sender::accept_relay`] allows it).
    pub fn relay(&self, key: u64) -> Relay<T> {
        Relay {
            shared: self.0.clone(),
            key,
        }
    }

    /// The registry has finished one request handed over by [`Receiver::routing`].
    pub fn routed(&self) {
        self.0.routed.fetch_sub(1, Ordering::Release);
    }
}

impl<T> Relay<T> {
    /// Like [`Sender::try_send`], plus [`PushError::Revoked`]; a refused item is given back.
    pub fn try_send(&self, item: T) -> Result<(), (PushError, T)> {
        self.shared.push(item, Some(self.key))
    }
}

impl<T> std::fmt::Debug for Relay<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("key", &self.key).finish()
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

impl<T> Receiver<T> {
    /// Returns an item just taken back to the front of the queue (it is popped next). May
    /// exceed the bound by that one item, which was in the queue a moment ago.
    pub fn put_back(&mut self, item: T) {
        self.0.state().items.push_front(item);
    }

    /// The session is handing one request to the registry (which calls [`Sender::routed`]).
    pub fn routing(&self) {
        self.0.routed.fetch_add(1, Ordering::Relaxed);
    }

    /// Undoes [`Receiver::routing`] for a request that never reached the registry.
    pub fn not_routed(&self) {
        self.0.routed.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether every request handed to the registry has been carried out (its effects, such as
    /// messages queued on the peer, are visible to this thread).
    pub fn all_routed(&self) -> bool {
        self.0.routed.load(Ordering::Acquire) == 0
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

    #[tokio::test]
    async fn a_relay_delivers_only_while_its_key_is_accepted() {
        let (tx, mut rx) = queue(2);
        let old = tx.relay(7);
        let new = tx.relay(8);
        assert_eq!(
            old.try_send(1),
            Err((PushError::Revoked, 1)),
            "none accepted yet"
        );
        tx.accept_relay(Some(7));
        assert_eq!(old.try_send(2), Ok(()));
        assert_eq!(new.try_send(3), Err((PushError::Revoked, 3)));
        // Replaced: the old key stops delivering at once.
        tx.accept_relay(Some(8));
        assert_eq!(old.try_send(4), Err((PushError::Revoked, 4)));
        assert_eq!(new.try_send(5), Ok(()));
        // Still bounded.
        assert_eq!(new.try_send(6), Err((PushError::Full, 6)));
        tx.accept_relay(None);
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(new.try_send(7), Err((PushError::Revoked, 7)), "revoked");
        assert_eq!(tx.try_send(8), Ok(()), "the registry still pushes");
        // A relay does not keep the queue open.
        drop(tx);
        assert_eq!(rx.recv().await, Some(5));
        assert_eq!(rx.recv().await, Some(8));
        assert_eq!(rx.recv().await, None);
        drop(new);
    }

    #[tokio::test]
    async fn an_item_put_back_comes_out_first() {
        let (tx, mut rx) = queue(2);
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.try_send(2), Ok(()));
        let first = rx.recv().await;
        assert_eq!(first, Some(1));
        rx.put_back(1);
        assert_eq!(
            tx.try_send(3),
            Err(PushError::Full),
            "it counts against the bound"
        );
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
    }

    #[test]
    fn routed_counts_requests_in_flight() {
        let (tx, rx) = queue::<()>(1);
        assert!(rx.all_routed());
        rx.routing();
        rx.routing();
        assert!(!rx.all_routed());
        tx.routed();
        rx.not_routed();
        assert!(rx.all_routed());
    }
}
