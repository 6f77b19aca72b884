//! Liveness, readiness (the database answers) and Prometheus metrics.

use std::sync::atomic::Ordering;

use actix_web::{HttpResponse, get, web};

use crate::queue_feed::QueueStats;
use crate::state::AppState;

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "database reachable"), (status = 503, description = "database unreachable")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if crate::db::ready(&state.pool, std::time::Duration::from_secs(3)).await {
        HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"error": "database_unavailable", "message": "The database does not answer."}))
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let m = &state.metrics;
    let pool = state.pool.status();
    let q = state.queue_feed.stats();
    let body = format!(
        "# TYPE loket_bookings_total counter\nloket_bookings_total {}\n\
         # TYPE loket_slot_taken_total counter\nloket_slot_taken_total {}\n\
         # TYPE loket_logins_failed_total counter\nloket_logins_failed_total {}\n\
         # TYPE loket_db_pool_size gauge\nloket_db_pool_size {}\n\
         # TYPE loket_db_pool_available gauge\nloket_db_pool_available {}\n\
         # TYPE loket_queue_taken_total counter\nloket_queue_taken_total {}\n\
         # TYPE loket_queue_called_total counter\nloket_queue_called_total {}\n\
         # TYPE loket_queue_rebuilds_total counter\nloket_queue_rebuilds_total {}\n\
         # TYPE loket_queue_near_notices_total counter\nloket_queue_near_notices_total {}\n\
         # TYPE loket_queue_called_notices_total counter\nloket_queue_called_notices_total {}\n\
         # TYPE loket_queue_streams gauge\nloket_queue_streams {}\n",
        m.bookings.load(Ordering::Relaxed),
        m.slot_taken.load(Ordering::Relaxed),
        m.logins_failed.load(Ordering::Relaxed),
        pool.size,
        pool.available,
        QueueStats::get(&q.taken),
        QueueStats::get(&q.called),
        QueueStats::get(&q.rebuilds),
        QueueStats::get(&q.near_notices),
        QueueStats::get(&q.called_notices),
        state.queue_feed.streams(),
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}
