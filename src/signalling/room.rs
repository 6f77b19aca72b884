//! One consultation room as a pure state machine: [`Room::apply`] takes a [`Command`] (a socket
//! joined, a message arrived, a socket went away, the appointment closed) and returns the
//! [`Effect`]s to carry out (messages to sockets, sockets to close, appointment status to
//! persist). No sockets, clocks or tasks here: the registry owns those, and every rule of the
//! waiting room is tested below without them.
//!
//! Rules (DESIGN §6): staff (the clerk, supervisors) are admitted at once; the citizen waits
//! until a staff member admits them, and while waiting sees no peer and no signal (chat from the
//! staff does reach them). Signals pass only between admitted participants. A second socket of
//! the same participant replaces the first, keeping its state, and the peers are told again
//! (`peer_joined` → restart ICE). The citizen and the clerk always have a seat; supervisors fill
//! the rest of `max_sockets`.
//!
//! Direct relay: while the room holds exactly two members and both are admitted, it *pairs* their
//! sockets ([`Effect::Pair`]): each session may then put its `signal` and `chat` straight on the
//! other's outbound queue, with the same rules as here (the other is admitted and the only one who
//! would receive them). Any change to that — an admit, a hold, a leave, a replaced socket, a third
//! member, the room closing — first revokes the pairing ([`Effect::Unpair`], always the first
//! effect, so nothing relayed can follow what the change tells the sockets) and, if the room is a
//! pair again afterwards, pairs the new sockets ([`Effect::Pair`], always the last effect, after
//! the `admitted`/`peer_joined` messages).

use chrono::{DateTime, Utc};

use super::protocol::{
    ClientMsg, CloseReason, ErrorCode, LeaveReason, Participant, ParticipantId, ParticipantState,
    Role, ServerMsg,
};
use crate::domain::appointment::Status;
use crate::domain::ids::{AppointmentId, StaffId};
use crate::rooms::ice::IceServer;

/// Identifies one socket for its whole life; never reused, so a late event from a replaced
/// socket cannot touch its successor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Longest chat line, in characters.
pub const MAX_CHAT_CHARS: usize = 2000;

/// Who caused a status change, for the audit trail (`appointment_events.actor`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    Citizen,
    Staff(StaffId),
}

impl Actor {
    pub fn audit(self) -> String {
        match self {
            Actor::Citizen => "citizen".into(),
            Actor::Staff(id) => id.actor(),
        }
    }
}

/// Someone arriving with a redeemed ticket.
#[derive(Clone, Debug)]
pub struct Joiner {
    pub id: ParticipantId,
    pub role: Role,
    pub name: String,
    pub actor: Actor,
}

#[derive(Debug)]
pub enum Command {
    /// A socket passed its ticket check and wants in.
    Join {
        conn: ConnId,
        who: Joiner,
        ice_servers: Vec<IceServer>,
    },
    /// A parsed client message; `now` stamps chat lines.
    Message {
        conn: ConnId,
        msg: ClientMsg,
        now: DateTime<Utc>,
    },
    /// A socket is gone (closed, silent, too slow, flooding).
    Gone { conn: ConnId, reason: LeaveReason },
    /// The appointment left the active states outside the room (completed, no-show, cancelled).
    AppointmentClosed { status: Status },
    /// Everyone out (the server is stopping).
    CloseAll { reason: CloseReason },
}

#[derive(Debug, PartialEq)]
pub enum Effect {
    /// Queue a message on a socket.
    Send { to: ConnId, msg: ServerMsg },
    /// Send `closed {reason}` and close the socket; it is no longer in the room.
    Close { conn: ConnId, reason: CloseReason },
    /// Persist the appointment's new status (with an audit event by `actor`).
    SetStatus { to: Status, actor: Actor },
    /// `a` and `b` (participants `a_id` and `b_id`) are now the room's only members, both
    /// admitted: each may relay signals and chat directly to the other.
    Pair {
        a: ConnId,
        a_id: ParticipantId,
        b: ConnId,
        b_id: ParticipantId,
    },
    /// The pairing of `a` and `b` no longer holds: nothing more may be relayed between them
    /// directly.
    Unpair { a: ConnId, b: ConnId },
}

#[derive(Debug)]
struct Member {
    conn: ConnId,
    who: Participant,
    actor: Actor,
}

impl Member {
    fn admitted(&self) -> bool {
        self.who.state == ParticipantState::Admitted
    }

    /// What this member may know about `other`: staff see everyone, an admitted citizen sees
    /// the admitted, a waiting citizen sees no one.
    fn sees(&self, other: &Member) -> bool {
        if self.who.role.is_staff() {
            true
        } else {
            self.admitted() && other.admitted()
        }
    }
}

#[derive(Debug)]
pub struct Room {
    id: AppointmentId,
    status: Status,
    max_sockets: usize,
    members: Vec<Member>,
}

impl Room {
    /// A room for an appointment in `status` (as read when the first ticket was redeemed).
    /// `max_sockets` below 2 is raised to 2: the citizen and the clerk always fit.
    pub fn new(id: AppointmentId, status: Status, max_sockets: usize) -> Room {
        Room {
            id,
            status,
            max_sockets: max_sockets.max(2),
            members: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn participants(&self) -> impl Iterator<Item = &Participant> {
        self.members.iter().map(|m| &m.who)
    }

    /// The room's two sockets if it holds exactly two members and both are admitted.
    fn pair(&self) -> Option<(ConnId, ConnId)> {
        match &self.members[..] {
            [a, b] if a.admitted() && b.admitted() => Some((a.conn, b.conn)),
            _ => None,
        }
    }

    pub fn apply(&mut self, command: Command) -> Vec<Effect> {
        let before = self.pair();
        let mut out = self.apply_inner(command);
        let after = self.pair();
        if before != after {
            if let Some((a, b)) = before {
                out.insert(0, Effect::Unpair { a, b });
            }
            if let Some((a, b)) = after
                && let [ma, mb] = &self.members[..]
            {
                out.push(Effect::Pair {
                    a,
                    a_id: ma.who.id.clone(),
                    b,
                    b_id: mb.who.id.clone(),
                });
            }
        }
        out
    }

    fn apply_inner(&mut self, command: Command) -> Vec<Effect> {
        let mut out = Vec::new();
        let actor = match command {
            Command::Join {
                conn,
                who,
                ice_servers,
            } => self.join(conn, who, ice_servers, &mut out),
            Command::Message { conn, msg, now } => self.message(conn, msg, now, &mut out),
            Command::Gone { conn, reason } => self.remove(conn, reason, &mut out),
            Command::AppointmentClosed { status } => {
                self.status = status;
                if let Some(reason) = CloseReason::for_status(status) {
                    self.close_all(reason, &mut out);
                }
                None
            }
            Command::CloseAll { reason } => {
                // No status change: clients reconnect to the restarted server at once.
                self.close_all(reason, &mut out);
                None
            }
        };
        if let Some(actor) = actor {
            self.follow_status(actor, &mut out);
        }
        out
    }

    /// Moves the appointment's status after the room: citizen waiting → `waiting`, admitted →
    /// `in_call`, gone from the waiting room → `booked`. A citizen who drops out of a call
    /// leaves it `in_call` (they will most likely be back; the clerk completes it).
    fn follow_status(&mut self, actor: Actor, out: &mut Vec<Effect>) {
        let citizen = self.members.iter().find(|m| m.who.role == Role::Citizen);
        let desired = match citizen {
            Some(m) if m.admitted() => Status::InCall,
            Some(_) => Status::Waiting,
            None if self.status == Status::Waiting => Status::Booked,
            None => return,
        };
        if desired != self.status && self.status.can_become(desired) {
            self.status = desired;
            out.push(Effect::SetStatus { to: desired, actor });
        }
    }

    fn index(&self, conn: ConnId) -> Option<usize> {
        self.members.iter().position(|m| m.conn == conn)
    }

    fn has_seat(&self, role: Role) -> bool {
        let reserved = [Role::Citizen, Role::Clerk]
            .into_iter()
            .filter(|r| *r != role && !self.members.iter().any(|m| m.who.role == *r))
            .count();
        self.members.len() + reserved < self.max_sockets
    }

    fn join(
        &mut self,
        conn: ConnId,
        who: Joiner,
        ice_servers: Vec<IceServer>,
        out: &mut Vec<Effect>,
    ) -> Option<Actor> {
        if let Some(reason) = CloseReason::for_status(self.status) {
            out.push(Effect::Close { conn, reason });
            return None;
        }
        let idx = match self.members.iter().position(|m| m.who.id == who.id) {
            Some(i) => {
                // Resume: the new socket takes the old one's place and state.
                let old = std::mem::replace(&mut self.members[i].conn, conn);
                self.members[i].who.name = who.name;
                out.push(Effect::Close {
                    conn: old,
                    reason: CloseReason::Replaced,
                });
                i
            }
            None => {
                if !self.has_seat(who.role) {
                    out.push(Effect::Close {
                        conn,
                        reason: CloseReason::RoomFull,
                    });
                    return None;
                }
                // Staff are always in. A citizen comes back admitted while the appointment is
                // in_call: they were admitted and their socket died (a page reload, a network
                // switch, a server restart) — the clerk put nobody on hold, so making them wait
                // again would break the call for nothing.
                let state = if who.role.is_staff()
                    || (who.role == Role::Citizen && self.status == Status::InCall)
                {
                    ParticipantState::Admitted
                } else {
                    ParticipantState::Waiting
                };
                self.members.push(Member {
                    conn,
                    who: Participant {
                        id: who.id,
                        role: who.role,
                        name: who.name,
                        state,
                    },
                    actor: who.actor,
                });
                self.members.len() - 1
            }
        };
        let me = &self.members[idx];
        let peers = self
            .members
            .iter()
            .filter(|o| o.conn != conn && me.sees(o))
            .map(|o| o.who.clone())
            .collect();
        out.push(Effect::Send {
            to: conn,
            msg: ServerMsg::Welcome {
                you: me.who.clone(),
                room: self.id.0,
                state: me.who.state,
                peers,
                ice_servers,
            },
        });
        if !me.admitted() {
            out.push(Effect::Send {
                to: conn,
                msg: ServerMsg::Waiting,
            });
        }
        self.announce(idx, out);
        Some(who.actor)
    }

    /// Tells the others who can see member `idx` that it is here (again).
    fn announce(&self, idx: usize, out: &mut Vec<Effect>) {
        let me = &self.members[idx];
        for other in self.members.iter().filter(|o| o.conn != me.conn) {
            let msg = if me.admitted() && other.admitted() {
                ServerMsg::PeerJoined {
                    peer: me.who.clone(),
                }
            } else if !me.admitted() && other.who.role.is_staff() {
                ServerMsg::PeerWaiting {
                    peer: me.who.clone(),
                }
            } else {
                continue;
            };
            out.push(Effect::Send {
                to: other.conn,
                msg,
            });
        }
    }

    fn remove(
        &mut self,
        conn: ConnId,
        reason: LeaveReason,
        out: &mut Vec<Effect>,
    ) -> Option<Actor> {
        let idx = self.index(conn)?;
        let gone = self.members.remove(idx);
        for other in &self.members {
            if other.sees(&gone) {
                out.push(Effect::Send {
                    to: other.conn,
                    msg: ServerMsg::PeerLeft {
                        peer: gone.who.clone(),
                        reason,
                    },
                });
            }
        }
        Some(gone.actor)
    }

    fn close_all(&mut self, reason: CloseReason, out: &mut Vec<Effect>) {
        for m in self.members.drain(..) {
            out.push(Effect::Close {
                conn: m.conn,
                reason,
            });
        }
    }

    fn message(
        &mut self,
        conn: ConnId,
        msg: ClientMsg,
        now: DateTime<Utc>,
        out: &mut Vec<Effect>,
    ) -> Option<Actor> {
        let idx = self.index(conn)?;
        let refuse = |out: &mut Vec<Effect>, code, text: &str| {
            out.push(Effect::Send {
                to: conn,
                msg: ServerMsg::error(code, text),
            });
            None
        };
        match msg {
            ClientMsg::Ping => {
                out.push(Effect::Send {
                    to: conn,
                    msg: ServerMsg::Pong,
                });
                None
            }
            ClientMsg::Leave => {
                out.push(Effect::Close {
                    conn,
                    reason: CloseReason::Left,
                });
                self.remove(conn, LeaveReason::Left, out)
            }
            ClientMsg::Signal { to, payload } => {
                let me = &self.members[idx];
                if !me.admitted() {
                    return refuse(
                        out,
                        ErrorCode::NotAdmitted,
                        "Wait until the clerk lets you in.",
                    );
                }
                let Some(target) = self
                    .members
                    .iter()
                    .find(|m| m.who.id == to && m.conn != conn)
                else {
                    return refuse(
                        out,
                        ErrorCode::UnknownParticipant,
                        "No such participant here.",
                    );
                };
                if !target.admitted() {
                    return refuse(
                        out,
                        ErrorCode::PeerNotAdmitted,
                        "That participant is in the waiting room.",
                    );
                }
                out.push(Effect::Send {
                    to: target.conn,
                    msg: ServerMsg::Signal {
                        from: me.who.id.clone(),
                        payload,
                    },
                });
                None
            }
            ClientMsg::Chat { text } => {
                let text = text.trim();
                if text.is_empty() || text.chars().count() > MAX_CHAT_CHARS {
                    return refuse(
                        out,
                        ErrorCode::InvalidChat,
                        "Chat text must be 1 to 2000 characters.",
                    );
                }
                let me = &self.members[idx];
                for other in self.members.iter().filter(|o| o.conn != conn) {
                    // Staff reach everyone (a waiting citizen too); a citizen reaches whoever
                    // can see them.
                    if me.who.role.is_staff() || other.sees(me) {
                        out.push(Effect::Send {
                            to: other.conn,
                            msg: ServerMsg::Chat {
                                from: me.who.id.clone(),
                                text: text.to_string(),
                                at: now,
                            },
                        });
                    }
                }
                None
            }
            ClientMsg::Admit { participant } | ClientMsg::Hold { participant }
                if !self.members[idx].who.role.is_staff() =>
            {
                let _ = participant;
                refuse(
                    out,
                    ErrorCode::Forbidden,
                    "Only the clerk or a supervisor may admit or hold.",
                )
            }
            ClientMsg::Admit { participant } => {
                let actor = self.members[idx].actor;
                let Some(t) = self.members.iter().position(|m| m.who.id == participant) else {
                    return refuse(
                        out,
                        ErrorCode::UnknownParticipant,
                        "No such participant here.",
                    );
                };
                if self.members[t].admitted() {
                    return None;
                }
                self.members[t].who.state = ParticipantState::Admitted;
                out.push(Effect::Send {
                    to: self.members[t].conn,
                    msg: ServerMsg::Admitted,
                });
                let target = &self.members[t];
                for other in self.members.iter().filter(|o| o.conn != target.conn) {
                    if other.admitted() {
                        out.push(Effect::Send {
                            to: target.conn,
                            msg: ServerMsg::PeerJoined {
                                peer: other.who.clone(),
                            },
                        });
                    }
                }
                self.announce(t, out);
                Some(actor)
            }
            ClientMsg::Hold { participant } => {
                let actor = self.members[idx].actor;
                let Some(t) = self.members.iter().position(|m| m.who.id == participant) else {
                    return refuse(
                        out,
                        ErrorCode::UnknownParticipant,
                        "No such participant here.",
                    );
                };
                if self.members[t].who.role != Role::Citizen {
                    return refuse(out, ErrorCode::Forbidden, "Only a citizen can be held.");
                }
                if !self.members[t].admitted() {
                    return None;
                }
                self.members[t].who.state = ParticipantState::Waiting;
                out.push(Effect::Send {
                    to: self.members[t].conn,
                    msg: ServerMsg::Waiting,
                });
                self.announce(t, out);
                Some(actor)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::protocol::Payload;
    use serde_json::json;

    const CITIZEN: ConnId = ConnId(1);
    const CLERK: ConnId = ConnId(2);
    const SUPERVISOR: ConnId = ConnId(3);

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
    }

    fn payload(v: serde_json::Value) -> Payload {
        match Payload::parse(&v.to_string()) {
            Ok(p) => p,
            Err(e) => panic!("{v}: {e}"),
        }
    }

    fn appt() -> AppointmentId {
        AppointmentId(uuid::Uuid::from_u128(7))
    }

    fn clerk_staff() -> StaffId {
        StaffId(uuid::Uuid::from_u128(2))
    }

    fn joiner(role: Role) -> Joiner {
        match role {
            Role::Citizen => Joiner {
                id: ParticipantId::citizen(appt()),
                role,
                name: "Budi".into(),
                actor: Actor::Citizen,
            },
            Role::Clerk => Joiner {
                id: ParticipantId::staff(role, clerk_staff()),
                role,
                name: "Petugas".into(),
                actor: Actor::Staff(clerk_staff()),
            },
            Role::Supervisor => {
                let s = StaffId(uuid::Uuid::from_u128(3));
                Joiner {
                    id: ParticipantId::staff(role, s),
                    role,
                    name: "Kepala".into(),
                    actor: Actor::Staff(s),
                }
            }
        }
    }

    fn id(role: Role) -> ParticipantId {
        joiner(role).id
    }

    fn join(room: &mut Room, conn: ConnId, role: Role) -> Vec<Effect> {
        room.apply(Command::Join {
            conn,
            who: joiner(role),
            ice_servers: vec![],
        })
    }

    fn say(room: &mut Room, conn: ConnId, msg: ClientMsg) -> Vec<Effect> {
        room.apply(Command::Message {
            conn,
            msg,
            now: now(),
        })
    }

    /// Messages for one socket, in order.
    fn to(effects: &[Effect], conn: ConnId) -> Vec<&ServerMsg> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { to, msg } if *to == conn => Some(msg),
                _ => None,
            })
            .collect()
    }

    fn statuses(effects: &[Effect]) -> Vec<Status> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::SetStatus { to, .. } => Some(*to),
                _ => None,
            })
            .collect()
    }

    fn closes(effects: &[Effect]) -> Vec<(ConnId, CloseReason)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Close { conn, reason } => Some((*conn, *reason)),
                _ => None,
            })
            .collect()
    }

    fn kinds(msgs: &[&ServerMsg]) -> Vec<&'static str> {
        msgs.iter()
            .map(|m| match m {
                ServerMsg::Welcome { .. } => "welcome",
                ServerMsg::Waiting => "waiting",
                ServerMsg::Admitted => "admitted",
                ServerMsg::PeerWaiting { .. } => "peer_waiting",
                ServerMsg::PeerJoined { .. } => "peer_joined",
                ServerMsg::PeerLeft { .. } => "peer_left",
                ServerMsg::Signal { .. } => "signal",
                ServerMsg::Chat { .. } => "chat",
                ServerMsg::Error { .. } => "error",
                ServerMsg::Pong => "pong",
                ServerMsg::Closed { .. } => "closed",
            })
            .collect()
    }

    fn error_code(msgs: &[&ServerMsg]) -> Option<ErrorCode> {
        msgs.iter().find_map(|m| match m {
            ServerMsg::Error { code, .. } => Some(*code),
            _ => None,
        })
    }

    fn booked_room() -> Room {
        Room::new(appt(), Status::Booked, 4)
    }

    /// What the registry reads from a room: its size, its status and who is in it.
    #[test]
    fn a_room_reports_its_members_status_and_actors() {
        let mut r = booked_room();
        assert!(r.is_empty());
        assert_eq!(r.len(), 0);
        join(&mut r, CITIZEN, Role::Citizen);
        assert!(!r.is_empty());
        assert_eq!(r.status(), Status::Waiting);
        join(&mut r, CLERK, Role::Clerk);
        assert_eq!(r.len(), 2);
        let who: Vec<_> = r.participants().map(|p| (p.id.clone(), p.state)).collect();
        assert_eq!(
            who,
            vec![
                (id(Role::Citizen), ParticipantState::Waiting),
                (id(Role::Clerk), ParticipantState::Admitted)
            ]
        );
        assert_eq!(Actor::Citizen.audit(), "citizen");
        assert_eq!(
            Actor::Staff(clerk_staff()).audit(),
            format!("staff:{}", clerk_staff())
        );
    }

    /// Citizen waiting, clerk present, citizen admitted.
    fn in_call() -> Room {
        let mut r = booked_room();
        join(&mut r, CITIZEN, Role::Citizen);
        join(&mut r, CLERK, Role::Clerk);
        say(
            &mut r,
            CLERK,
            ClientMsg::Admit {
                participant: id(Role::Citizen),
            },
        );
        r
    }

    #[test]
    fn a_citizen_waits_and_the_appointment_becomes_waiting() {
        let mut r = booked_room();
        let fx = join(&mut r, CITIZEN, Role::Citizen);
        let msgs = to(&fx, CITIZEN);
        assert_eq!(kinds(&msgs), ["welcome", "waiting"]);
        assert!(matches!(
            msgs[0],
            ServerMsg::Welcome { state: ParticipantState::Waiting, peers, room, .. }
                if peers.is_empty() && *room == appt().0
        ));
        assert_eq!(statuses(&fx), [Status::Waiting]);
        assert!(matches!(
            fx.last(),
            Some(Effect::SetStatus {
                actor: Actor::Citizen,
                ..
            })
        ));
    }

    #[test]
    fn a_clerk_sees_the_waiting_citizen_in_welcome_and_the_citizen_sees_nothing() {
        let mut r = booked_room();
        join(&mut r, CITIZEN, Role::Citizen);
        let fx = join(&mut r, CLERK, Role::Clerk);
        let clerk = to(&fx, CLERK);
        assert_eq!(kinds(&clerk), ["welcome"]);
        assert!(matches!(
            clerk[0],
            ServerMsg::Welcome { state: ParticipantState::Admitted, peers, .. }
                if peers.len() == 1 && peers[0].id == id(Role::Citizen)
                    && peers[0].state == ParticipantState::Waiting
        ));
        assert!(
            to(&fx, CITIZEN).is_empty(),
            "a waiting citizen sees no peer"
        );
        assert!(statuses(&fx).is_empty(), "a clerk alone changes nothing");
    }

    #[test]
    fn a_clerk_already_there_gets_peer_waiting_when_the_citizen_arrives() {
        let mut r = booked_room();
        let fx = join(&mut r, CLERK, Role::Clerk);
        assert!(matches!(
            to(&fx, CLERK)[0],
            ServerMsg::Welcome { peers, .. } if peers.is_empty()
        ));
        let fx = join(&mut r, CITIZEN, Role::Citizen);
        assert!(matches!(
            to(&fx, CLERK)[..],
            [ServerMsg::PeerWaiting { peer }] if peer.id == id(Role::Citizen)
        ));
        assert_eq!(statuses(&fx), [Status::Waiting]);
    }

    #[test]
    fn admit_lets_the_citizen_in_and_both_sides_get_peer_joined() {
        let mut r = booked_room();
        join(&mut r, CITIZEN, Role::Citizen);
        join(&mut r, CLERK, Role::Clerk);
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Admit {
                participant: id(Role::Citizen),
            },
        );
        let citizen = to(&fx, CITIZEN);
        assert_eq!(kinds(&citizen), ["admitted", "peer_joined"]);
        assert!(matches!(citizen[1], ServerMsg::PeerJoined { peer } if peer.id == id(Role::Clerk)));
        assert!(matches!(
            to(&fx, CLERK)[..],
            [ServerMsg::PeerJoined { peer }]
                if peer.id == id(Role::Citizen) && peer.state == ParticipantState::Admitted
        ));
        assert_eq!(statuses(&fx), [Status::InCall]);
        assert!(matches!(
            fx.iter().find(|e| matches!(e, Effect::SetStatus { .. })),
            Some(Effect::SetStatus { actor: Actor::Staff(s), .. }) if *s == clerk_staff()
        ));
        // Admitting again is harmless.
        let again = say(
            &mut r,
            CLERK,
            ClientMsg::Admit {
                participant: id(Role::Citizen),
            },
        );
        assert!(again.is_empty());
    }

    #[test]
    fn only_staff_may_admit_or_hold() {
        let mut r = booked_room();
        join(&mut r, CITIZEN, Role::Citizen);
        join(&mut r, CLERK, Role::Clerk);
        for msg in [
            ClientMsg::Admit {
                participant: id(Role::Citizen),
            },
            ClientMsg::Hold {
                participant: id(Role::Citizen),
            },
        ] {
            let fx = say(&mut r, CITIZEN, msg);
            assert_eq!(error_code(&to(&fx, CITIZEN)), Some(ErrorCode::Forbidden));
            assert!(to(&fx, CLERK).is_empty());
            assert!(statuses(&fx).is_empty());
        }
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Admit {
                participant: ParticipantId::new("citizen-nobody"),
            },
        );
        assert_eq!(
            error_code(&to(&fx, CLERK)),
            Some(ErrorCode::UnknownParticipant)
        );
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Hold {
                participant: id(Role::Clerk),
            },
        );
        assert_eq!(error_code(&to(&fx, CLERK)), Some(ErrorCode::Forbidden));
    }

    #[test]
    fn a_supervisor_is_admitted_and_may_admit() {
        let mut r = booked_room();
        join(&mut r, CITIZEN, Role::Citizen);
        let fx = join(&mut r, SUPERVISOR, Role::Supervisor);
        assert!(matches!(
            to(&fx, SUPERVISOR)[0],
            ServerMsg::Welcome { state: ParticipantState::Admitted, peers, .. } if peers.len() == 1
        ));
        let fx = say(
            &mut r,
            SUPERVISOR,
            ClientMsg::Admit {
                participant: id(Role::Citizen),
            },
        );
        assert_eq!(kinds(&to(&fx, CITIZEN)), ["admitted", "peer_joined"]);
        assert_eq!(statuses(&fx), [Status::InCall]);
    }

    #[test]
    fn hold_sends_the_citizen_back_to_waiting() {
        let mut r = in_call();
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Hold {
                participant: id(Role::Citizen),
            },
        );
        assert_eq!(kinds(&to(&fx, CITIZEN)), ["waiting"]);
        assert!(matches!(
            to(&fx, CLERK)[..],
            [ServerMsg::PeerWaiting { peer }] if peer.state == ParticipantState::Waiting
        ));
        assert_eq!(statuses(&fx), [Status::Waiting]);
        // A held citizen may not signal any more.
        let fx = say(
            &mut r,
            CITIZEN,
            ClientMsg::Signal {
                to: id(Role::Clerk),
                payload: payload(json!({})),
            },
        );
        assert_eq!(error_code(&to(&fx, CITIZEN)), Some(ErrorCode::NotAdmitted));
        // Holding a waiting citizen does nothing.
        assert!(
            say(
                &mut r,
                CLERK,
                ClientMsg::Hold {
                    participant: id(Role::Citizen)
                }
            )
            .is_empty()
        );
    }

    #[test]
    fn signals_pass_only_between_admitted_participants() {
        let mut r = booked_room();
        join(&mut r, CITIZEN, Role::Citizen);
        join(&mut r, CLERK, Role::Clerk);
        let offer = payload(json!({"description": {"type": "offer", "sdp": "v=0"}}));
        // Waiting citizen → clerk: refused.
        let fx = say(
            &mut r,
            CITIZEN,
            ClientMsg::Signal {
                to: id(Role::Clerk),
                payload: offer.clone(),
            },
        );
        assert_eq!(error_code(&to(&fx, CITIZEN)), Some(ErrorCode::NotAdmitted));
        assert!(to(&fx, CLERK).is_empty());
        // Clerk → waiting citizen: refused, and the citizen receives nothing.
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Signal {
                to: id(Role::Citizen),
                payload: offer.clone(),
            },
        );
        assert_eq!(
            error_code(&to(&fx, CLERK)),
            Some(ErrorCode::PeerNotAdmitted)
        );
        assert!(to(&fx, CITIZEN).is_empty());
        say(
            &mut r,
            CLERK,
            ClientMsg::Admit {
                participant: id(Role::Citizen),
            },
        );
        // Now both ways, opaque.
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Signal {
                to: id(Role::Citizen),
                payload: offer.clone(),
            },
        );
        assert_eq!(
            to(&fx, CITIZEN),
            [&ServerMsg::Signal {
                from: id(Role::Clerk),
                payload: offer.clone()
            }]
        );
        let answer = payload(
            json!({"candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"}}),
        );
        let fx = say(
            &mut r,
            CITIZEN,
            ClientMsg::Signal {
                to: id(Role::Clerk),
                payload: answer.clone(),
            },
        );
        assert_eq!(
            to(&fx, CLERK),
            [&ServerMsg::Signal {
                from: id(Role::Citizen),
                payload: answer
            }]
        );
        // To nobody, or to oneself.
        for target in [ParticipantId::new("clerk-ffff"), id(Role::Citizen)] {
            let fx = say(
                &mut r,
                CITIZEN,
                ClientMsg::Signal {
                    to: target,
                    payload: payload(json!({})),
                },
            );
            assert_eq!(
                error_code(&to(&fx, CITIZEN)),
                Some(ErrorCode::UnknownParticipant)
            );
        }
    }

    #[test]
    fn chat_is_stamped_and_reaches_a_waiting_citizen_from_the_clerk() {
        let mut r = booked_room();
        join(&mut r, CITIZEN, Role::Citizen);
        join(&mut r, CLERK, Role::Clerk);
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Chat {
                text: "  lima menit lagi ".into(),
            },
        );
        assert_eq!(
            to(&fx, CITIZEN),
            [&ServerMsg::Chat {
                from: id(Role::Clerk),
                text: "lima menit lagi".into(),
                at: now()
            }]
        );
        assert!(to(&fx, CLERK).is_empty(), "no echo");
        // The waiting citizen reaches the staff, who see them anyway.
        let fx = say(
            &mut r,
            CITIZEN,
            ClientMsg::Chat {
                text: "baik".into(),
            },
        );
        assert_eq!(kinds(&to(&fx, CLERK)), ["chat"]);
        for bad in ["   ".to_string(), "x".repeat(MAX_CHAT_CHARS + 1)] {
            let fx = say(&mut r, CLERK, ClientMsg::Chat { text: bad });
            assert_eq!(error_code(&to(&fx, CLERK)), Some(ErrorCode::InvalidChat));
            assert!(to(&fx, CITIZEN).is_empty());
        }
    }

    /// 2,000 characters (not bytes) pass, the 2,001st is refused; blanks around are trimmed
    /// first, so padding does not count.
    #[test]
    fn chat_length_is_counted_in_characters_up_to_exactly_the_limit() {
        let mut r = booked_room();
        join(&mut r, CITIZEN, Role::Citizen);
        join(&mut r, CLERK, Role::Clerk);
        let longest = "é".repeat(MAX_CHAT_CHARS);
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Chat {
                text: format!("  {longest}  "),
            },
        );
        assert!(error_code(&to(&fx, CLERK)).is_none());
        assert!(matches!(to(&fx, CITIZEN)[..], [ServerMsg::Chat { text, .. }] if *text == longest));
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Chat {
                text: format!("{longest}é"),
            },
        );
        assert_eq!(error_code(&to(&fx, CLERK)), Some(ErrorCode::InvalidChat));
        assert!(to(&fx, CITIZEN).is_empty());
    }

    /// The room moves the appointment only along the documented moves: with the status set
    /// to `booked` under a waiting citizen (a command the registry does not send today, but
    /// the room accepts), admitting them is not followed by `booked → in_call`, which the
    /// rules forbid.
    #[test]
    fn the_room_never_asks_for_a_move_the_rules_forbid() {
        let mut r = booked_room();
        join(&mut r, CITIZEN, Role::Citizen);
        join(&mut r, CLERK, Role::Clerk);
        assert_eq!(r.status(), Status::Waiting);
        let fx = r.apply(Command::AppointmentClosed {
            status: Status::Booked,
        });
        assert!(fx.is_empty(), "an active status closes nothing: {fx:?}");
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Admit {
                participant: id(Role::Citizen),
            },
        );
        assert_eq!(kinds(&to(&fx, CITIZEN)), ["admitted", "peer_joined"]);
        assert_eq!(statuses(&fx), []);
        assert_eq!(r.status(), Status::Booked);
    }

    #[test]
    fn ping_gets_pong() {
        let mut r = booked_room();
        join(&mut r, CITIZEN, Role::Citizen);
        let fx = say(&mut r, CITIZEN, ClientMsg::Ping);
        assert_eq!(to(&fx, CITIZEN), [&ServerMsg::Pong]);
    }

    #[test]
    fn leave_closes_the_socket_and_tells_the_peer() {
        let mut r = in_call();
        let fx = say(&mut r, CITIZEN, ClientMsg::Leave);
        assert_eq!(closes(&fx), [(CITIZEN, CloseReason::Left)]);
        assert!(matches!(
            to(&fx, CLERK)[..],
            [ServerMsg::PeerLeft { peer, reason: LeaveReason::Left }] if peer.id == id(Role::Citizen)
        ));
        assert!(
            statuses(&fx).is_empty(),
            "a call stays in_call for the clerk to complete"
        );
        assert_eq!(r.len(), 1);
        let fx = say(&mut r, CLERK, ClientMsg::Leave);
        assert_eq!(closes(&fx), [(CLERK, CloseReason::Left)]);
        assert!(r.is_empty());
    }

    #[test]
    fn a_citizen_leaving_the_waiting_room_puts_the_appointment_back_to_booked() {
        let mut r = booked_room();
        join(&mut r, CLERK, Role::Clerk);
        join(&mut r, CITIZEN, Role::Citizen);
        let fx = r.apply(Command::Gone {
            conn: CITIZEN,
            reason: LeaveReason::Disconnected,
        });
        assert!(matches!(
            to(&fx, CLERK)[..],
            [ServerMsg::PeerLeft {
                reason: LeaveReason::Disconnected,
                ..
            }]
        ));
        assert_eq!(statuses(&fx), [Status::Booked]);
        assert_eq!(r.status(), Status::Booked);
    }

    #[test]
    fn a_waiting_citizen_is_not_told_when_staff_leave() {
        let mut r = booked_room();
        join(&mut r, CITIZEN, Role::Citizen);
        join(&mut r, CLERK, Role::Clerk);
        let fx = r.apply(Command::Gone {
            conn: CLERK,
            reason: LeaveReason::Timeout,
        });
        assert!(to(&fx, CITIZEN).is_empty());
    }

    #[test]
    fn a_second_socket_replaces_the_first_and_the_peer_restarts() {
        let mut r = in_call();
        let new_citizen = ConnId(10);
        let fx = join(&mut r, new_citizen, Role::Citizen);
        assert_eq!(closes(&fx), [(CITIZEN, CloseReason::Replaced)]);
        assert_eq!(r.len(), 2, "no duplicate participant");
        let mine = to(&fx, new_citizen);
        assert!(matches!(
            mine[0],
            ServerMsg::Welcome { state: ParticipantState::Admitted, peers, .. }
                if peers.len() == 1 && peers[0].id == id(Role::Clerk)
        ));
        assert!(matches!(
            to(&fx, CLERK)[..],
            [ServerMsg::PeerJoined { peer }] if peer.id == id(Role::Citizen)
        ));
        assert!(statuses(&fx).is_empty());
        // The old socket's late goodbye does not remove its successor.
        let late = r.apply(Command::Gone {
            conn: CITIZEN,
            reason: LeaveReason::Disconnected,
        });
        assert!(late.is_empty());
        assert_eq!(r.len(), 2);
        // Signals now go to the new socket.
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Signal {
                to: id(Role::Citizen),
                payload: payload(json!(1)),
            },
        );
        assert_eq!(kinds(&to(&fx, new_citizen)), ["signal"]);
    }

    #[test]
    fn a_clerk_who_drops_can_always_come_back() {
        let mut r = Room::new(appt(), Status::Booked, 2);
        join(&mut r, CITIZEN, Role::Citizen);
        join(&mut r, CLERK, Role::Clerk);
        say(
            &mut r,
            CLERK,
            ClientMsg::Admit {
                participant: id(Role::Citizen),
            },
        );
        // A supervisor cannot take the clerk's seat in a full room…
        let fx = join(&mut r, SUPERVISOR, Role::Supervisor);
        assert_eq!(closes(&fx), [(SUPERVISOR, CloseReason::RoomFull)]);
        // …nor after the clerk dropped.
        let fx = r.apply(Command::Gone {
            conn: CLERK,
            reason: LeaveReason::Timeout,
        });
        assert!(matches!(
            to(&fx, CITIZEN)[..],
            [ServerMsg::PeerLeft {
                reason: LeaveReason::Timeout,
                ..
            }]
        ));
        let fx = join(&mut r, SUPERVISOR, Role::Supervisor);
        assert_eq!(closes(&fx), [(SUPERVISOR, CloseReason::RoomFull)]);
        let back = ConnId(20);
        let fx = join(&mut r, back, Role::Clerk);
        assert!(closes(&fx).is_empty());
        assert!(matches!(
            to(&fx, back)[0],
            ServerMsg::Welcome { peers, .. } if peers[0].state == ParticipantState::Admitted
        ));
        assert_eq!(kinds(&to(&fx, CITIZEN)), ["peer_joined"]);
    }

    #[test]
    fn supervisors_fill_the_seats_left_over() {
        let mut r = Room::new(appt(), Status::Booked, 3);
        assert!(closes(&join(&mut r, SUPERVISOR, Role::Supervisor)).is_empty());
        let other = Joiner {
            id: ParticipantId::new("supervisor-other"),
            ..joiner(Role::Supervisor)
        };
        let fx = r.apply(Command::Join {
            conn: ConnId(4),
            who: other,
            ice_servers: vec![],
        });
        assert_eq!(closes(&fx), [(ConnId(4), CloseReason::RoomFull)]);
        assert!(closes(&join(&mut r, CITIZEN, Role::Citizen)).is_empty());
        assert!(closes(&join(&mut r, CLERK, Role::Clerk)).is_empty());
    }

    #[test]
    fn a_citizen_whose_socket_died_mid_call_comes_back_admitted() {
        let mut r = in_call();
        let fx = r.apply(Command::Gone {
            conn: CITIZEN,
            reason: LeaveReason::Timeout,
        });
        assert!(
            statuses(&fx).is_empty(),
            "the call goes on while they reconnect"
        );
        let fx = join(&mut r, ConnId(11), Role::Citizen);
        assert_eq!(kinds(&to(&fx, ConnId(11))), ["welcome"]);
        assert!(statuses(&fx).is_empty());
        assert_eq!(
            kinds(&to(&fx, CLERK)),
            ["peer_joined"],
            "the clerk restarts ICE"
        );
    }

    #[test]
    fn a_citizen_put_on_hold_who_reconnects_still_waits() {
        let mut r = in_call();
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Hold {
                participant: id(Role::Citizen),
            },
        );
        assert_eq!(statuses(&fx), [Status::Waiting]);
        r.apply(Command::Gone {
            conn: CITIZEN,
            reason: LeaveReason::Timeout,
        });
        let fx = join(&mut r, ConnId(11), Role::Citizen);
        assert_eq!(kinds(&to(&fx, ConnId(11))), ["welcome", "waiting"]);
    }

    #[test]
    fn a_room_reopened_after_a_restart_follows_the_stored_status() {
        // The server restarted mid-call: the appointment is still in_call, so the citizen is
        // let straight back in; a booked appointment's citizen waits.
        let mut r = Room::new(appt(), Status::InCall, 4);
        let fx = join(&mut r, CLERK, Role::Clerk);
        assert!(statuses(&fx).is_empty());
        let fx = join(&mut r, CITIZEN, Role::Citizen);
        assert!(statuses(&fx).is_empty());
        assert_eq!(kinds(&to(&fx, CITIZEN)), ["welcome"]);
        let mut booked = Room::new(appt(), Status::Booked, 4);
        let fx = join(&mut booked, CITIZEN, Role::Citizen);
        assert_eq!(statuses(&fx), [Status::Waiting]);
    }

    #[test]
    fn a_closed_appointment_empties_the_room_and_refuses_joins() {
        let mut r = in_call();
        let fx = r.apply(Command::AppointmentClosed {
            status: Status::Completed,
        });
        assert_eq!(
            closes(&fx),
            [
                (CITIZEN, CloseReason::Completed),
                (CLERK, CloseReason::Completed)
            ]
        );
        assert!(statuses(&fx).is_empty());
        assert!(r.is_empty());
        let fx = join(&mut r, CITIZEN, Role::Citizen);
        assert_eq!(closes(&fx), [(CITIZEN, CloseReason::Completed)]);
        assert!(to(&fx, CITIZEN).is_empty());
    }

    #[test]
    fn close_all_tells_everyone_without_touching_the_status() {
        let mut r = booked_room();
        join(&mut r, CITIZEN, Role::Citizen);
        join(&mut r, CLERK, Role::Clerk);
        let fx = r.apply(Command::CloseAll {
            reason: CloseReason::ServerRestart,
        });
        assert_eq!(
            closes(&fx),
            [
                (CITIZEN, CloseReason::ServerRestart),
                (CLERK, CloseReason::ServerRestart)
            ]
        );
        assert!(statuses(&fx).is_empty());
        assert_eq!(r.status(), Status::Waiting);
    }

    fn pairings(effects: &[Effect]) -> Vec<String> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Pair { a, a_id, b, b_id } => Some(format!(
                    "pair {}={} {}={}",
                    a.0,
                    a_id.as_str(),
                    b.0,
                    b_id.as_str()
                )),
                Effect::Unpair { a, b } => Some(format!("unpair {} {}", a.0, b.0)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn admitting_pairs_the_two_sockets_after_telling_them() {
        let mut r = booked_room();
        let fx = join(&mut r, CITIZEN, Role::Citizen);
        assert!(pairings(&fx).is_empty());
        let fx = join(&mut r, CLERK, Role::Clerk);
        assert!(pairings(&fx).is_empty(), "not before the admit");
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Admit {
                participant: id(Role::Citizen),
            },
        );
        assert_eq!(
            pairings(&fx),
            [format!(
                "pair {}={} {}={}",
                CITIZEN.0,
                id(Role::Citizen).as_str(),
                CLERK.0,
                id(Role::Clerk).as_str()
            )]
        );
        assert!(
            matches!(fx.last(), Some(Effect::Pair { .. })),
            "after admitted/peer_joined"
        );
        // Messages that change nothing leave the pairing alone.
        let fx = say(&mut r, CLERK, ClientMsg::Ping);
        assert!(pairings(&fx).is_empty());
    }

    #[test]
    fn every_membership_change_revokes_the_pairing_first() {
        let unpair = format!("unpair {} {}", CITIZEN.0, CLERK.0);
        // Hold.
        let mut r = in_call();
        let fx = say(
            &mut r,
            CLERK,
            ClientMsg::Hold {
                participant: id(Role::Citizen),
            },
        );
        assert_eq!(pairings(&fx), [unpair.as_str()]);
        assert!(matches!(fx.first(), Some(Effect::Unpair { .. })));
        // Leave, and a dropped socket.
        let mut r = in_call();
        let fx = say(&mut r, CITIZEN, ClientMsg::Leave);
        assert_eq!(pairings(&fx), [unpair.as_str()]);
        assert!(matches!(fx.first(), Some(Effect::Unpair { .. })));
        let mut r = in_call();
        let fx = r.apply(Command::Gone {
            conn: CLERK,
            reason: LeaveReason::Timeout,
        });
        assert_eq!(pairings(&fx), [unpair.as_str()]);
        // The room closing.
        let mut r = in_call();
        let fx = r.apply(Command::AppointmentClosed {
            status: Status::Completed,
        });
        assert_eq!(pairings(&fx), [unpair.as_str()]);
        let mut r = in_call();
        let fx = r.apply(Command::CloseAll {
            reason: CloseReason::ServerRestart,
        });
        assert_eq!(pairings(&fx), [unpair.as_str()]);
        // A third member (a supervisor joining) ends the pair: everything goes through the room.
        let mut r = in_call();
        let fx = join(&mut r, SUPERVISOR, Role::Supervisor);
        assert_eq!(pairings(&fx), [unpair.as_str()]);
        assert!(matches!(fx.first(), Some(Effect::Unpair { .. })));
        let fx = r.apply(Command::Gone {
            conn: SUPERVISOR,
            reason: LeaveReason::Left,
        });
        assert_eq!(pairings(&fx).len(), 1, "paired again: {:?}", pairings(&fx));
    }

    #[test]
    fn a_replaced_socket_is_unpaired_and_its_successor_paired() {
        let mut r = in_call();
        let new_citizen = ConnId(10);
        let fx = join(&mut r, new_citizen, Role::Citizen);
        assert_eq!(
            pairings(&fx),
            [
                format!("unpair {} {}", CITIZEN.0, CLERK.0),
                format!(
                    "pair {}={} {}={}",
                    new_citizen.0,
                    id(Role::Citizen).as_str(),
                    CLERK.0,
                    id(Role::Clerk).as_str()
                )
            ]
        );
        assert!(matches!(fx.first(), Some(Effect::Unpair { .. })));
        assert!(matches!(fx.last(), Some(Effect::Pair { .. })));
        // A citizen who reconnects mid-call (after the old socket died) is paired at once.
        let mut r = in_call();
        r.apply(Command::Gone {
            conn: CITIZEN,
            reason: LeaveReason::Timeout,
        });
        let fx = join(&mut r, ConnId(11), Role::Citizen);
        assert_eq!(pairings(&fx).len(), 1);
        assert!(matches!(fx.last(), Some(Effect::Pair { a, b, .. }) if [a.0, b.0].contains(&11)));
    }

    #[test]
    fn messages_from_unknown_sockets_are_ignored() {
        let mut r = booked_room();
        assert!(say(&mut r, ConnId(99), ClientMsg::Ping).is_empty());
        assert!(
            r.apply(Command::Gone {
                conn: ConnId(99),
                reason: LeaveReason::Left
            })
            .is_empty()
        );
    }
}
