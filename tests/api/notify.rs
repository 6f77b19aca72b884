//! Notifications end to end (issue 10): a real Loket and real Postgres against outside
//! services run by the test (`providers`: a WhatsApp Cloud API that signs its webhooks, an SMS
//! gateway, a real SMTP server) — the one allowed fake being the outside service itself.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use loket::domain::notify::Delivery;
use serde_json::{Value, json};

use crate::helpers::{TestApp, next_working_day, spawn_app_on, spawn_app_with};
use crate::providers::{
    APP_SECRET, Mailbox, PHONE_ID, Provider, VERIFY_TOKEN, quick, readable, status_body, until,
    with_providers,
};

/// The outbox rows of an appointment as `kind/channel/status`, sorted.
async fn outbox_of(app: &TestApp, appointment: &str) -> Vec<String> {
    let rows = app
        .scalar(&format!(
            "SELECT string_agg(kind || '/' || channel || '/' || status, ',' ORDER BY kind, channel, round) \
             FROM outbox WHERE subject_id = '{appointment}'"
        ))
        .await
        .unwrap_or_default();
    rows.split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

async fn status_of(app: &TestApp, appointment: &str, kind: &str, channel: &str) -> Option<String> {
    app.scalar(&format!(
        "SELECT status FROM outbox WHERE subject_id = '{appointment}' AND kind = '{kind}' \
         AND channel = '{channel}' ORDER BY round DESC LIMIT 1"
    ))
    .await
}

async fn until_status(app: &TestApp, appointment: &str, kind: &str, channel: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = status_of(app, appointment, kind, channel).await;
        if got.as_deref() == Some(want) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{kind}/{channel} of {appointment} stayed {got:?}, wanted {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A Loket sending to fresh fake providers (no email), and the NIK service to book.
async fn setup() -> (Provider, TestApp, String) {
    let provider = Provider::start().await;
    let app = spawn_app_with(|s| with_providers(s, &provider, None)).await;
    let (service, _, _) = nik_service(&app).await;
    (provider, app, service)
}

fn id_of(booked: &Value) -> String {
    booked["appointment"]["id"]
        .as_str()
        .expect("an appointment id")
        .to_string()
}

/// A service that needs a NIK: (slug, its Indonesian name, its agency's name).
async fn nik_service(app: &TestApp) -> (String, String, String) {
    let row = app
        .scalar(
            "SELECT s.slug || '|' || s.name || '|' || a.name FROM services s \
             JOIN agencies a ON a.id = s.agency_id \
             WHERE s.active AND s.needs_nik AND s.slug = 'perekaman-ktp-el'",
        )
        .await
        .expect("the demo data has perekaman-ktp-el");
    let mut parts = row.split('|').map(String::from);
    (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    )
}

const NIK: &str = "3271014501900003";

async fn book_with(app: &TestApp, service: &str, phone: &str, extra: Value) -> Value {
    let day = next_working_day(3);
    let slot = app.slots(service, day).await[0];
    let mut body = json!({
        "service": service,
        "starts_at": slot.to_rfc3339(),
        "citizen": {"name": "Siti Rahma", "phone": phone, "email": "siti@example.org", "nik": NIK},
        "consent": true,
    });
    if let Value::Object(m) = extra {
        for (k, v) in m {
            body[k] = v;
        }
    }
    let r = app.post("/api/v1/appointments", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

/// A WhatsApp template message's body parameters, in order.
pub fn params(msg: &Value) -> Vec<String> {
    msg["template"]["components"][0]["parameters"]
        .as_array()
        .expect("body parameters")
        .iter()
        .map(|p| p["text"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn a_booking_sends_its_whatsapp_template_and_an_email_with_the_calendar_in_indonesian() {
    let provider = Provider::start().await;
    let (mailbox, smtp) = Mailbox::start();
    let app = spawn_app_with(|s| with_providers(s, &provider, Some(&smtp))).await;
    let (service, service_name, agency) = nik_service(&app).await;
    let booked = book_with(&app, &service, "081234560001", json!({})).await;
    let code = booked["appointment"]["code"].as_str().unwrap().to_string();
    let id = id_of(&booked);

    let sent = provider
        .until_whatsapp("the booked message", |m| !m.is_empty())
        .await;
    let msg = &sent[0];
    assert_eq!(msg["messaging_product"], "whatsapp");
    assert_eq!(msg["to"], "6281234560001", "E.164 digits without the plus");
    assert_eq!(msg["type"], "template");
    assert_eq!(msg["template"]["name"], "loket_booked");
    assert_eq!(msg["template"]["language"]["code"], "id");
    assert_eq!(provider.with(|s| s.auth[0].clone()), "Bearer wa-token");
    let p = params(msg);
    assert!(p.contains(&"Siti Rahma".to_string()), "{p:?}");
    assert!(p.contains(&service_name), "{p:?}");
    assert!(p.iter().any(|x| x.contains(&agency)), "{p:?}");
    assert!(p.contains(&code), "{p:?}");
    assert!(
        p.iter().any(|x| x.ends_with(" WIB") && x.contains("pukul")),
        "{p:?}"
    );
    assert!(p.iter().any(|x| x.contains("/join#t=")), "{p:?}");
    assert!(p.iter().any(|x| x.contains("/manage#t=")), "{p:?}");
    assert!(
        p.iter()
            .any(|x| x.contains("KTP") || x.contains("Kartu Keluarga") || x.contains("dokumen")),
        "requirements: {p:?}"
    );
    let whole = msg.to_string();
    assert!(
        !whole.contains(NIK) && !whole.contains("45019"),
        "no NIK in a message: {whole}"
    );

    let mail = until("the booked email", || mailbox.mails().into_iter().next()).await;
    let text = readable(&mail);
    assert!(
        mail.contains(&format!("Subject: Booking Loket {code}")),
        "{mail}"
    );
    assert!(mail.contains("Message-ID: <"), "{mail}");
    assert!(
        text.contains("BEGIN:VCALENDAR"),
        "the calendar file is attached: {text}"
    );
    assert!(text.contains("<a href=\""), "an HTML part with links");
    assert!(text.contains(&service_name));
    assert!(!text.contains(NIK), "no NIK in the email");

    until_status(&app, &id, "booked", "whatsapp", "sent").await;
    until_status(&app, &id, "booked", "email", "sent").await;
    // The citizen sees it, with the reminders waiting.
    let token = booked["token"].as_str().unwrap();
    let cur = app.get_bearer("/api/v1/appointments/current", token).await;
    let notes = cur.body["notifications"]
        .as_array()
        .expect("notifications")
        .clone();
    let has = |k: &str, c: &str, s: &str| {
        notes
            .iter()
            .any(|n| n["kind"] == k && n["channel"] == c && n["status"] == s && n["at"].is_string())
    };
    assert!(has("booked", "whatsapp", "sent"), "{notes:?}");
    assert!(has("reminder_soon", "whatsapp", "pending"), "{notes:?}");
    assert!(has("room_open", "email", "pending"), "{notes:?}");
    // And the clerk, on the day list.
    let clerk = app.clerk_of(&code).await;
    let staff = app.login(&clerk).await;
    let day = next_working_day(3);
    let list = app
        .get_bearer(&format!("/api/v1/staff/appointments?from={day}"), &staff)
        .await;
    let row = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == code.as_str())
        .cloned()
        .unwrap();
    assert!(
        row["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "booked" && n["status"] == "sent")
    );
}

#[tokio::test]
async fn a_booking_made_in_english_is_answered_in_english() {
    let (provider, app, service) = setup().await;
    let name_en = app
        .scalar(&format!(
            "SELECT name_en FROM services WHERE slug = '{service}'"
        ))
        .await
        .unwrap();
    book_with(&app, &service, "081234560002", json!({"lang": "en"})).await;
    let sent = provider
        .until_whatsapp("the booked message", |m| !m.is_empty())
        .await;
    assert_eq!(sent[0]["template"]["language"]["code"], "en");
    let p = params(&sent[0]);
    assert!(p.contains(&name_en), "{p:?}");
    assert!(
        p.iter()
            .any(|x| x.ends_with(" WIB") && !x.contains("pukul")),
        "{p:?}"
    );
    // An unknown language is refused like any bad field.
    let day = next_working_day(3);
    let slot = app.slots(&service, day).await[1];
    let r = app
        .post(
            "/api/v1/appointments",
            &json!({"service": service, "starts_at": slot.to_rfc3339(), "consent": true, "lang": "fr",
                    "citizen": {"name": "Ann", "phone": "081234560003", "nik": NIK}}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["fields"]["lang"], "unsupported");
}

#[tokio::test]
async fn webhooks_need_the_right_signature_and_move_statuses_only_forward() {
    let provider = Provider::start().await;
    let app = spawn_app_with(|s| with_providers(s, &provider, None)).await;
    // The verify-token handshake.
    let ok = app
        .get(&format!("/api/v1/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"))
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.text, "1158201444");
    let bad = app
        .get("/api/v1/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1")
        .await;
    assert_eq!(bad.status, 403);

    let (service, _, _) = nik_service(&app).await;
    let booked = book_with(&app, &service, "081234560004", json!({})).await;
    let id = id_of(&booked);
    until_status(&app, &id, "booked", "whatsapp", "sent").await;
    let wamid = app
        .scalar(&format!("SELECT provider_id FROM outbox WHERE subject_id = '{id}' AND kind = 'booked' AND channel = 'whatsapp'"))
        .await
        .expect("the wamid is kept");
    let post = |body: Value, sig: Option<String>| {
        let app = &app;
        async move {
            let bytes = serde_json::to_vec(&body).unwrap();
            let mut req = app
                .client
                .post(app.url("/api/v1/webhooks/whatsapp"))
                .header("Content-Type", "application/json")
                .body(bytes.clone());
            if let Some(s) = sig.or_else(|| Some(loket::notify::whatsapp::sign(APP_SECRET, &bytes)))
            {
                req = req.header("X-Hub-Signature-256", s);
            }
            crate::helpers::resp(req.send().await.unwrap()).await
        }
    };
    // A wrong signature is refused and changes nothing.
    let r = post(
        status_body(&wamid, "read", None, "x"),
        Some(loket::notify::whatsapp::sign("not-the-secret", b"{}")),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"], "invalid_signature");
    assert_eq!(
        status_of(&app, &id, "booked", "whatsapp").await.as_deref(),
        Some("sent")
    );
    // Read, then a late "delivered": stays read.
    let r = post(status_body(&wamid, "read", None, "x"), None).await;
    assert_eq!(
        (r.status.as_u16(), r.body["applied"].as_i64()),
        (200, Some(1)),
        "{}",
        r.text
    );
    let r = post(status_body(&wamid, "delivered", None, "x"), None).await;
    assert_eq!(r.body["applied"], 0);
    assert_eq!(
        status_of(&app, &id, "booked", "whatsapp").await.as_deref(),
        Some("read")
    );
    // Not JSON of the right shape, but signed: 400.
    let r = post(json!([1, 2]), None).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn the_database_refuses_every_status_move_the_rules_call_backwards() {
    let app = spawn_app_with(|_| {}).await;
    let (service, _, _) = nik_service(&app).await;
    let booked = book_with(&app, &service, "081234560005", json!({})).await;
    let id = id_of(&booked);
    let mut round = 100;
    for from in Delivery::ALL {
        for to in Delivery::ALL {
            round += 1;
            app.exec(&format!(
                "INSERT INTO outbox (id, subject_kind, subject_id, kind, channel, round, address, status, due_at) \
                 VALUES (gen_random_uuid(), 'appointment', '{id}', 'booked', 'sms', {round}, '+6281234560005', '{}', now() + interval '1 day')",
                from.as_str()
            ))
            .await;
            let ok = try_exec(
                &app,
                &format!(
                    "UPDATE outbox SET status = '{}' WHERE subject_id = '{id}' AND round = {round}",
                    to.as_str()
                ),
            )
            .await;
            let allowed = from == to || from.can_become(to);
            assert_eq!(ok, allowed, "{} -> {}", from.as_str(), to.as_str());
        }
    }
}

async fn try_exec(app: &TestApp, sql: &str) -> bool {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    diesel::sql_query(sql).execute(&mut conn).await.is_ok()
}

#[tokio::test]
async fn a_provider_error_is_retried_with_backoff_until_it_goes_through() {
    let provider = Provider::start().await;
    provider.reply_next(503, json!({"error": {"code": 1, "message": "busy"}}));
    provider.reply_next(500, json!({"error": {"code": 2, "message": "oops"}}));
    let app = spawn_app_with(|s| with_providers(s, &provider, None)).await;
    let (service, _, _) = nik_service(&app).await;
    let booked = book_with(&app, &service, "081234560006", json!({})).await;
    let id = id_of(&booked);
    until_status(&app, &id, "booked", "whatsapp", "sent").await;
    let booked_requests = provider
        .whatsapp()
        .iter()
        .filter(|m| m["template"]["name"] == "loket_booked")
        .count();
    assert_eq!(booked_requests, 3, "two failures, then accepted");
    let attempts = app
        .scalar(&format!(
            "SELECT string_agg(a.outcome, ',' ORDER BY a.id) FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id \
             WHERE o.subject_id = '{id}' AND o.kind = 'booked' AND o.channel = 'whatsapp'"
        ))
        .await;
    assert_eq!(attempts.as_deref(), Some("transient,transient,accepted"));
    // The waits between tries grew (base 200 ms, doubling, with jitter in [0.5, 1)).
    let gaps = app
        .scalar(&format!(
            "SELECT string_agg((extract(epoch FROM at - lag) * 1000)::int::text, ',' ORDER BY id) FROM \
             (SELECT a.id, a.at, lag(a.at) OVER (ORDER BY a.id) FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id \
              WHERE o.subject_id = '{id}' AND o.kind = 'booked' AND o.channel = 'whatsapp') x WHERE lag IS NOT NULL"
        ))
        .await
        .unwrap();
    let gaps: Vec<i64> = gaps.split(',').map(|g| g.parse().unwrap()).collect();
    assert!(gaps[0] >= 100, "{gaps:?}");
    assert!(gaps[1] >= 200, "{gaps:?}");
    assert!(
        provider.sms().is_empty(),
        "no fallback for a message that went through"
    );
}

#[tokio::test]
async fn a_permanent_error_fails_at_once_and_the_sms_follows() {
    let provider = Provider::start().await;
    provider.reply_next(400, json!({"error": {"code": 132001, "message": "Template name does not exist in the translation"}}));
    let app = spawn_app_with(|s| with_providers(s, &provider, None)).await;
    let (service, _, _) = nik_service(&app).await;
    let booked = book_with(&app, &service, "081234560007", json!({})).await;
    let id = id_of(&booked);
    let code = booked["appointment"]["code"].as_str().unwrap().to_string();
    until_status(&app, &id, "booked", "whatsapp", "failed").await;
    let sms = provider
        .until_sms("the SMS fallback", |m| !m.is_empty())
        .await;
    assert_eq!(sms[0]["to"], "+6281234560007");
    let text = sms[0]["text"].as_str().unwrap();
    assert!(text.contains(&code) && text.contains("WIB"), "{text}");
    until_status(&app, &id, "booked", "sms", "sent").await;
    assert_eq!(
        provider
            .whatsapp()
            .iter()
            .filter(|m| m["template"]["name"] == "loket_booked")
            .count(),
        1,
        "not retried"
    );
    let err = app
        .scalar(&format!("SELECT last_error FROM outbox WHERE subject_id = '{id}' AND kind = 'booked' AND channel = 'whatsapp'"))
        .await
        .unwrap();
    assert!(err.contains("132001"), "{err}");
}

#[tokio::test]
async fn a_number_without_whatsapp_gets_an_sms_and_so_does_one_never_delivered() {
    let provider = Provider::start().await;
    provider.reply_next(
        400,
        json!({"error": {"code": 131026, "message": "Message undeliverable"}}),
    );
    let app = spawn_app_with(|s| {
        with_providers(s, &provider, None);
        s.notify.whatsapp_delivery_timeout_secs = 1;
    })
    .await;
    let (service, _, _) = nik_service(&app).await;
    let first = book_with(&app, &service, "081234560008", json!({})).await;
    let first_id = id_of(&first);
    until_status(&app, &first_id, "booked", "sms", "sent").await;
    assert_eq!(
        status_of(&app, &first_id, "booked", "whatsapp")
            .await
            .as_deref(),
        Some("failed")
    );
    // Accepted by WhatsApp but never reported delivered: the SMS goes after the timeout.
    let second = book_with(&app, &service, "081234560009", json!({})).await;
    let second_id = id_of(&second);
    until_status(&app, &second_id, "booked", "whatsapp", "sent").await;
    until_status(&app, &second_id, "booked", "sms", "sent").await;
    let sms = provider.sms();
    assert_eq!(
        sms.iter().filter(|m| m["to"] == "+6281234560009").count(),
        1
    );
}

#[tokio::test]
async fn without_provider_settings_messages_are_skipped_and_readable_on_the_outbox_page() {
    let app = spawn_app_with(quick).await;
    let (service, service_name, _) = nik_service(&app).await;
    let booked = book_with(&app, &service, "081234560010", json!({})).await;
    let id = id_of(&booked);
    let code = booked["appointment"]["code"].as_str().unwrap().to_string();
    until_status(&app, &id, "booked", "whatsapp", "skipped").await;
    until_status(&app, &id, "booked", "sms", "skipped").await;
    until_status(&app, &id, "booked", "email", "skipped").await;
    let admin = app.login("admin@loket.example").await;
    let page = app
        .get_bearer("/api/v1/admin/outbox?status=skipped", &admin)
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    let rows = page.body.as_array().unwrap();
    let mine = rows
        .iter()
        .find(|r| r["code"] == code.as_str() && r["kind"] == "booked" && r["channel"] == "whatsapp")
        .expect("listed");
    let text = mine["text"].as_str().unwrap();
    assert!(
        text.contains(&service_name) && text.contains(&code),
        "{text}"
    );
    assert!(text.contains("/manage#t=…"), "the token is hidden: {text}");
    assert!(!text.contains(booked["token"].as_str().unwrap()));
    assert_eq!(mine["to"], "+62812****0010");
    // Clerks do not see it.
    let clerk = app.login(&app.clerk_of(&code).await).await;
    assert_eq!(
        app.get_bearer("/api/v1/admin/outbox", &clerk).await.status,
        403
    );
}

#[tokio::test]
async fn two_nodes_with_several_workers_send_each_message_once() {
    let provider = Provider::start().await;
    let a = spawn_app_with(|s| {
        with_providers(s, &provider, None);
        s.notify.workers = 3;
        s.notify.batch = 16;
    })
    .await;
    let b = spawn_app_on(&a, |s| {
        with_providers(s, &provider, None);
        s.notify.workers = 3;
        s.notify.batch = 16;
    })
    .await;
    let (service, _, _) = nik_service(&a).await;
    let booked = book_with(&a, &service, "081234560011", json!({})).await;
    let id = id_of(&booked);
    until_status(&a, &id, "booked", "whatsapp", "sent").await;
    // 300 messages due at once, for the six workers of two nodes to fight over.
    a.exec(&format!(
        "INSERT INTO outbox (id, subject_kind, subject_id, kind, channel, round, address, due_at) \
         SELECT gen_random_uuid(), 'appointment', '{id}', 'reassigned', 'whatsapp', r, '+6281234560011', now() \
         FROM generate_series(1, 300) r"
    ))
    .await;
    a.state.ctx.wake_outbox();
    b.state.ctx.wake_outbox();
    provider
        .until_whatsapp("300 messages", |m| {
            m.iter()
                .filter(|x| x["template"]["name"] == "loket_reassigned")
                .count()
                >= 300
        })
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent: Vec<Value> = provider
        .whatsapp()
        .into_iter()
        .filter(|x| x["template"]["name"] == "loket_reassigned")
        .collect();
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for m in &sent {
        *per_id
            .entry(m["biz_opaque_callback_data"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(per_id.len(), 300);
    assert!(per_id.values().all(|&n| n == 1), "a message went twice");
    assert_eq!(sent.len(), 300);
    let left = a
        .scalar(&format!("SELECT count(*) FROM outbox WHERE subject_id = '{id}' AND status = 'pending' AND kind = 'reassigned'"))
        .await;
    assert_eq!(left.as_deref(), Some("0"));
    drop(b);
}

#[tokio::test]
async fn reminders_come_due_after_a_restart_and_go_once() {
    let provider = Provider::start().await;
    let first = spawn_app_with(|s| with_providers(s, &provider, None)).await;
    let (service, _, _) = nik_service(&first).await;
    let booked = book_with(&first, &service, "081234560012", json!({})).await;
    let id = id_of(&booked);
    until_status(&first, &id, "booked", "whatsapp", "sent").await;
    first.stop.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // While Loket is down, the day-before reminder comes due.
    first
        .exec(&format!(
            "UPDATE outbox SET due_at = now() - interval '5 minutes' WHERE subject_id = '{id}' \
             AND kind = 'reminder_day_before' AND channel = 'whatsapp'"
        ))
        .await;
    let second = spawn_app_on(&first, |s| with_providers(s, &provider, None)).await;
    until_status(&second, &id, "reminder_day_before", "whatsapp", "sent").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reminders: Vec<Value> = provider
        .whatsapp()
        .into_iter()
        .filter(|m| m["template"]["name"] == "loket_reminder_day_before")
        .collect();
    assert_eq!(reminders.len(), 1);
    let p = params(&reminders[0]);
    assert!(p.iter().any(|x| x.ends_with("WIB")), "{p:?}");
    // The others are still waiting for their time.
    assert_eq!(
        status_of(&second, &id, "reminder_soon", "whatsapp")
            .await
            .as_deref(),
        Some("pending")
    );
}

#[tokio::test]
async fn a_reschedule_moves_the_reminders_and_a_cancel_makes_them_moot() {
    let (provider, app, service) = setup().await;
    let booked = book_with(&app, &service, "081234560013", json!({})).await;
    let id = id_of(&booked);
    let token = booked["token"].as_str().unwrap().to_string();
    until_status(&app, &id, "booked", "whatsapp", "sent").await;
    let day = next_working_day(4);
    let slot = app.slots(&service, day).await[2];
    let r = app
        .post_bearer(
            "/api/v1/appointments/current/reschedule",
            &token,
            &json!({"starts_at": slot.to_rfc3339()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    until_status(&app, &id, "rescheduled", "whatsapp", "sent").await;
    let msg = provider
        .until_whatsapp("the rescheduled message", |m| {
            m.iter()
                .any(|x| x["template"]["name"] == "loket_rescheduled")
        })
        .await
        .into_iter()
        .find(|x| x["template"]["name"] == "loket_rescheduled")
        .unwrap();
    let wib = loket::domain::messages::when(
        slot,
        chrono_tz::Asia::Jakarta,
        loket::domain::notify::Lang::Id,
    );
    assert!(
        params(&msg).contains(&wib),
        "the new time in WIB: {:?} vs {wib}",
        params(&msg)
    );
    // Old reminders cancelled, new ones pending for the new time.
    let soon = app
        .scalar(&format!(
            "SELECT string_agg(status || '@' || to_char(due_at AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD HH24:MI'), ',' ORDER BY round) \
             FROM outbox WHERE subject_id = '{id}' AND kind = 'reminder_soon' AND channel = 'whatsapp'"
        ))
        .await
        .unwrap();
    let new_due = (slot - chrono::Duration::minutes(60))
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    assert!(soon.starts_with("cancelled@"), "{soon}");
    assert!(
        soon.ends_with(&format!("pending@{new_due}")),
        "{soon} / {new_due}"
    );
    // Cancel: every pending reminder becomes cancelled, and the citizen is told.
    let r = app
        .post_bearer("/api/v1/appointments/current/cancel", &token, &json!({}))
        .await;
    assert_eq!(r.status, 200);
    until_status(&app, &id, "cancelled", "whatsapp", "sent").await;
    let pending = app
        .scalar(&format!(
            "SELECT count(*) FROM outbox WHERE subject_id = '{id}' AND status = 'pending'"
        ))
        .await;
    assert_eq!(
        pending.as_deref(),
        Some("0"),
        "{:?}",
        outbox_of(&app, &id).await
    );
}

#[tokio::test]
async fn recovery_sends_a_code_only_for_a_real_booking_and_the_code_opens_it() {
    let (provider, app, service) = setup().await;
    let booked = book_with(&app, &service, "081234560014", json!({})).await;
    let code = booked["appointment"]["code"].as_str().unwrap().to_string();
    provider
        .until_whatsapp("the booking", |m| !m.is_empty())
        .await;
    let otps = || {
        provider
            .whatsapp()
            .into_iter()
            .filter(|m| m["template"]["name"] == "loket_otp")
            .collect::<Vec<_>>()
    };

    // Wrong phone, unknown code, garbage: the same 202, and nothing is sent.
    let mut answers = HashSet::new();
    for body in [
        json!({"code": code, "phone": "081299999999"}),
        json!({"code": "ZZZZZZZZ", "phone": "081234560014"}),
        json!({"code": "?", "phone": ""}),
        json!({}),
    ] {
        let r = app.post("/api/v1/appointments/recover", &body).await;
        assert_eq!(r.status, 202);
        answers.insert(r.text);
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        otps().is_empty(),
        "no code for a booking that does not match"
    );

    // The right pair (typed as people type: lower case, a dash, the local phone form).
    let typed = format!("{}-{}", &code[..4].to_lowercase(), &code[4..]);
    let r = app
        .post(
            "/api/v1/appointments/recover",
            &json!({"code": typed, "phone": "0812-3456-0014"}),
        )
        .await;
    assert_eq!(r.status, 202);
    answers.insert(r.text);
    assert_eq!(answers.len(), 1, "one answer for every input");
    let sent = until("the code", || {
        let o = otps();
        (!o.is_empty()).then_some(o)
    })
    .await;
    let otp = params(&sent[0])[0].clone();
    assert_eq!(otp.len(), 6);
    assert!(otp.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(sent[0]["to"], "6281234560014");

    let verify = |otp: String| {
        let app = &app;
        let code = code.clone();
        async move {
            app.post(
                "/api/v1/appointments/recover/verify",
                &json!({"code": code, "phone": "081234560014", "otp": otp}),
            )
            .await
        }
    };
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let r = verify(wrong.into()).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"], "invalid_code");
    let r = verify(otp.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.body["token"].as_str().unwrap();
    assert!(
        r.body["links"]["manage"]
            .as_str()
            .unwrap()
            .contains("/manage#t=")
    );
    let cur = app.get_bearer("/api/v1/appointments/current", token).await;
    assert_eq!(cur.body["code"], code.as_str());
    // Used once only.
    assert_eq!(verify(otp).await.status, 422);
    // The Outbox page never shows the code itself.
    let admin = app.login("admin@loket.example").await;
    let page = app.get_bearer("/api/v1/admin/outbox", &admin).await;
    let otp_row = page
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "otp" && r["channel"] == "whatsapp")
        .unwrap()
        .clone();
    assert!(otp_row["text"].as_str().unwrap().contains("••••••"));
}

#[tokio::test]
async fn a_recovery_code_allows_five_guesses_and_a_booking_three_codes_an_hour() {
    let (provider, app, service) = setup().await;
    let booked = book_with(&app, &service, "081234560015", json!({})).await;
    let code = booked["appointment"]["code"].as_str().unwrap().to_string();
    let otps = || {
        provider
            .whatsapp()
            .into_iter()
            .filter(|m| m["template"]["name"] == "loket_otp")
            .collect::<Vec<_>>()
    };
    let ask_body = json!({"code": code, "phone": "081234560015"});
    let ask = || app.post("/api/v1/appointments/recover", &ask_body);
    assert_eq!(ask().await.status, 202);
    let sent = until("the code", || {
        let o = otps();
        (!o.is_empty()).then_some(o)
    })
    .await;
    let otp = params(&sent[0])[0].clone();
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let r = app
            .post(
                "/api/v1/appointments/recover/verify",
                &json!({"code": code, "phone": "081234560015", "otp": wrong}),
            )
            .await;
        assert_eq!(r.status, 422);
    }
    // Five wrong guesses used the code up: the right one no longer works.
    let r = app
        .post(
            "/api/v1/appointments/recover/verify",
            &json!({"code": code, "phone": "081234560015", "otp": otp}),
        )
        .await;
    assert_eq!(r.status, 422);
    // Two more codes this hour, then nothing more is sent (the answer stays 202).
    for _ in 0..3 {
        assert_eq!(ask().await.status, 202);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    until("three codes", || (otps().len() == 3).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(otps().len(), 3, "at most three codes an hour");
}

/// A service two active clerks serve, and a clerk's booking in it: (slug, booking).
async fn two_clerk_service(app: &TestApp) -> String {
    app.scalar(
        "SELECT s.slug FROM services s JOIN staff_services ss ON ss.service_id = s.id \
         JOIN staff st ON st.id = ss.staff_id AND st.active AND st.role = 'clerk' \
         WHERE s.active AND NOT s.needs_nik GROUP BY s.slug HAVING count(*) >= 2 ORDER BY s.slug LIMIT 1",
    )
    .await
    .expect("a service with two clerks")
}

fn leave_over(day: chrono::NaiveDate) -> Value {
    let tz = chrono_tz::Asia::Jakarta;
    use chrono::TimeZone;
    let start = tz
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
        .unwrap();
    json!({"starts_at": start.to_rfc3339(), "ends_at": (start + chrono::Duration::days(1)).to_rfc3339(), "reason": "Cuti sakit"})
}

#[tokio::test]
async fn leave_moves_a_booking_to_a_free_colleague_after_showing_it_first() {
    let provider = Provider::start().await;
    let app = spawn_app_with(|s| with_providers(s, &provider, None)).await;
    let service = two_clerk_service(&app).await;
    let (_, body) = app.book_first(&service, "081234560016").await;
    let code = body["appointment"]["code"].as_str().unwrap().to_string();
    let id = id_of(&body);
    let clerk = app.clerk_of(&code).await;
    let staff = app.login(&clerk).await;
    let leave = leave_over(next_working_day(3));

    let dry = app
        .post_bearer("/api/v1/staff/closures?dry_run=true", &staff, &leave)
        .await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    assert_eq!(dry.body["dry_run"], true);
    assert_eq!(dry.body["affected_bookings"], json!([code]));
    assert_eq!(dry.body["affected"][0]["outcome"], "reassigned");
    assert!(dry.body["affected"][0]["clerk"].is_string());
    // Nothing kept.
    assert_eq!(app.clerk_of(&code).await, clerk);
    assert_eq!(
        app.scalar("SELECT count(*) FROM closures WHERE reason = 'Cuti sakit'")
            .await
            .as_deref(),
        Some("0")
    );
    assert_eq!(
        outbox_of(&app, &id)
            .await
            .iter()
            .filter(|r| r.starts_with("reassigned/"))
            .count(),
        0
    );

    let saved = app
        .post_bearer("/api/v1/staff/closures", &staff, &leave)
        .await;
    assert_eq!(saved.status, 201, "{}", saved.text);
    assert_eq!(saved.body["affected"][0]["outcome"], "reassigned");
    assert_ne!(app.clerk_of(&code).await, clerk, "moved to the colleague");
    assert!(app.events(&id).await.ends_with("reassigned@system"));
    until_status(&app, &id, "reassigned", "whatsapp", "sent").await;
    let msg = provider
        .whatsapp()
        .into_iter()
        .find(|m| m["template"]["name"] == "loket_reassigned")
        .unwrap();
    let new_clerk_name = saved.body["affected"][0]["clerk"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(params(&msg).contains(&new_clerk_name), "{:?}", params(&msg));
}

#[tokio::test]
async fn leave_with_nobody_free_asks_the_citizen_for_a_new_time_with_priority() {
    let provider = Provider::start().await;
    let app = spawn_app_with(|s| with_providers(s, &provider, None)).await;
    let (service, clerk) = app.single_clerk_service().await;
    let (token, body) = app.book_first(&service, "081234560017").await;
    let id = id_of(&body);
    let code = body["appointment"]["code"].as_str().unwrap().to_string();
    let staff = app.login(&clerk).await;
    let saved = app
        .post_bearer(
            "/api/v1/staff/closures",
            &staff,
            &leave_over(next_working_day(3)),
        )
        .await;
    assert_eq!(saved.status, 201, "{}", saved.text);
    assert_eq!(saved.body["affected"][0]["outcome"], "needs_new_time");
    until_status(&app, &id, "needs_new_time", "whatsapp", "sent").await;
    // The citizen's page knows, and so do their clerk and the supervisor.
    let cur = app.get_bearer("/api/v1/appointments/current", &token).await;
    assert_eq!(cur.body["needs_new_time"], true);
    let open = app
        .get_bearer("/api/v1/staff/appointments/needs-new-time", &staff)
        .await;
    assert_eq!(open.status, 200);
    assert!(
        open.body
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["code"] == code.as_str())
    );
    // The nearest free times are offered; one tap takes one.
    let offers = app
        .get_bearer("/api/v1/appointments/current/offers", &token)
        .await;
    assert_eq!(offers.status, 200, "{}", offers.text);
    let first = offers.body["offers"][0]["starts_at"]
        .as_str()
        .expect("an offer")
        .to_string();
    let r = app
        .post_bearer(
            "/api/v1/appointments/current/reschedule",
            &token,
            &json!({"starts_at": first}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["needs_new_time"], false);
    let open = app
        .get_bearer("/api/v1/staff/appointments/needs-new-time", &staff)
        .await;
    assert!(
        !open
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["code"] == code.as_str())
    );
}

#[tokio::test]
async fn a_holiday_over_bookings_asks_each_citizen_for_a_new_time() {
    let provider = Provider::start().await;
    let app = spawn_app_with(|s| with_providers(s, &provider, None)).await;
    let service = two_clerk_service(&app).await;
    let (_, body) = app.book_first(&service, "081234560018").await;
    let id = id_of(&body);
    let admin = app.login("admin@loket.example").await;
    let holiday = leave_over(next_working_day(3));
    let dry = app
        .post_bearer("/api/v1/admin/holidays?dry_run=true", &admin, &holiday)
        .await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    assert_eq!(dry.body["affected"][0]["outcome"], "needs_new_time");
    let saved = app
        .post_bearer("/api/v1/admin/holidays", &admin, &holiday)
        .await;
    assert_eq!(saved.status, 201, "{}", saved.text);
    until_status(&app, &id, "needs_new_time", "whatsapp", "sent").await;
    assert!(app.events(&id).await.ends_with("needs_new_time@system"));
}

/// The real binary, sending through the fake WhatsApp, on this test's database.
fn loket_binary(
    app: &TestApp,
    provider: &Provider,
    data_dir: &std::path::Path,
) -> crate::embedded::Loket {
    let api = format!("{}/v21.0", provider.base);
    crate::embedded::spawn_loket(
        &[
            ("DATABASE_URL", app.db_url.as_str()),
            ("LOKET_DATA_DIR", data_dir.to_str().unwrap()),
            (
                "LOKET_SECRET",
                "test-secret-test-secret-test-secret-0123456789",
            ),
            ("LOKET_LOG", "warn"),
            ("LOKET_WHATSAPP_API_URL", api.as_str()),
            ("LOKET_WHATSAPP_PHONE_NUMBER_ID", PHONE_ID),
            ("LOKET_WHATSAPP_TOKEN", "wa-token"),
            ("LOKET_WHATSAPP_APP_SECRET", APP_SECRET),
            ("LOKET_QUIET_HOURS", "off"),
            ("LOKET_OUTBOX_POLL_MS", "100"),
            ("LOKET_OUTBOX_SEND_TIMEOUT_MS", "2500"),
            ("LOKET_OUTBOX_LEASE_MS", "5000"),
            ("LOKET_WHATSAPP_CONFIRM_GRACE_SECS", "8"),
        ],
        std::process::Stdio::null(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loket_killed_mid_send_and_restarted_sends_nothing_twice() {
    let provider = Provider::start().await;
    // This in-process Loket serves the citizens and takes WhatsApp's webhooks; it sends
    // nothing itself. The real binary does the sending.
    let app = spawn_app_with(|s| {
        with_providers(s, &provider, None);
        s.notify.workers = 0;
    })
    .await;
    let dir = std::env::temp_dir().join(format!("loket-kill-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // WhatsApp takes 1.5 s to answer, and reports each message's status ten seconds after it
    // took it: after the dead sender's lease (5 s) has run out and the restarted one has found
    // the message interrupted, within the 8 s it then waits before sending again.
    provider.set_hold(Duration::from_millis(1500));
    provider.report_to(
        &app.address,
        &["sent", "delivered"],
        Duration::from_secs(10),
    );
    let (service, _, _) = nik_service(&app).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let b = book_with(&app, &service, &format!("08123457000{i}"), json!({})).await;
        ids.push(b["appointment"]["id"].as_str().unwrap().to_string());
    }
    let mut first = loket_binary(&app, &provider, &dir);
    provider
        .until_whatsapp("the first sends", |m| {
            m.iter()
                .filter(|x| x["template"]["name"] == "loket_booked")
                .count()
                == 3
        })
        .await;
    // Killed while WhatsApp holds all three requests: they reached WhatsApp, no answer was stored.
    first.child.kill().expect("kill -9");
    let _ = first.child.wait();
    for id in &ids {
        assert_eq!(
            status_of(&app, id, "booked", "whatsapp").await.as_deref(),
            Some("pending")
        );
    }
    let mut second = loket_binary(&app, &provider, &dir);
    for id in &ids {
        until_status(&app, id, "booked", "whatsapp", "delivered").await;
    }
    // Delivered rows are never claimed again (only pending ones are), so nothing more can go.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let booked: Vec<Value> = provider
        .whatsapp()
        .into_iter()
        .filter(|x| x["template"]["name"] == "loket_booked")
        .collect();
    assert_eq!(
        booked.len(),
        3,
        "each booking's message reached WhatsApp once"
    );
    let interrupted = app
        .scalar("SELECT count(*) FROM outbox_attempts WHERE outcome = 'interrupted'")
        .await;
    assert_eq!(
        interrupted.as_deref(),
        Some("3"),
        "the restarted sender found all three in flight"
    );
    let _ = second.child.kill();
    let _ = second.child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_report_counts_deliveries_per_channel_and_reminders_that_did_not_arrive() {
    let provider = Provider::start().await;
    let app = spawn_app_with(|s| with_providers(s, &provider, None)).await;
    provider.report_to(&app.address, &["sent", "delivered"], Duration::ZERO);
    let (service, _, _) = nik_service(&app).await;
    let booked = book_with(&app, &service, "081234560019", json!({})).await;
    let id = id_of(&booked);
    until_status(&app, &id, "booked", "whatsapp", "delivered").await;
    until_status(&app, &id, "booked", "email", "skipped").await;
    // Two reminders that came due two hours ago: one failed everywhere, one arrived by SMS.
    app.exec(&format!(
        "UPDATE outbox SET due_at = now() - interval '2 hours', status = 'failed' \
         WHERE subject_id = '{id}' AND kind = 'reminder_day_before'"
    ))
    .await;
    for sql in [
        format!(
            "UPDATE outbox SET due_at = now() - interval '2 hours', status = 'failed' \
                 WHERE subject_id = '{id}' AND kind = 'reminder_soon' AND channel = 'whatsapp'"
        ),
        format!(
            "INSERT INTO outbox (id, subject_kind, subject_id, kind, channel, round, address, status, due_at) \
                 VALUES (gen_random_uuid(), 'appointment', '{id}', 'reminder_soon', 'sms', 0, '+6281234560019', 'sent', now() - interval '2 hours')"
        ),
        format!(
            "UPDATE outbox SET due_at = now() - interval '2 hours' WHERE subject_id = '{id}' \
                 AND kind = 'reminder_soon' AND channel = 'email'"
        ),
    ] {
        app.exec(&sql).await;
    }
    let admin = app.login("admin@loket.example").await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive();
    let r = app
        .get_bearer(
            &format!(
                "/api/v1/admin/reports?from={}&to={}",
                today - chrono::Duration::days(1),
                today
            ),
            &admin,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let d = &r.body["deliveries"];
    let wa = d["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "whatsapp")
        .unwrap();
    assert!(
        wa["sent"].as_i64().unwrap() >= 1 && wa["delivered"].as_i64().unwrap() >= 1,
        "{wa}"
    );
    assert!(wa["failed"].as_i64().unwrap() >= 2, "{wa}");
    let email = d["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "email")
        .unwrap();
    assert!(email["skipped"].as_i64().unwrap() >= 1, "{email}");
    assert_eq!(d["reminders_not_arrived"], 1, "{d}");
}
