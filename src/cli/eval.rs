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

/// A share with its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Share {
    pub right: usize,
    pub total: usize,
    /// In percent.
    pub share: f64,
    /// The Wilson score interval at 95%, in percent: on 15 urgent messages
    /// a recall of 53% is anything from 30% to 75%.
    pub low: f64,
    pub high: f64,
}

impl Share {
    pub fn new(right: usize, total: usize) -> Share {
        let (low, high) = wilson(right, total);
        Share {
            right,
            total,
            share: percent(right, total),
            low,
            high,
        }
    }
}

/// The Wilson score interval for `k` successes in `n` trials at 95%, in
/// percent. With no trials, the whole range.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 100.0);
    }
    const Z: f64 = 1.959_963_984_540_054;
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    // At 0 or n successes the bound is exactly 0 or 100 (rounding would
    // put it a hair inside the share).
    let low = if k == 0 {
        0.0
    } else {
        (100.0 * (centre - half)).max(0.0)
    };
    let high = if k as f64 == n {
        100.0
    } else {
        (100.0 * (centre + half)).min(100.0)
    };
    (low, high)
}

/// Every figure of the report, for `eval --json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub messages: usize,
    /// By field, in the order of the label schema; `send_topic` over the
    /// messages labelled SEND.
    pub fields: Vec<(String, Share)>,
    pub urgent_recall: Share,
    pub urgent_precision: Share,
    /// Files acknowledged that must not be.
    pub acknowledged_wrongly: Vec<String>,
    /// Files not acknowledged that should be.
    pub not_acknowledged: Vec<String>,
}

pub fn summary(scored: &[Scored]) -> Summary {
    let names: Vec<&str> = scored
        .first()
        .map(|x| fields(x).iter().map(|f| f.0).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let counted: Vec<&Scored> = scored
            .iter()
            .filter(|x| *name != "send_topic" || x.label.category.as_deref() == Some("send"))
            .collect();
        let right = counted
            .iter()
            .filter(|x| {
                let f = &fields(x)[i];
                f.1 == f.2
            })
            .count();
        out.push((name.to_string(), Share::new(right, counted.len())));
    }
    let count = |f: &dyn Fn(&Scored) -> bool| scored.iter().filter(|x| f(x)).count();
    let tp = count(&|x| x.label.urgent && x.decision.urgent);
    let labelled = count(&|x| x.label.urgent);
    let decided = count(&|x| x.decision.urgent);
    let files = |f: &dyn Fn(&Scored) -> bool| {
        scored
            .iter()
            .filter(|x| f(x))
            .map(|x| x.label.file.clone())
            .collect()
    };
    Summary {
        messages: scored.len(),
        fields: out,
        urgent_recall: Share::new(tp, labelled),
        urgent_precision: Share::new(tp, decided),
        acknowledged_wrongly: files(&|x| {
            x.decision.should_acknowledge && !x.label.should_acknowledge
        }),
        not_acknowledged: files(&|x| !x.decision.should_acknowledge && x.label.should_acknowledge),
    }
}

/// The printed report.
// Long: the evaluation report is printed section by section: accuracies,
// confusion tables, wrong acknowledgement decisions.
pub fn report(scored: &[Scored]) -> String {
    let mut out = String::new();
    let sum = summary(scored);
    let _ = writeln!(out, "{} messages\n", sum.messages);
    let _ = writeln!(
        out,
        "{:<20} {:>9} {:>8}  {:>15}",
        "field", "right", "share", "95% interval"
    );
    for (name, share) in &sum.fields {
        let label = if name == "send_topic" {
            "send_topic (SEND)"
        } else {
            name.as_str()
        };
        let _ = writeln!(
            out,
            "{label:<20} {:>4}/{:<4} {:>7.1}%  {:>5.1}% - {:>5.1}%",
            share.right, share.total, share.share, share.low, share.high
        );
    }
    let (r, p) = (sum.urgent_recall, sum.urgent_precision);
    let _ = writeln!(
        out,
        "\nurgent: recall {:.1}% ({}/{}, 95% {:.1}-{:.1}%), precision {:.1}% ({}/{}, 95% {:.1}-{:.1}%)",
        r.share, r.right, r.total, r.low, r.high, p.share, p.right, p.total, p.low, p.high
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_intervals_match_the_textbook() {
        // 8 of 15 (53%): about 30% to 75%.
        let (low, high) = wilson(8, 15);
        assert!(
            (low - 30.1).abs() < 0.2 && (high - 75.2).abs() < 0.2,
            "{low} {high}"
        );
        // All right still leaves room below.
        let (low, high) = wilson(20, 20);
        assert!((low - 83.9).abs() < 0.2 && high == 100.0, "{low} {high}");
        assert_eq!(wilson(0, 0), (0.0, 100.0));
        let (low, _) = wilson(0, 10);
        assert_eq!(low, 0.0);
    }
}
