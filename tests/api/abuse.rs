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
    // (A no-show is accepted only once the start plus the grace time has passed.)
    app.started_ago(&id, 15).await;
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

/// A POST with `X-Forwarded-For` set as a client behind (or pretending to be behind) a proxy.
async fn post_from(app: &TestApp, path: &str, forwarded: &str, body: &serde_json::Value) -> Resp {
    resp(
        app.client
            .post(app.url(path))
            .header("x-forwarded-for", forwarded)
            .json(body)
            .send()
            .await
            .expect("POST"),
    )
    .await
}

/// Behind a trusted proxy the client is the right-most address the proxy saw; whatever the
/// client wrote to the left of it changes nothing, so a fresh made-up address per request no
/// longer walks past the per-address limit. Untrusted peers' headers are ignored.
#[tokio::test]
async fn a_spoofed_forwarded_address_does_not_escape_the_per_address_limit() {
    for (name, trust) in [
        ("LOKET_TRUSTED_PROXIES", true),
        ("LOKET_TRUST_PROXY=1", false),
    ] {
        let app = crate::helpers::spawn_app_with(|s| {
            s.booking_rate_per_minute = 3;
            if trust {
                s.trusted_proxies = vec![loket::domain::net::Cidr::parse("127.0.0.0/8").unwrap()];
            } else {
                s.trust_peer_proxy = true;
            }
        })
        .await;
        let mut statuses = vec![];
        for i in 0..6 {
            let forwarded = format!("198.51.100.{i}, 203.0.113.7");
            let r = post_from(&app, "/api/v1/appointments", &forwarded, &json!({})).await;
            statuses.push(r.status.as_u16());
        }
        assert_eq!(statuses, vec![422, 422, 422, 429, 429, 429], "{name}");
        // Another real client (another right-most address) has its own allowance.
        let r = post_from(&app, "/api/v1/appointments", "203.0.113.8", &json!({})).await;
        assert_eq!(r.status, 422, "{name}");
    }
    // Without a trusted proxy the header is ignored: the peer is the client.
    let app = crate::helpers::spawn_app_with(|s| s.booking_rate_per_minute = 3).await;
    let mut statuses = vec![];
    for i in 0..4 {
        let r = post_from(
            &app,
            "/api/v1/appointments",
            &format!("203.0.113.{i}"),
            &json!({}),
        )
        .await;
        statuses.push(r.status.as_u16());
    }
    assert_eq!(statuses, vec![422, 422, 422, 429]);
}

async fn login_from(app: &TestApp, address: &str, password: &str) -> Resp {
    post_from(
        app,
        "/api/v1/staff/session",
        address,
        &json!({"email": "clerk@loket.example", "password": password}),
    )
    .await
}

/// Thirty wrong passwords from thirty addresses no longer lock the owner out: the owner's
/// right password from a new address passes after a short wait. One address guessing gets a
/// growing pause; each wrong password is counted and audited.
#[tokio::test]
async fn a_password_spray_slows_guessing_without_locking_the_owner_out() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.trusted_proxies = vec![loket::domain::net::Cidr::parse("127.0.0.0/8").unwrap()];
    })
    .await;
    let mut spray = vec![];
    for i in 0..30 {
        let r = login_from(&app, &format!("198.51.100.{i}"), "tebak-tebakan-salah").await;
        spray.push(r.status.as_u16());
    }
    assert!(spray.iter().all(|s| *s == 401 || *s == 429), "{spray:?}");
    assert!(spray[..10].iter().all(|s| *s == 401), "{spray:?}");
    let owner = login_from(&app, "203.0.113.50", crate::helpers::DEMO_PASSWORD).await;
    assert_eq!(
        owner.status, 200,
        "the owner is not locked out: {}",
        owner.text
    );

    // One address: five wrong tries, then a pause that even the right password waits out.
    let mut one = vec![];
    for _ in 0..6 {
        one.push(login_from(&app, "198.51.100.200", "tebak-tebakan-salah").await);
    }
    assert!(one[..5].iter().all(|r| r.status == 401));
    assert_eq!(one[5].status, 429);
    let retry: u64 = one[5].headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((20..=30).contains(&retry), "{retry}");
    assert_eq!(
        login_from(&app, "198.51.100.200", crate::helpers::DEMO_PASSWORD)
            .await
            .status,
        429
    );

    let clerk = app.staff_id("clerk@loket.example").await;
    let audited: i64 = app
        .scalar(&format!(
            "SELECT count(*) FROM audit_events WHERE kind = 'login_failed' AND subject = 'staff:{clerk}'"
        ))
        .await
        .unwrap()
        .parse()
        .unwrap();
    let wrong = spray.iter().filter(|s| **s == 401).count() + 5;
    assert_eq!(audited, wrong as i64);
    let metrics = app.get("/metrics").await.text;
    assert!(
        metrics.contains(&format!("loket_logins_failed_total {wrong}")),
        "{metrics}"
    );
    assert!(
        !metrics.contains("loket_logins_throttled_total 0\n"),
        "{metrics}"
    );
}

/// Asking for a room ticket again before using it hands out the same one; asking without end
/// is limited.
#[tokio::test]
async fn room_tickets_are_reused_until_redeemed_and_rate_limited() {
    let app = crate::ws::open_app().await;
    let (citizen, id, _) = crate::ws::booking(&app, "081234567821").await;
    let first = app.ticket(&citizen, None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let mut statuses = vec![];
    for _ in 0..40 {
        let again = app.ticket(&citizen, None).await;
        if again.status == 200 {
            assert_eq!(again.body["ticket"], first.body["ticket"]);
        }
        statuses.push(again.status.as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM room_tickets WHERE appointment_id = '{id}'"
        ))
        .await
        .as_deref(),
        Some("1"),
        "one row however often it was asked for"
    );
}

/// A tout with one NIK and made-up phone numbers holds no more than a citizen with one phone;
/// and one phone or NIK books a service once per day.
#[tokio::test]
async fn one_nik_and_one_service_day_are_limited_beside_one_phone() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.max_active_bookings = 2;
        s.max_active_bookings_per_nik = 2;
        s.max_bookings_per_service_day = 1;
    })
    .await;
    let day = crate::helpers::next_working_day(3);
    let day2 = crate::helpers::next_working_day(4);
    let nik = "3271995205900001";
    let book =
        |service: &str, slot: chrono::DateTime<chrono::Utc>, phone: &str, nik: Option<&str>| {
            json!({"service": service, "starts_at": slot.to_rfc3339(), "consent": true,
               "citizen": {"name": "Budi Santoso", "phone": phone, "nik": nik}})
        };
    let akta = app.slots("akta-kelahiran", day).await;
    let akta2 = app.slots("akta-kelahiran", day2).await;
    let kk = app.slots("kartu-keluarga", day2).await;
    // Same NIK, another phone, same service and day: refused.
    let r = app
        .post(
            "/api/v1/appointments",
            &book("akta-kelahiran", akta[0], "081200000101", Some(nik)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app
        .post(
            "/api/v1/appointments",
            &book("akta-kelahiran", akta[1], "081200000102", Some(nik)),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "already_booked_that_day");
    // Another day is fine; a third active booking for the NIK is not, whatever the phone.
    let r = app
        .post(
            "/api/v1/appointments",
            &book("akta-kelahiran", akta2[0], "081200000103", Some(nik)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app
        .post(
            "/api/v1/appointments",
            &book("kartu-keluarga", kk[0], "081200000104", Some(nik)),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "too_many_active_bookings_for_nik");
    // One phone, one service, one day (no NIK needed for pbg).
    let pbg = app.slots("pbg", day).await;
    let r = app
        .post(
            "/api/v1/appointments",
            &book("pbg", pbg[0], "081200000105", None),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app
        .post(
            "/api/v1/appointments",
            &book("pbg", pbg[1], "081200000105", None),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "already_booked_that_day");
}
