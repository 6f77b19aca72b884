//! Holding a booking until its phone confirms it (DESIGN §9 "Confirming a booking"), pure: when
//! confirmation is on, how long a hold's codes live, how many wrong tries and codes a hold
//! allows, and what a confirmation or a request for another code comes to.
//!
//! Rules:
//! - A hold lives `LOKET_HOLD_MINUTES` from the booking; asking for another code never extends
//!   it (otherwise a script could hold a slot for ever by asking again).
//! - A code works for [`CODE_MINUTES`] at most and never past its hold; a new code replaces the
//!   old one.
//! - [`MAX_TRIES`] wrong codes per hold (not per code: asking again gives no more guesses); the
//!   last wrong one ends the hold and frees the slot.
//! - [`MAX_SENDS`] codes per hold, at least [`RESEND_AFTER_SECS`] apart.

use chrono::{DateTime, Duration, Utc};

use super::appointment::Status;

/// Wrong codes one hold allows; the last ends it.
pub const MAX_TRIES: i32 = 5;
/// Codes one hold may be sent: the first and three more.
pub const MAX_SENDS: i32 = 4;
/// Seconds between two codes for one hold.
pub const RESEND_AFTER_SECS: i64 = 60;
/// A code works this long at most (the `otp` message says so).
pub const CODE_MINUTES: i64 = 10;

/// `LOKET_BOOKING_CONFIRMATION`: whether a booking waits for the code sent to its phone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Confirmation {
    /// On when a channel reaches phones (WhatsApp or SMS is configured), off otherwise.
    #[default]
    Auto,
    /// Always on.
    Otp,
    /// Always off: a booking is `booked` at once.
    Off,
}

impl Confirmation {
    pub fn parse(raw: &str) -> Option<Confirmation> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Confirmation::Auto),
            "otp" | "on" => Some(Confirmation::Otp),
            "off" => Some(Confirmation::Off),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Confirmation::Auto => "auto",
            Confirmation::Otp => "otp",
            Confirmation::Off => "off",
        }
    }

    /// Whether bookings are held, given whether a channel to phones is configured.
    pub fn holds(self, phone_channel: bool) -> bool {
        match self {
            Confirmation::Auto => phone_channel,
            Confirmation::Otp => true,
            Confirmation::Off => false,
        }
    }
}

/// How a hold ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Confirmed,
    Expired,
    TooManyTries,
    Cancelled,
}

impl Ended {
    pub fn as_str(self) -> &'static str {
        match self {
            Ended::Confirmed => "confirmed",
            Ended::Expired => "expired",
            Ended::TooManyTries => "too_many_tries",
            Ended::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Ended> {
        [
            Ended::Confirmed,
            Ended::Expired,
            Ended::TooManyTries,
            Ended::Cancelled,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
}

/// A booking's hold as stored: the appointment's status and hold time, and its code's record.
#[derive(Clone, Copy, Debug)]
pub struct Hold {
    pub status: Status,
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub code_expires_at: DateTime<Utc>,
    pub tries: i32,
    pub sends: i32,
    pub last_sent_at: DateTime<Utc>,
    pub ended: Option<Ended>,
}

/// What a confirmation may do before the code is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirm {
    /// Compare the code.
    Check,
    /// Confirmed already (a second click, a second tab): answer the booking as it is.
    AlreadyConfirmed,
    /// Its time is up; end it now if the reaper has not.
    Expired,
    /// The wrong tries were used up; the hold is gone.
    TooManyTries,
    /// This code's time is up; the hold is not: ask for another.
    CodeExpired,
    /// Never held, or cancelled.
    NotHeld,
}

/// Judges a confirmation of a booking with `status` and, if it was ever held, its `hold`.
pub fn confirm(status: Status, hold: Option<&Hold>, now: DateTime<Utc>) -> Confirm {
    let Some(h) = hold else {
        return Confirm::NotHeld;
    };
    match (status, h.ended) {
        (Status::Held, _) if h.hold_expires_at.is_none_or(|t| t <= now) => Confirm::Expired,
        (Status::Held, _) if h.code_expires_at <= now => Confirm::CodeExpired,
        (Status::Held, _) => Confirm::Check,
        (_, Some(Ended::Confirmed)) => Confirm::AlreadyConfirmed,
        (_, Some(Ended::Expired)) => Confirm::Expired,
        (_, Some(Ended::TooManyTries)) => Confirm::TooManyTries,
        _ => Confirm::NotHeld,
    }
}

/// What a wrong code does to a hold that had `tries` wrong ones before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrong {
    /// Counted; this many tries are left.
    TryAgain { tries_left: i32 },
    /// That was the last: end the hold.
    UsedUp,
}

pub fn wrong(tries_before: i32) -> Wrong {
    let tries = tries_before.saturating_add(1);
    if tries >= MAX_TRIES {
        Wrong::UsedUp
    } else {
        Wrong::TryAgain {
            tries_left: MAX_TRIES - tries,
        }
    }
}

/// What asking for another code comes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resend {
    /// Send a new code, working until then.
    Send {
        code_expires_at: DateTime<Utc>,
    },
    TooSoon {
        retry_after_secs: u64,
    },
    TooMany,
    Expired,
    NotHeld,
}

pub fn resend(status: Status, hold: Option<&Hold>, now: DateTime<Utc>) -> Resend {
    let Some(h) = hold else {
        return Resend::NotHeld;
    };
    match confirm(status, Some(h), now) {
        Confirm::Check | Confirm::CodeExpired => {}
        Confirm::Expired => return Resend::Expired,
        _ => return Resend::NotHeld,
    }
    if h.sends >= MAX_SENDS {
        return Resend::TooMany;
    }
    let next = h.last_sent_at + Duration::seconds(RESEND_AFTER_SECS);
    if next > now {
        let wait = (next - now).num_milliseconds();
        return Resend::TooSoon {
            retry_after_secs: (wait as u64).div_ceil(1000).max(1),
        };
    }
    match h.hold_expires_at {
        Some(until) => Resend::Send {
            code_expires_at: code_expiry(now, until),
        },
        None => Resend::Expired,
    }
}

/// When a code sent at `now` for a hold ending at `hold_until` stops working.
pub fn code_expiry(now: DateTime<Utc>, hold_until: DateTime<Utc>) -> DateTime<Utc> {
    (now + Duration::minutes(CODE_MINUTES)).min(hold_until)
}

/// Whole minutes a code issued at `now` and working until `until` can be promised in its message:
/// rounded down (never promise more than it works) after forgiving 5 seconds (a hold's end is
/// stored to the microsecond, so a 3-minute hold's code has 2 min 59.99 s when its message is
/// written), and at least 1.
pub fn minutes_left(now: DateTime<Utc>, until: DateTime<Utc>) -> i64 {
    (((until - now).num_seconds() + 5) / 60).max(1)
}

/// The `otp` message's round for the `n`-th code of a hold (1, 2, …): counted down from -1, so
/// it never shares a round with link recovery's codes (1, 2, …) about the same booking.
pub fn otp_round(n: i32) -> i32 {
    -n.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_codes_message_promises_whole_minutes_it_really_works_and_at_least_one() {
        let now = Utc::now();
        let at = |s: i64| now + Duration::seconds(s);
        assert_eq!(minutes_left(now, at(600)), 10);
        assert_eq!(
            minutes_left(now, at(595)),
            10,
            "a few seconds lost to rounding"
        );
        assert_eq!(minutes_left(now, at(594)), 9, "otherwise rounded down");
        assert_eq!(minutes_left(now, at(120)), 2);
        assert_eq!(minutes_left(now, at(61)), 1);
        assert_eq!(minutes_left(now, at(30)), 1, "never 0");
        // A hold of 2 minutes: its first code's message says 2, not the 10 a code can live.
        assert_eq!(minutes_left(now, code_expiry(now, at(120))), 2);
    }

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn held(now: i64) -> Hold {
        Hold {
            status: Status::Held,
            hold_expires_at: Some(t(now + 600)),
            code_expires_at: t(now + 600),
            tries: 0,
            sends: 1,
            last_sent_at: t(now),
            ended: None,
        }
    }

    #[test]
    fn the_setting_reads_its_three_values_and_auto_follows_the_phone_channels() {
        assert_eq!(Confirmation::parse(" OTP "), Some(Confirmation::Otp));
        assert_eq!(Confirmation::parse("on"), Some(Confirmation::Otp));
        assert_eq!(Confirmation::parse("off"), Some(Confirmation::Off));
        assert_eq!(Confirmation::parse("auto"), Some(Confirmation::Auto));
        assert_eq!(Confirmation::parse("yes"), None);
        for c in [Confirmation::Auto, Confirmation::Otp, Confirmation::Off] {
            assert_eq!(Confirmation::parse(c.as_str()), Some(c));
        }
        assert!(Confirmation::Auto.holds(true));
        assert!(!Confirmation::Auto.holds(false));
        assert!(Confirmation::Otp.holds(false));
        assert!(!Confirmation::Off.holds(true));
    }

    #[test]
    fn a_live_hold_checks_the_code_and_an_old_one_is_expired() {
        let h = held(0);
        assert_eq!(confirm(Status::Held, Some(&h), t(10)), Confirm::Check);
        assert_eq!(confirm(Status::Held, Some(&h), t(600)), Confirm::Expired);
        let mut short = h;
        short.code_expires_at = t(300);
        assert_eq!(
            confirm(Status::Held, Some(&short), t(300)),
            Confirm::CodeExpired
        );
        assert_eq!(confirm(Status::Booked, None, t(10)), Confirm::NotHeld);
    }

    #[test]
    fn an_ended_hold_says_how_it_ended() {
        let mut h = held(0);
        h.hold_expires_at = None;
        for (status, ended, want) in [
            (Status::Booked, Ended::Confirmed, Confirm::AlreadyConfirmed),
            (Status::Waiting, Ended::Confirmed, Confirm::AlreadyConfirmed),
            (Status::Cancelled, Ended::Expired, Confirm::Expired),
            (
                Status::Cancelled,
                Ended::TooManyTries,
                Confirm::TooManyTries,
            ),
            (Status::Cancelled, Ended::Cancelled, Confirm::NotHeld),
        ] {
            h.status = status;
            h.ended = Some(ended);
            assert_eq!(
                confirm(status, Some(&h), t(10)),
                want,
                "{status:?} {ended:?}"
            );
            assert_eq!(Ended::parse(ended.as_str()), Some(ended));
        }
    }

    #[test]
    fn five_wrong_codes_end_a_hold() {
        assert_eq!(wrong(0), Wrong::TryAgain { tries_left: 4 });
        assert_eq!(wrong(3), Wrong::TryAgain { tries_left: 1 });
        assert_eq!(wrong(4), Wrong::UsedUp);
        assert_eq!(wrong(i32::MAX), Wrong::UsedUp);
    }

    #[test]
    fn another_code_waits_a_minute_is_limited_and_never_outlives_the_hold() {
        let h = held(0);
        assert_eq!(
            resend(Status::Held, Some(&h), t(30)),
            Resend::TooSoon {
                retry_after_secs: 30
            }
        );
        assert_eq!(
            resend(Status::Held, Some(&h), t(60)),
            Resend::Send {
                code_expires_at: t(600)
            },
            "not past the hold"
        );
        let mut long = h;
        long.hold_expires_at = Some(t(3600));
        assert_eq!(
            resend(Status::Held, Some(&long), t(60)),
            Resend::Send {
                code_expires_at: t(60 + CODE_MINUTES * 60)
            }
        );
        let mut used = h;
        used.sends = MAX_SENDS;
        assert_eq!(resend(Status::Held, Some(&used), t(120)), Resend::TooMany);
        assert_eq!(resend(Status::Held, Some(&h), t(600)), Resend::Expired);
        assert_eq!(resend(Status::Booked, None, t(60)), Resend::NotHeld);
    }

    #[test]
    fn code_rounds_never_meet_link_recovery_rounds() {
        assert_eq!(otp_round(1), -1);
        assert_eq!(otp_round(4), -4);
        assert!((1..=MAX_SENDS).all(|n| otp_round(n) < 0));
    }
}
