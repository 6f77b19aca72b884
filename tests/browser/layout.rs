//! The citizen pages on narrow phones (issue 12): nothing wider than a 360 or 390 px screen, on
//! every page a citizen goes through — home, a service, the form, the confirmation, manage, the
//! join page's device check, the waiting room, the call and the survey. The last three need a
//! clerk in a second browser: the consultation test in call.rs checks them on its way
//! ([`crate::call::Setup::phone_layout`]).

use crate::citizen::{device_check_passes, pick_service_and_time};
use crate::harness::Browser;
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn the_booking_pages_fit_a_narrow_phone() {
    let app = &spawn_app_with(|s| {
        s.min_notice_minutes = 0;
    })
    .await;
    let b = &Browser::phone("citizen").await;
    b.goto(&app.url("/")).await;
    b.wait_visible("[data-testid=service-item]").await;
    b.assert_fits_phones("the home page (service list)").await;
    // The case: search "SIUP" (a former name, so the result also says "dulu: SIUP").
    b.fill("#service-search", "SIUP").await;
    b.wait_visible("[data-testid=service-item][data-slug='nib-oss'] [data-testid=service-through]")
        .await;
    b.assert_fits_phones("the home page (search results)").await;
    b.fill("#service-search", "PBG").await;

    pick_service_and_time(b, "pbg").await;
    b.assert_fits_phones("the booking form").await;
    b.click("#change-time").await;
    b.wait_visible("[data-testid=slot-button]").await;
    b.assert_fits_phones("a service (requirements, days and times)")
        .await;
    b.click("[data-testid=slot-button]").await;
    b.wait_visible("#step-details").await;
    b.click("#book-submit").await;
    b.wait_visible("#citizen-name-error").await;
    b.assert_fits_phones("the booking form with errors").await;
    b.fill("#citizen-name", "Nur Aini").await;
    b.fill("#citizen-phone", "081234567051").await;
    b.click("#consent").await;
    b.click("#book-submit").await;
    b.wait_text("#booking-code", "shows the code", |t| t.trim().len() == 8)
        .await;
    b.assert_fits_phones("the booking confirmation").await;

    let link = |id: &'static str| async move {
        b.js(
            "return document.getElementById(arguments[0]).href;",
            vec![serde_json::json!(id)],
        )
        .await
        .as_str()
        .expect("a link")
        .to_string()
    };
    let manage = link("manage-link").await;
    let join = link("join-link").await;
    b.goto(&manage).await;
    b.wait_visible("#appointment-code").await;
    b.assert_fits_phones("the manage page").await;
    b.click("#reschedule-button").await;
    b.wait_visible("#reschedule [data-testid=slot-button]")
        .await;
    b.assert_fits_phones("the manage page (reschedule)").await;

    b.goto(&join).await;
    device_check_passes(b).await;
    b.assert_fits_phones("the join page (device check)").await;
    b.quit().await;
}
