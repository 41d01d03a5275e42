//! The workspace as a council runs it: a message's HTML shown sanitised on
//! its own page, never raw; the council's own page templates taken up by a
//! SIGHUP to the running daemon (a broken one refused, the old one kept);
//! two `postroom run` on one PostgreSQL serving one person's session, also
//! when one of them is killed.

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;

use crate::harness::{Backend, Delivery, TestApp, backends, spawn_run};
use crate::ops::free_port;
use crate::web::{Browser, Workspace, client, config, unescape};

const HTML_MAIL: &str = "From: Ruth Penhale MP <ruth.penhale@parliament.uk>\r\n\
    To: mpenquiries@wexcombe.gov.uk\r\nSubject: Transport for a constituent's son\r\n\
    Date: Thu, 26 Nov 2026 09:00:00 +0000\r\nMessage-ID: <formatted-1@parliament.uk>\r\nMIME-Version: 1.0\r\n\
    Content-Type: multipart/alternative; boundary=\"A\"\r\n\r\n--A\r\nContent-Type: text/plain\r\n\r\n\
    My constituent asks why her son's school transport stopped.\r\n\
    --A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
    <html><head><style>p{display:none}</style><script>alert(5)</script></head><body>\
    <p onclick=\"steal()\" style=\"color:red\" class=\"govuk-button\">My constituent asks why her son's \
    <b>school transport</b> stopped.</p>\
    <table><tr><td>Stopped</td><td>2 November</td></tr></table>\
    <img src=\"https://tracker.example/pixel.gif\" alt=\"\">\
    <p><a href=\"https://phish.example/login\">Read the school's letter</a></p>\
    <form action=\"/cases/MPE-0/close\" method=\"post\"><button>Close</button></form>\
    <iframe src=\"https://frame.example/\"></iframe></body></html>\r\n--A--\r\n";

#[tokio::test]
async fn a_messages_html_is_shown_sanitised_never_raw() {
    for backend in backends() {
        let w = Workspace::start(backend).await;
        w.t.deliver("formatted.eml", HTML_MAIL.as_bytes());
        w.t.run_once().await;
        let case =
            w.t.cases()
                .await
                .into_iter()
                .find(|c| c.subject.contains("Transport for a constituent"))
                .expect("the message opened a case");
        let mut b = w.browser();
        b.sign_in("head.of.service@wexcombe.gov.uk").await;
        let page = b.get(&format!("/cases/{}", case.reference)).await;
        let key = "Open this message on its own page";
        let at = page
            .body
            .find(key)
            .unwrap_or_else(|| panic!("a link to the message in {}", page.body));
        let href = unescape(page.body[..at].rsplit("href=\"").next().unwrap());
        let href = href.split('"').next().unwrap().to_string();
        let message = b.get(&href).await;
        assert_eq!(message.status, StatusCode::OK, "{href}");
        let body = &message.body;
        // The text as text, then the sender's formatting, cleaned.
        assert!(body.contains("As the sender formatted it"), "{body}");
        assert!(
            body.contains(
                "<p>My constituent asks why her son's <b>school transport</b> stopped.</p>"
            ),
            "{body}"
        );
        assert!(body.contains("<td>2 November</td>"));
        assert!(body.contains("Read the school's letter"));
        for gone in [
            "alert(5)",
            "steal()",
            "color:red",
            "display:none",
            "tracker.example",
            "phish.example",
            "frame.example",
            "MPE-0/close",
            "class=\"govuk-button\">My",
        ] {
            assert!(!body.contains(gone), "{gone} in {body}");
        }
        let mut conn = w.t.app.store.conn().await.unwrap();
        let audit = postroom::store::web::accesses(
            &mut conn,
            postroom::store::web::Of::Case(&case.reference),
            10,
        )
        .await
        .unwrap();
        let id = href.rsplit('/').next().unwrap();
        assert!(
            audit
                .iter()
                .any(|a| a.action == "viewed" && a.detail == format!("{{\"message\":{id}}}")),
            "{audit:?}"
        );
    }
}

/// A `postroom run`, killed when dropped.
struct Running {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Running {
    /// `postroom run` on config `file`, once its workspace answers at
    /// `base`.
    async fn start(file: &Path, base: &str) -> Running {
        let log = file.with_extension("log");
        let r = Running {
            child: spawn_run(file, &log, &[], &[]),
            log,
        };
        let client = client(reqwest::Client::builder());
        for _ in 0..100 {
            if client.get(format!("{base}/sign-in")).send().await.is_ok() {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{}", r.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, signal: i32) {
        // SAFETY: signals our own child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The 404 page's text, until it holds `want` (or 10 s have passed).
async fn not_found_page(base: &str, want: &str) -> String {
    let mut text = String::new();
    let client = client(reqwest::Client::builder());
    for _ in 0..100 {
        let r = client.get(format!("{base}/nowhere")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        text = r.text().await.unwrap();
        if text.contains(want) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    text
}

const OWN_ERROR_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><title>{{ title }}</title></head>\n\
    <body><h1>{{ title }}</h1><p>{{ text }}</p><p>Wexcombe pages, version {{ \"one\" }}</p></body></html>\n";

#[tokio::test]
async fn sighup_takes_up_the_councils_page_templates_and_refuses_a_broken_one() {
    let port = free_port();
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Folder, &config(port)).await;
    let templates = t.dir.path().join("templates");
    std::fs::create_dir_all(templates.join("web")).unwrap();
    for (name, text) in postroom::compose::EMBEDDED {
        std::fs::write(templates.join(name), text).unwrap();
    }
    let page = templates.join("web/error.html.j2");
    std::fs::write(&page, OWN_ERROR_PAGE).unwrap();
    let file = t.dir.path().join("postroom.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("[paths]\n", "[paths]\ntemplates = \"templates\"\n"),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let d = Running::start(&file, &base).await;
    assert!(
        not_found_page(&base, "version one")
            .await
            .contains("version one")
    );

    // A broken template: refused with its file and line, the old page stays.
    std::fs::write(&page, "<p>{% if %}</p>\n").unwrap();
    d.signal(libc::SIGHUP);
    let mut refused = false;
    for _ in 0..100 {
        if d.log().contains("Reload refused") {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = d.log();
    assert!(refused, "{log}");
    assert!(log.contains("web/error.html.j2:1"), "{log}");
    assert!(
        not_found_page(&base, "version one")
            .await
            .contains("version one")
    );

    // A good one: served at once.
    std::fs::write(&page, OWN_ERROR_PAGE.replace("\"one\"", "\"two\"")).unwrap();
    d.signal(libc::SIGHUP);
    let text = not_found_page(&base, "version two").await;
    assert!(text.contains("version two"), "{text} {}", d.log());
    assert!(text.contains("Page not found"));
    drop(t);
}

#[tokio::test]
async fn two_instances_on_one_postgresql_serve_one_session() {
    let (one, two) = (free_port(), free_port());
    let t = TestApp::with_extra(Backend::Postgres, Delivery::Folder, &config(one)).await;
    t.deliver_sample_mailbox();
    let first = t.dir.path().join("postroom.toml");
    let second = t.dir.path().join("second.toml");
    let text = std::fs::read_to_string(&first).unwrap();
    std::fs::write(
        &second,
        text.replace(&format!("127.0.0.1:{one}"), &format!("127.0.0.1:{two}")),
    )
    .unwrap();
    let (a, b) = (
        format!("http://127.0.0.1:{one}"),
        format!("http://127.0.0.1:{two}"),
    );
    let d1 = Running::start(&first, &a).await;
    let _d2 = Running::start(&second, &b).await;

    // Signed in at one instance...
    let mut at_one = Browser::new(&a);
    let csrf = at_one.sign_in("a.shah@wexcombe.gov.uk").await;
    let mut reference = None;
    for _ in 0..100 {
        reference = t
            .cases()
            .await
            .into_iter()
            .find(|c| c.team.as_deref() == Some("SEND"))
            .map(|c| c.reference);
        if reference.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reference = reference.expect("the instances opened the sample cases");

    // ...the other knows the session, its CSRF token and the person.
    let mut at_two = Browser::new(&b);
    at_two.cookies = at_one.cookies.clone();
    let list = at_two.get("/cases").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("(caseworker)"), "{}", list.body);
    let noted = at_two
        .post(
            &format!("/cases/{reference}/note"),
            &[("csrf", &csrf), ("text", "Noted at the second instance.")],
        )
        .await;
    assert_eq!(noted.status, StatusCode::SEE_OTHER, "{}", noted.body);

    // The first killed outright: the second still serves the session.
    d1.signal(libc::SIGKILL);
    let page = at_two.get(&format!("/cases/{reference}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Noted at the second instance."),
        "{} {}",
        noted.location(),
        page.body
    );

    // Signed out at the second: ended everywhere, the first restarted.
    let out = at_two.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    drop(d1);
    let _d1 = Running::start(&first, &a).await;
    assert_eq!(at_one.get("/cases").await.status, StatusCode::SEE_OTHER);
}

/// With `[web]` set, a caseworker's notice links to the case in the
/// workspace and begins the enquiry; one about a parent's own email does
/// not tell them to reply to an MP office.
#[tokio::test]
async fn notices_link_to_the_workspace_and_begin_the_enquiry() {
    let w = Workspace::start(Backend::Sqlite).await;
    let notices: Vec<String> = crate::harness::files_with_ext(&w.t.outbox(), "eml")
        .iter()
        .map(|f| postroom::parse::parse_email(&std::fs::read(f).unwrap()).body)
        .filter(|b| b.contains("has been assigned to you"))
        .collect();
    assert!(notices.len() >= 3, "{notices:?}");
    for n in &notices {
        assert!(
            n.contains(&format!("Open it: {}/cases/MPE-", w.base)),
            "{n}"
        );
        if n.contains("could not parse") {
            // Nothing was read of it to show.
            assert!(!n.contains("The enquiry begins"), "{n}");
            continue;
        }
        let begins = n
            .lines()
            .find_map(|l| l.strip_prefix("The enquiry begins: "))
            .unwrap_or_else(|| panic!("a summary in {n}"));
        assert!(begins.len() > 40 && !begins.starts_with("Dear"), "{begins}");
    }
    let public: Vec<&String> = notices
        .iter()
        .filter(|n| n.contains("not an MP office"))
        .collect();
    assert!(!public.is_empty(), "the parent's own email has a notice");
    for n in public {
        assert!(n.contains("straight from a member of the public"), "{n}");
        assert!(!n.contains("Reply to the MP office"), "{n}");
    }
}
