//! A fresh PostgreSQL database for a benchmark, on the server at
//! POSTROOM_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres).

use sqlx::Connection;

fn admin() -> String {
    std::env::var("POSTROOM_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn connect() -> sqlx::PgConnection {
    let admin = admin();
    sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {admin}: {e}"))
}

/// A database of the benchmark's own: its URL and its name.
pub async fn create() -> (String, String) {
    let name = format!("postroom_bench_{:08x}", rand::random::<u32>());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connect().await)
        .await
        .unwrap();
    let admin = admin();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    (format!("{base}/{name}"), name)
}

/// Drops what [`create`] made (every connection to it closed first).
pub async fn drop(name: &str) {
    sqlx::query(&format!("DROP DATABASE {name}"))
        .execute(&mut connect().await)
        .await
        .unwrap();
}
