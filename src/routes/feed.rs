//! The staff dashboards' live feed: Server-Sent Events at `GET /api/v1/staff/feed`. Every
//! appointment change (booking, waiting-room arrival, admit, completion…) is published once to a
//! bounded broadcast channel; each subscriber sees only the appointments it may see. A reader
//! that falls behind gets a `resync` event (reload the list) instead of unbounded buffering.

use std::collections::HashSet;
use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::auth::StaffSession;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const KEEPALIVE: Duration = Duration::from_secs(15);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(feed);
}

/// Live appointment changes for this staff member (a supervisor: the agency; an admin: all).
#[utoipa::path(get, path = "/api/v1/staff/feed", tag = "staff",
    responses((status = 200, content_type = "text/event-stream", description = "`data: {appointment, staff, status, citizen_waiting}` per change")))]
#[get("/staff/feed")]
pub async fn feed(state: web::Data<AppState>, me: StaffSession) -> ApiResult<HttpResponse> {
    let visible: Option<HashSet<Uuid>> =
        crate::accounts::session::visible_staff(&state.ctx, &me).await?;
    let sub = state
        .feed
        .try_subscribe()
        .map_err(|_| ApiError::Unavailable {
            code: "too_many_subscribers",
        })?;
    let stream = futures_util::stream::unfold(
        (sub, visible, true),
        |(mut sub, visible, first)| async move {
            if first {
                let hello = web::Bytes::from_static(b"retry: 3000\nevent: ready\ndata: {}\n\n");
                return Some((Ok::<_, actix_web::Error>(hello), (sub, visible, false)));
            }
            loop {
                let next = tokio::time::timeout(KEEPALIVE, sub.rx.recv()).await;
                let chunk = match next {
                    Err(_) => web::Bytes::from_static(b": keep-alive\n\n"),
                    Ok(Ok(ev)) => {
                        if visible.as_ref().is_some_and(|v| !v.contains(&ev.staff)) {
                            continue;
                        }
                        let json = serde_json::to_string(&ev).unwrap_or_default();
                        web::Bytes::from(format!("event: appointment\ndata: {json}\n\n"))
                    }
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                        web::Bytes::from_static(b"event: resync\ndata: {}\n\n")
                    }
                    Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                };
                return Some((Ok(chunk), (sub, visible, false)));
            }
        },
    );
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Type", "text/event-stream"))
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}
