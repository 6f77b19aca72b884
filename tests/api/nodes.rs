//! More than one node on one database, in one process (the real-process tests with a load
//! balancer are tests/cluster.rs): what one node does reaches the staff dashboards and the rooms
//! on the other through Postgres LISTEN/NOTIFY (`bus`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{next_working_day, spawn_node};
use crate::ws::{booking, open_app};

/// The `event: appointment` payloads of an SSE stream until `want` of them arrived (at most
/// `within`), then `quiet` more to see whether anything else comes.
async fn feed_events(
    r: &mut reqwest::Response,
    want: usize,
    within: Duration,
    quiet: Duration,
) -> Vec<Value> {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + within;
    let count = |t: &str| t.matches("event: appointment\n").count();
    while count(&text) < want {
        match tokio::time::timeout_at(deadline, r.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
    }
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout(quiet, r.chunk()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text.split("\n\n")
        .filter(|block| block.starts_with("event: appointment\n"))
        .filter_map(|block| block.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|json| serde_json::from_str(json).expect("event JSON"))
        .collect()
}

async fn open_feed(client: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
    let mut r = client
        .get(format!("{base}/api/v1/staff/feed"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let hello = r.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&hello).contains("event: ready"));
    r
}

#[tokio::test]
async fn a_booking_on_one_node_reaches_the_clerks_feed_on_the_other_once() {
    let a = open_app().await;
    let b = spawn_node(&a, |_| {}).await;
    let clerk = a.login("clerk@loket.example").await;
    let clerk_id = a.staff_id("clerk@loket.example").await;
    let client = reqwest::Client::new();
    let mut on_a = open_feed(&client, &a.address, &clerk).await;
    let mut on_b = open_feed(&client, &b.address, &clerk).await;
    // Book through node B only: pbg has two clerks, so two bookings at one time take both.
    let slot = a.slots("pbg", next_working_day(3)).await[0];
    for phone in ["081234567890", "081234567891"] {
        let r = client
            .post(b.url("/api/v1/appointments"))
            .json(&json!({"service": "pbg", "starts_at": slot.to_rfc3339(),
                "citizen": {"name": "Budi", "phone": phone}, "consent": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let quiet = Duration::from_millis(700);
    // Generous bounds: this proves it arrives, not how fast (docs/benchmarks.md has that).
    let seen_a = feed_events(&mut on_a, 1, Duration::from_secs(10), quiet).await;
    let seen_b = feed_events(&mut on_b, 1, Duration::from_secs(10), quiet).await;
    for seen in [&seen_a, &seen_b] {
        assert_eq!(
            seen.len(),
            1,
            "exactly the clerk's own booking, once: {seen:?}"
        );
        assert_eq!(seen[0]["staff"], clerk_id);
        assert_eq!(seen[0]["status"], "booked");
    }
}

#[tokio::test]
async fn a_call_ended_on_another_node_closes_its_room() {
    let a = open_app().await;
    let b = spawn_node(&a, |_| {}).await;
    let (token, id, clerk) = booking(&a, "081200000301").await;
    // The citizen is late enough for a no-show.
    a.started_ago(&id, 20).await;
    // Both sockets on node A.
    let mut citizen = a.join(&token, None).await;
    citizen.expect("welcome").await;
    // The clerk completes the consultation through node B.
    let r = reqwest::Client::new()
        .post(b.url(&format!("/api/v1/staff/appointments/{id}/no-show")))
        .bearer_auth(&clerk)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let closed = citizen.until("closed").await;
    assert_eq!(closed["reason"], "no_show", "{closed}");
}

#[tokio::test]
async fn a_stopping_node_first_says_it_is_not_ready_then_sends_its_calls_elsewhere() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.join_opens_minutes = crate::ws::A_MONTH_EARLY;
        s.drain_seconds = 2;
    })
    .await;
    let (token, _, _) = booking(&app, "081200000302").await;
    let mut citizen = app.join(&token, None).await;
    citizen.expect("welcome").await;
    assert_eq!(app.get("/readyz").await.status, 200);
    app.stop.stop();
    // Draining: the balancer's health check sees 503 while calls go on.
    let mut drained = None;
    for _ in 0..50 {
        let r = app.get("/readyz").await;
        if r.status == 503 {
            drained = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = drained.expect("/readyz turned 503");
    assert_eq!(r.body["error"], "draining");
    citizen.send(json!({"type": "ping"})).await;
    assert_eq!(
        citizen.until("pong").await["type"],
        "pong",
        "still served while draining"
    );
    // Then the call is told to reconnect (elsewhere).
    let closed = citizen.until("closed").await;
    assert_eq!(closed["reason"], "server_restart");
}

/// A citizen's live stream and the mall's board on node B follow the queue changed on node A:
/// a number leaving the line (a queue-only change: no appointment, nothing on the staff feed)
/// and a call in person.
#[tokio::test]
async fn queue_changes_on_one_node_reach_the_streams_and_the_board_on_the_other() {
    use crate::queue::{event_until, queue_app};
    let q = queue_app(|_| {}).await;
    let tz = q.tz;
    let b = spawn_node(&q.app, move |s| s.timezone = tz).await;
    let staff = q.clerk_token().await;
    // All taken, left and called through node A.
    let (_, first) = q.take_ok("in_person", None).await;
    let (second, _) = q.take_ok("in_person", None).await;
    let (mine, _) = q.take_ok("remote", Some("081234560201")).await;

    let client = reqwest::Client::new();
    let mut stream = client
        .get(b.url("/api/v1/queue/current/events"))
        .bearer_auth(&mine)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut buf = String::new();
    let start = event_until(&mut stream, &mut buf, "ticket", |_| true).await;
    assert_eq!(start["position"], 3, "{start}");
    let mut board = client
        .get(b.url("/api/v1/board/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(board.status(), 200);
    let mut board_buf = String::new();
    let empty = event_until(&mut board, &mut board_buf, "board", |_| true).await;
    assert_eq!(empty["agencies"], json!([]));

    // Number 2 leaves on node A: node B's stream moves up. (event_until bounds each wait at
    // 20 s: it proves arrival, not speed.)
    let left = q.app.delete_bearer("/api/v1/queue/current", &second).await;
    assert_eq!(left.status, 200, "{}", left.text);
    let moved = event_until(&mut stream, &mut buf, "ticket", |t| t["position"] == 2).await;
    assert_eq!(moved["state"], "waiting");

    // Number 1 is called to counter 5 on node A: node B's stream and board hear of it.
    let called = q.next(&staff, json!({"counter": "5"})).await;
    assert_eq!(called.status, 200, "{}", called.text);
    assert_eq!(called.body["ticket"]["id"], first);
    let next = event_until(&mut stream, &mut buf, "ticket", |t| t["position"] == 1).await;
    assert_eq!(next["state"], "waiting");
    let shown = event_until(&mut board, &mut board_buf, "board", |b| {
        b["agencies"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let call = &shown["agencies"][0]["calls"][0];
    assert_eq!(call["number"], q.number(1));
    assert_eq!(call["counter"], "5");
    assert!(
        call["announcement"]
            .as_str()
            .unwrap()
            .ends_with("silakan ke loket lima"),
        "{call}"
    );

    // Queue-only changes once node B's line is surely built (it has sent events from it): a
    // number taken on node A and marked as the priority group goes ahead of mine.
    let (_, elder) = q.take_ok("in_person", None).await;
    let marked = q
        .act(&staff, &elder, "priority", json!({"group": "lansia"}))
        .await;
    assert_eq!(marked.status, 200, "{}", marked.text);
    let behind = event_until(&mut stream, &mut buf, "ticket", |t| t["position"] == 2).await;
    assert_eq!(behind["state"], "waiting");
}
