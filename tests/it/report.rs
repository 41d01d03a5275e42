//! `postroom report` over a generated year of cases in SQLite and
//! PostgreSQL, checked against figures this test computes on its own.
//!
//! The cases arrive on Mondays of 2025 whose next three weeks hold no bank
//! holiday, at noon (so the London date is the UTC date in every season),
//! and are answered k weekdays later: k working days, counted here without
//! postroom's calendar.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use postroom::case::CaseRef;
use postroom::store::cases;

use crate::harness::{Delivery, TestApp, backends};

/// England and Wales bank holidays of 2025 and early 2026.
const HOLIDAYS: [&str; 10] = [
    "2025-01-01",
    "2025-04-18",
    "2025-04-21",
    "2025-05-05",
    "2025-05-26",
    "2025-08-25",
    "2025-12-25",
    "2025-12-26",
    "2026-01-01",
    "2026-04-03",
];

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// `k` weekdays after a Monday.
fn weekdays_after(monday: NaiveDate, k: i64) -> NaiveDate {
    monday + Duration::days(k + 2 * (k / 5))
}

/// An open new enquiry from an MP office, received at noon on `received`.
fn new_case<'a>(
    reference: &'a CaseRef,
    mp: &'a str,
    category: &'a str,
    received: NaiveDate,
    response_due: NaiveDate,
) -> cases::NewCase<'a> {
    let noon = Utc.from_utc_datetime(&received.and_hms_opt(12, 0, 0).unwrap());
    cases::NewCase {
        reference,
        status: "open",
        kind: "new_enquiry",
        triage_reason: None,
        category: Some(category),
        send_topic: None,
        urgent: false,
        from_mp_office: true,
        mp_name: Some(mp),
        constituency: None,
        mp_reference: None,
        correspondent: "office@parliament.uk",
        subject: "generated",
        team: None,
        assignee: None,
        policy: None,
        tags: &[],
        received_at: noon,
        acknowledge_due: Some(received),
        response_due: Some(response_due),
        now: noon,
    }
}

/// `postroom report ARGS --config` on the test app's config.
pub(crate) fn postroom_report(t: &TestApp, args: &[&str]) -> std::process::Output {
    let config = t.dir.path().join("postroom.toml");
    let args = args.iter().map(std::ffi::OsStr::new);
    crate::harness::postroom_ok(
        std::iter::once("report".as_ref())
            .chain(args)
            .chain(["--config".as_ref(), config.as_os_str()]),
    )
}

struct Generated {
    mp: &'static str,
    received: NaiveDate,
    ack_minutes: i64,
    /// Working days to the answer; `None`: not answered.
    answered_after: Option<i64>,
    chasers: usize,
}

fn generate() -> Vec<Generated> {
    let holidays: Vec<NaiveDate> = HOLIDAYS.iter().map(|h| d(h)).collect();
    let mondays: Vec<NaiveDate> = (0..53)
        .map(|w| d("2025-01-06") + Duration::weeks(w))
        .filter(|m| m.year() == 2025)
        .filter(|m| {
            !holidays
                .iter()
                .any(|h| *h >= *m && *h < *m + Duration::days(21))
        })
        .collect();
    assert!(mondays.len() > 30);
    let mps = ["Ann Able", "Ben Baker", "Cal Carter"];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    (0..240)
        .map(|i| {
            let received = mondays[next(mondays.len() as u64) as usize];
            let answered = next(10);
            Generated {
                mp: mps[i % 3],
                received,
                ack_minutes: 1 + next(600) as i64,
                // One in ten unanswered; the rest after 0 to 13 working days.
                answered_after: (answered != 0).then(|| next(14) as i64),
                chasers: if next(4) == 0 {
                    1 + next(2) as usize
                } else {
                    0
                },
            }
        })
        .collect()
}

/// Nearest-rank percentile, rounded to 0.1, as a person would work it out.
fn nearest_rank(mut v: Vec<f64>, p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    Some((v[rank.max(1) - 1] * 10.0).round() / 10.0)
}

#[tokio::test]
async fn a_report_over_a_generated_year_matches_figures_computed_independently() {
    let generated = generate();
    for backend in backends() {
        let t = TestApp::new(backend, Delivery::Folder).await;
        let noon = |day: NaiveDate| Utc.from_utc_datetime(&day.and_hms_opt(12, 0, 0).unwrap());
        {
            let mut tx = t.app.store.begin().await.unwrap();
            for (i, g) in generated.iter().enumerate() {
                // Ten working days: two weeks on from a Monday, no holidays.
                let due = g.received + Duration::days(14);
                let reference = CaseRef::new("MPE", 2025, i as i64 + 1);
                let id = cases::insert(
                    &mut tx,
                    &new_case(&reference, g.mp, "send", g.received, due),
                )
                .await
                .unwrap();
                cases::set_acknowledged(
                    &mut tx,
                    id,
                    noon(g.received) + Duration::minutes(g.ack_minutes),
                )
                .await
                .unwrap();
                if let Some(k) = g.answered_after {
                    cases::set_status(
                        &mut tx,
                        id,
                        postroom::case::Status::Answered,
                        noon(weekdays_after(g.received, k)),
                    )
                    .await
                    .unwrap();
                }
                for _ in 0..g.chasers {
                    cases::add_event(
                        &mut tx,
                        id,
                        noon(g.received),
                        "postroom",
                        "chaser",
                        None,
                        &serde_json::json!({}),
                    )
                    .await
                    .unwrap();
                }
            }
            tx.commit().await.unwrap();
        }

        let out = postroom_report(
            &t,
            &[
                "--from",
                "2025-01-01",
                "--to",
                "2025-12-31",
                "--format",
                "json",
            ],
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

        // Worked out here, from what was generated.
        let answered: Vec<&Generated> = generated
            .iter()
            .filter(|g| g.answered_after.is_some())
            .collect();
        let in_time = answered
            .iter()
            .filter(|g| g.answered_after.unwrap() <= 10)
            .count();
        let ack_hours: Vec<f64> = generated
            .iter()
            .map(|g| g.ack_minutes as f64 / 60.0)
            .collect();
        let response: Vec<f64> = answered
            .iter()
            .map(|g| g.answered_after.unwrap() as f64)
            .collect();
        let chasers: usize = generated.iter().map(|g| g.chasers).sum();
        let mut by_month: BTreeMap<String, usize> = BTreeMap::new();
        for g in &generated {
            *by_month
                .entry(g.received.format("%Y-%m").to_string())
                .or_default() += 1;
        }
        let mut by_mp: BTreeMap<&str, usize> = BTreeMap::new();
        for g in &generated {
            *by_mp.entry(g.mp).or_default() += 1;
        }
        let open_at_end = generated
            .iter()
            .filter(|g| {
                g.answered_after
                    .is_none_or(|k| weekdays_after(g.received, k) > d("2025-12-31"))
            })
            .count();

        let total = &report["total"];
        let ctx = format!("{backend:?}: {total}");
        assert_eq!(total["received"], generated.len(), "{ctx}");
        assert_eq!(total["answered"], answered.len(), "{ctx}");
        assert_eq!(total["answered_in_time"], in_time, "{ctx}");
        let percent = (1000.0 * in_time as f64 / answered.len() as f64).round() / 10.0;
        assert_eq!(total["answered_in_time_percent"], percent, "{ctx}");
        assert_eq!(
            total["acknowledge_hours_median"],
            nearest_rank(ack_hours.clone(), 50.0).unwrap(),
            "{ctx}"
        );
        assert_eq!(
            total["acknowledge_hours_p90"],
            nearest_rank(ack_hours, 90.0).unwrap(),
            "{ctx}"
        );
        assert_eq!(
            total["response_working_days_median"],
            nearest_rank(response.clone(), 50.0).unwrap(),
            "{ctx}"
        );
        assert_eq!(
            total["response_working_days_p90"],
            nearest_rank(response, 90.0).unwrap(),
            "{ctx}"
        );
        assert_eq!(total["chasers"], chasers, "{ctx}");
        assert_eq!(total["open_at_end"], open_at_end, "{ctx}");
        for (mp, n) in &by_mp {
            assert_eq!(report["by_mp"][*mp], *n, "{ctx}");
        }
        let periods = report["periods"].as_array().unwrap();
        assert_eq!(periods.len(), 12);
        for p in periods {
            let month = p["period"].as_str().unwrap();
            assert_eq!(
                p["received"],
                by_month.get(month).copied().unwrap_or(0),
                "{month}"
            );
        }
        // The trend, by least squares over the twelve months.
        let ys: Vec<f64> = (1..=12)
            .map(|m| by_month.get(&format!("2025-{m:02}")).copied().unwrap_or(0) as f64)
            .collect();
        let mean_x = 5.5;
        let mean_y = ys.iter().sum::<f64>() / 12.0;
        let slope = ys
            .iter()
            .enumerate()
            .map(|(i, y)| (i as f64 - mean_x) * (y - mean_y))
            .sum::<f64>()
            / (0..12).map(|i| (i as f64 - mean_x).powi(2)).sum::<f64>();
        let per_year = (1000.0 * slope * 12.0 / mean_y).round() / 10.0;
        assert_eq!(
            report["trend"]["change_per_year_percent"], per_year,
            "{ctx}"
        );
    }
}

/// `report --accuracy`: people's corrections of postroom's decisions,
/// counted per field and month, with a change undone not counted.
#[tokio::test]
async fn accuracy_counts_the_corrections_people_made() {
    use postroom::casework::{Correction, recategorise};
    for backend in backends() {
        let t = TestApp::new(backend, Delivery::Folder).await;
        let received = [
            "2026-10-05",
            "2026-10-12",
            "2026-11-02",
            "2026-11-09",
            "2026-11-16",
        ];
        let mut refs = Vec::new();
        {
            let mut tx = t.app.store.begin().await.unwrap();
            for (i, day) in received.iter().enumerate() {
                let reference = CaseRef::new("MPE", 2026, i as i64 + 1);
                let day = d(day);
                cases::insert(
                    &mut tx,
                    &new_case(
                        &reference,
                        "Jane Example",
                        "housing",
                        day,
                        day + Duration::days(14),
                    ),
                )
                .await
                .unwrap();
                refs.push(reference.to_string());
            }
            tx.commit().await.unwrap();
        }
        let now = t.app.clock.now();
        let fix = |r: usize, c: Correction<'static>| {
            let reference = refs[r].clone();
            let app = &t.app;
            async move {
                recategorise(app, &reference, &c, "caseworker@council.example", now)
                    .await
                    .unwrap()
            }
        };
        // October: one case's service and topic, another's urgency and kind.
        fix(
            0,
            Correction {
                category: Some("send"),
                send_topic: Some("send_transport"),
                ..Default::default()
            },
        )
        .await;
        fix(
            1,
            Correction {
                urgent: Some(true),
                kind: Some("not_mp"),
                ..Default::default()
            },
        )
        .await;
        // November: a service changed and changed back is no correction;
        // a service changed twice counts once, from what postroom said.
        for (r, category) in [
            (2, "planning"),
            (2, "housing"),
            (3, "planning"),
            (3, "highways_waste"),
        ] {
            fix(
                r,
                Correction {
                    category: Some(category),
                    ..Default::default()
                },
            )
            .await;
        }

        let range = ["--accuracy", "--from", "2026-10-01", "--to", "2026-11-30"];
        let out = postroom_report(&t, &[&range[..], &["--format", "json"]].concat());
        let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let months = a["months"].as_array().unwrap();
        assert_eq!(months.len(), 2, "{a}");
        let (oct, nov) = (&months[0], &months[1]);
        assert_eq!(oct["month"], "2026-10");
        assert_eq!(oct["cases"], 2);
        assert_eq!(oct["corrected"]["category"], 1);
        assert_eq!(oct["corrected"]["send_topic"], 1);
        assert_eq!(oct["corrected"]["urgent"], 1);
        assert_eq!(oct["corrected"]["kind"], 1);
        assert_eq!(oct["corrected_percent"]["category"], 50.0);
        assert_eq!(nov["cases"], 3);
        assert_eq!(nov["corrected"]["category"], 1, "{nov}");
        assert_eq!(nov["corrected"]["urgent"], 0);
        assert_eq!(a["total"]["cases"], 5);
        assert_eq!(a["total"]["corrected"]["category"], 2);
        let list = a["corrections"].as_array().unwrap();
        assert_eq!(list.len(), 5, "{a}");
        let twice = list
            .iter()
            .find(|c| c["reference"] == refs[3].as_str())
            .unwrap();
        assert_eq!(twice["postroom"], "housing");
        assert_eq!(twice["now"], "highways_waste");
        assert_eq!(twice["by"], "caseworker@council.example");
        assert!(list.iter().all(|c| c["reference"] != refs[2].as_str()));
        assert!(list.iter().all(|c| c["reference"] != refs[4].as_str()));

        // The table says the same.
        let out = postroom_report(&t, &range);
        let table = String::from_utf8_lossy(&out.stdout);
        assert!(table.contains("2026-10"), "{table}");
        assert!(
            table.contains(&format!(
                "{} category: postroom said \"housing\", now \"highways_waste\"",
                refs[3]
            )),
            "{table}"
        );
    }
}

/// The store counts by the council's local day: a case received at 23:30
/// UTC in summer arrived the next day in London, one at 22:30 the same day.
/// Also: a case received before the range and still open, a case closed
/// unanswered, the statistics row of a deleted case (with its chasers),
/// and the figures of one service.
#[tokio::test]
async fn figures_follow_the_local_day_and_count_what_retention_left() {
    for backend in backends() {
        let t = TestApp::new(backend, Delivery::Folder).await;
        let mut conn = t.app.store.conn().await.unwrap();
        let cases = [
            // reference, category, received, due, answered, closed
            (
                "MPE-2026-00001",
                "send",
                "2026-06-30T23:30:00.000Z",
                "2026-07-01",
                Some("2026-07-02T10:00:00.000Z"),
                None,
            ),
            (
                "MPE-2026-00002",
                "send",
                "2026-06-30T22:30:00.000Z",
                "2026-07-10",
                None,
                None,
            ),
            (
                "MPE-2026-00003",
                "housing",
                "2026-07-15T09:00:00.000Z",
                "2026-07-29",
                None,
                Some("2026-07-20T09:00:00.000Z"),
            ),
            (
                "MPE-2026-00004",
                "send",
                "2026-05-20T09:00:00.000Z",
                "2026-06-10",
                None,
                None,
            ),
        ];
        for (reference, category, received, due, answered, closed) in cases {
            sqlx::query(
                "INSERT INTO cases (reference, status, kind, category, from_mp_office, received_at, response_due, \
                 acknowledged_at, answered_at, closed_at, created_at, updated_at) \
                 VALUES ($1, 'open', 'new_enquiry', $2, 1, $3, $4, $3, $5, $6, $3, $3)",
            )
            .bind(reference)
            .bind(category)
            .bind(received)
            .bind(due)
            .bind(answered)
            .bind(closed)
            .execute(&mut *conn)
            .await
            .unwrap();
        }
        statistics_row(&mut conn, "2026-08-03", "2026-08-14", "2026-08-05", 2).await;
        drop(conn);
        let calendar = t.app.calendar();
        let report = |service| {
            postroom::report::of_store(
                &t.app.store,
                &calendar,
                (d("2026-06-01"), d("2026-08-31")),
                postroom::report::By::Month,
                d("2026-11-27"),
                service,
            )
        };
        let r = report(None).await.unwrap();
        let got: Vec<_> = r
            .periods
            .iter()
            .map(|p| {
                (
                    p.period.as_str(),
                    p.received,
                    p.answered,
                    p.answered_in_time,
                    p.open_at_end,
                    p.overdue_at_end,
                    p.chasers,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("2026-06", 1, 0, 0, 2, 1),
                ("2026-07", 2, 1, 0, 2, 2),
                ("2026-08", 1, 1, 1, 2, 2),
            ]
            .map(|(p, a, b, c, e, f)| (
                p,
                a,
                b,
                c,
                e,
                f,
                if p == "2026-08" { 2 } else { 0 }
            )),
            "{backend:?}"
        );
        // Answered the next working day after a local 1 July; two working
        // days for the deleted case.
        assert_eq!(r.periods[1].response_working_days_median, Some(1.0));
        assert_eq!(r.periods[2].response_working_days_median, Some(2.0));
        assert_eq!(r.periods[0].acknowledge_hours_median, Some(0.0));
        assert_eq!(r.periods[2].acknowledge_hours_median, Some(0.5));
        assert_eq!(r.by_mp.get("Ann Able"), Some(&1));
        assert_eq!(r.by_category.get("housing"), Some(&2));
        let housing = report(Some(postroom::case::Category::Housing))
            .await
            .unwrap();
        assert_eq!(housing.total.received, 2, "{backend:?}");
        assert_eq!(housing.total.open_at_end, 0);
        assert_eq!(housing.total.chasers, 2);
    }
}

/// The statistics row retention leaves of a housing case from Ann Able's
/// office, received at 09:00 UTC on `received`, acknowledged half an hour
/// later, answered at 09:00 on `answered`, with `chasers`.
pub(crate) async fn statistics_row(
    conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
    received: &str,
    due: &str,
    answered: &str,
    chasers: i64,
) {
    sqlx::query(
        "INSERT INTO case_statistics (kind, category, urgent, from_mp_office, mp_name, received_at, response_due, \
         acknowledged_at, answered_at, chasers, retired_at) VALUES ('new_enquiry', 'housing', 0, 1, 'Ann Able', \
         $1, $2, $3, $4, $5, '2040-01-01T00:00:00.000Z')",
    )
    .bind(format!("{received}T09:00:00.000Z"))
    .bind(due)
    .bind(format!("{received}T09:30:00.000Z"))
    .bind(format!("{answered}T09:00:00.000Z"))
    .bind(chasers)
    .execute(&mut **conn)
    .await
    .unwrap();
}
