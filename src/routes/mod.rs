//! HTTP: one module per resource. This file wires them under `/api/v1` (health at the root,
//! pages at `/`) and turns malformed JSON, queries and paths into the standard error body.

pub mod admin;
pub mod appointments;
pub mod body;
pub mod catalog;
pub mod edge;
pub mod extract;
pub mod feed;
pub mod health;
pub mod openapi;
pub mod pages;
pub mod precheck;
pub mod queue;
pub mod rooms;
pub mod staff;
pub mod views;
pub mod webhooks;

use actix_web::{HttpRequest, error, web};

use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig, web_dir: &std::path::Path) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(
            web::scope("/api/v1")
                .service(openapi::openapi_json)
                .configure(catalog::configure)
                .configure(appointments::configure)
                .configure(staff::configure)
                .configure(admin::configure)
                .configure(feed::configure)
                .configure(rooms::configure)
                .configure(precheck::configure)
                .configure(webhooks::configure)
                .configure(queue::configure)
                .default_service(web::to(api_not_found)),
        )
        .configure(|c| pages::configure(c, web_dir));
}

/// No route took the request: 405 with `Allow` when the path exists with other methods (the
/// API description knows every path and its methods), else 404.
async fn api_not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let allowed = openapi::methods_at(req.path());
    if allowed.is_empty() {
        return Err(ApiError::not_found("no_such_endpoint"));
    }
    let allow = allowed.join(", ");
    let body = crate::error::ErrorBody {
        error: "method_not_allowed".into(),
        message: format!("This address answers {allow} only."),
        fields: Default::default(),
        tries_left: None,
    };
    Ok(actix_web::HttpResponse::MethodNotAllowed()
        .insert_header((actix_web::http::header::ALLOW, allow))
        .json(body))
}

pub fn json_error(err: error::JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        error::JsonPayloadError::OverflowKnownLength { .. }
        | error::JsonPayloadError::Overflow { .. } => {
            ApiError::bad_request("body_too_large", "The request body is too large.")
        }
        error::JsonPayloadError::ContentType => ApiError::bad_request(
            "unsupported_content_type",
            "Send JSON with Content-Type: application/json.",
        ),
        // serde's message quotes the value sent (a NIK, a password): never pass it on.
        error::JsonPayloadError::Deserialize(d) if d.is_data() => {
            ApiError::unprocessable("invalid_body", "The body does not fit the expected shape.")
        }
        _ => ApiError::bad_request("malformed_json", "The body is not valid JSON."),
    };
    e.into()
}

pub fn query_error(err: error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    // The parser's message may quote what was sent; the answer does not.
    let _ = err;
    ApiError::bad_request(
        "invalid_query",
        "The query string does not fit: a parameter has the wrong form.",
    )
    .into()
}

pub fn path_error(err: error::PathError, _: &HttpRequest) -> actix_web::Error {
    let _ = err;
    ApiError::not_found("not_found").into()
}

/// The client's address for rate limits: the peer, or behind trusted proxies the right-most
/// `X-Forwarded-For` address that is not one of them (`domain::net`; docs/operations.md).
pub fn client_ip(req: &HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".into();
    };
    let Some(state) = req.app_data::<web::Data<crate::state::AppState>>() else {
        return peer.to_string();
    };
    let settings = &state.settings;
    if settings.trusted_proxies.is_empty() && !settings.trust_peer_proxy {
        return peer.to_string();
    }
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    crate::domain::net::client_address(
        peer,
        &forwarded,
        &settings.trusted_proxies,
        settings.trust_peer_proxy,
    )
    .to_string()
}

/// A booking use-case's refusal as the API says it; `slot_taken` is the message for a time that
/// is not free (worded for the caller: citizen or staff).
pub fn booking_error(e: crate::booking::BookingError, slot_taken: &'static str) -> ApiError {
    use crate::booking::BookingError as E;
    match e {
        E::Invalid(fields) => ApiError::validation(fields),
        E::SlotTaken => ApiError::conflict("slot_taken", slot_taken),
        E::TooManyActive { limit } => ApiError::conflict(
            "too_many_active_bookings",
            format!("This phone number already has {limit} active bookings."),
        ),
        E::TooManyActiveForNik { limit } => ApiError::conflict(
            "too_many_active_bookings_for_nik",
            format!("This NIK already has {limit} active bookings."),
        ),
        E::ServiceDayTaken => ApiError::conflict(
            "already_booked_that_day",
            "This phone number or NIK already has this service booked on that day.",
        ),
        E::IdempotencyKeyReused => ApiError::unprocessable(
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request.",
        ),
        E::NotFound => ApiError::not_found("appointment_not_found"),
        E::InvalidState(s) => ApiError::conflict(
            "invalid_state",
            format!(
                "The appointment is {} and cannot change that way.",
                s.as_str()
            ),
        ),
        E::TooEarly { allowed_from } => ApiError::conflict(
            "too_early",
            format!(
                "A no-show can be recorded from {}.",
                allowed_from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        ),
        E::UndoExpired => ApiError::conflict(
            "undo_expired",
            "The no-show was recorded too long ago to take back.",
        ),
        E::NotFinished => ApiError::conflict(
            "not_finished",
            "The survey opens once the consultation has taken place.",
        ),
        E::SurveyExists => ApiError::conflict(
            "survey_exists",
            "This survey was already answered. Terima kasih!",
        ),
        E::InsufficientRole => ApiError::Forbidden {
            code: "insufficient_role",
        },
        E::Busy => ApiError::Unavailable { code: "busy" },
        E::InvalidCode { tries_left } => ApiError::WrongCode { tries_left },
        E::CodeExpired => {
            ApiError::unprocessable("code_expired", "That code has expired. Ask for a new one.")
        }
        E::HoldExpired => ApiError::conflict(
            "hold_expired",
            "The booking was not confirmed in time and the time was released. Please book again.",
        ),
        E::TooManyTries => ApiError::conflict(
            "too_many_tries",
            "Too many wrong codes: the booking was released. Please book again.",
        ),
        E::NotHeld => ApiError::conflict(
            "not_held",
            "This booking is not waiting for a confirmation code.",
        ),
        E::ResendTooSoon { retry_after_secs } => ApiError::TooManyRequests { retry_after_secs },
        E::TooManyResends => ApiError::conflict(
            "too_many_resends",
            "No more codes can be sent for this booking.",
        ),
        E::Fault(f) => f.into(),
    }
}
