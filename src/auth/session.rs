//! [`StaffSession`]: a signed-in staff member as the use-cases see them, and who may act on
//! whose work. Built from a verified token and the account's current row
//! (`accounts::authenticate`), so logout and deactivation take effect at once.

use crate::domain::ids::{AgencyId, StaffId};
use crate::domain::schedule::Role;

/// Another agency's work.
#[derive(Debug)]
pub struct NotYourAgency;

#[derive(Clone, Debug)]
pub struct StaffSession {
    pub id: StaffId,
    pub role: Role,
    pub agency: Option<AgencyId>,
    pub name: String,
    pub email: String,
}

impl StaffSession {
    pub fn is_supervisor_or_admin(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }

    /// Whether this person holds one of `roles`.
    pub fn has_role(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }

    /// May this person act on work belonging to `staff` of `agency`?
    pub fn may_act_for(&self, staff: StaffId, agency: Option<AgencyId>) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Supervisor => self.id == staff || (agency.is_some() && agency == self.agency),
            Role::Clerk => self.id == staff,
        }
    }

    /// Which agency this person may look at when they name `named` (or none): a supervisor only
    /// their own (the default), an admin any one or all (`None`). `Err` when not allowed.
    pub fn agency_scope(&self, named: Option<AgencyId>) -> Result<Option<AgencyId>, NotYourAgency> {
        match self.role {
            Role::Admin => Ok(named),
            _ => match (self.agency, named) {
                (Some(own), None) => Ok(Some(own)),
                (Some(own), Some(n)) if own == n => Ok(Some(own)),
                _ => Err(NotYourAgency),
            },
        }
    }
}
