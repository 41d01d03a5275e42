//! The assembled parts of a running postroom: config, classifier, templates,
//! calendar, store and clock.
//!
//! [`Prepared`] holds everything that can be checked without a database or a
//! network (what `postroom check` validates); [`App`] adds the store and the
//! clock. Rules, the MP directory and the templates can be swapped while
//! the daemon runs ([`App::reload`]); a reload that fails leaves the old
//! ones in force.

use std::sync::{Arc, RwLock};

use anyhow::{Context, Result};
use lettre::message::Mailbox;

use crate::calendar::{self, Calendar};
use crate::classify::{Classifier, Directory, Rules, Settings};
use crate::clock::SharedClock;
use crate::compose::Templates;
use crate::config::Config;
use crate::extract::Extractor;
use crate::problem::{Problem, Problems};
use crate::store::Store;

/// The rule files built into the binary, in load order.
pub const EMBEDDED_RULES: &[(&str, &str)] = &[
    (
        "rules/00-automatic.toml",
        include_str!("../rules/00-automatic.toml"),
    ),
    (
        "rules/10-sender.toml",
        include_str!("../rules/10-sender.toml"),
    ),
    ("rules/20-kind.toml", include_str!("../rules/20-kind.toml")),
    (
        "rules/30-category.toml",
        include_str!("../rules/30-category.toml"),
    ),
    (
        "rules/40-send-topic.toml",
        include_str!("../rules/40-send-topic.toml"),
    ),
    (
        "rules/50-urgency.toml",
        include_str!("../rules/50-urgency.toml"),
    ),
    (
        "rules/60-references.toml",
        include_str!("../rules/60-references.toml"),
    ),
];

/// Everything that can be checked before start.
pub struct Prepared {
    pub config: Config,
    pub extractor: Extractor,
    pub classifier: Classifier,
    pub templates: Templates,
    /// The workspace's pages and reply templates.
    pub pages: crate::web::Pages,
    pub calendar: Calendar,
    pub from: Mailbox,
}

impl Prepared {
    /// Loads rules, directory, templates and calendar. On failure returns
    /// every problem found, each naming its file and line.
    pub fn new(config: Config) -> Result<Prepared, Problems> {
        let config_file = config
            .file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "config".into());
        let mut problems = Vec::new();
        let rules = load_rules(&config).map_err(|e| problems.extend(e.0)).ok();
        let directory = load_directory(&config).map_err(|e| problems.extend(e)).ok();
        let templates = match &config.templates_dir {
            Some(dir) => Templates::load_dir(dir),
            None => Templates::embedded(),
        }
        .map_err(|e| problems.extend(e.0))
        .ok();
        let settings = settings(&config)
            .map_err(|e| problems.push(Problem::new(&config_file, 0, e)))
            .ok();
        let pages = crate::web::Pages::load(&config)
            .map_err(|e| problems.extend(e.0))
            .ok();
        let from = format!(
            "{} <{}>",
            crate::compose::clean_header_text(&config.council.display_name),
            config.council.mailbox
        )
        .parse::<Mailbox>()
        .map_err(|e| {
            problems.push(Problem::new(
                &config_file,
                0,
                format!("council.mailbox: {e}"),
            ))
        })
        .ok();
        match (rules, directory, templates, settings, from, pages) {
            (
                Some(rules),
                Some(directory),
                Some(templates),
                Some(settings),
                Some(from),
                Some(pages),
            ) if problems.is_empty() => {
                let calendar = council_calendar(&config);
                let defaults = Extractor::default();
                let extractor = Extractor {
                    limits: crate::extract::Limits {
                        wall: config.extract.timeout,
                        cpu_seconds: config.extract.timeout.as_secs().max(1),
                        memory: config.extract.memory_mb << 20,
                        ..defaults.limits.clone()
                    },
                    ocr_pages: config.extract.ocr_pages,
                    parse: crate::parse::Limits {
                        html_layout: config.extract.html_layout,
                    },
                    ..defaults
                };
                Ok(Prepared {
                    extractor,
                    classifier: Classifier::new(rules, directory, settings),
                    templates,
                    pages,
                    calendar,
                    from,
                    config,
                })
            }
            _ => Err(Problems(problems)),
        }
    }
}

pub fn load_rules(config: &Config) -> Result<Rules, crate::classify::RuleErrors> {
    let rules = match &config.rules_dir {
        Some(dir) => Rules::load_dir(dir),
        None => embedded_rules(),
    }?;
    let problems = rules_fit_config(&rules, config);
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(crate::classify::RuleErrors(problems))
    }
}

/// A rule's `then.team` must name a `[[team]]` of the config, and its
/// `then.assignee` be a member or manager of one (with no teams, an address
/// at the council's domains): a case must never land with a team nobody
/// manages, nor its notice leave the council.
fn rules_fit_config(rules: &Rules, config: &Config) -> Vec<Problem> {
    let names: Vec<&str> = config.teams.iter().map(|t| t.name.as_str()).collect();
    let mut problems = Vec::new();
    for rule in &rules.rules {
        if let Some(team) = &rule.then.team
            && config.team(team).is_none()
        {
            let teams = if names.is_empty() {
                "the config has no [[team]]".to_string()
            } else {
                format!("its teams are {}", names.join(", "))
            };
            problems.push(Problem::new(
                &rule.file,
                rule.line,
                format!(
                    "rule {:?}: then.team = {team:?} is not a team of the config ({teams})",
                    rule.name
                ),
            ));
        }
        if let Some(assignee) = &rule.then.assignee
            && !config.knows_person(assignee)
        {
            problems.push(Problem::new(
                &rule.file,
                rule.line,
                format!(
                    "rule {:?}: then.assignee = {assignee:?} is not a member or manager of any [[team]] in the config",
                    rule.name
                ),
            ));
        }
    }
    problems
}

pub fn embedded_rules() -> Result<Rules, crate::classify::RuleErrors> {
    let sources: Vec<(String, String)> = EMBEDDED_RULES
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    Rules::from_sources(&sources)
}

fn load_directory(config: &Config) -> Result<Directory, Vec<Problem>> {
    match &config.directory {
        Some(path) => Directory::load(path),
        None => Ok(Directory::empty()),
    }
}

pub fn settings(config: &Config) -> Result<Settings, String> {
    let mut settings = Settings::new(
        &config.council.reference_prefix,
        config.council.domains.clone(),
        config.council.legacy_reference.as_deref(),
        config.council.authserv_id.clone(),
        &config.council.message_id_domain,
    )?;
    settings.timezone = config.council.timezone;
    settings.holding_phrases = config.holding_phrases.clone();
    Ok(settings)
}

/// The council's calendar: built-in bank holidays updated by `feeds`.
pub fn council_calendar_with(config: &Config, feeds: &[&str]) -> Result<Calendar, String> {
    let holidays = calendar::merge_feeds(feeds, config.council.division)?;
    Ok(Calendar::new(
        config.council.timezone,
        config.council.cutoff,
        holidays,
        config.council.closure_days.clone(),
    ))
}

fn council_calendar(config: &Config) -> Calendar {
    let holidays =
        calendar::parse_feed(calendar::EMBEDDED_FEED, config.council.division).unwrap_or_default();
    Calendar::new(
        config.council.timezone,
        config.council.cutoff,
        holidays,
        config.council.closure_days.clone(),
    )
}

/// A running postroom.
pub struct App {
    pub config: Config,
    /// OAuth2 tokens for IMAP and SMTP, when `[oauth]` is configured.
    pub tokens: Option<Arc<crate::oauth::TokenSource>>,
    pub extractor: Extractor,
    classifier: RwLock<Arc<Classifier>>,
    templates: RwLock<Arc<Templates>>,
    pages: RwLock<Arc<crate::web::Pages>>,
    /// The working-day calendar in force, and the version of the stored
    /// bank-holiday feeds it was built from (0: the built-in feed only).
    calendar: RwLock<(i64, Arc<Calendar>)>,
    pub from: Mailbox,
    pub store: Store,
    pub clock: SharedClock,
    /// This process among the instances sharing the database.
    pub instance: String,
    /// What this process has done, for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// What is going wrong in this process now, stage by stage.
    pub faults: crate::faults::Faults,
}

impl App {
    pub fn new(prepared: Prepared, store: Store, clock: SharedClock) -> App {
        let tokens = prepared
            .config
            .oauth
            .clone()
            .and_then(|o| crate::oauth::TokenSource::new(o, clock.clone()).ok())
            .map(Arc::new);
        App {
            tokens,
            config: prepared.config,
            extractor: prepared.extractor,
            classifier: RwLock::new(Arc::new(prepared.classifier)),
            templates: RwLock::new(Arc::new(prepared.templates)),
            pages: RwLock::new(Arc::new(prepared.pages)),
            calendar: RwLock::new((0, Arc::new(prepared.calendar))),
            from: prepared.from,
            store,
            clock,
            instance: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
            metrics: Arc::new(crate::metrics::Metrics::new()),
            faults: crate::faults::Faults::default(),
        }
    }

    /// Connects to the database and assembles the app.
    pub async fn start(prepared: Prepared, clock: SharedClock) -> Result<App> {
        let store = Store::connect(
            &prepared.config.database.url,
            prepared.config.database.max_connections,
        )
        .await
        .context("Cannot open the database")?;
        let app = App::new(prepared, store, clock);
        app.refresh_calendar().await?;
        Ok(app)
    }

    /// The working-day calendar in force now.
    pub fn calendar(&self) -> Arc<Calendar> {
        // A poisoned lock still holds a complete calendar.
        self.calendar
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }

    /// Rebuilds the calendar when the stored bank-holiday feeds changed
    /// (`postroom calendar update`, perhaps run by another process).
    /// Returns whether it changed.
    pub async fn refresh_calendar(&self) -> Result<bool> {
        let mut conn = self.store.conn().await?;
        let version = crate::store::calendar::version(&mut conn).await?;
        let current = self.calendar.read().unwrap_or_else(|e| e.into_inner()).0;
        if version == current {
            return Ok(false);
        }
        let (version, feeds) = crate::store::calendar::feeds(&mut conn).await?;
        let feeds: Vec<&str> = feeds.iter().map(String::as_str).collect();
        let calendar = council_calendar_with(&self.config, &feeds)
            .map_err(|e| anyhow::anyhow!("A stored bank-holiday feed is unreadable: {e}"))?;
        *self.calendar.write().unwrap_or_else(|e| e.into_inner()) = (version, Arc::new(calendar));
        Ok(true)
    }

    /// The classifier in force now.
    pub fn classifier(&self) -> Arc<Classifier> {
        // A poisoned lock still holds a complete classifier.
        self.classifier
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The mail templates in force now.
    pub fn templates(&self) -> Arc<Templates> {
        // A poisoned lock still holds complete templates.
        self.templates
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The workspace's pages and reply templates in force now.
    pub fn pages(&self) -> Arc<crate::web::Pages> {
        // A poisoned lock still holds complete templates.
        self.pages.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reloads rules, the MP directory, the mail templates and the
    /// workspace's pages and reply templates; on any error every old one
    /// stays.
    pub fn reload(&self) -> Result<(), Problems> {
        let mut problems = Vec::new();
        let rules = load_rules(&self.config)
            .map_err(|e| problems.extend(e.0))
            .ok();
        let directory = load_directory(&self.config)
            .map_err(|e| problems.extend(e))
            .ok();
        let templates = match &self.config.templates_dir {
            Some(dir) => Templates::load_dir(dir),
            None => Templates::embedded(),
        }
        .map_err(|e| problems.extend(e.0))
        .ok();
        let settings = settings(&self.config)
            .map_err(|e| problems.push(Problem::new("config", 0, e)))
            .ok();
        let pages = crate::web::Pages::load(&self.config)
            .map_err(|e| problems.extend(e.0))
            .ok();
        let (Some(rules), Some(directory), Some(templates), Some(settings), Some(pages)) =
            (rules, directory, templates, settings, pages)
        else {
            return Err(Problems(problems));
        };
        let classifier = Arc::new(Classifier::new(rules, directory, settings));
        *self.classifier.write().unwrap_or_else(|e| e.into_inner()) = classifier;
        *self.templates.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(templates);
        *self.pages.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(pages);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_file_is_built_in() {
        let mut on_disk: Vec<String> =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .map(|n| format!("rules/{n}"))
                .collect();
        on_disk.sort();
        let built_in: Vec<String> = EMBEDDED_RULES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, built_in);
        embedded_rules().unwrap_or_else(|e| panic!("{e}"));
    }
}
