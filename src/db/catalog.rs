//! Agencies and services: reads for the public catalogue, writes for demo data and admins.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{agencies, services};
use crate::domain::ids::{AgencyId, ServiceId};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = agencies, check_for_backend(diesel::pg::Pg))]
pub struct Agency {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub name_en: String,
    pub kind: String,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = services, check_for_backend(diesel::pg::Pg))]
pub struct Service {
    pub id: Uuid,
    pub agency_id: Uuid,
    pub slug: String,
    pub name: String,
    pub name_en: String,
    pub aliases: Vec<String>,
    pub duration_minutes: i32,
    pub buffer_minutes: i32,
    pub requirements: Vec<String>,
    /// English requirements; empty when not translated.
    pub requirements_en: Vec<String>,
    /// Names the service had before (IMB for PBG); searched like aliases.
    pub former_names: Vec<String>,
    pub needs_nik: bool,
    pub active: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = services)]
pub struct NewService<'a> {
    pub id: Uuid,
    pub agency_id: Uuid,
    pub slug: &'a str,
    pub name: &'a str,
    pub name_en: &'a str,
    pub aliases: Vec<String>,
    pub duration_minutes: i32,
    pub buffer_minutes: i32,
    pub requirements: Vec<String>,
    pub requirements_en: Vec<String>,
    pub former_names: Vec<String>,
    pub needs_nik: bool,
    pub active: bool,
}

pub async fn agencies(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Agency>> {
    agencies::table
        .select(Agency::as_select())
        .order(agencies::name.asc())
        .load(conn)
        .await
}

pub async fn agency_by_slug(
    conn: &mut AsyncPgConnection,
    slug: &str,
) -> QueryResult<Option<Agency>> {
    agencies::table
        .filter(agencies::slug.eq(slug))
        .select(Agency::as_select())
        .first(conn)
        .await
        .optional()
}

/// Every active service with its agency (the catalogue is small: a few hundred rows at most).
pub async fn active_services(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(Service, Agency)>> {
    services::table
        .inner_join(agencies::table)
        .filter(services::active.eq(true))
        .select((Service::as_select(), Agency::as_select()))
        .order((agencies::name.asc(), services::name.asc()))
        .load(conn)
        .await
}

pub async fn service_by_slug(
    conn: &mut AsyncPgConnection,
    slug: &str,
) -> QueryResult<Option<(Service, Agency)>> {
    services::table
        .inner_join(agencies::table)
        .filter(services::slug.eq(slug))
        .select((Service::as_select(), Agency::as_select()))
        .first(conn)
        .await
        .optional()
}

pub async fn service_by_id(
    conn: &mut AsyncPgConnection,
    id: ServiceId,
) -> QueryResult<(Service, Agency)> {
    services::table
        .inner_join(agencies::table)
        .filter(services::id.eq(id.0))
        .select((Service::as_select(), Agency::as_select()))
        .first(conn)
        .await
}

pub async fn insert_agency(conn: &mut AsyncPgConnection, agency: &Agency) -> QueryResult<()> {
    diesel::insert_into(agencies::table)
        .values(agency)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn insert_service(conn: &mut AsyncPgConnection, s: NewService<'_>) -> QueryResult<()> {
    diesel::insert_into(services::table)
        .values(s)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The editable fields of a service (`None` = leave as is).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = services)]
pub struct ServiceChanges {
    pub name: Option<String>,
    pub name_en: Option<String>,
    pub aliases: Option<Vec<String>>,
    pub duration_minutes: Option<i32>,
    pub buffer_minutes: Option<i32>,
    pub requirements: Option<Vec<String>>,
    pub requirements_en: Option<Vec<String>>,
    pub former_names: Option<Vec<String>>,
    pub needs_nik: Option<bool>,
    pub active: Option<bool>,
}

pub async fn update_service(
    conn: &mut AsyncPgConnection,
    id: ServiceId,
    changes: &ServiceChanges,
) -> QueryResult<usize> {
    diesel::update(services::table.filter(services::id.eq(id.0)))
        .set(changes)
        .execute(conn)
        .await
}

/// Every service (active or not) of one agency, or of all.
pub async fn services_of(
    conn: &mut AsyncPgConnection,
    agency: Option<AgencyId>,
) -> QueryResult<Vec<(Service, Agency)>> {
    let mut q = services::table
        .inner_join(agencies::table)
        .select((Service::as_select(), Agency::as_select()))
        .order((agencies::name.asc(), services::name.asc()))
        .into_boxed();
    if let Some(a) = agency {
        q = q.filter(services::agency_id.eq(a.0));
    }
    q.load(conn).await
}

pub fn agency_id(a: &Agency) -> AgencyId {
    AgencyId(a.id)
}

/// Holds the catalogue's import lock until the transaction ends: one import at a time.
pub async fn lock_for_import(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('loket:catalogue', 0))")
        .execute(conn)
        .await
        .map(|_| ())
}

/// Every service that has (or had) an appointment or a queue number: those rows keep their
/// service (no `ON DELETE`), so an import keeps it, if need be inactive.
pub async fn booked_service_ids(
    conn: &mut AsyncPgConnection,
) -> QueryResult<std::collections::HashSet<Uuid>> {
    use super::schema::{appointments, queue_tickets};
    let mut ids: std::collections::HashSet<Uuid> = appointments::table
        .select(appointments::service_id)
        .distinct()
        .load::<Uuid>(conn)
        .await?
        .into_iter()
        .collect();
    ids.extend(
        queue_tickets::table
            .select(queue_tickets::service_id)
            .distinct()
            .load::<Uuid>(conn)
            .await?,
    );
    Ok(ids)
}

/// Renames an agency or changes its kind.
pub async fn update_agency(conn: &mut AsyncPgConnection, agency: &Agency) -> QueryResult<usize> {
    diesel::update(agencies::table.filter(agencies::slug.eq(&agency.slug)))
        .set((
            agencies::name.eq(&agency.name),
            agencies::name_en.eq(&agency.name_en),
            agencies::kind.eq(&agency.kind),
        ))
        .execute(conn)
        .await
}

/// Removes a service that was never booked (whom it was assigned to goes with it).
pub async fn delete_service(conn: &mut AsyncPgConnection, id: ServiceId) -> QueryResult<usize> {
    diesel::delete(services::table.filter(services::id.eq(id.0)))
        .execute(conn)
        .await
}
