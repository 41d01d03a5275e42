//! A real OpenID provider process: panva's oidc-provider from npm
//! (tests/browser/provider.mjs), run with node on a free loopback port,
//! with its development sign-in pages and the accounts a test gives it.
//! `tests/run-all.sh` installs it (`npm ci` in tests/browser); without it
//! the tests that need it fail.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const CLIENT_ID: &str = "postroom-workspace";
pub const SECRET: &str = "test-oidc-client-secret";

pub struct OidcProvider {
    pub port: u16,
    child: Child,
}

impl OidcProvider {
    /// `accounts`: login name → its claims (`email`, `name`, `groups`).
    pub fn start(redirect_uri: &str, accounts: &serde_json::Value) -> OidcProvider {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "oidc-provider is not installed: run `npm ci --prefix tests/browser` (tests/run-all.sh does)"
        );
        let port = crate::ops::free_port();
        let mut child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .args([&port.to_string(), CLIENT_ID, SECRET, redirect_uri])
            .arg(accounts.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts (Debian's nodejs, or node 20 or newer)");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // The provider writes notices to stdout as it works: read on, or
        // it dies of a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        assert_eq!(
            line.trim(),
            format!("listening on {port}"),
            "the OpenID provider did not start"
        );
        OidcProvider { port, child }
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
