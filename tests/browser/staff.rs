//! The clerk's pages: login, today's timeline, the week, and live updates from the feed.

use chrono::{Datelike, Duration, NaiveDate};

use crate::harness::{Browser, WAIT, wait_until};
use crate::helpers::{next_working_day, spawn_app_with};
use crate::{
    CLERK, CLERK_NAME, book, booked_for_today, free_slots, pbg_goes_to_the_clerk, staff_login,
    today,
};

fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// A selector for an appointment's row on the timeline.
pub fn row(id: &str) -> String {
    format!("#timeline [data-testid=appointment-row][data-appointment-id='{id}']")
}

fn week_item(id: &str) -> String {
    format!("#week-grid [data-testid=week-item][data-appointment-id='{id}']")
}

/// Sets a marker in the page; [`assert_not_reloaded`] proves the document was never replaced.
pub async fn mark_document(b: &Browser) {
    b.js("window.__sameDocument = true;", vec![]).await;
}

pub async fn assert_not_reloaded(b: &Browser) {
    assert_eq!(
        b.js("return window.__sameDocument === true;", vec![]).await,
        serde_json::json!(true),
        "{}: the page was reloaded",
        b.who
    );
}

/// The Monday of the week the Week view opens on for a page whose today is `today`: this week,
/// except on a Sunday, when it is the coming one.
pub fn first_week_shown(today: NaiveDate) -> NaiveDate {
    if today.weekday() == chrono::Weekday::Sun {
        today + Duration::days(1)
    } else {
        monday_of(today)
    }
}

/// Opens the week view on the week holding `day`.
pub async fn show_week_of(b: &Browser, day: NaiveDate) {
    b.click("#nav-week").await;
    b.wait_visible("#view-week").await;
    let weeks = (monday_of(day) - first_week_shown(today())).num_days() / 7;
    let button = if weeks < 0 {
        "#week-prev"
    } else {
        "#week-next"
    };
    for _ in 0..weeks.abs() {
        let before = b.wait_visible("#week-range").await;
        b.click(button).await;
        b.wait_text("#week-range", "moves a week", |t| t != before)
            .await;
    }
}

#[tokio::test]
async fn a_clerk_logs_in_and_sees_bookings_on_today_and_in_the_week() {
    let app = &spawn_app_with(|s| {
        s.min_notice_minutes = 0;
    })
    .await;
    pbg_goes_to_the_clerk(app).await;

    // One booking on the next working day (the week view) and one today (the timeline), moved
    // there in the database so that the test does not depend on the hour it runs.
    let day = next_working_day(1);
    let day_slots = free_slots(app, "pbg", day, 1).await;
    assert!(day_slots.len() >= 4, "{day} has free PBG times");
    let later = book(app, "pbg", day_slots[0], "Agus Salim", "081234567011").await;
    let today_booking = booked_for_today(app, "pbg", 0, 0, "Yuni Astuti", "081234567012").await;
    for code in [&later.code, &today_booking.code] {
        assert_eq!(app.clerk_of(code).await, CLERK);
    }

    let b = &Browser::desk("clerk").await;
    // A wrong password is refused on the form.
    b.goto(&app.url("/staff")).await;
    b.fill("#staff-email", CLERK).await;
    b.fill("#staff-password", "not-the-password").await;
    b.click("#staff-login-submit").await;
    b.wait_text("#login-error", "says the login failed", |t| !t.is_empty())
        .await;
    assert!(!b.is_visible("#app-view").await);

    staff_login(b, app, CLERK).await;
    b.wait_text("#staff-name", "is the clerk", |t| t == CLERK_NAME)
        .await;
    b.wait_visible("#timeline").await;
    mark_document(b).await;

    let t = &today_booking;
    let text = b.wait_visible(&row(&t.id)).await;
    assert!(text.contains("Yuni Astuti"), "{text}");
    assert!(text.contains(&t.code), "{text}");
    assert_eq!(
        b.attr(&row(&t.id), "data-status").await.as_deref(),
        Some("booked")
    );
    // Live: a booking made elsewhere appears without a reload. The walk-in is moved to today
    // in the database (which sends no event); the next booking's event makes the page fetch
    // its day again, and the walk-in shows.
    let walk_in = booked_for_today(app, "pbg", 0, 1, "Hendra Wijaya", "081234567013").await;
    assert!(!b.is_visible(&row(&walk_in.id)).await);
    let trigger = book(app, "pbg", day_slots[3], "Dedi Kurnia", "081234567015").await;
    assert_eq!(app.clerk_of(&trigger.code).await, CLERK);
    b.wait_visible(&row(&walk_in.id)).await;
    assert_not_reloaded(b).await;
    b.screenshot("staff-timeline").await;

    show_week_of(b, day).await;
    let text = b.wait_visible(&week_item(&later.id)).await;
    assert!(text.contains("Agus Salim"), "{text}");
    // Live in the week view too: the feed's event re-fetches the week.
    let second = book(app, "pbg", day_slots[1], "Rina Kusuma", "081234567014").await;
    let text = b.wait_visible(&week_item(&second.id)).await;
    assert!(text.contains("Rina Kusuma"), "{text}");
    assert_not_reloaded(b).await;
    b.screenshot("staff-week").await;

    // And a cancellation elsewhere shows as one.
    let r = app
        .post_bearer(
            "/api/v1/appointments/current/cancel",
            &second.token,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let second_item = &week_item(&second.id);
    wait_until(
        WAIT,
        "the week item to show the cancellation",
        || async move {
            match b.attr(second_item, "data-status").await {
                Some(s) if s == "cancelled" => Ok(()),
                Some(s) => Err(s),
                None => Err("gone from the week".into()),
            }
        },
    )
    .await;
    assert_not_reloaded(b).await;
    b.quit().await;
}

#[tokio::test]
async fn a_supervisor_reassigns_a_booking_from_the_week_view() {
    let app = &spawn_app_with(|s| {
        s.min_notice_minutes = 0;
    })
    .await;
    pbg_goes_to_the_clerk(app).await;
    let day = next_working_day(1);
    // Izin reklame: served by both DPMPTSP clerks (the supervisor has no hours here).
    let slot = free_slots(app, "izin-reklame", day, 1).await[0];
    let booking = book(app, "izin-reklame", slot, "Hendra Gunawan", "081234567041").await;
    let first = app.clerk_of(&booking.code).await;
    let other = if first == crate::CLERK {
        "dewi.dpmptsp@loket.example"
    } else {
        crate::CLERK
    };
    let target = app.staff_id(other).await;

    let b = &Browser::desk("supervisor").await;
    crate::staff_login(b, app, crate::SUPERVISOR).await;
    show_week_of(b, day).await;
    let item = format!(
        "#week-grid [data-testid=week-item][data-appointment-id='{}']",
        booking.id
    );
    b.wait_visible(&item).await;
    b.click(&item).await;
    b.wait_visible("#reassign-select").await;
    b.js(
        "const s = document.getElementById('reassign-select'); s.value = arguments[0]; \
         s.dispatchEvent(new Event('change'));",
        vec![serde_json::json!(target)],
    )
    .await;
    let chosen = b
        .js(
            "return [document.getElementById('reassign-select').value, \
             [...document.querySelectorAll('#reassign-select option')].map((o) => o.value)];",
            vec![],
        )
        .await;
    assert_eq!(chosen[0], serde_json::json!(target), "options: {chosen}");
    b.click("#reassign-button").await;
    let code = &booking.code;
    wait_until(
        WAIT,
        "the booking to move to the other clerk",
        || async move {
            let now = app.clerk_of(code).await;
            if now == other {
                Ok(())
            } else {
                Err(format!("still with {now}; page: {}", b.describe().await))
            }
        },
    )
    .await;
    assert!(app.events(&booking.id).await.contains("reassigned@staff:"));
    b.quit().await;
}

/// Sets the page's clock (`Date`, `Date.now()`) to `at` from the next page load on, so the page
/// believes it is that moment; the server keeps the real time.
async fn set_page_clock(b: &Browser, at: chrono::DateTime<chrono::Utc>) {
    let source = format!(
        "(() => {{ const Real = Date; const shift = {} - Real.now();\
           class Shifted extends Real {{\
             constructor(...a) {{ if (a.length === 0) super(Real.now() + shift); else super(...a); }}\
             static now() {{ return Real.now() + shift; }}\
           }}\
           window.Date = Shifted; }})();",
        at.timestamp_millis()
    );
    b.driver()
        .cdp()
        .send_raw(
            "Page.addScriptToEvaluateOnNewDocument",
            serde_json::json!({ "source": source }),
        )
        .await
        .expect("set the page clock");
}

/// Words of `css` elements' text split across lines (a word broken mid-way, "Desemb/er").
const BROKEN_WORDS: &str = "const out = [];\
  for (const el of document.querySelectorAll(arguments[0])) {\
    if (el.getClientRects().length === 0) continue;\
    const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);\
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {\
      for (const m of n.textContent.matchAll(/\\S+/g)) {\
        const r = document.createRange(); r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);\
        const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));\
        if (tops.size > 1) out.push(m[0]);\
      }\
    }\
  }\
  return out;";

/// Status pills that reach past their week card.
const PILLS_OUT: &str = "return [...document.querySelectorAll('#week-grid .week-item')].flatMap((item) => {\
    const box = item.getBoundingClientRect();\
    return [...item.querySelectorAll('.badge')].filter((b) => {\
      const r = b.getBoundingClientRect();\
      return r.left < box.left - 0.5 || r.right > box.right + 0.5;\
    }).map((b) => b.textContent);\
  });";

async fn assert_week_readable(b: &Browser, label: &str) {
    let broken = b
        .js(
            BROKEN_WORDS,
            vec![serde_json::json!("#week-grid .week-day-title")],
        )
        .await;
    assert_eq!(
        broken,
        serde_json::json!([]),
        "{label}: day headings broken mid-word"
    );
    let out = b.js(PILLS_OUT, vec![]).await;
    assert_eq!(
        out,
        serde_json::json!([]),
        "{label}: status pills outside their cards"
    );
}

/// Issue 12, the clerk's pages: the week opened on a Sunday is the coming week; with the
/// appointment panel open its day headings keep whole words and its status pills stay in their
/// cards; on a phone the panel's values are not squeezed mid-word ("0812-/3456"); hours and
/// leave take 24-hour times in English as in Indonesian.
#[tokio::test]
async fn the_week_and_panel_stay_readable_and_times_are_24_hour() {
    use chrono::TimeZone;
    let app = &spawn_app_with(|s| {
        s.min_notice_minutes = 0;
    })
    .await;
    pbg_goes_to_the_clerk(app).await;
    // The page believes it is Sunday 10.00 WIB: today if it is a Sunday, else the next one.
    let mut sunday = today();
    while sunday.weekday() != chrono::Weekday::Sun {
        sunday += Duration::days(1);
    }
    let tz = chrono_tz::Asia::Jakarta;
    let page_now = tz
        .from_local_datetime(&sunday.and_hms_opt(10, 0, 0).expect("10.00"))
        .single()
        .expect("WIB has no gaps")
        .with_timezone(&chrono::Utc);
    // Appointments on the first working day of the coming week, in several states.
    let day = next_working_day((sunday - today()).num_days() + 1);
    assert!(
        day <= sunday + Duration::days(5),
        "{day} is in the week after {sunday}"
    );
    let slots = free_slots(app, "pbg", day, 1).await;
    let booked = book(
        app,
        "pbg",
        slots[0],
        "Yohanes Kristianto Wibisono",
        "081234567071",
    )
    .await;
    let cancelled = book(app, "pbg", slots[1], "Dewi Anggraini", "081234567072").await;
    let completed = book(app, "pbg", slots[2], "Bambang Pamungkas", "081234567073").await;
    let r = app
        .post_bearer(
            "/api/v1/appointments/current/cancel",
            &cancelled.token,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let clerk = app.login(CLERK).await;
    let r = app
        .post_bearer(
            &format!("/api/v1/staff/appointments/{}/complete", completed.id),
            &clerk,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The booked one's citizen ran a connection test that failed: its long label
    // ("Pemeriksaan perangkat") is what squeezed the values on a phone.
    app.exec(&format!(
        "INSERT INTO prechecks (appointment_id, check_id, verdict, result) VALUES \
         ('{id}', gen_random_uuid(), 'will_not_connect', jsonb_build_object(\
           'id', gen_random_uuid(), 'verdict', 'will_not_connect', 'finished_at', now(),\
           'reasons', jsonb_build_array(jsonb_build_object('code', 'no_connection',\
             'i18n_key', 'precheck.reason.no_connection', 'id', 'Tidak tersambung',\
             'en', 'No connection')),\
           'measurements', jsonb_build_object('connected', false, 'offered_audio', true,\
             'offered_video', true, 'duration_ms', 20000)))",
        id = booked.id
    ))
    .await;

    let b = &Browser::desk("clerk").await;
    set_page_clock(b, page_now).await;
    staff_login(b, app, CLERK).await;
    b.click("#nav-week").await;
    b.wait_visible("#week-grid .week-day").await;
    let first = b.attr("#week-grid .week-day", "data-date").await;
    assert_eq!(
        first,
        Some((sunday + Duration::days(1)).to_string()),
        "on Sunday {sunday} the week view shows the coming week"
    );
    for id in [&booked.id, &cancelled.id, &completed.id] {
        b.wait_visible(&week_item(id)).await;
    }
    assert_week_readable(b, "the week").await;
    b.click(&week_item(&booked.id)).await;
    b.wait_visible("#appointment-panel").await;
    assert_week_readable(b, "the week with the panel open").await;
    b.click("[data-lang=en]").await;
    b.wait_text(
        &format!("{} .badge", week_item(&cancelled.id)),
        "in English",
        |t| t == "Cancelled",
    )
    .await;
    assert_week_readable(b, "the week with the panel open, in English").await;

    // On a phone, the panel's values keep whole words (the phone number in one piece).
    b.wait_text(
        "#panel-facts",
        "shows the connection test in English",
        |t| t.contains("Connection test: will not connect"),
    )
    .await;
    for size in crate::harness::NARROW_PHONES {
        b.set_viewport(size).await;
        let broken = b
            .js(BROKEN_WORDS, vec![serde_json::json!("#panel-facts dd")])
            .await;
        assert_eq!(
            broken,
            serde_json::json!([]),
            "panel values broken mid-word at {size:?}"
        );
        let phone = b
            .js(
                "const dd = [...document.querySelectorAll('#panel-facts dd')]\
                   .find((d) => d.textContent.includes('0812'));\
                 return dd ? dd.getBoundingClientRect().height : null;",
                vec![],
            )
            .await;
        let height = phone.as_f64().expect("the phone number in the panel");
        assert!(
            height < 40.0,
            "at {size:?} the phone number takes one line, not {height} px"
        );
    }
    b.driver()
        .cdp()
        .send_raw(
            "Emulation.clearDeviceMetricsOverride",
            serde_json::json!({}),
        )
        .await
        .expect("restore the viewport");

    // Hours in English: typed 24-hour times, no AM/PM picker.
    b.click("#nav-hours").await;
    b.wait_visible("[data-testid=hours-start]").await;
    let kinds = b
        .js(
            "return [...document.querySelectorAll('#view-hours input, #view-leave input')]\
               .map((i) => i.type).filter((t) => t === 'time' || t === 'datetime-local');",
            vec![],
        )
        .await;
    assert_eq!(
        kinds,
        serde_json::json!([]),
        "no locale-dependent time pickers"
    );
    let shown = b
        .js(
            "return [...document.querySelectorAll('[data-testid=hours-start], [data-testid=hours-end]')]\
               .map((i) => i.value);",
            vec![],
        )
        .await;
    let shown: Vec<String> = serde_json::from_value(shown).unwrap_or_default();
    assert!(
        !shown.is_empty()
            && shown
                .iter()
                .all(|v| v.len() == 5 && v.as_bytes()[2] == b'.'),
        "24-hour times: {shown:?}"
    );
    assert!(shown.contains(&"13.00".to_string()), "{shown:?}");
    let first_end = "[data-testid=hours-row][data-weekday='1'] [data-testid=hours-end]";
    b.fill(first_end, "25.00").await;
    b.click("#hours-save").await;
    b.wait_visible("[data-testid=hours-row][data-weekday='1'] .field-error")
        .await;
    b.fill(first_end, "11:30").await;
    b.click("#hours-save").await;
    b.wait_text("#hours-status", "confirms", |t| !t.is_empty())
        .await;
    let week = app.get_bearer("/api/v1/staff/hours", &clerk).await;
    assert!(
        week.text.contains(r#""starts":"08:00","ends":"11:30""#),
        "{}",
        week.text
    );

    // Leave: a date and a 24-hour time each, read in WIB.
    b.click("#nav-leave").await;
    b.wait_visible("#closure-starts").await;
    let leave = day + Duration::days(14);
    b.js(
        "document.getElementById('closure-starts').value = arguments[0];\
         document.getElementById('closure-ends').value = arguments[0];",
        vec![serde_json::json!(leave.to_string())],
    )
    .await;
    b.fill("#closure-starts-time", "13.30").await;
    b.fill("#closure-ends-time", "15.00").await;
    b.fill("#closure-reason", "Dinas luar").await;
    b.click("#closure-submit").await;
    b.wait_visible("[data-testid=closure-row]").await;
    let starts = tz
        .from_local_datetime(&leave.and_hms_opt(13, 30, 0).expect("13.30"))
        .single()
        .expect("WIB")
        .with_timezone(&chrono::Utc);
    let stored = app
        .scalar(
            "SELECT extract(epoch FROM lower(period))::bigint FROM closures \
             WHERE reason = 'Dinas luar'",
        )
        .await
        .expect("the leave is stored");
    assert_eq!(stored, starts.timestamp().to_string());
    b.axe("the clerk's leave form").await;
    b.quit().await;
}
