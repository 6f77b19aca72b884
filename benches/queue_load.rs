//! Queue fan-out benchmark (issue 11, item 7): N citizens wait on one service, each following
//! their number live (`GET /api/v1/queue/current/events`, one HTTP connection each); a clerk
//! calls the next number (`POST /api/v1/staff/queue/next`) again and again. Measured per call:
//! how long until every waiting citizen has received their new position (p50 / p99 / max over
//! all of them and all calls), and the server's CPU time for the call (the call, the rebuild of
//! the agency's snapshot, every stream's update), at N = 100, 1,000 and 2,000.
//!
//! `cargo bench --bench queue_load` (optionally `-- --calls 20 --sizes 100,1000,2000 --pin`).
//! Loopback only, every wait bounded. Loket runs in its own process (a child of this one) so its
//! CPU can be read from /proc; Postgres is a throwaway cluster (its CPU is not in the figure).
//! `--pin` puts the server on CPU 0 and the clients on CPU 1 (sched_setaffinity), so the two do
//! not share a core by accident between runs. The waiting numbers are written straight into
//! `queue_tickets` (taking 2,000 numbers through the API would hit the cut-off: no clerk can
//! serve them all today — which is the point of the cut-off).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use tokio::sync::mpsc;

const CLERKS: usize = 10;

fn main() -> anyhow::Result<()> {
    if std::env::var("LOKET_BENCH_CHILD").is_ok() {
        return child_server();
    }
    raise_nofile();
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let calls: usize = arg("--calls").and_then(|v| v.parse().ok()).unwrap_or(20);
    let sizes: Vec<usize> = arg("--sizes")
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 1000, 2000]);
    let pin = args.iter().any(|a| a == "--pin");
    if pin {
        pin_to(1);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(calls, sizes, pin))
}

/// A zone where it is mid-morning now: the bench clerks' day is around the run, whatever the hour.
fn zone() -> String {
    let hour = Utc::now().hour() as i32;
    let offset = (10 - hour).rem_euclid(24);
    let offset = if offset > 14 { offset - 24 } else { offset };
    match offset {
        0 => "Etc/GMT".into(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

fn child_server() -> anyhow::Result<()> {
    if std::env::var("LOKET_BENCH_PIN").is_ok() {
        pin_to(0);
    }
    let url = std::env::var("DATABASE_URL")?;
    let mut settings =
        loket::config::Settings::for_tests(std::env::temp_dir().join("loket-queue-bench"));
    settings.demo_data = false;
    settings.db_pool_size = 16;
    settings.timezone = std::env::var("LOKET_BENCH_TZ")?
        .parse()
        .map_err(|e| anyhow::anyhow!("zone: {e}"))?;
    settings.queue_max_waiting = 100_000;
    actix_web::rt::System::new().block_on(async move {
        let app = loket::startup::Application::build_with_database(settings, &url, None).await?;
        println!("PORT {}", app.port());
        app.run_until_stopped().await
    })
}

fn pin_to(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and sched_setaffinity only write
    // it and this thread's affinity (threads started later inherit it).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn raise_nofile() {
    // SAFETY: getrlimit/setrlimit on this process with a valid struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(db_url: &str, tz: &str, pin: bool) -> anyhow::Result<Server> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.env("LOKET_BENCH_CHILD", "1")
        .env("DATABASE_URL", db_url)
        .env("LOKET_BENCH_TZ", tz)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if pin {
        cmd.env("LOKET_BENCH_PIN", "1");
    }
    let mut child = cmd.spawn()?;
    let out = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(out).lines();
    let line = lines
        .find(|l| l.as_ref().is_ok_and(|l| l.starts_with("PORT ")))
        .ok_or_else(|| anyhow::anyhow!("server exited before listening"))??;
    std::thread::spawn(move || for _ in lines {});
    let port = line.trim_start_matches("PORT ").trim().parse()?;
    Ok(Server { child, port })
}

/// Server CPU time so far (user + system), from /proc.
fn cpu_secs(server: &Server) -> f64 {
    let stat =
        std::fs::read_to_string(format!("/proc/{}/stat", server.child.id())).unwrap_or_default();
    let rest = stat.rsplit(") ").next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz.max(1.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

async fn exec(conn: &mut AsyncPgConnection, sql: &str) -> anyhow::Result<()> {
    diesel::sql_query(sql).execute(conn).await?;
    Ok(())
}

/// A bench agency with one 5-minute service that `CLERKS` clerks serve all day, every day.
async fn seed(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    exec(conn, "INSERT INTO agencies (id, slug, name, name_en, kind) VALUES (gen_random_uuid(), 'bench', 'Bench', 'Bench', 'city')").await?;
    exec(conn, "INSERT INTO services (id, agency_id, slug, name, name_en, duration_minutes, buffer_minutes) SELECT gen_random_uuid(), id, 'bench-svc', 'Bench', 'Bench', 5, 0 FROM agencies WHERE slug = 'bench'").await?;
    exec(conn, &format!("INSERT INTO staff (id, agency_id, email, name, password_hash, role, calendar_key) SELECT gen_random_uuid(), a.id, 'bench' || g || '@loket.example', 'Bench ' || g, 'x', 'clerk', md5(random()::text) FROM agencies a, generate_series(1, {CLERKS}) g WHERE a.slug = 'bench'")).await?;
    exec(conn, "INSERT INTO staff_services SELECT st.id, s.id FROM staff st, services s WHERE st.email LIKE 'bench%' AND s.slug = 'bench-svc'").await?;
    exec(conn, "INSERT INTO weekly_hours SELECT st.id, wd, '00:00', '23:59' FROM staff st, generate_series(1, 7) wd WHERE st.email LIKE 'bench%'").await?;
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    taken_at: chrono::DateTime<Utc>,
}

/// A fresh line of `n` waiting numbers (today's, in the server's zone); answers their tokens in
/// the line's order.
async fn fill_line(
    conn: &mut AsyncPgConnection,
    keys: &loket::auth::Keys,
    tz: &str,
    n: usize,
) -> anyhow::Result<Vec<String>> {
    exec(
        conn,
        "UPDATE appointments SET status = 'completed' WHERE active",
    )
    .await?;
    exec(conn, "DELETE FROM queue_tickets").await?;
    exec(conn, "DELETE FROM queue_counters").await?;
    let rows: Vec<Row> = diesel::sql_query(format!(
        "INSERT INTO queue_tickets (id, agency_id, service_id, day, seq, mode, citizen_name, citizen_phone, taken_at)
         SELECT gen_random_uuid(), s.agency_id, s.id, (now() AT TIME ZONE '{tz}')::date, g, 'remote',
                'Warga ' || g, '+62812' || lpad(g::text, 7, '0'), now() - interval '1 hour' + g * interval '1 ms'
           FROM services s, generate_series(1, {n}) g WHERE s.slug = 'bench-svc'
         RETURNING id, taken_at"
    ))
    .load(conn)
    .await?;
    let mut rows = rows;
    rows.sort_by_key(|r| r.taken_at);
    rows.iter()
        .map(|r| {
            loket::auth::tokens::queue_token(keys, loket::domain::ids::TicketId(r.id), r.taken_at)
        })
        .collect()
}

/// One stream's news: its index, its position (None once called) and when it arrived.
struct News {
    idx: usize,
    position: Option<u64>,
    at: Instant,
}

/// Follows one number's stream and reports every event (bounded: the stream ends with the
/// phase).
async fn follow(
    client: reqwest::Client,
    url: String,
    token: String,
    idx: usize,
    tx: mpsc::Sender<News>,
    ready: mpsc::Sender<usize>,
) {
    let Ok(mut r) = client.get(&url).bearer_auth(&token).send().await else {
        return;
    };
    if !r.status().is_success() {
        return;
    }
    let mut buf = String::new();
    let mut first = true;
    while let Ok(Some(chunk)) = r.chunk().await {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let Some(data) = block
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map(str::to_string)
            else {
                continue;
            };
            let v: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
            let news = News {
                idx,
                position: v["position"].as_u64(),
                at: Instant::now(),
            };
            if first {
                first = false;
                let _ = ready.send(idx).await;
            }
            if tx.send(news).await.is_err() {
                return;
            }
        }
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Figures {
    waiting: usize,
    calls: usize,
    deliveries: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
    call_p50: Duration,
    cpu_ms_per_call: f64,
    rebuilds_per_call: f64,
}

async fn run(calls: usize, sizes: Vec<usize>, pin: bool) -> anyhow::Result<()> {
    let tz = zone();
    let cluster =
        tokio::task::spawn_blocking(loket::db::embedded::Cluster::start_throwaway).await??;
    loket::db::embedded::ensure_database(&cluster.url("postgres"), "bench").await?;
    let url = cluster.url("bench");
    loket::db::migrate(&url).await?;
    let mut conn = AsyncPgConnection::establish(&url).await?;
    seed(&mut conn).await?;
    let server = start_server(&url, &tz, pin)?;
    let base = format!("http://127.0.0.1:{}", server.port);
    let settings = loket::config::Settings::for_tests(std::env::temp_dir());
    let keys = loket::auth::Keys::derive(&settings.load_or_create_secret()?);
    let clerk: uuid::Uuid = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        diesel::sql_query("SELECT id FROM staff WHERE email = 'bench1@loket.example'")
            .get_result::<Id>(&mut conn)
            .await?
            .id
    };
    let staff_token =
        loket::auth::tokens::staff_token(&keys, loket::domain::ids::StaffId(clerk), 0)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .build()?;
    let load_before = loadavg();
    let mut results = Vec::new();
    for &n in &sizes {
        let tokens = fill_line(&mut conn, &keys, &tz, n).await?;
        let (tx, mut rx) = mpsc::channel::<News>(n * 4 + 64);
        let (ready_tx, mut ready_rx) = mpsc::channel::<usize>(n + 1);
        let mut tasks = Vec::with_capacity(n);
        for (idx, token) in tokens.into_iter().enumerate() {
            tasks.push(tokio::spawn(follow(
                client.clone(),
                format!("{base}/api/v1/queue/current/events"),
                token,
                idx,
                tx.clone(),
                ready_tx.clone(),
            )));
        }
        drop(ready_tx);
        // Every stream has its first event (its place before any call).
        let mut connected = 0;
        let deadline = Instant::now() + Duration::from_secs(120);
        while connected < n {
            match tokio::time::timeout_at(deadline.into(), ready_rx.recv()).await {
                Ok(Some(_)) => connected += 1,
                _ => anyhow::bail!("only {connected} of {n} streams connected"),
            }
        }
        // Their positions now (the first events), and quiet before the first call.
        let mut pos: Vec<Option<u64>> = vec![None; n];
        tokio::time::sleep(Duration::from_millis(500)).await;
        while let Ok(news) = rx.try_recv() {
            pos[news.idx] = news.position;
        }
        let mut latencies: Vec<Duration> = Vec::with_capacity(n * calls);
        let mut call_times = Vec::with_capacity(calls);
        let mut cpu = 0.0;
        let rebuilds_before = metric(&client, &base, "loket_queue_rebuilds_total").await;
        for c in 0..calls {
            // Who is expected to move: everyone still waiting moves up one place.
            let want: Vec<Option<u64>> =
                pos.iter().map(|p| p.map(|p| p.saturating_sub(1))).collect();
            let mut pending: usize = want.iter().filter(|w| w.is_some()).count();
            let mut done = vec![false; n];
            let cpu0 = cpu_secs(&server);
            let t0 = Instant::now();
            let r = client
                .post(format!("{base}/api/v1/staff/queue/next"))
                .bearer_auth(&staff_token)
                .json(&serde_json::json!({"counter": "1"}))
                .send()
                .await?;
            call_times.push(t0.elapsed());
            anyhow::ensure!(r.status() == 200, "call {c}: {}", r.text().await?);
            let deadline = t0 + Duration::from_secs(30);
            while pending > 0 {
                let Ok(Some(news)) = tokio::time::timeout_at(deadline.into(), rx.recv()).await
                else {
                    anyhow::bail!("call {c} at {n}: {pending} citizens never heard");
                };
                let i = news.idx;
                pos[i] = news.position;
                if done[i] {
                    continue;
                }
                // The called one (position 1 → none) or a waiting one one place up.
                let arrived = match want[i] {
                    Some(0) => news.position.is_none(),
                    Some(w) => news.position == Some(w),
                    None => false,
                };
                if arrived {
                    done[i] = true;
                    pending -= 1;
                    latencies.push(news.at - t0);
                }
            }
            cpu += cpu_secs(&server) - cpu0;
            // The clerk finishes at once (not measured), ready for the next call.
            exec(
                &mut conn,
                "UPDATE appointments SET status = 'completed' WHERE active",
            )
            .await?;
            tokio::time::sleep(Duration::from_millis(200)).await;
            while let Ok(news) = rx.try_recv() {
                pos[news.idx] = news.position;
            }
        }
        let rebuilds = metric(&client, &base, "loket_queue_rebuilds_total").await - rebuilds_before;
        for t in &tasks {
            t.abort();
        }
        latencies.sort();
        call_times.sort();
        results.push(Figures {
            waiting: n,
            calls,
            deliveries: latencies.len(),
            p50: pct(&latencies, 0.50),
            p99: pct(&latencies, 0.99),
            max: latencies.last().copied().unwrap_or_default(),
            call_p50: pct(&call_times, 0.5),
            cpu_ms_per_call: cpu * 1000.0 / calls as f64,
            rebuilds_per_call: rebuilds / calls as f64,
        });
        eprintln!("{n} waiting: done");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!();
    println!("load average before: {load_before}; after: {}", loadavg());
    println!("server pinned to CPU 0, clients to CPU 1: {pin}");
    println!();
    println!(
        "| waiting | calls | updates delivered | new position p50 ms | p99 ms | max ms | call (POST) p50 ms | server CPU ms per call | µs per update | rebuilds per call |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for f in results {
        let per_update = f.cpu_ms_per_call * 1000.0 / f.waiting.max(1) as f64;
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} |",
            f.waiting,
            f.calls,
            f.deliveries,
            f.p50.as_secs_f64() * 1000.0,
            f.p99.as_secs_f64() * 1000.0,
            f.max.as_secs_f64() * 1000.0,
            f.call_p50.as_secs_f64() * 1000.0,
            f.cpu_ms_per_call,
            per_update,
            f.rebuilds_per_call,
        );
    }
    drop(server);
    drop(cluster);
    Ok(())
}

/// A counter from `/metrics`.
async fn metric(client: &reqwest::Client, base: &str, name: &str) -> f64 {
    let Ok(r) = client.get(format!("{base}/metrics")).send().await else {
        return 0.0;
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}
