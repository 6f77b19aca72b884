//! The catalogue as a CSV file an MPP keeps in a spreadsheet: reading it (every problem named by
//! row and column, nothing accepted until the whole file is right), writing it (one canonical
//! order, so an export of what an import loaded is the same file), and the plan of what an import
//! would change in the catalogue there is now.
//!
//! One row per service, its agency's columns repeated on each of its rows (they must agree); a
//! row with an empty `service` declares an agency without services. List cells (aliases, former
//! names, requirements) hold their items separated by `|`. Yes/no cells read yes/no, ya/tidak,
//! true/false or 1/0. A spreadsheet's semicolon-separated export and a UTF-8 byte-order mark are
//! read as well.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::schedule::AgencyKind;

/// The columns, in the order an export writes them. An import needs all of them (in any order).
pub const COLUMNS: [&str; 15] = [
    "agency",
    "agency_name",
    "agency_name_en",
    "agency_kind",
    "service",
    "name",
    "name_en",
    "aliases",
    "former_names",
    "requirements",
    "requirements_en",
    "duration_minutes",
    "buffer_minutes",
    "needs_nik",
    "active",
];

/// Largest file an import reads.
pub const MAX_BYTES: usize = 1 << 20;
/// Most rows (services and agency-only rows) a file may have.
pub const MAX_ROWS: usize = 2000;
/// Most problems reported for one file (the rest are left out: fix these first).
pub const MAX_PROBLEMS: usize = 100;
/// Longest agency name, service name, and list item (characters); most items in one list.
pub const MAX_AGENCY_NAME: usize = 200;
pub const MAX_SERVICE_NAME: usize = 300;
pub const MAX_ITEM: usize = 500;
pub const MAX_ITEMS: usize = 30;
/// What separates the items of a list cell.
pub const LIST_SEPARATOR: char = '|';

/// An agency (instansi).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgencyEntry {
    pub slug: String,
    pub name: String,
    pub name_en: String,
    pub kind: AgencyKind,
}

/// A service (layanan) of an agency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEntry {
    /// The agency's slug.
    pub agency: String,
    pub slug: String,
    pub name: String,
    pub name_en: String,
    pub aliases: Vec<String>,
    pub former_names: Vec<String>,
    pub requirements: Vec<String>,
    pub requirements_en: Vec<String>,
    pub duration_minutes: i32,
    pub buffer_minutes: i32,
    pub needs_nik: bool,
    pub active: bool,
}

/// A whole catalogue; `rows` says on which row of the file each service was (for problems found
/// later, such as a service moved to another agency).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalogue {
    pub agencies: Vec<AgencyEntry>,
    pub services: Vec<ServiceEntry>,
    pub rows: BTreeMap<String, usize>,
}

/// One thing wrong with a file: its row (as a spreadsheet numbers them: the header is row 1; 0
/// for the file as a whole), the column, and a machine-readable problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub row: usize,
    pub column: String,
    pub problem: &'static str,
}

impl Problem {
    fn new(row: usize, column: &str, problem: &'static str) -> Problem {
        Problem {
            row,
            column: column.to_string(),
            problem,
        }
    }
}

/// Reads a catalogue file. Either the whole catalogue, or every problem (up to [`MAX_PROBLEMS`]).
pub fn parse(bytes: &[u8]) -> Result<Catalogue, Vec<Problem>> {
    if bytes.len() > MAX_BYTES {
        return Err(vec![Problem::new(0, "file", "too_large")]);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(vec![Problem::new(0, "file", "not_utf8")]);
    };
    let header_line = text.lines().next().unwrap_or("");
    let delimiter = if !header_line.contains(',') && header_line.contains(';') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(_) => return Err(vec![Problem::new(1, "file", "malformed")]),
    };
    let index = columns(&header)?;
    let mut problems = Vec::new();
    let mut catalogue = Catalogue::default();
    let mut agencies: BTreeMap<String, AgencyEntry> = BTreeMap::new();
    let mut count = 0;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(_) => {
                problems.push(Problem::new(count + 2, "file", "malformed"));
                break;
            }
        };
        count += 1;
        if count > MAX_ROWS {
            problems.push(Problem::new(0, "file", "too_many_rows"));
            break;
        }
        // As a spreadsheet numbers them: the header is row 1 (a cell over several lines is still
        // one row).
        let row = count + 1;
        let cell = Cells {
            index: &index,
            record: &record,
        };
        let mut r = RowReader {
            row,
            problems: &mut problems,
        };
        if let Some(agency) = r.agency(&cell) {
            match agencies.get(&agency.slug) {
                Some(seen) if *seen != agency => {
                    r.problem(differing_column(seen, &agency), "differs_from_earlier_row");
                }
                Some(_) => {}
                None => {
                    agencies.insert(agency.slug.clone(), agency.clone());
                    catalogue.agencies.push(agency.clone());
                }
            }
            if !cell.get("service").is_empty()
                && let Some(service) = r.service(&cell, &agency.slug)
            {
                if catalogue.rows.contains_key(&service.slug) {
                    r.problem("service", "duplicate");
                } else {
                    catalogue.rows.insert(service.slug.clone(), row);
                    catalogue.services.push(service);
                }
            }
        }
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
    }
    if problems.is_empty() {
        Ok(catalogue)
    } else {
        problems.truncate(MAX_PROBLEMS);
        Err(problems)
    }
}

/// Where each expected column is in the header; every one must be there, once.
fn columns(header: &csv::StringRecord) -> Result<BTreeMap<String, usize>, Vec<Problem>> {
    let mut index = BTreeMap::new();
    let mut problems = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() {
            continue;
        }
        if !COLUMNS.contains(&name.as_str()) {
            problems.push(Problem::new(1, &name, "unknown_column"));
        } else if index.insert(name.clone(), i).is_some() {
            problems.push(Problem::new(1, &name, "duplicate_column"));
        }
    }
    for name in COLUMNS {
        if !index.contains_key(name) {
            problems.push(Problem::new(1, name, "missing_column"));
        }
    }
    if problems.is_empty() {
        Ok(index)
    } else {
        Err(problems)
    }
}

fn differing_column(a: &AgencyEntry, b: &AgencyEntry) -> &'static str {
    if a.name != b.name {
        "agency_name"
    } else if a.name_en != b.name_en {
        "agency_name_en"
    } else {
        "agency_kind"
    }
}

/// One record's cells by column name (trimmed; "" when absent).
struct Cells<'r> {
    index: &'r BTreeMap<String, usize>,
    record: &'r csv::StringRecord,
}

impl<'r> Cells<'r> {
    fn get(&self, name: &str) -> &'r str {
        self.index
            .get(name)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
            .trim()
    }
}

/// Reads the cells of one row, noting each problem with the row's number.
struct RowReader<'a> {
    row: usize,
    problems: &'a mut Vec<Problem>,
}

impl RowReader<'_> {
    fn problem(&mut self, column: &str, problem: &'static str) {
        self.problems.push(Problem::new(self.row, column, problem));
    }

    fn slug(&mut self, column: &str, v: &str) -> Option<String> {
        if v.is_empty() {
            self.problem(column, "required");
            None
        } else if !valid_slug(v) {
            self.problem(column, "invalid");
            None
        } else {
            Some(v.to_string())
        }
    }

    fn text(&mut self, column: &str, v: &str, max: usize) -> Option<String> {
        if v.is_empty() {
            self.problem(column, "required");
            None
        } else if v.chars().count() > max {
            self.problem(column, "too_long");
            None
        } else {
            Some(v.to_string())
        }
    }

    fn list(&mut self, column: &str, v: &str) -> Option<Vec<String>> {
        let items = split_list(v);
        if items.len() > MAX_ITEMS {
            self.problem(column, "too_many_items");
            None
        } else if items.iter().any(|i| i.chars().count() > MAX_ITEM) {
            self.problem(column, "too_long");
            None
        } else {
            Some(items)
        }
    }

    fn number(
        &mut self,
        column: &str,
        v: &str,
        range: std::ops::RangeInclusive<i32>,
    ) -> Option<i32> {
        match v.parse::<i32>() {
            Ok(n) if range.contains(&n) => Some(n),
            Ok(_) => {
                self.problem(column, "out_of_range");
                None
            }
            Err(_) if v.is_empty() => {
                self.problem(column, "required");
                None
            }
            Err(_) => {
                self.problem(column, "not_a_number");
                None
            }
        }
    }

    fn yes_no(&mut self, column: &str, v: &str) -> Option<bool> {
        let answer = parse_yes_no(v);
        if answer.is_none() {
            self.problem(column, "not_yes_or_no");
        }
        answer
    }

    fn agency(&mut self, cell: &Cells) -> Option<AgencyEntry> {
        let slug = self.slug("agency", cell.get("agency"));
        let name = self.text("agency_name", cell.get("agency_name"), MAX_AGENCY_NAME);
        let name_en = self.text(
            "agency_name_en",
            cell.get("agency_name_en"),
            MAX_AGENCY_NAME,
        );
        let kind = AgencyKind::parse(&cell.get("agency_kind").to_ascii_lowercase());
        if kind.is_none() {
            self.problem("agency_kind", "unknown_kind");
        }
        Some(AgencyEntry {
            slug: slug?,
            name: name?,
            name_en: name_en?,
            kind: kind?,
        })
    }

    fn service(&mut self, cell: &Cells, agency: &str) -> Option<ServiceEntry> {
        let slug = self.slug("service", cell.get("service"));
        let name = self.text("name", cell.get("name"), MAX_SERVICE_NAME);
        let name_en = self.text("name_en", cell.get("name_en"), MAX_SERVICE_NAME);
        let aliases = self.list("aliases", cell.get("aliases"));
        let former_names = self.list("former_names", cell.get("former_names"));
        let requirements = self.list("requirements", cell.get("requirements"));
        let requirements_en = self.list("requirements_en", cell.get("requirements_en"));
        let duration = self.number("duration_minutes", cell.get("duration_minutes"), 5..=240);
        let buffer = self.number("buffer_minutes", cell.get("buffer_minutes"), 0..=120);
        let needs_nik = self.yes_no("needs_nik", cell.get("needs_nik"));
        let active = self.yes_no("active", cell.get("active"));
        Some(ServiceEntry {
            agency: agency.to_string(),
            slug: slug?,
            name: name?,
            name_en: name_en?,
            aliases: aliases?,
            former_names: former_names?,
            requirements: requirements?,
            requirements_en: requirements_en?,
            duration_minutes: duration?,
            buffer_minutes: buffer?,
            needs_nik: needs_nik?,
            active: active?,
        })
    }
}

/// `^[a-z0-9][a-z0-9-]{0,62}$`: what agency and service slugs look like.
pub fn valid_slug(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// The items of a list cell: split on `|`, trimmed, empty ones dropped.
pub fn split_list(v: &str) -> Vec<String> {
    v.split(LIST_SEPARATOR)
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(String::from)
        .collect()
}

/// yes/no in the spellings a spreadsheet user types.
pub fn parse_yes_no(v: &str) -> Option<bool> {
    match v.trim().to_lowercase().as_str() {
        "yes" | "y" | "ya" | "true" | "1" => Some(true),
        "no" | "n" | "tidak" | "false" | "0" => Some(false),
        _ => None,
    }
}

fn yes_no(v: bool) -> &'static str {
    if v { "yes" } else { "no" }
}

/// Writes the catalogue in the canonical order (agencies by slug, each agency's services by
/// slug; an agency without services gets one row with an empty `service`).
pub fn write(catalogue: &Catalogue) -> String {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail; a record with the header's width always fits.
    let _ = out.write_record(COLUMNS);
    let mut agencies: Vec<&AgencyEntry> = catalogue.agencies.iter().collect();
    agencies.sort_by(|a, b| a.slug.cmp(&b.slug));
    for a in agencies {
        let agency_cells = [
            a.slug.clone(),
            a.name.clone(),
            a.name_en.clone(),
            a.kind.as_str().to_string(),
        ];
        let mut services: Vec<&ServiceEntry> = catalogue
            .services
            .iter()
            .filter(|s| s.agency == a.slug)
            .collect();
        services.sort_by(|x, y| x.slug.cmp(&y.slug));
        if services.is_empty() {
            let mut row = agency_cells.to_vec();
            row.extend(std::iter::repeat_n(String::new(), COLUMNS.len() - 4));
            let _ = out.write_record(&row);
        }
        let join = |items: &[String]| items.join(" | ");
        for s in services {
            let mut row = agency_cells.to_vec();
            row.extend([
                s.slug.clone(),
                s.name.clone(),
                s.name_en.clone(),
                join(&s.aliases),
                join(&s.former_names),
                join(&s.requirements),
                join(&s.requirements_en),
                s.duration_minutes.to_string(),
                s.buffer_minutes.to_string(),
                yes_no(s.needs_nik).to_string(),
                yes_no(s.active).to_string(),
            ]);
            let _ = out.write_record(&row);
        }
    }
    let bytes = out.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// A service whose row differs from the catalogue's, and in which columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ServiceChange {
    pub slug: String,
    pub columns: Vec<&'static str>,
}

/// What an import would do to the catalogue there is now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub agencies_added: Vec<AgencyEntry>,
    pub agencies_changed: Vec<AgencyEntry>,
    pub services_added: Vec<ServiceEntry>,
    /// The new rows of changed services, and which columns changed.
    pub services_changed: Vec<(ServiceEntry, Vec<&'static str>)>,
    /// Missing from the file but booked before: kept, inactive.
    pub services_deactivated: Vec<String>,
    /// Missing from the file and never booked: removed.
    pub services_deleted: Vec<String>,
    pub services_unchanged: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.agencies_added.is_empty()
            && self.agencies_changed.is_empty()
            && self.services_added.is_empty()
            && self.services_changed.is_empty()
            && self.services_deactivated.is_empty()
            && self.services_deleted.is_empty()
    }
}

/// The columns in which two rows of one service differ.
pub fn changed_columns(old: &ServiceEntry, new: &ServiceEntry) -> Vec<&'static str> {
    let mut c = Vec::new();
    let mut check = |differs: bool, column: &'static str| {
        if differs {
            c.push(column);
        }
    };
    check(old.name != new.name, "name");
    check(old.name_en != new.name_en, "name_en");
    check(old.aliases != new.aliases, "aliases");
    check(old.former_names != new.former_names, "former_names");
    check(old.requirements != new.requirements, "requirements");
    check(
        old.requirements_en != new.requirements_en,
        "requirements_en",
    );
    check(
        old.duration_minutes != new.duration_minutes,
        "duration_minutes",
    );
    check(old.buffer_minutes != new.buffer_minutes, "buffer_minutes");
    check(old.needs_nik != new.needs_nik, "needs_nik");
    check(old.active != new.active, "active");
    c
}

/// What importing `new` over `current` does: agencies and services added or changed by slug;
/// services missing from the file deleted, or deactivated when `booked` says they have bookings.
/// Agencies missing from the file are left as they are (staff accounts belong to them). A
/// service may not move to another agency (its clerks and bookings belong to this one).
pub fn plan(
    current: &Catalogue,
    booked: &HashSet<String>,
    new: &Catalogue,
) -> Result<Plan, Vec<Problem>> {
    let mut plan = Plan::default();
    for a in &new.agencies {
        match current.agencies.iter().find(|c| c.slug == a.slug) {
            None => plan.agencies_added.push(a.clone()),
            Some(c) if c != a => plan.agencies_changed.push(a.clone()),
            Some(_) => {}
        }
    }
    let mut problems = Vec::new();
    for s in &new.services {
        match current.services.iter().find(|c| c.slug == s.slug) {
            None => plan.services_added.push(s.clone()),
            Some(c) if c.agency != s.agency => {
                let row = new.rows.get(&s.slug).copied().unwrap_or(0);
                problems.push(Problem::new(row, "agency", "service_of_another_agency"));
            }
            Some(c) => {
                let columns = changed_columns(c, s);
                if columns.is_empty() {
                    plan.services_unchanged += 1;
                } else {
                    plan.services_changed.push((s.clone(), columns));
                }
            }
        }
    }
    let listed: HashSet<&str> = new.services.iter().map(|s| s.slug.as_str()).collect();
    for c in &current.services {
        if listed.contains(c.slug.as_str()) {
            continue;
        }
        if !booked.contains(&c.slug) {
            plan.services_deleted.push(c.slug.clone());
        } else if c.active {
            plan.services_deactivated.push(c.slug.clone());
        } else {
            plan.services_unchanged += 1;
        }
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        problems.truncate(MAX_PROBLEMS);
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "agency,agency_name,agency_name_en,agency_kind,service,name,name_en,aliases,former_names,requirements,requirements_en,duration_minutes,buffer_minutes,needs_nik,active";

    fn file(rows: &[&str]) -> String {
        let mut s = String::from(HEADER);
        for r in rows {
            s.push_str("\r\n");
            s.push_str(r);
        }
        s.push_str("\r\n");
        s
    }

    const PBG: &str = "dpmptsp,Dinas PMPTSP,One-stop office,city,pbg,Persetujuan Bangunan Gedung (PBG),Building approval (PBG),IMB | izin mendirikan bangunan,IMB,\"KTP, NPWP | Gambar\",ID card and tax number | Drawings,30,10,no,yes";

    fn entry(slug: &str, agency: &str) -> ServiceEntry {
        ServiceEntry {
            agency: agency.into(),
            slug: slug.into(),
            name: format!("Layanan {slug}"),
            name_en: format!("Service {slug}"),
            aliases: vec![],
            former_names: vec![],
            requirements: vec!["KTP".into()],
            requirements_en: vec![],
            duration_minutes: 20,
            buffer_minutes: 5,
            needs_nik: false,
            active: true,
        }
    }

    fn agency(slug: &str) -> AgencyEntry {
        AgencyEntry {
            slug: slug.into(),
            name: format!("Instansi {slug}"),
            name_en: format!("Agency {slug}"),
            kind: AgencyKind::City,
        }
    }

    #[test]
    fn a_row_reads_into_an_agency_and_a_service() {
        let c = parse(file(&[PBG]).as_bytes()).unwrap();
        assert_eq!(c.agencies.len(), 1);
        assert_eq!(c.agencies[0].kind, AgencyKind::City);
        let s = &c.services[0];
        assert_eq!(s.slug, "pbg");
        assert_eq!(s.aliases, ["IMB", "izin mendirikan bangunan"]);
        assert_eq!(s.requirements, ["KTP, NPWP", "Gambar"]);
        assert_eq!(s.requirements_en.len(), 2);
        assert_eq!((s.duration_minutes, s.buffer_minutes), (30, 10));
        assert!(!s.needs_nik && s.active);
        assert_eq!(c.rows["pbg"], 2);
    }

    #[test]
    fn what_is_written_reads_back_the_same_and_writes_the_same() {
        let c = parse(file(&[PBG]).as_bytes()).unwrap();
        let written = write(&c);
        let again = parse(written.as_bytes()).unwrap();
        assert_eq!(again.agencies, c.agencies);
        assert_eq!(again.services, c.services);
        assert_eq!(write(&again), written);
    }

    #[test]
    fn problems_name_the_row_and_the_column() {
        let bad = "dpmptsp,Dinas PMPTSP,One-stop office,city,pbg,PBG,PBG,,,,,3,10,maybe,yes";
        let other = "Bad Slug,X,Y,galaxy,skck,SKCK,SKCK,,,,,15,0,no,yes";
        let problems = parse(file(&[PBG, bad, other]).as_bytes()).unwrap_err();
        let found: Vec<(usize, &str, &str)> = problems
            .iter()
            .map(|p| (p.row, p.column.as_str(), p.problem))
            .collect();
        assert!(
            found.contains(&(3, "duration_minutes", "out_of_range")),
            "{found:?}"
        );
        assert!(
            found.contains(&(3, "needs_nik", "not_yes_or_no")),
            "{found:?}"
        );
        assert!(found.contains(&(4, "agency", "invalid")), "{found:?}");
        assert!(
            found.contains(&(4, "agency_kind", "unknown_kind")),
            "{found:?}"
        );
    }

    #[test]
    fn the_header_must_have_every_column_once() {
        let p = parse(b"agency,service,colour\r\nx,y,z\r\n").unwrap_err();
        assert!(p.contains(&Problem::new(1, "colour", "unknown_column")));
        assert!(p.contains(&Problem::new(1, "name_en", "missing_column")));
        assert!(p.iter().all(|x| x.row == 1));
    }

    #[test]
    fn an_agency_must_read_the_same_on_each_of_its_rows() {
        let second = "dpmptsp,Dinas Lain,One-stop office,city,slf,SLF,SLF,,,,,30,10,no,yes";
        let p = parse(file(&[PBG, second]).as_bytes()).unwrap_err();
        assert_eq!(
            p,
            vec![Problem::new(3, "agency_name", "differs_from_earlier_row")]
        );
    }

    #[test]
    fn semicolons_a_bom_and_an_agency_without_services_are_read() {
        let text = format!(
            "\u{feff}{}\r\nbpn;Kantor Pertanahan;Land office;central;;;;;;;;;;;\r\n",
            HEADER.replace(',', ";")
        );
        let c = parse(text.as_bytes()).unwrap();
        assert_eq!(c.agencies.len(), 1);
        assert!(c.services.is_empty());
        assert!(write(&c).contains("bpn,Kantor Pertanahan,Land office,central,,"));
    }

    #[test]
    fn limits_on_size_rows_and_lengths() {
        let big = vec![b'a'; MAX_BYTES + 1];
        assert_eq!(parse(&big).unwrap_err()[0].problem, "too_large");
        let rows: Vec<String> = (0..=MAX_ROWS)
            .map(|i| format!("a,A,A,city,s{i},S,S,,,,,15,0,no,yes"))
            .collect();
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        let p = parse(file(&refs).as_bytes()).unwrap_err();
        assert!(p.iter().any(|x| x.problem == "too_many_rows"));
        let long = format!("a,A,A,city,s,{},S,,,,,15,0,no,yes", "x".repeat(301));
        assert_eq!(
            parse(file(&[&long]).as_bytes()).unwrap_err(),
            vec![Problem::new(2, "name", "too_long")]
        );
        let many = format!(
            "a,A,A,city,s,S,S,{},,,,15,0,no,yes",
            vec!["x"; 31].join("|")
        );
        assert_eq!(
            parse(file(&[&many]).as_bytes()).unwrap_err(),
            vec![Problem::new(2, "aliases", "too_many_items")]
        );
        assert_eq!(parse(b"\xff\xfe").unwrap_err()[0].problem, "not_utf8");
    }

    #[test]
    fn a_plan_adds_changes_deletes_the_unbooked_and_deactivates_the_booked() {
        let current = Catalogue {
            agencies: vec![agency("a")],
            services: vec![
                entry("same", "a"),
                entry("longer", "a"),
                entry("gone", "a"),
                entry("booked", "a"),
            ],
            rows: BTreeMap::new(),
        };
        let mut longer = entry("longer", "a");
        longer.duration_minutes = 45;
        longer.requirements.push("NPWP".into());
        let mut renamed = agency("a");
        renamed.name_en = "Agency A, renamed".into();
        let new = Catalogue {
            agencies: vec![renamed.clone(), agency("b")],
            services: vec![entry("same", "a"), longer, entry("fresh", "b")],
            rows: BTreeMap::new(),
        };
        let booked = HashSet::from(["booked".to_string()]);
        let p = plan(&current, &booked, &new).unwrap();
        assert_eq!(p.agencies_added, vec![agency("b")]);
        assert_eq!(p.agencies_changed, vec![renamed]);
        assert_eq!(p.services_added, vec![entry("fresh", "b")]);
        assert_eq!(p.services_changed.len(), 1);
        assert_eq!(
            p.services_changed[0].1,
            ["requirements", "duration_minutes"]
        );
        assert_eq!(p.services_deleted, ["gone"]);
        assert_eq!(p.services_deactivated, ["booked"]);
        assert_eq!(p.services_unchanged, 1);
        // The same file again changes nothing but what is missing from it.
        assert!(plan(&new, &HashSet::new(), &new).unwrap().is_empty());
    }

    #[test]
    fn a_service_cannot_move_to_another_agency() {
        let current = Catalogue {
            agencies: vec![agency("a"), agency("b")],
            services: vec![entry("s", "a")],
            rows: BTreeMap::new(),
        };
        let new = Catalogue {
            agencies: vec![agency("b")],
            services: vec![entry("s", "b")],
            rows: BTreeMap::from([("s".to_string(), 7)]),
        };
        assert_eq!(
            plan(&current, &HashSet::new(), &new).unwrap_err(),
            vec![Problem::new(7, "agency", "service_of_another_agency")]
        );
    }

    proptest::proptest! {
        /// Whatever the names and lists hold (but the separator), a written catalogue reads back
        /// as itself.
        #[test]
        fn written_catalogues_read_back(
            name in "[^|\\p{C}]{1,40}",
            items in proptest::collection::vec("[^|\\p{C}]{1,30}", 0..5),
            duration in 5i32..=240,
            buffer in 0i32..=120,
            nik: bool,
            active: bool,
        ) {
            let name = name.trim().to_string();
            let items: Vec<String> = items.iter().map(|i| i.trim().to_string()).filter(|i| !i.is_empty()).collect();
            proptest::prop_assume!(!name.is_empty());
            let mut s = entry("svc", "a");
            s.name = name.clone();
            s.name_en = name;
            s.aliases = items.clone();
            s.requirements = items;
            s.duration_minutes = duration;
            s.buffer_minutes = buffer;
            s.needs_nik = nik;
            s.active = active;
            let c = Catalogue { agencies: vec![agency("a")], services: vec![s], rows: BTreeMap::new() };
            let back = parse(write(&c).as_bytes()).unwrap();
            proptest::prop_assert_eq!(back.agencies, c.agencies);
            proptest::prop_assert_eq!(back.services, c.services);
        }
    }
}
