//! Dates and instants from outside (query strings, bodies), read once and kept within the years
//! Loket can mean: 2000 to 2199. chrono reads `-4714-11-24` or `-262143-01-01` happily, and
//! Postgres then refuses them ("timestamp out of range"), which was a 500 for a client's typo;
//! a date outside the range is now `out_of_range` (422) before anything is looked up.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

pub const FIRST_YEAR: i32 = 2000;
pub const LAST_YEAR: i32 = 2199;

fn in_range(year: i32) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&year)
}

/// A local date written `YYYY-MM-DD`: `invalid_date` or `out_of_range` otherwise.
pub fn parse_date(raw: &str) -> Result<NaiveDate, &'static str> {
    let d = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| "invalid_date")?;
    if in_range(d.year()) {
        Ok(d)
    } else {
        Err("out_of_range")
    }
}

/// An instant in RFC 3339: `invalid` or `out_of_range` otherwise.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, &'static str> {
    let t = DateTime::parse_from_rfc3339(raw.trim())
        .map_err(|_| "invalid")?
        .with_timezone(&Utc);
    if in_range(t.year()) {
        Ok(t)
    } else {
        Err("out_of_range")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_outside_the_years_loket_means_are_out_of_range() {
        assert_eq!(
            parse_date("2026-03-16"),
            Ok(NaiveDate::from_ymd_opt(2026, 3, 16).unwrap())
        );
        assert_eq!(parse_date("-4714-11-24"), Err("out_of_range"));
        assert_eq!(parse_date("-262143-01-01"), Err("out_of_range"));
        assert_eq!(parse_date("1999-12-31"), Err("out_of_range"));
        assert_eq!(parse_date("2200-01-01"), Err("out_of_range"));
        assert_eq!(parse_date("2026-02-30"), Err("invalid_date"));
        assert_eq!(parse_date("16/03/2026"), Err("invalid_date"));
        assert!(parse_instant("2026-03-16T09:00:00+07:00").is_ok());
        assert_eq!(parse_instant("0001-01-01T00:00:00Z"), Err("out_of_range"));
        assert_eq!(parse_instant("2026-03-16 09:00"), Err("invalid"));
    }
}
