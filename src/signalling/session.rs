//! One task per signalling socket: a `select!` loop over inbound frames, the socket's outbound
//! queue (filled by the registry, and by the paired peer's session: the direct relay) and the
//! heartbeat. It enforces the per-socket limits — frame
//! size (close 1009), message rate (token bucket), write stalls — answers malformed input with
//! an `error` message instead of dropping the socket, and always tells the registry when it ends.

use std::time::Duration;

use actix_ws::{AggregatedMessage, CloseCode, ProtocolError, Session};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::outbound::PushError;
use super::protocol::{ClientMsg, CloseReason, ErrorCode, LeaveReason, ServerMsg, parse_client};
use super::registry::{JoinRequest, Link, Outbound, Rooms, outbound_capacity};
use super::room::{ConnId, Joiner, MAX_CHAT_CHARS};
use crate::domain::appointment::Status;
use crate::domain::ids::AppointmentId;
use crate::rooms::ice::IceServer;

/// Messages dropped in a row (each over the rate) before the socket is closed with 1008.
pub const STRIKES_BEFORE_CLOSE: u32 = 100;
/// A write that cannot reach the socket within this time means the client stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// The per-socket limits, from settings.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_frame_bytes: usize,
    pub heartbeat_timeout: Duration,
    /// Sustained messages per second (`LOKET_SIGNAL_RATE_PER_SEC`, default 50); bursts of twice
    /// that. Negotiating a call takes an offer, an answer and a few dozen ICE candidates, so 50/s
    /// with a burst of 100 never slows a real client while a runaway one cannot monopolise the
    /// registry.
    pub rate_per_sec: u32,
}

impl Limits {
    pub fn from_settings(s: &crate::config::Settings) -> Limits {
        Limits {
            max_frame_bytes: s.max_frame_bytes,
            heartbeat_timeout: Duration::from_secs(s.heartbeat_timeout_secs),
            rate_per_sec: s.signal_rate_per_sec,
        }
    }
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
#[derive(Debug)]
pub struct TokenBucket {
    tokens: f64,
    last: Instant,
    rate: f64,
    burst: f64,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64, now: Instant) -> TokenBucket {
        TokenBucket {
            tokens: burst,
            last: now,
            rate,
            burst,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The socket could not be written to (closed, or stalled past [`WRITE_TIMEOUT`]).
struct WriteFailed;

/// Serialises `msg` at once and returns the send, which holds only the text: a caller may drop
/// the message before awaiting, so no 128-byte `ServerMsg` is kept across the wait (every wait
/// in the loop below sizes each socket's task for its whole life).
fn write<'a>(
    session: &'a mut Session,
    msg: &ServerMsg,
) -> impl std::future::Future<Output = Result<(), WriteFailed>> + use<'a> {
    let text = serde_json::to_string(msg);
    async move {
        match text {
            Ok(text) => send_text(session, text).await,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialise a signalling message");
                Ok(())
            }
        }
    }
}

async fn send_text(session: &mut Session, text: String) -> Result<(), WriteFailed> {
    // Most writes complete at once; only a write that has to wait gets a timer, so the common
    // case does not touch the timer wheel. The send and the timer are boxed: inline, actix-ws's
    // send future (~250 bytes) would be the largest thing in every session task, which lives as
    // long as its socket; one short-lived allocation per message is the cheaper side.
    let mut send = Box::pin(session.text(text));
    let done = match futures_util::poll!(&mut send) {
        std::task::Poll::Ready(r) => r,
        std::task::Poll::Pending => {
            let stall = Box::pin(tokio::time::sleep(WRITE_TIMEOUT));
            match futures_util::future::select(send, stall).await {
                futures_util::future::Either::Left((r, _)) => r,
                futures_util::future::Either::Right(_) => return Err(WriteFailed),
            }
        }
    };
    done.map_err(|_| WriteFailed)
}

/// Closes the socket. Boxed, like [`close_with`]: each socket is closed once, and inline these
/// futures would size every session task for the whole life of its socket.
async fn close(session: &Session, code: u16, description: &str) {
    let reason = actix_ws::CloseReason {
        code: CloseCode::from(code),
        description: Some(description.to_string()),
    };
    let closing = session.clone().close(Some(reason));
    let _ = Box::pin(tokio::time::timeout(WRITE_TIMEOUT, closing)).await;
}

/// Sends `closed {reason}` and the close frame.
async fn close_with(session: &mut Session, reason: CloseReason) {
    Box::pin(async move {
        let _ = write(session, &ServerMsg::Closed { reason }).await;
        close(session, reason.ws_code(), reason.as_str()).await;
    })
    .await;
}

/// The direct relay (see [`super::room`], "Direct relay"): puts a `signal` to the peer, or a
/// `chat`, straight on the paired peer's outbound queue. Gives the message back when it has to
/// go through the registry instead: not paired, a request of this socket still on its way
/// through the registry (a direct message must not overtake it), anything the room would refuse
/// or route elsewhere, the pairing revoked (the link is dropped), or the peer's queue full or
/// gone (the registry then cuts the slow reader off, as for any message).
fn relay(
    link: &mut Option<Box<Link>>,
    own: &super::outbound::Receiver<Outbound>,
    msg: ClientMsg,
) -> Result<(), ClientMsg> {
    let Some(l) = link.as_deref() else {
        return Err(msg);
    };
    if !own.all_routed() {
        return Err(msg);
    }
    let out = match msg {
        ClientMsg::Signal { to, payload } if to == l.peer_id => ServerMsg::Signal {
            from: l.me.clone(),
            payload,
        },
        ClientMsg::Chat { text } => {
            let trimmed = text.trim();
            if trimmed.is_empty() || trimmed.chars().count() > MAX_CHAT_CHARS {
                return Err(ClientMsg::Chat { text });
            }
            ServerMsg::Chat {
                from: l.me.clone(),
                text: trimmed.to_string(),
                at: chrono::Utc::now(),
            }
        }
        other => return Err(other),
    };
    let (err, item) = match l.peer.try_send(Outbound::Msg(Box::new(out))) {
        Ok(()) => return Ok(()),
        Err(refused) => refused,
    };
    // Back to what the client sent (the room trims chat again, harmlessly).
    let back = match item {
        Outbound::Msg(m) => match *m {
            ServerMsg::Signal { payload, .. } => ClientMsg::Signal {
                to: l.peer_id.clone(),
                payload,
            },
            ServerMsg::Chat { text, .. } => ClientMsg::Chat { text },
            _ => unreachable!("only signal and chat are relayed"),
        },
        _ => unreachable!("only messages are relayed"),
    };
    if err == PushError::Revoked {
        *link = None;
    }
    Err(back)
}

/// Someone whose ticket was redeemed: the room (the ticket's appointment) and who they are.
pub struct Arrival {
    pub room: AppointmentId,
    pub status: Status,
    pub who: Joiner,
    pub ice_servers: Vec<IceServer>,
}

/// Runs one socket until it ends. `ready` fires once the socket has joined its room and the
/// registry's first answer (the `welcome`, normally) is in the session: the handler waits for
/// it before returning the 101, so actix writes the handshake answer and the `welcome` with one
/// send — one write for the server and one read for the client fewer per join
/// (docs/benchmarks.md, "Signalling"). The join itself happens here, in the socket's own task,
/// not in the handler: a handler is dropped when its client disconnects mid-request, and a
/// join done there could leave a participant in the room that no task would ever take out.
///
/// Not an `async fn`: its arguments would stay in the task for the socket's whole life beside
/// the values made from them (an async fn keeps its arguments and its locals apart). Here the
/// task captures only what the loop uses, already in its final form, and the one-off join
/// request goes in a box that is handed on. An idle socket's task was 2 KiB; see
/// docs/benchmarks.md, "Signalling".
pub fn run(
    session: Session,
    stream: actix_ws::MessageStream,
    rooms: Rooms,
    arrival: Arrival,
    limits: Limits,
    ready: oneshot::Sender<()>,
) -> impl std::future::Future<Output = ()> {
    let (tx, outbound) = super::outbound::queue(outbound_capacity(limits.rate_per_sec));
    let conn = rooms.next_conn();
    let join = Box::new(JoinRequest {
        room: arrival.room,
        status: arrival.status,
        conn,
        who: arrival.who,
        ice_servers: arrival.ice_servers,
        outbound: tx,
    });
    let stream = stream
        .max_frame_size(limits.max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(limits.max_frame_bytes);
    serve(session, stream, rooms, conn, join, ready, outbound, limits)
}

/// Joins the room and writes the registry's first answer into the session (see [`run`]);
/// whether the registry took the join. Boxed by the caller: it runs once per socket.
async fn join(
    session: &mut Session,
    rooms: &Rooms,
    join: Box<JoinRequest>,
    outbound: &mut super::outbound::Receiver<Outbound>,
) -> bool {
    if rooms.join(join).await.is_err() {
        return false;
    }
    match outbound.recv().await {
        // A failed write is the loop's to notice (the client has gone).
        Some(Outbound::Msg(msg)) => drop(write(session, msg.as_ref()).await),
        Some(other) => outbound.put_back(other),
        // The registry dropped the socket already; the loop closes it.
        None => {}
    }
    true
}

/// The socket's loop. A function returning an `async move` block rather than an `async fn`:
/// an async fn keeps each argument twice (as passed, and as the binding the body uses), ~300
/// bytes per socket here; the block captures each value once.
#[allow(clippy::manual_async_fn, clippy::too_many_arguments)] // not an async fn, see above
fn serve(
    mut session: Session,
    mut stream: actix_ws::AggregatedMessageStream,
    rooms: Rooms,
    conn: ConnId,
    join_request: Box<JoinRequest>,
    ready: oneshot::Sender<()>,
    mut outbound: super::outbound::Receiver<Outbound>,
    limits: Limits,
) -> impl std::future::Future<Output = ()> {
    async move {
        let joined = Box::pin(join(&mut session, &rooms, join_request, &mut outbound)).await;
        let _ = ready.send(());
        if !joined {
            close_with(&mut session, CloseReason::ServerRestart).await;
            return;
        }
        let timeout = limits.heartbeat_timeout.max(Duration::from_millis(300));
        // Pings at a third of the timeout: a live client answers at least twice before it counts
        // as silent, even on a lossy link.
        let ping_every = timeout / 3;
        let mut last_seen = Instant::now();
        let mut next_ping = last_seen + ping_every;
        // One timer for both the next ping and the silence deadline (whichever is due first).
        let timer = tokio::time::sleep_until(next_ping.min(last_seen + timeout));
        tokio::pin!(timer);
        let rate = f64::from(limits.rate_per_sec.max(1));
        let mut bucket = TokenBucket::new(rate, 2.0 * rate, last_seen);
        let mut strikes = 0u32;
        let mut link: Option<Box<Link>> = None;

        let reason = loop {
            tokio::select! {
                out = outbound.recv() => match out {
                    Some(Outbound::Msg(msg)) => {
                        if matches!(*msg, ServerMsg::Signal { .. } | ServerMsg::Chat { .. }) {
                            rooms.relayed();
                        }
                        if write(&mut session, msg.as_ref()).await.is_err() {
                            close(&session, 1008, "slow_reader").await;
                            break LeaveReason::SlowReader;
                        }
                    }
                    Some(Outbound::Link(l)) => link = Some(l),
                    Some(Outbound::Close(reason)) => {
                        close_with(&mut session, reason).await;
                        // The registry already took the socket out of the room.
                        break LeaveReason::Left;
                    }
                    None => {
                        // The registry dropped this socket: its queue overflowed.
                        close(&session, 1008, "slow_reader").await;
                        break LeaveReason::SlowReader;
                    }
                },
                frame = stream.recv() => {
                    last_seen = Instant::now();
                    match frame {
                        None => break LeaveReason::Disconnected,
                        Some(Err(ProtocolError::Overflow)) => {
                            close(&session, 1009, "frame_too_large").await;
                            break LeaveReason::Disconnected;
                        }
                        Some(Err(ProtocolError::Io(e))) if e.to_string().contains("continuation size") => {
                            close(&session, 1009, "frame_too_large").await;
                            break LeaveReason::Disconnected;
                        }
                        Some(Err(_)) => {
                            close(&session, 1002, "protocol_error").await;
                            break LeaveReason::Disconnected;
                        }
                        Some(Ok(AggregatedMessage::Close(_))) => {
                            close(&session, 1000, "bye").await;
                            break LeaveReason::Disconnected;
                        }
                        Some(Ok(AggregatedMessage::Ping(bytes))) => {
                            // Boxed for the same reason as the send in `write`.
                            let _ = Box::pin(session.pong(&bytes)).await;
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => {}
                        Some(Ok(AggregatedMessage::Binary(_))) => {
                            let sending = write(
                                &mut session,
                                &ServerMsg::error(ErrorCode::TextOnly, "Send JSON text frames."),
                            );
                            if sending.await.is_err() {
                                break LeaveReason::Disconnected;
                            }
                        }
                        Some(Ok(AggregatedMessage::Text(text))) => {
                            if !bucket.take(last_seen) {
                                strikes += 1;
                                if strikes >= STRIKES_BEFORE_CLOSE {
                                    close_with(&mut session, CloseReason::RateLimited).await;
                                    break LeaveReason::RateLimited;
                                }
                                if strikes == 1 {
                                    let sending = write(
                                        &mut session,
                                        &ServerMsg::error(
                                            ErrorCode::RateLimited,
                                            "Too many messages; some were dropped.",
                                        ),
                                    );
                                    if sending.await.is_err() {
                                        break LeaveReason::Disconnected;
                                    }
                                }
                                continue;
                            }
                            strikes = 0;
                            // The refusal boxed: the match's value lives across its awaits.
                            match parse_client(&text).map_err(Box::new) {
                                // Answered here: a keep-alive need not cross to the registry.
                                Ok(ClientMsg::Ping) => {
                                    let sending = write(&mut session, &ServerMsg::Pong);
                                    if sending.await.is_err() {
                                        break LeaveReason::Disconnected;
                                    }
                                }
                                Ok(msg) => {
                                    // Straight to the paired peer if possible, else through the
                                    // registry (counted, so the direct path waits for it).
                                    if let Err(msg) = relay(&mut link, &outbound, msg) {
                                        outbound.routing();
                                        if Box::pin(rooms.message(conn, msg)).await.is_err() {
                                            outbound.not_routed();
                                            close_with(&mut session, CloseReason::ServerRestart).await;
                                            break LeaveReason::Disconnected;
                                        }
                                    }
                                }
                                Err(refusal) => {
                                    if write(&mut session, &refusal).await.is_err() {
                                        break LeaveReason::Disconnected;
                                    }
                                }
                            }
                        }
                    }
                },
                () = &mut timer => {
                    let now = Instant::now();
                    if now >= last_seen + timeout {
                        close_with(&mut session, CloseReason::Timeout).await;
                        break LeaveReason::Timeout;
                    }
                    if now >= next_ping {
                        // A ping that cannot even be queued means the client stopped reading.
                        let ping = Box::pin(tokio::time::timeout(WRITE_TIMEOUT, session.ping(b"")));
                        if ping.await.is_err() {
                            close(&session, 1008, "slow_reader").await;
                            break LeaveReason::SlowReader;
                        }
                        next_ping = now + ping_every;
                    }
                    // Frames since the timer was set moved the deadline on.
                    timer.as_mut().reset(next_ping.min(last_seen + timeout));
                },
            }
        };
        Box::pin(rooms.gone(conn, reason)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(50.0, 100.0, t0);
        let passed = (0..150).filter(|_| b.take(t0)).count();
        assert_eq!(passed, 100, "the burst");
        assert!(!b.take(t0));
        // 100 ms later: 5 more.
        let t1 = t0 + Duration::from_millis(100);
        let later = (0..10).filter(|_| b.take(t1)).count();
        assert_eq!(later, 5);
        // Never more than the burst, however long the pause.
        let t2 = t1 + Duration::from_secs(3600);
        assert_eq!((0..1000).filter(|_| b.take(t2)).count(), 100);
    }
}
