//! The database edge: the connection pool, migrations, the embedded Postgres launcher and one
//! module of queries per aggregate. Nothing outside `db/` writes SQL.

pub mod appointments;
pub mod audit;
pub mod backup;
pub mod catalog;
pub mod embedded;
pub mod events;
pub mod holds;
pub mod outbox;
pub mod prechecks;
pub mod privacy;
pub mod queue;
pub mod recovery;
pub mod reports;
pub mod schedule;
pub mod schema;
pub mod staff;
pub mod tickets;

use anyhow::Context;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<AsyncPgConnection>;
pub type Conn = Object<AsyncPgConnection>;
pub type PoolError = diesel_async::pooled_connection::deadpool::PoolError;

/// A connection idle longer than this is checked with a query before it is handed out; one in
/// steady use is not (the check was one extra round trip on every request).
const VERIFY_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(2);

/// Builds a pool; connections are opened lazily.
pub fn pool(url: &str, size: usize) -> anyhow::Result<DbPool> {
    use diesel_async::pooled_connection::{ManagerConfig, RecyclingMethod};
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    // deadpool-diesel's default ("Verified") runs a query before every checkout; the hook
    // below does that only for connections that sat idle.
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(std::time::Duration::from_secs(10)))
        .create_timeout(Some(std::time::Duration::from_secs(10)))
        .runtime(deadpool::Runtime::Tokio1)
        .pre_recycle(deadpool::managed::Hook::async_fn(|conn, metrics| {
            let idle = metrics.last_used() > VERIFY_AFTER_IDLE;
            Box::pin(async move {
                if idle {
                    use diesel::IntoSql;
                    use diesel_async::RunQueryDsl;
                    diesel::select(1_i32.into_sql::<diesel::sql_types::Integer>())
                        .get_result::<i32>(conn)
                        .await
                        .map_err(|e| {
                            deadpool::managed::HookError::Backend(
                                diesel_async::pooled_connection::PoolError::QueryError(e),
                            )
                        })?;
                }
                Ok(())
            })
        }))
        .build()
        .context("building the database pool")
}

/// Opens up to `n` of the pool's connections now, so the first burst of requests — every
/// signalling client reconnecting at once after a restart — does not also wait for Postgres to
/// start that many backends. Best effort: a failure is logged and left to the lazy path.
pub async fn warm(pool: &DbPool, n: usize) {
    let n = n.min(pool.status().max_size);
    let opened = futures_util::future::join_all((0..n).map(|_| pool.get())).await;
    if let Some(Err(e)) = opened.iter().find(|c| c.is_err()) {
        tracing::warn!(error = %e, "opening database connections ahead of time");
    }
}

/// Whether the database answers a query within `within` (for `/readyz`).
pub async fn ready(pool: &DbPool, within: std::time::Duration) -> bool {
    use diesel_async::RunQueryDsl;
    tokio::time::timeout(within, async {
        let mut conn = pool.get().await.ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.ok()
    })
    .await
    .ok()
    .flatten()
    .is_some()
}

/// Applies pending migrations (blocking diesel runs off the async threads). Several nodes
/// starting at once against one database take turns: the first applies them under a session
/// advisory lock, the others wait for it and then find nothing to do.
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .context("connecting to run migrations")?;
        diesel::sql_query("SELECT pg_advisory_lock(hashtextextended('loket:migrations', 0))")
            .execute(&mut conn)
            .context("waiting for another node's migrations")?;
        let ran = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("running migrations: {e}"));
        // The lock goes with the session too; unlocking says so sooner.
        let _ = diesel::sql_query("SELECT pg_advisory_unlock_all()").execute(&mut conn);
        ran
    })
    .await
    .context("migration task")?
}

/// Postgres error codes that mean "try again": serialization failure and deadlock.
pub fn is_retryable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

/// Whether a server message says the server is stopping, starting or recovering (SQLSTATE
/// class 57: the connection ends or cannot start yet). diesel does not pass the SQLSTATE on,
/// so the message decides; these are the messages Postgres sends in English, which the
/// embedded cluster and `DATABASE_URL` connections use (`lc_messages` is not translated for
/// client connections by Loket's settings).
pub fn is_server_going_away(message: &str) -> bool {
    const GOING_AWAY: [&str; 6] = [
        "terminating connection due to",
        "the database system is starting up",
        "the database system is shutting down",
        "the database system is in recovery mode",
        "the database system is not yet accepting connections",
        "server closed the connection unexpectedly",
    ];
    GOING_AWAY.iter().any(|m| message.contains(m))
}

/// Whether this error is the violation of the named constraint.
pub fn violates(e: &diesel::result::Error, constraint: &str) -> bool {
    match e {
        diesel::result::Error::DatabaseError(_, info) => info.constraint_name() == Some(constraint),
        _ => false,
    }
}

/// A value from `loket_meta` (small facts about this database, such as "demo data loaded").
pub async fn meta_get(
    conn: &mut diesel_async::AsyncPgConnection,
    key: &str,
) -> diesel::QueryResult<Option<String>> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    schema::loket_meta::table
        .find(key)
        .select(schema::loket_meta::value)
        .first(conn)
        .await
        .optional()
}

pub async fn meta_set(
    conn: &mut diesel_async::AsyncPgConnection,
    key: &str,
    value: &str,
) -> diesel::QueryResult<()> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    diesel::insert_into(schema::loket_meta::table)
        .values((
            schema::loket_meta::key.eq(key),
            schema::loket_meta::value.eq(value),
        ))
        .on_conflict(schema::loket_meta::key)
        .do_update()
        .set(schema::loket_meta::value.eq(value))
        .execute(conn)
        .await
        .map(|_| ())
}
