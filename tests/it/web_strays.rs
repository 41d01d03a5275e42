//! Messages stored without a case, in the workspace: team leads and above
//! see them; one is filed on a case, another opened as a case of its own,
//! each an event with who did it; caseworkers see none of it.

use reqwest::StatusCode;

use crate::harness::backends;
use crate::web::{Page, Workspace, unescape};

fn stray_links(page: &Page) -> Vec<String> {
    page.body
        .split("class=\"govuk-link postroom-stray\" href=\"")
        .skip(1)
        .map(|s| unescape(s.split('"').next().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_stray_message_is_filed_on_its_case_or_opened_as_one() {
    for backend in backends() {
        let w = Workspace::start(backend).await;
        let mut conn = w.t.app.store.conn().await.unwrap();
        let (strays, count) = postroom::store::messages::strays(&mut conn, None, 50)
            .await
            .unwrap();
        drop(conn);
        assert!(count >= 2, "the sample mailbox leaves junk without a case");
        let cases_before = w.t.cases().await.len();

        let mut c = w.browser();
        c.sign_in("a.shah@wexcombe.gov.uk").await;
        assert_eq!(c.get("/strays").await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            c.get(&format!("/strays/{}", strays[0].id)).await.status,
            StatusCode::NOT_FOUND
        );

        let lead = "send.manager@wexcombe.gov.uk";
        let mut b = w.browser();
        let csrf = b.sign_in(lead).await;
        let list = b.get("/strays").await;
        assert_eq!(list.status, StatusCode::OK);
        let links = stray_links(&list);
        assert_eq!(links.len(), strays.len());
        let page = b.get(&links[0]).await;
        assert_eq!(page.status, StatusCode::OK);

        // Filed on a case: the case's message, and an event.
        let target = w.case_of("SEND").await;
        let refused = b
            .post(
                &format!("{}/file", links[0]),
                &[("csrf", &csrf), ("reference", "MPE-1999-00001")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("There is no case MPE-1999-00001"));
        let filed = b
            .post(
                &format!("{}/file", links[0]),
                &[("csrf", &csrf), ("reference", &target.to_lowercase())],
            )
            .await;
        assert_eq!(
            filed.location(),
            format!("/cases/{target}?done=file-message")
        );
        let case = w.t.case(&target).await;
        let mut conn = w.t.app.store.conn().await.unwrap();
        let on_case = postroom::store::messages::of_case(&mut conn, case.id)
            .await
            .unwrap();
        assert!(on_case.iter().any(|m| m.id == strays[0].id));
        let events = postroom::store::cases::events(&mut conn, case.id)
            .await
            .unwrap();
        assert!(
            events
                .iter()
                .any(|e| e.kind == "message_filed" && e.actor == lead)
        );
        drop(conn);
        // Filed once: it is no longer a stray.
        assert_eq!(b.get(&links[0]).await.status, StatusCode::NOT_FOUND);

        // Opened as a case of its own, as a new enquiry.
        let opened = b
            .post(&format!("{}/open", links[1]), &[("csrf", &csrf)])
            .await;
        assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
        let reference = opened
            .location()
            .trim_start_matches("/cases/")
            .split('?')
            .next()
            .unwrap()
            .to_string();
        let new = w.t.case(&reference).await;
        assert_eq!(new.kind, "new_enquiry");
        assert_eq!(w.t.cases().await.len(), cases_before + 1);
        let mut conn = w.t.app.store.conn().await.unwrap();
        let events = postroom::store::cases::events(&mut conn, new.id)
            .await
            .unwrap();
        assert!(
            events
                .iter()
                .any(|e| e.kind == "opened_by_hand" && e.actor == lead)
        );
        let (left, _) = postroom::store::messages::strays(&mut conn, None, 50)
            .await
            .unwrap();
        assert_eq!(left.len(), strays.len() - 2);
        // Every stray viewed is in the audit.
        let audit =
            postroom::store::web::accesses(&mut conn, postroom::store::web::Of::Person(lead), 50)
                .await
                .unwrap();
        assert!(
            audit
                .iter()
                .any(|a| a.action == "viewed" && a.detail.contains(&strays[0].id.to_string()))
        );
    }
}
