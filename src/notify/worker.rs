//! The outbox workers: claim due messages (`db::outbox::claim`, SKIP LOCKED under a lease),
//! compose them, send up to `concurrency` at once, and record every outcome of a batch in one
//! statement together with any SMS fallbacks. A change on this node wakes a worker at once
//! (`Ctx::wake_outbox`); otherwise each looks every `poll_ms` (reminders coming due, other
//! nodes' messages). Worker 0 also sends the SMS for WhatsApp messages never delivered in time.
//!
//! Why a message is not sent twice: a claim is committed before anything is sent, so a second
//! worker or node skips it; the outcome clears the lease. Only a worker killed between the
//! provider's acceptance and that record leaves doubt: its lease runs out and the message is
//! claimed again as `interrupted`. WhatsApp then gets `whatsapp_confirm_grace_secs` to report
//! the message's status (the report names our id, `biz_opaque_callback_data`) before it is
//! sent again; the SMS gateway gets the same idempotency key again; email gets the same
//! Message-ID (docs/notifications.md, "At least once").

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use diesel_async::AsyncConnection;
use futures_util::StreamExt;
use tokio::sync::watch;

use super::channels::Channels;
use super::compose::{self, Compose};
use super::sender::Outgoing;
use crate::context::Ctx;
use crate::db::outbox::{self, Claimed, Message, Outcome};
use crate::domain::notify::{self, Channel, Delivery, Next, SendResult};
use crate::fault::Fault;

/// The running workers of this process.
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Workers {
    /// Starts `n` workers sending through `channels`.
    pub fn start(ctx: Arc<Ctx>, channels: Channels, n: usize) -> Workers {
        let (stop, rx) = watch::channel(false);
        let handles = (0..n)
            .map(|i| {
                let ctx = ctx.clone();
                let channels = channels.clone();
                let rx = rx.clone();
                tokio::spawn(async move { run(ctx, channels, i, rx).await })
            })
            .collect();
        Workers { stop, handles }
    }

    /// Stops after the batches in hand are recorded.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for h in self.handles {
            let _ = h.await;
        }
    }
}

async fn run(ctx: Arc<Ctx>, channels: Channels, index: usize, mut stop: watch::Receiver<bool>) {
    let poll = std::time::Duration::from_millis(ctx.settings.notify.poll_ms);
    let mut last_sweep = Instant::now();
    loop {
        if *stop.borrow() {
            return;
        }
        match tick(&ctx, &channels).await {
            // A full batch: there may be more right away.
            Ok(n) if n >= ctx.settings.notify.batch as usize => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox: a batch failed; trying again"),
        }
        if index == 0 && last_sweep.elapsed() >= poll.max(std::time::Duration::from_secs(5)) {
            last_sweep = Instant::now();
            if let Err(e) = sweep_undelivered(&ctx).await {
                tracing::warn!(error = %e, "outbox: the delivery-timeout sweep failed");
            }
        }
        tokio::select! {
            () = ctx.outbox_wake.notified() => {}
            () = tokio::time::sleep(poll) => {}
            _ = stop.changed() => {}
        }
    }
}

/// One batch: claim, compose, send, record. Answers how many messages it claimed.
pub async fn tick(ctx: &Ctx, channels: &Channels) -> Result<usize, Fault> {
    let s = &ctx.settings.notify;
    let (claimed, mut composed) = {
        let mut conn = ctx.conn().await?;
        let claimed = outbox::claim(&mut conn, s.batch, s.lease_ms).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let messages: Vec<&Message> = claimed.iter().map(|c| &c.message).collect();
        let composed = compose::batch(ctx, &mut conn, &messages).await?;
        (claimed, composed)
    };
    let n = claimed.len();
    let jobs: Vec<(Claimed, Option<Compose>)> = claimed
        .into_iter()
        .map(|c| {
            let comp = composed.remove(&c.message.id);
            (c, comp)
        })
        .collect();
    // Outcomes are recorded as they come (whatever is ready at once goes in one statement), so a
    // slow provider does not hold back the record of the others, and a crash leaves in doubt
    // only what was really in flight.
    let mut results = std::pin::pin!(
        futures_util::stream::iter(jobs)
            .map(|(c, comp)| async move {
                // The channel as stored, for the metrics (`unknown` for a broken row).
                let channel = c.message.channel().map_or("unknown", |ch| ch.as_str());
                let (o, f) = handle(ctx, channels, c, comp).await;
                (o, f, channel)
            })
            .buffer_unordered(s.concurrency)
            .ready_chunks(s.batch as usize)
    );
    while let Some(chunk) = results.next().await {
        record(ctx, chunk).await?;
    }
    Ok(n)
}

/// What one send came to, its fallback if any, and its channel's name.
type Handled = (Outcome, Option<Fallback>, &'static str);

/// Stores what a group of sends came to, with their fallbacks, in one transaction.
async fn record(ctx: &Ctx, results: Vec<Handled>) -> Result<(), Fault> {
    let mut outcomes = Vec::with_capacity(results.len());
    let mut channels = Vec::with_capacity(results.len());
    let mut fallbacks = Vec::new();
    for (o, f, channel) in results {
        outcomes.push(o);
        channels.push(channel);
        fallbacks.extend(f);
    }
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, diesel::result::Error, _>(async |c| {
        outbox::record(c, &outcomes).await?;
        for f in &fallbacks {
            outbox::add_fallback(c, &f.of, f.channel, f.at, &f.of.params).await?;
        }
        Ok(())
    })
    .await?;
    for (o, channel) in outcomes.iter().zip(&channels) {
        // A retry is not a state reached; the later outcome counts.
        if o.status != Delivery::Pending {
            ctx.metrics.outbox_message(o.status.as_str(), channel);
        }
    }
    if !fallbacks.is_empty() {
        ctx.wake_outbox();
    }
    Ok(())
}

/// A message to try on another channel.
struct Fallback {
    of: Message,
    channel: Channel,
    at: chrono::DateTime<Utc>,
}

fn outcome(
    m: &Message,
    status: Delivery,
    attempt: &'static str,
    detail: Option<String>,
) -> Outcome {
    Outcome {
        id: m.id,
        status,
        due_at: None,
        provider_id: None,
        preview: None,
        attempt,
        detail,
        took_ms: None,
    }
}

async fn handle(
    ctx: &Ctx,
    channels: &Channels,
    claimed: Claimed,
    composed: Option<Compose>,
) -> (Outcome, Option<Fallback>) {
    let m = claimed.message;
    let rules = ctx.settings.notify_rules();
    let now = Utc::now();
    let (Some(channel), Some(kind)) = (m.channel(), m.kind()) else {
        let o = outcome(
            &m,
            Delivery::Failed,
            "broken",
            Some("unknown kind or channel".into()),
        );
        return (o, None);
    };
    if claimed.interrupted && channel == Channel::Whatsapp {
        // Its worker died mid-send: WhatsApp may have it. Give its status report (which names
        // this message) time to arrive before sending again.
        let grace = Duration::seconds(ctx.settings.notify.whatsapp_confirm_grace_secs);
        let mut o = outcome(
            &m,
            Delivery::Pending,
            "interrupted",
            Some("worker stopped mid-send; waiting for WhatsApp's status report".into()),
        );
        o.due_at = Some(now + grace);
        return (o, None);
    }
    let fallback = |to: Option<Channel>, m: &Message| {
        to.map(|channel| Fallback {
            of: m.clone(),
            channel,
            at: notify::fallback_due(kind, m.due_at, now, &rules),
        })
    };
    let composed = match composed {
        Some(Compose::Ready(c)) => c,
        Some(Compose::Moot(why)) => {
            return (
                outcome(&m, Delivery::Cancelled, "moot", Some(why.into())),
                None,
            );
        }
        Some(Compose::Broken(e)) => {
            tracing::error!(message = %m.id, error = %e, "outbox: cannot compose a message");
            return (outcome(&m, Delivery::Failed, "broken", Some(e)), None);
        }
        None => {
            return (
                outcome(&m, Delivery::Failed, "broken", Some("not composed".into())),
                None,
            );
        }
    };
    let Some(sender) = channels.get(channel) else {
        let mut o = outcome(&m, Delivery::Skipped, "not_configured", None);
        // A code that could not leave Loket is shown whole on the Outbox page of a development
        // (demo) deployment, so the demo can be confirmed (DESIGN §9); production never shows one.
        let demo_code = kind == notify::Kind::Otp
            && ctx.settings.env == crate::config::Environment::Development;
        o.preview = Some(if demo_code {
            composed.rendered.text
        } else {
            composed.preview
        });
        let next = notify::next(
            channel,
            kind,
            SendResult::NotConfigured,
            m.attempts,
            &rules,
            0.0,
            now,
        );
        let to = match next {
            Next::Skipped { fallback } => fallback,
            _ => None,
        };
        return (o, fallback(to, &m));
    };
    let started = Instant::now();
    let limit = std::time::Duration::from_millis(ctx.settings.notify.send_timeout_ms * 2);
    let out = Outgoing {
        id: m.id,
        to: &m.address,
        lang: m.lang(),
        rendered: &composed.rendered,
        ics: composed.ics.as_deref(),
    };
    let result = tokio::time::timeout(limit, sender.send(&out))
        .await
        .unwrap_or_else(|_| SendResult::Transient("timeout".into()));
    let took_ms = Some(started.elapsed().as_millis().min(i32::MAX as u128) as i32);
    let attempt = match &result {
        SendResult::Accepted { .. } => "accepted",
        SendResult::Transient(_) => "transient",
        SendResult::Permanent(_) => "permanent",
        SendResult::NotOnWhatsapp(_) => "not_on_whatsapp",
        SendResult::NotConfigured => "not_configured",
    };
    let jitter: f64 = rand::random();
    let mut o = outcome(&m, Delivery::Pending, attempt, None);
    o.took_ms = took_ms;
    o.preview = Some(composed.preview);
    match notify::next(channel, kind, result, m.attempts, &rules, jitter, now) {
        Next::Sent { provider_id } => {
            o.status = Delivery::Sent;
            o.provider_id = provider_id;
            (o, None)
        }
        Next::Retry { at, reason } => {
            o.due_at = Some(at);
            o.detail = Some(reason);
            (o, None)
        }
        Next::Failed {
            reason,
            fallback: to,
        } => {
            tracing::warn!(message = %m.id, channel = channel.as_str(), reason = %reason, "outbox: a message failed");
            o.status = Delivery::Failed;
            o.detail = Some(reason);
            (o, fallback(to, &m))
        }
        Next::Skipped { fallback: to } => {
            o.status = Delivery::Skipped;
            (o, fallback(to, &m))
        }
    }
}

/// Adds the SMS of WhatsApp messages that were sent but never reported delivered in time.
pub async fn sweep_undelivered(ctx: &Ctx) -> Result<usize, Fault> {
    let configured = Duration::seconds(ctx.settings.notify.whatsapp_delivery_timeout_secs);
    let shortest = notify::delivery_timeout(notify::Kind::Otp, configured);
    let rules = ctx.settings.notify_rules();
    let mut conn = ctx.conn().await?;
    let late = outbox::undelivered(&mut conn, shortest, 200).await?;
    let now = Utc::now();
    let mut added = 0;
    for m in late {
        let Some(kind) = m.kind() else { continue };
        let sent_long_ago = m.status_at + notify::delivery_timeout(kind, configured) <= now;
        if !sent_long_ago {
            continue;
        }
        let at = notify::fallback_due(kind, m.due_at, now, &rules);
        added += outbox::add_fallback(&mut conn, &m, Channel::Sms, at, &m.params).await? as usize;
    }
    if added > 0 {
        ctx.wake_outbox();
    }
    Ok(added)
}
