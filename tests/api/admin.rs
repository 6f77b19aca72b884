//! Administration: agencies and services (admin everywhere, supervisors for their own agency),
//! reports (volume, no-show rate, IKM), and the audit trail of non-appointment changes.

use serde_json::json;

use crate::helpers::{next_working_day, spawn_app};

async fn patch(
    app: &crate::helpers::TestApp,
    path: &str,
    token: &str,
    body: serde_json::Value,
) -> crate::helpers::Resp {
    crate::helpers::resp(
        app.client
            .patch(app.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn only_the_admin_adds_agencies_and_slugs_are_unique() {
    let app = spawn_app().await;
    let admin = app.login("admin@loket.example").await;
    let body = json!({"slug": "dishub", "name": "Dinas Perhubungan", "name_en": "Transport Office", "kind": "city"});
    let clerk = app.login("clerk@loket.example").await;
    assert_eq!(
        app.post_bearer("/api/v1/admin/agencies", &clerk, &body)
            .await
            .status,
        403
    );
    let r = app
        .post_bearer("/api/v1/admin/agencies", &admin, &body)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["slug"], "dishub");
    let again = app
        .post_bearer("/api/v1/admin/agencies", &admin, &body)
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["error"], "slug_taken");
    let bad = app
        .post_bearer(
            "/api/v1/admin/agencies",
            &admin,
            &json!({"slug": "Bad Slug!", "name": "", "kind": "x"}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(app.get("/api/v1/agencies").await.text.contains("dishub"));
    assert_eq!(
        app.scalar("SELECT kind FROM audit_events WHERE subject = 'agency:dishub'")
            .await
            .as_deref(),
        Some("agency_added")
    );
}

#[tokio::test]
async fn english_requirements_and_former_names_are_edited_with_the_catalogue() {
    let app = spawn_app().await;
    let spv = app.login("supervisor@loket.example").await;
    let r = patch(
        &app,
        "/api/v1/admin/services/izin-reklame",
        &spv,
        json!({"requirements": ["KTP-el", "Desain reklame"],
               "requirements_en": ["Electronic ID card", "The billboard's design"],
               "former_names": ["izin reklame lama"]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let public = app.get("/api/v1/services/izin-reklame").await;
    assert_eq!(
        public.body["requirements_en"],
        json!(["Electronic ID card", "The billboard's design"])
    );
    assert_eq!(public.body["former_names"], json!(["izin reklame lama"]));
    // Searchable, and a result found through it says so.
    let found = app.get("/api/v1/services?q=lama").await;
    let hit = found
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == "izin-reklame")
        .cloned()
        .unwrap_or_else(|| panic!("{}", found.text));
    assert_eq!(hit["formerly"], "izin reklame lama");
    // New Indonesian requirements without English ones: the old translation no longer fits.
    let r = patch(
        &app,
        "/api/v1/admin/services/izin-reklame",
        &spv,
        json!({"requirements": ["KTP-el", "Desain reklame", "Foto lokasi"]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["requirements_en"], json!([]));
    let bad = patch(
        &app,
        "/api/v1/admin/services/izin-reklame",
        &spv,
        json!({"requirements_en": [" "], "former_names": ["x".repeat(501)]}),
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(bad.body["fields"]["requirements_en"], "invalid");
    assert_eq!(bad.body["fields"]["former_names"], "invalid");
}

#[tokio::test]
async fn a_supervisor_edits_their_agencys_services_and_the_catalogue_follows() {
    let app = spawn_app().await;
    let spv = app.login("supervisor@loket.example").await;
    // Their own agency: create, then change.
    let created = app
        .post_bearer(
            "/api/v1/admin/services",
            &spv,
            &json!({"slug": "izin-uji", "agency": "dpmptsp", "name": "Izin Uji", "name_en": "Test permit",
                    "duration_minutes": 20, "buffer_minutes": 5, "requirements": ["KTP"], "aliases": ["UJI"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["active"], true);
    assert!(
        app.get("/api/v1/services?q=uji")
            .await
            .text
            .contains("izin-uji")
    );
    // Another agency's: refused.
    let other = app
        .post_bearer(
            "/api/v1/admin/services",
            &spv,
            &json!({"slug": "x-uji", "agency": "disdukcapil", "name": "X", "name_en": "X", "duration_minutes": 20}),
        )
        .await;
    assert_eq!(other.status, 403);
    assert_eq!(
        patch(
            &app,
            "/api/v1/admin/services/akta-kelahiran",
            &spv,
            json!({"active": false})
        )
        .await
        .status,
        404
    );
    // A longer duration changes the free times; deactivating hides the service.
    let day = next_working_day(3);
    let before_slots = app.slots("pbg", day).await;
    let before = before_slots.len();
    let app_slot = before_slots[0];
    let longer = patch(
        &app,
        "/api/v1/admin/services/pbg",
        &spv,
        json!({"duration_minutes": 60}),
    )
    .await;
    assert_eq!(longer.status, 200, "{}", longer.text);
    assert_eq!(longer.body["duration_minutes"], 60);
    let after = app.slots("pbg", day).await.len();
    assert!(after < before, "{after} slots after, {before} before");
    let off = patch(
        &app,
        "/api/v1/admin/services/pbg",
        &spv,
        json!({"active": false}),
    )
    .await;
    assert_eq!(off.status, 200);
    assert_eq!(app.get("/api/v1/services/pbg").await.status, 404);
    // Slots and booking read the service from the in-memory directory: the write emptied it.
    assert_eq!(app.get("/api/v1/services/pbg/slots").await.status, 404);
    let refused = app.book("pbg", app_slot, "081233334444").await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.body["fields"]["service"], "unknown");
    assert!(!app.get("/api/v1/services").await.text.contains("\"pbg\""));
    let bad = patch(
        &app,
        "/api/v1/admin/services/pbg",
        &spv,
        json!({"duration_minutes": 1000}),
    )
    .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["fields"]["duration_minutes"], "out_of_range");
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_events WHERE subject = 'service:pbg'")
            .await
            .as_deref(),
        Some("2")
    );
    let clerk = app.login("clerk@loket.example").await;
    assert_eq!(
        patch(
            &app,
            "/api/v1/admin/services/pbg",
            &clerk,
            json!({"active": true})
        )
        .await
        .status,
        403
    );
}

#[tokio::test]
async fn reports_count_outcomes_and_compute_the_ikm() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slots = app.slots("pbg", day).await;
    let mut ids = vec![];
    let mut tokens = vec![];
    for (i, s) in slots.iter().take(3).enumerate() {
        let r = app.book("pbg", *s, &format!("08131234560{i}")).await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(r.body["appointment"]["id"].as_str().unwrap().to_string());
        tokens.push(r.body["token"].as_str().unwrap().to_string());
    }
    let admin = app.login("admin@loket.example").await;
    let complete = |id: &str| format!("/api/v1/staff/appointments/{id}/complete");
    assert_eq!(
        app.post_bearer(&complete(&ids[0]), &admin, &json!({}))
            .await
            .status,
        200
    );
    assert_eq!(
        app.post_bearer(&complete(&ids[1]), &admin, &json!({}))
            .await
            .status,
        200
    );
    app.started_ago(&ids[2], 20).await;
    assert_eq!(
        app.post_bearer(
            &format!("/api/v1/staff/appointments/{}/no-show", ids[2]),
            &admin,
            &json!({})
        )
        .await
        .status,
        200
    );
    for (t, a) in [(&tokens[0], [4; 9]), (&tokens[1], [3; 9])] {
        let r = app
            .post_bearer(
                "/api/v1/appointments/current/survey",
                t,
                &json!({"answers": a}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    // From ten days back: the no-show now lies today (it had to start before it could be one).
    let from = day - chrono::Duration::days(10);
    let r = app
        .get_bearer(
            &format!("/api/v1/admin/reports?from={from}&to={day}"),
            &admin,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let row = r.body["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agency"] == "dpmptsp")
        .unwrap()
        .clone();
    assert_eq!(row["appointments"]["completed"], 2);
    assert_eq!(row["appointments"]["no_show"], 1);
    assert_eq!(row["total"], 3);
    assert!((row["no_show_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(row["ikm"]["responses"], 2);
    assert_eq!(row["ikm"]["score"], 87.5);
    assert_eq!(row["ikm"]["grade"], "B");
    assert_eq!(r.body["elements"].as_array().unwrap().len(), 9);
    // A supervisor sees only their agency; another agency's supervisor sees none of it.
    // (Their agency has a booking that day too, so their report is not empty by luck.)
    let akta = app.slots("akta-kelahiran", day).await[0];
    let theirs_booked = app
        .post(
            "/api/v1/appointments",
            &json!({"service": "akta-kelahiran", "starts_at": akta.to_rfc3339(),
                    "citizen": {"name": "Siti", "phone": "081312345699", "nik": "3271995205900001"},
                    "consent": true}),
        )
        .await;
    assert_eq!(theirs_booked.status, 201, "{}", theirs_booked.text);
    let other = app.login("spv.disdukcapil@loket.example").await;
    let theirs = app
        .get_bearer(
            &format!("/api/v1/admin/reports?from={day}&to={day}"),
            &other,
        )
        .await;
    assert_eq!(theirs.status, 200);
    let agencies: Vec<&serde_json::Value> = theirs.body["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["agency"])
        .collect();
    assert_eq!(agencies, vec!["disdukcapil"], "{}", theirs.text);
    let forbidden = app
        .get_bearer(
            &format!("/api/v1/admin/reports?agency=dpmptsp&from={day}&to={day}"),
            &other,
        )
        .await;
    assert_eq!(forbidden.status, 403);
    let clerk = app.login("clerk@loket.example").await;
    assert_eq!(
        app.get_bearer("/api/v1/admin/reports", &clerk).await.status,
        403
    );
    let bad = app
        .get_bearer("/api/v1/admin/reports?from=2026-02-30", &admin)
        .await;
    assert_eq!(bad.status, 422);
}

#[tokio::test]
async fn hours_leave_holidays_accounts_and_logout_leave_an_audit_trail() {
    let app = spawn_app().await;
    let clerk = app.login("clerk@loket.example").await;
    let clerk_id = app.staff_id("clerk@loket.example").await;
    let hours = app
        .put_bearer(
            "/api/v1/staff/hours",
            &clerk,
            &json!({"intervals": [{"weekday": 1, "starts": "08:00", "ends": "12:00"}]}),
        )
        .await;
    assert_eq!(hours.status, 200, "{}", hours.text);
    let leave = app
        .post_bearer(
            "/api/v1/staff/closures",
            &clerk,
            &json!({"starts_at": "2030-01-02T01:00:00Z", "ends_at": "2030-01-02T09:00:00Z", "reason": "Cuti"}),
        )
        .await;
    assert_eq!(leave.status, 201, "{}", leave.text);
    let id = leave.body["id"].as_str().unwrap();
    assert_eq!(
        app.delete_bearer(&format!("/api/v1/staff/closures/{id}"), &clerk)
            .await
            .status,
        204
    );
    assert_eq!(
        app.delete_bearer("/api/v1/staff/session", &clerk)
            .await
            .status,
        204
    );
    let kinds = app
        .scalar(&format!(
            "SELECT string_agg(kind, ',' ORDER BY id) FROM audit_events WHERE subject = 'staff:{clerk_id}'"
        ))
        .await;
    assert_eq!(
        kinds.as_deref(),
        Some("hours_replaced,leave_added,leave_removed,sessions_ended")
    );
    let admin = app.login("admin@loket.example").await;
    let created = app
        .post_bearer(
            "/api/v1/admin/staff",
            &admin,
            &json!({"email": "baru@loket.example", "name": "Petugas Baru", "role": "clerk", "agency": "bapenda", "password": "panjang-sekali-123"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_events WHERE kind = 'staff_created'")
            .await
            .as_deref(),
        Some("1")
    );
}
