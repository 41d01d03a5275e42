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
