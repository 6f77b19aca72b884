//! The clerk's pages: login, today's timeline, the week, and live updates from the feed.

use chrono::{Datelike, Duration, NaiveDate};

use crate::harness::{Browser, WAIT, wait_until};
use crate::helpers::{next_working_day, spawn_app_with};
use crate::{
    CLERK, CLERK_NAME, book, booked_for_today, free_slots, pbg_goes_to_the_clerk, staff_login,
    today,
};

fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// A selector for an appointment's row on the timeline.
pub fn row(id: &str) -> String {
    format!("#timeline [data-testid=appointment-row][data-appointment-id='{id}']")
}

fn week_item(id: &str) -> String {
    format!("#week-grid [data-testid=week-item][data-appointment-id='{id}']")
}

/// Sets a marker in the page; [`assert_not_reloaded`] proves the document was never replaced.
pub async fn mark_document(b: &Browser) {
    b.js("window.__sameDocument = true;", vec![]).await;
}

pub async fn assert_not_reloaded(b: &Browser) {
    assert_eq!(
        b.js("return window.__sameDocument === true;", vec![]).await,
        serde_json::json!(true),
        "{}: the page was reloaded",
        b.who
    );
}

/// Opens the week view on the week holding `day`.
pub async fn show_week_of(b: &Browser, day: NaiveDate) {
    b.click("#nav-week").await;
    b.wait_visible("#view-week").await;
    let weeks = (monday_of(day) - monday_of(today())).num_days() / 7;
    assert!(weeks >= 0, "{day} is before this week");
    for _ in 0..weeks {
        let before = b.wait_visible("#week-range").await;
        b.click("#week-next").await;
        b.wait_text("#week-range", "moves a week on", |t| t != before)
            .await;
    }
}

#[tokio::test]
async fn a_clerk_logs_in_and_sees_bookings_on_today_and_in_the_week() {
    let app = &spawn_app_with(|s| {
        s.min_notice_minutes = 0;
    })
    .await;
    pbg_goes_to_the_clerk(app).await;

    // One booking on the next working day (the week view) and one today (the timeline), moved
    // there in the database so that the test does not depend on the hour it runs.
    let day = next_working_day(1);
    let day_slots = free_slots(app, "pbg", day, 1).await;
    assert!(day_slots.len() >= 4, "{day} has free PBG times");
    let later = book(app, "pbg", day_slots[0], "Agus Salim", "081234567011").await;
    let today_booking = booked_for_today(app, "pbg", 0, 0, "Yuni Astuti", "081234567012").await;
    for code in [&later.code, &today_booking.code] {
        assert_eq!(app.clerk_of(code).await, CLERK);
    }

    let b = &Browser::desk("clerk").await;
    // A wrong password is refused on the form.
    b.goto(&app.url("/staff")).await;
    b.fill("#staff-email", CLERK).await;
    b.fill("#staff-password", "not-the-password").await;
    b.click("#staff-login-submit").await;
    b.wait_text("#login-error", "says the login failed", |t| !t.is_empty())
        .await;
    assert!(!b.is_visible("#app-view").await);

    staff_login(b, app, CLERK).await;
    b.wait_text("#staff-name", "is the clerk", |t| t == CLERK_NAME)
        .await;
    b.wait_visible("#timeline").await;
    mark_document(b).await;

    let t = &today_booking;
    let text = b.wait_visible(&row(&t.id)).await;
    assert!(text.contains("Yuni Astuti"), "{text}");
    assert!(text.contains(&t.code), "{text}");
    assert_eq!(
        b.attr(&row(&t.id), "data-status").await.as_deref(),
        Some("booked")
    );
    // Live: a booking made elsewhere appears without a reload. The walk-in is moved to today
    // in the database (which sends no event); the next booking's event makes the page fetch
    // its day again, and the walk-in shows.
    let walk_in = booked_for_today(app, "pbg", 0, 1, "Hendra Wijaya", "081234567013").await;
    assert!(!b.is_visible(&row(&walk_in.id)).await);
    let trigger = book(app, "pbg", day_slots[3], "Dedi Kurnia", "081234567015").await;
    assert_eq!(app.clerk_of(&trigger.code).await, CLERK);
    b.wait_visible(&row(&walk_in.id)).await;
    assert_not_reloaded(b).await;
    b.screenshot("staff-timeline").await;

    show_week_of(b, day).await;
    let text = b.wait_visible(&week_item(&later.id)).await;
    assert!(text.contains("Agus Salim"), "{text}");
    // Live in the week view too: the feed's event re-fetches the week.
    let second = book(app, "pbg", day_slots[1], "Rina Kusuma", "081234567014").await;
    let text = b.wait_visible(&week_item(&second.id)).await;
    assert!(text.contains("Rina Kusuma"), "{text}");
    assert_not_reloaded(b).await;
    b.screenshot("staff-week").await;

    // And a cancellation elsewhere shows as one.
    let r = app
        .post_bearer(
            "/api/v1/appointments/current/cancel",
            &second.token,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let second_item = &week_item(&second.id);
    wait_until(
        WAIT,
        "the week item to show the cancellation",
        || async move {
            match b.attr(second_item, "data-status").await {
                Some(s) if s == "cancelled" => Ok(()),
                Some(s) => Err(s),
                None => Err("gone from the week".into()),
            }
        },
    )
    .await;
    assert_not_reloaded(b).await;
    b.quit().await;
}

#[tokio::test]
async fn a_supervisor_reassigns_a_booking_from_the_week_view() {
    let app = &spawn_app_with(|s| {
        s.min_notice_minutes = 0;
    })
    .await;
    pbg_goes_to_the_clerk(app).await;
    let day = next_working_day(1);
    // Izin reklame: served by both DPMPTSP clerks (the supervisor has no hours here).
    let slot = free_slots(app, "izin-reklame", day, 1).await[0];
    let booking = book(app, "izin-reklame", slot, "Hendra Gunawan", "081234567041").await;
    let first = app.clerk_of(&booking.code).await;
    let other = if first == crate::CLERK {
        "dewi.dpmptsp@loket.example"
    } else {
        crate::CLERK
    };
    let target = app.staff_id(other).await;

    let b = &Browser::desk("supervisor").await;
    crate::staff_login(b, app, crate::SUPERVISOR).await;
    show_week_of(b, day).await;
    let item = format!(
        "#week-grid [data-testid=week-item][data-appointment-id='{}']",
        booking.id
    );
    b.wait_visible(&item).await;
    b.click(&item).await;
    b.wait_visible("#reassign-select").await;
    b.js(
        "const s = document.getElementById('reassign-select'); s.value = arguments[0]; \
         s.dispatchEvent(new Event('change'));",
        vec![serde_json::json!(target)],
    )
    .await;
    let chosen = b
        .js(
            "return [document.getElementById('reassign-select').value, \
             [...document.querySelectorAll('#reassign-select option')].map((o) => o.value)];",
            vec![],
        )
        .await;
    assert_eq!(chosen[0], serde_json::json!(target), "options: {chosen}");
    b.click("#reassign-button").await;
    let code = &booking.code;
    wait_until(
        WAIT,
        "the booking to move to the other clerk",
        || async move {
            let now = app.clerk_of(code).await;
            if now == other {
                Ok(())
            } else {
                Err(format!("still with {now}; page: {}", b.describe().await))
            }
        },
    )
    .await;
    assert!(app.events(&booking.id).await.contains("reassigned@staff:"));
    b.quit().await;
}
