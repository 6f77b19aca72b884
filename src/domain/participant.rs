//! Who is in a consultation room: a participant's role there and its id. Shared by the tickets
//! (stored with the role), the signalling protocol and the ICE credentials (the id is the TURN
//! username's person part).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ids::{AppointmentId, StaffId};

/// A participant's id inside a room: stable across reconnects (so a second socket replaces the
/// first) and derived from the role and the person, never from the socket.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParticipantId(String);

/// Hex characters of the person's id kept in a participant id: unique within a room (one
/// citizen, one clerk, a few supervisors) while short enough for TURN usernames and logs.
const ID_HEX: usize = 12;

impl ParticipantId {
    pub fn citizen(appointment: AppointmentId) -> ParticipantId {
        ParticipantId(format!("citizen-{}", short(appointment.0)))
    }

    pub fn staff(role: Role, staff: StaffId) -> ParticipantId {
        ParticipantId(format!("{}-{}", role.as_str(), short(staff.0)))
    }

    /// An id as a client wrote it (it may name no one).
    pub fn new(raw: impl Into<String>) -> ParticipantId {
        ParticipantId(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn short(id: Uuid) -> String {
    id.simple().to_string().chars().take(ID_HEX).collect()
}

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why someone is in a room. Stored in `room_tickets.role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Citizen,
    Clerk,
    Supervisor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Citizen => "citizen",
            Role::Clerk => "clerk",
            Role::Supervisor => "supervisor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "citizen" => Some(Role::Citizen),
            "clerk" => Some(Role::Clerk),
            "supervisor" => Some(Role::Supervisor),
            _ => None,
        }
    }

    /// Staff run the room: they are admitted at once and may admit or hold the citizen.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Clerk | Role::Supervisor)
    }
}
