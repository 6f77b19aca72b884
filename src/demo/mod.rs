//! Demo data for MPP Kota Bogor, loaded once into an empty database on first start: the
//! catalogue from `demo/catalogue.csv` (through the import an MPP uses for its own catalogue),
//! staff and closures from `data.rs`, with demo staff whose password is `LOKET_DEMO_PASSWORD` or
//! a random one printed once (and kept in the data folder, readable only by its owner). On each
//! start, a demo call ready to join (`call`).

pub mod call;
pub mod data;

use anyhow::Context;
use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::accounts::{StaffInput, create_staff};
use crate::auth::password;
use crate::config::Settings;
use crate::db;
use crate::domain::catalogue::Catalogue;
use crate::domain::ids::StaffId;
use crate::domain::schedule::{Interval, WorkInterval};
use data::HoursPreset;

const LOADED_KEY: &str = "demo_data_loaded";

/// The demo catalogue, in the file format `loket catalogue import` reads (docs/catalogue.md).
pub const CATALOGUE: &str = include_str!("../../demo/catalogue.csv");

/// The demo catalogue, read.
pub fn catalogue() -> Result<Catalogue, Vec<crate::domain::catalogue::Problem>> {
    crate::domain::catalogue::parse(CATALOGUE.as_bytes())
}

pub struct DemoReport {
    pub logins: Vec<(String, String, String)>,
    pub password: String,
    pub password_from_env: bool,
}

impl DemoReport {
    /// Prints where to log in (stdout, not the log: this is for the person starting Loket).
    pub fn print(&self, settings: &Settings) {
        println!("\n  Loket demo data loaded (MPP Kota Bogor).");
        println!("  Demo staff logins (password for all of them below):");
        for (email, role, agency) in self.logins.iter().take(8) {
            println!("    {email:<34} {role:<10} {agency}");
        }
        println!(
            "    … and {} more accounts",
            self.logins.len().saturating_sub(8)
        );
        if self.password_from_env {
            println!("  Password: the value of LOKET_DEMO_PASSWORD");
        } else {
            println!("  Password: {}", self.password);
            println!(
                "  (also saved in {}/demo-logins.txt)",
                settings.data_dir.display()
            );
        }
        println!();
    }
}

/// On a later start (the demo data is already there): where the logins printed on the first
/// one are kept.
pub fn print_where_the_logins_are(settings: &Settings) {
    let file = settings.data_dir.join("demo-logins.txt");
    if settings.demo_password.is_some() {
        println!("\n  Demo staff password: the value of LOKET_DEMO_PASSWORD.");
    } else if file.is_file() {
        println!("\n  Demo staff logins: {}", file.display());
    }
}

fn hours(preset: HoursPreset) -> Vec<WorkInterval> {
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
    let mut v = Vec::new();
    for wd in 1..=4 {
        v.push(WorkInterval {
            weekday: wd,
            starts: t(8, 0),
            ends: t(12, 0),
        });
        v.push(WorkInterval {
            weekday: wd,
            starts: t(13, 0),
            ends: t(15, 0),
        });
    }
    v.push(WorkInterval {
        weekday: 5,
        starts: t(8, 0),
        ends: t(11, 30),
    });
    v.push(WorkInterval {
        weekday: 5,
        starts: t(13, 0),
        ends: t(15, 0),
    });
    if preset == HoursPreset::WithSaturday {
        v.push(WorkInterval {
            weekday: 6,
            starts: t(8, 0),
            ends: t(12, 0),
        });
    }
    v
}

/// Loads the demo data unless it was loaded before (or the database already has agencies).
pub async fn load_once(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
) -> anyhow::Result<Option<DemoReport>> {
    if db::meta_get(conn, LOADED_KEY).await?.is_some()
        || !db::catalog::agencies(conn).await?.is_empty()
    {
        return Ok(None);
    }
    let (pw, from_env) = match &settings.demo_password {
        Some(p) => (p.expose().to_string(), true),
        None => (password::generate(), false),
    };
    // Nodes started together against one database: one loads, the others find it loaded.
    let report = conn
        .transaction::<_, anyhow::Error, _>(async |c| {
            use diesel_async::RunQueryDsl;
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('loket:demo', 0))")
                .execute(c)
                .await?;
            if !db::catalog::agencies(c).await?.is_empty() {
                return Ok(None);
            }
            load(c, settings, &pw, from_env).await.map(Some)
        })
        .await?;
    let Some(report) = report else {
        return Ok(None);
    };
    if !from_env {
        std::fs::create_dir_all(&settings.data_dir)?;
        let mut text = String::from("Loket demo staff logins\n\n");
        for (email, role, agency) in &report.logins {
            text.push_str(&format!("{email}\t{role}\t{agency}\n"));
        }
        text.push_str(&format!("\npassword: {pw}\n"));
        crate::config::write_private(&settings.data_dir.join("demo-logins.txt"), &text)?;
    }
    Ok(Some(report))
}

async fn load(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    pw: &str,
    from_env: bool,
) -> anyhow::Result<DemoReport> {
    crate::catalogue::import::import_as(conn, "system:demo", CATALOGUE.as_bytes(), false)
        .await
        .map_err(|e| anyhow::anyhow!("demo/catalogue.csv: {e}: {e:?}"))?;
    let mut logins = Vec::new();
    for st in data::STAFF {
        let created = create_staff(
            conn,
            &StaffInput {
                email: st.email.into(),
                name: st.name.into(),
                role: st.role,
                agency: st.agency.map(String::from),
                services: st.services.iter().map(|s| s.to_string()).collect(),
                password: pw.into(),
            },
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo staff {}: {e:?}", st.email))?;
        db::schedule::replace_hours(conn, StaffId(created.id), &hours(st.hours)).await?;
        logins.push((
            st.email.to_string(),
            st.role.as_str().to_string(),
            st.agency.unwrap_or("MPP").to_string(),
        ));
    }
    let tz = settings.timezone;
    for c in data::CLOSURES {
        let Some(date) = NaiveDate::from_ymd_opt(c.date.0, c.date.1, c.date.2) else {
            continue;
        };
        let start = tz
            .from_local_datetime(&date.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .context("closure date")?;
        let period = Interval {
            start,
            end: start + Duration::days(1),
        };
        db::schedule::insert_closure(conn, None, period, c.name).await?;
    }
    db::meta_set(conn, LOADED_KEY, &Utc::now().to_rfc3339()).await?;
    Ok(DemoReport {
        logins,
        password: pw.to_string(),
        password_from_env: from_env,
    })
}
