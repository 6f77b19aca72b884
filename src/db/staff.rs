//! Staff accounts and who may serve which service.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{staff, staff_services};
use crate::domain::ids::{AgencyId, ServiceId, StaffId};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = staff, check_for_backend(diesel::pg::Pg))]
pub struct Staff {
    pub id: Uuid,
    pub agency_id: Option<Uuid>,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: String,
    pub active: bool,
    pub calendar_key: String,
    pub session_epoch: i32,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = staff)]
pub struct NewStaff<'a> {
    pub id: Uuid,
    pub agency_id: Option<Uuid>,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub calendar_key: &'a str,
}

pub async fn by_id(conn: &mut AsyncPgConnection, id: StaffId) -> QueryResult<Option<Staff>> {
    staff::table
        .find(id.0)
        .select(Staff::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<Staff>> {
    staff::table
        .filter(staff::email.eq(email.to_lowercase()))
        .select(Staff::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn by_calendar_key(
    conn: &mut AsyncPgConnection,
    key: &str,
) -> QueryResult<Option<Staff>> {
    staff::table
        .filter(staff::calendar_key.eq(key))
        .filter(staff::active.eq(true))
        .select(Staff::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn in_agency(conn: &mut AsyncPgConnection, agency: AgencyId) -> QueryResult<Vec<Staff>> {
    staff::table
        .filter(staff::agency_id.eq(agency.0))
        .select(Staff::as_select())
        .order(staff::name.asc())
        .load(conn)
        .await
}

pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Staff>> {
    staff::table
        .select(Staff::as_select())
        .order(staff::name.asc())
        .load(conn)
        .await
}

pub async fn insert(conn: &mut AsyncPgConnection, s: NewStaff<'_>) -> QueryResult<()> {
    diesel::insert_into(staff::table)
        .values(s)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Ends every session of this person (logout everywhere, password change).
pub async fn bump_epoch(conn: &mut AsyncPgConnection, id: StaffId) -> QueryResult<()> {
    diesel::update(staff::table.find(id.0))
        .set(staff::session_epoch.eq(staff::session_epoch + 1))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn set_password(
    conn: &mut AsyncPgConnection,
    id: StaffId,
    hash: &str,
) -> QueryResult<()> {
    diesel::update(staff::table.find(id.0))
        .set((
            staff::password_hash.eq(hash),
            staff::session_epoch.eq(staff::session_epoch + 1),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn add_services(
    conn: &mut AsyncPgConnection,
    id: StaffId,
    services: &[ServiceId],
) -> QueryResult<()> {
    let rows: Vec<_> = services
        .iter()
        .map(|s| {
            (
                staff_services::staff_id.eq(id.0),
                staff_services::service_id.eq(s.0),
            )
        })
        .collect();
    diesel::insert_into(staff_services::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|_| ())
}

/// Can this person serve this service?
pub async fn serves(
    conn: &mut AsyncPgConnection,
    id: StaffId,
    service: ServiceId,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        staff_services::table
            .filter(staff_services::staff_id.eq(id.0))
            .filter(staff_services::service_id.eq(service.0)),
    ))
    .get_result(conn)
    .await
}

/// The service slugs each of these staff members may serve.
pub async fn service_slugs(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<std::collections::HashMap<Uuid, Vec<String>>> {
    use super::schema::services;
    let rows: Vec<(Uuid, String)> = staff_services::table
        .inner_join(services::table)
        .filter(staff_services::staff_id.eq_any(ids))
        .select((staff_services::staff_id, services::slug))
        .order(services::slug.asc())
        .load(conn)
        .await?;
    let mut map: std::collections::HashMap<Uuid, Vec<String>> = Default::default();
    for (id, slug) in rows {
        map.entry(id).or_default().push(slug);
    }
    Ok(map)
}
