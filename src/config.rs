//! Settings read from `LOKET_*` environment variables (DESIGN §7a), with defaults that run a
//! demo on one machine. Secrets live in [`Secret`], whose `Debug` never shows the value.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono_tz::Tz;

pub use crate::secret::Secret;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub env: Environment,
    pub bind: SocketAddr,
    pub public_url: String,
    pub data_dir: PathBuf,
    pub database_url: Option<Secret>,
    /// Token signing key; `None` means "generate once into the data dir" (development only).
    pub secret: Option<Secret>,
    pub timezone: Tz,
    pub min_notice_minutes: i64,
    pub horizon_days: i64,
    pub join_opens_minutes: i64,
    pub join_grace_minutes: i64,
    /// Minutes after the start before a clerk may record a no-show (`LOKET_NO_SHOW_GRACE_MINUTES`).
    pub no_show_grace_minutes: i64,
    /// Minutes a recorded no-show can be taken back (`LOKET_NO_SHOW_UNDO_MINUTES`).
    pub no_show_undo_minutes: i64,
    pub booking_rate_per_minute: u32,
    pub max_active_bookings: i64,
    /// Active bookings one NIK may hold, whatever the phone (`LOKET_MAX_ACTIVE_BOOKINGS_PER_NIK`).
    pub max_active_bookings_per_nik: i64,
    /// Bookings of one service on one local day per phone or NIK
    /// (`LOKET_MAX_BOOKINGS_PER_SERVICE_DAY`).
    pub max_bookings_per_service_day: i64,
    /// Whether a booking is `held` until the code sent to its phone confirms it
    /// (`LOKET_BOOKING_CONFIRMATION`: auto, otp, off; see [`Settings::holds_bookings`]).
    pub booking_confirmation: crate::domain::hold::Confirmation,
    /// Minutes a held booking waits for its code before it is cancelled (`LOKET_HOLD_MINUTES`).
    pub hold_minutes: i64,
    /// Seconds between two looks of this node's reaper for holds whose time is up
    /// (`LOKET_HOLD_REAP_SECONDS`, 1–3600; nothing waits for it, see `booking::hold`).
    pub hold_reap_seconds: u64,
    pub demo_password: Option<Secret>,
    pub max_frame_bytes: usize,
    /// Messages per second one signalling socket may send (bursts of twice that).
    pub signal_rate_per_sec: u32,
    pub stun_urls: Vec<String>,
    pub turn_urls: Vec<String>,
    pub turn_secret: Option<Secret>,
    pub turn_ttl_seconds: i64,
    pub db_pool_size: usize,
    /// Load the MPP Kota Bogor demo data into an empty database at start.
    pub demo_data: bool,
    /// With demo data in development: book and print a demo call at each start ("Coba sekarang",
    /// `demo::call`).
    pub demo_call: bool,
    /// Where the static pages live.
    pub web_dir: PathBuf,
    /// How many sockets one signalling room accepts at once.
    pub max_sockets_per_room: usize,
    /// Seconds without a frame after which a signalling socket counts as dead.
    pub heartbeat_timeout_secs: u64,
    /// The pre-call check (`LOKET_PRECHECK_*`, src/precheck).
    pub precheck: crate::precheck::PrecheckSettings,
    /// The built-in TURN relay (`LOKET_TURN_LISTEN` and friends, src/turn); off by default.
    pub turn_relay: crate::turn::RelaySettings,
    /// Days after an appointment ends before its personal data is wiped; 0 = never.
    pub retention_days: u32,
    /// Seconds `/readyz` answers 503 before a stopping node closes its sockets (behind a load
    /// balancer: longer than its health check takes to notice; 0 = stop at once).
    pub drain_seconds: u64,
    /// This node's name in the `X-Loket-Node` response header and the logs (more than one node).
    pub node_name: String,
    /// Seconds a request body may take to arrive (`LOKET_BODY_TIMEOUT_SECS`, routes::body).
    pub body_timeout_secs: u64,
    /// In production `/metrics` and `/api/v1/openapi.json` answer only with
    /// `Authorization: Bearer <LOKET_METRICS_TOKEN>` (and not at all without one).
    pub metrics_token: Option<Secret>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`LOKET_TRUSTED_PROXIES`, CIDRs).
    pub trusted_proxies: Vec<crate::domain::net::Cidr>,
    /// `LOKET_TRUST_PROXY=1`: the connecting peer is a trusted proxy, whatever its address
    /// (kept for deployments configured before `LOKET_TRUSTED_PROXIES`).
    pub trust_peer_proxy: bool,
    /// Messages to citizens (`LOKET_WHATSAPP_*`, `LOKET_SMTP_URL`, `LOKET_SMS_*`, the outbox's
    /// timings; src/notify).
    pub notify: NotifySettings,
    /// How long after its (last) call a queue number may be skipped.
    pub queue_grace_minutes: i64,
    /// Numbers that may wait in one service's line at once.
    pub queue_max_waiting: i64,
}

/// WhatsApp Business Cloud API (DESIGN §9).
#[derive(Clone, Debug)]
pub struct WhatsappSettings {
    /// `https://graph.facebook.com/v21.0` unless set.
    pub api_url: String,
    pub phone_number_id: String,
    pub token: Secret,
}

/// An SMTP relay.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// `smtp://host:port` (STARTTLS when offered), `smtps://user:pass@host`.
    pub url: Secret,
    pub from: String,
}

/// A generic HTTP SMS gateway: `POST {url}` with a bearer token and JSON `{to, text, reference}`.
#[derive(Clone, Debug)]
pub struct SmsSettings {
    pub url: String,
    pub token: Secret,
}

/// The outbox and its channels. A channel whose settings are missing records `skipped`.
#[derive(Clone, Debug)]
pub struct NotifySettings {
    pub whatsapp: Option<WhatsappSettings>,
    /// Checks the webhook handshake (`hub.verify_token`).
    pub whatsapp_verify_token: Option<Secret>,
    /// Signs the webhook bodies (`X-Hub-Signature-256`).
    pub whatsapp_app_secret: Option<Secret>,
    pub smtp: Option<SmtpSettings>,
    pub sms: Option<SmsSettings>,
    pub quiet_hours: crate::domain::notify::QuietHours,
    /// Run the outbox workers in this process (`LOKET_OUTBOX_WORKERS`, 0 = none).
    pub workers: usize,
    /// How often an idle worker looks for due messages (other nodes' new messages and
    /// reminders coming due; this node's own changes wake it at once).
    pub poll_ms: u64,
    /// Messages claimed at once, and sent at the same time at most.
    pub batch: i32,
    pub concurrency: usize,
    /// How long a worker holds a claimed message before another may take it over.
    pub lease_ms: i32,
    /// One provider request's time limit.
    pub send_timeout_ms: u64,
    pub retry: crate::domain::notify::RetryPolicy,
    /// No `delivered` from WhatsApp this long after `sent`: send the SMS too.
    pub whatsapp_delivery_timeout_secs: i64,
    /// After a crash mid-send, how long to wait for WhatsApp's status report before sending again.
    pub whatsapp_confirm_grace_secs: i64,
}

impl NotifySettings {
    /// Whether a channel to phones (WhatsApp or SMS) is configured.
    pub fn reaches_phones(&self) -> bool {
        self.whatsapp.is_some() || self.sms.is_some()
    }

    fn from_env() -> anyhow::Result<NotifySettings> {
        let whatsapp = match (
            var("LOKET_WHATSAPP_PHONE_NUMBER_ID"),
            var("LOKET_WHATSAPP_TOKEN"),
        ) {
            (Some(id), Some(token)) => Some(WhatsappSettings {
                api_url: var("LOKET_WHATSAPP_API_URL")
                    .unwrap_or_else(|| "https://graph.facebook.com/v21.0".into())
                    .trim_end_matches('/')
                    .to_string(),
                phone_number_id: id,
                token: Secret::new(token),
            }),
            (None, None) => None,
            _ => bail!("LOKET_WHATSAPP_PHONE_NUMBER_ID and LOKET_WHATSAPP_TOKEN go together"),
        };
        let smtp = match var("LOKET_SMTP_URL") {
            Some(url) => Some(SmtpSettings {
                url: Secret::new(url),
                from: var("LOKET_MAIL_FROM")
                    .ok_or_else(|| anyhow::anyhow!("LOKET_SMTP_URL needs LOKET_MAIL_FROM"))?,
            }),
            None => None,
        };
        let sms = match (var("LOKET_SMS_URL"), var("LOKET_SMS_TOKEN")) {
            (Some(url), Some(token)) => Some(SmsSettings {
                url,
                token: Secret::new(token),
            }),
            (None, None) => None,
            _ => bail!("LOKET_SMS_URL and LOKET_SMS_TOKEN go together"),
        };
        let quiet_hours = match var("LOKET_QUIET_HOURS") {
            None => Default::default(),
            Some(raw) => crate::domain::notify::QuietHours::parse(&raw).ok_or_else(|| {
                anyhow::anyhow!("LOKET_QUIET_HOURS must look like 21:00-06:00 (or off)")
            })?,
        };
        let d = NotifySettings::default();
        let n = NotifySettings {
            whatsapp,
            whatsapp_verify_token: var("LOKET_WHATSAPP_VERIFY_TOKEN").map(Secret::new),
            whatsapp_app_secret: var("LOKET_WHATSAPP_APP_SECRET").map(Secret::new),
            smtp,
            sms,
            quiet_hours,
            workers: parse_var("LOKET_OUTBOX_WORKERS", d.workers)?,
            poll_ms: parse_var("LOKET_OUTBOX_POLL_MS", d.poll_ms)?,
            batch: parse_var("LOKET_OUTBOX_BATCH", d.batch)?,
            concurrency: parse_var("LOKET_OUTBOX_CONCURRENCY", d.concurrency)?,
            lease_ms: parse_var("LOKET_OUTBOX_LEASE_MS", d.lease_ms)?,
            send_timeout_ms: parse_var("LOKET_OUTBOX_SEND_TIMEOUT_MS", d.send_timeout_ms)?,
            retry: crate::domain::notify::RetryPolicy {
                base: chrono::Duration::milliseconds(parse_var(
                    "LOKET_OUTBOX_RETRY_BASE_MS",
                    d.retry.base.num_milliseconds(),
                )?),
                cap: chrono::Duration::milliseconds(parse_var(
                    "LOKET_OUTBOX_RETRY_CAP_MS",
                    d.retry.cap.num_milliseconds(),
                )?),
                max_attempts: parse_var("LOKET_OUTBOX_MAX_ATTEMPTS", d.retry.max_attempts)?,
            },
            whatsapp_delivery_timeout_secs: parse_var(
                "LOKET_WHATSAPP_DELIVERY_TIMEOUT_SECS",
                d.whatsapp_delivery_timeout_secs,
            )?,
            whatsapp_confirm_grace_secs: parse_var(
                "LOKET_WHATSAPP_CONFIRM_GRACE_SECS",
                d.whatsapp_confirm_grace_secs,
            )?,
        };
        n.check()?;
        Ok(n)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.workers > 64 {
            bail!("LOKET_OUTBOX_WORKERS must be 0..=64");
        }
        if !(1..=1000).contains(&self.batch) || !(1..=1000).contains(&self.concurrency) {
            bail!("LOKET_OUTBOX_BATCH and LOKET_OUTBOX_CONCURRENCY must be 1..=1000");
        }
        if !(10..=600_000).contains(&self.poll_ms) {
            bail!("LOKET_OUTBOX_POLL_MS must be 10..=600000");
        }
        if (self.lease_ms as u64) < self.send_timeout_ms * 2 {
            bail!("LOKET_OUTBOX_LEASE_MS must be at least twice LOKET_OUTBOX_SEND_TIMEOUT_MS");
        }
        if self.retry.base <= chrono::Duration::zero()
            || self.retry.cap < self.retry.base
            || !(1..=50).contains(&self.retry.max_attempts)
        {
            bail!("the outbox retry settings need 0 < base <= cap and 1..=50 attempts");
        }
        Ok(())
    }
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            whatsapp: None,
            whatsapp_verify_token: None,
            whatsapp_app_secret: None,
            smtp: None,
            sms: None,
            quiet_hours: Default::default(),
            workers: 1,
            poll_ms: 1000,
            batch: 64,
            concurrency: 32,
            lease_ms: 60_000,
            send_timeout_ms: 10_000,
            retry: Default::default(),
            whatsapp_delivery_timeout_secs: 600,
            whatsapp_confirm_grace_secs: 120,
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_var<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<T>()
            .map_err(|e| anyhow::anyhow!("{name}: cannot read {raw:?}: {e}")),
    }
}

fn list_var(name: &str) -> Vec<String> {
    var(name)
        .map(|v| {
            v.split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Settings> {
        let env = match var("LOKET_ENV").as_deref() {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => bail!("LOKET_ENV must be development or production, not {other:?}"),
        };
        let bind: SocketAddr = parse_var("LOKET_BIND", "127.0.0.1:8080".parse()?)?;
        // Empty: filled in from the bound address once listening (the port may be 0 = any).
        let public_url = var("LOKET_PUBLIC_URL")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        let timezone: Tz = var("LOKET_TIMEZONE")
            .unwrap_or_else(|| "Asia/Jakarta".into())
            .parse()
            .map_err(|e| anyhow::anyhow!("LOKET_TIMEZONE: {e}"))?;
        let secret = var("LOKET_SECRET").map(Secret::new);
        if env == Environment::Production && secret.is_none() {
            bail!("LOKET_SECRET is required when LOKET_ENV=production");
        }
        if let Some(s) = &secret
            && s.expose().len() < 32
        {
            bail!("LOKET_SECRET must be at least 32 characters");
        }
        if let Some(s) = &secret
            && !s.is_strong()
        {
            // It signs every token and derives the NIK key: a guessable one is no key.
            if env == Environment::Production {
                bail!(
                    "LOKET_SECRET has too little entropy (repeated, patterned or guessable); use \
                     32 or more random characters, e.g. the output of `openssl rand -hex 32`"
                );
            }
            tracing::warn!("LOKET_SECRET has too little entropy; production would refuse it");
        }
        if env == Environment::Production && !public_url.starts_with("https://") {
            bail!(
                "LOKET_PUBLIC_URL must be the https:// address citizens use when \
                 LOKET_ENV=production (tokens, cookies and links depend on it)"
            );
        }
        let settings = Settings {
            env,
            bind,
            public_url,
            data_dir: PathBuf::from(var("LOKET_DATA_DIR").unwrap_or_else(|| "./.loket".into())),
            database_url: var("DATABASE_URL").map(Secret::new),
            secret,
            timezone,
            min_notice_minutes: parse_var("LOKET_MIN_NOTICE_MINUTES", 120)?,
            horizon_days: parse_var("LOKET_HORIZON_DAYS", 30)?,
            join_opens_minutes: parse_var("LOKET_JOIN_OPENS_MINUTES", 15)?,
            join_grace_minutes: parse_var("LOKET_JOIN_GRACE_MINUTES", 30)?,
            no_show_grace_minutes: parse_var("LOKET_NO_SHOW_GRACE_MINUTES", 10)?,
            no_show_undo_minutes: parse_var("LOKET_NO_SHOW_UNDO_MINUTES", 15)?,
            booking_rate_per_minute: parse_var("LOKET_BOOKING_RATE_PER_MINUTE", 20)?,
            max_active_bookings: parse_var("LOKET_MAX_ACTIVE_BOOKINGS", 2)?,
            max_bookings_per_service_day: parse_var("LOKET_MAX_BOOKINGS_PER_SERVICE_DAY", 1)?,
            max_active_bookings_per_nik: parse_var("LOKET_MAX_ACTIVE_BOOKINGS_PER_NIK", 2)?,
            booking_confirmation: match var("LOKET_BOOKING_CONFIRMATION") {
                None => Default::default(),
                Some(raw) => crate::domain::hold::Confirmation::parse(&raw).ok_or_else(|| {
                    anyhow::anyhow!("LOKET_BOOKING_CONFIRMATION must be auto, otp or off")
                })?,
            },
            hold_minutes: parse_var("LOKET_HOLD_MINUTES", 10)?,
            hold_reap_seconds: parse_var("LOKET_HOLD_REAP_SECONDS", 15)?,
            demo_password: var("LOKET_DEMO_PASSWORD").map(Secret::new),
            max_frame_bytes: parse_var("LOKET_MAX_FRAME_BYTES", 65_536)?,
            signal_rate_per_sec: parse_var("LOKET_SIGNAL_RATE_PER_SEC", 50)?,
            stun_urls: list_var("LOKET_STUN_URLS"),
            turn_urls: list_var("LOKET_TURN_URLS"),
            turn_secret: var("LOKET_TURN_SECRET").map(Secret::new),
            turn_ttl_seconds: parse_var("LOKET_TURN_TTL_SECONDS", 3600)?,
            db_pool_size: parse_var("LOKET_DB_POOL_SIZE", 16)?,
            // Demo accounts in production only when asked for by name.
            demo_data: parse_var("LOKET_DEMO_DATA", env == Environment::Development)?,
            demo_call: parse_var("LOKET_DEMO_CALL", true)?,
            web_dir: PathBuf::from(var("LOKET_WEB_DIR").unwrap_or_else(default_web_dir)),
            max_sockets_per_room: parse_var("LOKET_MAX_SOCKETS_PER_ROOM", 4)?,
            heartbeat_timeout_secs: parse_var("LOKET_HEARTBEAT_TIMEOUT_SECS", 30)?,
            precheck: crate::precheck::PrecheckSettings::from_env()?,
            turn_relay: crate::turn::RelaySettings::from_env()?,
            retention_days: parse_var("LOKET_RETENTION_DAYS", 180)?,
            drain_seconds: parse_var("LOKET_DRAIN_SECONDS", 0)?,
            node_name: var("LOKET_NODE_NAME").unwrap_or_else(default_node_name),
            body_timeout_secs: parse_var("LOKET_BODY_TIMEOUT_SECS", 10)?,
            metrics_token: var("LOKET_METRICS_TOKEN").map(Secret::new),
            trusted_proxies: list_var("LOKET_TRUSTED_PROXIES")
                .iter()
                .map(|c| crate::domain::net::Cidr::parse(c))
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow::anyhow!("LOKET_TRUSTED_PROXIES: {e}"))?,
            trust_peer_proxy: var("LOKET_TRUST_PROXY").as_deref() == Some("1"),
            notify: NotifySettings::from_env()?,
            queue_grace_minutes: parse_var("LOKET_QUEUE_GRACE_MINUTES", 3)?,
            queue_max_waiting: parse_var("LOKET_QUEUE_MAX_WAITING", 5000)?,
        };
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> anyhow::Result<()> {
        if !(0..=7 * 24 * 60).contains(&self.min_notice_minutes) {
            bail!("LOKET_MIN_NOTICE_MINUTES must be between 0 and 10080");
        }
        if !(1..=366).contains(&self.horizon_days) {
            bail!("LOKET_HORIZON_DAYS must be between 1 and 366");
        }
        if !(0..=24 * 60).contains(&self.join_opens_minutes)
            || !(0..=24 * 60).contains(&self.join_grace_minutes)
        {
            bail!("LOKET_JOIN_OPENS_MINUTES and LOKET_JOIN_GRACE_MINUTES must be 0..=1440");
        }
        if !(0..=24 * 60).contains(&self.no_show_grace_minutes)
            || !(0..=24 * 60).contains(&self.no_show_undo_minutes)
        {
            bail!("LOKET_NO_SHOW_GRACE_MINUTES and LOKET_NO_SHOW_UNDO_MINUTES must be 0..=1440");
        }
        if !(1..=100).contains(&self.max_active_bookings) {
            bail!("LOKET_MAX_ACTIVE_BOOKINGS must be between 1 and 100");
        }
        if !(1..=100).contains(&self.max_active_bookings_per_nik) {
            bail!("LOKET_MAX_ACTIVE_BOOKINGS_PER_NIK must be between 1 and 100");
        }
        if !(1..=100).contains(&self.max_bookings_per_service_day) {
            bail!("LOKET_MAX_BOOKINGS_PER_SERVICE_DAY must be between 1 and 100");
        }
        if !(2..=60).contains(&self.hold_minutes) {
            bail!("LOKET_HOLD_MINUTES must be between 2 and 60");
        }
        if !(1..=3600).contains(&self.hold_reap_seconds) {
            bail!("LOKET_HOLD_REAP_SECONDS must be between 1 and 3600");
        }
        if self.env == Environment::Production
            && self.booking_confirmation == crate::domain::hold::Confirmation::Otp
            && !self.notify.reaches_phones()
        {
            // Nobody could ever read the code: every booking would expire unconfirmed.
            bail!(
                "LOKET_BOOKING_CONFIRMATION=otp needs a channel to phones (LOKET_WHATSAPP_* or \
                 LOKET_SMS_*) when LOKET_ENV=production"
            );
        }
        if !(1024..=1 << 20).contains(&self.max_frame_bytes) {
            bail!("LOKET_MAX_FRAME_BYTES must be between 1024 and 1048576");
        }
        if self.node_name.len() > 63
            || !self
                .node_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            bail!("LOKET_NODE_NAME must be at most 63 letters, digits, '-', '_' or '.'");
        }
        if self.drain_seconds > 60 {
            bail!("LOKET_DRAIN_SECONDS must be between 0 and 60");
        }
        if self.retention_days > 3650 {
            bail!("LOKET_RETENTION_DAYS must be between 0 (never) and 3650");
        }
        if !(1..=512).contains(&self.db_pool_size) {
            bail!("LOKET_DB_POOL_SIZE must be between 1 and 512");
        }
        if !(1..=100_000).contains(&self.signal_rate_per_sec) {
            bail!("LOKET_SIGNAL_RATE_PER_SEC must be between 1 and 100000");
        }
        if !(1..=300).contains(&self.body_timeout_secs) {
            bail!("LOKET_BODY_TIMEOUT_SECS must be between 1 and 300");
        }
        if !self.turn_urls.is_empty() && self.turn_secret.is_none() {
            bail!("LOKET_TURN_URLS needs LOKET_TURN_SECRET (the coturn static-auth-secret)");
        }
        if !(0..=120).contains(&self.queue_grace_minutes) {
            bail!("LOKET_QUEUE_GRACE_MINUTES must be between 0 and 120");
        }
        if !(1..=100_000).contains(&self.queue_max_waiting) {
            bail!("LOKET_QUEUE_MAX_WAITING must be between 1 and 100000");
        }
        if self.turn_relay.listen.is_some() && self.turn_secret.is_none() {
            bail!("LOKET_TURN_LISTEN (the built-in TURN relay) needs LOKET_TURN_SECRET");
        }
        Ok(())
    }

    /// When a no-show may be recorded and taken back.
    pub fn no_show_rule(&self) -> crate::domain::appointment::NoShowRule {
        crate::domain::appointment::NoShowRule::from_minutes(
            self.no_show_grace_minutes,
            self.no_show_undo_minutes,
        )
    }

    /// Settings for tests and tools: development defaults, no environment read.
    pub fn for_tests(data_dir: PathBuf) -> Settings {
        Settings {
            env: Environment::Development,
            bind: ([127, 0, 0, 1], 0).into(),
            public_url: String::new(),
            data_dir,
            database_url: None,
            secret: Some(Secret::new(
                "test-secret-test-secret-test-secret-0123456789",
            )),
            timezone: chrono_tz::Asia::Jakarta,
            min_notice_minutes: 120,
            horizon_days: 30,
            join_opens_minutes: 15,
            join_grace_minutes: 30,
            no_show_grace_minutes: 10,
            no_show_undo_minutes: 15,
            booking_rate_per_minute: 0,
            max_active_bookings: 2,
            // Tests book several times of one service and day from one phone, and share one
            // demo NIK; the tests of these limits set them themselves.
            max_bookings_per_service_day: 100,
            max_active_bookings_per_nik: 100,
            // Existing tests book and expect `booked` (some with a WhatsApp provider, which
            // `auto` would turn into holds); the tests of holds turn it on themselves.
            booking_confirmation: crate::domain::hold::Confirmation::Off,
            hold_minutes: 10,
            hold_reap_seconds: 15,
            demo_password: None,
            max_frame_bytes: 65_536,
            signal_rate_per_sec: 50,
            stun_urls: vec![],
            turn_urls: vec![],
            turn_secret: None,
            turn_ttl_seconds: 3600,
            db_pool_size: 8,
            demo_data: false,
            demo_call: true,
            web_dir: PathBuf::from(default_web_dir()),
            max_sockets_per_room: 4,
            heartbeat_timeout_secs: 30,
            precheck: Default::default(),
            turn_relay: Default::default(),
            retention_days: 180,
            drain_seconds: 0,
            node_name: "test".into(),
            body_timeout_secs: 10,
            metrics_token: None,
            trusted_proxies: vec![],
            trust_peer_proxy: false,
            notify: Default::default(),
            queue_grace_minutes: 3,
            queue_max_waiting: 5000,
        }
    }

    /// Whether new bookings are `held` until confirmed by the code sent to their phone.
    pub fn holds_bookings(&self) -> bool {
        self.booking_confirmation
            .holds(self.notify.reaches_phones())
    }

    /// The outbox's planning rules for this deployment.
    pub fn notify_rules(&self) -> crate::domain::notify::Rules {
        crate::domain::notify::Rules {
            tz: self.timezone,
            join_opens_minutes: self.join_opens_minutes,
            quiet: self.notify.quiet_hours,
            retry: self.notify.retry,
        }
    }

    /// The signing secret: from the environment, or generated once into the data dir.
    pub fn load_or_create_secret(&self) -> anyhow::Result<Secret> {
        if let Some(s) = &self.secret {
            return Ok(s.clone());
        }
        let path = self.data_dir.join("secret");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            let existing = existing.trim().to_string();
            if existing.len() >= 32 {
                return Ok(Secret::new(existing));
            }
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let value: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        write_private(&path, &value)?;
        Ok(Secret::new(value))
    }
}

/// Writes a file readable only by its owner.
pub fn write_private(path: &std::path::Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

/// The machine's host name, or `loket`.
fn default_node_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 63
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        })
        .unwrap_or_else(|| "loket".into())
}

fn default_web_dir() -> String {
    // A release binary run from the repository, `cargo run` and the tests all find `web/` here.
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/web");
    if std::path::Path::new("web").is_dir() {
        "web".into()
    } else {
        manifest.into()
    }
}

#[cfg(test)]
mod tests {
    use super::Settings;

    #[test]
    fn the_hold_reaper_period_is_refused_outside_one_second_to_an_hour() {
        let mut s = Settings::for_tests("/tmp".into());
        for (seconds, ok) in [
            (0, false),
            (1, true),
            (15, true),
            (3600, true),
            (3601, false),
        ] {
            s.hold_reap_seconds = seconds;
            let checked = s.check();
            assert_eq!(checked.is_ok(), ok, "{seconds} s: {checked:?}");
            if let Err(e) = checked {
                assert!(e.to_string().contains("LOKET_HOLD_REAP_SECONDS"), "{e}");
            }
        }
    }
}
