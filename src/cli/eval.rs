//! `postroom eval`: how well the rules classify a labelled corpus.
//!
//! The corpus has the layout of `../shared/corpus` (SCHEMA.md): a
//! `labels.jsonl` with one object per message, the files it names, and an
//! MP directory `mps.csv`. The report gives the accuracy of every field, the
//! confusion of `kind` and `category`, urgent's precision and recall, and
//! every acknowledgement decision that is wrong (the ones that would have
//! answered a message that must not be answered first).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::classify::{Classifier, Decision};
use crate::extract::Extractor;
use crate::message::Origin;

/// One line of `labels.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    pub id: String,
    pub file: String,
    #[serde(default)]
    pub source: Option<String>,
    pub kind: String,
    pub from_mp_office: bool,
    pub category: Option<String>,
    pub send_topic: Option<String>,
    pub urgent: bool,
    pub mp_name: Option<String>,
    pub constituency: Option<String>,
    pub mp_reference: Option<String>,
    pub council_reference: Option<String>,
    pub should_acknowledge: bool,
}

pub fn read_labels(corpus: &Path) -> Result<Vec<Label>> {
    let path = corpus.join("labels.jsonl");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("Cannot read {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{}:{}: not a label", path.display(), i + 1))
        })
        .collect()
}

/// A decision next to its label.
#[derive(Debug, Clone)]
pub struct Scored {
    pub label: Label,
    pub decision: Decision,
}

fn s<T: ToString>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(|x| x.to_string())
}

/// The fields compared, as (name, label value, decided value).
pub fn fields(x: &Scored) -> Vec<(&'static str, Option<String>, Option<String>)> {
    let (l, d) = (&x.label, &x.decision);
    vec![
        ("kind", Some(l.kind.clone()), Some(d.kind.to_string())),
        (
            "from_mp_office",
            Some(l.from_mp_office.to_string()),
            Some(d.from_mp_office.to_string()),
        ),
        ("category", l.category.clone(), s(&d.category)),
        ("send_topic", l.send_topic.clone(), s(&d.send_topic)),
        (
            "urgent",
            Some(l.urgent.to_string()),
            Some(d.urgent.to_string()),
        ),
        ("mp_name", l.mp_name.clone(), d.mp_name.clone()),
        (
            "constituency",
            l.constituency.clone(),
            d.constituency.clone(),
        ),
        (
            "mp_reference",
            l.mp_reference.clone(),
            d.mp_reference.clone(),
        ),
        (
            "council_reference",
            l.council_reference.clone(),
            d.council_reference.clone(),
        ),
        (
            "should_acknowledge",
            Some(l.should_acknowledge.to_string()),
            Some(d.should_acknowledge.to_string()),
        ),
    ]
}

/// Classifies every labelled file.
pub async fn score(
    classifier: Arc<Classifier>,
    extractor: &Extractor,
    corpus: &Path,
    labels: Vec<Label>,
) -> Result<Vec<Scored>> {
    let mut out = Vec::with_capacity(labels.len());
    for label in labels {
        let path: PathBuf = corpus.join(&label.file);
        let bytes =
            std::fs::read(&path).with_context(|| format!("Cannot read {}", path.display()))?;
        let origin = match label.source.as_deref() {
            Some("letter") => Origin::Letter,
            Some(_) => Origin::Email,
            None if label.file.ends_with(".pdf") => Origin::Letter,
            None => Origin::Email,
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let (_, decision) =
            crate::read::read(classifier.clone(), extractor, Arc::new(bytes), origin, name).await;
        out.push(Scored { label, decision });
    }
    Ok(out)
}

/// The printed report.
// Long: the evaluation report is printed section by section: accuracies,
// confusion tables, wrong acknowledgement decisions.
pub fn report(scored: &[Scored]) -> String {
    let mut out = String::new();
    let n = scored.len();
    let _ = writeln!(out, "{n} messages\n");
    let _ = writeln!(out, "{:<20} {:>8} {:>8}", "field", "right", "share");
    let names: Vec<&str> = scored
        .first()
        .map(|x| fields(x).iter().map(|f| f.0).collect())
        .unwrap_or_default();
    for (i, name) in names.iter().enumerate() {
        let (right, total) = if *name == "send_topic" {
            let send: Vec<&Scored> = scored
                .iter()
                .filter(|x| x.label.category.as_deref() == Some("send"))
                .collect();
            (
                send.iter()
                    .filter(|x| {
                        let f = &fields(x)[i];
                        f.1 == f.2
                    })
                    .count(),
                send.len(),
            )
        } else {
            (
                scored
                    .iter()
                    .filter(|x| {
                        let f = &fields(x)[i];
                        f.1 == f.2
                    })
                    .count(),
                n,
            )
        };
        let label = if *name == "send_topic" {
            "send_topic (SEND)"
        } else {
            name
        };
        let _ = writeln!(
            out,
            "{label:<20} {right:>4}/{total:<4} {:>7.1}%",
            percent(right, total)
        );
    }

    let tp = scored
        .iter()
        .filter(|x| x.label.urgent && x.decision.urgent)
        .count();
    let fp = scored
        .iter()
        .filter(|x| !x.label.urgent && x.decision.urgent)
        .count();
    let fn_ = scored
        .iter()
        .filter(|x| x.label.urgent && !x.decision.urgent)
        .count();
    let _ = writeln!(
        out,
        "\nurgent: recall {:.1}% ({tp}/{}), precision {:.1}% ({tp}/{})",
        percent(tp, tp + fn_),
        tp + fn_,
        percent(tp, tp + fp),
        tp + fp
    );

    for (field, idx) in [("kind", 0usize), ("category", 2)] {
        let _ = writeln!(
            out,
            "\nconfusion of {field} (rows: label, columns: decided)"
        );
        confusion(&mut out, scored, idx);
    }

    let _ = writeln!(out, "\nwrong acknowledgement decisions:");
    let mut any = false;
    for x in scored {
        if x.label.should_acknowledge != x.decision.should_acknowledge {
            any = true;
            let what = if x.decision.should_acknowledge {
                "ACKNOWLEDGED, must not be"
            } else {
                "not acknowledged, should be"
            };
            let _ = writeln!(
                out,
                "  {} {what} (label kind {}, decided {})",
                x.label.file, x.label.kind, x.decision.kind
            );
        }
    }
    if !any {
        let _ = writeln!(out, "  none");
    }

    let _ = writeln!(out, "\nmistakes by message:");
    for x in scored {
        let wrong: Vec<String> = fields(x)
            .into_iter()
            .filter(|(_, l, d)| l != d)
            .map(|(name, l, d)| {
                format!(
                    "{name}: {} -> {}",
                    l.as_deref().unwrap_or("null"),
                    d.as_deref().unwrap_or("null")
                )
            })
            .collect();
        if !wrong.is_empty() {
            let _ = writeln!(out, "  {} {}", x.label.id, wrong.join("; "));
        }
    }
    out
}

fn percent(a: usize, b: usize) -> f64 {
    if b == 0 {
        100.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

fn confusion(out: &mut String, scored: &[Scored], idx: usize) {
    let mut table: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut cols: Vec<String> = Vec::new();
    for x in scored {
        let f = &fields(x)[idx];
        let l = f.1.clone().unwrap_or_else(|| "null".into());
        let d = f.2.clone().unwrap_or_else(|| "null".into());
        if !cols.contains(&d) {
            cols.push(d.clone());
        }
        if !cols.contains(&l) {
            cols.push(l.clone());
        }
        *table.entry(l).or_default().entry(d).or_default() += 1;
    }
    cols.sort();
    let width = cols.iter().map(|c| c.len()).max().unwrap_or(4).min(12);
    let _ = write!(out, "{:<22}", "");
    for c in &cols {
        let _ = write!(out, " {:>width$}", &c[..c.len().min(width)]);
    }
    let _ = writeln!(out);
    for (l, row) in &table {
        let _ = write!(out, "{l:<22}");
        for c in &cols {
            let v = row.get(c).copied().unwrap_or(0);
            let cell = if v == 0 {
                ".".to_string()
            } else {
                v.to_string()
            };
            let _ = write!(out, " {cell:>width$}");
        }
        let _ = writeln!(out);
    }
}
