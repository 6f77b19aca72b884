//! Providers calling back: the WhatsApp Business Cloud API's verify-token handshake and its
//! signed status notifications (use-cases in `notify`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::notify::{self, WebhookError};
use crate::state::AppState;

/// The largest notification body accepted (WhatsApp batches up to a thousand statuses).
const MAX_BODY: usize = 512 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhooks/whatsapp")
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route(web::get().to(whatsapp_handshake))
            .route(web::post().to(whatsapp_statuses)),
    );
}

#[derive(Deserialize, IntoParams)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Meta's subscription check: echoes `hub.challenge` when `hub.verify_token` is
/// `LOKET_WHATSAPP_VERIFY_TOKEN`.
#[utoipa::path(get, path = "/api/v1/webhooks/whatsapp", tag = "webhooks", params(Handshake),
    responses((status = 200, content_type = "text/plain", body = String), (status = 403, description = "wrong token")))]
pub async fn whatsapp_handshake(
    state: web::Data<AppState>,
    q: web::Query<Handshake>,
) -> ApiResult<HttpResponse> {
    match notify::whatsapp_handshake(
        &state.ctx,
        q.mode.as_deref(),
        q.verify_token.as_deref(),
        q.challenge.as_deref(),
    ) {
        Some(challenge) => Ok(HttpResponse::Ok()
            .content_type("text/plain")
            .body(challenge)),
        None => Err(ApiError::Forbidden {
            code: "verify_token_mismatch",
        }),
    }
}

/// Message status reports (`sent`, `delivered`, `read`, `failed`), accepted only with a
/// matching `X-Hub-Signature-256` (HMAC-SHA256 of the raw body under
/// `LOKET_WHATSAPP_APP_SECRET`).
#[utoipa::path(post, path = "/api/v1/webhooks/whatsapp", tag = "webhooks",
    responses((status = 200, description = "applied"), (status = 401, description = "invalid_signature"),
        (status = 400, description = "malformed"), (status = 404, description = "webhook_not_configured")))]
#[allow(dead_code)]
pub fn whatsapp_statuses_doc() {}

pub async fn whatsapp_statuses(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let signature = req
        .headers()
        .get("X-Hub-Signature-256")
        .and_then(|v| v.to_str().ok());
    let applied = notify::whatsapp_statuses(&state.ctx, &body, signature)
        .await
        .map_err(|e| match e {
            WebhookError::BadSignature => ApiError::Unauthorized {
                code: "invalid_signature",
            },
            WebhookError::NotConfigured => ApiError::not_found("webhook_not_configured"),
            WebhookError::Malformed => {
                ApiError::bad_request("malformed", "The body is not a WhatsApp notification.")
            }
            WebhookError::Fault(f) => f.into(),
        })?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"applied": applied})))
}
