//! Outbox bench (issue 10), loopback only, bounded in count and time:
//! - dispatch throughput: N messages due at once, sent by the outbox workers (32 concurrent
//!   sends) to a local WhatsApp Cloud API stub, then a count of duplicates (0 expected) and of
//!   messages left unsent;
//! - commit → WhatsApp request: bookings made one after another through the booking use-case
//!   with an idle outbox, and the time from the booking's commit to the stub receiving its
//!   `booked` message (p50 / p99).
//!
//! Postgres is the embedded durable cluster (fsync on, as in production).
//! Run: `cargo bench --bench outbox` (LOKET_BENCH_MESSAGES, default 10000;
//! LOKET_BENCH_BOOKINGS, default 200; LOKET_BENCH_WORKERS, default 1).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use loket::booking::{BookingForm, CitizenForm};
use loket::config::{Secret, Settings, WhatsappSettings};
use loket::db::embedded::Cluster;
use loket::startup::Application;
use serde_json::{Value, json};

const CLERKS: usize = 20;

#[derive(Default)]
struct Stub {
    /// Requests per outbox id (biz_opaque_callback_data).
    per_message: HashMap<String, usize>,
    /// When the first request to each phone arrived.
    first_at: HashMap<String, Instant>,
    total: usize,
}

type Shared = Arc<Mutex<Stub>>;

async fn whatsapp_messages(stub: web::Data<Shared>, body: web::Json<Value>) -> HttpResponse {
    let now = Instant::now();
    let n = {
        let mut s = stub.lock().expect("stub");
        s.total += 1;
        let id = body["biz_opaque_callback_data"]
            .as_str()
            .unwrap_or("")
            .to_string();
        *s.per_message.entry(id).or_default() += 1;
        let to = body["to"].as_str().unwrap_or("").to_string();
        s.first_at.entry(to).or_insert(now);
        s.total
    };
    HttpResponse::Ok()
        .json(json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.B{n}")}]}))
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn exec(url: &str, sql: &str) {
    let mut c = AsyncPgConnection::establish(url).await.expect("connect");
    diesel::sql_query(sql)
        .execute(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn scalar(url: &str, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut c = AsyncPgConnection::establish(url).await.expect("connect");
    let r: Row = diesel::sql_query(sql)
        .get_result(&mut c)
        .await
        .expect("scalar");
    r.n
}

/// A bench service served by 20 clerks every day 07.00–19.00 WIB.
async fn seed(url: &str) {
    exec(url, "INSERT INTO agencies (id, slug, name, name_en, kind) VALUES (gen_random_uuid(), 'bench', 'Bench', 'Bench', 'city')").await;
    exec(url, "INSERT INTO services (id, agency_id, slug, name, name_en, duration_minutes, buffer_minutes, requirements) SELECT gen_random_uuid(), id, 'bench-svc', 'Layanan Bench', 'Bench service', 20, 10, '{KTP asli}' FROM agencies WHERE slug = 'bench'").await;
    exec(url, &format!("INSERT INTO staff (id, agency_id, email, name, password_hash, role, calendar_key) SELECT gen_random_uuid(), a.id, 'bench' || g || '@loket.example', 'Bench ' || g, 'x', 'clerk', md5(random()::text) FROM agencies a, generate_series(1, {CLERKS}) g WHERE a.slug = 'bench'")).await;
    exec(url, "INSERT INTO staff_services SELECT st.id, s.id FROM staff st, services s WHERE st.email LIKE 'bench%' AND s.slug = 'bench-svc'").await;
    exec(url, "INSERT INTO weekly_hours SELECT st.id, wd, '07:00', '19:00' FROM staff st, generate_series(1, 7) wd WHERE st.email LIKE 'bench%'").await;
}

fn env_num(name: &str, default: usize) -> usize {
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
    let dir = std::env::temp_dir().join(format!("loket-bench-outbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let mut cluster = Cluster::start_durable(&dir).expect("embedded postgres");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(run(&cluster, &dir))
    }));
    let _ = cluster.stop();
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

async fn run(cluster: &Cluster, dir: &std::path::Path) {
    let messages = env_num("LOKET_BENCH_MESSAGES", 10_000);
    let bookings = env_num("LOKET_BENCH_BOOKINGS", 200);
    let workers = env_num("LOKET_BENCH_WORKERS", 1);
    loket::db::embedded::ensure_database(&cluster.url("postgres"), "loket")
        .await
        .expect("db");
    let url = cluster.url("loket");
    loket::db::migrate(&url).await.expect("migrate");
    seed(&url).await;

    let stub: Shared = Default::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind stub");
    let stub_url = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let data = web::Data::new(stub.clone());
    tokio::spawn(
        HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::JsonConfig::default().limit(64 * 1024))
                .route("/v21.0/{phone}/messages", web::post().to(whatsapp_messages))
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run(),
    );

    let mut settings = Settings::for_tests(dir.to_path_buf());
    settings.min_notice_minutes = 0;
    settings.max_active_bookings = 100;
    settings.booking_rate_per_minute = 0;
    settings.notify.whatsapp = Some(WhatsappSettings {
        api_url: format!("{stub_url}/v21.0"),
        phone_number_id: "1".into(),
        token: Secret::new("bench"),
    });
    settings.notify.quiet_hours = loket::domain::notify::QuietHours::parse("off").expect("off");
    // The workers start below, when each phase is ready.
    settings.notify.workers = 0;
    let app = Application::build_with_database(settings, &url, None)
        .await
        .expect("app");
    let state = app.state.clone();
    tokio::spawn(app.run_until_stopped());
    let ctx = state.ctx.clone();
    let channels = loket::notify::Channels::from_settings(&ctx.settings.notify).expect("channels");

    // One booking to be the subject of the throughput phase's messages.
    let tz = chrono_tz::Asia::Jakarta;
    let day = chrono::Utc::now().with_timezone(&tz).date_naive() + chrono::Duration::days(2);
    let slot = |i: usize| {
        use chrono::TimeZone;
        // 24 half-hour starts a day from 07.00, twenty clerks each.
        let d = day + chrono::Duration::days((i / (24 * CLERKS)) as i64);
        let k = (i / CLERKS) % 24;
        tz.from_local_datetime(
            &d.and_hms_opt(7 + (k / 2) as u32, 30 * (k % 2) as u32, 0)
                .expect("time"),
        )
        .earliest()
        .expect("local time")
        .with_timezone(&chrono::Utc)
    };
    let book = |i: usize| {
        let ctx = ctx.clone();
        async move {
            let form = BookingForm {
                service: Some("bench-svc".into()),
                starts_at: Some(slot(i).to_rfc3339()),
                citizen: Some(CitizenForm {
                    name: Some("Bench Citizen".into()),
                    phone: Some(format!("0812{:08}", 10_000_000 + i)),
                    email: None,
                    nik: None,
                }),
                consent: Some(true),
                lang: None,
            };
            loket::booking::book(&ctx, form, None)
                .await
                .map(|b| b.view.appointment.id)
        }
    };
    let subject = book(0).await.expect("the first booking");

    // ---- Phase 1: dispatch throughput ------------------------------------------------------
    exec(&url, &format!(
        "INSERT INTO outbox (id, subject_kind, subject_id, kind, channel, round, address, due_at) \
         SELECT gen_random_uuid(), 'appointment', '{subject}', 'reassigned', 'whatsapp', r, '+6281299990000', now() \
         FROM generate_series(1, {messages}) r"
    ))
    .await;
    exec(&url, "VACUUM ANALYZE outbox").await;
    let before = stub.lock().expect("stub").total;
    let started = Instant::now();
    let w = loket::notify::Workers::start(ctx.clone(), channels.clone(), workers);
    let deadline = started + Duration::from_secs(600);
    loop {
        let done = stub.lock().expect("stub").total - before;
        if done > messages || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // +1: the first booking's own `booked` message goes in the same run.
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (sent, dups) = {
        let s = stub.lock().expect("stub");
        (
            s.total - before,
            s.per_message.values().filter(|&&n| n > 1).count(),
        )
    };
    let left = scalar(
        &url,
        "SELECT count(*) AS n FROM outbox WHERE status = 'pending' AND due_at <= now()",
    )
    .await;
    println!(
        "== outbox dispatch: {messages} messages due at once, {workers} worker(s), 32 concurrent sends =="
    );
    println!(
        "  {sent} requests in {:.2} s = {:.0} messages/s; duplicates: {dups}; left pending: {left}",
        took.as_secs_f64(),
        sent as f64 / took.as_secs_f64()
    );

    // ---- Phase 2: commit -> WhatsApp request, idle outbox -----------------------------------
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The commit happens inside the call, between `asked` and `answered`: the delay from it to
    // the stub's request is at most `arrived - asked` (reported as the bound) and at least
    // `arrived - answered`.
    let mut upper = Vec::with_capacity(bookings);
    let mut lower = Vec::with_capacity(bookings);
    let mut failed = 0;
    for i in 1..=bookings {
        let phone = format!("62812{:08}", 10_000_000 + i);
        let asked = Instant::now();
        let id = book(i).await;
        let answered = Instant::now();
        if id.is_err() {
            failed += 1;
            continue;
        }
        let arrived = loop {
            if let Some(t) = stub.lock().expect("stub").first_at.get(&phone) {
                break Some(*t);
            }
            if answered.elapsed() > Duration::from_secs(10) {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        if let Some(t) = arrived {
            upper.push(t.saturating_duration_since(asked));
            lower.push(t.saturating_duration_since(answered));
        }
        // Idle between bookings: each one finds the workers asleep.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    upper.sort();
    lower.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "== commit -> WhatsApp request, {} bookings one at a time, idle outbox ({failed} refused) ==",
        upper.len()
    );
    println!(
        "  bound (from the booking call): p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(pct(&upper, 0.5)),
        ms(pct(&upper, 0.9)),
        ms(pct(&upper, 0.99)),
        ms(upper.last().copied().unwrap_or_default())
    );
    println!(
        "  after the booking's answer:     p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms",
        ms(pct(&lower, 0.5)),
        ms(pct(&lower, 0.9)),
        ms(pct(&lower, 0.99))
    );
    let dups = stub
        .lock()
        .expect("stub")
        .per_message
        .values()
        .filter(|&&n| n > 1)
        .count();
    println!("  duplicates over the whole run: {dups}");
    w.shutdown().await;
}
