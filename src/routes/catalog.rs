//! The public catalogue over HTTP (`catalogue::browse`): agencies, services (search and browse),
//! one service, and its free times for a range of dates (answers cached briefly, see
//! `availability::SlotCache`).

use actix_web::{HttpResponse, get, web};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::{self, AgencyOut, ServiceDetail, ServiceSummary};
use crate::catalogue::{CatalogueError, browse};
use crate::domain::search::Through;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

impl From<CatalogueError> for ApiError {
    fn from(e: CatalogueError) -> Self {
        match e {
            CatalogueError::Invalid(fields) => ApiError::validation(fields),
            CatalogueError::UnknownAgency => ApiError::not_found("unknown_agency"),
            CatalogueError::UnknownService => ApiError::not_found("unknown_service"),
            CatalogueError::InsufficientRole => ApiError::Forbidden {
                code: "insufficient_role",
            },
            CatalogueError::NotYourAgency => ApiError::Forbidden {
                code: "not_your_agency",
            },
            CatalogueError::AgencySlugTaken => {
                ApiError::conflict("slug_taken", "An agency with this slug exists.")
            }
            CatalogueError::ServiceSlugTaken => {
                ApiError::conflict("slug_taken", "A service with this slug exists.")
            }
            // `fields`: "<row>.<column>" → problem, the header being row 1 ("0.file" for the
            // file as a whole).
            CatalogueError::Rows(problems) => ApiError::validation(
                problems
                    .into_iter()
                    .map(|p| (format!("{}.{}", p.row, p.column), p.problem.to_string()))
                    .collect(),
            ),
            CatalogueError::Busy => ApiError::conflict(
                "catalogue_busy",
                "The catalogue changed during the import; nothing was changed. Try again.",
            ),
            CatalogueError::Fault(f) => f.into(),
        }
    }
}

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
    let rows = browse::agencies(&state.ctx).await?;
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
    let rows = browse::services(&state.ctx, query.agency.as_deref(), query.q.as_deref()).await?;
    let out: Vec<ServiceSummary> = rows
        .iter()
        .map(|(s, a, through)| {
            let mut out = views::service_summary(s, a);
            match through {
                Some(Through::FormerName(n)) => out.formerly = Some(n.clone()),
                Some(Through::Alias(n)) => out.matched_alias = Some(n.clone()),
                None => {}
            }
            out
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
    let (s, a) = browse::service(&state.ctx, &slug).await?;
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

pub use browse::MAX_SLOT_DAYS;

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
    let from = match query.from.as_deref() {
        None | Some("") => Utc::now().with_timezone(&tz).date_naive(),
        Some(raw) => crate::domain::dates::parse_date(raw)
            .map_err(|problem| ApiError::field("from", problem))?,
    };
    let days = query.days.unwrap_or(7);
    let key = (slug.to_string(), from, days);
    if let Some(body) = state.slot_cache.get(&key) {
        return Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(body));
    }
    let generation = state.slot_cache.generation();
    let days = browse::free_times(&state.ctx, &slug, from, days)
        .await?
        .into_iter()
        .map(|(d, closed)| DayOut {
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
