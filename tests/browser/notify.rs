//! Finding a booking again in the browser (issue 10): the home page's "Temukan booking saya",
//! the booking code and phone, the one-time code that arrives by WhatsApp (a fake Cloud API run
//! by the test), and the manage page opening on the booking — with its messages listed.

use serde_json::Value;

use crate::harness::{Browser, WAIT, wait_until};
use crate::helpers::{next_working_day, spawn_app_with};
use crate::providers::{Provider, until, with_providers};
use crate::{book, free_slots};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovered_link_opens_the_manage_page() {
    let provider = Provider::start().await;
    let app = &spawn_app_with(|s| with_providers(s, &provider, None)).await;
    let day = next_working_day(2);
    let first = free_slots(app, "pbg", day, 1).await[0];
    let booking = book(app, "pbg", first, "Rina Marlina", "081234567041").await;

    let b = &Browser::phone("citizen").await;
    b.goto(&app.url("/")).await;
    b.click("[data-testid=find-booking]").await;
    b.wait_visible("[data-testid=recover]").await;
    b.axe("the find-my-booking form").await;
    b.fill("[data-testid=recover-code]", &booking.code.to_lowercase())
        .await;
    b.fill("[data-testid=recover-phone]", "0812-3456-7041")
        .await;
    b.click("[data-testid=recover-send]").await;
    b.wait_visible("[data-testid=recover-otp]").await;
    let otp = until("the code by WhatsApp", || {
        provider
            .whatsapp()
            .into_iter()
            .find(|m| m["template"]["name"] == "loket_otp")
            .and_then(|m| {
                m["template"]["components"][0]["parameters"][0]["text"]
                    .as_str()
                    .map(String::from)
            })
    })
    .await;
    b.fill("[data-testid=recover-otp]", &otp).await;
    b.click("[data-testid=recover-verify]").await;
    b.wait_text("#appointment-code", "the booking opens", |t| {
        t.trim() == booking.code
    })
    .await;
    assert!(
        !b.is_visible("[data-testid=recover]").await,
        "the form is gone"
    );
    // The booking's messages are listed, the confirmation among them.
    wait_until(WAIT, "the booking confirmation in the messages", || async move {
        let v: Value = b
            .js(
                "return [...document.querySelectorAll('[data-testid=notice]')].map((n) => n.dataset.kind);",
                vec![],
            )
            .await;
        let kinds: Vec<String> = serde_json::from_value(v).unwrap_or_default();
        if kinds.iter().any(|k| k == "booked") { Ok(()) } else { Err(format!("{kinds:?}")) }
    })
    .await;
    let location = b.location().await;
    assert!(
        !location.contains("t="),
        "no token in the address bar: {location}"
    );
    b.axe("the manage page after recovery").await;
    b.screenshot("manage-recovered").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_sees_what_leave_does_to_bookings_before_saving_and_the_admin_reads_the_outbox() {
    use crate::{CLERK, pbg_goes_to_the_clerk, staff_login};
    // No provider set up, as in the demo: every message is `skipped`, readable in the Outbox.
    let app = &spawn_app_with(crate::providers::quick).await;
    pbg_goes_to_the_clerk(app).await;
    let day = next_working_day(2);
    let first = free_slots(app, "pbg", day, 1).await[0];
    let booking = book(app, "pbg", first, "Yusuf Maulana", "081234567042").await;

    let b = &Browser::desk("clerk").await;
    staff_login(b, app, CLERK).await;
    b.click("#nav-leave").await;
    b.wait_visible("#closure-form").await;
    // The whole working day (a date and a 24-hour time each, read in WIB).
    b.js(
        "document.querySelector('#closure-starts').value = arguments[0];\
         document.querySelector('#closure-ends').value = arguments[0];",
        vec![day.to_string().into()],
    )
    .await;
    b.fill("#closure-starts-time", "07.00").await;
    b.fill("#closure-ends-time", "17.00").await;
    b.fill("#closure-reason", "Dinas luar").await;
    b.click("#closure-submit").await;
    // First the preview: one booking, nobody else free, so the citizen will pick a new time.
    b.wait_text("#closure-preview-title", "the preview", |t| {
        t.starts_with("1 ")
    })
    .await;
    let row = b.wait_visible("[data-testid=closure-preview-row]").await;
    assert!(row.contains(&booking.code), "{row}");
    assert_eq!(
        b.attr("[data-testid=closure-preview-row]", "data-outcome")
            .await
            .as_deref(),
        Some("needs_new_time")
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM closures WHERE reason = 'Dinas luar'")
            .await
            .as_deref(),
        Some("0"),
        "nothing saved by the preview"
    );
    b.axe("the leave preview").await;
    b.click("#closure-submit").await;
    b.wait_text("#closure-status", "the leave is saved", |t| !t.is_empty())
        .await;
    b.click("#nav-open").await;
    b.wait_text(
        "[data-testid=open-list]",
        "the booking waits for a new time",
        |t| t.contains(&booking.code),
    )
    .await;
    b.quit().await;

    let admin = &Browser::desk("admin").await;
    staff_login(admin, app, "admin@loket.example").await;
    admin.click("[data-testid=nav-outbox]").await;
    admin
        .wait_text("[data-testid=outbox-table]", "the messages", |t| {
            t.contains(&booking.code)
        })
        .await;
    let kinds: Vec<String> = serde_json::from_value(
        admin
            .js("return [...document.querySelectorAll('[data-testid=outbox-row]')].map((r) => r.dataset.kind);", vec![])
            .await,
    )
    .unwrap_or_default();
    assert!(kinds.iter().any(|k| k == "needs_new_time"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "booked"), "{kinds:?}");
    admin.axe("the outbox").await;
    admin.screenshot("staff-outbox").await;
    admin.quit().await;
}
