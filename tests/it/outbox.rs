//! Delivery through a real SMTP server: retries, dead letters, outages.

use std::time::Duration;

use postroom::clock::Clock;
use postroom::outbox::Outcome;
use postroom::store::outbox;

use crate::harness::smtp::SmtpServer;
use crate::harness::{Backend, Delivery, TestApp, backends};

const ENQUIRY: &[u8] = include_bytes!("../../examples/mailbox/03-housing-damp.eml");

async fn app_with_one_queued_ack(backend: Backend, smtp: &SmtpServer) -> TestApp {
    let t = TestApp::new(backend, Delivery::Smtp(smtp.port)).await;
    t.deliver("03.eml", ENQUIRY);
    t.poll().await;
    t
}

#[tokio::test]
async fn a_temporary_failure_is_retried_later_and_then_delivered_once() {
    for backend in backends() {
        let smtp = SmtpServer::start();
        smtp.script(&["451 4.3.0 Mailbox busy, try again later"]);
        let t = app_with_one_queued_ack(backend, &smtp).await;
        let worker = postroom::daemon::worker(&t.app).unwrap();

        let (_, first) = worker.deliver_one().await.unwrap().unwrap();
        let Outcome::Retry { at } = first else {
            panic!("{backend:?}: {first:?}")
        };
        assert!(at > t.clock.now());
        assert!(
            worker.deliver_one().await.unwrap().is_none(),
            "not due again before its time"
        );

        t.clock.set(at + chrono::Duration::seconds(1));
        let (_, second) = worker.deliver_one().await.unwrap().unwrap();

        assert_eq!(second, Outcome::Sent);
        assert_eq!(smtp.wait_for(1, Duration::from_secs(5)).len(), 1);
        assert!(worker.deliver_one().await.unwrap().is_none());
        let mut conn = t.app.store.conn().await.unwrap();
        let rows = outbox::list(&mut conn, None).await.unwrap();
        assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("sent", 2));
    }
}

#[tokio::test]
async fn a_permanent_failure_goes_to_the_dead_letters() {
    let smtp = SmtpServer::start();
    smtp.script(&["550 5.1.1 No such user here"]);
    let t = app_with_one_queued_ack(Backend::Sqlite, &smtp).await;
    let worker = postroom::daemon::worker(&t.app).unwrap();

    let (_, outcome) = worker.deliver_one().await.unwrap().unwrap();

    assert_eq!(outcome, Outcome::Failed);
    let mut conn = t.app.store.conn().await.unwrap();
    let failed = outbox::list(&mut conn, Some("failed")).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("No such user")
    );
    t.clock.set(t.clock.now() + chrono::Duration::days(1));
    assert!(
        worker.deliver_one().await.unwrap().is_none(),
        "a dead letter is not retried by itself"
    );
    assert!(smtp.received().is_empty());
}

#[tokio::test]
async fn mail_queued_while_the_server_is_down_is_delivered_once_when_it_is_back() {
    let mut smtp = SmtpServer::start();
    let t = app_with_one_queued_ack(Backend::Sqlite, &smtp).await;
    let worker = postroom::daemon::worker(&t.app).unwrap();
    smtp.stop();

    let (_, down) = worker.deliver_one().await.unwrap().unwrap();
    assert!(matches!(down, Outcome::Retry { .. }), "{down:?}");

    smtp.restart();
    t.clock.set(t.clock.now() + chrono::Duration::hours(2));
    let totals = worker.deliver_all_due().await.unwrap();

    assert_eq!(totals.sent, 1);
    assert_eq!(smtp.wait_for(1, Duration::from_secs(5)).len(), 1);
    t.clock.set(t.clock.now() + chrono::Duration::hours(2));
    assert_eq!(
        worker.deliver_all_due().await.unwrap().sent,
        0,
        "sent once, not again"
    );
}

#[tokio::test]
async fn a_burst_of_mail_goes_over_one_smtp_session_and_a_dropped_session_loses_nothing() {
    let mut smtp = SmtpServer::start();
    let t = TestApp::new(Backend::Sqlite, Delivery::Smtp(smtp.port)).await;
    let worker = postroom::daemon::worker(&t.app).unwrap();
    let (first, second) = postroom::cli::demo::SAMPLE_MAILBOX.split_at(7);
    for (name, bytes) in first {
        t.deliver(name, bytes);
    }
    t.poll().await;

    let burst = worker.deliver_all_due().await.unwrap();
    let received = smtp.wait_for(burst.sent, Duration::from_secs(5));
    assert!(burst.sent >= 3, "{burst:?}");
    assert_eq!(
        (received.len(), burst.retried, burst.failed),
        (burst.sent, 0, 0)
    );
    let peers: std::collections::HashSet<_> = received.iter().map(|r| r.peer.clone()).collect();
    assert_eq!(peers.len(), 1, "one SMTP session for the burst: {peers:?}");

    // The server goes away and comes back: the kept session is dead, and
    // the next mail goes over a new one at once, not after a retry.
    smtp.restart();
    for (name, bytes) in second {
        t.deliver(name, bytes);
    }
    t.poll().await;
    let after = worker.deliver_all_due().await.unwrap();
    assert!(after.sent >= 1, "{after:?}");
    assert_eq!((after.retried, after.failed), (0, 0), "{after:?}");
    let received = smtp.wait_for(burst.sent + after.sent, Duration::from_secs(5));
    assert_eq!(received.len(), burst.sent + after.sent, "each mail once");
    let ids: std::collections::HashSet<_> = received
        .iter()
        .filter_map(|r| r.header("Message-ID"))
        .collect();
    assert_eq!(ids.len(), received.len(), "no mail sent twice");
    let peers: std::collections::HashSet<_> = received.iter().map(|r| r.peer.clone()).collect();
    assert_eq!(peers.len(), 2, "a new session after the restart: {peers:?}");
    let mut conn = t.app.store.conn().await.unwrap();
    assert!(
        outbox::list(&mut conn, None)
            .await
            .unwrap()
            .iter()
            .all(|r| r.status == "sent" && r.attempts == 1)
    );
}

#[tokio::test]
async fn retries_stop_after_the_configured_period() {
    let smtp = SmtpServer::start();
    smtp.script(&["421 4.7.0 Try again later"; 30]);
    let t = app_with_one_queued_ack(Backend::Sqlite, &smtp).await;
    let worker = postroom::daemon::worker(&t.app).unwrap();

    let mut outcomes = Vec::new();
    for _ in 0..30 {
        match worker.deliver_one().await.unwrap() {
            Some((_, o)) => outcomes.push(o),
            None => t.clock.set(t.clock.now() + chrono::Duration::minutes(70)),
        }
        if outcomes.last() == Some(&Outcome::Failed) {
            break;
        }
    }

    assert_eq!(outcomes.last(), Some(&Outcome::Failed), "{outcomes:?}");
    assert!(outcomes.len() > 1);
    let mut conn = t.app.store.conn().await.unwrap();
    let failed = outbox::list(&mut conn, Some("failed")).await.unwrap();
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("gave up after")
    );
}

const TEAMS: &str = r#"
[[team]]
name = "SEND"
categories = ["send"]
manager = "send.manager@wexcombe.gov.uk"
members = ["ann@wexcombe.gov.uk", "ben@wexcombe.gov.uk"]

[[team]]
name = "general"
default = true
members = ["cal@wexcombe.gov.uk"]
"#;

#[tokio::test]
async fn caseworkers_and_managers_are_told_and_every_mail_parses_strictly() {
    let smtp = SmtpServer::start();
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Smtp(smtp.port), TEAMS).await;
    t.deliver_sample_mailbox();

    let (_, totals) = t.run_once().await;

    let got = smtp.wait_for(totals.sent, Duration::from_secs(10));
    assert_eq!(got.len(), totals.sent);
    let to = |r: &crate::harness::smtp::Received| r.rcpt_tos[0].clone();
    let acks: Vec<_> = got
        .iter()
        .filter(|r| r.header("Auto-Submitted").as_deref() == Some("auto-replied"))
        .collect();
    // The sample mail is from early November and the clock says 27
    // November: the overdue cases also bring reminders and the managers'
    // digests, which must parse as strictly as the rest.
    let scheduled = |r: &&crate::harness::smtp::Received| {
        let subject = r.header("Subject").unwrap_or_default();
        subject.contains("digest") || subject.contains("need a reply")
    };
    let reminders_and_digests: Vec<_> = got.iter().filter(scheduled).collect();
    assert!(
        reminders_and_digests
            .iter()
            .any(|r| r.header("Subject").unwrap().contains("digest")
                && to(r) == "send.manager@wexcombe.gov.uk"),
        "the SEND manager's digest"
    );
    assert!(
        reminders_and_digests
            .iter()
            .any(|r| r.header("Subject").unwrap().starts_with("Overdue:")),
        "overdue reminders"
    );
    let notices: Vec<_> = got
        .iter()
        .filter(|r| r.header("Auto-Submitted").as_deref() == Some("auto-generated"))
        .filter(|r| !scheduled(r))
        .collect();
    assert_eq!(acks.len(), 6);
    assert_eq!(
        acks.len() + notices.len() + reminders_and_digests.len(),
        got.len()
    );
    // Every new case is announced to its caseworker.
    let assigned: Vec<_> = notices
        .iter()
        .filter(|r| r.header("Subject").unwrap().contains("for you"))
        .collect();
    assert_eq!(assigned.len(), 8);
    // The urgent SEND cases (the transport withdrawn, the excluded child
    // whose parent wrote) reach the SEND manager.
    let mut urgent: Vec<String> = notices
        .iter()
        .filter(|r| to(r) == "send.manager@wexcombe.gov.uk")
        .map(|r| r.header("Subject").unwrap())
        .collect();
    urgent.sort();
    assert_eq!(urgent.len(), 2, "{urgent:?}");
    assert!(
        urgent[0].starts_with("URGENT case MPE-2026-00002"),
        "{urgent:?}"
    );
    assert!(
        urgent[1].starts_with("URGENT case MPE-2026-00005"),
        "{urgent:?}"
    );
    // The chaser on case 1 reaches whoever holds it.
    let chaser: Vec<_> = notices
        .iter()
        .filter(|r| {
            r.header("Subject")
                .unwrap()
                .starts_with("Chaser on MPE-2026-00001")
        })
        .collect();
    assert_eq!(chaser.len(), 1);
    assert_eq!(to(chaser[0]), "ann@wexcombe.gov.uk");
    crate::harness::smtp::assert_strictly_valid(&smtp.files());
}

#[tokio::test]
async fn a_bounce_of_an_acknowledgement_marks_it_bounced_and_opens_nothing() {
    let t = TestApp::new(Backend::Sqlite, Delivery::Folder).await;
    t.deliver("03.eml", ENQUIRY);
    t.run_once().await;
    let mut conn = t.app.store.conn().await.unwrap();
    let ack = outbox::list(&mut conn, None).await.unwrap().remove(0);
    let bounce = format!(
        "From: MAILER-DAEMON@mx1.wexcombe.gov.uk (Mail Delivery System)\r\nTo: mpenquiries@wexcombe.gov.uk\r\n\
Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b1@mx1.wexcombe.gov.uk>\r\nDate: Wed, 4 Nov 2026 17:00:00 +0000\r\n\
Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"R\"\r\n\r\n--R\r\nContent-Type: text/plain\r\n\r\n\
Your message could not be delivered.\r\n--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx1\r\n\r\n\
Final-Recipient: rfc822; idris.pugh.mp@parliament.uk\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--R\r\n\
Content-Type: text/rfc822-headers\r\n\r\nFrom: mpenquiries@wexcombe.gov.uk\r\nMessage-ID: <{}>\r\nSubject: Re: Damp\r\n\r\n--R--\r\n",
        ack.message_id
    );
    t.deliver("bounce.eml", bounce.as_bytes());

    let (outcomes, _) = t.run_once().await;

    assert!(
        matches!(
            &outcomes[0],
            postroom::ingest::Outcome::Joined {
                kind: postroom::case::Kind::Bounce,
                ..
            }
        ),
        "{outcomes:?}"
    );
    assert_eq!(t.cases().await.len(), 1, "a bounce opens no case");
    let rows = outbox::list(&mut conn, None).await.unwrap();
    assert_eq!(rows[0].status, "bounced");
}

#[tokio::test]
async fn dead_letters_are_listed_and_retried_by_hand() {
    let smtp = SmtpServer::start();
    smtp.script(&["554 5.7.1 Relay access denied"]);
    let t = app_with_one_queued_ack(Backend::Sqlite, &smtp).await;
    let worker = postroom::daemon::worker(&t.app).unwrap();
    assert_eq!(
        worker.deliver_one().await.unwrap().unwrap().1,
        Outcome::Failed
    );
    let config = t.dir.path().join("postroom.toml");
    let postroom = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_postroom"));
        cmd.arg("outbox").arg("--config").arg(&config);
        cmd
    };

    let listed = postroom().args(["list", "--failed"]).output().unwrap();
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(
        text.contains("Relay access denied") && text.contains("MPE-2026-00001"),
        "{text}"
    );
    assert!(text.contains("1 mail(s)"));

    let retried = postroom().args(["retry", "1"]).output().unwrap();
    assert!(
        retried.status.success(),
        "{}",
        String::from_utf8_lossy(&retried.stderr)
    );
    let again = postroom().args(["retry", "1"]).output().unwrap();
    assert_eq!(
        again.status.code(),
        Some(1),
        "a queued mail is not retried twice"
    );

    // The retry is due now by the wall clock; move the test clock there.
    t.clock
        .set(postroom::clock::system().now() + chrono::Duration::seconds(1));
    assert_eq!(
        worker.deliver_one().await.unwrap().unwrap().1,
        Outcome::Sent
    );
    assert_eq!(smtp.wait_for(1, Duration::from_secs(5)).len(), 1);
}

/// A config for SMTP over TLS with a password, trusting the test CA.
fn tls_delivery(port: u16, mode: &str, ca: &std::path::Path, password_var: &str) -> Delivery {
    Delivery::Toml(format!(
        "[delivery]\ntransport = \"smtp\"\n\n[smtp]\nhost = \"localhost\"\nport = {port}\ntls = \"{mode}\"\n\
username = \"postroom\"\npassword_env = \"{password_var}\"\nca_file = \"{}\"\ntimeout = \"10s\"\n",
        ca.display()
    ))
}

#[tokio::test]
async fn mail_goes_over_starttls_and_implicit_tls_with_a_password() {
    let certs = crate::harness::tls::make();
    // SAFETY: a variable of this test's own.
    unsafe { std::env::set_var("POSTROOM_TEST_SMTP_TLS_PW", "correct horse") };
    for mode in ["starttls", "implicit"] {
        let cert = certs.cert.to_str().unwrap();
        let key = certs.key.to_str().unwrap();
        let mut args = vec![
            "--cert",
            cert,
            "--key",
            key,
            "--user",
            "postroom",
            "--password",
            "correct horse",
        ];
        if mode == "implicit" {
            args.push("--implicit-tls");
        }
        let smtp = SmtpServer::start_with(&args);
        let t = TestApp::new(
            Backend::Sqlite,
            tls_delivery(smtp.port, mode, &certs.ca, "POSTROOM_TEST_SMTP_TLS_PW"),
        )
        .await;
        t.deliver("03.eml", ENQUIRY);

        let (_, totals) = t.run_once().await;

        assert_eq!(totals.sent, 1, "{mode}");
        let got = smtp.wait_for(1, Duration::from_secs(5));
        assert!(got[0].tls, "{mode}: the session was encrypted");
        assert_eq!(
            got[0].auth.as_deref(),
            Some("postroom"),
            "{mode}: authenticated"
        );
        assert_eq!(
            got[0].header("Auto-Submitted").as_deref(),
            Some("auto-replied")
        );
    }
}

#[tokio::test]
async fn a_server_with_an_untrusted_certificate_gets_nothing() {
    let certs = crate::harness::tls::make();
    let other = crate::harness::tls::make();
    unsafe { std::env::set_var("POSTROOM_TEST_SMTP_TLS_PW2", "correct horse") };
    let smtp = SmtpServer::start_with(&[
        "--cert",
        certs.cert.to_str().unwrap(),
        "--key",
        certs.key.to_str().unwrap(),
        "--user",
        "postroom",
        "--password",
        "correct horse",
    ]);
    // postroom trusts another CA: the handshake must fail, and the mail wait.
    let t = TestApp::new(
        Backend::Sqlite,
        tls_delivery(
            smtp.port,
            "starttls",
            &other.ca,
            "POSTROOM_TEST_SMTP_TLS_PW2",
        ),
    )
    .await;
    t.deliver("03.eml", ENQUIRY);

    let (_, totals) = t.run_once().await;

    assert_eq!((totals.sent, totals.retried), (0, 1));
    assert!(smtp.received().is_empty());
}

/// A subject and a sender's name that try to add headers (CR LF inside
/// encoded words) reach no outgoing mail as headers: not the
/// acknowledgement to the sender, not the notice to the caseworker.
#[tokio::test]
async fn header_injection_through_a_subject_or_a_name_never_reaches_an_outgoing_mail() {
    let smtp = SmtpServer::start();
    let team = "[[team]]\nname = \"send\"\ncategories = [\"send\"]\ndefault = true\n\
                manager = \"manager@wexcombe.gov.uk\"\nmembers = [\"caseworker@wexcombe.gov.uk\"]\n";
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Smtp(smtp.port), team).await;
    let sample = String::from_utf8_lossy(postroom::cli::demo::SAMPLE_MAILBOX[0].1).into_owned();
    let hostile = sample
        .lines()
        .map(|l| {
            if l.starts_with("Subject:") {
                "Subject: =?UTF-8?Q?EHC_needs_assessment=0D=0ABcc:_leak@evil.example=0D=0AX-Injected:_yes?= =?UTF-8?B?DQpCY2M6IGxlYWsyQGV2aWwuZXhhbXBsZQ==?="
                    .to_string()
            } else if l.starts_with("From:") {
                "From: =?UTF-8?Q?Ruth_Penhale=0D=0ABcc:_leak3@evil.example=0AX-Injected:_yes?= <ruth.penhale@parliament.uk>"
                    .to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    t.deliver("hostile.eml", hostile.as_bytes());

    let (outcomes, totals) = t.run_once().await;

    assert!(
        matches!(
            outcomes[0],
            postroom::ingest::Outcome::Opened {
                acknowledged: true,
                ..
            }
        ),
        "{outcomes:?}"
    );
    let got = smtp.wait_for(2, Duration::from_secs(10));
    assert!(
        totals.sent >= 2 && got.len() >= 2,
        "{totals:?} {}",
        got.len()
    );
    for mail in &got {
        let text = mail.text();
        let head = text.split("\r\n\r\n").next().unwrap();
        for line in head.lines() {
            let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
            assert!(
                name != "bcc" && name != "x-injected",
                "an injected header: {line:?}\n{head}"
            );
        }
        assert!(
            mail.rcpt_tos.iter().all(|r| !r.contains("evil.example")),
            "{:?}",
            mail.rcpt_tos
        );
        let subject = mail.header("Subject").unwrap();
        assert!(
            !subject.contains('\r') && !subject.contains('\n'),
            "{subject:?}"
        );
    }
    let ack = got
        .iter()
        .find(|m| m.rcpt_tos == ["ruth.penhale@parliament.uk"])
        .expect("the acknowledgement goes to the sender only");
    assert!(
        ack.header("Subject").unwrap().contains("EHC"),
        "{:?}",
        ack.header("Subject")
    );
}
