//! What a citizen tells us when booking, each parsed once at the edge: a name, an Indonesian
//! mobile number (stored E.164), an optional email and, only where a service needs it, a NIK.

use std::fmt;

/// A person's name as they write it: 2..=120 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CitizenName(String);

/// Characters that change how text around them is shown without being seen themselves:
/// bidirectional overrides and isolates (U+202E turns "Budi \u{202e}amsuK" into "Budi Kusma"
/// on a clerk's screen). A name with one is refused.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Invisible characters a name can carry without meaning anything (zero-width space, joiner
/// and non-joiner, word joiner, byte-order mark, soft hyphen): removed.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}' | '\u{00AD}'
    )
}

/// More combining marks in a row than any written name needs (Vietnamese stacks two):
/// "Zalgo" text that spills over the lines around it.
const MAX_COMBINING_RUN: usize = 2;

/// A person's name as shown to others (citizens to clerks, staff to each other): invisible
/// characters removed, whitespace collapsed; bidirectional controls and long runs of combining
/// marks refused as `invalid_characters`.
pub fn clean_name(raw: &str) -> Result<String, &'static str> {
    use unicode_normalization::char::is_combining_mark;
    let mut run = 0;
    for c in raw.chars() {
        if is_bidi_control(c) {
            return Err("invalid_characters");
        }
        run = if is_combining_mark(c) { run + 1 } else { 0 };
        if run > MAX_COMBINING_RUN {
            return Err("invalid_characters");
        }
    }
    let visible: String = raw.chars().filter(|c| !is_invisible(*c)).collect();
    Ok(visible.split_whitespace().collect::<Vec<_>>().join(" "))
}

impl CitizenName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = clean_name(raw)?;
        let len = name.chars().count();
        if len == 0 {
            return Err("required");
        }
        if len < 2 {
            return Err("too_short");
        }
        if len > 120 {
            return Err("too_long");
        }
        if name
            .chars()
            .any(|c| c.is_control() || "<>{}\\;".contains(c))
        {
            return Err("invalid_characters");
        }
        if !name.chars().any(char::is_alphabetic) {
            return Err("invalid");
        }
        Ok(CitizenName(name))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An Indonesian mobile number in E.164 (`+628…`). Accepts `08…`, `628…`, `+628…`, with spaces,
/// dashes, dots or brackets between digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("required");
        }
        if trimmed.len() > 32 {
            return Err("invalid");
        }
        let plus = trimmed.starts_with('+');
        let body = if plus { &trimmed[1..] } else { trimmed };
        if body
            .chars()
            .any(|c| !(c.is_ascii_digit() || " -.()".contains(c)))
        {
            return Err("invalid");
        }
        let digits: String = body.chars().filter(char::is_ascii_digit).collect();
        // National significant number: starts with 8 for mobiles.
        let national = if let Some(rest) = digits.strip_prefix("62") {
            rest
        } else if !plus && let Some(rest) = digits.strip_prefix('0') {
            rest
        } else {
            return Err("invalid");
        };
        if !national.starts_with('8') {
            return Err("not_mobile");
        }
        // 10..=13 digits including the leading 0 → 9..=12 after it.
        if !(9..=12).contains(&national.len()) {
            return Err("invalid_length");
        }
        Ok(Phone(format!("+62{national}")))
    }

    /// Rebuilds from the stored E.164 form.
    pub fn from_e164(stored: &str) -> Option<Self> {
        Phone::parse(stored).ok()
    }

    pub fn e164(&self) -> &str {
        &self.0
    }

    /// `0812-3456-7890`: how Indonesians write a mobile number.
    pub fn display(&self) -> String {
        let national = format!("0{}", &self.0[3..]);
        let (a, rest) = national.split_at(4.min(national.len()));
        let (b, c) = rest.split_at(4.min(rest.len()));
        if c.is_empty() {
            format!("{a}-{b}")
        } else {
            format!("{a}-{b}-{c}")
        }
    }
}

/// A plausible email address (one `@`, a dot in the domain, no spaces), stored lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let e = raw.trim().to_lowercase();
        if e.len() > 254 {
            return Err("too_long");
        }
        let Some((local, domain)) = e.split_once('@') else {
            return Err("invalid");
        };
        let ok = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !e.chars().any(|c| {
                c.is_whitespace() || c.is_control() || is_bidi_control(c) || c == '<' || c == '>'
            })
            && !domain.contains('@');
        if !ok {
            return Err("invalid");
        }
        Ok(Email(e))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A NIK (Nomor Induk Kependudukan): 16 digits `PP KK CC DD MM YY SSSS` — province, regency or
/// city, district (kecamatan), birth date (day + 40 for women), serial. Its `Debug` and
/// `Display` are masked so it cannot slip into a log by accident.
///
/// Checked: the province is one of Indonesia's ([`PROVINCES`]), the regency/city and district
/// are not `00`, the birth date is a possible one, the serial is not `0000`. Not checked: whether
/// the regency/city and district exist (some 7,000 districts). That gap is where demo and test
/// NIKs live: they use district `99` of Kota Bogor (`327199…`), which has six districts
/// (`01`–`06`), so they pass this check and can never be a real person's number.
#[derive(Clone, PartialEq, Eq)]
pub struct Nik(String);

impl Nik {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let n: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '.')
            .collect();
        if n.is_empty() {
            return Err("required");
        }
        if n.len() != 16 || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must_be_16_digits");
        }
        let num = |r: std::ops::Range<usize>| n[r].parse::<u32>().unwrap_or(0);
        let province = num(0..2);
        let day = num(6..8);
        let month = num(8..10);
        let serial = num(12..16);
        if !PROVINCES.contains(&province) || num(2..4) == 0 || num(4..6) == 0 {
            return Err("invalid_region");
        }
        if !((1..=31).contains(&day) || (41..=71).contains(&day)) {
            return Err("invalid_birth_date");
        }
        if !(1..=12).contains(&month) {
            return Err("invalid_birth_date");
        }
        if serial == 0 {
            return Err("invalid_serial");
        }
        Ok(Nik(n))
    }

    /// The digits, for encryption only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[12..]
    }

    /// `3271********0001`.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..4], &self.0[12..])
    }
}

/// The province codes a NIK can start with (Kemendagri's codes, as on the KTP), 38 in all:
/// Sumatra 11–19, Kepulauan Riau 21, Java 31–36, Bali and Nusa Tenggara 51–53, Kalimantan
/// 61–65, Sulawesi 71–76, Maluku 81–82, Papua 91–96 (Papua, Papua Barat, and since 2022 Papua
/// Selatan, Papua Tengah, Papua Pegunungan, Papua Barat Daya). A NIK keeps the code it was
/// issued with; the older numbering of the two Papua provinces (91 and 94) is inside 91–96.
pub const PROVINCES: &[u32] = &[
    11, 12, 13, 14, 15, 16, 17, 18, 19, // Aceh … Kepulauan Bangka Belitung
    21, // Kepulauan Riau
    31, 32, 33, 34, 35, 36, // DKI Jakarta … Banten
    51, 52, 53, // Bali, NTB, NTT
    61, 62, 63, 64, 65, // Kalimantan Barat … Kalimantan Utara
    71, 72, 73, 74, 75, 76, // Sulawesi Utara … Sulawesi Barat
    81, 82, // Maluku, Maluku Utara
    91, 92, 93, 94, 95, 96, // Papua … Papua Barat Daya
];

impl fmt::Debug for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nik({})", self.masked())
    }
}

impl fmt::Display for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_in_every_common_form_normalise_to_e164() {
        for raw in [
            "081234567890",
            "0812-3456-7890",
            "62 812 3456 7890",
            "+6281234567890",
            "+62 (812) 3456.7890",
        ] {
            assert_eq!(Phone::parse(raw).unwrap().e164(), "+6281234567890", "{raw}");
        }
        assert_eq!(
            Phone::parse("081234567890").unwrap().display(),
            "0812-3456-7890"
        );
    }

    #[test]
    fn bad_phones_are_refused_with_a_reason() {
        assert_eq!(Phone::parse(""), Err("required"));
        assert_eq!(Phone::parse("0251-123456"), Err("not_mobile"));
        assert_eq!(Phone::parse("0812"), Err("invalid_length"));
        assert_eq!(Phone::parse("08123456789012345"), Err("invalid_length"));
        assert_eq!(Phone::parse("+1 202 555 0100"), Err("invalid"));
        assert_eq!(Phone::parse("0812abc4567"), Err("invalid"));
        assert_eq!(Phone::parse("+081234567890"), Err("invalid"));
    }

    /// 10..=13 digits with the leading 0 (9..=12 after it); 32 characters at most as typed.
    #[test]
    fn phone_lengths_have_exact_edges_and_every_form_rebuilds() {
        assert_eq!(
            Phone::parse("081234567").map(|p| p.0),
            Err("invalid_length")
        );
        assert_eq!(
            Phone::parse("0812345678").unwrap().e164(),
            "+62812345678",
            "10 digits"
        );
        assert_eq!(
            Phone::parse("0812345678901").unwrap().e164(),
            "+62812345678901",
            "13 digits"
        );
        assert_eq!(
            Phone::parse("08123456789012").map(|p| p.0),
            Err("invalid_length")
        );
        assert_eq!(
            Phone::parse("6281234567890").unwrap().e164(),
            "+6281234567890"
        );
        assert_eq!(Phone::parse("   "), Err("required"));
        let spaced = format!("0812 3456 7890{}", " ".repeat(18));
        assert!(Phone::parse(&spaced).is_ok(), "trailing blanks are trimmed");
        let long = "0 8 1 2 3 4 5 6 7 8 9 0 - - - - -";
        assert!(long.len() > 32);
        assert_eq!(Phone::parse(long), Err("invalid"));
        let at_most = "0 8 1 2 3 4 5 6 7 8 9 0 - - - -";
        assert_eq!(at_most.len(), 31);
        assert!(Phone::parse(at_most).is_ok());
        let exactly = format!("{at_most}-");
        assert_eq!(exactly.len(), 32);
        assert!(Phone::parse(&exactly).is_ok(), "32 characters are allowed");
        assert_eq!(Phone::parse("0812+34567890"), Err("invalid"));
        assert_eq!(
            Phone::parse("+0812345678901"),
            Err("invalid"),
            "+0 is not a form"
        );
        assert_eq!(Phone::parse("62251123456"), Err("not_mobile"));
        let p = Phone::from_e164("+6281234567890").unwrap();
        assert_eq!(p.e164(), "+6281234567890");
        assert_eq!(Phone::from_e164("+1 202"), None);
        assert_eq!(Phone::parse("081234567").ok().map(|p| p.display()), None);
        assert_eq!(
            Phone::parse("0812345678").unwrap().display(),
            "0812-3456-78"
        );
        assert_eq!(
            Phone::parse("0812345678901").unwrap().display(),
            "0812-3456-78901"
        );
    }

    #[test]
    fn names_have_exact_edges() {
        assert_eq!(CitizenName::parse("B"), Err("too_short"));
        assert_eq!(CitizenName::parse("Bu").unwrap().as_str(), "Bu");
        assert!(CitizenName::parse(&"a".repeat(120)).is_ok());
        assert_eq!(CitizenName::parse("Budi {x}"), Err("invalid_characters"));
        assert_eq!(CitizenName::parse("Budi\u{7}x"), Err("invalid_characters"));
        assert_eq!(
            CitizenName::parse("12 34"),
            Err("invalid"),
            "no letter at all"
        );
        assert_eq!(CitizenName::parse("Siti 2").unwrap().as_str(), "Siti 2");
    }

    /// Each part of the NIK at its edges: province 11..=99, regency not 00, day 1..=31 or
    /// 41..=71 (women), month 1..=12, serial not 0000; dots and spaces ignored.
    #[test]
    fn nik_parts_have_exact_edges() {
        let ok = |s: &str| Nik::parse(s).map(|n| n.expose().to_string());
        assert_eq!(
            ok("3271.9952.0590.0001"),
            Ok("3271995205900001".to_string())
        );
        assert_eq!(ok(" 3271 9952 0590 0001 "), Ok("3271995205900001".into()));
        assert_eq!(Nik::parse(" . "), Err("required"));
        assert_eq!(Nik::parse("32719952059000011"), Err("must_be_16_digits"));
        for (nik, why) in [
            ("1071995205900001", "invalid_region"),
            ("3200995205900001", "invalid_region"),
            ("3271990005900001", "invalid_birth_date"),
            ("3271993205900001", "invalid_birth_date"),
            ("3271994005900001", "invalid_birth_date"),
            ("3271997205900001", "invalid_birth_date"),
            ("3271995200900001", "invalid_birth_date"),
            ("3271995213900001", "invalid_birth_date"),
        ] {
            assert_eq!(Nik::parse(nik), Err(why), "{nik}");
        }
        for nik in [
            "1171995205900001",
            // The last province code there is (Papua Barat Daya); 99 is not one (above).
            "9671995205900001",
            "3201995205900001",
            "3271990105900001",
            "3271993105900001",
            "3271994105900001",
            "3271997105900001",
            "3271995201900001",
            "3271995212900001",
            "3271995205909999",
        ] {
            assert!(Nik::parse(nik).is_ok(), "{nik}");
        }
        let n = Nik::parse("3271995205901234").unwrap();
        assert_eq!(n.last4(), "1234");
        assert_eq!(n.masked(), "3271********1234");
        assert_eq!(format!("{n:?}"), "Nik(3271********1234)");
        assert_eq!(format!("{n}"), "3271********1234");
    }

    #[test]
    fn nik_structure_is_checked() {
        let demo = Nik::parse("3271995205900001").unwrap();
        assert_eq!(demo.masked(), "3271********0001");
        assert_eq!(demo.last4(), "0001");
        assert!(!format!("{demo:?}").contains("520590"));
        assert_eq!(Nik::parse("327199520590000"), Err("must_be_16_digits"));
        assert_eq!(Nik::parse("32719952059000a1"), Err("must_be_16_digits"));
        assert_eq!(Nik::parse("3271993205900001"), Err("invalid_birth_date"));
        assert_eq!(Nik::parse("3271997205900001"), Err("invalid_birth_date"));
        assert_eq!(Nik::parse("3271991513900001"), Err("invalid_birth_date"));
        assert_eq!(Nik::parse("3271991505900000"), Err("invalid_serial"));
        assert_eq!(Nik::parse("0071991505900001"), Err("invalid_region"));
        // Province 99 does not exist (issue 12 booked 9971011508900001), nor do 20, 30, 97.
        for bad in [
            "9971011508900001",
            "2071011508900001",
            "3071011508900001",
            "9771011508900001",
        ] {
            assert_eq!(Nik::parse(bad), Err("invalid_region"), "{bad}");
        }
        // Regency/city or district 00.
        assert_eq!(Nik::parse("3200991505900001"), Err("invalid_region"));
        assert_eq!(Nik::parse("3271001505900001"), Err("invalid_region"));
        // Every province, from Aceh to Papua Barat Daya, is accepted.
        for p in PROVINCES.iter() {
            assert!(Nik::parse(&format!("{p}71991505900001")).is_ok(), "{p}");
        }
        assert_eq!(PROVINCES.len(), 38, "Indonesia has 38 provinces");
        // A woman's NIK: day + 40.
        assert!(Nik::parse("3271995505900001").is_ok());
    }

    #[test]
    fn names_lose_invisible_characters_and_refuse_bidi_controls_and_zalgo() {
        assert_eq!(
            CitizenName::parse("Budi\u{200B} San\u{200D}toso\u{FEFF}")
                .unwrap()
                .as_str(),
            "Budi Santoso"
        );
        assert_eq!(
            CitizenName::parse("Budi \u{202E}amsuK"),
            Err("invalid_characters")
        );
        assert_eq!(
            CitizenName::parse("Budi \u{2067}x"),
            Err("invalid_characters")
        );
        assert_eq!(
            CitizenName::parse("Bu\u{0301}\u{0302}\u{0303}di"),
            Err("invalid_characters")
        );
        // Names written with marks stay as they are.
        assert_eq!(
            CitizenName::parse("Nguye\u{0302}\u{0303}n Thi\u{0323}")
                .unwrap()
                .as_str(),
            "Nguye\u{0302}\u{0303}n Thi\u{0323}"
        );
        assert_eq!(
            CitizenName::parse("Zoë Müller").unwrap().as_str(),
            "Zoë Müller"
        );
    }

    #[test]
    fn names_and_emails() {
        assert_eq!(
            CitizenName::parse("  Siti   Rahma ").unwrap().as_str(),
            "Siti Rahma"
        );
        assert_eq!(CitizenName::parse(" "), Err("required"));
        assert_eq!(CitizenName::parse("<script>"), Err("invalid_characters"));
        assert_eq!(CitizenName::parse(&"a".repeat(121)), Err("too_long"));
        assert_eq!(
            Email::parse(" Budi@Example.co.id ").unwrap().as_str(),
            "budi@example.co.id"
        );
        for bad in [
            "budi",
            "budi@",
            "@x.id",
            "budi@x",
            "bu di@x.id",
            "a@b..id",
            "a@.b.id",
            "a@b.id.",
            "a@b@c.id",
            "<a>@b.id",
            // Each refused character on its own: a control character, a bidi control (which
            // could make the address read differently on the clerk's screen), `<`, `>`.
            "a\u{7}b@c.id",
            "a\u{202e}b@c.id",
            "a<b@c.id",
            "a>b@c.id",
        ] {
            assert_eq!(Email::parse(bad), Err("invalid"), "{bad}");
        }
        let long_local = format!("{}@b.id", "a".repeat(65));
        assert_eq!(Email::parse(&long_local), Err("invalid"));
        assert!(Email::parse(&format!("{}@b.id", "a".repeat(64))).is_ok());
        let long = format!("a@{}.id", "b".repeat(250));
        assert_eq!(Email::parse(&long), Err("too_long"));
        // 254 characters is the most an address may have, and allowed.
        let longest = format!("a@{}.id", "b".repeat(249));
        assert_eq!(longest.len(), 254);
        assert!(Email::parse(&longest).is_ok());
    }
}
