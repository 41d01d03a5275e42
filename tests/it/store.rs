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
        for k in 0..4 {
            let store = store.clone();
            workers.push(tokio::spawn(async move {
                let mut got = Vec::new();
                let me = format!("worker-{k}");
                {
                    let mut conn = store.conn().await.unwrap();
                    outbox::heartbeat(&mut conn, &me, now).await.unwrap();
                }
                loop {
                    let mut conn = store.conn().await.unwrap();
                    let claimed = outbox::claim_next(
                        &mut conn,
                        store.backend(),
                        now,
                        now + Duration::minutes(10),
                        &me,
                        now - Duration::seconds(20),
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
        let mut by_worker_0 = 0;
        for (k, w) in workers.into_iter().enumerate() {
            let got = w.await.unwrap();
            if k == 0 {
                by_worker_0 = got.len();
            }
            all.extend(got);
        }
        all.sort();
        assert_eq!(
            all,
            (1..=20).collect::<Vec<i64>>(),
            "{backend:?}: each mail claimed exactly once"
        );
        // While its claimers are alive, nothing is claimable again ...
        let mut conn = store.conn().await.unwrap();
        let soon = now + Duration::seconds(5);
        outbox::heartbeat(&mut conn, "worker-0", soon)
            .await
            .unwrap();
        outbox::heartbeat(&mut conn, "worker-new", soon)
            .await
            .unwrap();
        let store_backend = store.backend();
        assert!(
            claim_as_new(&mut conn, store_backend, soon).await.is_none(),
            "nothing claimed by a live instance is taken"
        );
        // ... but once an instance has not been seen for 20 s, what it
        // claimed is anybody's, long before its claim runs out.
        let later = now + Duration::seconds(30);
        outbox::heartbeat(&mut conn, "worker-0", later)
            .await
            .unwrap();
        outbox::heartbeat(&mut conn, "worker-new", later)
            .await
            .unwrap();
        let mut taken = Vec::new();
        while let Some(m) = claim_as_new(&mut conn, store_backend, later).await {
            taken.push(m);
            assert!(taken.len() <= 20, "a claim taken twice");
        }
        assert_eq!(
            taken.len(),
            20 - by_worker_0,
            "the claims of the three silent workers, not worker-0's"
        );
        assert!(
            taken.iter().all(|m| m.attempts == 2),
            "the second attempt is counted"
        );
        // A claim whose lease ran out can be taken over whoever holds it.
        let much_later = now + Duration::minutes(11);
        outbox::heartbeat(&mut conn, "worker-0", much_later)
            .await
            .unwrap();
        outbox::heartbeat(&mut conn, "worker-new", much_later)
            .await
            .unwrap();
        let again = claim_as_new(&mut conn, store_backend, much_later).await;
        let again = again.expect("an expired claim is claimable");
        assert!(again.attempts >= 2, "every attempt is counted");
        assert_eq!(
            store.backend() == StoreBackend::Postgres,
            backend == Backend::Postgres
        );
    }
}

async fn claim_as_new(
    conn: &mut sqlx::AnyConnection,
    backend: StoreBackend,
    at: chrono::DateTime<chrono::Utc>,
) -> Option<outbox::Claimed> {
    outbox::claim_next(
        conn,
        backend,
        at,
        at + Duration::minutes(10),
        "worker-new",
        at - Duration::seconds(20),
    )
    .await
    .unwrap()
}
