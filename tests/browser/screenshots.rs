//! Where the browser tests' screenshots go: under target/, so a test run leaves the checkout
//! clean; docs/screenshots/ (the README's pictures) is rewritten only with
//! `LOKET_UPDATE_SCREENSHOTS=1`.

use crate::harness::{Browser, docs_screenshot_dir, screenshot_dir, update_docs_screenshots};
use crate::helpers::spawn_app;

#[tokio::test]
async fn screenshots_are_written_under_target_and_not_into_the_docs() {
    let app = &spawn_app().await;
    let b = &Browser::phone("citizen").await;
    b.goto(&app.url("/")).await;
    b.wait_visible("[data-testid=service-item]").await;
    let name = format!("harness-check-{}", std::process::id());
    let saved = screenshot_dir().join(format!("{name}.png"));
    let docs = docs_screenshot_dir().join(format!("{name}.png"));
    b.screenshot(&name).await;
    b.quit().await;

    let png = std::fs::read(&saved).unwrap_or_else(|e| panic!("{}: {e}", saved.display()));
    assert!(png.starts_with(b"\x89PNG"), "{} is a PNG", saved.display());
    let _ = std::fs::remove_file(&saved);
    if update_docs_screenshots() {
        // Asked for: the docs copy is there too (and this test's own picture is removed again).
        assert!(docs.exists(), "{} was written on request", docs.display());
        let _ = std::fs::remove_file(&docs);
    } else {
        assert!(
            !docs.exists(),
            "{} was written without LOKET_UPDATE_SCREENSHOTS=1",
            docs.display()
        );
    }
}
