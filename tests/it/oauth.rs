//! OAuth2 (SASL XOAUTH2) as Microsoft 365 requires, against a real token
//! endpoint process, Dovecot's oauth2 passdb and a real SMTP server that
//! both check each token with the endpoint's introspection.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::harness::dovecot::{self, Dovecot, Options};
use crate::harness::oauth::{CLIENT_ID, OAuthServer, SECRET};
use crate::harness::smtp::SmtpServer;
use crate::harness::{Backend, Delivery, TestApp, synthetic_messages};

fn imap_oauth_source(port: u16, extra: &str) -> String {
    format!(
        "[[source]]\nname = \"mailbox\"\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
         username = \"{}\"\nauth = \"oauth2\"\ncommand_timeout = \"10s\"\nsince = \"2000-01-01T00:00:00Z\"\n{extra}\n",
        dovecot::USER
    )
}

fn oauth_dovecot(server: &OAuthServer) -> Dovecot {
    Dovecot::start_with(Options {
        introspection_url: Some(server.introspection_url()),
        ..Options::default()
    })
}

async fn count_messages(t: &TestApp) -> usize {
    let mut conn = t.app.store.conn().await.unwrap();
    postroom::store::messages::all(&mut conn)
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegated_refresh_token_is_rotated_saved_and_renewed_before_expiry() {
    let server = OAuthServer::start(dovecot::USER, 3600);
    let d = oauth_dovecot(&server);
    d.append("INBOX", &synthetic_messages(2), None).await;
    let secrets = tempfile::tempdir().unwrap();
    let refresh_file = secrets.path().join("refresh-token");
    std::fs::write(&refresh_file, "rt-1\n").unwrap();
    let extra = format!(
        "{}\n[oauth]\nflow = \"refresh_token\"\ntoken_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nrefresh_token_file = \"{}\"\n",
        imap_oauth_source(d.port, "idle_timeout = \"1s\""),
        server.token_url(),
        refresh_file.display()
    );
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Folder, &extra).await;

    // The daemon logs in with XOAUTH2 and reads the mailbox.
    let stop = tokio_util::sync::CancellationToken::new();
    let handle = {
        let (app, stop) = (t.app.clone(), stop.clone());
        tokio::spawn(async move { postroom::daemon::run(app, stop).await.unwrap() })
    };
    let start = Instant::now();
    while count_messages(&t).await < 2 && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count_messages(&t).await, 2, "read over XOAUTH2");
    let first = server.requests();
    assert_eq!(first.len(), 1, "one token for the session: {first:?}");
    assert_eq!(first[0].grant_type, "refresh_token");
    assert_eq!(first[0].refresh_token.as_deref(), Some("rt-1"));
    let scope = first[0].scope.clone().unwrap_or_default();
    assert!(
        scope.contains("https://outlook.office365.com/IMAP.AccessAsUser.All")
            && scope.contains("offline_access"),
        "the scope is sent on the refresh: {scope}"
    );
    assert_eq!(
        std::fs::read_to_string(&refresh_file).unwrap().trim(),
        "rt-2",
        "the rotated refresh token is saved at once"
    );
    let mode = std::fs::metadata(&refresh_file)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the saved token is private");

    // Fifty-six minutes on, the token has four minutes left: the source
    // renews it and logs in again before the server would end the session.
    t.clock.advance(chrono::Duration::minutes(56));
    let start = Instant::now();
    while server.requests().len() < 2 && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tokens = server.requests();
    assert_eq!(tokens.len(), 2, "renewed before expiry: {tokens:?}");
    assert_eq!(
        tokens[1].refresh_token.as_deref(),
        Some("rt-2"),
        "the saved token is the one used"
    );
    assert!(
        tokens[1]
            .scope
            .as_deref()
            .is_some_and(|s| s.contains("IMAP.AccessAsUser.All"))
    );
    // Saved as soon as the answer is in (the server counts the request
    // before postroom has read the answer).
    let start = Instant::now();
    while std::fs::read_to_string(&refresh_file).unwrap().trim() != "rt-3"
        && start.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        std::fs::read_to_string(&refresh_file).unwrap().trim(),
        "rt-3"
    );

    // Mail keeps coming in on the renewed session.
    d.append("INBOX", &synthetic_messages(3)[2..], None).await;
    let start = Instant::now();
    while count_messages(&t).await < 3 && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count_messages(&t).await, 3);
    stop.cancel();
    handle.await.unwrap();
    assert!(
        d.log()
            .matches("Login: user=<mpenquiries@wexcombe.gov.uk>, method=XOAUTH2")
            .count()
            >= 2,
        "Dovecot saw two XOAUTH2 logins:\n{}",
        d.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_read_the_mailbox_and_send_the_acknowledgement_over_xoauth2() {
    let server = OAuthServer::start(dovecot::USER, 3600);
    let d = oauth_dovecot(&server);
    d.append(
        "INBOX",
        &[postroom::cli::demo::SAMPLE_MAILBOX[2].1.to_vec()],
        None,
    )
    .await;
    let smtp = SmtpServer::start_with(&["--introspect", &server.introspection_url()]);
    // SAFETY: every test writes the same value to this variable.
    unsafe { std::env::set_var("POSTROOM_TEST_OAUTH_SECRET", SECRET) };
    let delivery = format!(
        "[delivery]\ntransport = \"smtp\"\nretry_for = \"1h\"\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
         timeout = \"10s\"\nauth = \"oauth2\"\nusername = \"{}\"\n",
        smtp.port,
        dovecot::USER
    );
    let extra = format!(
        "{}\n[oauth]\nflow = \"client_credentials\"\ntoken_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_env = \"POSTROOM_TEST_OAUTH_SECRET\"\n",
        imap_oauth_source(d.port, ""),
        server.token_url(),
    );
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Toml(delivery), &extra).await;

    let (outcomes, totals) = t.run_once().await;

    assert_eq!(outcomes.len(), 1);
    assert_eq!(totals.sent, 1, "{totals:?}");
    let got = smtp.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].auth.as_deref(),
        Some(dovecot::USER),
        "SMTP AUTH XOAUTH2 as the mailbox"
    );
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        1,
        "IMAP and SMTP share one token: {requests:?}"
    );
    assert_eq!(requests[0].grant_type, "client_credentials");
    assert_eq!(requests[0].secret_ok, Some(true));
    assert_eq!(
        requests[0].scope.as_deref(),
        Some("https://outlook.office365.com/.default")
    );

    // The tenant revokes the app's tokens. The next acknowledgement's token
    // is refused (535): that is no fault of the mail, which waits for a
    // new token and goes out on the next try.
    server.revoke_all();
    t.deliver("second.eml", postroom::cli::demo::SAMPLE_MAILBOX[0].1);
    let opened = t.poll().await;
    assert_eq!(opened.len(), 1);
    let worker = postroom::daemon::worker(&t.app).unwrap();
    let refused = worker.deliver_all_due().await.unwrap();
    assert_eq!(
        (refused.sent, refused.retried, refused.failed),
        (0, 1, 0),
        "{refused:?}"
    );
    t.clock.advance(chrono::Duration::hours(1));
    let again = worker.deliver_all_due().await.unwrap();
    assert_eq!(again.sent, 1, "{again:?}");
    assert_eq!(server.requests().len(), 2, "a new token after the refusal");
    let got = smtp.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].auth.as_deref(), Some(dovecot::USER));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_client_secret_is_a_clear_error_that_shows_no_secret() {
    let server = OAuthServer::start(dovecot::USER, 3600);
    let d = oauth_dovecot(&server);
    d.append("INBOX", &synthetic_messages(1), None).await;
    // SAFETY: every test writes the same value to this variable.
    unsafe { std::env::set_var("POSTROOM_TEST_WRONG_SECRET", "not-the-secret-4f2a") };
    let extra = format!(
        "{}\n[oauth]\nflow = \"client_credentials\"\ntoken_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_env = \"POSTROOM_TEST_WRONG_SECRET\"\n",
        imap_oauth_source(d.port, ""),
        server.token_url(),
    );
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Folder, &extra).await;

    let err = postroom::daemon::run_once(&t.app).await.unwrap_err();

    let text = format!("{err:#}");
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains("not-the-secret-4f2a"), "{text}");
    assert_eq!(count_messages(&t).await, 0);
    let statuses = postroom::schedule::health::status(&t.app, None)
        .await
        .unwrap();
    assert!(!statuses[1].ok, "the source is red: {statuses:?}");
    assert!(
        statuses[1]
            .failure
            .as_deref()
            .unwrap()
            .contains("invalid_client")
    );
}
