//! Citizen self-service with the token from the booking: view, reschedule (keeping the clerk
//! when that clerk is free), cancel, the calendar file and the satisfaction survey — and the
//! audit event each change leaves behind.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, next_working_day, spawn_app};

const CURRENT: &str = "/api/v1/appointments/current";
const RESCHEDULE: &str = "/api/v1/appointments/current/reschedule";
const CANCEL: &str = "/api/v1/appointments/current/cancel";
const ICS: &str = "/api/v1/appointments/current/ics";
const SURVEY: &str = "/api/v1/appointments/current/survey";

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("an RFC 3339 time"))
        .expect("rfc3339")
        .with_timezone(&Utc)
}

async fn reschedule(app: &TestApp, token: &str, to: DateTime<Utc>) -> Resp {
    app.post_bearer(RESCHEDULE, token, &json!({"starts_at": to.to_rfc3339()}))
        .await
}

async fn staff_id_of(app: &TestApp, appointment_id: &str) -> String {
    app.scalar(&format!(
        "SELECT staff_id FROM appointments WHERE id = '{appointment_id}'"
    ))
    .await
    .expect("appointment")
}

/// The clerk marks the appointment completed (as the survey needs).
async fn complete_as_clerk(app: &TestApp, code: &str, id: &str) {
    let clerk = app.login(&app.clerk_of(code).await).await;
    let r = app
        .post_bearer(
            &format!("/api/v1/staff/appointments/{id}/complete"),
            &clerk,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// An iCalendar body's content lines, unfolded (RFC 5545 §3.1).
fn unfolded(ics: &str) -> Vec<String> {
    ics.replace("\r\n ", "")
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

fn property(lines: &[String], name: &str) -> Option<String> {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(String::from))
}

fn ics_stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Checks the framing every calendar file must have and returns its unfolded lines.
fn well_formed(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.text);
    let ct = r.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("text/calendar"), "{ct}");
    assert!(r.text.ends_with("\r\n"), "CRLF-terminated");
    assert!(
        !r.text.replace("\r\n", "").contains('\n') && !r.text.replace("\r\n", "").contains('\r'),
        "every line ends in CRLF, nothing else"
    );
    for line in r.text.split("\r\n") {
        assert!(line.len() <= 75, "longer than 75 octets: {line:?}");
    }
    let lines = unfolded(&r.text);
    assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
    assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
    assert!(lines.iter().any(|l| l == "VERSION:2.0"));
    assert!(lines.iter().any(|l| l.starts_with("PRODID:")));
    assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 1);
    assert_eq!(lines.iter().filter(|l| *l == "END:VEVENT").count(), 1);
    lines
}

#[tokio::test]
async fn the_token_shows_its_appointment_and_nothing_private() {
    let app = spawn_app().await;
    let (token, booked) = app.book_first("pbg", "0812-3456-7890").await;
    let r = app.get_bearer(CURRENT, &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let a = &booked["appointment"];
    for key in [
        "id",
        "code",
        "status",
        "starts_at",
        "ends_at",
        "service",
        "clerk",
    ] {
        assert_eq!(r.body[key], a[key], "{key}");
    }
    assert_eq!(r.body["status"], "booked");
    assert_eq!(r.body["service"]["slug"], "pbg");
    assert!(
        r.body["clerk"]["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );
    assert!(time(&r.body["ends_at"]) > time(&r.body["starts_at"]));
    assert!(!r.text.contains("6281234567890") && !r.text.contains("budi@example.org"));
    // Reading appends nothing to the audit trail.
    assert_eq!(
        app.events(a["id"].as_str().unwrap()).await,
        "booked@citizen"
    );
}

#[tokio::test]
async fn reschedule_keeps_the_same_clerk_when_that_clerk_is_free() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slots = app.slots("pbg", day).await;
    let (t0, t1) = (slots[0], slots[4]);
    let r = app.book("pbg", t0, "081234567890").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().unwrap();
    let id = r.body["appointment"]["id"].as_str().unwrap();
    let code = r.body["appointment"]["code"].as_str().unwrap();
    let clerk = staff_id_of(&app, id).await;
    // The other pbg clerk has no booking at all, so only the same-clerk rule keeps this one.
    let moved = reschedule(&app, token, t1).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(time(&moved.body["starts_at"]), t1);
    assert_eq!(moved.body["id"], id, "the same appointment moves");
    assert_eq!(moved.body["code"], code, "the code stays");
    assert_eq!(moved.body["status"], "booked");
    assert_eq!(staff_id_of(&app, id).await, clerk, "the same clerk");
    let next_day = next_working_day((day - Utc::now().date_naive()).num_days() + 1);
    let t2 = app.slots("pbg", next_day).await[2];
    let again = reschedule(&app, token, t2).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(
        staff_id_of(&app, id).await,
        clerk,
        "the same clerk, another day"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT lower(period) = '{}'::timestamptz FROM appointments WHERE id = '{id}'",
            t2.to_rfc3339()
        ))
        .await
        .as_deref(),
        Some("true")
    );
    assert_eq!(
        app.events(id).await,
        "booked@citizen,rescheduled@citizen,rescheduled@citizen"
    );
    let detail = app
        .scalar(&format!(
            "SELECT detail::text FROM appointment_events WHERE appointment_id = '{id}' \
             AND kind = 'rescheduled' ORDER BY id LIMIT 1"
        ))
        .await
        .unwrap();
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(time(&detail["from"]["starts_at"]), t0);
    assert_eq!(time(&detail["to"]["starts_at"]), t1);
    assert_eq!(detail["to"]["staff"], clerk.as_str());
}

#[tokio::test]
async fn reschedule_moves_to_another_clerk_only_when_its_clerk_is_not_free() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slots = app.slots("pbg", day).await;
    let (t0, t1) = (slots[0], slots[4]);
    let r = app.book("pbg", t0, "081234567890").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().unwrap();
    let id = r.body["appointment"]["id"].as_str().unwrap();
    let code = r.body["appointment"]["code"].as_str().unwrap();
    let clerk = staff_id_of(&app, id).await;
    // The clerk takes leave over t1; the other pbg clerk is still free then.
    let clerk_token = app.login(&app.clerk_of(code).await).await;
    let leave = app
        .post_bearer(
            "/api/v1/staff/closures",
            &clerk_token,
            &json!({"starts_at": t1.to_rfc3339(),
                    "ends_at": (t1 + Duration::minutes(30)).to_rfc3339(),
                    "reason": "Izin"}),
        )
        .await;
    assert_eq!(leave.status, 201, "{}", leave.text);
    assert!(app.slots("pbg", day).await.contains(&t1));
    let moved = reschedule(&app, token, t1).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(time(&moved.body["starts_at"]), t1);
    let now_with = staff_id_of(&app, id).await;
    assert_ne!(now_with, clerk, "moved to the clerk who is free");
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM staff_services ss JOIN services s ON s.id = ss.service_id \
             WHERE s.slug = 'pbg' AND ss.staff_id = '{now_with}'"
        ))
        .await
        .as_deref(),
        Some("1"),
        "the new clerk serves the service"
    );
    assert_eq!(app.events(id).await, "booked@citizen,rescheduled@citizen");
}

#[tokio::test]
async fn reschedule_to_a_taken_or_unoffered_time_is_409_and_changes_nothing() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slots = app.slots("pbg", day).await;
    let (t0, full) = (slots[0], slots[3]);
    let r = app.book("pbg", t0, "081234567890").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().unwrap();
    let id = r.body["appointment"]["id"].as_str().unwrap();
    let clerk = staff_id_of(&app, id).await;
    // Fill every pbg clerk at `full`.
    let mut phone = 0;
    while app.slots("pbg", day).await.contains(&full) {
        phone += 1;
        let other = app.book("pbg", full, &format!("08135555000{phone}")).await;
        assert_eq!(other.status, 201, "{}", other.text);
    }
    assert!(phone >= 2, "pbg has several clerks");
    let before = app.get_bearer(CURRENT, token).await;
    for to in [
        full,
        t0 + Duration::minutes(7),
        t0 + Duration::hours(13),
        t0 - Duration::days(40),
        t0 + Duration::days(60),
    ] {
        let r = reschedule(&app, token, to).await;
        assert_eq!(r.status, 409, "{to}: {}", r.text);
        assert_eq!(r.body["error"], "slot_taken");
    }
    let after = app.get_bearer(CURRENT, token).await;
    assert_eq!(after.body, before.body, "nothing changed");
    assert_eq!(time(&after.body["starts_at"]), t0);
    assert_eq!(staff_id_of(&app, id).await, clerk);
    assert_eq!(app.events(id).await, "booked@citizen");
    // A missing or unreadable time is a 422 naming the field.
    for (body, problem) in [
        (json!({}), "required"),
        (json!({"starts_at": "besok pagi"}), "invalid"),
    ] {
        let r = app.post_bearer(RESCHEDULE, token, &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["fields"]["starts_at"], problem);
    }
}

#[tokio::test]
async fn reschedule_after_cancel_is_409_invalid_state() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let (token, booked) = app.book_first("pbg", "081234567890").await;
    let id = booked["appointment"]["id"].as_str().unwrap();
    assert_eq!(
        app.post_bearer(CANCEL, &token, &json!({})).await.status,
        200
    );
    let later = app.slots("pbg", day).await[5];
    let r = reschedule(&app, &token, later).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "invalid_state");
    let view = app.get_bearer(CURRENT, &token).await;
    assert_eq!(view.body["status"], "cancelled");
    assert_eq!(view.body["starts_at"], booked["appointment"]["starts_at"]);
    assert_eq!(app.events(id).await, "booked@citizen,cancelled@citizen");
}

#[tokio::test]
async fn cancel_frees_the_slot_and_cannot_be_repeated() {
    let app = spawn_app().await;
    let (service, _) = app.single_clerk_service().await;
    let day = next_working_day(3);
    let t0 = app.slots(&service, day).await[0];
    let r = app.book(&service, t0, "081234567890").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().unwrap();
    let id = r.body["appointment"]["id"].as_str().unwrap();
    assert!(
        !app.slots(&service, day).await.contains(&t0),
        "the only clerk is taken"
    );
    let c = app.post_bearer(CANCEL, token, &json!({})).await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.body["status"], "cancelled");
    assert_eq!(c.body["id"], id);
    assert!(
        app.slots(&service, day).await.contains(&t0),
        "the slot is offered again"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT status FROM appointments WHERE id = '{id}'"
        ))
        .await
        .as_deref(),
        Some("cancelled")
    );
    let twice = app.post_bearer(CANCEL, token, &json!({})).await;
    assert_eq!(twice.status, 409, "{}", twice.text);
    assert_eq!(twice.body["error"], "invalid_state");
    assert_eq!(
        app.get_bearer(CURRENT, token).await.body["status"],
        "cancelled"
    );
    assert_eq!(app.events(id).await, "booked@citizen,cancelled@citizen");
    // Someone else can now book the freed time.
    assert_eq!(app.book(&service, t0, "081298765432").await.status, 201);
}

#[tokio::test]
async fn the_calendar_file_is_rfc5545_and_follows_the_appointment() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slots = app.slots("akta-kelahiran", day).await;
    let nik = "3271995205900001";
    let r = app
        .post(
            "/api/v1/appointments",
            &json!({"service": "akta-kelahiran", "starts_at": slots[0].to_rfc3339(),
                    "citizen": {"name": "Siti Aminah", "phone": "0812-3456-7890",
                                "email": "siti.aminah@example.org", "nik": nik},
                    "consent": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().unwrap();
    let a = &r.body["appointment"];
    let code = a["code"].as_str().unwrap();

    let first = app.get_bearer(ICS, token).await;
    let lines = well_formed(&first);
    let disposition = first.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.contains("attachment") && disposition.contains(".ics"),
        "{disposition}"
    );
    assert_eq!(
        property(&lines, "DTSTART"),
        Some(ics_stamp(time(&a["starts_at"])))
    );
    assert_eq!(
        property(&lines, "DTEND"),
        Some(ics_stamp(time(&a["ends_at"])))
    );
    assert!(property(&lines, "DTSTAMP").is_some_and(|s| s.ends_with('Z')));
    assert_eq!(property(&lines, "STATUS").as_deref(), Some("CONFIRMED"));
    assert!(property(&lines, "DESCRIPTION").unwrap().contains(code));
    let uid = property(&lines, "UID").expect("UID");
    let seq0: i64 = property(&lines, "SEQUENCE").unwrap().parse().unwrap();
    for secret in [
        nik,
        "520590",
        "+6281234567890",
        "6281234567890",
        "081234567890",
        "0812-3456-7890",
        "siti.aminah@example.org",
    ] {
        assert!(!first.text.contains(secret), "{secret} leaked into the ICS");
        assert!(
            !lines.join("\n").contains(secret),
            "{secret} leaked (folded)"
        );
    }

    let moved = reschedule(&app, token, slots[3]).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let second = app.get_bearer(ICS, token).await;
    let lines = well_formed(&second);
    assert_eq!(property(&lines, "UID"), Some(uid.clone()), "UID is stable");
    assert_eq!(property(&lines, "DTSTART"), Some(ics_stamp(slots[3])));
    assert_eq!(
        property(&lines, "DTEND"),
        Some(ics_stamp(time(&moved.body["ends_at"])))
    );
    let seq1: i64 = property(&lines, "SEQUENCE").unwrap().parse().unwrap();
    assert!(seq1 > seq0, "SEQUENCE {seq0} → {seq1} after a reschedule");

    assert_eq!(app.post_bearer(CANCEL, token, &json!({})).await.status, 200);
    let third = app.get_bearer(ICS, token).await;
    let lines = well_formed(&third);
    assert_eq!(property(&lines, "UID"), Some(uid));
    assert_eq!(property(&lines, "STATUS").as_deref(), Some("CANCELLED"));
    let seq2: i64 = property(&lines, "SEQUENCE").unwrap().parse().unwrap();
    assert!(seq2 > seq1, "SEQUENCE {seq1} → {seq2} after a cancel");
    assert!(
        !lines.iter().any(|l| l == "BEGIN:VALARM"),
        "no reminder for a cancelled consultation"
    );
}

#[tokio::test]
async fn survey_opens_after_the_consultation_and_is_stored_once() {
    let app = spawn_app().await;
    let (token, booked) = app.book_first("pbg", "081234567890").await;
    let id = booked["appointment"]["id"].as_str().unwrap();
    let code = booked["appointment"]["code"].as_str().unwrap();
    let answers =
        json!({"answers": [4, 3, 4, 4, 3, 4, 4, 2, 4], "comment": "Petugas ramah, terima kasih"});

    let early = app.post_bearer(SURVEY, &token, &answers).await;
    assert_eq!(early.status, 409, "{}", early.text);
    assert_eq!(early.body["error"], "not_finished");
    assert_eq!(
        app.scalar("SELECT count(*) FROM surveys").await.as_deref(),
        Some("0")
    );

    complete_as_clerk(&app, code, id).await;
    let stored = app.post_bearer(SURVEY, &token, &answers).await;
    assert_eq!(stored.status, 201, "{}", stored.text);
    assert_eq!(
        app.scalar(&format!(
            "SELECT answers::text || ' ' || comment FROM surveys WHERE appointment_id = '{id}'"
        ))
        .await
        .as_deref(),
        Some("{4,3,4,4,3,4,4,2,4} Petugas ramah, terima kasih")
    );

    let again = app
        .post_bearer(
            SURVEY,
            &token,
            &json!({"answers": [1, 1, 1, 1, 1, 1, 1, 1, 1]}),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.body["error"], "survey_exists");
    assert_eq!(
        app.scalar(&format!(
            "SELECT answers::text FROM surveys WHERE appointment_id = '{id}'"
        ))
        .await
        .as_deref(),
        Some("{4,3,4,4,3,4,4,2,4}"),
        "the first answers stay"
    );
    let clerk = app.staff_id(&app.clerk_of(code).await).await;
    assert_eq!(
        app.events(id).await,
        format!("booked@citizen,completed@staff:{clerk},survey@citizen")
    );
}

#[tokio::test]
async fn bad_survey_answers_are_422_with_the_field_and_store_nothing() {
    let app = spawn_app().await;
    let (token, booked) = app.book_first("pbg", "081234567890").await;
    let id = booked["appointment"]["id"].as_str().unwrap();
    complete_as_clerk(&app, booked["appointment"]["code"].as_str().unwrap(), id).await;
    let cases = [
        (json!({"answers": [4, 4, 4, 4, 4, 4, 4, 4]}), "answers"),
        (
            json!({"answers": [4, 4, 4, 4, 4, 4, 4, 4, 4, 4]}),
            "answers",
        ),
        (json!({"answers": [4, 4, 4, 4, 5, 4, 4, 4, 4]}), "answers"),
        (json!({"answers": [4, 4, 4, 4, 4, 4, 4, 4, 0]}), "answers"),
        (json!({"answers": [-1, 4, 4, 4, 4, 4, 4, 4, 4]}), "answers"),
        (json!({"answers": []}), "answers"),
        (json!({}), "answers"),
        (
            json!({"answers": [4, 4, 4, 4, 4, 4, 4, 4, 4], "comment": "x".repeat(2001)}),
            "comment",
        ),
    ];
    for (body, field) in cases {
        let r = app.post_bearer(SURVEY, &token, &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["error"], "validation_failed");
        assert!(r.body["fields"][field].is_string(), "{body}: {}", r.text);
    }
    assert_eq!(
        app.scalar("SELECT count(*) FROM surveys").await.as_deref(),
        Some("0")
    );
    assert!(!app.events(id).await.contains("survey"));
}

#[tokio::test]
async fn every_citizen_change_appends_one_audit_event_and_reads_append_none() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slots = app.slots("pbg", day).await;
    let r = app.book("pbg", slots[0], "081234567890").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().unwrap();
    let id = r.body["appointment"]["id"].as_str().unwrap();
    let mut expected = vec!["booked@citizen"];
    assert_eq!(app.events(id).await, expected.join(","));
    for read in [CURRENT, ICS] {
        assert_eq!(app.get_bearer(read, token).await.status, 200);
    }
    assert_eq!(app.events(id).await, expected.join(","));
    assert_eq!(reschedule(&app, token, slots[2]).await.status, 200);
    expected.push("rescheduled@citizen");
    assert_eq!(app.events(id).await, expected.join(","));
    // A refused change leaves no trace.
    assert_eq!(
        reschedule(&app, token, slots[2] + Duration::minutes(1))
            .await
            .status,
        409
    );
    assert_eq!(app.events(id).await, expected.join(","));
    assert_eq!(app.post_bearer(CANCEL, token, &json!({})).await.status, 200);
    expected.push("cancelled@citizen");
    assert_eq!(app.events(id).await, expected.join(","));
    assert_eq!(app.post_bearer(CANCEL, token, &json!({})).await.status, 409);
    assert_eq!(app.events(id).await, expected.join(","));
    let detail = app
        .scalar(&format!(
            "SELECT detail::text FROM appointment_events WHERE appointment_id = '{id}' \
             AND kind = 'cancelled'"
        ))
        .await
        .unwrap();
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail, json!({"from": "booked", "to": "cancelled"}));
}
