//! Bad input from outside is a clean 4xx with the standard error body, never a 500, never a
//! value echoed back: NUL characters, dates from before the calendar Loket means, values of the
//! wrong type, bodies that cannot be read (malformed, text, forms, too large, too slow), a wrong
//! method, a plain GET on the socket path. And every answer about a person is `no-store`.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Resp, TestApp, next_working_day, resp, spawn_app, spawn_app_with};
use crate::ws::{booking, open_app};

async fn send(app: &TestApp, method: reqwest::Method, path: &str) -> Resp {
    resp(
        app.client
            .request(method, app.url(path))
            .send()
            .await
            .expect("request"),
    )
    .await
}

/// A POST with a raw body and content type, as a careless or hostile client sends it.
async fn post_raw(app: &TestApp, path: &str, token: &str, ct: &str, body: Vec<u8>) -> Resp {
    resp(
        app.client
            .post(app.url(path))
            .bearer_auth(token)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .expect("POST"),
    )
    .await
}

#[tokio::test]
async fn a_nul_in_a_path_query_or_json_string_is_400() {
    let app = spawn_app().await;
    let token = app.login("admin@loket.example").await;
    for path in [
        "/api/v1/services/x%00",
        "/api/v1/services/pbg%00/slots",
        "/api/v1/services?q=izin%00",
        "/api/v1/services?agency=dpmptsp%00",
        "/api/v1/staff/calendar.ics?key=abc%00",
    ] {
        let r = app.get_bearer(path, &token).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text);
        assert_eq!(r.body["error"], "invalid_characters", "{path}");
    }
    let day = next_working_day(3);
    let slot = app.slots("pbg", day).await[0];
    for body in [
        json!({"service": "pbg\u{0}", "starts_at": slot.to_rfc3339(), "consent": true,
               "citizen": {"name": "Budi", "phone": "081234567890"}}),
        json!({"service": "pbg", "starts_at": slot.to_rfc3339(), "consent": true,
               "citizen": {"name": "Budi\u{0}Santoso", "phone": "081234567890"}}),
    ] {
        let r = app.post("/api/v1/appointments", &body).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.body["error"], "invalid_characters");
    }
    let r = app
        .post(
            "/api/v1/staff/session",
            &json!({"email": "admin@loket.example\u{0}", "password": "x"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    // Nothing was stored.
    assert_eq!(
        app.scalar("SELECT count(*) FROM appointments WHERE citizen_name LIKE 'Budi%Santoso' AND citizen_phone = '+6281234567890'")
            .await
            .as_deref(),
        Some("0")
    );
}

#[tokio::test]
async fn dates_from_before_the_calendar_are_422() {
    let app = spawn_app().await;
    let token = app.login("supervisor@loket.example").await;
    for (path, field) in [
        ("/api/v1/services/pbg/slots?from=-4714-11-24", "from"),
        ("/api/v1/services/pbg/slots?from=1900-01-01", "from"),
        ("/api/v1/staff/appointments?from=-262143-01-01", "from"),
        (
            "/api/v1/staff/appointments?from=2026-01-01&to=99999-12-31",
            "to",
        ),
        ("/api/v1/admin/reports?from=-262143-01-01", "from"),
    ] {
        let r = app.get_bearer(path, &token).await;
        assert_eq!(r.status, 422, "{path}: {}", r.text);
        assert!(r.body["fields"][field].is_string(), "{path}: {}", r.text);
    }
    let r = app
        .post(
            "/api/v1/appointments",
            &json!({"service": "pbg", "starts_at": "0001-01-01T00:00:00Z", "consent": true,
                    "citizen": {"name": "Budi", "phone": "081234567890"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["fields"]["starts_at"], "invalid");
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_named_by_its_field_and_never_echoed() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/appointments",
            &json!({"service": "akta-kelahiran", "consent": true,
                    "citizen": {"name": "Budi", "phone": "081234567890", "nik": 3271014506900077_u64}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["fields"]["citizen.nik"], "invalid_type",
        "{}",
        r.text
    );
    assert!(!r.text.contains("3271014506900077"), "{}", r.text);
    let r = app
        .post(
            "/api/v1/staff/session",
            &json!({"email": "admin@loket.example", "password": 918273645546_u64}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["fields"]["password"], "invalid_type");
    assert!(!r.text.contains("918273645546"), "{}", r.text);
    let token = app.login("admin@loket.example").await;
    let r = app
        .post_bearer(
            "/api/v1/admin/staff",
            &token,
            &json!({"email": "x@loket.example", "role": "SuperUser9000"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["fields"]["role"], "unknown_value");
    assert!(!r.text.contains("SuperUser9000"), "{}", r.text);
}

#[tokio::test]
async fn outcomes_and_tickets_refuse_a_body_they_cannot_read_and_change_nothing() {
    let app = open_app().await;
    let (citizen, id, clerk) = booking(&app, "081234567811").await;
    let megabyte = format!("{{\"notes\": \"{}\"}}", "a".repeat(1 << 20)).into_bytes();
    // Each unreadable body with the exact refusal it earns: (content type, body, status, code).
    let unreadable: [(&str, Vec<u8>, u16, &str); 5] = [
        (
            "application/json",
            b"{\"notes\": \"Berkas leng".to_vec(),
            400,
            "malformed_json",
        ),
        ("application/json", megabyte, 400, "body_too_large"),
        (
            "text/plain",
            b"Berkas lengkap".to_vec(),
            400,
            "unsupported_content_type",
        ),
        (
            "application/x-www-form-urlencoded",
            b"notes=Berkas+lengkap".to_vec(),
            400,
            "unsupported_content_type",
        ),
        (
            "application/json",
            b"[\"notes\"]".to_vec(),
            422,
            "validation_failed",
        ),
    ];
    for action in ["complete", "no-show", "cancel"] {
        let path = format!("/api/v1/staff/appointments/{id}/{action}");
        for (ct, body, status, code) in &unreadable {
            let r = post_raw(&app, &path, &clerk, ct, body.clone()).await;
            let text: String = r.text.chars().take(200).collect();
            assert_eq!(r.status, *status, "{action} with {ct}: {text}");
            assert_eq!(r.body["error"], *code, "{action} with {ct}: {text}");
        }
    }
    let status = app
        .scalar(&format!(
            "SELECT status FROM appointments WHERE id = '{id}'"
        ))
        .await;
    assert_eq!(status.as_deref(), Some("booked"), "no state changed");
    for (ct, body, status, code) in &unreadable {
        let r = post_raw(&app, "/api/v1/rooms/ticket", &citizen, ct, body.clone()).await;
        assert_eq!(r.status, *status, "ticket with {ct}: {}", r.text);
        assert_eq!(r.body["error"], *code, "ticket with {ct}: {}", r.text);
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM room_tickets WHERE appointment_id = '{id}'"
        ))
        .await
        .as_deref(),
        Some("0"),
        "no ticket minted from an unreadable request"
    );
    // A body left out entirely is still fine.
    let r = resp(
        app.client
            .post(app.url("/api/v1/rooms/ticket"))
            .bearer_auth(&citizen)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// A client that sends its body a byte at a time gets 408 and loses the connection, instead of
/// holding it for as long as it likes.
#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off_with_408() {
    let app = spawn_app_with(|s| s.body_timeout_secs = 2).await;
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    socket
        .write_all(
            b"POST /api/v1/appointments HTTP/1.1\r\nHost: loket\r\n\
              Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{",
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // One byte a second for up to a minute, reading whatever comes back meanwhile.
    while started.elapsed() < Duration::from_secs(60) {
        let _ = socket.write_all(b" ").await;
        match tokio::time::timeout(Duration::from_secs(1), socket.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("body_timeout"), "{text}");
    // And the connection is closed after the answer.
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert_eq!(closed, Ok(true));
}

#[tokio::test]
async fn a_wrong_method_on_an_api_path_is_405_with_allow() {
    let app = spawn_app().await;
    for (method, path, allow) in [
        (reqwest::Method::POST, "/api/v1/agencies", "GET"),
        (reqwest::Method::DELETE, "/api/v1/services/pbg/slots", "GET"),
        (reqwest::Method::GET, "/api/v1/appointments", "POST"),
        (
            reqwest::Method::PUT,
            "/api/v1/staff/session",
            "DELETE, POST",
        ),
        (
            reqwest::Method::GET,
            "/api/v1/staff/appointments/00000000-0000-0000-0000-000000000000/complete",
            "POST",
        ),
    ] {
        let r = send(&app, method.clone(), path).await;
        assert_eq!(r.status, 405, "{method} {path}: {}", r.text);
        assert_eq!(r.headers["allow"], allow, "{method} {path}");
        assert_eq!(r.body["error"], "method_not_allowed");
    }
    let r = send(&app, reqwest::Method::GET, "/api/v1/nope").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"], "no_such_endpoint");
}

#[tokio::test]
async fn a_plain_get_on_the_socket_path_gets_the_standard_error_body() {
    let app = spawn_app().await;
    let r = app
        .get("/api/v1/rooms/ws?ticket=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"], "not_websocket", "{}", r.text);
}

/// Every answer that carries a token or personal data tells caches not to keep it.
#[tokio::test]
async fn answers_with_tokens_or_personal_data_are_no_store() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slot = app.slots("pbg", day).await[0];
    let booked = app.book("pbg", slot, "081234567812").await;
    let token = booked.body["token"].as_str().unwrap().to_string();
    let staff = app.login("supervisor@loket.example").await;
    let session = app
        .post(
            "/api/v1/staff/session",
            &json!({"email": "supervisor@loket.example", "password": crate::helpers::DEMO_PASSWORD}),
        )
        .await;
    let answers: Vec<(&str, Resp)> = vec![
        ("booking", booked),
        ("session", session),
        (
            "current",
            app.get_bearer("/api/v1/appointments/current", &token).await,
        ),
        (
            "ics",
            app.get_bearer("/api/v1/appointments/current/ics", &token)
                .await,
        ),
        ("me", app.get_bearer("/api/v1/staff/me", &staff).await),
        (
            "staff appointments",
            app.get_bearer("/api/v1/staff/appointments", &staff).await,
        ),
    ];
    for (what, r) in answers {
        assert!(r.status.is_success(), "{what}: {}", r.text);
        assert_eq!(
            r.headers.get("cache-control").map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{what}"
        );
    }
}

#[tokio::test]
async fn the_pages_may_connect_only_to_their_own_origin_and_socket() {
    let app = spawn_app().await;
    let r = app.get("/").await;
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    let connect = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("connect-src"))
        .expect("connect-src");
    assert_eq!(
        connect,
        format!("connect-src 'self' ws://127.0.0.1:{}", app.port),
        "{csp}"
    );
}
