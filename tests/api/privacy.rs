//! Personal data kept only as long as needed: the retention job wipes finished appointments
//! past their time (and only those), an admin exports and erases one citizen's data, and the
//! audit trail records both without the phone or NIK it matched.

use chrono::Utc;
use serde_json::json;

use crate::helpers::{next_working_day, spawn_app};

const NIK: &str = "3271995205900001";

/// A booking of a NIK service: (appointment id, code).
async fn book_with_nik(app: &crate::helpers::TestApp, phone: &str) -> (String, String) {
    let day = next_working_day(3);
    let slot = app.slots("akta-kelahiran", day).await[0];
    let r = app
        .post(
            "/api/v1/appointments",
            &json!({"service": "akta-kelahiran", "starts_at": slot.to_rfc3339(),
                "citizen": {"name": "Siti Aminah", "phone": phone, "email": "siti@example.org", "nik": NIK},
                "consent": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    (
        r.body["appointment"]["id"].as_str().unwrap().to_string(),
        r.body["appointment"]["code"].as_str().unwrap().to_string(),
    )
}

/// Moves an appointment `days_ago` into the past with `status` (a finished one).
async fn age(app: &crate::helpers::TestApp, id: &str, status: &str, days_ago: i64) {
    app.exec(&format!(
        "UPDATE appointments SET status = '{status}',
             period = tstzrange(now() - interval '{days_ago} days',
                                now() - interval '{days_ago} days' + interval '30 minutes'),
             ends_at = now() - interval '{days_ago} days' + interval '20 minutes'
         WHERE id = '{id}'"
    ))
    .await;
}

#[tokio::test]
async fn retention_wipes_finished_appointments_past_their_time_and_nothing_else() {
    let app = spawn_app().await;
    let (old, _) = book_with_nik(&app, "081234560001").await;
    let (recent, _) = book_with_nik(&app, "081234560002").await;
    let (active, _) = book_with_nik(&app, "081234560003").await;
    age(&app, &old, "completed", 200).await;
    age(&app, &recent, "completed", 100).await;
    app.exec(&format!(
        "UPDATE appointments SET notes = 'Bawa KK asli' WHERE id = '{old}'"
    ))
    .await;
    let reported_before = app
        .scalar("SELECT count(*) FROM appointments WHERE status = 'completed'")
        .await;

    // The use-case runs without HTTP, as the CLI and the hourly job run it.
    let n = loket::privacy::erase_expired(&app.state.ctx, 180, Utc::now())
        .await
        .expect("retention");
    assert_eq!(n, 1, "only the appointment that ended over 180 days ago");
    let row = |id: String| {
        format!(
            "SELECT concat_ws('|', citizen_name, citizen_phone, coalesce(citizen_email, '-'),
                 coalesce(nik_masked, '-'), coalesce(encode(nik_cipher, 'hex'), '-'),
                 coalesce(encode(nik_hash, 'hex'), '-'), coalesce(notes, '-'),
                 (erased_at IS NOT NULL)::text) FROM appointments WHERE id = '{id}'"
        )
    };
    assert_eq!(
        app.scalar(&row(old.clone())).await.as_deref(),
        Some("(dihapus)|+6200000000|-|-|-|-|-|true")
    );
    for kept in [recent.clone(), active.clone()] {
        let r = app.scalar(&row(kept)).await.unwrap();
        assert!(r.starts_with("Siti Aminah|+62812345600"), "{r}");
        assert!(r.ends_with("|false"), "{r}");
    }
    // Its messages keep kind, channel and status, not the address or the text.
    let messages = |id: &str| {
        format!(
            "SELECT count(*) FROM outbox WHERE subject_id = '{id}'
                AND (address LIKE '%81234560%' OR preview IS NOT NULL OR params <> '{{}}'::jsonb)"
        )
    };
    // The booking's confirmation is in the outbox with its address (the demo has no provider,
    // so it is `skipped` with a preview once a worker saw it).
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) > 0 FROM outbox WHERE subject_id = '{recent}'"
        ))
        .await
        .as_deref(),
        Some("true")
    );
    assert_ne!(app.scalar(&messages(&recent)).await.as_deref(), Some("0"));
    assert_eq!(app.scalar(&messages(&old)).await.as_deref(), Some("0"));
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) > 0 FROM outbox WHERE subject_id = '{old}'"
        ))
        .await
        .as_deref(),
        Some("true"),
        "the wiped booking's messages are still counted"
    );
    // What reports need stays.
    assert_eq!(
        app.scalar("SELECT count(*) FROM appointments WHERE status = 'completed'")
            .await,
        reported_before
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT detail->>'reason' FROM appointment_events WHERE appointment_id = '{old}' AND kind = 'personal_data_erased'"
        ))
        .await
        .as_deref(),
        Some("retention")
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_events WHERE kind = 'retention_erased'")
            .await
            .as_deref(),
        Some("1")
    );
    // Again: nothing left to do.
    let again = loket::privacy::erase_expired(&app.state.ctx, 180, Utc::now())
        .await
        .unwrap();
    assert_eq!(again, 0);
}

#[tokio::test]
async fn an_admin_exports_and_erases_one_citizens_data_on_request() {
    let app = spawn_app().await;
    let phone = "081234560010";
    let (done, done_code) = book_with_nik(&app, phone).await;
    let (_, live_code) = book_with_nik(&app, phone).await;
    age(&app, &done, "completed", 3).await;
    let admin = app.login("admin@loket.example").await;
    let clerk = app.login("clerk@loket.example").await;

    // Admins only; a key is required and checked; nobody matching is a 404.
    let r = app
        .post_bearer(
            "/api/v1/admin/citizen-data/export",
            &clerk,
            &json!({"phone": phone}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = app
        .post_bearer("/api/v1/admin/citizen-data/export", &admin, &json!({}))
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["fields"]["phone"], "one_of_phone_nik_code_required");
    let r = app
        .post_bearer(
            "/api/v1/admin/citizen-data/export",
            &admin,
            &json!({"phone": "abc"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = app
        .post_bearer(
            "/api/v1/admin/citizen-data/export",
            &admin,
            &json!({"phone": "081299999999"}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"], "no_citizen_data");

    // By NIK (matched through its keyed hash): both bookings, masked, with their history.
    let r = app
        .post_bearer(
            "/api/v1/admin/citizen-data/export",
            &admin,
            &json!({"nik": NIK}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.body["appointments"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{}", r.text);
    assert!(list.iter().all(|a| a["name"] == "Siti Aminah"));
    assert!(list.iter().all(|a| a["nik_masked"] == "3271********0001"));
    assert!(list.iter().all(|a| a["events"][0]["kind"] == "booked"));
    assert!(!r.text.contains(NIK), "never the whole NIK");
    assert_eq!(
        r.headers.get("cache-control").map(|v| v.to_str().unwrap()),
        Some("no-store")
    );

    // Erase: the finished one is wiped, the live booking is listed and kept.
    let r = app
        .post_bearer(
            "/api/v1/admin/citizen-data/erase",
            &admin,
            &json!({"phone": phone}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["erased"], json!([done_code]));
    assert_eq!(r.body["still_active"], json!([live_code]));
    let r = app
        .post_bearer(
            "/api/v1/admin/citizen-data/export",
            &admin,
            &json!({"code": done_code}),
        )
        .await;
    assert_eq!(r.body["appointments"][0]["name"], "(dihapus)");
    assert!(r.body["appointments"][0]["erased_at"].is_string());
    assert!(r.body["appointments"][0]["nik_masked"].is_null());
    // The audit trail names the bookings and how they were matched, never the phone or NIK.
    let audit = app
        .scalar("SELECT string_agg(kind || ' ' || detail::text, '\n') FROM audit_events WHERE subject = 'citizen'")
        .await
        .unwrap();
    assert!(audit.contains("citizen_data_exported"), "{audit}");
    assert!(audit.contains("citizen_data_erased"), "{audit}");
    assert!(audit.contains(&done_code), "{audit}");
    assert!(
        !audit.contains("81234560010") && !audit.contains(NIK),
        "{audit}"
    );
}

#[tokio::test]
async fn retention_wipes_queue_numbers_of_long_ago_and_keeps_todays() {
    let app = spawn_app().await;
    for (seq, days_ago, phone) in [(1, 200, "+6281234560011"), (2, 0, "+6281234560012")] {
        app.exec(&format!(
            "INSERT INTO queue_tickets (id, agency_id, service_id, day, seq, mode, state,
                 citizen_name, citizen_phone, taken_at)
             SELECT gen_random_uuid(), s.agency_id, s.id, (now() - interval '{days_ago} days')::date,
                    {seq}, 'remote', 'cancelled', 'Budi Santoso', '{phone}',
                    now() - interval '{days_ago} days'
               FROM services s WHERE s.slug = 'akta-kelahiran'"
        ))
        .await;
    }
    loket::privacy::erase_expired(&app.state.ctx, 180, Utc::now())
        .await
        .expect("retention");
    let by_seq = |seq: i32| {
        format!(
            "SELECT concat_ws('|', citizen_name, citizen_phone) FROM queue_tickets WHERE seq = {seq}"
        )
    };
    assert_eq!(
        app.scalar(&by_seq(1)).await.as_deref(),
        Some("(dihapus)|+6200000000")
    );
    assert_eq!(
        app.scalar(&by_seq(2)).await.as_deref(),
        Some("Budi Santoso|+6281234560012")
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_events WHERE kind = 'retention_erased' AND subject = 'queue_tickets'")
            .await
            .as_deref(),
        Some("1")
    );
}
