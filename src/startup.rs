//! Builds the application: connects the database (embedded or `DATABASE_URL`), migrates, loads
//! the demo data once, binds the listener (port 0 in tests) and wires routes and shared state.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::auth::Keys;
use crate::config::Settings;
use crate::context::Ctx;
use crate::db::{self, embedded::Cluster};
use crate::limits::RateLimiter;
use crate::routes;
use crate::state::AppState;
use crate::telemetry::LoketRootSpan;

/// Room tickets one citizen token or staff member may ask for per minute. An unexpired,
/// unredeemed ticket is handed out again, so only joins that were redeemed cost a new one.
const TICKETS_PER_MINUTE: u32 = 30;

pub struct Application {
    port: u16,
    server: Server,
    pub state: web::Data<AppState>,
    cluster: Option<Cluster>,
    bus: crate::bus::Bus,
    stop: std::sync::Arc<tokio::sync::Notify>,
}

/// Where the database is: the URL to use and, for the embedded default, the running cluster.
pub async fn database(settings: &Settings) -> anyhow::Result<(String, Option<Cluster>)> {
    if let Some(url) = &settings.database_url {
        return Ok((url.expose().to_string(), None));
    }
    let data_dir = settings.data_dir.clone();
    let cluster = tokio::task::spawn_blocking(move || Cluster::start_durable(&data_dir))
        .await
        .context("embedded Postgres task")??;
    db::embedded::ensure_database(&cluster.url("postgres"), "loket").await?;
    Ok((cluster.url("loket"), Some(cluster)))
}

impl Application {
    /// Connects (starting the embedded Postgres when no `DATABASE_URL` is set), migrates, loads
    /// demo data when configured, and binds.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let (url, mut cluster) = database(&settings).await?;
        // The embedded cluster is ours: if it dies under us, start it again.
        if let Some(c) = cluster.as_mut() {
            c.supervise();
        }
        Self::build_with_database(settings, &url, cluster).await
    }

    pub async fn build_with_database(
        settings: Settings,
        url: &str,
        cluster: Option<Cluster>,
    ) -> anyhow::Result<Application> {
        db::migrate(url).await?;
        let pool = db::pool(url, settings.db_pool_size)?;
        // The signalling's ticket redeemers and status writers, and a few requests besides.
        db::warm(&pool, 8).await;
        let secret = settings.load_or_create_secret()?;
        let keys = Keys::derive(&secret);
        if settings.demo_data {
            let mut conn = pool.get().await.context("connecting for demo data")?;
            match crate::demo::load_once(&mut conn, &settings).await? {
                Some(report) => report.print(&settings),
                None => crate::demo::print_where_the_logins_are(&settings),
            }
        }
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let mut settings = settings;
        if settings.public_url.is_empty() {
            let ip = settings.bind.ip();
            let host = if ip.is_unspecified() {
                "127.0.0.1".to_string()
            } else if ip.is_ipv6() {
                format!("[{ip}]")
            } else {
                ip.to_string()
            };
            settings.public_url = format!("http://{host}:{port}");
        }
        let turn = match (settings.turn_relay.listen, &settings.turn_secret) {
            (Some(_), Some(secret)) => Some(std::sync::Arc::new(
                crate::turn::TurnRelay::start(&settings.turn_relay, secret.clone()).await?,
            )),
            _ => None,
        };
        // Clients learn about the built-in relay through the same setting as an external one.
        settings.turn_urls = crate::turn::advertised_urls(&settings.turn_urls, turn.as_deref());
        let channels = crate::notify::Channels::from_settings(&settings.notify)?;
        let ctx = std::sync::Arc::new(Ctx::new(settings, pool, keys));
        let settings = &ctx.settings;
        let outbox = (settings.notify.workers > 0)
            .then(|| crate::notify::Workers::start(ctx.clone(), channels, settings.notify.workers));
        let state = web::Data::new(AppState {
            precheck: crate::precheck::Prechecks::new(
                settings.precheck.clone(),
                settings.bind.ip(),
            )
            .counting_verdicts_in(ctx.metrics.prechecks.clone()),
            turn,
            booking_limiter: RateLimiter::per_minute(settings.booking_rate_per_minute),
            login_limiter: RateLimiter::per_minute(10),
            login_throttle: Default::default(),
            ticket_limiter: RateLimiter::per_minute(TICKETS_PER_MINUTE),
            rooms: crate::signalling::Rooms::start(
                ctx.pool.clone(),
                ctx.feed.clone(),
                settings.max_sockets_per_room,
                ctx.metrics.signalling.clone(),
            ),
            redeemer: crate::signalling::redeemer::Redeemer::start(ctx.pool.clone()),
            recovery_limiter: RateLimiter::per_minute(10),
            outbox: std::sync::Mutex::new(outbox),
            ctx: ctx.clone(),
            draining: Default::default(),
        });
        // Workers beside the server: they stop with the runtime.
        let bus = crate::bus::start(
            url.to_string(),
            ctx.pool.clone(),
            &ctx.feed,
            &ctx.queue_feed,
        );
        crate::privacy::spawn_retention(ctx.clone());
        crate::booking::hold::spawn_reaper(ctx.clone());
        if settings.holds_bookings() {
            // Where a demo finds the codes: no channel reaches phones, so the Outbox page.
            tracing::info!(
                mode = settings.booking_confirmation.as_str(),
                minutes = settings.hold_minutes,
                codes_on_outbox_page = !settings.notify.reaches_phones(),
                "bookings are held until confirmed by the code sent to their phone"
            );
        }
        let server = run(listener, state.clone())?;
        Ok(Application {
            port,
            server,
            state,
            cluster,
            bus,
            stop: Default::default(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A trigger that stops the server as SIGTERM would (for tests and embedding).
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.stop.clone())
    }

    /// Serves until Ctrl-C / SIGTERM (or [`StopHandle::stop`]), then stops the embedded
    /// Postgres (if ours). On the way down it first drains: `/readyz` answers 503 for
    /// `LOKET_DRAIN_SECONDS`, so a load balancer's health check sends new requests and sockets to
    /// the other nodes; then every signalling socket is told `closed {reason: "server_restart"}`,
    /// so clients reconnect at once (through the balancer, elsewhere) and the graceful shutdown
    /// does not wait for long-lived sockets.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Application {
            server,
            cluster,
            state,
            bus,
            stop,
            ..
        } = self;
        let handle = server.handle();
        let draining = state.clone();
        let watcher = tokio::spawn(async move {
            tokio::select! {
                () = shutdown_signal() => {}
                () = stop.notified() => {}
            }
            draining.start_draining();
            let drain = std::time::Duration::from_secs(draining.settings.drain_seconds);
            if !drain.is_zero() {
                tracing::info!(seconds = drain.as_secs(), "draining: /readyz answers 503");
                tokio::time::sleep(drain).await;
            }
            draining.rooms.shutdown().await;
            handle.stop(true).await;
        });
        let result = server.await;
        watcher.abort();
        state.rooms.shutdown().await;
        let outbox = state.outbox.lock().ok().and_then(|mut w| w.take());
        if let Some(workers) = outbox {
            workers.shutdown().await;
        }
        if let Some(turn) = &state.turn {
            turn.close().await;
        }
        bus.stop();
        if let Some(mut c) = cluster {
            tokio::task::spawn_blocking(move || c.stop())
                .await
                .context("stopping Postgres")??;
        }
        result.context("server")
    }
}

/// Stops a running [`Application`].
#[derive(Clone)]
pub struct StopHandle(std::sync::Arc<tokio::sync::Notify>);

impl StopHandle {
    pub fn stop(&self) {
        self.0.notify_one();
    }
}

/// Ctrl-C or SIGTERM. actix-web listens for them too and starts its graceful stop; this one
/// closes the signalling sockets alongside.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

fn run(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Server> {
    // std listens with a backlog of 128 and actix keeps a listener it is handed as it is. After
    // a restart every signalling client reconnects at once: let the kernel queue them.
    {
        use std::os::fd::AsRawFd;
        // SAFETY: listen(2) on a socket this function owns; a failure leaves the old backlog.
        let _ = unsafe { libc::listen(listener.as_raw_fd(), 4096) };
    }
    let json_cfg = web::JsonConfig::default()
        .limit(16 * 1024)
        .error_handler(routes::json_error);
    let query_cfg = web::QueryConfig::default().error_handler(routes::query_error);
    let path_cfg = web::PathConfig::default().error_handler(routes::path_error);
    let web_dir = state.settings.web_dir.clone();
    let node_name = state.settings.node_name.clone();
    let public_url = state.settings.public_url.clone();
    let server = HttpServer::new(move || {
        let cache_state = state.clone();
        let metrics_state = state.clone();
        App::new()
            // Any successful write may change free times: empty the slot cache (after the
            // write has committed, before the client sees the answer); an admin or staff write
            // may also change who serves what, so it empties the directory too.
            .wrap_fn(move |req, srv| {
                let writes = !matches!(
                    *req.method(),
                    actix_web::http::Method::GET
                        | actix_web::http::Method::HEAD
                        | actix_web::http::Method::OPTIONS
                );
                // Services, staff and hours change only through the admin and staff APIs (the
                // staff's queue actions change none of them).
                let path = req.path();
                let directory = path.starts_with("/api/v1/admin/")
                    || (path.starts_with("/api/v1/staff/")
                        && !path.starts_with("/api/v1/staff/queue/"));
                let state = cache_state.clone();
                let fut = actix_web::dev::Service::call(srv, req);
                async move {
                    let res = fut.await?;
                    if writes && res.status().is_success() {
                        if directory {
                            state.directory.invalidate();
                        }
                        state.slot_cache.invalidate();
                    }
                    Ok(res)
                }
            })
            .wrap(actix_web::middleware::from_fn(routes::edge::edge))
            .wrap(routes::pages::security_headers(&public_url))
            // Which node answered: for operators behind a balancer, and the cluster tests.
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add(("X-Loket-Node", node_name.clone())),
            )
            // Requests per route pattern (never the raw path: bounded labels) and their latency.
            .wrap_fn({
                let state = metrics_state.clone();
                move |req, srv| {
                    let started = std::time::Instant::now();
                    let state = state.clone();
                    let fut = actix_web::dev::Service::call(srv, req);
                    async move {
                        let res = fut.await?;
                        let route = res.request().match_pattern();
                        state.metrics.observe_request(
                            res.request().method().as_str(),
                            route.as_deref().unwrap_or("unmatched"),
                            res.status().as_u16(),
                            started.elapsed().as_secs_f64(),
                        );
                        Ok(res)
                    }
                }
            })
            .wrap(TracingLogger::<LoketRootSpan>::new())
            .app_data(state.clone())
            .app_data(json_cfg.clone())
            .app_data(query_cfg.clone())
            .app_data(path_cfg.clone())
            .configure(|c| routes::configure(c, &web_dir))
    })
    .shutdown_timeout(20)
    // SIGTERM and Ctrl-C are handled in `run_until_stopped`: drain first, then stop.
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}
