//! `loket backup` and `loket restore` with the real binary on the embedded cluster: a round trip
//! brings back exactly what was backed up, keeps the replaced database aside, and a restore
//! refuses while someone is connected.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use loket::db::embedded::Cluster;

fn loket(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loket"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("LOKET_DATA_DIR", data_dir)
        .env("LOKET_DEMO_PASSWORD", "backup-test-password")
        .env("LOKET_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run loket")
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
}

/// Starts the data folder's cluster (stopped again when the guard drops) and runs `sql`.
async fn query(cluster: &Cluster, db: &str, sql: &str) -> Vec<String> {
    let mut c = AsyncPgConnection::establish(&cluster.url(db))
        .await
        .expect("connect");
    diesel::sql_query(sql)
        .load::<Text>(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.t)
        .collect()
}

async fn with_cluster<T>(data_dir: &Path, f: impl AsyncFnOnce(&Cluster) -> T) -> T {
    let dir = data_dir.to_path_buf();
    let cluster = tokio::task::spawn_blocking(move || Cluster::start_durable(&dir))
        .await
        .unwrap()
        .expect("start the data folder's cluster");
    let out = f(&cluster).await;
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_exactly_what_it_held_and_keeps_the_replaced_database() {
    let dir = std::env::temp_dir().join(format!("loket-backup-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    ok(loket(&dir, &["demo-data"]), "demo-data");
    let agencies_sql = "SELECT string_agg(slug, ',' ORDER BY slug) AS t FROM agencies";
    let before = with_cluster(&dir, async |c| query(c, "loket", agencies_sql).await).await;
    assert!(before[0].contains("dpmptsp"), "{before:?}");

    let file = dir.join("loket.dump");
    let said = ok(
        loket(&dir, &["backup", "--output", file.to_str().unwrap()]),
        "backup",
    );
    assert!(said.contains("backup written"), "{said}");
    assert!(
        std::fs::metadata(&file).unwrap().len() > 1000,
        "a real dump"
    );

    // A change after the backup.
    with_cluster(&dir, async |c| {
        query(
            c,
            "loket",
            "INSERT INTO agencies (id, slug, name, name_en, kind) VALUES \
             (gen_random_uuid(), 'after-backup', 'After', 'After', 'city') RETURNING slug AS t",
        )
        .await
    })
    .await;

    // Someone connected: the restore refuses and changes nothing.
    let refused = with_cluster(&dir, async |c| {
        let _held = AsyncPgConnection::establish(&c.url("loket")).await.unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_loket"));
        // The cluster is running already: `loket restore` uses it as it is.
        let out = cmd
            .args(["restore", file.to_str().unwrap()])
            .env_remove("DATABASE_URL")
            .env("LOKET_DATA_DIR", &dir)
            .env("LOKET_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (out, query(c, "loket", agencies_sql).await)
    })
    .await;
    assert!(
        !refused.0.status.success(),
        "restore must refuse while connected"
    );
    let why = String::from_utf8_lossy(&refused.0.stderr);
    assert!(why.contains("stop Loket"), "{why}");
    assert!(
        refused.1[0].contains("after-backup"),
        "nothing changed: {:?}",
        refused.1
    );

    let said = ok(loket(&dir, &["restore", file.to_str().unwrap()]), "restore");
    assert!(said.contains("loket_before_restore_"), "{said}");
    let (after, kept) = with_cluster(&dir, async |c| {
        let after = query(c, "loket", agencies_sql).await;
        let kept = query(
            c,
            "postgres",
            "SELECT datname::text AS t FROM pg_database WHERE datname LIKE 'loket_before_restore_%'",
        )
        .await;
        let kept_agencies = query(c, &kept[0], agencies_sql).await;
        (after, kept_agencies)
    })
    .await;
    assert_eq!(after, before, "the restored database is the backed-up one");
    assert!(
        kept[0].contains("after-backup"),
        "the old copy is kept: {kept:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
