//! Every message of ../shared/corpus-realworld through the ingest path:
//! time per message (median, p99, max, the slowest five) and the totals.
//! Target: none over 5 s.
//!
//!     cargo bench --bench robustness

use std::path::{Path, PathBuf};
use std::time::Instant;

use postroom::app::{App, Prepared};
use postroom::config::Config;
use postroom::ingest::{self, Outcome};
use postroom::message::{Origin, RawMessage};
use postroom::source::{Checkpoint, Incoming};

#[tokio::main]
async fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus-realworld");
    // The messages are the files MANIFEST.sha256 lists, but for the TNEF
    // payloads (attachments, not messages).
    let manifest = std::fs::read_to_string(root.join("MANIFEST.sha256")).unwrap();
    let mut files: Vec<PathBuf> = manifest
        .lines()
        .filter_map(|l| l.split_once("  ").map(|(_, p)| root.join(p.trim())))
        .filter(|p| !p.starts_with(root.join("tnef")))
        .collect();
    files.sort();

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("postroom.toml"),
        "[council]\nname = \"Bench\"\nmailbox = \"mp@bench.example\"\n[database]\nurl = \"sqlite:db.sqlite\"\n\
[delivery]\ntransport = \"file\"\npath = \"out\"\n",
    )
    .unwrap();
    let config = Config::load(&dir.path().join("postroom.toml")).unwrap();
    let prepared = Prepared::new(config).unwrap();
    let app = App::start(prepared, postroom::clock::system())
        .await
        .unwrap();

    let mut times = Vec::new();
    let (mut stored, mut duplicates, mut failed) = (0, 0, 0);
    let all = Instant::now();
    for (i, path) in files.iter().enumerate() {
        let incoming = Incoming {
            source: "realworld".into(),
            raw: RawMessage::new(std::fs::read(path).unwrap(), Origin::Email),
            arrived: None,
            history: false,
            checkpoint: Checkpoint::File {
                name: format!("{i:05}"),
                path: path.clone(),
            },
        };
        let start = Instant::now();
        match ingest::ingest(&app, &incoming).await {
            Ok(Outcome::Duplicate) => duplicates += 1,
            Ok(_) => stored += 1,
            Err(e) => {
                failed += 1;
                eprintln!("{}: {e:#}", path.display());
            }
        }
        times.push((
            start.elapsed().as_secs_f64(),
            path.strip_prefix(&root).unwrap().display().to_string(),
        ));
    }
    let total = all.elapsed().as_secs_f64();
    let mut sorted: Vec<f64> = times.iter().map(|t| t.0).collect();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| sorted[((sorted.len() as f64 - 1.0) * p).round() as usize];
    println!("messages                 {:>8}", files.len());
    println!("stored / duplicates      {stored:>8} / {duplicates}");
    println!("failed                   {failed:>8}");
    println!("total                    {total:>8.2} s");
    println!("per message: median      {:>8.1} ms", q(0.5) * 1000.0);
    println!("per message: p99         {:>8.1} ms", q(0.99) * 1000.0);
    println!(
        "per message: max         {:>8.1} ms   (target < 5000 ms)",
        q(1.0) * 1000.0
    );
    times.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (t, name) in times.iter().take(5) {
        println!("  slowest: {:>8.1} ms  {name}", t * 1000.0);
    }
}
