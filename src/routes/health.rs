//! Liveness, readiness (the database answers) and Prometheus metrics.

use actix_web::{HttpResponse, get, web};

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
    if state.is_draining() {
        return HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "error": "draining",
            "message": "This node is shutting down; the others take over."
        }));
    }
    if crate::db::ready(&state.pool, std::time::Duration::from_secs(3)).await {
        HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"error": "database_unavailable", "message": "The database does not answer."}))
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "application/openmetrics-text")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>, _: super::extract::OpsAccess) -> HttpResponse {
    let m = &state.metrics;
    // Values read when scraped rather than kept up to date on every change.
    let up = crate::db::ready(&state.pool, std::time::Duration::from_secs(2)).await;
    m.database_up.set(i64::from(up));
    let pool = state.pool.status();
    m.db_pool_size.set(pool.size as i64);
    m.db_pool_available.set(pool.available as i64);
    m.db_pool_waiting.set(pool.waiting as i64);
    if let Ok(rooms) = state.rooms.stats().await {
        m.signalling.rooms_open.set(rooms.rooms as i64);
        m.signalling.sockets_open.set(rooms.sockets as i64);
    }
    if let Some(turn) = &state.turn {
        m.turn_allocations.set(turn.allocations().await as i64);
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(m.encode())
}
