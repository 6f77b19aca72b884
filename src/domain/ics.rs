//! iCalendar (RFC 5545) files: one appointment for the citizen, and a clerk's feed. Lines are
//! CRLF-terminated, text is escaped, and long lines are folded at 75 octets. No NIK, phone or
//! token is ever written here.

use chrono::{DateTime, Utc};

pub struct IcsEvent<'a> {
    /// Stable across updates so calendars replace rather than duplicate.
    pub uid: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub summary: &'a str,
    pub description: &'a str,
    pub url: Option<&'a str>,
    pub cancelled: bool,
    /// Bumped on every change (we use the number of audit events after the booking).
    pub sequence: i64,
    pub stamp: DateTime<Utc>,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Folds a content line at 75 octets without splitting a UTF-8 character.
fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

/// A VCALENDAR with the given events. `name` becomes the calendar's display name.
pub fn calendar(name: &str, events: &[IcsEvent<'_>]) -> String {
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Loket//Loket MPP//ID",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        push_line(&mut out, l);
    }
    push_line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    for e in events {
        push_line(&mut out, "BEGIN:VEVENT");
        push_line(&mut out, &format!("UID:{}", escape(&e.uid)));
        push_line(&mut out, &format!("DTSTAMP:{}", stamp(e.stamp)));
        push_line(&mut out, &format!("DTSTART:{}", stamp(e.starts_at)));
        push_line(&mut out, &format!("DTEND:{}", stamp(e.ends_at)));
        push_line(&mut out, &format!("SEQUENCE:{}", e.sequence.max(0)));
        push_line(&mut out, &format!("SUMMARY:{}", escape(e.summary)));
        push_line(&mut out, &format!("DESCRIPTION:{}", escape(e.description)));
        if let Some(url) = e.url {
            push_line(&mut out, &format!("URL:{}", escape(url)));
        }
        push_line(
            &mut out,
            if e.cancelled {
                "STATUS:CANCELLED"
            } else {
                "STATUS:CONFIRMED"
            },
        );
        if !e.cancelled {
            for l in [
                "BEGIN:VALARM",
                "ACTION:DISPLAY",
                "DESCRIPTION:Konsultasi Loket dimulai 15 menit lagi",
                "TRIGGER:-PT15M",
                "END:VALARM",
            ] {
                push_line(&mut out, l);
            }
        }
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_escaped_folded_and_crlf_terminated() {
        let start = DateTime::from_timestamp(1_773_628_200, 0).unwrap();
        let long = "Persetujuan Bangunan Gedung (PBG), konsultasi; dengan petugas DPMPTSP Kota Bogor yang ramah";
        let ics = calendar(
            "Loket",
            &[IcsEvent {
                uid: "abc@loket".into(),
                starts_at: start,
                ends_at: start + chrono::Duration::minutes(30),
                summary: long,
                description: "Baris 1\nBaris 2",
                url: Some("http://x/join#t=abc"),
                cancelled: false,
                sequence: 3,
                stamp: start,
            }],
        );
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.contains("DTSTART:20260316T023000Z\r\n"));
        assert!(ics.contains("DESCRIPTION:Baris 1\\nBaris 2\r\n"));
        assert!(ics.contains("\\, konsultasi\\; dengan"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line}");
        }
        assert!(!ics.replace("\r\n", "").contains('\n'));
        assert!(ics.contains("URL:http://x/join#t=abc\r\n"));
        assert!(ics.contains("SEQUENCE:3\r\n"));
        assert!(ics.contains("STATUS:CONFIRMED\r\n"));
        assert!(ics.contains("TRIGGER:-PT15M\r\n"), "a reminder");
        assert!(ics.contains("DTSTAMP:20260316T023000Z\r\n"));
        assert!(ics.contains("DTEND:20260316T030000Z\r\n"));
        // Unfolded, the summary is whole again.
        assert!(
            ics.replace("\r\n ", "")
                .contains(&format!("SUMMARY:{}", escape(long)))
        );
    }

    #[test]
    fn text_escaping_follows_rfc_5545() {
        assert_eq!(escape("a\\b;c,d\ne\r\u{7}f"), "a\\\\b\\;c\\,d\\nef");
        assert_eq!(escape("Cuti: 5 hari"), "Cuti: 5 hari");
    }

    /// 75 octets fit on a line; the 76th starts a continuation line (a space and 74 more). A
    /// multi-byte character is never split.
    #[test]
    fn lines_fold_at_exactly_75_octets() {
        let mut out = String::new();
        push_line(&mut out, &"x".repeat(75));
        assert_eq!(out, format!("{}\r\n", "x".repeat(75)));
        let mut out = String::new();
        push_line(&mut out, &"x".repeat(75 + 74 + 1));
        assert_eq!(
            out,
            format!("{}\r\n {}\r\n {}\r\n", "x".repeat(75), "x".repeat(74), "x")
        );
        let mut out = String::new();
        push_line(&mut out, &format!("{}é", "x".repeat(74)));
        assert_eq!(out, format!("{}\r\n é\r\n", "x".repeat(74)));
        let mut out = String::new();
        push_line(&mut out, "");
        assert_eq!(out, "\r\n");
    }

    #[test]
    fn a_cancelled_event_says_so_and_has_no_reminder() {
        let start = DateTime::from_timestamp(1_773_628_200, 0).unwrap();
        let ics = calendar(
            "Loket; Asep",
            &[IcsEvent {
                uid: "u@loket".into(),
                starts_at: start,
                ends_at: start,
                summary: "PBG",
                description: "",
                url: None,
                cancelled: true,
                sequence: -2,
                stamp: start,
            }],
        );
        assert!(ics.contains("X-WR-CALNAME:Loket\\; Asep\r\n"));
        assert!(ics.contains("STATUS:CANCELLED\r\n"));
        assert!(!ics.contains("CONFIRMED") && !ics.contains("VALARM"));
        assert!(!ics.contains("URL:"));
        assert!(ics.contains("SEQUENCE:0\r\n"), "never negative");
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1);
        assert_eq!(calendar("x", &[]).matches("VEVENT").count(), 0);
    }
}
