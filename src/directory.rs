//! Who serves what, cached: services by slug (with their agency) and each service's active
//! clerks with their parsed weekly hours. These rows change only through admin and staff writes
//! (the server's write middleware invalidates this cache after any successful one), while every
//! slot query and booking reads them; serving them from memory saves those requests two round
//! trips. Another node's change (or `loket staff add`) is seen within the TTL.

use std::sync::Arc;
use std::time::Duration;

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use crate::cache::Generational;
use crate::db;
use crate::db::catalog::{Agency, Service};
use crate::domain::ids::{ServiceId, StaffId};
use crate::domain::schedule::WeeklyHours;

/// How long another node's change to services, staff or hours may stay unseen here.
pub const DIRECTORY_TTL: Duration = Duration::from_secs(5);
/// Entries per map at most (the catalogue is ~150 services; unknown slugs are never stored).
const MAX_ENTRIES: usize = 2048;

/// One clerk who serves a service.
#[derive(Clone, Debug)]
pub struct Staffed {
    pub id: StaffId,
    pub name: String,
    pub hours: WeeklyHours,
}

pub struct Directory {
    services: Generational<String, (Service, Agency)>,
    staffing: Generational<ServiceId, Arc<Vec<Staffed>>>,
}

impl Default for Directory {
    fn default() -> Self {
        Directory {
            services: Generational::new(DIRECTORY_TTL, MAX_ENTRIES),
            staffing: Generational::new(DIRECTORY_TTL, MAX_ENTRIES),
        }
    }
}

impl Directory {
    /// A service, its agency or who serves it may have changed.
    pub fn invalidate(&self) {
        self.services.invalidate();
        self.staffing.invalidate();
    }

    /// The service with this slug, active or not (callers decide what inactive means).
    pub async fn service(
        &self,
        conn: &mut AsyncPgConnection,
        slug: &str,
    ) -> QueryResult<Option<(Service, Agency)>> {
        if let Some(found) = self.services.get(&slug.to_string()) {
            return Ok(Some(found));
        }
        let generation = self.services.generation();
        let found = db::catalog::service_by_slug(conn, slug).await?;
        if let Some(found) = &found {
            self.services
                .put(slug.to_string(), generation, found.clone());
        }
        Ok(found)
    }

    /// The service's active clerks with their hours. A clerk whose stored hours fail to parse
    /// (they passed the database's checks, so this should not happen) is left out.
    pub async fn staffing(
        &self,
        conn: &mut AsyncPgConnection,
        service: ServiceId,
    ) -> QueryResult<Arc<Vec<Staffed>>> {
        if let Some(found) = self.staffing.get(&service) {
            return Ok(found);
        }
        let generation = self.staffing.generation();
        let rows = db::schedule::eligible_with_hours(conn, service).await?;
        let staffed: Arc<Vec<Staffed>> = Arc::new(
            rows.into_iter()
                .filter_map(|(id, name, hours)| {
                    Some(Staffed {
                        id,
                        name,
                        hours: WeeklyHours::parse(&hours).ok()?,
                    })
                })
                .collect(),
        );
        self.staffing.put(service, generation, staffed.clone());
        Ok(staffed)
    }
}
