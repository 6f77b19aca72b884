//! What a citizen browses: the agencies, active services (by agency and search words, which
//! also know old names such as IMB or SIUP, and say when one of those matched), one service, and
//! its free times per local date — computed by the same `availability` path that booking uses,
//! so shown and accepted agree — with the reason a day without times is closed.

use chrono::{NaiveDate, Utc};

use super::CatalogueError;
use crate::availability;
use crate::context::Ctx;
use crate::db::{self, catalog::Agency, catalog::Service};
use crate::domain::closed::{self, Closed};
use crate::domain::ids::ServiceId;
use crate::domain::search::{self, Through};
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

/// Active services of `agency` (a slug) matching every word of `q`, each with what matched when
/// its names do not say (a former name such as IMB, or another alias).
pub async fn services(
    ctx: &Ctx,
    agency: Option<&str>,
    q: Option<&str>,
) -> Result<Vec<(Service, Agency, Option<Through>)>, CatalogueError> {
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
        .filter_map(|(s, a)| {
            let names: [&str; 5] = [&s.name, &s.name_en, &a.slug, &a.name, &a.name_en];
            let mut hay = names.to_vec();
            hay.extend(s.aliases.iter().chain(&s.former_names).map(String::as_str));
            if !search::matches(&words, &hay) {
                return None;
            }
            let through = search::matched_through(&words, &names, &s.former_names, &s.aliases);
            Some((s, a, through))
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

/// Free consultation times of an active service for `days` local dates from `from`; a day
/// without times that is closed rather than booked up comes with the reason (weekend, holiday
/// with its name, …).
pub async fn free_times(
    ctx: &Ctx,
    slug: &str,
    from: NaiveDate,
    days: u32,
) -> Result<Vec<(DaySlots, Option<Closed>)>, CatalogueError> {
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
    let days = availability::slots(rules, &cal, from, days);
    // Holidays' names are loaded only when a working day has no times (one query fewer for the
    // common answer).
    let why = |date, holidays: &[_]| availability::why_closed(&rules, &cal, holidays, date);
    let holidays = if days
        .iter()
        .any(|d| d.slots.is_empty() && closed::is_working_day(&why(d.date, &[])))
    {
        let mut conn = ctx.conn().await?;
        db::schedule::holidays_in(&mut conn, window).await?
    } else {
        Vec::new()
    };
    Ok(days
        .into_iter()
        .map(|d| {
            let closed = d.slots.is_empty().then(|| why(d.date, &holidays)).flatten();
            (d, closed)
        })
        .collect())
}
