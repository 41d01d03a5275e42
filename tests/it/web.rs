//! The caseworkers' workspace over HTTP, on SQLite and PostgreSQL: no page
//! or action without a session, sessions that end, CSRF tokens, one team's
//! cases out of another's reach, hostile text shown as text, every view in
//! the access audit, and `postroom run` serving it.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use tokio_util::sync::CancellationToken;

use crate::harness::{Backend, Delivery, TestApp, backends, plain_mail};
use crate::ops::free_port;

/// The demo council's teams, and the workspace on `port`.
pub(crate) fn config(port: u16) -> String {
    format!(
        "[daemon]\nadmin = \"it@wexcombe.gov.uk\"\n\n\
         [[team]]\nname = \"SEND\"\ncategories = [\"send\"]\nmanager = \"send.manager@wexcombe.gov.uk\"\n\
         members = [\"a.shah@wexcombe.gov.uk\", \"b.okoro@wexcombe.gov.uk\"]\n\n\
         [[team]]\nname = \"Corporate\"\ndefault = true\nmanager = \"casework.manager@wexcombe.gov.uk\"\n\
         members = [\"c.lewis@wexcombe.gov.uk\"]\n\n\
         [web]\nlisten = \"127.0.0.1:{port}\"\nmanagers = [\"head.of.service@wexcombe.gov.uk\"]\n"
    )
}

/// A test app with the sample mailbox read, its workspace served in this
/// process.
pub(crate) struct Workspace {
    pub t: TestApp,
    pub base: String,
    stop: CancellationToken,
}

impl Workspace {
    pub async fn start(backend: Backend) -> Workspace {
        let port = free_port();
        let t = TestApp::with_extra(backend, Delivery::Folder, &config(port)).await;
        t.deliver_sample_mailbox();
        t.run_once().await;
        let stop = CancellationToken::new();
        let servers = postroom::web::serve(t.app.clone(), stop.clone())
            .await
            .expect("the workspace starts");
        assert_eq!(servers.len(), 1);
        Workspace {
            t,
            base: format!("http://127.0.0.1:{port}"),
            stop,
        }
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// A case of team `team`, by the database.
    pub async fn case_of(&self, team: &str) -> String {
        self.t
            .cases()
            .await
            .into_iter()
            .find(|c| c.team.as_deref() == Some(team))
            .unwrap_or_else(|| panic!("no case of {team}"))
            .reference
    }

    async fn audit(&self) -> Vec<postroom::store::web::Access> {
        let mut conn = self.t.app.store.conn().await.unwrap();
        postroom::store::web::accesses(&mut conn, postroom::store::web::Of::Everyone, 1000)
            .await
            .unwrap()
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A client that keeps the workspace's cookies, as a browser does, and
/// follows no redirect by itself.
pub(crate) struct Browser {
    pub base: String,
    client: reqwest::Client,
    pub cookies: Vec<(String, String)>,
}

pub(crate) struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("")
    }

    /// The value of hidden field `name` in the page's first form that has
    /// one.
    pub fn field(&self, name: &str) -> String {
        let key = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&key)
            .unwrap_or_else(|| panic!("no {name} field in {}", self.body))
            + key.len();
        self.body[start..].split('"').next().unwrap().to_string()
    }
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            client: client(reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())),
            cookies: Vec::new(),
        }
    }

    fn keep(&mut self, headers: &HeaderMap) {
        for c in headers.get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !attrs.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// GET `path` on the workspace, or any absolute URL.
    /// `path` on the workspace, or any absolute URL.
    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let url = self.url(path);
        let r = self
            .client
            .get(url)
            .header("Cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.page(r).await
    }

    /// POST a form to `path` on the workspace, or to any absolute URL.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let url = self.url(path);
        let r = self
            .client
            .post(url)
            .header("Cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.page(r).await
    }

    async fn page(&mut self, r: reqwest::Response) -> Page {
        let status = r.status();
        let headers = r.headers().clone();
        self.keep(&headers);
        let body = r.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    /// Signs in with the local sign-in; the CSRF token of the session.
    pub async fn sign_in(&mut self, email: &str) -> String {
        let page = self.get("/sign-in?then=/cases").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let guard = page.field("guard");
        let done = self
            .post(
                "/sign-in/local",
                &[("guard", &guard), ("email", email), ("then", "/cases")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), "/cases");
        let list = self.get("/cases").await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        list.field("csrf")
    }
}

/// An attribute's value as the browser reads it.
pub(crate) fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/").replace("&amp;", "&")
}

/// reqwest with rustls' ring provider (postroom's own), for plain HTTP.
pub(crate) fn client(builder: reqwest::ClientBuilder) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    builder.build().unwrap()
}

fn assert_secure_headers(page: &Page) {
    let h = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_string()
    };
    let csp = h("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "no-referrer");
}

#[tokio::test]
async fn no_page_or_action_without_a_session() {
    for backend in backends() {
        let w = Workspace::start(backend).await;
        let reference = w.case_of("SEND").await;
        let mut b = w.browser();
        for path in [
            "/cases".to_string(),
            "/cases?view=overdue".to_string(),
            format!("/cases/{reference}"),
            format!("/cases/{reference}/messages/1/parts/1"),
        ] {
            let page = b.get(&path).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
            assert!(
                page.location().starts_with("/sign-in?then=/cases"),
                "{path}"
            );
            assert!(!page.body.contains(&reference));
            assert_secure_headers(&page);
        }
        let page = b.post("/sign-out", &[("csrf", "x")]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert_secure_headers(&page);
        // A made-up session cookie opens nothing either.
        b.cookies.push(("postroom".into(), "0".repeat(64)));
        let page = b.get("/cases").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);

        // Signing in sets an HttpOnly, SameSite cookie, not Secure on
        // loopback, and a new one each time.
        let mut b = w.browser();
        let signin = b.get("/sign-in").await;
        assert_eq!(signin.status, StatusCode::OK);
        assert_secure_headers(&signin);
        let guard = signin.field("guard");
        let done = b
            .post(
                "/sign-in/local",
                &[("guard", &guard), ("email", "a.shah@wexcombe.gov.uk")],
            )
            .await;
        let cookie = done.headers.get(SET_COOKIE).unwrap().to_str().unwrap();
        assert!(cookie.starts_with("postroom="), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        assert!(!cookie.contains("Secure"));
        let first = b.cookies.clone();
        b.sign_in("a.shah@wexcombe.gov.uk").await;
        assert_ne!(first, b.cookies, "a sign-in renews the session");
        // The session of the first sign-in ended with the second.
        let mut old = w.browser();
        old.cookies = first;
        assert_eq!(old.get("/cases").await.status, StatusCode::SEE_OTHER);

        // Someone the config does not name cannot sign in.
        let mut stranger = w.browser();
        let page = stranger.get("/sign-in").await;
        let guard = page.field("guard");
        let page = stranger
            .post(
                "/sign-in/local",
                &[("guard", &guard), ("email", "someone@gmail.com")],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(!stranger.cookies.iter().any(|(k, _)| k == "postroom"));
    }
}

#[tokio::test]
async fn a_caseworker_cannot_reach_another_teams_case() {
    for backend in backends() {
        let w = Workspace::start(backend).await;
        let send = w.case_of("SEND").await;
        let corporate = w.case_of("Corporate").await;
        let mut b = w.browser();
        b.sign_in("c.lewis@wexcombe.gov.uk").await;
        let list = b.get("/cases?view=all").await;
        assert!(list.body.contains(&corporate), "{}", list.body);
        assert!(!list.body.contains(&send), "{}", list.body);
        // A caseworker's open cases are their team's, and say so.
        assert!(list.body.contains("My team&#x27;s cases"), "{}", list.body);
        assert!(!list.body.contains("Open cases"));
        for path in [
            format!("/cases/{send}"),
            format!("/cases/{}", send.to_lowercase()),
            format!("/cases/{send}/messages/1/parts/1"),
        ] {
            let page = b.get(&path).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
            assert!(!page.body.contains(&send));
        }
        assert_eq!(
            b.get(&format!("/cases/{corporate}")).await.status,
            StatusCode::OK
        );
        // What was refused is not in the audit as a view.
        let audit = w.audit().await;
        assert!(
            !audit
                .iter()
                .any(|a| a.action == "viewed" && a.reference.as_deref() == Some(&send))
        );

        // A manager sees both; the counts beside the lists are the lists'.
        let mut m = w.browser();
        m.sign_in("head.of.service@wexcombe.gov.uk").await;
        let all = m.get("/cases?view=all").await;
        assert!(all.body.contains(&send) && all.body.contains(&corporate));
        let cases = w.t.cases().await;
        let rows = all
            .body
            .matches("class=\"govuk-link postroom-nowrap\"")
            .count();
        assert_eq!(rows, cases.len());
        // Every view's count but all cases' (a count of every case ever
        // received, on every page, would cost what the list saves).
        assert!(
            all.body.contains("All cases</strong></a></li>"),
            "{}",
            all.body
        );
        let live = cases
            .iter()
            .filter(|c| c.status == "open" || c.status == "triage")
            .count();
        let open = m.get("/cases?view=open").await;
        assert_eq!(
            open.body
                .matches("class=\"govuk-link postroom-nowrap\"")
                .count(),
            live
        );
        assert!(
            open.body.contains(&format!(
                "Open cases</strong></a> <span class=\"govuk-tag govuk-tag--grey\">{live}<"
            )),
            "{}",
            open.body
        );
        let urgent = cases
            .iter()
            .filter(|c| c.urgent && (c.status == "open" || c.status == "triage"))
            .count();
        let page = m.get("/cases?view=urgent").await;
        assert_eq!(
            page.body
                .matches("class=\"govuk-link postroom-nowrap\"")
                .count(),
            urgent
        );
        assert!(urgent > 0, "the sample mailbox has urgent cases");

        // A filter value postroom does not know is refused, not "0 cases".
        let page = m.get("/cases?status=bogus").await;
        assert!(page.body.contains("There is a problem"), "{}", page.body);
        assert!(page.body.contains("Choose a status from the list"));
    }
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused() {
    for backend in backends() {
        let w = Workspace::start(backend).await;
        let mut b = w.browser();
        let csrf = b.sign_in("a.shah@wexcombe.gov.uk").await;
        assert_eq!(b.post("/sign-out", &[]).await.status, StatusCode::FORBIDDEN);
        let wrong = "0".repeat(csrf.len());
        assert_eq!(
            b.post("/sign-out", &[("csrf", &wrong)]).await.status,
            StatusCode::FORBIDDEN
        );
        // Still signed in: the refused forms did nothing.
        assert_eq!(b.get("/cases").await.status, StatusCode::OK);
        let out = b.post("/sign-out", &[("csrf", &csrf)]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert_eq!(b.get("/cases").await.status, StatusCode::SEE_OTHER);

        // The sign-in form is guarded too: a page elsewhere cannot sign a
        // browser in as someone else.
        let mut c = w.browser();
        let page = c
            .post(
                "/sign-in/local",
                &[("guard", "x"), ("email", "a.shah@wexcombe.gov.uk")],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        let audit = w.audit().await;
        assert_eq!(
            audit.iter().filter(|a| a.action == "signed_in").count(),
            1,
            "{audit:?}"
        );
        assert_eq!(audit.iter().filter(|a| a.action == "signed_out").count(), 1);
    }
}

#[tokio::test]
async fn an_idle_session_ends_and_so_does_a_long_one() {
    for backend in backends() {
        let w = Workspace::start(backend).await;
        let mut b = w.browser();
        b.sign_in("a.shah@wexcombe.gov.uk").await;
        w.t.clock.advance(chrono::Duration::minutes(29));
        assert_eq!(b.get("/cases").await.status, StatusCode::OK);
        w.t.clock.advance(chrono::Duration::minutes(31));
        let page = b.get("/cases").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "idle for 31 minutes");
        assert!(page.location().starts_with("/sign-in"));

        // In use every 20 minutes, a session still ends when 10 hours
        // have passed since sign-in.
        b.sign_in("a.shah@wexcombe.gov.uk").await;
        for _ in 0..29 {
            w.t.clock.advance(chrono::Duration::minutes(20));
            assert_eq!(b.get("/cases").await.status, StatusCode::OK);
        }
        w.t.clock.advance(chrono::Duration::minutes(21));
        assert_eq!(b.get("/cases").await.status, StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn hostile_text_is_shown_as_text_and_files_only_download() {
    for backend in backends() {
        let w = Workspace::start(backend).await;
        let hostile = "From: \"<img src=x onerror=alert(2)>\" <ruth.penhale@parliament.uk>\r\n\
             To: mpenquiries@wexcombe.gov.uk\r\nSubject: <script>alert(1)</script> EHC needs assessment\r\n\
             Date: Thu, 26 Nov 2026 09:00:00 +0000\r\nMessage-ID: <hostile-1@parliament.uk>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n\
             My constituent asks about her son's EHC needs assessment. <iframe src=//evil.example></iframe>\r\n\
             --B\r\nContent-Type: text/html; name=\"\\\"><svg onload=alert(3)>.html\"\r\n\
             Content-Disposition: attachment; filename=\"\\\"><svg onload=alert(3)>.html\"\r\n\r\n\
             <script>alert(4)</script><p>Attached letter</p>\r\n--B--\r\n";
        w.t.deliver("hostile.eml", hostile.as_bytes());
        w.t.run_once().await;
        let case =
            w.t.cases()
                .await
                .into_iter()
                .find(|c| c.subject.contains("alert(1)"))
                .expect("the hostile message opened a case");
        let mut b = w.browser();
        b.sign_in("head.of.service@wexcombe.gov.uk").await;
        let list = b.get("/cases?view=all").await;
        let page = b.get(&format!("/cases/{}", case.reference)).await;
        for body in [&list.body, &page.body] {
            assert!(!body.contains("<script>alert"), "{body}");
            assert!(!body.contains("<img src=x"));
            assert!(!body.contains("<svg onload"));
            assert!(!body.contains("<iframe"));
        }
        assert!(
            list.body
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
        );
        assert!(page.body.contains("&lt;iframe"), "{}", page.body);
        assert!(page.body.contains("&lt;svg onload=alert(3)&gt;"));
        // The attachment: a download, never a page of the workspace.
        let start = page
            .body
            .find("&#x2f;messages&#x2f;")
            .unwrap_or_else(|| panic!("a download link in {}", page.body));
        let href = page.body[..start].rsplit('"').next().unwrap().to_string()
            + page.body[start..].split('"').next().unwrap();
        let file = b.get(&unescape(&href)).await;
        assert_eq!(file.status, StatusCode::OK, "{href}");
        let h = |n: &str| file.headers.get(n).unwrap().to_str().unwrap().to_string();
        assert!(h("content-disposition").starts_with("attachment; filename=\""));
        assert!(!h("content-disposition").contains("<svg"));
        assert_eq!(h("content-type"), "text/plain; charset=utf-8");
        assert_eq!(h("x-content-type-options"), "nosniff");
        assert!(h("content-security-policy").starts_with("sandbox"));
        let audit = w.audit().await;
        let by_case: Vec<_> = audit
            .iter()
            .filter(|a| a.reference.as_deref() == Some(&case.reference))
            .map(|a| (a.who.as_str(), a.action.as_str()))
            .collect();
        assert_eq!(
            by_case,
            [
                ("head.of.service@wexcombe.gov.uk", "downloaded"),
                ("head.of.service@wexcombe.gov.uk", "viewed"),
            ]
        );
    }
}

#[tokio::test]
async fn the_list_pages_by_keyset_without_losing_a_case() {
    let w = Workspace::start(Backend::Sqlite).await;
    for i in 0..70 {
        let mail = plain_mail(
            "Ruth Penhale <ruth.penhale@parliament.uk>",
            "mpenquiries@wexcombe.gov.uk",
            "",
            &format!("page-{i}@parliament.uk"),
            &format!("Wed, 25 Nov 2026 {:02}:{:02}:00 +0000", 8 + i / 60, i % 60),
            &format!("Bin collection missed, enquiry {i}"),
            "My constituent's bins have not been collected for three weeks. Could you look into it?",
        );
        w.t.deliver(&format!("page-{i}.eml"), &mail);
    }
    w.t.run_once().await;
    let total = w.t.cases().await.len();
    assert!(total > 70);
    let mut b = w.browser();
    b.sign_in("head.of.service@wexcombe.gov.uk").await;
    for sort in ["due", "newest", "oldest"] {
        let mut seen = Vec::new();
        let mut next = Some(format!("/cases?view=all&sort={sort}"));
        let mut pages = 0;
        while let Some(path) = next.take() {
            let page = b.get(&unescape(&path)).await;
            assert_eq!(page.status, StatusCode::OK);
            pages += 1;
            for part in page
                .body
                .split("class=\"govuk-link postroom-nowrap\" href=\"/cases/")
                .skip(1)
            {
                seen.push(part.split('"').next().unwrap().to_string());
            }
            next = page
                .body
                .split("govuk-pagination__link\" href=\"")
                .nth(1)
                .map(|s| s.split('"').next().unwrap().to_string());
        }
        assert_eq!(pages, total.div_ceil(50), "{sort}");
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "{sort}: a case shown twice");
        assert_eq!(seen.len(), total, "{sort}");
    }
}

#[tokio::test]
async fn postroom_run_serves_the_workspace() {
    let port = free_port();
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Folder, &config(port)).await;
    t.deliver_sample_mailbox();
    let log = t.dir.path().join("run.log");
    let mut child = crate::harness::spawn_run(&t.dir.path().join("postroom.toml"), &log, &[], &[]);
    let base = format!("http://127.0.0.1:{port}");
    let client = client(reqwest::Client::builder());
    let mut status = None;
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{base}/sign-in")).send().await {
            status = Some(r.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status,
        Some(StatusCode::OK),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let css = client
        .get(format!("{base}/assets/govuk-frontend.min.css"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(
        css.headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
    let size = css.bytes().await.unwrap().len();
    assert!(
        size < 40_000,
        "the stylesheet is sent compressed: {size} bytes"
    );
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let done = child.wait().unwrap();
    assert!(done.success(), "{}", std::fs::read_to_string(&log).unwrap());
}

/// The CSRF token of the page at `path`, and the page.
async fn form_page(b: &mut Browser, path: &str) -> (String, Page) {
    let page = b.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    (page.field("csrf"), page)
}

#[tokio::test]
async fn each_action_is_the_casework_function_with_who_did_it() {
    for backend in backends() {
        let w = Workspace::start(backend).await;
        let reference = w.case_of("SEND").await;
        let path = format!("/cases/{reference}");
        let act = |a: &str| format!("/cases/{reference}/{a}");
        let lead = "send.manager@wexcombe.gov.uk";
        let mut b = w.browser();
        b.sign_in(lead).await;
        let (csrf, page) = form_page(&mut b, &path).await;
        assert!(page.body.contains("Work on this case"));

        let done = b
            .post(
                &act("assign"),
                &[("csrf", &csrf), ("to", "b.okoro@wexcombe.gov.uk")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), format!("{path}?done=assign"));
        let case = w.t.case(&reference).await;
        assert_eq!(case.assignee.as_deref(), Some("b.okoro@wexcombe.gov.uk"));
        let banner = b.get(done.location()).await;
        assert!(banner.body.contains("The case was assigned."));

        let to_topic = if case.send_topic.map(|t| t.as_str()) == Some("send_transport") {
            "tribunal"
        } else {
            "send_transport"
        };
        let urgent = if case.urgent { "no" } else { "yes" };
        let done = b
            .post(
                &act("recategorise"),
                &[
                    ("csrf", &csrf),
                    ("kind", case.kind.as_str()),
                    ("category", "send"),
                    ("send_topic", to_topic),
                    ("urgent", urgent),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let fixed = w.t.case(&reference).await;
        assert_eq!(fixed.send_topic.map(|t| t.as_str()), Some(to_topic));
        assert_eq!(fixed.urgent, !case.urgent);

        // A refusal says why, in the error summary, and changes nothing.
        let refused = b
            .post(&act("pause"), &[("csrf", &csrf), ("reason", " ")])
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("govuk-error-summary"));
        assert!(
            refused.body.contains("Say why the clock stops"),
            "{}",
            refused.body
        );
        assert!(w.t.case(&reference).await.paused_at.is_none());

        let steps: &[(&str, &[(&str, &str)])] = &[
            (
                "pause",
                &[("reason", "Waiting for the constituent's consent")],
            ),
            ("resume", &[]),
            (
                "note",
                &[("text", "Rang the school; transport team to call back.")],
            ),
            ("hold", &[("reason", "Complaint to the ombudsman")]),
            ("release", &[]),
            ("answer", &[("at", "")]),
            ("close", &[]),
            ("reopen", &[]),
        ];
        for (action, fields) in steps {
            let mut form = vec![("csrf", csrf.as_str())];
            form.extend_from_slice(fields);
            let done = b.post(&act(action), &form).await;
            assert_eq!(
                done.status,
                StatusCode::SEE_OTHER,
                "{action}: {}",
                done.body
            );
        }
        let case = w.t.case(&reference).await;
        assert_eq!(case.status, "open", "reopened");
        assert!(case.answered_at.is_none() && case.paused_at.is_none());
        let mut conn = w.t.app.store.conn().await.unwrap();
        let events = postroom::store::cases::events(&mut conn, case.id)
            .await
            .unwrap();
        drop(conn);
        // The new topic and urgency replanned the clocks.
        assert!(
            events
                .iter()
                .any(|e| e.actor == lead && e.kind == "due_date_changed")
        );
        let by_lead: Vec<&str> = events
            .iter()
            .filter(|e| e.actor == lead && !e.kind.starts_with("d"))
            .map(|e| e.kind.as_str())
            .collect();
        assert_eq!(
            by_lead,
            [
                "assigned",
                "recategorised",
                "paused",
                "resumed",
                "note",
                "held",
                "hold_lifted",
                "answered",
                "closed",
                "reopened"
            ],
            "{events:?}"
        );
        // The page shows the spell paused and why, and the note's text.
        let page = b.get(&format!("/cases/{reference}")).await;
        let today = postroom::clock::Clock::now(&*w.t.clock).format("%-d %b %Y");
        assert!(
            page.body.contains(&format!(
                "<li>{today} to {today} (0 working days): Waiting for the constituent&#x27;s consent</li>"
            )),
            "{}",
            page.body
        );
        assert!(
            page.body
                .contains("Rang the school; transport team to call back.")
        );

        // A caseworker takes a case but gives none away, holds none, and
        // every action needs the session's token.
        let mut c = w.browser();
        c.sign_in("a.shah@wexcombe.gov.uk").await;
        let (csrf, page) = form_page(&mut c, &path).await;
        assert!(!page.body.contains("id=\"assign-to\""));
        let refused = c
            .post(
                &act("assign"),
                &[("csrf", &csrf), ("to", "b.okoro@wexcombe.gov.uk")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        let refused = c
            .post(&act("hold"), &[("csrf", &csrf), ("reason", "x")])
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            c.post(&act("take"), &[]).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            c.post(&act("take"), &[("csrf", &csrf)]).await.status,
            StatusCode::SEE_OTHER
        );
        let case = w.t.case(&reference).await;
        assert_eq!(case.assignee.as_deref(), Some("a.shah@wexcombe.gov.uk"));
        // Another team's case cannot be acted on by guessing its address.
        let corporate = w.case_of("Corporate").await;
        let refused = c
            .post(&format!("/cases/{corporate}/close"), &[("csrf", &csrf)])
            .await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
        assert_eq!(w.t.case(&corporate).await.closed_at, None);
    }
}

#[tokio::test]
async fn the_demo_serves_its_cases_until_stopped() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_postroom"))
        .args(["demo", "--listen", &format!("127.0.0.1:{port}"), "--dir"])
        .arg(dir.path().join("demo"))
        .env_remove("POSTROOM_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let address = format!("The workspace: http://127.0.0.1:{port}/");
    let printed = tokio::task::spawn_blocking(move || {
        let mut seen = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("The workspace:") {
                break;
            }
        }
        seen
    })
    .await
    .unwrap();
    assert!(printed.contains(&address), "{printed}");
    let mut b = Browser::new(&format!("http://127.0.0.1:{port}"));
    b.sign_in("b.okoro@wexcombe.gov.uk").await;
    let list = b.get("/cases?view=all").await;
    assert!(list.body.contains("MPE-2026-00001"), "{}", list.body);
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
}
