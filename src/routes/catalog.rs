//! The public catalogue: agencies, services (search and browse), one service, and its free
//! times for a range of dates.

use actix_web::{HttpResponse, get, web};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::{self, AgencyOut, ServiceDetail, ServiceSummary};
use crate::availability;
use crate::db;
use crate::domain::closed;
use crate::domain::ids::ServiceId;
use crate::domain::search;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_agencies)
        .service(list_services)
        .service(slots)
        .service(get_service);
}

/// All agencies with a counter at the mall.
#[utoipa::path(get, path = "/api/v1/agencies", tag = "catalogue",
    responses((status = 200, body = [AgencyOut])))]
#[get("/agencies")]
pub async fn list_agencies(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let rows = db::catalog::agencies(&mut conn).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(AgencyOut::from).collect::<Vec<_>>()))
}

#[derive(Deserialize, IntoParams)]
pub struct ServiceQuery {
    /// An agency slug.
    agency: Option<String>,
    /// Words to find in names (Indonesian or English), old names (IMB, SIUP) or the agency.
    q: Option<String>,
}

/// Active services, filtered by agency and/or search words.
#[utoipa::path(get, path = "/api/v1/services", tag = "catalogue", params(ServiceQuery),
    responses((status = 200, body = [ServiceSummary]), (status = 404, description = "unknown agency")))]
#[get("/services")]
pub async fn list_services(
    state: web::Data<AppState>,
    query: web::Query<ServiceQuery>,
) -> ApiResult<HttpResponse> {
    if query.q.as_deref().is_some_and(|q| q.len() > 200) {
        return Err(ApiError::field("q", "too_long"));
    }
    let mut conn = state.pool.get().await?;
    let agency = query.agency.as_deref().filter(|a| !a.is_empty());
    if let Some(slug) = agency
        && db::catalog::agency_by_slug(&mut conn, slug)
            .await?
            .is_none()
    {
        return Err(ApiError::not_found("unknown_agency"));
    }
    let words = search::words(query.q.as_deref().unwrap_or(""));
    let rows = db::catalog::active_services(&mut conn).await?;
    let out: Vec<ServiceSummary> = rows
        .iter()
        .filter(|(_, a)| agency.is_none_or(|slug| a.slug == slug))
        .filter_map(|(s, a)| {
            let names: [&str; 5] = [&s.name, &s.name_en, &a.slug, &a.name, &a.name_en];
            let mut hay = names.to_vec();
            hay.extend(s.aliases.iter().chain(&s.former_names).map(String::as_str));
            if !search::matches(&words, &hay) {
                return None;
            }
            let mut out = views::service_summary(s, a);
            match search::matched_through(&words, &names, &s.former_names, &s.aliases) {
                Some(search::Through::FormerName(n)) => out.formerly = Some(n.to_string()),
                Some(search::Through::Alias(n)) => out.matched_alias = Some(n.to_string()),
                None => {}
            }
            Some(out)
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// One service with its requirements (persyaratan).
#[utoipa::path(get, path = "/api/v1/services/{slug}", tag = "catalogue",
    responses((status = 200, body = ServiceDetail), (status = 404, description = "unknown service")))]
#[get("/services/{slug}")]
pub async fn get_service(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let (s, a) = db::catalog::service_by_slug(&mut conn, &slug)
        .await?
        .filter(|(s, _)| s.active)
        .ok_or(ApiError::not_found("unknown_service"))?;
    Ok(HttpResponse::Ok().json(views::service_detail(&s, &a)))
}

#[derive(Deserialize, IntoParams)]
pub struct SlotQuery {
    /// First date, in the site's zone (default: today there).
    from: Option<String>,
    /// Number of dates, 1..=31 (default 7).
    days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct SlotOut {
    pub starts_at: chrono::DateTime<Utc>,
    pub ends_at: chrono::DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct DayOut {
    #[schema(value_type = String, example = "2026-03-16")]
    pub date: NaiveDate,
    pub slots: Vec<SlotOut>,
    /// Only on a day without free times that is closed rather than booked up: `weekend`,
    /// `holiday`, `no_hours` (nobody serves the service that weekday), `over` (today, too late
    /// for another consultation), `past`, `beyond_horizon`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "holiday")]
    pub closed: Option<&'static str>,
    /// With `closed: "holiday"`: the closure's name ("Hari Raya Natal").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holiday: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SlotsOut {
    pub timezone: String,
    pub days: Vec<DayOut>,
}

pub const MAX_SLOT_DAYS: u32 = 31;

/// Free consultation times for a service, per local date.
#[utoipa::path(get, path = "/api/v1/services/{slug}/slots", tag = "catalogue", params(SlotQuery),
    responses((status = 200, body = SlotsOut), (status = 404, description = "unknown service"),
        (status = 422, description = "bad from/days")))]
#[get("/services/{slug}/slots")]
pub async fn slots(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<SlotQuery>,
) -> ApiResult<HttpResponse> {
    let tz = state.settings.timezone;
    let now = Utc::now();
    let from = match query.from.as_deref() {
        None | Some("") => now.with_timezone(&tz).date_naive(),
        Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| ApiError::field("from", "invalid_date"))?,
    };
    let days = query.days.unwrap_or(7);
    if !(1..=MAX_SLOT_DAYS).contains(&days) {
        return Err(ApiError::field("days", "out_of_range"));
    }
    let key = (slug.to_string(), from, days);
    if let Some(body) = state.slot_cache.get(&key) {
        return Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(body));
    }
    let generation = state.slot_cache.generation();
    let mut conn = state.pool.get().await?;
    let (service, _) = state
        .directory
        .service(&mut conn, &slug)
        .await?
        .filter(|(s, _)| s.active)
        .ok_or(ApiError::not_found("unknown_service"))?;
    let window = availability::window(&state.settings, from, days);
    let staffing = state
        .directory
        .staffing(&mut conn, ServiceId(service.id))
        .await?;
    let cal = availability::load(&mut conn, &staffing, ServiceId(service.id), window, None).await?;
    drop(conn);
    let rules = availability::rules(&state.settings, &service, now);
    let days = availability::slots(rules, &cal, from, days);
    // Holidays' names are loaded only when a working day has no times (one query fewer for
    // the common answer).
    let why = |date, holidays: &[_]| availability::why_closed(&rules, &cal, holidays, date);
    let holidays = if days
        .iter()
        .any(|d| d.slots.is_empty() && closed::is_working_day(&why(d.date, &[])))
    {
        let mut conn = state.pool.get().await?;
        db::schedule::holidays_in(&mut conn, window).await?
    } else {
        Vec::new()
    };
    let days = days
        .into_iter()
        .map(|d| {
            let closed = d.slots.is_empty().then(|| why(d.date, &holidays)).flatten();
            DayOut {
                date: d.date,
                slots: d
                    .slots
                    .into_iter()
                    .map(|s| SlotOut {
                        starts_at: s.starts_at,
                        ends_at: s.ends_at,
                    })
                    .collect(),
                closed: closed.as_ref().map(|c| c.code()),
                holiday: closed.as_ref().and_then(|c| c.holiday()).map(String::from),
            }
        })
        .collect();
    let body = serde_json::to_vec(&SlotsOut {
        timezone: tz.name().to_string(),
        days,
    })
    .map_err(|e| ApiError::Internal(e.into()))?;
    let body = web::Bytes::from(body);
    state.slot_cache.put(key, generation, body.clone());
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}
