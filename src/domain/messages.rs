//! The words of every message, one template file per kind and language
//! (`templates/messages/<kind>.<id|en>.txt`, built into the binary). A template's first line is
//! its title (the email subject), then a blank line, then the body with `{name}`-style
//! placeholders. The body is what the SMS and the email carry; the same body, with the
//! placeholders as `{{1}}`, `{{2}}`, … in order of first appearance, is the WhatsApp template
//! registered with Meta under `loket_<kind>` (see [`whatsapp_template`]).
//!
//! Rendering is pure and strict: a placeholder without a value is an error, never an empty
//! hole. The values given are the only personal data a message can hold — the NIK is never one
//! of them.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use super::notify::{Kind, Lang};

/// The template text of a kind in a language.
pub fn template(kind: Kind, lang: Lang) -> &'static str {
    macro_rules! t {
        ($name:literal) => {
            match lang {
                Lang::Id => include_str!(concat!("../../templates/messages/", $name, ".id.txt")),
                Lang::En => include_str!(concat!("../../templates/messages/", $name, ".en.txt")),
            }
        };
    }
    match kind {
        Kind::Booked => t!("booked"),
        Kind::Rescheduled => t!("rescheduled"),
        Kind::Cancelled => t!("cancelled"),
        Kind::Reassigned => t!("reassigned"),
        Kind::NeedsNewTime => t!("needs_new_time"),
        Kind::ReminderDayBefore => t!("reminder_day_before"),
        Kind::ReminderSoon => t!("reminder_soon"),
        Kind::RoomOpen => t!("room_open"),
        Kind::Completed => t!("completed"),
        Kind::Otp => t!("otp"),
        Kind::QueueNear => t!("queue_near"),
        Kind::QueueCalled => t!("queue_called"),
    }
}

/// A template's title and body.
fn split(text: &str) -> (&str, &str) {
    match text.split_once('\n') {
        Some((title, body)) => (title.trim(), body.trim()),
        None => ("", text.trim()),
    }
}

/// The placeholder names of a text, in order of first appearance.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            && !out.contains(&name)
        {
            out.push(name);
        }
        rest = &after[close + 1..];
    }
    out
}

/// The values a message may show, by placeholder name.
pub type Vars = BTreeMap<&'static str, String>;

/// A message ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The email subject.
    pub title: String,
    /// The text (SMS, email's plain part, the Outbox page).
    pub text: String,
    /// The WhatsApp template's body parameters, in order.
    pub params: Vec<String>,
    /// `loket_<kind>`: the WhatsApp template's name.
    pub template: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the {kind} template needs a value for {{{name}}}")]
pub struct MissingValue {
    pub kind: &'static str,
    pub name: String,
}

fn fill(text: &str, vars: &Vars, kind: Kind) -> Result<String, MissingValue> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').unwrap_or(after.len());
        let name = &after[..close];
        match vars.get(name) {
            Some(v) => out.push_str(v),
            None => {
                return Err(MissingValue {
                    kind: kind.as_str(),
                    name: name.to_string(),
                });
            }
        }
        rest = after.get(close + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(out)
}

/// WhatsApp refuses a parameter with a line break, a tab or more than four spaces in a row.
fn whatsapp_param(v: &str) -> String {
    let one_line = v
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    one_line.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn render(kind: Kind, lang: Lang, vars: &Vars) -> Result<Rendered, MissingValue> {
    let (title, body) = split(template(kind, lang));
    let params = placeholders(body)
        .into_iter()
        .map(|name| {
            vars.get(name)
                .map(|v| whatsapp_param(v))
                .ok_or_else(|| MissingValue {
                    kind: kind.as_str(),
                    name: name.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Rendered {
        title: fill(title, vars, kind)?,
        text: fill(body, vars, kind)?,
        params,
        template: format!("loket_{}", kind.as_str()),
    })
}

/// The body as Meta wants it registered: placeholders numbered `{{1}}`, `{{2}}`, ….
pub fn whatsapp_template(kind: Kind, lang: Lang) -> String {
    let (_, body) = split(template(kind, lang));
    let mut out = body.to_string();
    for (i, name) in placeholders(body).into_iter().enumerate() {
        out = out.replace(&format!("{{{name}}}"), &format!("{{{{{}}}}}", i + 1));
    }
    out
}

const DAYS_ID: [&str; 7] = [
    "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
];
const DAYS_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS_ID: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A time as people here say it, in the site's zone with its abbreviation:
/// `Kamis, 10 Desember 2026 pukul 09.00 WIB` / `Thursday 10 December 2026, 09:00 WIB`.
pub fn when(t: DateTime<Utc>, tz: Tz, lang: Lang) -> String {
    let l = t.with_timezone(&tz);
    let wd = l.weekday().num_days_from_monday() as usize;
    let m = l.month0() as usize;
    let zone = l.format("%Z");
    match lang {
        Lang::Id => format!(
            "{}, {} {} {} pukul {} {zone}",
            DAYS_ID[wd],
            l.day(),
            MONTHS_ID[m],
            l.year(),
            l.format("%H.%M")
        ),
        Lang::En => format!(
            "{} {} {} {}, {} {zone}",
            DAYS_EN[wd],
            l.day(),
            MONTHS_EN[m],
            l.year(),
            l.format("%H:%M")
        ),
    }
}

/// A service's requirements as one line (`KTP asli; Kartu Keluarga`), or a word for none.
pub fn requirements(items: &[String], lang: Lang) -> String {
    let items: Vec<&str> = items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return match lang {
            Lang::Id => "tidak ada dokumen khusus".into(),
            Lang::En => "no special documents".into(),
        };
    }
    items.join("; ")
}

/// Where a called number goes, as the `queue_called` message says it: the counter the clerk
/// called to ("loket 3"), else the clerk by name; a remote number goes to the video room.
pub fn queue_destination(
    counter: Option<&str>,
    clerk: Option<&str>,
    remote: bool,
    lang: Lang,
) -> String {
    let counter = counter.map(str::trim).filter(|c| !c.is_empty());
    let clerk = clerk.map(str::trim).filter(|c| !c.is_empty());
    match (lang, remote, counter, clerk) {
        (Lang::Id, true, _, Some(k)) => format!("ruang konsultasi video bersama {k}"),
        (Lang::Id, true, _, None) => "ruang konsultasi video".into(),
        (Lang::Id, false, Some(c), _) => format!("loket {c}"),
        (Lang::Id, false, None, Some(k)) => format!("petugas {k}"),
        (Lang::Id, false, None, None) => "loket".into(),
        (Lang::En, true, _, Some(k)) => format!("the video consultation room with {k}"),
        (Lang::En, true, _, None) => "the video consultation room".into(),
        (Lang::En, false, Some(c), _) => format!("counter {c}"),
        (Lang::En, false, None, Some(k)) => k.to_string(),
        (Lang::En, false, None, None) => "the counter".into(),
    }
}

/// What a called citizen does now, as one line: a remote number enters its room by `join`; a
/// number served in person shows itself at the counter.
pub fn queue_step(join: Option<&str>, lang: Lang) -> String {
    match (join, lang) {
        (Some(link), Lang::Id) => format!("Masuk ke ruang konsultasi: {link}"),
        (Some(link), Lang::En) => format!("Enter the consultation room: {link}"),
        (None, Lang::Id) => "Silakan datang dan tunjukkan nomor Anda kepada petugas.".into(),
        (None, Lang::En) => "Please come and show your number to the clerk.".into(),
    }
}

/// "About N minutes" as the `queue_near` message says it; unknown when the plan has no time
/// for the number yet.
pub fn queue_minutes(minutes: Option<u32>, lang: Lang) -> String {
    match (minutes, lang) {
        (Some(m), _) => m.to_string(),
        (None, Lang::Id) => "beberapa".into(),
        (None, Lang::En) => "a few".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn all_vars() -> Vars {
        let mut v = Vars::new();
        for (k, val) in [
            ("name", "Budi"),
            ("service", "Pembuatan KTP-el"),
            ("agency", "Disdukcapil Kota Bogor"),
            ("clerk", "Sari"),
            ("time", "Kamis, 10 Desember 2026 pukul 09.00 WIB"),
            ("code", "7KQ2M9XD"),
            ("join", "https://loket.example/join#t=TOKEN"),
            ("manage", "https://loket.example/manage#t=TOKEN"),
            ("home", "https://loket.example/"),
            ("requirements", "KTP asli; Kartu Keluarga"),
            ("survey", "https://loket.example/manage#t=TOKEN"),
            ("otp", "123456"),
            ("ticket", "A-007"),
            ("minutes", "10"),
            ("counter", "Loket 3"),
            ("status", "https://loket.example/antrian#t=T"),
            (
                "step",
                "Masuk ke ruang konsultasi: https://loket.example/join#t=TOKEN",
            ),
        ] {
            v.insert(k, val.to_string());
        }
        v
    }

    #[test]
    fn every_kind_renders_in_both_languages_with_a_title_and_no_hole() {
        for kind in Kind::ALL {
            for lang in [Lang::Id, Lang::En] {
                let r = render(kind, lang, &all_vars()).unwrap();
                assert!(!r.title.is_empty(), "{kind:?} {lang:?}");
                assert!(!r.text.contains('{') && !r.text.contains('}'), "{}", r.text);
                assert_eq!(r.template, format!("loket_{}", kind.as_str()));
                assert_eq!(
                    r.params.len(),
                    placeholders(split(template(kind, lang)).1).len()
                );
                // Short enough for two SMS segments' worth of reading on a phone.
                assert!(r.text.chars().count() < 700, "{kind:?} {lang:?} is long");
            }
        }
    }

    #[test]
    fn appointment_messages_carry_the_service_agency_time_and_code() {
        for kind in Kind::ALL
            .into_iter()
            .filter(|k| !matches!(k, Kind::Otp | Kind::QueueNear | Kind::QueueCalled))
        {
            for lang in [Lang::Id, Lang::En] {
                let r = render(kind, lang, &all_vars()).unwrap();
                assert!(r.text.contains("Pembuatan KTP-el"), "{kind:?}");
                assert!(r.text.contains("Disdukcapil Kota Bogor"), "{kind:?}");
                assert!(
                    r.text.contains("7KQ2M9XD") || kind == Kind::RoomOpen,
                    "{kind:?}"
                );
            }
        }
        let booked = render(Kind::Booked, Lang::Id, &all_vars()).unwrap();
        assert!(booked.text.contains("KTP asli; Kartu Keluarga"));
        assert!(booked.text.contains("manage#t="));
        let open = render(Kind::RoomOpen, Lang::En, &all_vars()).unwrap();
        assert!(open.text.contains("clerk will admit you"));
        let open = render(Kind::RoomOpen, Lang::Id, &all_vars()).unwrap();
        assert!(open.text.contains("mempersilakan Anda masuk"));
    }

    #[test]
    fn no_template_has_a_place_for_the_nik_or_a_phone() {
        let allowed = [
            "name",
            "service",
            "agency",
            "clerk",
            "time",
            "code",
            "join",
            "manage",
            "home",
            "requirements",
            "survey",
            "otp",
            "ticket",
            "minutes",
            "counter",
            "status",
            "step",
        ];
        for kind in Kind::ALL {
            for lang in [Lang::Id, Lang::En] {
                for p in placeholders(template(kind, lang)) {
                    assert!(allowed.contains(&p), "{kind:?} {lang:?} uses {{{p}}}");
                }
            }
        }
    }

    #[test]
    fn a_missing_value_is_an_error_not_a_hole() {
        let mut v = all_vars();
        v.remove("code");
        assert_eq!(
            render(Kind::Booked, Lang::Id, &v).unwrap_err(),
            MissingValue {
                kind: "booked",
                name: "code".into()
            }
        );
    }

    #[test]
    fn whatsapp_parameters_are_single_lines_in_placeholder_order() {
        let mut v = all_vars();
        v.insert("requirements", "KTP asli\nKartu   Keluarga\t ".into());
        let r = render(Kind::Booked, Lang::Id, &v).unwrap();
        assert_eq!(r.params[0], "Budi");
        assert!(
            r.params
                .iter()
                .all(|p| !p.contains('\n') && !p.contains('\t') && !p.contains("  "))
        );
        assert!(r.params.contains(&"KTP asli; Kartu Keluarga".to_string()));
        let registered = whatsapp_template(Kind::Booked, Lang::Id);
        assert!(registered.starts_with("Halo {{1}},"));
        assert!(!registered.contains("{name}"));
    }

    #[test]
    fn times_read_as_people_say_them_in_wib() {
        let t = chrono_tz::Asia::Jakarta
            .with_ymd_and_hms(2026, 12, 10, 9, 5, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            when(t, chrono_tz::Asia::Jakarta, Lang::Id),
            "Kamis, 10 Desember 2026 pukul 09.05 WIB"
        );
        assert_eq!(
            when(t, chrono_tz::Asia::Jakarta, Lang::En),
            "Thursday 10 December 2026, 09:05 WIB"
        );
        assert!(when(t, chrono_tz::Asia::Makassar, Lang::Id).ends_with("10.05 WITA"));
    }

    #[test]
    fn requirements_read_as_one_line() {
        assert_eq!(
            requirements(&["KTP".into(), " KK ".into()], Lang::Id),
            "KTP; KK"
        );
        assert_eq!(requirements(&[], Lang::En), "no special documents");
    }

    #[test]
    fn a_called_number_is_told_where_to_go_and_what_to_do() {
        assert_eq!(
            queue_destination(Some("3"), Some("Sari"), false, Lang::Id),
            "loket 3"
        );
        assert_eq!(
            queue_destination(None, Some("Sari"), false, Lang::Id),
            "petugas Sari"
        );
        assert_eq!(
            queue_destination(Some("3"), Some("Sari"), true, Lang::En),
            "the video consultation room with Sari"
        );
        let remote = queue_step(Some("https://l.example/join#t=X"), Lang::Id);
        assert!(remote.ends_with("https://l.example/join#t=X"), "{remote}");
        assert!(!queue_step(None, Lang::En).contains("http"));
        assert_eq!(queue_minutes(Some(12), Lang::Id), "12");
        assert_eq!(queue_minutes(None, Lang::Id), "beberapa");
    }
}
