//! The workspace served over a benchmark's store (a council of one SEND
//! team, a manager who sees every case), signed in as that manager.

use std::sync::Arc;

use postroom::store::Store;

pub struct Served {
    pub base: String,
    pub client: reqwest::Client,
    /// The manager's session cookie.
    pub cookie: String,
    pub stop: tokio_util::sync::CancellationToken,
    /// The folder the config lives in, kept while the server runs.
    pub _dir: tempfile::TempDir,
}

/// Serves the workspace over `store` on a free loopback port, its clock
/// stopped at `now` (RFC 3339).
pub async fn serve(store: &Store, now: &str) -> Served {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("postroom.toml");
    std::fs::write(
        &config,
        format!(
            "[council]\nname = \"Bench\"\nmailbox = \"mp@council.example\"\n\
             [database]\nurl = \"sqlite:unused.sqlite\"\n[delivery]\ntransport = \"file\"\npath = \"out\"\n\
             [[team]]\nname = \"SEND\"\ncategories = [\"send\"]\nmanager = \"m@council.example\"\nmembers = [\"a@council.example\"]\n\
             [web]\nlisten = \"127.0.0.1:{port}\"\nmanagers = [\"head@council.example\"]\n"
        ),
    )
    .unwrap();
    let config = postroom::config::Config::load(&config).unwrap_or_else(|e| panic!("{e}"));
    let prepared = postroom::app::Prepared::new(config).unwrap_or_else(|p| panic!("{p}"));
    let now = chrono::DateTime::parse_from_rfc3339(now)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let app = Arc::new(postroom::app::App::new(
        prepared,
        store.clone(),
        postroom::clock::FixedClock::new(now),
    ));
    let stop = tokio_util::sync::CancellationToken::new();
    postroom::web::serve(app, stop.clone()).await.unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = sign_in(&client, &base, "head@council.example").await;
    Served {
        base,
        client,
        cookie,
        stop,
        _dir: dir,
    }
}

/// Signs in locally as `email`; the session cookie.
async fn sign_in(client: &reqwest::Client, base: &str, email: &str) -> String {
    let page = client.get(format!("{base}/sign-in")).send().await.unwrap();
    let cookie = page
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body = page.text().await.unwrap();
    let guard = body
        .split("name=\"guard\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let done = client
        .post(format!("{base}/sign-in/local"))
        .header("Cookie", cookie)
        .form(&[("guard", guard.as_str()), ("email", email)])
        .send()
        .await
        .unwrap();
    done.headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("postroom="))
        .expect("a session")
}
