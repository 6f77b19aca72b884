//! Consultation rooms against a real server with real WebSocket clients: the order of events of
//! a whole consultation, every refusal of tickets and sockets, the waiting-room rules, the
//! limits (frame size, flood, room size), reconnection, heartbeat and shutdown.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use loket::db::tickets::Ticket;
use loket::domain::ids::AppointmentId;
use loket::signalling::protocol::Role;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::ws::{A_MONTH_EARLY, Call, Connect, Ws, booking, in_call, open_app};

#[tokio::test]
async fn a_full_consultation_runs_in_order_and_leaves_an_audit_trail() {
    let app = open_app().await;
    let (token, id, clerk_token) = booking(&app, "081200000001").await;

    // The citizen arrives first and waits, seeing no one.
    let mut citizen = app.join(&token, None).await;
    let w = citizen.expect("welcome").await;
    assert_eq!(w["state"], "waiting");
    assert_eq!(w["you"]["role"], "citizen");
    assert_eq!(w["you"]["name"], "Budi Santoso");
    assert_eq!(w["room"], id.as_str());
    assert_eq!(w["peers"], json!([]));
    assert!(w["ice_servers"].is_array());
    citizen.expect("waiting").await;
    app.wait_status(&id, "waiting").await;

    // The clerk sees the citizen waiting at once.
    let mut clerk = app.join(&clerk_token, Some(&id)).await;
    let cw = clerk.expect("welcome").await;
    assert_eq!(cw["state"], "admitted");
    assert_eq!(cw["you"]["role"], "clerk");
    let peers = cw["peers"].as_array().expect("peers");
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0]["id"], w["you"]["id"]);
    assert_eq!(peers[0]["state"], "waiting");
    let citizen_id = w["you"]["id"].clone();
    let clerk_id = cw["you"]["id"].clone();

    // "Lima menit lagi": chat reaches the waiting citizen, stamped by the server.
    clerk
        .send(json!({"type": "chat", "text": "lima menit lagi"}))
        .await;
    let chat = citizen.expect("chat").await;
    assert_eq!(chat["from"], clerk_id);
    assert_eq!(chat["text"], "lima menit lagi");
    assert!(chrono::DateTime::parse_from_rfc3339(chat["at"].as_str().expect("at")).is_ok());

    // Admit: admitted + peer_joined both ways.
    clerk
        .send(json!({"type": "admit", "participant": citizen_id}))
        .await;
    citizen.expect("admitted").await;
    let pj = citizen.expect("peer_joined").await;
    assert_eq!(pj["peer"]["id"], clerk_id);
    let pj = clerk.expect("peer_joined").await;
    assert_eq!(pj["peer"]["id"], citizen_id);
    assert_eq!(pj["peer"]["state"], "admitted");
    app.wait_status(&id, "in_call").await;

    // Signals both ways, opaque, in the browser's JSON forms.
    let offer =
        json!({"description": {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"}});
    clerk
        .send(json!({"type": "signal", "to": citizen_id, "payload": offer}))
        .await;
    let s = citizen.expect("signal").await;
    assert_eq!(s["from"], clerk_id);
    assert_eq!(s["payload"], offer);
    let candidate = json!({"candidate": {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}});
    citizen
        .send(json!({"type": "signal", "to": clerk_id, "payload": candidate}))
        .await;
    let s = clerk.expect("signal").await;
    assert_eq!(s["from"], citizen_id);
    assert_eq!(s["payload"], candidate);

    // Chat in the call, both ways.
    citizen
        .send(json!({"type": "chat", "text": "terima kasih"}))
        .await;
    assert_eq!(clerk.expect("chat").await["text"], "terima kasih");

    // Ping/pong at the application level.
    citizen.send(json!({"type": "ping"})).await;
    citizen.expect("pong").await;

    // The clerk completes over HTTP: the room closes for both and the status is stored.
    let r = app
        .post_bearer(
            &format!("/api/v1/staff/appointments/{id}/complete"),
            &clerk_token,
            &json!({"notes": "IMB dijelaskan"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(citizen.closed().await, (1000, Some("completed".into())));
    assert_eq!(clerk.closed().await, (1000, Some("completed".into())));
    app.wait_status(&id, "completed").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT string_agg(kind || '/' || actor, ',' ORDER BY id) FROM appointment_events WHERE appointment_id = '{id}'"
        ))
        .await
        .as_deref()
        .map(|s| s.split(',').map(|e| e.split('/').next().unwrap_or("").to_string()).collect::<Vec<_>>()),
        Some(vec!["booked".into(), "waiting".into(), "in_call".into(), "completed".into()])
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT actor FROM appointment_events WHERE appointment_id = '{id}' AND kind = 'waiting'"
        ))
        .await
        .as_deref(),
        Some("citizen")
    );
    assert!(
        app.scalar(&format!(
            "SELECT actor FROM appointment_events WHERE appointment_id = '{id}' AND kind = 'in_call'"
        ))
        .await
        .is_some_and(|a| a.starts_with("staff:"))
    );
    // A completed appointment's room cannot be entered again.
    let r = app.ticket(&token, None).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "appointment_completed");
}

#[tokio::test]
async fn the_clerks_dashboard_feed_sees_the_citizen_waiting() {
    let app = open_app().await;
    let (token, id, clerk_token) = booking(&app, "081200000002").await;
    let mut feed = app
        .client
        .get(app.url("/api/v1/staff/feed"))
        .bearer_auth(&clerk_token)
        .send()
        .await
        .expect("feed");
    assert_eq!(feed.status(), 200);
    let _citizen = app.join(&token, None).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    while !seen.contains(&format!("\"appointment\":\"{id}\""))
        || !seen.contains("\"citizen_waiting\":true")
    {
        assert!(Instant::now() < deadline, "feed showed: {seen}");
        let chunk = tokio::time::timeout(Duration::from_secs(10), feed.chunk())
            .await
            .expect("feed chunk in time")
            .expect("feed chunk");
        if let Some(c) = chunk {
            seen.push_str(&String::from_utf8_lossy(&c));
        }
    }
}

#[tokio::test]
async fn a_citizen_leaving_the_waiting_room_puts_the_booking_back() {
    let app = open_app().await;
    let (token, id, _) = booking(&app, "081200000003").await;
    let mut citizen = app.join(&token, None).await;
    citizen.expect("welcome").await;
    app.wait_status(&id, "waiting").await;
    citizen.send(json!({"type": "leave"})).await;
    assert_eq!(citizen.closed().await, (1000, Some("left".into())));
    app.wait_status(&id, "booked").await;
}

#[tokio::test]
async fn tickets_are_refused_with_clear_codes() {
    let app = open_app().await;
    let (token_a, id_a, clerk_a) = booking(&app, "081200000004").await;
    let (_, body_b) = app.book_first("pbg", "081200000005").await;
    let id_b = body_b["appointment"]["id"].as_str().expect("id");
    let code_b = body_b["appointment"]["code"].as_str().expect("code");

    // No credentials at all (a client without the staff cookie), or a forged one.
    let r = crate::helpers::resp(
        reqwest::Client::new()
            .post(app.url("/api/v1/rooms/ticket"))
            .json(&json!({"appointment": id_a}))
            .send()
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = app.ticket("not.a.token", Some(&id_a)).await;
    assert_eq!(r.status, 401, "{}", r.text);

    // A citizen token of booking A opens A's room only.
    for other in [id_b, code_b] {
        let r = app.ticket(&token_a, Some(other)).await;
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.body["error"], "not_your_appointment");
    }
    let own = app.ticket(&token_a, Some(&id_a)).await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.body["role"], "citizen");
    assert!(own.body["ticket"].as_str().expect("ticket").len() >= 43);
    assert!(
        own.body["ws_url"]
            .as_str()
            .expect("ws_url")
            .starts_with(&format!(
                "ws://127.0.0.1:{}/api/v1/rooms/{id_a}/ws?ticket=",
                app.port
            )),
        "the socket's URL names its room (a load balancer pins a room's sockets by it)"
    );

    // A clerk of another agency cannot, and is not told the appointment exists.
    let other_clerk = app
        .scalar(
            "SELECT s.email FROM staff s JOIN agencies g ON g.id = s.agency_id \
             WHERE g.slug = 'disdukcapil' AND s.role = 'clerk' ORDER BY s.email LIMIT 1",
        )
        .await
        .expect("a disdukcapil clerk");
    let other = app.login(&other_clerk).await;
    let r = app.ticket(&other, Some(&id_a)).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"], "appointment_not_found");

    // Staff must name the appointment; by id or by booking code.
    let r = app.ticket(&clerk_a, None).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["fields"]["appointment"], "required");
    let code_a = app
        .scalar(&format!(
            "SELECT code FROM appointments WHERE id = '{id_a}'"
        ))
        .await
        .expect("code");
    let r = app.ticket(&clerk_a, Some(&code_a.to_lowercase())).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["role"], "clerk");
    let r = app.ticket(&clerk_a, Some("ZZZZZZZZ")).await;
    assert_eq!(r.status, 404, "{}", r.text);

    // The agency's supervisor joins a booking of another clerk as supervisor, and a booking of
    // their own (supervisors serve too) as its clerk; the admin joins as supervisor. pbg has
    // two clerks, the supervisor one of them, and A and B took the same first free time: one
    // went to each.
    let sup = app.login("supervisor@loket.example").await;
    let (own, others) = if app.clerk_email(id_b).await == "supervisor@loket.example" {
        (id_b, id_a.as_str())
    } else {
        (id_a.as_str(), id_b)
    };
    assert_eq!(app.clerk_email(own).await, "supervisor@loket.example");
    assert_ne!(app.clerk_email(others).await, "supervisor@loket.example");
    for (appointment, role) in [(others, "supervisor"), (own, "clerk")] {
        let r = app.ticket(&sup, Some(appointment)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["role"], role, "{}", r.text);
    }
    let admin = app.login("admin@loket.example").await;
    let r = app.ticket(&admin, Some(&id_a)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["role"], "supervisor");
}

#[tokio::test]
async fn a_room_is_not_open_too_early_and_says_when_it_opens() {
    // Default settings: the room opens 15 minutes before a start days away.
    let app = spawn_app().await;
    let (token, body) = app.book_first("pbg", "081200000006").await;
    let r = app.ticket(&token, None).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "room_not_open");
    let starts = chrono::DateTime::parse_from_rfc3339(
        body["appointment"]["starts_at"]
            .as_str()
            .expect("starts_at"),
    )
    .expect("rfc3339");
    let opens =
        chrono::DateTime::parse_from_rfc3339(r.body["opens_at"].as_str().expect("opens_at"))
            .expect("rfc3339");
    assert_eq!(starts - opens, chrono::Duration::minutes(15));
}

#[tokio::test]
async fn a_room_is_closed_after_the_grace_period() {
    let app = open_app().await;
    let (token, id, _) = booking(&app, "081200000007").await;
    // Move the appointment into the past (an hour ago, longer ago than the 30 minute grace).
    app.exec(&format!(
        "UPDATE appointments SET period = tstzrange(now() - interval '2 hours', now() - interval '90 minutes'), \
         ends_at = now() - interval '90 minutes' WHERE id = '{id}'"
    ))
    .await;
    let r = app.ticket(&token, None).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "room_closed");
}

#[tokio::test]
async fn cancelled_and_no_show_appointments_get_no_ticket() {
    let app = open_app().await;
    let (token, _, _) = booking(&app, "081200000008").await;
    let r = app
        .post_bearer("/api/v1/appointments/current/cancel", &token, &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.ticket(&token, None).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "appointment_cancelled");

    let (token, id, clerk) = booking(&app, "081200000009").await;
    app.started_ago(&id, 20).await;
    let r = app
        .post_bearer(
            &format!("/api/v1/staff/appointments/{id}/no-show"),
            &clerk,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.ticket(&token, None).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"], "appointment_closed");
}

#[tokio::test]
async fn bad_tickets_get_a_plain_401_and_no_socket() {
    let app = open_app().await;
    let (token, id, _) = booking(&app, "081200000010").await;
    let base = app.ws_base();
    let refused = |c: Connect| match c {
        Connect::Refused(s) => s,
        Connect::Open(_) => panic!("a socket was opened"),
    };
    // No ticket, an empty one, a forged one, one too long to be real.
    for url in [
        base.clone(),
        format!("{base}?ticket="),
        format!("{base}?ticket=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        format!("{base}?ticket={}", "A".repeat(200)),
    ] {
        assert_eq!(refused(Ws::connect(&url).await), 401, "{url}");
    }
    // A NUL in the query is refused before any route sees it (400 `invalid_characters`).
    assert_eq!(
        refused(Ws::connect(&format!("{base}?ticket=%00%01")).await),
        400
    );
    // Used once: good; twice: 401.
    let url = app.ws_url(&token, None).await;
    let mut first = Ws::open(&url).await;
    first.expect("welcome").await;
    assert_eq!(refused(Ws::connect(&url).await), 401);
    // Expired.
    let url = app.ws_url(&token, None).await;
    app.exec(
        "UPDATE room_tickets SET expires_at = now() - interval '1 second' WHERE used_at IS NULL",
    )
    .await;
    assert_eq!(refused(Ws::connect(&url).await), 401);
    // A plain GET (no upgrade) with a good ticket does not burn it.
    let url = app.ws_url(&token, None).await;
    let plain = app
        .client
        .get(url.replace("ws://", "http://"))
        .send()
        .await
        .expect("GET");
    assert_eq!(plain.status(), 400);
    // The room is the ticket's appointment, whatever else the URL names.
    let (_, other) = app.book_first("pbg", "081200000011").await;
    let other_id = other["appointment"]["id"].as_str().expect("id");
    let mut ws = Ws::open(&format!("{url}&room={other_id}&appointment={other_id}")).await;
    let w = ws.expect("welcome").await;
    assert_eq!(w["room"], id.as_str());
    drop(ws);
    // Under the path that names a room, another room's ticket is refused (it could split a room
    // across nodes); the first path without a room still works.
    let url = app.ws_url(&token, None).await;
    let wrong = url.replace(&format!("/rooms/{id}/ws"), &format!("/rooms/{other_id}/ws"));
    assert_ne!(wrong, url);
    assert_eq!(refused(Ws::connect(&wrong).await), 409);
    let url = app.ws_url(&token, None).await;
    let old = url.replace(&format!("/rooms/{id}/ws"), "/rooms/ws");
    assert_ne!(old, url);
    let mut ws = Ws::open(&old).await;
    assert_eq!(ws.expect("welcome").await["room"], id.as_str());
}

/// `count` fresh citizen tickets for the appointment `id`.
async fn tickets(app: &TestApp, id: &str, count: usize) -> Vec<Ticket> {
    let appointment = AppointmentId(id.parse().expect("appointment id"));
    let mut conn = app.state.pool.get().await.expect("connection");
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let (ticket, _) = loket::db::tickets::create(&mut conn, appointment, Role::Citizen, None)
            .await
            .expect("ticket");
        out.push(ticket);
    }
    out
}

#[tokio::test]
async fn a_ticket_named_twice_in_one_batch_is_granted_once() {
    let app = open_app().await;
    let (_, id, _) = booking(&app, "081200000012").await;
    let mut ts = tickets(&app, &id, 2).await;
    let (a, b) = (ts.remove(0), ts.remove(0));
    let mut conn = app.state.pool.get().await.expect("connection");
    // One statement: `a` three times, `b` once.
    let granted = loket::db::tickets::redeem_many(
        &mut conn,
        &[a.expose(), b.expose(), a.expose(), a.expose()],
    )
    .await
    .expect("redeem");
    let mut names: Vec<&str> = granted.iter().map(|(t, _)| t.as_str()).collect();
    names.sort_unstable();
    let mut want = vec![a.expose(), b.expose()];
    want.sort_unstable();
    assert_eq!(names, want);
    assert!(
        granted
            .iter()
            .all(|(_, r)| r.appointment.0.to_string() == id)
    );
    // And never again.
    let again = loket::db::tickets::redeem_many(&mut conn, &[a.expose(), b.expose()])
        .await
        .expect("redeem");
    assert!(again.is_empty());
    // Through the redeemer: the same ticket queued many times at once wins once.
    let c = tickets(&app, &id, 1).await.remove(0);
    let answers =
        futures_util::future::join_all((0..50).map(|_| app.state.redeemer.redeem(c.clone()))).await;
    let wins = answers.iter().filter(|a| matches!(a, Ok(Some(_)))).count();
    assert_eq!(wins, 1, "{answers:?}");
    assert!(answers.iter().all(|a| a.is_ok()));
}

#[tokio::test]
async fn many_concurrent_redemptions_each_succeed_once() {
    let app = open_app().await;
    let (_, id, _) = booking(&app, "081200000013").await;
    let ts = tickets(&app, &id, 600).await;
    let redeem_all =
        || futures_util::future::join_all(ts.iter().map(|t| app.state.redeemer.redeem(t.clone())));
    let first = redeem_all().await;
    assert!(
        first
            .iter()
            .all(|a| matches!(a, Ok(Some(r)) if r.appointment.0.to_string() == id)),
        "every ticket granted once"
    );
    let second = redeem_all().await;
    assert!(
        second.iter().all(|a| matches!(a, Ok(None))),
        "and only once"
    );
    // Expired ones are refused too.
    let late = tickets(&app, &id, 3).await;
    app.exec(
        "UPDATE room_tickets SET expires_at = now() - interval '1 second' WHERE used_at IS NULL",
    )
    .await;
    for t in late {
        assert_eq!(app.state.redeemer.redeem(t).await, Ok(None));
    }
}

#[tokio::test]
async fn a_waiting_citizen_cannot_admit_itself_nor_signal() {
    let app = open_app().await;
    let (token, _id, clerk_token) = booking(&app, "081200000012").await;
    let mut citizen = app.join(&token, None).await;
    let w = citizen.expect("welcome").await;
    citizen.expect("waiting").await;
    let mut clerk = app.join(&clerk_token, Some(&_id)).await;
    let cw = clerk.expect("welcome").await;
    citizen
        .send(json!({"type": "admit", "participant": w["you"]["id"]}))
        .await;
    let e = citizen.expect("error").await;
    assert_eq!(e["code"], "forbidden");
    citizen
        .send(json!({"type": "signal", "to": cw["you"]["id"], "payload": {"description": {"type": "offer", "sdp": "x"}}}))
        .await;
    assert_eq!(citizen.expect("error").await["code"], "not_admitted");
    // The clerk's signal to a waiting citizen is refused and never delivered.
    clerk
        .send(json!({"type": "signal", "to": w["you"]["id"], "payload": {"candidate": null}}))
        .await;
    assert_eq!(clerk.expect("error").await["code"], "peer_not_admitted");
    // Nothing of it reached the other side: the next thing each gets is the other's chat, sent
    // after the refusals (the room handles a socket's messages in order).
    assert_nothing_before_a_chat(&mut citizen, &mut clerk).await;
}

/// Each side's next message is a chat from the other, sent now: anything the room delivered
/// to either side before (a refused signal that leaked, say) would arrive first and fail.
async fn assert_nothing_before_a_chat(citizen: &mut Ws, clerk: &mut Ws) {
    clerk
        .send(json!({"type": "chat", "text": "marker-1"}))
        .await;
    assert_eq!(citizen.expect("chat").await["text"], "marker-1");
    citizen
        .send(json!({"type": "chat", "text": "marker-2"}))
        .await;
    assert_eq!(clerk.expect("chat").await["text"], "marker-2");
}

#[tokio::test]
async fn hold_sends_the_citizen_back_to_the_waiting_room() {
    let app = open_app().await;
    let Call {
        mut citizen,
        mut clerk,
        id,
        citizen_p,
        ..
    } = in_call(&app, "081200000013").await;
    app.wait_status(&id, "in_call").await;
    clerk
        .send(json!({"type": "hold", "participant": citizen_p["id"]}))
        .await;
    citizen.expect("waiting").await;
    let pw = clerk.expect("peer_waiting").await;
    assert_eq!(pw["peer"]["state"], "waiting");
    app.wait_status(&id, "waiting").await;
}

#[tokio::test]
async fn malformed_messages_get_an_error_and_the_socket_stays() {
    let app = open_app().await;
    let (token, _, _) = booking(&app, "081200000014").await;
    let mut ws = app.join(&token, None).await;
    ws.expect("welcome").await;
    ws.expect("waiting").await;
    for (text, code) in [
        ("{not json", "malformed_message"),
        (r#"{"type":"admit"}"#, "malformed_message"),
        (r#"{"type":"teleport"}"#, "unknown_type"),
        (r#"{"type":"chat","text":""}"#, "invalid_chat"),
    ] {
        ws.send_raw(text).await;
        let e = ws.expect("error").await;
        assert_eq!(e["code"], code, "{text}");
    }
    futures_util::SinkExt::send(
        &mut ws.inner,
        tokio_tungstenite::tungstenite::Message::binary(vec![1u8, 2, 3]),
    )
    .await
    .expect("send binary");
    assert_eq!(ws.expect("error").await["code"], "text_only");
    ws.send(json!({"type": "ping"})).await;
    ws.expect("pong").await;
}

#[tokio::test]
async fn an_oversize_frame_closes_the_socket_with_1009() {
    let app = spawn_app_with(|s| {
        s.join_opens_minutes = A_MONTH_EARLY;
        s.max_frame_bytes = 4096;
    })
    .await;
    let (token, _, _) = booking(&app, "081200000015").await;
    let mut ws = app.join(&token, None).await;
    ws.expect("welcome").await;
    ws.expect("waiting").await;
    let big = json!({"type": "chat", "text": "x".repeat(5000)}).to_string();
    ws.send_raw(&big).await;
    assert_eq!(ws.closed().await.0, 1009);
}

#[tokio::test]
async fn a_flood_is_rate_limited_then_closed() {
    let app = open_app().await;
    let (token, _, _) = booking(&app, "081200000016").await;
    let mut ws = app.join(&token, None).await;
    ws.expect("welcome").await;
    ws.expect("waiting").await;
    // 400 pings at once: the burst (100) passes, then a warning, then the socket is closed.
    for _ in 0..400 {
        ws.send(json!({"type": "ping"})).await;
    }
    let mut pongs = 0;
    let mut warned = false;
    let code = loop {
        let next = tokio::time::timeout(
            crate::ws::WAIT,
            futures_util::StreamExt::next(&mut ws.inner),
        )
        .await
        .expect("in time");
        match next {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str()).expect("json");
                match v["type"].as_str() {
                    Some("pong") => pongs += 1,
                    Some("error") => {
                        assert_eq!(v["code"], "rate_limited");
                        warned = true;
                    }
                    Some("closed") => assert_eq!(v["reason"], "rate_limited"),
                    other => panic!("{other:?}"),
                }
            }
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(f))) => {
                break f.map(|f| u16::from(f.code));
            }
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    };
    assert!(warned);
    assert!((100..=110).contains(&pongs), "{pongs} pongs");
    assert_eq!(code, Some(1008));
}

#[tokio::test]
async fn a_reconnect_replaces_the_old_socket_and_the_peer_restarts() {
    let app = open_app().await;
    let Call {
        mut citizen,
        mut clerk,
        id,
        token,
        citizen_p,
        clerk_p,
    } = in_call(&app, "081200000017").await;
    // The phone switches from Wi-Fi to 4G: a new ticket, a new socket, same participant.
    let mut fresh = app.join(&token, None).await;
    let w = fresh.expect("welcome").await;
    assert_eq!(w["you"]["id"], citizen_p["id"]);
    assert_eq!(
        w["state"], "admitted",
        "the call resumes without waiting again"
    );
    let peers = w["peers"].as_array().expect("peers");
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0]["id"], clerk_p["id"]);
    assert_eq!(citizen.closed().await, (4001, Some("replaced".into())));
    let pj = clerk.expect("peer_joined").await;
    assert_eq!(pj["peer"]["id"], citizen_p["id"]);
    let stats = app.state.rooms.stats().await.expect("stats");
    assert_eq!(
        (stats.rooms, stats.sockets),
        (1, 2),
        "no duplicate participant"
    );
    // Signals reach the new socket.
    clerk
        .send(json!({"type": "signal", "to": citizen_p["id"], "payload": {"description": {"type": "offer", "sdp": "restart"}}}))
        .await;
    assert_eq!(
        fresh.expect("signal").await["payload"]["description"]["sdp"],
        "restart"
    );
    app.wait_status(&id, "in_call").await;
}

#[tokio::test]
async fn a_clerk_who_drops_comes_back_in() {
    let app = spawn_app_with(|s| {
        s.join_opens_minutes = A_MONTH_EARLY;
        s.max_sockets_per_room = 2;
    })
    .await;
    let Call {
        mut citizen,
        clerk,
        id,
        clerk_p,
        ..
    } = in_call(&app, "081200000018").await;
    // The room is full for a supervisor (the admin joins as one; the agency's supervisor may
    // be this booking's clerk).
    let sup = app.login("admin@loket.example").await;
    let mut s = app.join(&sup, Some(&id)).await;
    assert_eq!(s.closed().await, (4002, Some("room_full".into())));
    drop(clerk);
    let left = citizen.expect("peer_left").await;
    assert_eq!(left["peer"]["id"], clerk_p["id"]);
    assert_eq!(left["reason"], "disconnected");
    let clerk_token = app.login(&app.clerk_email(&id).await).await;
    let mut back = app.join(&clerk_token, Some(&id)).await;
    let w = back.expect("welcome").await;
    assert_eq!(w["peers"][0]["state"], "admitted");
    assert_eq!(
        citizen.expect("peer_joined").await["peer"]["id"],
        clerk_p["id"]
    );
}

#[tokio::test]
async fn a_silent_peer_is_dropped_within_the_heartbeat_timeout() {
    let app = spawn_app_with(|s| {
        s.join_opens_minutes = A_MONTH_EARLY;
        s.heartbeat_timeout_secs = 2;
    })
    .await;
    let Call {
        citizen,
        mut clerk,
        citizen_p,
        ..
    } = in_call(&app, "081200000019").await;
    // The citizen's phone goes silent: it neither sends nor reads (so answers no ping). It is
    // dropped at all, within a generous bound (how fast is measured by the signalling
    // benchmark, docs/benchmarks.md).
    let left = tokio::time::timeout(Duration::from_secs(20), clerk.until("peer_left"))
        .await
        .expect("the silent citizen was dropped within 20 s of a 2 s heartbeat timeout");
    assert_eq!(left["peer"]["id"], citizen_p["id"]);
    assert_eq!(left["reason"], "timeout");
    // The clerk, who kept answering pings, is still there.
    clerk.send(json!({"type": "ping"})).await;
    clerk.expect("pong").await;
    drop(citizen);
}

#[tokio::test]
async fn stopping_the_server_tells_every_socket_closed() {
    let app = open_app().await;
    let Call { citizen, clerk, .. } = in_call(&app, "081200000020").await;
    app.stop.stop();
    for mut ws in [citizen, clerk] {
        assert_eq!(ws.closed().await, (1012, Some("server_restart".into())));
    }
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_cut_off_instead_of_buffered() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let app = open_app().await;
    let Call {
        citizen,
        clerk,
        citizen_p: _,
        clerk_p,
        ..
    } = in_call(&app, "081200000021").await;
    // The clerk's browser hangs: its socket stays open but nothing reads it. The citizen keeps
    // sending ~60 kB signals at the allowed rate; once the TCP buffers and the bounded queues
    // are full, the server must drop the clerk rather than hold more.
    let (mut sink, mut stream) = citizen.inner.split();
    let to = clerk_p["id"].clone();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let sender = tokio::spawn(async move {
        let big = "x".repeat(60_000);
        for i in 0..2_000u32 {
            if stopped.try_recv().is_ok() {
                return Ok(i);
            }
            let msg = json!({"type": "signal", "to": to, "payload": {"n": i, "pad": big}});
            sink.send(Message::text(msg.to_string()))
                .await
                .map_err(|e| format!("the citizen's socket failed after {i} signals: {e}"))?;
            // Under the 50 msgs/s limit after the first 50.
            if i > 50 {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        Err("sent all 2,000 signals (120 MB) without the clerk being dropped".to_string())
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let left = loop {
        let next = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("the slow clerk was not dropped within 60 s");
        match next {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str()).expect("json");
                assert_ne!(v["type"], "error", "{v}");
                if v["type"] == "peer_left" {
                    break v;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("citizen socket ended: {other:?}"),
        }
    };
    let _ = stop.send(());
    let sent = sender.await.expect("the sender task").expect("the sender");
    // The server dropped the clerk only once their buffers were full, not at the first signal.
    assert!(sent > 10, "dropped after only {sent} signals");
    assert_eq!(left["peer"]["id"], clerk_p["id"]);
    assert_eq!(left["reason"], "slow_reader");
    drop(clerk);
}

/// Collects everything the tracing subscriber writes.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tickets_never_reach_the_request_log() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .try_init()
        .expect("this is the only test that installs a subscriber");
    let app = open_app().await;
    let (token, id, _) = booking(&app, "081200000022").await;
    let url = app.ws_url(&token, None).await;
    let ticket = url.split("ticket=").nth(1).expect("ticket").to_string();
    let mut ws = Ws::open(&url).await;
    ws.expect("welcome").await;
    // A refused one too.
    assert!(matches!(Ws::connect(&url).await, Connect::Refused(401)));
    drop(ws);
    // Both requests (the accepted one and the refused one) are logged from other tasks: wait
    // until both show, with a generous bound.
    let path = format!("/api/v1/rooms/{id}/ws");
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = String::from_utf8_lossy(&logs.0.lock().expect("logs")).to_string();
        if text.matches(path.as_str()).count() >= 2 && text.contains("401") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "both requests were not logged within 20 s: {text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!text.contains(&ticket), "the ticket leaked into the log");
    assert!(
        !text.contains("ticket="),
        "a query string leaked into the log"
    );
}

#[tokio::test]
async fn the_api_description_lists_the_room_endpoints() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    for path in [
        "/api/v1/rooms/ticket",
        "/api/v1/rooms/ws",
        "/api/v1/rooms/{room}/ws",
    ] {
        assert!(r.body["paths"][path].is_object(), "{path} missing");
    }
}

/// Once admitted, `signal` and `chat` go straight from one session to the other (the direct
/// relay); the rules are the room's: both ways, chat stamped by the server, and nothing after a
/// hold (refused on both sides, nothing delivered), then both ways again after a new admit.
#[tokio::test]
async fn the_direct_relay_follows_admit_and_hold() {
    let app = open_app().await;
    let Call {
        mut citizen,
        mut clerk,
        citizen_p,
        clerk_p,
        ..
    } = in_call(&app, "081200000031").await;
    for i in 0..20 {
        clerk
            .send(json!({"type": "signal", "to": citizen_p["id"], "payload": {"n": i}}))
            .await;
        let s = citizen.expect("signal").await;
        assert_eq!(
            (s["from"].clone(), s["payload"]["n"].clone()),
            (clerk_p["id"].clone(), json!(i))
        );
        citizen
            .send(json!({"type": "signal", "to": clerk_p["id"], "payload": {"n": i}}))
            .await;
        let s = clerk.expect("signal").await;
        assert_eq!(
            (s["from"].clone(), s["payload"]["n"].clone()),
            (citizen_p["id"].clone(), json!(i))
        );
    }
    let before = chrono::Utc::now();
    citizen
        .send(json!({"type": "chat", "text": "  halo  "}))
        .await;
    let c = clerk.expect("chat").await;
    assert_eq!(
        (c["from"].clone(), c["text"].clone()),
        (citizen_p["id"].clone(), json!("halo"))
    );
    let at: chrono::DateTime<chrono::Utc> = c["at"].as_str().expect("at").parse().expect("time");
    assert!(
        at >= before - chrono::Duration::seconds(1),
        "{at} stamped by the server"
    );
    // Invalid chat and signals to someone else still get the room's answers.
    citizen.send(json!({"type": "chat", "text": "   "})).await;
    assert_eq!(citizen.expect("error").await["code"], "invalid_chat");
    citizen
        .send(json!({"type": "signal", "to": "clerk-ffffffffffff", "payload": {}}))
        .await;
    assert_eq!(citizen.expect("error").await["code"], "unknown_participant");
    citizen
        .send(json!({"type": "signal", "to": citizen_p["id"], "payload": {}}))
        .await;
    assert_eq!(citizen.expect("error").await["code"], "unknown_participant");
    // Hold: from now on nothing passes, either way.
    clerk
        .send(json!({"type": "hold", "participant": citizen_p["id"]}))
        .await;
    citizen.expect("waiting").await;
    clerk.expect("peer_waiting").await;
    clerk
        .send(json!({"type": "signal", "to": citizen_p["id"], "payload": {"after": "hold"}}))
        .await;
    assert_eq!(clerk.expect("error").await["code"], "peer_not_admitted");
    citizen
        .send(json!({"type": "signal", "to": clerk_p["id"], "payload": {"after": "hold"}}))
        .await;
    assert_eq!(citizen.expect("error").await["code"], "not_admitted");
    assert_nothing_before_a_chat(&mut citizen, &mut clerk).await;
    // Admitted again: relayed again.
    clerk
        .send(json!({"type": "admit", "participant": citizen_p["id"]}))
        .await;
    citizen.expect("admitted").await;
    citizen.expect("peer_joined").await;
    clerk.expect("peer_joined").await;
    citizen
        .send(json!({"type": "signal", "to": clerk_p["id"], "payload": {"back": true}}))
        .await;
    assert_eq!(clerk.expect("signal").await["payload"]["back"], true);
}

/// A reconnect pairs the new socket: the peer's signals reach it (not the replaced one), and its
/// own reach the peer. A third member (a supervisor) ends the pairing: chat then reaches both.
#[tokio::test]
async fn the_direct_relay_follows_reconnects_and_a_third_member() {
    let app = open_app().await;
    let Call {
        mut citizen,
        mut clerk,
        id,
        token,
        citizen_p,
        clerk_p,
    } = in_call(&app, "081200000032").await;
    let mut fresh = app.join(&token, None).await;
    fresh.expect("welcome").await;
    assert_eq!(citizen.closed().await, (4001, Some("replaced".into())));
    clerk.expect("peer_joined").await;
    clerk
        .send(json!({"type": "signal", "to": citizen_p["id"], "payload": {"to": "fresh"}}))
        .await;
    assert_eq!(fresh.expect("signal").await["payload"]["to"], "fresh");
    fresh
        .send(json!({"type": "signal", "to": clerk_p["id"], "payload": {"from": "fresh"}}))
        .await;
    assert_eq!(clerk.expect("signal").await["payload"]["from"], "fresh");
    // A supervisor joins: the room is no longer a pair, and chat reaches everyone who sees.
    let sup = app.login("admin@loket.example").await;
    let mut s = app.join(&sup, Some(&id)).await;
    s.expect("welcome").await;
    fresh.expect("peer_joined").await;
    clerk.expect("peer_joined").await;
    fresh.send(json!({"type": "chat", "text": "tiga"})).await;
    assert_eq!(clerk.expect("chat").await["text"], "tiga");
    assert_eq!(s.expect("chat").await["text"], "tiga");
    // The supervisor leaves: a pair again, relayed directly.
    s.send(json!({"type": "leave"})).await;
    clerk.expect("peer_left").await;
    fresh.expect("peer_left").await;
    fresh.send(json!({"type": "chat", "text": "dua"})).await;
    assert_eq!(clerk.expect("chat").await["text"], "dua");
}

/// The per-socket rate limit and frame cap hold on the direct relay too.
#[tokio::test]
async fn the_direct_relay_keeps_the_rate_limit_and_the_frame_cap() {
    let app = spawn_app_with(|s| {
        s.join_opens_minutes = A_MONTH_EARLY;
        s.max_frame_bytes = 4096;
    })
    .await;
    let Call {
        mut citizen,
        mut clerk,
        citizen_p,
        clerk_p,
        ..
    } = in_call(&app, "081200000033").await;
    // 150 signals at once: the burst (100) passes, the rest is dropped with a warning (fewer than
    // the 100 strikes that would close the socket).
    for i in 0..150 {
        clerk
            .send(json!({"type": "signal", "to": citizen_p["id"], "payload": {"n": i}}))
            .await;
    }
    assert_eq!(clerk.expect("error").await["code"], "rate_limited");
    // Once the bucket has refilled (50 a second), one more signal passes: it marks the end, so
    // everything relayed of the burst has arrived before it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    clerk
        .send(json!({"type": "signal", "to": citizen_p["id"], "payload": {"end": true}}))
        .await;
    let mut got = 0;
    loop {
        let m = citizen.expect("signal").await;
        if m["payload"]["end"] == true {
            break;
        }
        got += 1;
    }
    assert!((100..=110).contains(&got), "{got} signals relayed");
    // An oversize signal closes the sender's socket with 1009; the peer gets nothing of it.
    let big = json!({"type": "signal", "to": clerk_p["id"], "payload": {"pad": "x".repeat(5000)}});
    citizen.send_raw(&big.to_string()).await;
    assert_eq!(citizen.closed().await.0, 1009);
    let left = clerk.until("peer_left").await;
    assert_eq!(left["peer"]["id"], citizen_p["id"]);
}
