//! Booking use-cases: book a slot (race-free, idempotent), confirm a held booking with the code
//! sent to its phone (`hold`), and with the citizen's token view, reschedule, cancel, the
//! calendar file and the survey; staff cancelling and supervisors reassigning. Each takes
//! parsed input and a [`Ctx`](crate::context::Ctx) and answers a typed result or a
//! [`BookingError`]; HTTP (`routes::appointments`, `routes::staff`) only maps them.

pub mod book;
pub mod hold;
pub mod manage;
pub mod reassign;

pub use book::{BookingForm, CitizenForm, book};

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::Settings;
use crate::db::appointments::ChangeError;
use crate::domain::FieldErrors;
use crate::domain::appointment::Status;
use crate::fault::Fault;

/// Why a booking use-case refused.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("the time is not free")]
    SlotTaken,
    #[error("this phone number already has {limit} active bookings")]
    TooManyActive { limit: i64 },
    #[error("this NIK already has {limit} active bookings")]
    TooManyActiveForNik { limit: i64 },
    #[error("this phone number or NIK already has this service booked that day")]
    ServiceDayTaken,
    #[error("the Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("no such appointment")]
    NotFound,
    #[error("the appointment is {} and cannot change that way", .0.as_str())]
    InvalidState(Status),
    #[error("the consultation has not taken place yet")]
    NotFinished,
    /// A no-show recorded before the start plus the grace time.
    #[error("a no-show can be recorded from {allowed_from}")]
    TooEarly { allowed_from: DateTime<Utc> },
    /// The no-show was recorded too long ago to take back.
    #[error("the no-show can no longer be taken back")]
    UndoExpired,
    #[error("the survey was already answered")]
    SurveyExists,
    #[error("the caller's role may not do this")]
    InsufficientRole,
    #[error("too many bookings at once; try again")]
    Busy,
    /// Confirming a hold (DESIGN §9): the code does not match; the hold allows this many more.
    #[error("the code does not match")]
    InvalidCode { tries_left: i32 },
    #[error("this code has expired; ask for another")]
    CodeExpired,
    #[error("the hold ran out before it was confirmed")]
    HoldExpired,
    #[error("too many wrong codes; the hold was released")]
    TooManyTries,
    #[error("the appointment is not waiting for a code")]
    NotHeld,
    #[error("another code can be sent in {retry_after_secs} s")]
    ResendTooSoon { retry_after_secs: u64 },
    #[error("no more codes for this hold")]
    TooManyResends,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::fault_from!(BookingError);

impl BookingError {
    /// One bad field, as a refusal.
    pub fn field(name: &str, problem: &str) -> BookingError {
        BookingError::Invalid(FieldErrors::from([(name.to_string(), problem.to_string())]))
    }
}

impl From<ChangeError> for BookingError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::NotFound => BookingError::NotFound,
            ChangeError::InvalidState(s) => BookingError::InvalidState(s),
            ChangeError::SlotTaken => BookingError::SlotTaken,
            ChangeError::Expired => BookingError::UndoExpired,
            ChangeError::Db(e) => e.into(),
        }
    }
}

/// Where a citizen opens their booking: the token travels in the fragment, never in a path
/// or query, so it stays out of every server's logs.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Links {
    /// The join page; the token travels in the fragment.
    pub join: String,
    /// The manage page; the token travels in the fragment.
    pub manage: String,
    /// The calendar file (needs `Authorization: Bearer <token>`).
    pub ics: String,
}

pub fn links(settings: &Settings, token: &str) -> Links {
    let base = &settings.public_url;
    Links {
        join: format!("{base}/join#t={token}"),
        manage: format!("{base}/manage#t={token}"),
        ics: format!("{base}/api/v1/appointments/current/ics"),
    }
}
