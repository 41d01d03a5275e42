//! Runs one extraction tool in a child process with limits.
//!
//! The child gets resource limits before it starts (`setrlimit` in
//! `pre_exec`): address space, CPU time, size of files it writes, no core
//! dumps. Its output is read up to a cap; past the cap, or past the wall-time
//! limit, it is killed. Whatever the tool does, the caller gets text or a
//! reason why there is none.

use std::ffi::OsStr;
use std::fmt;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

/// How far an extraction tool may go.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock time for one run.
    pub wall: Duration,
    /// CPU seconds for one run.
    pub cpu_seconds: u64,
    /// Address space, bytes.
    pub memory: u64,
    /// Largest file the tool may write, bytes (rasterised pages).
    pub file_size: u64,
    /// Most bytes of output read; more is an error.
    pub output: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            wall: Duration::from_secs(60),
            cpu_seconds: 60,
            memory: 1 << 30,
            file_size: 256 << 20,
            output: 4 << 20,
        }
    }
}

/// Why an attachment's text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRead {
    /// The tool is not installed.
    Missing(String),
    TooSlow(Duration),
    TooBig(String),
    /// The tool failed: a damaged file, a crash, a limit.
    Failed(String),
    /// Not a kind of file postroom reads.
    Skipped(String),
}

impl fmt::Display for NotRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotRead::Missing(tool) => write!(f, "{tool} is not installed"),
            NotRead::TooSlow(t) => write!(f, "took longer than {} s", t.as_secs()),
            NotRead::TooBig(what) => write!(f, "{what}"),
            NotRead::Failed(why) => write!(f, "{why}"),
            NotRead::Skipped(why) => write!(f, "{why}"),
        }
    }
}

/// Runs an installed tool found on PATH: `tool args... paths...`.
pub async fn run_limited(
    tool: &str,
    args: &[&str],
    paths: &[&OsStr],
    limits: &Limits,
) -> Result<Vec<u8>, NotRead> {
    let mut all: Vec<&OsStr> = args.iter().map(|a| OsStr::new(*a)).collect();
    all.extend_from_slice(paths);
    run_program(OsStr::new(tool), &all, limits).await
}

/// Runs `program args...` with `limits`; returns its standard output.
// Long: a child process's set-up (rlimits in pre_exec), its wall-time and
// output caps and its reaping are one sequence that must not be interleaved.
pub async fn run_program(
    program: &OsStr,
    args: &[&OsStr],
    limits: &Limits,
) -> Result<Vec<u8>, NotRead> {
    let name = std::path::Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Tesseract would start a thread per core; one is plenty per page.
        .env("OMP_THREAD_LIMIT", "1");
    let (memory, cpu, fsize) = (limits.memory, limits.cpu_seconds, limits.file_size);
    // SAFETY: getpid is always safe.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs in the forked child before exec and calls
    // only setpgid, prctl, getppid and setrlimit, which are
    // async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            // Its own process group (killed as one, below), and killed by
            // the kernel when postroom dies, however it dies.
            if libc::setpgid(0, 0) != 0
                || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                // postroom died between the fork and the prctl.
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            set_limit(libc::RLIMIT_AS, memory)?;
            set_limit(libc::RLIMIT_CPU, cpu)?;
            set_limit(libc::RLIMIT_FSIZE, fsize)?;
            set_limit(libc::RLIMIT_CORE, 0)?;
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(NotRead::Missing(name)),
        Err(e) => return Err(NotRead::Failed(format!("cannot start {name}: {e}"))),
    };
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    // Standard error is read on the side, so that a child that fills it
    // cannot block, and read to the end only after the child is gone.
    let err_task = tokio::spawn(async move {
        let mut err = Vec::new();
        let _ = stderr.take(16 * 1024).read_to_end(&mut err).await;
        err
    });
    let cap = limits.output;
    let mut out = Vec::new();
    let read_out = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = stdout.read(&mut buf).await?;
            if n == 0 {
                return Ok::<bool, std::io::Error>(false);
            }
            out.extend_from_slice(&buf[..n]);
            if out.len() > cap {
                return Ok(true);
            }
        }
    };
    let read = tokio::time::timeout(limits.wall, read_out).await;
    match read {
        Err(_) => {
            kill_group(&mut child).await;
            return Err(NotRead::TooSlow(limits.wall));
        }
        Ok(Ok(true)) => {
            kill_group(&mut child).await;
            return Err(NotRead::TooBig(format!(
                "more than {} MB of text",
                cap >> 20
            )));
        }
        Ok(Err(e)) => {
            kill_group(&mut child).await;
            return Err(NotRead::Failed(format!(
                "{name}: cannot read its output: {e}"
            )));
        }
        Ok(Ok(false)) => {}
    }
    let status = match tokio::time::timeout(limits.wall, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => return Err(NotRead::Failed(format!("{name}: {e}"))),
        Err(_) => {
            kill_group(&mut child).await;
            return Err(NotRead::TooSlow(limits.wall));
        }
    };
    if status.success() {
        return Ok(out);
    }
    let err = tokio::time::timeout(Duration::from_secs(1), err_task)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    use std::os::unix::process::ExitStatusExt;
    let why = match status.signal() {
        Some(libc::SIGXCPU) => return Err(NotRead::TooSlow(Duration::from_secs(cpu))),
        Some(libc::SIGXFSZ) => {
            return Err(NotRead::TooBig(format!(
                "{name} wrote more than {} MB",
                fsize >> 20
            )));
        }
        Some(sig) => format!("{name} stopped by signal {sig}"),
        None => {
            let first = String::from_utf8_lossy(&err)
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("")
                .chars()
                .take(200)
                .collect::<String>();
            format!(
                "{name} failed ({status}){}",
                if first.is_empty() {
                    String::new()
                } else {
                    format!(": {first}")
                }
            )
        }
    };
    Err(NotRead::Failed(why))
}

/// Kills the child's whole process group (anything it started too), then
/// reaps it.
async fn kill_group(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        // SAFETY: signals the group the child leads (setpgid above).
        unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
    }
    let _ = child.kill().await;
}

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: value as libc::rlim_t,
        rlim_max: value as libc::rlim_t,
    };
    // SAFETY: a plain system call with a valid pointer to a local struct.
    if unsafe { libc::setrlimit(resource, &limit) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tool_that_runs_too_long_is_stopped() {
        let limits = Limits {
            wall: Duration::from_millis(300),
            ..Limits::default()
        };
        let start = std::time::Instant::now();
        let r = run_limited("sleep", &["10"], &[], &limits).await;
        assert_eq!(r, Err(NotRead::TooSlow(limits.wall)));
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn too_much_output_is_refused() {
        let limits = Limits {
            output: 1000,
            ..Limits::default()
        };
        let r = run_limited("yes", &[], &[], &limits).await;
        assert!(matches!(r, Err(NotRead::TooBig(_))), "{r:?}");
    }

    #[tokio::test]
    async fn a_missing_tool_and_a_failing_tool_are_told_apart() {
        let limits = Limits::default();
        assert_eq!(
            run_limited("postroom-no-such-tool", &[], &[], &limits).await,
            Err(NotRead::Missing("postroom-no-such-tool".into()))
        );
        let r = run_limited("sh", &["-c", "echo broken >&2; exit 3"], &[], &limits).await;
        assert!(
            matches!(&r, Err(NotRead::Failed(why)) if why.contains("broken")),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn memory_is_capped() {
        let limits = Limits {
            memory: 256 << 20,
            ..Limits::default()
        };
        let small = run_limited(
            "/usr/bin/python3",
            &["-c", "x = bytearray(16 << 20); print(len(x))"],
            &[],
            &limits,
        )
        .await;
        assert_eq!(small, Ok(b"16777216\n".to_vec()));
        let big = run_limited(
            "/usr/bin/python3",
            &["-c", "x = bytearray(512 << 20)"],
            &[],
            &limits,
        )
        .await;
        assert!(matches!(big, Err(NotRead::Failed(_))), "{big:?}");
    }
}
