//! Booking: the happy path, every refusal, idempotency, anti-hoarding limits, and the race that
//! the database must win: N concurrent requests for one time with k free clerks → exactly k.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{citizen, next_working_day, spawn_app, spawn_app_with};

#[tokio::test]
async fn booking_returns_code_token_links_and_writes_an_audit_event() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slot = app.slots("pbg", day).await[0];
    let r = app.book("pbg", slot, "0812-3456-7890").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let a = &r.body["appointment"];
    assert_eq!(a["status"], "booked");
    assert_eq!(a["service"]["slug"], "pbg");
    let code = a["code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    assert!(
        code.chars()
            .all(|c| "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c))
    );
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(a["starts_at"].as_str().unwrap()).unwrap(),
        slot
    );
    assert!(a["clerk"]["name"].as_str().is_some());
    let token = r.body["token"].as_str().unwrap();
    let join = r.body["links"]["join"].as_str().unwrap();
    assert!(join.ends_with(&format!("/join#t={token}")), "{join}");
    assert!(r.body["links"]["manage"].as_str().unwrap().contains("#t="));
    // Stored as E.164, with one audit event.
    let id = a["id"].as_str().unwrap();
    assert_eq!(
        app.scalar(&format!(
            "SELECT citizen_phone FROM appointments WHERE id = '{id}'"
        ))
        .await
        .as_deref(),
        Some("+6281234567890")
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT string_agg(kind, ',') FROM appointment_events WHERE appointment_id = '{id}'"
        ))
        .await
        .as_deref(),
        Some("booked")
    );
    // The time is taken for that clerk: each further booking of it goes to another of pbg's
    // clerks, and once every one of them is booked the time leaves the free slots and a booking
    // of it is `slot_taken`.
    let clerks: usize = app
        .scalar(PBG_CLERKS)
        .await
        .expect("count")
        .parse()
        .expect("a number");
    assert!(
        clerks >= 2,
        "pbg needs several clerks for this test, has {clerks}"
    );
    for i in 1..clerks {
        let r = app.book("pbg", slot, &format!("08123456780{i}")).await;
        assert_eq!(r.status, 201, "clerk {i} of {clerks}: {}", r.text);
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(DISTINCT staff_id) FROM appointments WHERE lower(period) = '{}'",
            slot.to_rfc3339()
        ))
        .await,
        Some(clerks.to_string()),
        "one booking per clerk"
    );
    assert!(!app.slots("pbg", day).await.contains(&slot));
    let again = app.book("pbg", slot, "081234567899").await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.body["error"], "slot_taken");
}

/// How many active clerks serve pbg.
const PBG_CLERKS: &str = "SELECT count(*) FROM staff_services ss JOIN services s ON s.id = ss.service_id \
     JOIN staff st ON st.id = ss.staff_id WHERE s.slug = 'pbg' AND st.active";

#[tokio::test]
async fn every_bad_field_is_reported_at_once_and_nothing_is_written() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slot = app.slots("akta-kelahiran", day).await[0];
    let cases: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (
            json!({}),
            vec![
                ("service", "required"),
                ("starts_at", "required"),
                ("citizen.name", "required"),
                ("citizen.phone", "required"),
                ("consent", "required"),
            ],
        ),
        (
            json!({"service": "nope", "starts_at": "tomorrow", "citizen": {"name": "B", "phone": "0251-123456", "email": "x@"}, "consent": false}),
            vec![
                ("service", "unknown"),
                ("starts_at", "invalid"),
                ("citizen.name", "too_short"),
                ("citizen.phone", "not_mobile"),
                ("citizen.email", "invalid"),
                ("consent", "required"),
            ],
        ),
        (
            json!({"service": "akta-kelahiran", "starts_at": slot.to_rfc3339(), "citizen": {"name": "Siti", "phone": "081234567890"}, "consent": true}),
            vec![("citizen.nik", "required")],
        ),
        (
            json!({"service": "akta-kelahiran", "starts_at": slot.to_rfc3339(), "citizen": {"name": "Siti", "phone": "081234567890", "nik": "3271991513900001"}, "consent": true}),
            vec![("citizen.nik", "invalid_birth_date")],
        ),
        (
            json!({"service": "akta-kelahiran", "starts_at": slot.to_rfc3339(), "citizen": {"name": "Siti", "phone": "081234567890", "nik": "12345"}, "consent": true}),
            vec![("citizen.nik", "must_be_16_digits")],
        ),
        (
            // Province 99 does not exist (issue 12: this NIK was booked).
            json!({"service": "akta-kelahiran", "starts_at": slot.to_rfc3339(), "citizen": {"name": "Siti", "phone": "081234567890", "nik": "9971011508900001"}, "consent": true}),
            vec![("citizen.nik", "invalid_region")],
        ),
    ];
    for (body, expected) in cases {
        let r = app.post("/api/v1/appointments", &body).await;
        assert_eq!(r.status, 422, "{body} → {}", r.text);
        assert_eq!(r.body["error"], "validation_failed");
        for (field, problem) in expected {
            assert_eq!(r.body["fields"][field], problem, "{body} → {}", r.text);
        }
    }
    let malformed = app
        .client
        .post(app.url("/api/v1/appointments"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(
        app.scalar("SELECT count(*) FROM appointments")
            .await
            .as_deref(),
        Some("0")
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM appointment_events")
            .await
            .as_deref(),
        Some("0")
    );
}

#[tokio::test]
async fn nik_is_encrypted_masked_and_kept_out_of_links_and_calendar_files() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slot = app.slots("akta-kelahiran", day).await[0];
    let nik = "3271995205900001";
    let r = app
        .post(
            "/api/v1/appointments",
            &json!({"service": "akta-kelahiran", "starts_at": slot.to_rfc3339(),
                    "citizen": {"name": "Siti Aminah", "phone": "081234567891", "nik": nik}, "consent": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["appointment"]["nik_masked"], "3271********0001");
    assert!(!r.text.contains(nik));
    let id = r.body["appointment"]["id"].as_str().unwrap();
    let cipher = app
        .scalar(&format!(
            "SELECT encode(nik_cipher, 'escape') FROM appointments WHERE id = '{id}'"
        ))
        .await
        .unwrap();
    assert!(!cipher.contains(nik) && !cipher.contains("520590"));
    let whole_row = app
        .scalar(&format!(
            "SELECT row_to_json(a)::text FROM appointments a WHERE id = '{id}'"
        ))
        .await
        .unwrap();
    assert!(!whole_row.contains(nik));
    let token = r.body["token"].as_str().unwrap();
    let ics = app
        .get_bearer("/api/v1/appointments/current/ics", token)
        .await;
    assert_eq!(ics.status, 200);
    assert!(!ics.text.contains(nik) && !ics.text.contains("0001\r\n"));
    // A service that does not need the NIK never stores one, even if sent.
    let slot2 = app.slots("pbg", day).await[0];
    let r2 = app
        .post(
            "/api/v1/appointments",
            &json!({"service": "pbg", "starts_at": slot2.to_rfc3339(),
                    "citizen": {"name": "Siti Aminah", "phone": "081234567892", "nik": nik}, "consent": true}),
        )
        .await;
    assert_eq!(r2.status, 201, "{}", r2.text);
    let id2 = r2.body["appointment"]["id"].as_str().unwrap();
    assert_eq!(
        app.scalar(&format!(
            "SELECT nik_cipher IS NULL FROM appointments WHERE id = '{id2}'"
        ))
        .await
        .as_deref(),
        Some("true")
    );
}

#[tokio::test]
async fn a_time_that_is_not_a_free_slot_is_409_slot_taken() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slot = app.slots("pbg", day).await[0];
    for bad in [
        slot + Duration::minutes(7),
        slot - Duration::days(40),
        slot + Duration::hours(14),
    ] {
        let r = app.book("pbg", bad, "081234567890").await;
        assert_eq!(r.status, 409, "{bad}: {}", r.text);
        assert_eq!(r.body["error"], "slot_taken");
    }
}

#[tokio::test]
async fn idempotency_key_replays_the_first_response_and_refuses_a_different_body() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slot = app.slots("pbg", day).await[0];
    let body = json!({"service": "pbg", "starts_at": slot.to_rfc3339(), "citizen": citizen("081234567890"), "consent": true});
    let send = |b: Value| {
        let c = app.client.clone();
        let url = app.url("/api/v1/appointments");
        async move {
            crate::helpers::resp(
                c.post(url)
                    .header("Idempotency-Key", "retry-123")
                    .json(&b)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let first = send(body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let second = send(body.clone()).await;
    assert_eq!(second.status, 201);
    assert_eq!(second.body, first.body, "same status, same body");
    assert_eq!(
        app.scalar("SELECT count(*) FROM appointments")
            .await
            .as_deref(),
        Some("1")
    );
    let mut other = body.clone();
    other["citizen"]["name"] = json!("Someone Else");
    let third = send(other).await;
    assert_eq!(third.status, 422);
    assert_eq!(third.body["error"], "idempotency_key_reused");
}

#[tokio::test]
async fn a_phone_number_cannot_hoard_more_than_the_configured_bookings() {
    let app = spawn_app_with(|s| s.max_active_bookings = 2).await;
    let day = next_working_day(3);
    let slots = app.slots("pbg", day).await;
    for s in &slots[..2] {
        assert_eq!(app.book("pbg", *s, "+62 812 1111 2222").await.status, 201);
    }
    let third = app.book("pbg", slots[3], "0812-1111-2222").await;
    assert_eq!(third.status, 409);
    assert_eq!(third.body["error"], "too_many_active_bookings");
    // A booking in its room (waiting, then in the call) still counts; a finished one does not.
    // (The count goes through the `active` column the room's status changes keep as it is.)
    let one = "(SELECT id FROM appointments WHERE citizen_phone = '+6281211112222' \
               ORDER BY period LIMIT 1)";
    for status in ["waiting", "in_call"] {
        app.exec(&format!(
            "UPDATE appointments SET status = '{status}' WHERE id = {one}"
        ))
        .await;
        let again = app.book("pbg", slots[3], "0812-1111-2222").await;
        assert_eq!(again.status, 409, "{status}: {}", again.text);
    }
    app.exec(&format!(
        "UPDATE appointments SET status = 'completed' WHERE id = {one}"
    ))
    .await;
    let after = app.book("pbg", slots[3], "0812-1111-2222").await;
    assert_eq!(after.status, 201, "{}", after.text);
}

#[tokio::test]
async fn booking_is_rate_limited_per_client_address() {
    let app = spawn_app_with(|s| s.booking_rate_per_minute = 3).await;
    let mut statuses = vec![];
    for _ in 0..5 {
        let r = app.post("/api/v1/appointments", &json!({})).await;
        statuses.push(r.status.as_u16());
        if r.status == 429 {
            assert_eq!(r.body["error"], "rate_limited");
            let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry));
        }
    }
    assert_eq!(statuses, vec![422, 422, 422, 429, 429]);
}

/// N concurrent requests for one time with k free clerks → exactly k bookings and N−k clean
/// 409s, never a 500, and no clerk twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bookings_for_one_slot_never_double_book() {
    const N: usize = 60;
    let app = spawn_app_with(|s| s.db_pool_size = 32).await;
    let day = next_working_day(3);
    let slot = app.slots("pbg", day).await[0];
    let k: usize = app.scalar(PBG_CLERKS).await.unwrap().parse().unwrap();
    assert!(k >= 2, "the race needs several clerks, got {k}");
    let bodies = (0..N).map(|i| {
        json!({"service": "pbg", "starts_at": slot.to_rfc3339(),
               "citizen": citizen(&format!("08129{i:07}")), "consent": true})
    });
    let mut created = 0;
    let mut taken = 0;
    for (status, body) in book_all_at_once(&app, bodies).await {
        match status {
            201 => created += 1,
            409 => {
                assert_eq!(body["error"], "slot_taken");
                taken += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, k);
    assert_eq!(taken, N - k);
    let distinct = app
        .scalar(&format!(
            "SELECT count(DISTINCT staff_id) FROM appointments WHERE lower(period) = '{}'",
            slot.to_rfc3339()
        ))
        .await;
    assert_eq!(distinct, Some(k.to_string()));
}

/// The per-phone limit holds under concurrency too: the database counts a phone's bookings
/// under the phone's lock, so parallel requests for different times cannot all slip past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bookings_from_one_phone_stop_at_the_limit() {
    const N: usize = 8;
    let app = spawn_app_with(|s| {
        s.max_active_bookings = 2;
        s.db_pool_size = 16;
    })
    .await;
    let day = next_working_day(3);
    let slots = app.slots("pbg", day).await;
    assert!(slots.len() >= N, "need {N} free times, got {}", slots.len());
    let bodies = slots[..N].iter().map(|slot| {
        json!({"service": "pbg", "starts_at": slot.to_rfc3339(),
               "citizen": citizen("081277778888"), "consent": true})
    });
    let (mut created, mut refused) = (0, 0);
    for (status, body) in book_all_at_once(&app, bodies).await {
        match status {
            201 => created += 1,
            409 => {
                assert_eq!(body["error"], "too_many_active_bookings");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((created, refused), (2, N - 2));
    assert_eq!(
        app.scalar("SELECT count(*) FROM appointments WHERE citizen_phone = '+6281277778888'")
            .await
            .as_deref(),
        Some("2")
    );
}

/// Sends every booking request at once (one task each) and returns each answer's status and body.
async fn book_all_at_once(
    app: &crate::helpers::TestApp,
    bodies: impl Iterator<Item = Value>,
) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = bodies
        .map(|body| {
            let c = app.client.clone();
            let url = app.url("/api/v1/appointments");
            tokio::spawn(async move {
                let r = c.post(url).json(&body).send().await.unwrap();
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                (status, body)
            })
        })
        .collect();
    let mut out = vec![];
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// While another transaction holds the only clerk's lock (as a concurrent booking or a
/// reschedule does), a booking skips the clerk at first and then waits for the lock instead of
/// answering `slot_taken`: it completes as soon as the holder commits.
#[tokio::test]
async fn a_booking_waits_for_a_clerk_held_by_another_transaction_when_no_one_else_is_free() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let app = spawn_app().await;
    let (service, clerk_email) = app.single_clerk_service().await;
    let clerk = app
        .scalar(&format!(
            "SELECT id::text FROM staff WHERE email = '{clerk_email}'"
        ))
        .await
        .unwrap();
    let slot = app.slots(&service, next_working_day(3)).await[0];
    let mut holder = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    diesel::sql_query("BEGIN")
        .execute(&mut holder)
        .await
        .unwrap();
    diesel::sql_query(format!(
        "SELECT pg_advisory_xact_lock(hashtextextended('staff:{clerk}', 0))"
    ))
    .execute(&mut holder)
    .await
    .unwrap();
    let booking = tokio::spawn({
        let (c, url) = (app.client.clone(), app.url("/api/v1/appointments"));
        let body = json!({"service": service, "starts_at": slot.to_rfc3339(),
                          "citizen": citizen("081255556666"), "consent": true});
        async move { c.post(url).json(&body).send().await.unwrap().status() }
    });
    // The booking waits on the clerk's lock (Postgres shows it as an ungranted advisory lock)
    // instead of answering; waited for as a condition, with a generous bound.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let waiting = app
            .scalar(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            )
            .await;
        if waiting.as_deref() == Some("1") {
            break;
        }
        assert!(
            !booking.is_finished(),
            "the booking answered instead of waiting for the clerk's lock"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no booking waited for the clerk's lock within 20 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!booking.is_finished(), "the booking still waits");
    diesel::sql_query("COMMIT")
        .execute(&mut holder)
        .await
        .unwrap();
    assert_eq!(booking.await.unwrap().as_u16(), 201);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM appointments WHERE staff_id = '{clerk}'"
        ))
        .await
        .as_deref(),
        Some("1")
    );
}
