//! The store on both backends: migrations, file permissions, the outbox
//! claim.

use chrono::Duration;
use postroom::store::{Backend as StoreBackend, Store, outbox};

use crate::harness::{Backend, TestDb, at, backends};

#[tokio::test]
async fn migrations_apply_twice_without_harm() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let first = Store::connect(&db.secret_url(), 2).await.unwrap();
        first.close().await;
        let again = Store::connect(&db.secret_url(), 2).await.unwrap();
        assert!(again.ping().await, "{backend:?}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::new(Backend::Sqlite).await;
    let store = Store::connect(&db.secret_url(), 1).await.unwrap();
    store.close().await;
    let path = db.url.trim_start_matches("sqlite://");
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_never_claim_the_same_mail() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = Store::connect(&db.secret_url(), 8).await.unwrap();
        let now = at("2026-11-27T10:00:00Z");
        {
            let mut tx = store.begin().await.unwrap();
            for i in 0..20 {
                outbox::enqueue(
                    &mut tx,
                    &outbox::NewOutbox {
                        case_id: None,
                        purpose: "test",
                        message_id: &format!("m{i}@test.invalid"),
                        envelope_from: "a@test.invalid",
                        recipients: &["b@test.invalid".to_string()],
                        raw: b"Subject: x\r\n\r\nx\r\n",
                        now,
                    },
                )
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
        }
        let mut workers = Vec::new();
        for _ in 0..4 {
            let store = store.clone();
            workers.push(tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let mut conn = store.conn().await.unwrap();
                    let claimed = outbox::claim_next(
                        &mut conn,
                        store.backend(),
                        now,
                        now + Duration::minutes(10),
                    )
                    .await
                    .unwrap();
                    match claimed {
                        Some(m) => got.push(m.id),
                        None => return got,
                    }
                }
            }));
        }
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.unwrap());
        }
        all.sort();
        assert_eq!(
            all,
            (1..=20).collect::<Vec<i64>>(),
            "{backend:?}: each mail claimed exactly once"
        );
        // A claim whose lease ran out can be taken over.
        let later = now + Duration::minutes(11);
        let mut conn = store.conn().await.unwrap();
        let again = outbox::claim_next(
            &mut conn,
            store.backend(),
            later,
            later + Duration::minutes(10),
        )
        .await
        .unwrap();
        let again = again.expect("an expired claim is claimable");
        assert_eq!(again.attempts, 2, "the second attempt is counted");
        assert_eq!(
            store.backend() == StoreBackend::Postgres,
            backend == Backend::Postgres
        );
    }
}
