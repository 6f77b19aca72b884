//! Antrian, the same-day queue (DESIGN §10, docs/queue.md), over HTTP against a real Postgres:
//! taking numbers and every refusal, the number's own view and live stream, the clerk's calls
//! and what they hold in the appointments table, recall and skip, priority and moving, the
//! staff lines, the board, the reports, and the race between bookings and calls on one clerk.
//!
//! The queue is about *today*, so these tests do not depend on the hour they run at: each sets
//! the site's zone to one where it is mid-morning now (`Etc/GMT±N`), gives the chosen clerk
//! hours around that moment every day of the week, and removes the mall-wide holidays.

use chrono::{DateTime, Duration, NaiveTime, Timelike, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, mid_morning_zone, resp, spawn_app_with};
pub use crate::sse::event_until;

/// A Loket whose site is mid-morning now, and one service with one clerk working today.
pub struct Queue {
    pub app: TestApp,
    pub service: String,
    pub clerk: String,
    pub prefix: String,
    pub tz: chrono_tz::Tz,
}

pub async fn queue_app(change: impl FnOnce(&mut loket::config::Settings)) -> Queue {
    let tz = mid_morning_zone();
    let app = spawn_app_with(|s| {
        s.timezone = tz;
        change(s);
    })
    .await;
    // A service of an agency with a supervisor and another service, which one clerk serves
    // (supervisors serve their agency's services too; here only the clerk does). The queue asks
    // no NIK, whatever a booking of the service needs.
    let row = app
        .scalar(
            "SELECT s.slug || ' ' || min(st.email) FROM services s \
             JOIN staff_services ss ON ss.service_id = s.id \
             JOIN staff st ON st.id = ss.staff_id AND st.active AND st.role = 'clerk' \
             WHERE s.active \
               AND EXISTS (SELECT 1 FROM staff sv WHERE sv.agency_id = s.agency_id AND sv.role = 'supervisor') \
               AND (SELECT count(*) FROM services o WHERE o.agency_id = s.agency_id AND o.active) >= 2 \
             GROUP BY s.slug HAVING count(*) = 1 ORDER BY s.slug LIMIT 1",
        )
        .await
        .expect("the demo data has such a service");
    let (service, clerk) = row.split_once(' ').expect("slug and email");
    let (service, clerk) = (service.to_string(), clerk.to_string());
    app.exec(&format!(
        "DELETE FROM staff_services WHERE service_id = (SELECT id FROM services WHERE slug = '{service}') \
           AND staff_id <> (SELECT id FROM staff WHERE email = '{clerk}')"
    ))
    .await;
    app.exec("DELETE FROM closures").await;
    let q = Queue {
        prefix: app
            .scalar(&format!(
                "SELECT a.queue_prefix FROM services s JOIN agencies a ON a.id = s.agency_id \
                 WHERE s.slug = '{service}'"
            ))
            .await
            .expect("the service's agency letter"),
        app,
        service,
        clerk,
        tz,
    };
    q.set_hours(
        NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
    )
    .await;
    // 20 minutes and no buffer: the arithmetic below stays readable. No NIK either: the queue
    // never asks one, and the race test books this service too.
    q.app
        .exec(&format!(
            "UPDATE services SET duration_minutes = 20, buffer_minutes = 0, needs_nik = false \
             WHERE slug = '{}'",
            q.service
        ))
        .await;
    q
}

impl Queue {
    /// The clerk works `from`–`to` (site time) every day of the week.
    pub async fn set_hours(&self, from: NaiveTime, to: NaiveTime) {
        let id = self.app.staff_id(&self.clerk).await;
        self.app
            .exec(&format!("DELETE FROM weekly_hours WHERE staff_id = '{id}'"))
            .await;
        for wd in 1..=7 {
            self.app
                .exec(&format!(
                    "INSERT INTO weekly_hours (staff_id, weekday, starts, ends) \
                     VALUES ('{id}', {wd}, '{from}', '{to}')"
                ))
                .await;
        }
    }

    /// Site wall-clock time now, plus `minutes`, to the minute.
    pub fn local_in(&self, minutes: i64) -> NaiveTime {
        let t = (Utc::now() + Duration::minutes(minutes))
            .with_timezone(&self.tz)
            .time();
        NaiveTime::from_hms_opt(t.hour(), t.minute(), 0).unwrap()
    }

    pub async fn take(&self, mode: &str, name: &str, phone: Option<&str>) -> Resp {
        let mut citizen = json!({"name": name});
        if let Some(p) = phone {
            citizen["phone"] = json!(p);
        }
        self.app
            .post(
                "/api/v1/queue",
                &json!({"service": self.service, "mode": mode, "citizen": citizen, "consent": true}),
            )
            .await
    }

    /// Takes a number and answers (token, ticket id).
    pub async fn take_ok(&self, mode: &str, phone: Option<&str>) -> (String, String) {
        let r = self.take(mode, "Siti Aminah", phone).await;
        assert_eq!(r.status, 201, "{}", r.text);
        (
            r.body["token"].as_str().expect("token").to_string(),
            r.body["ticket"]["id"].as_str().expect("id").to_string(),
        )
    }

    pub async fn clerk_token(&self) -> String {
        self.app.login(&self.clerk).await
    }

    /// The service's agency's supervisor (the demo has one per agency chosen here).
    pub async fn supervisor_token(&self) -> String {
        let email = self
            .app
            .scalar(&format!(
                "SELECT st.email FROM staff st JOIN services s ON s.agency_id = st.agency_id \
                 WHERE s.slug = '{}' AND st.role = 'supervisor' ORDER BY st.email LIMIT 1",
                self.service
            ))
            .await
            .expect("a supervisor of the agency");
        self.app.login(&email).await
    }

    pub async fn next(&self, staff: &str, body: Value) -> Resp {
        self.app
            .post_bearer("/api/v1/staff/queue/next", staff, &body)
            .await
    }

    pub async fn current(&self, token: &str) -> Resp {
        self.app.get_bearer("/api/v1/queue/current", token).await
    }

    /// A staff action on a number: `recall`, `skip`, `serve`, `priority`, `move`.
    pub async fn act(&self, staff: &str, id: &str, action: &str, body: Value) -> Resp {
        self.app
            .post_bearer(&format!("/api/v1/staff/queue/{id}/{action}"), staff, &body)
            .await
    }

    /// The clerk closes a walk-in appointment as completed.
    pub async fn complete(&self, staff: &str, appointment: &str) {
        let r = self
            .app
            .post_bearer(
                &format!("/api/v1/staff/appointments/{appointment}/complete"),
                staff,
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    pub async fn appointment_status(&self, appointment: &str) -> Option<String> {
        self.app
            .scalar(&format!(
                "SELECT status FROM appointments WHERE id = '{appointment}'"
            ))
            .await
    }

    pub fn number(&self, n: u32) -> String {
        format!("{}-{n:03}", self.prefix)
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
        .expect("rfc3339")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn numbers_follow_the_agency_letter_and_the_day_and_stand_in_line() {
    let q = queue_app(|_| {}).await;
    let first = q.take("in_person", "Budi", None).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let t = &first.body["ticket"];
    assert_eq!(t["number"], q.number(1));
    assert_eq!(t["state"], "waiting");
    assert_eq!(t["mode"], "in_person");
    assert_eq!(t["position"], 1);
    assert_eq!(t["eta_minutes"], 0, "the clerk is free now: {t}");
    assert_eq!(t["service"]["slug"], q.service);
    assert!(
        first.body["links"]["join"].is_null(),
        "no room for a counter number"
    );
    let token = first.body["token"].as_str().unwrap();
    let status = first.body["links"]["status"].as_str().unwrap();
    assert!(status.ends_with(&format!("/queue#t={token}")), "{status}");

    let second = q.take("remote", "Ani", Some("081234567801")).await;
    assert_eq!(second.status, 201, "{}", second.text);
    let t2 = &second.body["ticket"];
    assert_eq!(t2["number"], q.number(2));
    assert_eq!(t2["position"], 2);
    assert_eq!(t2["eta_minutes"], 20, "behind one 20-minute number");
    assert!(
        second.body["links"]["join"]
            .as_str()
            .unwrap()
            .contains("/queue#t=")
    );

    // The token opens its own number, now.
    let now = q.current(second.body["token"].as_str().unwrap()).await;
    assert_eq!(now.status, 200, "{}", now.text);
    assert_eq!(now.body["number"], q.number(2));
    assert_eq!(now.body["position"], 2);
    assert_eq!(now.body["eta_minutes"], 20);
    assert!(
        now.body.get("citizen").is_none(),
        "the citizen view repeats no personal data"
    );

    // Yesterday's counter does not carry over: a number of an earlier day does not count.
    q.app.exec("UPDATE queue_tickets SET day = day - 1").await;
    q.app.exec("UPDATE queue_counters SET day = day - 1").await;
    let next_day = q.take("in_person", "Citra", None).await;
    assert_eq!(next_day.status, 201, "{}", next_day.text);
    assert_eq!(next_day.body["ticket"]["number"], q.number(1));
    assert_eq!(
        next_day.body["ticket"]["position"], 1,
        "yesterday's line is gone"
    );
    let old = q.current(token).await;
    assert_eq!(
        old.body["state"], "cancelled",
        "a number left waiting yesterday closed"
    );
}

#[tokio::test]
async fn taking_a_number_reports_every_bad_field_at_once() {
    let q = queue_app(|_| {}).await;
    let cases: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (
            json!({}),
            vec![
                ("service", "required"),
                ("mode", "required"),
                ("citizen.name", "required"),
                ("consent", "required"),
            ],
        ),
        (
            json!({"service": "no-such-service", "mode": "drive_through",
                   "citizen": {"name": "Budi", "phone": "12"}, "consent": true}),
            vec![
                ("service", "unknown"),
                ("mode", "invalid"),
                ("citizen.phone", "invalid"),
            ],
        ),
        (
            json!({"service": q.service, "mode": "remote", "citizen": {"name": "Budi"},
                   "consent": false}),
            vec![("citizen.phone", "required"), ("consent", "required")],
        ),
    ];
    for (body, expected) in cases {
        let r = q.app.post("/api/v1/queue", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["error"], "validation_failed");
        for (field, problem) in &expected {
            assert_eq!(r.body["fields"][field], *problem, "{body}: {}", r.text);
        }
        assert_eq!(
            r.body["fields"].as_object().map(|f| f.len()),
            Some(expected.len()),
            "{}",
            r.text
        );
    }
    assert_eq!(
        q.app
            .scalar("SELECT count(*) FROM queue_tickets")
            .await
            .as_deref(),
        Some("0"),
        "nothing written"
    );
}

#[tokio::test]
async fn the_queue_is_closed_outside_todays_hours_and_after_the_cutoff() {
    let q = queue_app(|_| {}).await;
    let refused = |r: &Resp, reason: &str| {
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
        assert_eq!(r.body["error"], "queue_closed", "{}", r.text);
        assert_eq!(r.body["reason"], reason, "{}", r.text);
    };
    // Opens in an hour.
    q.set_hours(q.local_in(60), q.local_in(180)).await;
    let r = q.take("in_person", "Budi", None).await;
    refused(&r, "not_yet_open");
    let opens = time(&r.body["opens_at"]);
    let expected = Utc::now() + Duration::minutes(60);
    assert!(
        (opens - expected).num_minutes().abs() <= 1,
        "{opens} vs {expected}"
    );
    // Closed an hour ago.
    q.set_hours(q.local_in(-180), q.local_in(-60)).await;
    refused(&q.take("in_person", "Budi", None).await, "after_hours");
    // Nobody works today.
    let id = q.app.staff_id(&q.clerk).await;
    q.app
        .exec(&format!("DELETE FROM weekly_hours WHERE staff_id = '{id}'"))
        .await;
    refused(&q.take("in_person", "Budi", None).await, "no_service_today");
    // A holiday closes it too.
    q.set_hours(q.local_in(-60), q.local_in(60)).await;
    q.app
        .exec("INSERT INTO closures (id, staff_id, period, reason) VALUES \
               (gen_random_uuid(), NULL, tstzrange(now() - interval '1 day', now() + interval '1 day'), 'Libur')")
        .await;
    refused(&q.take("in_person", "Budi", None).await, "no_service_today");
    q.app.exec("DELETE FROM closures").await;
    // 35 minutes left: one 20-minute number fits, the next would end after the clerk stops.
    q.set_hours(q.local_in(-60), q.local_in(36)).await;
    assert_eq!(q.take("in_person", "Budi", None).await.status, 201);
    refused(&q.take("in_person", "Ani", None).await, "past_cutoff");
}

#[tokio::test]
async fn a_service_gives_out_its_daily_cap_and_a_phone_its_limit() {
    let q = queue_app(|s| s.max_active_bookings = 2).await;
    // The agency's supervisor sets the service's daily cap; a clerk may not.
    let cap = |who: String, body: Value| {
        let app = &q.app;
        let path = format!("/api/v1/admin/services/{}/queue", q.service);
        async move { app.put_bearer(&path, &who, &body).await }
    };
    let clerk = q.clerk_token().await;
    let r = cap(clerk, json!({"daily_cap": 3})).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let supervisor = q.supervisor_token().await;
    let r = cap(supervisor.clone(), json!({"daily_cap": 0})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["fields"]["daily_cap"], "out_of_range");
    let r = cap(supervisor, json!({"daily_cap": 3})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["daily_cap"], 3);
    let phone = "081234567802";
    q.take_ok("remote", Some(phone)).await;
    q.take_ok("remote", Some(phone)).await;
    let third = q.take("remote", "Budi", Some(phone)).await;
    assert_eq!(third.status, 409, "{}", third.text);
    assert_eq!(third.body["error"], "too_many_active_bookings");
    // Another phone may take the last number of the day; then the day is full.
    q.take_ok("in_person", None).await;
    let full = q.take("in_person", "Budi", None).await;
    assert_eq!(full.status, 409, "{}", full.text);
    assert_eq!(full.body["error"], "queue_full");
    assert_eq!(
        q.app
            .scalar("SELECT count(*) FROM queue_tickets")
            .await
            .as_deref(),
        Some("3")
    );
}

#[tokio::test]
async fn a_phone_with_bookings_may_not_also_hoard_numbers() {
    let q = queue_app(|s| s.max_active_bookings = 2).await;
    let phone = "081234567803";
    // Two bookings another day with the same phone (the shared limit).
    let (other, _) = q.app.single_clerk_service().await;
    let day = crate::helpers::next_working_day(3);
    let slots = q.app.slots(&other, day).await;
    for s in &slots[..2] {
        let r = q.app.book(&other, *s, phone).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = q.take("remote", "Budi", Some(phone)).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "too_many_active_bookings");
}

#[tokio::test]
async fn a_call_holds_the_clerks_time_as_a_walk_in_appointment() {
    let q = queue_app(|_| {}).await;
    let staff = q.clerk_token().await;
    assert_eq!(
        q.next(&staff, json!({})).await.status,
        StatusCode::NO_CONTENT,
        "nobody waits yet"
    );
    let (token, id) = q.take_ok("in_person", None).await;
    let called = q.next(&staff, json!({"counter": "3"})).await;
    assert_eq!(called.status, 200, "{}", called.text);
    let t = &called.body["ticket"];
    assert_eq!(t["id"], id.as_str());
    assert_eq!(t["state"], "called");
    assert_eq!(t["counter"], "3");
    assert_eq!(t["calls"], 1);
    assert_eq!(
        t["citizen"]["name"], "Siti Aminah",
        "staff see who they call"
    );
    let appointment = t["appointment"].as_str().expect("the walk-in appointment");
    // The same table, kind walk_in, holding [now, now + 20 min) of this clerk.
    let row = q
        .app
        .scalar(&format!(
            "SELECT a.kind || ' ' || a.status || ' ' || s.email || ' ' || \
                    extract(epoch FROM upper(a.period) - lower(a.period))::int || ' ' || \
                    (abs(extract(epoch FROM lower(a.period) - now())) < 60)::text \
               FROM appointments a JOIN staff s ON s.id = a.staff_id WHERE a.id = '{appointment}'"
        ))
        .await;
    assert_eq!(row, Some(format!("walk_in booked {} 1200 true", q.clerk)));
    assert_eq!(
        q.app.events(appointment).await,
        format!("called@staff:{}", q.app.staff_id(&q.clerk).await)
    );
    // The clerk's day shows it like any appointment.
    let today = Utc::now().with_timezone(&q.tz).date_naive();
    let list = q
        .app
        .get_bearer(
            &format!(
                "/api/v1/staff/appointments?from={today}&to={}",
                today + Duration::days(1)
            ),
            &staff,
        )
        .await;
    assert!(
        list.body
            .as_array()
            .expect("a list")
            .iter()
            .any(|a| a["id"] == appointment),
        "{}",
        list.text
    );
    // The citizen sees the call.
    let now = q.current(&token).await;
    assert_eq!(now.body["state"], "called");
    assert_eq!(now.body["counter"], "3");
    assert!(now.body["position"].is_null());
    assert!(
        now.body.get("room").is_none(),
        "no room for a counter number"
    );

    // One line per clerk: no second call while the first holds the time.
    q.take_ok("in_person", None).await;
    let busy = q.next(&staff, json!({})).await;
    assert_eq!(busy.status, 409, "{}", busy.text);
    assert_eq!(busy.body["error"], "clerk_busy");
    assert!(busy.body["until"].is_string());
    // Finishing frees it; the number is done.
    let done = q
        .app
        .post_bearer(
            &format!("/api/v1/staff/appointments/{appointment}/complete"),
            &staff,
            &json!({"notes": "KTP selesai"}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(q.current(&token).await.body["state"], "done");
    let again = q.next(&staff, json!({"service": q.service})).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["ticket"]["number"], q.number(2));
}

#[tokio::test]
async fn no_call_when_a_booking_starts_before_the_service_would_end() {
    let q = queue_app(|_| {}).await;
    let staff = q.clerk_token().await;
    q.take_ok("in_person", None).await;
    let clerk = q.app.staff_id(&q.clerk).await;
    let service = q
        .app
        .scalar(&format!(
            "SELECT id FROM services WHERE slug = '{}'",
            q.service
        ))
        .await
        .unwrap();
    // A booking of this clerk in 10 minutes: a 20-minute walk-in would run into it.
    q.app
        .exec(&format!(
            "INSERT INTO appointments (id, code, service_id, staff_id, period, ends_at, citizen_name, citizen_phone) \
             VALUES (gen_random_uuid(), 'BKG00001', '{service}', '{clerk}', \
                     tstzrange(date_trunc('minute', now()) + interval '10 min', date_trunc('minute', now()) + interval '40 min'), \
                     date_trunc('minute', now()) + interval '40 min', 'Dewi', '+6281234567804')"
        ))
        .await;
    let r = q.next(&staff, json!({})).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "next_appointment_too_soon");
    let starts = time(&r.body["next_starts_at"]);
    assert!(
        starts > Utc::now() && starts < Utc::now() + Duration::minutes(11),
        "{starts}"
    );
    assert_eq!(
        q.app
            .scalar("SELECT count(*) FROM appointments WHERE kind = 'walk_in'")
            .await
            .as_deref(),
        Some("0"),
        "nothing held"
    );
    // Off duty: hours that end now refuse too, for the other reason.
    q.app
        .exec("DELETE FROM appointments WHERE code = 'BKG00001'")
        .await;
    q.set_hours(q.local_in(-120), q.local_in(5)).await;
    let off = q.next(&staff, json!({})).await;
    assert_eq!(off.status, 409, "{}", off.text);
    assert_eq!(off.body["error"], "off_duty");
    // A service the clerk does not serve, or that does not exist.
    let other = q
        .app
        .scalar(&format!(
            "SELECT slug FROM services WHERE slug <> '{}' AND id NOT IN \
             (SELECT service_id FROM staff_services WHERE staff_id = '{clerk}') LIMIT 1",
            q.service
        ))
        .await
        .unwrap();
    let r = q.next(&staff, json!({"service": other})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["fields"]["service"], "not_served");
    let r = q.next(&staff, json!({"service": "no-such"})).await;
    assert_eq!(r.body["fields"]["service"], "unknown");
    let r = q.next(&staff, json!({"counter": "3<script>"})).await;
    assert_eq!(r.body["fields"]["counter"], "invalid");
}

#[tokio::test]
async fn a_number_is_recalled_twice_and_skipped_after_the_grace() {
    let q = queue_app(|_| {}).await;
    let staff = q.clerk_token().await;
    let (token, id) = q.take_ok("in_person", None).await;
    q.next(&staff, json!({"counter": "2"})).await;
    for calls in [2, 3] {
        let r = q.act(&staff, &id, "recall", json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["ticket"]["calls"], calls);
    }
    let r = q.act(&staff, &id, "recall", json!({})).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "recall_limit");
    // The grace (3 minutes by default) runs from the last call.
    let skip = q.act(&staff, &id, "skip", json!({})).await;
    assert_eq!(skip.status, 409, "{}", skip.text);
    assert_eq!(skip.body["error"], "grace_not_over");
    let allowed = time(&skip.body["skip_allowed_at"]);
    assert!(allowed > Utc::now() + Duration::minutes(2), "{allowed}");
    // Three minutes later (moved in the database), the skip frees the clerk as a no-show.
    q.app
        .exec(&format!(
            "UPDATE queue_tickets SET last_called_at = last_called_at - interval '3 minutes' WHERE id = '{id}'"
        ))
        .await;
    let skip = q.act(&staff, &id, "skip", json!({})).await;
    assert_eq!(skip.status, 200, "{}", skip.text);
    assert_eq!(skip.body["ticket"]["state"], "skipped");
    let appointment = skip.body["ticket"]["appointment"].as_str().unwrap();
    assert_eq!(
        q.appointment_status(appointment).await.as_deref(),
        Some("no_show")
    );
    assert_eq!(q.current(&token).await.body["state"], "skipped");
    // A skipped number is not called again, and the clerk is free for the next.
    let r = q.act(&staff, &id, "recall", json!({})).await;
    assert_eq!(r.body["error"], "invalid_state");
    q.take_ok("in_person", None).await;
    assert_eq!(q.next(&staff, json!({})).await.status, 200);
}

#[tokio::test]
async fn serving_in_person_and_leaving_the_line() {
    let q = queue_app(|_| {}).await;
    let staff = q.clerk_token().await;
    let (_, id) = q.take_ok("in_person", None).await;
    q.next(&staff, json!({})).await;
    let served = q.act(&staff, &id, "serve", json!({})).await;
    assert_eq!(served.status, 200, "{}", served.text);
    assert_eq!(served.body["ticket"]["state"], "serving");
    // Leaving while waiting; leaving after the call gives the clerk's time back.
    let (waiting_token, _) = q.take_ok("remote", Some("081234567805")).await;
    let left = q
        .app
        .delete_bearer("/api/v1/queue/current", &waiting_token)
        .await;
    assert_eq!(left.status, 200, "{}", left.text);
    assert_eq!(left.body["state"], "cancelled");
    let again = q
        .app
        .delete_bearer("/api/v1/queue/current", &waiting_token)
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.body["error"], "invalid_state");
    // The served number is finished by its appointment; then a remote one is called and left.
    let appointment = served.body["ticket"]["appointment"]
        .as_str()
        .unwrap()
        .to_string();
    q.complete(&staff, &appointment).await;
    let (remote_token, remote_id) = q.take_ok("remote", Some("081234567806")).await;
    let called = q.next(&staff, json!({})).await;
    assert_eq!(called.body["ticket"]["id"], remote_id.as_str());
    let serve_remote = q.act(&staff, &remote_id, "serve", json!({})).await;
    assert_eq!(serve_remote.status, 409, "{}", serve_remote.text);
    assert_eq!(serve_remote.body["error"], "served_in_room");
    let left = q
        .app
        .delete_bearer("/api/v1/queue/current", &remote_token)
        .await;
    assert_eq!(left.body["state"], "cancelled", "{}", left.text);
    let walk_in = called.body["ticket"]["appointment"].as_str().unwrap();
    assert_eq!(
        q.appointment_status(walk_in).await.as_deref(),
        Some("cancelled")
    );
    assert_eq!(
        q.next(&staff, json!({})).await.status,
        StatusCode::NO_CONTENT,
        "the clerk is free again and nobody waits"
    );
}

#[tokio::test]
async fn a_called_remote_number_opens_its_room_at_once() {
    let q = queue_app(|_| {}).await;
    let staff = q.clerk_token().await;
    let (token, _) = q.take_ok("remote", Some("081234567807")).await;
    let before = q.current(&token).await;
    assert!(before.body.get("room").is_none(), "no room while waiting");
    // The number's token is no appointment's token.
    let r = q
        .app
        .get_bearer("/api/v1/appointments/current", &token)
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    q.next(&staff, json!({})).await;
    let now = q.current(&token).await;
    assert_eq!(now.body["state"], "called");
    let room = &now.body["room"];
    let room_token = room["token"].as_str().expect("a room token");
    assert!(
        room["join"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/join#t={room_token}"))
    );
    // That token opens the walk-in appointment and its room, now.
    let appt = q
        .app
        .get_bearer("/api/v1/appointments/current", room_token)
        .await;
    assert_eq!(appt.status, 200, "{}", appt.text);
    assert_eq!(appt.body["id"], room["appointment"]);
    let ticket = q
        .app
        .post_bearer("/api/v1/rooms/ticket", room_token, &json!({}))
        .await;
    assert_eq!(ticket.status, 200, "{}", ticket.text);
    let ws_url = ticket.body["ws_url"].as_str().unwrap();
    assert!(
        ws_url.contains("/api/v1/rooms/") && ws_url.contains("/ws?ticket="),
        "{ws_url}"
    );
    // And an appointment token does not open the queue.
    let r = q.current(room_token).await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn the_priority_group_is_served_first_when_a_clerk_marks_it() {
    let q = queue_app(|_| {}).await;
    let staff = q.clerk_token().await;
    let (first, _) = q.take_ok("in_person", None).await;
    let (_, second_id) = q.take_ok("in_person", None).await;
    let marked = q
        .act(&staff, &second_id, "priority", json!({"group": "lansia"}))
        .await;
    assert_eq!(marked.status, 200, "{}", marked.text);
    assert_eq!(marked.body["ticket"]["priority"], "lansia");
    assert_eq!(
        q.current(&first).await.body["position"],
        2,
        "the marked number goes first"
    );
    let bad = q
        .act(&staff, &second_id, "priority", json!({"group": "vip"}))
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let called = q.next(&staff, json!({})).await;
    assert_eq!(called.body["ticket"]["id"], second_id.as_str());
    // Only a waiting number can be marked.
    let late = q
        .act(&staff, &second_id, "priority", json!({"group": null}))
        .await;
    assert_eq!(late.status, 409, "{}", late.text);
    assert_eq!(late.body["error"], "invalid_state");
    // Staff of another agency are told it does not exist.
    let other = q
        .app
        .scalar(&format!(
            "SELECT st.email FROM staff st JOIN services s ON s.agency_id <> st.agency_id \
             WHERE s.slug = '{}' AND st.role = 'clerk' AND st.active LIMIT 1",
            q.service
        ))
        .await
        .unwrap();
    let outsider = q.app.login(&other).await;
    let (_, third) = q.take_ok("in_person", None).await;
    let r = q
        .act(&outsider, &third, "priority", json!({"group": "ibu_hamil"}))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = q.act(&outsider, &third, "recall", json!({})).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"], "ticket_not_found");
}

#[tokio::test]
async fn supervisors_see_the_lines_and_move_a_number() {
    let q = queue_app(|_| {}).await;
    let staff = q.clerk_token().await;
    let (token, id) = q.take_ok("in_person", None).await;
    q.take_ok("remote", Some("081234567808")).await;
    q.app
        .exec(&format!(
            "UPDATE queue_tickets SET taken_at = now() - interval '25 minutes' WHERE id = '{id}'"
        ))
        .await;
    let lines = q.app.get_bearer("/api/v1/staff/queue", &staff).await;
    assert_eq!(lines.status, 200, "{}", lines.text);
    let line = lines.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["service"]["slug"] == q.service.as_str())
        .expect("the clerk's line")
        .clone();
    assert_eq!(line["waiting"], 2);
    assert!(
        line["longest_wait_minutes"].as_i64().unwrap() >= 25,
        "{line}"
    );
    assert_eq!(line["served_today"], 0);
    assert_eq!(line["tickets"][0]["number"], q.number(1));
    assert_eq!(line["tickets"][0]["position"], 1);
    assert_eq!(line["tickets"][1]["mode"], "remote");

    // A supervisor of the agency moves the first number to another service of the agency.
    let (supervisor, target) = {
        let row = q
            .app
            .scalar(&format!(
                "SELECT st.email || ' ' || other.slug FROM services s \
                   JOIN staff st ON st.agency_id = s.agency_id AND st.role = 'supervisor' \
                   JOIN services other ON other.agency_id = s.agency_id AND other.id <> s.id AND other.active \
                  WHERE s.slug = '{}' LIMIT 1",
                q.service
            ))
            .await
            .expect("a supervisor and a second service in the agency");
        let (a, b) = row.split_once(' ').unwrap();
        (a.to_string(), b.to_string())
    };
    let clerk_move = q.act(&staff, &id, "move", json!({"service": target})).await;
    assert_eq!(clerk_move.status, 403, "{}", clerk_move.text);
    let sup = q.app.login(&supervisor).await;
    let foreign = q
        .app
        .scalar(&format!(
            "SELECT s2.slug FROM services s JOIN services s2 ON s2.agency_id <> s.agency_id \
             WHERE s.slug = '{}' AND s2.active LIMIT 1",
            q.service
        ))
        .await
        .unwrap();
    let r = q.act(&sup, &id, "move", json!({"service": foreign})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["fields"]["service"], "other_agency");
    let moved = q.act(&sup, &id, "move", json!({"service": target})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["ticket"]["service"]["slug"], target.as_str());
    assert_eq!(
        moved.body["ticket"]["number"],
        q.number(1),
        "it keeps its number"
    );
    let now = q.current(&token).await;
    assert_eq!(now.body["service"]["slug"], target.as_str());
    assert_eq!(now.body["position"], 1);
    // The supervisor sees the agency's lines; naming another agency is refused.
    let all = q.app.get_bearer("/api/v1/staff/queue", &sup).await;
    assert!(
        all.body["lines"].as_array().unwrap().len() >= 2,
        "{}",
        all.text
    );
    let other_agency = q
        .app
        .scalar(&format!(
            "SELECT a.slug FROM agencies a WHERE a.id <> (SELECT agency_id FROM services WHERE slug = '{}') LIMIT 1",
            q.service
        ))
        .await
        .unwrap();
    let r = q
        .app
        .get_bearer(&format!("/api/v1/staff/queue?agency={other_agency}"), &sup)
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
}

#[tokio::test]
async fn the_board_shows_numbers_called_in_person_and_says_them() {
    let q = queue_app(|_| {}).await;
    let staff = q.clerk_token().await;
    let empty = q.app.get("/api/v1/board").await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(empty.body["agencies"], json!([]));
    q.take_ok("in_person", None).await;
    let called = q.next(&staff, json!({"counter": "3"})).await;
    assert_eq!(called.status, 200, "{}", called.text);
    let board = q.app.get("/api/v1/board").await;
    let agency = &board.body["agencies"][0];
    assert_eq!(agency["prefix"], q.prefix.as_str());
    let call = &agency["calls"][0];
    assert_eq!(call["number"], q.number(1));
    assert_eq!(call["counter"], "3");
    let letters: Vec<String> = q.prefix.chars().map(String::from).collect();
    assert_eq!(
        call["announcement"],
        format!(
            "Nomor antrian {} satu, silakan ke loket tiga",
            letters.join(" ")
        )
    );
    assert!(
        !board.text.contains("Siti Aminah"),
        "no personal data on the board"
    );
    let first_call = call["call_id"].as_str().unwrap().to_string();
    // A recall is a new call to announce.
    let id = called.body["ticket"]["id"].as_str().unwrap();
    q.act(&staff, id, "recall", json!({})).await;
    let again = q.app.get("/api/v1/board").await;
    assert_ne!(
        again.body["agencies"][0]["calls"][0]["call_id"],
        first_call.as_str()
    );
    // One agency by slug; an unknown one is refused.
    let slug = agency["slug"].as_str().unwrap();
    let one = q.app.get(&format!("/api/v1/board?agency={slug}")).await;
    assert_eq!(one.body["agencies"].as_array().unwrap().len(), 1);
    let r = q.app.get("/api/v1/board?agency=no-such").await;
    assert_eq!(r.status, 422, "{}", r.text);
    // Remote numbers stay off the board.
    let appointment = called.body["ticket"]["appointment"].as_str().unwrap();
    q.complete(&staff, appointment).await;
    q.take_ok("remote", Some("081234567809")).await;
    assert_eq!(q.next(&staff, json!({})).await.status, 200);
    let board = q.app.get("/api/v1/board").await;
    assert_eq!(board.body["agencies"], json!([]), "{}", board.text);
}

#[tokio::test]
async fn a_waiting_citizen_sees_their_new_position_live_and_the_call() {
    let q = queue_app(|_| {}).await;
    let staff = q.clerk_token().await;
    q.take_ok("in_person", None).await;
    let (token, _) = q.take_ok("remote", Some("081234567810")).await;
    let mut stream = q
        .app
        .client
        .get(q.app.url("/api/v1/queue/current/events"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("events");
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut buf = String::new();
    let first = event_until(&mut stream, &mut buf, "ticket", |_| true).await;
    assert_eq!(first["position"], 2);
    assert_eq!(first["eta_minutes"], 20);
    let called = q.next(&staff, json!({})).await;
    assert_eq!(called.status, 200);
    let moved = event_until(&mut stream, &mut buf, "ticket", |t| t["position"] == 1).await;
    assert_eq!(moved["state"], "waiting");
    assert_eq!(
        moved["eta_minutes"], 20,
        "behind the number now being served"
    );
    // Its own call comes through the same stream, with the room.
    let appointment = called.body["ticket"]["appointment"].as_str().unwrap();
    q.complete(&staff, appointment).await;
    q.next(&staff, json!({})).await;
    let mine = event_until(&mut stream, &mut buf, "ticket", |t| t["state"] == "called").await;
    assert!(mine["room"]["join"].as_str().unwrap().contains("/join#t="));
    // No token, no stream; a bad one neither.
    let r = q.app.get("/api/v1/queue/current/events").await;
    assert_eq!(r.status, 401);
    let r = q
        .app
        .get_bearer("/api/v1/queue/current/events", "nonsense")
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn the_boards_stream_announces_each_call() {
    let q = queue_app(|_| {}).await;
    let staff = q.clerk_token().await;
    let mut stream = q
        .app
        .client
        .get(q.app.url("/api/v1/board/events"))
        .send()
        .await
        .expect("board events");
    assert_eq!(stream.status(), 200);
    let mut buf = String::new();
    let first = event_until(&mut stream, &mut buf, "board", |_| true).await;
    assert_eq!(first["agencies"], json!([]));
    q.take_ok("in_person", None).await;
    q.next(&staff, json!({"counter": "7"})).await;
    let board = event_until(&mut stream, &mut buf, "board", |b| {
        b["agencies"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let call = &board["agencies"][0]["calls"][0];
    assert_eq!(call["number"], q.number(1));
    assert!(
        call["announcement"]
            .as_str()
            .unwrap()
            .ends_with("silakan ke loket tujuh")
    );
}

#[tokio::test]
async fn reports_count_the_queue() {
    let q = queue_app(|_| {}).await;
    let staff = q.clerk_token().await;
    q.take_ok("in_person", None).await;
    let (_, skipped) = q.take_ok("in_person", None).await;
    let (left, _) = q.take_ok("in_person", None).await;
    q.app.delete_bearer("/api/v1/queue/current", &left).await;
    let first = q.next(&staff, json!({})).await;
    let appointment = first.body["ticket"]["appointment"]
        .as_str()
        .unwrap()
        .to_string();
    q.app
        .exec("UPDATE queue_tickets SET called_at = taken_at + interval '6 minutes' WHERE called_at IS NOT NULL")
        .await;
    q.complete(&staff, &appointment).await;
    q.next(&staff, json!({})).await;
    q.app
        .exec(&format!(
            "UPDATE queue_tickets SET last_called_at = now() - interval '4 minutes', \
             called_at = taken_at + interval '10 minutes' WHERE id = '{skipped}'"
        ))
        .await;
    let r = q.act(&staff, &skipped, "skip", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let admin = q.app.login("admin@loket.example").await;
    let today = Utc::now().with_timezone(&q.tz).date_naive();
    let report = q
        .app
        .get_bearer(
            &format!("/api/v1/admin/reports?from={today}&to={today}"),
            &admin,
        )
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    let overall = &report.body["overall"]["queue"];
    assert_eq!(overall["taken"], 3, "{}", report.text);
    assert_eq!(overall["served"], 1);
    assert_eq!(overall["skipped"], 1);
    assert_eq!(overall["cancelled"], 1);
    assert_eq!(overall["mean_wait_minutes"], 8.0, "(6 + 10) / 2");
}

#[tokio::test]
async fn bookings_and_calls_racing_for_one_clerk_never_overlap() {
    // Bookings may start now, so a booking of the next slot and a walk-in called now compete
    // for the same minutes of the same clerk.
    let q = queue_app(|s| s.min_notice_minutes = 0).await;
    let staff = q.clerk_token().await;
    let clerk = q.app.staff_id(&q.clerk).await;
    // The first and last rounds settle who wins by sending one side only after the other has
    // answered, so both ways of losing are always exercised (which side wins a true race depends
    // on the machine's load: a call does more work before its insert, so bookings mostly win).
    // The rounds between race both sides, the bookings held back a little more each time.
    let rounds = [
        Round::BookingsFirst,
        Round::Race(0),
        Round::Race(0),
        Round::Race(10),
        Round::Race(30),
        Round::Race(100),
        Round::CallsFirst,
    ];
    let (mut booked, mut called) = (0, 0);
    for (round, order) in rounds.into_iter().enumerate() {
        // A fresh line of numbers and the next free slot of this clerk.
        q.app
            .exec("UPDATE queue_tickets SET state = 'cancelled' WHERE state = 'waiting'")
            .await;
        for _ in 0..2 {
            q.take_ok("in_person", None).await;
        }
        let today = Utc::now().with_timezone(&q.tz).date_naive();
        let slots = q.app.slots(&q.service, today).await;
        let Some(&slot) = slots.first() else {
            panic!("round {round}: no free slot today")
        };
        assert!(
            slot < Utc::now() + Duration::minutes(20),
            "the slot overlaps a call now: {slot}"
        );
        let book = |i: usize, delay: u64| {
            let url = q.app.url("/api/v1/appointments");
            let client = q.app.client.clone();
            let body = json!({"service": q.service, "starts_at": slot.to_rfc3339(),
                "citizen": {"name": "Budi", "phone": format!("0812345679{round}{i}")},
                "consent": true});
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                let r = resp(client.post(url).json(&body).send().await.expect("book")).await;
                ("book", r.status, r.text)
            })
        };
        let call = || {
            let url = q.app.url("/api/v1/staff/queue/next");
            let client = q.app.client.clone();
            let staff = staff.clone();
            tokio::spawn(async move {
                let r = resp(
                    client
                        .post(url)
                        .bearer_auth(staff)
                        .json(&json!({}))
                        .send()
                        .await
                        .expect("call"),
                )
                .await;
                ("call", r.status, r.text)
            })
        };
        let mut answers = Vec::new();
        match order {
            Round::Race(delay) => {
                let mut tasks = Vec::new();
                for i in 0..6 {
                    tasks.push(book(i, delay));
                    tasks.push(call());
                }
                for t in tasks {
                    answers.push(t.await.expect("task"));
                }
            }
            Round::BookingsFirst | Round::CallsFirst => {
                // A spawned task starts at once: the second side is spawned only after the
                // first side's answers are in.
                let bookings_first = order == Round::BookingsFirst;
                for bookings_side in [bookings_first, !bookings_first] {
                    let side: Vec<_> = if bookings_side {
                        (0..6).map(|i| book(i, 0)).collect()
                    } else {
                        (0..6).map(|_| call()).collect()
                    };
                    for t in side {
                        answers.push(t.await.expect("task"));
                    }
                }
            }
        }
        let (mut round_booked, mut round_called) = (0, 0);
        for (kind, status, text) in answers {
            match (kind, status.as_u16()) {
                ("book", 201) => round_booked += 1,
                ("call", 200) => round_called += 1,
                ("book", 409) => assert!(text.contains("slot_taken"), "{text}"),
                ("call", 409) => assert!(
                    text.contains("clerk_busy") || text.contains("next_appointment_too_soon"),
                    "{text}"
                ),
                other => panic!("round {round}: unexpected answer {other:?}: {text}"),
            }
        }
        assert_eq!(
            round_booked + round_called,
            1,
            "round {round}: exactly one request gets the clerk's time"
        );
        match order {
            Round::BookingsFirst => assert_eq!(round_booked, 1, "round {round}"),
            Round::CallsFirst => assert_eq!(round_called, 1, "round {round}"),
            Round::Race(_) => {}
        }
        (booked, called) = (booked + round_booked, called + round_called);
        // Whatever won, the clerk's active appointments never overlap.
        let overlaps = q
            .app
            .scalar(&format!(
                "SELECT count(*) FROM appointments a JOIN appointments b \
                   ON a.id < b.id AND a.staff_id = b.staff_id AND a.period && b.period \
                WHERE a.staff_id = '{clerk}' AND a.active AND b.active"
            ))
            .await;
        assert_eq!(overlaps.as_deref(), Some("0"), "round {round}");
        // Clear the clerk for the next round.
        q.app
            .exec(&format!(
                "UPDATE appointments SET status = 'completed' WHERE staff_id = '{clerk}' AND active"
            ))
            .await;
    }
    println!("bookings won {booked}, calls won {called}");
}

/// How a round of [`bookings_and_calls_racing_for_one_clerk_never_overlap`] sends its requests.
#[derive(Clone, Copy, PartialEq)]
enum Round {
    /// Both sides at once, the bookings after this many milliseconds.
    Race(u64),
    /// The calls only after every booking answered.
    BookingsFirst,
    /// The bookings only after every call answered.
    CallsFirst,
}

#[tokio::test]
async fn a_walk_in_shows_as_busy_in_the_free_times_at_once() {
    // Bookings may start now, so the next free slot is minutes away and a call now takes it.
    let q = queue_app(|s| s.min_notice_minutes = 0).await;
    let staff = q.clerk_token().await;
    let today = Utc::now().with_timezone(&q.tz).date_naive();
    let before = q.app.slots(&q.service, today).await;
    let next = *before.first().expect("a free slot today");
    assert!(next < Utc::now() + Duration::minutes(20), "{next}");
    q.take_ok("in_person", None).await;
    assert_eq!(q.next(&staff, json!({})).await.status, 200);
    let after = q.app.slots(&q.service, today).await;
    assert!(
        !after.contains(&next),
        "the walk-in's time is no longer offered"
    );
    // No offered time overlaps the walk-in: the slot computation sees it like any appointment
    // (the starts after it follow from its end, as after a booking).
    let held = q
        .app
        .scalar("SELECT extract(epoch FROM upper(period))::bigint FROM appointments WHERE kind = 'walk_in'")
        .await
        .and_then(|v| v.parse::<i64>().ok())
        .expect("the walk-in's end");
    assert!(!after.is_empty(), "the rest of the day is still offered");
    for s in &after {
        assert!(
            s.timestamp() >= held,
            "{s} overlaps the walk-in (until {held})"
        );
    }
    // Booking that time is refused like any taken slot.
    let r = q.app.book(&q.service, next, "081234567811").await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "slot_taken");
}

#[tokio::test]
async fn a_hold_whose_time_is_up_does_not_keep_a_number_from_being_called() {
    // Bookings are held until confirmed here, may start now, and the node's reaper does not
    // come by within the test: the call itself must end the expired hold in its way.
    let q = queue_app(|s| {
        s.min_notice_minutes = 0;
        s.booking_confirmation = loket::domain::hold::Confirmation::Otp;
        s.hold_reap_seconds = 3600;
    })
    .await;
    let staff = q.clerk_token().await;
    let today = Utc::now().with_timezone(&q.tz).date_naive();
    let next = *q
        .app
        .slots(&q.service, today)
        .await
        .first()
        .expect("a free slot today");
    assert!(next < Utc::now() + Duration::minutes(20), "{next}");
    let held = q.app.book(&q.service, next, "081234567890").await;
    assert_eq!(held.status, 201, "{}", held.text);
    assert_eq!(held.body["appointment"]["status"], "held");
    let id = held.body["appointment"]["id"].as_str().unwrap().to_string();
    // Held, it takes the clerk's time: no call.
    q.take_ok("in_person", None).await;
    let refused = q.next(&staff, json!({})).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.body["error"], "next_appointment_too_soon");
    // Its time runs out: the number is called at once, and the hold is ended.
    q.app
        .exec(&format!(
            "UPDATE appointments SET hold_expires_at = now() - interval '1 second' WHERE id = '{id}'"
        ))
        .await;
    let called = q.next(&staff, json!({})).await;
    assert_eq!(called.status, 200, "{}", called.text);
    assert_eq!(
        q.appointment_status(&id).await.as_deref(),
        Some("cancelled")
    );
}
