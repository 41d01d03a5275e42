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
    let stop = tokio_util::sync::CancellationToken::new();
    let ready = tokio::sync::Notify::new();
    let mut source = postroom::source::Source::from_config(&t.app.config.sources[0]);
    postroom::daemon::poll_source(&t.app, &mut source, &stop, &ready)
        .await
        .unwrap();
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
