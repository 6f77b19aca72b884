//! The queue's live state, in process: for each agency the latest [`AgencySnapshot`] (every
//! waiting number's place and estimate, the called numbers' progress) in a `watch` channel that
//! each waiting citizen's event stream reads, and two version counters — the board's and "any
//! queue" (for staff lists). Like `feed`, it is written in few places: `queue::live` rebuilds an
//! agency's snapshot from Postgres when something changed there ([`QueueFeed::mark_dirty`]) and
//! publishes it; readers only read.
//!
//! Why `watch` and a rebuild instead of one message per change: a call moves up to thousands of
//! waiting numbers at once. Rebuilding once and letting every reader look itself up in the same
//! shared snapshot costs one plan per change, whatever the number of readers; a reader that is
//! slow simply sees the newest snapshot next (nothing queues up per reader, so nothing grows).
//! Several changes in a row coalesce into one rebuild. Several nodes (DESIGN §11): a change
//! made here is also [`QueueFeed::forward`]ed — `bus` sends it to the other nodes as a small
//! `NOTIFY` (the agency's id, and whether boards must read again), and each of them marks its
//! own snapshot dirty ([`QueueFeed::remote_changed`]) and rebuilds it from Postgres; readers do
//! not change. When a node may have missed some, it rebuilds everything
//! ([`QueueFeed::resync_local`]).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use crate::domain::ids::{AgencyId, ServiceId, StaffId, TicketId};

/// Waiting citizens' event streams one process serves at once.
pub const MAX_STREAMS: usize = 20_000;
/// Streams one number may have open at once (a phone and a laptop, a reload racing the old one).
pub const MAX_STREAMS_PER_TICKET: usize = 4;
/// Boards and staff queue lists one process serves live at once.
pub const MAX_WATCHERS: usize = 2_000;

/// Where one waiting number stands, as of a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LivePlace {
    pub service: ServiceId,
    pub position: u32,
    /// When the plan has it called; `None`: not today, as things stand.
    pub starts_at: Option<DateTime<Utc>>,
}

/// One agency's queue now.
#[derive(Clone, Debug, Default)]
pub struct AgencySnapshot {
    /// 0 = not built yet; every rebuild increases it.
    pub version: u64,
    pub built_at: Option<DateTime<Utc>>,
    pub places: HashMap<TicketId, LivePlace>,
    /// Today's called numbers and a mark of how far each has come (its state, its appointment's
    /// status, its calls): a changed mark means "read that number again".
    pub called: HashMap<TicketId, u64>,
    /// The open walk-in appointments of those numbers, and the agency's clerks: an appointment
    /// change on the staff feed that touches either makes the agency's snapshot stale.
    pub appointments: HashSet<Uuid>,
    pub clerks: HashSet<StaffId>,
}

impl AgencySnapshot {
    /// Whether a change of this appointment (of this clerk) can change this queue.
    pub fn concerns(&self, appointment: Uuid, clerk: Uuid) -> bool {
        self.appointments.contains(&appointment) || self.clerks.contains(&StaffId(clerk))
    }
}

/// One agency's channel and the flag its rebuilding task waits on.
pub struct Channel {
    tx: watch::Sender<Arc<AgencySnapshot>>,
    dirty: Notify,
}

impl Channel {
    /// Waits until something marked the agency dirty (several marks before the wait count as
    /// one), or `timeout` passes; answers whether it was marked.
    pub async fn wait_dirty(&self, timeout: std::time::Duration) -> bool {
        tokio::time::timeout(timeout, self.dirty.notified())
            .await
            .is_ok()
    }

    pub fn publish(&self, snapshot: AgencySnapshot) {
        self.tx.send_replace(Arc::new(snapshot));
    }

    pub fn current(&self) -> Arc<AgencySnapshot> {
        self.tx.borrow().clone()
    }

    /// Someone is reading this agency's queue live.
    pub fn watched(&self) -> bool {
        self.tx.receiver_count() > 0
    }
}

#[derive(Clone)]
pub struct QueueFeed {
    inner: Arc<Inner>,
}

struct Inner {
    agencies: Mutex<HashMap<AgencyId, Arc<Channel>>>,
    board: watch::Sender<u64>,
    any: watch::Sender<u64>,
    streams: AtomicUsize,
    watchers: Arc<AtomicUsize>,
    per_ticket: Mutex<HashMap<TicketId, usize>>,
    bridge_started: AtomicBool,
    stats: QueueStats,
    /// Changes made on this node that the other nodes have not been told of yet: per agency,
    /// whether boards must read again (`bus` sends them). A map, so a burst of changes is one
    /// event per agency and it never grows past the catalogue's agencies.
    outgoing: Mutex<HashMap<AgencyId, bool>>,
    outgoing_ready: Notify,
    /// Set once `bus` sends `outgoing` (one node alone keeps nothing).
    forwarding: AtomicBool,
}

/// What `/metrics` reports about the queue: handles on counters registered in
/// [`crate::metrics::Metrics`] (shared atomics, so bumping one here is what a scrape reads).
pub use crate::metrics::QueueStats;

impl Default for QueueFeed {
    fn default() -> Self {
        QueueFeed::counting_in(QueueStats::default())
    }
}

impl QueueFeed {
    /// A feed whose numbers are counted in `stats` (the server passes its metrics' handles).
    pub fn counting_in(stats: QueueStats) -> Self {
        QueueFeed {
            inner: Arc::new(Inner {
                agencies: Mutex::new(HashMap::new()),
                board: watch::channel(0).0,
                any: watch::channel(0).0,
                streams: AtomicUsize::new(0),
                watchers: Arc::new(AtomicUsize::new(0)),
                per_ticket: Mutex::new(HashMap::new()),
                bridge_started: AtomicBool::new(false),
                stats,
                outgoing: Mutex::new(HashMap::new()),
                outgoing_ready: Notify::new(),
                forwarding: AtomicBool::new(false),
            }),
        }
    }
}

impl QueueFeed {
    /// The agency's channel, and whether it was created just now (then its rebuilding task must
    /// be started by the caller). Agencies are few (one per counter in the mall): the map is
    /// bounded by the catalogue.
    pub fn channel(&self, agency: AgencyId) -> (Arc<Channel>, bool) {
        let mut map = self
            .inner
            .agencies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(c) = map.get(&agency) {
            return (c.clone(), false);
        }
        let c = Arc::new(Channel {
            tx: watch::channel(Arc::new(AgencySnapshot::default())).0,
            dirty: Notify::new(),
        });
        map.insert(agency, c.clone());
        (c, true)
    }

    /// Every agency with a channel, and its channel.
    pub fn channels(&self) -> Vec<(AgencyId, Arc<Channel>)> {
        self.inner
            .agencies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|(a, c)| (*a, c.clone()))
            .collect()
    }

    /// Marks an agency's queue as changed: its task rebuilds the snapshot once, however many
    /// marks arrive meanwhile. The one place every queue change goes through.
    pub fn mark_dirty(&self, channel: &Channel) {
        channel.dirty.notify_one();
    }

    pub fn subscribe(&self, channel: &Channel) -> watch::Receiver<Arc<AgencySnapshot>> {
        channel.tx.subscribe()
    }

    /// A number was called (or called again) in person: boards show it.
    pub fn bump_board(&self) {
        self.inner.board.send_modify(|v| *v += 1);
    }

    pub fn board(&self) -> watch::Receiver<u64> {
        self.inner.board.subscribe()
    }

    /// Some agency's snapshot was rebuilt (staff lists refresh on it).
    pub fn bump_any(&self) {
        self.inner.any.send_modify(|v| *v += 1);
    }

    pub fn any(&self) -> watch::Receiver<u64> {
        self.inner.any.subscribe()
    }

    /// From now on, [`QueueFeed::forward`] keeps what the other nodes must hear for `bus` to send.
    pub fn start_forwarding(&self) {
        self.inner.forwarding.store(true, Ordering::Release);
    }

    /// An agency's queue changed on this node (after the commit): the other nodes will hear of
    /// it (`bus`), several changes before the next send as one.
    pub fn forward(&self, agency: AgencyId, board: bool) {
        if !self.inner.forwarding.load(Ordering::Acquire) {
            return;
        }
        let mut out = self
            .inner
            .outgoing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *out.entry(agency).or_default() |= board;
        drop(out);
        self.inner.outgoing_ready.notify_one();
    }

    /// Waits until something was forwarded, and takes everything forwarded so far.
    pub async fn outgoing(&self) -> Vec<(AgencyId, bool)> {
        loop {
            let taken: Vec<(AgencyId, bool)> = self
                .inner
                .outgoing
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .drain()
                .collect();
            if !taken.is_empty() {
                return taken;
            }
            self.inner.outgoing_ready.notified().await;
        }
    }

    /// Another node changed an agency's queue: rebuild it here if anyone here follows it
    /// (otherwise there is nothing to rebuild; staff lists read again anyway), and boards read
    /// again when it was a call in person.
    pub fn remote_changed(&self, agency: AgencyId, board: bool) {
        let channel = self
            .inner
            .agencies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&agency)
            .cloned();
        match channel {
            Some(c) => self.mark_dirty(&c),
            None => self.bump_any(),
        }
        if board {
            self.bump_board();
        }
    }

    /// Changes may have been missed (another node could not be heard): every agency is rebuilt,
    /// boards and staff lists read again.
    pub fn resync_local(&self) {
        for (_, c) in self.channels() {
            self.mark_dirty(&c);
        }
        self.bump_board();
        self.bump_any();
    }

    /// Whether the task relaying staff-feed changes into the queue still has to be started (the
    /// first caller gets `true`, once per process).
    pub fn start_bridge_once(&self) -> bool {
        !self.inner.bridge_started.swap(true, Ordering::AcqRel)
    }

    /// A place for one more stream of `ticket`, unless the process or the ticket has as many as
    /// it may. Given back when the guard is dropped.
    pub fn try_stream(&self, ticket: TicketId) -> Option<StreamGuard> {
        let total = self.inner.streams.fetch_add(1, Ordering::AcqRel) + 1;
        let guard = StreamGuard {
            feed: self.clone(),
            ticket,
            counted_ticket: false,
        };
        if total > MAX_STREAMS {
            return None;
        }
        let mut guard = guard;
        let mut map = self
            .inner
            .per_ticket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let n = map.entry(ticket).or_default();
        if *n >= MAX_STREAMS_PER_TICKET {
            return None;
        }
        *n += 1;
        guard.counted_ticket = true;
        Some(guard)
    }

    /// A place for one more board or staff list reading live, unless [`MAX_WATCHERS`] do.
    pub fn try_watch(&self) -> Option<WatchGuard> {
        let n = self.inner.watchers.fetch_add(1, Ordering::AcqRel) + 1;
        let guard = WatchGuard(self.inner.watchers.clone());
        (n <= MAX_WATCHERS).then_some(guard)
    }

    pub fn stats(&self) -> &QueueStats {
        &self.inner.stats
    }

    pub fn streams(&self) -> usize {
        self.inner.streams.load(Ordering::Acquire)
    }
}

/// One board's or staff list's share of [`MAX_WATCHERS`].
pub struct WatchGuard(Arc<AtomicUsize>);

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One open stream's share of the limits.
pub struct StreamGuard {
    feed: QueueFeed,
    ticket: TicketId,
    counted_ticket: bool,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let inner = &self.feed.inner;
        inner.streams.fetch_sub(1, Ordering::AcqRel);
        if self.counted_ticket {
            let mut map = inner
                .per_ticket
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(n) = map.get_mut(&self.ticket) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.ticket);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_bounded_per_ticket_and_given_back() {
        let feed = QueueFeed::default();
        let t = TicketId::new();
        let held: Vec<StreamGuard> = (0..MAX_STREAMS_PER_TICKET)
            .map(|_| feed.try_stream(t).expect("a place"))
            .collect();
        assert!(feed.try_stream(t).is_none(), "one too many for the ticket");
        assert!(feed.try_stream(TicketId::new()).is_some(), "another ticket");
        assert_eq!(feed.streams(), MAX_STREAMS_PER_TICKET);
        drop(held);
        assert_eq!(feed.streams(), 0);
        assert!(feed.try_stream(t).is_some());
    }

    #[tokio::test]
    async fn a_mark_wakes_the_rebuild_and_readers_see_the_snapshot() {
        let feed = QueueFeed::default();
        let (c, created) = feed.channel(AgencyId::new());
        assert!(created);
        let again = feed.channel(AgencyId::new()).1;
        assert!(again, "another agency gets its own");
        for _ in 0..5 {
            feed.mark_dirty(&c);
        }
        assert!(c.wait_dirty(std::time::Duration::from_secs(10)).await);
        let mut rx = feed.subscribe(&c);
        assert!(c.watched());
        c.publish(AgencySnapshot {
            version: 1,
            ..Default::default()
        });
        assert!(rx.has_changed().unwrap_or(false));
        assert_eq!(rx.borrow_and_update().version, 1);
    }

    #[tokio::test]
    async fn forwarded_changes_coalesce_per_agency_and_only_once_forwarding() {
        let feed = QueueFeed::default();
        let (a, b) = (AgencyId::new(), AgencyId::new());
        feed.forward(a, true);
        feed.start_forwarding();
        feed.forward(a, false);
        feed.forward(b, false);
        feed.forward(a, true);
        feed.forward(a, false);
        let mut got = feed.outgoing().await;
        got.sort_by_key(|(g, _)| g.0);
        let mut want = vec![(a, true), (b, false)];
        want.sort_by_key(|(g, _)| g.0);
        assert_eq!(got, want, "one per agency; a board change is kept");
        let later = tokio::time::timeout(std::time::Duration::from_millis(50), feed.outgoing());
        assert!(later.await.is_err(), "nothing left once taken");
    }

    #[tokio::test]
    async fn a_remote_change_rebuilds_a_followed_agency_and_tells_boards() {
        let feed = QueueFeed::default();
        let (c, _) = feed.channel(AgencyId::new());
        let followed = feed.channels()[0].0;
        let mut board = feed.board();
        let any = feed.any();
        feed.remote_changed(followed, false);
        assert!(c.wait_dirty(std::time::Duration::from_secs(10)).await);
        assert!(!board.has_changed().unwrap_or(true), "no call in person");
        feed.remote_changed(AgencyId::new(), true);
        assert!(board.has_changed().unwrap_or(false));
        assert!(any.has_changed().unwrap_or(false), "not followed here");
        board.borrow_and_update();
        feed.resync_local();
        assert!(board.has_changed().unwrap_or(false));
        assert!(c.wait_dirty(std::time::Duration::from_secs(10)).await);
    }
}
