//! Antrian in the browser: a citizen takes a remote number on their phone, watches their place
//! move live, is called, and gets into the call with the clerk who called them from the day
//! view; and the mall's board says aloud a number taken at the kiosk and called to a counter.
//!
//! Like the API tests of the queue, these set the site's zone to one where it is mid-morning
//! now and give the clerk hours around it every day, so the hour they run at decides nothing.

use std::time::Instant;

use serde_json::json;

use crate::call::{stage, video_both_ways};
use crate::citizen::device_check_passes;
use crate::harness::{Browser, WAIT, wait_until};
use crate::helpers::{TestApp, mid_morning_zone, spawn_app_with};
use crate::{CLERK, pbg_goes_to_the_clerk};

/// A Loket where it is mid-morning, the DPMPTSP clerk working 08.00–16.00 every day and the
/// only one with hours for PBG, no holidays; answers the app and the agency's queue letter.
async fn queue_day() -> (TestApp, String) {
    let tz = mid_morning_zone();
    let app = spawn_app_with(|s| s.timezone = tz).await;
    pbg_goes_to_the_clerk(&app).await;
    let clerk = app.staff_id(CLERK).await;
    app.exec(&format!(
        "DELETE FROM weekly_hours WHERE staff_id = '{clerk}'"
    ))
    .await;
    for wd in 1..=7 {
        app.exec(&format!(
            "INSERT INTO weekly_hours (staff_id, weekday, starts, ends) \
             VALUES ('{clerk}', {wd}, '08:00', '16:00')"
        ))
        .await;
    }
    // Only this clerk (and the supervisor, without hours now) serves PBG today.
    app.exec(&format!(
        "DELETE FROM staff_services WHERE service_id = (SELECT id FROM services WHERE slug = 'pbg') \
           AND staff_id NOT IN ('{clerk}', (SELECT id FROM staff WHERE email = '{}'))",
        crate::SUPERVISOR
    ))
    .await;
    app.exec("DELETE FROM closures").await;
    let prefix = app
        .scalar("SELECT queue_prefix FROM agencies WHERE slug = 'dpmptsp'")
        .await
        .expect("DPMPTSP's letter");
    (app, prefix)
}

/// Clicks `css`, finding it afresh on each try: the queue panel redraws itself when the lines
/// change, and a button found before a redraw is no longer the one on the page.
async fn click_fresh(b: &Browser, css: &str) {
    wait_until(WAIT, &format!("{}: clicking {css}", b.who), || async move {
        if b.click_if_shown(css).await {
            Ok(())
        } else {
            Err(b.describe().await)
        }
    })
    .await;
}

async fn state_of(b: &Browser) -> String {
    b.attr("#wait-section", "data-state")
        .await
        .unwrap_or_default()
}

#[tokio::test]
async fn a_citizen_takes_a_remote_number_waits_is_called_and_meets_the_clerk() {
    let (app_owned, prefix) = queue_day().await;
    let app = &app_owned;
    // Someone took a number at the kiosk first.
    let first = app
        .post(
            "/api/v1/queue",
            &json!({"service": "pbg", "mode": "in_person", "citizen": {"name": "Dedi"}, "consent": true}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);

    // The citizen, on their phone: the service's page offers today's queue.
    let citizen_browser = Browser::phone("citizen").await;
    let citizen = &citizen_browser;
    citizen.goto(&app.url("/")).await;
    citizen
        .click("[data-testid=service-item][data-slug=pbg]")
        .await;
    citizen.wait_visible("#queue-today-link").await;
    citizen.click("#queue-today-link").await;
    citizen.wait_visible("#take-form").await;
    citizen.fill("#take-name", "Rina Marlina").await;
    citizen.fill("#take-phone", "0812-3456-7011").await;
    citizen.click("#take-consent").await;
    citizen.click("#take-submit").await;
    citizen
        .wait_text("#queue-number", "shows the number", |t| {
            t == format!("{prefix}-002")
        })
        .await;
    citizen
        .wait_text("#queue-position", "shows second place", |t| t == "2")
        .await;
    assert!(
        !citizen.location().await.contains("t="),
        "the token stays out of the address bar"
    );
    // The device check while waiting: the fake camera plays.
    citizen.click("#device-check").await;
    wait_until(WAIT, "the camera preview to play", || async move {
        let v = citizen
            .js(
                "const v = document.getElementById('device-preview');\
                 return v.videoWidth > 0 && !v.paused;",
                vec![],
            )
            .await;
        if v == json!(true) {
            Ok(())
        } else {
            Err("no frames yet".into())
        }
    })
    .await;
    citizen
        .wait_text("#device-status", "says the devices are ready", |t| {
            !t.is_empty()
        })
        .await;
    citizen.click("#device-stop").await;
    citizen.js("window.scrollTo(0, 0);", vec![]).await;
    citizen.axe("the waiting view (a remote number)").await;
    citizen.screenshot("queue-waiting").await;

    // The clerk calls the next number from their day: the kiosk's, first in line.
    let clerk_browser = Browser::desk("clerk").await;
    let clerk = &clerk_browser;
    crate::staff_login(clerk, app, CLERK).await;
    clerk.wait_visible("#queue-panel").await;
    clerk.fill("#queue-counter", "3").await;
    clerk.click("#queue-next").await;
    clerk
        .wait_text(
            "[data-testid=queue-call] .q-number",
            "shows the called number",
            |t| t == format!("{prefix}-001"),
        )
        .await;
    // The citizen's page moves up by itself.
    citizen
        .wait_text("#queue-position", "moves to first place live", |t| t == "1")
        .await;
    assert_eq!(state_of(citizen).await, "waiting");
    clerk.axe("the clerk's queue panel").await;
    clerk.screenshot("staff-queue").await;

    // The clerk finishes the counter number and calls the next: the citizen's turn.
    click_fresh(clerk, "[data-testid=queue-call] [data-testid=queue-finish]").await;
    wait_until(WAIT, "the first number to be finished", || async move {
        match app
            .scalar(
                "SELECT count(*) FROM appointments WHERE kind = 'walk_in' AND status = 'completed'",
            )
            .await
            .as_deref()
        {
            Some("1") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    clerk.click("#queue-next").await;
    citizen.wait_visible("#queue-called").await;
    citizen.wait_visible("#queue-enter-room").await;
    assert_eq!(state_of(citizen).await, "called");
    citizen.click("#queue-enter-room").await;

    // Into the existing join page: device check, waiting room, admitted by the clerk.
    device_check_passes(citizen).await;
    citizen.click("#device-continue").await;
    wait_until(
        WAIT,
        "the citizen to be in the waiting room",
        || async move {
            match stage(citizen).await.as_str() {
                "waiting" => Ok(()),
                other => Err(format!("stage {other}; {}", citizen.describe().await)),
            }
        },
    )
    .await;
    click_fresh(
        clerk,
        "[data-testid=queue-call] [data-testid=queue-open-room]",
    )
    .await;
    let opened = Instant::now();
    wait_until(WAIT, "the citizen to be admitted", || async move {
        let s = stage(citizen).await;
        if s == "admitted" {
            return Ok(());
        }
        clerk.click_if_shown("#call-admit").await;
        Err(format!(
            "citizen stage {s}; clerk: {}",
            clerk.describe().await
        ))
    })
    .await;
    video_both_ways(
        citizen,
        clerk,
        opened,
        "video both ways after the clerk opened the called number's room",
    )
    .await;
    // The number now reads as being served.
    let token = app
        .scalar("SELECT state FROM queue_tickets WHERE citizen_phone = '+6281234567011'")
        .await;
    assert_eq!(token.as_deref(), Some("called"));
    assert_eq!(
        app.scalar(
            "SELECT a.status FROM queue_tickets t JOIN appointments a ON a.id = t.appointment_id \
             WHERE t.citizen_phone = '+6281234567011'"
        )
        .await
        .as_deref(),
        Some("in_call")
    );
    citizen.quit().await;
    clerk.quit().await;
}

#[tokio::test]
async fn the_board_says_a_number_taken_at_the_kiosk_and_called_to_a_counter() {
    let (app_owned, prefix) = queue_day().await;
    let app = &app_owned;

    // The TV: its voice is recorded, not played (the test asserts what it was asked to say).
    let board_browser = Browser::desk("board").await;
    let board = &board_browser;
    board.goto(&app.url("/board")).await;
    board.wait_visible("#board-empty").await;
    board
        .js(
            "window.__spoken = [];\
             window.speechSynthesis.speak = (u) => { window.__spoken.push(u.text); \
               setTimeout(() => u.onend && u.onend(), 0); };",
            vec![],
        )
        .await;
    board.click("#board-sound").await;

    // The kiosk: big buttons, a name, consent, the number.
    let kiosk_browser = Browser::desk("kiosk").await;
    let kiosk = &kiosk_browser;
    kiosk.goto(&app.url("/kiosk")).await;
    kiosk
        .click("[data-testid=kiosk-agency][data-slug=dpmptsp]")
        .await;
    kiosk
        .click("[data-testid=kiosk-service][data-slug=pbg]")
        .await;
    kiosk.fill("#kiosk-name", "Ujang").await;
    kiosk.click("#kiosk-consent").await;
    kiosk.click("#kiosk-submit").await;
    kiosk
        .wait_text("#kiosk-number", "shows the number", |t| {
            t == format!("{prefix}-001")
        })
        .await;
    assert_eq!(
        kiosk
            .js(
                "return document.getElementById('kiosk-name').value;",
                vec![]
            )
            .await,
        json!(""),
        "the kiosk forgets the name at once"
    );
    kiosk.axe("the kiosk (a number taken)").await;
    kiosk.screenshot("kiosk").await;

    // The clerk calls it to counter 3.
    let token = app.login(CLERK).await;
    let called = app
        .post_bearer("/api/v1/staff/queue/next", &token, &json!({"counter": "3"}))
        .await;
    assert_eq!(called.status, 200, "{}", called.text);

    let letters: Vec<String> = prefix.chars().map(String::from).collect();
    let expected = format!(
        "Nomor antrian {} satu, silakan ke loket tiga",
        letters.join(" ")
    );
    wait_until(WAIT, "the board to say the number", || {
        let expected = expected.clone();
        async move {
            let spoken = board.js("return window.__spoken;", vec![]).await;
            if spoken
                .as_array()
                .is_some_and(|a| a.iter().any(|s| s == &json!(expected)))
            {
                Ok(())
            } else {
                Err(format!("spoken so far: {spoken}"))
            }
        }
    })
    .await;
    board
        .wait_text("#board-latest-number", "shows the number large", |t| {
            t == format!("{prefix}-001")
        })
        .await;
    let where_ = board
        .visible_text("#board-latest-where")
        .await
        .unwrap_or_default();
    assert!(where_.contains('3'), "names the counter: {where_}");
    assert!(
        !board
            .visible_text("body")
            .await
            .unwrap_or_default()
            .contains("Ujang"),
        "nothing about the citizen but the number"
    );
    board.axe("the board").await;
    board.screenshot("board").await;

    // A recall is announced again.
    let id = called.body["ticket"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = app
        .post_bearer(
            &format!("/api/v1/staff/queue/{id}/recall"),
            &token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    wait_until(WAIT, "the board to say it again", || {
        let expected = expected.clone();
        async move {
            let spoken = board.js("return window.__spoken;", vec![]).await;
            let n = spoken
                .as_array()
                .map(|a| a.iter().filter(|s| *s == &json!(expected)).count())
                .unwrap_or(0);
            if n >= 2 {
                Ok(())
            } else {
                Err(format!("spoken: {spoken}"))
            }
        }
    })
    .await;
    kiosk.quit().await;
    board.quit().await;
}
