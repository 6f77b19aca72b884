//! The staff's live feed of appointment changes (bookings, waiting-room arrivals, admits,
//! outcomes): published once by whoever makes the change — the use-cases and the signalling
//! rooms — into a bounded broadcast channel, and read by the staff dashboards' event stream
//! (`routes::feed`). A reader that falls behind is told to resync instead of buffering without
//! bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use tokio::sync::broadcast;
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

#[derive(Clone)]
pub struct FeedHub {
    tx: broadcast::Sender<FeedEvent>,
    subscribers: Arc<AtomicUsize>,
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
        }
    }

    pub fn publish(&self, event: FeedEvent) {
        // No subscriber is fine: nobody is watching.
        let _ = self.tx.send(event);
    }

    pub fn publish_appointment(&self, a: &db::appointments::Appointment) {
        self.publish(FeedEvent {
            appointment: a.id,
            staff: a.staff_id,
            status: a.status.clone(),
            citizen_waiting: a.status == "waiting",
        });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FeedEvent> {
        self.tx.subscribe()
    }
}

/// A dashboard's place in the feed: its receiver, and its share of [`MAX_SUBSCRIBERS`] until it
/// is dropped.
pub struct Subscription {
    pub rx: broadcast::Receiver<FeedEvent>,
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
