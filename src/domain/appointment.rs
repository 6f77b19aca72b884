//! Appointment states and the moves between them, and booking codes.
//!
//! `booked → waiting → in_call → completed`; `booked | waiting → no_show`;
//! `booked | waiting → cancelled`. A citizen who leaves the waiting room goes back to `booked`,
//! and `hold` sends an `in_call` citizen back to `waiting`. A no-show may be recorded only once
//! the start plus a grace time has passed, and taken back (to `booked`) for a while after
//! ([`NoShowRule`]). With booking confirmation on (DESIGN §9) a booking starts `held`:
//! `held → booked` with the code sent to its phone, `held → cancelled` when its time runs out,
//! its tries are used up or the citizen cancels.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for the one-time code sent to the citizen's phone; holds the clerk's time.
    Held,
    Booked,
    Waiting,
    InCall,
    Completed,
    NoShow,
    Cancelled,
}

impl Status {
    pub const ACTIVE: [Status; 4] = [
        Status::Held,
        Status::Booked,
        Status::Waiting,
        Status::InCall,
    ];
    pub const ALL: [Status; 7] = [
        Status::Held,
        Status::Booked,
        Status::Waiting,
        Status::InCall,
        Status::Completed,
        Status::NoShow,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Held => "held",
            Status::Booked => "booked",
            Status::Waiting => "waiting",
            Status::InCall => "in_call",
            Status::Completed => "completed",
            Status::NoShow => "no_show",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "held" => Status::Held,
            "booked" => Status::Booked,
            "waiting" => Status::Waiting,
            "in_call" => Status::InCall,
            "completed" => Status::Completed,
            "no_show" => Status::NoShow,
            "cancelled" => Status::Cancelled,
            _ => return None,
        })
    }

    /// Still holds the clerk's time (the database's exclusion constraint counts these).
    pub fn is_active(self) -> bool {
        Status::ACTIVE.contains(&self)
    }

    /// Whether moving from `self` to `to` is allowed.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (Booked, Waiting)
                | (Waiting, Booked)
                | (Waiting, InCall)
                | (InCall, Waiting)
                | (InCall, Completed)
                | (Waiting, Completed)
                | (Booked, Completed)
                | (Booked, NoShow)
                | (Waiting, NoShow)
                | (Booked, Cancelled)
                | (Waiting, Cancelled)
                | (Held, Booked)
                | (Held, Cancelled)
        )
    }

    /// Whether the citizen may still move the appointment to another time.
    pub fn can_reschedule(self) -> bool {
        self == Status::Booked
    }
}

/// When a clerk may record that the citizen did not come, and how long that can be taken back.
///
/// Citizens run late, and a clerk's click can land on the wrong row: a no-show counts only after
/// the start plus `grace`, and within `undo` of recording it the clerk can take it back (the
/// appointment becomes `booked` again: the no-show closed the citizen's socket, and coming back
/// makes it `waiting` as usual).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoShowRule {
    pub grace: Duration,
    pub undo: Duration,
}

impl NoShowRule {
    pub fn from_minutes(grace: i64, undo: i64) -> NoShowRule {
        NoShowRule {
            grace: Duration::minutes(grace),
            undo: Duration::minutes(undo),
        }
    }

    /// The first moment a no-show may be recorded for an appointment starting at `starts_at`.
    pub fn allowed_from(&self, starts_at: DateTime<Utc>) -> DateTime<Utc> {
        starts_at + self.grace
    }

    /// `Err(allowed_from)` when it is too early to record a no-show at `now`.
    pub fn may_record(
        &self,
        starts_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), DateTime<Utc>> {
        let from = self.allowed_from(starts_at);
        if now < from { Err(from) } else { Ok(()) }
    }

    /// Whether a no-show recorded at `marked_at` may still be taken back at `now`.
    pub fn may_undo(&self, marked_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now >= marked_at && now < marked_at + self.undo
    }
}

/// Crockford base32 without I, L, O, U: nothing to misread over the phone.
pub const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const CODE_LEN: usize = 8;

/// A short, unambiguous booking code such as `7KQ2M9XD`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BookingCode(String);

impl BookingCode {
    /// A fresh random code (40 bits).
    pub fn generate() -> BookingCode {
        let mut bytes = [0u8; CODE_LEN];
        rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
        BookingCode(
            bytes
                .iter()
                .map(|b| CODE_ALPHABET[(b & 31) as usize] as char)
                .collect(),
        )
    }

    /// Reads a code as a person types it: case and the look-alikes O→0, I/L→1 forgiven,
    /// dashes and spaces ignored.
    pub fn parse(raw: &str) -> Option<BookingCode> {
        let code: String = raw
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            })
            .collect();
        (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b)))
            .then_some(BookingCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_moves_are_allowed() {
        use Status::*;
        assert!(Booked.can_become(Waiting));
        assert!(Waiting.can_become(InCall));
        assert!(InCall.can_become(Completed));
        assert!(Booked.can_become(NoShow));
        assert!(Booked.can_become(Cancelled));
        assert!(!Completed.can_become(Booked));
        assert!(!Cancelled.can_become(Booked));
        assert!(!NoShow.can_become(Completed));
        assert!(!InCall.can_become(Cancelled));
        assert!(!InCall.can_become(NoShow));
        for s in [Booked, Waiting, InCall, Completed, NoShow, Cancelled] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert!(!s.can_become(s));
        }
    }

    #[test]
    fn a_no_show_counts_only_after_the_grace_time_and_is_undone_only_within_the_window() {
        let rule = NoShowRule::from_minutes(10, 15);
        let start = DateTime::parse_from_rfc3339("2026-12-07T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let m = Duration::minutes;
        assert_eq!(
            rule.may_record(start, start - m(60 * 24 * 3)),
            Err(start + m(10))
        );
        assert_eq!(rule.may_record(start, start), Err(start + m(10)));
        assert_eq!(
            rule.may_record(start, start + m(10) - Duration::seconds(1)),
            Err(start + m(10))
        );
        assert_eq!(rule.may_record(start, start + m(10)), Ok(()));
        assert_eq!(rule.may_record(start, start + m(600)), Ok(()));
        let marked = start + m(12);
        assert!(rule.may_undo(marked, marked));
        assert!(rule.may_undo(marked, marked + m(14)));
        assert!(!rule.may_undo(marked, marked + m(15)));
        assert!(
            !rule.may_undo(marked, marked - m(1)),
            "not before it was marked"
        );
        let none = NoShowRule::from_minutes(0, 0);
        assert_eq!(none.may_record(start, start), Ok(()));
        assert!(
            !none.may_undo(marked, marked),
            "a zero window undoes nothing"
        );
    }

    #[test]
    fn codes_are_unambiguous_and_forgiving_to_read() {
        for _ in 0..200 {
            let c = BookingCode::generate();
            assert_eq!(c.as_str().len(), 8);
            assert!(!c.as_str().contains(['I', 'L', 'O', 'U']));
            assert_eq!(BookingCode::parse(c.as_str()), Some(c.clone()));
            assert_eq!(
                BookingCode::parse(&c.as_str().to_lowercase()),
                Some(c.clone())
            );
        }
        assert_eq!(
            BookingCode::parse("7kq2-m9xo").map(|c| c.as_str().to_string()),
            Some("7KQ2M9X0".into())
        );
        assert_eq!(BookingCode::parse("7KQ2M9XU"), None);
        assert_eq!(BookingCode::parse("7KQ2M9X"), None);
        assert_eq!(BookingCode::parse("7KQ2M9X01"), None, "too long");
        assert_eq!(BookingCode::parse("7KQ2M9X!"), None, "not in the alphabet");
        assert_eq!(
            BookingCode::parse(" 7kq2 m9xd ").map(|c| c.as_str().to_string()),
            Some("7KQ2M9XD".into())
        );
        assert_eq!(
            BookingCode::parse("i1l0-Oabc").map(|c| c.as_str().to_string()),
            Some("11100ABC".into())
        );
        // Every letter of the alphabet comes out of `generate` (the low five bits pick one).
        let seen: std::collections::BTreeSet<char> = (0..2000)
            .flat_map(|_| BookingCode::generate().as_str().chars().collect::<Vec<_>>())
            .collect();
        assert_eq!(seen.len(), 32, "{seen:?}");
    }

    #[test]
    fn statuses_read_back_and_say_what_they_hold() {
        use Status::*;
        let names = [
            (Booked, "booked"),
            (Waiting, "waiting"),
            (InCall, "in_call"),
            (Completed, "completed"),
            (NoShow, "no_show"),
            (Cancelled, "cancelled"),
        ];
        for (s, name) in names {
            assert_eq!(s.as_str(), name);
            assert_eq!(Status::parse(name), Some(s));
            assert_eq!(
                s.is_active(),
                matches!(s, Booked | Waiting | InCall),
                "{name}"
            );
            assert_eq!(s.can_reschedule(), s == Booked, "{name}");
        }
        assert_eq!(Status::parse("BOOKED"), None);
        assert_eq!(Status::parse(""), None);
    }

    #[test]
    fn a_hold_is_active_and_only_confirms_or_ends() {
        use Status::*;
        assert!(Held.is_active());
        assert_eq!(Status::parse("held"), Some(Held));
        assert_eq!(Held.as_str(), "held");
        assert!(!Held.can_reschedule());
        for to in Status::ALL {
            assert_eq!(
                Held.can_become(to),
                matches!(to, Booked | Cancelled),
                "held → {to:?}"
            );
            assert!(!to.can_become(Held), "{to:?} → held");
        }
    }

    /// The whole table of moves: exactly the eleven documented ones are allowed.
    #[test]
    fn the_moves_are_exactly_the_documented_ones() {
        use Status::*;
        let all = [Booked, Waiting, InCall, Completed, NoShow, Cancelled];
        let allowed = [
            (Booked, Waiting),
            (Waiting, Booked),
            (Waiting, InCall),
            (InCall, Waiting),
            (InCall, Completed),
            (Waiting, Completed),
            (Booked, Completed),
            (Booked, NoShow),
            (Waiting, NoShow),
            (Booked, Cancelled),
            (Waiting, Cancelled),
        ];
        for from in all {
            for to in all {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from:?} → {to:?}"
                );
            }
        }
    }
}
