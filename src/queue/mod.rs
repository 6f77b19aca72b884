//! Antrian — the same-day queue's use-cases (docs/queue.md): take a number (remote or at the
//! kiosk), follow it live and leave the line (the citizen, with the number's token); call the
//! next number, call again, skip, serve (the clerk); see each service's line, move a number,
//! mark the priority group (staff); the board. The rules are `domain::queue`; the rows
//! `db::queue`; the live state `live` (into `queue_feed`); the two moments a citizen is told
//! outside the page `notify`.

pub mod board;
pub mod call;
pub mod current;
pub mod live;
pub mod manage;
pub mod notify;
pub mod take;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::StaffSession;
use crate::config::Settings;
use crate::domain::FieldErrors;
use crate::domain::ids::AgencyId;
use crate::domain::queue::{ClosedReason, Refused};
use crate::domain::schedule::Role;
use crate::fault::Fault;

/// Why a queue use-case refused.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("the queue does not take numbers now")]
    Closed(ClosedReason),
    #[error("the service's numbers for today are gone")]
    Full,
    #[error("this phone number already holds {limit} open bookings and numbers")]
    TooManyActive { limit: i64 },
    #[error("no such number")]
    NotFound,
    #[error("a booked appointment starts before the service would end")]
    NextAppointmentTooSoon { next_starts_at: DateTime<Utc> },
    #[error("the clerk is busy until {until}")]
    ClerkBusy { until: DateTime<Utc> },
    #[error("the clerk is not at work now")]
    OffDuty,
    #[error("the number cannot change that way")]
    Refused(Refused),
    #[error("the caller's role may not do this")]
    InsufficientRole,
    #[error("another agency's queue")]
    NotYourAgency,
    #[error("too many live streams")]
    TooManyStreams,
    #[error("the database stayed busy; try again")]
    Busy,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::fault_from!(QueueError);

impl QueueError {
    pub fn field(name: &str, problem: &str) -> QueueError {
        QueueError::Invalid(FieldErrors::from([(name.to_string(), problem.to_string())]))
    }
}

/// Where a citizen follows their number: the token travels in the fragment, never in a path or
/// query, so it stays out of every server's logs.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Links {
    /// The live waiting page (position, estimate, leave the line).
    pub status: String,
    /// Remote numbers: the page from which the citizen enters the consultation room once called
    /// (the same waiting page, which opens the room). Absent for numbers served in person.
    pub join: Option<String>,
}

pub fn links(settings: &Settings, token: &str, remote: bool) -> Links {
    let status = crate::domain::queue::status_link(&settings.public_url, token);
    Links {
        join: remote.then(|| status.clone()),
        status,
    }
}

/// An admin, or a supervisor of this agency.
pub fn supervises(me: &StaffSession, agency: AgencyId) -> bool {
    match me.role {
        Role::Admin => true,
        Role::Supervisor => me.agency == Some(agency),
        Role::Clerk => false,
    }
}
