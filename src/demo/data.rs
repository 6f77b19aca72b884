//! The MPP Kota Bogor demo catalogue: agencies (instansi), services (layanan) with their
//! requirements (persyaratan), demo staff with their weekly-hours presets, and the mall-wide
//! closures (public holidays and cuti bersama) for 2026 and 2027.
//!
//! Pure static data: no I/O and no database code. The demo-data loader turns these tables into
//! rows. Source: `domain/mpp-kota-bogor.md` (§1 agencies, §2 services, §4 hours and holidays).
//!
//! Every number here is demo data. All consultation lengths and buffers are guesses, marked [G]
//! in the domain notes, because no source gave them. Requirements follow §2 where it lists them,
//! and are plausible examples otherwise. The 2027 holidays are unverified (see `CLOSURES`).
//!
//! This file holds no passwords and no NIKs. Any demo phone numbers or NIKs created elsewhere from
//! this data must be impossible ones: NIKs with a district that Kota Bogor does not have (e.g.
//! `327199…`), and phone numbers that can never reach a real subscriber. Staff e-mail addresses
//! use the reserved `.example` domain.

use crate::domain::schedule::{AgencyKind, Role};

/// An agency (instansi) with a counter at the MPP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoAgency {
    pub slug: &'static str,
    pub name: &'static str,
    pub name_en: &'static str,
    pub kind: AgencyKind,
}

/// A service (layanan) that citizens can book a remote consultation for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoService {
    /// The agency's slug.
    pub agency: &'static str,
    /// `^[a-z0-9][a-z0-9-]{0,62}$`, unique.
    pub slug: &'static str,
    /// Name in Bahasa Indonesia.
    pub name: &'static str,
    pub name_en: &'static str,
    /// Old names and abbreviations, used as search aliases.
    pub aliases: &'static [&'static str],
    /// One consultation slot, 5..=240 minutes.
    pub duration_minutes: i32,
    /// The gap after a slot, 0..=120 minutes.
    pub buffer_minutes: i32,
    /// Requirements (persyaratan) in Bahasa Indonesia, one item per entry.
    pub requirements: &'static [&'static str],
    /// Whether the booking form asks for the citizen's NIK.
    pub needs_nik: bool,
}

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

/// The 4 city offices, then the provincial, central and enterprise tenants (§1). `pln` and
/// `taspen` are tenants of comparable MPPs ([C]), not confirmed for Kota Bogor.
pub const AGENCIES: &[DemoAgency] = &[
    DemoAgency {
        slug: "dpmptsp",
        name: "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu Kota Bogor",
        name_en: "Bogor City Investment and One-Stop Integrated Service Office",
        kind: AgencyKind::City,
    },
    DemoAgency {
        slug: "disdukcapil",
        name: "Dinas Kependudukan dan Pencatatan Sipil Kota Bogor",
        name_en: "Bogor City Population and Civil Registration Office",
        kind: AgencyKind::City,
    },
    DemoAgency {
        slug: "bapenda",
        name: "Badan Pendapatan Daerah Kota Bogor",
        name_en: "Bogor City Regional Revenue Agency",
        kind: AgencyKind::City,
    },
    DemoAgency {
        slug: "disnaker",
        name: "Dinas Tenaga Kerja Kota Bogor",
        name_en: "Bogor City Manpower Office",
        kind: AgencyKind::City,
    },
    DemoAgency {
        slug: "samsat",
        name: "Samsat (Sistem Administrasi Manunggal Satu Atap) Kota Bogor",
        name_en: "Samsat one-roof vehicle registration and tax office, Bogor City",
        kind: AgencyKind::Province,
    },
    DemoAgency {
        slug: "dpmptsp-jabar",
        name: "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu Provinsi Jawa Barat",
        name_en: "West Java Province Investment and One-Stop Integrated Service Office",
        kind: AgencyKind::Province,
    },
    DemoAgency {
        slug: "bjb",
        name: "Bank bjb (Bank Jabar Banten)",
        name_en: "Bank bjb (West Java and Banten regional bank)",
        kind: AgencyKind::Enterprise,
    },
    DemoAgency {
        slug: "tirta-pakuan",
        name: "Perumda Air Minum Tirta Pakuan Kota Bogor",
        name_en: "Tirta Pakuan water utility, Bogor City",
        kind: AgencyKind::Enterprise,
    },
    DemoAgency {
        slug: "polresta",
        name: "Kepolisian Resor Kota Bogor Kota (Polresta Bogor Kota)",
        name_en: "Bogor City Police (Polresta Bogor Kota)",
        kind: AgencyKind::Central,
    },
    DemoAgency {
        slug: "imigrasi",
        name: "Kantor Imigrasi Kelas I Non TPI Bogor",
        name_en: "Bogor Class I Immigration Office",
        kind: AgencyKind::Central,
    },
    DemoAgency {
        slug: "kpp-pratama",
        name: "Kantor Pelayanan Pajak Pratama Bogor",
        name_en: "Bogor Primary Tax Office (DJP)",
        kind: AgencyKind::Central,
    },
    DemoAgency {
        slug: "bea-cukai",
        name: "Direktorat Jenderal Bea dan Cukai (Bea Cukai Bogor)",
        name_en: "Directorate General of Customs and Excise (Bogor)",
        kind: AgencyKind::Central,
    },
    DemoAgency {
        slug: "bpn",
        name: "Kantor Pertanahan Kota Bogor (Kementerian ATR/BPN)",
        name_en: "Bogor City Land Office (Ministry of Agrarian Affairs and Spatial Planning)",
        kind: AgencyKind::Central,
    },
    DemoAgency {
        slug: "kemenag",
        name: "Kantor Kementerian Agama Kota Bogor (KUA)",
        name_en: "Bogor City Office of the Ministry of Religious Affairs (KUA)",
        kind: AgencyKind::Central,
    },
    DemoAgency {
        slug: "jasa-raharja",
        name: "PT Jasa Raharja",
        name_en: "Jasa Raharja (state accident insurer)",
        kind: AgencyKind::Enterprise,
    },
    DemoAgency {
        slug: "bpjs-kesehatan",
        name: "BPJS Kesehatan",
        name_en: "BPJS Kesehatan (national health insurance)",
        kind: AgencyKind::Enterprise,
    },
    DemoAgency {
        slug: "bpjs-ketenagakerjaan",
        name: "BPJS Ketenagakerjaan",
        name_en: "BPJS Ketenagakerjaan (workers' social security)",
        kind: AgencyKind::Enterprise,
    },
    DemoAgency {
        slug: "pln",
        name: "PT PLN (Persero)",
        name_en: "PLN (state electricity company)",
        kind: AgencyKind::Enterprise,
    },
    DemoAgency {
        slug: "taspen",
        name: "PT Taspen (Persero)",
        name_en: "Taspen (civil-servant pensions)",
        kind: AgencyKind::Enterprise,
    },
];

/// One service per row of the table in §2, in its order. Minutes are [G].
pub const SERVICES: &[DemoService] = &[
    // --- DPMPTSP Kota Bogor ---
    DemoService {
        agency: "dpmptsp",
        slug: "nib-oss",
        name: "Pendampingan NIB / Perizinan Berusaha Berbasis Risiko (OSS RBA)",
        name_en: "Help registering a business ID number (NIB) through OSS",
        aliases: &["SIUP", "TDP", "OSS"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "KTP-el pemohon (untuk usaha perseorangan)",
            "NIK yang telah dipadankan sebagai NPWP",
            "Akta pendirian dan SK Kemenkumham (untuk badan usaha)",
            "Alamat surel dan nomor ponsel aktif untuk akun OSS",
            "Data kegiatan usaha: KBLI, lokasi, modal, dan jumlah tenaga kerja",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "dpmptsp",
        slug: "pbg",
        name: "Persetujuan Bangunan Gedung (PBG)",
        name_en: "Building approval (PBG)",
        aliases: &["IMB", "izin mendirikan bangunan"],
        duration_minutes: 30,
        buffer_minutes: 10,
        requirements: &[
            "Data pemohon dan bukti kepemilikan tanah (sertifikat atau bukti lain yang sah)",
            "KKPR/PKKPR atau informasi tata ruang untuk lokasi bangunan",
            "Gambar rencana arsitektur, struktur, dan utilitas",
            "Perhitungan struktur (untuk bangunan bertingkat)",
            "Akun SIMBG untuk pengajuan daring",
        ],
        needs_nik: false,
    },
    DemoService {
        agency: "dpmptsp",
        slug: "slf",
        name: "Sertifikat Laik Fungsi (SLF)",
        name_en: "Building occupancy/fitness certificate (SLF)",
        aliases: &["SLF", "laik fungsi"],
        duration_minutes: 30,
        buffer_minutes: 10,
        requirements: &[
            "PBG (atau IMB lama) bangunan",
            "Laporan pemeriksaan kelaikan fungsi dari pengkaji teknis",
            "Surat pernyataan kelaikan fungsi bangunan",
            "Gambar terbangun (as built drawing)",
            "Akun SIMBG untuk pengajuan daring",
        ],
        needs_nik: false,
    },
    DemoService {
        agency: "dpmptsp",
        slug: "kkpr",
        name: "Kesesuaian Kegiatan Pemanfaatan Ruang (KKPR/PKKPR)",
        name_en: "Spatial-use conformity (KKPR/PKKPR)",
        aliases: &["KKPR", "PKKPR", "izin lokasi", "KRK"],
        duration_minutes: 30,
        buffer_minutes: 10,
        requirements: &[
            "NIB yang terbit melalui OSS",
            "Koordinat lokasi dan luas tanah yang dimohon",
            "Bukti penguasaan tanah",
            "Gambaran umum rencana kegiatan pemanfaatan ruang",
        ],
        needs_nik: false,
    },
    DemoService {
        agency: "dpmptsp",
        slug: "izin-reklame",
        name: "Izin/Persetujuan Penyelenggaraan Reklame",
        name_en: "Billboard/advertising permit",
        aliases: &["reklame", "billboard", "baliho"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "Surat permohonan",
            "KTP-el pemohon",
            "Persetujuan pemilik lahan atau perjanjian sewa",
            "Izin usaha / NIB perusahaan",
            "Gambar konstruksi dan desain materi reklame",
            "Denah/sketsa lokasi",
            "Bukti pembayaran retribusi",
        ],
        needs_nik: false,
    },
    DemoService {
        agency: "dpmptsp",
        slug: "sip-nakes",
        name: "Surat Izin Praktik (SIP) Tenaga Kesehatan",
        name_en: "Health-worker practice licence (SIP)",
        aliases: &[
            "SIP",
            "izin praktik",
            "izin praktik dokter",
            "izin praktik bidan",
        ],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "KTP-el",
            "Surat Tanda Registrasi (STR) yang masih berlaku",
            "Surat keterangan dari fasilitas pelayanan kesehatan tempat praktik",
            "Pas foto berwarna terbaru",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "dpmptsp",
        slug: "izin-klinik-apotek",
        name: "Izin Operasional Klinik / Apotek",
        name_en: "Clinic or pharmacy operating permit",
        aliases: &["izin klinik", "izin apotek", "SIA"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "NIB dengan KBLI klinik atau apotek",
            "Profil klinik/apotek beserta denah bangunan",
            "Daftar tenaga kesehatan dan SIP/SIPA penanggung jawab",
            "Daftar sarana, prasarana, dan peralatan",
            "Bukti kepemilikan atau sewa bangunan",
        ],
        needs_nik: false,
    },
    DemoService {
        agency: "dpmptsp",
        slug: "helpdesk-oss",
        name: "Helpdesk OSS & Pengaduan Perizinan",
        name_en: "OSS helpdesk and licensing complaints",
        aliases: &["helpdesk", "pengaduan", "OSS"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "NIB atau nomor permohonan di OSS (bila sudah ada)",
            "Tangkapan layar kendala atau pesan galat",
            "Uraian singkat pertanyaan atau pengaduan",
        ],
        needs_nik: false,
    },
    // --- Disdukcapil ---
    DemoService {
        agency: "disdukcapil",
        slug: "perekaman-ktp-el",
        name: "Perekaman KTP-el",
        name_en: "e-ID biometric enrolment",
        aliases: &["KTP", "e-KTP", "rekam KTP", "antrian", "antrean"],
        duration_minutes: 10,
        buffer_minutes: 5,
        requirements: &[
            "Berusia 17 tahun atau sudah/pernah kawin",
            "Fotokopi Kartu Keluarga",
            "Pemohon hadir sendiri; tidak dapat diwakilkan",
            "Perekaman sidik jari, foto, iris mata, dan tanda tangan dilakukan tatap muka di loket",
            "Konsultasi daring hanya untuk pemeriksaan berkas dan penjadwalan perekaman",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "disdukcapil",
        slug: "penggantian-ktp-el",
        name: "Penggantian KTP-el (rusak/hilang/perubahan data)",
        name_en: "Replace an e-ID card (damaged, lost, changed data)",
        aliases: &["KTP", "e-KTP", "KTP hilang", "KTP rusak"],
        duration_minutes: 10,
        buffer_minutes: 5,
        requirements: &[
            "Kartu Keluarga",
            "KTP-el yang rusak (untuk KTP rusak)",
            "Surat keterangan kehilangan dari kepolisian (untuk KTP hilang)",
            "Dokumen pendukung perubahan data (mis. ijazah, akta, buku nikah)",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "disdukcapil",
        slug: "kartu-keluarga",
        name: "Kartu Keluarga (baru / perubahan / pisah KK)",
        name_en: "Family card: new, update, split",
        aliases: &["KK", "pisah KK", "kartu keluarga"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "Kartu Keluarga lama (untuk perubahan atau pisah KK)",
            "Buku nikah / akta perkawinan (untuk KK baru)",
            "Surat keterangan pindah (bagi pendatang)",
            "Dokumen pendukung perubahan data (akta kelahiran, akta kematian, ijazah)",
            "Formulir isian dari Disdukcapil",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "disdukcapil",
        slug: "akta-kelahiran",
        name: "Akta Kelahiran",
        name_en: "Birth certificate",
        aliases: &["akte kelahiran", "akta lahir"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "Surat keterangan lahir dari dokter/bidan/penolong kelahiran, atau SPTJM kebenaran data kelahiran",
            "Surat keterangan kelahiran dari kelurahan",
            "Buku nikah atau akta perkawinan orang tua",
            "Kartu Keluarga yang akan mencantumkan anak",
            "Fotokopi KTP-el kedua orang tua dan dua orang saksi",
            "Surat kuasa bila diurus oleh orang lain",
            "Pelaporan lebih dari 60 hari sejak kelahiran memerlukan keputusan Kepala Dinas",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "disdukcapil",
        slug: "akta-kematian",
        name: "Akta Kematian",
        name_en: "Death certificate",
        aliases: &["akte kematian", "surat kematian"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "Surat keterangan kematian dari rumah sakit, dokter, atau kelurahan",
            "Kartu Keluarga almarhum/almarhumah",
            "KTP-el almarhum/almarhumah",
            "KTP-el pelapor dan dua orang saksi",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "disdukcapil",
        slug: "akta-perkawinan-perceraian",
        name: "Akta Perkawinan / Perceraian (non-Muslim)",
        name_en: "Civil marriage/divorce registration (non-Muslim)",
        aliases: &["akte perkawinan", "akta perceraian", "catatan sipil"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "Surat keterangan perkawinan dari pemuka agama, atau putusan pengadilan (untuk perceraian)",
            "KTP-el dan Kartu Keluarga kedua pihak",
            "Akta kelahiran kedua pihak",
            "Pas foto berdampingan ukuran 4x6",
            "KTP-el dua orang saksi",
            "Akta perceraian atau akta kematian pasangan terdahulu (bila pernah kawin)",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "disdukcapil",
        slug: "pindah-datang",
        name: "Surat Keterangan Pindah (SKPWNI) / Pindah Datang",
        name_en: "Moving out / moving in",
        aliases: &["SKPWNI", "surat pindah", "pindah domisili"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "Kartu Keluarga",
            "KTP-el",
            "SKPWNI dari daerah asal (untuk pindah datang)",
            "Alamat tujuan lengkap",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "disdukcapil",
        slug: "kia",
        name: "Kartu Identitas Anak (KIA)",
        name_en: "Child ID card (KIA)",
        aliases: &["KIA", "KTP anak"],
        duration_minutes: 10,
        buffer_minutes: 5,
        requirements: &[
            "Kutipan akta kelahiran anak",
            "Kartu Keluarga orang tua",
            "KTP-el kedua orang tua/wali",
            "Pas foto anak berwarna (untuk usia 5 tahun ke atas)",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "disdukcapil",
        slug: "aktivasi-ikd",
        name: "Aktivasi Identitas Kependudukan Digital (IKD)",
        name_en: "Digital ID activation (IKD)",
        aliases: &["IKD", "KTP digital"],
        duration_minutes: 10,
        buffer_minutes: 5,
        requirements: &[
            "KTP-el",
            "Ponsel pintar dengan nomor ponsel dan alamat surel aktif",
            "Aplikasi Identitas Kependudukan Digital sudah terpasang",
        ],
        needs_nik: true,
    },
    // --- Bapenda Kota Bogor ---
    DemoService {
        agency: "bapenda",
        slug: "pbb-pendaftaran-mutasi",
        name: "Pendaftaran / Mutasi / Pembetulan SPPT PBB-P2",
        name_en: "Land and building tax: new object, transfer, correction",
        aliases: &["PBB", "SPPT", "mutasi PBB"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "Formulir SPOP/LSPOP",
            "KTP-el wajib pajak",
            "Bukti kepemilikan tanah (sertifikat, AJB, atau bukti lain yang sah)",
            "SPPT PBB tahun terakhir (untuk mutasi atau pembetulan)",
            "Bukti lunas PBB tahun sebelumnya",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "bapenda",
        slug: "pbb-penerbitan-kembali-sppt",
        name: "Penerbitan Kembali SPPT PBB-P2",
        name_en: "Reissue of the land and building tax bill",
        aliases: &["PBB", "SPPT", "cetak ulang SPPT", "Lapak ON"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "Formulir permohonan",
            "Bukti peralihan hak (sertifikat atau AJB)",
            "KTP wajib pajak",
            "Bukti lunas PBB",
            "Surat pernyataan kebenaran data",
            "Berkas dipindai di loket atau diunggah dalam bentuk PDF melalui Lapak ON",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "bapenda",
        slug: "pbb-keberatan",
        name: "Keberatan / Pengurangan PBB-P2",
        name_en: "Land and building tax objection or reduction",
        aliases: &["PBB", "keberatan pajak", "pengurangan PBB"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "Surat permohonan keberatan atau pengurangan beserta alasannya",
            "SPPT PBB yang diajukan keberatan",
            "KTP-el wajib pajak",
            "Bukti pendukung (mis. keterangan penghasilan, foto objek pajak)",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "bapenda",
        slug: "bphtb-validasi",
        name: "Validasi/Verifikasi BPHTB",
        name_en: "Check of the property-acquisition duty (BPHTB)",
        aliases: &["BPHTB", "validasi BPHTB"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "SSPD BPHTB yang telah diisi",
            "KTP-el penerima hak",
            "Fotokopi sertifikat tanah",
            "SPPT PBB tahun berjalan dan bukti lunasnya",
            "Draf akta dari PPAT atau dokumen perolehan hak lainnya",
            "Bukti pembayaran BPHTB",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "bapenda",
        slug: "npwpd",
        name: "Pendaftaran NPWPD (PBJT Hotel/Restoran, Pajak Reklame)",
        name_en: "Regional taxpayer registration (hotel, restaurant, advertising tax)",
        aliases: &[
            "NPWPD",
            "PBJT",
            "pajak hotel",
            "pajak restoran",
            "pajak reklame",
        ],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "Formulir pendaftaran wajib pajak daerah",
            "KTP-el pemilik atau penanggung jawab usaha",
            "NIB / izin usaha",
            "Bukti kepemilikan atau sewa tempat usaha",
            "Foto lokasi usaha",
        ],
        needs_nik: true,
    },
    // --- Disnaker ---
    DemoService {
        agency: "disnaker",
        slug: "kartu-pencari-kerja",
        name: "Kartu Tanda Pencari Kerja (AK/I, \"kartu kuning\")",
        name_en: "Job-seeker card (AK/I, \"yellow card\")",
        aliases: &["kartu kuning", "AK/I", "AK1"],
        duration_minutes: 10,
        buffer_minutes: 5,
        requirements: &[
            "KTP-el",
            "Ijazah terakhir dan transkrip nilai",
            "Pas foto 3x4 (2 lembar)",
            "Sertifikat pelatihan atau keahlian (bila ada)",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "disnaker",
        slug: "pengesahan-peraturan-perusahaan",
        name: "Pengesahan Peraturan Perusahaan / Wajib Lapor Ketenagakerjaan",
        name_en: "Company-rules approval and manpower report",
        aliases: &["peraturan perusahaan", "WLKP", "wajib lapor"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "Surat permohonan pengesahan",
            "Draf Peraturan Perusahaan",
            "Bukti Wajib Lapor Ketenagakerjaan (WLKP) daring",
            "NIB perusahaan",
            "Tanggapan wakil pekerja atas draf Peraturan Perusahaan",
        ],
        needs_nik: false,
    },
    DemoService {
        agency: "disnaker",
        slug: "konsultasi-hubungan-industrial",
        name: "Konsultasi Hubungan Industrial",
        name_en: "Industrial-relations advice",
        aliases: &["PHK", "perselisihan kerja", "bipartit"],
        duration_minutes: 30,
        buffer_minutes: 10,
        requirements: &[
            "Kronologi singkat permasalahan",
            "Perjanjian kerja, slip gaji, atau surat PHK (bila ada)",
            "Risalah perundingan bipartit (bila sudah dilakukan)",
        ],
        needs_nik: false,
    },
    // --- Samsat ---
    DemoService {
        agency: "samsat",
        slug: "pajak-kendaraan-tahunan",
        name: "Pajak Kendaraan Tahunan & Pengesahan STNK",
        name_en: "Annual vehicle tax and registration",
        aliases: &[
            "PKB",
            "STNK",
            "pajak motor",
            "pajak mobil",
            "antrian",
            "antrean",
        ],
        duration_minutes: 10,
        buffer_minutes: 5,
        requirements: &[
            "KTP-el pemilik sesuai STNK",
            "STNK asli",
            "Surat kuasa dan KTP-el penerima kuasa (bila diwakilkan)",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "samsat",
        slug: "pajak-5-tahunan",
        name: "Pajak 5 Tahunan (Ganti STNK & TNKB)",
        name_en: "Five-year renewal with new plates",
        aliases: &["ganti plat", "TNKB", "STNK 5 tahun"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "KTP-el pemilik sesuai STNK",
            "STNK asli",
            "BPKB asli dan fotokopinya",
            "Cek fisik kendaraan (gesek nomor rangka dan nomor mesin)",
            "TNKB lama",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "samsat",
        slug: "balik-nama-kendaraan",
        name: "Balik Nama (BBNKB) / Mutasi Kendaraan",
        name_en: "Vehicle ownership transfer",
        aliases: &["BBNKB", "mutasi kendaraan", "cabut berkas"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "KTP-el pemilik baru",
            "STNK dan BPKB asli",
            "Kuitansi jual beli bermeterai",
            "Cek fisik kendaraan",
            "Surat keterangan cabut berkas dari daerah asal (untuk mutasi)",
        ],
        needs_nik: true,
    },
    // --- DPMPTSP Provinsi Jawa Barat ---
    DemoService {
        agency: "dpmptsp-jabar",
        slug: "perizinan-provinsi",
        name: "Perizinan Kewenangan Provinsi",
        name_en: "Province-level permits",
        aliases: &["DPMPTSP Jabar", "izin provinsi"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "NIB dan akun OSS",
            "KTP-el penanggung jawab",
            "Dokumen persyaratan sesuai jenis izin kewenangan provinsi",
        ],
        needs_nik: false,
    },
    // --- Polresta Bogor Kota ---
    DemoService {
        agency: "polresta",
        slug: "skck",
        name: "SKCK (Baru / Perpanjangan)",
        name_en: "Police clearance certificate (new or renewal)",
        aliases: &["SKCK", "surat kelakuan baik", "catatan kepolisian"],
        duration_minutes: 10,
        buffer_minutes: 5,
        requirements: &[
            "Fotokopi KTP-el",
            "Fotokopi Kartu Keluarga",
            "Fotokopi akta kelahiran",
            "Pas foto 4x6 berlatar merah",
            "Kartu sidik jari",
            "Bukti pendaftaran daring di skck.polri.go.id",
            "Biaya PNBP sesuai ketentuan yang berlaku",
        ],
        needs_nik: true,
    },
    // --- Imigrasi ---
    DemoService {
        agency: "imigrasi",
        slug: "paspor",
        name: "Paspor Baru / Penggantian (via M-Paspor)",
        name_en: "New or renewed passport (via M-Paspor)",
        aliases: &["passport", "M-Paspor", "antrian", "antrean"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "KTP-el",
            "Kartu Keluarga",
            "Akta kelahiran, ijazah, atau buku nikah (salah satu)",
            "Paspor lama (untuk penggantian)",
            "Jadwal kedatangan dari aplikasi M-Paspor",
            "Anak: akta kelahiran, KK, KTP-el kedua orang tua, dan surat pernyataan orang tua",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "imigrasi",
        slug: "izin-tinggal-wna",
        name: "Konsultasi Izin Tinggal WNA (ITAS/ITAP)",
        name_en: "Foreigner stay permits (ITAS/ITAP)",
        aliases: &["ITAS", "ITAP", "KITAS", "KITAP"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "Paspor kebangsaan yang masih berlaku",
            "Izin tinggal yang dimiliki saat ini",
            "Surat dari penjamin (sponsor)",
            "Dokumen pendukung sesuai tujuan tinggal (bekerja, keluarga, investasi)",
        ],
        // Foreign nationals have no NIK.
        needs_nik: false,
    },
    // --- KPP Pratama Bogor ---
    DemoService {
        agency: "kpp-pratama",
        slug: "npwp",
        name: "NIK sebagai NPWP / EFIN / Pendaftaran NPWP",
        name_en: "Tax ID: NIK as NPWP, EFIN, registration",
        aliases: &["NPWP", "EFIN", "pemadanan NIK"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "KTP-el",
            "Alamat surel dan nomor ponsel aktif",
            "Surat keterangan usaha atau NIB (untuk wajib pajak usaha)",
            "Akta pendirian (untuk wajib pajak badan)",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "kpp-pratama",
        slug: "konsultasi-spt-tahunan",
        name: "Konsultasi SPT Tahunan",
        name_en: "Annual tax return help",
        aliases: &["SPT", "lapor pajak", "e-filing"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "NPWP/NIK dan EFIN",
            "Bukti potong PPh Pasal 21 dari pemberi kerja",
            "Daftar harta dan utang",
            "Daftar tanggungan keluarga",
        ],
        needs_nik: true,
    },
    // --- Bea Cukai ---
    DemoService {
        agency: "bea-cukai",
        slug: "konsultasi-barang-kiriman",
        name: "Konsultasi Barang Kiriman & Impor",
        name_en: "Parcels and import duty advice",
        aliases: &["bea masuk", "paket luar negeri", "impor"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "Nomor resi atau dokumen pengiriman",
            "Invoice atau bukti pembelian barang",
            "Identitas penerima barang",
        ],
        needs_nik: false,
    },
    // --- Kantor Pertanahan / BPN ---
    DemoService {
        agency: "bpn",
        slug: "peralihan-hak",
        name: "Peralihan Hak (Balik Nama Sertifikat)",
        name_en: "Land title transfer",
        aliases: &["balik nama sertifikat", "AJB", "jual beli tanah"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "Sertifikat asli",
            "Akta PPAT (jual beli, hibah, atau pembagian waris)",
            "KTP-el dan Kartu Keluarga para pihak",
            "Bukti lunas BPHTB dan PPh",
            "SPPT PBB tahun berjalan",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "bpn",
        slug: "pengecekan-sertifikat",
        name: "Pengecekan Sertifikat / SKPT",
        name_en: "Title check, land information certificate",
        aliases: &["cek sertifikat", "SKPT"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "Sertifikat asli",
            "KTP-el pemilik atau penerima kuasa",
            "Surat kuasa (bila diwakilkan)",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "bpn",
        slug: "roya",
        name: "Roya (Penghapusan Hak Tanggungan)",
        name_en: "Mortgage lien removal",
        aliases: &["roya", "hak tanggungan", "lunas KPR"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "Sertifikat hak atas tanah asli",
            "Sertifikat Hak Tanggungan asli",
            "Surat keterangan lunas atau surat roya dari bank",
            "KTP-el pemilik",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "bpn",
        slug: "peningkatan-hak",
        name: "Peningkatan Hak HGB ke Hak Milik",
        name_en: "HGB to freehold upgrade",
        aliases: &["HGB", "SHM", "hak milik"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "Sertifikat HGB asli",
            "KTP-el dan Kartu Keluarga pemohon",
            "PBG/IMB (untuk rumah tinggal)",
            "SPPT PBB tahun berjalan",
            "Surat pernyataan pemohon",
        ],
        needs_nik: true,
    },
    // --- Kemenag / KUA ---
    DemoService {
        agency: "kemenag",
        slug: "pendaftaran-nikah",
        name: "Pendaftaran Nikah (KUA) / Bale Nikah",
        name_en: "Marriage registration (KUA) / Bale Nikah",
        aliases: &["KUA", "nikah", "Bale Nikah", "buku nikah"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "Surat pengantar nikah dari kelurahan",
            "Fotokopi KTP-el dan Kartu Keluarga calon pengantin",
            "Fotokopi akta kelahiran",
            "Pas foto 2x3 dan 4x6 berlatar biru",
            "Surat izin orang tua (bagi calon pengantin di bawah 21 tahun)",
            "Akta cerai atau akta kematian pasangan (bagi duda/janda)",
            "Pendaftaran paling lambat 10 hari kerja sebelum akad",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "kemenag",
        slug: "konsultasi-haji-umrah",
        name: "Konsultasi Haji & Umrah",
        name_en: "Hajj and umrah advice",
        aliases: &["haji", "umrah", "porsi haji"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "KTP-el dan Kartu Keluarga",
            "Akta kelahiran, ijazah, atau buku nikah",
            "Bukti setoran awal BPIH (untuk pendaftaran haji)",
            "Pas foto terbaru",
        ],
        needs_nik: true,
    },
    // --- Jasa Raharja ---
    DemoService {
        agency: "jasa-raharja",
        slug: "santunan-kecelakaan",
        name: "Santunan Kecelakaan Lalu Lintas",
        name_en: "Traffic-accident compensation",
        aliases: &["santunan", "klaim Jasa Raharja", "kecelakaan"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "Laporan polisi tentang kecelakaan",
            "Keterangan kesehatan atau kuitansi biaya perawatan",
            "KTP-el dan Kartu Keluarga korban atau ahli waris",
            "Akta kematian (untuk santunan meninggal dunia)",
            "Surat keterangan ahli waris (bila korban meninggal dunia)",
        ],
        needs_nik: true,
    },
    // --- BPJS Kesehatan ---
    DemoService {
        agency: "bpjs-kesehatan",
        slug: "jkn-kepesertaan",
        name: "Pendaftaran / Perubahan Data / Pindah Faskes JKN",
        name_en: "Health-insurance enrolment, data update, clinic change",
        aliases: &["JKN", "KIS", "BPJS", "pindah faskes"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "KTP-el",
            "Kartu Keluarga",
            "Nomor ponsel dan alamat surel aktif",
            "Buku rekening untuk autodebet (peserta mandiri)",
        ],
        needs_nik: true,
    },
    // --- BPJS Ketenagakerjaan ---
    DemoService {
        agency: "bpjs-ketenagakerjaan",
        slug: "klaim-jht",
        name: "Klaim Jaminan Hari Tua (JHT)",
        name_en: "Old-age savings claim (JHT)",
        aliases: &["JHT", "BPJS TK", "Jamsostek"],
        duration_minutes: 20,
        buffer_minutes: 10,
        requirements: &[
            "Kartu peserta BPJS Ketenagakerjaan",
            "KTP-el",
            "Kartu Keluarga",
            "Surat keterangan berhenti bekerja (paklaring)",
            "Buku tabungan atas nama peserta",
            "NPWP (untuk saldo di atas Rp50.000.000)",
        ],
        needs_nik: true,
    },
    DemoService {
        agency: "bpjs-ketenagakerjaan",
        slug: "kepesertaan-bpu",
        name: "Kepesertaan Bukan Penerima Upah (BPU)",
        name_en: "Informal-worker enrolment (BPU)",
        aliases: &["BPU", "pekerja informal", "BPJS TK"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "KTP-el",
            "Nomor ponsel aktif",
            "Data pekerjaan dan penghasilan per bulan",
        ],
        needs_nik: true,
    },
    // --- Perumda Tirta Pakuan ---
    DemoService {
        agency: "tirta-pakuan",
        slug: "sambungan-air",
        name: "Pasang Baru Sambungan Air / Pengaduan Tagihan",
        name_en: "New water connection, billing complaint",
        aliases: &["PDAM", "air", "tagihan air"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "Fotokopi KTP pemohon",
            "Denah lokasi persil",
            "Nomor pelanggan dan rekening air terakhir (untuk pengaduan tagihan)",
        ],
        needs_nik: false,
    },
    // --- bank bjb ---
    DemoService {
        agency: "bjb",
        slug: "bjb-rekening-pajak-daerah",
        name: "Pembukaan Rekening / Pembayaran Pajak Daerah",
        name_en: "Open an account, pay regional tax",
        aliases: &["bjb", "tabungan", "bayar pajak"],
        duration_minutes: 10,
        buffer_minutes: 5,
        requirements: &[
            "KTP-el",
            "NPWP (bila ada)",
            "Setoran awal sesuai jenis tabungan",
            "SPPT atau kode bayar pajak daerah (untuk pembayaran)",
        ],
        needs_nik: false,
    },
    // --- PLN [C] ---
    DemoService {
        agency: "pln",
        slug: "pln-pasang-baru",
        name: "Pasang Baru / Tambah Daya",
        name_en: "New electricity connection, capacity upgrade",
        aliases: &["listrik", "tambah daya", "PLN"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "KTP-el pemohon",
            "Alamat lengkap dan titik lokasi",
            "ID pelanggan (untuk tambah daya)",
            "Sertifikat Laik Operasi (SLO) instalasi listrik",
        ],
        needs_nik: false,
    },
    // --- Taspen [C] ---
    DemoService {
        agency: "taspen",
        slug: "pensiun-asn",
        name: "Layanan Pensiun ASN",
        name_en: "Civil-servant pension",
        aliases: &["Taspen", "pensiun", "PNS"],
        duration_minutes: 15,
        buffer_minutes: 5,
        requirements: &[
            "SK pensiun",
            "KTP-el dan Kartu Keluarga",
            "Buku rekening",
            "Pas foto terbaru",
            "Akta kematian dan buku nikah (untuk pensiun janda/duda)",
        ],
        needs_nik: true,
    },
];

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
    use chrono::NaiveDate;
    use std::collections::HashSet;

    fn is_slug(s: &str) -> bool {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && b[1..]
                .iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    }

    fn agency_exists(slug: &str) -> bool {
        AGENCIES.iter().any(|a| a.slug == slug)
    }

    fn serves(staff: &DemoStaff, service: &DemoService) -> bool {
        staff.agency == Some(service.agency)
            && (staff.services.is_empty() || staff.services.contains(&service.slug))
    }

    #[test]
    fn slug_check_works() {
        assert!(is_slug("pbg"));
        assert!(is_slug("nib-oss"));
        assert!(is_slug("0-a"));
        assert!(!is_slug(""));
        assert!(!is_slug("-pbg"));
        assert!(!is_slug("PBG"));
        assert!(!is_slug("akta_kelahiran"));
        assert!(!is_slug(&"a".repeat(64)));
        assert!(is_slug(&"a".repeat(63)));
    }

    #[test]
    fn agencies_are_unique_and_enough() {
        assert!(AGENCIES.len() >= 15, "{} agencies", AGENCIES.len());
        let mut seen = HashSet::new();
        for a in AGENCIES {
            assert!(is_slug(a.slug), "bad agency slug {:?}", a.slug);
            assert!(seen.insert(a.slug), "duplicate agency slug {:?}", a.slug);
            assert!(!a.name.is_empty() && !a.name_en.is_empty(), "{}", a.slug);
        }
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
    }

    #[test]
    fn services_are_valid() {
        assert!(SERVICES.len() >= 45, "{} services", SERVICES.len());
        let mut seen = HashSet::new();
        for s in SERVICES {
            assert!(is_slug(s.slug), "bad service slug {:?}", s.slug);
            assert!(seen.insert(s.slug), "duplicate service slug {:?}", s.slug);
            assert!(
                agency_exists(s.agency),
                "{}: unknown agency {}",
                s.slug,
                s.agency
            );
            assert!((5..=240).contains(&s.duration_minutes), "{}", s.slug);
            assert!((0..=120).contains(&s.buffer_minutes), "{}", s.slug);
            assert!((2..=7).contains(&s.requirements.len()), "{}", s.slug);
            assert!(
                s.requirements.iter().all(|r| !r.trim().is_empty()),
                "{}",
                s.slug
            );
            assert!(!s.name.is_empty() && !s.name_en.is_empty(), "{}", s.slug);
            assert!(s.aliases.iter().all(|a| !a.trim().is_empty()), "{}", s.slug);
        }
        for slug in ["pbg", "nib-oss", "skck", "akta-kelahiran", "paspor"] {
            assert!(seen.contains(slug), "missing service {slug}");
        }
    }

    #[test]
    fn renamed_permits_keep_their_old_names_as_aliases() {
        let find = |slug: &str| SERVICES.iter().find(|s| s.slug == slug).unwrap();
        let pbg = find("pbg");
        assert_eq!(pbg.name, "Persetujuan Bangunan Gedung (PBG)");
        assert!(pbg.aliases.contains(&"IMB"));
        assert!(pbg.aliases.contains(&"izin mendirikan bangunan"));
        let nib = find("nib-oss");
        for alias in ["SIUP", "TDP", "OSS"] {
            assert!(nib.aliases.contains(&alias), "nib-oss lacks {alias}");
        }
    }

    #[test]
    fn every_service_has_a_clerk() {
        for s in SERVICES {
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
                            SERVICES.iter().any(|s| s.slug == *slug && s.agency == a),
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
        for a in AGENCIES {
            assert!(of(a.slug, Role::Clerk) >= 1, "{} has no clerk", a.slug);
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
