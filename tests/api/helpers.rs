//! `spawn_app()`: a real Loket on a random port over a fresh database. One throwaway Postgres per
//! test process; a template database migrated and loaded with the demo data once; each test gets
//! its own clone (about 10 ms), dropped when the `TestApp` goes away.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use loket::config::{Secret, Settings};
use loket::db::embedded::Cluster;
use loket::startup::Application;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

pub const DEMO_PASSWORD: &str = "demo-password-for-tests";
const TEMPLATE: &str = "loket_template";

struct Pg {
    cluster: Cluster,
}

fn pg() -> &'static Pg {
    static PG: OnceLock<Pg> = OnceLock::new();
    PG.get_or_init(|| Pg {
        cluster: Cluster::start_throwaway().expect("start a throwaway Postgres for the tests"),
    })
}

pub fn base_settings() -> Settings {
    let dir = std::env::temp_dir().join(format!("loket-test-data-{}", std::process::id()));
    let mut s = Settings::for_tests(dir);
    s.demo_password = Some(Secret::new(DEMO_PASSWORD));
    s
}

async fn template() -> &'static str {
    static READY: OnceCell<()> = OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let pg = pg();
            loket::db::embedded::ensure_database(&pg.cluster.url("postgres"), TEMPLATE)
                .await
                .expect("create template");
            let url = pg.cluster.url(TEMPLATE);
            loket::db::migrate(&url).await.expect("migrate template");
            let pool = loket::db::pool(&url, 1).expect("pool");
            {
                let mut conn = pool.get().await.expect("template connection");
                loket::demo::load_once(&mut conn, &base_settings())
                    .await
                    .expect("demo data into the template");
            }
            // The template must have no open connection while it is cloned.
            drop(pool);
        })
        .await;
    TEMPLATE
}

async fn admin_exec(sql: &str) {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let mut conn = AsyncPgConnection::establish(&pg().cluster.url("postgres"))
        .await
        .expect("admin connection");
    diesel::sql_query(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub db_name: String,
    pub db_url: String,
    pub state: actix_web::web::Data<loket::state::AppState>,
    /// Stops the server as SIGTERM would.
    pub stop: loket::startup::StopHandle,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with settings changed first (rate limits, notice, limits…).
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    let template = template().await;
    let db_name = format!("t_{}", uuid::Uuid::new_v4().simple());
    admin_exec(&format!(
        "CREATE DATABASE {db_name} TEMPLATE {template} STRATEGY FILE_COPY"
    ))
    .await;
    let db_url = pg().cluster.url(&db_name);
    start_on(db_name, db_url, change).await
}

/// Another Loket on the same database as `other` (a second node, or a restart): its database
/// stays until `other` is dropped.
pub async fn spawn_app_on(other: &TestApp, change: impl FnOnce(&mut Settings)) -> TestApp {
    start_on(String::new(), other.db_url.clone(), change).await
}

async fn start_on(db_name: String, db_url: String, change: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = base_settings();
    change(&mut settings);
    let app = Application::build_with_database(settings, &db_url, None)
        .await
        .expect("build app");
    let port = app.port();
    let state = app.state.clone();
    let stop = app.stop_handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        db_name,
        db_url,
        state,
        stop,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let name = self.db_name.clone();
        if name.is_empty() {
            // A second app on another's database: that one drops it.
            self.stop.stop();
            return;
        }
        // Drop runs outside async; a short-lived runtime on its own thread does the cleanup.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(admin_exec(&format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )));
            }
        })
        .join();
    }
}

/// A response's status and JSON body (Null when the body is not JSON).
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

pub async fn resp(r: reqwest::Response) -> Resp {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        text,
    }
}

/// A Monday at least `min_days` ahead in WIB, inside the 30-day horizon, with no holiday.
pub fn next_working_day(min_days: i64) -> NaiveDate {
    use chrono::Datelike;
    let tz = chrono_tz::Asia::Jakarta;
    let mut d = Utc::now().with_timezone(&tz).date_naive() + Duration::days(min_days);
    let holidays = loket::demo::data::CLOSURES
        .iter()
        .filter_map(|c| NaiveDate::from_ymd_opt(c.date.0, c.date.1, c.date.2))
        .collect::<Vec<_>>();
    while d.weekday().number_from_monday() > 4 || holidays.contains(&d) {
        d += Duration::days(1);
    }
    d
}

/// A zone in which it is between 10.00 and 11.00 now (`Etc/GMT±N`): tests about *today* (the
/// queue) set the site's zone to it, so the hour they run at decides nothing.
pub fn mid_morning_zone() -> chrono_tz::Tz {
    use chrono::Timelike;
    let hour = Utc::now().hour() as i32;
    let offset = (10 - hour).rem_euclid(24);
    let offset = if offset > 14 { offset - 24 } else { offset };
    // Etc/GMT-N is UTC+N (the sign is POSIX's).
    let name = match offset {
        0 => "Etc/GMT".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    };
    name.parse().expect("an Etc/GMT zone")
}

pub fn citizen(phone: &str) -> Value {
    json!({"name": "Budi Santoso", "phone": phone, "email": "budi@example.org"})
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Resp {
        resp(self.client.get(self.url(path)).send().await.expect("GET")).await
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Resp {
        resp(
            self.client
                .get(self.url(path))
                .bearer_auth(token)
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    pub async fn post_bearer(&self, path: &str, token: &str, body: &Value) -> Resp {
        resp(
            self.client
                .post(self.url(path))
                .bearer_auth(token)
                .json(body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        resp(
            self.client
                .post(self.url(path))
                .json(body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub async fn put_bearer(&self, path: &str, token: &str, body: &Value) -> Resp {
        resp(
            self.client
                .put(self.url(path))
                .bearer_auth(token)
                .json(body)
                .send()
                .await
                .expect("PUT"),
        )
        .await
    }

    pub async fn delete_bearer(&self, path: &str, token: &str) -> Resp {
        resp(
            self.client
                .delete(self.url(path))
                .bearer_auth(token)
                .send()
                .await
                .expect("DELETE"),
        )
        .await
    }

    /// The email of the clerk an appointment (by code) went to.
    pub async fn clerk_of(&self, code: &str) -> String {
        self.scalar(&format!(
            "SELECT s.email FROM appointments a JOIN staff s ON s.id = a.staff_id WHERE a.code = '{code}'"
        ))
        .await
        .expect("appointment with a clerk")
    }

    /// A staff member's id, by email.
    pub async fn staff_id(&self, email: &str) -> String {
        self.scalar(&format!("SELECT id FROM staff WHERE email = '{email}'"))
            .await
            .expect("staff member")
    }

    /// The audit trail of an appointment as `kind@actor` joined by commas, oldest first.
    pub async fn events(&self, appointment_id: &str) -> String {
        self.scalar(&format!(
            "SELECT coalesce(string_agg(kind || '@' || actor, ',' ORDER BY id), '') \
             FROM appointment_events WHERE appointment_id = '{appointment_id}'"
        ))
        .await
        .unwrap_or_default()
    }

    /// A service (no NIK needed) that exactly one active clerk serves: (slug, clerk email).
    /// Its free times are that one clerk's, so hours and leave show directly in the slots.
    pub async fn single_clerk_service(&self) -> (String, String) {
        let row = self
            .scalar(
                "SELECT s.slug || ' ' || min(st.email) FROM services s \
                 JOIN staff_services ss ON ss.service_id = s.id \
                 JOIN staff st ON st.id = ss.staff_id AND st.active \
                 WHERE s.active AND NOT s.needs_nik \
                 GROUP BY s.slug HAVING count(*) = 1 ORDER BY s.slug LIMIT 1",
            )
            .await
            .expect("the demo data has a service with a single clerk");
        let (slug, email) = row.split_once(' ').expect("slug and email");
        (slug.to_string(), email.to_string())
    }

    /// Free slot starts of a service on one local date.
    pub async fn slots(&self, service: &str, date: NaiveDate) -> Vec<DateTime<Utc>> {
        let r = self
            .get(&format!(
                "/api/v1/services/{service}/slots?from={date}&days=1"
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["days"][0]["slots"]
            .as_array()
            .expect("slots")
            .iter()
            .map(|s| {
                DateTime::parse_from_rfc3339(s["starts_at"].as_str().expect("starts_at"))
                    .expect("rfc3339")
                    .with_timezone(&Utc)
            })
            .collect()
    }

    pub async fn book(&self, service: &str, starts_at: DateTime<Utc>, phone: &str) -> Resp {
        self.post(
            "/api/v1/appointments",
            &json!({
                "service": service,
                "starts_at": starts_at.to_rfc3339(),
                "citizen": citizen(phone),
                "consent": true,
            }),
        )
        .await
    }

    /// Books the first free slot of `service` on the next working day; returns (token, body).
    pub async fn book_first(&self, service: &str, phone: &str) -> (String, Value) {
        let day = next_working_day(3);
        let slot = self.slots(service, day).await[0];
        let r = self.book(service, slot, phone).await;
        assert_eq!(r.status, 201, "{}", r.text);
        (r.body["token"].as_str().expect("token").to_string(), r.body)
    }

    /// Signs in a demo staff member; returns the Bearer token.
    pub async fn login(&self, email: &str) -> String {
        let r = self
            .post(
                "/api/v1/staff/session",
                &json!({"email": email, "password": DEMO_PASSWORD}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["token"].as_str().expect("token").to_string()
    }

    /// Runs a statement against this test's database (for setting up states).
    pub async fn exec(&self, sql: &str) {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        let mut conn = AsyncPgConnection::establish(&self.db_url)
            .await
            .expect("test db connection");
        diesel::sql_query(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Moves an appointment so that it started `minutes_ago` minutes ago (same length): a
    /// consultation under way or just missed, as a no-show needs (after the start plus grace).
    pub async fn started_ago(&self, appointment_id: &str, minutes_ago: i64) {
        self.exec(&format!(
            "UPDATE appointments SET
                period = tstzrange(now() - interval '{minutes_ago} minutes',
                                   now() - interval '{minutes_ago} minutes' + (upper(period) - lower(period))),
                ends_at = now() - interval '{minutes_ago} minutes' + (ends_at - lower(period))
             WHERE id = '{appointment_id}'"
        ))
        .await;
    }

    /// Runs SQL against this test's database and returns the first column of the first row
    /// as text (for assertions about what was written).
    pub async fn scalar(&self, sql: &str) -> Option<String> {
        use diesel::QueryableByName;
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            v: Option<String>,
        }
        let mut conn = AsyncPgConnection::establish(&self.db_url)
            .await
            .expect("test db connection");
        let rows: Vec<Row> = diesel::sql_query(format!("SELECT ({sql})::text AS v"))
            .load(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter().next().and_then(|r| r.v)
    }
}

/// Another Loket node on the same database as `app`, as a second machine would run it: its own
/// process state (rooms, feed, caches), shared Postgres. Dropping it leaves the database to `app`.
pub struct Node {
    pub address: String,
}

pub async fn spawn_node(app: &TestApp, change: impl FnOnce(&mut Settings)) -> Node {
    let mut settings = base_settings();
    change(&mut settings);
    let node = Application::build_with_database(settings, &app.db_url, None)
        .await
        .expect("build a second node");
    let port = node.port();
    tokio::spawn(node.run_until_stopped());
    Node {
        address: format!("http://127.0.0.1:{port}"),
    }
}

impl Node {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }
}
