//! The whole pipeline, source to outbox, on both backends.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use postroom::ingest::{self, Outcome};
use postroom::message::{Origin, RawMessage};
use postroom::source::{Checkpoint, Incoming};
use postroom::store::{cases, messages, outbox};

use crate::harness::smtp::SmtpServer;
use crate::harness::{Backend, Delivery, TestApp, backends, files_with_ext};

const ENQUIRY: &[u8] = include_bytes!("../../examples/mailbox/03-housing-damp.eml");

fn incoming(name: &str, bytes: &[u8]) -> Incoming {
    Incoming {
        source: "inbox".into(),
        raw: RawMessage::new(bytes.to_vec(), Origin::Email),
        arrived: None,
        history: false,
        checkpoint: Checkpoint::File {
            name: name.into(),
            path: name.into(),
        },
    }
}

async fn sample_mailbox_becomes_cases_and_acknowledgements(backend: Backend) {
    let t = TestApp::new(backend, Delivery::Folder).await;
    t.deliver_sample_mailbox();

    let (outcomes, totals) = t.run_once().await;

    assert_eq!(outcomes.len(), 14, "{outcomes:?}");
    let cases = t.cases().await;
    let by_ref: BTreeMap<&str, &cases::CaseRow> =
        cases.iter().map(|c| (c.reference.as_str(), c)).collect();
    let refs: Vec<&str> = by_ref.keys().copied().collect();
    assert_eq!(
        refs,
        (1..=8)
            .map(|n| format!("MPE-2026-{n:05}"))
            .collect::<Vec<_>>(),
        "references are allocated in order without gaps"
    );
    // One acknowledgement per MP enquiry, none for the chaser, the automatic
    // reply, the bounce, the newsletter, the parent, the spoof, the
    // unreadable file.
    assert_eq!(totals.sent, 6);
    let acks = files_with_ext(&t.outbox(), "eml");
    assert_eq!(acks.len(), 6);
    let mut recipients: Vec<String> = acks
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            assert!(text.contains("Auto-Submitted: auto-replied\r\n"));
            text.lines()
                .find_map(|l| l.strip_prefix("To: "))
                .unwrap()
                .to_string()
        })
        .collect();
    recipients.sort();
    assert_eq!(
        recipients,
        [
            "casework@joannakettering.org.uk",
            "casework@joannakettering.org.uk",
            "idris.pugh.mp@parliament.uk",
            "marcus.ellery.mp@parliament.uk",
            "ruth.penhale@parliament.uk",
            "sam.oyelaran@parliament.uk",
        ]
    );

    let ehc = by_ref["MPE-2026-00001"];
    assert_eq!(ehc.category.map(|c| c.as_str()), Some("send"));
    assert_eq!(
        ehc.send_topic.map(|t| t.as_str()),
        Some("ehc_needs_assessment")
    );
    assert_eq!(ehc.mp_name.as_deref(), Some("Marcus Ellery"));
    assert_eq!(ehc.mp_reference.as_deref(), Some("ME/26/0412"));
    assert_eq!(ehc.status, "open");
    assert!(ehc.acknowledged_at.is_some());
    // Received Monday 2 November 2026 at 09:14: ten working days later.
    assert_eq!(
        ehc.response_due.map(|d| d.to_string()).as_deref(),
        Some("2026-11-16")
    );
    let transport = by_ref["MPE-2026-00002"];
    assert!(transport.urgent);
    assert_eq!(
        transport.send_topic.map(|t| t.as_str()),
        Some("send_transport")
    );
    assert_eq!(
        transport.response_due.map(|d| d.to_string()).as_deref(),
        Some("2026-11-05"),
        "urgent: two working days"
    );

    let mut conn = t.app.store.conn().await.unwrap();
    // The chaser (05) joined case 1; the automatic reply (06) case 2; the
    // bounce (07) case 3.
    let events = cases::events(&mut conn, ehc.id).await.unwrap();
    // (It is overdue by 27 November: a reminder is due too, for nobody,
    // since the test council has no teams.)
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e.kind.as_str())
        .filter(|k| !k.starts_with("reminder"))
        .collect();
    assert_eq!(
        kinds,
        ["created", "acknowledgement_queued", "chaser", "mail_sent"]
    );
    let events = cases::events(&mut conn, by_ref["MPE-2026-00002"].id)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.kind == "auto_reply"));
    let events = cases::events(&mut conn, by_ref["MPE-2026-00003"].id)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.kind == "bounce"));
    // ... and the caseworker's reply (14), copied to the mailbox, answered
    // case 3 on 16 November, by its sender.
    let answered = events.iter().find(|e| e.kind == "answered").unwrap();
    assert_eq!(answered.actor, "c.lewis@wexcombe.gov.uk");
    assert_eq!(
        by_ref["MPE-2026-00003"]
            .answered_at
            .map(postroom::store::ts)
            .as_deref(),
        Some("2026-11-16T15:20:33.000Z")
    );

    // The parent writing directly and the unreadable file wait for a person.
    let triage: Vec<&cases::CaseRow> = cases.iter().filter(|c| c.status == "triage").collect();
    assert_eq!(triage.len(), 2);
    assert!(triage.iter().any(|c| {
        c.triage_reason
            .as_deref()
            .unwrap()
            .contains("could not parse")
    }));

    // Every message is stored byte for byte.
    let stored = messages::all_raw(&mut conn).await.unwrap();
    assert_eq!(stored.len(), 14);
    for (name, bytes) in postroom::cli::demo::SAMPLE_MAILBOX {
        let sha = postroom::message::sha256_hex(bytes);
        let (_, raw) = stored
            .iter()
            .find(|(s, _)| *s == sha)
            .unwrap_or_else(|| panic!("{name} is stored"));
        assert_eq!(raw.as_slice(), *bytes, "{name} is stored byte for byte");
    }
    let junk = messages::all(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "junk")
        .count();
    assert_eq!(junk, 2, "the newsletter and the spoof");

    // A second pass finds nothing new and sends nothing again.
    let (outcomes, totals) = t.run_once().await;
    assert!(outcomes.is_empty());
    assert_eq!(totals.sent, 0);
    assert_eq!(files_with_ext(&t.outbox(), "eml").len(), 6);
}

#[tokio::test]
async fn sample_mailbox_becomes_cases_and_acknowledgements_on_sqlite() {
    sample_mailbox_becomes_cases_and_acknowledgements(Backend::Sqlite).await;
}

#[tokio::test]
async fn sample_mailbox_becomes_cases_and_acknowledgements_on_postgres() {
    sample_mailbox_becomes_cases_and_acknowledgements(Backend::Postgres).await;
}

#[tokio::test]
async fn the_same_message_delivered_twice_makes_one_case() {
    for backend in backends() {
        let t = TestApp::new(backend, Delivery::Folder).await;
        t.deliver("first.eml", ENQUIRY);
        t.deliver("again.eml", ENQUIRY);

        let (outcomes, totals) = t.run_once().await;

        assert_eq!(outcomes.len(), 2, "{backend:?}");
        // "again.eml" sorts first: it opens the case, "first.eml" repeats it.
        assert!(
            matches!(
                outcomes[0],
                Outcome::Opened {
                    acknowledged: true,
                    ..
                }
            ),
            "{backend:?}: {outcomes:?}"
        );
        assert_eq!(outcomes[1], Outcome::Duplicate);
        assert_eq!(t.cases().await.len(), 1);
        assert_eq!(totals.sent, 1);
        let mut conn = t.app.store.conn().await.unwrap();
        let stored = messages::all(&mut conn).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(
            stored[0].deliveries, 2,
            "the re-delivery is counted, not silent"
        );
        let events = cases::events(&mut conn, t.cases().await[0].id)
            .await
            .unwrap();
        assert!(
            events.iter().any(|e| e.kind == "duplicate_delivery"),
            "{backend:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ingest_of_one_message_makes_one_case() {
    for backend in backends() {
        let t = TestApp::new(backend, Delivery::Folder).await;
        let (a, b) = (incoming("a.eml", ENQUIRY), incoming("b.eml", ENQUIRY));

        let (ra, rb) = tokio::join!(ingest::ingest(&t.app, &a), ingest::ingest(&t.app, &b));

        let mut outcomes = [ra.unwrap(), rb.unwrap()];
        outcomes.sort_by_key(|o| matches!(o, Outcome::Duplicate));
        assert!(
            matches!(outcomes[0], Outcome::Opened { .. }),
            "{backend:?}: {outcomes:?}"
        );
        assert_eq!(outcomes[1], Outcome::Duplicate, "{backend:?}");
        assert_eq!(t.cases().await.len(), 1);
        let mut conn = t.app.store.conn().await.unwrap();
        assert_eq!(
            outbox::list(&mut conn, None).await.unwrap().len(),
            1,
            "one acknowledgement"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn references_have_no_gaps_and_no_duplicates_under_concurrent_writers() {
    for backend in backends() {
        let t = TestApp::new(backend, Delivery::Folder).await;
        let text = String::from_utf8_lossy(ENQUIRY).into_owned();
        let mut tasks = Vec::new();
        for i in 0..24 {
            let bytes = text.replace(
                "Message-ID: <LO2P265MB5573D0E1F2",
                &format!("Message-ID: <n{i}-LO2P265MB5573D0E1F2"),
            );
            let app = t.app.clone();
            tasks.push(tokio::spawn(async move {
                ingest::ingest(&app, &incoming(&format!("{i}.eml"), bytes.as_bytes())).await
            }));
        }
        for task in tasks {
            assert!(matches!(
                task.await.unwrap().unwrap(),
                Outcome::Opened { .. }
            ));
        }
        let mut refs: Vec<String> = t.cases().await.into_iter().map(|c| c.reference).collect();
        refs.sort();
        let expected: Vec<String> = (1..=24).map(|n| format!("MPE-2026-{n:05}")).collect();
        assert_eq!(refs, expected, "{backend:?}");
    }
}

#[tokio::test]
async fn an_unparseable_message_is_stored_byte_for_byte_and_flagged() {
    for backend in backends() {
        let t = TestApp::new(backend, Delivery::Folder).await;
        let garbage: &[u8] = b"\x00\x01\x02\xff\xfe this is not a mail message at all \x00";
        t.deliver("garbage.eml", garbage);

        let (outcomes, totals) = t.run_once().await;

        assert!(matches!(
            outcomes[0],
            Outcome::Opened {
                acknowledged: false,
                triage: true,
                ..
            }
        ));
        assert_eq!(totals.sent, 0);
        let case = &t.cases().await[0];
        assert_eq!(case.status, "triage");
        assert!(
            case.triage_reason
                .as_deref()
                .unwrap()
                .contains("could not parse")
        );
        let mut conn = t.app.store.conn().await.unwrap();
        let stored = messages::all(&mut conn).await.unwrap();
        assert_eq!(stored[0].parse_status, "unparsed");
        assert_eq!(
            messages::raw(&mut conn, stored[0].id).await.unwrap(),
            garbage
        );
    }
}

#[tokio::test]
async fn a_crash_between_commit_and_settling_the_source_stores_nothing_twice() {
    let t = TestApp::with_extra(
        Backend::Sqlite,
        Delivery::Folder,
        "[[source]]\nname = \"maildir\"\nkind = \"maildir\"\npath = \"maildir\"\n",
    )
    .await;
    let maildir = t.dir.path().join("maildir");
    std::fs::create_dir_all(maildir.join("new")).unwrap();
    std::fs::create_dir_all(maildir.join("cur")).unwrap();
    std::fs::write(maildir.join("new/1790000000.M1P1.mx1"), ENQUIRY).unwrap();
    let config = t
        .app
        .config
        .sources
        .iter()
        .find(|s| s.name == "maildir")
        .unwrap()
        .clone();
    let mut source = postroom::source::Source::from_config(&config, &t.app);

    // Store it, then "crash" before the move to cur/.
    let batch = source.fetch(&t.app.store, 10).await.unwrap();
    assert_eq!(batch.len(), 1);
    assert!(matches!(
        ingest::ingest(&t.app, &batch[0]).await.unwrap(),
        Outcome::Opened { .. }
    ));
    assert!(maildir.join("new/1790000000.M1P1.mx1").exists());

    // After the restart the checkpoint knows the file: it is only settled.
    let again = source.fetch(&t.app.store, 10).await.unwrap();
    assert!(again.is_empty());
    assert!(!maildir.join("new/1790000000.M1P1.mx1").exists());
    assert!(maildir.join("cur/1790000000.M1P1.mx1:2,S").exists());
    assert_eq!(t.cases().await.len(), 1);
    // Even the bytes delivered anew under another name are one message.
    assert_eq!(
        ingest::ingest(&t.app, &incoming("x.eml", ENQUIRY))
            .await
            .unwrap(),
        Outcome::Duplicate
    );
}

#[tokio::test]
async fn an_acknowledgement_reaches_a_real_smtp_server_with_the_right_headers() {
    let smtp = SmtpServer::start();
    let t = TestApp::new(Backend::Sqlite, Delivery::Smtp(smtp.port)).await;
    t.deliver("03.eml", ENQUIRY);

    let (_, totals) = t.run_once().await;

    assert_eq!(totals.sent, 1);
    let got = smtp.wait_for(1, Duration::from_secs(5));
    assert_eq!(got.len(), 1);
    let ack = &got[0];
    assert_eq!(ack.mail_from, "mpenquiries@wexcombe.gov.uk");
    assert_eq!(ack.rcpt_tos, ["idris.pugh.mp@parliament.uk"]);
    assert_eq!(
        ack.header("To").as_deref(),
        Some("idris.pugh.mp@parliament.uk")
    );
    assert_eq!(
        ack.header("Subject").as_deref(),
        Some("Re: Damp and mould in council flat [MPE-2026-00001]")
    );
    assert_eq!(
        ack.header("Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    assert_eq!(
        ack.header("In-Reply-To").as_deref(),
        Some("<LO2P265MB5573D0E1F2@LO2P265MB5573.GBRP265.PROD.OUTLOOK.COM>")
    );
    assert!(
        ack.header("References")
            .unwrap()
            .contains("<LO2P265MB5573D0E1F2@")
    );
    let message_id = ack.header("Message-ID").unwrap();
    assert!(
        message_id.starts_with("<postroom.ack.mpe-2026-00001."),
        "{message_id}"
    );
    assert!(
        ack.text().contains("Wednesday 18 November 2026"),
        "the reply-by date is in the text"
    );
    let mut conn = t.app.store.conn().await.unwrap();
    let rows = outbox::list(&mut conn, Some("sent")).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        format!("<{}>", rows[0].message_id),
        message_id,
        "the queued Message-ID is the one sent"
    );
}

#[tokio::test]
async fn a_reply_to_an_acknowledgement_joins_its_case() {
    let t = TestApp::new(Backend::Sqlite, Delivery::Folder).await;
    t.deliver("03.eml", ENQUIRY);
    t.run_once().await;
    let mut conn = t.app.store.conn().await.unwrap();
    let ack = &outbox::list(&mut conn, None).await.unwrap()[0];
    let reply = format!(
        "Received: from x by mx1.wexcombe.gov.uk; Mon, 23 Nov 2026 10:00:00 +0000\r\n\
Authentication-Results: mx1.wexcombe.gov.uk; spf=pass; dkim=pass; dmarc=pass header.from=parliament.uk\r\n\
From: Idris Pugh <idris.pugh.mp@parliament.uk>\r\nTo: mpenquiries@wexcombe.gov.uk\r\n\
Subject: Re: Damp and mould in council flat\r\nMessage-ID: <reply-1@parliament.uk>\r\n\
In-Reply-To: <{}>\r\nDate: Mon, 23 Nov 2026 09:59:00 +0000\r\n\r\nThe mould is getting worse; any news?\r\n",
        ack.message_id
    );
    t.deliver("reply.eml", reply.as_bytes());

    let (outcomes, _) = t.run_once().await;

    assert_eq!(
        outcomes,
        [Outcome::Joined {
            reference: "MPE-2026-00001".into(),
            kind: postroom::case::Kind::FollowUp
        }]
    );
    assert_eq!(t.cases().await.len(), 1);
    assert_eq!(
        outbox::list(&mut conn, None).await.unwrap().len(),
        1,
        "no second acknowledgement"
    );
}

#[tokio::test]
async fn a_council_reference_from_a_stranger_does_not_join_the_case() {
    let t = TestApp::new(Backend::Sqlite, Delivery::Folder).await;
    t.deliver("03.eml", ENQUIRY);
    t.run_once().await;
    let stranger = b"Received: from x by mx1.wexcombe.gov.uk; Mon, 23 Nov 2026 10:00:00 +0000\r\n\
From: Someone Else <someone@example.net>\r\nTo: mpenquiries@wexcombe.gov.uk\r\n\
Subject: About MPE-2026-00001\r\nMessage-ID: <s-1@example.net>\r\nDate: Mon, 23 Nov 2026 09:59:00 +0000\r\n\r\n\
I have information about case MPE-2026-00001.\r\n";
    t.deliver("stranger.eml", stranger);

    let (outcomes, _) = t.run_once().await;

    assert!(
        matches!(&outcomes[0], Outcome::Opened { triage: true, .. }),
        "{outcomes:?}"
    );
    let cases = t.cases().await;
    assert_eq!(cases.len(), 2);
    let reason = cases[1].triage_reason.as_deref().unwrap();
    assert!(
        reason.contains("cites MPE-2026-00001 but the sender is not on that case"),
        "{reason}"
    );
}

#[tokio::test]
async fn acknowledgements_per_sender_are_capped_per_hour() {
    let t = TestApp::with_extra(
        Backend::Sqlite,
        Delivery::Folder,
        "[limits]\nacknowledgements_per_sender_per_hour = 2\n",
    )
    .await;
    let text = String::from_utf8_lossy(ENQUIRY).into_owned();
    for i in 0..4 {
        let bytes = text.replace(
            "Message-ID: <LO2P265",
            &format!("Message-ID: <flood{i}-LO2P265"),
        );
        t.deliver(&format!("{i}.eml"), bytes.as_bytes());
    }

    let (outcomes, totals) = t.run_once().await;

    assert_eq!(outcomes.len(), 4);
    assert_eq!(totals.sent, 2);
    let acked = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o,
                Outcome::Opened {
                    acknowledged: true,
                    ..
                }
            )
        })
        .count();
    assert_eq!(acked, 2);
    let mut conn = t.app.store.conn().await.unwrap();
    let last = t.cases().await.last().unwrap().id;
    let events = cases::events(&mut conn, last).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "acknowledgement_withheld"));
}

#[tokio::test]
async fn reading_never_fails_whatever_the_bytes() {
    let classifier = Arc::new(postroom::classify::Classifier::new(
        postroom::app::embedded_rules().unwrap(),
        postroom::classify::Directory::empty(),
        postroom::classify::Settings::new("MPE", vec![], None, None, "x.invalid").unwrap(),
    ));
    for bytes in [
        &b""[..],
        b"\r\n\r\n",
        b"From:\r\n\r\n",
        &[0xff; 4096][..],
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x",
    ] {
        let extractor = postroom::extract::Extractor::default();
        let (message, decision) = postroom::read::read(
            classifier.clone(),
            &extractor,
            Arc::new(bytes.to_vec()),
            Origin::Email,
            None,
        )
        .await;
        assert!(!decision.should_acknowledge, "{bytes:?}");
        assert_ne!(decision.kind, postroom::case::Kind::NewEnquiry, "{bytes:?}");
        assert!(message.from.is_none());
    }
}
