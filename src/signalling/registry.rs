//! The room registry: ONE task owns every [`Room`] and every socket's outbound queue, fed through
//! a bounded channel by cloneable [`Rooms`] handles — no mutex is shared between sockets. The
//! task carries out the rooms' effects: it queues messages on sockets (a full queue means a slow
//! reader, which is cut off at once instead of buffering without bound) and hands status changes
//! to the [`StatusWriter`] (which stores them in order per appointment, never blocking the loop,
//! and publishes them to the staff feed). It also listens to
//! that feed, so an appointment completed or cancelled over HTTP closes its room.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{broadcast, mpsc, oneshot};

use super::outbound;
use super::protocol::{ClientMsg, CloseReason, LeaveReason, ParticipantId, ServerMsg};
use super::room::{Command, ConnId, Effect, Joiner, Room};
use super::status_writer::StatusWriter;
use crate::db::DbPool;
use crate::domain::appointment::Status;
use crate::domain::ids::AppointmentId;
use crate::feed::{FeedEvent, FeedHub};
use crate::metrics::SignallingMetrics;
use crate::rooms::ice::IceServer;

/// Requests waiting for the registry task; senders wait (backpressure) when it is full.
const REQUEST_QUEUE: usize = 4096;
/// Messages waiting to be written to one socket (see [`outbound`]), at least. A reader this far
/// behind is cut off. The bound must hold more than one burst the peer's rate limit lets
/// through (twice the per-second rate: 100 by default) plus the server's own messages, or a
/// healthy reader whose writer task is simply not scheduled yet is cut off by a burst the
/// limiter allowed — with the direct relay a burst lands in the queue at once (a CI run caught
/// exactly that with a bound of 64). The queue grows only as it fills, so an idle socket pays
/// nothing for the bound.
pub const OUTBOUND_QUEUE: usize = 128;

/// The outbound bound for sockets whose peers may send `rate_per_sec` (bursts of twice that).
pub fn outbound_capacity(rate_per_sec: u32) -> usize {
    (2 * rate_per_sec as usize + 28).max(OUTBOUND_QUEUE)
}
/// How long a shutdown waits for pending status writes: the whole stop, Postgres included, has
/// to fit in 30 s of SIGTERM (DESIGN §7).
const SHUTDOWN_WRITES_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// What the registry asks a socket's session to do.
#[derive(Debug)]
pub enum Outbound {
    /// Boxed: the queue's ring buffer keeps the capacity it once grew to, and 16-byte slots
    /// instead of 128-byte ones keep that small.
    Msg(Box<ServerMsg>),
    /// Send `closed {reason}`, then close the socket.
    Close(CloseReason),
    /// The room paired this socket with its peer: relay `signal` and `chat` directly.
    Link(Box<Link>),
}

/// What a paired session needs to relay to its peer directly (see [`super::room`], "Direct
/// relay"). The registry revokes it by changing what the peer's queue accepts; the session
/// notices when a push is refused and drops it.
#[derive(Debug)]
pub struct Link {
    /// Into the peer's outbound queue.
    pub peer: outbound::Relay<Outbound>,
    /// The peer's participant id (a `signal`'s `to`).
    pub peer_id: ParticipantId,
    /// This socket's participant id (the relayed message's `from`).
    pub me: ParticipantId,
}

/// A socket that passed its ticket check.
pub struct JoinRequest {
    pub room: AppointmentId,
    /// The appointment's status as read with the ticket (used when the room is first opened).
    pub status: Status,
    pub conn: ConnId,
    pub who: Joiner,
    pub ice_servers: Vec<IceServer>,
    pub outbound: outbound::Sender<Outbound>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub rooms: usize,
    pub sockets: usize,
}

enum Request {
    Join(Box<JoinRequest>),
    Message { conn: ConnId, msg: ClientMsg },
    Gone { conn: ConnId, reason: LeaveReason },
    Shutdown { done: oneshot::Sender<()> },
    Stats { reply: oneshot::Sender<Stats> },
}

/// The registry is gone (the server is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the room registry has stopped")]
pub struct Stopped;

/// A handle to the registry task; clone it freely.
#[derive(Clone)]
pub struct Rooms {
    tx: mpsc::Sender<Request>,
    /// Socket ids and the counters, behind one pointer: every session holds a `Rooms`.
    shared: Arc<Shared>,
}

struct Shared {
    next_conn: AtomicU64,
    metrics: SignallingMetrics,
}

impl Rooms {
    /// Starts the registry task on the current Tokio runtime.
    pub fn start(
        pool: DbPool,
        feed: FeedHub,
        max_sockets_per_room: usize,
        metrics: SignallingMetrics,
    ) -> Rooms {
        let (tx, rx) = mpsc::channel(REQUEST_QUEUE);
        let registry = Registry {
            rooms: HashMap::new(),
            conns: HashMap::new(),
            writer: Arc::new(StatusWriter::start(pool, feed.clone())),
            max_sockets: max_sockets_per_room,
            stopping: false,
            metrics: metrics.clone(),
        };
        tokio::spawn(registry.run(rx, feed.subscribe()));
        Rooms {
            tx,
            shared: Arc::new(Shared {
                next_conn: AtomicU64::new(1),
                metrics,
            }),
        }
    }

    /// A fresh socket id, never reused.
    pub fn next_conn(&self) -> ConnId {
        ConnId(self.shared.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    /// Counts one message relayed from one participant to another (written to its socket).
    pub fn relayed(&self) {
        self.shared.metrics.relayed.inc();
    }

    /// Boxed by the caller: the request is large and sent once per socket.
    pub async fn join(&self, req: Box<JoinRequest>) -> Result<(), Stopped> {
        self.send(Request::Join(req)).await
    }

    pub async fn message(&self, conn: ConnId, msg: ClientMsg) -> Result<(), Stopped> {
        self.send(Request::Message { conn, msg }).await
    }

    /// The socket has ended; harmless if the registry already dropped it.
    pub async fn gone(&self, conn: ConnId, reason: LeaveReason) {
        let _ = self.send(Request::Gone { conn, reason }).await;
    }

    /// Tells every socket `closed {reason: "server_restart"}`, refuses later joins, and waits (up
    /// to 5 s) for pending status writes. Idempotent.
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.send(Request::Shutdown { done }).await.is_ok() {
            let _ = wait.await;
        }
    }

    pub async fn stats(&self) -> Result<Stats, Stopped> {
        let (reply, wait) = oneshot::channel();
        self.send(Request::Stats { reply }).await?;
        wait.await.map_err(|_| Stopped)
    }

    async fn send(&self, req: Request) -> Result<(), Stopped> {
        // Nearly always there is room: only a full queue needs the (boxed) waiting send, so a
        // session task does not carry a send future for the whole life of its socket.
        match self.tx.try_send(req) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(req)) => {
                Box::pin(self.tx.send(req)).await.map_err(|_| Stopped)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Stopped),
        }
    }
}

struct Conn {
    room: AppointmentId,
    tx: outbound::Sender<Outbound>,
}

struct Registry {
    rooms: HashMap<AppointmentId, Room>,
    conns: HashMap<ConnId, Conn>,
    writer: Arc<StatusWriter>,
    max_sockets: usize,
    stopping: bool,
    metrics: SignallingMetrics,
}

impl Registry {
    async fn run(mut self, mut rx: mpsc::Receiver<Request>, feed: broadcast::Receiver<FeedEvent>) {
        let mut feed = Some(feed);
        loop {
            tokio::select! {
                req = rx.recv() => match req {
                    Some(req) => self.handle(req),
                    None => break,
                },
                ev = async { match feed.as_mut() {
                    Some(f) => f.recv().await,
                    None => std::future::pending().await,
                } } => match ev {
                    Ok(ev) => self.feed_event(ev),
                    // Missed events only matter for closing rooms of finished appointments,
                    // which the ticket check refuses anyway.
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "room registry lagged behind the feed");
                    }
                    Err(broadcast::error::RecvError::Closed) => feed = None,
                },
            }
        }
    }

    fn handle(&mut self, req: Request) {
        match req {
            Request::Join(j) => self.join(*j),
            Request::Message { conn, msg } => {
                if let Some(room) = self.conns.get(&conn).map(|c| c.room) {
                    let now = chrono::Utc::now();
                    self.apply(room, Command::Message { conn, msg, now });
                }
                // Done, effects queued: the session may relay directly again.
                if let Some(c) = self.conns.get(&conn) {
                    c.tx.routed();
                }
            }
            Request::Gone { conn, reason } => {
                if let Some(c) = self.conns.remove(&conn) {
                    self.apply(c.room, Command::Gone { conn, reason });
                }
            }
            Request::Shutdown { done } => {
                self.stopping = true;
                let ids: Vec<AppointmentId> = self.rooms.keys().copied().collect();
                for id in ids {
                    self.apply(
                        id,
                        Command::CloseAll {
                            reason: CloseReason::ServerRestart,
                        },
                    );
                }
                let writer = self.writer.clone();
                tokio::spawn(async move {
                    if tokio::time::timeout(SHUTDOWN_WRITES_GRACE, writer.flush())
                        .await
                        .is_err()
                    {
                        tracing::warn!("room status writes still pending at shutdown");
                    }
                    let _ = done.send(());
                });
            }
            Request::Stats { reply } => {
                let _ = reply.send(Stats {
                    rooms: self.rooms.len(),
                    sockets: self.conns.len(),
                });
            }
        }
    }

    fn join(&mut self, j: JoinRequest) {
        if self.stopping {
            let _ = j
                .outbound
                .try_send(Outbound::Close(CloseReason::ServerRestart));
            return;
        }
        let max = self.max_sockets;
        self.metrics.joins.inc();
        self.rooms
            .entry(j.room)
            .or_insert_with(|| Room::new(j.room, j.status, max));
        self.conns.insert(
            j.conn,
            Conn {
                room: j.room,
                tx: j.outbound,
            },
        );
        self.apply(
            j.room,
            Command::Join {
                conn: j.conn,
                who: j.who,
                ice_servers: j.ice_servers,
            },
        );
    }

    fn feed_event(&mut self, ev: FeedEvent) {
        let id = AppointmentId(ev.appointment);
        if let Some(status) = Status::parse(&ev.status)
            && !status.is_active()
            && self.rooms.contains_key(&id)
        {
            self.apply(id, Command::AppointmentClosed { status });
        }
    }

    /// Queues `item` on socket `to`. A full queue means a slow reader: it is dropped (which ends
    /// its session and closes the socket), and the command to take it out of its room returned.
    fn queue(&mut self, to: ConnId, item: Outbound) -> Option<Command> {
        let c = self.conns.get(&to)?;
        if let Err(outbound::PushError::Full) = c.tx.try_send(item) {
            c.tx.accept_relay(None);
            self.conns.remove(&to);
            tracing::info!(conn = to.0, "signalling socket too slow; dropped");
            return Some(Command::Gone {
                conn: to,
                reason: LeaveReason::SlowReader,
            });
        }
        None
    }

    /// Runs a command through its room and carries out the effects, including the follow-up
    /// of cutting off slow readers.
    fn apply(&mut self, room_id: AppointmentId, first: Command) {
        let mut pending = vec![first];
        while let Some(cmd) = pending.pop() {
            let Some(room) = self.rooms.get_mut(&room_id) else {
                return;
            };
            for effect in room.apply(cmd) {
                match effect {
                    Effect::Send { to, msg } => {
                        pending.extend(self.queue(to, Outbound::Msg(Box::new(msg))));
                    }
                    Effect::Close { conn, reason } => {
                        if let Some(c) = self.conns.remove(&conn) {
                            c.tx.accept_relay(None);
                            let _ = c.tx.try_send(Outbound::Close(reason));
                        }
                    }
                    Effect::SetStatus { to, actor } => self.writer.write(room_id, to, actor),
                    Effect::Unpair { a, b } => {
                        for c in [a, b].iter().filter_map(|x| self.conns.get(x)) {
                            c.tx.accept_relay(None);
                        }
                    }
                    Effect::Pair { a, a_id, b, b_id } => {
                        let (Some(ca), Some(cb)) = (self.conns.get(&a), self.conns.get(&b)) else {
                            continue;
                        };
                        // Each queue accepts relays from the other socket only.
                        ca.tx.accept_relay(Some(b.0));
                        cb.tx.accept_relay(Some(a.0));
                        let to_a = Link {
                            peer: cb.tx.relay(a.0),
                            peer_id: b_id.clone(),
                            me: a_id.clone(),
                        };
                        let to_b = Link {
                            peer: ca.tx.relay(b.0),
                            peer_id: a_id,
                            me: b_id,
                        };
                        pending.extend(self.queue(a, Outbound::Link(Box::new(to_a))));
                        pending.extend(self.queue(b, Outbound::Link(Box::new(to_b))));
                    }
                }
            }
        }
        if self.rooms.get(&room_id).is_some_and(Room::is_empty) {
            self.rooms.remove(&room_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_the_rate_limit_allows_always_fits_the_peers_queue() {
        for rate in [1, 50, 64, 1_000, 100_000] {
            let burst = 2 * rate as usize;
            assert!(outbound_capacity(rate) > burst, "rate {rate}");
        }
        assert_eq!(outbound_capacity(50), OUTBOUND_QUEUE);
    }
}
