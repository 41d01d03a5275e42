//! The workspace's templates: `templates/web/` built into the binary, and
//! any file of the same name in the council's `<paths.templates>/web/`
//! instead (to brand the pages). Every template is compiled at start, so
//! a mistake in one is refused with its file and line. HTML is escaped in
//! every value a template prints.

use std::path::Path;

use anyhow::{Result, anyhow};
use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use crate::compose::replies::Replies;
use crate::config::Config;
use crate::problem::{Problem, Problems};

const EMBEDDED: &[(&str, &str)] = &[
    (
        "layout.html.j2",
        include_str!("../../templates/web/layout.html.j2"),
    ),
    (
        "sign-in.html.j2",
        include_str!("../../templates/web/sign-in.html.j2"),
    ),
    (
        "cases.html.j2",
        include_str!("../../templates/web/cases.html.j2"),
    ),
    (
        "case.html.j2",
        include_str!("../../templates/web/case.html.j2"),
    ),
    (
        "strays.html.j2",
        include_str!("../../templates/web/strays.html.j2"),
    ),
    (
        "stray.html.j2",
        include_str!("../../templates/web/stray.html.j2"),
    ),
    (
        "audit.html.j2",
        include_str!("../../templates/web/audit.html.j2"),
    ),
    (
        "reply.html.j2",
        include_str!("../../templates/web/reply.html.j2"),
    ),
    (
        "message-in.html.j2",
        include_str!("../../templates/web/message-in.html.j2"),
    ),
    (
        "message.html.j2",
        include_str!("../../templates/web/message.html.j2"),
    ),
    (
        "actions.html.j2",
        include_str!("../../templates/web/actions.html.j2"),
    ),
    (
        "figures.html.j2",
        include_str!("../../templates/web/figures.html.j2"),
    ),
    (
        "error.html.j2",
        include_str!("../../templates/web/error.html.j2"),
    ),
];

/// What the workspace renders: its pages and the council's reply
/// templates, loaded together at start and again on SIGHUP (a reload that
/// fails keeps both old ones).
pub struct Pages {
    pub views: Views,
    pub replies: Replies,
}

impl Pages {
    /// The council's own templates beside the built-in ones when `[web]` is
    /// set; the built-in ones alone otherwise (no page is served then).
    pub fn load(config: &Config) -> Result<Pages, Problems> {
        let dir = config
            .templates_dir
            .as_deref()
            .filter(|_| config.web.is_some());
        let views = Views::load(dir.map(|d| d.join("web")).as_deref());
        let replies = Replies::load(dir.map(|d| d.join("replies")).as_deref());
        match (views, replies) {
            (Ok(views), Ok(replies)) => Ok(Pages { views, replies }),
            (views, replies) => Err(Problems(
                views
                    .err()
                    .into_iter()
                    .chain(replies.err())
                    .flat_map(|p| p.0)
                    .collect(),
            )),
        }
    }
}

pub struct Views {
    env: Environment<'static>,
}

impl Views {
    /// The built-in templates, each replaced by the council's own where
    /// `dir` (`<paths.templates>/web/`) has a file of its name.
    pub fn load(dir: Option<&Path>) -> Result<Views, Problems> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        let mut problems = Vec::new();
        for (name, text) in EMBEDDED {
            let own = dir.map(|d| d.join(name)).filter(|p| p.exists());
            let (origin, text) = match &own {
                Some(path) => match std::fs::read_to_string(path) {
                    Ok(t) => (path.display().to_string(), t),
                    Err(e) => {
                        problems.push(Problem::new(
                            path.display().to_string(),
                            0,
                            format!("cannot read the template: {e}"),
                        ));
                        continue;
                    }
                },
                None => (format!("templates/web/{name} (built-in)"), text.to_string()),
            };
            if let Err(e) = env.add_template_owned(name.to_string(), text) {
                problems.push(problem(&origin, &e));
            }
        }
        if let Some(d) = dir {
            unknown_files(d, &mut problems);
        }
        if problems.is_empty() {
            Ok(Views { env })
        } else {
            Err(Problems(problems))
        }
    }

    pub fn render(&self, name: &str, ctx: impl Serialize) -> Result<String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| anyhow!("templates/web/{name}: {e}"))
    }
}

/// A file in the council's folder that no page uses is most likely a
/// misspelt name: refused, so that the branding is not silently ignored.
fn unknown_files(dir: &Path, problems: &mut Vec<Problem>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !EMBEDDED.iter().any(|(n, _)| *n == name) {
            problems.push(Problem::new(
                entry.path().display().to_string(),
                0,
                format!(
                    "no page of the workspace uses this template; the names are {}",
                    EMBEDDED
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
}

fn problem(origin: &str, e: &minijinja::Error) -> Problem {
    let mut message = e.kind().to_string();
    if let Some(detail) = e.detail() {
        message.push_str(": ");
        message.push_str(detail);
    }
    Problem::new(origin.to_string(), e.line().unwrap_or(0), message)
}

/// `s` for a URL's query string.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An event's detail (its JSON) as a person reads it: `key: value` pairs,
/// a note's text as itself (in the order of the keys: serde_json sorts
/// them).
pub(super) fn event_detail(detail: &str) -> String {
    fn value(v: &serde_json::Value) -> Option<String> {
        use serde_json::Value;
        match v {
            Value::Null => None,
            Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_string()),
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.replace('_', " ")),
            Value::Number(n) => Some(n.to_string()),
            Value::Array(items) => {
                let items: Vec<String> = items.iter().filter_map(value).collect();
                (!items.is_empty()).then(|| items.join(", "))
            }
            Value::Object(fields) => {
                let pairs: Vec<String> = fields
                    .iter()
                    .filter_map(|(k, v)| match (k.as_str(), v) {
                        ("text", serde_json::Value::String(s)) => Some(s.clone()),
                        _ => value(v).map(|v| format!("{}: {v}", k.replace('_', " "))),
                    })
                    .collect();
                (!pairs.is_empty()).then(|| pairs.join("; "))
            }
        }
    }
    serde_json::from_str(detail)
        .ok()
        .and_then(|v| value(&v))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_details_read_as_words() {
        use super::event_detail;
        assert_eq!(
            event_detail(r#"{"text":"Rang the school_office."}"#),
            "Rang the school_office."
        );
        assert_eq!(
            event_detail(r#"{"from":null,"to":"a.shah@x","team":"SEND","by":"hand"}"#),
            "by: hand; team: SEND; to: a.shah@x"
        );
        assert_eq!(
            event_detail(r#"{"from":{"kind":"mp_enquiry","urgent":false},"to":{"urgent":true}}"#),
            "from: kind: mp enquiry; urgent: no; to: urgent: yes"
        );
        assert_eq!(event_detail("{}"), "");
        assert_eq!(event_detail("not json"), "");
    }
}
