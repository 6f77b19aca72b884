//! The staff dashboards' live feed: Server-Sent Events at `GET /api/v1/staff/feed`. Every
//! appointment change (booking, waiting-room arrival, admit, completion…) is published once to a
//! bounded broadcast channel; each subscriber sees only the appointments it may see. A reader
//! that falls behind gets a `resync` event (reload the list) instead of unbounded buffering.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::auth::StaffSession;
use crate::db;
use crate::domain::schedule::Role;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;

/// Buffered events per subscriber before it must resync.
const CHANNEL_CAPACITY: usize = 256;
/// Concurrent dashboards per process.
pub const MAX_SUBSCRIBERS: usize = 2_000;
const KEEPALIVE: Duration = Duration::from_secs(15);

#[derive(Clone, Debug, Serialize)]
pub struct FeedEvent {
    pub appointment: Uuid,
    pub staff: Uuid,
    pub status: String,
    /// A citizen is in the waiting room right now.
    pub citizen_waiting: bool,
}

#[derive(Clone)]
pub struct FeedHub {
    tx: broadcast::Sender<FeedEvent>,
    subscribers: Arc<AtomicUsize>,
}

impl Default for FeedHub {
    fn default() -> Self {
        Self::new()
    }
}

impl FeedHub {
    pub fn new() -> FeedHub {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        FeedHub {
            tx,
            subscribers: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn publish(&self, event: FeedEvent) {
        // No subscriber is fine: nobody is watching.
        let _ = self.tx.send(event);
    }

    pub fn publish_appointment(&self, a: &db::appointments::Appointment) {
        self.publish(FeedEvent {
            appointment: a.id,
            staff: a.staff_id,
            status: a.status.clone(),
            citizen_waiting: a.status == "waiting",
        });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FeedEvent> {
        self.tx.subscribe()
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(feed);
}

struct SubscriberGuard(Arc<AtomicUsize>);
impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Live appointment changes for this staff member (a supervisor: the agency; an admin: all).
#[utoipa::path(get, path = "/api/v1/staff/feed", tag = "staff",
    responses((status = 200, content_type = "text/event-stream", description = "`data: {appointment, staff, status, citizen_waiting}` per change")))]
#[get("/staff/feed")]
pub async fn feed(state: web::Data<AppState>, me: StaffSession) -> ApiResult<HttpResponse> {
    let visible: Option<HashSet<Uuid>> = match me.role {
        Role::Admin => None,
        Role::Clerk => Some(HashSet::from([me.id.0])),
        Role::Supervisor => {
            let mut conn = state.pool.get().await?;
            let mut ids: HashSet<Uuid> = match me.agency {
                Some(a) => db::staff::in_agency(&mut conn, a)
                    .await?
                    .into_iter()
                    .map(|s| s.id)
                    .collect(),
                None => HashSet::new(),
            };
            ids.insert(me.id.0);
            Some(ids)
        }
    };
    let count = state.feed.subscribers.fetch_add(1, Ordering::Relaxed) + 1;
    let guard = SubscriberGuard(state.feed.subscribers.clone());
    if count > MAX_SUBSCRIBERS {
        return Err(ApiError::Unavailable {
            code: "too_many_subscribers",
        });
    }
    let rx = state.feed.subscribe();
    let stream = futures_util::stream::unfold(
        (rx, guard, visible, true),
        |(mut rx, guard, visible, first)| async move {
            if first {
                let hello = web::Bytes::from_static(b"retry: 3000\nevent: ready\ndata: {}\n\n");
                return Some((
                    Ok::<_, actix_web::Error>(hello),
                    (rx, guard, visible, false),
                ));
            }
            loop {
                let next = tokio::time::timeout(KEEPALIVE, rx.recv()).await;
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
                return Some((Ok(chunk), (rx, guard, visible, false)));
            }
        },
    );
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Type", "text/event-stream"))
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}
