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
    // Every kind of response: pages, static files, JSON answers and refusals of each sort, a
    // malformed body, the health probes, the metrics and the OpenAPI document.
    let malformed = crate::helpers::resp(
        app.client
            .post(app.url("/api/v1/appointments"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .expect("POST"),
    )
    .await;
    let responses = [
        ("GET /", app.get("/").await, 200),
        ("GET /staff", app.get("/staff").await, 200),
        ("GET /js/api.js", app.get("/js/api.js").await, 200),
        ("GET /nope.css", app.get("/nope.css").await, 404),
        (
            "GET /api/v1/services",
            app.get("/api/v1/services").await,
            200,
        ),
        ("GET /api/v1/nope", r, 404),
        (
            "POST /api/v1/appointments {}",
            app.post("/api/v1/appointments", &serde_json::json!({}))
                .await,
            422,
        ),
        ("POST /api/v1/appointments {not json", malformed, 400),
        (
            "GET /api/v1/staff/appointments",
            app.get("/api/v1/staff/appointments").await,
            401,
        ),
        (
            "GET /api/v1/services/pbg/slots?days=abc",
            app.get("/api/v1/services/pbg/slots?days=abc").await,
            400,
        ),
        ("GET /healthz", app.get("/healthz").await, 200),
        ("GET /metrics", app.get("/metrics").await, 200),
        (
            "GET /api/v1/openapi.json",
            app.get("/api/v1/openapi.json").await,
            200,
        ),
    ];
    for (what, r, status) in &responses {
        assert_eq!(r.status.as_u16(), *status, "{what}: {}", r.text);
        let header = |name: &str| {
            r.headers
                .get(name)
                .unwrap_or_else(|| panic!("{what}: no {name}"))
                .to_str()
                .expect("ASCII")
                .to_string()
        };
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{what}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
        assert_eq!(header("x-frame-options"), "DENY", "{what}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
    }
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

/// Each page's own JavaScript and CSS — its stylesheets, its module and every module that
/// module imports, transitively — stays under 150 KB uncompressed (issue 4: cheap phones).
#[test]
fn every_page_ships_under_150_kb_of_javascript_and_css() {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    fn attr_values(html: &str, tag: &str, attr: &str) -> Vec<String> {
        html.split(&format!("<{tag}"))
            .skip(1)
            .filter_map(|rest| {
                let end = rest.find('>')?;
                let t = &rest[..end];
                let at = t.find(&format!("{attr}=\""))? + attr.len() + 2;
                Some(t[at..].split('"').next()?.to_string())
            })
            .collect()
    }
    fn imports(js: &str) -> Vec<String> {
        js.lines()
            .filter(|l| l.trim_start().starts_with("import ") || l.contains(" from '"))
            .filter_map(|l| {
                let q = l
                    .rfind("from '")
                    .map(|i| i + 6)
                    .or_else(|| l.find("import '").map(|i| i + 8))?;
                Some(l[q..].split('\'').next()?.to_string())
            })
            .collect()
    }
    for page in ["index.html", "manage.html", "join.html", "staff.html"] {
        let html = std::fs::read_to_string(web.join(page)).unwrap();
        assert!(
            !html.contains("<script>") && !html.contains(" style=\""),
            "{page}: inline code"
        );
        let mut files: BTreeSet<PathBuf> = BTreeSet::new();
        for href in attr_values(&html, "link", "href")
            .into_iter()
            .filter(|h| h.ends_with(".css"))
        {
            files.insert(web.join(href.trim_start_matches('/')));
        }
        let mut todo: Vec<PathBuf> = attr_values(&html, "script", "src")
            .into_iter()
            .map(|s| web.join(s.trim_start_matches('/')))
            .collect();
        assert!(!todo.is_empty(), "{page} loads no script");
        while let Some(f) = todo.pop() {
            if !files.insert(f.clone()) {
                continue;
            }
            let js = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            for i in imports(&js) {
                todo.push(f.parent().unwrap().join(i));
            }
        }
        let total: u64 = files
            .iter()
            .map(|f| std::fs::metadata(f).unwrap().len())
            .sum();
        assert!(
            total < 150_000,
            "{page}: {total} bytes of JS and CSS in {files:?}"
        );
        assert!(files.len() >= 3, "{page}: found only {files:?}");
    }
}

/// The value of one sample line (`name{labels} value`) in the OpenMetrics text, if present.
fn sample(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_bookings_requests_per_route_rooms_sockets_and_relayed_messages() {
    use crate::ws::in_call;
    use serde_json::json;
    let app = crate::ws::open_app().await;
    let before = app.get("/metrics").await.text;
    assert_eq!(
        sample(&before, "loket_bookings_total"),
        Some(0.0),
        "{before}"
    );
    assert_eq!(sample(&before, "loket_sockets_open"), Some(0.0), "{before}");
    let mut call = in_call(&app, "081234567801").await;
    // Two relayed messages: a signal each way.
    call.clerk
        .send(json!({"type": "signal", "to": call.citizen_p["id"], "payload": {"sdp": "x"}}))
        .await;
    call.citizen.until("signal").await;
    call.citizen
        .send(json!({"type": "signal", "to": call.clerk_p["id"], "payload": {"sdp": "y"}}))
        .await;
    call.clerk.until("signal").await;
    let m = app.get("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(
        m.text
            .contains("# TYPE loket_http_request_duration_seconds histogram"),
        "{}",
        m.text
    );
    assert_eq!(
        sample(&m.text, "loket_bookings_total"),
        Some(1.0),
        "{}",
        m.text
    );
    assert_eq!(
        sample(&m.text, "loket_sockets_open"),
        Some(2.0),
        "{}",
        m.text
    );
    assert_eq!(sample(&m.text, "loket_rooms_open"), Some(1.0), "{}", m.text);
    assert_eq!(
        sample(&m.text, "loket_room_joins_total"),
        Some(2.0),
        "{}",
        m.text
    );
    assert_eq!(
        sample(&m.text, "loket_relayed_messages_total"),
        Some(2.0),
        "{}",
        m.text
    );
    // Routes are labelled by their pattern, never by the raw path (bounded labels).
    let booked = sample(
        &m.text,
        "loket_http_requests_total{method=\"POST\",route=\"/api/v1/appointments\",class=\"2xx\"}",
    );
    assert_eq!(booked, Some(1.0), "{}", m.text);
    assert!(
        m.text.contains("route=\"/api/v1/services/{slug}/slots\""),
        "{}",
        m.text
    );
    assert!(!m.text.contains("/api/v1/services/pbg"), "{}", m.text);
    assert!(sample(&m.text, "loket_db_pool_size").is_some_and(|n| n >= 1.0));
}
