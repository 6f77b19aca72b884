//! Free times: the pure slot computation. Given each eligible clerk's weekly hours, closures and
//! busy periods, a service's duration and buffer, the booking window and the site's zone, it
//! lists the start times at which at least one clerk can take the whole consultation plus its
//! buffer. Booking asks the same function which clerks are free at a chosen start, so what is
//! shown and what is accepted can never disagree.
//!
//! Rules: a slot's blocked time `[start, start + duration + buffer)` lies inside one of the
//! clerk's working intervals, overlaps none of the clerk's busy periods (appointments, personal
//! closures) nor a mall-wide closure, starts no earlier than `now + min_notice`, and falls on a
//! local date no later than `today + horizon_days`. Within a working interval starts step by
//! `duration + buffer` from the interval's start; after a busy period the next start moves to
//! the period's end, rounded up to five minutes, so mixed services do not waste the gap.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::ids::StaffId;
use super::schedule::{Interval, WeeklyHours};

/// One clerk who may serve the service.
#[derive(Clone, Debug)]
pub struct ClerkCalendar {
    pub staff_id: StaffId,
    pub hours: WeeklyHours,
    /// Appointments' blocked periods and personal closures, in any order.
    pub busy: Vec<Interval>,
    /// Active appointments in the window: the fairness key when assigning.
    pub load: u32,
}

/// What is asked for and the rules it runs under.
#[derive(Clone, Copy, Debug)]
pub struct SlotRules {
    pub tz: Tz,
    pub now: DateTime<Utc>,
    pub min_notice: Duration,
    pub horizon_days: i64,
    pub duration: Duration,
    pub buffer: Duration,
}

impl SlotRules {
    fn step(&self) -> Duration {
        self.duration + self.buffer
    }
    fn earliest(&self) -> DateTime<Utc> {
        self.now + self.min_notice
    }
    /// The last bookable local date.
    pub fn last_day(&self) -> NaiveDate {
        self.now.with_timezone(&self.tz).date_naive() + Duration::days(self.horizon_days)
    }

    /// The rules for a citizen whose booking leave or a holiday took: the notice shrinks to at
    /// most [`PRIORITY_NOTICE_MINUTES`], so they are offered (and may take) times nobody else
    /// can book any more. Shown and accepted alike, as every slot.
    pub fn with_priority(self) -> SlotRules {
        SlotRules {
            min_notice: self
                .min_notice
                .min(Duration::minutes(PRIORITY_NOTICE_MINUTES)),
            ..self
        }
    }
}

/// The notice a citizen whose booking needs a new time gets instead of the usual one.
pub const PRIORITY_NOTICE_MINUTES: i64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaySlots {
    pub date: NaiveDate,
    pub slots: Vec<Slot>,
}

/// Wall-clock time on a local date → UTC. A time skipped by a DST jump has no slot; a repeated
/// one takes its first occurrence.
pub(crate) fn to_utc(tz: Tz, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&NaiveDateTime::new(date, time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

fn round_up_5min(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp();
    let rem = secs.rem_euclid(300);
    let sub = t.timestamp_subsec_nanos();
    if rem == 0 && sub == 0 {
        t
    } else {
        DateTime::from_timestamp(secs - rem + 300, 0).unwrap_or(t)
    }
}

/// Sorts and merges intervals so a linear walk can skip them.
fn normalise(mut v: Vec<Interval>) -> Vec<Interval> {
    v.sort_unstable();
    let mut out: Vec<Interval> = Vec::with_capacity(v.len());
    for i in v {
        match out.last_mut() {
            Some(last) if i.start <= last.end => {
                if i.end > last.end {
                    last.end = i.end;
                }
            }
            _ => out.push(i),
        }
    }
    out
}

/// The start times one clerk can take on one local date, ascending, appended to `out`.
/// `blocked` is the clerk's busy periods merged with the mall-wide closures, sorted and merged.
fn clerk_day_starts(
    rules: &SlotRules,
    hours: &WeeklyHours,
    blocked: &[Interval],
    date: NaiveDate,
    out: &mut Vec<DateTime<Utc>>,
) {
    let step = rules.step();
    if step <= Duration::zero() {
        return;
    }
    let earliest = rules.earliest();
    for &(from, to) in hours.on(date.weekday().number_from_monday()) {
        let (Some(work_start), Some(work_end)) =
            (to_utc(rules.tz, date, from), to_utc(rules.tz, date, to))
        else {
            continue;
        };
        // First blocked period that could touch this working interval.
        let mut idx = blocked.partition_point(|b| b.end <= work_start);
        let mut t = work_start;
        while t + step <= work_end {
            let block = Interval {
                start: t,
                end: t + step,
            };
            while idx < blocked.len() && blocked[idx].end <= block.start {
                idx += 1;
            }
            if let Some(b) = blocked.get(idx)
                && b.overlaps(&block)
            {
                // Resume at the next five minutes after it. This always moves on: overlapping
                // means `b.end > t`, and rounding up never goes back.
                t = round_up_5min(b.end);
                continue;
            }
            if t < earliest {
                // Keep the grid: jump by whole steps until past the notice.
                let behind = (earliest - t).num_seconds();
                let steps = (behind + step.num_seconds() - 1) / step.num_seconds();
                t += Duration::seconds(steps.max(1) * step.num_seconds());
                continue;
            }
            out.push(t);
            t += step;
        }
    }
}

/// Prepared, per-clerk blocked lists; build once per query.
pub struct Prepared<'a> {
    rules: SlotRules,
    clerks: &'a [ClerkCalendar],
    blocked: Vec<Vec<Interval>>,
}

impl<'a> Prepared<'a> {
    pub fn new(rules: SlotRules, clerks: &'a [ClerkCalendar], closures: &[Interval]) -> Self {
        let blocked = clerks
            .iter()
            .map(|c| {
                let mut v = c.busy.clone();
                v.extend_from_slice(closures);
                normalise(v)
            })
            .collect();
        Prepared {
            rules,
            clerks,
            blocked,
        }
    }

    fn in_window(&self, date: NaiveDate) -> bool {
        let today = self.rules.now.with_timezone(&self.rules.tz).date_naive();
        date >= today && date <= self.rules.last_day()
    }

    /// Free slots per local date for `days` dates from `from` (dates outside the booking window
    /// are listed with no slots).
    pub fn slots(&self, from: NaiveDate, days: u32) -> Vec<DaySlots> {
        let mut result = Vec::with_capacity(days as usize);
        let mut starts = Vec::new();
        for offset in 0..days {
            let date = from + Duration::days(offset as i64);
            starts.clear();
            if self.in_window(date) {
                for (i, clerk) in self.clerks.iter().enumerate() {
                    clerk_day_starts(
                        &self.rules,
                        &clerk.hours,
                        &self.blocked[i],
                        date,
                        &mut starts,
                    );
                }
            }
            starts.sort_unstable();
            starts.dedup();
            result.push(DaySlots {
                date,
                slots: starts
                    .iter()
                    .map(|&s| Slot {
                        starts_at: s,
                        ends_at: s + self.rules.duration,
                    })
                    .collect(),
            });
        }
        result
    }

    /// Clerks who can take a consultation starting at `start`, the least loaded first (ties in
    /// the given order; callers shuffle first to spread equal loads).
    pub fn free_clerks_at(&self, start: DateTime<Utc>) -> Vec<StaffId> {
        let date = start.with_timezone(&self.rules.tz).date_naive();
        if !self.in_window(date) {
            return vec![];
        }
        let mut free: Vec<(u32, usize, StaffId)> = Vec::new();
        let mut starts = Vec::new();
        for (i, clerk) in self.clerks.iter().enumerate() {
            starts.clear();
            clerk_day_starts(
                &self.rules,
                &clerk.hours,
                &self.blocked[i],
                date,
                &mut starts,
            );
            if starts.binary_search(&start).is_ok() {
                free.push((clerk.load, i, clerk.staff_id));
            }
        }
        free.sort();
        free.into_iter().map(|(_, _, id)| id).collect()
    }
}

/// A clerk's working intervals on one local date, in UTC, in order (a time a DST jump skips
/// drops its interval).
pub fn working_on(tz: Tz, hours: &WeeklyHours, date: NaiveDate) -> Vec<Interval> {
    hours
        .on(date.weekday().number_from_monday())
        .iter()
        .filter_map(|&(from, to)| Interval::new(to_utc(tz, date, from)?, to_utc(tz, date, to)?))
        .collect()
}

/// `intervals` (sorted, disjoint) minus everything in `blocks` (any order, may overlap).
pub fn subtract(intervals: &[Interval], blocks: &[Interval]) -> Vec<Interval> {
    let blocks = normalise(blocks.to_vec());
    let mut out = Vec::new();
    for w in intervals {
        let mut from = w.start;
        for b in blocks.iter().filter(|b| b.overlaps(w)) {
            if let Some(piece) = Interval::new(from, b.start) {
                out.push(piece);
            }
            from = from.max(b.end);
        }
        if let Some(piece) = Interval::new(from, w.end) {
            out.push(piece);
        }
    }
    out
}

/// The stretches of local date `date` in which `clerk` is at work and free: their working
/// intervals minus their busy periods (appointments, leave) and the mall-wide closures. A period
/// a clerk can take lies inside one of these (`clerk_can_take`); the queue plans its calls into
/// them (`domain::queue::plan`).
pub fn free_gaps(
    tz: Tz,
    clerk: &ClerkCalendar,
    closures: &[Interval],
    date: NaiveDate,
) -> Vec<Interval> {
    let mut blocked = clerk.busy.clone();
    blocked.extend_from_slice(closures);
    subtract(&working_on(tz, &clerk.hours, date), &blocked)
}

/// Whether `clerk` can take an existing consultation's blocked `period` as it stands: inside one
/// of their working intervals that day, clear of their busy periods (appointments, leave) and of
/// the mall-wide closures. No notice or horizon applies and the slot grid does not matter — this
/// is for moving a booking that already exists to another clerk (reassignment) and for calling
/// the next number of the queue at once (a walk-in).
pub fn clerk_can_take(
    tz: Tz,
    clerk: &ClerkCalendar,
    closures: &[Interval],
    period: Interval,
) -> bool {
    let date = period.start.with_timezone(&tz).date_naive();
    free_gaps(tz, clerk, closures, date)
        .iter()
        .any(|g| g.contains(&period))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::schedule::WorkInterval;
    use chrono_tz::Asia::Jakarta;
    use proptest::prelude::*;

    pub(crate) fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn wib(date: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
        to_utc(Jakarta, date, t(h, m)).unwrap()
    }
    /// Mon–Fri 08.00–12.00 and 13.00–15.00.
    fn office_hours() -> WeeklyHours {
        let mut v = vec![];
        for wd in 1..=5 {
            v.push(WorkInterval {
                weekday: wd,
                starts: t(8, 0),
                ends: t(12, 0),
            });
            v.push(WorkInterval {
                weekday: wd,
                starts: t(13, 0),
                ends: t(15, 0),
            });
        }
        WeeklyHours::parse(&v).unwrap()
    }
    /// Jakarta, two hours' notice, 30 days ahead, 20 + 10 minutes.
    pub(crate) fn rules(now: DateTime<Utc>) -> SlotRules {
        SlotRules {
            tz: Jakarta,
            now,
            min_notice: Duration::hours(2),
            horizon_days: 30,
            duration: Duration::minutes(20),
            buffer: Duration::minutes(10),
        }
    }
    fn clerk(busy: Vec<Interval>) -> ClerkCalendar {
        ClerkCalendar {
            staff_id: StaffId::new(),
            hours: office_hours(),
            busy,
            load: 0,
        }
    }

    // Monday 16 March 2026.
    const MON: (i32, u32, u32) = (2026, 3, 16);

    #[test]
    fn after_a_busy_period_off_the_five_minute_grid_starts_resume_at_the_next_five_minutes() {
        // A 5 + 2 minute service: starts fall off the five-minute grid. A busy minute from
        // 08.07 leaves 08.10 free, not 08.12 (it once resumed at least 5 minutes after the
        // start it could not take).
        let day = d(MON.0, MON.1, MON.2);
        let now = wib(day - Duration::days(1), 9, 0);
        let r = SlotRules {
            duration: Duration::minutes(5),
            buffer: Duration::minutes(2),
            ..rules(now)
        };
        let busy = Interval::new(wib(day, 8, 7), wib(day, 8, 8)).unwrap();
        let clerks = [clerk(vec![busy])];
        let starts: Vec<_> = Prepared::new(r, &clerks, &[]).slots(day, 1)[0]
            .slots
            .iter()
            .map(|s| s.starts_at)
            .take(3)
            .collect();
        assert_eq!(
            starts,
            vec![wib(day, 8, 0), wib(day, 8, 10), wib(day, 8, 17)]
        );
    }

    #[test]
    fn a_busy_period_before_the_notice_ends_does_not_move_the_grid_after_it() {
        // Two hours' notice from 08.00: the first start is 10.00 on the day's 30-minute grid
        // (08.00, 08.30, …), whatever was busy before then — a busy 08.40–09.10 must not
        // shift it to 10.10.
        let day = d(MON.0, MON.1, MON.2);
        let now = wib(day, 8, 0);
        let busy = Interval::new(wib(day, 8, 40), wib(day, 9, 10)).unwrap();
        let clerks = [clerk(vec![busy])];
        let starts: Vec<_> = Prepared::new(rules(now), &clerks, &[]).slots(day, 1)[0]
            .slots
            .iter()
            .map(|s| s.starts_at)
            .take(2)
            .collect();
        assert_eq!(starts, vec![wib(day, 10, 0), wib(day, 10, 30)]);
    }

    #[test]
    fn priority_shortens_the_notice_to_at_most_half_an_hour_and_keeps_the_rest() {
        let now = wib(d(MON.0, MON.1, MON.2), 9, 0);
        let usual = rules(now);
        let priority = usual.with_priority();
        assert_eq!(
            priority.min_notice,
            Duration::minutes(PRIORITY_NOTICE_MINUTES)
        );
        assert_eq!(priority.earliest(), now + Duration::minutes(30));
        assert_eq!(priority.last_day(), usual.last_day());
        assert_eq!(priority.step(), usual.step());
        // A notice already shorter stays as it is.
        let short = SlotRules {
            min_notice: Duration::minutes(10),
            ..usual
        };
        assert_eq!(short.with_priority().min_notice, Duration::minutes(10));
    }

    #[test]
    fn a_free_day_follows_the_hours_and_skips_the_break() {
        let day = d(MON.0, MON.1, MON.2);
        let now = wib(day - Duration::days(3), 9, 0);
        let clerks = [clerk(vec![])];
        let p = Prepared::new(rules(now), &clerks, &[]);
        let days = p.slots(day, 1);
        let starts: Vec<_> = days[0].slots.iter().map(|s| s.starts_at).collect();
        // 08.00 … 11.30 every 30 min (8), 13.00 … 14.30 (4).
        assert_eq!(starts.len(), 12);
        assert_eq!(starts[0], wib(day, 8, 0));
        assert_eq!(starts[7], wib(day, 11, 30));
        assert_eq!(starts[8], wib(day, 13, 0));
        assert_eq!(*starts.last().unwrap(), wib(day, 14, 30));
        assert_eq!(days[0].slots[0].ends_at, wib(day, 8, 20));
        // Saturday: nothing.
        assert!(p.slots(day + Duration::days(5), 1)[0].slots.is_empty());
    }

    #[test]
    fn appointments_closures_notice_and_horizon_remove_slots() {
        let day = d(MON.0, MON.1, MON.2);
        let now = wib(day, 7, 0); // notice → nothing before 09.00
        let appt = Interval::new(wib(day, 9, 0), wib(day, 9, 45)).unwrap();
        let clerks = [clerk(vec![appt])];
        let holiday = Interval::new(wib(day, 13, 0), wib(day, 14, 0)).unwrap();
        let p = Prepared::new(rules(now), &clerks, &[holiday]);
        let starts: Vec<_> = p.slots(day, 1)[0]
            .slots
            .iter()
            .map(|s| s.starts_at)
            .collect();
        // 09.00 busy until 09.45 → 09.45, 10.15, 10.45, 11.15; 13.00–14.00 closed → 14.00, 14.30.
        assert_eq!(
            starts,
            vec![
                wib(day, 9, 45),
                wib(day, 10, 15),
                wib(day, 10, 45),
                wib(day, 11, 15),
                wib(day, 14, 0),
                wib(day, 14, 30)
            ]
        );
        // Beyond the horizon: nothing. In the past: nothing.
        assert!(p.slots(day + Duration::days(31), 1)[0].slots.is_empty());
        assert!(p.slots(day - Duration::days(1), 1)[0].slots.is_empty());
    }

    #[test]
    fn booking_picks_the_least_loaded_free_clerk() {
        let day = d(MON.0, MON.1, MON.2);
        let now = wib(day - Duration::days(1), 9, 0);
        let busy_at_8 = Interval::new(wib(day, 8, 0), wib(day, 8, 30)).unwrap();
        let mut a = clerk(vec![]);
        a.load = 5;
        let b = clerk(vec![]);
        let c = clerk(vec![busy_at_8]);
        let clerks = [a.clone(), b.clone(), c.clone()];
        let p = Prepared::new(rules(now), &clerks, &[]);
        assert_eq!(
            p.free_clerks_at(wib(day, 8, 0)),
            vec![b.staff_id, a.staff_id]
        );
        // Off the grid: nobody.
        assert!(p.free_clerks_at(wib(day, 8, 10)).is_empty());
        // c's next start is 08.30.
        assert_eq!(p.free_clerks_at(wib(day, 8, 30)).len(), 3);
    }

    #[test]
    fn other_zones_use_their_own_wall_clock() {
        let day = d(MON.0, MON.1, MON.2);
        let mut r = rules(wib(day - Duration::days(2), 9, 0));
        r.tz = chrono_tz::Asia::Makassar; // WITA, UTC+8
        let clerks = [clerk(vec![])];
        let p = Prepared::new(r, &clerks, &[]);
        let first = p.slots(day, 1)[0].slots[0].starts_at;
        assert_eq!(first, wib(day, 7, 0)); // 08.00 WITA = 07.00 WIB
    }

    fn arb_busy(day: NaiveDate) -> impl Strategy<Value = Vec<Interval>> {
        prop::collection::vec((0u32..(10 * 12), 1u32..12), 0..12).prop_map(move |v| {
            v.into_iter()
                .filter_map(|(start5, len5)| {
                    let s = wib(day, 7, 0) + Duration::minutes(start5 as i64 * 5);
                    Interval::new(s, s + Duration::minutes(len5 as i64 * 5))
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// No offered slot overlaps a busy period or closure of the clerk it would go to, and
        /// none lies outside that clerk's hours or before the notice.
        #[test]
        fn slots_never_overlap_busy_time_or_leave_hours(
            busy_a in arb_busy(d(2026, 3, 16)),
            busy_b in arb_busy(d(2026, 3, 16)),
            closure in arb_busy(d(2026, 3, 16)),
            dur in 1i64..7,
            buf in 0i64..3,
            now_offset in 0i64..(12 * 60),
        ) {
            let day = d(2026, 3, 16);
            let mut r = rules(wib(day, 6, 0) + Duration::minutes(now_offset));
            r.duration = Duration::minutes(dur * 5);
            r.buffer = Duration::minutes(buf * 5);
            let clerks = [clerk(busy_a), clerk(busy_b)];
            let p = Prepared::new(r, &clerks, &closure);
            for slot in &p.slots(day, 1)[0].slots {
                let who = p.free_clerks_at(slot.starts_at);
                prop_assert!(!who.is_empty(), "an offered slot must have a clerk");
                prop_assert!(slot.starts_at >= r.now + r.min_notice);
                let block = Interval::new(slot.starts_at, slot.starts_at + r.duration + r.buffer).unwrap();
                for id in who {
                    let c = clerks.iter().find(|c| c.staff_id == id).unwrap();
                    prop_assert!(c.busy.iter().all(|b| !b.overlaps(&block)));
                    prop_assert!(closure.iter().all(|b| !b.overlaps(&block)));
                    let inside = c.hours.on(1).iter().any(|&(s, e)| {
                        Interval::new(wib(day, s.hour_(), s.minute_()), wib(day, e.hour_(), e.minute_()))
                            .is_some_and(|w| w.contains(&block))
                    });
                    prop_assert!(inside, "slot outside working hours");
                }
            }
        }
    }

    #[test]
    fn a_clerk_can_take_a_period_only_at_work_and_free() {
        let day = d(MON.0, MON.1, MON.2);
        let at = |h, m, mins| Interval {
            start: wib(day, h, m),
            end: wib(day, h, m) + Duration::minutes(mins),
        };
        let leave = at(13, 0, 120);
        let c = clerk(vec![at(9, 0, 30), leave]);
        let holiday = Interval {
            start: wib(day + Duration::days(1), 0, 0),
            end: wib(day + Duration::days(2), 0, 0),
        };
        let take = |p| clerk_can_take(Jakarta, &c, &[holiday], p);
        assert!(take(at(8, 0, 30)));
        assert!(take(at(10, 17, 30)), "off the grid is fine");
        assert!(take(at(11, 30, 30)), "ends as the morning ends");
        assert!(!take(at(9, 15, 30)), "overlaps an appointment");
        assert!(!take(at(11, 45, 30)), "runs into the break");
        assert!(!take(at(12, 0, 30)), "in the break");
        assert!(!take(at(13, 30, 30)), "on leave");
        assert!(!take(at(7, 30, 30)), "before hours");
        let tuesday = Interval {
            start: at(8, 0, 30).start + Duration::days(1),
            end: at(8, 0, 30).end + Duration::days(1),
        };
        assert!(!take(tuesday), "mall closed");
        let saturday = Interval {
            start: at(8, 0, 30).start + Duration::days(5),
            end: at(8, 0, 30).end + Duration::days(5),
        };
        assert!(!take(saturday), "not a working day");
    }

    /// The notice keeps the grid: starts jump by whole steps to the first at or after
    /// `now + notice`, whether that lands on the grid or between two starts.
    #[test]
    fn the_notice_keeps_the_grid() {
        let day = d(MON.0, MON.1, MON.2);
        let clerks = [clerk(vec![])];
        let first = |now: DateTime<Utc>| {
            Prepared::new(rules(now), &clerks, &[]).slots(day, 1)[0]
                .slots
                .first()
                .map(|s| s.starts_at)
        };
        // now + 2 h = 09.00, on the grid: 09.00 itself.
        assert_eq!(first(wib(day, 7, 0)), Some(wib(day, 9, 0)));
        // A second later: the next start, 09.30.
        assert_eq!(
            first(wib(day, 7, 0) + Duration::seconds(1)),
            Some(wib(day, 9, 30))
        );
        // 09.29:59 → 09.30; 09.30:01 → 10.00.
        assert_eq!(
            first(wib(day, 7, 30) - Duration::seconds(1)),
            Some(wib(day, 9, 30))
        );
        assert_eq!(
            first(wib(day, 7, 30) + Duration::seconds(1)),
            Some(wib(day, 10, 0))
        );
        // Notice into the break: the afternoon's first start.
        assert_eq!(
            first(wib(day, 10, 0) + Duration::minutes(1)),
            Some(wib(day, 13, 0))
        );
        // Notice past the day's hours: nothing.
        assert_eq!(first(wib(day, 13, 0)), None);
    }

    /// The horizon's last day has its slots, the day after none; today's remaining ones count.
    #[test]
    fn the_window_runs_from_today_to_the_horizons_last_day() {
        let day = d(MON.0, MON.1, MON.2);
        let mut r = rules(wib(day, 6, 0));
        r.horizon_days = 7; // the last day is the next Monday
        let clerks = [clerk(vec![])];
        let p = Prepared::new(r, &clerks, &[]);
        assert_eq!(r.last_day(), day + Duration::days(7));
        let days = p.slots(day, 9);
        assert_eq!(days.len(), 9);
        assert_eq!(days[0].date, day);
        assert!(!days[0].slots.is_empty(), "today");
        assert!(!days[7].slots.is_empty(), "the last day");
        assert!(days[8].slots.is_empty(), "past the horizon");
        assert_eq!(
            p.free_clerks_at(wib(day + Duration::days(7), 8, 0)).len(),
            1
        );
        assert!(
            p.free_clerks_at(wib(day + Duration::days(8), 8, 0))
                .is_empty()
        );
        assert!(
            p.free_clerks_at(wib(day - Duration::days(7), 8, 0))
                .is_empty()
        );
        // A service with no length offers nothing (and does not loop).
        r.duration = Duration::zero();
        r.buffer = Duration::zero();
        assert!(
            Prepared::new(r, &clerks, &[]).slots(day, 1)[0]
                .slots
                .is_empty()
        );
    }

    /// After a busy period the next start is its end rounded up to five minutes (at least five
    /// minutes on), so the gap is not wasted; a period ending on a five-minute mark is kept.
    #[test]
    fn after_a_busy_period_starts_resume_at_the_next_five_minutes() {
        let day = d(MON.0, MON.1, MON.2);
        let now = wib(day - Duration::days(1), 9, 0);
        let starts = |busy: Vec<Interval>| -> Vec<DateTime<Utc>> {
            let clerks = [clerk(busy)];
            Prepared::new(rules(now), &clerks, &[]).slots(day, 1)[0]
                .slots
                .iter()
                .map(|s| s.starts_at)
                .take(3)
                .collect()
        };
        let busy = |from: DateTime<Utc>, to: DateTime<Utc>| Interval::new(from, to).unwrap();
        assert_eq!(
            starts(vec![busy(wib(day, 8, 0), wib(day, 8, 5))]),
            vec![wib(day, 8, 5), wib(day, 8, 35), wib(day, 9, 5)]
        );
        assert_eq!(
            starts(vec![busy(
                wib(day, 8, 0),
                wib(day, 8, 5) + Duration::milliseconds(1)
            )]),
            vec![wib(day, 8, 10), wib(day, 8, 40), wib(day, 9, 10)]
        );
        assert_eq!(
            starts(vec![busy(wib(day, 8, 0), wib(day, 8, 7))]),
            vec![wib(day, 8, 10), wib(day, 8, 40), wib(day, 9, 10)]
        );
        // Overlapping and touching periods merge: one busy stretch 08.00–08.50.
        assert_eq!(
            starts(vec![
                busy(wib(day, 8, 20), wib(day, 8, 50)),
                busy(wib(day, 8, 0), wib(day, 8, 20)),
                busy(wib(day, 8, 10), wib(day, 8, 15)),
            ]),
            vec![wib(day, 8, 50), wib(day, 9, 20), wib(day, 9, 50)]
        );
        // A period that ends before the day starts changes nothing.
        assert_eq!(
            starts(vec![busy(wib(day, 6, 0), wib(day, 8, 0))]),
            vec![wib(day, 8, 0), wib(day, 8, 30), wib(day, 9, 0)]
        );
    }

    #[test]
    fn rounding_and_merging_helpers() {
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        assert_eq!(round_up_5min(at(600)), at(600));
        assert_eq!(round_up_5min(at(601)), at(900));
        assert_eq!(round_up_5min(at(899)), at(900));
        assert_eq!(
            round_up_5min(at(600) + Duration::nanoseconds(1)),
            at(900),
            "a fraction of a second past the mark"
        );
        let iv = |a: i64, b: i64| Interval::new(at(a), at(b)).unwrap();
        assert_eq!(
            normalise(vec![
                iv(50, 60),
                iv(0, 10),
                iv(10, 20),
                iv(5, 8),
                iv(30, 40)
            ]),
            vec![iv(0, 20), iv(30, 40), iv(50, 60)]
        );
        assert_eq!(normalise(vec![iv(0, 30), iv(10, 20)]), vec![iv(0, 30)]);
    }

    #[test]
    fn free_gaps_are_the_hours_minus_busy_time_and_closures() {
        let day = d(MON.0, MON.1, MON.2);
        let at = |h, m, mins| Interval {
            start: wib(day, h, m),
            end: wib(day, h, m) + Duration::minutes(mins),
        };
        // Busy 09.00-09.30 and 11.45-12.30 (runs into the break); closed 14.00-14.15.
        let c = clerk(vec![at(9, 0, 30), at(11, 45, 45)]);
        let gaps = free_gaps(Jakarta, &c, &[at(14, 0, 15)], day);
        assert_eq!(
            gaps,
            vec![at(8, 0, 60), at(9, 30, 135), at(13, 0, 60), at(14, 15, 45)]
        );
        assert!(free_gaps(Jakarta, &c, &[], day + Duration::days(5)).is_empty());
        // Touching blocks leave nothing between them; a block covering all leaves nothing.
        let w = [at(8, 0, 60)];
        assert_eq!(subtract(&w, &[at(8, 0, 30), at(8, 30, 30)]), vec![]);
        assert_eq!(subtract(&w, &[at(7, 0, 180)]), vec![]);
        assert_eq!(subtract(&w, &[]), w.to_vec());
    }

    trait HM {
        fn hour_(&self) -> u32;
        fn minute_(&self) -> u32;
    }
    impl HM for NaiveTime {
        fn hour_(&self) -> u32 {
            chrono::Timelike::hour(self)
        }
        fn minute_(&self) -> u32 {
            chrono::Timelike::minute(self)
        }
    }
}
