//! The citizen's side of an appointment: booking (race-free, idempotent, rate-limited), and with
//! the citizen token: view, reschedule, cancel, the calendar file and the survey.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::views::{self, AppointmentOut};
use crate::auth::{Citizen, tokens};
use crate::availability;
use crate::db::{self, appointments::BookError, appointments::ChangeError};
use crate::domain::appointment::{BookingCode, Status};
use crate::domain::citizen::{CitizenName, Email, Nik, Phone};
use crate::domain::ics;
use crate::domain::ids::{AppointmentId, ServiceId};
use crate::domain::schedule::Interval;
use crate::domain::survey::{MAX_COMMENT_CHARS, SurveyAnswers};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::startup::AppState;

/// What a `slot_taken` conflict tells the caller here.
const SLOT_TAKEN: &str = "That time is no longer free; please choose another.";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(book)
        .service(current)
        .service(reschedule)
        .service(cancel)
        .service(ics_file)
        .service(survey);
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct CitizenIn {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Only for services with `needs_nik`; ignored (never stored) otherwise.
    pub nik: Option<String>,
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct BookingIn {
    /// Service slug.
    pub service: Option<String>,
    /// RFC 3339, one of the offered slot starts.
    pub starts_at: Option<String>,
    pub citizen: Option<CitizenIn>,
    /// Consent to the processing of personal data (UU PDP); must be true.
    pub consent: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct Links {
    /// The join page; the token travels in the fragment.
    pub join: String,
    /// The manage page; the token travels in the fragment.
    pub manage: String,
    /// The calendar file (needs `Authorization: Bearer <token>`).
    pub ics: String,
}

#[derive(Serialize, ToSchema)]
pub struct BookingOut {
    pub appointment: AppointmentOut,
    /// The citizen token: bound to this appointment only.
    pub token: String,
    pub links: Links,
}

fn links(state: &AppState, token: &str) -> Links {
    let base = &state.settings.public_url;
    Links {
        join: format!("{base}/join#t={token}"),
        manage: format!("{base}/manage#t={token}"),
        ics: format!("{base}/api/v1/appointments/current/ics"),
    }
}

fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn idempotency_key(req: &HttpRequest) -> ApiResult<Option<String>> {
    let Some(v) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 128 && k.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1-128 visible ASCII characters.",
            )
        })?;
    Ok(Some(key.to_string()))
}

async fn booking_response(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    id: AppointmentId,
) -> ApiResult<HttpResponse> {
    let view = db::appointments::view(conn, id)
        .await?
        .ok_or(ApiError::not_found("appointment_not_found"))?;
    booking_out(state, &view)
}

/// 201 with the appointment, its token and links. The token is a function of the row, so a
/// replay answers byte for byte what the first request got.
fn booking_out(
    state: &AppState,
    view: &db::appointments::AppointmentView,
) -> ApiResult<HttpResponse> {
    let token = tokens::citizen_token(
        &state.keys,
        view.appointment.id(),
        view.appointment.created_at,
    )?;
    Ok(HttpResponse::Created().json(BookingOut {
        appointment: views::appointment_out(view),
        links: links(state, &token),
        token,
    }))
}

/// Books a consultation: assigns a free clerk fairly, or 409 `slot_taken`.
#[utoipa::path(post, path = "/api/v1/appointments", tag = "appointments", request_body = BookingIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "replays return the first response")),
    responses((status = 201, body = BookingOut),
        (status = 409, description = "slot_taken or too_many_active_bookings", body = crate::error::ErrorBody),
        (status = 422, description = "validation_failed with fields, or idempotency_key_reused", body = crate::error::ErrorBody),
        (status = 429, description = "rate_limited, with Retry-After")))]
#[post("/appointments")]
pub async fn book(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<BookingIn>,
) -> ApiResult<HttpResponse> {
    if let Err(wait) = state.booking_limiter.check(&super::client_ip(&req)) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait,
        });
    }
    let key = idempotency_key(&req)?;
    let body = body.into_inner();
    let request_hash = {
        let canonical: Value = serde_json::to_value(&body).unwrap_or(Value::Null);
        let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
        state.keys.mac(&state.keys.request_hash, &bytes)
    };
    let mut conn = state.pool.get().await?;
    if let Some(k) = &key
        && let Some(existing) = db::appointments::by_idempotency_key(&mut conn, k).await?
    {
        return replay(&state, &mut conn, existing, &request_hash).await;
    }

    // Validate everything and report every bad field at once.
    let mut fields = FieldErrors::new();
    let mut bad = |f: &str, p: &str| {
        fields.insert(f.to_string(), p.to_string());
    };
    let service = match body.service.as_deref().map(str::trim) {
        None | Some("") => {
            bad("service", "required");
            None
        }
        Some(slug) => {
            let found = state
                .directory
                .service(&mut conn, slug)
                .await?
                .filter(|(s, _)| s.active);
            if found.is_none() {
                bad("service", "unknown");
            }
            found
        }
    };
    let starts_at = match body.starts_at.as_deref() {
        None => {
            bad("starts_at", "required");
            None
        }
        Some(raw) => {
            let t = parse_time(raw);
            if t.is_none() {
                bad("starts_at", "invalid");
            }
            t
        }
    };
    let citizen = body.citizen.unwrap_or(CitizenIn {
        name: None,
        phone: None,
        email: None,
        nik: None,
    });
    let name = CitizenName::parse(citizen.name.as_deref().unwrap_or(""))
        .map_err(|e| bad("citizen.name", e))
        .ok();
    let phone = Phone::parse(citizen.phone.as_deref().unwrap_or(""))
        .map_err(|e| bad("citizen.phone", e))
        .ok();
    let email = match citizen.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Email::parse(raw).map_err(|e| bad("citizen.email", e)).ok(),
    };
    let needs_nik = service.as_ref().is_some_and(|(s, _)| s.needs_nik);
    let nik = if needs_nik {
        Nik::parse(citizen.nik.as_deref().unwrap_or(""))
            .map_err(|e| bad("citizen.nik", e))
            .ok()
    } else {
        None
    };
    if body.consent != Some(true) {
        bad("consent", "required");
    }
    let (Some((service, _)), Some(starts_at), Some(name), Some(phone), true) =
        (service, starts_at, name, phone, fields.is_empty())
    else {
        return Err(ApiError::validation(fields));
    };

    // Which clerks are free at exactly that start?
    let now = Utc::now();
    let rules = availability::rules(&state.settings, &service, now);
    let window = Interval {
        start: starts_at - Duration::days(1),
        end: starts_at + Duration::days(1),
    };
    let staffing = state
        .directory
        .staffing(&mut conn, ServiceId(service.id))
        .await?;
    let cal = availability::load(&mut conn, &staffing, ServiceId(service.id), window, None).await?;
    let candidates = availability::free_clerks(rules, &cal, starts_at);
    if candidates.is_empty() {
        // Either it was never a slot, or it has just been taken: both mean "pick another".
        return Err(ApiError::conflict("slot_taken", SLOT_TAKEN));
    }
    let duration = Duration::minutes(service.duration_minutes as i64);
    let blocked = duration + Duration::minutes(service.buffer_minutes as i64);
    let (nik_cipher, nik_hash, nik_last4, nik_masked) = match &nik {
        Some(n) => (
            Some(state.keys.encrypt_nik(n)?),
            Some(state.keys.hash_nik(n)),
            Some(n.last4().to_string()),
            Some(n.masked()),
        ),
        None => (None, None, None, None),
    };
    let new = db::appointments::NewAppointment {
        id: Uuid::new_v4(),
        code: BookingCode::generate().as_str().to_string(),
        service_id: service.id,
        staff_id: candidates[0].0,
        period: db::schedule::range(Interval {
            start: starts_at,
            end: starts_at + blocked,
        }),
        ends_at: starts_at + duration,
        citizen_name: name.as_str().to_string(),
        citizen_phone: phone.e164().to_string(),
        citizen_email: email.map(|e| e.as_str().to_string()),
        nik_cipher,
        nik_last4,
        nik_masked,
        nik_hash,
        idempotency_key: key,
        request_hash: Some(request_hash.clone()),
    };
    match db::appointments::book(
        &mut conn,
        new,
        &candidates,
        state.settings.max_active_bookings,
    )
    .await
    {
        Ok(row) => {
            state
                .metrics
                .bookings
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::info!(appointment = %row.id, code = %row.code, "booked");
            state.feed.publish_appointment(&row);
            // Answer from what we already hold instead of reading the row back.
            let view = db::appointments::AppointmentView {
                clerk_name: cal.names.get(&row.staff()).cloned().unwrap_or_default(),
                clerk_agency: Some(service.agency_id),
                service_slug: service.slug.clone(),
                service_name: service.name.clone(),
                service_name_en: service.name_en.clone(),
                appointment: row,
            };
            booking_out(&state, &view)
        }
        Err(BookError::SlotTaken) => {
            state
                .metrics
                .slot_taken
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err(ApiError::conflict("slot_taken", SLOT_TAKEN))
        }
        Err(BookError::TooManyActive) => Err(ApiError::conflict(
            "too_many_active_bookings",
            format!(
                "This phone number already has {} active bookings.",
                state.settings.max_active_bookings
            ),
        )),
        Err(BookError::KeyUsed(id)) => {
            let existing = db::appointments::view(&mut conn, id)
                .await?
                .ok_or(ApiError::not_found("appointment_not_found"))?;
            replay(&state, &mut conn, existing.appointment, &request_hash).await
        }
        Err(BookError::Busy) => Err(ApiError::Unavailable { code: "busy" }),
        Err(BookError::Db(e)) => Err(e.into()),
    }
}

async fn replay(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    existing: db::appointments::Appointment,
    request_hash: &[u8],
) -> ApiResult<HttpResponse> {
    if existing.request_hash.as_deref() != Some(request_hash) {
        return Err(ApiError::unprocessable(
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request.",
        ));
    }
    booking_response(state, conn, existing.id()).await
}

async fn load_own(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    citizen: Citizen,
) -> ApiResult<db::appointments::AppointmentView> {
    let _ = state;
    db::appointments::view(conn, citizen.appointment)
        .await?
        .ok_or(ApiError::not_found("appointment_not_found"))
}

/// The appointment this token belongs to.
#[utoipa::path(get, path = "/api/v1/appointments/current", tag = "appointments",
    security(("citizen_token" = [])),
    responses((status = 200, body = AppointmentOut), (status = 401, description = "missing or invalid token")))]
#[get("/appointments/current")]
pub async fn current(state: web::Data<AppState>, citizen: Citizen) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let view = load_own(&state, &mut conn, citizen).await?;
    Ok(HttpResponse::Ok().json(views::appointment_out(&view)))
}

#[derive(Deserialize, ToSchema)]
pub struct RescheduleIn {
    pub starts_at: Option<String>,
}

/// Moves the appointment to another free time, keeping the same clerk when they are free.
#[utoipa::path(post, path = "/api/v1/appointments/current/reschedule", tag = "appointments",
    security(("citizen_token" = [])), request_body = RescheduleIn,
    responses((status = 200, body = AppointmentOut), (status = 409, description = "slot_taken / invalid_state"),
        (status = 422, description = "bad starts_at")))]
#[post("/appointments/current/reschedule")]
pub async fn reschedule(
    state: web::Data<AppState>,
    citizen: Citizen,
    body: web::Json<RescheduleIn>,
) -> ApiResult<HttpResponse> {
    let starts_at = match body.starts_at.as_deref() {
        None => return Err(ApiError::field("starts_at", "required")),
        Some(raw) => parse_time(raw).ok_or_else(|| ApiError::field("starts_at", "invalid"))?,
    };
    let mut conn = state.pool.get().await?;
    let view = load_own(&state, &mut conn, citizen).await?;
    let a = &view.appointment;
    if !a.status().can_reschedule() {
        return Err(super::change_error(
            ChangeError::InvalidState(a.status()),
            SLOT_TAKEN,
        ));
    }
    let (service, _) = db::catalog::service_by_id(&mut conn, ServiceId(a.service_id)).await?;
    let rules = availability::rules(&state.settings, &service, Utc::now());
    let window = Interval {
        start: starts_at - Duration::days(1),
        end: starts_at + Duration::days(1),
    };
    let staffing = state
        .directory
        .staffing(&mut conn, ServiceId(service.id))
        .await?;
    let mut cal =
        availability::load(&mut conn, &staffing, ServiceId(service.id), window, None).await?;
    // The appointment's own time does not block its move.
    let own = db::schedule::interval(&a.period);
    for c in cal.clerks.iter_mut().filter(|c| c.staff_id == a.staff()) {
        c.busy.retain(|b| Some(*b) != own);
    }
    let mut candidates = availability::free_clerks(rules, &cal, starts_at);
    if let Some(pos) = candidates.iter().position(|s| *s == a.staff()) {
        let same = candidates.remove(pos);
        candidates.insert(0, same);
    }
    let duration = Duration::minutes(service.duration_minutes as i64);
    let period = Interval {
        start: starts_at,
        end: starts_at + duration + Duration::minutes(service.buffer_minutes as i64),
    };
    for clerk in candidates {
        match db::appointments::reschedule(
            &mut conn,
            a.id(),
            clerk,
            period,
            starts_at + duration,
            "citizen",
            "rescheduled",
        )
        .await
        {
            Ok(row) => {
                state.feed.publish_appointment(&row);
                let view = load_own(&state, &mut conn, citizen).await?;
                return Ok(HttpResponse::Ok().json(views::appointment_out(&view)));
            }
            Err(ChangeError::SlotTaken) => continue,
            Err(e) => return Err(super::change_error(e, SLOT_TAKEN)),
        }
    }
    Err(super::change_error(ChangeError::SlotTaken, SLOT_TAKEN))
}

/// Cancels the appointment (only before the call starts).
#[utoipa::path(post, path = "/api/v1/appointments/current/cancel", tag = "appointments",
    security(("citizen_token" = [])),
    responses((status = 200, body = AppointmentOut), (status = 409, description = "invalid_state")))]
#[post("/appointments/current/cancel")]
pub async fn cancel(state: web::Data<AppState>, citizen: Citizen) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let row = db::appointments::transition(
        &mut conn,
        citizen.appointment,
        Status::Cancelled,
        "citizen",
        None,
    )
    .await
    .map_err(|e| super::change_error(e, SLOT_TAKEN))?;
    state.feed.publish_appointment(&row);
    let view = load_own(&state, &mut conn, citizen).await?;
    Ok(HttpResponse::Ok().json(views::appointment_out(&view)))
}

/// The appointment as an iCalendar file (RFC 5545).
#[utoipa::path(get, path = "/api/v1/appointments/current/ics", tag = "appointments",
    security(("citizen_token" = [])),
    responses((status = 200, content_type = "text/calendar", body = String)))]
#[get("/appointments/current/ics")]
pub async fn ics_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    citizen: Citizen,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let view = load_own(&state, &mut conn, citizen).await?;
    let a = &view.appointment;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default();
    let events = db::events::counts(&mut conn, &[a.id]).await?;
    let join = format!("{}/join#t={}", state.settings.public_url, token.trim());
    let summary = format!("Konsultasi Loket: {}", view.service_name);
    let description = format!(
        "Kode booking / booking code: {}\nPetugas / clerk: {}\nGabung / join: {}",
        a.code, view.clerk_name, join
    );
    let body = ics::calendar(
        "Loket",
        &[ics::IcsEvent {
            uid: format!("{}@loket", a.id),
            starts_at: a.starts_at(),
            ends_at: a.ends_at,
            summary: &summary,
            description: &description,
            url: Some(&join),
            cancelled: a.status() == Status::Cancelled,
            sequence: db::events::sequence(events.get(&a.id)),
            stamp: a.updated_at,
        }],
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/calendar; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"loket-{}.ics\"", a.code),
        ))
        .body(body))
}

#[derive(Deserialize, ToSchema)]
pub struct SurveyIn {
    /// Nine answers, 1..=4, in the order of the IKM elements.
    pub answers: Option<Vec<i64>>,
    pub comment: Option<String>,
}

/// Stores the satisfaction survey (IKM) once the consultation is over.
#[utoipa::path(post, path = "/api/v1/appointments/current/survey", tag = "appointments",
    security(("citizen_token" = [])), request_body = SurveyIn,
    responses((status = 201, description = "stored"), (status = 409, description = "survey_exists / not_finished"),
        (status = 422, description = "bad answers")))]
#[post("/appointments/current/survey")]
pub async fn survey(
    state: web::Data<AppState>,
    citizen: Citizen,
    body: web::Json<SurveyIn>,
) -> ApiResult<HttpResponse> {
    let answers = SurveyAnswers::parse(body.answers.as_deref().unwrap_or(&[]))
        .map_err(|e| ApiError::field("answers", e))?;
    let comment = body
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        return Err(ApiError::field("comment", "too_long"));
    }
    let mut conn = state.pool.get().await?;
    let view = load_own(&state, &mut conn, citizen).await?;
    if !matches!(
        view.appointment.status(),
        Status::Completed | Status::InCall
    ) {
        return Err(ApiError::conflict(
            "not_finished",
            "The survey opens once the consultation has taken place.",
        ));
    }
    if !db::appointments::insert_survey(&mut conn, citizen.appointment, &answers.values(), comment)
        .await?
    {
        return Err(ApiError::conflict(
            "survey_exists",
            "This survey was already answered. Terima kasih!",
        ));
    }
    Ok(HttpResponse::Created().json(serde_json::json!({"stored": true})))
}
