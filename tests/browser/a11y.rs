//! axe-core over the pages outside a call: no `serious` or `critical` violation. (The waiting
//! room and the call itself are checked in the call test, which needs the signalling rooms.)

use crate::citizen::{device_check_passes, pick_service_and_time};
use crate::harness::Browser;
use crate::helpers::spawn_app_with;
use crate::staff::row;
use crate::{CLERK, booked_for_today, pbg_goes_to_the_clerk};

#[tokio::test]
async fn axe_finds_no_serious_violations_on_the_booking_manage_join_and_staff_pages() {
    let app = &spawn_app_with(|s| {
        s.min_notice_minutes = 0;
    })
    .await;
    pbg_goes_to_the_clerk(app).await;

    let b = &Browser::phone("citizen").await;
    b.goto(&app.url("/")).await;
    b.wait_visible("[data-testid=service-item]").await;
    b.axe("the booking page (service list)").await;

    pick_service_and_time(b, "pbg").await;
    b.axe("the booking page (details form)").await;
    // The form with its error messages showing.
    b.click("#book-submit").await;
    b.wait_visible("#citizen-name-error").await;
    b.axe("the booking page (details form with errors)").await;

    b.fill("#citizen-name", "Wati Suryani").await;
    b.fill("#citizen-phone", "081234567021").await;
    b.click("#consent").await;
    b.click("#book-submit").await;
    b.wait_text("#booking-code", "shows the code", |t| t.trim().len() == 8)
        .await;
    b.axe("the booking confirmation").await;
    let manage = b
        .js(
            "return document.getElementById('manage-link').href;",
            vec![],
        )
        .await;
    let join = b
        .js("return document.getElementById('join-link').href;", vec![])
        .await;

    b.goto(manage.as_str().unwrap()).await;
    b.wait_visible("#appointment-code").await;
    b.axe("the manage page").await;
    b.click("#reschedule-button").await;
    b.wait_visible("#reschedule [data-testid=slot-button]")
        .await;
    b.axe("the manage page (reschedule)").await;

    b.goto(join.as_str().unwrap()).await;
    device_check_passes(b).await;
    b.axe("the join page (device check)").await;
    b.quit().await;

    // Staff: the login form, then the clerk's day with an appointment (moved to today, so the
    // timeline has a row whatever the hour).
    let other = booked_for_today(app, "pbg", 0, 0, "Bambang Sutrisno", "081234567022").await;
    let s = &Browser::desk("clerk").await;
    s.goto(&app.url("/staff")).await;
    s.wait_visible("#login-view").await;
    s.axe("the staff login").await;
    crate::staff_login(s, app, CLERK).await;
    s.wait_visible("#timeline").await;
    s.wait_visible(&row(&other.id)).await;
    s.axe("the clerk's timeline").await;
    s.click(&format!(
        "{} [data-testid=appointment-open]",
        row(&other.id)
    ))
    .await;
    s.wait_visible("#appointment-panel").await;
    s.axe("the clerk's timeline with an appointment open").await;
    s.click("#nav-week").await;
    s.wait_visible("#week-grid .week-day").await;
    s.axe("the clerk's week").await;

    // The check itself can fail: an image without a text alternative is reported (critical).
    s.js(
        "const img = document.createElement('img'); img.src = '/img/logo.svg';\
         document.querySelector('main').append(img);",
        vec![],
    )
    .await;
    let found = s.axe_violations().await;
    assert!(
        found
            .iter()
            .any(|v| v["id"] == "image-alt" && v["impact"] == "critical"),
        "axe-core did not flag an <img> without alt: {found:?}"
    );
    s.quit().await;
}
