//! Replies written in the workspace, over HTTP on both backends: a
//! holding reply leaves the case open; a full one answers it; each goes
//! through the outbox to the case's correspondent with the reference in
//! its subject and threaded to the office's mail.

use reqwest::StatusCode;

use crate::harness::backends;
use crate::web::Workspace;

#[tokio::test]
async fn a_holding_reply_keeps_the_case_open_and_a_full_one_answers_it() {
    for backend in backends() {
        let w = Workspace::start(backend).await;
        let reference = w.case_of("SEND").await;
        let mut b = w.browser();
        let csrf = b.sign_in("a.shah@wexcombe.gov.uk").await;
        let path = format!("/cases/{reference}/reply");
        let choose = b.get(&path).await;
        assert!(choose.body.contains("value=\"holding\""), "{}", choose.body);
        let page = b.get(&format!("{path}?template=holding")).await;
        assert!(
            page.body
                .contains("A holding reply: the case is not answered yet")
        );
        assert!(page.body.contains(&reference));
        // The preview shows, sends nothing.
        let text = "Dear Mr Ellery MP,\n\nWe are waiting for the school's report and will write again by Friday.\n\nA. Shah";
        let preview = b
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("text", text),
                    ("holding", "yes"),
                    ("intent", "preview"),
                ],
            )
            .await;
        assert_eq!(preview.status, StatusCode::OK);
        assert!(preview.body.contains("Preview</h2>"));
        let outbox = |t: &crate::harness::TestApp| {
            let app = t.app.clone();
            async move {
                let mut conn = app.store.conn().await.unwrap();
                postroom::store::outbox::list(&mut conn, None)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|o| o.purpose == "reply")
                    .collect::<Vec<_>>()
            }
        };
        assert!(outbox(&w.t).await.is_empty());
        let sent = b
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("text", text),
                    ("holding", "yes"),
                    ("intent", "send"),
                ],
            )
            .await;
        assert_eq!(
            sent.location(),
            format!("/cases/{reference}?done=holding-reply")
        );
        let case = w.t.case(&reference).await;
        assert!(case.answered_at.is_none() && case.status == "open");
        let queued = outbox(&w.t).await;
        assert_eq!(queued.len(), 1);
        assert_eq!(
            queued[0].recipients,
            std::slice::from_ref(&case.correspondent)
        );
        let mut conn = w.t.app.store.conn().await.unwrap();
        let raw = String::from_utf8(
            postroom::store::outbox::raw(&mut conn, queued[0].id)
                .await
                .unwrap(),
        )
        .unwrap();
        let ids: Vec<String> = postroom::store::messages::of_case(&mut conn, case.id)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|m| m.message_id)
            .collect();
        drop(conn);
        assert!(
            raw.contains(&format!("In-Reply-To: <{}>", ids.last().unwrap())),
            "{raw}"
        );
        assert!(raw.contains(&format!("[{reference}]")) || raw.contains(&reference));
        assert!(raw.contains("Auto-Submitted: no"));
        assert!(!raw.contains("X-Auto-Response-Suppress"));

        // The full answer, with the template's instruction still in it, is
        // refused; written, it answers the case.
        let draft = b.get(&format!("{path}?template=answer")).await;
        let start = draft.body.find("name=\"text\"").unwrap();
        let text_area = &draft.body[start..];
        let template_text = text_area
            [text_area.find('>').unwrap() + 1..text_area.find("</textarea>").unwrap()]
            .replace("&#x27;", "'")
            .replace("&quot;", "\"")
            .replace("&amp;", "&");
        let refused = b
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("text", &template_text),
                    ("intent", "send"),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("govuk-error-summary"));
        assert!(w.t.case(&reference).await.answered_at.is_none());
        let written = template_text.replace(
            "[Write the council's answer here: what was asked, what the council has found, what it has done or will do, and by when.]",
            "The assessment will start on 1 December.",
        );
        let sent = b
            .post(
                &path,
                &[("csrf", &csrf), ("text", &written), ("intent", "send")],
            )
            .await;
        assert_eq!(
            sent.location(),
            format!("/cases/{reference}?done=reply"),
            "{}",
            sent.body
        );
        let case = w.t.case(&reference).await;
        assert_eq!(case.status, "answered");
        assert_eq!(outbox(&w.t).await.len(), 2);
        // A reply needs the session's token like every form.
        let forged = b.post(&path, &[("text", "x"), ("intent", "send")]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
    }
}
