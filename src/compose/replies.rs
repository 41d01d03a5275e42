//! The council's reply templates: the starting text of a reply a
//! caseworker writes in the workspace (`templates/replies/`, built in, and
//! any `<name>.txt.j2` in the council's `<paths.templates>/replies/`, which
//! replaces a built-in one of the same name). A template's first line may
//! be a comment that names it for people (`{# Full answer ... #}`); one
//! whose name starts with `holding` writes a holding reply, which does not
//! answer the case. Each is compiled, and rendered with sample values, at
//! start: a mistake is refused with its file and line.

use std::path::Path;

use anyhow::{Result, anyhow};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use super::{CaseContext, CouncilContext, TemplateError, TemplateErrors};

const EMBEDDED: &[(&str, &str)] = &[
    (
        "answer",
        include_str!("../../templates/replies/answer.txt.j2"),
    ),
    (
        "holding",
        include_str!("../../templates/replies/holding.txt.j2"),
    ),
];

/// One reply template, as the workspace lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyTemplate {
    pub name: String,
    pub label: String,
    pub holding: bool,
}

/// Who writes the reply.
#[derive(Debug, Clone, Serialize)]
pub struct Caseworker {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplyContext {
    pub council: CouncilContext,
    pub case: CaseContext,
    pub caseworker: Caseworker,
}

pub struct Replies {
    env: Environment<'static>,
    list: Vec<ReplyTemplate>,
}

impl Replies {
    /// The built-in templates and the council's own in `dir`.
    pub fn load(dir: Option<&Path>) -> Result<Replies, TemplateErrors> {
        let mut files: Vec<(String, String, String)> = EMBEDDED
            .iter()
            .map(|(n, t)| {
                (
                    n.to_string(),
                    format!("templates/replies/{n}.txt.j2 (built-in)"),
                    t.to_string(),
                )
            })
            .collect();
        let mut errors = Vec::new();
        if let Some(entries) = dir.and_then(|d| std::fs::read_dir(d).ok()) {
            let mut own: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            own.sort();
            for path in own {
                let Some(name) = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".txt.j2"))
                    .map(str::to_string)
                else {
                    errors.push(TemplateError::new(
                        path.display().to_string(),
                        0,
                        "a reply template is named <name>.txt.j2",
                    ));
                    continue;
                };
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        files.retain(|(n, _, _)| *n != name);
                        files.push((name, path.display().to_string(), text));
                    }
                    Err(e) => errors.push(TemplateError::new(
                        path.display().to_string(),
                        0,
                        format!("cannot read the template: {e}"),
                    )),
                }
            }
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_keep_trailing_newline(true);
        let mut list = Vec::new();
        for (name, origin, text) in files {
            let label = text
                .lines()
                .next()
                .and_then(|l| l.trim().strip_prefix("{#"))
                .and_then(|l| l.strip_suffix("#}"))
                .map(|l| l.trim().to_string())
                .unwrap_or_else(|| name.replace(['-', '_'], " "));
            let compiled = env
                .add_template_owned(name.clone(), text)
                .and_then(|()| env.get_template(&name).and_then(|t| t.render(sample())));
            if let Err(e) = compiled {
                let mut message = e.kind().to_string();
                if let Some(detail) = e.detail() {
                    message.push_str(": ");
                    message.push_str(detail);
                }
                errors.push(TemplateError::new(origin, e.line().unwrap_or(0), message));
                continue;
            }
            list.push(ReplyTemplate {
                holding: name.starts_with("holding"),
                name,
                label,
            });
        }
        if errors.is_empty() {
            Ok(Replies { env, list })
        } else {
            Err(TemplateErrors(errors))
        }
    }

    pub fn list(&self) -> &[ReplyTemplate] {
        &self.list
    }

    pub fn get(&self, name: &str) -> Option<&ReplyTemplate> {
        self.list.iter().find(|t| t.name == name)
    }

    /// The text of template `name` for a case, ready to edit.
    pub fn render(&self, name: &str, ctx: &ReplyContext) -> Result<String> {
        let text = self
            .env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| anyhow!("templates/replies/{name}.txt.j2: {e}"))?;
        // The naming comment renders as an empty first line.
        Ok(text.trim_start_matches(['\r', '\n']).to_string())
    }
}

fn sample() -> ReplyContext {
    let m = super::context::sample_context();
    ReplyContext {
        council: m.council,
        case: m.case,
        caseworker: Caseworker {
            name: "A. Caseworker".into(),
            email: "a.caseworker@example.gov.uk".into(),
        },
    }
}
