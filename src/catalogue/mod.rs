//! The catalogue's use-cases: what citizens browse (agencies, services by search or agency, one
//! service, its free times) and what admins and supervisors change (agencies and services, each
//! change audited in the same transaction).

pub mod browse;
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
    #[error(transparent)]
    Fault(#[from] Fault),
}
crate::fault_from!(CatalogueError);

impl CatalogueError {
    pub fn field(name: &str, problem: &str) -> CatalogueError {
        CatalogueError::Invalid(FieldErrors::from([(name.to_string(), problem.to_string())]))
    }
}
