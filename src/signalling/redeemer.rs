//! Redeems room tickets in batches. When everyone arrives at once (a restart, the bench's 5,000
//! joins) a round trip and a commit per ticket, each on its own pooled connection, cost more of
//! the two cores (in Loket and in Postgres) than the sockets themselves. Instead each join
//! queues its ticket here and waits for its own answer; a redeemer takes whatever is queued when
//! its previous batch is done (up to [`BATCH`], no waiting for more) and redeems it with
//! `db::tickets::redeem_many`: one statement for the whole batch.
//!
//! Security is the database's, as before: one `UPDATE` decides "used", so a ticket named twice
//! (in one batch or in two redeemers' batches) is granted at most once, and expired tickets are
//! refused. The queues are bounded: when they are full the join gets 503 at once instead of
//! waiting. Tickets are never logged (their `Debug` hides them).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{mpsc, oneshot};

use crate::db::tickets::{Redeemed, Ticket};
use crate::db::{self, DbPool};

/// Redeemer tasks (each holds at most one pooled connection while it works).
const REDEEMERS: usize = 2;
/// Tickets waiting per redeemer before joins are refused with 503.
const QUEUE: usize = 4096;
/// Most tickets redeemed in one batch.
const BATCH: usize = 256;

/// Why a ticket could not be checked (as opposed to being refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedeemError {
    /// Every queue is full: too many joins at once.
    #[error("ticket redemption queues are full")]
    Busy,
    /// No database connection, or the statement failed (logged by the redeemer).
    #[error("ticket redemption failed")]
    Failed,
}

type Answer = Result<Option<Redeemed>, RedeemError>;

struct Job {
    ticket: Ticket,
    reply: oneshot::Sender<Answer>,
}

/// A handle to the redeemer tasks.
pub struct Redeemer {
    queues: Vec<mpsc::Sender<Job>>,
    next: AtomicUsize,
}

impl Redeemer {
    /// Starts the redeemers on the current Tokio runtime.
    pub fn start(pool: DbPool) -> Redeemer {
        let queues = (0..REDEEMERS)
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(run(rx, pool.clone()));
                tx
            })
            .collect();
        Redeemer {
            queues,
            next: AtomicUsize::new(0),
        }
    }

    /// Redeems `ticket`: what it grants, or `None` when it is unknown, used or expired.
    pub async fn redeem(&self, ticket: Ticket) -> Answer {
        let (reply, answer) = oneshot::channel();
        let mut job = Job { ticket, reply };
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let mut queued = false;
        for i in 0..self.queues.len() {
            let queue = &self.queues[(first + i) % self.queues.len()];
            match queue.try_send(job) {
                Ok(()) => {
                    queued = true;
                    break;
                }
                Err(mpsc::error::TrySendError::Full(j) | mpsc::error::TrySendError::Closed(j)) => {
                    job = j
                }
            }
        }
        if !queued {
            return Err(RedeemError::Busy);
        }
        // The redeemer always answers (its pool waits are bounded); a dropped reply means it
        // is gone.
        answer.await.unwrap_or(Err(RedeemError::Failed))
    }
}

async fn run(mut rx: mpsc::Receiver<Job>, pool: DbPool) {
    let mut jobs = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut jobs, BATCH).await > 0 {
        let mut granted = match redeem_batch(&pool, &jobs).await {
            Ok(granted) => granted,
            Err(()) => {
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Err(RedeemError::Failed));
                }
                continue;
            }
        };
        for job in jobs.drain(..) {
            // `remove`: a ticket queued twice in this batch is granted to the first only.
            let _ = job.reply.send(Ok(granted.remove(job.ticket.expose())));
        }
    }
}

async fn redeem_batch(pool: &DbPool, jobs: &[Job]) -> Result<HashMap<String, Redeemed>, ()> {
    let tickets: Vec<&str> = jobs.iter().map(|j| j.ticket.expose()).collect();
    let mut conn = pool.get().await.map_err(|e| {
        tracing::warn!(error = %e, tickets = tickets.len(), "no connection to redeem tickets");
    })?;
    match db::tickets::redeem_many(&mut conn, &tickets).await {
        Ok(rows) => Ok(rows.into_iter().collect()),
        Err(e) => {
            tracing::error!(error = %e, tickets = tickets.len(), "redeeming tickets");
            Err(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When every queue is full a join is refused at once (503 `too_many_joins` upstream)
    /// instead of waiting behind thousands of others.
    #[tokio::test]
    async fn a_join_is_refused_at_once_when_every_queue_is_full() {
        // Two queues of one place each, whose redeemers are stalled (nobody receives).
        let (a, _ra) = mpsc::channel(1);
        let (b, _rb) = mpsc::channel(1);
        let redeemer = std::sync::Arc::new(Redeemer {
            queues: vec![a, b],
            next: AtomicUsize::new(0),
        });
        let ticket = |s: &str| Ticket::parse(s).unwrap();
        let waiting: Vec<_> = ["one", "two"]
            .into_iter()
            .map(|t| {
                let r = redeemer.clone();
                let t = ticket(t);
                tokio::spawn(async move { r.redeem(t).await })
            })
            .collect();
        // Let both take a place.
        while redeemer.queues.iter().any(|q| q.capacity() > 0) {
            tokio::task::yield_now().await;
        }
        let refused = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            redeemer.redeem(ticket("three")),
        )
        .await
        .expect("answered at once");
        assert_eq!(refused, Err(RedeemError::Busy));
        assert!(waiting.iter().all(|w| !w.is_finished()));
    }
}
