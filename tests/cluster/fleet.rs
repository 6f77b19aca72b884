//! A fleet of real Loket processes on one machine: one throwaway Postgres, N `loket serve`
//! nodes on their own ports sharing its database, and Debian's HAProxy in front with the
//! configuration of deploy/haproxy/haproxy.cfg (ports filled in, faster health checks). Nodes
//! can be killed (SIGKILL), stopped gracefully (SIGTERM, they drain) and started again.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loket::db::embedded::Cluster;

pub const DEMO_PASSWORD: &str = "cluster-test-password";
/// The secret every node signs with (`LOKET_SECRET`).
pub const SECRET: &str = "cluster-test-secret-cluster-test-secret-0123";
/// Rooms open this long before a booking starts (the most the settings allow); tests bring a
/// booking forward into that day (`Fleet::bring_forward`) to join its room now.
const JOIN_OPENS_MINUTES: &str = "1440";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub struct Node {
    pub name: String,
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
}

pub struct Fleet {
    _pg: Cluster,
    pub db_url: String,
    pub nodes: Vec<Node>,
    lb: Option<Child>,
    pub lb_port: u16,
    dir: PathBuf,
    pub client: reqwest::Client,
    moved: std::sync::atomic::AtomicU32,
    /// More settings every node starts with (`Fleet::start_with`).
    env: Vec<(String, String)>,
}

impl Fleet {
    /// `n` nodes behind HAProxy, every node ready and the balancer answering.
    pub async fn start(n: usize) -> Fleet {
        Fleet::start_with(n, &[]).await
    }

    /// [`Fleet::start`] with more settings for every node (`LOKET_…` names and values).
    pub async fn start_with(n: usize, env: &[(&str, &str)]) -> Fleet {
        let dir =
            std::env::temp_dir().join(format!("loket-fleet-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("fleet dir");
        let pg = tokio::task::spawn_blocking(Cluster::start_throwaway)
            .await
            .expect("task")
            .expect("a Postgres for the fleet");
        loket::db::embedded::ensure_database(&pg.url("postgres"), "loket")
            .await
            .expect("database");
        let db_url = pg.url("loket");
        let lb_port = free_port();
        let mut fleet = Fleet {
            _pg: pg,
            db_url,
            nodes: (1..=n)
                .map(|i| Node {
                    name: format!("n{i}"),
                    port: free_port(),
                    child: None,
                    log: dir.join(format!("n{i}.log")),
                })
                .collect(),
            lb: None,
            lb_port,
            dir,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            moved: Default::default(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        // The first node migrates and loads the demo data; the others then start together.
        fleet.spawn(0);
        fleet.wait_ready(0).await;
        for i in 1..n {
            fleet.spawn(i);
        }
        for i in 1..n {
            fleet.wait_ready(i).await;
        }
        fleet.start_balancer().await;
        fleet
    }

    fn spawn(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .expect("node log");
        let child = Command::new(env!("CARGO_BIN_EXE_loket"))
            .arg("serve")
            .env("DATABASE_URL", &self.db_url)
            .env("LOKET_BIND", format!("127.0.0.1:{}", node.port))
            // Links and tickets point at the balancer, as behind a real one.
            .env(
                "LOKET_PUBLIC_URL",
                format!("http://127.0.0.1:{}", self.lb_port),
            )
            .env("LOKET_NODE_NAME", &node.name)
            // One secret for all nodes: a token signed by one is checked by another.
            .env("LOKET_SECRET", SECRET)
            .env("LOKET_DATA_DIR", self.dir.join(&node.name))
            .env("LOKET_DEMO_PASSWORD", DEMO_PASSWORD)
            // The tests move PBG bookings of the demo clerk to now; a demo call would be there.
            .env("LOKET_DEMO_CALL", "false")
            .env("LOKET_DRAIN_SECONDS", "2")
            .env("LOKET_JOIN_OPENS_MINUTES", JOIN_OPENS_MINUTES)
            .env("LOKET_BOOKING_RATE_PER_MINUTE", "0")
            .env("LOKET_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start loket");
        node.child = Some(child);
    }

    /// Waits until node `i` answers `/readyz` 200 itself.
    pub async fn wait_ready(&mut self, i: usize) {
        let url = format!("http://127.0.0.1:{}/readyz", self.nodes[i].port);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = self.client.get(&url).send().await
                && r.status() == 200
            {
                return;
            }
            let exited = self.nodes[i]
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "node {} not ready ({exited:?}):\n{}",
                self.nodes[i].name,
                self.log_tail(i)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn haproxy_config(&self) -> String {
        // deploy/haproxy/haproxy.cfg with this fleet's addresses: the same routing rules, and a
        // health check every 500 ms so a dead node is out within about a second.
        let shipped = include_str!("../../deploy/haproxy/haproxy.cfg");
        let servers: String = self
            .nodes
            .iter()
            .map(|n| format!("    server {} 127.0.0.1:{} check\n", n.name, n.port))
            .collect();
        let mut out = String::new();
        let mut skip_resolvers = false;
        for line in shipped.lines() {
            let t = line.trim_start();
            if t.starts_with("resolvers ") {
                skip_resolvers = true;
                continue;
            }
            if skip_resolvers {
                if t.is_empty() {
                    skip_resolvers = false;
                }
                continue;
            }
            if t.starts_with("server ") {
                continue;
            }
            if t.starts_with("log stdout")
                || t.starts_with("log global")
                || t.starts_with("option httplog")
                || t.starts_with("log-format")
            {
                continue;
            }
            let line = line
                .replace("bind :8080", &format!("bind 127.0.0.1:{}", self.lb_port))
                // This machine's file limit is lower than a production host's.
                .replace("maxconn 20000", "maxconn 4000")
                .replace(
                    "default-server inter 1s fall 2 rise 2 resolvers docker init-addr libc,none",
                    "default-server inter 500ms fall 2 rise 2",
                );
            out.push_str(&line);
            out.push('\n');
            if t.starts_with("http-check expect") {
                out.push_str(&servers);
            }
        }
        out
    }

    async fn start_balancer(&mut self) {
        let cfg = self.dir.join("haproxy.cfg");
        std::fs::File::create(&cfg)
            .and_then(|mut f| f.write_all(self.haproxy_config().as_bytes()))
            .expect("write haproxy.cfg");
        let check = Command::new("haproxy")
            .args(["-c", "-q", "-f"])
            .arg(&cfg)
            .output()
            .expect("haproxy is installed (scripts/test installs it)");
        assert!(
            check.status.success(),
            "haproxy rejects the configuration: {}\n{}",
            String::from_utf8_lossy(&check.stderr),
            self.haproxy_config()
        );
        let log = std::fs::File::create(self.dir.join("haproxy.log")).expect("haproxy log");
        let mut child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start haproxy");
        if let Ok(Some(status)) = {
            tokio::time::sleep(Duration::from_millis(200)).await;
            child.try_wait()
        } {
            panic!(
                "haproxy exited ({status}): {}",
                std::fs::read_to_string(self.dir.join("haproxy.log")).unwrap_or_default()
            );
        }
        self.lb = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = self.client.get(self.url("/readyz")).send().await
                && r.status() == 200
            {
                // Every node has passed its health check once.
                tokio::time::sleep(Duration::from_millis(1200)).await;
                return;
            }
            assert!(Instant::now() < deadline, "haproxy did not answer");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A URL through the balancer.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.lb_port)
    }

    /// A URL on node `i` directly.
    pub fn node_url(&self, i: usize, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.nodes[i].port)
    }

    pub fn index_of(&self, name: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node named {name}"))
    }

    /// SIGKILL: the node dies at once, as in a crash.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for the node to exit (it drains first).
    pub async fn stop(&mut self, i: usize) {
        let Some(mut c) = self.nodes[i].child.take() else {
            return;
        };
        // SAFETY: a signal to our own child.
        unsafe {
            libc::kill(c.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                assert!(status.success(), "node exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "node did not stop within 40 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts node `i` again on its port and waits until it is ready.
    pub async fn restart(&mut self, i: usize) {
        self.spawn(i);
        self.wait_ready(i).await;
    }

    /// The process id of node `i`, while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes[i].child.as_ref().map(Child::id)
    }

    /// The Postgres postmaster's process id (its backends are its children).
    pub fn postgres_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self._pg.socket_dir().join("data/postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// The balancer's process id.
    pub fn lb_pid(&self) -> Option<u32> {
        self.lb.as_ref().map(Child::id)
    }

    pub fn log_tail(&self, i: usize) -> String {
        let text = std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(30).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Moves a booked appointment to start within the next day, each one moved an hour
    /// after the one before, so its room is open now (rooms open a day ahead here).
    pub async fn bring_forward(&self, appointment: &str) {
        let k = self
            .moved
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let minutes = 10 + 60 * k;
        self.query(&format!(
            "UPDATE appointments
                SET period = tstzrange(now() + interval '{minutes} minutes',
                                       now() + interval '{minutes} minutes' + (upper(period) - lower(period))),
                    ends_at = now() + interval '{minutes} minutes' + (ends_at - lower(period))
              WHERE id = '{appointment}' RETURNING code AS v"
        ))
        .await;
    }

    /// Runs `sql`, a statement that answers no rows, on the fleet's database.
    pub async fn exec(&self, sql: &str) {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        let mut conn = AsyncPgConnection::establish(&self.db_url)
            .await
            .expect("connect to the fleet's database");
        diesel::sql_query(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Runs `sql` (whose one column is named `v`) on the fleet's database; answers each row's
    /// value as text.
    pub async fn query(&self, sql: &str) -> Vec<String> {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            v: Option<String>,
        }
        let mut conn = AsyncPgConnection::establish(&self.db_url)
            .await
            .expect("connect to the fleet's database");
        diesel::sql_query(sql)
            .load::<Row>(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .filter_map(|r| r.v)
            .collect()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(mut lb) = self.lb.take() {
            let _ = lb.kill();
            let _ = lb.wait();
        }
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
