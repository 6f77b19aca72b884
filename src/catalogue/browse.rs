//! What a citizen browses: the agencies, active services (by agency and search words, which
//! also know old names such as IMB or SIUP), one service, and its free times per local date —
//! computed by the same `availability` path that booking uses, so shown and accepted agree.

use chrono::{NaiveDate, Utc};

use super::CatalogueError;
use crate::availability;
use crate::context::Ctx;
use crate::db::{self, catalog::Agency, catalog::Service};
use crate::domain::ids::ServiceId;
use crate::domain::search;
use crate::domain::slots::DaySlots;
use crate::fault::Fault;

/// Longest search text.
pub const MAX_QUERY_BYTES: usize = 200;
/// Most dates one slots request covers.
pub const MAX_SLOT_DAYS: u32 = 31;

pub async fn agencies(ctx: &Ctx) -> Result<Vec<Agency>, Fault> {
    let mut conn = ctx.conn().await?;
    Ok(db::catalog::agencies(&mut conn).await?)
}

/// Active services of `agency` (a slug) matching every word of `q`.
pub async fn services(
    ctx: &Ctx,
    agency: Option<&str>,
    q: Option<&str>,
) -> Result<Vec<(Service, Agency)>, CatalogueError> {
    if q.is_some_and(|q| q.len() > MAX_QUERY_BYTES) {
        return Err(CatalogueError::field("q", "too_long"));
    }
    let mut conn = ctx.conn().await?;
    let agency = agency.filter(|a| !a.is_empty());
    if let Some(slug) = agency
        && db::catalog::agency_by_slug(&mut conn, slug)
            .await?
            .is_none()
    {
        return Err(CatalogueError::UnknownAgency);
    }
    let words = search::words(q.unwrap_or(""));
    let rows = db::catalog::active_services(&mut conn).await?;
    Ok(rows
        .into_iter()
        .filter(|(_, a)| agency.is_none_or(|slug| a.slug == slug))
        .filter(|(s, a)| {
            let mut hay: Vec<&str> = vec![&s.name, &s.name_en, &a.slug, &a.name, &a.name_en];
            hay.extend(s.aliases.iter().map(String::as_str));
            search::matches(&words, &hay)
        })
        .collect())
}

/// One active service and its agency.
pub async fn service(ctx: &Ctx, slug: &str) -> Result<(Service, Agency), CatalogueError> {
    let mut conn = ctx.conn().await?;
    db::catalog::service_by_slug(&mut conn, slug)
        .await?
        .filter(|(s, _)| s.active)
        .ok_or(CatalogueError::UnknownService)
}

/// Free consultation times of an active service for `days` local dates from `from`.
pub async fn free_times(
    ctx: &Ctx,
    slug: &str,
    from: NaiveDate,
    days: u32,
) -> Result<Vec<DaySlots>, CatalogueError> {
    if !(1..=MAX_SLOT_DAYS).contains(&days) {
        return Err(CatalogueError::field("days", "out_of_range"));
    }
    let now = Utc::now();
    let mut conn = ctx.conn().await?;
    let (service, _) = ctx
        .directory
        .service(&mut conn, slug)
        .await?
        .filter(|(s, _)| s.active)
        .ok_or(CatalogueError::UnknownService)?;
    let window = availability::window(&ctx.settings, from, days);
    let staffing = ctx
        .directory
        .staffing(&mut conn, ServiceId(service.id))
        .await?;
    let cal = availability::load(&mut conn, &staffing, ServiceId(service.id), window, None).await?;
    drop(conn);
    let rules = availability::rules(&ctx.settings, &service, now);
    Ok(availability::slots(rules, &cal, from, days))
}
