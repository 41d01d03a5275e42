//! The workspace in a real browser (Debian's chromium, headless, through
//! chromedriver), against a real `postroom run` on SQLite and on
//! PostgreSQL, signing in with a real OpenID provider: a team lead's walk
//! through a case done with the keyboard alone, each step checked in the
//! database, and axe-core at WCAG 2.2 AA on every page and state it
//! passes through. And the README's screenshots, from the demo.

use std::time::Duration;

use serde_json::json;

use crate::harness::browser::{Browser, ENTER, TAB};
use crate::harness::oidc::{CLIENT_ID, OidcProvider, SECRET};
use crate::harness::smtp::SmtpServer;
use crate::harness::{Backend, Delivery, TestApp, backends};
use crate::ops::free_port;

/// A `postroom run` with the workspace, signing in at `provider`; the
/// test app (its database) and the process.
async fn run_with_workspace(
    backend: Backend,
    port: u16,
    provider: &OidcProvider,
    smtp: &SmtpServer,
) -> (TestApp, std::process::Child) {
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.keep().join("oidc-secret");
    std::fs::write(&secret, SECRET).unwrap();
    let extra = format!(
        "{}\n[web.oidc]\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"{}\"\n",
        crate::web::config(port),
        provider.issuer(),
        secret.display()
    );
    let t = TestApp::with_extra(backend, Delivery::Smtp(smtp.port), &extra).await;
    t.deliver_sample_mailbox();
    let log = t.dir.path().join("run.log");
    let mut child = crate::harness::spawn_run(&t.dir.path().join("postroom.toml"), &log, &[], &[]);
    for _ in 0..300 {
        if t.cases().await.len() >= 8 {
            return (t, child);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "postroom run did not open the sample cases: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// axe-core finds nothing at WCAG 2.2 AA on the page shown now.
async fn accessible(b: &Browser, what: &str) {
    let violations = b.axe().await;
    assert!(
        violations.is_empty(),
        "{what} ({}): {violations:#?}",
        b.url().await
    );
}

/// Tab to `css` and press Enter.
async fn press(b: &Browser, css: &str) {
    b.tab_to(css, 300).await;
    b.keys(ENTER).await;
}

/// Waits until the browser shows a page whose address contains `part`.
async fn arrive(b: &Browser, part: &str) {
    for _ in 0..100 {
        if b.url().await.contains(part) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never reached {part}: at {}", b.url().await);
}

// Long: the walk is one story, step by step, each checked where it lands.
#[tokio::test]
async fn a_team_lead_works_a_case_with_the_keyboard_alone() {
    for backend in backends() {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let provider = OidcProvider::start(
            &format!("{base}/sign-in/callback"),
            &json!({ "lead": { "email": "send.manager@wexcombe.gov.uk", "name": "Sam Lead" } }),
        );
        let smtp = SmtpServer::start();
        let (t, child) = run_with_workspace(backend, port, &provider, &smtp).await;
        let mut child = Demo(child);
        let case = t
            .cases()
            .await
            .into_iter()
            .find(|c| c.team.as_deref() == Some("SEND") && c.status == "open")
            .unwrap();
        let reference = case.reference.clone();
        let b = Browser::start().await;

        // Signed out: the sign-in page, and the provider's.
        b.goto(&format!("{base}/cases")).await;
        arrive(&b, "/sign-in").await;
        accessible(&b, "the sign-in page").await;
        press(&b, "a.govuk-button--start").await;
        arrive(&b, &provider.issuer()).await;
        b.tab_to("input[name=login]", 20).await;
        b.keys("lead").await;
        b.keys(TAB).await;
        b.keys("any password").await;
        b.keys(ENTER).await;
        arrive(&b, &format!("{base}/cases")).await;
        assert!(b.source().await.contains("Sam Lead (team lead)"));
        accessible(&b, "the case list").await;

        // Find the case by its reference, in lower case, and open it.
        b.tab_to("#filter-q", 300).await;
        b.keys(&reference.to_lowercase()).await;
        b.keys(ENTER).await;
        arrive(&b, "q=").await;
        let list = b.source().await;
        assert_eq!(
            list.matches("postroom-nowrap\" href=\"/cases/").count(),
            1,
            "{list}"
        );
        accessible(&b, "a search").await;
        press(&b, &format!("a[href='/cases/{reference}']")).await;
        arrive(&b, &format!("/cases/{reference}")).await;
        accessible(&b, "the case page").await;

        // Reassign it.
        b.tab_to("#assign-to", 300).await;
        b.keys("b.okoro").await;
        press(&b, "form[action$='/assign'] button").await;
        arrive(&b, "done=assign").await;
        accessible(&b, "the case page after an action").await;
        let now = t.case(&reference).await;
        assert_eq!(now.assignee.as_deref(), Some("b.okoro@wexcombe.gov.uk"));

        // Recategorise it: another SEND topic, and urgent.
        b.tab_to("#fix-send_topic", 300).await;
        b.keys("Tribunal").await;
        b.choose("urgent", "yes").await;
        press(&b, "form[action$='/recategorise'] button").await;
        arrive(&b, "done=recategorise").await;
        let now = t.case(&reference).await;
        assert_eq!(now.send_topic.map(|s| s.as_str()), Some("tribunal"));
        assert!(now.urgent);

        // A pause without a reason is refused, and says why.
        press(&b, "form[action$='/pause'] button").await;
        arrive(&b, &format!("/cases/{reference}/pause")).await;
        assert!(
            b.text(".govuk-error-summary")
                .await
                .contains("Say why the clock stops")
        );
        accessible(&b, "a refused action").await;
        assert!(t.case(&reference).await.paused_at.is_none());

        // Pause and resume.
        b.tab_to("#pause-reason", 300).await;
        b.keys("Waiting for the family's consent").await;
        b.keys(ENTER).await;
        arrive(&b, "done=pause").await;
        let now = t.case(&reference).await;
        assert_eq!(
            now.pause_reason.as_deref(),
            Some("Waiting for the family's consent")
        );
        press(&b, "form[action$='/resume'] button").await;
        arrive(&b, "done=resume").await;
        assert!(t.case(&reference).await.paused_at.is_none());

        // Answer it from the council's template: the template's own
        // instruction left in is refused; the edited reply is previewed,
        // then sent to the MP office, threaded to its mail.
        press(&b, &format!("a[href='/cases/{reference}/reply']")).await;
        arrive(&b, &format!("/cases/{reference}/reply")).await;
        accessible(&b, "the choice of reply template").await;
        b.choose("template", "answer").await;
        press(&b, "form[method=get] button").await;
        arrive(&b, "template=answer").await;
        accessible(&b, "a reply being written").await;
        press(&b, "button[value=send]").await;
        arrive(&b, &format!("/cases/{reference}/reply")).await;
        assert!(b.text(".govuk-error-summary").await.contains("instruction"));
        accessible(&b, "a refused reply").await;
        b.tab_to("#reply-text", 300).await;
        b.keys("\u{E009}a\u{E000}").await;
        b.keys("Dear Ms Kettering,\n\nTransport starts again on Monday; the family has the driver's number.\n\nYours sincerely,\nSam Lead").await;
        press(&b, "button[value=preview]").await;
        for _ in 0..50 {
            if b.source().await.contains("Preview</h2>") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            b.text(".govuk-inset-text")
                .await
                .contains("Transport starts again on Monday")
        );
        accessible(&b, "a reply's preview").await;
        press(&b, "button[value=send]").await;
        arrive(&b, "done=reply").await;
        assert!(t.case(&reference).await.answered_at.is_some());
        let mut reply = None;
        for _ in 0..200 {
            reply = smtp
                .received()
                .into_iter()
                .find(|m| m.text().contains("Transport starts again on Monday"));
            if reply.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let reply = reply.expect("the reply reached the SMTP server");
        assert_eq!(reply.rcpt_tos, std::slice::from_ref(&case.correspondent));
        let mut conn = t.app.store.conn().await.unwrap();
        let inbound = postroom::store::messages::of_case(&mut conn, case.id)
            .await
            .unwrap();
        drop(conn);
        let last_in = inbound
            .iter()
            .rev()
            .find_map(|m| m.message_id.clone())
            .unwrap();
        assert_eq!(reply.header("In-Reply-To"), Some(format!("<{last_in}>")));
        assert!(reply.header("Subject").unwrap().contains(&reference));
        press(&b, "form[action$='/close'] button").await;
        arrive(&b, "done=close").await;
        assert_eq!(t.case(&reference).await.status, "closed");
        accessible(&b, "a closed case").await;

        // Each step is the team lead's, in the case's events.
        let mut conn = t.app.store.conn().await.unwrap();
        let events = postroom::store::cases::events(&mut conn, now.id)
            .await
            .unwrap();
        let kinds: Vec<&str> = events
            .iter()
            .filter(|e| e.actor == "send.manager@wexcombe.gov.uk" && !e.kind.starts_with('d'))
            .map(|e| e.kind.as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "assigned",
                "recategorised",
                "paused",
                "resumed",
                "reply_sent",
                "answered",
                "closed"
            ]
        );

        // The other pages: a list refused for a bad filter, a missing page.
        b.goto(&format!("{base}/cases?status=bogus")).await;
        assert!(b.source().await.contains("There is a problem"));
        accessible(&b, "a refused filter").await;
        b.goto(&format!("{base}/cases/MPE-1999-99999")).await;
        assert!(b.source().await.contains("Page not found"));
        accessible(&b, "the page-not-found page").await;

        b.close().await;
        // SAFETY: signals our own child.
        unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
        assert!(child.0.wait().unwrap().success());
    }
}

#[tokio::test]
async fn the_readme_screenshots_come_from_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut demo = Demo(
        std::process::Command::new(env!("CARGO_BIN_EXE_postroom"))
            .args(["demo", "--listen", &format!("127.0.0.1:{port}"), "--dir"])
            .arg(dir.path().join("demo"))
            .env_remove("POSTROOM_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let b = Browser::start().await;
    for _ in 0..200 {
        b.goto(&format!("{base}/sign-in")).await;
        if b.source().await.contains("Local sign-in") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    accessible(&b, "the local sign-in").await;
    b.choose("email", "a.shah@wexcombe.gov.uk").await;
    press(&b, "form[action='/sign-in/local'] button").await;
    arrive(&b, "/cases").await;
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&out).unwrap();
    b.goto(&format!("{base}/cases?view=all")).await;
    accessible(&b, "the demo's list").await;
    b.screenshot(&out.join("workspace-list.png")).await;
    b.goto(&format!("{base}/cases/MPE-2026-00002")).await;
    accessible(&b, "the demo's urgent case").await;
    b.screenshot(&out.join("workspace-case.png")).await;
    // A message on its own page, with the sender's formatting cleaned.
    press(&b, "a.postroom-message-link").await;
    arrive(&b, "/cases/MPE-2026-00002/messages/").await;
    assert!(b.source().await.contains("As the sender formatted it"));
    accessible(&b, "a message on its own page").await;
    // The admin's pages: the audit, and a case with who opened it.
    b.goto(&format!("{base}/sign-in")).await;
    b.choose("email", "it.team@wexcombe.gov.uk").await;
    press(&b, "form[action='/sign-in/local'] button").await;
    arrive(&b, "/cases").await;
    b.goto(&format!("{base}/cases/MPE-2026-00002")).await;
    assert!(b.source().await.contains("Who opened this case"));
    accessible(&b, "a case, as an admin sees it").await;
    b.goto(&format!("{base}/audit")).await;
    assert!(b.source().await.contains("a.shah@wexcombe.gov.uk"));
    accessible(&b, "the access audit").await;
    // The managers' figures over the demo's weeks, by week.
    b.goto(&format!(
        "{base}/figures?range=custom&from=2026-09-28&to=2026-11-27"
    ))
    .await;
    assert!(
        b.source()
            .await
            .contains("MP referrals, 28 Sep 2026 to 27 Nov 2026")
    );
    accessible(&b, "the managers' figures").await;
    // Tall enough for the summary, what is open now and both charts.
    b.c.set_window_size(1280, 2300).await.unwrap();
    b.screenshot(&out.join("workspace-figures.png")).await;
    b.c.set_window_size(1280, 1000).await.unwrap();
    // A figure's link, followed with the keyboard, opens the list of
    // exactly the cases behind it.
    let link = "dl.govuk-summary-list a[href*='figure=open-at-end']";
    let shown: usize = b
        .text(link)
        .await
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap();
    assert!(
        shown > 0,
        "the demo's cases were open at the end of the weeks"
    );
    press(&b, link).await;
    arrive(&b, "figure=open-at-end").await;
    let list = b.source().await;
    assert!(list.contains("The cases behind a figure: open at the end of the period"));
    assert_eq!(
        list.matches("class=\"govuk-link postroom-nowrap\"").count(),
        shown,
        "{list}"
    );
    accessible(&b, "the cases behind a figure").await;
    b.goto(&format!("{base}/strays")).await;
    accessible(&b, "the messages without a case").await;
    press(&b, "a.postroom-stray").await;
    arrive(&b, "/strays/").await;
    accessible(&b, "a message without a case").await;
    for shot in [
        "workspace-list.png",
        "workspace-case.png",
        "workspace-figures.png",
    ] {
        let png = std::fs::read(out.join(shot)).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "{shot}");
    }
    b.close().await;
    // SAFETY: signals our own child.
    unsafe { libc::kill(demo.0.id() as i32, libc::SIGTERM) };
    assert!(demo.0.wait().unwrap().success());
}

/// A `postroom demo` or `postroom run` of the test's, killed if the test
/// ends (fails) before it stops it.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
