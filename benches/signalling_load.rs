//! Signalling load benchmark: Loket's rooms side by side with the PeerJS server (npm `peer`),
//! loopback only, every loop bounded in count and time.
//!
//! `cargo bench --bench signalling_load` (optionally `-- --quick`). It needs `node`/`npx` and
//! PeerJS installed: `mkdir -p /tmp/peerjs-bench && cd /tmp/peerjs-bench && npm install peer`
//! (or set `PEERJS_DIR`). Without it, only Loket is measured.
//!
//! Each server runs in its own process (a fresh one per phase) so its memory can be read from
//! /proc; the clients run here, on the same two cores, with the same pattern for both:
//! - relay: R rooms of two sockets; in each, one side sends an ICE-candidate-sized signal, the
//!   other sends it straight back; one message in flight per room, for a fixed time. Round trip
//!   p50/p99 and relayed messages per second, at R = 1, 100, 1000.
//! - idle memory: 10,000 joined sockets (5,000 rooms × 2), server RSS delta / sockets.
//! - joins: 5,000 sockets connect at once; time until the last one is welcomed.
//! - heartbeat (Loket only): with a 2 s heartbeat timeout, how soon a peer that stopped reading
//!   and sending is dropped (`--only heartbeat` runs just this).
//!
//! Loket is started with `LOKET_SIGNAL_RATE_PER_SEC` raised (the per-socket limit would otherwise
//! cap a single room at 100 msgs/s: the point here is the relay's own capacity); every other
//! limit is the default. Loket's rooms need tickets: they are written straight into
//! `room_tickets` for 5,000 bench appointments (one clerk each) in a throwaway Postgres.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

#[path = "support/relay.rs"]
mod relay;
use relay::{CLIENT_READ_BUFFER, candidate_payload, seq_of};

/// Counts live heap blocks by requested size, for `LOKET_BENCH_ALLOCS=<file>`: with 10,000 idle
/// sockets, a size held ~10,000 (or 20,000…) times is a per-socket allocation, which tells whose
/// it is (Loket's, actix-ws's, actix-http's) better than totals from `mallinfo2`. Sizes are
/// bucketed by 16 bytes up to 64 KiB; larger blocks share the last bucket. Counting costs two
/// relaxed atomic adds per allocation, also when nobody reads the counts.
struct Counting;

const ALLOC_BUCKETS: usize = 4097;
static LIVE: [std::sync::atomic::AtomicI64; ALLOC_BUCKETS] =
    [const { std::sync::atomic::AtomicI64::new(0) }; ALLOC_BUCKETS];

fn bucket(size: usize) -> usize {
    (size.div_ceil(16)).min(ALLOC_BUCKETS - 1)
}

/// `LOKET_BENCH_ALLOC_TRACE=<bytes>`: print where a few blocks of that size bucket are allocated.
static TRACE_BUCKET: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static TRACED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
thread_local! {
    static IN_TRACE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn maybe_trace(size: usize) {
    let want = TRACE_BUCKET.load(std::sync::atomic::Ordering::Relaxed);
    if want == 0 || bucket(size) != want {
        return;
    }
    // Skip the set-up; print 3 of the allocations made while sockets join.
    let n = TRACED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if !(3000..3003).contains(&n) || IN_TRACE.with(|t| t.replace(true)) {
        return;
    }
    eprintln!(
        "ALLOC {size}\n{}",
        std::backtrace::Backtrace::force_capture()
    );
    IN_TRACE.with(|t| t.set(false));
}

// SAFETY: every call is passed through to the system allocator unchanged; only counters move.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        LIVE[bucket(layout.size())].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        maybe_trace(layout.size());
        // SAFETY: same contract as ours.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE[bucket(layout.size())].fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        LIVE[bucket(layout.size())].fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        LIVE[bucket(new)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        maybe_trace(new);
        // SAFETY: same contract as ours.
        unsafe { std::alloc::System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Live blocks per size bucket with at least `min` blocks, as "size_upto count bytes" lines.
fn live_blocks(min: i64) -> String {
    let mut out = String::new();
    for (i, n) in LIVE.iter().enumerate() {
        let n = n.load(std::sync::atomic::Ordering::Relaxed);
        if n >= min {
            out.push_str(&format!("{} {} {}\n", i * 16, n, n * (i as i64) * 16));
        }
    }
    out
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const BENCH_ROOMS: usize = 5_000;
const IDLE_SOCKETS: usize = 10_000;
const CONCURRENT_JOINS: usize = 5_000;
/// Longest any single wait may take before the bench gives up on that phase.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Loket,
    PeerJs,
    /// actix-web + actix-ws answering every socket with `welcome` at once (no ticket, no room,
    /// no database): the floor that the bench client and the HTTP/WebSocket stack set for a join
    /// on this machine (`--floor`, joins phase only).
    Floor,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Loket => "Loket",
            Kind::PeerJs => "PeerJS",
            Kind::Floor => "floor (actix-ws, no Loket)",
        }
    }
}

/// A server under test: its process and address.
struct Server {
    kind: Kind,
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// URL for side `side` (0 citizen, 1 clerk) of room `room` in phase `phase`.
    fn url(&self, phase: u32, room: usize, side: usize) -> String {
        match self.kind {
            Kind::Loket | Kind::Floor => format!(
                "ws://127.0.0.1:{}/api/v1/rooms/ws?ticket=b{phase}-{room}-{}",
                self.port,
                ["c", "k"][side]
            ),
            Kind::PeerJs => format!(
                "ws://127.0.0.1:{}/peerjs?key=peerjs&id=p{phase}-{room}-{side}&token=t{room}",
                self.port
            ),
        }
    }

    fn peer_id(&self, phase: u32, room: usize, side: usize) -> String {
        format!("p{phase}-{room}-{side}")
    }
}

// ---------------------------------------------------------------------------------------------
// The Loket server process.

fn child_server() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")?;
    if let Ok(path) = std::env::var("LOKET_BENCH_MALLINFO") {
        // Heap bytes in use, once a second: tells allocation from fragmentation.
        std::thread::spawn(move || {
            for _ in 0..600 {
                // SAFETY: mallinfo2 only reads allocator statistics.
                let m = unsafe { libc::mallinfo2() };
                let line = format!("{} {}\n", m.uordblks, m.arena + m.hblkhd);
                let _ = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
                std::thread::sleep(Duration::from_secs(1));
            }
        });
    }
    if let Some(b) = std::env::var("LOKET_BENCH_ALLOC_TRACE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        TRACE_BUCKET.store(bucket(b), std::sync::atomic::Ordering::Relaxed);
    }
    if let Ok(path) = std::env::var("LOKET_BENCH_ALLOCS") {
        // Every second, the sizes with at least 1,000 live blocks, to `<file>.<second>`.
        std::thread::spawn(move || {
            for i in 0..600 {
                std::thread::sleep(Duration::from_secs(1));
                let _ = std::fs::write(format!("{path}.{i}"), live_blocks(1000));
            }
        });
    }
    let mut settings = loket::config::Settings::for_tests(std::env::temp_dir().join("loket-bench"));
    settings.demo_data = false;
    settings.db_pool_size = 32;
    // Long by default (idle sockets must stay through the memory phase); the heartbeat phase
    // sets its own.
    settings.heartbeat_timeout_secs = std::env::var("LOKET_HEARTBEAT_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    settings.signal_rate_per_sec = 100_000;
    actix_web::rt::System::new().block_on(async move {
        let app = loket::startup::Application::build_with_database(settings, &url, None).await?;
        println!("PORT {}", app.port());
        app.run_until_stopped().await
    })
}

/// The floor server (see [`Kind::Floor`]), run in the child process.
fn child_floor() -> anyhow::Result<()> {
    use actix_web::{App, HttpRequest, HttpServer, web};
    async fn ws(
        req: HttpRequest,
        body: web::Payload,
    ) -> actix_web::Result<actix_web::HttpResponse> {
        let (response, mut session, mut stream) = actix_ws::handle(&req, body)?;
        actix_web::rt::spawn(async move {
            if session.text(r#"{"type":"welcome"}"#).await.is_ok() {
                while let Some(Ok(_)) = stream.recv().await {}
            }
        });
        Ok(response)
    }
    actix_web::rt::System::new().block_on(async {
        let server = HttpServer::new(|| App::new().route("/api/v1/rooms/ws", web::get().to(ws)))
            .backlog(4096)
            .bind("127.0.0.1:0")?;
        println!("PORT {}", server.addrs()[0].port());
        server.run().await?;
        anyhow::Ok(())
    })
}

fn start_floor() -> anyhow::Result<Server> {
    let mut child = Command::new(std::env::current_exe()?)
        .env("LOKET_BENCH_CHILD", "floor")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let port = read_port(&mut child, "PORT ")?;
    Ok(Server {
        kind: Kind::Floor,
        child,
        port,
    })
}

fn start_loket(db_url: &str) -> anyhow::Result<Server> {
    start_loket_with(db_url, &[])
}

/// As [`start_loket`], with more environment (settings) for the server.
fn start_loket_with(db_url: &str, env: &[(&str, &str)]) -> anyhow::Result<Server> {
    let mut child = Command::new(std::env::current_exe()?)
        .env("LOKET_BENCH_CHILD", "1")
        .env("DATABASE_URL", db_url)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("LOKET_BENCH_ALLOC_TRACE").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()?;
    let port = read_port(&mut child, "PORT ")?;
    eprintln!("Loket server pid {}", child.id());
    Ok(Server {
        kind: Kind::Loket,
        child,
        port,
    })
}

fn start_peerjs(dir: &str) -> anyhow::Result<Server> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = Command::new("node")
        .current_dir(dir)
        .args([
            "node_modules/peer/dist/bin/peerjs.js",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--concurrent_limit",
            "20000",
            "--alive_timeout",
            "600000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    read_port(&mut child, "Started PeerServer")?;
    // Its per-connection log lines go nowhere from here on.
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || for _ in BufReader::new(out).lines() {});
    }
    Ok(Server {
        kind: Kind::PeerJs,
        child,
        port,
    })
}

/// Waits for the line that says the server listens (and returns the Loket port from it).
fn read_port(child: &mut Child, prefix: &str) -> anyhow::Result<u16> {
    let out = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(out).lines();
    let line = lines
        .find(|l| l.as_ref().is_ok_and(|l| l.starts_with(prefix)))
        .ok_or_else(|| anyhow::anyhow!("server exited before listening"))??;
    std::thread::spawn(move || for _ in lines {});
    Ok(line
        .strip_prefix("PORT ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0))
}

// ---------------------------------------------------------------------------------------------
// Fixtures in a throwaway Postgres.

async fn database() -> anyhow::Result<(loket::db::embedded::Cluster, String)> {
    let cluster =
        tokio::task::spawn_blocking(loket::db::embedded::Cluster::start_throwaway).await??;
    loket::db::embedded::ensure_database(&cluster.url("postgres"), "bench").await?;
    let url = cluster.url("bench");
    loket::db::migrate(&url).await?;
    let pool = loket::db::pool(&url, 1)?;
    {
        let mut conn = pool.get().await?;
        // Per-function call counts and times for the joins' report (pg_stat_user_functions).
        exec(&mut conn, "ALTER DATABASE bench SET track_functions = 'pl'").await?;
        let settings = loket::config::Settings::for_tests(std::env::temp_dir());
        loket::demo::load_once(&mut conn, &settings).await?;
        exec(
            &mut conn,
            &format!(
                "INSERT INTO staff (id, agency_id, email, name, password_hash, role, calendar_key) \
                 SELECT gen_random_uuid(), (SELECT id FROM agencies ORDER BY slug LIMIT 1), \
                        'bench' || g || '@loket.example', 'Bench clerk ' || g, 'x', 'clerk', 'benchkey' || g \
                 FROM generate_series(0, {}) g",
                BENCH_ROOMS - 1
            ),
        )
        .await?;
        exec(
            &mut conn,
            "INSERT INTO appointments (id, code, service_id, staff_id, period, ends_at, citizen_name, citizen_phone) \
             SELECT gen_random_uuid(), 'B' || lpad(n::text, 7, '0'), (SELECT id FROM services ORDER BY slug LIMIT 1), \
                    s.id, tstzrange(now(), now() + interval '1 day'), now() + interval '23 hours', \
                    'Warga ' || n, '+628123' || lpad(n::text, 7, '0') \
             FROM (SELECT id, row_number() OVER (ORDER BY email) - 1 AS n FROM staff WHERE email LIKE 'bench%') s",
        )
        .await?;
    }
    Ok((cluster, url))
}

async fn exec(conn: &mut diesel_async::AsyncPgConnection, sql: &str) -> anyhow::Result<()> {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(sql).execute(conn).await?;
    Ok(())
}

/// Tickets `b{phase}-{room}-c` (citizen) and `-k` (clerk) for rooms 0..rooms.
async fn tickets(db_url: &str, phase: u32, rooms: usize) -> anyhow::Result<()> {
    use diesel_async::AsyncConnection;
    let mut conn = diesel_async::AsyncPgConnection::establish(db_url).await?;
    exec(
        &mut conn,
        &format!(
            "INSERT INTO room_tickets (id, appointment_id, role, staff_id, expires_at) \
             SELECT 'b{phase}-' || a.n || '-' || r.code, a.id, r.role, \
                    CASE WHEN r.role = 'clerk' THEN a.staff_id END, now() + interval '1 hour' \
             FROM (SELECT id, staff_id, row_number() OVER (ORDER BY code) - 1 AS n \
                   FROM appointments WHERE code LIKE 'B%') a \
             CROSS JOIN (VALUES ('c', 'citizen'), ('k', 'clerk')) AS r(code, role) \
             WHERE a.n < {rooms}"
        ),
    )
    .await?;
    // Each phase starts from booked appointments, as a fresh day would: the ones an earlier
    // phase moved go back, and the old row versions are vacuumed away as autovacuum would have
    // overnight (otherwise they fill the pages' free space, and the joins' status updates could
    // no longer be made in place — a cost a real day does not have).
    exec(
        &mut conn,
        "UPDATE appointments SET status = 'booked' WHERE code LIKE 'B%' AND status <> 'booked'",
    )
    .await?;
    exec(&mut conn, "VACUUM (ANALYZE) appointments, room_tickets").await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Clients.

async fn recv_json(ws: &mut Ws) -> anyhow::Result<Value> {
    loop {
        match tokio::time::timeout(STEP_TIMEOUT, ws.next()).await? {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(t.as_str())?),
            Some(Ok(Message::Close(f))) => anyhow::bail!("closed: {f:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("socket ended"),
        }
    }
}

async fn until(ws: &mut Ws, kind: &str) -> anyhow::Result<Value> {
    loop {
        let v = recv_json(ws).await?;
        if v["type"] == kind {
            return Ok(v);
        }
    }
}

/// Connects one socket and waits for the server's hello (`welcome` / `OPEN`).
async fn join(server_kind: Kind, url: String) -> anyhow::Result<(Ws, Value)> {
    let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER);
    let (mut ws, _) = tokio::time::timeout(
        STEP_TIMEOUT,
        connect_async_with_config(url, Some(config), false),
    )
    .await??;
    let hello = match server_kind {
        Kind::Loket | Kind::Floor => until(&mut ws, "welcome").await?,
        Kind::PeerJs => until(&mut ws, "OPEN").await?,
    };
    Ok((ws, hello))
}

/// Two joined sockets that can signal each other: (citizen, citizen's id for the clerk,
/// clerk, clerk's id for the citizen).
struct Pair {
    a: Ws,
    a_to_b: String,
    b: Ws,
    b_to_a: String,
}

async fn pair(server: &Server, phase: u32, room: usize) -> anyhow::Result<Pair> {
    let (mut citizen, _) = join(server.kind, server.url(phase, room, 0)).await?;
    let (mut clerk, welcome) = join(server.kind, server.url(phase, room, 1)).await?;
    match server.kind {
        Kind::Loket | Kind::Floor => {
            let citizen_id = welcome["peers"][0]["id"].as_str().unwrap_or("").to_string();
            clerk
                .send(Message::text(
                    json!({"type": "admit", "participant": citizen_id}).to_string(),
                ))
                .await?;
            let joined = until(&mut citizen, "peer_joined").await?;
            until(&mut clerk, "peer_joined").await?;
            let clerk_id = joined["peer"]["id"].as_str().unwrap_or("").to_string();
            Ok(Pair {
                a: clerk,
                a_to_b: citizen_id,
                b: citizen,
                b_to_a: clerk_id,
            })
        }
        Kind::PeerJs => Ok(Pair {
            a: clerk,
            a_to_b: server.peer_id(phase, room, 0),
            b: citizen,
            b_to_a: server.peer_id(phase, room, 1),
        }),
    }
}

/// An ICE-candidate-sized signal, written without a JSON builder so the client stays cheap.
fn signal(kind: Kind, to: &str, seq: u64) -> String {
    let payload = candidate_payload(seq);
    match kind {
        Kind::Loket | Kind::Floor => {
            format!(r#"{{"type":"signal","to":"{to}","payload":{payload}}}"#)
        }
        Kind::PeerJs => format!(r#"{{"type":"CANDIDATE","dst":"{to}","payload":{payload}}}"#),
    }
}

/// Server CPU time so far (user + system), from /proc.
fn cpu_secs(server: &Server) -> f64 {
    let stat =
        std::fs::read_to_string(format!("/proc/{}/stat", server.child.id())).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let rest = stat.rsplit(") ").next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz.max(1.0)
}

#[derive(Default)]
struct Sub {
    rtts_us: Vec<u64>,
    cpu_secs: f64,
    secs: f64,
}

impl Sub {
    fn row(&mut self, kind: Kind, rooms: usize, mode: &str) -> String {
        self.rtts_us.sort_unstable();
        let msgs = 2.0 * self.rtts_us.len() as f64;
        format!(
            "| {} | {} | {} | {} | {:.3} | {:.3} | {:.0} | {:.0} |",
            kind.name(),
            rooms,
            mode,
            self.rtts_us.len(),
            percentile(&self.rtts_us, 0.5),
            percentile(&self.rtts_us, 0.99),
            msgs / self.secs,
            if self.cpu_secs > 0.0 {
                msgs / self.cpu_secs
            } else {
                f64::NAN
            },
        )
    }
}

/// Per room: first `paced` — one round trip every `interval` (staggered across rooms), the
/// latency at a steady load — then `closed` — the next message as soon as the echo is back,
/// one in flight per room, the most the pair of processes can relay.
async fn relay(
    server: &Server,
    phase: u32,
    rooms: usize,
    interval: Duration,
    each: Duration,
) -> anyhow::Result<(Sub, Sub)> {
    let mut pairs = Vec::with_capacity(rooms);
    for chunk in (0..rooms).collect::<Vec<_>>().chunks(100) {
        let made =
            futures_util::future::join_all(chunk.iter().map(|&r| pair(server, phase, r))).await;
        for p in made {
            pairs.push(p?);
        }
    }
    let kind = server.kind;
    let start = Instant::now() + Duration::from_millis(200);
    let switch = start + each;
    let end = switch + each;
    let cpu0 = cpu_secs(server);
    let tasks: Vec<_> = pairs
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            tokio::spawn(async move {
                let Pair {
                    mut a,
                    a_to_b,
                    mut b,
                    b_to_a,
                } = p;
                let echo = tokio::spawn(async move {
                    while let Ok(Some(Ok(msg))) =
                        tokio::time::timeout(Duration::from_secs(5), b.next()).await
                    {
                        if let Message::Text(t) = msg
                            && let Some(seq) = seq_of(t.as_str())
                            && b.send(Message::text(signal(kind, &b_to_a, seq)))
                                .await
                                .is_err()
                        {
                            break;
                        }
                    }
                });
                let mut paced = Vec::new();
                let mut closed = Vec::new();
                let offset = interval.mul_f64(i as f64 / rooms as f64);
                let mut next = tokio::time::Instant::from_std(start) + offset;
                let mut seq = 0u64;
                loop {
                    let now = Instant::now();
                    if now >= end {
                        break;
                    }
                    let pacing = now < switch;
                    if pacing {
                        tokio::time::sleep_until(next).await;
                        next += interval;
                        if Instant::now() >= switch {
                            continue;
                        }
                    }
                    let sent = Instant::now();
                    if a.send(Message::text(signal(kind, &a_to_b, seq)))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    let mut ok = false;
                    while let Ok(Some(Ok(msg))) =
                        tokio::time::timeout(Duration::from_secs(5), a.next()).await
                    {
                        if let Message::Text(t) = msg
                            && seq_of(t.as_str()) == Some(seq)
                        {
                            ok = true;
                            break;
                        }
                    }
                    if !ok {
                        break;
                    }
                    let rtt = sent.elapsed().as_micros() as u64;
                    if pacing {
                        paced.push(rtt)
                    } else {
                        closed.push(rtt)
                    }
                    seq += 1;
                }
                let _ = a.close(None).await;
                echo.abort();
                (paced, closed)
            })
        })
        .collect();
    let mut p = Sub::default();
    let mut c = Sub::default();
    // CPU per sub-phase: sampled at the switch.
    tokio::time::sleep_until(tokio::time::Instant::from_std(switch)).await;
    let cpu1 = cpu_secs(server);
    tokio::time::sleep_until(tokio::time::Instant::from_std(end)).await;
    let cpu2 = cpu_secs(server);
    for t in tasks {
        let (pr, cr) = t.await?;
        p.rtts_us.extend(pr);
        c.rtts_us.extend(cr);
    }
    p.cpu_secs = cpu1 - cpu0;
    c.cpu_secs = cpu2 - cpu1;
    p.secs = each.as_secs_f64();
    c.secs = each.as_secs_f64();
    Ok((p, c))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

/// Joins `sockets` sockets (sides of rooms 0..sockets/2) with at most `parallel` at once;
/// returns them and each join's latency.
async fn join_many(
    server: &Server,
    phase: u32,
    sockets: usize,
    parallel: usize,
) -> anyhow::Result<(Vec<Ws>, Vec<u64>, Duration)> {
    let sem = Arc::new(tokio::sync::Semaphore::new(parallel));
    let kind = server.kind;
    let start = Instant::now();
    let tasks: Vec<_> = (0..sockets)
        .map(|i| {
            let url = server.url(phase, i / 2, i % 2);
            let sem = sem.clone();
            tokio::spawn(async move {
                let _permit = sem.acquire_owned().await?;
                let t0 = Instant::now();
                let (ws, _) = join(kind, url).await?;
                anyhow::Ok((ws, t0.elapsed().as_micros() as u64))
            })
        })
        .collect();
    let mut socks = Vec::with_capacity(sockets);
    let mut lat = Vec::with_capacity(sockets);
    for t in tasks {
        let (ws, l) = t.await??;
        socks.push(ws);
        lat.push(l);
    }
    Ok((socks, lat, start.elapsed()))
}

fn raise_nofile() {
    // 10,000 sockets here and 10,000 in the server: lift the soft limit to the hard one.
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

/// Command-line choices: `--quick` (2 s phases), `--only relay|memory|joins`, `--rooms N`
/// (relay at N rooms only), `--loket-only`, `--floor` (joins against [`Kind::Floor`] too).
struct Opts {
    quick: bool,
    floor: bool,
    only: Option<String>,
    loket_only: bool,
    rooms: Option<usize>,
}

async fn run(opts: Opts) -> anyhow::Result<()> {
    let quick = opts.quick;
    let wants = |phase: &str| opts.only.as_deref().is_none_or(|o| o == phase);
    let peerjs_dir = std::env::var("PEERJS_DIR").unwrap_or_else(|_| "/tmp/peerjs-bench".into());
    let have_peerjs = !opts.loket_only
        && std::path::Path::new(&peerjs_dir)
            .join("node_modules/peer/dist/bin/peerjs.js")
            .exists();
    if !have_peerjs && !opts.loket_only {
        eprintln!("PeerJS not found in {peerjs_dir}: measuring Loket only");
    }
    let kinds: Vec<Kind> = if have_peerjs {
        vec![Kind::Loket, Kind::PeerJs]
    } else {
        vec![Kind::Loket]
    };
    eprintln!("setting up Postgres and {BENCH_ROOMS} bench appointments…");
    let (_cluster, db_url) = database().await?;
    let relay_secs = if quick { 2 } else { 5 };
    let mut phase = 0u32;
    let start_server = |kind: Kind| -> anyhow::Result<Server> {
        match kind {
            Kind::Loket => start_loket(&db_url),
            Kind::Floor => start_floor(),
            Kind::PeerJs => start_peerjs(&peerjs_dir),
        }
    };

    let interval = Duration::from_millis(100);
    println!(
        "\n## Relay round trip: paced (one round trip per room every {} ms) then closed loop (one in flight per room), {relay_secs} s each\n",
        interval.as_millis()
    );
    println!(
        "| server | rooms | load | round trips | p50 ms | p99 ms | relayed msgs/s | msgs per server CPU-second |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|");
    let room_counts: Vec<usize> = match (wants("relay"), opts.rooms) {
        (false, _) => vec![],
        (true, Some(n)) => vec![n],
        (true, None) => vec![1, 100, 1000],
    };
    for rooms in room_counts {
        for &kind in &kinds {
            phase += 1;
            tickets(&db_url, phase, rooms).await?;
            let server = start_server(kind)?;
            let (mut p, mut c) = relay(
                &server,
                phase,
                rooms,
                interval,
                Duration::from_secs(relay_secs),
            )
            .await?;
            println!("{}", p.row(kind, rooms, "paced"));
            println!("{}", c.row(kind, rooms, "closed loop"));
        }
    }

    println!(
        "\n## Memory per idle joined socket ({IDLE_SOCKETS} sockets, {} rooms)\n",
        IDLE_SOCKETS / 2
    );
    println!("| server | RSS before MiB | RSS after MiB | KiB per socket |");
    println!("|---|---:|---:|---:|");
    for &kind in kinds.iter().filter(|_| wants("memory")) {
        phase += 1;
        tickets(&db_url, phase, IDLE_SOCKETS / 2).await?;
        let server = start_server(kind)?;
        // Warm up: one room joined and left, so lazily built state (pools, caches) is counted
        // in "before", not per socket.
        phase += 1;
        tickets(&db_url, phase, 1).await?;
        drop(join_many(&server, phase, 2, 2).await?);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = server.rss_kib();
        let (socks, _, _) = join_many(&server, phase - 1, IDLE_SOCKETS, 500).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let after = server.rss_kib();
        println!(
            "| {} | {:.1} | {:.1} | {:.2} |",
            kind.name(),
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            (after.saturating_sub(before)) as f64 / socks.len() as f64
        );
        drop(socks);
    }

    println!(
        "\n## {CONCURRENT_JOINS} sockets joining at once ({} rooms × 2)\n",
        CONCURRENT_JOINS / 2
    );
    println!(
        "| server | all welcomed after ms | join p50 ms | join p99 ms | server CPU ms per join |"
    );
    println!("|---|---:|---:|---:|---:|");
    let mut join_kinds = kinds.clone();
    if opts.floor {
        join_kinds.push(Kind::Floor);
    }
    for &kind in join_kinds.iter().filter(|_| wants("joins")) {
        phase += 1;
        tickets(&db_url, phase, CONCURRENT_JOINS / 2).await?;
        let server = start_server(kind)?;
        // `LOKET_BENCH_SETTLE_SECS`: a pause before the joins, to attach a profiler.
        if let Some(secs) = std::env::var("LOKET_BENCH_SETTLE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
        {
            tokio::time::sleep(Duration::from_secs(secs)).await;
        }
        let cpu0 = cpu_secs(&server);
        let (socks, mut lat, total) =
            join_many(&server, phase, CONCURRENT_JOINS, CONCURRENT_JOINS).await?;
        let cpu = cpu_secs(&server) - cpu0;
        lat.sort_unstable();
        println!(
            "| {} | {:.0} | {:.1} | {:.1} | {:.3} |",
            kind.name(),
            total.as_secs_f64() * 1000.0,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            cpu * 1000.0 / CONCURRENT_JOINS as f64
        );
        drop(socks);
        // Its database sessions end with it, publishing their counts.
        drop(server);
        if kind == Kind::Loket {
            database_report(&db_url).await?;
        }
    }

    if wants("heartbeat") {
        phase += 1;
        heartbeat(&db_url, phase, if quick { 3 } else { HEARTBEAT_ROOMS }).await?;
    }
    Ok(())
}

/// Rooms in the heartbeat phase; one silent peer each, measured one after the other.
const HEARTBEAT_ROOMS: usize = 10;

/// How soon a silent peer is dropped (the speed claim the room tests used to assert): Loket with
/// a 2 s heartbeat timeout; in each room the citizen's socket stops reading and sending (so it
/// answers no ping) and the clerk, who keeps reading, times the `peer_left` (reason `timeout`).
async fn heartbeat(db_url: &str, phase: u32, rooms: usize) -> anyhow::Result<()> {
    const TIMEOUT_SECS: u64 = 2;
    tickets(db_url, phase, rooms).await?;
    let server = start_loket_with(db_url, &[("LOKET_HEARTBEAT_TIMEOUT_SECS", "2")])?;
    let mut took = Vec::with_capacity(rooms);
    for room in 0..rooms {
        let Pair {
            a: mut clerk,
            b: silent,
            ..
        } = pair(&server, phase, room).await?;
        let since = Instant::now();
        let left =
            tokio::time::timeout(Duration::from_secs(30), until(&mut clerk, "peer_left")).await??;
        anyhow::ensure!(left["reason"] == "timeout", "dropped for {left}");
        took.push(since.elapsed().as_micros() as u64);
        drop(silent);
    }
    took.sort_unstable();
    println!(
        "\n## Heartbeat: a silent peer dropped, {TIMEOUT_SECS} s timeout, {rooms} rooms one by one\n"
    );
    println!("| min ms | p50 ms | max ms | target |");
    println!("|---:|---:|---:|---|");
    println!(
        "| {:.0} | {:.0} | {:.0} | ≤ {} ms (timeout + 30 %) |",
        percentile(&took, 0.0),
        percentile(&took, 0.5),
        percentile(&took, 1.0),
        TIMEOUT_SECS * 1300
    );
    Ok(())
}

/// Prints what the joins cost the database: how many updates to the tables a join writes were
/// HOT (in place, no index entries), the calls and time of the room functions, and rolled-back
/// transactions and deadlocks (a failed status batch falls back to single writes).
async fn database_report(db_url: &str) -> anyhow::Result<()> {
    use diesel::sql_types::{BigInt, Text};
    use diesel_async::{AsyncConnection, RunQueryDsl};
    /// A name and two counts; each query below says what they are.
    #[derive(diesel::QueryableByName)]
    struct Stat {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = BigInt)]
        a: i64,
        #[diesel(sql_type = BigInt)]
        b: i64,
    }
    type Line = fn(&Stat) -> String;
    let queries: [(&str, Line); 3] = [
        (
            "SELECT relname::text AS name, n_tup_upd AS a, n_tup_hot_upd AS b \
             FROM pg_stat_user_tables WHERE relname IN ('appointments', 'room_tickets') \
             ORDER BY relname",
            |s| format!("{}: {} updates, {} HOT (all phases)", s.name, s.a, s.b),
        ),
        (
            "SELECT funcname::text AS name, calls AS a, total_time::bigint AS b \
             FROM pg_stat_user_functions ORDER BY funcname",
            |s| format!("{}: {} calls, {} ms in all", s.name, s.a, s.b),
        ),
        (
            "SELECT datname::text AS name, xact_rollback AS a, deadlocks AS b \
             FROM pg_stat_database WHERE datname = 'bench'",
            |s| format!("transactions rolled back: {}, deadlocks: {}", s.a, s.b),
        ),
    ];
    // Other backends publish their counts within a second of committing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut conn = diesel_async::AsyncPgConnection::establish(db_url).await?;
    for (sql, line) in queries {
        let rows: Vec<Stat> = diesel::sql_query(sql).load(&mut conn).await?;
        for r in &rows {
            eprintln!("{}", line(r));
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    match std::env::var("LOKET_BENCH_CHILD").as_deref() {
        Ok("floor") => return child_floor(),
        Ok(_) => return child_server(),
        Err(_) => {}
    }
    raise_nofile();
    let args: Vec<String> = std::env::args().collect();
    let opts = Opts {
        quick: args.iter().any(|a| a == "--quick"),
        floor: args.iter().any(|a| a == "--floor"),
        only: args
            .iter()
            .position(|a| a == "--only")
            .and_then(|i| args.get(i + 1).cloned()),
        loket_only: args.iter().any(|a| a == "--loket-only"),
        rooms: args
            .iter()
            .position(|a| a == "--rooms")
            .and_then(|i| args.get(i + 1))
            .and_then(|n| n.parse().ok()),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(opts))
}
