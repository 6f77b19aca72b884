//! Recording a no-show from the clerk's page: not before the start plus the grace time, only
//! after a confirmation, undoable for a while; and what the citizen's manage page says then.

use crate::harness::Browser;
use crate::helpers::{mid_morning_zone, next_working_day, spawn_app_with};
use crate::staff::row;
use crate::{CLERK, absolute, book, db_status, free_slots, pbg_goes_to_the_clerk, staff_login};

#[tokio::test]
async fn a_no_show_waits_for_the_grace_time_asks_first_can_be_undone_and_the_citizen_is_told() {
    // A site where it is mid-morning now: the booking moved to "a few minutes ago" below is on
    // today's timeline whatever the hour the test runs.
    let tz = mid_morning_zone();
    let app = &spawn_app_with(move |s| s.timezone = tz).await;
    pbg_goes_to_the_clerk(app).await;
    let slot = free_slots(app, "pbg", next_working_day(1), 1).await[0];
    let booking = book(app, "pbg", slot, "Rudi Hartono", "081234567061").await;
    // The citizen is three minutes late: within the ten minutes' grace.
    app.started_ago(&booking.id, 3).await;

    let b = &Browser::desk("clerk").await;
    staff_login(b, app, CLERK).await;
    let open = format!("{} [data-testid=appointment-open]", row(&booking.id));
    b.click(&open).await;
    b.wait_visible("#no-show-hint").await;
    assert_eq!(
        b.js(
            "return document.getElementById('no-show-button').disabled;",
            vec![]
        )
        .await,
        serde_json::json!(true),
        "the no-show button waits for the grace time"
    );

    // Twelve minutes late: the button comes on, and asks before it records anything.
    app.started_ago(&booking.id, 12).await;
    b.click("#today-refresh").await;
    b.click("#no-show-button").await;
    b.wait_visible("#no-show-box").await;
    assert_eq!(db_status(app, &booking.code).await, "booked");
    b.click("#no-show-abort").await;
    b.wait_hidden("#no-show-box").await;
    assert_eq!(db_status(app, &booking.code).await, "booked");
    b.click("#no-show-button").await;
    b.click("#no-show-confirm").await;
    b.wait_visible("#undo-no-show").await;
    assert_eq!(db_status(app, &booking.code).await, "no_show");

    // Undone: booked again.
    b.click("#undo-no-show").await;
    b.wait_hidden("#undo-no-show-box").await;
    assert_eq!(db_status(app, &booking.code).await, "booked");

    // Recorded for good this time; the citizen's manage page says what to do next.
    b.click("#no-show-button").await;
    b.click("#no-show-confirm").await;
    b.wait_visible("#undo-no-show").await;
    b.quit().await;
    let c = &Browser::phone("citizen").await;
    c.goto(&absolute(app, &booking.manage)).await;
    c.wait_visible("#manage-no-show").await;
    assert!(!c.is_visible("#reschedule-button").await);
    c.click("#book-again-link").await;
    // The link opens the same service, ready to pick a new time.
    c.wait_visible("#slot-picker [data-testid=day-button]")
        .await;
    let title = c.wait_visible("#service-title").await;
    assert!(title.contains("PBG"), "{title}");
    c.quit().await;
}
