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
    }
}
