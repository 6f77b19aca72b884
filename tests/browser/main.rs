//! Browser tests: the pages in a real headless Chromium (fake camera and microphone) against a
//! real Loket over a fresh database, driven over WebDriver. One chromedriver per test process,
//! one or two browser sessions per test. axe-core checks accessibility in the pages and the
//! runs save screenshots under target/screenshots/; `LOKET_UPDATE_SCREENSHOTS=1` also copies them
//! to docs/screenshots/ (the README's pictures), which a plain run leaves alone.
//!
//! Run with scripts/test (it installs Chromium, chromedriver and axe-core and sets
//! LOKET_AXE_JS), or `LOKET_AXE_JS=… cargo test --test browser -- --test-threads=2`.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

mod harness;

#[path = "../api/providers.rs"]
#[allow(dead_code)]
mod providers;

mod a11y;
mod call;
mod catalogue;
mod citizen;
mod hold;
mod layout;
mod no_show;
mod notify;
mod precheck;
mod queue;
mod relay;
mod screenshots;
mod staff;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use harness::Browser;
use helpers::{DEMO_PASSWORD, TestApp};

/// The DPMPTSP clerk; with [`pbg_goes_to_the_clerk`] every PBG booking is theirs.
pub const CLERK: &str = "clerk@loket.example";
pub const CLERK_NAME: &str = "Asep Saepudin";
pub const SUPERVISOR: &str = "supervisor@loket.example";
const HOURS: &str = "/api/v1/staff/hours";

/// Today in the site's zone.
pub fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive()
}

/// PBG (the former IMB) is served by the DPMPTSP clerk and their supervisor, and a booking
/// goes to whichever is least loaded. The supervisor's weekly hours are emptied through the
/// API so that every PBG booking lands with the clerk the staff tests log in as.
pub async fn pbg_goes_to_the_clerk(app: &TestApp) {
    let token = app.login(SUPERVISOR).await;
    let r = app
        .put_bearer(HOURS, &token, &json!({"intervals": []}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Books the `index`th free time of `service` on the next working day, then moves the booking
/// in the database to today (WIB), `k` places from now: the clerk's timeline shows today, and
/// whether today still has a free time depends on the hour and the holidays, so the test makes
/// its own. Before noon the places go forward from now (+2, +42, +82… minutes), after noon
/// backward (−2, −42…; at place 0 it is under way, at place 1 it ended 12 minutes ago, inside
/// the room's 30-minute grace); either way it stays on today. A place where the clerk already
/// has a booking is skipped. The move sends no feed event.
pub async fn booked_for_today(
    app: &TestApp,
    service: &str,
    index: usize,
    k: i64,
    name: &str,
    phone: &str,
) -> Booking {
    use chrono::Timelike;
    let day = helpers::next_working_day(1);
    let slot = free_slots(app, service, day, 1).await[index];
    let mut booking = book(app, service, slot, name, phone).await;
    let now = Utc::now().with_timezone(&chrono_tz::Asia::Jakarta);
    // The first place from `k` on where the clerk has nothing else (another test step may
    // have booked today already).
    for k in k..k + 8 {
        let step = chrono::Duration::minutes(2 + 40 * k);
        let start = if now.hour() < 12 {
            now + step
        } else {
            now - step
        }
        .with_timezone(&Utc);
        let start = start.with_nanosecond(0).expect("a whole second");
        assert_eq!(
            start.with_timezone(&chrono_tz::Asia::Jakarta).date_naive(),
            today()
        );
        let shift = format!(
            "(SELECT '{}'::timestamptz - lower(period) FROM appointments WHERE id = '{}')",
            start.to_rfc3339(),
            booking.id
        );
        let clashes = app
            .scalar(&format!(
                "SELECT count(*) FROM appointments o, appointments a WHERE a.id = '{id}' \
                 AND o.id <> a.id AND o.staff_id = a.staff_id AND o.active \
                 AND o.period && tstzrange(lower(a.period) + {shift}, upper(a.period) + {shift})",
                id = booking.id
            ))
            .await;
        if clashes.as_deref() != Some("0") {
            continue;
        }
        // The whole booking moves: its period (with the buffer) and its end, by the same shift.
        app.exec(&format!(
            "UPDATE appointments SET period = tstzrange(lower(period) + d, upper(period) + d), \
             ends_at = ends_at + d FROM (SELECT {shift} AS d) s WHERE id = '{}'",
            booking.id
        ))
        .await;
        booking.starts_at = start;
        return booking;
    }
    panic!("no free place today for {}", booking.code);
}

/// Free slot starts of a service over `days` days from `from`.
pub async fn free_slots(
    app: &TestApp,
    service: &str,
    from: NaiveDate,
    days: u32,
) -> Vec<DateTime<Utc>> {
    let r = app
        .get(&format!(
            "/api/v1/services/{service}/slots?from={from}&days={days}"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["days"]
        .as_array()
        .expect("days")
        .iter()
        .flat_map(|d| d["slots"].as_array().cloned().unwrap_or_default())
        .map(|s| {
            DateTime::parse_from_rfc3339(s["starts_at"].as_str().expect("starts_at"))
                .expect("rfc3339")
                .with_timezone(&Utc)
        })
        .collect()
}

/// A booking made through the API: what the confirmation page would show.
pub struct Booking {
    pub id: String,
    pub code: String,
    pub token: String,
    pub join: String,
    pub manage: String,
    pub starts_at: DateTime<Utc>,
}

pub async fn book(
    app: &TestApp,
    service: &str,
    starts_at: DateTime<Utc>,
    name: &str,
    phone: &str,
) -> Booking {
    let mut body = json!({
        "service": service,
        "starts_at": starts_at.to_rfc3339(),
        "citizen": {"name": name, "phone": phone},
        "consent": true,
    });
    if service.starts_with("akta") {
        body["citizen"]["nik"] = json!("3271995205900001");
    }
    let r = app.post("/api/v1/appointments", &body).await;
    assert_eq!(
        r.status, 201,
        "booking {service} at {starts_at}: {}",
        r.text
    );
    let s = |v: &Value| v.as_str().expect("a string").to_string();
    Booking {
        id: s(&r.body["appointment"]["id"]),
        code: s(&r.body["appointment"]["code"]),
        token: s(&r.body["token"]),
        join: s(&r.body["links"]["join"]),
        manage: s(&r.body["links"]["manage"]),
        starts_at,
    }
}

/// A link from the API (absolute, or relative to the site) as an absolute URL.
pub fn absolute(app: &TestApp, link: &str) -> String {
    if link.starts_with("http://") || link.starts_with("https://") {
        link.to_string()
    } else {
        app.url(link)
    }
}

/// Signs a staff member in through the login form and waits for their day, with the live feed
/// connected. (The page's EventSource is wrapped, before login opens it, to count its `open`
/// events: `open` means the server has subscribed it, so changes from then on reach the page.)
pub async fn staff_login(b: &Browser, app: &TestApp, email: &str) {
    b.goto(&app.url("/staff")).await;
    b.wait_visible("#login-view").await;
    b.js(
        "const Orig = window.EventSource;\
         window.__feedOpen = 0;\
         window.EventSource = class extends Orig {\
           constructor(...a) { super(...a); this.addEventListener('open', () => { window.__feedOpen += 1; }); }\
         };",
        vec![],
    )
    .await;
    b.fill("#staff-email", email).await;
    b.fill("#staff-password", DEMO_PASSWORD).await;
    b.click("#staff-login-submit").await;
    b.wait_visible("#app-view").await;
    b.wait_text("#staff-name", "names the signed-in clerk", |t| {
        !t.is_empty()
    })
    .await;
    harness::wait_until(harness::WAIT, "the staff feed to connect", || async move {
        let n = b.js("return window.__feedOpen;", vec![]).await;
        if n.as_u64().unwrap_or(0) >= 1 {
            Ok(())
        } else {
            Err(format!("open events: {n}"))
        }
    })
    .await;
}

/// Epoch seconds of an appointment's start, from the database.
pub async fn db_starts_at(app: &TestApp, code: &str) -> i64 {
    app.scalar(&format!(
        "SELECT extract(epoch FROM lower(period))::bigint FROM appointments WHERE code = '{code}'"
    ))
    .await
    .unwrap_or_else(|| panic!("appointment {code} in the database"))
    .parse()
    .expect("epoch")
}

pub async fn db_status(app: &TestApp, code: &str) -> String {
    app.scalar(&format!(
        "SELECT status FROM appointments WHERE code = '{code}'"
    ))
    .await
    .unwrap_or_else(|| panic!("appointment {code} in the database"))
}
