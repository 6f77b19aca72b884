//! The citizen's pages without the call: booking, field errors, manage, the device check and
//! the survey after a consultation.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::harness::{Browser, WAIT, stored, wait_until};
use crate::helpers::{next_working_day, spawn_app};
use crate::{book, db_starts_at, db_status, free_slots};

/// On the booking page with the service list: opens `slug`, picks the first day with free
/// times and its first time; returns that time. Ends on the details form.
pub async fn pick_service_and_time(b: &Browser, slug: &str) -> DateTime<Utc> {
    b.click(&format!("[data-testid=service-item][data-slug='{slug}']"))
        .await;
    b.wait_visible("#step-schedule").await;
    b.click("[data-testid=day-button]:not([disabled])").await;
    b.wait_text(
        "[data-testid=day-button][aria-pressed=true]",
        "is the chosen day",
        |_| true,
    )
    .await;
    let starts_at = b
        .attr("[data-testid=slot-button]", "data-starts-at")
        .await
        .expect("a free time on the chosen day");
    b.click("[data-testid=slot-button]").await;
    b.wait_visible("#step-details").await;
    DateTime::parse_from_rfc3339(&starts_at)
        .expect("data-starts-at is RFC 3339")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_citizen_books_through_the_pages() {
    let app = &spawn_app().await;
    let b = &Browser::phone("citizen").await;
    b.goto(&app.url("/")).await;
    b.wait_visible("[data-testid=service-item]").await;
    let all = b
        .js(
            "return document.querySelectorAll('[data-testid=service-item]').length;",
            vec![],
        )
        .await
        .as_u64()
        .unwrap();

    // "IMB" is what people still call the building permit (PBG): the search knows.
    b.fill("#service-search", "IMB").await;
    let shown = wait_until(
        WAIT,
        "the search for IMB to narrow the list",
        || async move {
            let items = b
                .js(
                    "return [...document.querySelectorAll('[data-testid=service-item]')]\
                   .map((e) => e.dataset.slug);",
                    vec![],
                )
                .await;
            let slugs: Vec<String> = serde_json::from_value(items).unwrap_or_default();
            if slugs.contains(&"pbg".to_string()) && (slugs.len() as u64) < all {
                Ok(slugs)
            } else {
                Err(format!("{slugs:?}"))
            }
        },
    )
    .await;
    assert!(
        shown.len() <= 3,
        "IMB narrows the catalogue down to PBG: {shown:?}"
    );
    b.wait_text("#service-status", "counts the results", |t| !t.is_empty())
        .await;
    b.screenshot("booking").await;

    let starts_at = pick_service_and_time(b, "pbg").await;
    // Requirements of the service were on the way.
    let reqs = b
        .js(
            "return document.querySelectorAll('#requirements li').length;",
            vec![],
        )
        .await;
    assert!(reqs.as_u64().unwrap() >= 2, "PBG lists its requirements");
    assert!(
        !b.is_visible("#citizen-nik").await,
        "PBG does not ask for a NIK"
    );
    b.fill("#citizen-name", "Siti Rahmawati").await;
    b.fill("#citizen-phone", "0812-3456-7001").await;
    b.fill("#citizen-email", "siti@example.org").await;
    b.click("#consent").await;
    b.click("#book-submit").await;

    let code = b
        .wait_text("#booking-code", "shows the booking code", |t| {
            t.trim().len() == 8
        })
        .await;
    let code = code.trim().to_string();
    let stored = app
        .scalar(&format!(
            "SELECT s.slug || ' ' || a.status || ' ' || a.citizen_name || ' ' || a.citizen_phone \
             FROM appointments a JOIN services s ON s.id = a.service_id WHERE a.code = '{code}'"
        ))
        .await
        .unwrap_or_else(|| panic!("booking {code} is in the database"));
    assert_eq!(stored, "pbg booked Siti Rahmawati +6281234567001");
    assert_eq!(db_starts_at(app, &code).await, starts_at.timestamp());
    assert!(!b.visible_text("#done-when").await.unwrap().is_empty());

    // The join and manage links carry the citizen token in the fragment, and it works.
    let mut tokens = vec![];
    for (link, path) in [
        ("#join-link", "/join#t="),
        ("#manage-link", "/manage#t="),
        ("#device-check-link", "/join#t="),
    ] {
        b.wait_visible(link).await;
        let href = b
            .js(
                "return document.querySelector(arguments[0]).href;",
                vec![json!(link)],
            )
            .await;
        let href = href.as_str().unwrap();
        let (_, token) = href
            .split_once(path)
            .unwrap_or_else(|| panic!("{link} is {href}, expected …{path}<token>"));
        // The device-check link adds `&check=1` (run the connection test at once).
        tokens.push(token.split('&').next().unwrap_or(token).to_string());
    }
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "one token: {tokens:?}"
    );
    let token = urlencoding_decode(&tokens[0]);
    let current = app.get_bearer("/api/v1/appointments/current", &token).await;
    assert_eq!(current.status, 200, "{}", current.text);
    let current = current.body.get("appointment").unwrap_or(&current.body);
    assert_eq!(current["code"], json!(code));
    b.wait_visible("#ics-link").await;
    b.screenshot("booking-confirmed").await;
    b.quit().await;
}

/// `%XX` escapes back to bytes (the page may encode the token in the link).
fn urlencoding_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8 token")
}

/// The message under an input: its key (data-i18n) once shown, and that it belongs to the
/// input (same field, aria-invalid, aria-describedby).
async fn field_error(b: &Browser, input: &str) -> String {
    let css = format!("#{input}-error");
    let text = b
        .wait_text(&css, "explains the problem", |t| !t.trim().is_empty())
        .await;
    let wiring = b
        .js(
            "const input = document.getElementById(arguments[0]);\
             const msg = document.getElementById(arguments[0] + '-error');\
             return { sameField: (input.closest('.field') || input.parentElement).contains(msg),\
                      invalid: input.getAttribute('aria-invalid'),\
                      describedBy: (input.getAttribute('aria-describedby') || '').split(/\\s+/),\
                      key: msg.dataset.i18n };",
            vec![json!(input)],
        )
        .await;
    assert_eq!(
        wiring["sameField"],
        json!(true),
        "{css} sits next to #{input}"
    );
    assert_eq!(wiring["invalid"], json!("true"), "#{input} is aria-invalid");
    assert!(
        wiring["describedBy"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("{input}-error"))),
        "#{input} is described by its error: {wiring}"
    );
    assert!(!text.trim().is_empty());
    wiring["key"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn invalid_fields_are_shown_next_to_their_inputs() {
    let app = &spawn_app().await;
    let count = || async move {
        app.scalar("SELECT count(*) FROM appointments")
            .await
            .unwrap()
    };
    let before = count().await;
    let b = &Browser::phone("citizen").await;
    b.goto(&app.url("/")).await;
    pick_service_and_time(b, "pbg").await;

    // Consent missing: caught in the page, before any request.
    b.fill("#citizen-name", "Budi Santoso").await;
    b.fill("#citizen-phone", "(0251) 832-1075").await;
    b.click("#book-submit").await;
    assert_eq!(field_error(b, "consent").await, "fields.consent.required");
    assert!(
        !b.is_visible("#citizen-phone-error").await,
        "the phone is only judged by the server"
    );
    b.wait_visible("#form-error").await;

    // A landline: the server refuses it and the page says why, under the phone input.
    b.click("#consent").await;
    b.click("#book-submit").await;
    assert_eq!(
        field_error(b, "citizen-phone").await,
        "fields.phone.not_mobile"
    );
    b.wait_hidden("#consent-error").await;
    assert!(!b.is_visible("#citizen-name-error").await);
    assert_eq!(count().await, before, "nothing was booked");

    // Corrected, the same form books.
    b.fill("#citizen-phone", "0812 3456 7002").await;
    b.click("#book-submit").await;
    b.wait_text("#booking-code", "shows the code once corrected", |t| {
        t.trim().len() == 8
    })
    .await;

    // A service that needs the NIK: a short one is caught in the page, a well-formed one
    // with an impossible birth date by the server; both under the NIK input.
    b.goto(&app.url("/")).await;
    b.wait_visible("[data-testid=service-item]").await;
    pick_service_and_time(b, "akta-kelahiran").await;
    b.wait_visible("#citizen-nik").await;
    b.fill("#citizen-name", "Budi Santoso").await;
    b.fill("#citizen-phone", "0812 3456 7003").await;
    b.fill("#citizen-nik", "3271 9952").await;
    b.click("#consent").await;
    b.click("#book-submit").await;
    assert_eq!(
        field_error(b, "citizen-nik").await,
        "fields.nik.must_be_16_digits"
    );
    b.fill("#citizen-nik", "3271993205900001").await;
    b.click("#book-submit").await;
    wait_until(WAIT, "the server's NIK verdict", || async move {
        match b.attr("#citizen-nik-error", "data-i18n").await {
            Some(k) if k == "fields.nik.invalid_birth_date" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(
        field_error(b, "citizen-nik").await,
        "fields.nik.invalid_birth_date"
    );
    assert!(!b.is_visible("#citizen-phone-error").await);
    let booked = count().await.parse::<i64>().unwrap() - before.parse::<i64>().unwrap();
    assert_eq!(booked, 1, "only the corrected PBG booking was made");
    b.quit().await;
}

#[tokio::test]
async fn manage_page_reschedules_and_cancels() {
    let app = &spawn_app().await;
    let day = next_working_day(2);
    let first = free_slots(app, "pbg", day, 1).await[0];
    let booking = book(app, "pbg", first, "Dewi Lestari", "081234567004").await;

    let b = &Browser::phone("citizen").await;
    b.goto(&crate::absolute(app, &booking.manage)).await;
    b.wait_text("#appointment-code", "shows the code", |t| {
        t.trim() == booking.code
    })
    .await;
    b.wait_text("#appointment-status", "says booked", |t| !t.is_empty())
        .await;
    // The token left the address bar (history) for this tab's storage.
    let location = b.location().await;
    assert!(
        !location.contains("t="),
        "token still in the URL: {location}"
    );
    let before_when = b.wait_visible("#appointment-when").await;

    b.click("#reschedule-button").await;
    b.wait_visible("#reschedule").await;
    b.click("[data-testid=day-button]:not([disabled])").await;
    // Any free time other than the current one.
    let (new_iso, new_start) = wait_until(WAIT, "a different free time to show", || async move {
        let v = b
            .js(
                "return [...document.querySelectorAll('#reschedule [data-testid=slot-button]')]\
                   .map((e) => e.dataset.startsAt);",
                vec![],
            )
            .await;
        let starts: Vec<String> = serde_json::from_value(v).unwrap_or_default();
        starts
            .iter()
            .map(|s| {
                let t = DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
                (s.clone(), t)
            })
            .find(|(_, t)| *t != first)
            .ok_or(format!("times {starts:?} (current {first})"))
    })
    .await;
    b.click(&format!(
        "#reschedule [data-testid=slot-button][data-starts-at='{new_iso}']"
    ))
    .await;
    b.click("#reschedule-confirm").await;
    b.wait_text("#manage-status", "confirms the new time", |t| !t.is_empty())
        .await;
    b.wait_hidden("#reschedule").await;
    b.wait_text("#appointment-when", "shows the new time", |t| {
        t != before_when
    })
    .await;
    assert_eq!(
        db_starts_at(app, &booking.code).await,
        new_start.timestamp()
    );

    b.click("#cancel-button").await;
    b.click("#cancel-confirm").await;
    b.wait_text("#manage-status", "confirms the cancellation", |t| {
        !t.is_empty()
    })
    .await;
    wait_until(WAIT, "the status badge to say cancelled", || async move {
        match b
            .js(
                "const s = document.querySelector('#appointment-status [data-testid=status-badge]');\
                 return s ? s.dataset.i18n : null;",
                vec![],
            )
            .await
            .as_str()
        {
            Some("status.cancelled") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    for gone in ["#reschedule-button", "#cancel-button", "#join-link"] {
        assert!(!b.is_visible(gone).await, "{gone} is hidden once cancelled");
    }
    assert_eq!(db_status(app, &booking.code).await, "cancelled");
    b.quit().await;
}

#[tokio::test]
async fn the_join_link_checks_camera_microphone_and_network() {
    let app = &spawn_app().await;
    let day = next_working_day(2);
    let start = free_slots(app, "pbg", day, 1).await[0];
    let booking = book(app, "pbg", start, "Rudi Hartono", "081234567005").await;

    let b = &Browser::phone("citizen").await;
    b.goto(&crate::absolute(app, &booking.join)).await;
    b.wait_visible("#step-check").await;
    b.wait_text("#info-code", "shows the booking code", |t| {
        t.trim() == booking.code
    })
    .await;
    device_check_passes(b).await;
    assert!(!b.is_visible("#check-help").await, "no device trouble");
    // The round trip in milliseconds, written "ms" (SI) in Indonesian too, not "md".
    let network = b.wait_visible("#check-network").await;
    let round_trip = network
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map_or("", |(inside, _)| inside);
    assert!(
        round_trip.ends_with(" ms") && round_trip[..round_trip.len() - 3].parse::<u32>().is_ok(),
        "the network check gives the round trip as \"<n> ms\": {network:?}"
    );
    let location = b.location().await;
    assert!(
        !location.contains("t="),
        "token still in the URL: {location}"
    );
    let stored = b
        .js(
            "return sessionStorage.getItem('loket.citizenToken');",
            vec![],
        )
        .await;
    assert_eq!(
        stored,
        json!(booking.token),
        "the token is kept for this tab"
    );
    b.wait_visible("#device-continue").await;
    b.screenshot("join-check").await;
    b.quit().await;
}

#[tokio::test]
async fn the_survey_after_a_completed_consultation_is_stored() {
    let app = &spawn_app().await;
    crate::pbg_goes_to_the_clerk(app).await;
    let day = next_working_day(2);
    let start = free_slots(app, "pbg", day, 1).await[0];
    let booking = book(app, "pbg", start, "Lina Marlina", "081234567006").await;
    let clerk = app.login(crate::CLERK).await;
    let r = app
        .post_bearer(
            &format!("/api/v1/staff/appointments/{}/complete", booking.id),
            &clerk,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A completed appointment's join link goes straight to the outcome and the survey.
    let b = &Browser::phone("citizen").await;
    b.goto(&crate::absolute(app, &booking.join)).await;
    b.wait_visible("#survey-form").await;
    assert!(!b.is_visible("#step-check").await);
    survey_is_compact_on_a_phone(b).await;
    b.axe("the survey").await;
    answer_survey(b, &[4, 3, 4, 2, 4, 3, 4, 4, 1]).await;
    b.fill("#survey-comment", "Petugas ramah dan jelas.").await;
    b.click("#survey-submit").await;
    b.wait_text("#survey-status", "thanks the citizen", |t| !t.is_empty())
        .await;
    b.wait_hidden("#survey-form").await;
    assert_eq!(
        stored_survey(app, &booking.id).await,
        "{4,3,4,2,4,3,4,4,1} Petugas ramah dan jelas."
    );
    b.quit().await;
}

/// The survey on a narrow phone (issue 12: it was a 3,500 px form): each question's four answers
/// side by side on one row, and the whole form within 2,300 px at 360 and 390 px wide.
async fn survey_is_compact_on_a_phone(b: &Browser) {
    for size in crate::harness::NARROW_PHONES {
        b.set_viewport(size).await;
        let found = b
            .js(
                "const rows = [...document.querySelectorAll('#survey-items fieldset')].map((f) =>                   new Set([...f.querySelectorAll('input[type=radio]')]                     .map((r) => Math.round(r.getBoundingClientRect().top))).size);                 return { rows, height: document.getElementById('survey-form').getBoundingClientRect().height };",
                vec![],
            )
            .await;
        assert_eq!(
            found["rows"],
            json!([1, 1, 1, 1, 1, 1, 1, 1, 1]),
            "at {size:?} each question's answers sit on one row: {found}"
        );
        let height = found["height"].as_f64().unwrap_or(f64::MAX);
        assert!(
            height <= 2300.0,
            "at {size:?} the survey is {height} px tall"
        );
    }
    b.assert_fits_phones("the survey").await;
}

/// Ticks one answer per IKM element (q1…q9) like a user.
pub async fn answer_survey(b: &Browser, answers: &[u8; 9]) {
    for (i, v) in answers.iter().enumerate() {
        b.click(&format!("#survey-q{}-{v}", i + 1)).await;
    }
}

/// The stored survey of an appointment: `answers comment`.
pub async fn stored_survey(app: &crate::helpers::TestApp, appointment: &str) -> String {
    let sql = format!(
        "SELECT answers::text || ' ' || coalesce(comment, '') FROM surveys \
         WHERE appointment_id = '{appointment}'"
    );
    stored(app, "the survey row", &sql).await
}

/// On the join page: waits until the camera, microphone and network checks pass and the
/// preview plays the (fake) camera.
pub async fn device_check_passes(b: &Browser) {
    b.wait_visible("#step-check").await;
    for (item, key) in [
        ("#check-camera", "check.camera_ok"),
        ("#check-mic", "check.mic_ok"),
    ] {
        wait_until(WAIT, &format!("{item} to say {key}"), || async move {
            match b.attr(item, "data-i18n").await {
                Some(k) if k == key => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    }
    wait_until(WAIT, "the network check to finish", || async move {
        match b.attr("#check-network", "data-i18n").await {
            Some(k) if k == "check.network_good" || k == "check.network_slow" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    // The preview really plays the (fake) camera.
    wait_until(WAIT, "the camera preview to play", || async move {
        let v = b
            .js(
                "const v = document.getElementById('preview-video');\
                 return v.videoWidth > 0 && v.readyState >= 2 && !v.paused;",
                vec![],
            )
            .await;
        if v == json!(true) {
            Ok(())
        } else {
            Err("no frames yet".to_string())
        }
    })
    .await;
}

/// The verdict the join page's connection test shows, once it has one (within 45 s).
pub async fn precheck_verdict(b: &Browser) -> String {
    wait_until(
        std::time::Duration::from_secs(45),
        "the connection test to finish with a verdict",
        || async move {
            b.attr("#precheck-verdict", "data-verdict")
                .await
                .filter(|v| !v.is_empty())
                .ok_or_else(|| "no verdict yet".to_string())
        },
    )
    .await
}

/// The connection test (issue 5) from the join page, as the booking confirmation's button opens
/// it (`&check=1`): Chromium with a fake camera talks to Loket's own WebRTC peer and gets a
/// verdict, which is stored on the appointment for the clerk.
#[tokio::test]
async fn the_join_page_connection_test_gives_a_verdict_and_stores_it() {
    let app = &spawn_app().await;
    let day = next_working_day(2);
    let start = free_slots(app, "pbg", day, 1).await[0];
    let booking = book(app, "pbg", start, "Wulan Sari", "081234567006").await;
    let b = &Browser::phone("citizen").await;
    b.goto(&format!("{}&check=1", crate::absolute(app, &booking.join)))
        .await;
    let verdict = precheck_verdict(b).await;
    assert!(
        verdict == "good" || verdict == "audio_only",
        "a fake camera on loopback must get through, got {verdict}: {}",
        b.describe().await
    );
    let text = b
        .visible_text("#precheck-verdict")
        .await
        .unwrap_or_default();
    assert!(!text.trim().is_empty(), "the verdict is explained");
    // The page may show the verdict (data channel) a moment before the server has stored it.
    let sql = format!(
        "SELECT verdict FROM prechecks WHERE appointment_id = '{}'",
        booking.id
    );
    let saved = stored(app, "the verdict to be stored", &sql).await;
    assert_eq!(saved, verdict);
    b.js(
        "document.getElementById('precheck-verdict').scrollIntoView({block: 'center'});",
        vec![],
    )
    .await;
    b.screenshot("precheck").await;
    b.quit().await;
}

/// The day picker says why a day has no times (issue 12): "Penuh" only when every time is
/// taken, "Tutup" on a weekend, "Libur" with the holiday's name on a mall-wide closure; in
/// English too, the Indonesian holiday name marked `lang="id"`.
#[tokio::test]
async fn days_without_times_say_full_closed_or_the_holiday() {
    use chrono::{Datelike, Duration};
    let app = &spawn_app().await;
    crate::pbg_goes_to_the_clerk(app).await;
    // The clerk works one 40-minute PBG slot a weekday (08.00–08.40), so one booking fills a day.
    let clerk = app.login(crate::CLERK).await;
    let hours: Vec<_> = (1..=5)
        .map(|wd| json!({"weekday": wd, "starts": "08:00", "ends": "08:40"}))
        .collect();
    let r = app
        .put_bearer("/api/v1/staff/hours", &clerk, &json!({"intervals": hours}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let full = next_working_day(2);
    let only = free_slots(app, "pbg", full, 1).await;
    assert_eq!(only.len(), 1, "one PBG time on {full}");
    book(app, "pbg", only[0], "Ahmad Fauzi", "081234567061").await;

    // The picker's week holding that day, a weekend day in it and another weekday made a
    // holiday.
    let today = crate::today();
    let weeks = (full - today).num_days() / 7;
    let first = today + Duration::days(weeks * 7);
    let week: Vec<_> = (0..7).map(|i| first + Duration::days(i)).collect();
    let weekend = *week
        .iter()
        .find(|d| d.weekday().number_from_monday() >= 6)
        .expect("a weekend day in any seven");
    let demo_holidays: Vec<_> = loket::demo::data::CLOSURES
        .iter()
        .filter_map(|c| chrono::NaiveDate::from_ymd_opt(c.date.0, c.date.1, c.date.2))
        .collect();
    let holiday = *week
        .iter()
        .find(|d| {
            **d > today
                && **d != full
                && d.weekday().number_from_monday() <= 5
                && !demo_holidays.contains(d)
        })
        .expect("another weekday in the week");
    let admin = app.login("admin@loket.example").await;
    let tz = chrono_tz::Asia::Jakarta;
    let start = holiday
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).single())
        .expect("midnight");
    let r = app
        .post_bearer(
            "/api/v1/admin/holidays",
            &admin,
            &json!({"starts_at": start.to_rfc3339(),
                    "ends_at": (start + Duration::days(1)).to_rfc3339(),
                    "reason": "Hari Jadi Kota Bogor"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    let b = &Browser::phone("citizen").await;
    b.goto(&app.url("/")).await;
    b.click("[data-testid=service-item][data-slug='pbg']").await;
    b.wait_visible("#step-schedule").await;
    for _ in 0..weeks {
        let shown = b
            .attr("[data-testid=day-button]", "data-date")
            .await
            .unwrap_or_default();
        b.click("#slot-next-week").await;
        let shown = &shown;
        wait_until(WAIT, "the next week's days", || async move {
            match b.attr("[data-testid=day-button]", "data-date").await {
                Some(d) if d != *shown => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    }
    let label = |date: chrono::NaiveDate| async move {
        let css = format!("[data-testid=day-button][data-date='{date}'] .day-free");
        b.wait_visible(&css).await
    };
    let says = |date: chrono::NaiveDate, want: &'static str| async move {
        wait_until(WAIT, &format!("{date} to say {want}"), || async move {
            let text = label(date).await;
            if text.trim() == want {
                Ok(())
            } else {
                Err(text)
            }
        })
        .await;
    };
    says(full, "Penuh").await;
    says(weekend, "Tutup").await;
    says(holiday, "Libur").await;
    let note = b
        .wait_visible(&format!(
            "[data-testid=holiday-note][data-date='{holiday}']"
        ))
        .await;
    assert!(
        note.starts_with("Libur ") && note.ends_with(": Hari Jadi Kota Bogor"),
        "{note}"
    );
    b.axe("the day picker with closed days").await;

    b.click("[data-lang=en]").await;
    says(full, "Full").await;
    says(weekend, "Closed").await;
    says(holiday, "Holiday").await;
    let note = b
        .wait_text(
            &format!("[data-testid=holiday-note][data-date='{holiday}']"),
            "is in English",
            |t| t.starts_with("Holiday on "),
        )
        .await;
    assert!(note.ends_with(": Hari Jadi Kota Bogor"), "{note}");
    let lang = b
        .js(
            "const n = document.querySelector(`[data-testid=holiday-note][data-date='${arguments[0]}']`);\
             return [...n.querySelectorAll('[lang]')].map((s) => [s.lang, s.textContent]);",
            vec![json!(holiday.to_string())],
        )
        .await;
    assert_eq!(
        lang,
        json!([["id", "Hari Jadi Kota Bogor"]]),
        "the Indonesian name is marked as such"
    );
    b.quit().await;
}

/// "Senin, 14 Desember 2026, 09.00 WIB": how the pages write a time in Indonesian.
fn wib_id(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    const DAYS: [&str; 7] = [
        "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
    ];
    const MONTHS: [&str; 12] = [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ];
    let l = t.with_timezone(&chrono_tz::Asia::Jakarta);
    format!(
        "{}, {} {} {}, {:02}.{:02} WIB",
        DAYS[l.weekday().num_days_from_monday() as usize],
        l.day(),
        MONTHS[l.month0() as usize],
        l.year(),
        l.hour(),
        l.minute()
    )
}

/// Days ahead, the waiting room is not open (issue 12): one message with the consultation's
/// date and time and when the room opens, an add-to-calendar button that gives the calendar
/// file, the device check again, and no chat, no empty status box, no "keep this page open".
#[tokio::test]
async fn days_ahead_the_waiting_room_says_when_and_offers_the_calendar_without_chat() {
    let app = &spawn_app().await;
    let day = next_working_day(2);
    let start = free_slots(app, "pbg", day, 1).await[0];
    let booking = book(app, "pbg", start, "Rina Wulandari", "081234567062").await;

    let b = &Browser::phone("citizen").await;
    b.goto(&crate::absolute(app, &booking.join)).await;
    device_check_passes(b).await;
    b.click("#device-continue").await;
    let text = b
        .wait_text("#room-not-open-text", "says when", |t| !t.is_empty())
        .await;
    // Opens 15 minutes before (the default LOKET_JOIN_OPENS_MINUTES).
    let opens = wib_id(start - chrono::Duration::minutes(15));
    let opens_time = opens.rsplit(", ").next().unwrap_or_default();
    assert!(
        text.contains(&wib_id(start)) && text.contains(opens_time),
        "the message gives the consultation's date and time ({}) and the opening time \
         ({opens_time}): {text:?}",
        wib_id(start)
    );
    for hidden in ["#chat", "#waiting-box", "#wait-hints", "#room-retry"] {
        assert!(
            !b.is_visible(hidden).await,
            "{hidden} is not shown before the room opens: {}",
            b.describe().await
        );
    }
    assert_eq!(
        b.attr("#wait-heading", "data-i18n").await.as_deref(),
        Some("wait.not_open_title")
    );
    b.axe("the join page (room not open yet)").await;
    b.assert_fits_phones("the waiting room (not open yet)")
        .await;

    // Add to calendar: the calendar file of this appointment, fetched with the token.
    b.js(
        "window.__files = []; const make = URL.createObjectURL;\
         URL.createObjectURL = (blob) => { window.__files.push(blob); return make(blob); };",
        vec![],
    )
    .await;
    b.click("#room-ics").await;
    let ics = wait_until(WAIT, "the calendar file", || async move {
        let v = b
            .js_await(
                "return window.__files.length ? await window.__files[0].text() : null;",
                vec![],
            )
            .await;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| "no file yet".to_string())
    })
    .await;
    assert!(
        ics.contains("BEGIN:VCALENDAR") && ics.contains(&booking.code),
        "{ics}"
    );

    // The device check is one button away.
    b.click("#room-check").await;
    device_check_passes(b).await;
    assert!(!b.is_visible("#room-not-open").await);
    b.quit().await;
}

/// Old names and English (issue 12): "IMB" finds PBG and says "dulu: IMB" ("formerly IMB" in
/// English); in English a service's requirements are English where the catalogue has them, and
/// otherwise stay Indonesian, marked `lang="id"`.
#[tokio::test]
async fn old_names_are_explained_and_requirements_are_english_where_translated() {
    let app = &spawn_app().await;
    let b = &Browser::phone("citizen").await;
    b.goto(&app.url("/")).await;
    b.wait_visible("[data-testid=service-item]").await;
    b.fill("#service-search", "IMB").await;
    let through = "[data-testid=service-item][data-slug='pbg'] [data-testid=service-through]";
    let text = b.wait_visible(through).await;
    assert_eq!(text.trim(), "dulu: IMB");
    b.click("[data-lang=en]").await;
    b.wait_text(through, "is in English", |t| t.trim() == "formerly IMB")
        .await;
    let marked = b
        .js(
            "return [...document.querySelector(arguments[0]).querySelectorAll('[lang]')]\
               .map((s) => [s.lang, s.textContent]);",
            vec![json!(through)],
        )
        .await;
    assert_eq!(marked, json!([["id", "IMB"]]));

    // PBG has English requirements.
    b.click("[data-testid=service-item][data-slug='pbg']").await;
    b.wait_visible("#step-schedule").await;
    let requirements = || async move {
        b.js(
            "return [...document.querySelectorAll('#requirements li')]\
               .map((li) => [li.getAttribute('lang'), li.textContent]);",
            vec![],
        )
        .await
    };
    let pbg = requirements().await;
    assert_eq!(pbg[0][0], json!(null), "{pbg}");
    assert!(
        pbg.as_array()
            .unwrap()
            .iter()
            .any(|r| r[1] == "A SIMBG account to apply online"),
        "{pbg}"
    );
    // Back in Indonesian, the same list is Indonesian again.
    b.click("[data-lang=id]").await;
    wait_until(WAIT, "the requirements in Indonesian", || async move {
        let now = requirements().await;
        if now
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r[1] == "Akun SIMBG untuk pengajuan daring")
        {
            Ok(())
        } else {
            Err(format!("{now}"))
        }
    })
    .await;

    // KIA has none in English: Indonesian, marked as such.
    b.click("[data-lang=en]").await;
    b.click("#back-to-services").await;
    b.fill("#service-search", "KIA").await;
    b.click("[data-testid=service-item][data-slug='kia']").await;
    b.wait_visible("#step-schedule").await;
    let kia = wait_until(WAIT, "KIA's requirements", || async move {
        let now = requirements().await;
        let rows = now.as_array().cloned().unwrap_or_default();
        if !rows.is_empty() && rows.iter().all(|r| r[1] != "") {
            Ok(rows)
        } else {
            Err(format!("{now}"))
        }
    })
    .await;
    assert!(kia.iter().all(|r| r[0] == "id"), "{kia:?}");
    b.axe("a service in English with Indonesian requirements")
        .await;
    b.quit().await;
}
