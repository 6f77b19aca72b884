//! The signalling wire format of DESIGN §6: JSON text frames `{"type": …}`, one enum per
//! direction. The names here are a contract with the web client and outside clients; the prose
//! for client authors is `docs/protocol.md`.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::domain::appointment::Status;
pub use crate::domain::participant::{ParticipantId, Role};
use crate::rooms::ice::IceServer;

/// Where a participant is: in the waiting room or in the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantState {
    Waiting,
    Admitted,
}

/// A participant as others see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: ParticipantId,
    pub role: Role,
    pub name: String,
    pub state: ParticipantState,
}

/// An SDP description or ICE candidate exactly as the client wrote it. Kept as raw JSON text
/// end to end: the server never needs to look inside, and copying it verbatim is cheaper than
/// parsing it into a tree and writing it out again.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Payload(Box<RawValue>);

impl Payload {
    /// A payload from JSON text (which must be valid JSON).
    pub fn parse(json: &str) -> Result<Payload, serde_json::Error> {
        RawValue::from_string(json.to_string()).map(Payload)
    }

    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        self.get() == other.get()
    }
}

/// Client → server. The wire form is internally tagged (`{"type": "signal", …}`); it is read
/// through [`Envelope`] rather than serde's derived reader, which would buffer every message
/// into an intermediate tree before looking at `type` (and cannot keep a payload raw).
#[derive(Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Any admitted participant, to one admitted peer: an SDP description or ICE candidate in
    /// the browser's JSON form (`{description}` / `{candidate}`), relayed opaque.
    Signal { to: ParticipantId, payload: Payload },
    /// The clerk or a supervisor lets a waiting citizen into the call.
    Admit { participant: ParticipantId },
    /// The clerk or a supervisor sends an admitted citizen back to the waiting room.
    Hold { participant: ParticipantId },
    /// Anyone, to the others in the room (a waiting citizen reaches only the staff).
    Chat { text: String },
    /// Anyone who is done: the server answers `closed {reason: "left"}` and tells the peers.
    Leave,
    /// Anyone, at any time: an application-level keep-alive answered with `pong`.
    Ping,
}

/// Every field any client message has; `type` says which ones must be there.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    to: Option<ParticipantId>,
    participant: Option<ParticipantId>,
    text: Option<String>,
    payload: Option<Payload>,
}

/// Why a frame is not a client message.
enum Unreadable {
    UnknownType,
    Malformed(String),
}

impl Envelope<'_> {
    fn into_msg(self) -> Result<ClientMsg, Unreadable> {
        let missing = |field: &str| Unreadable::Malformed(format!("missing field `{field}`"));
        Ok(match self.kind.as_ref() {
            "signal" => ClientMsg::Signal {
                to: self.to.ok_or_else(|| missing("to"))?,
                payload: self.payload.ok_or_else(|| missing("payload"))?,
            },
            "admit" => ClientMsg::Admit {
                participant: self.participant.ok_or_else(|| missing("participant"))?,
            },
            "hold" => ClientMsg::Hold {
                participant: self.participant.ok_or_else(|| missing("participant"))?,
            },
            "chat" => ClientMsg::Chat {
                text: self.text.ok_or_else(|| missing("text"))?,
            },
            "leave" => ClientMsg::Leave,
            "ping" => ClientMsg::Ping,
            _ => return Err(Unreadable::UnknownType),
        })
    }
}

impl<'de> Deserialize<'de> for ClientMsg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ClientMsg, D::Error> {
        Envelope::deserialize(d)?.into_msg().map_err(|e| match e {
            Unreadable::UnknownType => serde::de::Error::custom("unknown message type"),
            Unreadable::Malformed(m) => serde::de::Error::custom(m),
        })
    }
}

/// Server → client.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// To a socket that just joined: who it is, its state, whom it may see, and its ICE servers.
    Welcome {
        you: Participant,
        room: Uuid,
        state: ParticipantState,
        peers: Vec<Participant>,
        ice_servers: Vec<IceServer>,
    },
    /// To a citizen: you are in the waiting room (after joining, or when put on hold).
    Waiting,
    /// To a citizen: the clerk let you in; `peer_joined` for each peer follows.
    Admitted,
    /// To staff: a citizen is waiting (arrived, reconnected, or was put on hold).
    PeerWaiting { peer: Participant },
    /// To admitted participants: a peer is in the call (again, after a reconnect: restart ICE).
    PeerJoined { peer: Participant },
    /// To those who could see the peer: it left, was dropped, or timed out.
    PeerLeft {
        peer: Participant,
        reason: LeaveReason,
    },
    /// To an admitted participant: a peer's SDP or ICE candidate, as the peer sent it.
    Signal {
        from: ParticipantId,
        payload: Payload,
    },
    /// To the others in the room: a chat line, stamped by the server.
    Chat {
        from: ParticipantId,
        text: String,
        at: DateTime<Utc>,
    },
    /// To the sender of a message that was refused; the socket stays open.
    Error { code: ErrorCode, message: String },
    /// To the sender of `ping`.
    Pong,
    /// Last message before the server closes the socket.
    Closed { reason: CloseReason },
}

/// Why a peer left the room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// It sent `leave`.
    Left,
    /// Its socket closed without `leave`.
    Disconnected,
    /// It stopped answering the heartbeat.
    Timeout,
    /// It read its messages too slowly and was cut off.
    SlowReader,
    /// It kept flooding the server after being warned.
    RateLimited,
}

/// Why the server closed a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The client sent `leave`.
    Left,
    /// A newer socket of the same participant took over.
    Replaced,
    /// The room holds as many sockets as it may.
    RoomFull,
    /// The clerk completed the consultation: do not reconnect.
    Completed,
    /// The appointment was cancelled: do not reconnect.
    Cancelled,
    /// The appointment was closed as a no-show: do not reconnect.
    NoShow,
    /// Loket is stopping or restarting: reconnect with a new ticket shortly.
    ServerRestart,
    /// No frame arrived within the heartbeat timeout.
    Timeout,
    /// Too many messages after the rate-limit warning.
    RateLimited,
}

impl CloseReason {
    /// The WebSocket close code sent with the close frame.
    pub fn ws_code(self) -> u16 {
        match self {
            CloseReason::Left
            | CloseReason::Completed
            | CloseReason::Cancelled
            | CloseReason::NoShow => 1000,
            CloseReason::ServerRestart => 1012,
            CloseReason::RateLimited => 1008,
            // Application codes (4000–4999): reasons a client acts on differently.
            CloseReason::Replaced => 4001,
            CloseReason::RoomFull => 4002,
            CloseReason::Timeout => 4003,
        }
    }

    /// Why a room closes when its appointment leaves the active states (`None`: still active).
    pub fn for_status(status: Status) -> Option<CloseReason> {
        match status {
            Status::Completed => Some(CloseReason::Completed),
            Status::Cancelled => Some(CloseReason::Cancelled),
            Status::NoShow => Some(CloseReason::NoShow),
            Status::Held | Status::Booked | Status::Waiting | Status::InCall => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Left => "left",
            CloseReason::Replaced => "replaced",
            CloseReason::RoomFull => "room_full",
            CloseReason::Completed => "completed",
            CloseReason::Cancelled => "cancelled",
            CloseReason::NoShow => "no_show",
            CloseReason::ServerRestart => "server_restart",
            CloseReason::Timeout => "timeout",
            CloseReason::RateLimited => "rate_limited",
        }
    }
}

/// Codes of `error` messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not JSON, or a field is missing or of the wrong type.
    MalformedMessage,
    /// The `type` is not one of the client messages.
    UnknownType,
    /// Binary frames are not part of the protocol.
    TextOnly,
    /// A waiting citizen may not signal.
    NotAdmitted,
    /// The target of a signal is still in the waiting room.
    PeerNotAdmitted,
    /// No such participant in this room.
    UnknownParticipant,
    /// Only the clerk or a supervisor may admit or hold, and only a citizen can be held.
    Forbidden,
    /// Empty or too long chat text.
    InvalidChat,
    /// Too many messages: this one was dropped.
    RateLimited,
}

impl ServerMsg {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> ServerMsg {
        ServerMsg::Error {
            code,
            message: message.into(),
        }
    }
}

/// Reads one text frame; a refusal is the `error` message to answer with.
pub fn parse_client(text: &str) -> Result<ClientMsg, ServerMsg> {
    let malformed = |why: String| {
        ServerMsg::error(
            ErrorCode::MalformedMessage,
            format!("The message does not fit the protocol: {why}"),
        )
    };
    let envelope: Envelope = serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
    envelope.into_msg().map_err(|e| match e {
        Unreadable::UnknownType => {
            ServerMsg::error(ErrorCode::UnknownType, "Unknown message type.")
        }
        Unreadable::Malformed(why) => malformed(why),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{AppointmentId, StaffId};
    use serde_json::json;

    #[test]
    fn client_messages_read_as_documented() -> Result<(), String> {
        let m = parse_client(
            r#"{"type":"signal","to":"clerk-1","payload":{"candidate":{"candidate":"x"}}}"#,
        )
        .map_err(|e| format!("{e:?}"))?;
        assert!(matches!(m, ClientMsg::Signal { ref to, .. } if to.as_str() == "clerk-1"));
        assert!(matches!(
            parse_client(r#"{"type":"leave"}"#),
            Ok(ClientMsg::Leave)
        ));
        assert!(matches!(
            parse_client(r#"{"type":"ping"}"#),
            Ok(ClientMsg::Ping)
        ));
        let unknown = parse_client(r#"{"type":"dance"}"#);
        assert!(
            matches!(
                unknown,
                Err(ServerMsg::Error {
                    code: ErrorCode::UnknownType,
                    ..
                })
            ),
            "{unknown:?}"
        );
        for bad in [
            "{",
            "[]",
            r#"{"type":"admit"}"#,
            r#"{"type":7}"#,
            "null",
            r#"{"type":"signal","to":"x"}"#,
            r#"{"type":"signal","to":"x","payload":null}"#,
            r#"{"type":"chat","text":5}"#,
        ] {
            let r = parse_client(bad);
            assert!(
                matches!(
                    r,
                    Err(ServerMsg::Error {
                        code: ErrorCode::MalformedMessage,
                        ..
                    })
                ),
                "{bad}: {r:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn server_messages_write_as_documented() -> Result<(), serde_json::Error> {
        let peer = Participant {
            id: ParticipantId::new("citizen-abc"),
            role: Role::Citizen,
            name: "Budi".into(),
            state: ParticipantState::Waiting,
        };
        assert_eq!(
            serde_json::to_value(ServerMsg::PeerWaiting { peer: peer.clone() })?,
            json!({"type": "peer_waiting", "peer": {"id": "citizen-abc", "role": "citizen", "name": "Budi", "state": "waiting"}})
        );
        assert_eq!(
            serde_json::to_value(ServerMsg::PeerLeft {
                peer,
                reason: LeaveReason::Timeout
            })?["reason"],
            "timeout"
        );
        assert_eq!(
            serde_json::to_value(ServerMsg::Closed {
                reason: CloseReason::ServerRestart
            })?,
            json!({"type": "closed", "reason": "server_restart"})
        );
        assert_eq!(
            serde_json::to_value(ServerMsg::Pong)?,
            json!({"type": "pong"})
        );
        assert_eq!(
            serde_json::to_value(ServerMsg::error(ErrorCode::NotAdmitted, "wait"))?,
            json!({"type": "error", "code": "not_admitted", "message": "wait"})
        );
        for r in [
            CloseReason::Left,
            CloseReason::Replaced,
            CloseReason::RoomFull,
            CloseReason::Completed,
            CloseReason::Cancelled,
            CloseReason::NoShow,
            CloseReason::ServerRestart,
            CloseReason::Timeout,
            CloseReason::RateLimited,
        ] {
            assert_eq!(serde_json::to_value(r)?, json!(r.as_str()));
        }
        Ok(())
    }

    /// Every client message reads into exactly its variant with its fields, the payload kept
    /// byte for byte; the same through serde (`ClientMsg: Deserialize`).
    #[test]
    fn every_client_message_reads_into_its_own_variant() {
        let payload = r#"{"description": {"type":"offer","sdp":"v=0"}}"#;
        let cases = [
            (
                format!(r#"{{"type":"signal","to":"clerk-1","payload":{payload}}}"#),
                ClientMsg::Signal {
                    to: ParticipantId::new("clerk-1"),
                    payload: Payload::parse(payload).unwrap(),
                },
            ),
            (
                r#"{"type":"admit","participant":"citizen-1"}"#.to_string(),
                ClientMsg::Admit {
                    participant: ParticipantId::new("citizen-1"),
                },
            ),
            (
                r#"{"type":"hold","participant":"citizen-2"}"#.to_string(),
                ClientMsg::Hold {
                    participant: ParticipantId::new("citizen-2"),
                },
            ),
            (
                r#"{"type":"chat","text":"halo"}"#.to_string(),
                ClientMsg::Chat {
                    text: "halo".into(),
                },
            ),
            (r#"{"type":"leave"}"#.to_string(), ClientMsg::Leave),
            (r#"{"type":"ping","extra":1}"#.to_string(), ClientMsg::Ping),
        ];
        for (text, want) in cases {
            assert_eq!(parse_client(&text).as_ref(), Ok(&want), "{text}");
            let via_serde: ClientMsg = serde_json::from_str(&text).unwrap();
            assert_eq!(via_serde, want, "{text}");
        }
        // The payload is kept as written, spaces and all; another payload is not equal.
        let Ok(ClientMsg::Signal { payload: p, .. }) = parse_client(&format!(
            r#"{{"type":"signal","to":"x","payload":{payload}}}"#
        )) else {
            panic!("a signal");
        };
        assert_eq!(p.get(), payload);
        assert_ne!(
            p,
            Payload::parse(r#"{"description":{"type":"offer","sdp":"v=0"}}"#).unwrap()
        );
        // Each message missing its field says which.
        for (text, field) in [
            (r#"{"type":"signal","payload":{}}"#, "`to`"),
            (r#"{"type":"signal","to":"x"}"#, "`payload`"),
            (r#"{"type":"admit"}"#, "`participant`"),
            (r#"{"type":"hold"}"#, "`participant`"),
            (r#"{"type":"chat"}"#, "`text`"),
        ] {
            match parse_client(text) {
                Err(ServerMsg::Error {
                    code: ErrorCode::MalformedMessage,
                    message,
                }) => assert!(message.contains(field), "{text}: {message}"),
                other => panic!("{text}: {other:?}"),
            }
            let via_serde = serde_json::from_str::<ClientMsg>(text).unwrap_err();
            assert!(via_serde.to_string().contains(field), "{via_serde}");
        }
        let unknown = serde_json::from_str::<ClientMsg>(r#"{"type":"dance"}"#).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown message type"),
            "{unknown}"
        );
    }

    #[test]
    fn close_reasons_have_their_codes_and_statuses_their_reasons() {
        use CloseReason::*;
        for (r, code, name) in [
            (Left, 1000, "left"),
            (Completed, 1000, "completed"),
            (Cancelled, 1000, "cancelled"),
            (NoShow, 1000, "no_show"),
            (ServerRestart, 1012, "server_restart"),
            (RateLimited, 1008, "rate_limited"),
            (Replaced, 4001, "replaced"),
            (RoomFull, 4002, "room_full"),
            (Timeout, 4003, "timeout"),
        ] {
            assert_eq!((r.ws_code(), r.as_str()), (code, name), "{r:?}");
        }
        assert_eq!(CloseReason::for_status(Status::Completed), Some(Completed));
        assert_eq!(CloseReason::for_status(Status::Cancelled), Some(Cancelled));
        assert_eq!(CloseReason::for_status(Status::NoShow), Some(NoShow));
        for s in [Status::Booked, Status::Waiting, Status::InCall] {
            assert_eq!(CloseReason::for_status(s), None, "{s:?}");
        }
    }

    #[test]
    fn roles_and_participant_ids() {
        for (r, name, staff) in [
            (Role::Citizen, "citizen", false),
            (Role::Clerk, "clerk", true),
            (Role::Supervisor, "supervisor", true),
        ] {
            assert_eq!((r.as_str(), r.is_staff()), (name, staff));
            assert_eq!(Role::parse(name), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
        let uuid = Uuid::parse_str("0123456789abcdef0123456789abcdef").unwrap();
        let citizen = ParticipantId::citizen(AppointmentId(uuid));
        assert_eq!(citizen.as_str(), "citizen-0123456789ab");
        assert_eq!(citizen.to_string(), "citizen-0123456789ab");
        assert_eq!(
            ParticipantId::staff(Role::Supervisor, StaffId(uuid)).as_str(),
            "supervisor-0123456789ab"
        );
        assert_eq!(ParticipantId::new("x y").as_str(), "x y");
    }
}
