//! "Coba sekarang": the demo's call ready within a minute whatever the day and hour — a booking
//! with the demo clerk starting in two minutes (outside the weekly hours if that is when the
//! test runs), its room open now, the clerk sees it on today's list and admits the citizen; a
//! restart offers the same booking again; never in production.

use chrono::Utc;
use serde_json::json;

use loket::config::Environment;
use loket::demo::call::{self, CLERK};

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_demo_call_is_open_now_and_the_demo_clerk_admits_the_citizen() {
    let app = spawn_app().await;
    let now = Utc::now();
    let ready = call::ready(&app.state.ctx, now).await.expect("a demo call");
    assert!(!ready.reused);
    assert_eq!(ready.clerk, CLERK);
    assert!(ready.starts_at > now - chrono::Duration::minutes(1));
    assert!(ready.starts_at <= now + chrono::Duration::minutes(2));
    assert!(ready.staff_page.ends_with("/staff"));
    let token = ready
        .join
        .split_once("#t=")
        .map(|(_, t)| t.to_string())
        .expect("the join link carries the token in its fragment");

    // The booking is there, the clerk's.
    let mine = app.get_bearer("/api/v1/appointments/current", &token).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    let id = mine.body["id"]
        .as_str()
        .or(mine.body["appointment"]["id"].as_str())
        .expect("appointment id")
        .to_string();
    assert_eq!(app.clerk_email(&id).await, CLERK);
    let clerk = app.login(CLERK).await;
    let today = app.get_bearer("/api/v1/staff/appointments", &clerk).await;
    assert_eq!(today.status, 200, "{}", today.text);
    assert!(
        today.text.contains(&ready.code),
        "the clerk's today lists the demo call: {}",
        today.text
    );

    // Its room is open now: the citizen waits, the clerk admits.
    let mut citizen = app.join(&token, None).await;
    let welcome = citizen.expect("welcome").await;
    assert_eq!(welcome["state"], "waiting");
    citizen.expect("waiting").await;
    let mut desk = app.join(&clerk, Some(&id)).await;
    desk.expect("welcome").await;
    desk.send(json!({"type": "admit", "participant": welcome["you"]["id"]}))
        .await;
    citizen.expect("admitted").await;
    app.wait_status(&id, "in_call").await;
    drop(citizen);
    drop(desk);

    // A restart while that call is on books the stand-in (the clerk is busy in this one); one
    // while a booked call's room is open offers it again.
    let next = call::ready(&app.state.ctx, now).await.expect("another");
    assert_ne!(next.code, ready.code);
    assert_eq!(next.clerk, call::STAND_IN);
    assert_eq!(next.starts_at, ready.starts_at);
    let again = call::ready(&app.state.ctx, now).await.expect("the same");
    assert!(again.reused);
    assert_eq!(again.code, next.code);
}

#[test]
fn only_a_development_demo_makes_demo_calls() {
    let mut s = loket::config::Settings::for_tests(std::env::temp_dir());
    s.demo_data = true;
    assert!(call::enabled(&s));
    s.env = Environment::Production;
    assert!(
        !call::enabled(&s),
        "never in production, even with demo data"
    );
    s.env = Environment::Development;
    s.demo_data = false;
    assert!(!call::enabled(&s));
    s.demo_data = true;
    s.demo_call = false;
    assert!(!call::enabled(&s), "LOKET_DEMO_CALL=false");
}
