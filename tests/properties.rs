//! Property tests for every parser of outside input (issue 13 §2): the signalling envelope, the
//! booking body as the HTTP layer reads it, phone numbers, NIKs, names, dates, forwarded
//! addresses, and what the ICS writer makes of whatever text it is given. Each runs proptest's
//! default 256 cases in CI (a few seconds in all); `PROPTEST_CASES=100000 cargo test --test
//! properties` runs longer — docs/testing.md records how long they ran without a finding.
//!
//! Why proptest and not cargo-fuzz: cargo-fuzz needs a nightly toolchain, which a fresh CI
//! machine here cannot download; proptest runs on stable, and shrinks a failure to a small case.

use proptest::prelude::*;

use loket::booking::BookingForm;
use loket::domain::citizen::{CitizenName, Nik, Phone};
use loket::domain::ics::{IcsEvent, calendar};
use loket::routes::body;

/// Text as a hostile client would send it: any Unicode, with the characters that matter to
/// the parsers (quotes, backslashes, NUL, CR/LF, separators, bidi controls, digits) made common.
fn nasty_text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '\0', '"', '\\', '\r', '\n', ',', ';', ':', '\u{202E}', '\u{200B}', '\u{0301}', '0', '8',
        '+', '-', ' ', '.', '{', '}', '[', ']', 'é', '日',
    ]);
    prop::collection::vec(prop_oneof![3 => special, 1 => any::<char>()], 0..120)
        .prop_map(|cs| cs.into_iter().collect())
}

/// A JSON value of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        nasty_text().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "service",
                    "starts_at",
                    "citizen",
                    "consent",
                    "name",
                    "phone",
                    "nik",
                    "email",
                ])
                .prop_map(String::from),
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Whether any string (or key) in the value holds a NUL.
fn holds_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(holds_nul),
        serde_json::Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

proptest! {
    /// The signalling envelope: any text is a message or a refusal, never a panic; a refusal
    /// is an `error` message, and what parses serialises back to a message that parses the same.
    #[test]
    fn the_signalling_envelope_reads_any_text(text in nasty_text()) {
        if let Ok(msg) = loket::signalling::protocol::parse_client(&text) {
            let again = serde_json::to_string(&msg).unwrap();
            prop_assert_eq!(loket::signalling::protocol::parse_client(&again).ok(), Some(msg));
        }
    }

    #[test]
    fn the_signalling_envelope_reads_any_json(v in json_value(), kind in prop::sample::select(
        vec!["signal", "admit", "hold", "chat", "leave", "ping", "pong", "nope"])) {
        let mut v = v;
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("type".into(), kind.into());
        }
        let _ = loket::signalling::protocol::parse_client(&v.to_string());
    }

    /// The booking body as HTTP reads it: any bytes are a form or a refusal; a NUL anywhere in a
    /// string is always found; a refusal never repeats a number that was sent.
    #[test]
    fn the_booking_body_reads_any_json_and_never_echoes_values(
        v in json_value(),
        nik in 1_000_000_000_000_000_u64..9_999_999_999_999_999,
    ) {
        let mut v = v;
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("citizen".into(), serde_json::json!({"nik": nik}));
        }
        let bytes = serde_json::to_vec(&v).unwrap();
        let has_nul = holds_nul(&v);
        prop_assert_eq!(body::has_nul(&bytes), has_nul);
        if let Err(e) = body::parse::<BookingForm>(&bytes) {
            let text = format!("{e:?}");
            prop_assert!(!text.contains(&nik.to_string()), "{}", text);
        }
    }

    #[test]
    fn the_booking_body_reads_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = body::parse::<BookingForm>(&bytes);
        // A raw NUL byte is always found.
        if bytes.contains(&0) {
            prop_assert!(body::has_nul(&bytes));
        }
    }

    /// A string's NUL is found exactly when there is one, whatever else it holds.
    #[test]
    fn nul_detection_agrees_with_the_decoded_string(s in nasty_text()) {
        let bytes = serde_json::to_vec(&serde_json::json!({"k": s})).unwrap();
        prop_assert_eq!(body::has_nul(&bytes), s.contains('\0'));
    }

    /// Phones: any text is a number or a reason; a number is E.164 `+628…`, and reading its
    /// stored form or the way it is shown gives the same number.
    #[test]
    fn phones_parse_to_one_canonical_form(raw in nasty_text()) {
        if let Ok(p) = Phone::parse(&raw) {
            prop_assert!(p.e164().starts_with("+628"));
            prop_assert!(p.e164()[1..].bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(Phone::from_e164(p.e164()), Some(p.clone()));
            prop_assert_eq!(Phone::parse(&p.display()).ok(), Some(p.clone()));
        }
    }

    #[test]
    fn phones_written_any_common_way_parse(digits in "8[0-9]{8,11}", style in 0..4_u8) {
        let raw = match style {
            0 => format!("0{digits}"),
            1 => format!("+62{digits}"),
            2 => format!("62 {} {}", &digits[..3], &digits[3..]),
            _ => format!("0{}-{}", &digits[..3], &digits[3..]),
        };
        let p = Phone::parse(&raw).expect("a valid mobile number");
        prop_assert_eq!(p.e164(), format!("+62{digits}"));
    }

    /// NIKs: any text is a NIK or a reason; a NIK is 16 digits, and neither its mask nor its
    /// Debug or Display shows the eight digits in the middle.
    #[test]
    fn niks_never_show_their_middle(raw in prop_oneof![nasty_text(), "[0-9 .]{10,24}"]) {
        if let Ok(n) = Nik::parse(&raw) {
            prop_assert_eq!(n.expose().len(), 16);
            let middle = &n.expose()[4..12];
            for shown in [n.masked(), format!("{n:?}"), format!("{n}")] {
                prop_assert!(!shown.contains(middle), "{}", shown);
            }
        }
    }

    /// Names: any text is a name or a reason; an accepted name has no control, bidi or
    /// zero-width character and no run of three combining marks.
    #[test]
    fn accepted_names_carry_nothing_invisible(raw in nasty_text()) {
        if let Ok(n) = CitizenName::parse(&raw) {
            let s = n.as_str();
            let hidden = |c: char| {
                c.is_control()
                    || ('\u{202A}'..='\u{202E}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)
                    || c == '\u{200B}'
                    || c == '\u{FEFF}'
            };
            prop_assert!(!s.chars().any(hidden), "{:?}", s);
            prop_assert_eq!(s.trim(), s);
        }
    }

    /// Dates: any text is a date in Loket's years or a reason.
    #[test]
    fn dates_are_in_range_or_refused(raw in prop_oneof![nasty_text(), "-?[0-9]{1,7}-[0-9]{1,2}-[0-9]{1,2}"]) {
        use chrono::Datelike;
        if let Ok(d) = loket::domain::dates::parse_date(&raw) {
            prop_assert!((2000..=2199).contains(&d.year()));
        }
        if let Ok(t) = loket::domain::dates::parse_instant(&raw) {
            prop_assert!((2000..=2199).contains(&t.year()));
        }
    }

    /// Forwarded addresses: any header gives an address, and never one to the left of the
    /// right-most untrusted entry.
    #[test]
    fn forwarded_headers_never_panic(entries in prop::collection::vec(nasty_text(), 0..5)) {
        let refs: Vec<&str> = entries.iter().map(String::as_str).collect();
        let trusted = [loket::domain::net::Cidr::parse("127.0.0.0/8").unwrap()];
        let peer: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let _ = loket::domain::net::client_address(peer, &refs, &trusted, false);
        let _ = loket::domain::net::Cidr::parse(&entries.concat());
    }

    /// The ICS writer, given any text: every line ends CRLF, no line is over 75 octets, no
    /// bare CR or LF, and the structure (one event, its properties) cannot be changed by the text.
    #[test]
    fn the_ics_writer_keeps_its_structure_whatever_the_text(
        summary in nasty_text(), description in nasty_text(), uid in nasty_text(),
        url in prop::option::of(nasty_text()), name in nasty_text(), cancelled in any::<bool>(),
    ) {
        let now = chrono::Utc::now();
        let event = IcsEvent {
            uid, starts_at: now, ends_at: now, summary: &summary, description: &description,
            url: url.as_deref(), cancelled, sequence: 1, stamp: now,
        };
        let out = calendar(&name, &[event]);
        prop_assert!(out.ends_with("\r\n"));
        for line in out.split("\r\n") {
            prop_assert!(line.len() <= 75, "{:?}", line);
            prop_assert!(!line.contains('\r') && !line.contains('\n'));
        }
        let unfolded = out.replace("\r\n ", "");
        let names: Vec<&str> = unfolded
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(|l| l.split(':').next().unwrap_or(""))
            .collect();
        prop_assert_eq!(names.iter().filter(|n| **n == "BEGIN").count(), if cancelled { 2 } else { 3 });
        for n in &names {
            prop_assert!(
                ["BEGIN", "END", "VERSION", "PRODID", "CALSCALE", "METHOD", "X-WR-CALNAME", "UID",
                 "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "SUMMARY", "DESCRIPTION", "URL",
                 "STATUS", "ACTION", "TRIGGER"].contains(n),
                "a line the writer did not mean: {:?}", n
            );
        }
    }
}
