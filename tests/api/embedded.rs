//! The real binary, end to end. The embedded default: first start creates the cluster and
//! loads the demo data; SIGTERM stops Loket and its Postgres cleanly; a booking made before a
//! restart is there after it. And its logs: request ids, no personal data, tokens or tickets.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::next_working_day;

pub(crate) struct Loket {
    pub(crate) child: Child,
    pub(crate) url: String,
}

fn start(data_dir: &std::path::Path) -> Loket {
    spawn_loket(
        &[
            ("LOKET_DATA_DIR", data_dir.to_str().unwrap()),
            ("LOKET_DEMO_PASSWORD", "embedded-test-password"),
            ("LOKET_LOG", "warn"),
        ],
        Stdio::null(),
    )
}

/// Starts the real binary with these variables (and no DATABASE_URL unless given) and waits
/// for the address it prints.
fn spawn_loket(env: &[(&str, &str)], stderr: Stdio) -> Loket {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loket"));
    cmd.arg("serve")
        .env_remove("DATABASE_URL")
        .env_remove("LOKET_PUBLIC_URL")
        .env("LOKET_BIND", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start loket");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.trim().strip_prefix("Citizens: ") {
                let _ = tx.send(rest.trim_end_matches('/').to_string());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(90))
        .expect("loket printed its address");
    Loket { child, url }
}

/// Sends the request and reads the JSON answer (Null when the body is not JSON).
async fn json_of(request: reqwest::RequestBuilder) -> serde_json::Value {
    let response = request.send().await.expect("request reaches loket");
    response.json().await.unwrap_or(serde_json::Value::Null)
}

/// Books the first free PBG slot three working days ahead: its start and the booking's answer.
async fn book_first_slot(
    client: &reqwest::Client,
    url: &str,
    phone: &str,
) -> (String, serde_json::Value) {
    let day = next_working_day(3);
    let slots =
        json_of(client.get(format!("{url}/api/v1/services/pbg/slots?from={day}&days=1"))).await;
    let starts_at = slots["days"][0]["slots"][0]["starts_at"]
        .as_str()
        .expect("a free slot")
        .to_string();
    let booked = json_of(
        client
            .post(format!("{url}/api/v1/appointments"))
            .json(&json!({"service": "pbg", "starts_at": starts_at,
                "citizen": {"name": "Rina Wati", "phone": phone}, "consent": true})),
    )
    .await;
    (starts_at, booked)
}

pub(crate) fn stop(mut l: Loket) {
    // SAFETY: sending a signal to our own child.
    unsafe {
        libc::kill(l.child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = l.child.try_wait().expect("wait") {
            assert!(status.success(), "loket exited with {status}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "loket did not stop within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_survives_a_restart_of_loket_and_its_embedded_postgres() {
    let dir =
        std::env::temp_dir().join(format!("loket-embedded-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let client = reqwest::Client::new();

    let first = start(&dir);
    assert!(
        dir.join("postgres/data/PG_VERSION").is_file(),
        "cluster created under the data folder"
    );
    assert!(
        dir.join("postgres/.s.PGSQL.5432").exists(),
        "listening on a private unix socket"
    );
    let (starts_at, booked) = book_first_slot(&client, &first.url, "081398765432").await;
    let token = booked["token"].as_str().expect("booked").to_string();
    let code = booked["appointment"]["code"].as_str().unwrap().to_string();
    stop(first);
    assert!(
        !dir.join("postgres/data/postmaster.pid").exists(),
        "the embedded Postgres was stopped with Loket"
    );

    let second = start(&dir);
    let current: serde_json::Value = json_of(
        client
            .get(format!("{}/api/v1/appointments/current", second.url))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(current["code"], code.as_str());
    assert_eq!(current["starts_at"], starts_at.as_str());
    // Demo data is loaded once, not again on restart.
    let agencies: serde_json::Value =
        json_of(client.get(format!("{}/api/v1/agencies", second.url))).await;
    let n = agencies.as_array().unwrap().len();
    assert_eq!(n, loket::demo::catalogue().unwrap().agencies.len());
    stop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postgres restarts under a running Loket (an upgrade, a crash): the pool's connections all
/// die with it, and the first requests afterwards must get fresh ones instead of failing on
/// dead ones. (What does it here: diesel-async marks a connection broken when its server closes
/// the socket, and the pool discards broken connections at checkout — measured: the test passes
/// with the pool's idle ping switched off too. That ping is for connections that die silently,
/// such as a half-open TCP connection to a database on another machine, which this test cannot
/// make.)
#[tokio::test]
async fn loket_keeps_serving_after_its_database_restarts() {
    use loket::db::embedded::{Cluster, ensure_database};
    let base =
        std::env::temp_dir().join(format!("loket-pgrestart-{}", uuid::Uuid::new_v4().simple()));
    let pg_dir = base.join("pg");
    let mut pg = tokio::task::spawn_blocking({
        let pg_dir = pg_dir.clone();
        move || Cluster::start_durable(&pg_dir)
    })
    .await
    .unwrap()
    .expect("a Postgres of the test's own");
    ensure_database(&pg.url("postgres"), "loket")
        .await
        .expect("database");
    let db_url = pg.url("loket");
    let loket = spawn_loket(
        &[
            ("DATABASE_URL", db_url.as_str()),
            ("LOKET_DATA_DIR", base.join("loket").to_str().unwrap()),
            ("LOKET_DEMO_PASSWORD", "restart-test-password"),
            ("LOKET_LOG", "warn"),
        ],
        Stdio::null(),
    );
    let client = reqwest::Client::new();
    let (_, booked) = book_first_slot(&client, &loket.url, "081398765433").await;
    let token = booked["token"].as_str().expect("booked").to_string();
    let ready = |c: &reqwest::Client| c.get(format!("{}/readyz", loket.url)).send();
    assert_eq!(ready(&client).await.expect("readyz").status(), 200);

    // Every pooled connection dies with the server.
    let mut pg = tokio::task::spawn_blocking(move || {
        pg.stop().expect("stop Postgres");
        Cluster::start_durable(&pg_dir).expect("start Postgres again")
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // The very first requests succeed.
    assert_eq!(ready(&client).await.expect("readyz").status(), 200);
    let current = json_of(
        client
            .get(format!("{}/api/v1/appointments/current", loket.url))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(current["code"], booked["appointment"]["code"], "{current}");
    stop(loket);
    tokio::task::spawn_blocking(move || pg.stop())
        .await
        .unwrap()
        .expect("stop Postgres");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn missing_server_binaries_give_one_clear_message() {
    let dir = std::env::temp_dir().join(format!("loket-nopg-{}", uuid::Uuid::new_v4().simple()));
    let out = Command::new(env!("CARGO_BIN_EXE_loket"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("LOKET_DATA_DIR", &dir)
        .env("LOKET_PG_BIN", "/nonexistent/postgres/bin")
        .env("LOKET_BIND", "127.0.0.1:0")
        .output()
        .expect("run loket");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("apt-get install postgresql"), "{err}");
    assert!(err.contains("DATABASE_URL"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_carry_request_ids_but_no_personal_data_tokens_or_tickets() {
    let app = crate::helpers::spawn_app().await;
    let log_path =
        std::env::temp_dir().join(format!("loket-log-{}.jsonl", uuid::Uuid::new_v4().simple()));
    let log_file = std::fs::File::create(&log_path).unwrap();
    let secret = "log-test-secret-log-test-secret-0123456789";
    let loket = spawn_loket(
        &[
            ("DATABASE_URL", &app.db_url),
            ("LOKET_SECRET", secret),
            ("LOKET_DEMO_DATA", "false"),
            ("LOKET_LOG", "info"),
        ],
        Stdio::from(log_file),
    );
    let client = reqwest::Client::new();
    let day = next_working_day(3);
    let slots = json_of(client.get(format!(
        "{}/api/v1/services/akta-kelahiran/slots?from={day}&days=1",
        loket.url
    )))
    .await;
    let starts_at = slots["days"][0]["slots"][0]["starts_at"]
        .as_str()
        .unwrap()
        .to_string();
    let nik = "3271995205900001";
    let booked: serde_json::Value = json_of(
        client
            .post(format!("{}/api/v1/appointments", loket.url))
            .json(&json!({"service": "akta-kelahiran", "starts_at": starts_at,
                          "citizen": {"name": "Siti Rahasia", "phone": "081377788899", "email": "siti.rahasia@example.org", "nik": nik},
                          "consent": true}))
    )
    .await;
    let token = booked["token"].as_str().expect("booked").to_string();
    let _ = client
        .get(format!("{}/api/v1/appointments/current", loket.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let _ = client
        .get(format!(
            "{}/api/v1/rooms/ws?ticket=SECRETTICKET0123456789",
            loket.url
        ))
        .send()
        .await
        .unwrap();
    // A request that fails validation must not echo the bad input into the log either.
    let _ = client
        .post(format!("{}/api/v1/appointments", loket.url))
        .json(&json!({"service": "akta-kelahiran", "citizen": {"nik": "3271991513900002"}}))
        .send()
        .await
        .unwrap();
    stop(loket);
    let log = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    assert!(log.contains("request_id"), "no request ids in: {log}");
    assert!(
        log.lines()
            .all(|l| l.trim().is_empty() || serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "not JSON lines: {log}"
    );
    for secret_thing in [
        nik,
        "3271991513900002",
        "Rahasia",
        "77788899",
        "siti.rahasia",
        token.as_str(),
        "SECRETTICKET",
        secret,
    ] {
        assert!(
            !log.contains(secret_thing),
            "the log contains {secret_thing:?}:\n{log}"
        );
    }
}
