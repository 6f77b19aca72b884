//! Who may see and do what: a citizen token opens its own appointment and nothing else; tokens
//! that are missing, forged, expired, garbled or of the wrong kind are refused; clerks see their
//! own work, supervisors their agency, the admin everything; staff sessions end at logout, log
//! in through argon2id with one answer for every wrong credential, are rate-limited, and ride
//! in an HttpOnly, SameSite=Strict cookie for the pages.

use base64::Engine;
use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{DEMO_PASSWORD, Resp, TestApp, next_working_day, spawn_app};

const CURRENT: &str = "/api/v1/appointments/current";

/// Every citizen endpoint, as (method, path, body).
fn citizen_endpoints() -> Vec<(&'static str, &'static str, Value)> {
    let later = (Utc::now() + Duration::days(5)).to_rfc3339();
    vec![
        ("GET", CURRENT, Value::Null),
        (
            "POST",
            "/api/v1/appointments/current/reschedule",
            json!({ "starts_at": later }),
        ),
        ("POST", "/api/v1/appointments/current/cancel", json!({})),
        ("GET", "/api/v1/appointments/current/ics", Value::Null),
        (
            "POST",
            "/api/v1/appointments/current/survey",
            json!({"answers": [4, 4, 4, 4, 4, 4, 4, 4, 4]}),
        ),
    ]
}

/// Staff endpoints that need a session, as (method, path, body).
fn staff_endpoints() -> Vec<(&'static str, String, Value)> {
    let id = Uuid::new_v4();
    vec![
        ("GET", "/api/v1/staff/me".into(), Value::Null),
        ("DELETE", "/api/v1/staff/session".into(), Value::Null),
        ("GET", "/api/v1/staff/team".into(), Value::Null),
        ("GET", "/api/v1/staff/feed".into(), Value::Null),
        ("GET", "/api/v1/staff/appointments".into(), Value::Null),
        (
            "POST",
            format!("/api/v1/staff/appointments/{id}/complete"),
            json!({}),
        ),
        (
            "POST",
            format!("/api/v1/staff/appointments/{id}/no-show"),
            json!({}),
        ),
        (
            "POST",
            format!("/api/v1/staff/appointments/{id}/cancel"),
            json!({}),
        ),
        (
            "POST",
            format!("/api/v1/staff/appointments/{id}/reassign"),
            json!({"staff": Uuid::new_v4()}),
        ),
        ("GET", "/api/v1/staff/hours".into(), Value::Null),
        (
            "PUT",
            "/api/v1/staff/hours".into(),
            json!({"intervals": []}),
        ),
        ("GET", "/api/v1/staff/closures".into(), Value::Null),
        (
            "POST",
            "/api/v1/staff/closures".into(),
            json!({"starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-02T00:00:00Z", "reason": "x"}),
        ),
        (
            "DELETE",
            format!("/api/v1/staff/closures/{id}"),
            Value::Null,
        ),
        ("GET", "/api/v1/admin/holidays".into(), Value::Null),
        (
            "POST",
            "/api/v1/admin/holidays".into(),
            json!({"starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-02T00:00:00Z", "reason": "x"}),
        ),
        (
            "DELETE",
            format!("/api/v1/admin/holidays/{id}"),
            Value::Null,
        ),
        (
            "POST",
            "/api/v1/admin/staff".into(),
            json!({"email": "x@loket.example", "name": "X", "agency": "dpmptsp", "password": "long-enough-password"}),
        ),
    ]
}

/// Sends a request, with `Authorization: <auth>` when given (through `client`, so a test can
/// pick one without the session cookie).
async fn call(
    app: &TestApp,
    client: &reqwest::Client,
    method: &str,
    path: &str,
    body: &Value,
    auth: Option<&str>,
) -> Resp {
    let url = app.url(path);
    let mut req = match method {
        "GET" => client.get(url),
        "POST" => client.post(url),
        "PUT" => client.put(url),
        "DELETE" => client.delete(url),
        other => panic!("method {other}"),
    };
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    if !body.is_null() {
        req = req.json(body);
    }
    crate::helpers::resp(req.send().await.expect("request")).await
}

fn no_cookies() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn sign(alg: Algorithm, key: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).expect("sign")
}

fn citizen_claims(sub: &str, aud: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({"sub": sub, "aud": aud, "iat": now, "exp": now + 3600})
}

/// Books one pbg appointment on the next working day; returns (token, appointment JSON).
async fn booking(app: &TestApp, slot_index: usize, phone: &str) -> (String, Value) {
    let day = next_working_day(3);
    let slot = app.slots("pbg", day).await[slot_index];
    let r = app.book("pbg", slot, phone).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (
        r.body["token"].as_str().unwrap().to_string(),
        r.body["appointment"].clone(),
    )
}

#[tokio::test]
async fn a_citizen_token_opens_only_its_own_appointment() {
    let app = spawn_app().await;
    let (token_a, a) = booking(&app, 0, "081211110001").await;
    let (token_b, b) = booking(&app, 2, "081211110002").await;
    let (id_a, id_b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let code_b = b["code"].as_str().unwrap();
    assert_eq!(app.get_bearer(CURRENT, &token_a).await.body["id"], id_a);
    assert_eq!(app.get_bearer(CURRENT, &token_b).await.body["id"], id_b);
    // There is no way to name another appointment: not by path, not by query.
    for path in [
        format!("{CURRENT}?id={id_b}"),
        format!("{CURRENT}?code={code_b}"),
        format!("{CURRENT}?appointment={id_b}"),
    ] {
        let r = app.get_bearer(&path, &token_a).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body["id"], id_a, "{path}");
        assert!(!r.text.contains(code_b));
    }
    for path in [
        format!("/api/v1/appointments/{id_b}"),
        format!("/api/v1/appointments/{code_b}"),
        format!("/api/v1/appointments/{id_b}/ics"),
        format!("/api/v1/appointments/{id_b}/cancel"),
    ] {
        let r = app.get_bearer(&path, &token_a).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert!(!r.text.contains(code_b));
        let p = app.post_bearer(&path, &token_a, &json!({})).await;
        assert!(
            p.status == 404 || p.status == 405,
            "{path}: {} {}",
            p.status,
            p.text
        );
        assert!(!p.text.contains(code_b));
    }
    let ics = app
        .get_bearer("/api/v1/appointments/current/ics", &token_a)
        .await;
    assert!(ics.text.contains(a["code"].as_str().unwrap()));
    assert!(!ics.text.contains(code_b) && !ics.text.contains(id_b));
    // A's token changes only A.
    let c = app
        .post_bearer(
            "/api/v1/appointments/current/cancel",
            &token_a,
            &json!({"id": id_b}),
        )
        .await;
    assert_eq!(c.status, 200);
    assert_eq!(c.body["id"], id_a);
    assert_eq!(
        app.get_bearer(CURRENT, &token_b).await.body["status"],
        "booked"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT status FROM appointments WHERE id = '{id_b}'"
        ))
        .await
        .as_deref(),
        Some("booked")
    );
}

#[tokio::test]
async fn citizen_endpoints_without_a_token_are_401_missing_token() {
    let app = spawn_app().await;
    let (_, a) = booking(&app, 0, "081211110001").await;
    let client = no_cookies();
    for (method, path, body) in citizen_endpoints() {
        for auth in [None, Some("Basic YWRtaW46YWRtaW4="), Some("Token abc")] {
            let r = call(&app, &client, method, path, &body, auth).await;
            assert_eq!(r.status, 401, "{method} {path} {auth:?}: {}", r.text);
            assert_eq!(r.body["error"], "missing_token", "{method} {path}");
        }
    }
    let id = a["id"].as_str().unwrap();
    assert_eq!(app.events(id).await, "booked@citizen", "nothing changed");
}

#[tokio::test]
async fn forged_expired_garbled_and_staff_tokens_are_401_invalid_token() {
    let app = spawn_app().await;
    let (good, a) = booking(&app, 0, "081211110001").await;
    let (_, b) = booking(&app, 2, "081211110002").await;
    let id = a["id"].as_str().unwrap();
    let keys = &app.state.keys;
    let staff = app.login("clerk@loket.example").await;
    let expired = loket::auth::tokens::citizen_token(
        keys,
        loket::domain::ids::AppointmentId(id.parse().unwrap()),
        Utc::now() - Duration::days(500),
    )
    .unwrap();
    // A's token with B's id pasted into the payload (signature still A's).
    let parts: Vec<&str> = good.split('.').collect();
    let tampered_payload = {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap();
        let mut claims: Value = serde_json::from_slice(&raw).unwrap();
        claims["sub"] = b["id"].clone();
        b64(&serde_json::to_vec(&claims).unwrap())
    };
    let tampered = format!("{}.{}.{}", parts[0], tampered_payload, parts[2]);
    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(citizen_claims(id, "loket-citizen").to_string().as_bytes())
    );
    let tokens: Vec<(&str, String)> = vec![
        (
            "forged: another secret",
            sign(
                Algorithm::HS256,
                b"not-the-loket-secret-not-the-loket-secret",
                &citizen_claims(id, "loket-citizen"),
            ),
        ),
        (
            "signed with the staff key",
            sign(
                Algorithm::HS256,
                &keys.staff_jwt,
                &citizen_claims(id, "loket-citizen"),
            ),
        ),
        (
            "right key, staff audience",
            sign(
                Algorithm::HS256,
                &keys.citizen_jwt,
                &citizen_claims(id, "loket-staff"),
            ),
        ),
        (
            "right key, another algorithm",
            sign(
                Algorithm::HS512,
                &keys.citizen_jwt,
                &citizen_claims(id, "loket-citizen"),
            ),
        ),
        (
            "right key, no expiry",
            sign(
                Algorithm::HS256,
                &keys.citizen_jwt,
                &json!({"sub": id, "aud": "loket-citizen", "iat": Utc::now().timestamp()}),
            ),
        ),
        ("expired", expired),
        ("tampered payload", tampered),
        ("alg none", unsigned),
        ("garbage", "garbage".into()),
        ("three dots", "a.b.c".into()),
        ("too long", "x".repeat(3000)),
        ("staff token", staff),
    ];
    let client = no_cookies();
    for (what, token) in &tokens {
        for (method, path, body) in citizen_endpoints() {
            let r = call(
                &app,
                &client,
                method,
                path,
                &body,
                Some(&format!("Bearer {token}")),
            )
            .await;
            assert_eq!(r.status, 401, "{what}: {method} {path}: {}", r.text);
            assert_eq!(r.body["error"], "invalid_token", "{what}: {method} {path}");
        }
    }
    // The right key for an appointment that does not exist finds nothing.
    let ghost = loket::auth::tokens::citizen_token(
        keys,
        loket::domain::ids::AppointmentId(Uuid::new_v4()),
        Utc::now(),
    )
    .unwrap();
    let r = app.get_bearer(CURRENT, &ghost).await;
    assert_eq!(r.status, 404, "{}", r.text);
    // Nothing was changed by any of it.
    assert_eq!(
        app.get_bearer(CURRENT, &good).await.body["status"],
        "booked"
    );
    assert_eq!(app.events(id).await, "booked@citizen");
}

#[tokio::test]
async fn staff_endpoints_without_a_session_are_401_missing_token() {
    let app = spawn_app().await;
    let client = no_cookies();
    for (method, path, body) in staff_endpoints() {
        let r = call(&app, &client, method, &path, &body, None).await;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.text);
        assert_eq!(r.body["error"], "missing_token", "{method} {path}");
    }
}

#[tokio::test]
async fn citizen_forged_and_expired_tokens_are_no_staff_session() {
    let app = spawn_app().await;
    let (citizen, _) = booking(&app, 0, "081211110001").await;
    let keys = &app.state.keys;
    let clerk_id = app.staff_id("clerk@loket.example").await;
    let now = Utc::now().timestamp();
    let staff_claims = |exp: i64| json!({"sub": clerk_id, "aud": "loket-staff", "iat": now - 10, "exp": exp, "epoch": 0});
    let tokens: Vec<(&str, String)> = vec![
        ("citizen token", citizen),
        (
            "forged: another secret",
            sign(
                Algorithm::HS256,
                b"not-the-loket-secret-not-the-loket-secret",
                &staff_claims(now + 3600),
            ),
        ),
        (
            "signed with the citizen key",
            sign(
                Algorithm::HS256,
                &keys.citizen_jwt,
                &staff_claims(now + 3600),
            ),
        ),
        (
            "expired",
            sign(
                Algorithm::HS256,
                &keys.staff_jwt,
                &json!({"sub": clerk_id, "aud": "loket-staff", "iat": now - 90_000,
                        "exp": now - 3600, "epoch": 0}),
            ),
        ),
        ("garbage", "garbage".into()),
    ];
    let client = no_cookies();
    for (what, token) in &tokens {
        for (method, path, body) in staff_endpoints() {
            let r = call(
                &app,
                &client,
                method,
                &path,
                &body,
                Some(&format!("Bearer {token}")),
            )
            .await;
            assert_eq!(r.status, 401, "{what}: {method} {path}: {}", r.text);
            assert_eq!(r.body["error"], "invalid_token", "{what}: {method} {path}");
        }
    }
    // The same claims signed with the right key do work: the refusals above are the signature's.
    let genuine = sign(Algorithm::HS256, &keys.staff_jwt, &staff_claims(now + 3600));
    let me = call(
        &app,
        &client,
        "GET",
        "/api/v1/staff/me",
        &Value::Null,
        Some(&format!("Bearer {genuine}")),
    )
    .await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["email"], "clerk@loket.example");
}

/// Books nib-oss (served by clerk@, dewi and the DPMPTSP supervisor) until both DPMPTSP clerks
/// hold one, plus one Disdukcapil appointment; returns (clerk's, dewi's, disdukcapil's) ids.
async fn one_each(app: &TestApp) -> (String, String, String) {
    let day = next_working_day(3);
    let slot = app.slots("nib-oss", day).await[0];
    let (mut clerk, mut dewi) = (None, None);
    for i in 0..3 {
        let r = app
            .post(
                "/api/v1/appointments",
                &json!({"service": "nib-oss", "starts_at": slot.to_rfc3339(),
                        "citizen": {"name": "Budi", "phone": format!("08121111000{i}"),
                                    "nik": "3271995205900001"},
                        "consent": true}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["appointment"]["id"].as_str().unwrap().to_string();
        match app
            .clerk_of(r.body["appointment"]["code"].as_str().unwrap())
            .await
            .as_str()
        {
            "clerk@loket.example" => clerk = Some(id),
            "dewi.dpmptsp@loket.example" => dewi = Some(id),
            _ => {}
        }
    }
    let r = app
        .post(
            "/api/v1/appointments",
            &json!({"service": "kartu-keluarga",
                    "starts_at": app.slots("kartu-keluarga", day).await[0].to_rfc3339(),
                    "citizen": {"name": "Ujang", "phone": "081233330000", "nik": "3271995205900001"},
                    "consent": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let other = r.body["appointment"]["id"].as_str().unwrap().to_string();
    (
        clerk.expect("clerk@ got one"),
        dewi.expect("dewi got one"),
        other,
    )
}

fn ids(r: &Resp) -> Vec<String> {
    r.body
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", r.text))
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

fn range() -> String {
    let day = next_working_day(3);
    format!("from={day}&to={day}")
}

#[tokio::test]
async fn a_clerk_sees_and_changes_only_their_own_appointments() {
    let app = spawn_app().await;
    let (mine, dewis, disdukcapil) = one_each(&app).await;
    let clerk = app.login("clerk@loket.example").await;
    let list = app
        .get_bearer(&format!("/api/v1/staff/appointments?{}", range()), &clerk)
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(ids(&list), vec![mine.clone()]);
    // Acting on someone else's appointment looks exactly like acting on none.
    let ghost = Uuid::new_v4().to_string();
    let unknown = app
        .post_bearer(
            &format!("/api/v1/staff/appointments/{ghost}/complete"),
            &clerk,
            &json!({}),
        )
        .await;
    assert_eq!(unknown.status, 404);
    for other in [&dewis, &disdukcapil] {
        for action in ["complete", "no-show", "cancel"] {
            let r = app
                .post_bearer(
                    &format!("/api/v1/staff/appointments/{other}/{action}"),
                    &clerk,
                    &json!({"notes": "bukan punya saya"}),
                )
                .await;
            assert_eq!(r.status, 404, "{action} {other}: {}", r.text);
            assert_eq!(r.body, unknown.body, "no hint that it exists");
        }
        assert_eq!(
            app.scalar(&format!(
                "SELECT status FROM appointments WHERE id = '{other}'"
            ))
            .await
            .as_deref(),
            Some("booked")
        );
    }
    // Nor can a clerk ask for a colleague's list or the agency's.
    let dewi_id = app.staff_id("dewi.dpmptsp@loket.example").await;
    for q in [format!("staff={dewi_id}"), "staff=all".to_string()] {
        let r = app
            .get_bearer(
                &format!("/api/v1/staff/appointments?{}&{q}", range()),
                &clerk,
            )
            .await;
        assert_eq!(r.status, 403, "{q}: {}", r.text);
    }
    // Their own work they can change.
    let done = app
        .post_bearer(
            &format!("/api/v1/staff/appointments/{mine}/complete"),
            &clerk,
            &json!({}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
}

#[tokio::test]
async fn a_supervisor_sees_the_agency_but_not_another_agency() {
    let app = spawn_app().await;
    let (clerks, dewis, disdukcapil) = one_each(&app).await;
    let spv = app.login("supervisor@loket.example").await;
    let all = app
        .get_bearer(
            &format!("/api/v1/staff/appointments?{}&staff=all", range()),
            &spv,
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.text);
    let seen = ids(&all);
    assert!(seen.contains(&clerks) && seen.contains(&dewis), "{seen:?}");
    assert!(!seen.contains(&disdukcapil));
    assert_eq!(seen.len(), 3, "the agency's three nib-oss bookings");
    let clerk_id = app.staff_id("clerk@loket.example").await;
    let one = app
        .get_bearer(
            &format!("/api/v1/staff/appointments?{}&staff={clerk_id}", range()),
            &spv,
        )
        .await;
    assert_eq!(ids(&one), vec![clerks.clone()]);
    let nining = app.staff_id("nining.disdukcapil@loket.example").await;
    let foreign = app
        .get_bearer(
            &format!("/api/v1/staff/appointments?{}&staff={nining}", range()),
            &spv,
        )
        .await;
    // Another agency's staff member is as unknown to a supervisor as a made-up id.
    assert_eq!(foreign.status, 404, "{}", foreign.text);
    assert_eq!(foreign.body["error"], "unknown_staff");
    let r = app
        .post_bearer(
            &format!("/api/v1/staff/appointments/{disdukcapil}/no-show"),
            &spv,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    app.started_ago(&dewis, 20).await;
    let ok = app
        .post_bearer(
            &format!("/api/v1/staff/appointments/{dewis}/no-show"),
            &spv,
            &json!({}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    // And the Disdukcapil supervisor sees the mirror image.
    let other_spv = app.login("spv.disdukcapil@loket.example").await;
    let theirs = app
        .get_bearer(
            &format!("/api/v1/staff/appointments?{}&staff=all", range()),
            &other_spv,
        )
        .await;
    assert_eq!(ids(&theirs), vec![disdukcapil]);
    let r = app
        .get_bearer(
            &format!("/api/v1/staff/appointments?{}&staff={clerk_id}", range()),
            &other_spv,
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"], "unknown_staff");
}

#[tokio::test]
async fn the_admin_sees_every_agency() {
    let app = spawn_app().await;
    let (clerks, dewis, disdukcapil) = one_each(&app).await;
    let admin = app.login("admin@loket.example").await;
    let all = app
        .get_bearer(
            &format!("/api/v1/staff/appointments?{}&staff=all", range()),
            &admin,
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.text);
    let seen = ids(&all);
    for id in [&clerks, &dewis, &disdukcapil] {
        assert!(seen.contains(id), "{id} in {seen:?}");
    }
    let nining = app.staff_id("nining.disdukcapil@loket.example").await;
    let r = app
        .get_bearer(
            &format!("/api/v1/staff/appointments?{}&staff={nining}", range()),
            &admin,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .post_bearer(
            &format!("/api/v1/staff/appointments/{disdukcapil}/cancel"),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "cancelled");
}

#[tokio::test]
async fn logout_ends_every_session_of_the_account_at_once() {
    let app = spawn_app().await;
    let first = app.login("clerk@loket.example").await;
    let second = app.login("clerk@loket.example").await;
    let colleague = app.login("dewi.dpmptsp@loket.example").await;
    for t in [&first, &second] {
        assert_eq!(app.get_bearer("/api/v1/staff/me", t).await.status, 200);
    }
    let out = app.delete_bearer("/api/v1/staff/session", &first).await;
    assert_eq!(out.status, 204, "{}", out.text);
    for t in [&first, &second] {
        let r = app.get_bearer("/api/v1/staff/me", t).await;
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.body["error"], "session_ended");
        let r = app.get_bearer("/api/v1/staff/appointments", t).await;
        assert_eq!(r.status, 401);
    }
    assert_eq!(
        app.delete_bearer("/api/v1/staff/session", &first)
            .await
            .status,
        401
    );
    assert_eq!(
        app.get_bearer("/api/v1/staff/me", &colleague).await.status,
        200,
        "other accounts stay signed in"
    );
    let again = app.login("clerk@loket.example").await;
    assert_eq!(app.get_bearer("/api/v1/staff/me", &again).await.status, 200);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    let client = no_cookies();
    let attempt = |email: &'static str, password: &'static str| {
        let client = client.clone();
        let url = app.url("/api/v1/staff/session");
        async move {
            let r = client
                .post(url)
                .json(&json!({"email": email, "password": password}))
                .send()
                .await
                .unwrap();
            let set_cookie = r.headers().get("set-cookie").is_some();
            (crate::helpers::resp(r).await, set_cookie)
        }
    };
    let (wrong, c1) = attempt("clerk@loket.example", "not-the-password").await;
    let (unknown, c2) = attempt("nobody@loket.example", "not-the-password").await;
    let (unknown_right_pw, c3) = attempt("nobody@loket.example", DEMO_PASSWORD).await;
    for r in [&wrong, &unknown, &unknown_right_pw] {
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.body["error"], "invalid_credentials");
        assert!(r.body.get("token").is_none());
    }
    assert_eq!(wrong.text, unknown.text, "the same body");
    assert_eq!(wrong.text, unknown_right_pw.text);
    assert!(!c1 && !c2 && !c3, "no session cookie");
    // Case and spaces in the email do not matter; a missing field is a 422.
    let (ok, _) = attempt("  Clerk@Loket.Example ", DEMO_PASSWORD).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["staff"]["email"], "clerk@loket.example");
    assert_eq!(ok.body["staff"]["role"], "clerk");
    let (missing, _) = attempt("clerk@loket.example", "").await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.body["fields"]["password"], "required");
}

#[tokio::test]
async fn login_attempts_are_rate_limited_with_retry_after() {
    let app = spawn_app().await;
    let mut statuses = vec![];
    let mut limited = None;
    for _ in 0..15 {
        let r = app
            .post(
                "/api/v1/staff/session",
                &json!({"email": "clerk@loket.example", "password": "guess-guess-guess"}),
            )
            .await;
        statuses.push(r.status.as_u16());
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let limited = limited.unwrap_or_else(|| panic!("never limited: {statuses:?}"));
    // From one address, an account's wrong passwords are free up to the throttle's allowance
    // (domain::login_throttle), then the address must wait.
    let free = loket::domain::login_throttle::Rules::default().free_failures_per_address as usize;
    let answered = statuses.len() - 1;
    assert_eq!(answered, free, "{statuses:?}");
    assert!(statuses[..answered].iter().all(|s| *s == 401));
    assert_eq!(limited.body["error"], "rate_limited");
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // While limited, even the right password waits.
    let right = app
        .post(
            "/api/v1/staff/session",
            &json!({"email": "clerk@loket.example", "password": DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(right.status, 429);
}

#[tokio::test]
async fn the_session_cookie_is_httponly_strict_and_signs_in_the_pages() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/api/v1/staff/session"))
        .json(&json!({"email": "clerk@loket.example", "password": DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("loket_session="))
        .expect("a loket_session cookie");
    let attrs: Vec<String> = cookie
        .split(';')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attrs.contains(&"httponly".into()), "{cookie}");
    assert!(attrs.contains(&"samesite=strict".into()), "{cookie}");
    assert!(attrs.contains(&"path=/".into()), "{cookie}");
    let body: Value = r.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert!(
        cookie.contains(token),
        "the cookie carries the session token"
    );
    // The client's cookie store alone signs the next request in.
    let me = app.get("/api/v1/staff/me").await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["email"], "clerk@loket.example");
    // Signing out through the cookie clears it and ends the session (from Loket's own page,
    // as a browser says in `Origin`).
    let out = app
        .client
        .delete(app.url("/api/v1/staff/session"))
        .header("origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let cleared = out
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("loket_session="))
        .expect("the cookie is cleared");
    assert!(
        cleared.to_ascii_lowercase().contains("max-age=0")
            || cleared.to_ascii_lowercase().contains("expires="),
        "{cleared}"
    );
    let after = app.get("/api/v1/staff/me").await;
    assert_eq!(after.status, 401, "{}", after.text);
    let stale = app.get_bearer("/api/v1/staff/me", token).await;
    assert_eq!(stale.body["error"], "session_ended");
}
