//! Why a day offers no consultation times when it is not simply booked up: the day picker says
//! "Tutup" (closed) or "Libur: <holiday>" for those, and keeps "Penuh" (full) for days whose
//! times are all taken. Pure: it reads the same clerks' hours and rules as the slot computation
//! (`domain::slots`), plus the mall-wide closures with their names.

use chrono::{Datelike, NaiveDate};

use super::schedule::Interval;
use super::slots::{ClerkCalendar, SlotRules, to_utc};

/// The reason a day without free times is closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Closed {
    /// Before today (in the site's zone).
    Past,
    /// After the last day that can be booked (`horizon_days`).
    BeyondHorizon,
    /// A mall-wide closure (public holiday, cuti bersama) takes the day's working hours; its name.
    Holiday(String),
    /// A Saturday or Sunday on which no clerk of the service works.
    Weekend,
    /// A weekday on which no clerk of the service works.
    NoHours,
    /// Today, and no consultation can start any more before the clerks' hours end (counting the
    /// booking notice): closed for the day, whatever is booked.
    Over,
}

impl Closed {
    /// The machine-readable reason (`closed` in the slots response).
    pub fn code(&self) -> &'static str {
        match self {
            Closed::Past => "past",
            Closed::BeyondHorizon => "beyond_horizon",
            Closed::Holiday(_) => "holiday",
            Closed::Weekend => "weekend",
            Closed::NoHours => "no_hours",
            Closed::Over => "over",
        }
    }

    /// The holiday's name, for `Holiday`.
    pub fn holiday(&self) -> Option<&str> {
        match self {
            Closed::Holiday(name) => Some(name),
            _ => None,
        }
    }
}

/// Why `date` has no free times, or `None` when it is open and its times are all taken (or
/// blocked by the clerks' own leave). Call it only for days without slots. `holidays` are the
/// mall-wide closures overlapping the window, with their names; only a day with working hours
/// can be a holiday, so a caller may skip loading them when [`is_working_day`] says no day
/// needs them.
pub fn why_closed(
    rules: &SlotRules,
    clerks: &[ClerkCalendar],
    holidays: &[(Interval, String)],
    date: NaiveDate,
) -> Option<Closed> {
    let today = rules.now.with_timezone(&rules.tz).date_naive();
    if date < today {
        return Some(Closed::Past);
    }
    if date > rules.last_day() {
        return Some(Closed::BeyondHorizon);
    }
    let working: Vec<Interval> = clerks
        .iter()
        .flat_map(|c| c.hours.on(date.weekday().number_from_monday()))
        .filter_map(|&(from, to)| {
            Interval::new(to_utc(rules.tz, date, from)?, to_utc(rules.tz, date, to)?)
        })
        .collect();
    if working.is_empty() {
        return Some(if date.weekday().number_from_monday() >= 6 {
            Closed::Weekend
        } else {
            Closed::NoHours
        });
    }
    // A holiday counts when it covers every working interval of the day (a holiday on a day
    // nobody works anyway, such as a Sunday, is simply that day's other reason).
    let covering = |w: &Interval| holidays.iter().find(|(period, _)| period.contains(w));
    if let Some((_, name)) = covering(&working[0])
        && working.iter().all(|w| covering(w).is_some())
    {
        return Some(Closed::Holiday(name.clone()));
    }
    let earliest = rules.now + rules.min_notice;
    let step = rules.duration + rules.buffer;
    if date == today && working.iter().all(|w| w.end - step < earliest) {
        return Some(Closed::Over);
    }
    None
}

/// Whether a day without free times could be a holiday: `why_closed` without holidays says it
/// is full or over, so it has working hours that a closure might cover.
pub fn is_working_day(closed_without_holidays: &Option<Closed>) -> bool {
    matches!(closed_without_holidays, None | Some(Closed::Over))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::StaffId;
    use crate::domain::schedule::{WeeklyHours, WorkInterval};
    use crate::domain::slots::tests::{rules, t};
    use chrono::{DateTime, Utc};
    use chrono::{Duration, NaiveTime};
    use chrono_tz::Asia::Jakarta;

    fn d(day: u32) -> NaiveDate {
        // March 2026: the 16th is a Monday, the 21st and 22nd a weekend.
        NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
    }
    fn wib(day: u32, h: u32, m: u32) -> DateTime<Utc> {
        to_utc(Jakarta, d(day), t(h, m)).unwrap()
    }
    /// Monday to Friday, 08.00–12.00 and 13.00–15.00 (or only the given weekdays).
    fn clerk(weekdays: &[u8]) -> ClerkCalendar {
        let mut v = vec![];
        for &weekday in weekdays {
            v.push(WorkInterval {
                weekday,
                starts: t(8, 0),
                ends: t(12, 0),
            });
            v.push(WorkInterval {
                weekday,
                starts: t(13, 0),
                ends: t(15, 0),
            });
        }
        ClerkCalendar {
            staff_id: StaffId::new(),
            hours: WeeklyHours::parse(&v).unwrap(),
            busy: vec![],
            load: 0,
        }
    }
    fn whole_days(from: u32, to: u32, name: &str) -> (Interval, String) {
        let period = Interval::new(
            to_utc(Jakarta, d(from), NaiveTime::MIN).unwrap(),
            to_utc(Jakarta, d(to) + Duration::days(1), NaiveTime::MIN).unwrap(),
        )
        .unwrap();
        (period, name.to_string())
    }

    #[test]
    fn weekends_weekdays_without_hours_and_the_window_edges_say_why() {
        // Monday the 16th, 07.00 WIB.
        let r = rules(wib(16, 7, 0));
        let office = [clerk(&[1, 2, 3, 4, 5])];
        assert_eq!(why_closed(&r, &office, &[], d(21)), Some(Closed::Weekend));
        assert_eq!(why_closed(&r, &office, &[], d(22)), Some(Closed::Weekend));
        assert_eq!(why_closed(&r, &office, &[], d(15)), Some(Closed::Past));
        assert_eq!(
            why_closed(&r, &office, &[], d(16) + Duration::days(31)),
            Some(Closed::BeyondHorizon)
        );
        // An ordinary working day without free times is full, not closed.
        assert_eq!(why_closed(&r, &office, &[], d(17)), None);
        // Nobody works Wednesdays.
        let no_wednesday = [clerk(&[1, 2, 4, 5])];
        assert_eq!(
            why_closed(&r, &no_wednesday, &[], d(18)),
            Some(Closed::NoHours)
        );
        // A service nobody serves is closed every day.
        assert_eq!(why_closed(&r, &[], &[], d(17)), Some(Closed::NoHours));
        // Open on Saturdays: a Saturday without times is full.
        let saturday = [clerk(&[1, 2, 3, 4, 5, 6])];
        assert_eq!(why_closed(&r, &saturday, &[], d(21)), None);
        assert_eq!(why_closed(&r, &saturday, &[], d(22)), Some(Closed::Weekend));
    }

    #[test]
    fn a_holiday_over_the_working_hours_is_named() {
        let r = rules(wib(16, 7, 0));
        let office = [clerk(&[1, 2, 3, 4, 5])];
        let nyepi = whole_days(19, 19, "Hari Suci Nyepi");
        assert_eq!(
            why_closed(&r, &office, std::slice::from_ref(&nyepi), d(19)),
            Some(Closed::Holiday("Hari Suci Nyepi".into()))
        );
        assert_eq!(
            why_closed(&r, &office, std::slice::from_ref(&nyepi), d(19)).map(|c| c.code()),
            Some("holiday")
        );
        // The day after is an ordinary (full) day; a holiday on a Sunday leaves it a weekend.
        assert_eq!(why_closed(&r, &office, &[nyepi], d(20)), None);
        let sunday = whole_days(22, 22, "Hari Raya Idul Fitri");
        assert_eq!(
            why_closed(&r, &office, &[sunday], d(22)),
            Some(Closed::Weekend)
        );
        // A closure over the afternoon only leaves the morning: full, not a holiday.
        let afternoon = (
            Interval::new(wib(18, 12, 0), wib(18, 17, 0)).unwrap(),
            "Rapat".to_string(),
        );
        assert_eq!(why_closed(&r, &office, &[afternoon], d(18)), None);
        // Two holidays back to back, one named for the day.
        let lebaran = whole_days(23, 24, "Cuti Bersama Idul Fitri");
        assert_eq!(
            why_closed(&r, &office, &[lebaran], d(24)).and_then(|c| c.holiday().map(String::from)),
            Some("Cuti Bersama Idul Fitri".into())
        );
    }

    #[test]
    fn today_is_over_once_no_consultation_can_start() {
        let office = [clerk(&[1, 2, 3, 4, 5])];
        // 13.00: the last 30-minute step before 15.00 starts at 14.30, but two hours' notice
        // moves the earliest start to 15.00.
        let late = rules(wib(16, 13, 0));
        assert_eq!(why_closed(&late, &office, &[], d(16)), Some(Closed::Over));
        // 12.00: 14.00 is still possible, so a day without times is full.
        let noon = rules(wib(16, 12, 0));
        assert_eq!(why_closed(&noon, &office, &[], d(16)), None);
        // Tomorrow is never over.
        assert_eq!(why_closed(&late, &office, &[], d(17)), None);
    }
}
