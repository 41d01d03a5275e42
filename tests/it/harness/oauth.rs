//! A real OAuth2 authorisation server process (tests/it/harness/oauth_server.py)
//! on a free loopback port: a token endpoint laid out as Microsoft's, with
//! rotating refresh tokens, and an introspection endpoint for Dovecot's
//! oauth2 passdb and the test SMTP server.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const CLIENT_ID: &str = "0b6c1a5e-7a61-4c1e-9d0e-5f2b8e7c4a10";
pub const SECRET: &str = "test-client-secret";

pub struct OAuthServer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

/// One request to the token endpoint.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub grant_type: String,
    pub scope: Option<String>,
    pub secret_ok: Option<bool>,
    pub refresh_token: Option<String>,
}

impl OAuthServer {
    /// `lifetime`: the access tokens' `expires_in`, in seconds.
    pub fn start(user: &str, lifetime: u32) -> OAuthServer {
        let dir = tempfile::tempdir().unwrap();
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/harness/oauth_server.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .arg("--dir")
            .arg(dir.path())
            .args(["--user", user, "--client-id", CLIENT_ID, "--secret", SECRET])
            .args(["--lifetime", &lifetime.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("the OAuth2 server did not start: {line:?}"))
            .parse()
            .unwrap();
        OAuthServer { port, dir, child }
    }

    pub fn token_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/wexcombe.onmicrosoft.com/oauth2/v2.0/token",
            self.port
        )
    }

    pub fn introspection_url(&self) -> String {
        format!("http://127.0.0.1:{}/introspect", self.port)
    }

    pub fn requests(&self) -> Vec<TokenRequest> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                TokenRequest {
                    grant_type: v["grant_type"].as_str().unwrap_or_default().to_string(),
                    scope: v["scope"].as_str().map(str::to_string),
                    secret_ok: v["secret_ok"].as_bool(),
                    refresh_token: v["refresh_token"].as_str().map(str::to_string),
                }
            })
            .collect()
    }

    /// Makes every access token issued so far inactive (as when an admin
    /// revokes the app's sessions).
    pub fn revoke_all(&self) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.write_all(b"POST /revoke-all HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    }
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
