//! The pre-call check (issue 5, docs/precheck.md): before their appointment a citizen's browser
//! opens a WebRTC connection to Loket itself; Loket echoes their camera and microphone back,
//! measures the path, and gives a verdict (`good`, `audio_only`, `will_not_connect`) with
//! reasons. The last result is stored on the appointment for the clerk's timeline.
//!
//! This module owns the limits: how many checks run at once (a semaphore; the excess gets 503),
//! how often one appointment and one address may start one (token buckets), how long a check may
//! live (≤ 30 s, ends early when idle), and the bounded table of recent results the browser polls.
//! [`peer`] owns the WebRTC side, [`verdict`] the judgement, [`meter`] the per-stream arithmetic,
//! [`probe`] the measurement of the path's bandwidth.

pub mod client;
pub mod meter;
pub mod peer;
pub mod probe;
pub mod start;
pub mod verdict;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::DbPool;
use crate::domain::ids::AppointmentId;
use crate::limits::RateLimiter;
use verdict::{Measurements, ReasonOut, Verdict};

/// No check lives longer than this, whatever the settings say (the limit).
pub const HARD_LIMIT: Duration = Duration::from_secs(30);
/// Candidate gathering before answering (host candidates only: fast).
const GATHER_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a finished result stays in memory for the browser to fetch (then: the database).
const KEEP_RESULTS: Duration = Duration::from_secs(10 * 60);

/// Settings of the pre-call check (`LOKET_PRECHECK_*`).
#[derive(Clone, Debug)]
pub struct PrecheckSettings {
    /// `LOKET_PRECHECK_MAX_CONCURRENT`: checks running at once; more get 503.
    pub max_concurrent: usize,
    /// `LOKET_PRECHECK_RATE_PER_APPOINTMENT`: checks one appointment may start per minute.
    pub per_appointment_per_minute: u32,
    /// `LOKET_PRECHECK_RATE_PER_IP`: checks one client address may start per minute.
    pub per_ip_per_minute: u32,
    /// `LOKET_PRECHECK_CONNECT_SECONDS`: how long the connection may take to come up.
    pub connect_secs: u64,
    /// `LOKET_PRECHECK_SECONDS`: how long media is measured once connected.
    pub measure_secs: u64,
    /// `LOKET_PRECHECK_IDLE_SECONDS`: no media for this long ends a check early.
    pub idle_secs: u64,
    /// `LOKET_PRECHECK_IP`: the address Loket's peer binds. Default: the HTTP bind address (a
    /// wildcard binds every non-loopback interface).
    pub ip: Option<IpAddr>,
    /// `LOKET_PRECHECK_PUBLIC_IP`: the public address of this machine behind a 1:1 NAT.
    pub public_ip: Option<IpAddr>,
    /// `LOKET_PRECHECK_TCP`: also offer ICE-TCP candidates (default on).
    pub tcp: bool,
    /// `LOKET_PRECHECK_PROBE_KBPS`: the rate of the bandwidth probe's train (0 = no probe: the
    /// camera's bitrate is judged instead, as before the probe existed).
    pub probe_kbps: u32,
}

impl Default for PrecheckSettings {
    fn default() -> Self {
        PrecheckSettings {
            max_concurrent: 40,
            per_appointment_per_minute: 3,
            per_ip_per_minute: 10,
            connect_secs: 10,
            measure_secs: 12,
            idle_secs: 5,
            ip: None,
            public_ip: None,
            tcp: true,
            probe_kbps: probe::DEFAULT_PROBE_KBPS,
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match env(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}: cannot read {v:?}: {e}")),
    }
}

impl PrecheckSettings {
    pub fn from_env() -> anyhow::Result<PrecheckSettings> {
        let d = PrecheckSettings::default();
        let s = PrecheckSettings {
            max_concurrent: parse("LOKET_PRECHECK_MAX_CONCURRENT", d.max_concurrent)?,
            per_appointment_per_minute: parse(
                "LOKET_PRECHECK_RATE_PER_APPOINTMENT",
                d.per_appointment_per_minute,
            )?,
            per_ip_per_minute: parse("LOKET_PRECHECK_RATE_PER_IP", d.per_ip_per_minute)?,
            connect_secs: parse("LOKET_PRECHECK_CONNECT_SECONDS", d.connect_secs)?,
            measure_secs: parse("LOKET_PRECHECK_SECONDS", d.measure_secs)?,
            idle_secs: parse("LOKET_PRECHECK_IDLE_SECONDS", d.idle_secs)?,
            ip: env("LOKET_PRECHECK_IP")
                .map(|v| v.trim().parse())
                .transpose()
                .map_err(|e| anyhow::anyhow!("LOKET_PRECHECK_IP: {e}"))?,
            public_ip: env("LOKET_PRECHECK_PUBLIC_IP")
                .map(|v| v.trim().parse())
                .transpose()
                .map_err(|e| anyhow::anyhow!("LOKET_PRECHECK_PUBLIC_IP: {e}"))?,
            tcp: parse("LOKET_PRECHECK_TCP", d.tcp)?,
            probe_kbps: parse("LOKET_PRECHECK_PROBE_KBPS", d.probe_kbps)?,
        };
        s.check()?;
        Ok(s)
    }

    pub fn check(&self) -> anyhow::Result<()> {
        if !(1..=1000).contains(&self.max_concurrent) {
            bail!("LOKET_PRECHECK_MAX_CONCURRENT must be 1..=1000");
        }
        if !(1..=20).contains(&self.connect_secs) || !(1..=20).contains(&self.measure_secs) {
            bail!("LOKET_PRECHECK_CONNECT_SECONDS and LOKET_PRECHECK_SECONDS must be 1..=20");
        }
        if self.connect_secs + self.measure_secs + GATHER_TIMEOUT.as_secs() > HARD_LIMIT.as_secs() {
            bail!("connect + measure seconds must leave a check within 30 s (at most 27 together)");
        }
        if !(1..=20).contains(&self.idle_secs) {
            bail!("LOKET_PRECHECK_IDLE_SECONDS must be 1..=20");
        }
        // Slower than twice the verdict's threshold, a train could not show a path is fast
        // enough; faster than 5 Mbit/s, it would cost more than a call does.
        let min = 2 * verdict::BANDWIDTH_MIN_KBPS as u32;
        if self.probe_kbps != 0 && !(min..=5000).contains(&self.probe_kbps) {
            bail!("LOKET_PRECHECK_PROBE_KBPS must be 0 (off) or {min}..=5000");
        }
        Ok(())
    }

    fn timing(&self) -> peer::Timing {
        peer::Timing {
            connect: Duration::from_secs(self.connect_secs),
            measure: Duration::from_secs(self.measure_secs),
            idle: Duration::from_secs(self.idle_secs),
        }
    }

    /// The longest a check can take, as told to the browser.
    pub fn max_seconds(&self) -> u64 {
        (self.connect_secs + self.measure_secs + GATHER_TIMEOUT.as_secs()).min(HARD_LIMIT.as_secs())
    }
}

/// The result of one check, as the API returns and the database stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PrecheckResult {
    pub id: Uuid,
    pub verdict: Verdict,
    /// Worst first; empty when the verdict is `good`.
    pub reasons: Vec<ReasonOut>,
    pub measurements: Measurements,
    pub finished_at: DateTime<Utc>,
}

/// Where a check is, for `GET /precheck/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum CheckState {
    Running {
        id: Uuid,
    },
    /// Boxed: a result is many times the size of the running state.
    Finished(Box<PrecheckResult>),
}

struct Entry {
    appointment: AppointmentId,
    created: Instant,
    result: Option<PrecheckResult>,
}

/// Why a check could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("all check slots are busy")]
    Busy,
    #[error("bad offer: {0}")]
    BadOffer(String),
    #[error("webrtc: {0}")]
    Webrtc(String),
}

/// A started check: its id and Loket's answer.
pub struct Started {
    pub id: Uuid,
    pub answer_sdp: String,
}

/// The pre-call check service, one per process (in `AppState`).
pub struct Prechecks {
    settings: PrecheckSettings,
    peer: peer::PeerConfig,
    permits: Arc<Semaphore>,
    live: Arc<AtomicUsize>,
    by_appointment: RateLimiter,
    by_ip: RateLimiter,
    entries: Arc<Mutex<HashMap<Uuid, Entry>>>,
}

/// Counts a check as live from before its sockets exist until after they are closed.
struct LiveGuard(Arc<AtomicUsize>);

impl LiveGuard {
    fn new(live: &Arc<AtomicUsize>) -> LiveGuard {
        live.fetch_add(1, Ordering::AcqRel);
        LiveGuard(Arc::clone(live))
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Prechecks {
    /// `bind_ip` is the HTTP listener's address, the default for Loket's peer.
    pub fn new(settings: PrecheckSettings, bind_ip: IpAddr) -> Prechecks {
        let peer = peer::PeerConfig {
            ip: settings.ip.unwrap_or(bind_ip),
            public_ip: settings.public_ip,
            tcp: settings.tcp,
            gather_timeout: GATHER_TIMEOUT,
            probe_kbps: settings.probe_kbps,
        };
        Prechecks {
            permits: Arc::new(Semaphore::new(settings.max_concurrent)),
            live: Arc::new(AtomicUsize::new(0)),
            by_appointment: RateLimiter::per_minute(settings.per_appointment_per_minute),
            by_ip: RateLimiter::per_minute(settings.per_ip_per_minute),
            entries: Arc::default(),
            peer,
            settings,
        }
    }

    pub fn settings(&self) -> &PrecheckSettings {
        &self.settings
    }

    /// Checks holding sockets right now (returns to 0 when all have ended: the leak test).
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Starts a check for `appointment` from `client_ip` with the browser's offer; returns the
    /// answer once candidates are gathered. The check then runs on its own task and stores its
    /// result in memory and, through `pool`, on the appointment.
    pub async fn start(
        &self,
        appointment: AppointmentId,
        client_ip: &str,
        offer_sdp: &str,
        pool: DbPool,
    ) -> Result<Started, StartError> {
        // Cheap refusals first: shape, then rates, then a slot.
        peer::inspect_offer(offer_sdp).map_err(|e| StartError::BadOffer(e.to_string()))?;
        self.by_appointment
            .check(&appointment.to_string())
            .map_err(|s| StartError::RateLimited {
                retry_after_secs: s,
            })?;
        self.by_ip
            .check(client_ip)
            .map_err(|s| StartError::RateLimited {
                retry_after_secs: s,
            })?;
        let permit = Arc::clone(&self.permits)
            .try_acquire_owned()
            .map_err(|_| StartError::Busy)?;
        let guard = LiveGuard::new(&self.live);
        let (answer_sdp, check) =
            match tokio::time::timeout(GATHER_TIMEOUT * 2, peer::answer(offer_sdp, &self.peer))
                .await
            {
                Ok(Ok(v)) => v,
                Ok(Err(peer::PeerError::BadOffer(e))) => return Err(StartError::BadOffer(e)),
                Ok(Err(e)) => return Err(StartError::Webrtc(e.to_string())),
                Err(_) => return Err(StartError::Webrtc("answer timed out".into())),
            };
        let id = Uuid::new_v4();
        self.remember(id, appointment);
        tokio::spawn(run(
            check,
            self.settings.timing(),
            id,
            appointment,
            Arc::clone(&self.entries),
            pool,
            permit,
            guard,
        ));
        Ok(Started { id, answer_sdp })
    }

    fn remember(&self, id: Uuid, appointment: AppointmentId) {
        let Ok(mut e) = self.entries.lock() else {
            return;
        };
        let now = Instant::now();
        e.retain(|_, v| v.result.is_none() || now.duration_since(v.created) < KEEP_RESULTS);
        // Bounded: running checks are capped by the semaphore; finished ones make room oldest
        // first. The database keeps the last result of every appointment anyway.
        let cap = 4 * self.settings.max_concurrent + 64;
        while e.len() >= cap {
            let oldest = e
                .iter()
                .filter(|(_, v)| v.result.is_some())
                .min_by_key(|(_, v)| v.created)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => {
                    e.remove(&k);
                }
                None => break,
            }
        }
        e.insert(
            id,
            Entry {
                appointment,
                created: now,
                result: None,
            },
        );
    }

    /// The state of a check this appointment started and that is still in memory.
    pub fn state(&self, id: Uuid, appointment: AppointmentId) -> Option<CheckState> {
        let e = self.entries.lock().ok()?;
        let entry = e.get(&id).filter(|v| v.appointment == appointment)?;
        Some(match &entry.result {
            Some(r) => CheckState::Finished(Box::new(r.clone())),
            None => CheckState::Running { id },
        })
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    mut check: peer::LiveCheck,
    timing: peer::Timing,
    id: Uuid,
    appointment: AppointmentId,
    entries: Arc<Mutex<HashMap<Uuid, Entry>>>,
    pool: DbPool,
    permit: OwnedSemaphorePermit,
    guard: LiveGuard,
) {
    // The fuse cannot blow by construction (measure ends within connect + measure); if it did,
    // the empty measurements judge as "will not connect".
    let measurements: Measurements = tokio::time::timeout(HARD_LIMIT, check.measure(timing))
        .await
        .unwrap_or_default();
    let (verdict, reasons) = verdict::judge(&measurements);
    let result = PrecheckResult {
        id,
        verdict,
        reasons: reasons.into_iter().map(ReasonOut::from).collect(),
        measurements,
        finished_at: Utc::now(),
    };
    let json = serde_json::to_value(&result).unwrap_or_default();
    check.finish(Some(json.to_string())).await;
    // Sockets are closed: the slot and the live count go back before the database write.
    drop(permit);
    drop(guard);
    if let Ok(mut e) = entries.lock()
        && let Some(entry) = e.get_mut(&id)
    {
        entry.result = Some(result.clone());
    }
    tracing::info!(check = %id, verdict = verdict.as_str(), "pre-call check finished");
    match pool.get().await {
        Ok(mut conn) => {
            if let Err(e) = crate::db::prechecks::save(
                &mut conn,
                appointment,
                id,
                verdict.as_str(),
                json,
                result.finished_at,
            )
            .await
            {
                tracing::warn!(error = %e, "storing a pre-call check result");
            }
        }
        Err(e) => tracing::warn!(error = %e, "no database for a pre-call check result"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_keep_a_check_within_thirty_seconds() {
        let mut s = PrecheckSettings::default();
        assert!(s.check().is_ok());
        assert!(s.max_seconds() <= 30);
        s.connect_secs = 15;
        s.measure_secs = 15;
        let e = s.check().expect_err("30 s of connect and measure");
        assert!(e.to_string().contains("within 30 s"), "{e}");
        s.connect_secs = 0;
        let e = s.check().expect_err("no time to connect");
        assert!(e.to_string().contains("must be 1..=20"), "{e}");
        let mut s = PrecheckSettings::default();
        for (kbps, ok) in [
            (0, true),
            (1200, true),
            (5000, true),
            (300, false),
            (9000, false),
        ] {
            s.probe_kbps = kbps;
            assert_eq!(s.check().is_ok(), ok, "probe {kbps} kbit/s");
        }
    }
}
