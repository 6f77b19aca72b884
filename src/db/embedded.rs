//! The embedded Postgres (DESIGN §7): a private cluster under Loket's data folder, reachable only
//! through a unix socket inside that folder. Two flavours share the launcher:
//! - [`Cluster::start_durable`] for `loket serve`: created once, kept across restarts, stopped
//!   cleanly on shutdown, fsync on.
//! - [`Cluster::start_throwaway`] for tests and benchmarks: a temp folder, fsync off, the server a
//!   child of a thread that lives as long as the process and dies with it (PR_SET_PDEATHSIG).
//!
//! Postgres refuses to run as root; started as root, Loket runs the server as the `postgres` user.
//!
//! A durable cluster that `loket serve` owns is also watched ([`Cluster::supervise`]): if its
//! postmaster dies (killed, out of memory), it is started again — Postgres runs crash recovery
//! on start — while the pool keeps answering 503 until connections work again. A restart that
//! fails (old backends still holding the shared memory, a full disk) is retried with a growing
//! pause, and each failure says why in the log.

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

const MISSING_HINT: &str = "Install them with `apt-get install postgresql postgresql-contrib` \
    (Debian/Ubuntu), point LOKET_PG_BIN at their folder, or set DATABASE_URL to use an existing \
    Postgres.";

/// The socket's port number only names the socket file; there is no TCP listener.
const PORT: u16 = 5432;

#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    owner: Option<(u32, u32)>,
    /// Durable clusters are stopped with pg_ctl; throwaway ones die with the process.
    durable: bool,
    /// Stopped already (or not ours to stop).
    stopped: bool,
    /// Watches the postmaster and restarts it (`supervise`).
    supervisor: Option<Supervisor>,
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// uid and gid of the `postgres` OS user.
fn postgres_user() -> anyhow::Result<(u32, u32)> {
    let name = CString::new("postgres")?;
    // SAFETY: getpwnam returns a pointer into static storage or null; we copy the ids at once
    // and call it only from this function.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        bail!(
            "Loket runs as root, and Postgres refuses to: it needs the `postgres` OS user, which \
             is missing. Install it with `apt-get install postgresql`, or set DATABASE_URL."
        );
    }
    // SAFETY: pw is non-null and points to a valid passwd struct.
    Ok(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

/// Finds `initdb`, `pg_ctl` and `postgres`: `LOKET_PG_BIN`, then `pg_config --bindir`, then the
/// newest Debian install under /usr/lib/postgresql.
pub fn find_bin_dir() -> anyhow::Result<PathBuf> {
    let has_all = |d: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    if let Ok(dir) = std::env::var("LOKET_PG_BIN") {
        let dir = PathBuf::from(dir);
        if has_all(&dir) {
            return Ok(dir);
        }
        bail!(
            "LOKET_PG_BIN={} has no PostgreSQL server binaries (initdb, pg_ctl, postgres). \
             {MISSING_HINT}",
            dir.display()
        );
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_all(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has_all(d))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    bail!(
        "The PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. {MISSING_HINT}"
    )
}

impl Cluster {
    /// Starts (creating on first run) the durable cluster under `data_dir/postgres`.
    pub fn start_durable(data_dir: &Path) -> anyhow::Result<Cluster> {
        let bin = find_bin_dir()?;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data folder {}", data_dir.display()))?;
        let data_dir = data_dir
            .canonicalize()
            .with_context(|| format!("resolving {}", data_dir.display()))?;
        let owner = if is_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        let dir = data_dir.join("postgres");
        std::fs::create_dir_all(&dir)?;
        let mut cluster = Cluster {
            bin,
            dir,
            owner,
            durable: true,
            stopped: false,
            supervisor: None,
        };
        cluster.check_reachable_by_owner()?;
        cluster.prepare_dir()?;
        if !cluster.pgdata().join("PG_VERSION").is_file() {
            tracing::info!(dir = %cluster.dir.display(), "creating the embedded Postgres cluster");
            cluster.initdb()?;
        }
        if cluster.is_running() {
            // Another Loket (or a crash that left it) owns it; use it but leave it running.
            tracing::warn!("the embedded Postgres is already running; using it as it is");
            cluster.stopped = true;
            return Ok(cluster);
        }
        cluster.pg_ctl_start(&[])?;
        Ok(cluster)
    }

    /// Starts a throwaway cluster in a fresh temp folder. The folder is removed and the server
    /// stopped when the process exits, however it exits.
    pub fn start_throwaway() -> anyhow::Result<Cluster> {
        let bin = find_bin_dir()?;
        let owner = if is_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        let base = std::env::temp_dir().join(format!(
            "loket-pg-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&base)?;
        let mut cluster = Cluster {
            bin,
            dir: base,
            owner,
            durable: false,
            stopped: false,
            supervisor: None,
        };
        cluster.prepare_dir()?;
        cluster.initdb()?;
        cluster.spawn_tied_to_process()?;
        cluster.wait_ready(Duration::from_secs(30))?;
        register_cleanup(cluster.dir.clone());
        cluster.stopped = true; // nothing to do on drop: the process exit ends it
        Ok(cluster)
    }

    fn pgdata(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The socket folder: the cluster folder itself.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// A connection string for database `db` as the superuser `postgres`.
    pub fn url(&self, db: &str) -> String {
        format!(
            "host={} port={PORT} user=postgres dbname={db}",
            self.dir.display()
        )
    }

    fn check_reachable_by_owner(&self) -> anyhow::Result<()> {
        let Some((uid, _)) = self.owner else {
            return Ok(());
        };
        // Every ancestor must be searchable by the postgres user.
        let mut p = self.dir.parent();
        while let Some(dir) = p {
            let meta = std::fs::metadata(dir)?;
            let mode = meta.permissions().mode();
            use std::os::unix::fs::MetadataExt;
            let ok = mode & 0o001 != 0 || (meta.uid() == uid && mode & 0o100 != 0);
            if !ok {
                bail!(
                    "The embedded Postgres runs as the `postgres` user, which cannot enter {} \
                     (mode {:o}). Set LOKET_DATA_DIR to a folder it can reach, such as \
                     /var/lib/loket, or set DATABASE_URL.",
                    dir.display(),
                    mode & 0o777
                );
            }
            p = dir.parent();
        }
        Ok(())
    }

    fn prepare_dir(&self) -> anyhow::Result<()> {
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))?;
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(&self.dir, Some(uid), Some(gid))
                .with_context(|| format!("handing {} to postgres", self.dir.display()))?;
        }
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
            // std drops root's supplementary groups itself when it switches the uid.
        }
        cmd.env_remove("PGDATA").env("LC_ALL", "C.UTF-8");
        cmd
    }

    fn initdb(&self) -> anyhow::Result<()> {
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(self.pgdata())
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ])
            .args(if self.durable { &[][..] } else { &["-N"][..] })
            .stdin(Stdio::null())
            .output()
            .context("running initdb")?;
        if !out.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        // Only the private socket: no TCP listener, trust only there.
        let conf = format!(
            "\n# Loket embedded cluster\nlisten_addresses = ''\nport = {PORT}\nunix_socket_directories = '{}'\nmax_connections = 200\n",
            self.dir.display()
        );
        let conf_path = self.pgdata().join("postgresql.auto.conf");
        let mut existing = std::fs::read_to_string(&conf_path).unwrap_or_default();
        existing.push_str(&conf);
        std::fs::write(&conf_path, existing)?;
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(&conf_path, Some(uid), Some(gid))?;
        }
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.command("pg_ctl")
            .arg("-D")
            .arg(self.pgdata())
            .arg("status")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// The server's major version, from `PG_VERSION`.
    fn major_version(&self) -> Option<u32> {
        std::fs::read_to_string(self.pgdata().join("PG_VERSION"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn pg_ctl_start(&self, extra: &[&str]) -> anyhow::Result<()> {
        let log = self.dir.join("postgres.log");
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D")
            .arg(self.pgdata())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60"])
            .args(extra);
        // Crash recovery first fsyncs every file of the cluster one by one (measured here: 4 of
        // the 6 s a restart took); one syncfs() of the file system is as safe and took 0.1 s.
        if self.major_version().is_some_and(|v| v >= 14) {
            cmd.args(["-o", "-c recovery_init_sync_method=syncfs"]);
        }
        let out = cmd
            .arg("start")
            .stdin(Stdio::null())
            .output()
            .context("running pg_ctl start")?;
        if !out.status.success() {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(10).collect();
            bail!(
                "the embedded Postgres did not start: {}\n{}",
                String::from_utf8_lossy(&out.stderr).trim(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        Ok(())
    }

    /// Runs `postgres` as a child of a thread that never ends, with the parent-death signal set
    /// to SIGQUIT (immediate shutdown): if this process dies, so does the server.
    fn spawn_tied_to_process(&self) -> anyhow::Result<()> {
        let mut cmd = self.command("postgres");
        cmd.arg("-D")
            .arg(self.pgdata())
            .args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(
                self.dir.join("postgres.log"),
            )?));
        // SAFETY: prctl is async-signal-safe; it runs after the uid switch so it survives exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
                Ok(())
            });
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("loket-test-postgres".into())
            .spawn(move || {
                let child = cmd.spawn();
                let ok = child.is_ok();
                let _ = tx.send(child.map(|c| c.id()).map_err(|e| e.to_string()));
                if ok {
                    // The parent-death signal follows this thread: it must outlive the tests.
                    loop {
                        std::thread::park();
                    }
                }
            })?;
        let pid = rx
            .recv()
            .context("postgres launcher thread")?
            .map_err(|e| anyhow::anyhow!("starting postgres: {e}"))?;
        tracing::debug!(pid, "throwaway postgres started");
        Ok(())
    }

    fn wait_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let socket = self.dir.join(format!(".s.PGSQL.{PORT}"));
        let started = Instant::now();
        while started.elapsed() < timeout {
            if socket.exists() {
                let ok = Command::new(self.bin.join("pg_isready"))
                    .arg("-h")
                    .arg(&self.dir)
                    .arg("-p")
                    .arg(PORT.to_string())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false);
                if ok {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
        bail!("postgres did not become ready in {timeout:?}: {log}")
    }

    /// Starts watching the postmaster of a durable cluster: when it dies, it is started again
    /// (see the module doc). Stopping the cluster stops the watch first.
    pub fn supervise(&mut self) {
        if !self.durable || self.supervisor.is_some() {
            return;
        }
        let watched = Cluster {
            bin: self.bin.clone(),
            dir: self.dir.clone(),
            owner: self.owner,
            durable: false,
            stopped: true,
            supervisor: None,
        };
        match Supervisor::start(watched) {
            Ok(s) => self.supervisor = Some(s),
            Err(e) => tracing::error!(error = %e, "cannot watch the embedded Postgres"),
        }
    }

    /// The postmaster's pid, from the first line of `postmaster.pid`.
    fn postmaster_pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.pgdata().join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok().filter(|p| *p > 0)
    }

    /// Stops a durable cluster ("fast": ends sessions, checkpoints, loses nothing).
    pub fn stop(&mut self) -> anyhow::Result<()> {
        // Not restarted while (or after) it is stopped on purpose.
        if let Some(s) = self.supervisor.take() {
            s.stop();
        }
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.pgdata())
            .args(["-m", "fast", "-w", "-t", "25", "stop"])
            .stdin(Stdio::null())
            .output()
            .context("running pg_ctl stop")?;
        if !out.status.success() {
            bail!(
                "stopping the embedded Postgres: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        tracing::info!("embedded Postgres stopped");
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.durable
            && let Err(e) = self.stop()
        {
            tracing::error!(error = %e, "could not stop the embedded Postgres");
        }
    }
}

/// How often the supervisor looks at the postmaster. Looking is a `kill(pid, 0)`: cheap.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// The first pause after a failed restart; it doubles up to [`MAX_RESTART_PAUSE`].
const FIRST_RESTART_PAUSE: Duration = Duration::from_millis(250);
const MAX_RESTART_PAUSE: Duration = Duration::from_secs(30);

/// A thread that watches one cluster's postmaster and starts it again when it dies.
#[derive(Debug)]
struct Supervisor {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Supervisor {
    fn start(cluster: Cluster) -> anyhow::Result<Supervisor> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        // A thread of its own: pg_ctl blocks, and the watch must go on whatever the async
        // workers are doing.
        let thread = std::thread::Builder::new()
            .name("loket-pg-supervisor".into())
            .spawn(move || watch(&cluster, &flag))?;
        Ok(Supervisor {
            stop,
            thread: Some(thread),
        })
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// Whether process `pid` still runs. A dead child of ours (a postmaster we started while we
/// are pid 1, say in a container) stays a zombie until reaped: reap it, then it counts as dead.
fn alive(pid: i32) -> bool {
    // SAFETY: waitpid with WNOHANG on one pid never blocks; for a process that is not our
    // child it fails with ECHILD and changes nothing.
    let reaped = unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
    if reaped == pid {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Pauses up to `d`, waking early when asked to stop. Answers whether to go on.
fn pause(d: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + d;
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::park_timeout(until - now);
    }
    false
}

fn watch(cluster: &Cluster, stop: &AtomicBool) {
    while pause(WATCH_EVERY, stop) {
        // No pid file means no postmaster (removed by a clean stop someone else made).
        if cluster.postmaster_pid().is_some_and(alive) {
            continue;
        }
        let died = Instant::now();
        tracing::error!(
            "the embedded Postgres stopped unexpectedly; starting it again (crash recovery)"
        );
        let mut wait = FIRST_RESTART_PAUSE;
        let mut attempt = 1u32;
        loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            match cluster.pg_ctl_start(&[]) {
                Ok(()) => {
                    tracing::warn!(
                        after_ms = died.elapsed().as_millis() as u64,
                        attempts = attempt,
                        "the embedded Postgres is running again"
                    );
                    break;
                }
                Err(e) => {
                    // Typically: backends of the dead server still hold its shared memory
                    // for a moment, or the disk is full. Say which, then wait longer.
                    tracing::error!(
                        attempt,
                        retry_in_ms = wait.as_millis() as u64,
                        error = %format!("{e:#}"),
                        "the embedded Postgres did not start again"
                    );
                    if !pause(wait, stop) {
                        return;
                    }
                    wait = (wait * 2).min(MAX_RESTART_PAUSE);
                    attempt += 1;
                }
            }
        }
    }
}

static CLEANUP: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

extern "C" fn cleanup_at_exit() {
    if let Ok(dirs) = CLEANUP.lock() {
        for d in dirs.iter() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Removes throwaway folders at exit (the server itself gets SIGQUIT through the death signal).
fn register_cleanup(dir: PathBuf) {
    if let Ok(mut dirs) = CLEANUP.lock() {
        if dirs.is_empty() {
            // SAFETY: registering a plain extern "C" function with no captured state.
            unsafe {
                libc::atexit(cleanup_at_exit);
            }
        }
        dirs.push(dir);
    }
}

/// Creates database `name` if it does not exist yet (connecting to `postgres`).
pub async fn ensure_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let mut conn = AsyncPgConnection::establish(admin_url)
        .await
        .context("connecting to the embedded Postgres")?;
    let row: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(&mut conn)
            .await?;
    if !row.exists {
        anyhow::ensure!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad database name"
        );
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}
