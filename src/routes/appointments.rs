//! The citizen's side of an appointment over HTTP (use-cases in `booking`): booking
//! (rate-limited per address, idempotent), and with the citizen token: view, confirm a held
//! booking with its code (and ask for another), reschedule, cancel,
//! the calendar file and the survey; without it, link recovery by booking code, phone and a
//! one-time code.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body::Json;
use super::extract::{Citizen, bearer};
use super::views::{self, AppointmentOut};
use crate::booking::{self, BookingError, BookingForm, Links, manage};
use crate::domain::survey::SurveyAnswers;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What a `slot_taken` conflict tells the caller here.
const SLOT_TAKEN: &str = "That time is no longer free; please choose another.";

fn refused(e: BookingError) -> ApiError {
    super::booking_error(e, SLOT_TAKEN)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(book)
        .service(current)
        .service(confirm)
        .service(resend_code)
        .service(reschedule)
        .service(cancel)
        .service(ics_file)
        .service(survey)
        .service(offers)
        .service(recover)
        .service(recover_verify);
}

#[derive(Serialize, ToSchema)]
pub struct BookingOut {
    pub appointment: AppointmentOut,
    /// The citizen token: bound to this appointment only.
    pub token: String,
    pub links: Links,
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

/// Books a consultation: assigns a free clerk fairly, or 409 `slot_taken`.
#[utoipa::path(post, path = "/api/v1/appointments", tag = "appointments", request_body = BookingForm,
    params(("Idempotency-Key" = Option<String>, Header, description = "replays return the first response")),
    responses((status = 201, body = BookingOut),
        (status = 409, description = "slot_taken or too_many_active_bookings", body = crate::error::ErrorBody),
        (status = 422, description = "validation_failed with fields, or idempotency_key_reused", body = crate::error::ErrorBody),
        (status = 429, description = "rate_limited, with Retry-After")))]
#[post("/appointments")]
pub async fn book(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<BookingForm>,
) -> ApiResult<HttpResponse> {
    if let Err(wait) = state.booking_limiter.check(&super::client_ip(&req)) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait,
        });
    }
    let key = idempotency_key(&req)?;
    let booked = booking::book(&state.ctx, body.into_inner(), key)
        .await
        .map_err(refused)?;
    Ok(HttpResponse::Created().json(BookingOut {
        appointment: views::appointment_out(&booked.view),
        token: booked.token,
        links: booked.links,
    }))
}

/// The appointment this token belongs to.
#[utoipa::path(get, path = "/api/v1/appointments/current", tag = "appointments",
    security(("citizen_token" = [])),
    responses((status = 200, body = AppointmentOut), (status = 401, description = "missing or invalid token")))]
#[get("/appointments/current")]
pub async fn current(state: web::Data<AppState>, citizen: Citizen) -> ApiResult<HttpResponse> {
    let (view, notices) = manage::current_with_notices(&state.ctx, citizen.appointment)
        .await
        .map_err(refused)?;
    let mut out = views::appointment_out(&view);
    out.notifications = Some(views::notices_out(&notices));
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize, ToSchema)]
pub struct ConfirmIn {
    /// The 6-digit code sent to the booking's phone.
    pub otp: Option<String>,
}

/// Confirms a held booking with the code sent to its phone (DESIGN §9): 200 with the
/// appointment `booked` (again 200 if it already was), and only then the booking's messages.
#[utoipa::path(post, path = "/api/v1/appointments/current/confirm", tag = "appointments",
    security(("citizen_token" = [])), request_body = ConfirmIn,
    responses((status = 200, body = AppointmentOut),
        (status = 409, description = "hold_expired, too_many_tries (the hold was released) or not_held", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_code (a wrong try, counted), code_expired, or validation_failed (otp not 6 digits)", body = crate::error::ErrorBody)))]
#[post("/appointments/current/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    citizen: Citizen,
    body: Json<ConfirmIn>,
) -> ApiResult<HttpResponse> {
    let view = booking::hold::confirm(
        &state.ctx,
        citizen.appointment,
        body.otp.as_deref().unwrap_or(""),
    )
    .await
    .map_err(refused)?;
    Ok(HttpResponse::Ok().json(views::appointment_out(&view)))
}

#[derive(Serialize, ToSchema)]
pub struct ResentOut {
    pub hold_expires_at: chrono::DateTime<chrono::Utc>,
    /// The new code works until then (the old one no longer does).
    pub code_expires_at: chrono::DateTime<chrono::Utc>,
    pub resends_left: i32,
}

/// Sends a held booking a new code (at most 3 more, a minute apart); the hold's time does
/// not change.
#[utoipa::path(post, path = "/api/v1/appointments/current/confirm/resend", tag = "appointments",
    security(("citizen_token" = [])),
    responses((status = 200, body = ResentOut),
        (status = 409, description = "hold_expired, too_many_resends or not_held", body = crate::error::ErrorBody),
        (status = 429, description = "rate_limited: the last code went out less than a minute ago (Retry-After)")))]
#[post("/appointments/current/confirm/resend")]
pub async fn resend_code(state: web::Data<AppState>, citizen: Citizen) -> ApiResult<HttpResponse> {
    let r = booking::hold::resend(&state.ctx, citizen.appointment)
        .await
        .map_err(refused)?;
    Ok(HttpResponse::Ok().json(ResentOut {
        hold_expires_at: r.hold_expires_at,
        code_expires_at: r.code_expires_at,
        resends_left: r.resends_left,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct OffersOut {
    /// The nearest free starts of the booking's service, soonest first (with priority when
    /// `needs_new_time`). Accept one with `POST …/current/reschedule`.
    pub offers: Vec<OfferOut>,
}

#[derive(Serialize, ToSchema)]
pub struct OfferOut {
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub ends_at: chrono::DateTime<chrono::Utc>,
}

/// The nearest free times to move this booking to.
#[utoipa::path(get, path = "/api/v1/appointments/current/offers", tag = "appointments",
    security(("citizen_token" = [])),
    responses((status = 200, body = OffersOut), (status = 409, description = "invalid_state")))]
#[get("/appointments/current/offers")]
pub async fn offers(state: web::Data<AppState>, citizen: Citizen) -> ApiResult<HttpResponse> {
    let slots = manage::offers(&state.ctx, citizen.appointment)
        .await
        .map_err(refused)?;
    Ok(HttpResponse::Ok().json(OffersOut {
        offers: slots
            .into_iter()
            .map(|s| OfferOut {
                starts_at: s.starts_at,
                ends_at: s.ends_at,
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct RecoverIn {
    /// The booking code (`7KQ2M9XD`; case, dashes and look-alikes forgiven).
    pub code: Option<String>,
    pub phone: Option<String>,
}

/// Starts link recovery. Always 202, at once: when code and phone match an active booking, a
/// 6-digit code (10 minutes, 5 tries) goes to that booking's WhatsApp (SMS) and email.
#[utoipa::path(post, path = "/api/v1/appointments/recover", tag = "appointments", request_body = RecoverIn,
    responses((status = 202, description = "accepted, whatever the input"), (status = 429, description = "rate_limited")))]
#[post("/appointments/recover")]
pub async fn recover(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<RecoverIn>,
) -> ApiResult<HttpResponse> {
    if let Err(wait) = state.recovery_limiter.check(&super::client_ip(&req)) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait,
        });
    }
    crate::notify::recover::request(
        state.ctx.clone(),
        body.code.as_deref().unwrap_or(""),
        body.phone.as_deref().unwrap_or(""),
    );
    Ok(HttpResponse::Accepted().json(serde_json::json!({"status": "accepted"})))
}

#[derive(Deserialize, ToSchema)]
pub struct RecoverVerifyIn {
    pub code: Option<String>,
    pub phone: Option<String>,
    /// The 6-digit code that was sent.
    pub otp: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveredOut {
    pub token: String,
    pub links: Links,
}

/// Finishes link recovery: the booking's token and links, or 422 `invalid_code` (the same for
/// a wrong, expired or used code and for no such booking).
#[utoipa::path(post, path = "/api/v1/appointments/recover/verify", tag = "appointments", request_body = RecoverVerifyIn,
    responses((status = 200, body = RecoveredOut), (status = 422, description = "invalid_code"),
        (status = 429, description = "rate_limited")))]
#[post("/appointments/recover/verify")]
pub async fn recover_verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<RecoverVerifyIn>,
) -> ApiResult<HttpResponse> {
    if let Err(wait) = state.recovery_limiter.check(&super::client_ip(&req)) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait,
        });
    }
    use crate::notify::recover::{self, RecoverError};
    let found = recover::verify(
        &state.ctx,
        body.code.as_deref().unwrap_or(""),
        body.phone.as_deref().unwrap_or(""),
        body.otp.as_deref().unwrap_or(""),
    )
    .await
    .map_err(|e| match e {
        RecoverError::Invalid => ApiError::unprocessable(
            "invalid_code",
            "That code does not match (or has expired). Ask for a new one.",
        ),
        RecoverError::Fault(f) => f.into(),
    })?;
    Ok(HttpResponse::Ok().json(RecoveredOut {
        token: found.token,
        links: found.links,
    }))
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
    body: Json<RescheduleIn>,
) -> ApiResult<HttpResponse> {
    let starts_at = match body.starts_at.as_deref() {
        None => return Err(ApiError::field("starts_at", "required")),
        Some(raw) => {
            booking::book::parse_time(raw).ok_or_else(|| ApiError::field("starts_at", "invalid"))?
        }
    };
    let view = manage::reschedule(&state.ctx, citizen.appointment, starts_at)
        .await
        .map_err(refused)?;
    Ok(HttpResponse::Ok().json(views::appointment_out(&view)))
}

/// Cancels the appointment (only before the call starts).
#[utoipa::path(post, path = "/api/v1/appointments/current/cancel", tag = "appointments",
    security(("citizen_token" = [])),
    responses((status = 200, body = AppointmentOut), (status = 409, description = "invalid_state")))]
#[post("/appointments/current/cancel")]
pub async fn cancel(state: web::Data<AppState>, citizen: Citizen) -> ApiResult<HttpResponse> {
    let view = manage::cancel(&state.ctx, citizen.appointment)
        .await
        .map_err(refused)?;
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
    let token = bearer(&req).unwrap_or_default();
    let file = manage::calendar_file(&state.ctx, citizen.appointment, token)
        .await
        .map_err(refused)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/calendar; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", file.filename),
        ))
        .body(file.body))
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
    body: Json<SurveyIn>,
) -> ApiResult<HttpResponse> {
    let answers = SurveyAnswers::parse(body.answers.as_deref().unwrap_or(&[]))
        .map_err(|e| ApiError::field("answers", e))?;
    manage::survey(
        &state.ctx,
        citizen.appointment,
        &answers,
        body.comment.as_deref(),
    )
    .await
    .map_err(refused)?;
    Ok(HttpResponse::Created().json(serde_json::json!({"stored": true})))
}
