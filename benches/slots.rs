//! The pure slot computation at the size DESIGN targets: 30 days × 20 clerks with 2,000 booked
//! appointments (target ≤ 1 ms in-process). Run: `cargo bench --bench slots`.

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use loket::domain::ids::StaffId;
use loket::domain::schedule::{Interval, WeeklyHours, WorkInterval};
use loket::domain::slots::{ClerkCalendar, Prepared, SlotRules};
use std::hint::black_box;

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn setup() -> (SlotRules, Vec<ClerkCalendar>, Vec<Interval>, NaiveDate) {
    let tz = chrono_tz::Asia::Jakarta;
    let from = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let now = tz
        .from_local_datetime(&from.and_time(t(6, 0)))
        .unwrap()
        .with_timezone(&Utc);
    let mut week = vec![];
    for wd in 1..=5 {
        week.push(WorkInterval {
            weekday: wd,
            starts: t(8, 0),
            ends: t(12, 0),
        });
        week.push(WorkInterval {
            weekday: wd,
            starts: t(13, 0),
            ends: t(15, 0),
        });
    }
    let hours = WeeklyHours::parse(&week).unwrap();
    // 2,000 appointments: 100 per clerk, on working days, 20 minutes + 10 buffer each.
    let mut clerks = vec![];
    for c in 0..20u32 {
        let mut busy = vec![];
        let mut n = 0;
        let mut day = 0;
        while n < 100 {
            let date = from + Duration::days(day % 30);
            day += 1;
            use chrono::Datelike;
            if date.weekday().number_from_monday() > 5 {
                continue;
            }
            for k in 0..5u32 {
                let start = tz
                    .from_local_datetime(&date.and_time(t(8 + (k + c) % 4, 0)))
                    .unwrap()
                    .with_timezone(&Utc);
                busy.push(Interval::new(start, start + Duration::minutes(30)).unwrap());
                n += 1;
            }
        }
        clerks.push(ClerkCalendar {
            staff_id: StaffId::new(),
            hours: hours.clone(),
            busy,
            load: n,
        });
    }
    assert_eq!(clerks.iter().map(|c| c.busy.len()).sum::<usize>(), 2000);
    let holiday_start = tz
        .from_local_datetime(&(from + Duration::days(10)).and_time(NaiveTime::MIN))
        .unwrap()
        .with_timezone(&Utc);
    let closures = vec![Interval::new(holiday_start, holiday_start + Duration::days(1)).unwrap()];
    let rules = SlotRules {
        tz,
        now,
        min_notice: Duration::hours(2),
        horizon_days: 30,
        duration: Duration::minutes(20),
        buffer: Duration::minutes(10),
    };
    (rules, clerks, closures, from)
}

fn bench(c: &mut Criterion) {
    let (rules, clerks, closures, from) = setup();
    c.bench_function("slots_30d_20clerks_2000appts", |b| {
        b.iter(|| {
            let p = Prepared::new(rules, black_box(&clerks), black_box(&closures));
            black_box(p.slots(from, 30))
        })
    });
    let p = Prepared::new(rules, &clerks, &closures);
    let first = p.slots(from + Duration::days(1), 1)[0].slots[0].starts_at;
    c.bench_function("free_clerks_at_20clerks", |b| {
        b.iter(|| black_box(p.free_clerks_at(black_box(first))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
