//! Id newtypes, so that one kind of id cannot be passed where another is meant.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($name:ident) => {
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                $name(Uuid::new_v4())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(AgencyId);
id_type!(ServiceId);
id_type!(StaffId);
id_type!(AppointmentId);
id_type!(ClosureId);
id_type!(TicketId);

impl StaffId {
    /// How a staff member is named in the audit trail (`appointment_events.actor`).
    pub fn actor(self) -> String {
        format!("staff:{self}")
    }
}
