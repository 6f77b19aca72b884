//! The public catalogue and free times.

use chrono::{Duration, Timelike};
use serde_json::{Value, json};

use crate::helpers::{next_working_day, spawn_app, spawn_app_with};

#[tokio::test]
async fn agencies_and_services_come_from_the_demo_catalogue() {
    let app = spawn_app().await;
    let a = app.get("/api/v1/agencies").await;
    assert_eq!(a.status, 200);
    assert!(a.body.as_array().unwrap().len() >= 15);
    let s = app.get("/api/v1/services").await;
    let all = s.body.as_array().unwrap();
    assert!(all.len() >= 45);
    for svc in all {
        for k in [
            "slug",
            "name",
            "name_en",
            "agency",
            "duration_minutes",
            "needs_nik",
        ] {
            assert!(svc.get(k).is_some(), "service lacks {k}: {svc}");
        }
    }
    let by_agency = app.get("/api/v1/services?agency=disdukcapil").await;
    let list = by_agency.body.as_array().unwrap();
    assert!(!list.is_empty());
    assert!(list.iter().all(|s| s["agency"]["slug"] == "disdukcapil"));
}

#[tokio::test]
async fn search_finds_services_by_old_names_and_either_language() {
    let app = spawn_app().await;
    let slugs = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["slug"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(slugs(&app.get("/api/v1/services?q=IMB").await.body).contains(&"pbg".to_string()));
    assert!(slugs(&app.get("/api/v1/services?q=siup").await.body).contains(&"nib-oss".to_string()));
    assert!(
        slugs(&app.get("/api/v1/services?q=passport").await.body).contains(&"paspor".to_string())
    );
    assert!(
        app.get("/api/v1/services?q=zzzzqqq")
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A result found through a former name says which (issue 12: "dulu: IMB"); one found
    // through another alias names that alias; one found by its own name neither.
    let find = |list: &Value, slug: &str| -> Value {
        list.as_array()
            .unwrap()
            .iter()
            .find(|s| s["slug"] == slug)
            .cloned()
            .unwrap_or_else(|| panic!("{slug} in {list}"))
    };
    let imb = find(&app.get("/api/v1/services?q=IMB").await.body, "pbg");
    assert_eq!(imb["formerly"], "IMB", "{imb}");
    assert!(imb.get("matched_alias").is_none(), "{imb}");
    let tdp = find(&app.get("/api/v1/services?q=tdp").await.body, "nib-oss");
    assert_eq!(tdp["formerly"], "TDP", "{tdp}");
    let baliho = find(
        &app.get("/api/v1/services?q=baliho").await.body,
        "izin-reklame",
    );
    assert_eq!(baliho["matched_alias"], "baliho", "{baliho}");
    assert!(baliho.get("formerly").is_none(), "{baliho}");
    for q in ["PBG", "bangunan", ""] {
        let pbg = find(
            &app.get(&format!("/api/v1/services?q={q}")).await.body,
            "pbg",
        );
        assert!(
            pbg.get("formerly").is_none() && pbg.get("matched_alias").is_none(),
            "q={q}: {pbg}"
        );
    }
    let unknown = app.get("/api/v1/services?agency=nowhere").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["error"], "unknown_agency");
}

#[tokio::test]
async fn one_service_shows_its_requirements_and_unknown_is_404() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/services/skck").await;
    assert_eq!(r.status, 200);
    assert!(!r.body["requirements"].as_array().unwrap().is_empty());
    assert_eq!(r.body["agency"]["slug"], "polresta");
    // English requirements where the catalogue has them, line by line; none elsewhere.
    let en = r.body["requirements_en"].as_array().unwrap();
    assert_eq!(en.len(), r.body["requirements"].as_array().unwrap().len());
    assert!(
        en.iter()
            .any(|l| l.as_str().unwrap().contains("birth certificate"))
    );
    assert_eq!(r.body["former_names"], json!(["surat kelakuan baik"]));
    let kia = app.get("/api/v1/services/kia").await;
    assert_eq!(kia.body["requirements_en"], json!([]));
    assert_eq!(kia.body["former_names"], json!([]));
    let missing = app.get("/api/v1/services/does-not-exist").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"], "unknown_service");
}

#[tokio::test]
async fn slots_follow_hours_breaks_notice_and_holidays() {
    let app = spawn_app().await;
    let day = next_working_day(3);
    let slots = app.slots("pbg", day).await;
    assert!(!slots.is_empty());
    let tz = chrono_tz::Asia::Jakarta;
    for s in &slots {
        let local = s.with_timezone(&tz);
        assert_eq!(local.date_naive(), day);
        let minutes = local.hour() * 60 + local.minute();
        // Demo hours: 08.00–12.00 and 13.00–15.00 (Friday 11.30); 30 + 10 minutes each.
        assert!(
            (8 * 60..12 * 60).contains(&minutes) || (13 * 60..15 * 60).contains(&minutes),
            "{local}"
        );
    }
    // Sunday: nothing.
    use chrono::Datelike;
    let mut sunday = day;
    while sunday.weekday() != chrono::Weekday::Sun {
        sunday += Duration::days(1);
    }
    assert!(app.slots("pbg", sunday).await.is_empty());
    // Days without times say why when they are closed, not booked up (issue 12: "Tutup" and
    // "Libur: …" instead of "Penuh"); open days carry no such fields.
    assert_eq!(
        closed_reason(&app, sunday).await,
        json!({"closed": "weekend"})
    );
    assert_eq!(closed_reason(&app, day).await, json!({}));
    let yesterday = chrono::Utc::now().with_timezone(&tz).date_naive() - Duration::days(1);
    assert_eq!(
        closed_reason(&app, yesterday).await,
        json!({"closed": "past"})
    );
    // A mall-wide holiday closes the day for everyone.
    let admin = app.login("admin@loket.example").await;
    let start = tz
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
        .unwrap();
    use chrono::TimeZone;
    let r = app
        .post_bearer(
            "/api/v1/admin/holidays",
            &admin,
            &serde_json::json!({
                "starts_at": start.to_rfc3339(),
                "ends_at": (start + Duration::days(1)).to_rfc3339(),
                "reason": "Hari libur uji"
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(app.slots("pbg", day).await.is_empty());
    assert_eq!(
        closed_reason(&app, day).await,
        json!({"closed": "holiday", "holiday": "Hari libur uji"})
    );
}

/// The `closed` and `holiday` fields of one day of PBG's slots (an empty object when open).
async fn closed_reason(app: &crate::helpers::TestApp, date: chrono::NaiveDate) -> Value {
    let r = app
        .get(&format!("/api/v1/services/pbg/slots?from={date}&days=1"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let day = &r.body["days"][0];
    assert_eq!(day["date"], json!(date.to_string()));
    let mut out = serde_json::Map::new();
    for key in ["closed", "holiday"] {
        if let Some(v) = day.get(key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// The minimum notice is set so that it ends at 10.00 WIB on a working day: that day's
/// earlier times (free with the default notice) are gone and its later ones stay.
#[tokio::test]
async fn slots_respect_minimum_notice() {
    use chrono::TimeZone;
    let tz = chrono_tz::Asia::Jakarta;
    let day = next_working_day(3);
    let cut = tz
        .from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let usual = spawn_app().await.slots("pbg", day).await;
    assert!(
        usual.iter().any(|s| *s < cut) && usual.iter().any(|s| *s >= cut),
        "with the default notice {day} has free times on both sides of 10.00: {usual:?}"
    );
    let notice = (cut - chrono::Utc::now()).num_minutes();
    let app = spawn_app_with(|s| s.min_notice_minutes = notice).await;
    let slots = app.slots("pbg", day).await;
    let earliest = chrono::Utc::now() + Duration::minutes(notice);
    assert!(!slots.is_empty(), "the later times stay");
    for s in &slots {
        assert!(*s >= earliest, "inside the notice: {s}");
    }
    let later: Vec<_> = usual.iter().filter(|s| **s >= earliest).copied().collect();
    assert_eq!(slots, later, "exactly the times after the notice");
}

/// The horizon is set to end on the next working day: that day has free times, every later day
/// none, among them a working day that has free times under the default horizon.
#[tokio::test]
async fn slots_respect_the_horizon() {
    let tz = chrono_tz::Asia::Jakarta;
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let first = next_working_day(1);
    let horizon = (first - today).num_days();
    let beyond = next_working_day(horizon + 1);
    let days = (beyond - today).num_days() + 1;
    let query = format!("/api/v1/services/pbg/slots?from={today}&days={days}");
    let usual = spawn_app().await.get(&query).await;
    assert_eq!(usual.status, 200, "{}", usual.text);
    let app = spawn_app_with(|s| s.horizon_days = horizon).await;
    let r = app.get(&query).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let by_date = |body: &Value, date: chrono::NaiveDate| -> usize {
        body["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["date"] == date.to_string())
            .unwrap_or_else(|| panic!("{date} missing from {body}"))["slots"]
            .as_array()
            .unwrap()
            .len()
    };
    assert!(by_date(&r.body, first) > 0, "{first} is inside the horizon");
    assert!(
        by_date(&usual.body, beyond) > 0,
        "{beyond} is a working day"
    );
    assert_eq!(by_date(&r.body, beyond), 0, "{beyond} is past the horizon");
    let listed = r.body["days"].as_array().unwrap();
    assert_eq!(listed.len() as i64, days, "{}", r.text);
    for d in listed {
        let date =
            chrono::NaiveDate::parse_from_str(d["date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        if date > first {
            assert_eq!(
                d["slots"],
                serde_json::json!([]),
                "beyond the horizon: {date}"
            );
            assert_eq!(d["closed"], "beyond_horizon", "{d}");
        }
    }
}

#[tokio::test]
async fn bad_slot_queries_are_422_with_the_field() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/services/pbg/slots?from=2026-13-45").await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["fields"]["from"], "invalid_date");
    let r = app.get("/api/v1/services/pbg/slots?days=99").await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["fields"]["days"], "out_of_range");
    let r = app.get("/api/v1/services/pbg/slots?days=abc").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "invalid_query");
}
