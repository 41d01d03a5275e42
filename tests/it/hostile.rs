//! Hostile and broken input: each is stored byte for byte, read as far as
//! it can be, and gets the outcome written beside it. None crashes or hangs
//! postroom, and the next message is still processed.

use std::time::Duration;

use base64::Engine;
use postroom::ingest::Outcome;
use postroom::store::messages;

use crate::harness::{Backend, Delivery, TestApp, repo};

fn with_attachment(id: &str, content_type: &str, name: &str, data: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    let mut wrapped = String::with_capacity(b64.len() + b64.len() / 76 * 2);
    for chunk in b64.as_bytes().chunks(76) {
        wrapped.push_str(std::str::from_utf8(chunk).unwrap());
        wrapped.push_str("\r\n");
    }
    format!(
        "From: A Parent <parent@example.net>\r\nTo: mpenquiries@wexcombe.gov.uk\r\nSubject: See attached\r\n\
Message-ID: <{id}@example.net>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n\r\n--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nPlease see the attached.\r\n\
--BOUNDARY\r\nContent-Type: {content_type}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{wrapped}--BOUNDARY--\r\n"
    )
    .into_bytes()
}

/// Runs one message through the pipeline; returns the outcome and the note
/// on its attachment (if any), after checking it was stored byte for byte.
async fn run(t: &TestApp, name: &str, bytes: &[u8]) -> (Outcome, Option<String>) {
    t.deliver(name, bytes);
    let (mut outcomes, _) = tokio::time::timeout(Duration::from_secs(120), t.run_once())
        .await
        .unwrap_or_else(|_| panic!("{name}: no outcome after two minutes: a hang"));
    assert_eq!(outcomes.len(), 1, "{name}: {outcomes:?}");
    let mut conn = t.app.store.conn().await.unwrap();
    let sha = postroom::message::sha256_hex(bytes);
    let stored = messages::all(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.sha256 == sha)
        .expect("stored");
    assert_eq!(
        messages::raw(&mut conn, stored.id).await.unwrap(),
        bytes,
        "{name}: stored byte for byte"
    );
    let note = messages::parts(&mut conn, stored.id)
        .await
        .unwrap()
        .into_iter()
        .skip(1)
        .find_map(|p| p.note);
    (outcomes.remove(0), note)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_is_stored_and_flagged_never_fatal() {
    let t = TestApp::new(Backend::Sqlite, Delivery::Folder).await;

    // A message cut off in the middle of its base64 body.
    let full = postroom::cli::demo::SAMPLE_MAILBOX[1].1;
    let (outcome, _) = run(&t, "truncated.eml", &full[..full.len() / 2]).await;
    assert!(
        matches!(outcome, Outcome::Opened { .. }),
        "truncated: {outcome:?}"
    );

    // Multipart nested two thousand deep.
    let mut nested = String::from(
        "From: x@example.net\r\nSubject: nested\r\nMessage-ID: <nested@example.net>\r\nMIME-Version: 1.0\r\n",
    );
    for i in 0..2000 {
        nested.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    nested.push_str("Content-Type: text/plain\r\n\r\ndeep inside\r\n");
    let (outcome, _) = run(&t, "nested.eml", nested.as_bytes()).await;
    assert!(
        matches!(outcome, Outcome::Opened { triage: true, .. }),
        "nested: {outcome:?}"
    );

    // A DOCX that decompresses to 256 MB.
    let bomb = std::fs::read(repo().join("tests/fixtures/bomb.docx")).unwrap();
    let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    let (outcome, note) = run(
        &t,
        "bomb.eml",
        &with_attachment("bomb", docx, "report.docx", &bomb),
    )
    .await;
    assert!(matches!(outcome, Outcome::Opened { .. }));
    let note = note.expect("the bomb is marked not read");
    assert!(
        note.starts_with("not read:") && note.contains("larger than 64 MB"),
        "{note}"
    );

    // A PDF that is not one.
    let broken_pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF garbage \x00\xff";
    let (_, note) = run(
        &t,
        "badpdf.eml",
        &with_attachment("badpdf", "application/pdf", "letter.pdf", broken_pdf),
    )
    .await;
    let note = note.expect("the broken PDF is marked not read");
    assert!(note.starts_with("not read: pdf"), "{note}");

    // A 40 MB attachment.
    let mut big = vec![0u8; 40 << 20];
    let mut x: u32 = 12345;
    for b in big.iter_mut() {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (x >> 24) as u8;
    }
    let (outcome, note) = run(
        &t,
        "big.eml",
        &with_attachment("big", "application/octet-stream", "data.bin", &big),
    )
    .await;
    assert!(matches!(outcome, Outcome::Opened { .. }));
    assert!(note.unwrap().contains("no text reader"));

    // NUL bytes in headers and body, and a charset nobody knows.
    let nul = b"From: nul@example.net\r\nSubject: a\x00b\r\nMessage-ID: <nul@example.net>\r\n\r\nbody\x00with\x00nuls\r\n";
    let (outcome, _) = run(&t, "nul.eml", nul).await;
    assert!(matches!(outcome, Outcome::Opened { .. }), "{outcome:?}");
    let odd = b"From: odd@example.net\r\nSubject: =?x-klingon?Q?qapla=E9?=\r\nMessage-ID: <odd@example.net>\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nHab SoSlI' Quch \xe9\xff\r\n";
    let (outcome, _) = run(&t, "charset.eml", odd).await;
    assert!(matches!(outcome, Outcome::Opened { .. }), "{outcome:?}");

    // After all of that, an ordinary enquiry is still handled.
    let (outcome, _) = run(&t, "ordinary.eml", postroom::cli::demo::SAMPLE_MAILBOX[2].1).await;
    assert!(
        matches!(
            outcome,
            Outcome::Opened {
                acknowledged: true,
                ..
            }
        ),
        "{outcome:?}"
    );
}
