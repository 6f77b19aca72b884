//! The pre-call check over HTTP (docs/precheck.md): the ICE servers to use, the offer/answer
//! exchange that starts a check (one round trip, non-trickle), and the result.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::body::{BodyLimit, Json};
use super::extract::Citizen;
use crate::error::{ApiError, ApiResult};
use crate::precheck::{self, peer::MAX_SDP_BYTES, start::StartError};
use crate::rooms::ice::{self, IceServer};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // An offer with candidates is larger than the API's usual 16 KiB body limit.
    cfg.service(config)
        .service(
            web::resource("/precheck/offer")
                .app_data(BodyLimit(MAX_SDP_BYTES + 1024))
                .route(web::post().to(offer)),
        )
        .service(result);
}

#[derive(Serialize, ToSchema)]
pub struct PrecheckConfigOut {
    /// Use these in the browser's `RTCPeerConnection` for the check.
    pub ice_servers: Vec<IceServer>,
    /// The check ends by itself within this many seconds.
    pub max_seconds: u64,
    /// Open a data channel with this label to receive the result when the check ends.
    pub data_channel: &'static str,
}

#[utoipa::path(get, path = "/api/v1/precheck/config", tag = "appointments",
    security(("citizen_token" = [])),
    responses((status = 200, body = PrecheckConfigOut), (status = 401, description = "no or bad token")))]
#[get("/precheck/config")]
pub async fn config(state: web::Data<AppState>, citizen: Citizen) -> HttpResponse {
    HttpResponse::Ok().json(PrecheckConfigOut {
        ice_servers: ice::precheck_servers(
            &state.settings,
            citizen.appointment,
            chrono::Utc::now().timestamp(),
        ),
        max_seconds: state.precheck.settings().max_seconds(),
        data_channel: "precheck",
    })
}

/// The browser's offer, exactly as `RTCPeerConnection.localDescription` serialises it. Send it
/// after ICE gathering completed: the check does not take trickled candidates.
#[derive(Deserialize, ToSchema)]
pub struct OfferIn {
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionDescriptionOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub sdp: String,
}

#[derive(Serialize, ToSchema)]
pub struct OfferOut {
    /// The check's id, for `GET /api/v1/precheck/{id}`.
    pub id: Uuid,
    /// Loket's answer with all its candidates: set it as the remote description.
    pub answer: SessionDescriptionOut,
    pub max_seconds: u64,
}

#[utoipa::path(post, path = "/api/v1/precheck/offer", tag = "appointments",
    security(("citizen_token" = [])), request_body = OfferIn,
    responses((status = 201, body = OfferOut), (status = 401, description = "no or bad token"),
        (status = 409, description = "appointment_not_active"), (status = 422, description = "invalid_offer"),
        (status = 429, description = "rate_limited"), (status = 503, description = "precheck_busy")))]
pub async fn offer(
    req: HttpRequest,
    state: web::Data<AppState>,
    citizen: Citizen,
    body: Json<OfferIn>,
) -> ApiResult<HttpResponse> {
    if body.kind != "offer" {
        return Err(ApiError::unprocessable(
            "invalid_offer",
            "The description must be an offer.",
        ));
    }
    let ip = super::client_ip(&req);
    let started = precheck::start::for_appointment(
        &state.precheck,
        &state.pool,
        citizen.appointment,
        &ip,
        &body.sdp,
    )
    .await
    .map_err(|e| match e {
        StartError::NotFound => ApiError::not_found("appointment_not_found"),
        StartError::NotActive => ApiError::conflict(
            "appointment_not_active",
            "This appointment is no longer active.",
        ),
        StartError::Db(f) => f.into(),
        StartError::Check(precheck::StartError::RateLimited { retry_after_secs }) => {
            ApiError::TooManyRequests { retry_after_secs }
        }
        StartError::Check(precheck::StartError::Busy) => ApiError::Unavailable {
            code: "precheck_busy",
        },
        StartError::Check(precheck::StartError::BadOffer(why)) => {
            ApiError::unprocessable("invalid_offer", format!("The offer is not usable: {why}"))
        }
        StartError::Check(precheck::StartError::Webrtc(why)) => {
            ApiError::Internal(anyhow::anyhow!("starting a pre-call check: {why}"))
        }
    })?;
    Ok(HttpResponse::Created().json(OfferOut {
        id: started.id,
        answer: SessionDescriptionOut {
            kind: "answer",
            sdp: started.answer_sdp,
        },
        max_seconds: state.precheck.settings().max_seconds(),
    }))
}

#[utoipa::path(get, path = "/api/v1/precheck/{id}", tag = "appointments",
    security(("citizen_token" = [])),
    responses((status = 200, description = "`{state: running, id}` or `{state: finished, ...result}`"),
        (status = 404, description = "not this appointment's check, or forgotten")))]
#[get("/precheck/{id}")]
pub async fn result(
    state: web::Data<AppState>,
    citizen: Citizen,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let check = precheck::start::state(&state.precheck, &state.pool, citizen.appointment, *id)
        .await?
        .ok_or(ApiError::not_found("precheck_not_found"))?;
    Ok(HttpResponse::Ok().json(check))
}
