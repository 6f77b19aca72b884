//! Benchmark for docs/benchmarks.md, "Pre-call check and TURN". Loopback only, bounded in time.
//!
//! 1. Concurrent pre-call checks: N webrtc-rs clients each run a check against Loket's server-side
//!    peer, sending 500 kbit/s of video (+ ~32 kbit/s audio) that is echoed back, for growing N;
//!    reports per-step loss (measured by the server from RTP sequence numbers), echoed bitrate,
//!    verdicts and CPU. Clients and server share the machine, so the numbers are conservative.
//! 2. TURN relay throughput, built-in relay and coturn side by side in one run: the same TURN
//!    client allocates on each and pushes UDP through the relay to a loopback receiver.
//!
//! Run: `cargo bench --bench precheck_turn` (release). `LOKET_BENCH_STEPS=10,20,40` picks the
//! check counts; `LOKET_BENCH_SECS` the TURN run length; `LOKET_BENCH_PROBE_KBPS` the bandwidth
//! probe's rate (0 = off, for a comparison).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use loket::config::Secret;
use loket::domain::ids::AppointmentId;
use loket::precheck::client::{Client, ClientOptions};
use loket::precheck::{PrecheckResult, PrecheckSettings, Prechecks};
use loket::turn::{RelaySettings, TurnRelay, credentials};
use webrtc_util::Conn;

const SECRET: &str = "bench-turn-secret";

fn cpu_secs() -> f64 {
    // utime + stime of this process, from /proc (clock ticks of 1/100 s on Linux).
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn one_check(
    svc: Arc<Prechecks>,
    pool: loket::db::DbPool,
    measure: Duration,
) -> Option<(PrecheckResult, u64, u64)> {
    let client = Client::new(ClientOptions::default()).await.ok()?;
    let offer = client.offer().await.ok()?;
    let started = svc
        .start(AppointmentId::new(), "127.0.0.1", &offer, pool)
        .await
        .ok()?;
    client.accept(&started.answer_sdp).await.ok()?;
    let mut result = None;
    let mut sent = 0;
    if client.wait_connected(Duration::from_secs(10)).await {
        sent = client
            .send_media(measure + Duration::from_secs(1), 500)
            .await;
        if let Some(msg) = client.next_message(Duration::from_secs(15)).await {
            result = serde_json::from_str::<PrecheckResult>(&msg).ok();
        }
    }
    let (ea, ev) = client.echoed();
    client.close().await;
    result.map(|r| (r, sent, ea + ev))
}

async fn precheck_capacity(steps: &[usize]) {
    let measure = Duration::from_secs(8);
    let settings = PrecheckSettings {
        max_concurrent: 500,
        per_appointment_per_minute: 0,
        per_ip_per_minute: 0,
        connect_secs: 10,
        measure_secs: measure.as_secs(),
        idle_secs: 5,
        tcp: false,
        // `LOKET_BENCH_PROBE_KBPS=0` runs the same steps without the bandwidth probe (A/B).
        probe_kbps: std::env::var("LOKET_BENCH_PROBE_KBPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(loket::precheck::probe::DEFAULT_PROBE_KBPS),
        ..Default::default()
    };
    let svc = Arc::new(Prechecks::new(settings, [127, 0, 0, 1].into()));
    // No database in this benchmark: storing a result fails fast and is only logged.
    let Ok(pool) = loket::db::pool("postgres://bench@127.0.0.1:1/none", 1) else {
        println!("cannot build a pool");
        return;
    };
    println!(
        "\n## Concurrent pre-call checks (500 kbit/s video + 32 kbit/s audio each, echoed; probe {} kbit/s)\n",
        svc.settings().probe_kbps
    );
    println!(
        "| checks | connected | good | video loss at Loket p50 / p95 / max (%) | video kbit/s at Loket p50 (min) | probe estimate kbit/s p50 (min) | echo back to client p50 (min) | CPU (of 2 cores) | reasons |"
    );
    println!("|---:|---:|---:|---|---|---|---|---:|---|");
    for &n in steps {
        let cpu0 = cpu_secs();
        let t0 = Instant::now();
        let mut handles = vec![];
        for i in 0..n {
            let (svc, pool) = (Arc::clone(&svc), pool.clone());
            handles.push(tokio::spawn(async move {
                // Arrivals spread over a second, as real citizens would not click at once.
                tokio::time::sleep(Duration::from_millis((i as u64 * 1000) / n.max(1) as u64))
                    .await;
                one_check(svc, pool, measure).await
            }));
        }
        let mut results = vec![];
        for h in handles {
            if let Ok(Some(r)) = h.await {
                results.push(r);
            }
        }
        let wall = t0.elapsed().as_secs_f64();
        let cpu = (cpu_secs() - cpu0) / wall / 2.0 * 100.0;
        let connected = results
            .iter()
            .filter(|(r, ..)| r.measurements.connected)
            .count();
        let good = results
            .iter()
            .filter(|(r, ..)| r.verdict == loket::precheck::verdict::Verdict::Good)
            .count();
        let mut loss: Vec<f64> = results
            .iter()
            .filter_map(|(r, ..)| r.measurements.video.map(|v| v.loss_pct))
            .collect();
        loss.sort_by(f64::total_cmp);
        let mut kbps: Vec<f64> = results
            .iter()
            .filter_map(|(r, ..)| r.measurements.video.map(|v| v.bitrate_kbps))
            .collect();
        kbps.sort_by(f64::total_cmp);
        // The bandwidth probe's estimate towards each client (1200 kbit/s train + the echo).
        let mut probe: Vec<f64> = results
            .iter()
            .filter_map(|(r, ..)| r.measurements.bandwidth.map(|b| b.downlink_kbps))
            .collect();
        probe.sort_by(f64::total_cmp);
        // Echo delivered: packets back at the client over packets it sent (the echo stops when
        // the check ends, so slightly under 100 % is the end of the check, not loss).
        let mut echo: Vec<f64> = results
            .iter()
            .filter(|(_, sent, _)| *sent > 0)
            .map(|(_, sent, back)| 100.0 * *back as f64 / *sent as f64)
            .collect();
        echo.sort_by(f64::total_cmp);
        let mut other: std::collections::BTreeMap<&str, usize> = Default::default();
        for (r, ..) in &results {
            for reason in &r.reasons {
                *other.entry(reason.code.code()).or_default() += 1;
            }
        }
        let other = other
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "| {n} | {connected} | {good} | {:.2} / {:.2} / {:.2} | {:.0} ({:.0}) | {:.0} ({:.0}) | {:.1} % ({:.1} %) | {cpu:.0} % | {other} |",
            pct(&loss, 0.5),
            pct(&loss, 0.95),
            loss.last().copied().unwrap_or(f64::NAN),
            pct(&kbps, 0.5),
            kbps.first().copied().unwrap_or(f64::NAN),
            pct(&probe, 0.5),
            probe.first().copied().unwrap_or(f64::NAN),
            pct(&echo, 0.5),
            echo.first().copied().unwrap_or(f64::NAN),
        );
        // Let every socket close before the next step.
        for _ in 0..100 {
            if svc.live() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn start_coturn(port: u16) -> std::io::Result<Child> {
    Command::new("turnserver")
        .args([
            "-n",
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            &format!("--listening-port={port}"),
            "--min-port=50500",
            "--max-port=50700",
            "--use-auth-secret",
            &format!("--static-auth-secret={SECRET}"),
            "--realm=loket",
            "--allow-loopback-peers",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--no-multicast-peers",
            "--log-file=/dev/null",
            "--no-stdout-log",
            "--pidfile=/dev/null",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// Pushes 1000-byte datagrams through `flows` allocations on `server` for `secs`, as fast as
/// possible (`pace_mbps` = None) or paced per flow; returns (delivered Mbit/s, loss %).
async fn relay_run(
    server: SocketAddr,
    flows: usize,
    secs: u64,
    pace_mbps: Option<f64>,
) -> Option<(f64, f64)> {
    let received = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let mut clients = vec![];
    let mut tasks = vec![];
    let deadline = Instant::now() + Duration::from_secs(secs);
    for f in 0..flows {
        let sink = tokio::net::UdpSocket::bind("127.0.0.1:0").await.ok()?;
        let sink_addr = sink.local_addr().ok()?;
        let got = Arc::clone(&received);
        tasks.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok(Ok(_)) =
                tokio::time::timeout(Duration::from_secs(2), sink.recv_from(&mut buf)).await
            {
                got.fetch_add(1, Ordering::Relaxed);
            }
        }));
        let (user, pass) =
            credentials::mint(SECRET, &format!("bench-{f}"), credentials::now_unix(), 600);
        let conn = Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.ok()?);
        let client = turn::client::Client::new(turn::client::ClientConfig {
            stun_serv_addr: server.to_string(),
            turn_serv_addr: server.to_string(),
            username: user,
            password: pass,
            realm: "loket".into(),
            software: String::new(),
            rto_in_ms: 0,
            conn,
            vnet: None,
        })
        .await
        .ok()?;
        client.listen().await.ok()?;
        let relay = client.allocate().await.ok()?;
        let n = Arc::clone(&sent);
        tasks.push(tokio::spawn(async move {
            let payload = vec![0xabu8; 1000];
            // Warm-up: the first packet creates the permission.
            let _ = relay.send_to(&payload, sink_addr).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut i = 0u64;
            // Paced: a burst every millisecond of rate/1000 packets.
            let per_ms = pace_mbps.map(|m| ((m * 1e6 / 8.0 / 1000.0) / 1000.0).max(1.0) as u64);
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            while Instant::now() < deadline {
                if let Some(burst) = per_ms {
                    tick.tick().await;
                    for _ in 0..burst {
                        if relay.send_to(&payload, sink_addr).await.is_ok() {
                            n.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    continue;
                }
                if relay.send_to(&payload, sink_addr).await.is_ok() {
                    n.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
                if i % 32 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            let _ = relay.close().await;
        }));
        clients.push(client);
    }
    let t0 = Instant::now();
    for t in tasks {
        let _ = t.await;
    }
    let secs = (t0.elapsed().as_secs_f64() - 2.0).max(0.1);
    for c in clients {
        let _ = c.close().await;
    }
    let (s, r) = (
        sent.load(Ordering::Relaxed),
        received.load(Ordering::Relaxed),
    );
    let mbps = r as f64 * 1000.0 * 8.0 / secs / 1e6;
    let loss = if s == 0 {
        100.0
    } else {
        100.0 * (s.saturating_sub(r)) as f64 / s as f64
    };
    Some((mbps, loss))
}

async fn turn_throughput(secs: u64) {
    let relay = match TurnRelay::start(
        &RelaySettings {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            relay_ports: (50200, 50400),
            max_mb_per_credential: 0,
            max_allocations_per_credential: 8,
            ..Default::default()
        },
        Secret::new(SECRET),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            println!("built-in relay did not start: {e:#}");
            return;
        }
    };
    let coturn_port = 34780;
    let mut coturn = start_coturn(coturn_port).ok();
    tokio::time::sleep(Duration::from_millis(800)).await;
    println!(
        "\n## TURN relay throughput (1000-byte UDP datagrams, client → relay → peer, loopback, {secs} s per run)\n"
    );
    println!("| relay | flows | offered per flow | delivered Mbit/s (all flows) | loss |");
    println!("|---|---:|---|---:|---:|");
    for (flows, pace) in [(1usize, Some(16.0)), (4, Some(16.0)), (1, None), (4, None)] {
        let offered = pace.map_or("as fast as it goes".to_string(), |m| {
            format!("{m:.0} Mbit/s")
        });
        for (name, addr) in [
            ("built-in (turn 0.17)", Some(relay.udp_addr())),
            (
                "coturn (Debian)",
                coturn
                    .as_ref()
                    .map(|_| SocketAddr::from(([127, 0, 0, 1], coturn_port))),
            ),
        ] {
            let Some(addr) = addr else {
                println!("| {name} | {flows} | {offered} | not running | |");
                continue;
            };
            match relay_run(addr, flows, secs, pace).await {
                Some((mbps, loss)) => {
                    println!("| {name} | {flows} | {offered} | {mbps:.0} | {loss:.1} % |")
                }
                None => println!("| {name} | {flows} | {offered} | allocation failed | |"),
            }
        }
    }
    relay.close().await;
    if let Some(c) = coturn.as_mut() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

fn main() {
    let steps: Vec<usize> = std::env::var("LOKET_BENCH_STEPS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 20, 40, 60, 80]);
    let secs: u64 = std::env::var("LOKET_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .clamp(1, 30);
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        eprintln!("no runtime");
        return;
    };
    rt.block_on(async {
        println!(
            "machine: {} cores",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        );
        precheck_capacity(&steps).await;
        turn_throughput(secs).await;
    });
}
