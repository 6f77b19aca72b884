//! Roles, agency kinds, time intervals and a clerk's weekly hours (wall-clock times in the
//! site's zone; breaks are the gaps between intervals).

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Clerk,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "clerk" => Some(Role::Clerk),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    City,
    Province,
    Central,
    Enterprise,
}

impl AgencyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AgencyKind::City => "city",
            AgencyKind::Province => "province",
            AgencyKind::Central => "central",
            AgencyKind::Enterprise => "enterprise",
        }
    }
    pub fn parse(s: &str) -> Option<AgencyKind> {
        match s {
            "city" => Some(AgencyKind::City),
            "province" => Some(AgencyKind::Province),
            "central" => Some(AgencyKind::Central),
            "enterprise" => Some(AgencyKind::Enterprise),
            _ => None,
        }
    }
}

/// A half-open UTC interval `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Interval {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<Interval> {
        (start < end).then_some(Interval { start, end })
    }
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }
    pub fn contains(&self, other: &Interval) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// One working interval on an ISO weekday (1 = Monday … 7 = Sunday).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WorkInterval {
    pub weekday: u8,
    pub starts: NaiveTime,
    pub ends: NaiveTime,
}

/// A clerk's week: sorted, non-overlapping intervals per weekday.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    days: [Vec<(NaiveTime, NaiveTime)>; 7],
}

/// The most intervals one day may hold (a day with 8 breaks is a mistake).
pub const MAX_INTERVALS_PER_DAY: usize = 8;

impl WeeklyHours {
    /// Validates: weekday 1..=7, start before end, no overlaps, a bounded number per day.
    /// Errors name the offending entry by index.
    pub fn parse(intervals: &[WorkInterval]) -> Result<WeeklyHours, (usize, &'static str)> {
        let mut days: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        for (i, w) in intervals.iter().enumerate() {
            if !(1..=7).contains(&w.weekday) {
                return Err((i, "invalid_weekday"));
            }
            if w.starts >= w.ends {
                return Err((i, "starts_after_ends"));
            }
            days[(w.weekday - 1) as usize].push((w.starts, w.ends));
        }
        for (d, day) in days.iter_mut().enumerate() {
            day.sort();
            if day.len() > MAX_INTERVALS_PER_DAY {
                let idx = intervals
                    .iter()
                    .position(|w| w.weekday as usize == d + 1)
                    .unwrap_or(0);
                return Err((idx, "too_many_intervals"));
            }
            for pair in day.windows(2) {
                if pair[1].0 < pair[0].1 {
                    let idx = intervals
                        .iter()
                        .position(|w| w.weekday as usize == d + 1 && w.starts == pair[1].0)
                        .unwrap_or(0);
                    return Err((idx, "overlaps"));
                }
            }
        }
        Ok(WeeklyHours { days })
    }

    /// Intervals for an ISO weekday (1..=7), sorted.
    pub fn on(&self, weekday: u32) -> &[(NaiveTime, NaiveTime)] {
        match weekday {
            1..=7 => &self.days[(weekday - 1) as usize],
            _ => &[],
        }
    }

    pub fn intervals(&self) -> Vec<WorkInterval> {
        self.days
            .iter()
            .enumerate()
            .flat_map(|(d, v)| {
                v.iter().map(move |&(starts, ends)| WorkInterval {
                    weekday: d as u8 + 1,
                    starts,
                    ends,
                })
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn hours_are_validated() {
        let ok = WeeklyHours::parse(&[
            WorkInterval {
                weekday: 1,
                starts: t(13, 0),
                ends: t(15, 0),
            },
            WorkInterval {
                weekday: 1,
                starts: t(8, 0),
                ends: t(12, 0),
            },
        ])
        .unwrap();
        assert_eq!(ok.on(1), &[(t(8, 0), t(12, 0)), (t(13, 0), t(15, 0))]);
        assert!(ok.on(2).is_empty());
        assert_eq!(
            WeeklyHours::parse(&[WorkInterval {
                weekday: 8,
                starts: t(8, 0),
                ends: t(9, 0)
            }]),
            Err((0, "invalid_weekday"))
        );
        assert_eq!(
            WeeklyHours::parse(&[WorkInterval {
                weekday: 1,
                starts: t(9, 0),
                ends: t(9, 0)
            }]),
            Err((0, "starts_after_ends"))
        );
        assert_eq!(
            WeeklyHours::parse(&[
                WorkInterval {
                    weekday: 2,
                    starts: t(8, 0),
                    ends: t(12, 0)
                },
                WorkInterval {
                    weekday: 2,
                    starts: t(11, 0),
                    ends: t(13, 0)
                },
            ]),
            Err((1, "overlaps"))
        );
    }

    fn w(weekday: u8, starts: NaiveTime, ends: NaiveTime) -> WorkInterval {
        WorkInterval {
            weekday,
            starts,
            ends,
        }
    }

    /// Touching intervals are fine (a break of zero), a minute of overlap is not; weekdays run
    /// 1..=7 exactly; a day holds at most eight intervals; errors name the entry at fault.
    #[test]
    fn hours_have_exact_edges_and_errors_name_the_entry() {
        let touching = WeeklyHours::parse(&[w(3, t(8, 0), t(12, 0)), w(3, t(12, 0), t(13, 0))]);
        assert!(touching.is_ok(), "{touching:?}");
        assert_eq!(
            WeeklyHours::parse(&[
                w(5, t(7, 0), t(8, 0)),
                w(3, t(8, 0), t(12, 0)),
                w(3, t(11, 59), t(13, 0)),
            ]),
            Err((2, "overlaps"))
        );
        assert_eq!(
            WeeklyHours::parse(&[w(1, t(8, 0), t(9, 0)), w(0, t(8, 0), t(9, 0))]),
            Err((1, "invalid_weekday"))
        );
        assert_eq!(
            WeeklyHours::parse(&[w(1, t(8, 0), t(9, 0)), w(2, t(10, 0), t(9, 0))]),
            Err((1, "starts_after_ends"))
        );
        let sunday = WeeklyHours::parse(&[w(7, t(8, 0), t(9, 0))]).unwrap();
        assert_eq!(sunday.on(7), &[(t(8, 0), t(9, 0))]);
        assert!(sunday.on(0).is_empty() && sunday.on(8).is_empty());
        let eight: Vec<_> = (0..8).map(|h| w(4, t(8 + h, 0), t(8 + h, 30))).collect();
        assert_eq!(WeeklyHours::parse(&eight).unwrap().on(4).len(), 8);
        let mut nine = vec![w(1, t(6, 0), t(7, 0))];
        nine.extend((0..9).map(|h| w(4, t(8 + h, 0), t(8 + h, 30))));
        assert_eq!(WeeklyHours::parse(&nine), Err((1, "too_many_intervals")));
    }

    #[test]
    fn a_week_lists_back_in_weekday_order() {
        let week = WeeklyHours::parse(&[
            w(5, t(8, 0), t(11, 30)),
            w(1, t(13, 0), t(15, 0)),
            w(1, t(8, 0), t(12, 0)),
        ])
        .unwrap();
        assert_eq!(
            week.intervals(),
            vec![
                w(1, t(8, 0), t(12, 0)),
                w(1, t(13, 0), t(15, 0)),
                w(5, t(8, 0), t(11, 30)),
            ]
        );
        assert!(!week.is_empty());
        assert!(WeeklyHours::parse(&[]).unwrap().is_empty());
    }

    #[test]
    fn intervals_are_half_open() {
        let at = |h: u32| DateTime::from_timestamp(i64::from(h) * 3600, 0).unwrap();
        assert_eq!(Interval::new(at(2), at(2)), None);
        assert_eq!(Interval::new(at(3), at(2)), None);
        let a = Interval::new(at(1), at(3)).unwrap();
        let b = Interval::new(at(3), at(4)).unwrap();
        let c = Interval::new(at(2), at(4)).unwrap();
        assert!(
            !a.overlaps(&b) && !b.overlaps(&a),
            "touching is not overlapping"
        );
        assert!(a.overlaps(&c) && c.overlaps(&a));
        assert!(c.contains(&b) && !b.contains(&c));
        assert!(a.contains(&a), "an interval contains itself");
        assert!(!a.contains(&c));
    }

    #[test]
    fn roles_and_agency_kinds_read_back() {
        for r in [Role::Clerk, Role::Supervisor, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::Clerk.as_str(), "clerk");
        assert_eq!(Role::Supervisor.as_str(), "supervisor");
        assert_eq!(Role::Admin.as_str(), "admin");
        assert_eq!(Role::parse("Admin"), None);
        for k in [
            AgencyKind::City,
            AgencyKind::Province,
            AgencyKind::Central,
            AgencyKind::Enterprise,
        ] {
            assert_eq!(AgencyKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(
            [
                AgencyKind::City,
                AgencyKind::Province,
                AgencyKind::Central,
                AgencyKind::Enterprise
            ]
            .map(AgencyKind::as_str),
            ["city", "province", "central", "enterprise"]
        );
        assert_eq!(AgencyKind::parse("kota"), None);
    }
}
