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
use crate::feed::{FeedEvent, FeedHub};

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

/// Starts the sender and the listener for this node and connects the hub to them.
pub fn start(db_url: String, pool: DbPool, feed: &FeedHub) -> Uuid {
    let node = Uuid::new_v4();
    let (tx, rx) = mpsc::channel::<FeedEvent>(QUEUE);
    feed.forward_to(tx);
    tokio::spawn(send(rx, pool, node));
    tokio::spawn(listen(db_url, feed.clone(), node));
    node
}

/// Sends queued events in batches, one statement each.
async fn send(mut rx: mpsc::Receiver<FeedEvent>, pool: DbPool, node: Uuid) {
    let mut queued: Vec<FeedEvent> = Vec::with_capacity(BATCH);
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH + 1);
    // Set when a batch could not be sent: the other nodes missed something and must reload.
    let mut missed = false;
    while rx.recv_many(&mut queued, BATCH).await > 0 {
        if missed {
            batch.push(Event::Resync);
        }
        batch.extend(queued.drain(..).map(|f| Event::from(&f)));
        let payloads: Vec<String> = batch
            .drain(..)
            .filter_map(|e| serde_json::to_string(&Envelope { n: node, e }).ok())
            .collect();
        let sent = async {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            diesel::sql_query("SELECT pg_notify($1, p)::text FROM unnest($2::text[]) AS p")
                .bind::<diesel::sql_types::Text, _>(CHANNEL)
                .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&payloads)
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        match sent {
            Ok(_) => missed = false,
            Err(e) => {
                tracing::warn!(error = %e, events = payloads.len(), "could not send events to the other nodes");
                missed = true;
                tokio::time::sleep(RECONNECT_MIN).await;
            }
        }
    }
}

/// Listens for other nodes' events for as long as the process runs.
async fn listen(db_url: String, feed: FeedHub, node: Uuid) {
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
                        feed.resync_local();
                        tracing::info!("listening for other nodes' events again");
                    }
                    first = false;
                    let mut stream = std::pin::pin!(conn.notifications_stream());
                    while let Some(n) = stream.next().await {
                        match n {
                            Ok(n) => deliver(&feed, node, &n.payload),
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

fn deliver(feed: &FeedHub, node: Uuid, payload: &str) {
    let Ok(env) = serde_json::from_str::<Envelope>(payload) else {
        // Another version's event, or not ours: nothing to do with it.
        return;
    };
    if env.n == node {
        return;
    }
    match env.e {
        Event::Appointment { a, s, st, w } => feed.publish_local(FeedEvent {
            appointment: a,
            staff: s,
            status: st,
            citizen_waiting: w,
        }),
        Event::Resync => feed.resync_local(),
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

    #[test]
    fn own_and_unreadable_payloads_are_ignored() {
        let feed = FeedHub::new();
        let mut rx = feed.subscribe();
        let node = Uuid::new_v4();
        let own = serde_json::to_string(&Envelope {
            n: node,
            e: Event::Resync,
        })
        .unwrap();
        deliver(&feed, node, &own);
        deliver(&feed, node, "{not json");
        deliver(
            &feed,
            node,
            r#"{"n":"00000000-0000-0000-0000-000000000000","t":"future_kind"}"#,
        );
        assert!(rx.try_recv().is_err(), "nothing delivered");
        let other = serde_json::to_string(&Envelope {
            n: Uuid::new_v4(),
            e: Event::Resync,
        })
        .unwrap();
        deliver(&feed, node, &other);
        assert!(matches!(rx.try_recv(), Ok(crate::feed::FeedItem::Resync)));
    }
}
