//! What the mall's display board says aloud when a number is called: Indonesian number words
//! (*terbilang*: 7 → "tujuh", 112 → "seratus dua belas") and the announcement itself, "Nomor
//! antrian A tujuh, silakan ke loket tiga". The board's browser speaks the text with its own
//! Indonesian voice; writing the words here keeps them the same on every TV and tested.

const ONES: [&str; 10] = [
    "nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan",
];

/// A whole number in Indonesian words, 0 ..= 999 999 (larger numbers are read digit by digit:
/// no queue or counter gets there).
pub fn terbilang(n: u32) -> String {
    if n >= 1_000_000 {
        return n
            .to_string()
            .chars()
            .filter_map(|c| c.to_digit(10))
            .map(|d| ONES[d as usize])
            .collect::<Vec<_>>()
            .join(" ");
    }
    if n == 0 {
        return ONES[0].to_string();
    }
    let mut words: Vec<String> = Vec::new();
    let thousands = n / 1000;
    let rest = n % 1000;
    match thousands {
        0 => {}
        1 => words.push("seribu".into()),
        t => words.push(format!("{} ribu", below_thousand(t))),
    }
    if rest > 0 {
        words.push(below_thousand(rest));
    }
    words.join(" ")
}

/// 1 ..= 999.
fn below_thousand(n: u32) -> String {
    let mut words: Vec<String> = Vec::new();
    match n / 100 {
        0 => {}
        1 => words.push("seratus".into()),
        h => words.push(format!("{} ratus", ONES[h as usize])),
    }
    let rest = n % 100;
    match rest {
        0 => {}
        1..=9 => words.push(ONES[rest as usize].into()),
        10 => words.push("sepuluh".into()),
        11 => words.push("sebelas".into()),
        12..=19 => words.push(format!("{} belas", ONES[(rest - 10) as usize])),
        _ => {
            words.push(format!("{} puluh", ONES[(rest / 10) as usize]));
            if rest % 10 > 0 {
                words.push(ONES[(rest % 10) as usize].into());
            }
        }
    }
    words.join(" ")
}

/// A label as it is read aloud: a run of digits as a number ("12" → "dua belas", "3A" → "tiga
/// A"), a run of one or two letters letter by letter ("AB" → "A B"), a longer one as the word it
/// is ("Loket-2" → "Loket dua"); dashes and spaces only separate.
pub fn read_label(label: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let chars: Vec<char> = label.trim().chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let digit = c.is_ascii_digit();
        let letter = c.is_alphabetic();
        if !digit && !letter {
            i += 1;
            continue;
        }
        let run_end = (i..chars.len())
            .find(|&j| {
                if digit {
                    !chars[j].is_ascii_digit()
                } else {
                    !chars[j].is_alphabetic()
                }
            })
            .unwrap_or(chars.len());
        let run: String = chars[i..run_end].iter().collect();
        if digit {
            // Counters have at most 16 characters; a run too long for u32 reads digit by digit.
            match run.parse::<u32>() {
                Ok(n) => parts.push(terbilang(n)),
                Err(_) => parts.extend(
                    run.chars()
                        .filter_map(|d| d.to_digit(10))
                        .map(|d| ONES[d as usize].to_string()),
                ),
            }
        } else if run.chars().count() <= 2 {
            parts.extend(run.chars().map(|l| l.to_string()));
        } else {
            parts.push(run);
        }
        i = run_end;
    }
    parts.join(" ")
}

/// Where the citizen is sent: a counter (`loket`), or, when the clerk gave none, the clerk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination<'a> {
    Counter(&'a str),
    Clerk(&'a str),
}

/// The board's announcement: "Nomor antrian A tujuh, silakan ke loket tiga".
pub fn announcement(prefix: &str, seq: u32, to: Destination<'_>) -> String {
    let number = format!("{} {}", read_label(prefix), terbilang(seq));
    match to {
        Destination::Counter(c) => {
            format!("Nomor antrian {number}, silakan ke loket {}", read_label(c))
        }
        Destination::Clerk(name) => {
            format!("Nomor antrian {number}, silakan ke petugas {}", name.trim())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_indonesian_words() {
        let cases = [
            (0, "nol"),
            (1, "satu"),
            (7, "tujuh"),
            (10, "sepuluh"),
            (11, "sebelas"),
            (12, "dua belas"),
            (19, "sembilan belas"),
            (20, "dua puluh"),
            (21, "dua puluh satu"),
            (99, "sembilan puluh sembilan"),
            (100, "seratus"),
            (101, "seratus satu"),
            (110, "seratus sepuluh"),
            (111, "seratus sebelas"),
            (200, "dua ratus"),
            (345, "tiga ratus empat puluh lima"),
            (1000, "seribu"),
            (1001, "seribu satu"),
            (1100, "seribu seratus"),
            (2024, "dua ribu dua puluh empat"),
            (9999, "sembilan ribu sembilan ratus sembilan puluh sembilan"),
            (11_000, "sebelas ribu"),
            (100_000, "seratus ribu"),
            (
                999_999,
                "sembilan ratus sembilan puluh sembilan ribu sembilan ratus sembilan puluh sembilan",
            ),
            (1_000_000, "satu nol nol nol nol nol nol"),
        ];
        for (n, words) in cases {
            assert_eq!(terbilang(n), words, "{n}");
        }
    }

    #[test]
    fn the_board_says_number_and_counter() {
        assert_eq!(
            announcement("A", 7, Destination::Counter("3")),
            "Nomor antrian A tujuh, silakan ke loket tiga"
        );
        assert_eq!(
            announcement("AB", 112, Destination::Counter("12")),
            "Nomor antrian A B seratus dua belas, silakan ke loket dua belas"
        );
        assert_eq!(
            announcement("C", 1, Destination::Counter("3A")),
            "Nomor antrian C satu, silakan ke loket tiga A"
        );
        assert_eq!(
            announcement("D", 20, Destination::Clerk(" Siti Rahma ")),
            "Nomor antrian D dua puluh, silakan ke petugas Siti Rahma"
        );
        assert_eq!(read_label("Loket-2"), "Loket dua");
        assert_eq!(read_label("  "), "");
        assert_eq!(
            read_label("12345678901234"),
            "satu dua tiga empat lima enam tujuh delapan sembilan nol satu dua tiga empat"
        );
    }
}
