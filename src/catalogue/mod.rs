//! The catalogue's use-cases: what citizens browse (agencies, services by search or agency, one
//! service, its free times) and what admins and supervisors change (agencies and services, each
//! change audited in the same transaction), and the whole catalogue as a CSV file (`import`).

pub mod browse;
pub mod import;
pub mod manage;

use crate::domain::FieldErrors;
use crate::fault::Fault;

/// Why a catalogue use-case refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("no such agency")]
    UnknownAgency,
    #[error("no such service")]
    UnknownService,
    #[error("the caller's role may not do this")]
    InsufficientRole,
    #[error("another agency's catalogue")]
    NotYourAgency,
    #[error("an agency with this slug exists")]
    AgencySlugTaken,
    #[error("a service with this slug exists")]
    ServiceSlugTaken,
    /// A catalogue file with problems, each named by row and column; nothing was imported.
    #[error("the catalogue file has {} problem(s)", .0.len())]
    Rows(Vec<crate::domain::catalogue::Problem>),
    /// The catalogue changed under the import (a service being removed was just booked).
    #[error("the catalogue changed meanwhile; try again")]
    Busy,
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::fault_from!(CatalogueError);

impl CatalogueError {
    pub fn field(name: &str, problem: &str) -> CatalogueError {
        CatalogueError::Invalid(FieldErrors::from([(name.to_string(), problem.to_string())]))
    }
}
