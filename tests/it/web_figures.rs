//! The managers' figures in the workspace, on SQLite and PostgreSQL: every
//! figure of every table the same as `postroom report` prints over the same
//! store (cases over three years, a retention run that deleted the oldest,
//! a statistics row, chasers, pauses, a recategorised case), every count
//! on the page opening the list of exactly its cases, the CSV of each
//! table, and no figures for a caseworker.

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::backends;
use crate::web::{Workspace, unescape};

/// Cases received over three years (received, service, due, answered
/// after so many days), on top of the sample mailbox's.
async fn generate(w: &Workspace) {
    let mut conn = w.t.app.store.conn().await.unwrap();
    let services = ["send", "housing", "adult_social_care", "send"];
    for i in 0..60i64 {
        let received =
            chrono::NaiveDate::from_ymd_opt(2024, 1, 8).unwrap() + chrono::Duration::days(i * 17);
        let due = received + chrono::Duration::days(14);
        let answered = (i % 5 != 0).then(|| received + chrono::Duration::days(i % 23));
        let at = |d: chrono::NaiveDate, h: u32| format!("{d}T{h:02}:15:00.000Z");
        sqlx::query(
            "INSERT INTO cases (reference, status, kind, category, send_topic, from_mp_office, mp_name, constituency, \
             received_at, response_due, acknowledged_at, answered_at, created_at, updated_at, acknowledge_due) \
             VALUES ($1, $2, 'new_enquiry', $3, $4, 1, $5, $6, $7, $8, $9, $10, $7, $7, $11)",
        )
        .bind(format!("MPE-{}-{:05}", received.format("%Y"), 900 + i))
        .bind(if answered.is_some() { "answered" } else { "open" })
        .bind(services[i as usize % 4])
        .bind((services[i as usize % 4] == "send").then_some("send_transport"))
        .bind(if i % 3 == 0 { "Ann Able" } else { "Ben Baker" })
        .bind(if i % 3 == 0 { "Able North" } else { "Baker South" })
        .bind(at(received, 8 + (i % 12) as u32))
        .bind(due.to_string())
        // Acknowledged the same day, by the target two days on; one in
        // seven four days on, late.
        .bind(if i % 7 == 3 {
            at(received + chrono::Duration::days(4), 9)
        } else {
            at(received, 9 + (i % 12) as u32)
        })
        .bind(answered.map(|a| at(a, 16)))
        .bind((received + chrono::Duration::days(2)).to_string())
        .execute(&mut *conn)
        .await
        .unwrap();
        if i % 4 == 1 {
            sqlx::query(
                "INSERT INTO case_events (case_id, at, actor, kind, detail) \
                 SELECT id, received_at, 'postroom', 'chaser', '{}' FROM cases WHERE reference = $1",
            )
            .bind(format!("MPE-{}-{:05}", received.format("%Y"), 900 + i))
            .execute(&mut *conn)
            .await
            .unwrap();
        }
    }
    crate::report::statistics_row(&mut conn, "2025-03-03", "2025-03-17", "2025-03-12", 3).await;
    drop(conn);
    // A real retention run, six years after 1 March 2025: the cases
    // answered before then go, each leaving its statistics row.
    let now = postroom::clock::Clock::now(&*w.t.clock);
    w.t.clock.set(
        chrono::DateTime::parse_from_rfc3339("2031-03-01T12:00:00Z")
            .unwrap()
            .into(),
    );
    let run = postroom::schedule::retention::run(&w.t.app, false, "test")
        .await
        .unwrap();
    assert!(run.counts.cases >= 10, "{run:?}");
    w.t.clock.set(now);
    // Two live cases paused, each for its own reason.
    let live: Vec<_> =
        w.t.cases()
            .await
            .into_iter()
            .filter(|c| c.status == postroom::case::Status::Open && c.answered_at.is_none())
            .collect();
    assert!(live.len() >= 3, "{}", live.len());
    for (case, why) in live.iter().take(2).zip([
        "waiting for the school's report",
        "waiting for the family's consent",
    ]) {
        postroom::casework::actions::pause(
            &w.t.app,
            &case.reference,
            why,
            "send.manager@wexcombe.gov.uk",
            now,
        )
        .await
        .unwrap();
    }
    // A person's correction: the case now counts under its new service.
    let case = w.case_of("SEND").await;
    postroom::casework::actions::recategorise(
        &w.t.app,
        &case,
        &postroom::casework::actions::Correction {
            kind: None,
            category: Some("housing"),
            send_topic: None,
            urgent: None,
        },
        "send.manager@wexcombe.gov.uk",
        postroom::clock::Clock::now(&*w.t.clock),
    )
    .await
    .unwrap();
}

/// Every link of a page to a list of cases whose text is a count: (the
/// list's address, the count, what the link says to a screen reader).
fn counted_links(body: &str) -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    for part in body.split("<a class=\"govuk-link\" href=\"").skip(1) {
        let Some((href, rest)) = part.split_once('"') else {
            continue;
        };
        let href = unescape(href);
        if !href.starts_with("/cases?") {
            continue;
        }
        let Some(text) = rest.strip_prefix('>') else {
            continue;
        };
        let count: String = text.chars().take_while(char::is_ascii_digit).collect();
        let Ok(n) = count.parse::<usize>() else {
            continue;
        };
        let what = text
            .split_once("govuk-visually-hidden\">")
            .map_or("", |(_, w)| w.split('<').next().unwrap_or(""))
            .to_string();
        out.push((href, n, what));
    }
    out
}

/// How many cases a list holds, page after page.
async fn cases_listed(m: &mut crate::web::Browser, href: &str) -> usize {
    let mut n = 0;
    let mut next = Some(href.to_string());
    while let Some(at) = next {
        let list = m.get(&at).await;
        assert_eq!(list.status, StatusCode::OK, "{at}: {}", list.body);
        assert!(
            !list.body.contains("govuk-error-summary"),
            "{at}: {}",
            list.body
        );
        n += list
            .body
            .matches("class=\"govuk-link postroom-nowrap\"")
            .count();
        next = list
            .body
            .split_once("rel=\"next\"")
            .and_then(|(before, _)| before.rsplit("href=\"").next())
            .and_then(|h| h.split('"').next())
            .map(unescape);
    }
    n
}

fn csv_rows(body: &str) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_reader(body.as_bytes());
    r.records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect()
}

/// A report figure as the page prints it.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => "–".to_string(),
        v => v.to_string(),
    }
}

#[tokio::test]
async fn the_figures_are_postroom_reports_and_each_count_opens_its_cases() {
    for backend in backends() {
        let w = Workspace::start(backend).await;
        generate(&w).await;
        // `postroom report` runs on the wall clock: so does the workspace
        // here, so that both work out ages and overdue cases as of today.
        w.t.clock.set(postroom::clock::system().now());
        let (from, to) = ("2024-04-01", "2026-11-27");
        let out =
            crate::report::postroom_report(&w.t, &["--from", from, "--to", to, "--format", "json"]);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut m = w.browser();
        m.sign_in("head.of.service@wexcombe.gov.uk").await;
        let q = format!("range=custom&from={from}&to={to}");
        let page = m.get(&format!("/figures?{q}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.body.contains("<svg"),
            "the chart is drawn on the server"
        );
        assert!(!page.body.contains("<script>"));

        // Every period's row of both tables, as the report has it.
        let expected = report["periods"].as_array().unwrap();
        for (table, fields) in [
            (
                "periods",
                &[
                    "period",
                    "received",
                    "answered",
                    "open_at_end",
                    "overdue_at_end",
                    "chasers",
                ][..],
            ),
            (
                "in-target",
                &[
                    "period",
                    "acknowledged_in_time",
                    "acknowledged_in_time_percent",
                    "answered_in_time",
                    "answered_in_time_percent",
                    "acknowledge_working_days_median",
                    "acknowledge_working_days_p90",
                    "acknowledge_hours_median",
                    "response_working_days_median",
                    "response_working_days_p90",
                ][..],
            ),
        ] {
            let csv = m.get(&format!("/figures.csv?table={table}&{q}")).await;
            assert!(
                csv.headers["content-disposition"]
                    .to_str()
                    .unwrap()
                    .starts_with("attachment")
            );
            let rows = csv_rows(&csv.body);
            assert_eq!(rows.len(), expected.len(), "{backend:?}");
            for (row, p) in rows.iter().zip(expected) {
                let want: Vec<String> = fields
                    .iter()
                    .map(|k| match &p[*k] {
                        Value::String(s) => s.clone(),
                        v => shown(v),
                    })
                    .collect();
                let same = row.iter().zip(&want).all(|(a, b)| {
                    a == b
                        || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
                });
                assert!(
                    same,
                    "{backend:?} {table}: {row:?} against the report's {want:?}"
                );
            }
        }
        let total = &report["total"];
        // The summary above the tables: the report's totals, as the page
        // words them.
        let num = |v: &Value| v.as_f64().map_or("–".to_string(), |f| format!("{f}"));
        for said in [
            format!(
                ">{}<span class=\"govuk-visually-hidden\"> referrals received",
                total["received"]
            ),
            format!(
                ">{}<span class=\"govuk-visually-hidden\"> answered by the reply date",
                total["answered_in_time"]
            ),
            format!(
                "{} answered</a> ({}%)",
                total["answered"],
                num(&total["answered_in_time_percent"])
            ),
            format!(
                " of the {} acknowledged ({}%)",
                total["acknowledged"],
                num(&total["acknowledged_in_time_percent"])
            ),
            format!(
                "working days: median {}, 90th percentile {}; hours: median {}, 90th percentile {}",
                num(&total["acknowledge_working_days_median"]),
                num(&total["acknowledge_working_days_p90"]),
                num(&total["acknowledge_hours_median"]),
                num(&total["acknowledge_hours_p90"])
            ),
            format!(
                "median {}, 90th percentile {}</dd>",
                num(&total["response_working_days_median"]),
                num(&total["response_working_days_p90"])
            ),
            format!(
                ">{}<span class=\"govuk-visually-hidden\"> open at the end of the period",
                total["open_at_end"]
            ),
            format!("{} past the reply date</a>", total["overdue_at_end"]),
            format!(
                ">{}<span class=\"govuk-visually-hidden\"> chasers: the cases chased</span></a> ({} a case)",
                total["chasers"],
                num(&total["chasers_per_case"])
            ),
            format!(
                ">{}<span class=\"govuk-visually-hidden\"> cases paused",
                report["now"]["paused"]
            ),
        ] {
            assert!(
                page.body.contains(&said),
                "{backend:?}: {said} in {}",
                page.body
            );
        }
        let trend = &report["trend"];
        assert!(
            page.body.contains(&format!(
                "{:+} referrals a month (95% interval {:+} to {:+})",
                trend["slope_per_month"].as_f64().unwrap(),
                trend["slope_per_month_low"].as_f64().unwrap(),
                trend["slope_per_month_high"].as_f64().unwrap()
            )),
            "{trend}"
        );
        assert!(total["received"].as_u64().unwrap() > 50);
        assert!(total["chasers"].as_u64().unwrap() >= 3);
        for (table, key) in [
            ("services", "by_category"),
            ("topics", "by_send_topic"),
            ("mps", "by_mp"),
        ] {
            let rows = csv_rows(&m.get(&format!("/figures.csv?table={table}&{q}")).await.body);
            let want = report[key].as_object().unwrap();
            assert_eq!(rows.len(), want.len(), "{table}");
            let sum: u64 = rows.iter().map(|r| r[1].parse::<u64>().unwrap()).sum();
            assert_eq!(
                sum,
                want.values().map(|v| v.as_u64().unwrap()).sum::<u64>(),
                "{table}"
            );
        }
        // The other tables, field by field (their first column is a name,
        // as the page words it).
        for (table, at, fields) in [
            (
                "in-target-services",
                "/in_target_by_service",
                &[
                    "received",
                    "acknowledged_in_time",
                    "answered",
                    "answered_in_time",
                    "answered_in_time_percent",
                ][..],
            ),
            (
                "in-target-teams",
                "/in_target_by_team",
                &[
                    "received",
                    "acknowledged_in_time",
                    "answered",
                    "answered_in_time",
                    "answered_in_time_percent",
                ][..],
            ),
            (
                "chasers",
                "/chasers_by_mp",
                &["cases", "chasers", "chasers_per_case"][..],
            ),
            (
                "teams-now",
                "/now/by_team",
                &["open", "overdue", "unassigned", "paused"][..],
            ),
            (
                "caseworkers-now",
                "/now/by_caseworker",
                &["open", "overdue", "unassigned", "paused"][..],
            ),
            (
                "waiting-now",
                "/now/waiting",
                &["cases", "median_days", "oldest_days"][..],
            ),
            (
                "clocks",
                "/now/clocks",
                &["due_in_10_working_days", "missed_in_range"][..],
            ),
        ] {
            let rows = csv_rows(&m.get(&format!("/figures.csv?table={table}&{q}")).await.body);
            let want = report.pointer(at).unwrap().as_array().unwrap();
            assert_eq!(rows.len(), want.len(), "{table}: {rows:?} {want:?}");
            for (row, w) in rows.iter().zip(want) {
                for (cell, field) in row[1..].iter().zip(fields) {
                    let v = shown(&w[*field]);
                    let same = *cell == v
                        || matches!((cell.parse::<f64>(), v.parse::<f64>()), (Ok(x), Ok(y)) if x == y);
                    assert!(same, "{backend:?} {table} {field}: {cell} against {v}");
                }
            }
        }
        assert!(
            report["now"]["open"].as_u64().unwrap() >= 12,
            "{}",
            report["now"]
        );
        // Each service's and topic's referrals period by period, as the
        // report has them, and adding up to the periods' own.
        for (table, key) in [
            ("services-by-period", "per_period_by_category"),
            ("topics-by-period", "per_period_by_send_topic"),
        ] {
            let rows = csv_rows(&m.get(&format!("/figures.csv?table={table}&{q}")).await.body);
            let want = report[key].as_object().unwrap();
            assert_eq!(rows.len(), want.len(), "{table}");
            assert!(!rows.is_empty(), "{table}");
            let mut sums = vec![0u64; expected.len()];
            for counts in want.values() {
                let counts: Vec<u64> = counts
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_u64().unwrap())
                    .collect();
                let row = rows
                    .iter()
                    .find(|r| {
                        r[1..]
                            .iter()
                            .map(|c| c.parse::<u64>().unwrap())
                            .eq(counts.iter().copied())
                    })
                    .unwrap_or_else(|| panic!("{table}: {counts:?} in {rows:?}"));
                assert_eq!(row.len(), expected.len() + 1);
                for (s, n) in sums.iter_mut().zip(&counts) {
                    *s += n;
                }
            }
            if table == "services-by-period" {
                let received: Vec<u64> = expected
                    .iter()
                    .map(|p| p["received"].as_u64().unwrap())
                    .collect();
                assert_eq!(sums, received, "every case has a service");
            }
        }
        let mps = csv_rows(&m.get(&format!("/figures.csv?table=mps&{q}")).await.body);
        assert!(mps.contains(&vec![
            "Ann Able".to_string(),
            report["by_mp"]["Ann Able"].to_string()
        ]));

        // One service: the same figures as for that service alone.
        let housing = csv_rows(
            &m.get(&format!("/figures.csv?table=services&{q}&service=housing"))
                .await
                .body,
        );
        assert_eq!(
            housing,
            [vec![
                "Housing".to_string(),
                report["by_category"]["housing"].to_string()
            ]]
        );

        // A month's count opens the list of exactly its cases (a month
        // whose cases retention left alone).
        let month = expected
            .iter()
            .find(|p| {
                p["period"].as_str().unwrap() >= "2025-06" && p["received"].as_u64().unwrap() >= 2
            })
            .unwrap();
        let label = month["period"].as_str().unwrap();
        let key = format!("> cases: {label}, received</span>");
        let at = page
            .body
            .find(&key)
            .unwrap_or_else(|| panic!("{key} in {}", page.body));
        let href = unescape(
            page.body[..at]
                .rsplit("href=\"")
                .next()
                .unwrap()
                .split('"')
                .next()
                .unwrap(),
        );
        let list = m.get(&href).await;
        let listed = list
            .body
            .matches("class=\"govuk-link postroom-nowrap\"")
            .count();
        assert_eq!(listed as u64, month["received"].as_u64().unwrap(), "{href}");
        let now = &report["now"];
        assert_eq!(now["paused"], 2, "{now}");
        assert_eq!(
            now["paused_why"]["waiting for the school's report"], 1,
            "{now}"
        );

        // Every count on the page opens the list of exactly its cases, over
        // a period no deleted case falls in (a deleted case is counted by
        // its statistics row, and cannot be listed).
        let recent = "range=custom&from=2025-06-01&to=2026-11-27";
        let page = m.get(&format!("/figures?{recent}")).await;
        let links = counted_links(&page.body);
        assert!(links.len() > 60, "{}", links.len());
        let mut followed = std::collections::BTreeMap::new();
        for (href, n, what) in &links {
            // (Chasers are counted one by one, their list is of the cases
            // chased: each is chased once here.)
            let listed = cases_listed(&mut m, href).await;
            assert_eq!(listed, *n, "{backend:?} {what}: {href}");
            let figure = href
                .split('&')
                .find_map(|p| p.strip_prefix("figure="))
                .unwrap_or("received")
                .to_string();
            *followed.entry(figure).or_insert(0) += n;
        }
        // The lists behind them were not all empty.
        for figure in [
            "received",
            "answered",
            "answered-in-time",
            "acknowledged-in-time",
            "open-at-end",
            "overdue-at-end",
            "paused",
            "waiting-unassigned",
            "chased",
        ] {
            assert!(
                followed.get(figure).copied().unwrap_or(0) > 0,
                "{backend:?}: no case behind {figure}: {followed:?}"
            );
        }

        // Not for a caseworker.
        let mut c = w.browser();
        c.sign_in("a.shah@wexcombe.gov.uk").await;
        assert_eq!(c.get("/figures").await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            c.get("/figures.csv?table=periods").await.status,
            StatusCode::NOT_FOUND
        );
        assert!(!c.get("/cases").await.body.contains("href=\"/figures\""));
        // A period postroom does not offer is refused in the error summary.
        let bad = m.get("/figures?range=fortnight").await;
        assert!(bad.body.contains("Choose a period from the list"));
    }
}
