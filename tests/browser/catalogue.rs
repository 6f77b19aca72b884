//! The admin's catalogue page: the menu item only admins see, a check of a file that says what
//! an import would change and changes nothing, the import itself, and a file with a problem
//! named by its row and column.

use crate::harness::Browser;
use crate::helpers::spawn_app_with;
use crate::{CLERK, staff_login};

/// Puts `text` into the page's file input as a chosen file named catalogue.csv.
async fn choose_file(b: &Browser, text: &str) {
    b.js(
        "const dt = new DataTransfer();\
         dt.items.add(new File([arguments[0]], 'catalogue.csv', { type: 'text/csv' }));\
         document.getElementById('catalogue-file').files = dt.files;",
        vec![serde_json::json!(text)],
    )
    .await;
}

#[tokio::test]
async fn an_admin_checks_then_imports_a_catalogue_file_and_sees_problems_by_row() {
    let app = &spawn_app_with(|_| {}).await;
    // A clerk has no catalogue menu.
    let b = &Browser::desk("clerk").await;
    staff_login(b, app, CLERK).await;
    assert!(!b.is_visible("#nav-catalogue").await);
    b.quit().await;

    let b = &Browser::desk("admin").await;
    staff_login(b, app, "admin@loket.example").await;
    b.click("#nav-catalogue").await;
    b.wait_visible("#view-catalogue").await;
    // The download link is the admin's export, the cookie going with it.
    let exported = b
        .js_await(
            "const r = await fetch(document.getElementById('catalogue-export').href);\
             return r.text();",
            vec![],
        )
        .await;
    assert_eq!(exported.as_str(), Some(loket::demo::CATALOGUE));

    let file: String = loket::demo::CATALOGUE
        .split_inclusive("\r\n")
        .map(|l| {
            if l.contains(",pbg,") {
                l.replace(",30,10,no,yes", ",45,10,no,yes")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_ne!(file, loket::demo::CATALOGUE);
    choose_file(b, &file).await;
    b.click("#catalogue-check").await;
    let said = b
        .wait_text("#catalogue-result", "the check's report", |t| {
            t.contains("duration_minutes")
        })
        .await;
    assert!(said.contains("pbg"), "{said}");
    let stored = "SELECT duration_minutes::text FROM services WHERE slug = 'pbg'";
    assert_eq!(
        app.scalar(stored).await.as_deref(),
        Some("30"),
        "a check changes nothing"
    );
    b.axe("catalogue check report").await;

    b.click("#catalogue-import").await;
    b.wait_text("#catalogue-result", "the import's report", |t| {
        t.contains("diimpor")
    })
    .await;
    assert_eq!(app.scalar(stored).await.as_deref(), Some("45"));

    // A duration out of range on the first service row (row 2: the header is row 1).
    let bad = {
        let mut lines: Vec<String> = file.split("\r\n").map(String::from).collect();
        let cells: Vec<&str> = lines[1].split(',').collect();
        let n = cells.len();
        let mut cells: Vec<String> = cells.into_iter().map(String::from).collect();
        cells[n - 4] = "999".into();
        lines[1] = cells.join(",");
        lines.join("\r\n")
    };
    choose_file(b, &bad).await;
    b.click("#catalogue-import").await;
    let problems = b
        .wait_text("[data-testid=catalogue-problems]", "the problems", |t| {
            !t.is_empty()
        })
        .await;
    assert!(
        problems.contains("Baris 2") && problems.contains("duration_minutes"),
        "{problems}"
    );
    assert_eq!(
        app.scalar(stored).await.as_deref(),
        Some("45"),
        "nothing imported"
    );
    b.axe("catalogue problems").await;
    b.quit().await;
}
