//! Waits for a benchmarked child process and measures it.
//!
//! Its peak memory is read from its own /proc/PID/status (VmHWM, the high
//! water mark of the program it runs), sampled until it exits: the
//! `ru_maxrss` that wait4 reports starts from the parent's size at the fork,
//! so a benchmark that holds hundreds of megabytes of mail would report
//! that instead of postroom's own.

use std::time::Duration;

/// What became of a child: exit status, CPU seconds, peak RSS in MB.
pub struct Measured {
    pub status: i32,
    pub cpu: f64,
    pub peak_mb: f64,
}

fn high_water_kb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Waits for `child` (reaping it), sampling its memory every 20 ms.
pub fn wait(child: std::process::Child) -> Measured {
    let pid = child.id();
    let mut peak_kb: f64 = 0.0;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        if let Some(kb) = high_water_kb(pid) {
            peak_kb = peak_kb.max(kb);
        }
        // SAFETY: waits for our own child with valid pointers.
        let got =
            unsafe { libc::wait4(pid as libc::pid_t, &mut status, libc::WNOHANG, &mut usage) };
        if got == pid as libc::pid_t {
            break;
        }
        assert!(
            got == 0,
            "wait4 failed: {}",
            std::io::Error::last_os_error()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Reaped above; the handle has nothing left to wait for.
    std::mem::forget(child);
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Measured {
        status,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        peak_mb: peak_kb / 1024.0,
    }
}
