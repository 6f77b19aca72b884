//! The staff side: appointments by range, outcomes (complete with notes, no-show, cancel) and
//! their audit events, reassignment by a supervisor, weekly hours and leave that move the free
//! times, the subscribable calendar feed, and the admin's holidays and accounts.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, next_working_day, spawn_app};

const HOURS: &str = "/api/v1/staff/hours";
const CLOSURES: &str = "/api/v1/staff/closures";

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("an RFC 3339 time"))
        .expect("rfc3339")
        .with_timezone(&Utc)
}

/// Midnight of a local (WIB) date, in UTC.
fn local_midnight(d: NaiveDate) -> DateTime<Utc> {
    chrono_tz::Asia::Jakarta
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// A whole local day as a closure body.
fn whole_day(d: NaiveDate, reason: &str) -> Value {
    json!({"starts_at": local_midnight(d).to_rfc3339(),
           "ends_at": local_midnight(d + Duration::days(1)).to_rfc3339(),
           "reason": reason})
}

struct Booked {
    id: String,
    code: String,
    token: String,
    clerk: String,
    starts_at: DateTime<Utc>,
}

/// Books a free time of `service` on the next working day (the `index`th slot).
async fn book(app: &TestApp, service: &str, index: usize, phone: &str) -> Booked {
    let day = next_working_day(3);
    let slot = app.slots(service, day).await[index];
    // Some services (nib-oss) need the NIK; the others ignore it.
    let r = app
        .post(
            "/api/v1/appointments",
            &json!({"service": service, "starts_at": slot.to_rfc3339(),
                    "citizen": {"name": "Budi Santoso", "phone": phone,
                                "email": "budi@example.org", "nik": "3271995205900001"},
                    "consent": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let code = r.body["appointment"]["code"].as_str().unwrap().to_string();
    Booked {
        id: r.body["appointment"]["id"].as_str().unwrap().to_string(),
        clerk: app.clerk_of(&code).await,
        token: r.body["token"].as_str().unwrap().to_string(),
        code,
        starts_at: slot,
    }
}

async fn act(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> Resp {
    app.post_bearer(
        &format!("/api/v1/staff/appointments/{id}/{action}"),
        token,
        &body,
    )
    .await
}

async fn status_of(app: &TestApp, id: &str) -> String {
    app.scalar(&format!(
        "SELECT status FROM appointments WHERE id = '{id}'"
    ))
    .await
    .expect("appointment")
}

fn codes(r: &Resp) -> Vec<String> {
    r.body
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", r.text))
        .iter()
        .map(|a| a["code"].as_str().unwrap().to_string())
        .collect()
}

// --- Appointments by range ---------------------------------------------------------------

#[tokio::test]
async fn a_clerk_lists_their_appointments_by_local_date_range() {
    let app = spawn_app().await;
    let b = book(&app, "pbg", 0, "0812-3456-7890").await;
    let token = app.login(&b.clerk).await;
    let day = next_working_day(3);
    let list = |from: NaiveDate, to: NaiveDate| {
        let path = format!("/api/v1/staff/appointments?from={from}&to={to}");
        let token = token.clone();
        let app = &app;
        async move { app.get_bearer(&path, &token).await }
    };
    let r = list(day, day).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(codes(&r), vec![b.code.clone()]);
    let a = &r.body[0];
    assert_eq!(a["status"], "booked");
    assert_eq!(time(&a["starts_at"]), b.starts_at);
    assert_eq!(a["service"]["slug"], "pbg");
    assert_eq!(a["citizen"]["name"], "Budi Santoso");
    assert_eq!(a["citizen"]["phone"], "+6281234567890");
    assert_eq!(a["clerk"]["id"], app.staff_id(&b.clerk).await);
    assert_eq!(
        codes(&list(day - Duration::days(3), day + Duration::days(3)).await).len(),
        1
    );
    assert!(codes(&list(day + Duration::days(1), day + Duration::days(5)).await).is_empty());
    assert!(codes(&list(day - Duration::days(1), day - Duration::days(1)).await).is_empty());
    // `to` defaults to `from`.
    let only_from = app
        .get_bearer(&format!("/api/v1/staff/appointments?from={day}"), &token)
        .await;
    assert_eq!(codes(&only_from), vec![b.code]);
}

#[tokio::test]
async fn a_bad_range_is_422_naming_the_field() {
    let app = spawn_app().await;
    let token = app.login("clerk@loket.example").await;
    let from = next_working_day(3);
    let cases = [
        (
            format!("from={from}&to={}", from - Duration::days(1)),
            "to",
            "before_from",
        ),
        (
            format!("from={from}&to={}", from + Duration::days(62)),
            "to",
            "range_too_long",
        ),
        (
            format!("from={from}&to={}", from + Duration::days(400)),
            "to",
            "range_too_long",
        ),
        ("from=27-11-2026".to_string(), "from", "invalid_date"),
        (format!("from={from}&to=besok"), "to", "invalid_date"),
    ];
    for (q, field, problem) in cases {
        let r = app
            .get_bearer(&format!("/api/v1/staff/appointments?{q}"), &token)
            .await;
        assert_eq!(r.status, 422, "{q}: {}", r.text);
        assert_eq!(r.body["fields"][field], problem, "{q}");
    }
    let longest = app
        .get_bearer(
            &format!(
                "/api/v1/staff/appointments?from={from}&to={}",
                from + Duration::days(61)
            ),
            &token,
        )
        .await;
    assert_eq!(longest.status, 200, "62 days is allowed: {}", longest.text);
}

// --- Outcomes -------------------------------------------------------------------------------

#[tokio::test]
async fn complete_with_notes_stores_them_and_the_clerk_as_actor() {
    let app = spawn_app().await;
    let b = book(&app, "pbg", 0, "081234567890").await;
    let token = app.login(&b.clerk).await;
    let me = app.staff_id(&b.clerk).await;
    let notes = "Berkas KRK sudah lengkap; lanjut ke verifikasi teknis.";
    let r = act(&app, &token, &b.id, "complete", json!({"notes": notes})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "completed");
    assert_eq!(r.body["notes"], notes);
    assert_eq!(
        app.scalar(&format!(
            "SELECT status || '|' || notes FROM appointments WHERE id = '{}'",
            b.id
        ))
        .await
        .as_deref(),
        Some(format!("completed|{notes}").as_str())
    );
    assert_eq!(
        app.events(&b.id).await,
        format!("booked@citizen,completed@staff:{me}")
    );
    // The citizen sees the outcome, not the notes.
    let view = app
        .get_bearer("/api/v1/appointments/current", &b.token)
        .await;
    assert_eq!(view.body["status"], "completed");
    assert!(!view.text.contains("KRK"));
    // Twice is a conflict and leaves no second event.
    let again = act(&app, &token, &b.id, "complete", json!({"notes": "lagi"})).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.body["error"], "invalid_state");
    assert_eq!(
        app.events(&b.id).await,
        format!("booked@citizen,completed@staff:{me}")
    );
    // A completed consultation cannot turn into a no-show or be cancelled either.
    for action in ["no-show", "cancel"] {
        assert_eq!(
            act(&app, &token, &b.id, action, json!({})).await.status,
            409
        );
    }
    assert_eq!(status_of(&app, &b.id).await, "completed");
}

#[tokio::test]
async fn complete_without_a_body_is_fine() {
    let app = spawn_app().await;
    let b = book(&app, "pbg", 0, "081234567890").await;
    let token = app.login(&b.clerk).await;
    let r = app
        .client
        .post(app.url(&format!("/api/v1/staff/appointments/{}/complete", b.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(status_of(&app, &b.id).await, "completed");
}

#[tokio::test]
async fn notes_that_are_too_long_are_422_and_change_nothing() {
    let app = spawn_app().await;
    let b = book(&app, "pbg", 0, "081234567890").await;
    let token = app.login(&b.clerk).await;
    let r = act(
        &app,
        &token,
        &b.id,
        "complete",
        json!({"notes": "n".repeat(4001)}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["fields"]["notes"], "too_long");
    assert_eq!(status_of(&app, &b.id).await, "booked");
    assert_eq!(app.events(&b.id).await, "booked@citizen");
    // Exactly at the limit is accepted.
    let ok = act(
        &app,
        &token,
        &b.id,
        "complete",
        json!({"notes": "é".repeat(4000)}),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

#[tokio::test]
async fn a_no_show_is_recorded_and_is_final() {
    let app = spawn_app().await;
    let b = book(&app, "pbg", 0, "081234567890").await;
    let token = app.login(&b.clerk).await;
    let me = app.staff_id(&b.clerk).await;
    app.started_ago(&b.id, 20).await;
    let r = act(
        &app,
        &token,
        &b.id,
        "no-show",
        json!({"notes": "Tidak hadir"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "no_show");
    assert_eq!(
        app.events(&b.id).await,
        format!("booked@citizen,no_show@staff:{me}")
    );
    assert_eq!(
        app.get_bearer("/api/v1/appointments/current", &b.token)
            .await
            .body["status"],
        "no_show"
    );
    for action in ["complete", "no-show", "cancel"] {
        let r = act(&app, &token, &b.id, action, json!({})).await;
        assert_eq!(r.status, 409, "{action}: {}", r.text);
        assert_eq!(r.body["error"], "invalid_state");
    }
    // A no-show frees nothing for the citizen to come back to: they cannot reschedule it.
    let later = app.slots("pbg", next_working_day(3)).await[5];
    let re = app
        .post_bearer(
            "/api/v1/appointments/current/reschedule",
            &b.token,
            &json!({"starts_at": later.to_rfc3339()}),
        )
        .await;
    assert_eq!(re.status, 409);
}

#[tokio::test]
async fn a_no_show_before_the_start_plus_grace_is_409_too_early_and_changes_nothing() {
    let app = spawn_app().await;
    let b = book(&app, "pbg", 0, "081234567891").await;
    let token = app.login(&b.clerk).await;
    // Days ahead: refused, and the answer says from when.
    let r = act(&app, &token, &b.id, "no-show", json!({})).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "too_early");
    let from =
        (b.starts_at + Duration::minutes(10)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        r.body["message"].as_str().unwrap().contains(&from),
        "{}",
        r.text
    );
    // Started five minutes ago: still within the ten minutes' grace.
    app.started_ago(&b.id, 5).await;
    let r = act(&app, &token, &b.id, "no-show", json!({})).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "too_early");
    assert_eq!(status_of(&app, &b.id).await, "booked");
    assert_eq!(app.events(&b.id).await, "booked@citizen");
    // The page learns the grace and the undo window from /staff/me.
    let me = app.get_bearer("/api/v1/staff/me", &token).await;
    assert_eq!(me.body["no_show_grace_minutes"], 10);
    assert_eq!(me.body["no_show_undo_minutes"], 15);
    // Eleven minutes after the start, past the grace: recorded.
    app.started_ago(&b.id, 11).await;
    let r = act(&app, &token, &b.id, "no-show", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn the_grace_time_is_configurable() {
    let app = crate::helpers::spawn_app_with(|s| s.no_show_grace_minutes = 30).await;
    let b = book(&app, "pbg", 0, "081234567892").await;
    let token = app.login(&b.clerk).await;
    app.started_ago(&b.id, 20).await;
    let r = act(&app, &token, &b.id, "no-show", json!({})).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "too_early");
    app.started_ago(&b.id, 31).await;
    assert_eq!(
        act(&app, &token, &b.id, "no-show", json!({})).await.status,
        200
    );
}

#[tokio::test]
async fn a_no_show_can_be_undone_within_the_window_and_the_citizen_can_come_back() {
    let app = spawn_app().await;
    let b = book(&app, "pbg", 0, "081234567893").await;
    let token = app.login(&b.clerk).await;
    let me = app.staff_id(&b.clerk).await;
    app.started_ago(&b.id, 12).await;
    assert_eq!(
        act(&app, &token, &b.id, "no-show", json!({})).await.status,
        200
    );
    assert_eq!(
        app.ticket(&b.token, None).await.body["error"],
        "appointment_closed"
    );
    let r = act(&app, &token, &b.id, "undo-no-show", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "booked");
    assert_eq!(status_of(&app, &b.id).await, "booked");
    assert_eq!(
        app.events(&b.id).await,
        format!("booked@citizen,no_show@staff:{me},no_show_undone@staff:{me}")
    );
    // The room lets the citizen in again.
    assert_eq!(app.ticket(&b.token, None).await.status, 200);
    // Undoing what is not a no-show is invalid_state.
    let again = act(&app, &token, &b.id, "undo-no-show", json!({})).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.body["error"], "invalid_state");
    // Someone else's appointment: 404, as for every other action.
    let other = app.login("spv.disdukcapil@loket.example").await;
    assert_eq!(
        act(&app, &other, &b.id, "undo-no-show", json!({}))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_no_show_recorded_longer_ago_than_the_undo_window_stays() {
    // The window's edges are domain::appointment's unit test; here, a window of none.
    let app = crate::helpers::spawn_app_with(|s| s.no_show_undo_minutes = 0).await;
    let b = book(&app, "pbg", 0, "081234567894").await;
    let token = app.login(&b.clerk).await;
    app.started_ago(&b.id, 40).await;
    assert_eq!(
        act(&app, &token, &b.id, "no-show", json!({})).await.status,
        200
    );
    let r = act(&app, &token, &b.id, "undo-no-show", json!({})).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "undo_expired");
    assert_eq!(status_of(&app, &b.id).await, "no_show");
}

#[tokio::test]
async fn a_clerk_can_cancel_a_booking_and_the_citizen_sees_it() {
    let app = spawn_app().await;
    let (service, clerk) = app.single_clerk_service().await;
    let b = book(&app, &service, 0, "081234567890").await;
    assert_eq!(b.clerk, clerk);
    let token = app.login(&clerk).await;
    let me = app.staff_id(&clerk).await;
    let day = next_working_day(3);
    assert!(!app.slots(&service, day).await.contains(&b.starts_at));
    let r = act(
        &app,
        &token,
        &b.id,
        "cancel",
        json!({"notes": "Pemohon minta dibatalkan"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(
        app.events(&b.id).await,
        format!("booked@citizen,cancelled@staff:{me}")
    );
    assert!(
        app.slots(&service, day).await.contains(&b.starts_at),
        "the time is free again"
    );
    let view = app
        .get_bearer("/api/v1/appointments/current", &b.token)
        .await;
    assert_eq!(view.body["status"], "cancelled");
    let ics = app
        .get_bearer("/api/v1/appointments/current/ics", &b.token)
        .await;
    assert!(ics.text.contains("STATUS:CANCELLED"));
    let twice = act(&app, &token, &b.id, "cancel", json!({})).await;
    assert_eq!(twice.status, 409);
}

// --- Reassignment -------------------------------------------------------------------------

/// A nib-oss booking (clerk@, dewi and the DPMPTSP supervisor serve it) and a DPMPTSP clerk
/// other than the one who got it.
async fn nib_booking_and_other_clerk(app: &TestApp) -> (Booked, &'static str) {
    let b = book(app, "nib-oss", 0, "081234567890").await;
    let other = if b.clerk == "clerk@loket.example" {
        "dewi.dpmptsp@loket.example"
    } else {
        "clerk@loket.example"
    };
    (b, other)
}

#[tokio::test]
async fn a_supervisor_reassigns_to_a_free_clerk_of_the_agency() {
    let app = spawn_app().await;
    let (b, target) = nib_booking_and_other_clerk(&app).await;
    let spv = app.login("supervisor@loket.example").await;
    let spv_id = app.staff_id("supervisor@loket.example").await;
    let target_id = app.staff_id(target).await;
    let r = act(&app, &spv, &b.id, "reassign", json!({"staff": target_id})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["clerk"]["id"], target_id);
    assert_eq!(time(&r.body["starts_at"]), b.starts_at, "same time");
    assert_eq!(r.body["status"], "booked");
    assert_eq!(app.clerk_of(&b.code).await, target);
    assert_eq!(
        app.events(&b.id).await,
        format!("booked@citizen,reassigned@staff:{spv_id}")
    );
    let detail: Value = serde_json::from_str(
        &app.scalar(&format!(
            "SELECT detail::text FROM appointment_events WHERE appointment_id = '{}' \
             AND kind = 'reassigned'",
            b.id
        ))
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(detail["from"]["staff"], app.staff_id(&b.clerk).await);
    assert_eq!(detail["to"]["staff"], target_id);
    // The new clerk has it in their list, the old one no longer.
    let day = next_working_day(3);
    let path = format!("/api/v1/staff/appointments?from={day}&to={day}");
    let theirs = app.get_bearer(&path, &app.login(target).await).await;
    assert_eq!(codes(&theirs), vec![b.code.clone()]);
    let before = app.get_bearer(&path, &app.login(&b.clerk).await).await;
    assert!(codes(&before).is_empty());
    // And the citizen sees the new clerk's name.
    let view = app
        .get_bearer("/api/v1/appointments/current", &b.token)
        .await;
    assert_eq!(view.body["clerk"]["name"], r.body["clerk"]["name"]);
}

#[tokio::test]
async fn reassigning_to_a_clerk_busy_at_that_time_is_409_slot_taken() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slot = app.slots("pbg", day).await[0];
    let first = app.book("pbg", slot, "081234567890").await;
    let second = app.book("pbg", slot, "081234567891").await;
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (201, 201));
    let id = first.body["appointment"]["id"].as_str().unwrap();
    let code = first.body["appointment"]["code"].as_str().unwrap();
    let busy = app
        .clerk_of(second.body["appointment"]["code"].as_str().unwrap())
        .await;
    let owner = app.clerk_of(code).await;
    assert_ne!(owner, busy);
    let spv = app.login("supervisor@loket.example").await;
    let r = act(
        &app,
        &spv,
        id,
        "reassign",
        json!({"staff": app.staff_id(&busy).await}),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "slot_taken");
    assert_eq!(app.clerk_of(code).await, owner, "nothing changed");
    assert_eq!(app.events(id).await, "booked@citizen");
}

#[tokio::test]
async fn reassigning_to_a_clerk_on_leave_or_off_duty_then_is_409_slot_taken() {
    let app = spawn_app().await;
    let (b, target) = nib_booking_and_other_clerk(&app).await;
    let spv = app.login("supervisor@loket.example").await;
    let target_id = app.staff_id(target).await;
    let target_token = app.login(target).await;
    // On leave that day.
    let day = next_working_day(3);
    let leave = app
        .post_bearer(CLOSURES, &target_token, &whole_day(day, "Cuti tahunan"))
        .await;
    assert_eq!(leave.status, 201, "{}", leave.text);
    let r = act(&app, &spv, &b.id, "reassign", json!({"staff": target_id})).await;
    assert_eq!(r.status, 409, "on leave: {}", r.text);
    assert_eq!(r.body["error"], "slot_taken");
    let leave_id = leave.body["id"].as_str().unwrap();
    assert_eq!(
        app.delete_bearer(&format!("{CLOSURES}/{leave_id}"), &target_token)
            .await
            .status,
        204
    );
    // Not working on that weekday at all.
    let weekday = day.weekday().number_from_monday();
    let week = app.get_bearer(HOURS, &target_token).await.body["intervals"].clone();
    let without: Vec<Value> = week
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["weekday"] != weekday)
        .cloned()
        .collect();
    let put = app
        .put_bearer(HOURS, &target_token, &json!({"intervals": without}))
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let r = act(&app, &spv, &b.id, "reassign", json!({"staff": target_id})).await;
    assert_eq!(r.status, 409, "off duty: {}", r.text);
    assert_eq!(app.clerk_of(&b.code).await, b.clerk, "nothing changed");
    assert_eq!(app.events(&b.id).await, "booked@citizen");
    // Back at work, the same reassignment goes through.
    let put = app
        .put_bearer(HOURS, &target_token, &json!({"intervals": week}))
        .await;
    assert_eq!(put.status, 200);
    let r = act(&app, &spv, &b.id, "reassign", json!({"staff": target_id})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn reassignment_refusals() {
    let app = spawn_app().await;
    let b = book(&app, "pbg", 0, "081234567890").await;
    let spv = app.login("supervisor@loket.example").await;
    let clerk = app.login("clerk@loket.example").await;
    let dewi = app.staff_id("dewi.dpmptsp@loket.example").await;
    let nining = app.staff_id("nining.disdukcapil@loket.example").await;
    // A clerk may not reassign, not even their own.
    let r = act(&app, &clerk, &b.id, "reassign", json!({"staff": dewi})).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let cases = [
        (json!({}), "required"),
        (json!({"staff": dewi}), "does_not_serve_service"),
        // Another agency's clerk is as unknown as a made-up id (no oracle of staff ids).
        (json!({"staff": nining}), "unknown"),
        (json!({"staff": uuid::Uuid::new_v4()}), "unknown"),
    ];
    for (body, problem) in cases {
        let r = act(&app, &spv, &b.id, "reassign", body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["fields"]["staff"], problem, "{body}");
    }
    // Another agency's supervisor does not even see it.
    let other = app.login("spv.disdukcapil@loket.example").await;
    let r = act(
        &app,
        &other,
        &b.id,
        "reassign",
        json!({"staff": app.staff_id("clerk@loket.example").await}),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(app.events(&b.id).await, "booked@citizen");
}

// --- Weekly hours ---------------------------------------------------------------------------

fn iv(weekday: u8, starts: &str, ends: &str) -> Value {
    json!({"weekday": weekday, "starts": starts, "ends": ends})
}

#[tokio::test]
async fn weekly_hours_show_the_demo_week() {
    let app = spawn_app().await;
    let token = app.login("clerk@loket.example").await;
    let r = app.get_bearer(HOURS, &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut expected = vec![];
    for wd in 1..=4 {
        expected.push(iv(wd, "08:00", "12:00"));
        expected.push(iv(wd, "13:00", "15:00"));
    }
    expected.push(iv(5, "08:00", "11:30"));
    expected.push(iv(5, "13:00", "15:00"));
    assert_eq!(r.body, json!({ "intervals": expected }));
}

#[tokio::test]
async fn replacing_the_hours_moves_the_free_times() {
    let app = spawn_app().await;
    let (service, clerk) = app.single_clerk_service().await;
    let token = app.login(&clerk).await;
    let day = next_working_day(3);
    let weekday = day.weekday().number_from_monday();
    let before = app.slots(&service, day).await;
    assert!(!before.is_empty());
    // Two more days that have free times now: one on the same weekday a week or more later,
    // one on another weekday (the first such after `day`; holidays are skipped by asking).
    let mut same_weekday_later = None;
    for weeks in 1..=3 {
        let d = day + Duration::days(7 * weeks);
        if !app.slots(&service, d).await.is_empty() {
            same_weekday_later = Some(d);
            break;
        }
    }
    let same_weekday_later = same_weekday_later.expect("the same weekday has free times soon");
    let mut other_day = None;
    for n in 1..=14 {
        let d = day + Duration::days(n);
        if d.weekday() != day.weekday() && !app.slots(&service, d).await.is_empty() {
            other_day = Some(d);
            break;
        }
    }
    let other_day = other_day.expect("another weekday has free times");
    let week = app.get_bearer(HOURS, &token).await.body["intervals"].clone();
    let without: Vec<Value> = week
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["weekday"] != weekday)
        .cloned()
        .collect();
    let put = app
        .put_bearer(HOURS, &token, &json!({"intervals": without}))
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(
        put.body["intervals"],
        json!(without),
        "the response is the new week"
    );
    assert_eq!(
        app.get_bearer(HOURS, &token).await.body["intervals"],
        json!(without)
    );
    assert!(app.slots(&service, day).await.is_empty(), "no {day} slots");
    assert!(app.slots(&service, same_weekday_later).await.is_empty());
    assert!(!app.slots(&service, other_day).await.is_empty());
    // A shorter day: mornings only.
    let mut mornings = without.clone();
    mornings.push(iv(weekday as u8, "09:00", "11:00"));
    assert_eq!(
        app.put_bearer(HOURS, &token, &json!({"intervals": mornings}))
            .await
            .status,
        200
    );
    let short = app.slots(&service, day).await;
    assert!(!short.is_empty());
    let tz = chrono_tz::Asia::Jakarta;
    for s in &short {
        let local = s.with_timezone(&tz).time();
        assert!(
            local >= chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap()
                && local < chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
            "{local}"
        );
    }
    // Putting the week back brings every slot back.
    assert_eq!(
        app.put_bearer(HOURS, &token, &json!({"intervals": week}))
            .await
            .status,
        200
    );
    assert_eq!(app.slots(&service, day).await, before);
}

#[tokio::test]
async fn overlapping_or_malformed_hours_are_422_and_change_nothing() {
    let app = spawn_app().await;
    let token = app.login("clerk@loket.example").await;
    let week = app.get_bearer(HOURS, &token).await.body.clone();
    let cases = [
        (
            vec![iv(1, "08:00", "12:00"), iv(1, "11:00", "13:00")],
            "intervals[1]",
            "overlaps",
        ),
        (
            vec![
                iv(2, "08:00", "12:00"),
                iv(1, "08:00", "12:00"),
                iv(2, "09:00", "10:00"),
            ],
            "intervals[2]",
            "overlaps",
        ),
        (
            vec![iv(1, "25:00", "26:00")],
            "intervals[0]",
            "invalid_time",
        ),
        (
            vec![iv(1, "08:00", "12:00"), iv(1, "13:00", "3pm")],
            "intervals[1]",
            "invalid_time",
        ),
        (
            vec![iv(8, "08:00", "12:00")],
            "intervals[0]",
            "invalid_weekday",
        ),
        (
            vec![iv(0, "08:00", "12:00")],
            "intervals[0]",
            "invalid_weekday",
        ),
        (
            vec![iv(3, "12:00", "08:00")],
            "intervals[0]",
            "starts_after_ends",
        ),
        (
            vec![iv(3, "08:00", "08:00")],
            "intervals[0]",
            "starts_after_ends",
        ),
    ];
    for (intervals, field, problem) in cases {
        let body = json!({ "intervals": intervals });
        let r = app.put_bearer(HOURS, &token, &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["fields"][field], problem, "{body}: {}", r.text);
    }
    assert_eq!(app.get_bearer(HOURS, &token).await.body, week, "unchanged");
    // Touching intervals are not overlapping.
    let ok = app
        .put_bearer(
            HOURS,
            &token,
            &json!({"intervals": [iv(1, "08:00", "12:00"), iv(1, "12:00", "13:00")]}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

// --- Leave (personal closures) ------------------------------------------------------------

#[tokio::test]
async fn leave_hides_the_clerks_free_times_until_it_is_removed() {
    let app = spawn_app().await;
    let (service, clerk) = app.single_clerk_service().await;
    let token = app.login(&clerk).await;
    let day = next_working_day(3);
    let before = app.slots(&service, day).await;
    assert!(!before.is_empty());
    let r = app
        .post_bearer(CLOSURES, &token, &whole_day(day, "Cuti tahunan"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(time(&r.body["starts_at"]), local_midnight(day));
    assert_eq!(r.body["affected_bookings"], json!([]));
    assert!(app.slots(&service, day).await.is_empty(), "on leave");
    assert_eq!(
        app.slots(&service, day + Duration::days(7)).await.len(),
        before.len(),
        "only that day"
    );
    let listed = app.get_bearer(CLOSURES, &token).await;
    assert_eq!(listed.status, 200);
    let mine: Vec<&Value> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == id.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{}", listed.text);
    assert_eq!(mine[0]["reason"], "Cuti tahunan");
    assert_eq!(
        time(&mine[0]["ends_at"]),
        local_midnight(day + Duration::days(1))
    );
    let del = app.delete_bearer(&format!("{CLOSURES}/{id}"), &token).await;
    assert_eq!(del.status, 204, "{}", del.text);
    assert_eq!(app.slots(&service, day).await, before, "back");
    assert!(
        !app.get_bearer(CLOSURES, &token)
            .await
            .text
            .contains(id.as_str())
    );
    let again = app.delete_bearer(&format!("{CLOSURES}/{id}"), &token).await;
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn leave_over_existing_bookings_lists_them_for_reassignment() {
    let app = spawn_app().await;
    let (service, clerk) = app.single_clerk_service().await;
    let b = book(&app, &service, 1, "081234567890").await;
    let token = app.login(&clerk).await;
    let r = app
        .post_bearer(CLOSURES, &token, &whole_day(next_working_day(3), "Sakit"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["affected_bookings"], json!([b.code]));
    assert_eq!(status_of(&app, &b.id).await, "booked", "the booking stays");
}

#[tokio::test]
async fn a_clerk_cannot_remove_another_clerks_leave() {
    let app = spawn_app().await;
    let (service, clerk) = app.single_clerk_service().await;
    let owner = app.login(&clerk).await;
    let day = next_working_day(3);
    let r = app
        .post_bearer(CLOSURES, &owner, &whole_day(day, "Cuti"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap();
    for other in ["clerk@loket.example", "supervisor@loket.example"] {
        let token = app.login(other).await;
        let del = app.delete_bearer(&format!("{CLOSURES}/{id}"), &token).await;
        assert_eq!(del.status, 404, "{other}: {}", del.text);
        assert!(!app.get_bearer(CLOSURES, &token).await.text.contains(id));
    }
    assert!(app.slots(&service, day).await.is_empty(), "still on leave");
}

#[tokio::test]
async fn bad_leave_is_422_naming_the_field() {
    let app = spawn_app().await;
    let token = app.login("clerk@loket.example").await;
    let day = next_working_day(3);
    let start = local_midnight(day);
    let cases = [
        (
            json!({"starts_at": start.to_rfc3339(), "ends_at": (start - Duration::hours(1)).to_rfc3339(), "reason": "Cuti"}),
            "ends_at",
            "before_starts_at",
        ),
        (
            json!({"starts_at": start.to_rfc3339(), "ends_at": start.to_rfc3339(), "reason": "Cuti"}),
            "ends_at",
            "before_starts_at",
        ),
        (
            json!({"starts_at": start.to_rfc3339(), "ends_at": (start + Duration::days(1)).to_rfc3339()}),
            "reason",
            "required",
        ),
        (
            json!({"starts_at": start.to_rfc3339(), "ends_at": (start + Duration::days(1)).to_rfc3339(), "reason": "x".repeat(201)}),
            "reason",
            "too_long",
        ),
        (
            json!({"starts_at": "besok", "ends_at": (start + Duration::days(1)).to_rfc3339(), "reason": "Cuti"}),
            "starts_at",
            "invalid",
        ),
        (
            json!({"ends_at": (start + Duration::days(1)).to_rfc3339(), "reason": "Cuti"}),
            "starts_at",
            "required",
        ),
        (
            json!({"starts_at": start.to_rfc3339(), "ends_at": (start + Duration::days(400)).to_rfc3339(), "reason": "Cuti"}),
            "ends_at",
            "too_long",
        ),
    ];
    for (body, field, problem) in cases {
        let r = app.post_bearer(CLOSURES, &token, &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["fields"][field], problem, "{body}: {}", r.text);
    }
    assert_eq!(
        app.scalar("SELECT count(*) FROM closures WHERE staff_id IS NOT NULL")
            .await
            .as_deref(),
        Some("0")
    );
}

// --- The calendar feed ----------------------------------------------------------------------

#[tokio::test]
async fn the_calendar_feed_lists_the_clerks_bookings_without_contact_details() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slot = app.slots("akta-kelahiran", day).await[0];
    let nik = "3271995205900001";
    let r = app
        .post(
            "/api/v1/appointments",
            &json!({"service": "akta-kelahiran", "starts_at": slot.to_rfc3339(),
                    "citizen": {"name": "Siti Aminah", "phone": "0812-3456-7890",
                                "email": "siti.aminah@example.org", "nik": nik},
                    "consent": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let code = r.body["appointment"]["code"].as_str().unwrap();
    let clerk = app.clerk_of(code).await;
    let token = app.login(&clerk).await;
    let me = app.get_bearer("/api/v1/staff/me", &token).await;
    let url = me.body["calendar_url"].as_str().expect("calendar_url");
    assert!(url.starts_with(&app.address), "{url}");
    assert!(url.contains(&format!(":{}/", app.port)), "{url}");
    assert!(url.contains("/api/v1/staff/calendar.ics?key="), "{url}");
    // A phone calendar has no cookie and no token: the key in the URL is all it needs.
    let feed = reqwest::get(url).await.unwrap();
    assert_eq!(feed.status(), 200);
    let ct = feed.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/calendar"), "{ct}");
    let text = feed.text().await.unwrap();
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "{line:?}");
    }
    let unfolded = text.replace("\r\n ", "");
    assert!(unfolded.starts_with("BEGIN:VCALENDAR\r\n"));
    let summary = unfolded
        .split("\r\n")
        .find(|l| l.starts_with("SUMMARY:") && l.contains(code))
        .unwrap_or_else(|| panic!("no SUMMARY with {code}: {unfolded}"));
    assert!(summary.contains("Siti"), "{summary}");
    assert!(unfolded.contains(&format!("DTSTART:{}", slot.format("%Y%m%dT%H%M%SZ"))));
    for secret in [
        nik,
        "520590",
        "6281234567890",
        "081234567890",
        "siti.aminah@example.org",
        "Aminah",
    ] {
        assert!(!unfolded.contains(secret), "{secret} in the feed");
    }
    // Another clerk's feed does not list it.
    let other_key = app
        .scalar("SELECT calendar_key FROM staff WHERE email = 'clerk@loket.example'")
        .await
        .unwrap();
    let other = app
        .get(&format!("/api/v1/staff/calendar.ics?key={other_key}"))
        .await;
    assert_eq!(other.status, 200);
    assert!(!other.text.contains(code));
    // A wrong or missing key finds nothing.
    let key = url.split("key=").nth(1).unwrap();
    let wrong: String = key.chars().rev().collect();
    for q in [
        format!("?key={wrong}"),
        format!("?key={}", &key[..key.len() - 1]),
        "?key=".to_string(),
        String::new(),
    ] {
        let r = app.get(&format!("/api/v1/staff/calendar.ics{q}")).await;
        assert_eq!(r.status, 404, "{q}: {}", r.text);
    }
}

// --- Admin: holidays and accounts, and the team ---------------------------------------------

#[tokio::test]
async fn only_the_admin_manages_holidays() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let before = app.slots("pbg", day).await;
    assert!(!before.is_empty());
    let body = whole_day(day, "Hari Jadi Kota Bogor");
    for who in ["clerk@loket.example", "supervisor@loket.example"] {
        let t = app.login(who).await;
        let r = app.post_bearer("/api/v1/admin/holidays", &t, &body).await;
        assert_eq!(r.status, 403, "{who}: {}", r.text);
    }
    assert_eq!(app.slots("pbg", day).await, before);
    let admin = app.login("admin@loket.example").await;
    let r = app
        .post_bearer("/api/v1/admin/holidays", &admin, &body)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(app.slots("pbg", day).await.is_empty(), "the mall is closed");
    assert!(app.slots("akta-kelahiran", day).await.is_empty());
    let listed = app.get_bearer("/api/v1/admin/holidays", &admin).await;
    assert!(listed.text.contains(&id));
    let clerk = app.login("clerk@loket.example").await;
    let r = app
        .delete_bearer(&format!("/api/v1/admin/holidays/{id}"), &clerk)
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .delete_bearer(&format!("/api/v1/admin/holidays/{id}"), &admin)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(app.slots("pbg", day).await, before);
    // A clerk's leave is not a holiday: the admin cannot delete it as one.
    let leave = app
        .post_bearer(CLOSURES, &clerk, &whole_day(day, "Cuti"))
        .await;
    let leave_id = leave.body["id"].as_str().unwrap();
    let r = app
        .delete_bearer(&format!("/api/v1/admin/holidays/{leave_id}"), &admin)
        .await;
    assert_eq!(r.status, 404);
}

fn new_staff(email: &str, role: &str, agency: &str, password: &str) -> Value {
    json!({"email": email, "name": "Rahmat Hidayat", "role": role, "agency": agency,
           "services": ["pbg"], "password": password})
}

#[tokio::test]
async fn the_admin_creates_a_clerk_who_can_sign_in() {
    let app = spawn_app().await;
    let admin = app.login("admin@loket.example").await;
    let r = app
        .post_bearer(
            "/api/v1/admin/staff",
            &admin,
            &new_staff(
                "rahmat@loket.example",
                "clerk",
                "dpmptsp",
                "kata-sandi-yang-panjang",
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["email"], "rahmat@loket.example");
    assert_eq!(r.body["role"], "clerk");
    assert_eq!(r.body["agency"]["slug"], "dpmptsp");
    assert!(r.body.get("password_hash").is_none() && !r.text.contains("argon2"));
    assert!(
        app.scalar("SELECT password_hash FROM staff WHERE email = 'rahmat@loket.example'")
            .await
            .unwrap()
            .starts_with("$argon2id$")
    );
    let login = app
        .post(
            "/api/v1/staff/session",
            &json!({"email": "rahmat@loket.example", "password": "kata-sandi-yang-panjang"}),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let token = login.body["token"].as_str().unwrap();
    let me = app.get_bearer("/api/v1/staff/me", token).await;
    assert_eq!(me.body["id"], r.body["id"]);
    assert_eq!(
        app.scalar(&format!(
            "SELECT string_agg(s.slug, ',') FROM staff_services ss JOIN services s ON s.id = ss.service_id \
             WHERE ss.staff_id = '{}'",
            r.body["id"].as_str().unwrap()
        ))
        .await
        .as_deref(),
        Some("pbg")
    );
}

#[tokio::test]
async fn staff_creation_refusals() {
    let app = spawn_app().await;
    let admin = app.login("admin@loket.example").await;
    let spv = app.login("supervisor@loket.example").await;
    let clerk = app.login("clerk@loket.example").await;
    let pw = "kata-sandi-yang-panjang";
    let cases: Vec<(&str, &String, Value, u16, &str)> = vec![
        (
            "duplicate",
            &admin,
            new_staff("clerk@loket.example", "clerk", "dpmptsp", pw),
            409,
            "email_taken",
        ),
        (
            "duplicate, other case",
            &admin,
            new_staff("Clerk@Loket.Example", "clerk", "dpmptsp", pw),
            409,
            "email_taken",
        ),
        (
            "short password",
            &admin,
            new_staff("a@loket.example", "clerk", "dpmptsp", "pendek"),
            422,
            "validation_failed",
        ),
        (
            "supervisor makes a supervisor",
            &spv,
            new_staff("b@loket.example", "supervisor", "dpmptsp", pw),
            403,
            "insufficient_role",
        ),
        (
            "supervisor makes an admin",
            &spv,
            new_staff("c@loket.example", "admin", "dpmptsp", pw),
            403,
            "insufficient_role",
        ),
        (
            "supervisor, another agency",
            &spv,
            new_staff("d@loket.example", "clerk", "disdukcapil", pw),
            403,
            "not_your_agency",
        ),
        (
            "clerk",
            &clerk,
            new_staff("e@loket.example", "clerk", "dpmptsp", pw),
            403,
            "insufficient_role",
        ),
        (
            "unknown agency",
            &admin,
            new_staff("f@loket.example", "clerk", "nowhere", pw),
            422,
            "validation_failed",
        ),
    ];
    for (what, token, body, status, error) in cases {
        let r = app.post_bearer("/api/v1/admin/staff", token, &body).await;
        assert_eq!(r.status, status, "{what}: {}", r.text);
        assert_eq!(r.body["error"], error, "{what}");
    }
    let short = app
        .post_bearer(
            "/api/v1/admin/staff",
            &admin,
            &new_staff("a@loket.example", "clerk", "dpmptsp", "pendek"),
        )
        .await;
    assert_eq!(short.body["fields"]["password"], "too_short");
    assert_eq!(
        app.scalar("SELECT count(*) FROM staff WHERE email ~ '^[a-f]@'")
            .await
            .as_deref(),
        Some("0"),
        "no account was created"
    );
}

#[tokio::test]
async fn a_supervisor_creates_clerks_for_their_own_agency() {
    let app = spawn_app().await;
    let spv = app.login("supervisor@loket.example").await;
    let r = app
        .post_bearer(
            "/api/v1/admin/staff",
            &spv,
            &new_staff(
                "baru@loket.example",
                "clerk",
                "dpmptsp",
                "kata-sandi-yang-panjang",
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let team = app.get_bearer("/api/v1/staff/team", &spv).await;
    assert!(team.text.contains(r.body["id"].as_str().unwrap()));
}

#[tokio::test]
async fn the_team_list_is_the_supervisors_agency_only() {
    let app = spawn_app().await;
    let spv = app.login("supervisor@loket.example").await;
    let r = app.get_bearer("/api/v1/staff/team", &spv).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let names: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    for n in ["Ratna Sari Dewi", "Asep Saepudin", "Dewi Kurniasih"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(!r.text.contains("Nining") && !r.text.contains("Hendra"));
    let clerk = app.login("clerk@loket.example").await;
    assert_eq!(
        app.get_bearer("/api/v1/staff/team", &clerk).await.status,
        403
    );
    let admin = app.login("admin@loket.example").await;
    let all = app.get_bearer("/api/v1/staff/team", &admin).await;
    assert!(all.text.contains("Nining Suryani") && all.text.contains("Asep Saepudin"));
}

#[tokio::test]
async fn concurrent_creations_of_one_email_make_one_account_and_clean_409s() {
    let app = spawn_app().await;
    let admin = app.login("admin@loket.example").await;
    let mut tasks = vec![];
    for _ in 0..6 {
        let c = app.client.clone();
        let url = app.url("/api/v1/admin/staff");
        let admin = admin.clone();
        let body = new_staff(
            "kembar@loket.example",
            "clerk",
            "dpmptsp",
            "kata-sandi-yang-panjang",
        );
        tasks.push(tokio::spawn(async move {
            crate::helpers::resp(
                c.post(url)
                    .bearer_auth(admin)
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }));
    }
    let mut statuses = vec![];
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == 409 {
            assert_eq!(r.body["error"], "email_taken", "{}", r.text);
        }
        statuses.push(r.status.as_u16());
    }
    statuses.sort();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409]);
    assert_eq!(
        app.scalar("SELECT count(*) FROM staff WHERE email = 'kembar@loket.example'")
            .await
            .as_deref(),
        Some("1")
    );
}

// --- The live feed --------------------------------------------------------------------------

/// Reads a server-sent-event stream until an `event: appointment` payload satisfies `last`
/// (20 s at most); returns every appointment payload seen, that one included. A feed delivers
/// in order, so whatever was sent to it before that event has arrived by then.
async fn appointment_events_until(
    r: &mut reqwest::Response,
    last: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let (mut text, mut seen) = (String::new(), Vec::new());
    loop {
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            if !block.starts_with("event: appointment\n") {
                continue;
            }
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .expect("data");
            let event: Value = serde_json::from_str(data).expect("event JSON");
            let done = last(&event);
            seen.push(event);
            if done {
                return seen;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, r.chunk())
            .await
            .unwrap_or_else(|_| panic!("the awaited event did not come within 20 s: {seen:?}"))
            .expect("feed chunk")
            .unwrap_or_else(|| panic!("the feed ended: {seen:?}"));
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_live_feed_shows_each_person_only_what_they_may_see() {
    let app = spawn_app().await;
    let clerk_id = app.staff_id("clerk@loket.example").await;
    let spv_id = app.staff_id("supervisor@loket.example").await;
    let open = |email: &'static str| {
        let app = &app;
        async move {
            let token = app.login(email).await;
            let mut r = app
                .client
                .get(app.url("/api/v1/staff/feed"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/event-stream")
            );
            let hello = r.chunk().await.unwrap().unwrap();
            assert!(String::from_utf8_lossy(&hello).contains("event: ready"));
            r
        }
    };
    let mut clerk_feed = open("clerk@loket.example").await;
    let mut spv_feed = open("supervisor@loket.example").await;
    let mut other_feed = open("spv.disdukcapil@loket.example").await;
    // pbg has two clerks: clerk@ and the supervisor; two bookings at one time take both.
    let slot = app.slots("pbg", next_working_day(3)).await[0];
    for phone in ["081234567890", "081234567891"] {
        assert_eq!(app.book("pbg", slot, phone).await.status, 201);
    }
    // Last, events each feed must show, sent after those: the clerk completes their booking
    // (the clerk and the agency's supervisor see it) and a booking of another agency's service
    // (its supervisor sees it). Up to those, each feed has shown everything it was sent.
    let mine = app
        .scalar(&format!(
            "SELECT id::text FROM appointments WHERE staff_id = '{clerk_id}'"
        ))
        .await
        .expect("the clerk's booking");
    let clerk_token = app.login("clerk@loket.example").await;
    let done = act(&app, &clerk_token, &mine, "complete", json!({})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    let akta = app.slots("akta-kelahiran", next_working_day(3)).await[0];
    let other = app
        .post(
            "/api/v1/appointments",
            &json!({"service": "akta-kelahiran", "starts_at": akta.to_rfc3339(),
                    "citizen": {"name": "Siti", "phone": "081234567892", "nik": "3271995205900001"},
                    "consent": true}),
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.text);
    let other_id = other.body["appointment"]["id"].as_str().expect("id");
    let completed = |e: &Value| e["status"] == "completed";

    let seen = appointment_events_until(&mut clerk_feed, completed).await;
    let summary = |events: &[Value]| -> Vec<(String, String)> {
        events
            .iter()
            .map(|e| {
                (
                    e["staff"].as_str().unwrap_or("?").to_string(),
                    e["status"].as_str().unwrap_or("?").to_string(),
                )
            })
            .collect()
    };
    let booked = |who: &str| (who.to_string(), "booked".to_string());
    let completed_by = |who: &str| (who.to_string(), "completed".to_string());
    assert_eq!(
        summary(&seen),
        vec![booked(&clerk_id), completed_by(&clerk_id)],
        "the clerk sees their own booking only: {seen:?}"
    );
    for e in &seen {
        assert!(
            e.get("citizen").is_none() && !e.to_string().contains("+62"),
            "{e}"
        );
    }
    let agency = appointment_events_until(&mut spv_feed, completed).await;
    let mut staff = summary(&agency);
    staff[..2].sort();
    let mut both = vec![booked(&clerk_id), booked(&spv_id)];
    both.sort();
    both.push(completed_by(&clerk_id));
    assert_eq!(staff, both, "the supervisor sees the agency: {agency:?}");
    let theirs = appointment_events_until(&mut other_feed, |e| e["appointment"] == other_id).await;
    assert_eq!(
        theirs.len(),
        1,
        "another agency's supervisor sees only their agency's booking: {theirs:?}"
    );
}
