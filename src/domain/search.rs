//! Catalogue search as people type it: case- and accent-blind, every word must match the name
//! (either language), an alias (old names such as IMB or SIUP) or the agency, and the two
//! spellings "antrean"/"antrian" are one word.

fn fold(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect::<String>()
        .replace("antrian", "antrean")
}

/// The query split into folded words (at most 8, each at most 40 characters).
pub fn words(query: &str) -> Vec<String> {
    fold(query)
        .split_whitespace()
        .take(8)
        .map(|w| w.chars().take(40).collect())
        .collect()
}

/// Whether every word occurs somewhere in `haystacks`.
pub fn matches(words: &[String], haystacks: &[&str]) -> bool {
    if words.is_empty() {
        return true;
    }
    let hay: String = haystacks
        .iter()
        .map(|h| fold(h))
        .collect::<Vec<_>>()
        .join(" ");
    words.iter().all(|w| hay.contains(w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_names_aliases_and_spellings() {
        let hay = [
            "Persetujuan Bangunan Gedung (PBG)",
            "Building approval",
            "IMB",
            "DPMPTSP",
        ];
        assert!(matches(&words("imb"), &hay));
        assert!(matches(&words("  Bangunan   gedung "), &hay));
        assert!(matches(&words("building"), &hay));
        assert!(!matches(&words("paspor"), &hay));
        assert!(matches(&words("Antrian"), &["Nomor antrean"]));
        assert!(matches(&words(""), &hay));
    }
}
