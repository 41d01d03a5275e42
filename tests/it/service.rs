//! `postroom run` under a service manager: it says READY=1 on the
//! NOTIFY_SOCKET once running, feeds the watchdog, and on SIGTERM says
//! STOPPING=1 and exits cleanly.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use crate::harness::{Backend, Delivery, TestApp};

#[tokio::test]
async fn run_tells_systemd_it_is_ready_feeds_the_watchdog_and_stops_cleanly() {
    let t = TestApp::new(Backend::Sqlite, Delivery::Folder).await;
    let socket_path = t.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // systemd names the service's pid in WATCHDOG_PID: the shell's $$,
    // which exec hands on to postroom.
    let mut child = std::process::Command::new("sh")
        .args([
            "-c",
            "WATCHDOG_PID=$$ exec \"$0\" run --config \"$1\"",
            env!("CARGO_BIN_EXE_postroom"),
        ])
        .arg(t.dir.path().join("postroom.toml"))
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut got: Vec<String> = Vec::new();
    let mut buf = [0u8; 512];
    let mut receive_until = |got: &mut Vec<String>, what: &str, limit: Duration| {
        let start = Instant::now();
        while !got.iter().any(|m| m.contains(what)) && start.elapsed() < limit {
            if let Ok(n) = socket.recv(&mut buf) {
                got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
    };
    receive_until(&mut got, "READY=1", Duration::from_secs(30));
    assert!(got.iter().any(|m| m.contains("READY=1")), "{got:?}");
    // At 0.4 s, the watchdog is fed every 0.2 s.
    let start = Instant::now();
    while got.iter().filter(|m| m.contains("WATCHDOG=1")).count() < 3
        && start.elapsed() < Duration::from_secs(10)
    {
        receive_until(&mut got, "\u{0}never", Duration::from_millis(250));
    }
    assert!(
        got.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 3,
        "{got:?}"
    );
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    receive_until(&mut got, "STOPPING=1", Duration::from_secs(30));
    assert!(got.iter().any(|m| m.contains("STOPPING=1")), "{got:?}");
    let status = child.wait().unwrap();
    assert!(status.success(), "a clean stop after SIGTERM: {status}");
}
