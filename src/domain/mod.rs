//! Pure types and rules: ids, citizen details, schedules, the slot computation, appointment
//! states, the same-day queue and its spoken numbers, the survey and calendar files. Nothing
//! here touches a socket, a clock or a database; values are built by `parse` at the edge so the
//! rest of the code only sees valid ones.

pub mod appointment;
pub mod catalogue;
pub mod citizen;
pub mod closed;
pub mod dates;
pub mod hold;
pub mod ics;
pub mod ids;
pub mod login_throttle;
pub mod messages;
pub mod net;
pub mod notify;
pub mod participant;
pub mod queue;
pub mod schedule;
pub mod search;
pub mod slots;
pub mod spoken;
pub mod survey;

/// Field name → machine-readable problem (`"citizen.phone": "invalid"`): what a use-case says
/// about input it refused, field by field, so the caller can show each problem where it belongs.
pub type FieldErrors = std::collections::BTreeMap<String, String>;
