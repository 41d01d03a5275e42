//! A real browser: Debian's chromium, headless, driven through its
//! chromedriver (WebDriver) by fantoccini; and axe-core (npm, in
//! tests/browser) run in the page. Without chromium and chromium-driver
//! the tests that need them fail.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub struct Browser {
    pub c: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// Keys as WebDriver spells them.
pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";
pub const DOWN: &str = "\u{E015}";

impl Browser {
    pub async fn start() -> Browser {
        let port = crate::ops::free_port();
        // In a process group of its own, so that the chromium it starts
        // goes with it, even when a test fails half-way (see Drop).
        let driver = Command::new("chromedriver")
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts (Debian's chromium-driver)");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,1000", "--no-first-run", "--disable-extensions",
                    "--disable-background-networking", "--disable-component-update",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => {
                    return Browser {
                        c,
                        driver,
                        _profile: profile,
                    };
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromium did not start under chromedriver: {last:?}");
    }

    pub async fn goto(&self, url: &str) {
        self.c.goto(url).await.unwrap();
    }

    pub async fn url(&self) -> String {
        self.c.current_url().await.unwrap().to_string()
    }

    pub async fn text(&self, css: &str) -> String {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    pub async fn source(&self) -> String {
        self.c.source().await.unwrap()
    }

    /// Presses Tab until the element `css` has the focus (at most `limit`
    /// times): it can be reached with the keyboard alone.
    pub async fn tab_to(&self, css: &str, limit: usize) {
        for _ in 0..limit {
            let here = self
                .c
                .execute(
                    "return document.activeElement && document.activeElement.matches(arguments[0]);",
                    vec![json!(css)],
                )
                .await
                .unwrap();
            if here == Value::Bool(true) {
                return;
            }
            self.keys(TAB).await;
        }
        panic!("{css} was not reached with {limit} presses of Tab");
    }

    /// Chooses the radio button `value` of group `name` as the keyboard
    /// does: Tab to the group (its chosen button), then the arrow keys.
    pub async fn choose(&self, name: &str, value: &str) {
        self.tab_to(&format!("input[name='{name}']:checked"), 300)
            .await;
        for _ in 0..30 {
            let here = self
                .c
                .execute("return document.activeElement.value;", vec![])
                .await
                .unwrap();
            if here == Value::String(value.into()) {
                return;
            }
            self.keys(DOWN).await;
        }
        panic!("the arrow keys never reached {name} = {value}");
    }

    /// Types `keys` into whatever has the focus.
    pub async fn keys(&self, keys: &str) {
        self.c
            .active_element()
            .await
            .unwrap()
            .send_keys(keys)
            .await
            .unwrap();
    }

    /// Runs axe-core in the page at WCAG 2.2 AA: the violations, as
    /// "rule: the elements".
    pub async fn axe(&self) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser/node_modules/axe-core/axe.min.js");
        let axe = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("axe-core is not installed ({}): {e}", path.display()));
        self.c.execute(&axe, vec![]).await.unwrap();
        let result = self
            .c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
                   .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .unwrap();
        result
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    pub async fn screenshot(&self, to: &std::path::Path) {
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(to, png).unwrap();
    }

    pub async fn close(self) {
        let _ = self.c.clone().close().await;
    }
}

/// chromedriver and every browser it started end with the test, however
/// it ends: a failed test leaves no chromium running.
impl Drop for Browser {
    fn drop(&mut self) {
        // SAFETY: signals the process group of our own child.
        unsafe { libc::kill(-(self.driver.id() as i32), libc::SIGKILL) };
        let _ = self.driver.wait();
    }
}
