//! Every message of `../shared/corpus-realworld` (real mail from the test
//! suites of public mail parsers) is stored byte for byte, with no panic,
//! no hang and not one acknowledgement; the TNEF payloads ride as
//! `winmail.dat` attachments.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use postroom::ingest::{self, Outcome};
use postroom::message::{Origin, RawMessage};
use postroom::source::{Checkpoint, Incoming};
use postroom::store::{messages, outbox};

use crate::harness::{Backend, Delivery, TestApp, shared};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_real_world_message_is_stored_byte_for_byte_and_none_is_answered() {
    let root = shared().join("corpus-realworld");
    let manifest: HashMap<String, String> = std::fs::read_to_string(root.join("MANIFEST.sha256"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_once("  ")
                .map(|(sha, path)| (path.trim().to_string(), sha.to_string()))
        })
        .collect();
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.retain(|p| {
        let rel = p
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        manifest.contains_key(&rel)
    });
    files.sort();
    let (tnef, mail): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|p| p.starts_with(root.join("tnef")));
    assert_eq!(mail.len(), 1063, "the corpus holds 1,063 messages");
    assert_eq!(tnef.len(), 23);

    let t = TestApp::build(
        Backend::Sqlite,
        Delivery::Folder,
        "",
        &shared().join("corpus/mps.csv"),
    )
    .await;
    let mut outcomes = Vec::new();
    let mut expected: HashSet<String> = HashSet::new();
    for (i, path) in mail.iter().enumerate() {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(path).unwrap();
        let raw = RawMessage::new(bytes, Origin::Email);
        assert_eq!(raw.sha256, manifest[&rel], "{rel}: read as listed");
        expected.insert(raw.sha256.clone());
        let incoming = Incoming {
            source: "realworld".into(),
            raw,
            arrived: None,
            history: false,
            checkpoint: Checkpoint::File {
                name: format!("{i:05}"),
                path: path.clone(),
            },
        };
        let outcome =
            tokio::time::timeout(Duration::from_secs(60), ingest::ingest(&t.app, &incoming))
                .await
                .unwrap_or_else(|_| panic!("{rel}: a hang"))
                .unwrap_or_else(|e| panic!("{rel}: {e:#}"));
        outcomes.push(outcome);
    }
    for (i, path) in tnef.iter().enumerate() {
        let data = std::fs::read(path).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
        let bytes = format!(
            "From: someone@example.org\r\nSubject: winmail\r\nMessage-ID: <tnef-{i}@example.org>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"T\"\r\n\r\n--T\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--T\r\n\
Content-Type: application/ms-tnef; name=\"winmail.dat\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--T--\r\n"
        )
        .into_bytes();
        let raw = RawMessage::new(bytes, Origin::Email);
        expected.insert(raw.sha256.clone());
        let incoming = Incoming {
            source: "tnef".into(),
            raw,
            arrived: None,
            history: false,
            checkpoint: Checkpoint::File {
                name: format!("tnef-{i}"),
                path: path.clone(),
            },
        };
        outcomes.push(ingest::ingest(&t.app, &incoming).await.unwrap());
    }

    let duplicates = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Duplicate))
        .count();
    let mut conn = t.app.store.conn().await.unwrap();
    let stored = messages::all_raw(&mut conn).await.unwrap();
    assert_eq!(
        stored.len() + duplicates,
        mail.len() + tnef.len(),
        "every message is a record or a recorded duplicate"
    );
    for (sha, raw) in &stored {
        assert_eq!(
            &postroom::message::sha256_hex(raw),
            sha,
            "stored bytes hash to their key"
        );
        assert!(expected.contains(sha));
    }
    let redelivered: i64 = messages::all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|m| m.deliveries - 1)
        .sum();
    assert_eq!(
        redelivered as usize, duplicates,
        "every merge of identical bytes is counted"
    );
    assert!(
        outbox::list(&mut conn, None).await.unwrap().is_empty(),
        "not one acknowledgement"
    );
}
