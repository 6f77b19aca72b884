//! Events other Loket nodes must see, through Postgres `LISTEN/NOTIFY` (DESIGN §11): every node
//! shares one database, so a change made on one (a booking, a citizen entering the waiting room,
//! a call ended) reaches the staff dashboards and the rooms on all of them.
//!
//! Out: what this node publishes locally is also queued here (bounded; a full queue drops the
//! event and tells the other nodes' readers to resync), and one task sends whatever is queued in
//! a single statement — `SELECT pg_notify(…) FROM unnest($1)` — so a burst of 2,500 arrivals
//! costs a few round trips, not 2,500. Postgres delivers each notification once to every
//! listening node, in commit order.
//!
//! In: one dedicated connection per node `LISTEN`s and hands each event from another node to the
//! local hub (its own come back too and are skipped by node id). When that connection drops,
//! events may have been missed: the local readers are told to resync (reload) and it reconnects
//! with growing pauses.
//!
//! Payloads are small (ids and a status, well under Postgres's 8,000-byte limit).

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::db::DbPool;
use crate::domain::ids::AgencyId;
use crate::feed::{FeedEvent, FeedHub};
use crate::queue_feed::QueueFeed;

/// The one channel every node listens on.
pub const CHANNEL: &str = "loket_events";
/// Events waiting to be sent before new ones are dropped.
const QUEUE: usize = 8192;
/// Most events sent in one statement.
const BATCH: usize = 500;
/// Pauses between reconnection attempts of the listener: from the first to the longest.
const RECONNECT_MIN: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(10);

/// What travels between nodes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Event {
    /// An appointment changed (the staff feed).
    Appointment {
        a: Uuid,
        s: Uuid,
        st: String,
        w: bool,
    },
    /// An agency's queue changed (`g`): rebuild it; `b`: boards read again.
    Queue { g: Uuid, b: bool },
    /// The sender dropped events: readers should reload.
    Resync,
}

/// An event as sent: the event and the node it came from.
#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The sending node.
    n: Uuid,
    #[serde(flatten)]
    e: Event,
}

impl From<&FeedEvent> for Event {
    fn from(f: &FeedEvent) -> Self {
        Event::Appointment {
            a: f.appointment,
            s: f.staff,
            st: f.status.clone(),
            w: f.citizen_waiting,
        }
    }
}

/// This node's senders and listener.
pub struct Bus {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Bus {
    /// Stops listening and sending. Called at shutdown before the embedded Postgres stops, so
    /// that a normal stop is not logged as the events connection failing.
    pub fn stop(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts the senders and the listener for this node and connects the staff feed and the
/// queue's live state to them.
pub fn start(db_url: String, pool: DbPool, feed: &FeedHub, queue: &QueueFeed) -> Bus {
    let node = Uuid::new_v4();
    let (tx, rx) = mpsc::channel::<FeedEvent>(QUEUE);
    feed.forward_to(tx);
    queue.start_forwarding();
    let local = Local {
        feed: feed.clone(),
        queue: queue.clone(),
    };
    Bus {
        tasks: vec![
            tokio::spawn(send(rx, feed.clone(), pool.clone(), node)),
            tokio::spawn(send_queue(queue.clone(), pool, node)),
            tokio::spawn(listen(db_url, local, node)),
        ],
    }
}

/// Where other nodes' events go on this one.
#[derive(Clone)]
struct Local {
    feed: FeedHub,
    queue: QueueFeed,
}

impl Local {
    /// Whatever happened elsewhere meanwhile is unknown here: everyone reloads.
    fn resync(&self) {
        self.feed.resync_local();
        self.queue.resync_local();
    }
}

/// Sends events in one statement.
async fn notify_all(pool: &DbPool, events: Vec<Event>, node: Uuid) -> Result<usize, String> {
    let payloads: Vec<String> = events
        .into_iter()
        .filter_map(|e| serde_json::to_string(&Envelope { n: node, e }).ok())
        .collect();
    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
    diesel::sql_query("SELECT pg_notify($1, p)::text FROM unnest($2::text[]) AS p")
        .bind::<diesel::sql_types::Text, _>(CHANNEL)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&payloads)
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())
}

/// Sends the queue's changes: whatever agencies changed since the last send, one event each, in
/// one statement. What could not be sent is kept (merged with what comes meanwhile) and tried
/// again, so nothing is dropped — the set is bounded by the agencies.
async fn send_queue(queue: QueueFeed, pool: DbPool, node: Uuid) {
    loop {
        let changed = queue.outgoing().await;
        let events = changed
            .iter()
            .map(|(g, b)| Event::Queue { g: g.0, b: *b })
            .collect();
        if let Err(e) = notify_all(&pool, events, node).await {
            tracing::warn!(error = %e, agencies = changed.len(), "could not send queue changes to the other nodes");
            for (g, b) in changed {
                queue.forward(g, b);
            }
            tokio::time::sleep(RECONNECT_MIN).await;
        }
    }
}

/// Sends queued events in batches, one statement each.
async fn send(mut rx: mpsc::Receiver<FeedEvent>, feed: FeedHub, pool: DbPool, node: Uuid) {
    let mut queued: Vec<FeedEvent> = Vec::with_capacity(BATCH);
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH + 1);
    // Set when a batch could not be sent: the other nodes missed something and must reload.
    let mut missed = false;
    while rx.recv_many(&mut queued, BATCH).await > 0 {
        // An event dropped because this queue was full is missed as surely as a failed send.
        if missed || feed.take_dropped() {
            batch.push(Event::Resync);
        }
        batch.extend(queued.drain(..).map(|f| Event::from(&f)));
        let events = batch.len();
        match notify_all(&pool, std::mem::take(&mut batch), node).await {
            Ok(_) => missed = false,
            Err(e) => {
                tracing::warn!(error = %e, events, "could not send events to the other nodes");
                missed = true;
                tokio::time::sleep(RECONNECT_MIN).await;
            }
        }
    }
}

/// Listens for other nodes' events for as long as the process runs.
async fn listen(db_url: String, local: Local, node: Uuid) {
    let mut pause = RECONNECT_MIN;
    let mut first = true;
    loop {
        match AsyncPgConnection::establish(&db_url).await {
            Ok(mut conn) => {
                let listening = diesel::sql_query(format!("LISTEN {CHANNEL}"))
                    .execute(&mut conn)
                    .await;
                if let Err(e) = listening {
                    tracing::warn!(error = %e, "LISTEN failed");
                } else {
                    pause = RECONNECT_MIN;
                    if !first {
                        // Whatever happened while we were away is unknown here.
                        local.resync();
                        tracing::info!("listening for other nodes' events again");
                    }
                    first = false;
                    let mut stream = std::pin::pin!(conn.notifications_stream());
                    while let Some(n) = stream.next().await {
                        match n {
                            Ok(n) => deliver(&local, node, &n.payload),
                            Err(e) => {
                                tracing::warn!(error = %e, "the events connection failed");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot open the events connection"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RECONNECT_MAX);
    }
}

fn deliver(local: &Local, node: Uuid, payload: &str) {
    let Ok(env) = serde_json::from_str::<Envelope>(payload) else {
        // Another version's event, or not ours: nothing to do with it.
        return;
    };
    if env.n == node {
        return;
    }
    match env.e {
        Event::Appointment { a, s, st, w } => local.feed.publish_local(FeedEvent {
            appointment: a,
            staff: s,
            status: st,
            citizen_waiting: w,
        }),
        Event::Queue { g, b } => local.queue.remote_changed(AgencyId(g), b),
        Event::Resync => local.resync(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_survives_the_wire_and_stays_small() {
        let e = Event::Appointment {
            a: Uuid::new_v4(),
            s: Uuid::new_v4(),
            st: "waiting".into(),
            w: true,
        };
        let text = serde_json::to_string(&Envelope {
            n: Uuid::new_v4(),
            e: e.clone(),
        })
        .unwrap();
        assert!(text.len() < 200, "{text}");
        let back: Envelope = serde_json::from_str(&text).unwrap();
        assert_eq!(back.e, e);
    }

    fn local() -> Local {
        Local {
            feed: FeedHub::new(),
            queue: QueueFeed::default(),
        }
    }

    #[test]
    fn own_and_unreadable_payloads_are_ignored() {
        let local = local();
        let feed = &local.feed;
        let mut rx = feed.subscribe();
        let node = Uuid::new_v4();
        let own = serde_json::to_string(&Envelope {
            n: node,
            e: Event::Resync,
        })
        .unwrap();
        deliver(&local, node, &own);
        deliver(&local, node, "{not json");
        deliver(
            &local,
            node,
            r#"{"n":"00000000-0000-0000-0000-000000000000","t":"future_kind"}"#,
        );
        assert!(rx.try_recv().is_err(), "nothing delivered");
        let other = serde_json::to_string(&Envelope {
            n: Uuid::new_v4(),
            e: Event::Resync,
        })
        .unwrap();
        deliver(&local, node, &other);
        assert!(matches!(rx.try_recv(), Ok(crate::feed::FeedItem::Resync)));
    }

    #[test]
    fn a_queue_change_from_another_node_reaches_the_boards_here() {
        let local = local();
        let mut board = local.queue.board();
        let e = Event::Queue {
            g: Uuid::new_v4(),
            b: true,
        };
        let text = serde_json::to_string(&Envelope {
            n: Uuid::new_v4(),
            e: e.clone(),
        })
        .unwrap();
        assert!(text.len() < 120, "{text}");
        deliver(&local, Uuid::new_v4(), &text);
        assert!(board.has_changed().unwrap_or(false));
        // A resync from another node reloads the boards too.
        board.borrow_and_update();
        let mut feed = local.feed.subscribe();
        let resync = serde_json::to_string(&Envelope {
            n: Uuid::new_v4(),
            e: Event::Resync,
        })
        .unwrap();
        deliver(&local, Uuid::new_v4(), &resync);
        assert!(board.has_changed().unwrap_or(false));
        assert!(matches!(feed.try_recv(), Ok(crate::feed::FeedItem::Resync)));
    }
}
