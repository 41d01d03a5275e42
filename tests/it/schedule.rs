//! Deadlines, reminders and digests over a simulated month: the clock steps
//! through December 2026 (with its Christmas bank holidays) hour by hour,
//! a real SMTP server receives what postroom sends, and two instances on
//! one database (one of them restarted half-way) share the work.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use postroom::app::App;
use postroom::deadlines::Kind;
use postroom::store::{cases, deadlines};

use crate::harness::smtp::{Received, SmtpServer};
use crate::harness::{Backend, Delivery, TestApp, at, backends, plain_mail};

const TEAMS: &str = r#"
[[team]]
name = "SEND"
categories = ["send"]
manager = "send.manager@wexcombe.gov.uk"
members = ["ann@wexcombe.gov.uk"]

[[team]]
name = "general"
default = true
manager = "general.manager@wexcombe.gov.uk"
members = ["cal@wexcombe.gov.uk"]
"#;

/// A plain enquiry from an MP office in the sample directory, signed and
/// authenticated as such mail is.
fn enquiry(from: &str, id: &str, date: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "Authentication-Results: mx1.wexcombe.gov.uk;\r\n\tdkim=pass header.d=parliament.uk;\r\n\
         \tspf=pass smtp.mailfrom=parliament.uk;\r\n\tdmarc=pass header.from=parliament.uk\r\n\
         From: {from}\r\nTo: MP Enquiries <mpenquiries@wexcombe.gov.uk>\r\nSubject: {subject}\r\n\
         Date: {date}\r\nMessage-ID: <{id}@parliament.uk>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn the_three_enquiries() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "a.eml",
            enquiry(
                "Ruth Penhale <ruth.penhale@parliament.uk>",
                "month-a",
                "Mon, 30 Nov 2026 08:55:00 +0000",
                "Constituent enquiry - EHC needs assessment - Our ref: ME/26/0901",
                "Dear Colleague,\r\n\r\nI am writing on behalf of Marcus Ellery MP about his constituent's \
                 daughter, aged 9. Her mother made a request for an EHC needs assessment on \
                 2 November 2026 and has heard nothing since.\r\n\r\nCould you tell us where the \
                 assessment request stands?\r\n\r\nRuth Penhale\r\nOffice of Marcus Ellery MP\r\n\
                 Our ref: ME/26/0901",
            ),
        ),
        (
            "b.eml",
            enquiry(
                "Sam Oyelaran <sam.oyelaran@parliament.uk>",
                "month-b",
                "Mon, 30 Nov 2026 08:56:00 +0000",
                "Housing repairs - Our ref: IP/2611/77",
                "Dear Sir or Madam,\r\n\r\nIdris Pugh MP has been contacted by a constituent whose \
                 council flat has had a leaking gutter for three months; repairs were reported in \
                 August and are still outstanding.\r\n\r\nPlease look into this and let us know.\r\n\r\n\
                 Sam Oyelaran\r\nOffice of Idris Pugh MP",
            ),
        ),
        (
            "c.eml",
            enquiry(
                "Sam Oyelaran <sam.oyelaran@parliament.uk>",
                "month-c",
                "Mon, 30 Nov 2026 08:57:00 +0000",
                "Care package for an elderly constituent - Our ref: IP/2611/78",
                "Dear Sir or Madam,\r\n\r\nIdris Pugh MP writes about an elderly constituent whose \
                 home care package was cut after a social care assessment; her carers now visit \
                 once a day.\r\n\r\nPlease review the adult social care assessment.\r\n\r\n\
                 Sam Oyelaran\r\nOffice of Idris Pugh MP",
            ),
        ),
    ]
}

/// Delivers the sample message `index`, runs a pass, and returns the
/// reference of the case it opened.
async fn open_sample(t: &TestApp, index: usize) -> String {
    let (name, bytes) = postroom::cli::demo::SAMPLE_MAILBOX[index];
    t.deliver(name, bytes);
    let (outcomes, _) = t.run_once().await;
    match &outcomes[0] {
        postroom::ingest::Outcome::Opened { reference, .. } => reference.clone(),
        other => panic!("{other:?}"),
    }
}

async fn drain(app: &App) {
    let worker = postroom::daemon::worker(app).unwrap();
    while worker.deliver_one().await.unwrap().is_some() {}
}

/// What a scheduled mail was, read from what the SMTP server received.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Sent {
    day: NaiveDate,
    to: String,
    what: String,
}

fn sent(day: NaiveDate, r: &Received) -> Sent {
    let subject = r.header("Subject").unwrap();
    let what = if subject.contains("daily digest") {
        "daily digest".to_string()
    } else if subject.contains("weekly digest") {
        "weekly digest".to_string()
    } else if subject.contains("need") && subject.contains("a reply") {
        // "Overdue: 2 MP enquiries need a reply", "1 MP enquiry needs a
        // reply (MPE-…, due in 2 working days)".
        let overdue = subject.starts_with("Overdue");
        let n: String = subject
            .trim_start_matches("Overdue: ")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        format!("reminder x{n}{}", if overdue { " overdue" } else { "" })
    } else {
        format!("other: {subject}")
    };
    Sent {
        day,
        to: r.rcpt_tos.join(","),
        what,
    }
}

fn on(day: u32, to: &str, what: &str) -> Sent {
    Sent {
        day: NaiveDate::from_ymd_opt(2026, 12, day).unwrap(),
        to: to.to_string(),
        what: what.to_string(),
    }
}

async fn a_month_of_reminders_and_digests(backend: Backend) {
    let smtp = SmtpServer::start();
    let t = TestApp::with_extra(backend, Delivery::Smtp(smtp.port), TEAMS).await;
    t.clock.set(at("2026-11-30T09:00:00Z"));
    for (name, bytes) in the_three_enquiries() {
        t.deliver(name, &bytes);
        // A folder source takes the time a file arrived from the file.
        let arrived = std::time::SystemTime::from(at("2026-11-30T09:00:00Z"));
        std::fs::File::options()
            .write(true)
            .open(t.inbox().join(name))
            .unwrap()
            .set_modified(arrived)
            .unwrap();
    }
    let (outcomes, _) = t.run_once().await;
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    // Acknowledgements and notices of assignment go at once; Monday's
    // digests too (the clock is past 08:30). Those are counted elsewhere:
    // here only what the month brings.
    let first = smtp.wait_for(1, std::time::Duration::from_secs(10)).len();
    drain(&t.app).await;
    let baseline = smtp.received().len();
    assert!(baseline >= first);

    let all = t.cases().await;
    let by_ref = |mp_ref: &str| {
        all.iter()
            .find(|c| c.mp_reference.as_deref() == Some(mp_ref))
            .unwrap_or_else(|| panic!("a case for {mp_ref}: {all:?}"))
            .clone()
    };
    let a = by_ref("ME/26/0901");
    let b = by_ref("IP/2611/77");
    let c = by_ref("IP/2611/78");
    assert_eq!(a.assignee.as_deref(), Some("ann@wexcombe.gov.uk"));
    assert_eq!(b.assignee.as_deref(), Some("cal@wexcombe.gov.uk"));
    assert_eq!(c.assignee.as_deref(), Some("cal@wexcombe.gov.uk"));

    // Received on Monday 30 November before the cut-off: the day itself does
    // not count, so ten working days end on Monday 14 December. The
    // statutory six weeks run from the stated request (2 November), and the
    // twenty weeks to 22 March 2027.
    {
        let mut conn = t.app.store.conn().await.unwrap();
        let d = deadlines::for_case(&mut conn, a.id).await.unwrap();
        let due = |kind: Kind| -> Vec<NaiveDate> {
            d.iter()
                .filter(|x| x.kind == kind)
                .map(|x| x.due_on)
                .collect()
        };
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(due(Kind::Respond), vec![ymd(2026, 12, 14)], "{d:#?}");
        let mut statutory = due(Kind::Statutory);
        statutory.sort();
        assert_eq!(
            statutory,
            vec![ymd(2026, 12, 14), ymd(2027, 3, 22)],
            "{d:#?}"
        );
        assert!(
            d.iter()
                .filter(|x| x.kind == Kind::Acknowledge)
                .all(|x| x.met_at.is_some()),
            "the acknowledgement went, so its deadline is met: {d:#?}"
        );
    }

    // Two instances on the one database from the start; the second is
    // restarted on 10 December.
    let mut instances: Vec<Arc<App>> = vec![t.app.clone(), t.another_instance().await];
    let mut log: Vec<Sent> = Vec::new();
    let mut seen = baseline;
    let mut day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let last = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    while day <= last {
        if day.day() == 10 {
            instances[1] = t.another_instance().await;
        }
        for hour in ["07:00", "08:45", "09:30", "13:00", "18:00"] {
            let now: DateTime<Utc> = at(&format!("{day}T{hour}:00Z"));
            t.clock.set(now);
            match (day.day(), hour) {
                // C's clock stops while the council waits for the office's
                // consent, and starts again the next Monday.
                (2, "13:00") => {
                    postroom::casework::pause(
                        &t.app,
                        &c.reference,
                        "waiting for consent",
                        "cal",
                        t.app.clock.now(),
                    )
                    .await
                    .unwrap();
                }
                (7, "09:30") => {
                    let moved = postroom::casework::resume(
                        &instances[1],
                        &c.reference,
                        "cal",
                        instances[1].clock.now(),
                    )
                    .await
                    .unwrap();
                    // Paused Wednesday 2 to Monday 7: three working days
                    // (3, 4 and 7 December) added to the clock.
                    assert_eq!(moved.len(), 1, "{moved:?}");
                    assert_eq!(
                        moved[0].from,
                        NaiveDate::from_ymd_opt(2026, 12, 14).unwrap()
                    );
                    assert_eq!(moved[0].to, NaiveDate::from_ymd_opt(2026, 12, 17).unwrap());
                }
                // D arrives on Friday 11 December after the 17:00 cut-off:
                // its clock starts on Monday 14th.
                (11, "18:00") => {
                    let d = enquiry(
                        "Sam Oyelaran <sam.oyelaran@parliament.uk>",
                        "month-d",
                        "Fri, 11 Dec 2026 17:30:00 +0000",
                        "Housing register banding - Our ref: IP/2612/12",
                        "Dear Sir or Madam,\r\n\r\nIdris Pugh MP asks about a constituent's \
                         housing register application and banding, made in September.\r\n\r\n\
                         Sam Oyelaran\r\nOffice of Idris Pugh MP",
                    );
                    t.deliver("d.eml", &d);
                    std::fs::File::options()
                        .write(true)
                        .open(t.inbox().join("d.eml"))
                        .unwrap()
                        .set_modified(at("2026-12-11T17:30:00Z").into())
                        .unwrap();
                    let (outcomes, _) = postroom::daemon::run_once(&instances[0]).await.unwrap();
                    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
                }
                // B is answered before any reminder was due.
                (8, "13:00") => {
                    postroom::casework::answer(
                        &t.app,
                        &b.reference,
                        None,
                        "cal",
                        t.app.clock.now(),
                    )
                    .await
                    .unwrap();
                }
                _ => {}
            }
            let (x, y) = tokio::join!(
                postroom::schedule::schedule_once(&instances[0]),
                postroom::schedule::schedule_once(&instances[1]),
            );
            x.unwrap();
            y.unwrap();
            let (_, _) = tokio::join!(drain(&instances[0]), drain(&instances[1]));
            let got = smtp.received();
            for r in &got[seen..] {
                let s = sent(day, r);
                let scheduled = s.what.starts_with("reminder") || s.what.contains("digest");
                assert!(
                    !scheduled || ("08:00".."18:00").contains(&hour),
                    "a reminder or digest outside working hours: {s:?} at {hour}"
                );
                log.push(s);
            }
            seen = got.len();
        }
        day += Duration::days(1);
    }

    // Every Message-ID once: nothing was sent twice by the two instances.
    let got = smtp.received();
    let mut ids: Vec<String> = got
        .iter()
        .map(|r| r.header("Message-ID").unwrap())
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "a mail was sent twice");

    let reminders: Vec<Sent> = log
        .iter()
        .filter(|s| s.what.starts_with("reminder"))
        .cloned()
        .collect();
    let ann = "ann@wexcombe.gov.uk";
    let cal = "cal@wexcombe.gov.uk";
    let send_mgr = "send.manager@wexcombe.gov.uk";
    let gen_mgr = "general.manager@wexcombe.gov.uk";
    let mut expected = vec![
        // A: the reply and the six-week decision, both due Monday 14
        // December, in one mail each time (one enquiry: the subject counts
        // cases, not deadlines): two working days before, on the day, then
        // one and five working days late to the manager too.
        on(10, ann, "reminder x1"),
        on(14, ann, "reminder x1"),
        on(15, ann, "reminder x1 overdue"),
        on(15, send_mgr, "reminder x1 overdue"),
        on(21, ann, "reminder x1 overdue"),
        on(21, send_mgr, "reminder x1 overdue"),
        // C: due Thursday 17 December after its pause; the fifth working
        // day after is Thursday 24 December (Christmas Day and Boxing Day's
        // substitute, Monday 28, are not working days, so nothing else).
        on(15, cal, "reminder x1"),
        on(17, cal, "reminder x1"),
        on(18, cal, "reminder x1 overdue"),
        on(18, gen_mgr, "reminder x1 overdue"),
        on(24, gen_mgr, "reminder x1 overdue"),
        // ... and on the 24th, cal hears of C and D in one mail (see D).
        // D: received after the cut-off on Friday 11th, so the ten working
        // days run from Tuesday 15th to Wednesday 30th (over Christmas).
        on(24, cal, "reminder x2 overdue"),
        on(30, cal, "reminder x1"),
        on(31, cal, "reminder x1 overdue"),
        on(31, gen_mgr, "reminder x1 overdue"),
        // B: answered on 8 December, never reminded.
    ];
    expected.sort();
    let mut reminders_sorted = reminders.clone();
    reminders_sorted.sort();
    assert_eq!(reminders_sorted, expected, "{log:#?}");

    // Digests: a daily one to each manager on every working day of
    // December (21: the 25th and the 28th are bank holidays) and a weekly
    // one each Monday that is a working day (7, 14, 21; the 28th is not, so
    // that week's goes on Tuesday 29th).
    let digests = |to: &str, what: &str| -> Vec<u32> {
        log.iter()
            .filter(|s| s.to == to && s.what == what)
            .map(|s| s.day.day())
            .collect()
    };
    let working: Vec<u32> = (1..=31)
        .filter(|d| {
            let date = NaiveDate::from_ymd_opt(2026, 12, *d).unwrap();
            date.weekday().num_days_from_monday() < 5 && *d != 25 && *d != 28
        })
        .collect();
    assert_eq!(working.len(), 21);
    for manager in [send_mgr, gen_mgr] {
        assert_eq!(digests(manager, "daily digest"), working, "{log:#?}");
        assert_eq!(
            digests(manager, "weekly digest"),
            vec![7, 14, 21, 29],
            "{log:#?}"
        );
    }
    // Nothing else was sent but D's acknowledgement and its notice.
    let others: Vec<(u32, &str)> = log
        .iter()
        .filter(|s| !s.what.starts_with("reminder") && !s.what.contains("digest"))
        .map(|s| (s.day.day(), s.to.as_str()))
        .collect();
    assert_eq!(
        others,
        vec![(11, "sam.oyelaran@parliament.uk"), (11, cal)],
        "{log:#?}"
    );
    let d = t
        .cases()
        .await
        .into_iter()
        .find(|c| c.mp_reference.as_deref() == Some("IP/2612/12"))
        .unwrap();
    assert_eq!(
        d.response_due.map(|d| d.to_string()).as_deref(),
        Some("2026-12-30")
    );

    // The record: each reminder an event on its case, the pause and resume
    // with who and why.
    let mut conn = t.app.store.conn().await.unwrap();
    let events = cases::events(&mut conn, c.id).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"paused") && kinds.contains(&"resumed"),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "reminder").count(),
        4,
        "{kinds:?}"
    );
    let paused = events.iter().find(|e| e.kind == "paused").unwrap();
    assert_eq!(paused.actor, "cal");
    assert!(paused.detail.contains("waiting for consent"));
    let b_events = cases::events(&mut conn, b.id).await.unwrap();
    assert!(
        !b_events.iter().any(|e| e.kind == "reminder"),
        "{b_events:?}"
    );
}

#[tokio::test]
async fn a_month_of_reminders_and_digests_on_sqlite() {
    a_month_of_reminders_and_digests(backends()[0]).await;
}

#[tokio::test]
async fn a_month_of_reminders_and_digests_on_postgres() {
    a_month_of_reminders_and_digests(backends()[1]).await;
}

/// The shipped gov.uk feed with one more England and Wales bank holiday.
fn feed_with_holiday(date: &str) -> String {
    let mut feed: serde_json::Value =
        serde_json::from_str(postroom::calendar::EMBEDDED_FEED).unwrap();
    feed["england-and-wales"]["events"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "title": "Extra bank holiday", "date": date, "notes": "", "bunting": true }));
    feed.to_string()
}

#[tokio::test]
async fn a_new_bank_holiday_moves_due_dates_and_reminders_on_every_instance() {
    for backend in backends() {
        let t = TestApp::with_extra(backend, Delivery::Folder, TEAMS).await;
        t.clock.set(at("2026-11-30T09:00:00Z"));
        let (name, bytes) = the_three_enquiries().swap_remove(1);
        t.deliver(name, &bytes);
        std::fs::File::options()
            .write(true)
            .open(t.inbox().join(name))
            .unwrap()
            .set_modified(at("2026-11-30T09:00:00Z").into())
            .unwrap();
        t.run_once().await;
        let other = t.another_instance().await;
        let case = t.cases().await.remove(0);
        assert_eq!(
            case.response_due.map(|d| d.to_string()).as_deref(),
            Some("2026-12-14")
        );

        // Not a feed: refused, nothing stored or moved.
        let err = postroom::casework::update_calendar(&t.app, "{\"england\": 1}", "it")
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("Not a gov.uk bank-holidays feed"),
            "{err:#}"
        );
        assert_eq!(
            t.cases().await[0]
                .response_due
                .map(|d| d.to_string())
                .as_deref(),
            Some("2026-12-14")
        );

        // Tuesday 8 December becomes a bank holiday: the reply is due a
        // working day later, the first reminder too.
        let moves =
            postroom::casework::update_calendar(&t.app, &feed_with_holiday("2026-12-08"), "it")
                .await
                .unwrap();
        let respond: Vec<_> = moves
            .iter()
            .filter(|(r, m)| *r == case.reference && m.name.starts_with("Reply"))
            .collect();
        assert_eq!(respond.len(), 1, "{moves:?}");
        assert_eq!(respond[0].1.to.to_string(), "2026-12-15");
        assert_eq!(
            t.cases().await[0]
                .response_due
                .map(|d| d.to_string())
                .as_deref(),
            Some("2026-12-15")
        );
        let mut conn = t.app.store.conn().await.unwrap();
        let events = cases::events(&mut conn, case.id).await.unwrap();
        let changed = events
            .iter()
            .find(|e| e.kind == "due_date_changed")
            .expect("the move is on the case's record");
        assert!(changed.detail.contains("2026-12-15") && changed.detail.contains("bank holidays"));
        let d = deadlines::for_case(&mut conn, case.id).await.unwrap();
        let respond = d.iter().find(|x| x.kind == Kind::Respond).unwrap();
        assert_eq!(respond.next_on, NaiveDate::from_ymd_opt(2026, 12, 11));
        drop(conn);

        // The other instance takes the new calendar on its next round.
        let tuesday = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
        assert!(other.calendar().is_working_day(tuesday));
        postroom::schedule::schedule_once(&other).await.unwrap();
        assert!(!other.calendar().is_working_day(tuesday));
    }
}

#[tokio::test]
async fn a_caseworkers_reply_copied_to_the_mailbox_answers_the_case() {
    for backend in backends() {
        let t = TestApp::with_extra(backend, Delivery::Folder, TEAMS).await;
        t.clock.set(at("2026-11-30T09:00:00Z"));
        let (name, bytes) = the_three_enquiries().swap_remove(1);
        t.deliver(name, &bytes);
        t.run_once().await;
        let case = t.cases().await.remove(0);
        let r = case.reference.clone();
        let office = "Sam Oyelaran <sam.oyelaran@parliament.uk>";
        let mailbox = "MP Enquiries <mpenquiries@wexcombe.gov.uk>";
        let cal = "Cal Jones <cal@wexcombe.gov.uk>";

        // An internal note between colleagues, citing the case: not an
        // answer to the MP office.
        t.clock.set(at("2026-12-01T10:00:00Z"));
        t.deliver(
            "internal.eml",
            &plain_mail(
                cal,
                "Housing Repairs <repairs@wexcombe.gov.uk>",
                mailbox,
                "internal-1@wexcombe.gov.uk",
                "Tue, 1 Dec 2026 09:58:00 +0000",
                &format!("FW: {r}"),
                "Can you look at this one?",
            ),
        );
        t.run_once().await;
        // A holding reply: recorded, the clock runs on.
        t.clock.set(at("2026-12-02T15:00:00Z"));
        t.deliver(
            "holding.eml",
            &plain_mail(cal, office, mailbox, "holding-1@wexcombe.gov.uk", "Wed, 2 Dec 2026 14:55:00 +0000",
                &format!("RE: Housing repairs - Our ref: IP/2611/77 [{r}]"),
                "Dear Sam,\r\n\r\nThank you for your email. This is a holding reply: the repairs team \
                 is inspecting the flat this week and we will write to you again once they have.\r\n\r\nCal"),
        );
        t.run_once().await;
        let now = t
            .cases()
            .await
            .into_iter()
            .find(|c| c.reference == r)
            .unwrap();
        assert_eq!(now.status, "open");
        assert!(now.answered_at.is_none());
        {
            let mut conn = t.app.store.conn().await.unwrap();
            let d = deadlines::for_case(&mut conn, case.id).await.unwrap();
            let respond = d.iter().find(|x| x.kind == Kind::Respond).unwrap();
            assert!(
                respond.met_at.is_none() && respond.next_on.is_some(),
                "{respond:?}"
            );
        }

        // The full reply, Bcc'd to the mailbox (so only the office is in
        // To), answers the case at its date, by its sender.
        t.clock.set(at("2026-12-04T12:00:00Z"));
        t.deliver(
            "reply.eml",
            &plain_mail(cal, office, "", "reply-1@wexcombe.gov.uk", "Fri, 4 Dec 2026 11:30:00 +0000",
                &format!("RE: Housing repairs - Our ref: IP/2611/77 [{r}]"),
                &format!("Dear Sam,\r\n\r\nThe repairs were completed on 3 December.\r\n\r\nCal\r\n\r\n\
                 -----Original Message-----\r\nThis is a holding reply; we will write to you again.\r\nOur ref: {r}")),
        );
        let (outcomes, _) = t.run_once().await;
        assert_eq!(outcomes.len(), 1);
        assert!(
            matches!(&outcomes[0], postroom::ingest::Outcome::Joined { reference, .. } if *reference == r),
            "{outcomes:?}"
        );
        let all = t.cases().await;
        assert_eq!(all.len(), 1, "no case opened for council mail: {all:?}");
        let answered = &all[0];
        assert_eq!(answered.status, "answered");
        assert_eq!(
            answered.answered_at.map(postroom::store::ts).as_deref(),
            Some("2026-12-04T11:30:00.000Z")
        );
        let mut conn = t.app.store.conn().await.unwrap();
        let d = deadlines::for_case(&mut conn, case.id).await.unwrap();
        let respond = d.iter().find(|x| x.kind == Kind::Respond).unwrap();
        assert!(
            respond.met_at.is_some() && respond.next_on.is_none(),
            "reminders stop: {respond:?}"
        );
        let events = cases::events(&mut conn, case.id).await.unwrap();
        let kinds: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e.kind.as_str(), e.actor.as_str()))
            .collect();
        assert!(
            kinds.contains(&("internal", "cal@wexcombe.gov.uk")),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&("interim_reply", "cal@wexcombe.gov.uk")),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&("answered", "cal@wexcombe.gov.uk")),
            "{kinds:?}"
        );
        assert_eq!(kinds.iter().filter(|(k, _)| *k == "answered").count(), 1);
        // Nothing was acknowledged to the council's own people.
        let acks = postroom::store::outbox::list(&mut conn, None)
            .await
            .unwrap();
        assert!(
            acks.iter()
                .all(|m| !m.recipients.iter().any(|r| r.contains("cal@"))
                    || m.purpose != "acknowledgement"),
            "{acks:?}"
        );
    }
}

/// Recategorising a case gives it the clocks of its new category: the reply
/// date from the same start with the new target, statutory SEND clocks
/// dropped when the topic no longer has them and added (from the request
/// date in the mail) when it does; each change an event.
#[tokio::test]
async fn recategorising_a_case_replans_its_deadlines() {
    for backend in backends() {
        let policy = "[policy]\nrespond_days = 10\n\n[[policy.rule]]\nname = \"housing\"\ncategories = [\"housing\"]\nrespond_days = 15\n";
        let t = TestApp::with_extra(backend, Delivery::Folder, policy).await;
        // The EHC needs assessment enquiry: requested on 14 September 2026.
        let reference = open_sample(&t, 0).await;
        let clocks = |t: &TestApp| {
            let reference = reference.clone();
            let app = t.app.clone();
            async move {
                let mut conn = app.store.conn().await.unwrap();
                let case = postroom::store::cases::by_reference(&mut conn, &reference)
                    .await
                    .unwrap()
                    .unwrap();
                let mut d: Vec<(String, String, String)> =
                    postroom::store::deadlines::for_case(&mut conn, case.id)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|d| {
                            (
                                d.kind.as_str().to_string(),
                                d.start_on.to_string(),
                                d.due_on.to_string(),
                            )
                        })
                        .collect();
                d.sort();
                (case.response_due, d)
            }
        };
        let (due_before, before) = clocks(&t).await;
        let statutory: Vec<_> = before.iter().filter(|d| d.0 == "statutory").collect();
        assert_eq!(statutory.len(), 2, "{before:?}");
        assert!(statutory.iter().all(|d| d.1 == "2026-09-14"), "{before:?}");
        assert!(
            statutory.iter().any(|d| d.2 == "2026-10-26"),
            "six weeks: {before:?}"
        );

        // To housing: a 15-day reply target, no SEND clocks.
        postroom::casework::recategorise(
            &t.app,
            &reference,
            &postroom::casework::Correction {
                category: Some("housing"),
                ..Default::default()
            },
            "test",
            t.app.clock.now(),
        )
        .await
        .unwrap();
        let (due_housing, housing) = clocks(&t).await;
        assert!(housing.iter().all(|d| d.0 != "statutory"), "{housing:?}");
        let respond =
            |v: &[(String, String, String)]| v.iter().find(|d| d.0 == "respond").unwrap().clone();
        assert_eq!(respond(&housing).1, respond(&before).1, "same start day");
        let calendar = t.app.calendar();
        let start = chrono::NaiveDate::parse_from_str(&respond(&before).1, "%Y-%m-%d").unwrap();
        let fifteen = calendar.due(postroom::calendar::Unit::WorkingDays, start, 15, 0);
        assert_eq!(respond(&housing).2, fifteen.to_string());
        assert_eq!(due_housing, Some(fifteen));
        assert_ne!(due_housing, due_before);

        // Back to SEND, an EHC needs assessment: the clocks come back, from
        // the request date the mail gives.
        postroom::casework::recategorise(
            &t.app,
            &reference,
            &postroom::casework::Correction {
                category: Some("send"),
                send_topic: Some("ehc_needs_assessment"),
                ..Default::default()
            },
            "test",
            t.app.clock.now(),
        )
        .await
        .unwrap();
        let (due_after, after) = clocks(&t).await;
        assert_eq!(after, before, "the same clocks as at the start");
        assert_eq!(due_after, due_before);
        let case = t.case(&reference).await;
        let mut conn = t.app.store.conn().await.unwrap();
        let events: Vec<String> = postroom::store::cases::events(&mut conn, case.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        for kind in ["deadline_dropped", "deadline_added", "due_date_changed"] {
            assert!(events.iter().any(|e| e == kind), "{kind} in {events:?}");
        }
    }
}

#[tokio::test]
async fn a_reopened_case_owes_its_reply_again_and_is_reminded_and_in_the_digest() {
    for backend in backends() {
        let t = TestApp::with_extra(backend, Delivery::Folder, TEAMS).await;
        // The housing enquiry (damp in a council flat).
        let reference = open_sample(&t, 2).await;
        let now = t.app.clock.now();
        postroom::casework::answer(&t.app, &reference, None, "test", now)
            .await
            .unwrap();
        postroom::casework::reopen(&t.app, &reference, "test", now)
            .await
            .unwrap();

        let case = t.case(&reference).await;
        let mut conn = t.app.store.conn().await.unwrap();
        let respond: Vec<_> = postroom::store::deadlines::for_case(&mut conn, case.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.kind == postroom::deadlines::Kind::Respond)
            .collect();
        assert_eq!(respond.len(), 1);
        assert!(respond[0].met_at.is_none(), "{:?}", respond[0]);
        let shown = postroom::casework::show::show(&mut conn, &reference)
            .await
            .unwrap();
        let reply_line = shown
            .lines()
            .find(|l| l.contains("Reply to the MP office"))
            .unwrap_or_else(|| panic!("{shown}"));
        assert!(!reply_line.contains("(met "), "{shown}");
        drop(conn);

        // The reply date (18 November) had passed when the case was
        // reopened (27 November); two working days on, the caseworker is
        // reminded, and the manager's digest lists the case as overdue.
        let calendar = t.app.calendar();
        assert!(respond[0].due_on < calendar.local_date(now));
        let late = calendar.add_working_days(calendar.local_date(now), 2);
        t.clock.set(at(&format!("{late}T10:00:00Z")));
        let scheduled = postroom::schedule::schedule_once(&t.app).await.unwrap();
        assert!(scheduled.reminders.mails >= 1, "{scheduled:?}");
        let mut conn = t.app.store.conn().await.unwrap();
        let reminders: Vec<_> = postroom::store::outbox::list(&mut conn, None)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.purpose == "reminder")
            .collect();
        assert!(
            reminders
                .iter()
                .any(|m| m.recipients.iter().any(|r| r == "cal@wexcombe.gov.uk")),
            "{reminders:?}"
        );
        drop(conn);
        let digest = postroom::schedule::digest::build(
            &t.app,
            "general.manager@wexcombe.gov.uk",
            &["general".to_string()],
            postroom::schedule::digest::Period::Daily,
            t.app.clock.now(),
        )
        .await
        .unwrap();
        assert!(
            digest.rendered.text.contains(&reference),
            "{}",
            digest.rendered.text
        );
    }
}

#[tokio::test]
async fn a_notice_to_an_address_outside_the_council_is_withheld() {
    for backend in backends() {
        let t = TestApp::with_extra(backend, Delivery::Folder, TEAMS).await;
        let mailbox = postroom::cli::demo::SAMPLE_MAILBOX;
        let reference = open_sample(&t, 0).await;
        // A case assigned, long ago, to someone the config no longer knows
        // (and who is not at the council's domains).
        let case = t.case(&reference).await;
        let mut conn = t.app.store.conn().await.unwrap();
        cases::set_assignee(&mut conn, case.id, "former.contractor@mail.example", None)
            .await
            .unwrap();
        drop(conn);

        // The MP office chases: the caseworker's notice names the child's
        // case, so it is withheld rather than sent outside.
        t.deliver("05.eml", mailbox[4].1);
        let (outcomes, _) = t.run_once().await;
        assert!(
            matches!(&outcomes[0], postroom::ingest::Outcome::Joined { reference: r, .. } if *r == reference),
            "{outcomes:?}"
        );
        let mut conn = t.app.store.conn().await.unwrap();
        let outside: Vec<_> = postroom::store::outbox::list(&mut conn, None)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.recipients.iter().any(|r| r.ends_with("@mail.example")))
            .collect();
        assert!(outside.is_empty(), "{outside:?}");
        let events = cases::events(&mut conn, case.id).await.unwrap();
        assert!(
            events.iter().any(|e| e.kind == "notification_withheld"),
            "{events:?}"
        );
    }
}

#[tokio::test]
async fn a_case_opened_on_the_old_calendar_moves_when_the_daemon_takes_the_new_one() {
    for backend in backends() {
        let t = TestApp::with_extra(backend, Delivery::Folder, TEAMS).await;
        t.clock.set(at("2026-11-30T09:00:00Z"));
        // The running daemon, on the built-in calendar.
        let daemon = t.another_instance().await;
        // `postroom calendar update` in another process: Tuesday 8 December
        // becomes a bank holiday. No case is open yet.
        let moves =
            postroom::casework::update_calendar(&t.app, &feed_with_holiday("2026-12-08"), "it")
                .await
                .unwrap();
        assert!(moves.is_empty(), "{moves:?}");
        // Before its next round the daemon opens a case on the old calendar
        // (a reply due Monday 14 December), then takes the new calendar.
        let (name, bytes) = the_three_enquiries().swap_remove(1);
        t.deliver(name, &bytes);
        std::fs::File::options()
            .write(true)
            .open(t.inbox().join(name))
            .unwrap()
            .set_modified(at("2026-11-30T09:00:00Z").into())
            .unwrap();
        postroom::daemon::run_once(&daemon).await.unwrap();
        assert!(
            !daemon
                .calendar()
                .is_working_day(NaiveDate::from_ymd_opt(2026, 12, 8).unwrap())
        );
        let case = t.cases().await.remove(0);
        assert_eq!(
            case.response_due.map(|d| d.to_string()).as_deref(),
            Some("2026-12-15"),
            "the reply date moves past the new bank holiday"
        );
        let mut conn = t.app.store.conn().await.unwrap();
        let events = cases::events(&mut conn, case.id).await.unwrap();
        assert!(
            events
                .iter()
                .any(|e| e.kind == "due_date_changed" && e.detail.contains("bank holidays")),
            "{events:?}"
        );
    }
}
