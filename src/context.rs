//! [`Ctx`]: what the use-cases work with — settings, the database pool, the keys, the cached
//! directory and free times, the live feeds and the counters. No HTTP in it: the CLI, a worker
//! or a test builds one and calls a use-case directly. `state::AppState` adds what only the
//! server needs (rate limiters, the rooms, the pre-call checks, the TURN relay).

use crate::auth::Keys;
use crate::availability::SlotCache;
use crate::config::Settings;
use crate::db::{Conn, DbPool};
use crate::directory::Directory;
use crate::fault::Fault;
use crate::feed::FeedHub;
use crate::metrics::Metrics;
use crate::queue_feed::QueueFeed;

pub struct Ctx {
    pub settings: Settings,
    pub pool: DbPool,
    pub keys: Keys,
    /// Services and who serves them, cached (see `directory`).
    pub directory: Directory,
    /// Recent answers of the slots endpoint; every successful write empties it.
    pub slot_cache: SlotCache,
    /// The staff dashboards' live feed.
    pub feed: FeedHub,
    /// The queue's live state per agency, and the board's and staff lists' change counters.
    pub queue_feed: QueueFeed,
    pub metrics: Metrics,
    /// Wakes this node's outbox workers when a change has just written messages due now
    /// (other nodes' workers find them on their next poll).
    pub outbox_wake: std::sync::Arc<tokio::sync::Notify>,
}

impl Ctx {
    pub fn new(settings: Settings, pool: DbPool, keys: Keys) -> Ctx {
        let metrics = Metrics::default();
        Ctx {
            settings,
            pool,
            keys,
            directory: Default::default(),
            slot_cache: crate::availability::slot_cache(),
            feed: FeedHub::new(),
            queue_feed: QueueFeed::counting_in(metrics.queue.clone()),
            metrics,
            outbox_wake: Default::default(),
        }
    }

    /// Tells the outbox workers that messages may be due (after a change has committed).
    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }

    /// A connection from the pool.
    pub async fn conn(&self) -> Result<Conn, Fault> {
        Ok(self.pool.get().await?)
    }
}
