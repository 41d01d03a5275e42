//! The access audit: every view of a case and every download, sign-ins
//! and refusals, shown to admins in the workspace (per case and per
//! person) and by `postroom audit`; nobody else sees it.

use reqwest::StatusCode;

use crate::harness::{Backend, postroom_ok};
use crate::web::Workspace;

#[tokio::test]
async fn admins_and_postroom_audit_see_who_opened_a_case() {
    let w = Workspace::start(Backend::Sqlite).await;
    let reference = w.case_of("SEND").await;
    let mut c = w.browser();
    c.sign_in("a.shah@wexcombe.gov.uk").await;
    c.get(&format!("/cases/{reference}")).await;
    c.get(&format!("/cases/{reference}")).await;
    // Only admins have the audit.
    assert_eq!(c.get("/audit").await.status, StatusCode::NOT_FOUND);
    let case_page = c.get(&format!("/cases/{reference}")).await;
    assert!(!case_page.body.contains("Who opened this case"));

    let mut a = w.browser();
    a.sign_in("it@wexcombe.gov.uk").await;
    let page = a.get(&format!("/cases/{reference}")).await;
    assert!(page.body.contains("Who opened this case"), "{}", page.body);
    assert_eq!(page.body.matches(">a.shah@wexcombe.gov.uk</a>").count(), 3);
    let person = a.get("/audit?who=a.shah%40wexcombe.gov.uk").await;
    assert_eq!(person.status, StatusCode::OK);
    assert!(person.body.contains("Access audit: a.shah@wexcombe.gov.uk"));
    assert_eq!(
        person
            .body
            .matches("<td class=\"govuk-table__cell\">viewed</td>")
            .count(),
        3
    );
    assert_eq!(person.body.matches("signed in</td>").count(), 1);

    let config = w.t.dir.path().join("postroom.toml");
    let out = postroom_ok([
        "audit".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--case".as_ref(),
        reference.to_lowercase().as_ref(),
        "--json".as_ref(),
    ]);
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Newest first: the admin's view, then the caseworker's three.
    let who: Vec<&str> = lines.iter().map(|l| l["who"].as_str().unwrap()).collect();
    assert_eq!(
        who,
        [
            "it@wexcombe.gov.uk",
            "a.shah@wexcombe.gov.uk",
            "a.shah@wexcombe.gov.uk",
            "a.shah@wexcombe.gov.uk"
        ]
    );
    assert!(
        lines
            .iter()
            .all(|l| l["action"] == "viewed" && l["reference"] == reference.as_str())
    );
    let table = postroom_ok(["audit".as_ref(), "--config".as_ref(), config.as_os_str()]);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("signed in") && table.contains(&reference),
        "{table}"
    );
}

#[tokio::test]
async fn a_long_case_shows_its_newest_messages_and_opens_the_older_one_by_one() {
    let w = Workspace::start(Backend::Sqlite).await;
    let reference = w.case_of("SEND").await;
    let case = w.t.case(&reference).await;
    let mut conn = w.t.app.store.conn().await.unwrap();
    for i in 0..30 {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO messages (sha256, message_id, source, origin, received_at, stored_at, from_address, subject, \
             parse_status, kind, case_id, decision, size) VALUES ($1, $2, 'inbox', 'email', $3, $3, 'casework@example.org', $4, \
             'ok', 'follow_up', $5, '{}', 100) RETURNING id",
        )
        .bind(format!("long-{i}"))
        .bind(format!("long-{i}@example.org"))
        .bind(format!("2026-11-20T10:{i:02}:00.000Z"))
        .bind(format!("Chaser number {i}"))
        .bind(case.id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO message_parts (message_id, position, name, content_type, size, text_source, text) \
             VALUES ($1, 0, 'body', 'text/plain', 100, 'body', $2)",
        )
        .bind(id)
        .bind(format!("The text of chaser {i}, still waiting."))
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    drop(conn);
    let mut b = w.browser();
    b.sign_in("a.shah@wexcombe.gov.uk").await;
    let page = b.get(&format!("/cases/{reference}")).await;
    assert!(page.body.contains("The text of chaser 29, still waiting."));
    assert!(
        !page.body.contains("The text of chaser 0,"),
        "older messages are folded"
    );
    let folded: Vec<String> = page
        .body
        .split("<p class=\"govuk-body\"><a class=\"govuk-link\" href=\"")
        .skip(1)
        .map(|s| crate::web::unescape(s.split('"').next().unwrap()))
        .collect();
    let total = w.t.cases().await.len(); // unchanged by the test's rows
    assert!(total > 0);
    assert!(!folded.is_empty() && folded.len() <= 31, "{}", folded.len());
    let first = b.get(&folded[0]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", folded[0]);
    assert!(first.body.contains("still waiting") || first.body.contains("<pre"));
    // Another team's caseworker cannot open it by its address.
    let mut c = w.browser();
    c.sign_in("c.lewis@wexcombe.gov.uk").await;
    assert_eq!(c.get(&folded[0]).await.status, StatusCode::NOT_FOUND);
    let mut conn = w.t.app.store.conn().await.unwrap();
    let audit =
        postroom::store::web::accesses(&mut conn, postroom::store::web::Of::Case(&reference), 10)
            .await
            .unwrap();
    assert!(
        audit.iter().any(|a| a.detail.contains("\"message\"")),
        "{audit:?}"
    );
}
