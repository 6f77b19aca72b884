//! Health, readiness, metrics, the OpenAPI document and the security headers.

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let h = app.get("/healthz").await;
    assert_eq!(h.status, 200);
    assert_eq!(h.body["status"], "ok");
    let r = app.get("/readyz").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ready");
    let m = app.get("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(m.text.contains("loket_bookings_total 0"), "{}", m.text);
}

#[tokio::test]
async fn openapi_lists_the_contract_paths() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    let paths = r.body["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/agencies",
        "/api/v1/services",
        "/api/v1/services/{slug}/slots",
        "/api/v1/appointments",
        "/api/v1/appointments/current",
        "/api/v1/appointments/current/reschedule",
        "/api/v1/appointments/current/cancel",
        "/api/v1/appointments/current/ics",
        "/api/v1/staff/session",
        "/api/v1/staff/appointments",
        "/api/v1/staff/hours",
        "/api/v1/staff/closures",
        "/api/v1/staff/calendar.ics",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_unknown_api_paths_are_json_404() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/nope").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"], "no_such_endpoint");
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert_eq!(r.headers["x-frame-options"], "DENY");
}

/// Every migration's down.sql undoes its up.sql: revert all on a fresh database, then apply
/// them again.
#[tokio::test]
async fn migrations_revert_and_reapply_cleanly() {
    let app = crate::helpers::spawn_app().await;
    let url = app.db_url.clone();
    let reverted = tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        use diesel_async::AsyncPgConnection;
        use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
        use diesel_migrations::MigrationHarness;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).unwrap();
        let down = conn
            .revert_all_migrations(loket::db::MIGRATIONS)
            .unwrap()
            .len();
        let up = conn
            .run_pending_migrations(loket::db::MIGRATIONS)
            .unwrap()
            .len();
        (down, up)
    })
    .await
    .unwrap();
    assert!(reverted.0 >= 2, "{reverted:?}");
    assert_eq!(reverted.0, reverted.1);
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'appointments'"
        )
        .await
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM agencies").await.as_deref(),
        Some("0")
    );
}
