//! Letters and attachments: the same letter read from a text-layer PDF, a
//! scan, a Word document and an email gives the same decision; the post
//! room's folder of scans becomes cases.

use std::path::PathBuf;
use std::sync::Arc;

use postroom::classify::{Classifier, Directory, Settings};
use postroom::extract::Extractor;
use postroom::ingest::Outcome;
use postroom::message::Origin;
use postroom::store::{cases, messages, outbox};

use crate::harness::{Backend, Delivery, TestApp, files_with_ext, repo};

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

fn extractor() -> Extractor {
    Extractor {
        ..Extractor::default()
    }
}

fn classifier() -> Arc<Classifier> {
    let directory = Directory::load(&repo().join("examples/mps.csv")).unwrap();
    let settings = Settings::new(
        "MPE",
        vec!["wexcombe.gov.uk".into()],
        None,
        None,
        "wexcombe.gov.uk",
    )
    .unwrap();
    Arc::new(Classifier::new(
        postroom::app::embedded_rules().unwrap(),
        directory,
        settings,
    ))
}

/// The classification contract's fields, without `file` and `matched_rules`.
async fn fields_of(name: &str) -> serde_json::Value {
    let path = fixture(name);
    let origin = if name.ends_with(".pdf") {
        Origin::Letter
    } else {
        Origin::Email
    };
    let bytes = Arc::new(std::fs::read(&path).unwrap());
    let (_, decision) =
        postroom::read::read(classifier(), &extractor(), bytes, origin, Some(name.into())).await;
    let mut v = serde_json::to_value(decision.labels(name)).unwrap();
    let map = v.as_object_mut().unwrap();
    map.remove("file");
    map.remove("matched_rules");
    v
}

#[tokio::test]
async fn a_letter_reads_the_same_from_pdf_scan_word_and_email() {
    let email = fields_of("letter-email.eml").await;
    assert_eq!(email["kind"], "new_enquiry");
    assert_eq!(email["category"], "send");
    assert_eq!(email["send_topic"], "send_transport");
    assert_eq!(email["mp_name"], "Marcus Ellery");
    assert_eq!(email["mp_reference"], "ME/26/0502");
    assert_eq!(email["should_acknowledge"], true);
    for other in [
        "letter-text.pdf",
        "letter-scan.pdf",
        "letter-docx.eml",
        "letter-scan.eml",
    ] {
        assert_eq!(
            fields_of(other).await,
            email,
            "{other} reads as its email twin does"
        );
    }
}

#[tokio::test]
async fn the_text_keeps_where_it_came_from() {
    let t = TestApp::new(Backend::Sqlite, Delivery::Folder).await;
    for name in ["letter-docx.eml", "letter-scan.eml"] {
        t.deliver(name, &std::fs::read(fixture(name)).unwrap());
    }
    t.run_once().await;
    let mut conn = t.app.store.conn().await.unwrap();
    let mut sources = Vec::new();
    for m in messages::all(&mut conn).await.unwrap() {
        for p in messages::parts(&mut conn, m.id).await.unwrap() {
            if p.name != "body" {
                assert!(p.text.as_deref().unwrap_or("").contains("Noah"), "{p:?}");
                sources.push((p.name, p.text_source.unwrap_or_default()));
            }
        }
    }
    sources.sort();
    assert_eq!(
        sources,
        [
            (
                "Letter to the Director.docx".to_string(),
                "document".to_string()
            ),
            ("Scan_20261112_0907.pdf".to_string(), "ocr".to_string()),
        ]
    );
}

/// An app reading the post room's scans folder (`scans`, stored letters
/// moved to `scans-done`), and that folder.
async fn post_room() -> (TestApp, std::path::PathBuf) {
    let t = TestApp::with_extra(
        Backend::Sqlite,
        Delivery::Folder,
        "[[source]]\nname = \"post-room\"\nkind = \"letters\"\npath = \"scans\"\ndone = \"scans-done\"\n",
    )
    .await;
    let scans = t.dir.path().join("scans");
    std::fs::create_dir_all(&scans).unwrap();
    (t, scans)
}

#[tokio::test]
async fn scanned_letters_become_cases_acknowledged_to_the_office() {
    let (t, scans) = post_room().await;
    std::fs::copy(fixture("letter-scan.pdf"), scans.join("scan-0001.pdf")).unwrap();
    std::fs::write(scans.join("notes.txt"), "not a letter").unwrap();

    let (outcomes, totals) = t.run_once().await;

    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert!(
        matches!(
            &outcomes[0],
            Outcome::Opened {
                acknowledged: true,
                triage: false,
                ..
            }
        ),
        "{outcomes:?}"
    );
    assert_eq!(totals.sent, 1);
    let case = &t.cases().await[0];
    assert_eq!(case.mp_name.as_deref(), Some("Marcus Ellery"));
    assert_eq!(
        case.correspondent, "ruth.penhale@parliament.uk",
        "the office's address from the directory"
    );
    let ack = std::fs::read_to_string(&files_with_ext(&t.outbox(), "eml")[0]).unwrap();
    assert!(ack.contains("To: ruth.penhale@parliament.uk"));
    assert!(!scans.join("scan-0001.pdf").exists());
    assert!(t.dir.path().join("scans-done/scan-0001.pdf").exists());
    assert!(
        scans.join("notes.txt").exists(),
        "other files are left alone"
    );
    let mut conn = t.app.store.conn().await.unwrap();
    let stored = messages::all(&mut conn).await.unwrap();
    assert_eq!(stored[0].source, "post-room");
    assert_eq!(
        messages::raw(&mut conn, stored[0].id).await.unwrap(),
        std::fs::read(fixture("letter-scan.pdf")).unwrap()
    );
}

#[tokio::test]
async fn a_letter_from_a_writer_the_directory_does_not_know_waits_for_a_person() {
    let directory = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        directory.path(),
        "name,constituency,email,role\nPat Other,Elsewhere,pat.other.mp@parliament.uk,mp\n",
    )
    .unwrap();
    let t = TestApp::build(
        Backend::Sqlite,
        Delivery::Folder,
        "[[source]]\nname = \"post-room\"\nkind = \"letters\"\npath = \"scans\"\n",
        directory.path(),
    )
    .await;
    let scans = t.dir.path().join("scans");
    std::fs::create_dir_all(&scans).unwrap();
    std::fs::copy(fixture("letter-text.pdf"), scans.join("unknown.pdf")).unwrap();

    let (outcomes, totals) = t.run_once().await;

    assert!(
        matches!(
            &outcomes[..],
            [Outcome::Opened {
                acknowledged: false,
                triage: true,
                ..
            }]
        ),
        "{outcomes:?}"
    );
    assert_eq!(totals.sent, 0);
    let mut conn = t.app.store.conn().await.unwrap();
    assert!(outbox::list(&mut conn, None).await.unwrap().is_empty());
    assert!(
        t.dir.path().join("scans/done/unknown.pdf").exists(),
        "the default done folder is PATH/done"
    );
    let case = &t.cases().await[0];
    assert_eq!(case.status, "triage");
    let events = cases::events(&mut conn, case.id).await.unwrap();
    assert_eq!(events[0].kind, "created");
}

#[tokio::test]
async fn the_same_letter_dropped_twice_joins_its_first_case() {
    let (t, scans) = post_room().await;
    // The letter as its writer's PDF, and later the same page scanned.
    std::fs::copy(fixture("letter-text.pdf"), scans.join("scan-0001.pdf")).unwrap();
    let (first, _) = t.run_once().await;
    let reference = match &first[..] {
        [
            Outcome::Opened {
                reference,
                acknowledged: true,
                ..
            },
        ] => reference.clone(),
        other => panic!("{other:?}"),
    };
    std::fs::copy(fixture("letter-scan.pdf"), scans.join("scan-0002.pdf")).unwrap();
    let (second, _) = t.run_once().await;

    assert!(
        matches!(&second[..], [Outcome::Joined { reference: r, .. }] if *r == reference),
        "{second:?}"
    );
    assert_eq!(t.cases().await.len(), 1);
    let acknowledgements = files_with_ext(&t.outbox(), "eml")
        .iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("To: ruth.penhale@parliament.uk")
        })
        .count();
    assert_eq!(acknowledgements, 1, "one acknowledgement for one letter");
    let mut conn = t.app.store.conn().await.unwrap();
    let case = postroom::store::cases::by_reference(&mut conn, &reference)
        .await
        .unwrap()
        .unwrap();
    let events = postroom::store::cases::events(&mut conn, case.id)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "redelivery" && e.detail.contains("same-letter")),
        "{events:?}"
    );
}
