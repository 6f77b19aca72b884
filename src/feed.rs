//! The staff's live feed of appointment changes (bookings, waiting-room arrivals, admits,
//! outcomes): published once by whoever makes the change — the use-cases and the signalling
//! rooms — into a bounded broadcast channel, and read by the staff dashboards' event stream
//! (`routes::feed`) and the room registry. A reader that falls behind is told to resync instead
//! of buffering without bound. With more than one node, what is published here is also
//! forwarded to the others and theirs arrive here (`bus`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use crate::db;

/// Buffered events per subscriber before it must resync.
const CHANNEL_CAPACITY: usize = 256;
/// Concurrent dashboards per process.
pub const MAX_SUBSCRIBERS: usize = 2_000;

#[derive(Clone, Debug, Serialize)]
pub struct FeedEvent {
    pub appointment: Uuid,
    pub staff: Uuid,
    pub status: String,
    /// A citizen is in the waiting room right now.
    pub citizen_waiting: bool,
}

/// What a reader receives.
#[derive(Clone, Debug)]
pub enum FeedItem {
    Changed(FeedEvent),
    /// Events may have been missed (another node could not be heard): reload.
    Resync,
}

#[derive(Clone)]
pub struct FeedHub {
    tx: broadcast::Sender<FeedItem>,
    subscribers: Arc<AtomicUsize>,
    /// Where this node's own events also go (the other nodes), once `bus` is started.
    forward: Arc<OnceLock<mpsc::Sender<FeedEvent>>>,
    /// Set when an event could not be queued for the other nodes; the bus then tells them to
    /// resync (`take_dropped`).
    dropped: Arc<std::sync::atomic::AtomicBool>,
}

impl Default for FeedHub {
    fn default() -> Self {
        Self::new()
    }
}

impl FeedHub {
    pub fn new() -> FeedHub {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        FeedHub {
            tx,
            subscribers: Arc::new(AtomicUsize::new(0)),
            forward: Arc::new(OnceLock::new()),
            dropped: Arc::default(),
        }
    }

    /// Whether an event was dropped on its way to the other nodes since the last call.
    pub fn take_dropped(&self) -> bool {
        self.dropped
            .swap(false, std::sync::atomic::Ordering::AcqRel)
    }

    /// From now on, every event published here is also sent to the other nodes.
    pub fn forward_to(&self, tx: mpsc::Sender<FeedEvent>) {
        let _ = self.forward.set(tx);
    }

    /// A change made on this node: to the readers here, and to the other nodes.
    pub fn publish(&self, event: FeedEvent) {
        if let Some(out) = self.forward.get()
            && out.try_send(event.clone()).is_err()
        {
            // The sender is far behind (the database is slow or gone): the other nodes miss
            // this one; the bus tells them to resync once it can send again.
            tracing::warn!("event queue to the other nodes is full; dropping one");
            self.dropped
                .store(true, std::sync::atomic::Ordering::Release);
        }
        self.publish_local(event);
    }

    /// A change to show to the readers on this node only (one that came from another node).
    pub fn publish_local(&self, event: FeedEvent) {
        // No subscriber is fine: nobody is watching.
        let _ = self.tx.send(FeedItem::Changed(event));
    }

    /// Tells the readers on this node to reload.
    pub fn resync_local(&self) {
        let _ = self.tx.send(FeedItem::Resync);
    }

    pub fn publish_appointment(&self, a: &db::appointments::Appointment) {
        self.publish(FeedEvent {
            appointment: a.id,
            staff: a.staff_id,
            status: a.status.clone(),
            citizen_waiting: a.status == "waiting",
        });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FeedItem> {
        self.tx.subscribe()
    }
}

/// A dashboard's place in the feed: its receiver, and its share of [`MAX_SUBSCRIBERS`] until it
/// is dropped.
pub struct Subscription {
    pub rx: broadcast::Receiver<FeedItem>,
    _guard: SubscriberGuard,
}

/// Every dashboard place is taken.
#[derive(Debug)]
pub struct TooManySubscribers;

impl FeedHub {
    /// A new subscription, unless [`MAX_SUBSCRIBERS`] dashboards are already reading.
    pub fn try_subscribe(&self) -> Result<Subscription, TooManySubscribers> {
        let count = self.subscribers.fetch_add(1, Ordering::Relaxed) + 1;
        let guard = SubscriberGuard(self.subscribers.clone());
        if count > MAX_SUBSCRIBERS {
            return Err(TooManySubscribers);
        }
        Ok(Subscription {
            rx: self.tx.subscribe(),
            _guard: guard,
        })
    }
}

struct SubscriberGuard(Arc<AtomicUsize>);
impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> FeedEvent {
        FeedEvent {
            appointment: Uuid::new_v4(),
            staff: Uuid::new_v4(),
            status: "booked".into(),
            citizen_waiting: false,
        }
    }

    /// An event that cannot be queued for the other nodes is remembered, once, so the bus can
    /// tell them to resync; the readers on this node still get it.
    #[test]
    fn a_full_queue_to_the_other_nodes_is_remembered_for_a_resync() {
        let hub = FeedHub::new();
        let mut local = hub.subscribe();
        let (tx, _rx) = mpsc::channel(1);
        hub.forward_to(tx);
        hub.publish(event());
        assert!(!hub.take_dropped(), "the first fits");
        hub.publish(event());
        assert!(hub.take_dropped(), "the second did not fit");
        assert!(!hub.take_dropped(), "told once");
        assert!(matches!(local.try_recv(), Ok(FeedItem::Changed(_))));
        assert!(matches!(local.try_recv(), Ok(FeedItem::Changed(_))));
    }
}
