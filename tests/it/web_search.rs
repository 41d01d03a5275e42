//! The workspace's search, on both backends' own full-text indexes: words
//! of a message's text, names, the MP, references as they are written,
//! the start of a word; within what the person may see; and text that
//! would be index syntax read as words.

use reqwest::StatusCode;

use crate::harness::backends;
use crate::web::{Browser, Workspace, unescape};

/// The references of the cases the list shows for `words`.
async fn found(b: &mut Browser, words: &str) -> Vec<String> {
    let q: String = url_encode(words);
    let page = b.get(&format!("/cases?view=all&q={q}")).await;
    assert_eq!(page.status, StatusCode::OK, "{words}: {}", page.body);
    let mut refs: Vec<String> = page
        .body
        .split("class=\"govuk-link postroom-nowrap\" href=\"")
        .skip(1)
        .map(|s| {
            unescape(s.split('"').next().unwrap())
                .trim_start_matches("/cases/")
                .to_string()
        })
        .collect();
    refs.sort();
    refs
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_search_finds_words_names_and_references_it_may_show() {
    for backend in backends() {
        let w = Workspace::start(backend).await;
        let cases = w.t.cases().await;
        let by_subject = |part: &str| {
            let mut r: Vec<String> = cases
                .iter()
                .filter(|c| c.subject.contains(part))
                .map(|c| c.reference.clone())
                .collect();
            r.sort();
            r
        };
        let mut m = w.browser();
        m.sign_in("head.of.service@wexcombe.gov.uk").await;
        // A word only in the body of an HTML mail (the child's name).
        assert_eq!(found(&mut m, "Isla").await, by_subject("school transport"));
        // The MP, from the case's own fields.
        let kettering: Vec<String> = {
            let mut r: Vec<String> = cases
                .iter()
                .filter(|c| c.mp_name.as_deref() == Some("Joanna Kettering"))
                .map(|c| c.reference.clone())
                .collect();
            r.sort();
            r
        };
        assert!(!kettering.is_empty());
        assert_eq!(found(&mut m, "kettering").await, kettering);
        // References as people write them, in any case.
        assert_eq!(found(&mut m, "ME/26/0412").await, by_subject("ME/26/0412"));
        let third = &cases[2].reference;
        assert_eq!(
            found(&mut m, &third.to_lowercase()).await,
            std::slice::from_ref(third)
        );
        // The start of a word, as it is being typed; two words together.
        assert_eq!(found(&mut m, "mou").await, by_subject("mould"));
        assert_eq!(found(&mut m, "damp mould").await, by_subject("mould"));
        assert!(found(&mut m, "damp zzyzx").await.is_empty());
        // The index's own syntax is read as words, never as a query.
        for hostile in [
            "\"",
            "* OR 1",
            "NEAR(",
            "a:* | !b",
            "'; DROP TABLE cases; --",
            "\u{0}",
        ] {
            let page = m
                .get(&format!("/cases?view=all&q={}", url_encode(hostile)))
                .await;
            assert_eq!(page.status, StatusCode::OK, "{hostile}");
        }
        assert_eq!(w.t.cases().await.len(), cases.len());

        // A word most mail has is counted only up to the cap, and refused
        // above it (5,000 in the workspace).
        let mut conn = w.t.app.store.conn().await.unwrap();
        use postroom::store::worklist::too_common;
        assert!(too_common(&mut conn, "the", 2).await.unwrap());
        assert!(!too_common(&mut conn, "the", 10_000).await.unwrap());
        assert!(!too_common(&mut conn, "Isla", 2).await.unwrap());
        assert!(!too_common(&mut conn, "\"*", 2).await.unwrap());
        drop(conn);

        // A caseworker of another team finds nothing of the SEND team's.
        let mut c = w.browser();
        c.sign_in("c.lewis@wexcombe.gov.uk").await;
        assert!(found(&mut c, "Isla").await.is_empty());
        assert_eq!(found(&mut c, "mould").await, by_subject("mould"));
    }
}
