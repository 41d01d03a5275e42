//! The rule writers' commands: `classify`, `rules check`, `rules test`,
//! and the classifier `eval` uses.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use std::io::Write;

use super::{ClassifyWith, prepare};
use crate::app;
use crate::classify::{Classifier, Directory, Settings};
use crate::config::Config;
use crate::extract::Extractor;
use crate::message::Origin;

/// The classifier for `classify` and `rules test`: the config's, or the
/// built-in rules with a neutral council, and the given MP directory.
pub(super) fn classifier(
    config: Option<&Path>,
    directory: Option<&Path>,
) -> Result<Arc<Classifier>> {
    let directory = match directory {
        Some(path) => Some(Directory::load(path).map_err(|e| {
            anyhow::anyhow!(
                "{}",
                e.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })?),
        None => None,
    };
    match config {
        Some(path) => {
            let prepared = prepare(path)?;
            let c = prepared.classifier;
            Ok(Arc::new(match directory {
                Some(d) => Classifier::new(c.rules, d, c.settings),
                None => c,
            }))
        }
        None => {
            if directory.is_none() {
                eprintln!(
                    "postroom: no --config and no --directory: with no MP directory no sender is known as an MP office, so a genuine enquiry may read as not_mp"
                );
            }
            let rules = app::embedded_rules().map_err(|e| anyhow::anyhow!("{e}"))?;
            let settings = Settings::new("MPE", Vec::new(), None, None, "postroom.invalid")
                .map_err(anyhow::Error::msg)?;
            Ok(Arc::new(Classifier::new(
                rules,
                directory.unwrap_or_default(),
                settings,
            )))
        }
    }
}

fn origin_of(path: &Path) -> Origin {
    let ext = path
        .extension()
        .and_then(|x| x.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "pdf" | "png" | "jpg" | "jpeg" | "tif" | "tiff" => Origin::Letter,
        _ => Origin::Email,
    }
}

/// Reads one file as postroom reads what a source yields: an email or,
/// by its extension, a letter.
async fn read(
    classifier: &Arc<Classifier>,
    extractor: &Extractor,
    path: &Path,
    bytes: Vec<u8>,
) -> (crate::parse::Message, crate::classify::Decision) {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    crate::read::read(
        classifier.clone(),
        extractor,
        Arc::new(bytes),
        origin_of(path),
        name,
    )
    .await
}

pub(super) async fn classify(with: &ClassifyWith) -> Result<ExitCode> {
    let extractor = Extractor::default();
    let classifier = classifier(with.config.config.as_deref(), with.directory.as_deref())?;
    let files = &with.files;
    let mut failed = false;
    let stdout = std::io::stdout();
    for path in files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("postroom: cannot read {}: {e}", path.display());
                failed = true;
                continue;
            }
        };
        let (message, decision) = read(&classifier, &extractor, path, bytes).await;
        let file = path.display().to_string();
        let mut labels = decision.labels(&file);
        if with.explain {
            labels.explain = Some(crate::classify::Explanation {
                decided: decision.explanation.clone(),
                rules: classifier.explain(&message, &decision),
            });
        }
        let mut out = stdout.lock();
        serde_json::to_writer(&mut out, &labels)?;
        writeln!(out)?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub(super) fn rules_check(config: Option<&Path>, rules: Option<&Path>) -> Result<ExitCode> {
    let result = match (rules, config) {
        (Some(dir), _) => crate::classify::Rules::load_dir(dir),
        (None, Some(path)) => {
            let config = Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
            app::load_rules(&config)
        }
        (None, None) => app::embedded_rules(),
    };
    match result {
        Ok(rules) => {
            println!(
                "OK: {} rules and {} extractors in {} files",
                rules.rules.len(),
                rules.extractors.len(),
                rules.files.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!("{} error(s)", errors.0.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

pub(super) async fn rules_test(with: &ClassifyWith) -> Result<ExitCode> {
    let extractor = Extractor::default();
    let classifier = classifier(with.config.config.as_deref(), with.directory.as_deref())?;
    let files = &with.files;
    for path in files {
        let bytes =
            std::fs::read(path).with_context(|| format!("Cannot read {}", path.display()))?;
        let (message, decision) = read(&classifier, &extractor, path, bytes).await;
        println!("{}", path.display());
        println!("  kind            {}", decision.kind);
        println!("  from MP office  {}", decision.from_mp_office);
        println!(
            "  category        {}",
            decision.category.map(|c| c.as_str()).unwrap_or("-")
        );
        println!(
            "  SEND topic      {}",
            decision.send_topic.map(|c| c.as_str()).unwrap_or("-")
        );
        println!("  urgent          {}", decision.urgent);
        println!(
            "  MP              {}",
            decision.mp_name.as_deref().unwrap_or("-")
        );
        println!(
            "  constituency    {}",
            decision.constituency.as_deref().unwrap_or("-")
        );
        println!(
            "  MP reference    {}",
            decision.mp_reference.as_deref().unwrap_or("-")
        );
        println!(
            "  council ref     {}",
            decision.council_reference.as_deref().unwrap_or("-")
        );
        println!("  acknowledge     {}", decision.should_acknowledge);
        if !decision.tags.is_empty() {
            println!("  tags            {}", decision.tags.join(", "));
        }
        for t in &decision.triage {
            println!("  triage          {t}");
        }
        for w in &message.warnings {
            println!("  parse warning   {w}");
        }
        println!("  why:");
        for line in &decision.explanation {
            println!("    {line}");
        }
        println!("  rules matched:");
        for r in classifier.explain(&message, &decision) {
            println!(
                "    {}  [{}; priority {}, weight {}]  {}",
                r.rule,
                r.votes.join(", "),
                r.priority,
                r.weight,
                r.at
            );
            for e in &r.evidence {
                println!("      {e}");
            }
        }
        println!();
    }
    if files.is_empty() {
        bail!("No files given");
    }
    Ok(ExitCode::SUCCESS)
}
