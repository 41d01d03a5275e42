//! The outgoing webhook against a real HTTP receiver on loopback: events
//! for created, assigned, answered and closed cases, signed, retried after
//! a server error with the same delivery id, refused config caught at start.

use std::path::Path;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Delivery, TestApp, at, backends};

#[derive(Debug, Clone)]
struct Request {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A small HTTP/1.1 receiver: answers each request with the next status of
/// `statuses` (then 200) and keeps what it got.
async fn receiver(statuses: Vec<u16>) -> (u16, Arc<Mutex<Vec<Request>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    tokio::spawn(async move {
        let mut statuses = statuses.into_iter();
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head_end, length) = loop {
                let n = stream.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break (None, 0);
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..i]).to_string();
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    break (Some(i + 4), length);
                }
            };
            let Some(head_end) = head_end else { continue };
            while buf.len() < head_end + length {
                let n = stream.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let headers = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect();
            seen.lock().unwrap().push(Request {
                headers,
                body: buf[head_end..head_end + length].to_vec(),
            });
            let status = statuses.next().unwrap_or(200);
            let reply =
                format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (port, got)
}

const SECRET: &str = "test-webhook-secret-4f1c";

fn config(port: u16) -> String {
    // SAFETY: every test writes the same value to this variable.
    unsafe { std::env::set_var("POSTROOM_TEST_WEBHOOK_SECRET", SECRET) };
    format!(
        "[webhook]\nurl = \"http://127.0.0.1:{port}/postroom\"\nsecret_env = \"POSTROOM_TEST_WEBHOOK_SECRET\"\n\n\
         [[team]]\nname = \"general\"\ndefault = true\nmembers = [\"cal@wexcombe.gov.uk\"]\n"
    )
}

#[tokio::test]
async fn case_events_are_posted_signed_and_retried_once_delivered() {
    for backend in backends() {
        let (port, got) = receiver(vec![503]).await;
        let t = TestApp::with_extra(backend, Delivery::Folder, &config(port)).await;
        t.deliver_sample_mailbox();
        t.clock.set(at("2026-11-18T10:00:00Z"));
        t.run_once().await;
        // The first POST met a 503: it is retried later, with the same
        // delivery id.
        t.clock.set(at("2026-11-18T11:00:00Z"));
        t.run_once().await;
        t.clock.set(at("2026-11-18T12:00:00Z"));
        postroom::casework::answer(
            &t.app,
            "MPE-2026-00001",
            None,
            "cli:test",
            t.app.clock.now(),
        )
        .await
        .unwrap();
        postroom::casework::close(&t.app, "MPE-2026-00001", "cli:test", t.app.clock.now())
            .await
            .unwrap();
        t.run_once().await;

        let got = got.lock().unwrap().clone();
        let events: Vec<(String, String)> = got
            .iter()
            .map(|r| {
                let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                (
                    v["event"].as_str().unwrap().to_string(),
                    v["case"]["reference"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let for_case_1: Vec<&str> = events
            .iter()
            .filter(|(_, r)| r == "MPE-2026-00001")
            .map(|(e, _)| e.as_str())
            .collect();
        // case_created twice: the 503, then the retry.
        assert_eq!(
            for_case_1,
            [
                "case_created",
                "case_created",
                "case_assigned",
                "case_answered",
                "case_closed"
            ],
            "{backend:?}: {events:?}"
        );
        // In order per case: its assignment waited for its creation.
        let firsts: Vec<&Request> = got
            .iter()
            .filter(|r| {
                r.header("X-Postroom-Delivery")
                    .is_some_and(|d| d.starts_with("postroom.case_created.mpe-2026-00001."))
            })
            .collect();
        assert_eq!(firsts.len(), 2);
        assert_eq!(
            firsts[0].header("X-Postroom-Delivery"),
            firsts[1].header("X-Postroom-Delivery"),
            "a retry is the same delivery"
        );
        // Every case opened (8 in the sample) was announced, and each
        // delivery arrived once after the retry.
        let created: std::collections::BTreeSet<&str> = events
            .iter()
            .filter(|(e, _)| e == "case_created")
            .map(|(_, r)| r.as_str())
            .collect();
        assert_eq!(created.len(), 8, "{events:?}");
        for r in &got {
            let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
            mac.update(&r.body);
            let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            assert_eq!(r.header("X-Postroom-Signature"), Some(expected.as_str()));
            assert_eq!(r.header("Content-Type"), Some("application/json"));
            let text = String::from_utf8_lossy(&r.body);
            // Facts, not words: no subject or text (they can name a child).
            assert!(!text.contains("subject") && !text.contains("Leo"), "{text}");
            assert!(!text.contains(SECRET));
        }
        let answered = got
            .iter()
            .find(|r| r.header("X-Postroom-Event") == Some("case_answered"))
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&answered.body).unwrap();
        assert_eq!(body["case"]["status"], "answered");
        assert!(body["case"]["answered_at"].is_string());

        let mut conn = t.app.store.conn().await.unwrap();
        let hooks: Vec<_> = postroom::store::outbox::list(&mut conn, None)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.purpose == "webhook")
            .collect();
        assert!(hooks.iter().all(|m| m.status == "sent"), "{hooks:?}");
        assert_eq!(hooks.len(), got.len() - 1, "one outbox row per event");
    }
}

#[test]
fn a_webhook_in_clear_text_or_without_a_key_is_refused_at_start() {
    let errors = postroom::config::Config::parse(
        "postroom.toml",
        "[council]\nname = \"X\"\nmailbox = \"mp@x.example\"\n\n[webhook]\nurl = \"http://crm.example.org/hook\"\nsecret = \"abc\"\nevents = [\"case_deleted\"]\n",
        Path::new("/etc/postroom"),
    )
    .unwrap_err()
    .to_string();
    for expected in [
        "postroom.toml:5: webhook.url: case data goes over HTTPS only",
        "webhook.secret: secrets are not read from the config file",
        "\"case_deleted\" is not one of",
        "webhook needs secret_env or secret_file",
    ] {
        assert!(errors.contains(expected), "{expected}: {errors}");
    }
}
