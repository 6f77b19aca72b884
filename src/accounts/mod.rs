//! Staff accounts' use-cases: signing in and out, checking a session on every request, the
//! signed-in person's profile and team, and creating accounts (the same checks for the admin
//! API, `loket staff add` and the demo data).

pub mod create;
pub mod session;

pub use create::{StaffInput, calendar_key, create_staff};
pub use session::{authenticate, login, logout, profile, team};

use crate::domain::FieldErrors;
use crate::fault::Fault;

/// Why an account use-case refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("the session has ended")]
    SessionEnded,
    #[error("the caller's role may not do this")]
    InsufficientRole,
    #[error("another agency's account")]
    NotYourAgency,
    #[error("a staff account with this email exists")]
    EmailTaken,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::fault_from!(AccountError);

/// Why a staff token does not open a session.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid token")]
    InvalidToken,
    #[error("the session has ended")]
    SessionEnded,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::fault_from!(AuthError);
