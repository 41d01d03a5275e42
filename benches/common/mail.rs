//! ../shared/bench's realistic mail for the benchmarks: generated at bench
//! time under target/bench-mail (never committed), byte-identical for the
//! same seed and count.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The generated mail: one .eml file each.
pub struct Mail {
    pub files: Vec<PathBuf>,
    pub bytes: u64,
}

pub fn shared_bench() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench");
    assert!(
        dir.join("gen_msgs.py").is_file(),
        "{} is missing: this benchmark measures on ../shared/bench's mail",
        dir.display()
    );
    dir
}

pub fn python(script: &Path, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The seed-42 mail of `count` messages, generated once per count.
pub fn generate(count: usize) -> (PathBuf, Mail) {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-mail/seed42-{count}"));
    let eml = |d: &Path| -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(d)
            .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files
    };
    if eml(&dir).len() != count {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let start = Instant::now();
        python(
            &shared_bench().join("gen_msgs.py"),
            &[
                "--count",
                &count.to_string(),
                "--out",
                dir.to_str().unwrap(),
                "--seed",
                "42",
                "--quiet",
            ],
        );
        eprintln!(
            "generated {count} messages in {:.0} s",
            start.elapsed().as_secs_f64()
        );
    }
    let files = eml(&dir);
    assert_eq!(files.len(), count);
    let bytes = files.iter().map(|f| f.metadata().unwrap().len()).sum();
    (dir, Mail { files, bytes })
}
