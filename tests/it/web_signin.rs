//! Sign-in to the workspace with a real OpenID provider (oidc-provider,
//! run with node): the authorisation code flow with PKCE, the person's
//! role from the config and the provider's groups, and the ways a sign-in
//! is refused.

use reqwest::StatusCode;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::harness::oidc::{CLIENT_ID, OidcProvider, SECRET};
use crate::harness::{Backend, Delivery, TestApp, backends};
use crate::ops::free_port;
use crate::web::{Browser, Page, config};

struct Signed {
    t: TestApp,
    provider: OidcProvider,
    /// Where the test reaches the workspace (its listener on loopback).
    base: String,
    /// Where people open it: `base`, or the https address of the council's
    /// TLS proxy in front of it.
    public: String,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Signed {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn start(backend: Backend) -> Signed {
    start_at(backend, None).await
}

/// The workspace with the provider, opened at `public` (an https address
/// behind the council's proxy) when given.
async fn start_at(backend: Backend, public: Option<&str>) -> Signed {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let public = public.unwrap_or(&base).to_string();
    let provider = OidcProvider::start(
        &format!("{public}/sign-in/callback"),
        &json!({
            "alex": { "email": "a.shah@wexcombe.gov.uk", "name": "Alex Shah" },
            "morgan": { "email": "morgan.lee@wexcombe.gov.uk", "name": "Morgan Lee", "groups": ["send-managers"] },
            "sam": { "email": "sam.nobody@wexcombe.gov.uk", "groups": ["everyone"] },
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("oidc-secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let mut web = config(port);
    if public != base {
        web.push_str(&format!("public_url = \"{public}\"\n"));
    }
    let extra = format!(
        "{}\n[web.oidc]\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"{}\"\nmanager_groups = [\"send-managers\"]\n",
        web,
        provider.issuer(),
        secret.display()
    );
    let t = TestApp::with_extra(backend, Delivery::Folder, &extra).await;
    t.deliver_sample_mailbox();
    t.run_once().await;
    let stop = CancellationToken::new();
    postroom::web::serve(t.app.clone(), stop.clone())
        .await
        .expect("the workspace starts");
    Signed {
        t,
        provider,
        base,
        public,
        stop,
        _dir: dir,
    }
}

/// Follows redirects from `page`, as a browser does; the last page.
async fn follow(b: &mut Browser, mut page: Page, origin: &str) -> (Page, Vec<String>) {
    let mut went = Vec::new();
    while page.status.is_redirection() {
        let to = page.location().to_string();
        let to = if to.starts_with('/') {
            format!("{origin}{to}")
        } else {
            to
        };
        went.push(to.clone());
        page = b.get(&to).await;
    }
    (page, went)
}

/// Posts the first form of `page` (an HTML page of the provider's), with
/// its hidden fields and `fields`.
async fn submit(b: &mut Browser, page: &Page, fields: &[(&str, &str)], origin: &str) -> Page {
    let form = page
        .body
        .split("<form")
        .nth(1)
        .unwrap_or_else(|| panic!("a form in {}", page.body));
    let action = form
        .split("action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let action = if action.starts_with('/') {
        format!("{origin}{action}")
    } else {
        action.to_string()
    };
    let mut all: Vec<(String, String)> = form
        .split("<input")
        .skip(1)
        .filter(|i| i.contains("type=\"hidden\""))
        .map(|i| {
            let attr = |n: &str| {
                i.split(&format!("{n}=\""))
                    .nth(1)
                    .map(|v| v.split('"').next().unwrap().to_string())
                    .unwrap_or_default()
            };
            (attr("name"), attr("value"))
        })
        .collect();
    all.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post(&action, &all).await
}

/// Signs in as `login` at the provider's development sign-in page; the
/// page postroom answers with, and the addresses the browser went to.
async fn sign_in(s: &Signed, b: &mut Browser, login: &str) -> (Page, Vec<String>) {
    let start = b.get("/sign-in").await;
    assert!(
        start.body.contains("Sign in with your council account"),
        "{}",
        start.body
    );
    assert!(!start.body.contains("Local sign-in"));
    let page = b.get("/sign-in/start?then=/cases?view=all").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let to_provider = page.location().to_string();
    assert!(
        to_provider.starts_with(&s.provider.issuer()),
        "{to_provider}"
    );
    for part in [
        "code_challenge=",
        "code_challenge_method=S256",
        "state=",
        "nonce=",
        "response_type=code",
    ] {
        assert!(to_provider.contains(part), "{part} in {to_provider}");
    }
    let (form, _) = follow(b, page, &s.provider.issuer()).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let posted = submit(
        b,
        &form,
        &[("login", login), ("password", "anything")],
        &s.provider.issuer(),
    )
    .await;
    let origin = s.provider.issuer();
    let mut went = Vec::new();
    let mut page = posted;
    // Back and forth between the provider and postroom, to the end.
    while page.status.is_redirection() {
        // The proxy passes the public address on to the listener.
        let to = page.location().replacen(&s.public, &s.base, 1);
        let to = if to.starts_with('/') {
            let here = went.last().cloned().unwrap_or_else(|| origin.clone());
            let host = if here.starts_with(&s.base) {
                &s.base
            } else {
                &origin
            };
            format!("{host}{to}")
        } else {
            to
        };
        went.push(to.clone());
        page = b.get(&to).await;
    }
    (page, went)
}

#[tokio::test]
async fn a_caseworker_signs_in_with_the_councils_identity_provider() {
    for backend in backends() {
        let s = start(backend).await;
        let mut b = Browser::new(&s.base);
        let (page, went) = sign_in(&s, &mut b, "alex").await;
        assert_eq!(page.status, StatusCode::OK, "{went:?} {}", page.body);
        assert!(
            went.iter()
                .any(|u| u.starts_with(&format!("{}/sign-in/callback?", s.base))),
            "{went:?}"
        );
        assert_eq!(
            went.last().unwrap(),
            &format!("{}/cases?view=all", s.base),
            "{went:?}"
        );
        assert!(
            page.body.contains("Alex Shah (caseworker)"),
            "{}",
            page.body
        );
        // A caseworker of the SEND team: its cases only.
        let send = s.t.cases().await;
        let theirs = send
            .iter()
            .filter(|c| c.team.as_deref() == Some("SEND"))
            .count();
        assert_eq!(
            page.body
                .matches("class=\"govuk-link postroom-nowrap\"")
                .count(),
            theirs
        );
        // The code and state are good once: the same callback again opens
        // nothing.
        let callback = went
            .iter()
            .find(|u| u.contains("/sign-in/callback?"))
            .unwrap()
            .clone();
        let mut other = Browser::new(&s.base);
        let again = other.get(&callback).await;
        assert_eq!(again.location(), "/sign-in?refused=expired");
        assert!(!other.cookies.iter().any(|(k, _)| k == "postroom"));

        // A manager by the provider's group.
        let mut m = Browser::new(&s.base);
        let (page, _) = sign_in(&s, &mut m, "morgan").await;
        assert!(page.body.contains("Morgan Lee (manager)"), "{}", page.body);
        assert_eq!(
            page.body
                .matches("class=\"govuk-link postroom-nowrap\"")
                .count(),
            send.len()
        );

        // Signed in at the provider, unknown to postroom: no session.
        let mut n = Browser::new(&s.base);
        let (page, went) = sign_in(&s, &mut n, "sam").await;
        assert!(
            went.last().unwrap().ends_with("/sign-in?refused=no-role"),
            "{went:?}"
        );
        assert!(
            page.body.contains("you have no role in postroom"),
            "{}",
            page.body
        );
        assert!(!n.cookies.iter().any(|(k, _)| k == "postroom"));

        // A state postroom did not hand out is refused.
        let mut f = Browser::new(&s.base);
        let forged = f.get("/sign-in/callback?code=abc&state=made-up").await;
        assert_eq!(forged.location(), "/sign-in?refused=expired");

        let mut conn = s.t.app.store.conn().await.unwrap();
        let audit =
            postroom::store::web::accesses(&mut conn, postroom::store::web::Of::Everyone, 100)
                .await
                .unwrap();
        let signed: Vec<(&str, &str, &str)> = audit
            .iter()
            .rev()
            .filter(|a| a.action == "signed_in" || a.action == "refused")
            .map(|a| (a.who.as_str(), a.action.as_str(), a.detail.as_str()))
            .collect();
        assert_eq!(
            signed,
            [
                ("a.shah@wexcombe.gov.uk", "signed_in", r#"{"by":"oidc"}"#),
                (
                    "morgan.lee@wexcombe.gov.uk",
                    "signed_in",
                    r#"{"by":"oidc"}"#
                ),
                (
                    "sam.nobody@wexcombe.gov.uk",
                    "refused",
                    r#"{"why":"no role"}"#
                ),
            ]
        );
    }
}

#[tokio::test]
async fn with_an_identity_provider_there_is_no_local_sign_in() {
    let s = start(Backend::Sqlite).await;
    let mut b = Browser::new(&s.base);
    let page = b.get("/sign-in").await;
    assert!(!page.body.contains("name=\"guard\""));
    let refused = b
        .post(
            "/sign-in/local",
            &[("guard", "x"), ("email", "a.shah@wexcombe.gov.uk")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
}

/// Behind the council's TLS proxy (an https `public_url`): HSTS on every
/// response, and cookies the browser keeps only over TLS, for this host
/// (`__Host-`, `Secure`), through the whole sign-in.
#[tokio::test]
async fn behind_tls_cookies_are_secure_and_hsts_is_sent() {
    let s = start_at(Backend::Sqlite, Some("https://postroom.wexcombe.gov.uk")).await;
    let mut b = Browser::new(&s.base);
    let page = b.get("/sign-in").await;
    let hsts = |p: &Page| {
        p.headers
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(
        hsts(&page).as_deref(),
        Some("max-age=31536000; includeSubDomains")
    );
    let login = page.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        login.starts_with("__Host-postroom-signin=")
            && login.contains("; Path=/; HttpOnly; SameSite=Lax; Secure"),
        "{login}"
    );
    let (page, went) = sign_in(&s, &mut b, "alex").await;
    assert_eq!(page.status, StatusCode::OK, "{went:?} {}", page.body);
    assert!(page.body.contains("Alex Shah (caseworker)"));
    assert!(hsts(&page).is_some());
    let session: Vec<&(String, String)> = b
        .cookies
        .iter()
        .filter(|(k, _)| k.starts_with("__Host-postroom") && k != "__Host-postroom-signin")
        .collect();
    assert_eq!(session.len(), 1, "{:?}", b.cookies);
    assert!(!b.cookies.iter().any(|(k, _)| k == "postroom"));
    // The provider was told to send the person back to the public address.
    assert!(
        went.iter()
            .any(|u| u.starts_with(&format!("{}/sign-in/callback?", s.base))),
        "{went:?}"
    );
}
