//! Load bench for the booking core over HTTP (loopback only, bounded in count and time):
//! - slot query latency (30 days × 20 clerks, 2,000 booked) and slot queries per second;
//! - durable bookings per second with 32 concurrent clients on the embedded Postgres with
//!   fsync on, then a check that no clerk is double-booked.
//!
//! Run: `cargo bench --bench booking_load` (set LOKET_BENCH_SECONDS to change the 10 s phases,
//! LOKET_BENCH_POOL to use another database pool size than Loket's default).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection};
use loket::config::Settings;
use loket::db::embedded::Cluster;
use loket::startup::Application;
use serde_json::{Value, json};

const CLERKS: usize = 20;
const BOOKED: usize = 2_000;
const CLIENTS: usize = 32;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn exec(url: &str, sql: &str) {
    use diesel_async::RunQueryDsl;
    let mut c = AsyncPgConnection::establish(url).await.expect("connect");
    diesel::sql_query(sql)
        .execute(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A bench agency with one service served by 20 clerks working every day 07.00–19.00 WIB, and
/// 2,000 appointments spread over the next 30 days.
async fn seed(url: &str) {
    exec(url, "INSERT INTO agencies (id, slug, name, name_en, kind) VALUES (gen_random_uuid(), 'bench', 'Bench', 'Bench', 'city')").await;
    exec(url, "INSERT INTO services (id, agency_id, slug, name, name_en, duration_minutes, buffer_minutes) SELECT gen_random_uuid(), id, 'bench-svc', 'Bench', 'Bench', 20, 10 FROM agencies WHERE slug = 'bench'").await;
    exec(url, &format!("INSERT INTO staff (id, agency_id, email, name, password_hash, role, calendar_key) SELECT gen_random_uuid(), a.id, 'bench' || g || '@loket.example', 'Bench ' || g, 'x', 'clerk', md5(random()::text) FROM agencies a, generate_series(1, {CLERKS}) g WHERE a.slug = 'bench'")).await;
    exec(url, "INSERT INTO staff_services SELECT st.id, s.id FROM staff st, services s WHERE st.email LIKE 'bench%' AND s.slug = 'bench-svc'").await;
    exec(url, "INSERT INTO weekly_hours SELECT st.id, wd, '07:00', '19:00' FROM staff st, generate_series(1, 7) wd WHERE st.email LIKE 'bench%'").await;
    // 100 appointments per clerk: day d (1..25), 4 per day at 13.00, 14.00, 15.00, 16.00 WIB.
    exec(url, &format!(
        "INSERT INTO appointments (id, code, service_id, staff_id, period, ends_at, citizen_name, citizen_phone)
         SELECT gen_random_uuid(),
                upper(substr(translate(md5(random()::text), 'ilou', '2345'), 1, 8)),
                s.id, st.id,
                tstzrange(t, t + interval '30 minutes'), t + interval '20 minutes',
                'Bench', '+628' || lpad((row_number() over ())::text, 10, '0')
         FROM services s, staff st,
              generate_series(1, 25) d, generate_series(0, 3) h,
              LATERAL (SELECT (date_trunc('day', now() AT TIME ZONE 'Asia/Jakarta') + d * interval '1 day' + (13 + h) * interval '1 hour') AT TIME ZONE 'Asia/Jakarta' AS t) tt
         WHERE s.slug = 'bench-svc' AND st.email LIKE 'bench%'
         LIMIT {BOOKED}")).await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let secs: u64 = std::env::var("LOKET_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let dir = std::env::temp_dir().join(format!("loket-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    // The durable cluster: fsync on, as in production.
    let mut cluster = Cluster::start_durable(&dir).expect("embedded postgres");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(run(&cluster, &dir, secs))
    }));
    let _ = cluster.stop();
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

async fn run(cluster: &Cluster, dir: &std::path::Path, secs: u64) {
    loket::db::embedded::ensure_database(&cluster.url("postgres"), "loket")
        .await
        .expect("db");
    let url = cluster.url("loket");
    loket::db::migrate(&url).await.expect("migrate");
    seed(&url).await;
    let mut settings = Settings::for_tests(dir.to_path_buf());
    settings.booking_rate_per_minute = 0;
    settings.min_notice_minutes = 0;
    settings.max_active_bookings = 100;
    settings.max_bookings_per_service_day = 100;
    // LOKET_BENCH_OUTBOX_WORKERS=0 leaves the booking's messages unsent: the A/B of what the
    // outbox's workers cost beside the bookings (their rows are written either way).
    if let Some(n) = std::env::var("LOKET_BENCH_OUTBOX_WORKERS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        settings.notify.workers = n;
    }
    // Loket's default pool (16) unless LOKET_BENCH_POOL says otherwise.
    if let Some(size) = std::env::var("LOKET_BENCH_POOL")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        settings.db_pool_size = size;
    }
    let app = Application::build_with_database(settings, &url, None)
        .await
        .expect("app");
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state.clone();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let tz = chrono_tz::Asia::Jakarta;
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let slots_url = format!("{base}/api/v1/services/bench-svc/slots?from={today}&days=30");

    // 0. Where the time of one query goes, measured in-process.
    {
        let pool = loket::db::pool(&url, 2).expect("pool");
        let mut conn = pool.get().await.expect("conn");
        let mut t_service = vec![];
        let mut t_staffing = vec![];
        let mut t_load = vec![];
        let mut t_compute = vec![];
        let settings = Settings::for_tests(dir.to_path_buf());
        for _ in 0..100 {
            // What a cold directory costs (after an admin or staff write): both lookups go to
            // Postgres. In steady state they come from memory.
            let directory = loket::directory::Directory::default();
            let t0 = Instant::now();
            let (svc, _) = directory
                .service(&mut conn, "bench-svc")
                .await
                .expect("q")
                .expect("svc");
            t_service.push(t0.elapsed());
            let service = loket::domain::ids::ServiceId(svc.id);
            let t1 = Instant::now();
            let staffing = directory.staffing(&mut conn, service).await.expect("staff");
            t_staffing.push(t1.elapsed());
            let t2 = Instant::now();
            let from = chrono::Utc::now()
                .with_timezone(&chrono_tz::Asia::Jakarta)
                .date_naive();
            let window = loket::availability::window(&settings, from, 30);
            let cal = loket::availability::load(&mut conn, &staffing, service, window, None)
                .await
                .expect("load");
            t_load.push(t2.elapsed());
            let t3 = Instant::now();
            let rules = loket::availability::rules(&settings, &svc, chrono::Utc::now());
            let days = loket::availability::slots(rules, &cal, from, 30);
            std::hint::black_box(days);
            t_compute.push(t3.elapsed());
        }
        for v in [&mut t_service, &mut t_staffing, &mut t_load, &mut t_compute] {
            v.sort();
        }
        println!(
            "in-process p50: service lookup {:?} and its clerks' hours {:?} (both uncached), busy periods {:?}, slot computation {:?}",
            pct(&t_service, 0.5),
            pct(&t_staffing, 0.5),
            pct(&t_load, 0.5),
            pct(&t_compute, 0.5)
        );
    }

    // 1. Latency of one 30-day query, sequential: cold (the slot cache emptied before each
    //    request, as after a booking) and warm (served from the cache).
    for cold in [true, false] {
        let mut lat = vec![];
        for _ in 0..300 {
            if cold {
                state.slot_cache.invalidate();
            }
            let t0 = Instant::now();
            let r = client.get(&slots_url).send().await.expect("slots");
            assert!(r.status().is_success());
            let _ = r.bytes().await;
            lat.push(t0.elapsed());
        }
        lat.sort();
        println!(
            "slots 30d x {CLERKS} clerks, {BOOKED} booked, sequential, {}: p50 {:?}  p99 {:?}",
            if cold { "cold" } else { "cached" },
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }

    // 2. Throughput with concurrent clients for a bounded time, cold and cached.
    for cold in [true, false] {
        let done = Arc::new(AtomicUsize::new(0));
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut tasks = vec![];
        for _ in 0..CLIENTS {
            let (c, u, done, state) = (
                client.clone(),
                slots_url.clone(),
                done.clone(),
                state.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    if cold {
                        state.slot_cache.invalidate();
                    }
                    if let Ok(r) = c.get(&u).send().await
                        && r.status().is_success()
                        && r.bytes().await.is_ok()
                    {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let n = done.load(Ordering::Relaxed);
        println!(
            "slot queries ({}) with {CLIENTS} clients for {secs} s: {n} ({:.0}/s)",
            if cold { "cold" } else { "cached" },
            n as f64 / secs as f64
        );
    }

    // 3. Durable bookings: every client books free times from a shared list until it runs out
    //    or the time is up.
    let body: Value = client
        .get(&slots_url)
        .send()
        .await
        .expect("slots")
        .json()
        .await
        .expect("json");
    let mut times: Vec<String> = vec![];
    for d in body["days"].as_array().expect("days") {
        for s in d["slots"].as_array().expect("slots") {
            if let Some(t) = s["starts_at"].as_str() {
                times.push(t.to_string());
            }
        }
    }
    // Each time can take up to 20 bookings (one per clerk).
    let work: Arc<Vec<String>> = Arc::new(
        times
            .iter()
            .flat_map(|t| std::iter::repeat_n(t.clone(), CLERKS))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let (ok, taken, other) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut tasks = vec![];
    for _ in 0..CLIENTS {
        let (c, base, work, next, ok, taken, other) = (
            client.clone(),
            base.clone(),
            work.clone(),
            next.clone(),
            ok.clone(),
            taken.clone(),
            other.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= work.len() || Instant::now() >= deadline {
                    break;
                }
                let r = c
                    .post(format!("{base}/api/v1/appointments"))
                    .json(&json!({"service": "bench-svc", "starts_at": work[i],
                                  "citizen": {"name": "Bench Citizen", "phone": format!("0857{:08}", i)}, "consent": true}))
                    .send()
                    .await;
                match r.map(|r| r.status().as_u16()) {
                    Ok(201) => ok.fetch_add(1, Ordering::Relaxed),
                    Ok(409) => taken.fetch_add(1, Ordering::Relaxed),
                    _ => other.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed);
    println!(
        "durable bookings with {CLIENTS} clients (fsync on): {ok} in {elapsed:.1} s = {:.0}/s; 409 slot_taken {}, other {}",
        ok as f64 / elapsed,
        taken.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed)
    );
    let overlaps = count_overlaps(&url).await;
    println!("double bookings: {overlaps}");
    assert_eq!(overlaps, 0, "a clerk was double-booked");
}

/// Pairs of active appointments of one clerk whose periods overlap (must be zero).
async fn count_overlaps(url: &str) -> i64 {
    use diesel_async::RunQueryDsl;
    let mut c = AsyncPgConnection::establish(url).await.expect("connect");
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let overlaps: N = diesel::sql_query(
        "SELECT count(*) AS n FROM appointments a JOIN appointments b
           ON a.staff_id = b.staff_id AND a.id < b.id AND a.period && b.period
         WHERE a.status IN ('booked','waiting','in_call') AND b.status IN ('booked','waiting','in_call')",
    )
    .get_result(&mut c)
    .await
    .expect("overlap check");
    overlaps.n
}
