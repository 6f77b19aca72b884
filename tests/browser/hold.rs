//! The code step of a held booking in the browser (issue 13 §3, DESIGN §9): after booking, the
//! page asks for the code that arrived by WhatsApp (the test's fake Cloud API), says until when
//! the time is held, refuses a wrong code in words, and then shows the booking confirmed; the
//! manage page of a booking still held says it is not confirmed yet.

use crate::citizen::pick_service_and_time;
use crate::harness::Browser;
use crate::helpers::spawn_app_with;
use crate::providers::{Provider, until, with_providers};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_booking_asks_for_the_code_and_then_shows_the_booking() {
    let provider = Provider::start().await;
    let app = &spawn_app_with(|s| {
        with_providers(s, &provider, None);
        s.booking_confirmation = loket::domain::hold::Confirmation::Auto;
    })
    .await;
    let b = &Browser::phone("citizen").await;
    b.goto(&app.url("/")).await;
    b.wait_visible("[data-testid=service-item]").await;
    pick_service_and_time(b, "pbg").await;
    b.fill("#citizen-name", "Dewi Lestari").await;
    b.fill("#citizen-phone", "0812-3456-7061").await;
    b.click("#consent").await;
    b.click("#book-submit").await;

    b.wait_visible("[data-testid=hold-step]").await;
    let until_text = b
        .wait_text("[data-testid=hold-until]", "the hold's end", |t| {
            t.contains(':') || t.contains('.')
        })
        .await;
    assert!(!until_text.trim().is_empty());
    let code = b
        .visible_text("[data-testid=held-code]")
        .await
        .unwrap_or_default();
    let stored = app
        .scalar(&format!(
            "SELECT status FROM appointments WHERE code = '{}'",
            code.trim()
        ))
        .await;
    assert_eq!(stored.as_deref(), Some("held"));
    b.axe("the code step").await;

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
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    b.fill("[data-testid=hold-otp]", wrong).await;
    b.click("[data-testid=hold-confirm]").await;
    // A typo: it says how many tries are left, not to ask for a new code.
    let said = b
        .wait_text("[data-testid=hold-error]", "the wrong code refused", |t| {
            t.contains("tidak cocok")
        })
        .await;
    assert!(said.contains("sisa 4 kali percobaan"), "{said}");
    assert!(!said.contains("Minta kode baru"), "{said}");
    b.screenshot("hold-code-step").await;
    b.fill("[data-testid=hold-otp]", &otp).await;
    b.click("[data-testid=hold-confirm]").await;
    let shown = b
        .wait_text("#booking-code", "the confirmed booking", |t| {
            t.trim().len() == 8
        })
        .await;
    assert_eq!(shown.trim(), code.trim());
    let stored = app
        .scalar(&format!(
            "SELECT status FROM appointments WHERE code = '{}'",
            code.trim()
        ))
        .await;
    assert_eq!(stored.as_deref(), Some("booked"));

    // Another booking still held: its manage page says it is not confirmed yet, and offers
    // the code step there too.
    let day = crate::helpers::next_working_day(3);
    let slot = crate::free_slots(app, "pbg", day, 1).await[0];
    let r = app.book("pbg", slot, "081234567062").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["appointment"]["status"], "held");
    let token = r.body["token"].as_str().unwrap();
    b.goto(&app.url(&format!("/manage#t={token}"))).await;
    b.wait_visible("[data-testid=held-notice]").await;
    b.wait_visible("[data-testid=hold-step]").await;
    let badge = b
        .visible_text("[data-testid=status-badge]")
        .await
        .unwrap_or_default();
    assert_eq!(badge.trim(), "Belum dikonfirmasi");
    b.axe("the manage page of a held booking").await;
    b.quit().await;
}
