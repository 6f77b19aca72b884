//! The MPP Kota Bogor demo's people and days: demo staff with their weekly-hours presets, and
//! the mall-wide closures (public holidays and cuti bersama) for 2026 and 2027. The catalogue
//! itself (agencies, services, requirements) is `demo/catalogue.csv`, loaded through the same
//! import an MPP uses for its own (`catalogue::import`).
//!
//! Pure static data: no I/O and no database code. Source: `domain/mpp-kota-bogor.md` (§1
//! agencies, §2 services, §4 hours and holidays).
//!
//! Every number here is demo data. The 2027 holidays are unverified (see `CLOSURES`).
//!
//! This file holds no passwords and no NIKs. Any demo phone numbers or NIKs created elsewhere from
//! this data must be impossible ones: NIKs with a district that Kota Bogor does not have (e.g.
//! `327199…`), and phone numbers that can never reach a real subscriber. Staff e-mail addresses
//! use the reserved `.example` domain.

use crate::domain::schedule::Role;

/// Weekly-hours presets, as wall-clock times in the site's zone (WIB).
///
/// - `Standard`: Monday–Thursday 08.00–12.00 and 13.00–15.00; Friday 08.00–11.30 and
///   13.00–15.00 (longer break for Friday prayer); closed on Saturday and Sunday.
/// - `WithSaturday`: `Standard` plus Saturday 08.00–12.00.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoursPreset {
    Standard,
    WithSaturday,
}

/// A demo staff account. Passwords are set by the loader, never here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoStaff {
    /// Lower-case, on a reserved `.example` domain.
    pub email: &'static str,
    pub name: &'static str,
    /// The agency's slug; `None` only for the admin.
    pub agency: Option<&'static str>,
    pub role: Role,
    /// Service slugs this person serves; an empty slice means every service of their agency.
    pub services: &'static [&'static str],
    pub hours: HoursPreset,
}

/// A whole-day, mall-wide closure: a public holiday, or a cuti bersama day (closed unless the
/// agency opts in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoClosure {
    /// (year, month, day), a calendar date in the site's zone.
    pub date: (i32, u32, u32),
    pub name: &'static str,
    pub cuti_bersama: bool,
}

/// The admin; a supervisor and two clerks for each of DPMPTSP, Disdukcapil, Bapenda, Samsat,
/// Imigrasi and Polresta; one clerk for every other agency. Samsat, Imigrasi and Disdukcapil
/// clerks also serve on Saturday.
pub const STAFF: &[DemoStaff] = &[
    DemoStaff {
        email: "admin@loket.example",
        name: "Hendra Gunawan",
        agency: None,
        role: Role::Admin,
        services: &[],
        hours: HoursPreset::Standard,
    },
    // --- DPMPTSP ---
    DemoStaff {
        email: "supervisor@loket.example",
        name: "Ratna Sari Dewi",
        agency: Some("dpmptsp"),
        role: Role::Supervisor,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "clerk@loket.example",
        name: "Asep Saepudin",
        agency: Some("dpmptsp"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "dewi.dpmptsp@loket.example",
        name: "Dewi Kurniasih",
        agency: Some("dpmptsp"),
        role: Role::Clerk,
        services: &[
            "nib-oss",
            "izin-reklame",
            "sip-nakes",
            "izin-klinik-apotek",
            "helpdesk-oss",
        ],
        hours: HoursPreset::Standard,
    },
    // --- Disdukcapil ---
    DemoStaff {
        email: "spv.disdukcapil@loket.example",
        name: "Yusuf Permana",
        agency: Some("disdukcapil"),
        role: Role::Supervisor,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "nining.disdukcapil@loket.example",
        name: "Nining Suryani",
        agency: Some("disdukcapil"),
        role: Role::Clerk,
        services: &[
            "perekaman-ktp-el",
            "penggantian-ktp-el",
            "kartu-keluarga",
            "pindah-datang",
            "kia",
            "aktivasi-ikd",
        ],
        hours: HoursPreset::WithSaturday,
    },
    DemoStaff {
        email: "ujang.disdukcapil@loket.example",
        name: "Ujang Hidayat",
        agency: Some("disdukcapil"),
        role: Role::Clerk,
        services: &[
            "kartu-keluarga",
            "akta-kelahiran",
            "akta-kematian",
            "akta-perkawinan-perceraian",
            "aktivasi-ikd",
        ],
        hours: HoursPreset::WithSaturday,
    },
    // --- Bapenda ---
    DemoStaff {
        email: "spv.bapenda@loket.example",
        name: "Rudi Hartono",
        agency: Some("bapenda"),
        role: Role::Supervisor,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "euis.bapenda@loket.example",
        name: "Euis Komalasari",
        agency: Some("bapenda"),
        role: Role::Clerk,
        services: &[
            "pbb-pendaftaran-mutasi",
            "pbb-penerbitan-kembali-sppt",
            "pbb-keberatan",
        ],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "fajar.bapenda@loket.example",
        name: "Fajar Nugraha",
        agency: Some("bapenda"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    // --- Samsat ---
    DemoStaff {
        email: "spv.samsat@loket.example",
        name: "Agus Setiawan",
        agency: Some("samsat"),
        role: Role::Supervisor,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "cecep.samsat@loket.example",
        name: "Cecep Supriatna",
        agency: Some("samsat"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::WithSaturday,
    },
    DemoStaff {
        email: "lilis.samsat@loket.example",
        name: "Lilis Nurhayati",
        agency: Some("samsat"),
        role: Role::Clerk,
        services: &["pajak-kendaraan-tahunan", "pajak-5-tahunan"],
        hours: HoursPreset::WithSaturday,
    },
    // --- Imigrasi ---
    DemoStaff {
        email: "spv.imigrasi@loket.example",
        name: "Bambang Wicaksono",
        agency: Some("imigrasi"),
        role: Role::Supervisor,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "rizky.imigrasi@loket.example",
        name: "Rizky Ramadhan",
        agency: Some("imigrasi"),
        role: Role::Clerk,
        services: &["paspor"],
        hours: HoursPreset::WithSaturday,
    },
    DemoStaff {
        email: "siti.imigrasi@loket.example",
        name: "Siti Rahmawati",
        agency: Some("imigrasi"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::WithSaturday,
    },
    // --- Polresta ---
    DemoStaff {
        email: "spv.polresta@loket.example",
        name: "Dedi Kusnadi",
        agency: Some("polresta"),
        role: Role::Supervisor,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "wawan.polresta@loket.example",
        name: "Wawan Setiadi",
        agency: Some("polresta"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "rina.polresta@loket.example",
        name: "Rina Marlina",
        agency: Some("polresta"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    // --- One clerk for every other agency ---
    DemoStaff {
        email: "yayan.disnaker@loket.example",
        name: "Yayan Sopyan",
        agency: Some("disnaker"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "teguh.dpmptsp-jabar@loket.example",
        name: "Teguh Prasetyo",
        agency: Some("dpmptsp-jabar"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "anisa.bjb@loket.example",
        name: "Anisa Fitriani",
        agency: Some("bjb"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "dadang.tirta-pakuan@loket.example",
        name: "Dadang Sukmana",
        agency: Some("tirta-pakuan"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "hana.kpp-pratama@loket.example",
        name: "Hana Pertiwi",
        agency: Some("kpp-pratama"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "iqbal.bea-cukai@loket.example",
        name: "Iqbal Maulana",
        agency: Some("bea-cukai"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "tatang.bpn@loket.example",
        name: "Tatang Suherman",
        agency: Some("bpn"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "nurul.kemenag@loket.example",
        name: "Nurul Hidayah",
        agency: Some("kemenag"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "yogi.jasa-raharja@loket.example",
        name: "Yogi Pratama",
        agency: Some("jasa-raharja"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "mega.bpjs-kesehatan@loket.example",
        name: "Mega Puspitasari",
        agency: Some("bpjs-kesehatan"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "andri.bpjs-ketenagakerjaan@loket.example",
        name: "Andri Firmansyah",
        agency: Some("bpjs-ketenagakerjaan"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "galih.pln@loket.example",
        name: "Galih Saputra",
        agency: Some("pln"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
    DemoStaff {
        email: "sri.taspen@loket.example",
        name: "Sri Wahyuni",
        agency: Some("taspen"),
        role: Role::Clerk,
        services: &[],
        hours: HoursPreset::Standard,
    },
];

/// Public holidays and cuti bersama for 2026 (SKB of 19 Sep 2025: 17 holidays + 8 cuti bersama)
/// and 2027 (18 holiday dates, Isra Mikraj falling twice, + 8 cuti bersama), in date order.
/// Each day of a multi-day holiday is its own entry. The 2027 dates come second-hand (§4, via
/// the Python `holidays` package) and the Islamic ones are estimates: verify before go-live.
pub const CLOSURES: &[DemoClosure] = &[
    // --- 2026 ---
    DemoClosure {
        date: (2026, 1, 1),
        name: "Tahun Baru 2026 Masehi",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 1, 16),
        name: "Isra Mikraj Nabi Muhammad SAW",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 2, 16),
        name: "Cuti Bersama Tahun Baru Imlek 2577 Kongzili",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2026, 2, 17),
        name: "Tahun Baru Imlek 2577 Kongzili",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 3, 18),
        name: "Cuti Bersama Hari Suci Nyepi (Tahun Baru Saka 1948)",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2026, 3, 19),
        name: "Hari Suci Nyepi (Tahun Baru Saka 1948)",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 3, 20),
        name: "Cuti Bersama Idul Fitri 1447 H",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2026, 3, 21),
        name: "Hari Raya Idul Fitri 1447 H",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 3, 22),
        name: "Hari Raya Idul Fitri 1447 H",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 3, 23),
        name: "Cuti Bersama Idul Fitri 1447 H",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2026, 3, 24),
        name: "Cuti Bersama Idul Fitri 1447 H",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2026, 4, 3),
        name: "Wafat Yesus Kristus",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 4, 5),
        name: "Kebangkitan Yesus Kristus (Paskah)",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 5, 1),
        name: "Hari Buruh Internasional",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 5, 14),
        name: "Kenaikan Yesus Kristus",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 5, 15),
        name: "Cuti Bersama Kenaikan Yesus Kristus",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2026, 5, 27),
        name: "Idul Adha 1447 H",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 5, 28),
        name: "Cuti Bersama Idul Adha 1447 H",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2026, 5, 31),
        name: "Hari Raya Waisak 2570 BE",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 6, 1),
        name: "Hari Lahir Pancasila",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 6, 16),
        name: "Tahun Baru Islam 1448 H",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 8, 17),
        name: "Hari Proklamasi Kemerdekaan Republik Indonesia",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 8, 25),
        name: "Maulid Nabi Muhammad SAW",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2026, 12, 24),
        name: "Cuti Bersama Hari Raya Natal",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2026, 12, 25),
        name: "Hari Raya Natal",
        cuti_bersama: false,
    },
    // --- 2027 (unverified; see the doc comment) ---
    DemoClosure {
        date: (2027, 1, 1),
        name: "Tahun Baru 2027 Masehi",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 1, 5),
        name: "Isra Mikraj Nabi Muhammad SAW",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 2, 5),
        name: "Cuti Bersama Tahun Baru Imlek 2578 Kongzili",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2027, 2, 6),
        name: "Tahun Baru Imlek 2578 Kongzili",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 3, 8),
        name: "Hari Suci Nyepi (Tahun Baru Saka 1949)",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 3, 9),
        name: "Cuti Bersama Idul Fitri 1448 H",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2027, 3, 10),
        name: "Hari Raya Idul Fitri 1448 H",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 3, 11),
        name: "Hari Raya Idul Fitri 1448 H",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 3, 12),
        name: "Cuti Bersama Idul Fitri 1448 H",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2027, 3, 15),
        name: "Cuti Bersama Idul Fitri 1448 H",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2027, 3, 25),
        name: "Cuti Bersama",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2027, 3, 26),
        name: "Wafat Yesus Kristus",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 3, 28),
        name: "Kebangkitan Yesus Kristus (Paskah)",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 5, 1),
        name: "Hari Buruh Internasional",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 5, 6),
        name: "Kenaikan Yesus Kristus",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 5, 17),
        name: "Idul Adha 1448 H",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 5, 18),
        name: "Cuti Bersama Idul Adha 1448 H",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2027, 5, 19),
        name: "Cuti Bersama",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2027, 5, 20),
        name: "Hari Raya Waisak 2571 BE",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 6, 1),
        name: "Hari Lahir Pancasila",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 6, 6),
        name: "Tahun Baru Islam 1449 H",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 8, 15),
        name: "Maulid Nabi Muhammad SAW",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 8, 17),
        name: "Hari Proklamasi Kemerdekaan Republik Indonesia",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 12, 24),
        name: "Cuti Bersama Hari Raya Natal",
        cuti_bersama: true,
    },
    DemoClosure {
        date: (2027, 12, 25),
        name: "Hari Raya Natal",
        cuti_bersama: false,
    },
    DemoClosure {
        date: (2027, 12, 26),
        name: "Isra Mikraj Nabi Muhammad SAW",
        cuti_bersama: false,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::{Catalogue, ServiceEntry};
    use chrono::NaiveDate;
    use std::collections::HashSet;

    /// The demo catalogue, as the loader reads it from demo/catalogue.csv.
    fn catalogue() -> Catalogue {
        crate::demo::catalogue().expect("demo/catalogue.csv reads")
    }

    fn agency_exists(slug: &str) -> bool {
        catalogue().agencies.iter().any(|a| a.slug == slug)
    }

    fn serves(staff: &DemoStaff, service: &ServiceEntry) -> bool {
        staff.agency == Some(service.agency.as_str())
            && (staff.services.is_empty() || staff.services.contains(&service.slug.as_str()))
    }

    #[test]
    fn the_demo_catalogue_has_the_agencies_and_services_the_docs_name() {
        let c = catalogue();
        assert!(c.agencies.len() >= 15, "{} agencies", c.agencies.len());
        assert!(c.services.len() >= 45, "{} services", c.services.len());
        for slug in [
            "dpmptsp",
            "disdukcapil",
            "bapenda",
            "disnaker",
            "samsat",
            "imigrasi",
            "polresta",
        ] {
            assert!(agency_exists(slug), "missing agency {slug}");
        }
        for slug in ["pbg", "nib-oss", "skck", "akta-kelahiran", "paspor"] {
            assert!(
                c.services.iter().any(|s| s.slug == slug),
                "missing service {slug}"
            );
        }
        for s in &c.services {
            assert!((2..=7).contains(&s.requirements.len()), "{}", s.slug);
            assert!(
                s.requirements_en.is_empty() || s.requirements_en.len() == s.requirements.len(),
                "{}: one English line per Indonesian line",
                s.slug
            );
            for name in &s.former_names {
                assert!(s.aliases.contains(name), "{}: {name} is an alias", s.slug);
            }
            assert!(s.active, "{}", s.slug);
        }
        assert!(
            c.services
                .iter()
                .filter(|s| !s.requirements_en.is_empty())
                .count()
                >= 10
        );
    }

    #[test]
    fn renamed_permits_keep_their_old_names_as_aliases() {
        let c = catalogue();
        let find = |slug: &str| c.services.iter().find(|s| s.slug == slug).unwrap().clone();
        let pbg = find("pbg");
        assert_eq!(pbg.name, "Persetujuan Bangunan Gedung (PBG)");
        assert_eq!(pbg.former_names, ["IMB", "izin mendirikan bangunan"]);
        let nib = find("nib-oss");
        for alias in ["SIUP", "TDP", "OSS"] {
            assert!(
                nib.aliases.iter().any(|a| a == alias),
                "nib-oss lacks {alias}"
            );
        }
    }

    #[test]
    fn every_service_has_a_clerk() {
        for s in &catalogue().services {
            assert!(
                STAFF
                    .iter()
                    .any(|st| st.role != Role::Admin && serves(st, s)),
                "no staff member serves {}",
                s.slug
            );
            assert!(
                STAFF
                    .iter()
                    .any(|st| st.role == Role::Clerk && serves(st, s)),
                "no clerk serves {}",
                s.slug
            );
        }
    }

    #[test]
    fn staff_are_valid() {
        let mut seen = HashSet::new();
        for st in STAFF {
            assert!(seen.insert(st.email), "duplicate email {}", st.email);
            assert_eq!(st.email, st.email.to_lowercase(), "{}", st.email);
            assert!(
                st.email.ends_with("@loket.example") || st.email.ends_with("@mpp.example"),
                "{}",
                st.email
            );
            assert!(!st.name.is_empty());
            match st.agency {
                None => assert_eq!(st.role, Role::Admin, "{} has no agency", st.email),
                Some(a) => {
                    assert_ne!(st.role, Role::Admin, "{}", st.email);
                    assert!(agency_exists(a), "{}: unknown agency {a}", st.email);
                    for slug in st.services {
                        assert!(
                            catalogue()
                                .services
                                .iter()
                                .any(|s| s.slug == *slug && s.agency == a),
                            "{}: {slug} is not a service of {a}",
                            st.email
                        );
                    }
                }
            }
        }
        let admins: Vec<_> = STAFF.iter().filter(|s| s.role == Role::Admin).collect();
        assert_eq!(admins.len(), 1);
        assert_eq!(admins[0].email, "admin@loket.example");
        assert_eq!(admins[0].agency, None);
    }

    #[test]
    fn staffing_follows_the_plan() {
        let of = |agency: &str, role: Role| {
            STAFF
                .iter()
                .filter(|s| s.agency == Some(agency) && s.role == role)
                .count()
        };
        for a in [
            "dpmptsp",
            "disdukcapil",
            "bapenda",
            "samsat",
            "imigrasi",
            "polresta",
        ] {
            assert_eq!(of(a, Role::Supervisor), 1, "{a}");
            assert_eq!(of(a, Role::Clerk), 2, "{a}");
            if a != "dpmptsp" {
                let spv = format!("spv.{a}@loket.example");
                assert!(STAFF.iter().any(|s| s.email == spv), "{spv}");
            }
        }
        for a in &catalogue().agencies {
            assert!(of(&a.slug, Role::Clerk) >= 1, "{} has no clerk", a.slug);
        }
        let first_dpmptsp_clerk = STAFF
            .iter()
            .find(|s| s.agency == Some("dpmptsp") && s.role == Role::Clerk)
            .unwrap();
        assert_eq!(first_dpmptsp_clerk.email, "clerk@loket.example");
        let spv = STAFF
            .iter()
            .find(|s| s.email == "supervisor@loket.example")
            .unwrap();
        assert_eq!((spv.agency, spv.role), (Some("dpmptsp"), Role::Supervisor));
        for st in STAFF.iter().filter(|s| s.role == Role::Clerk) {
            let saturday = matches!(
                st.agency,
                Some("samsat") | Some("imigrasi") | Some("disdukcapil")
            );
            let expected = if saturday {
                HoursPreset::WithSaturday
            } else {
                HoursPreset::Standard
            };
            assert_eq!(st.hours, expected, "{}", st.email);
        }
    }

    #[test]
    fn closures_are_valid_and_ordered() {
        let mut previous = None;
        for c in CLOSURES {
            let (y, m, d) = c.date;
            let date = NaiveDate::from_ymd_opt(y, m, d);
            assert!(date.is_some(), "invalid date {:?}", c.date);
            assert!((2026..=2027).contains(&y), "{:?}", c.date);
            assert!(!c.name.is_empty());
            assert_eq!(
                c.cuti_bersama,
                c.name.starts_with("Cuti Bersama"),
                "{}",
                c.name
            );
            assert!(previous < date, "not strictly ascending at {:?}", c.date);
            previous = date;
        }
    }

    #[test]
    fn closure_counts_match_the_domain_notes() {
        let count = |year: i32, cuti: bool| {
            CLOSURES
                .iter()
                .filter(|c| c.date.0 == year && c.cuti_bersama == cuti)
                .count()
        };
        // 2026: the SKB's 17 public holidays (Idul Fitri counted as two days) + 8 cuti bersama.
        assert_eq!(count(2026, false), 17);
        assert_eq!(count(2026, true), 8);
        // 2027, as listed in §4: 18 holiday dates (Isra Mikraj twice) + 8 cuti bersama.
        assert_eq!(count(2027, false), 18);
        assert_eq!(count(2027, true), 8);
        let idul_fitri = CLOSURES
            .iter()
            .filter(|c| c.name == "Hari Raya Idul Fitri 1447 H")
            .count();
        assert_eq!(idul_fitri, 2);
    }
}
