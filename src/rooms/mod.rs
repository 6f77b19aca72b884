//! The consultation rooms' use-cases: who may enter a room and when (tickets), the ICE servers a
//! participant is handed, and the outcome a clerk records when the consultation ends. The live
//! rooms themselves (sockets, the waiting room, relaying) are `signalling`, which calls in here.

pub mod ice;
pub mod outcome;
pub mod ticket;

use chrono::{DateTime, Utc};

use crate::fault::Fault;

/// Why a room may not be entered.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error("no such appointment")]
    NotFound,
    #[error("a citizen token opens only its own booking's room")]
    NotYourAppointment,
    #[error("staff must name the appointment")]
    AppointmentRequired,
    #[error("the appointment was cancelled")]
    Cancelled,
    #[error("the booking waits for the code sent to its phone")]
    NotConfirmed,
    #[error("the consultation has been completed")]
    Completed,
    #[error("the appointment was closed as a no-show")]
    ClosedNoShow,
    #[error("the room is not open yet")]
    NotOpen { opens_at: DateTime<Utc> },
    #[error("the time for this consultation is over")]
    Over,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::fault_from!(RoomError);
