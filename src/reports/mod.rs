//! The MPP's reports: appointments per status, the no-show rate, the satisfaction index
//! (IKM, PermenPANRB 14/2017) and the same-day queue's figures (served, skipped, mean wait) per
//! agency and overall, for a range of local dates. Supervisors
//! see their agency; admins any one or all.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::StaffSession;
use crate::catalogue::{CatalogueError, manage::scope_agency};
use crate::context::Ctx;
use crate::db;
use crate::domain::schedule::{Interval, Role};
use crate::domain::survey::{self, ELEMENTS, SurveyAnswers};

/// Longest range one report covers.
pub const MAX_REPORT_DAYS: i64 = 366;

#[derive(Serialize, ToSchema, Default)]
pub struct IkmOut {
    pub responses: usize,
    /// 25..100, absent without responses.
    pub score: Option<f64>,
    /// A (Sangat Baik) … D (Tidak Baik).
    pub grade: Option<String>,
    /// Mean answer (NRR, 1..4) per element, in the order of the nine IKM elements.
    pub per_element: Vec<f64>,
}

/// The same-day queue's figures (numbers taken on the report's days).
#[derive(Serialize, ToSchema, Default)]
pub struct QueueOut {
    pub taken: i64,
    /// Numbers whose service was completed.
    pub served: i64,
    /// Skipped by the clerk, or closed as a no-show.
    pub skipped: i64,
    /// Left by the citizen (or cancelled by staff).
    pub cancelled: i64,
    /// Mean minutes from taking a number to its first call, over the numbers called; absent
    /// when none was.
    pub mean_wait_minutes: Option<f64>,
}

#[derive(Serialize, ToSchema, Default)]
pub struct ReportRow {
    pub agency: String,
    pub appointments: BTreeMap<String, i64>,
    pub total: i64,
    /// no_show / (completed + no_show); absent when neither happened.
    pub no_show_rate: Option<f64>,
    pub ikm: IkmOut,
    pub queue: QueueOut,
}

/// Adds one agency's queue figures (`called` numbers waited `wait_seconds` in all).
fn add_queue(q: &mut QueueOut, waits: &mut (f64, i64), f: &db::queue::QueueFigures) {
    q.taken += f.taken;
    q.served += f.served;
    q.skipped += f.skipped;
    q.cancelled += f.cancelled;
    if let Some(mean) = f.mean_wait_seconds {
        waits.0 += mean * f.called as f64;
        waits.1 += f.called;
    }
    q.mean_wait_minutes =
        (waits.1 > 0).then(|| ((waits.0 / waits.1 as f64) / 60.0 * 10.0).round() / 10.0);
}

#[derive(Serialize, ToSchema)]
pub struct ReportOut {
    pub from: String,
    pub to: String,
    pub elements: Vec<String>,
    pub agencies: Vec<ReportRow>,
    pub overall: ReportRow,
    /// How the messages about these appointments fared.
    pub deliveries: DeliveriesOut,
}

/// Messages due in the report's dates, per channel, and reminders that did not arrive.
#[derive(Serialize, ToSchema, Default)]
pub struct DeliveriesOut {
    pub channels: Vec<ChannelOut>,
    /// Reminders due over an hour ago that reached the citizen on no channel.
    pub reminders_not_arrived: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ChannelOut {
    pub channel: String,
    pub total: i64,
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    /// No settings for the channel: not sent.
    pub skipped: i64,
    pub pending: i64,
    /// Accepted by the provider, of those tried (sent + failed).
    pub sent_rate: Option<f64>,
    /// Reported delivered, of those accepted (WhatsApp reports deliveries; email does not).
    pub delivery_rate: Option<f64>,
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| ((part as f64 / whole as f64) * 1000.0).round() / 1000.0)
}

fn ikm_of(answers: &[SurveyAnswers]) -> IkmOut {
    let per_element = if answers.is_empty() {
        vec![]
    } else {
        (0..9)
            .map(|e| {
                answers.iter().map(|a| a.values()[e] as f64).sum::<f64>() / answers.len() as f64
            })
            .collect()
    };
    let ikm = survey::ikm(answers);
    IkmOut {
        responses: answers.len(),
        score: ikm.map(|i| (i.score * 100.0).round() / 100.0),
        grade: ikm.map(|i| i.grade.to_string()),
        per_element,
    }
}

fn finish(row: &mut ReportRow, answers: &[SurveyAnswers]) {
    row.total = row.appointments.values().sum();
    let done = row.appointments.get("completed").copied().unwrap_or(0);
    let no_show = row.appointments.get("no_show").copied().unwrap_or(0);
    row.no_show_rate = (done + no_show > 0).then(|| no_show as f64 / (done + no_show) as f64);
    row.ikm = ikm_of(answers);
}

/// The report for local dates `from..=to` (defaults: the last 30 days), of one agency's slug or
/// the caller's whole scope.
pub async fn report(
    ctx: &Ctx,
    me: &StaffSession,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    agency: Option<&str>,
) -> Result<ReportOut, CatalogueError> {
    if !me.has_role(&[Role::Supervisor, Role::Admin]) {
        return Err(CatalogueError::InsufficientRole);
    }
    let tz = ctx.settings.timezone;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let from = from.unwrap_or(today - Duration::days(30));
    let to = to.unwrap_or(today);
    if to < from {
        return Err(CatalogueError::field("to", "before_from"));
    }
    if (to - from).num_days() > MAX_REPORT_DAYS {
        return Err(CatalogueError::field("to", "range_too_long"));
    }
    let start_of = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| CatalogueError::field("from", "invalid_date"))
    };
    let window = Interval {
        start: start_of(from)?,
        end: start_of(to + Duration::days(1))?,
    };
    let mut conn = ctx.conn().await?;
    let agency = scope_agency(&mut conn, me, agency).await?;
    let counts = db::reports::status_counts(&mut conn, window, agency.map(|a| a.0)).await?;
    let surveys = db::reports::survey_answers(&mut conn, window, agency.map(|a| a.0)).await?;
    let (channels, reminders_not_arrived) =
        db::outbox::delivery_counts(&mut conn, window.start, window.end, agency.map(|a| a.0))
            .await?;
    let deliveries = DeliveriesOut {
        channels: channels
            .into_iter()
            .map(|c| ChannelOut {
                sent_rate: rate(c.sent, c.sent + c.failed),
                delivery_rate: rate(c.delivered, c.sent),
                channel: c.channel,
                total: c.total,
                sent: c.sent,
                delivered: c.delivered,
                failed: c.failed,
                skipped: c.skipped,
                pending: c.pending,
            })
            .collect(),
        reminders_not_arrived,
    };
    let queue = db::queue::figures(&mut conn, from, to, agency.map(|a| a.0)).await?;
    let mut rows: BTreeMap<String, (ReportRow, Vec<SurveyAnswers>)> = BTreeMap::new();
    let empty = |slug: &str| {
        (
            ReportRow {
                agency: slug.to_string(),
                ..Default::default()
            },
            vec![],
        )
    };
    let mut overall = empty("all");
    for (slug, status, n) in counts {
        let e = rows.entry(slug.clone()).or_insert_with(|| empty(&slug));
        *e.0.appointments.entry(status.clone()).or_default() += n;
        *overall.0.appointments.entry(status).or_default() += n;
    }
    for (slug, answers) in surveys {
        let raw: Vec<i64> = answers.iter().map(|&a| a as i64).collect();
        let Ok(parsed) = SurveyAnswers::parse(&raw) else {
            continue;
        };
        rows.entry(slug.clone())
            .or_insert_with(|| empty(&slug))
            .1
            .push(parsed.clone());
        overall.1.push(parsed);
    }
    let mut overall_waits = (0.0, 0);
    for f in &queue {
        let e = rows
            .entry(f.agency.clone())
            .or_insert_with(|| empty(&f.agency));
        add_queue(&mut e.0.queue, &mut (0.0, 0), f);
        add_queue(&mut overall.0.queue, &mut overall_waits, f);
    }
    let agencies = rows
        .into_values()
        .map(|(mut row, answers)| {
            finish(&mut row, &answers);
            row
        })
        .collect();
    finish(&mut overall.0, &overall.1);
    Ok(ReportOut {
        from: from.to_string(),
        to: to.to_string(),
        elements: ELEMENTS.iter().map(|(id, _)| id.to_string()).collect(),
        agencies,
        overall: overall.0,
        deliveries,
    })
}
