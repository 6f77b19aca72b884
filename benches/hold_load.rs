//! How many slots one script (a tout, *calo*) can hold, before and after booking confirmation
//! (issue 13 §3, DESIGN §9), over HTTP on the loopback only and bounded in time.
//!
//! The script does what the tout did: from one address, book the next free time of a
//! popular service (PBG) again and again, each with a made-up phone number, as fast as Loket
//! lets it (on 429 it waits out Retry-After). Loket runs with its production defaults for the
//! limits (20 booking requests a minute per address, 2 active per phone and per NIK, 1 per
//! service and day), once with `LOKET_BOOKING_CONFIRMATION=off` and once with `otp` (a made-up
//! number never receives its code, so no hold is ever confirmed). Every 10 s the bench counts
//! the slots the script holds at that moment (booked, or held and not yet expired).
//!
//! Run: `cargo bench --bench hold_load` (LOKET_BENCH_SECONDS, default 240, per mode;
//! LOKET_BENCH_HOLD_MINUTES, default 2, the hold's life in the `otp` run — 10 in production,
//! the plateau is then five times higher and is reached five times later).

use std::time::{Duration, Instant};

use loket::config::Settings;
use loket::db::embedded::Cluster;
use loket::domain::hold::Confirmation;
use loket::startup::Application;
use serde_json::{Value, json};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let secs = env_or("LOKET_BENCH_SECONDS", 240);
    let hold_minutes = env_or("LOKET_BENCH_HOLD_MINUTES", 2) as i64;
    let cluster = Cluster::start_throwaway().expect("embedded postgres");
    println!(
        "one script, one address, made-up phones, PBG; {secs} s per mode; hold {hold_minutes} min"
    );
    println!(
        "mode | accepted | refused 429 | other refusals | held at the end | most held at once | confirmed | accepted per hour"
    );
    rt.block_on(async {
        for mode in [Confirmation::Off, Confirmation::Otp] {
            run(&cluster, mode, secs, hold_minutes).await;
        }
    });
}

async fn run(cluster: &Cluster, mode: Confirmation, secs: u64, hold_minutes: i64) {
    let db = format!("hold_{}", mode.as_str());
    loket::db::embedded::ensure_database(&cluster.url("postgres"), &db)
        .await
        .expect("db");
    let url = cluster.url(&db);
    loket::db::migrate(&url).await.expect("migrate");
    let dir = std::env::temp_dir().join(format!("loket-hold-bench-{}", std::process::id()));
    let mut settings = Settings::for_tests(dir);
    // Production's limits (Settings::for_tests loosens some for the tests).
    settings.booking_rate_per_minute = 20;
    settings.max_active_bookings = 2;
    settings.max_active_bookings_per_nik = 2;
    settings.max_bookings_per_service_day = 1;
    settings.booking_confirmation = mode;
    settings.hold_minutes = hold_minutes;
    settings.notify.workers = 1;
    {
        let pool = loket::db::pool(&url, 1).expect("pool");
        let mut conn = pool.get().await.expect("conn");
        loket::demo::load_once(&mut conn, &settings)
            .await
            .expect("demo data");
    }
    let app = Application::build_with_database(settings, &url, None)
        .await
        .expect("app");
    let base = format!("http://127.0.0.1:{}", app.port());
    let stop = app.stop_handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let tz = chrono_tz::Asia::Jakarta;
    let from = chrono::Utc::now().with_timezone(&tz).date_naive() + chrono::Duration::days(1);

    let held_now = || async {
        scalar(
            &url,
            "SELECT count(*) FROM appointments WHERE citizen_name = 'Calo Bench' AND active \
             AND (hold_expires_at IS NULL OR hold_expires_at > now())",
        )
        .await
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let (mut accepted, mut limited, mut other, mut most) = (0u64, 0u64, 0u64, 0i64);
    let mut next_sample = started;
    let mut phone = 0u64;
    while Instant::now() < deadline {
        if Instant::now() >= next_sample {
            most = most.max(held_now().await);
            next_sample += Duration::from_secs(10);
        }
        // The next free time over the next two weeks.
        let slots: Value = match client
            .get(format!(
                "{base}/api/v1/services/pbg/slots?from={from}&days=14"
            ))
            .send()
            .await
        {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        let Some(start) = slots["days"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|d| d["slots"].as_array().cloned().unwrap_or_default())
            .find_map(|s| s["starts_at"].as_str().map(String::from))
        else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        phone += 1;
        let r = client
            .post(format!("{base}/api/v1/appointments"))
            .json(&json!({
                "service": "pbg",
                "starts_at": start,
                "citizen": {"name": "Calo Bench", "phone": format!("0813{:08}", 10_000_000 + phone)},
                "consent": true,
            }))
            .send()
            .await
            .expect("POST");
        match r.status().as_u16() {
            201 => accepted += 1,
            429 => {
                limited += 1;
                let wait = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                let left = deadline.saturating_duration_since(Instant::now());
                tokio::time::sleep(Duration::from_secs(wait).min(left)).await;
            }
            _ => other += 1,
        }
    }
    let at_end = held_now().await;
    most = most.max(at_end);
    let confirmed = scalar(
        &url,
        "SELECT count(*) FROM appointments WHERE citizen_name = 'Calo Bench' AND status = 'booked'",
    )
    .await;
    let hours = started.elapsed().as_secs_f64() / 3600.0;
    println!(
        "{} | {accepted} | {limited} | {other} | {at_end} | {most} | {confirmed} | {:.0}",
        mode.as_str(),
        accepted as f64 / hours
    );
    stop.stop();
}

async fn scalar(url: &str, sql: &str) -> i64 {
    use diesel::QueryableByName;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut c = AsyncPgConnection::establish(url).await.expect("connect");
    let rows: Vec<Row> = diesel::sql_query(format!("SELECT ({sql}) AS n"))
        .load(&mut c)
        .await
        .expect("count");
    rows.into_iter().next().map(|r| r.n).unwrap_or(0)
}
