//! What the demo catalogue (`data::SERVICES`) says beyond its Indonesian fields: English
//! requirements and the services' former names.
//!
//! English requirements are given for the services that English readers are most likely to
//! book: the business and building permits (often foreign investors), stays for foreigners,
//! imports, civil records of mixed families, travel and vehicle papers. One English line per
//! Indonesian line, in the same order. Services not listed have none, and the pages show their
//! requirements in Indonesian, marked `lang="id"`. Official names and abbreviations (KTP-el,
//! SIMBG, KBLI, STNK…) are kept as Indonesians write them, with a gloss where it helps.
//!
//! Former names are what a service was called before a reform and people still search for:
//! a result found through one says "dulu: IMB" / "formerly IMB". They are a subset of the
//! service's aliases here (aliases also hold abbreviations and everyday words, which are not
//! former names).

/// `(service slug, English requirements)`.
pub const REQUIREMENTS_EN: &[(&str, &[&str])] = &[
    (
        "nib-oss",
        &[
            "The applicant's electronic ID card (KTP-el), for a sole proprietorship",
            "A NIK registered as the tax number (NPWP)",
            "Deed of establishment and its Ministry of Law decree (for a company)",
            "An e-mail address and a working mobile number for the OSS account",
            "Business details: KBLI activity code, location, capital and number of employees",
        ],
    ),
    (
        "pbg",
        &[
            "Applicant's details and proof of land ownership (certificate or other valid proof)",
            "KKPR/PKKPR (spatial planning approval) or spatial information for the site",
            "Architectural, structural and utility plans",
            "Structural calculations (for buildings with more than one storey)",
            "A SIMBG account to apply online",
        ],
    ),
    (
        "slf",
        &[
            "The building's PBG (or old IMB)",
            "Fitness-for-use inspection report from a technical assessor",
            "Statement of the building's fitness for use",
            "As-built drawings",
            "A SIMBG account to apply online",
        ],
    ),
    (
        "kkpr",
        &[
            "A business identification number (NIB) issued through OSS",
            "Coordinates of the site and the area of land applied for",
            "Proof of control over the land",
            "An outline of the planned use of the space",
        ],
    ),
    (
        "helpdesk-oss",
        &[
            "NIB or OSS application number (if you have one)",
            "A screenshot of the problem or the error message",
            "A short description of the question or complaint",
        ],
    ),
    (
        "akta-kelahiran",
        &[
            "Birth statement from the doctor, midwife or birth attendant, or a signed statement \
             of responsibility for the birth details (SPTJM)",
            "Birth statement from the village office (kelurahan)",
            "The parents' marriage book or marriage certificate",
            "The family card (KK) that will list the child",
            "Copies of the electronic ID cards (KTP-el) of both parents and two witnesses",
            "A power of attorney if someone else applies for you",
            "Births reported more than 60 days later need a decision of the office's head",
        ],
    ),
    (
        "akta-perkawinan-perceraian",
        &[
            "Marriage statement from the religious leader, or the court ruling (for a divorce)",
            "Electronic ID cards (KTP-el) and family cards (KK) of both parties",
            "Birth certificates of both parties",
            "A 4×6 photo of the couple side by side",
            "Electronic ID cards (KTP-el) of two witnesses",
            "Divorce or death certificate of a former spouse (if married before)",
        ],
    ),
    (
        "pajak-kendaraan-tahunan",
        &[
            "The owner's electronic ID card (KTP-el), matching the STNK",
            "The original vehicle registration certificate (STNK)",
            "A power of attorney and the representative's KTP-el (if someone applies for you)",
        ],
    ),
    (
        "balik-nama-kendaraan",
        &[
            "The new owner's electronic ID card (KTP-el)",
            "The original STNK and BPKB (registration certificate and ownership book)",
            "The sale receipt with a duty stamp (meterai)",
            "A physical check of the vehicle",
            "A file release letter from the previous region (for a transfer between regions)",
        ],
    ),
    (
        "skck",
        &[
            "Copy of the electronic ID card (KTP-el)",
            "Copy of the family card (KK)",
            "Copy of the birth certificate",
            "A 4×6 photo on a red background",
            "Fingerprint card",
            "Proof of online registration at skck.polri.go.id",
            "The state fee (PNBP) as currently set",
        ],
    ),
    (
        "paspor",
        &[
            "Electronic ID card (KTP-el)",
            "Family card (KK)",
            "Birth certificate, school diploma or marriage book (one of them)",
            "The old passport (for a replacement)",
            "Your appointment from the M-Paspor app",
            "Children: birth certificate, family card, both parents' KTP-el and a parents' \
             statement",
        ],
    ),
    (
        "izin-tinggal-wna",
        &[
            "A valid national passport",
            "Your current stay permit",
            "A letter from your sponsor",
            "Documents for the purpose of the stay (work, family, investment)",
        ],
    ),
    (
        "npwp",
        &[
            "Electronic ID card (KTP-el)",
            "An e-mail address and a working mobile number",
            "Business statement letter or NIB (for business taxpayers)",
            "Deed of establishment (for corporate taxpayers)",
        ],
    ),
    (
        "konsultasi-barang-kiriman",
        &[
            "Tracking number or shipping documents",
            "Invoice or proof of purchase of the goods",
            "The recipient's identity document",
        ],
    ),
];

/// `(service slug, former names)`: PBG replaced the IMB (2021), NIB replaced SIUP and TDP
/// (2018–2021), KKPR replaced the location permit and the city plan statement (2021), SKCK was
/// the "surat (keterangan) kelakuan baik", BPJS Ketenagakerjaan was Jamsostek (2014), and the
/// Tirta Pakuan utility was a PDAM before it became a Perumda (2019).
pub const FORMER_NAMES: &[(&str, &[&str])] = &[
    ("pbg", &["IMB", "izin mendirikan bangunan"]),
    ("nib-oss", &["SIUP", "TDP"]),
    ("kkpr", &["izin lokasi", "KRK"]),
    ("skck", &["surat kelakuan baik"]),
    ("klaim-jht", &["Jamsostek"]),
    ("sambungan-air", &["PDAM"]),
];

fn lookup(table: &[(&str, &[&str])], slug: &str) -> Vec<String> {
    table
        .iter()
        .find(|(s, _)| *s == slug)
        .map(|(_, list)| list.iter().map(|x| x.to_string()).collect())
        .unwrap_or_default()
}

/// The English requirements of a demo service, or an empty list.
pub fn requirements_en(slug: &str) -> Vec<String> {
    lookup(REQUIREMENTS_EN, slug)
}

/// The former names of a demo service, or an empty list.
pub fn former_names(slug: &str) -> Vec<String> {
    lookup(FORMER_NAMES, slug)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::data::SERVICES;

    #[test]
    fn every_translation_is_of_a_demo_service_line_by_line() {
        for (slug, english) in REQUIREMENTS_EN {
            let service = SERVICES
                .iter()
                .find(|s| s.slug == *slug)
                .unwrap_or_else(|| panic!("{slug} is not a demo service"));
            assert_eq!(
                english.len(),
                service.requirements.len(),
                "{slug}: one English line per Indonesian line"
            );
            assert!(
                english
                    .iter()
                    .all(|l| !l.trim().is_empty() && l.len() <= 500)
            );
        }
        assert!(REQUIREMENTS_EN.len() >= 10);
        assert!(requirements_en("pbg").len() == 5 && requirements_en("kia").is_empty());
    }

    #[test]
    fn former_names_are_aliases_of_demo_services() {
        for (slug, former) in FORMER_NAMES {
            let service = SERVICES
                .iter()
                .find(|s| s.slug == *slug)
                .unwrap_or_else(|| panic!("{slug} is not a demo service"));
            for name in *former {
                assert!(service.aliases.contains(name), "{slug}: {name} is an alias");
            }
        }
        assert_eq!(former_names("pbg"), ["IMB", "izin mendirikan bangunan"]);
    }
}
