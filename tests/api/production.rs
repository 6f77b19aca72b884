//! `LOKET_ENV=production` is safe by default, with the real binary: it refuses a guessable
//! secret and a public address that is not https, loads no demo accounts unless asked, sends
//! HSTS, keeps `/metrics` and the API description behind a token, and `loket staff add` refuses
//! a weak password.

use std::process::{Command, Stdio};

use crate::embedded::{spawn_loket, stop};

pub const STRONG_SECRET: &str = "Qx7pLm2vN9rT4wZk8cYb3hJd6fGs1aEu0f3a9c1e5b7d2468";

/// Runs `loket serve` with these variables and no database, expecting it to refuse to start:
/// answers what it said on stderr.
fn refused_with(env: &[(&str, &str)]) -> String {
    let dir = std::env::temp_dir().join(format!("loket-prod-{}", uuid::Uuid::new_v4().simple()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loket"));
    cmd.arg("serve")
        .env_remove("DATABASE_URL")
        .env_remove("LOKET_PUBLIC_URL")
        .env_remove("LOKET_SECRET")
        .env("LOKET_DATA_DIR", &dir)
        .env("LOKET_BIND", "127.0.0.1:0")
        .env("LOKET_ENV", "production");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run loket");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success(), "it started: {env:?}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn production_refuses_a_guessable_secret_and_a_public_address_without_https() {
    let https = ("LOKET_PUBLIC_URL", "https://loket.example");
    for weak in [
        "a".repeat(32),
        "test-secret-test-secret-test-secret-0123456789".to_string(),
        "abcdefghijklmnopqrstuvwxyz012345".to_string(),
    ] {
        let err = refused_with(&[("LOKET_SECRET", &weak), https]);
        assert!(
            err.contains("LOKET_SECRET has too little entropy"),
            "{weak}: {err}"
        );
    }
    for url in ["http://loket.example", ""] {
        let err = refused_with(&[("LOKET_SECRET", STRONG_SECRET), ("LOKET_PUBLIC_URL", url)]);
        assert!(
            err.contains("LOKET_PUBLIC_URL must be the https://"),
            "{url:?}: {err}"
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_loads_no_demo_accounts_sends_hsts_and_keeps_operator_endpoints_private() {
    let dir = std::env::temp_dir().join(format!("loket-prod-{}", uuid::Uuid::new_v4().simple()));
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let loket = spawn_loket(
        &[
            ("LOKET_ENV", "production"),
            ("LOKET_DATA_DIR", dir.to_str().unwrap()),
            ("LOKET_BIND", &bind),
            ("LOKET_SECRET", STRONG_SECRET),
            ("LOKET_PUBLIC_URL", "https://loket.example"),
            (
                "LOKET_METRICS_TOKEN",
                "metrics-token-for-the-test-0123456789",
            ),
            ("LOKET_DEMO_PASSWORD", "demo-password-for-tests"),
            ("LOKET_LOG", "warn"),
        ],
        Stdio::null(),
    );
    let base = format!("http://{bind}");
    let client = reqwest::Client::new();
    // No demo call either ("Coba sekarang" comes before this line in demo mode).
    loket.printed("Stop with Ctrl-C");
    assert!(
        !loket
            .stdout
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("Coba sekarang")),
        "production prints no demo call"
    );

    // No demo data: no agencies, and the demo admin does not exist.
    let agencies = client
        .get(format!("{base}/api/v1/agencies"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        agencies.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let agencies: serde_json::Value = agencies.json().await.unwrap();
    assert_eq!(agencies, serde_json::json!([]));
    let login = client
        .post(format!("{base}/api/v1/staff/session"))
        .json(&serde_json::json!({"email": "admin@loket.example", "password": "demo-password-for-tests"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401);

    let page = client.get(format!("{base}/")).send().await.unwrap();
    assert!(page.headers().contains_key("strict-transport-security"));
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("connect-src 'self' wss://loket.example;"),
        "{csp}"
    );

    for path in ["/metrics", "/api/v1/openapi.json"] {
        let anonymous = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(anonymous.status(), 404, "{path}");
        let wrong = client
            .get(format!("{base}{path}"))
            .bearer_auth("metrics-token-for-the-test-0123456788")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 404, "{path}");
        let operator = client
            .get(format!("{base}{path}"))
            .bearer_auth("metrics-token-for-the-test-0123456789")
            .send()
            .await
            .unwrap();
        assert_eq!(operator.status(), 200, "{path}");
    }
    stop(loket);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_add_refuses_a_password_that_is_long_but_guessable() {
    let app = crate::helpers::spawn_app().await;
    let add = |password: &str, email: &str| {
        Command::new(env!("CARGO_BIN_EXE_loket"))
            .args(["staff", "add", "--email", email, "--name", "Rahmat Hidayat"])
            .args(["--role", "clerk", "--agency", "dpmptsp"])
            .env("DATABASE_URL", &app.db_url)
            .env("LOKET_NEW_PASSWORD", password)
            .env("LOKET_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("run loket staff add")
    };
    for weak in ["1234567890", "passwordpassword", "rahmathidayat1"] {
        let out = add(weak, "rahmat.cli@loket.example");
        assert!(!out.status.success(), "{weak} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("too_weak"), "{weak}: {err}");
    }
    let out = add("kata-sandi-yang-panjang", "rahmat.cli@loket.example");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
