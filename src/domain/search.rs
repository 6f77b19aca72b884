//! Catalogue search as people type it: case- and accent-blind, every word must match the name
//! (either language), an alias or former name (IMB, SIUP) or the agency, and the two spellings
//! "antrean"/"antrian" are one word. A result found only through a former name or alias says
//! which ([`matched_through`]), so "IMB" finding PBG is not a mystery.

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

/// What made a result match when its own names (and agency) do not explain it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Through {
    /// A name the service had before ("IMB" for PBG): shown as "dulu: IMB".
    FormerName(String),
    /// Another alias (an abbreviation, an everyday word).
    Alias(String),
}

/// For a result that [`matches`]: the former name, else the alias, holding a query word that the
/// `names` lack; `None` when the names hold every word.
pub fn matched_through(
    words: &[String],
    names: &[&str],
    former_names: &[String],
    aliases: &[String],
) -> Option<Through> {
    let names = names.iter().map(|n| fold(n)).collect::<Vec<_>>().join(" ");
    let missing: Vec<&String> = words
        .iter()
        .filter(|w| !names.contains(w.as_str()))
        .collect();
    let holds = |s: &str| {
        let s = fold(s);
        missing.iter().any(|w| s.contains(w.as_str()))
    };
    if missing.is_empty() {
        return None;
    }
    if let Some(f) = former_names.iter().find(|f| holds(f)) {
        return Some(Through::FormerName(f.clone()));
    }
    aliases
        .iter()
        .find(|a| holds(a))
        .map(|a| Through::Alias(a.clone()))
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

    #[test]
    fn a_match_through_an_old_name_or_alias_is_named() {
        let names = [
            "Persetujuan Bangunan Gedung (PBG)",
            "Building approval",
            "DPMPTSP",
        ];
        let former = vec!["IMB".to_string(), "izin mendirikan bangunan".to_string()];
        let aliases = vec!["IMB".to_string(), "simbg".to_string()];
        let through = |q: &str| matched_through(&words(q), &names, &former, &aliases);
        assert_eq!(through("imb"), Some(Through::FormerName("IMB".into())));
        assert_eq!(
            through("izin bangunan"),
            Some(Through::FormerName("izin mendirikan bangunan".into()))
        );
        assert_eq!(through("SIMBG"), Some(Through::Alias("simbg".into())));
        // The names explain it: nothing to add.
        assert_eq!(through("bangunan gedung"), None);
        assert_eq!(through("building"), None);
        assert_eq!(through(""), None);
    }
}
