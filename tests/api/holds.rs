//! Held bookings (issue 13 §3, DESIGN §9 "Confirming a booking"): a booking waits for the code
//! sent to its phone, against touts holding slots with made-up numbers. Real Loket, real
//! Postgres, and the test's own WhatsApp Cloud API and SMS gateway (`providers`) where a code
//! must arrive; without them (a demo), the code is read off the admin's Outbox page.

use chrono::{DateTime, Duration, Utc};
use loket::domain::hold::Confirmation;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, next_working_day, spawn_app, spawn_app_with};
use crate::providers::{Provider, until, with_providers};

/// A Loket sending through the test's providers, with the setting left at its default (`auto`:
/// on, as a channel to phones is configured).
async fn with_whatsapp() -> (Provider, TestApp) {
    let provider = Provider::start().await;
    let app = spawn_app_with(|s| {
        with_providers(s, &provider, None);
        s.booking_confirmation = Confirmation::Auto;
    })
    .await;
    (provider, app)
}

/// A Loket holding bookings with no channel configured: the demo's way.
async fn without_channels(change: impl FnOnce(&mut loket::config::Settings)) -> TestApp {
    spawn_app_with(|s| {
        s.booking_confirmation = Confirmation::Otp;
        crate::providers::quick(s);
        change(s);
    })
    .await
}

fn id_of(body: &Value) -> String {
    body["appointment"]["id"].as_str().expect("id").to_string()
}

fn token_of(body: &Value) -> String {
    body["token"].as_str().expect("token").to_string()
}

/// Books `slot` of `service` for `phone` and expects 201.
async fn hold(app: &TestApp, service: &str, slot: DateTime<Utc>, phone: &str) -> Value {
    let r = app.book(service, slot, phone).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

async fn confirm(app: &TestApp, token: &str, otp: &str) -> Resp {
    app.post_bearer(
        "/api/v1/appointments/current/confirm",
        token,
        &json!({"otp": otp}),
    )
    .await
}

/// The codes WhatsApp received for `phone` (E.164 without the plus), oldest first.
fn codes_for(provider: &Provider, phone: &str) -> Vec<String> {
    provider
        .whatsapp()
        .into_iter()
        .filter(|m| m["template"]["name"] == "loket_otp" && m["to"] == phone)
        .map(|m| {
            m["template"]["components"][0]["parameters"][0]["text"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

async fn nth_code(provider: &Provider, phone: &str, n: usize) -> String {
    until("the code by WhatsApp", || {
        let c = codes_for(provider, phone);
        (c.len() >= n).then(|| c[n - 1].clone())
    })
    .await
}

/// The code of a hold as the admin's Outbox page shows it where no channel could send it.
async fn code_on_outbox_page(app: &TestApp, code: &str) -> String {
    let admin = app.login("admin@loket.example").await;
    let mut found = None;
    for _ in 0..600 {
        let page = app.get_bearer("/api/v1/admin/outbox", &admin).await;
        assert_eq!(page.status, 200, "{}", page.text);
        found = page.body.as_array().and_then(|rows| {
            rows.iter()
                .filter(|r| r["kind"] == "otp" && r["status"] == "skipped")
                .filter_map(|r| r["text"].as_str())
                .find(|t| t.contains("Kode verifikasi"))
                .and_then(|t| {
                    t.split(|c: char| !c.is_ascii_digit())
                        .find(|w| w.len() == 6)
                        .map(String::from)
                })
        });
        if found.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    found.unwrap_or_else(|| panic!("no readable code for {code} on the Outbox page"))
}

fn wrong_code(right: &str) -> &'static str {
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
}

async fn status_of(app: &TestApp, id: &str) -> String {
    app.scalar(&format!(
        "SELECT status FROM appointments WHERE id = '{id}'"
    ))
    .await
    .unwrap_or_default()
}

/// Makes a hold's time (and its code's) run out now, as ten minutes of waiting would.
async fn run_out(app: &TestApp, id: &str) {
    app.exec(&format!(
        "UPDATE appointments SET hold_expires_at = now() - interval '1 second' WHERE id = '{id}'"
    ))
    .await;
    app.exec(&format!(
        "UPDATE booking_holds SET code_expires_at = now() - interval '1 second' \
         WHERE appointment_id = '{id}'"
    ))
    .await;
    // The slots endpoint's short cache, as a write on this node would.
    app.state.slot_cache.invalidate();
}

#[tokio::test]
async fn a_held_booking_is_confirmed_with_the_code_sent_by_whatsapp_and_only_then_told_booked() {
    let (provider, app) = with_whatsapp().await;
    let (service, _) = app.single_clerk_service().await;
    let day = next_working_day(3);
    let slot = app.slots(&service, day).await[0];
    let before = Utc::now();
    let booked = hold(&app, &service, slot, "081234567001").await;
    let a = &booked["appointment"];
    assert_eq!(a["status"], "held", "{booked}");
    let until_at: DateTime<Utc> = a["hold_expires_at"].as_str().unwrap().parse().unwrap();
    assert!(
        until_at >= before + Duration::minutes(10) - Duration::seconds(5)
            && until_at <= Utc::now() + Duration::minutes(10),
        "{until_at}"
    );
    assert_eq!(a["code_sent_to"], "+62812****7001");
    let id = id_of(&booked);
    let token = token_of(&booked);

    // The hold takes the time like a booking.
    assert!(!app.slots(&service, day).await.contains(&slot));
    let cur = app.get_bearer("/api/v1/appointments/current", &token).await;
    assert_eq!(cur.body["status"], "held");

    // The code arrives; the booking's own message and reminders wait.
    let code = nth_code(&provider, "6281234567001", 1).await;
    assert_eq!(code.len(), 6);
    let planned = app
        .scalar(&format!(
            "SELECT string_agg(DISTINCT kind, ',') FROM outbox WHERE subject_id = '{id}'"
        ))
        .await;
    assert_eq!(planned.as_deref(), Some("otp"));
    let room = app
        .post_bearer("/api/v1/rooms/ticket", &token, &json!({"appointment": id}))
        .await;
    assert_eq!(room.status, 409, "{}", room.text);
    assert_eq!(room.body["error"], "not_confirmed");

    // Not six digits: a field error, not a try.
    let r = confirm(&app, &token, "12ab").await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"], "validation_failed");
    assert!(r.body["fields"]["otp"].is_string(), "{}", r.text);
    let r = confirm(&app, &token, wrong_code(&code)).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"], "invalid_code");
    assert_eq!(r.body["tries_left"], 4, "{}", r.text);
    assert!(r.body["message"].as_str().unwrap().contains("4 tries left"));

    let r = confirm(&app, &token, &format!(" {code} ")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "booked");
    assert!(r.body.get("hold_expires_at").is_none());
    // Now the citizen is told, by the booking's own message.
    provider
        .until_whatsapp("the booking's confirmation", |m| {
            m.iter()
                .any(|m| m["template"]["name"] == "loket_booked" && m["to"] == "6281234567001")
        })
        .await;
    // A second click answers the same.
    let again = confirm(&app, &token, &code).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["status"], "booked");
    assert_eq!(app.events(&id).await, "held@citizen,confirmed@citizen");
    // A code that went out through WhatsApp is never shown on the Outbox page.
    let admin = app.login("admin@loket.example").await;
    let page = app.get_bearer("/api/v1/admin/outbox", &admin).await;
    let otp_row = page
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "otp" && r["channel"] == "whatsapp")
        .cloned()
        .expect("the code's row");
    let text = otp_row["text"].as_str().unwrap();
    assert!(text.contains("••••••") && !text.contains(&code), "{text}");
}

#[tokio::test]
async fn five_wrong_codes_release_the_hold_and_free_the_time() {
    let app = without_channels(|_| {}).await;
    let (service, _) = app.single_clerk_service().await;
    let day = next_working_day(3);
    let slot = app.slots(&service, day).await[0];
    let booked = hold(&app, &service, slot, "081234567002").await;
    let (id, token) = (id_of(&booked), token_of(&booked));
    // No channel: the demo reads the code off the Outbox page (development only).
    let code = code_on_outbox_page(&app, booked["appointment"]["code"].as_str().unwrap()).await;
    let wrong = wrong_code(&code);
    for left in (1..=4).rev() {
        let r = confirm(&app, &token, wrong).await;
        assert_eq!(r.status, 422, "{}", r.text);
        assert_eq!(r.body["error"], "invalid_code");
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{left} tries left")),
            "{}",
            r.text
        );
    }
    let r = confirm(&app, &token, wrong).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "too_many_tries");
    assert_eq!(status_of(&app, &id).await, "cancelled");
    // The right code no longer helps, and the time is free again.
    let r = confirm(&app, &token, &code).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"], "too_many_tries");
    app.state.slot_cache.invalidate();
    assert!(app.slots(&service, day).await.contains(&slot));
    assert!(
        app.events(&id)
            .await
            .ends_with("hold_too_many_tries@citizen"),
        "{}",
        app.events(&id).await
    );
}

#[tokio::test]
async fn an_expired_hold_frees_its_time_before_the_reaper_and_the_reaper_ends_the_rest() {
    // The node's own reaper looks once at start and then not within the test: the reaps below
    // are the only ones, so "the row is still held" and "ended once" are about them (with the
    // default 15 s, a busy CI run once saw the background reaper end the hold first).
    let app = without_channels(|s| s.hold_reap_seconds = 3600).await;
    let (service, _) = app.single_clerk_service().await;
    let day = next_working_day(3);
    let slots = app.slots(&service, day).await;
    let (slot, other) = (slots[0], slots[1]);
    let first = hold(&app, &service, slot, "081234567003").await;
    let first_id = id_of(&first);
    assert!(!app.slots(&service, day).await.contains(&slot));

    // Its time runs out: the slot is offered at once, though the row is still `held`.
    run_out(&app, &first_id).await;
    assert_eq!(status_of(&app, &first_id).await, "held");
    assert!(app.slots(&service, day).await.contains(&slot));
    // And another citizen can take it: the booking ends the hold in its way.
    let second = hold(&app, &service, slot, "081234567004").await;
    assert_eq!(second["appointment"]["status"], "held");
    assert_eq!(status_of(&app, &first_id).await, "cancelled");
    assert_eq!(
        app.events(&first_id).await,
        "held@citizen,hold_expired@system"
    );
    let r = confirm(&app, &token_of(&first), "123456").await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "hold_expired");

    // One nobody wants back is ended by the reaper (which any node may run at once).
    let third = hold(&app, &service, other, "081234567005").await;
    let third_id = id_of(&third);
    run_out(&app, &third_id).await;
    let ctx = &app.state.ctx;
    let (a, b) = tokio::join!(
        loket::booking::hold::reap(ctx),
        loket::booking::hold::reap(ctx)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1, "ended once, by one of them");
    assert_eq!(status_of(&app, &third_id).await, "cancelled");
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM outbox WHERE subject_id = '{third_id}' AND status = 'pending'"
        ))
        .await
        .as_deref(),
        Some("0")
    );
    let r = confirm(&app, &token_of(&third), "123456").await;
    assert_eq!(r.body["error"], "hold_expired");
    // The second citizen's hold is untouched.
    assert_eq!(status_of(&app, &id_of(&second)).await, "held");
}

#[tokio::test]
async fn holds_count_toward_the_phone_and_nik_limits_until_their_time_is_up() {
    let app = without_channels(|s| {
        s.max_active_bookings = 2;
        s.max_active_bookings_per_nik = 2;
    })
    .await;
    let (service, _) = app.single_clerk_service().await;
    let day = next_working_day(3);
    let slots = app.slots(&service, day).await;
    let a = hold(&app, &service, slots[0], "081234567006").await;
    hold(&app, &service, slots[1], "081234567006").await;
    let r = app.book(&service, slots[2], "081234567006").await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "too_many_active_bookings");
    // A hold past its time no longer counts, reaper or not.
    run_out(&app, &id_of(&a)).await;
    let r = app.book(&service, slots[2], "081234567006").await;
    assert_eq!(r.status, 201, "{}", r.text);

    // The NIK: two holds under one NIK with two phones, the third refused.
    let nik_service = "perekaman-ktp-el";
    let nday = next_working_day(4);
    let nslots = app.slots(nik_service, nday).await;
    for (i, phone) in ["081234567007", "081234567008", "081234567009"]
        .iter()
        .enumerate()
    {
        let r = app
            .post(
                "/api/v1/appointments",
                &json!({
                    "service": nik_service,
                    "starts_at": nslots[i].to_rfc3339(),
                    "citizen": {"name": "Siti Rahma", "phone": phone, "nik": "3271014501900003"},
                    "consent": true,
                }),
            )
            .await;
        if i < 2 {
            assert_eq!(r.status, 201, "{}", r.text);
            assert_eq!(r.body["appointment"]["status"], "held");
        } else {
            assert_eq!(r.status, 409, "{}", r.text);
            assert_eq!(r.body["error"], "too_many_active_bookings_for_nik");
        }
    }
}

#[tokio::test]
async fn another_code_replaces_the_first_waits_a_minute_and_is_limited() {
    let (provider, app) = with_whatsapp().await;
    let (service, _) = app.single_clerk_service().await;
    let slot = app.slots(&service, next_working_day(3)).await[0];
    let booked = hold(&app, &service, slot, "081234567010").await;
    let (id, token) = (id_of(&booked), token_of(&booked));
    let first = nth_code(&provider, "6281234567010", 1).await;
    let empty = json!({});
    let resend = || {
        app.post_bearer(
            "/api/v1/appointments/current/confirm/resend",
            &token,
            &empty,
        )
    };
    let r = resend().await;
    assert_eq!(r.status, 429, "{}", r.text);
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");

    // A minute later (as the clock would have it).
    let back = "UPDATE booking_holds SET last_sent_at = now() - interval '61 seconds'";
    app.exec(&format!("{back} WHERE appointment_id = '{id}'"))
        .await;
    let r = resend().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["resends_left"], 2);
    assert_eq!(
        r.body["hold_expires_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        booked["appointment"]["hold_expires_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        "asking again does not extend the hold"
    );
    let second = nth_code(&provider, "6281234567010", 2).await;
    if second != first {
        let r = confirm(&app, &token, &first).await;
        assert_eq!(
            r.body["error"], "invalid_code",
            "the old code stopped working"
        );
    }
    // The codes per hold are limited.
    app.exec(&format!("{back}, sends = 4 WHERE appointment_id = '{id}'"))
        .await;
    let r = resend().await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "too_many_resends");
    let r = confirm(&app, &token, &second).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "booked");
    let r = resend().await;
    assert_eq!(r.body["error"], "not_held");
}

#[tokio::test]
async fn a_cancelled_hold_is_not_told_cancelled_and_cannot_be_confirmed() {
    let (provider, app) = with_whatsapp().await;
    let (service, _) = app.single_clerk_service().await;
    let slot = app.slots(&service, next_working_day(3)).await[0];
    let booked = hold(&app, &service, slot, "081234567011").await;
    let (id, token) = (id_of(&booked), token_of(&booked));
    let code = nth_code(&provider, "6281234567011", 1).await;
    let r = app
        .post_bearer("/api/v1/appointments/current/cancel", &token, &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "cancelled");
    let r = confirm(&app, &token, &code).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"], "not_held");
    let kinds = app
        .scalar(&format!(
            "SELECT string_agg(DISTINCT kind, ',') FROM outbox WHERE subject_id = '{id}'"
        ))
        .await;
    assert_eq!(kinds.as_deref(), Some("otp"), "no `cancelled` message");
}

#[tokio::test]
async fn with_confirmation_off_a_booking_is_booked_at_once_and_has_nothing_to_confirm() {
    // The harness's default (`off`), and `auto` without a channel to phones.
    for app in [
        spawn_app().await,
        spawn_app_with(|s| s.booking_confirmation = Confirmation::Auto).await,
    ] {
        let (token, body) = app.book_first("pbg", "081234567012").await;
        assert_eq!(body["appointment"]["status"], "booked");
        assert!(body["appointment"].get("hold_expires_at").is_none());
        let r = confirm(&app, &token, "123456").await;
        assert_eq!(r.status, 409, "{}", r.text);
        assert_eq!(r.body["error"], "not_held");
        assert_eq!(app.events(&id_of(&body)).await, "booked@citizen");
    }
}

#[tokio::test]
async fn the_codes_message_promises_only_the_minutes_the_hold_has() {
    // A 3-minute hold: its code works 3 minutes, not the 10 a code may live, and says so.
    let app = without_channels(|s| s.hold_minutes = 3).await;
    let (service, _) = app.single_clerk_service().await;
    let slot = app.slots(&service, next_working_day(3)).await[0];
    hold(&app, &service, slot, "081234567011").await;
    let admin = app.login("admin@loket.example").await;
    let mut text = None;
    for _ in 0..600 {
        let page = app.get_bearer("/api/v1/admin/outbox", &admin).await;
        assert_eq!(page.status, 200, "{}", page.text);
        text = page.body.as_array().and_then(|rows| {
            rows.iter()
                .filter(|r| r["kind"] == "otp")
                .find_map(|r| r["text"].as_str().map(String::from))
        });
        if text.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let text = text.expect("the code's message on the Outbox page");
    assert!(text.contains("Berlaku 3 menit."), "{text}");
}

#[tokio::test]
async fn a_reschedule_takes_the_time_of_an_expired_hold_at_once() {
    // No reaper within the test: the reschedule itself must end the hold in its way, as a
    // booking does (the free times show that time free the moment the hold expires).
    let app = without_channels(|s| s.hold_reap_seconds = 3600).await;
    let (service, _) = app.single_clerk_service().await;
    let day = next_working_day(3);
    let slots = app.slots(&service, day).await;
    let mine = hold(&app, &service, slots[0], "081234567012").await;
    let code = code_on_outbox_page(&app, mine["appointment"]["code"].as_str().unwrap()).await;
    let r = confirm(&app, &token_of(&mine), &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let theirs = hold(&app, &service, slots[1], "081234567013").await;
    run_out(&app, &id_of(&theirs)).await;
    assert!(app.slots(&service, day).await.contains(&slots[1]));

    let moved = app
        .post_bearer(
            "/api/v1/appointments/current/reschedule",
            &token_of(&mine),
            &json!({"starts_at": slots[1].to_rfc3339()}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(status_of(&app, &id_of(&theirs)).await, "cancelled");
    assert_eq!(
        app.events(&id_of(&theirs)).await,
        "held@citizen,hold_expired@system"
    );
}
