//! The MPP's administration over HTTP: agencies and services (`catalogue::manage`; admins
//! everywhere, supervisors for their own agency's services), the whole catalogue as a CSV file
//! (`catalogue::import`, admins) and reports (`reports`).

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::body::{BodyLimit, Csv, Json};
use super::views::{self, ServiceDetail};
use crate::auth::StaffSession;
use crate::catalogue::import::{self, ImportReport};
use crate::catalogue::manage::{self, AgencyForm, ServiceForm};
use crate::domain::catalogue;
use crate::error::{ApiError, ApiResult};
use crate::privacy::{self, CitizenData, CitizenForm, Erasure, PrivacyError};
use crate::reports::ReportOut;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(add_agency)
        .service(list_services)
        .service(add_service)
        .service(edit_service)
        // A catalogue file is larger than the API's usual 16 KiB body limit.
        .service(
            web::resource("/admin/catalogue/import")
                .app_data(BodyLimit(catalogue::MAX_BYTES))
                .route(web::post().to(import_catalogue)),
        )
        .service(export_catalogue)
        .service(reports)
        .service(export_citizen)
        .service(erase_citizen)
        .service(outbox);
}

#[derive(Deserialize, IntoParams)]
pub struct OutboxQuery {
    /// Only messages in this status (`pending`, `sent`, `skipped`, …).
    status: Option<String>,
    /// At most this many (1..=500, default 200).
    limit: Option<i64>,
}

/// One message of the Outbox page.
#[derive(Serialize, ToSchema)]
pub struct OutboxEntryOut {
    pub id: uuid::Uuid,
    pub kind: String,
    pub channel: String,
    pub status: String,
    /// The address, mostly hidden.
    pub to: String,
    /// The booking's code, when the message is about a booking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The queue number ("A-007"), when the message is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    pub due_at: chrono::DateTime<chrono::Utc>,
    pub status_at: chrono::DateTime<chrono::Utc>,
    pub attempts: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The text as sent (or as it would have been), links' tokens and codes hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Every message Loket sent or would have sent, newest first (admins): in a demo without
/// providers this is where the messages can be read.
#[utoipa::path(get, path = "/api/v1/admin/outbox", tag = "admin", params(OutboxQuery),
    responses((status = 200, body = [OutboxEntryOut]), (status = 403)))]
#[get("/admin/outbox")]
pub async fn outbox(
    state: web::Data<AppState>,
    me: StaffSession,
    q: web::Query<OutboxQuery>,
) -> ApiResult<HttpResponse> {
    use crate::domain::notify::Delivery;
    use crate::notify::{OutboxError, masked_address, outbox_entries};
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(raw) => {
            Some(Delivery::parse(raw).ok_or_else(|| ApiError::field("status", "invalid"))?)
        }
    };
    let rows = outbox_entries(&state.ctx, &me, status, q.limit.unwrap_or(200))
        .await
        .map_err(|e| match e {
            OutboxError::InsufficientRole => ApiError::Forbidden {
                code: "insufficient_role",
            },
            OutboxError::Fault(f) => f.into(),
        })?;
    let out: Vec<OutboxEntryOut> = rows
        .into_iter()
        .map(|r| OutboxEntryOut {
            id: r.id,
            kind: r.kind,
            channel: r.channel,
            status: r.status,
            to: masked_address(&r.address),
            code: r.code,
            ticket: r
                .ticket
                .map(|(prefix, seq)| crate::domain::queue::number(&prefix, seq.max(0) as u32)),
            due_at: r.due_at,
            status_at: r.status_at,
            attempts: r.attempts,
            last_error: r.last_error,
            text: r.preview,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Adds an agency (admins).
#[utoipa::path(post, path = "/api/v1/admin/agencies", tag = "admin", request_body = AgencyForm,
    responses((status = 201, body = views::AgencyOut), (status = 409, description = "slug_taken"), (status = 422)))]
#[post("/admin/agencies")]
pub async fn add_agency(
    state: web::Data<AppState>,
    me: StaffSession,
    body: Json<AgencyForm>,
) -> ApiResult<HttpResponse> {
    let agency = manage::add_agency(&state.ctx, &me, &body).await?;
    Ok(HttpResponse::Created().json(views::AgencyOut::from(&agency)))
}

#[derive(Deserialize, IntoParams)]
pub struct AgencyQuery {
    agency: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AdminServiceOut {
    #[serde(flatten)]
    pub service: ServiceDetail,
    pub active: bool,
}

fn admin_service_out(
    (s, a): &(crate::db::catalog::Service, crate::db::catalog::Agency),
) -> AdminServiceOut {
    AdminServiceOut {
        service: views::service_detail(s, a),
        active: s.active,
    }
}

/// Services including inactive ones (admins: all or `agency=`; supervisors: their agency).
#[utoipa::path(get, path = "/api/v1/admin/services", tag = "admin", params(AgencyQuery),
    responses((status = 200, body = [AdminServiceOut])))]
#[get("/admin/services")]
pub async fn list_services(
    state: web::Data<AppState>,
    me: StaffSession,
    q: web::Query<AgencyQuery>,
) -> ApiResult<HttpResponse> {
    let rows = manage::services(&state.ctx, &me, q.agency.as_deref()).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(admin_service_out).collect::<Vec<_>>()))
}

/// Adds a service to an agency (admins; supervisors for their own agency).
#[utoipa::path(post, path = "/api/v1/admin/services", tag = "admin", request_body = ServiceForm,
    responses((status = 201, body = AdminServiceOut), (status = 409, description = "slug_taken"), (status = 422)))]
#[post("/admin/services")]
pub async fn add_service(
    state: web::Data<AppState>,
    me: StaffSession,
    body: Json<ServiceForm>,
) -> ApiResult<HttpResponse> {
    let added = manage::add_service(&state.ctx, &me, &body).await?;
    Ok(HttpResponse::Created().json(admin_service_out(&added)))
}

/// Changes a service: names, aliases, durations, requirements, NIK need, active.
#[utoipa::path(patch, path = "/api/v1/admin/services/{slug}", tag = "admin", request_body = ServiceForm,
    responses((status = 200, body = AdminServiceOut), (status = 404), (status = 422)))]
#[patch("/admin/services/{slug}")]
pub async fn edit_service(
    state: web::Data<AppState>,
    me: StaffSession,
    slug: web::Path<String>,
    body: Json<ServiceForm>,
) -> ApiResult<HttpResponse> {
    let changed = manage::edit_service(&state.ctx, &me, &slug, &body).await?;
    Ok(HttpResponse::Ok().json(admin_service_out(&changed)))
}

#[derive(Deserialize, IntoParams)]
pub struct ImportQuery {
    /// `true`: report what would change, change nothing.
    #[serde(default)]
    dry_run: bool,
}

/// Imports the catalogue from a CSV file sent as the body (admins): see docs/catalogue.md.
#[utoipa::path(post, path = "/api/v1/admin/catalogue/import", tag = "admin", params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport),
        (status = 422, description = "validation_failed: fields \"<row>.<column>\" → problem; nothing imported"),
        (status = 409, description = "catalogue_busy"), (status = 403), (status = 400, description = "body_too_large")))]
pub async fn import_catalogue(
    state: web::Data<AppState>,
    me: StaffSession,
    q: web::Query<ImportQuery>,
    file: Csv,
) -> ApiResult<HttpResponse> {
    let report = import::import(&state.ctx, &me, &file.0, q.dry_run).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The whole catalogue as a CSV file an import reads back as it is (admins).
#[utoipa::path(get, path = "/api/v1/admin/catalogue/export", tag = "admin",
    responses((status = 200, content_type = "text/csv", body = String), (status = 403)))]
#[get("/admin/catalogue/export")]
pub async fn export_catalogue(
    state: web::Data<AppState>,
    me: StaffSession,
) -> ApiResult<HttpResponse> {
    let file = import::export(&state.ctx, &me).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"loket-catalogue.csv\"",
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(file))
}

#[derive(Deserialize, IntoParams)]
pub struct ReportQuery {
    /// First local date (default: 30 days ago).
    from: Option<String>,
    /// Last local date, inclusive (default: today).
    to: Option<String>,
    /// Admins: one agency's slug.
    agency: Option<String>,
}

/// A local date from the query, if given.
pub fn query_date(raw: Option<&str>, name: &str) -> ApiResult<Option<NaiveDate>> {
    match raw {
        None | Some("") => Ok(None),
        Some(r) => crate::domain::dates::parse_date(r)
            .map(Some)
            .map_err(|p| ApiError::field(name, p)),
    }
}

/// Volume per status, no-show rate and IKM per agency for appointments in a date range.
#[utoipa::path(get, path = "/api/v1/admin/reports", tag = "admin", params(ReportQuery),
    responses((status = 200, body = ReportOut), (status = 403)))]
#[get("/admin/reports")]
pub async fn reports(
    state: web::Data<AppState>,
    me: StaffSession,
    q: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    let from = query_date(q.from.as_deref(), "from")?;
    let to = query_date(q.to.as_deref(), "to")?;
    let report = crate::reports::report(&state.ctx, &me, from, to, q.agency.as_deref()).await?;
    Ok(HttpResponse::Ok().json(report))
}

impl From<PrivacyError> for ApiError {
    fn from(e: PrivacyError) -> Self {
        match e {
            PrivacyError::Invalid(fields) => ApiError::validation(fields),
            PrivacyError::InsufficientRole => ApiError::Forbidden {
                code: "insufficient_role",
            },
            PrivacyError::NotFound => ApiError::not_found("no_citizen_data"),
            PrivacyError::Fault(f) => f.into(),
        }
    }
}

/// Everything Loket holds about one citizen, for their data request (admins). The phone, NIK or
/// booking code travel in the body, never in the URL.
#[utoipa::path(post, path = "/api/v1/admin/citizen-data/export", tag = "admin", request_body = CitizenForm,
    responses((status = 200, body = CitizenData), (status = 403), (status = 404, description = "no_citizen_data"), (status = 422)))]
#[post("/admin/citizen-data/export")]
pub async fn export_citizen(
    state: web::Data<AppState>,
    me: StaffSession,
    body: Json<CitizenForm>,
) -> ApiResult<HttpResponse> {
    let data = privacy::export(&state.ctx, &me, &body).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(data))
}

/// Wipes one citizen's personal data from their finished appointments (admins).
#[utoipa::path(post, path = "/api/v1/admin/citizen-data/erase", tag = "admin", request_body = CitizenForm,
    responses((status = 200, body = Erasure), (status = 403), (status = 404, description = "no_citizen_data"), (status = 422)))]
#[post("/admin/citizen-data/erase")]
pub async fn erase_citizen(
    state: web::Data<AppState>,
    me: StaffSession,
    body: Json<CitizenForm>,
) -> ApiResult<HttpResponse> {
    let done = privacy::erase(&state.ctx, &me, &body).await?;
    Ok(HttpResponse::Ok().json(done))
}
