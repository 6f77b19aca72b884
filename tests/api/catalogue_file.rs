//! The catalogue as a CSV file (docs/catalogue.md): the demo ships as one and exports as the same
//! file; an admin's dry run says what would change and changes nothing; an import adds, changes,
//! deletes the never-booked and deactivates the booked, all at once, audited; a file with
//! problems names each row and column and imports nothing; `loket catalogue` does the same.

use std::process::Command;

use crate::helpers::{Resp, TestApp, resp, spawn_app};

const EXPORT: &str = "/api/v1/admin/catalogue/export";
const IMPORT: &str = "/api/v1/admin/catalogue/import";

async fn export(app: &TestApp, token: &str) -> (reqwest::StatusCode, String) {
    let r = app
        .client
        .get(app.url(EXPORT))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn import(app: &TestApp, token: &str, file: &str, dry_run: bool) -> Resp {
    resp(
        app.client
            .post(app.url(&format!("{IMPORT}?dry_run={dry_run}")))
            .bearer_auth(token)
            .header("Content-Type", "text/csv")
            .body(file.to_string())
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The demo file with PBG taking 45 minutes, a new agency with one service, `sambungan-air`
/// (never booked) and `pln-pasang-baru` (booked by the caller) left out.
fn edited(demo: &str) -> String {
    let mut out = String::new();
    for line in demo.split_inclusive("\r\n") {
        if line.contains(",sambungan-air,") || line.contains(",pln-pasang-baru,") {
            continue;
        }
        if line.contains(",pbg,") {
            out.push_str(&line.replace(",30,10,no,yes", ",45,10,no,yes"));
        } else {
            out.push_str(line);
        }
    }
    out.push_str(
        "dinkes,Dinas Kesehatan Kota Bogor,Bogor City Health Office,city,surat-sehat,\
         Surat Keterangan Sehat,Health certificate,surat sehat | SKS,,KTP-el | Pas foto,\
         ID card | Photo,15,5,yes,yes\r\n",
    );
    out
}

async fn audit_count(app: &TestApp) -> String {
    app.scalar("SELECT count(*) FROM audit_events WHERE kind = 'catalogue_imported'")
        .await
        .unwrap()
}

#[tokio::test]
async fn the_demo_is_loaded_from_the_shipped_csv_and_exports_as_it() {
    let app = spawn_app().await;
    let admin = app.login("admin@loket.example").await;
    let (status, file) = export(&app, &admin).await;
    assert_eq!(status, 200);
    assert_eq!(
        file,
        loket::demo::CATALOGUE,
        "demo/catalogue.csv is what the demo holds, in the export's order"
    );
    // Importing it again changes nothing.
    let r = import(&app, &admin, &file, false).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["services_unchanged"], 49);
    assert_eq!(r.body["services_changed"], serde_json::json!([]));
    assert_eq!(audit_count(&app).await, "1", "only the demo's own load");
    // Admins only.
    let spv = app.login("supervisor@loket.example").await;
    assert_eq!(export(&app, &spv).await.0, 403);
    assert_eq!(import(&app, &spv, &file, true).await.status, 403);
}

#[tokio::test]
async fn a_service_with_only_queue_numbers_is_deactivated_not_deleted() {
    // A queue number keeps its service (no ON DELETE), as a booking does: an import without
    // the service must keep it inactive, not fail on the reference (it once answered
    // `catalogue_busy` — "try again" — for ever).
    let app = spawn_app().await;
    let admin = app.login("admin@loket.example").await;
    let (_, demo) = export(&app, &admin).await;
    app.exec(
        "INSERT INTO queue_tickets (id, agency_id, service_id, day, seq, mode, state, citizen_name) \
         SELECT gen_random_uuid(), agency_id, id, current_date, 1, 'in_person', 'cancelled', 'Siti' \
         FROM services WHERE slug = 'sambungan-air'",
    )
    .await;
    let file: String = demo
        .split_inclusive("\r\n")
        .filter(|l| !l.contains(",sambungan-air,"))
        .collect();
    let done = import(&app, &admin, &file, false).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(
        done.body["services_deactivated"],
        serde_json::json!(["sambungan-air"])
    );
    assert_eq!(done.body["services_deleted"], serde_json::json!([]));
    assert_eq!(
        app.scalar("SELECT active FROM services WHERE slug = 'sambungan-air'")
            .await
            .as_deref(),
        Some("false")
    );
}

#[tokio::test]
async fn a_dry_run_says_what_would_change_and_changes_nothing_then_the_import_does_it() {
    let app = spawn_app().await;
    let admin = app.login("admin@loket.example").await;
    let (_, demo) = export(&app, &admin).await;
    let (token, _) = app.book_first("pln-pasang-baru", "081234500001").await;
    let file = edited(&demo);

    let dry = import(&app, &admin, &file, true).await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    assert_eq!(dry.body["dry_run"], true);
    assert_eq!(dry.body["agencies_added"], serde_json::json!(["dinkes"]));
    assert_eq!(
        dry.body["services_added"],
        serde_json::json!(["surat-sehat"])
    );
    assert_eq!(
        dry.body["services_changed"],
        serde_json::json!([{"slug": "pbg", "columns": ["duration_minutes"]}])
    );
    assert_eq!(
        dry.body["services_deleted"],
        serde_json::json!(["sambungan-air"])
    );
    assert_eq!(
        dry.body["services_deactivated"],
        serde_json::json!(["pln-pasang-baru"])
    );
    assert_eq!(
        export(&app, &admin).await.1,
        demo,
        "a dry run changes nothing"
    );
    assert_eq!(audit_count(&app).await, "1");

    let done = import(&app, &admin, &file, false).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["dry_run"], false);
    assert_eq!(
        app.get("/api/v1/services/pbg").await.body["duration_minutes"],
        45
    );
    assert_eq!(app.get("/api/v1/services/sambungan-air").await.status, 404);
    assert_eq!(app.get("/api/v1/services/surat-sehat").await.status, 200);
    // The booked service stays, inactive, and its booking with it.
    assert_eq!(
        app.scalar("SELECT active FROM services WHERE slug = 'pln-pasang-baru'")
            .await
            .as_deref(),
        Some("false")
    );
    let mine = app.get_bearer("/api/v1/appointments/current", &token).await;
    assert_eq!(mine.status, 200);
    assert_eq!(audit_count(&app).await, "2");
    let admin_id = app.staff_id("admin@loket.example").await;
    assert_eq!(
        app.scalar(
            "SELECT actor FROM audit_events WHERE kind = 'catalogue_imported' ORDER BY id DESC LIMIT 1"
        )
        .await,
        Some(format!("staff:{admin_id}"))
    );
    // What is there now exports as the file (the deactivated service says so).
    let (_, now) = export(&app, &admin).await;
    assert!(now.contains(",surat-sehat,") && !now.contains(",sambungan-air,"));
    assert!(
        now.lines()
            .any(|l| l.contains(",pln-pasang-baru,") && l.ends_with(",no")),
        "{now}"
    );
}

#[tokio::test]
async fn problems_name_the_row_and_column_and_nothing_is_imported() {
    let app = spawn_app().await;
    let admin = app.login("admin@loket.example").await;
    let (_, demo) = export(&app, &admin).await;
    let mut lines: Vec<String> = demo.split("\r\n").map(String::from).collect();
    // A duration out of range on one row, a yes/no that is neither on another (the header is
    // row 1, so line i is row i + 1).
    let d = (1..lines.len())
        .find(|&i| lines[i].contains(",20,10,"))
        .unwrap();
    lines[d] = lines[d].replacen(",20,10,", ",999,10,", 1);
    let y = if d == 1 { 2 } else { 1 };
    lines[y] = format!("{}maybe", lines[y].strip_suffix("yes").unwrap());
    let bad = lines.join("\r\n") + &edited("");
    let r = import(&app, &admin, &bad, false).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"], "validation_failed");
    let fields = &r.body["fields"];
    assert_eq!(
        fields[format!("{}.duration_minutes", d + 1)],
        "out_of_range",
        "{}",
        r.text
    );
    assert_eq!(
        fields[format!("{}.active", y + 1)],
        "not_yes_or_no",
        "{}",
        r.text
    );
    assert_eq!(export(&app, &admin).await.1, demo, "nothing imported");
    assert_eq!(audit_count(&app).await, "1");

    // A service moved to another agency is refused, naming its row.
    let lines: Vec<&str> = demo.split("\r\n").collect();
    let jabar = lines
        .iter()
        .find(|l| l.starts_with("dpmptsp-jabar,"))
        .unwrap();
    let jabar_cells: Vec<&str> = jabar.splitn(5, ',').take(4).collect();
    let p = lines.iter().position(|l| l.contains(",pbg,")).unwrap();
    let moved: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == p {
                format!(
                    "{},{}",
                    jabar_cells.join(","),
                    l.splitn(5, ',').nth(4).unwrap()
                )
            } else {
                l.to_string()
            }
        })
        .collect();
    let r = import(&app, &admin, &moved.join("\r\n"), true).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["fields"][format!("{}.agency", p + 1)],
        "service_of_another_agency",
        "{}",
        r.text
    );

    // Limits: a file over 1 MiB is refused before it is read.
    let huge = "a".repeat(loket::domain::catalogue::MAX_BYTES + 1);
    let r = import(&app, &admin, &huge, true).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"], "body_too_large");
    // A file is sent as text/csv; JSON (or nothing) is refused before it is read.
    let r = resp(
        app.client
            .post(app.url(IMPORT))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"agency": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"], "unsupported_content_type");
    let r = import(&app, &admin, "agency,service\r\nx,y\r\n", true).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["fields"]["1.name_en"], "missing_column");
}

#[tokio::test]
async fn the_command_line_exports_and_imports_the_same_way() {
    let app = spawn_app().await;
    let dir = std::env::temp_dir().join(format!("loket-cat-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let loket = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_loket"))
            .args(args)
            .env("DATABASE_URL", &app.db_url)
            .env("LOKET_LOG", "error")
            .output()
            .expect("run loket")
    };
    let file = dir.join("catalogue.csv");
    let out = loket(&["catalogue", "export", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = std::fs::read_to_string(&file).unwrap();
    assert_eq!(exported, loket::demo::CATALOGUE);

    std::fs::write(&file, edited(&exported)).unwrap();
    let out = loket(&["catalogue", "import", "--dry-run", file.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("dry run") && said.contains("surat-sehat"),
        "{said}"
    );
    assert_eq!(app.get("/api/v1/services/surat-sehat").await.status, 404);

    let out = loket(&["catalogue", "import", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.get("/api/v1/services/surat-sehat").await.status, 200);
    assert_eq!(
        app.scalar("SELECT actor FROM audit_events WHERE kind = 'catalogue_imported' ORDER BY id DESC LIMIT 1")
            .await
            .as_deref(),
        Some("cli")
    );

    std::fs::write(&file, exported.replacen(",20,10,", ",999,10,", 1)).unwrap();
    let out = loket(&["catalogue", "import", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("duration_minutes: out_of_range") && err.contains("nothing imported"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The README says what the demo holds: counted from the data, so it cannot drift.
#[test]
fn the_readme_counts_what_the_demo_holds() {
    use loket::domain::schedule::AgencyKind;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let c = loket::demo::catalogue().expect("the demo catalogue reads");
    let kind = |k: AgencyKind| c.agencies.iter().filter(|a| a.kind == k).count();
    let said = format!(
        "{} agencies ({} city offices, {} provincial, {} central, {} enterprises) with {} services \
         and their requirements ({} also in English), {} staff accounts",
        c.agencies.len(),
        kind(AgencyKind::City),
        kind(AgencyKind::Province),
        kind(AgencyKind::Central),
        kind(AgencyKind::Enterprise),
        c.services.len(),
        c.services
            .iter()
            .filter(|s| !s.requirements_en.is_empty())
            .count(),
        loket::demo::data::STAFF.len(),
    );
    assert!(
        readme.contains(&said),
        "README.md should say what the demo holds: {said:?}"
    );
    assert!(readme.contains("docs/catalogue.md") && readme.contains("loket catalogue import"));
}
