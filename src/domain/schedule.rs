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
}
