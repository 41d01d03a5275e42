//! Reading `postroom.toml`: the file parsed into its raw mirror, then
//! every table checked, each mistake collected with its file and line.

use std::path::Path;

use super::casework::*;
use super::check::*;
use super::delivery::*;
use super::raw::RawConfig;
use super::sources::*;
use super::*;

impl Config {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError::new(
                path.display().to_string(),
                0,
                format!("cannot read the config file: {e}"),
            )])
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut config = Config::parse(&path.display().to_string(), &text, &base)?;
        config.file = Some(path.to_path_buf());
        Ok(config)
    }

    /// Checks config text; `file` names it in errors, `base` resolves paths.
    pub fn parse(file: &str, text: &str, base: &Path) -> Result<Config, ConfigErrors> {
        let mut c = Checker {
            file: file.to_string(),
            text,
            base: base.to_path_buf(),
            errors: Vec::new(),
            has_oauth: false,
            places: Vec::new(),
        };
        let raw: RawConfig = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => return Err(ConfigErrors(vec![problem::from_toml(file, text, &e)])),
        };
        c.has_oauth = raw.oauth.is_some();
        let council = check_council(&mut c, raw.council);
        let database = check_database(&mut c, raw.database);
        let rules_dir = raw.paths.rules.map(|p| c.path(p.get_ref()));
        let templates_dir = raw.paths.templates.map(|p| c.path(p.get_ref()));
        let directory = raw.paths.directory.map(|p| c.path(p.get_ref()));
        let spool = spool(&mut c, raw.paths.spool, &database);
        let sources = check_sources(&mut c, raw.source);
        let delivery = check_delivery(&mut c, raw.delivery, raw.smtp);
        let poll_interval = c.duration(&raw.daemon.poll_interval, "daemon.poll_interval");
        let shutdown_timeout = c.duration(&raw.daemon.shutdown_timeout, "daemon.shutdown_timeout");
        let stall_alert = c.duration(&raw.daemon.stall_alert, "daemon.stall_alert");
        let admin = raw.daemon.admin.map(|a| {
            let span = a.span();
            let a = a.into_inner();
            if a.parse::<lettre::Address>().is_err() {
                c.error_at(span, format!("daemon.admin {a:?} is not an email address"));
            }
            a
        });
        let teams = check_teams(&mut c, raw.team);
        let policy = check_policy(&mut c, raw.policy, council.division);
        let reminders = check_reminders(&mut c, raw.reminders);
        let digests = check_digests(&mut c, raw.digests, reminders.hours);
        let webhook = raw.webhook.and_then(|w| check_webhook(&mut c, w));
        let oauth = raw.oauth.map(|o| check_oauth(&mut c, o));
        let http = raw.http.and_then(|h| ops::check_http(&mut c, h));
        let retention = ops::check_retention(&mut c, raw.retention);
        let web = raw.web.and_then(|w| web::check_web(&mut c, w));
        let html_kb = &raw.extract.html_layout_kb;
        if !(1..=1 << 20).contains(html_kb.get_ref()) {
            c.error_at(
                html_kb.span(),
                "extract.html_layout_kb must be from 1 to 1048576 (KB of HTML laid out as a \
                 reader sees it; larger HTML is stripped of tags in one pass)",
            );
        }
        let extract = Extract {
            timeout: c.duration(&raw.extract.timeout, "extract.timeout"),
            memory_mb: raw.extract.memory_mb.max(64),
            ocr_pages: raw.extract.ocr_pages,
            html_layout: (*html_kb.get_ref() as usize) << 10,
        };
        if !c.errors.is_empty() {
            return Err(ConfigErrors(c.errors));
        }
        Ok(Config {
            file: None,
            places: c.places,
            council,
            database,
            rules_dir,
            templates_dir,
            directory,
            spool,
            sources,
            delivery,
            policy,
            acknowledgements_per_sender_per_hour: raw.limits.acknowledgements_per_sender_per_hour,
            poll_interval,
            shutdown_timeout,
            stall_alert,
            admin,
            reminders,
            digests,
            webhook,
            http,
            web,
            retention,
            holding_phrases: raw
                .answers
                .holding_phrases
                .iter()
                .map(|p| p.trim().to_lowercase())
                .filter(|p| !p.is_empty())
                .collect(),
            extract,
            teams,
            oauth,
        })
    }
}

/// Where attachments and OCR pages are written while mail is read
/// (`paths.spool`): by default a `spool` folder beside the SQLite database,
/// or `/var/lib/postroom/spool` (the shipped unit's and container's data
/// folder) with PostgreSQL.
fn spool(
    c: &mut Checker<'_>,
    raw: Option<toml::Spanned<String>>,
    database: &super::Database,
) -> std::path::PathBuf {
    use secrecy::ExposeSecret;
    if let Some(p) = raw {
        let path = c.path(p.get_ref());
        c.place(
            "paths.spool",
            &path,
            p.span(),
            super::places::Need::CreateAll,
        );
        return path;
    }
    let url = database.url.expose_secret();
    let beside_sqlite = url
        .starts_with("sqlite:")
        .then(|| crate::store::sqlite_file(url))
        .flatten()
        .and_then(|p| p.parent().map(|d| d.join("spool")));
    let path = beside_sqlite.unwrap_or_else(|| "/var/lib/postroom/spool".into());
    c.place("paths.spool", &path, 0..0, super::places::Need::CreateAll);
    path
}
