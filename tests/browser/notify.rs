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
