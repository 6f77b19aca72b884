//! What the real binary tells its operator: routine refusals (a 401 before sign-in, an invalid
//! NIK, an unknown path) at INFO, not WARN; no colour codes when the log is not a terminal; and
//! on a restart with demo data, where the demo logins are instead of a new password.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::embedded::{Loket, stop};

/// Starts the real binary with `env` (`embedded::spawn_loket`), keeping every line it prints on
/// stdout; waits until it serves.
fn start(env: &[(&str, &str)], stderr: Stdio) -> (Loket, Arc<Mutex<Vec<String>>>) {
    let loket = crate::embedded::spawn_loket(env, stderr);
    let url = loket.url.clone();
    // Serving means its SIGTERM handler is in place (a signal just before that kills it).
    let addr = url.trim_start_matches("http://").to_string();
    let healthy = || {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(&addr) else {
            return false;
        };
        let mut answer = String::new();
        let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
        let _ = s.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
    };
    let served = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        healthy()
    });
    assert!(served, "loket answers {url}/healthz");
    let lines = loket.stdout.clone();
    (loket, lines)
}

fn printed(lines: &Arc<Mutex<Vec<String>>>) -> String {
    lines.lock().unwrap().join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routine_refusals_are_info_and_a_log_file_gets_no_colour() {
    let app = crate::helpers::spawn_app().await;
    let log_path = std::env::temp_dir().join(format!(
        "loket-levels-{}.log",
        uuid::Uuid::new_v4().simple()
    ));
    let log_file = std::fs::File::create(&log_path).unwrap();
    let (loket, _) = start(
        &[
            ("DATABASE_URL", &app.db_url),
            // A strong one: a guessable secret is rightly a warning.
            ("LOKET_SECRET", crate::production::STRONG_SECRET),
            ("LOKET_DEMO_DATA", "false"),
            ("LOKET_LOG", "info"),
            // The human format is the one that would carry colours.
            ("LOKET_LOG_FORMAT", "pretty"),
        ],
        Stdio::from(log_file),
    );
    let client = reqwest::Client::new();
    let me = client
        .get(format!("{}/api/v1/staff/me", loket.url))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    let bad_nik = client
        .post(format!("{}/api/v1/appointments", loket.url))
        .json(&json!({"service": "akta-kelahiran", "starts_at": "2030-01-07T02:00:00Z",
                      "citizen": {"name": "Budi", "phone": "081234567890", "nik": "3271991513900002"},
                      "consent": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_nik.status(), 422);
    let unknown = client
        .get(format!("{}/api/v1/no-such-thing", loket.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    stop(loket);
    let log = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log file:\n{log}"
    );
    assert!(
        !log.lines()
            .any(|l| l.contains("WARN") || l.contains("ERROR")),
        "a routine refusal logged as a warning:\n{log}"
    );
    for (status, code) in [
        ("401", "missing_token"),
        ("422", "validation_failed"),
        ("404", "no_such_endpoint"),
    ] {
        assert!(
            log.lines().any(|l| l.contains(" INFO ")
                && l.contains("request refused")
                && l.contains(&format!("status={status}"))
                && l.contains(code)),
            "no INFO line for the {status}:\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_says_where_the_demo_logins_are_instead_of_a_new_password() {
    let dir = std::env::temp_dir().join(format!("loket-logins-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let env = [
        ("LOKET_DATA_DIR", dir.to_str().unwrap()),
        ("LOKET_LOG", "warn"),
    ];
    let (first, out) = start(&env, Stdio::null());
    stop(first);
    let first = printed(&out);
    let file = dir.join("demo-logins.txt");
    let saved = std::fs::read_to_string(&file).expect("the logins are saved");
    let password = saved
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a password line")
        .to_string();
    assert!(
        first.contains(&password),
        "the first start prints it:\n{first}"
    );

    let (second, out) = start(&env, Stdio::null());
    stop(second);
    let second = printed(&out);
    assert!(
        second.contains(&format!("Demo staff logins: {}", file.display())),
        "a restart points to the file:\n{second}"
    );
    assert!(!second.contains(&password), "{second}");
    let _ = std::fs::remove_dir_all(&dir);
}
