//! Persists the rooms' appointment status changes (`booked → waiting → in_call`, with their
//! audit events) off the registry's loop. A few writer tasks, each with a bounded queue; an
//! appointment always goes to the same writer, whose queue is first in, first out, so one
//! appointment's writes land in the order the room made them.
//!
//! Why not a task per write: when everyone arrives at once (a restart, the bench's 5,000 joins)
//! thousands of writes wait for a database connection, and each waiting task held ~3.4 KiB (the
//! whole `transition` future); a queued write is a few dozen bytes. And a writer stores all the
//! writes it finds queued in one statement (`db::appointments::transition_many`): one round
//! trip for up to [`BATCH`] changes instead of five (BEGIN, SELECT FOR UPDATE, UPDATE, INSERT
//! event, COMMIT) for each.

use tokio::sync::{mpsc, oneshot};

use super::room::Actor;
use crate::db::appointments::Change;
use crate::db::{self, DbPool};
use crate::domain::appointment::Status;
use crate::domain::ids::AppointmentId;
use crate::feed::{FeedEvent, FeedHub};

/// Writer tasks. They share the pool with ticket redemption, and a burst of arrivals must not
/// starve the joins themselves: at most this many connections go to status writes. Two, not
/// more: each writer stores whatever queued while its last statement ran, so fewer writers make
/// bigger batches — with four, 2,500 arrivals took 600-900 statements of 3-4 changes each, and the
/// per-statement cost made Postgres the busiest process of the join storm (docs/benchmarks.md,
/// "Signalling"); with two, 250-350. Two still keep one appointment's row lock held by an HTTP
/// request from stalling every room's writes.
const WRITERS: usize = 2;
/// Writes waiting per writer. Every room makes at most a few (waiting, in_call, booked again),
/// so this only fills if Postgres stalls for long with thousands of rooms active; tokio's channel
/// allocates its slots as they fill, so the bound costs nothing while idle.
const QUEUE: usize = 16_384;
/// Most changes stored in one statement.
const BATCH: usize = 64;

enum Job {
    Write {
        room: AppointmentId,
        to: Status,
        actor: Actor,
    },
    /// Answered once every write queued before it is done.
    Flush(oneshot::Sender<()>),
}

/// A handle to the writer tasks.
pub struct StatusWriter {
    queues: Vec<mpsc::Sender<Job>>,
}

impl StatusWriter {
    /// Starts the writers on the current Tokio runtime.
    pub fn start(pool: DbPool, feed: FeedHub) -> StatusWriter {
        let queues = (0..WRITERS)
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(run(rx, pool.clone(), feed.clone()));
                tx
            })
            .collect();
        StatusWriter { queues }
    }

    /// Queues a write without waiting (the registry's loop must not block on the database).
    pub fn write(&self, room: AppointmentId, to: Status, actor: Actor) {
        // Always the same writer for one appointment, so its changes stay in order.
        let queue = &self.queues[(room.0.as_u128() % self.queues.len() as u128) as usize];
        if let Err(e) = queue.try_send(Job::Write { room, to, actor }) {
            // The room itself goes on with its new status; only the stored status (and the
            // staff feed) miss this step until the room's next change.
            tracing::error!(appointment = %room.0, to = to.as_str(), error = %e,
                "room status write queue full; change not stored");
        }
    }

    /// Waits until every write queued so far is done (or its writer is gone).
    pub async fn flush(&self) {
        let mut waits = Vec::with_capacity(self.queues.len());
        for queue in &self.queues {
            let (done, wait) = oneshot::channel();
            if queue.send(Job::Flush(done)).await.is_ok() {
                waits.push(wait);
            }
        }
        for wait in waits {
            let _ = wait.await;
        }
    }
}

async fn run(mut rx: mpsc::Receiver<Job>, pool: DbPool, feed: FeedHub) {
    let mut jobs = Vec::with_capacity(BATCH);
    let mut chunk: Vec<Change> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut jobs, BATCH).await > 0 {
        for job in jobs.drain(..) {
            match job {
                Job::Write { room, to, actor } => {
                    // One statement moves each appointment at most once: a second change of
                    // the same one waits for the next statement, which keeps their order.
                    if chunk.iter().any(|c| c.id == room) {
                        store(&pool, &feed, &mut chunk).await;
                    }
                    chunk.push(Change {
                        id: room,
                        to,
                        actor: actor.audit(),
                    });
                }
                Job::Flush(done) => {
                    store(&pool, &feed, &mut chunk).await;
                    let _ = done.send(());
                }
            }
        }
        store(&pool, &feed, &mut chunk).await;
    }
}

/// Stores and empties `chunk`: one statement for all of it, or (if that fails, e.g. a
/// deadlock with an HTTP request) one transaction per change, so one bad row cannot lose the
/// others.
async fn store(pool: &DbPool, feed: &FeedHub, chunk: &mut Vec<Change>) {
    if chunk.is_empty() {
        return;
    }
    let mut conn = match pool.get().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(changes = chunk.len(), error = %e, "room status changes not stored");
            chunk.clear();
            return;
        }
    };
    match db::appointments::transition_many(&mut conn, chunk).await {
        Ok(moved) => {
            for m in &moved {
                feed.publish(FeedEvent {
                    appointment: m.id,
                    staff: m.staff_id,
                    status: m.status.clone(),
                    citizen_waiting: m.status == Status::Waiting.as_str(),
                });
            }
            if moved.len() < chunk.len() {
                // Someone else moved them first (e.g. completed over HTTP): the rooms follow
                // via the feed; nothing to repair here.
                tracing::warn!(
                    skipped = chunk.len() - moved.len(),
                    "room status changes not allowed any more; not stored"
                );
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "batched room status changes failed; storing one by one");
            for c in chunk.iter() {
                match db::appointments::transition(&mut conn, c.id, c.to, &c.actor, None, None)
                    .await
                {
                    Ok(row) => feed.publish_appointment(&row),
                    Err(e) => tracing::warn!(appointment = %c.id.0, to = c.to.as_str(),
                        error = %e, "room status change not stored"),
                }
            }
        }
    }
    chunk.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full queue (Postgres stalled) costs the change, never the caller's progress: the
    /// registry's loop must not wait on the database.
    #[tokio::test]
    async fn a_full_queue_drops_the_write_without_waiting() {
        let (tx, mut rx) = mpsc::channel(1);
        let writer = StatusWriter { queues: vec![tx] };
        let room = AppointmentId::new();
        writer.write(room, Status::Waiting, Actor::Citizen);
        writer.write(room, Status::InCall, Actor::Citizen); // returns at once, dropped
        match rx.try_recv() {
            Ok(Job::Write { to, .. }) => assert_eq!(to, Status::Waiting),
            _ => panic!("the first write is queued"),
        }
        assert!(rx.try_recv().is_err(), "the second was dropped, not queued");
    }
}
