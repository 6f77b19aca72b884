//! More than one node on this machine (issue 14): real `loket serve` processes over one Postgres
//! behind Debian's HAProxy (the fleet of tests/cluster), measured
//! 1. booking throughput through the balancer with one node and with two;
//! 2. the cross-node events: 1,000 staff dashboards (server-sent events) spread over the nodes,
//!    bookings made on one node, and how long until every dashboard has each event — with one
//!    node (no LISTEN/NOTIFY hop) and with two — plus the CPU each event costs;
//! 3. signalling through the balancer: R rooms (booked, brought to now, tickets from the API, the
//!    citizen admitted), each relaying an ICE-candidate-sized signal back and forth with one in
//!    flight, for a fixed time: relayed messages per second, round trip p50/p99, CPU per node
//!    (HAProxy pins each room's two sockets to one node, so this is the relay's own cost plus the
//!    balancer's; no cross-node hop is on a signal's path).
//!
//! With LOKET_BENCH_PIN=1 the nodes, HAProxy and Postgres run on core 0 and this load generator
//! on core 1, so one node against two is the same core's work split, not a fight for CPU.
//! Run: `cargo bench --bench cluster_load` (LOKET_BENCH_SECONDS: booking and signalling phases,
//! default 10; LOKET_BENCH_DASHBOARDS: default 1000; LOKET_BENCH_EVENTS: default 200;
//! LOKET_BENCH_ROOMS: default 200).

#[path = "../tests/cluster/fleet.rs"]
#[allow(dead_code)]
mod fleet;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use fleet::Fleet;
#[path = "support/relay.rs"]
mod relay;
use relay::{CLIENT_READ_BUFFER, candidate_payload, seq_of};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const CLERKS: usize = 20;
const CLIENTS: usize = 32;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command (which may hold spaces) start past the last ')'.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime, stime, cutime, cstime (children: Postgres's backends, already waited for).
    let hz = 100.0;
    (ticks(11) + ticks(12) + ticks(13) + ticks(14)) / hz
}

/// CPU seconds of a process and all its descendants still running (Postgres's backends).
fn tree_cpu(pid: u32) -> f64 {
    let mut total = cpu_seconds(pid);
    if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
        for c in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            total += tree_cpu(c);
        }
    }
    total
}

fn pin(pid: u32, core: usize) {
    // SAFETY: a cpu_set_t on the stack, filled by the libc macros' equivalents.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(pid as i32, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Pins every thread of `pid` and of all its descendants: an affinity set on a process's id
/// reaches only its main thread, and the nodes' runtimes, HAProxy's threads and Postgres's
/// backends are already running when the fleet is pinned.
fn pin_tree(pid: u32, core: usize) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u32>().ok())
        else {
            continue;
        };
        pin(tid, core);
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/children")) {
            for c in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                pin_tree(c, core);
            }
        }
    }
}

fn pin_fleet(f: &Fleet) {
    for i in 0..f.nodes.len() {
        if let Some(p) = f.pid(i) {
            pin_tree(p, 0);
        }
    }
    for p in [f.lb_pid(), f.postgres_pid()].into_iter().flatten() {
        pin_tree(p, 0);
    }
}

/// This load generator's own CPU seconds (all its threads).
fn own_cpu() -> f64 {
    cpu_seconds(std::process::id())
}

/// A bench agency whose one service has 20 clerks working every day 07.00–19.00 WIB.
async fn seed(f: &Fleet) {
    let hash = loket::auth::password::hash(fleet::DEMO_PASSWORD).expect("hash");
    for sql in [
        "INSERT INTO agencies (id, slug, name, name_en, kind) VALUES (gen_random_uuid(), 'bench', 'Bench', 'Bench', 'city') RETURNING slug AS v".to_string(),
        "INSERT INTO services (id, agency_id, slug, name, name_en, duration_minutes, buffer_minutes) SELECT gen_random_uuid(), id, 'bench-svc', 'Bench', 'Bench', 20, 10 FROM agencies WHERE slug = 'bench' RETURNING slug AS v".to_string(),
        format!("INSERT INTO staff (id, agency_id, email, name, password_hash, role, calendar_key) SELECT gen_random_uuid(), a.id, 'bench' || g || '@loket.example', 'Bench ' || g, '{hash}', 'clerk', md5(random()::text) FROM agencies a, generate_series(1, {CLERKS}) g WHERE a.slug = 'bench' RETURNING email AS v"),
        "INSERT INTO staff_services SELECT st.id, s.id FROM staff st, services s WHERE st.email LIKE 'bench%' AND s.slug = 'bench-svc' RETURNING 'x' AS v".to_string(),
        "INSERT INTO weekly_hours SELECT st.id, wd, '07:00', '19:00' FROM staff st, generate_series(1, 7) wd WHERE st.email LIKE 'bench%' RETURNING 'x' AS v".to_string(),
    ] {
        f.query(&sql).await;
    }
    // Each node's directory cache forgets within 5 s.
    tokio::time::sleep(Duration::from_secs(6)).await;
}

/// Every free start of the bench service over the next 30 days.
async fn all_slots(f: &Fleet) -> Vec<String> {
    let tz = chrono_tz::Asia::Jakarta;
    let today = chrono::Utc::now().with_timezone(&tz).date_naive() + chrono::Duration::days(1);
    let v: Value = f
        .client
        .get(f.url(&format!(
            "/api/v1/services/bench-svc/slots?from={today}&days=30"
        )))
        .send()
        .await
        .expect("slots")
        .json()
        .await
        .expect("json");
    v["days"]
        .as_array()
        .expect("days")
        .iter()
        .flat_map(|d| d["slots"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s["starts_at"].as_str().map(String::from))
        .collect()
}

/// Books `start` of the bench service for `phone` at `url`: the answer's body.
async fn book(f: &Fleet, url: &str, start: &str, phone: &str) -> Value {
    f.client
        .post(url)
        .json(&json!({"service": "bench-svc", "starts_at": start,
            "citizen": {"name": "Bench", "phone": phone}, "consent": true}))
        .send()
        .await
        .expect("book")
        .json()
        .await
        .expect("json")
}

/// Books as fast as `CLIENTS` clients can for `secs`: (bookings, seconds, CPU per node).
async fn booking_phase(f: &Fleet, secs: u64, label: &str) {
    let slots = all_slots(f).await;
    // Each start `CLERKS` times: a start is free until every clerk has it.
    let work: Vec<String> = slots
        .iter()
        .flat_map(|s| std::iter::repeat_n(s.clone(), CLERKS))
        .collect();
    let work = Arc::new(std::sync::Mutex::new(work));
    let done = Arc::new(AtomicUsize::new(0));
    let cpu0: Vec<f64> = (0..f.nodes.len())
        .map(|i| f.pid(i).map(tree_cpu).unwrap_or(0.0))
        .collect();
    let pg0 = f.postgres_pid().map(tree_cpu).unwrap_or(0.0);
    let lb0 = f.lb_pid().map(cpu_seconds).unwrap_or(0.0);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut tasks = vec![];
    for c in 0..CLIENTS {
        let (client, url, work, done) = (
            f.client.clone(),
            f.url("/api/v1/appointments"),
            work.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0u32;
            while Instant::now() < deadline {
                let Some(start) = work.lock().unwrap().pop() else {
                    break;
                };
                n += 1;
                let phone = format!("0813{c:02}{n:06}");
                let r = client
                    .post(&url)
                    .json(&json!({"service": "bench-svc", "starts_at": start,
                        "citizen": {"name": "Bench", "phone": phone}, "consent": true}))
                    .send()
                    .await;
                if r.is_ok_and(|r| r.status() == 201) {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    let cpu: Vec<String> = (0..f.nodes.len())
        .map(|i| {
            let used = f.pid(i).map(tree_cpu).unwrap_or(0.0) - cpu0[i];
            format!("{} {:.2} s", f.nodes[i].name, used)
        })
        .collect();
    let pg = f.postgres_pid().map(tree_cpu).unwrap_or(0.0) - pg0;
    let lb = f.lb_pid().map(cpu_seconds).unwrap_or(0.0) - lb0;
    println!(
        "{label}: {n} bookings in {elapsed:.1} s = {:.0}/s; CPU: {}; postgres {pg:.2} s; haproxy {lb:.2} s",
        n as f64 / elapsed,
        cpu.join(", ")
    );
}

/// 1,000 dashboards over the nodes, `events` bookings on node 0, how long until every
/// dashboard has each one.
async fn events_phase(f: &Fleet, dashboards: usize, events: usize, label: &str) {
    // An admin sees every agency's events.
    let login: Value = f
        .client
        .post(f.node_url(0, "/api/v1/staff/session"))
        .json(&json!({"email": "admin@loket.example", "password": fleet::DEMO_PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["token"].as_str().expect("token").to_string();
    let sse = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    // arrivals[d] gets (appointment id, when) for each event dashboard d sees.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    let ready = Arc::new(AtomicUsize::new(0));
    let mut readers = vec![];
    for d in 0..dashboards {
        let node = d % f.nodes.len();
        let url = f.node_url(node, "/api/v1/staff/feed");
        let (sse, token, tx, ready) = (sse.clone(), token.clone(), tx.clone(), ready.clone());
        readers.push(tokio::spawn(async move {
            let Ok(mut r) = sse.get(url).bearer_auth(token).send().await else {
                return;
            };
            let mut buf = String::new();
            ready.fetch_add(1, Ordering::Relaxed);
            while let Ok(Some(chunk)) = r.chunk().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: "))
                        && let Ok(v) = serde_json::from_str::<Value>(data)
                        && let Some(a) = v["appointment"].as_str()
                    {
                        let _ = tx.send((a.to_string(), Instant::now()));
                    }
                }
            }
        }));
    }
    drop(tx);
    while ready.load(Ordering::Relaxed) < dashboards {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let slots = all_slots(f).await;
    let cpu0: Vec<f64> = (0..f.nodes.len())
        .map(|i| f.pid(i).map(tree_cpu).unwrap_or(0.0))
        .collect();
    let pg0 = f.postgres_pid().map(tree_cpu).unwrap_or(0.0);
    let mut sent: std::collections::HashMap<String, Instant> = Default::default();
    let mut last_at: std::collections::HashMap<String, (usize, Instant)> = Default::default();
    let node0 = f.node_url(0, "/api/v1/appointments");
    for (k, start) in slots.iter().take(events).enumerate() {
        let at = Instant::now();
        let v = book(f, &node0, start, &format!("0814{k:08}")).await;
        if let Some(id) = v["appointment"]["id"].as_str() {
            sent.insert(id.to_string(), at);
        }
        // One event every 20 ms: a busy MPP's whole day in seconds, without queueing on itself.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Collect until every dashboard has every event (or 20 s of quiet).
    let want = sent.len() * dashboards;
    let mut got = 0;
    while got < want {
        match tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
            Ok(Some((id, when))) => {
                got += 1;
                let e = last_at.entry(id).or_insert((0, when));
                e.0 += 1;
                e.1 = e.1.max(when);
            }
            _ => break,
        }
    }
    let cpu: Vec<f64> = (0..f.nodes.len())
        .map(|i| f.pid(i).map(tree_cpu).unwrap_or(0.0) - cpu0[i])
        .collect();
    let pg = f.postgres_pid().map(tree_cpu).unwrap_or(0.0) - pg0;
    let mut all: Vec<Duration> = sent
        .iter()
        .filter_map(|(id, at)| {
            last_at
                .get(id)
                .filter(|(n, _)| *n == dashboards)
                .map(|(_, t)| t.saturating_duration_since(*at))
        })
        .collect();
    all.sort();
    let p = |q: f64| {
        all.get(((all.len().max(1) - 1) as f64 * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    let per_event: Vec<String> = cpu
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{} {:.2} ms",
                f.nodes[i].name,
                c * 1000.0 / sent.len().max(1) as f64
            )
        })
        .collect();
    println!(
        "{label}: {} events × {dashboards} dashboards: {} of {} delivered; every dashboard had an event within p50 {:.1} ms, p99 {:.1} ms; CPU per event (booking + fan-out): {}; postgres {:.2} ms",
        sent.len(),
        got,
        want,
        p(0.5).as_secs_f64() * 1000.0,
        p(0.99).as_secs_f64() * 1000.0,
        per_event.join(", "),
        pg * 1000.0 / sent.len().max(1) as f64,
    );
    for r in readers {
        r.abort();
    }
}

/// An ICE-candidate-sized signal to `to`, numbered `seq`.
fn signal(to: &str, seq: u64) -> String {
    let payload = candidate_payload(seq);
    format!(r#"{{"type":"signal","to":"{to}","payload":{payload}}}"#)
}

/// The next message of type `kind` (others skipped), within 20 s.
async fn until(ws: &mut Ws, kind: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                if let Ok(v) = serde_json::from_str::<Value>(t.as_str())
                    && v["type"] == kind
                {
                    return v;
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no {kind}: {other:?}"),
        }
    }
}

/// A room ticket through the balancer: its socket URL.
async fn ticket(f: &Fleet, token: &str, body: Value) -> String {
    let v: Value = f
        .client
        .post(f.url("/api/v1/rooms/ticket"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("ticket")
        .json()
        .await
        .expect("json");
    v["ws_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no ticket: {v}"))
        .to_string()
}

async fn connect(url: &str) -> (Ws, Value) {
    let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
        .await
        .expect("socket");
    let welcome = until(&mut ws, "welcome").await;
    (ws, welcome)
}

/// One room in a call: (clerk socket, citizen's id, citizen socket, clerk's id).
struct Pair {
    clerk: Ws,
    to_citizen: String,
    citizen: Ws,
    to_clerk: String,
}

/// `rooms` bench bookings, moved to start within the next hours (rooms open a day ahead in the
/// fleet), each clerk's 30 minutes apart; both sides joined through the balancer and admitted.
async fn rooms_in_call(f: &Fleet, rooms: usize) -> Vec<Pair> {
    let slots = all_slots(f).await;
    assert!(slots.len() >= rooms, "free times for {rooms} rooms");
    let mut citizens = Vec::with_capacity(rooms);
    for (k, start) in slots
        .iter()
        .step_by(slots.len() / rooms)
        .take(rooms)
        .enumerate()
    {
        let v = book(
            f,
            &f.url("/api/v1/appointments"),
            start,
            &format!("0815{k:08}"),
        )
        .await;
        let id = v["appointment"]["id"].as_str().expect("booked").to_string();
        let token = v["token"].as_str().expect("token").to_string();
        citizens.push((id, token));
    }
    let ids: Vec<String> = citizens.iter().map(|(id, _)| format!("'{id}'")).collect();
    f.query(&format!(
        "WITH moved AS (
             SELECT id, row_number() OVER (PARTITION BY staff_id ORDER BY id) - 1 AS k,
                    upper(period) - lower(period) AS len, ends_at - lower(period) AS tail
               FROM appointments WHERE id IN ({}))
         UPDATE appointments a
            SET period = tstzrange(now() + interval '5 minutes' + m.k * interval '30 minutes',
                                   now() + interval '5 minutes' + m.k * interval '30 minutes' + m.len),
                ends_at = now() + interval '5 minutes' + m.k * interval '30 minutes' + m.tail
           FROM moved m WHERE a.id = m.id RETURNING a.id::text AS v",
        ids.join(",")
    ))
    .await;
    // Each room's clerk's session, signed with the fleet's secret as the sign-in would (the
    // sign-in allows 10 a minute per address, and every client here is 127.0.0.1).
    let keys = loket::auth::keys::Keys::derive(&loket::secret::Secret::new(fleet::SECRET));
    let sessions: std::collections::HashMap<String, String> = f
        .query(&format!(
            "SELECT a.id || ' ' || s.id || ' ' || s.session_epoch AS v FROM appointments a JOIN staff s ON s.id = a.staff_id WHERE a.id IN ({})",
            ids.join(",")
        ))
        .await
        .into_iter()
        .map(|r| {
            let mut it = r.split(' ');
            let (a, s, e) = (it.next(), it.next(), it.next());
            let staff = loket::domain::ids::StaffId(s.and_then(|s| s.parse().ok()).expect("id"));
            let epoch = e.and_then(|e| e.parse().ok()).expect("epoch");
            let token = loket::auth::tokens::staff_token(&keys, staff, epoch).expect("token");
            (a.expect("appointment").to_string(), token)
        })
        .collect();
    let mut pairs = Vec::with_capacity(rooms);
    for (id, token) in &citizens {
        let (mut citizen, _) = connect(&ticket(f, token, json!({})).await).await;
        let (mut clerk, welcome) =
            connect(&ticket(f, &sessions[id], json!({"appointment": id})).await).await;
        let to_citizen = welcome["peers"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("the citizen waits: {welcome}"))
            .to_string();
        clerk
            .send(Message::text(
                json!({"type": "admit", "participant": to_citizen}).to_string(),
            ))
            .await
            .expect("admit");
        let joined = until(&mut citizen, "peer_joined").await;
        until(&mut clerk, "peer_joined").await;
        let to_clerk = joined["peer"]["id"].as_str().expect("clerk id").to_string();
        pairs.push(Pair {
            clerk,
            to_citizen,
            citizen,
            to_clerk,
        });
    }
    pairs
}

/// Every room relays a signal back and forth, one in flight, for `secs`.
async fn signalling_phase(f: &Fleet, rooms: usize, secs: u64, label: &str) {
    let pairs = rooms_in_call(f, rooms).await;
    let cpu0: Vec<f64> = (0..f.nodes.len())
        .map(|i| f.pid(i).map(tree_cpu).unwrap_or(0.0))
        .collect();
    let pg0 = f.postgres_pid().map(tree_cpu).unwrap_or(0.0);
    let lb0 = f.lb_pid().map(cpu_seconds).unwrap_or(0.0);
    let me0 = own_cpu();
    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    let tasks: Vec<_> = pairs
        .into_iter()
        .map(|p| {
            tokio::spawn(async move {
                let Pair {
                    mut clerk,
                    to_citizen,
                    mut citizen,
                    to_clerk,
                } = p;
                let echo = tokio::spawn(async move {
                    while let Ok(Some(Ok(msg))) =
                        tokio::time::timeout(Duration::from_secs(5), citizen.next()).await
                    {
                        if let Message::Text(t) = msg
                            && let Some(seq) = seq_of(t.as_str())
                            && citizen
                                .send(Message::text(signal(&to_clerk, seq)))
                                .await
                                .is_err()
                        {
                            break;
                        }
                    }
                });
                let mut rtts = Vec::new();
                let mut seq = 0u64;
                while Instant::now() < end {
                    let sent = Instant::now();
                    if clerk
                        .send(Message::text(signal(&to_citizen, seq)))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    let mut back = false;
                    while let Ok(Some(Ok(msg))) =
                        tokio::time::timeout(Duration::from_secs(5), clerk.next()).await
                    {
                        if let Message::Text(t) = msg
                            && seq_of(t.as_str()) == Some(seq)
                        {
                            back = true;
                            break;
                        }
                    }
                    if !back {
                        break;
                    }
                    rtts.push(sent.elapsed().as_micros() as u64);
                    seq += 1;
                }
                let _ = clerk.close(None).await;
                echo.abort();
                rtts
            })
        })
        .collect();
    let mut rtts = Vec::new();
    for t in tasks {
        rtts.extend(t.await.unwrap_or_default());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu: Vec<f64> = (0..f.nodes.len())
        .map(|i| f.pid(i).map(tree_cpu).unwrap_or(0.0) - cpu0[i])
        .collect();
    let pg = f.postgres_pid().map(tree_cpu).unwrap_or(0.0) - pg0;
    let lb = f.lb_pid().map(cpu_seconds).unwrap_or(0.0) - lb0;
    let me = own_cpu() - me0;
    rtts.sort_unstable();
    let p = |q: f64| {
        rtts.get(((rtts.len().max(1) - 1) as f64 * q).round() as usize)
            .map(|us| *us as f64 / 1000.0)
            .unwrap_or(f64::NAN)
    };
    let msgs = 2.0 * rtts.len() as f64;
    let per_node: Vec<String> = cpu
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} {c:.2} s", f.nodes[i].name))
        .collect();
    let node_cpu: f64 = cpu.iter().sum();
    println!(
        "{label}: {rooms} rooms, {msgs:.0} signals relayed in {elapsed:.1} s = {:.0}/s; round trip p50 {:.2} ms, p99 {:.2} ms; CPU: {}; {:.1} µs of Loket CPU per signal; haproxy {lb:.2} s; postgres {pg:.2} s; load generator {me:.2} s",
        msgs / elapsed,
        p(0.5),
        p(0.99),
        per_node.join(", "),
        node_cpu * 1e6 / msgs.max(1.0),
    );
}

fn main() {
    let pinned = std::env::var("LOKET_BENCH_PIN").as_deref() == Ok("1");
    if pinned {
        pin(0, 1);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let secs: u64 = env_or("LOKET_BENCH_SECONDS", 10);
    let dashboards: usize = env_or("LOKET_BENCH_DASHBOARDS", 1000);
    let events: usize = env_or("LOKET_BENCH_EVENTS", 200);
    let rooms: usize = env_or("LOKET_BENCH_ROOMS", 200);
    rt.block_on(async {
        for nodes in [1, 2] {
            // The per-socket signal limit (50/s) would cap a room; the relay's capacity is
            // measured here, as in benches/signalling_load.rs.
            let f = Fleet::start_with(nodes, &[("LOKET_SIGNAL_RATE_PER_SEC", "100000")]).await;
            if pinned {
                pin_fleet(&f);
            }
            seed(&f).await;
            booking_phase(&f, secs, &format!("{nodes} node(s), bookings")).await;
            events_phase(&f, dashboards, events, &format!("{nodes} node(s), events")).await;
            signalling_phase(&f, rooms, secs, &format!("{nodes} node(s), signalling")).await;
        }
    });
}
