//! The report's figures from hand-made groups, the frame the store
//! counts in, percentiles and periods.

use super::*;

use crate::store::tallies::Fact;

#[test]
fn a_straight_line_is_fitted_exactly() {
    let t = trend(&[10.0, 12.0, 14.0, 16.0], 12.0).unwrap();
    assert_eq!(t.intercept, 10.0);
    assert_eq!(t.slope_per_period, 2.0);
    // 2 a month is 24 a year, against a mean of 13 a month.
    assert_eq!(t.change_per_year_percent, round1(100.0 * 24.0 / 13.0));
    let flat = trend(&[5.0, 5.0, 5.0], 12.0).unwrap();
    assert_eq!(flat.change_per_year_percent, 0.0);
    assert!(trend(&[1.0, 2.0], 12.0).is_none());
    assert!(trend(&[0.0, 0.0, 0.0], 12.0).is_none());
}

#[test]
fn percentiles_take_the_nearest_rank() {
    let ones = |v: &[f64]| v.iter().map(|x| (*x, 1)).collect::<Vec<_>>();
    let mut v = ones(&(1..=10).map(f64::from).collect::<Vec<_>>());
    assert_eq!(weighted_percentile(&mut v, 50.0), Some(5.0));
    assert_eq!(weighted_percentile(&mut v, 90.0), Some(9.0));
    assert_eq!(weighted_percentile(&mut ones(&[7.0]), 90.0), Some(7.0));
    assert_eq!(weighted_percentile(&mut [], 50.0), None);
}

fn fact(period: usize, year: i32, ack: Option<i64>, answer: Option<(i64, bool)>, n: usize) -> Fact {
    Fact {
        period,
        year,
        category: Some("send".into()),
        send_topic: Some("annual_review".into()),
        team: Some("SEND".into()),
        from_mp_office: period != 1,
        ack_minutes: ack,
        ack_working_days: ack.map(|_| 0),
        ack_in_time: ack.map(|_| true),
        answer_working_days: answer.map(|a| a.0),
        answer_in_time: answer.map(|a| a.1),
        mp_name: (period == 0).then(|| "Ann Able".to_string()),
        constituency: (period == 0).then(|| "Able North".to_string()),
        // Answered within its period; unanswered: open to the end, past
        // due from March's end.
        finished_by: if answer.is_some() { period } else { 3 },
        due_by: if answer.is_some() { period } else { 2 },
        n,
        kept_chasers: 0,
    }
}

#[test]
fn figures_are_summed_from_the_stores_groups() {
    // Three months: 20 cases answered in 3 working days (in time) and
    // 5 open in January; 4 answered in 12 (late) in February; none in
    // March. Two chasers on January's cases, one on February's.
    let t = Tallies {
        facts: vec![
            fact(0, 2026, Some(30), Some((3, true)), 20),
            fact(0, 2026, Some(90), None, 5),
            fact(1, 2026, None, Some((12, false)), 4),
        ],
        chasers: vec![(0, Some("Ann Able".into()), 2), (1, None, 1)],
        // From before the range: three open throughout, past due from
        // February's end; two finished in March.
        older: vec![(3, 1, 3), (2, 3, 2)],
        now: Default::default(),
    };
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let r = build(
        &t,
        d("2026-01-01"),
        d("2026-03-31"),
        By::Month,
        d("2026-04-01"),
    );
    assert_eq!(r.periods.len(), 3);
    let (jan, feb, mar) = (&r.periods[0], &r.periods[1], &r.periods[2]);
    assert_eq!((jan.received, jan.acknowledged, jan.answered), (25, 25, 20));
    assert_eq!(jan.from_mp_offices, 25);
    assert_eq!(feb.from_mp_offices, 0);
    // 20 at half an hour and 5 at an hour and a half: the 90th
    // percentile is the 23rd value.
    assert_eq!(jan.acknowledge_hours_median, Some(0.5));
    assert_eq!(jan.acknowledge_hours_p90, Some(1.5));
    assert_eq!(jan.answered_in_time_percent, Some(100.0));
    assert_eq!(feb.answered_in_time_percent, Some(0.0));
    assert_eq!(feb.response_working_days_median, Some(12.0));
    assert_eq!((jan.open_at_end, jan.overdue_at_end), (10, 0));
    assert_eq!((feb.open_at_end, feb.overdue_at_end), (10, 3));
    assert_eq!(mar.received, 0);
    assert_eq!((mar.open_at_end, mar.overdue_at_end), (8, 8));
    let all = &r.total;
    assert_eq!(
        (all.received, all.answered, all.answered_in_time),
        (29, 24, 20)
    );
    assert_eq!(all.response_working_days_median, Some(3.0));
    assert_eq!(all.response_working_days_p90, Some(12.0));
    assert_eq!((all.open_at_end, all.overdue_at_end), (8, 8));
    assert_eq!((all.chasers, jan.chasers, feb.chasers), (3, 2, 1));
    assert_eq!(all.chasers_per_case, Some(0.1));
    assert_eq!(r.by_mp.get("Ann Able"), Some(&25));
    assert_eq!(r.by_mp.len(), 1);
    assert_eq!(r.by_constituency.get("Able North"), Some(&25));
    assert_eq!(r.per_year.get(&2026), Some(&29));
    assert_eq!(r.by_category.get("send"), Some(&29));
    assert_eq!(r.by_send_topic.get("annual_review"), Some(&29));
    let trend = r.trend.clone().expect("three months make a line");
    assert!(trend.slope_per_period < 0.0, "{trend:?}");
    let svg = chart(&r);
    assert!(svg.contains("trend") && svg.contains("<polyline"));
}

/// Easter 2026 in London: the clocks go forward at 01:00 UTC on 29
/// March; Good Friday (3 April) and Easter Monday (6 April) are bank
/// holidays.
#[test]
fn the_frame_knows_local_days_working_days_and_the_clock_change() {
    let calendar = Calendar::embedded(crate::calendar::Division::EnglandAndWales);
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let f = frame(
        &calendar,
        d("2026-03-27"),
        d("2026-04-07"),
        By::Week,
        d("2026-04-01"),
        None,
    );
    assert_eq!(f.received_from, "2026-03-27T00:00:00.000Z");
    assert_eq!(f.received_before, "2026-04-07T23:00:00.000Z");
    let day = |s: &str| (d(s) - d("1970-01-01")).num_days();
    assert_eq!(
        f.periods,
        [
            (day("2026-03-27"), day("2026-03-29")),
            (day("2026-03-30"), day("2026-04-05")),
            (day("2026-04-06"), day("2026-04-07")),
        ]
    );
    assert_eq!(f.weekly, Some(day("2026-03-23")));
    assert!(f.days_off.contains(&day("2026-04-03")) && f.days_off.contains(&day("2026-04-06")));
    assert!(f.days_off.contains(&day("2026-12-25")) && f.days_off.contains(&day("2027-03-26")));
    assert_eq!(
        f.ordinal(day("2026-04-07")) - f.ordinal(day("2026-03-27")),
        5
    );
    // The SQL's count of working days is the calendar's, day after day.
    let start = d("2026-03-20");
    for a in 0..60 {
        for b in a..a + 30 {
            let (x, y) = (start + Duration::days(a), start + Duration::days(b));
            if x < d("2026-03-27") {
                continue;
            }
            assert_eq!(
                f.ordinal(day(&y.to_string())) - f.ordinal(day(&x.to_string())),
                calendar.working_days_between(x, y),
                "{x} to {y}"
            );
        }
    }
    assert_eq!(f.years.first(), Some(&(day("2026-01-01"), 2026)));
    assert_eq!(f.offsets[0].1, 0);
    let change = chrono::DateTime::parse_from_rfc3339("2026-03-29T01:00:00Z").unwrap();
    assert_eq!(f.offsets[1], (change.timestamp(), 3600));
    assert_eq!(f.first_end, "2026-03-29T23:00:00.000Z");
    assert_eq!(f.service, None);
}

#[test]
fn periods_cut_months_and_iso_weeks() {
    let d = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    assert_eq!(label(period_start(d, By::Month), By::Month), "2026-12");
    assert_eq!(
        period_after(period_start(d, By::Month), By::Month),
        NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
    );
    // Thursday 31 December 2026 is in ISO week 53 of 2026.
    assert_eq!(label(period_start(d, By::Week), By::Week), "2026-W53");
}

#[test]
fn what_is_open_now_by_team_caseworker_state_and_clock() {
    use crate::store::tallies::{Clock, Live, Now, Waiting};
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let day = |s: &str| (d(s) - d("1970-01-01")).num_days();
    let live = |team: &str, who: Option<&str>, overdue, paused, why: Option<&str>, n| Live {
        team: Some(team.into()),
        assignee: who.map(String::from),
        overdue,
        paused,
        pause_reason: why.map(String::from),
        n,
    };
    let t = Tallies {
        now: Now {
            live: vec![
                live("SEND", Some("A.Shah@x"), true, false, None, 3),
                live("SEND", Some("a.shah@x"), false, true, Some("consent"), 1),
                live("SEND", None, false, false, None, 2),
                live("Corporate", Some("c.lewis@x"), false, false, None, 4),
            ],
            waiting: vec![
                Waiting {
                    state: "unassigned".into(),
                    received_day: day("2026-11-20"),
                    n: 2,
                },
                Waiting {
                    state: "with the service".into(),
                    received_day: day("2026-11-01"),
                    n: 5,
                },
                Waiting {
                    state: "with the service".into(),
                    received_day: day("2026-10-01"),
                    n: 2,
                },
                Waiting {
                    state: "paused".into(),
                    received_day: day("2026-09-01"),
                    n: 1,
                },
            ],
            clocks: vec![Clock {
                name: "Decision to assess (reg. 5)".into(),
                due_soon: 2,
                missed: 1,
            }],
        },
        ..Tallies::default()
    };
    let n = super::now::now(&t, d("2026-12-01"));
    assert_eq!((n.open, n.overdue, n.unassigned, n.paused), (10, 3, 2, 1));
    assert_eq!(n.by_team[0].name, "SEND");
    assert_eq!(
        (
            n.by_team[0].open,
            n.by_team[0].overdue,
            n.by_team[0].unassigned
        ),
        (6, 3, 2)
    );
    // One caseworker, whatever the case of their address; equal loads in
    // the order of the names.
    assert_eq!(
        (n.by_caseworker[0].name.as_str(), n.by_caseworker[0].open),
        ("a.shah@x", 4)
    );
    assert_eq!(
        (n.by_caseworker[0].overdue, n.by_caseworker[0].paused),
        (3, 1)
    );
    assert_eq!(
        (n.by_caseworker[1].name.as_str(), n.by_caseworker[1].open),
        ("c.lewis@x", 4)
    );
    assert_eq!(n.paused_why.get("consent"), Some(&1));
    let with = n
        .waiting
        .iter()
        .find(|w| w.state == "with the service")
        .unwrap();
    // Seven cases: five 30 days old, two 61: the median is 30.
    assert_eq!(
        (with.cases, with.median_days, with.oldest_days),
        (7, Some(30), Some(61))
    );
    assert_eq!(n.clocks[0].due_in_10_working_days, 2);
    assert_eq!(n.clocks[0].missed_in_range, 1);
}
