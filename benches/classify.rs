//! Classification speed: the default rules over the text of every message
//! of ../shared/corpus (parsed, and letters read, once beforehand), in one
//! thread, then over 1,000 of ../shared/bench's realistic messages (longer,
//! with HTML and quoted threads) with the 650-MP directory. Target: at
//! least 5,000 messages per second per core.
//!
//!     cargo bench --bench classify

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use postroom::classify::{Classifier, Directory, Settings};
use postroom::extract::Extractor;
use postroom::message::Origin;
use postroom::parse::{self, Message};

#[path = "common/mail.rs"]
mod mail;

/// Classifies every message once to warm up, then `rounds` times: how
/// many were classified, in how many seconds.
fn time(classifier: &Classifier, messages: &[Message], rounds: usize) -> (usize, f64) {
    for m in messages {
        std::hint::black_box(classifier.classify(m));
    }
    let start = Instant::now();
    for _ in 0..rounds {
        for m in messages {
            std::hint::black_box(classifier.classify(m));
        }
    }
    (rounds * messages.len(), start.elapsed().as_secs_f64())
}

fn rate(n: usize, secs: f64) {
    println!(
        "messages per second, 1 core {:>6.0}   (target >= 5000)",
        n as f64 / secs
    );
    println!(
        "mean per message          {:>8.1} µs",
        secs * 1e6 / n as f64
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let labels = postroom::cli::eval::read_labels(&corpus).unwrap();
    let directory = Directory::load(&corpus.join("mps.csv")).unwrap();
    let settings = Settings::new(
        "MPE",
        vec!["harrowden.gov.uk".into()],
        None,
        None,
        "harrowden.gov.uk",
    )
    .unwrap();
    let classifier = Arc::new(Classifier::new(
        postroom::app::embedded_rules().unwrap(),
        directory,
        settings.clone(),
    ));
    let extractor = Extractor {
        ..Extractor::default()
    };

    let mut messages: Vec<Message> = Vec::new();
    for label in &labels {
        let bytes = std::fs::read(corpus.join(&label.file)).unwrap();
        let mut m = if label.file.ends_with(".pdf") {
            Message::letter(&label.file, "application/pdf", &bytes)
        } else {
            parse::parse_email(&bytes)
        };
        match m.origin {
            Origin::Email => extractor.run(&mut m).await,
            Origin::Letter => extractor.letter(&mut m).await,
        }
        messages.push(m);
    }

    let (n, secs) = time(&classifier, &messages, 50);
    println!(
        "rules                     {:>8}",
        classifier.rules.rules.len()
    );
    println!("messages classified       {n:>8}");
    println!("time                      {secs:>8.2} s");
    rate(n, secs);

    // The realistic mail, with every MP of the House in the directory.
    let (folder, mail) = mail::generate(1000);
    let csv = tempfile::NamedTempFile::new().unwrap();
    mail::python(
        &mail::shared_bench().join("directory.py"),
        &[folder.to_str().unwrap(), csv.path().to_str().unwrap()],
    );
    let classifier = Classifier::new(
        postroom::app::embedded_rules().unwrap(),
        Directory::load(csv.path()).unwrap(),
        settings,
    );
    let mut messages = Vec::new();
    for file in &mail.files {
        let mut m = parse::parse_email(&std::fs::read(file).unwrap());
        extractor.run(&mut m).await;
        messages.push(m);
    }
    let text: usize = messages.iter().map(|m| m.body.len()).sum();
    let (n, secs) = time(&classifier, &messages, 5);
    println!();
    println!(
        "realistic mail (../shared/bench, 1,000 messages, {:.0} MB, mean body {} bytes, 650 MPs):",
        mail.bytes as f64 / 1e6,
        text / messages.len()
    );
    rate(n, secs);
}
