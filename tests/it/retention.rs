//! Retention on a database generated through the real pipeline (nine
//! years of cases, their raw messages, acknowledgements, events and
//! deadlines), on SQLite and PostgreSQL: what must go is gone, raw bytes
//! included; what must stay is untouched; reports add up as before.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use postroom::store::{cases, messages};
use sha2::Digest;

use crate::harness::{Delivery, TestApp, at, backends, synthetic_messages};

const CASES: usize = 27;

/// Puts a message in the inbox with the file time `when` (a folder source
/// takes the arrival time from the file).
fn deliver_at(t: &TestApp, name: &str, bytes: &[u8], when: DateTime<Utc>) {
    t.deliver(name, bytes);
    std::fs::File::options()
        .write(true)
        .open(t.inbox().join(name))
        .unwrap()
        .set_modified(when.into())
        .unwrap();
}

/// Strips the top `Received:` header, so the file time is the arrival.
fn without_received(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut out = String::new();
    let mut skipping = false;
    for line in text.split_inclusive("\r\n") {
        if line.starts_with("Received:") {
            skipping = true;
            continue;
        }
        if skipping && (line.starts_with('\t') || line.starts_with(' ')) {
            continue;
        }
        skipping = false;
        out.push_str(line);
    }
    out.into_bytes()
}

/// Reads the inbox and sends what is queued, without the daemon's
/// clock-driven work (which would run retention while the years are being
/// generated).
async fn ingest(t: &TestApp) -> Vec<postroom::ingest::Outcome> {
    let outcomes = t.poll().await;
    let worker = postroom::daemon::worker(&t.app).unwrap();
    worker.deliver_all_due().await.unwrap();
    outcomes
}

async fn report_json(t: &TestApp) -> serde_json::Value {
    let calendar = t.app.calendar();
    let report = postroom::report::of_store(
        &t.app.store,
        &calendar,
        (
            NaiveDate::from_ymd_opt(2018, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        ),
        postroom::report::By::Month,
        calendar.local_date(postroom::clock::Clock::now(&*t.clock)),
        None,
    )
    .await
    .unwrap();
    serde_json::to_value(&report).unwrap()
}

async fn count(t: &TestApp, sql: &str) -> i64 {
    use sqlx::Row;
    let mut conn = t.app.store.conn().await.unwrap();
    sqlx::query(sql)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_what_its_time_has_come_for_keeps_the_rest_and_reports_still_add_up() {
    for backend in backends() {
        let t = TestApp::new(backend, Delivery::Folder).await;
        let bodies: Vec<Vec<u8>> = synthetic_messages(CASES)
            .iter()
            .map(|b| without_received(b))
            .collect();
        // One case every four months from March 2018; two in three
        // answered ten days on, one in three of those closed a day later.
        let mut expected_gone = HashSet::new();
        let mut held = None;
        let cutoff = at("2020-11-27T00:00:00Z");
        for (i, body) in bodies.iter().enumerate() {
            let received = at("2018-03-05T10:00:00Z") + Duration::days(122 * i as i64);
            t.clock.set(received);
            deliver_at(&t, &format!("{i:02}.eml"), body, received);
            let outcomes = ingest(&t).await;
            assert_eq!(outcomes.len(), 1, "{outcomes:?}");
            let reference = match &outcomes[0] {
                postroom::ingest::Outcome::Opened { reference, .. } => reference.clone(),
                other => panic!("{other:?}"),
            };
            if i % 3 == 2 {
                continue; // still open: never deleted, however old
            }
            let answered = received + Duration::days(10);
            t.clock.set(answered);
            postroom::casework::answer(&t.app, &reference, None, "test", answered)
                .await
                .unwrap();
            let mut ended = answered;
            if i % 3 == 0 {
                ended = answered + Duration::days(1);
                t.clock.set(ended);
                postroom::casework::close(&t.app, &reference, "test", ended)
                    .await
                    .unwrap();
            }
            if ended < cutoff {
                if held.is_none() {
                    held = Some(reference.clone());
                } else {
                    expected_gone.insert(reference);
                }
            }
        }
        let held = held.unwrap();
        postroom::casework::hold(
            &t.app,
            &held,
            Some("complaint to the ombudsman"),
            "test",
            t.app.clock.now(),
        )
        .await
        .unwrap();
        // Junk on no case: one from 2019 (goes after a year), one recent.
        let junk = postroom::cli::demo::SAMPLE_MAILBOX
            .iter()
            .find(|(n, _)| n.starts_with("08-"))
            .unwrap()
            .1;
        for (name, when) in [
            ("old-junk.eml", at("2019-06-03T10:00:00Z")),
            ("new-junk.eml", at("2026-06-01T10:00:00Z")),
        ] {
            t.clock.set(when);
            let bytes = String::from_utf8_lossy(&without_received(junk))
                .replace("Message-ID: <", &format!("Message-ID: <{name}-"))
                .into_bytes();
            deliver_at(&t, name, &bytes, when);
            ingest(&t).await;
        }
        t.clock.set(at("2026-11-27T10:00:00Z"));
        assert!(expected_gone.len() >= 4, "{expected_gone:?}");

        let before_report = report_json(&t).await;
        let (before_cases, before_messages, before_raw) = {
            let mut conn = t.app.store.conn().await.unwrap();
            (
                cases::all(&mut conn).await.unwrap(),
                messages::all(&mut conn).await.unwrap(),
                messages::all_raw(&mut conn).await.unwrap(),
            )
        };
        assert_eq!(before_cases.len(), CASES);
        let gone_ids: HashSet<i64> = before_cases
            .iter()
            .filter(|c| expected_gone.contains(&c.reference))
            .map(|c| c.id)
            .collect();
        let gone_messages: Vec<&messages::StoredMessage> = before_messages
            .iter()
            .filter(|m| m.case_id.is_some_and(|c| gone_ids.contains(&c)))
            .collect();

        // A dry run says what would go and deletes nothing.
        let dry = postroom::schedule::retention::run(&t.app, true, "test")
            .await
            .unwrap();
        let dry_refs: HashSet<String> = dry.cases.iter().cloned().collect();
        assert_eq!(dry_refs, expected_gone);
        assert_eq!(dry.counts.messages as usize, gone_messages.len());
        assert_eq!(dry.counts.unfiled_messages, 1, "{dry:?}");
        assert_eq!(t.cases().await.len(), CASES, "a dry run deletes nothing");

        let done = postroom::schedule::retention::run(&t.app, false, "test")
            .await
            .unwrap();
        assert_eq!(done.counts, dry.counts, "the run did what the dry run said");

        // Gone: the cases and everything of theirs, raw bytes included.
        let after = t.cases().await;
        assert_eq!(after.len(), CASES - expected_gone.len());
        assert!(after.iter().all(|c| !expected_gone.contains(&c.reference)));
        let (after_messages, after_raw) = {
            let mut conn = t.app.store.conn().await.unwrap();
            (
                messages::all(&mut conn).await.unwrap(),
                messages::all_raw(&mut conn).await.unwrap(),
            )
        };
        let after_shas: HashSet<&str> = after_raw.iter().map(|(s, _)| s.as_str()).collect();
        for m in &gone_messages {
            assert!(
                !after_shas.contains(m.sha256.as_str()),
                "raw bytes of a deleted case remain"
            );
        }
        for id in &gone_ids {
            for table in ["case_events", "deadlines", "outbox", "messages"] {
                let n = count(
                    &t,
                    &format!("SELECT COUNT(*) FROM {table} WHERE case_id = {id}"),
                )
                .await;
                assert_eq!(n, 0, "{table} rows of a deleted case remain");
            }
        }
        let orphans = count(
            &t,
            "SELECT COUNT(*) FROM message_raw WHERE message_id NOT IN (SELECT id FROM messages)",
        )
        .await
            + count(
                &t,
                "SELECT COUNT(*) FROM message_parts WHERE message_id NOT IN (SELECT id FROM messages)",
            )
            .await;
        assert_eq!(orphans, 0, "no raw bytes or text left without a message");
        assert_eq!(
            after_messages.len(),
            before_messages.len() - gone_messages.len() - 1,
            "the case messages and the old junk went"
        );

        // Kept: everything else, byte for byte and field for field.
        for c in &before_cases {
            if !expected_gone.contains(&c.reference) {
                assert!(after.contains(c), "{} changed", c.reference);
            }
        }
        assert!(
            after.iter().any(|c| c.reference == held),
            "the held case stays"
        );
        for (sha, raw) in &before_raw {
            if after_shas.contains(sha.as_str()) {
                let now = &after_raw.iter().find(|(s, _)| s == sha).unwrap().1;
                assert_eq!(now, raw);
                assert_eq!(hex(&sha2::Sha256::digest(now)), *sha);
            }
        }

        // What stays of each deleted case: one anonymous row; the reports
        // are as they were.
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM case_statistics").await as usize,
            expected_gone.len()
        );
        assert_eq!(report_json(&t).await, before_report);

        // The same bytes read again (a folder re-scanned after a
        // UIDVALIDITY change, say) are not stored again.
        let gone_raw = &before_raw
            .iter()
            .find(|(sha, _)| *sha == gone_messages[0].sha256)
            .unwrap()
            .1;
        deliver_at(&t, "again.eml", gone_raw, at("2026-11-27T10:00:00Z"));
        let outcomes = ingest(&t).await;
        assert_eq!(outcomes, [postroom::ingest::Outcome::Retired]);
        assert_eq!(t.cases().await.len(), CASES - expected_gone.len());
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM retired_messages").await as usize,
            gone_messages.len() + 1,
            "the case messages and the junk"
        );

        // Again: nothing more to do. The daily run goes once a day, after
        // retention.at (02:00 London).
        let again = postroom::schedule::retention::run(&t.app, false, "test")
            .await
            .unwrap();
        assert_eq!(again.counts, Default::default());
        t.clock.set(at("2026-11-28T01:30:00Z"));
        assert!(
            postroom::schedule::retention::run_due(&t.app)
                .await
                .unwrap()
                .is_none()
        );
        t.clock.set(at("2026-11-28T02:30:00Z"));
        assert!(
            postroom::schedule::retention::run_due(&t.app)
                .await
                .unwrap()
                .is_some()
        );
        let other = t.another_instance().await;
        assert!(
            postroom::schedule::retention::run_due(&other)
                .await
                .unwrap()
                .is_none(),
            "once a day, whatever instances there are"
        );
        assert_eq!(count(&t, "SELECT COUNT(*) FROM retention_runs").await, 4);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
