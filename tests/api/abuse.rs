//! What an attacker or a tout tries from outside, and what stops them: a cross-site request
//! riding the staff cookie, names that render differently from what they are, guessable
//! passwords, staff ids probed across agencies, spoofed client addresses, password spraying,
//! ticket minting and slot hoarding.

use serde_json::json;

use crate::helpers::{Resp, TestApp, resp, spawn_app};

/// A POST carrying only the cookie the client's store holds (no Bearer), with this `Origin`.
async fn cookie_post(app: &TestApp, path: &str, origin: Option<&str>) -> Resp {
    let mut req = app.client.post(app.url(path)).json(&json!({}));
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    resp(req.send().await.expect("POST")).await
}

#[tokio::test]
async fn a_cookie_signed_state_change_must_come_from_loket_s_own_origin() {
    let app = spawn_app().await;
    let (_, body) = app.book_first("pbg", "081234567801").await;
    let id = body["appointment"]["id"].as_str().unwrap().to_string();
    let clerk = app
        .clerk_of(body["appointment"]["code"].as_str().unwrap())
        .await;
    // Signing in sets the session cookie in the client's store.
    app.login(&clerk).await;
    let path = format!("/api/v1/staff/appointments/{id}/no-show");
    for origin in [None, Some("https://evil.example"), Some("null")] {
        let r = cookie_post(&app, &path, origin).await;
        assert_eq!(r.status, 403, "{origin:?}: {}", r.text);
        assert_eq!(r.body["error"], "bad_origin");
    }
    let status = format!("SELECT status FROM appointments WHERE id = '{id}'");
    assert_eq!(app.scalar(&status).await.as_deref(), Some("booked"));
    // Reading with the cookie needs no Origin; Loket's own pages may write.
    assert_eq!(app.get("/api/v1/staff/me").await.status, 200);
    let own = app.address.clone();
    let r = cookie_post(&app, &path, Some(&own)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.scalar(&status).await.as_deref(), Some("no_show"));
}

#[tokio::test]
async fn names_with_bidi_overrides_or_mark_runs_are_refused_and_invisible_characters_dropped() {
    let app = spawn_app().await;
    let day = crate::helpers::next_working_day(3);
    let slots = app.slots("pbg", day).await;
    let book = |name: &str, slot: usize| {
        json!({"service": "pbg", "starts_at": slots[slot].to_rfc3339(), "consent": true,
               "citizen": {"name": name, "phone": format!("08123456780{slot}")}})
    };
    for bad in [
        "Budi \u{202E}amsuK",
        "Budi \u{2066}Santoso\u{2069}",
        "Bu\u{0301}\u{0302}\u{0303}\u{0304}di",
    ] {
        let r = app.post("/api/v1/appointments", &book(bad, 0)).await;
        assert_eq!(r.status, 422, "{bad:?}: {}", r.text);
        assert_eq!(r.body["fields"]["citizen.name"], "invalid_characters");
    }
    let r = app
        .post(
            "/api/v1/appointments",
            &book("Budi\u{200B} Santoso\u{FEFF}", 1),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let stored = app
        .scalar(&format!(
            "SELECT citizen_name FROM appointments WHERE id = '{}'",
            r.body["appointment"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stored.as_deref(), Some("Budi Santoso"));

    let admin = app.login("admin@loket.example").await;
    let r = app
        .post_bearer(
            "/api/v1/admin/staff",
            &admin,
            &json!({"email": "baru@loket.example", "name": "Petugas \u{202E}uraB",
                    "agency": "dpmptsp", "password": "kata-sandi-yang-panjang"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["fields"]["name"], "invalid_characters");
}

#[tokio::test]
async fn new_staff_passwords_must_be_more_than_long() {
    let app = spawn_app().await;
    let admin = app.login("admin@loket.example").await;
    let add = |password: &str| {
        json!({"email": "rahmat.api@loket.example", "name": "Rahmat Hidayat",
               "agency": "dpmptsp", "password": password})
    };
    for weak in [
        "1234567890",
        "qwertyuiop",
        "rahmathidayat",
        "passwordpassword",
    ] {
        let r = app
            .post_bearer("/api/v1/admin/staff", &admin, &add(weak))
            .await;
        assert_eq!(r.status, 422, "{weak}: {}", r.text);
        assert_eq!(r.body["fields"]["password"], "too_weak", "{weak}");
    }
    let r = app
        .post_bearer(
            "/api/v1/admin/staff",
            &admin,
            &add("kata-sandi-yang-panjang"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// A supervisor asking for a colleague of another agency hears the same as for a made-up id,
/// so the answers do not tell which ids are staff.
#[tokio::test]
async fn another_agency_s_staff_id_answers_like_an_unknown_one() {
    let app = spawn_app().await;
    let spv = app.login("supervisor@loket.example").await;
    let elsewhere = app.staff_id("nining.disdukcapil@loket.example").await;
    let made_up = uuid::Uuid::new_v4().to_string();
    let path = |id: &str| format!("/api/v1/staff/appointments?staff={id}");
    let a = app.get_bearer(&path(&elsewhere), &spv).await;
    let b = app.get_bearer(&path(&made_up), &spv).await;
    assert_eq!(a.status, 404, "{}", a.text);
    assert_eq!((a.status, a.text), (b.status, b.text));
    let colleague = app.staff_id("dewi.dpmptsp@loket.example").await;
    assert_eq!(app.get_bearer(&path(&colleague), &spv).await.status, 200);
}
