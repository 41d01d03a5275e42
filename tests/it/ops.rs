//! Running for years, tested on real `postroom run` processes against
//! Dovecot and a real SMTP server: SIGTERM in the middle of a backlog, the
//! health and metrics endpoint scraped while it works, and logs that hold
//! no secret (at any level) and no personal data (at info and above).

use std::collections::HashSet;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use postroom::store::{cases, messages, outbox};

use crate::harness::dovecot::{self, Dovecot, Options};
use crate::harness::oauth::{CLIENT_ID, OAuthServer, SECRET};
use crate::harness::smtp::SmtpServer;
use crate::harness::{Backend, Delivery, TestApp, synthetic_messages};
use crate::imap::{
    assert_each_stored_once, count_messages, imap_source, wait_for_marks, wait_for_messages,
    wait_for_outbox_sent,
};

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `postroom run` on the test app's config with JSON logs, logging to `log`.
fn spawn_run(t: &TestApp, log: &Path, envs: &[(&str, &str)]) -> Child {
    let config = t.dir.path().join("postroom.toml");
    crate::harness::spawn_run(&config, log, &["--log-format", "json"], envs)
}

fn sigterm(child: &Child) {
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
}

/// Status and body of a GET (HTTP/1.0 over a plain socket); status 0 when
/// nothing answers.
pub(crate) async fn get(url: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let Ok(mut stream) = tokio::net::TcpStream::connect(host).await else {
        return (0, String::new());
    };
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return (0, String::new());
    }
    let mut response = Vec::new();
    if stream.read_to_end(&mut response).await.is_err() {
        return (0, String::new());
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return (0, String::new());
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// The value of the sample `series` (name and labels exactly), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The sum of every sample of metric `name`, whatever its labels.
fn sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub(crate) async fn wait_until<F, Fut>(limit: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The Message-IDs of `bodies`.
fn message_ids(bodies: &[Vec<u8>]) -> HashSet<String> {
    bodies
        .iter()
        .filter_map(|b| {
            let text = String::from_utf8_lossy(b);
            text.lines()
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .map(|id| id.trim().trim_matches(|c| c == '<' || c == '>').to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_in_a_backlog_leaves_each_message_done_or_untouched_and_metrics_count_what_happened()
 {
    const MESSAGES: usize = 1200;
    let d = Dovecot::start();
    let smtp = SmtpServer::start();
    let all = synthetic_messages(MESSAGES);
    d.append("INBOX", &all, None).await;
    let port = free_port();
    let extra = format!(
        "{}\n[http]\nlisten = \"127.0.0.1:{port}\"\n\n[daemon]\nshutdown_timeout = \"20s\"\n\n\
         [limits]\nacknowledgements_per_sender_per_hour = 100000\n",
        imap_source(d.port, "since = \"2000-01-01T00:00:00Z\"")
    );
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Smtp(smtp.port), &extra).await;
    let log1 = t.dir.path().join("first.log");

    // SIGTERM once part of the backlog is stored.
    let mut child = spawn_run(&t, &log1, &[]);
    let landed = wait_until(Duration::from_secs(60), || async {
        count_messages(&t).await >= 150
    })
    .await;
    assert!(landed, "{}", std::fs::read_to_string(&log1).unwrap());
    sigterm(&child);
    let asked = Instant::now();
    let status = child.wait().unwrap();
    let took = asked.elapsed();
    let log = std::fs::read_to_string(&log1).unwrap();
    assert!(status.success(), "exit 0 after SIGTERM: {status}\n{log}");
    assert!(
        took < Duration::from_secs(20),
        "stopped within shutdown_timeout: {took:?}"
    );
    for said in [
        "SIGTERM received.",
        "Shutting down.",
        "Source stopped.",
        "Delivery worker stopped.",
    ] {
        assert!(log.contains(said), "the log says {said:?}:\n{log}");
    }
    assert!(!log.contains("\"level\":\"ERROR\""), "{log}");
    assert!(!log.contains(dovecot::PASSWORD), "no password in the log");

    // Every message is either done (stored, its case opened, its
    // acknowledgement queued, marked on the server) or untouched.
    let stored_first = count_messages(&t).await;
    assert!(
        stored_first < MESSAGES,
        "SIGTERM landed in the backlog: {stored_first} of {MESSAGES}"
    );
    let (stored_ids, acks_due, acks_first) = {
        let mut conn = t.app.store.conn().await.unwrap();
        let stored = messages::all(&mut conn).await.unwrap();
        let cases = cases::all(&mut conn).await.unwrap();
        assert_eq!(cases.len(), stored.len(), "a case for every stored message");
        assert!(stored.iter().all(|m| m.case_id.is_some()));
        let acks_due = stored
            .iter()
            .filter(|m| {
                serde_json::from_str::<serde_json::Value>(&m.decision).unwrap()
                    ["should_acknowledge"]
                    == true
            })
            .count();
        let rows = outbox::list(&mut conn, None).await.unwrap();
        let acks: Vec<_> = rows
            .iter()
            .filter(|r| r.purpose == "acknowledgement")
            .collect();
        assert_eq!(
            acks.len(),
            acks_due,
            "each acknowledgement queued with its message"
        );
        let ids: HashSet<String> = stored.iter().filter_map(|m| m.message_id.clone()).collect();
        let sent = acks.iter().filter(|r| r.status == "sent").count();
        (ids, acks_due, sent)
    };
    assert!(acks_due > 0);
    let marked = d.search("INBOX", "KEYWORD $PostroomStored").await;
    let unmarked = d.search("INBOX", "UNKEYWORD $PostroomStored").await;
    assert_eq!(marked.len(), stored_first, "stored ones are marked");
    assert_eq!(
        unmarked.len(),
        MESSAGES - stored_first,
        "the rest untouched"
    );
    let marked_bodies: Vec<Vec<u8>> = marked
        .iter()
        .map(|uid| all[*uid as usize - 1].clone())
        .collect();
    assert_eq!(message_ids(&marked_bodies), stored_ids, "marked = stored");

    // Restarted, it does the rest; /metrics counts this process's work.
    let log2 = t.dir.path().join("second.log");
    let mut child = spawn_run(&t, &log2, &[]);
    assert_eq!(
        wait_for_messages(&t, MESSAGES, Duration::from_secs(120)).await,
        MESSAGES
    );
    let rows = wait_for_outbox_sent(&t, Duration::from_secs(60)).await;
    let unsent = rows.iter().filter(|r| r.status != "sent").count();
    assert_eq!(unsent, 0, "all {} mails sent within a minute", rows.len());
    let acks_total = rows
        .iter()
        .filter(|r| r.purpose == "acknowledgement")
        .count();
    assert!(wait_for_marks(&d, Duration::from_secs(30)).await.is_empty());
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(get(&format!("{base}/healthz")).await, (200, "ok\n".into()));
    let ready = wait_until(Duration::from_secs(10), || async {
        get(&format!("{base}/readyz")).await.0 == 200
    })
    .await;
    assert!(ready, "{:?}", get(&format!("{base}/readyz")).await);
    let (code, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(code, 200);
    let rest = (MESSAGES - stored_first) as f64;
    assert_eq!(
        sum(&text, "postroom_messages_ingested_total"),
        rest,
        "{text}"
    );
    assert_eq!(
        sample(&text, "postroom_cases_opened_total"),
        Some(rest),
        "{text}"
    );
    assert_eq!(
        sample(&text, "postroom_processing_latency_seconds_count"),
        Some(rest),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "postroom_mail_sent_total{purpose=\"acknowledgement\"}"
        ),
        Some((acks_total - acks_first) as f64),
        "{text}"
    );
    assert_eq!(
        sum(&text, "postroom_mail_send_failures_total"),
        0.0,
        "{text}"
    );
    assert_eq!(sample(&text, "postroom_outbox_depth"), Some(0.0), "{text}");
    assert_eq!(
        sample(&text, "postroom_outbox_oldest_age_seconds"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(sum(&text, "postroom_imap_reconnects_total"), 0.0, "{text}");
    let polled = sample(
        &text,
        "postroom_last_successful_poll_timestamp_seconds{source=\"mailbox\"}",
    )
    .expect("the last poll's time");
    let now = postroom::clock::system().now().timestamp() as f64;
    assert!(
        (now - polled).abs() < 120.0,
        "polled at {polled}, now {now}"
    );

    // The mailbox goes away: not ready, and why. It comes back: one
    // reconnect counted, ready again.
    let mut d = d;
    d.kill();
    let down = wait_until(Duration::from_secs(30), || async {
        get(&format!("{base}/readyz")).await.0 == 503
    })
    .await;
    let (_, body) = get(&format!("{base}/readyz")).await;
    assert!(down, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["database"], true, "{body}");
    let mailbox = json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "mailbox")
        .unwrap()
        .clone();
    assert_eq!(mailbox["ready"], false, "{body}");
    assert!(
        mailbox["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{body}"
    );
    d.restart();
    let back = wait_until(Duration::from_secs(60), || async {
        let (_, text) = get(&format!("{base}/metrics")).await;
        sample(&text, "postroom_imap_reconnects_total{source=\"mailbox\"}") == Some(1.0)
            && get(&format!("{base}/readyz")).await.0 == 200
    })
    .await;
    assert!(back, "{}", get(&format!("{base}/metrics")).await.1);

    sigterm(&child);
    assert!(child.wait().unwrap().success());
    assert_each_stored_once(&t, MESSAGES).await;
}

/// A full run at the most verbose level, over XOAUTH2 (IMAP and SMTP) and a
/// password login side by side: the log never holds the password, the
/// client secret, an access token or a SASL string; and at info and above
/// it holds no one's name, address or words from a message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_logs_no_secret_at_any_level_and_no_personal_data_at_info() {
    let server = OAuthServer::start(dovecot::USER, 3600);
    let d = Dovecot::start_with(Options {
        introspection_url: Some(server.introspection_url()),
        ..Options::default()
    });
    d.append("INBOX", &synthetic_messages(14), None).await;
    d.create_folder("Scans").await;
    d.append(
        "Scans",
        &[postroom::cli::demo::SAMPLE_MAILBOX[0].1.to_vec()],
        None,
    )
    .await;
    let smtp = SmtpServer::start_with(&["--introspect", &server.introspection_url()]);
    let secrets = tempfile::tempdir().unwrap();
    let secret_file = secrets.path().join("client-secret");
    std::fs::write(&secret_file, SECRET).unwrap();
    let delivery = format!(
        "[delivery]\ntransport = \"smtp\"\nretry_for = \"1h\"\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
         timeout = \"10s\"\nauth = \"oauth2\"\nusername = \"{}\"\n",
        smtp.port,
        dovecot::USER
    );
    let password_source = imap_source(
        d.port,
        "since = \"2000-01-01T00:00:00Z\"\nfolders = [\"Scans\"]",
    )
    .replace("name = \"mailbox\"", "name = \"scans\"");
    let extra = format!(
        "[[source]]\nname = \"mailbox\"\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
         username = \"{}\"\nauth = \"oauth2\"\ncommand_timeout = \"10s\"\nsince = \"2000-01-01T00:00:00Z\"\n\n\
         {password_source}\n\
         [oauth]\nflow = \"client_credentials\"\ntoken_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"{}\"\n",
        d.port,
        dovecot::USER,
        server.token_url(),
        secret_file.display(),
    );
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Toml(delivery), &extra).await;
    let log = t.dir.path().join("trace.log");

    let mut child = spawn_run(&t, &log, &[("POSTROOM_LOG", "trace")]);
    assert_eq!(wait_for_messages(&t, 15, Duration::from_secs(60)).await, 15);
    let rows = wait_for_outbox_sent(&t, Duration::from_secs(60)).await;
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r.status == "sent"),
        "acknowledgements went over XOAUTH2: {rows:?}"
    );
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::copy(&log, "/tmp/postroom-trace.log").ok();
    assert!(
        text.lines().count() > 100,
        "a trace log of the whole run ({} lines)",
        text.lines().count()
    );
    assert!(text.contains("\"level\":\"TRACE\"") || text.contains("\"level\":\"DEBUG\""));

    // No secret, at any level.
    let tokens = server.requests().len();
    assert!(tokens >= 1, "a token was fetched");
    let access = regex::Regex::new(r"at-\d+-[0-9a-f]{12}").unwrap();
    for (what, found) in [
        ("the IMAP password", text.contains(dovecot::PASSWORD)),
        ("the client secret", text.contains(SECRET)),
        ("an access token", access.is_match(&text)),
        // base64 of "user=", which starts every XOAUTH2 string.
        ("a SASL XOAUTH2 string", text.contains("dXNlcj1")),
        ("a Bearer token", text.contains("Bearer at-")),
    ] {
        assert!(!found, "{what} is in the log");
    }

    // No personal data at info, warn or error: names, addresses, postcodes,
    // subjects and text of the messages.
    let upper: Vec<&str> = text
        .lines()
        .filter(|l| {
            [
                "\"level\":\"INFO\"",
                "\"level\":\"WARN\"",
                "\"level\":\"ERROR\"",
            ]
            .iter()
            .any(|lvl| l.contains(lvl))
        })
        .collect();
    assert!(upper.len() >= 15, "{} lines at info and above", upper.len());
    let upper = upper.join("\n");
    for personal in [
        "Whitfield",
        "Orchard Lane",
        "WX2 5QT",
        "Penhale",
        "ruth.penhale",
        "speech and language",
        "EHC needs assessment",
        "Constituent enquiry",
    ] {
        assert!(
            !upper.contains(personal),
            "{personal:?} in the log at info:\n{upper}"
        );
    }
}
