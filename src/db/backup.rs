//! `loket backup` and `loket restore`: the whole database in `pg_dump`'s custom format, for the
//! embedded cluster or a `DATABASE_URL` alike.
//!
//! A restore never overwrites the live database in place: it loads the file into a new database,
//! then swaps names, keeping the old one as `<name>_before_restore_<time>` until an operator
//! drops it. It refuses while anyone (a running Loket) is connected to the database, since a
//! swap under open connections would leave them writing to the old copy.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail, ensure};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// `url` with its database replaced by `db`: a `key=value` connection string or a
/// `postgres://…/db?…` URL.
pub fn with_dbname(url: &str, db: &str) -> String {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    {
        let scheme = &url[..url.len() - rest.len()];
        let (before_query, query) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        let authority = before_query.split('/').next().unwrap_or("");
        let mut out = format!("{scheme}{authority}/{db}");
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        return out;
    }
    let mut parts: Vec<String> = url
        .split_whitespace()
        .filter(|p| !p.starts_with("dbname="))
        .map(String::from)
        .collect();
    parts.push(format!("dbname={db}"));
    parts.join(" ")
}

/// The database a connection string names.
pub fn dbname(url: &str) -> Option<String> {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    {
        let path = rest.split('?').next()?.split_once('/')?.1;
        return (!path.is_empty()).then(|| path.to_string());
    }
    url.split_whitespace()
        .find_map(|p| p.strip_prefix("dbname="))
        .map(String::from)
}

fn tool(bin: &Path, name: &str) -> PathBuf {
    let p = bin.join(name);
    if p.is_file() { p } else { PathBuf::from(name) }
}

fn run(mut cmd: Command, what: &str) -> anyhow::Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Writes the whole database of `url` to `file` (custom format, no owners, so it restores into
/// any role).
pub fn dump(bin: &Path, url: &str, file: &Path) -> anyhow::Result<()> {
    let mut cmd = Command::new(tool(bin, "pg_dump"));
    cmd.args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
        .arg(file)
        .arg("--dbname")
        .arg(url);
    run(cmd, "pg_dump")
}

fn safe_name(name: &str) -> anyhow::Result<()> {
    ensure!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "database name {name:?} is not a plain identifier"
    );
    Ok(())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Loads `file` in place of the database `url` names; answers the name the old copy was kept
/// under. Refuses while another session is connected to that database.
pub async fn restore(bin: &Path, url: &str, file: &Path) -> anyhow::Result<String> {
    ensure!(file.is_file(), "{} is not a file", file.display());
    let db = dbname(url).context("the database URL names no database")?;
    safe_name(&db)?;
    let mut admin = AsyncPgConnection::establish(&with_dbname(url, "postgres"))
        .await
        .context("connecting to the server's `postgres` database")?;
    // A session that has just closed (the migration check before this) can linger a moment.
    let mut busy = Count { n: 0 };
    for attempt in 0..10 {
        busy = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind::<diesel::sql_types::Text, _>(&db)
        .get_result(&mut admin)
        .await?;
        if busy.n == 0 || attempt == 9 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    if busy.n > 0 {
        bail!(
            "{} session(s) are connected to database {db}: stop Loket (and any other client) first",
            busy.n
        );
    }
    let staging = format!("{db}_restore");
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {staging}"))
        .execute(&mut admin)
        .await?;
    diesel::sql_query(format!("CREATE DATABASE {staging}"))
        .execute(&mut admin)
        .await?;
    let mut cmd = Command::new(tool(bin, "pg_restore"));
    cmd.args([
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--dbname",
    ])
    .arg(with_dbname(url, &staging))
    .arg(file);
    if let Err(e) = run(cmd, "pg_restore") {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {staging}"))
            .execute(&mut admin)
            .await;
        return Err(e);
    }
    let kept = format!(
        "{db}_before_restore_{}",
        chrono::Utc::now().format("%Y%m%d%H%M%S")
    );
    diesel::sql_query(format!("ALTER DATABASE {db} RENAME TO {kept}"))
        .execute(&mut admin)
        .await
        .context("setting the current database aside (is someone connected?)")?;
    diesel::sql_query(format!("ALTER DATABASE {staging} RENAME TO {db}"))
        .execute(&mut admin)
        .await?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_in_both_url_forms() {
        assert_eq!(
            with_dbname(
                "host=/tmp/x port=5432 user=postgres dbname=loket",
                "postgres"
            ),
            "host=/tmp/x port=5432 user=postgres dbname=postgres"
        );
        assert_eq!(
            with_dbname("postgres://u:p@db:5432/loket?sslmode=require", "postgres"),
            "postgres://u:p@db:5432/postgres?sslmode=require"
        );
        assert_eq!(
            with_dbname("postgresql://db/loket", "x"),
            "postgresql://db/x"
        );
        assert_eq!(
            dbname("host=/tmp/x dbname=loket user=postgres").as_deref(),
            Some("loket")
        );
        assert_eq!(
            dbname("postgres://db:5432/loket?a=b").as_deref(),
            Some("loket")
        );
        assert_eq!(dbname("postgres://db:5432/"), None);
    }

    #[test]
    fn only_plain_names_are_used_in_statements() {
        assert!(safe_name("loket").is_ok());
        assert!(safe_name("loket; DROP DATABASE x").is_err());
        assert!(safe_name("").is_err());
    }
}
