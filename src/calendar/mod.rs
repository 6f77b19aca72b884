//! The clerk's calendar use-cases: the appointments of a day or week (one's own, or a
//! supervisor's agency), weekly hours, personal leave and the mall's holidays (and the bookings
//! they fall on), and the subscribable calendar feed.

pub mod closures;
pub mod day;
pub mod feed;
pub mod hours;

use crate::domain::FieldErrors;
use crate::fault::Fault;

/// Why a calendar use-case refused.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("the caller's role may not do this")]
    InsufficientRole,
    #[error("only supervisors see the agency's calendar")]
    NotSupervisor,
    #[error("no such staff member")]
    UnknownStaff,
    #[error("no such leave")]
    ClosureNotFound,
    #[error("no such holiday")]
    HolidayNotFound,
    #[error("no such calendar")]
    UnknownCalendar,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::fault_from!(CalendarError);

impl CalendarError {
    pub fn field(name: &str, problem: &str) -> CalendarError {
        CalendarError::Invalid(FieldErrors::from([(name.to_string(), problem.to_string())]))
    }
}
