//! The pre-call check over HTTP (docs/precheck.md): the ICE servers to use, the offer/answer
//! exchange that starts a check (one round trip, non-trickle), and the result.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Citizen;
use crate::db;
use crate::domain::appointment::Status;
use crate::error::{ApiError, ApiResult};
use crate::precheck::{CheckState, PrecheckResult, StartError, peer::MAX_SDP_BYTES};
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // An offer with candidates is larger than the API's usual 16 KiB body limit.
    let offer_json = web::JsonConfig::default()
        .limit(MAX_SDP_BYTES + 1024)
        .error_handler(super::json_error);
    cfg.service(config)
        .service(
            web::resource("/precheck/offer")
                .app_data(offer_json)
                .route(web::post().to(offer)),
        )
        .service(result);
}

/// One entry of `RTCConfiguration.iceServers`, as a browser takes it.
#[derive(Serialize, ToSchema)]
pub struct IceServerOut {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PrecheckConfigOut {
    /// Use these in the browser's `RTCPeerConnection` for the check.
    pub ice_servers: Vec<IceServerOut>,
    /// The check ends by itself within this many seconds.
    pub max_seconds: u64,
    /// Open a data channel with this label to receive the result when the check ends.
    pub data_channel: &'static str,
}

/// The ICE servers for a check: STUN from config, TURN (configured or built-in) with a
/// coturn REST credential minted for this appointment's check.
pub fn ice_servers(state: &AppState, citizen: Citizen) -> Vec<IceServerOut> {
    let s = &state.settings;
    let mut out = vec![];
    if !s.stun_urls.is_empty() {
        out.push(IceServerOut {
            urls: s.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    if let (false, Some(secret)) = (s.turn_urls.is_empty(), &s.turn_secret) {
        let participant = format!("precheck-{}", citizen.appointment.0.simple());
        let (username, credential) = crate::turn::credentials::mint(
            secret.expose(),
            &participant,
            crate::turn::credentials::now_unix(),
            s.turn_ttl_seconds,
        );
        out.push(IceServerOut {
            urls: s.turn_urls.clone(),
            username: Some(username),
            credential: Some(credential),
        });
    }
    out
}

#[utoipa::path(get, path = "/api/v1/precheck/config", tag = "appointments",
    security(("citizen_token" = [])),
    responses((status = 200, body = PrecheckConfigOut), (status = 401, description = "no or bad token")))]
#[get("/precheck/config")]
pub async fn config(state: web::Data<AppState>, citizen: Citizen) -> HttpResponse {
    HttpResponse::Ok().json(PrecheckConfigOut {
        ice_servers: ice_servers(&state, citizen),
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
    body: web::Json<OfferIn>,
) -> ApiResult<HttpResponse> {
    if body.kind != "offer" {
        return Err(ApiError::unprocessable(
            "invalid_offer",
            "The description must be an offer.",
        ));
    }
    {
        let mut conn = state.pool.get().await?;
        let view = db::appointments::view(&mut conn, citizen.appointment)
            .await?
            .ok_or(ApiError::not_found("appointment_not_found"))?;
        if !matches!(
            view.appointment.status(),
            Status::Booked | Status::Waiting | Status::InCall
        ) {
            return Err(ApiError::conflict(
                "appointment_not_active",
                "This appointment is no longer active.",
            ));
        }
    }
    let ip = super::client_ip(&req);
    let started = state
        .precheck
        .start(citizen.appointment, &ip, &body.sdp, state.pool.clone())
        .await
        .map_err(|e| match e {
            StartError::RateLimited { retry_after_secs } => {
                ApiError::TooManyRequests { retry_after_secs }
            }
            StartError::Busy => ApiError::Unavailable {
                code: "precheck_busy",
            },
            StartError::BadOffer(why) => {
                ApiError::unprocessable("invalid_offer", format!("The offer is not usable: {why}"))
            }
            StartError::Webrtc(why) => {
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
    let id = id.into_inner();
    if let Some(s) = state.precheck.state(id, citizen.appointment) {
        return Ok(HttpResponse::Ok().json(s));
    }
    let mut conn = state.pool.get().await?;
    let stored = db::prechecks::by_check(&mut conn, citizen.appointment, id)
        .await?
        .ok_or(ApiError::not_found("precheck_not_found"))?;
    let result: PrecheckResult = serde_json::from_value(stored.result)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("stored precheck")))?;
    Ok(HttpResponse::Ok().json(CheckState::Finished(Box::new(result))))
}
