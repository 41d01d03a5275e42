//! Stage 3: a [`Message`] → a [`Decision`].
//!
//! What the message is, which service it concerns, whether it is urgent, who
//! it is from and which references it cites, decided by the council's rules
//! (`rules/*.toml`, see [`rules`]) over facts computed once per message (see
//! [`features`]). Pure: no IO, no clock, never fails. The JSON contract of
//! `postroom classify` ([`Labels`]) is the subset of the decision that
//! `../shared/corpus/SCHEMA.md` defines.

pub(crate) mod automatic;
pub(crate) mod dates;
pub mod directory;
pub(crate) mod features;
pub(crate) mod mentions;
pub mod rules;
mod vocab;
pub(crate) mod words;

use regex::Regex;
use serde::Serialize;

use crate::case::{Category, Kind, SendTopic};
use crate::parse::{Message, ParseStatus};
pub use directory::Directory;
pub use rules::{ExtractField, Facts, RuleErrors, Rules};

/// What classification needs to know of the council.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The council's own domains (lower case); mail from them is never an MP
    /// enquiry and never acknowledged.
    pub council_domains: Vec<String>,
    /// Prefix of council references (`MPE`).
    pub reference_prefix: String,
    /// Finds `PREFIX-YYYY-NNNNN` with groups `year` and `number`.
    pub reference_pattern: Regex,
    /// A council's older reference scheme, with an optional `value` group.
    pub legacy_reference: Option<Regex>,
    /// The authserv-id of the council's own receiving server; `None` trusts
    /// the top-most `Authentication-Results` header.
    pub authserv_id: Option<String>,
    /// Domain of the Message-IDs postroom generates.
    pub message_id_domain: String,
    /// The council's time zone, for the dates messages mention.
    pub timezone: chrono_tz::Tz,
    /// Phrases (lower case) that make a council reply a holding reply
    /// (`[answers] holding_phrases`).
    pub holding_phrases: Vec<String>,
}

impl Settings {
    pub fn new(
        reference_prefix: &str,
        council_domains: Vec<String>,
        legacy_reference: Option<&str>,
        authserv_id: Option<String>,
        message_id_domain: &str,
    ) -> Result<Settings, String> {
        if reference_prefix.is_empty()
            || !reference_prefix.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(format!(
                "reference prefix {reference_prefix:?} must be letters and digits"
            ));
        }
        let prefix = regex::escape(reference_prefix);
        let reference_pattern = Regex::new(&format!(
            r"(?i)\b{prefix}[\-\u{{2010}}\u{{2013}} ]?(?P<year>(?:19|20)\d\d)[\-\u{{2010}}\u{{2013}} ]?(?P<number>\d{{1,6}})\b"
        ))
        .map_err(|e| e.to_string())?;
        let legacy_reference = match legacy_reference {
            Some(p) => Some(
                rules::compile_regex(p).map_err(|e| format!("legacy reference pattern: {e}"))?,
            ),
            None => None,
        };
        Ok(Settings {
            council_domains: council_domains
                .into_iter()
                .map(|d| d.to_lowercase())
                .collect(),
            reference_prefix: reference_prefix.to_string(),
            reference_pattern,
            legacy_reference,
            authserv_id,
            message_id_domain: message_id_domain.to_lowercase(),
            timezone: chrono_tz::Europe::London,
            holding_phrases: Vec::new(),
        })
    }

    /// Whether `address` is one of the council's own: at one of its
    /// domains or a subdomain of one, in any case. The one answer to that
    /// question in postroom.
    pub fn is_council(&self, address: &str) -> bool {
        at_domains(&self.council_domains, address)
    }
}

/// Whether `address` is at one of `domains` or a subdomain of one, in any
/// case: how [`Settings::is_council`] and the config tell the council's
/// own addresses.
pub fn at_domains(domains: &[String], address: &str) -> bool {
    let Some((_, domain)) = address.trim().rsplit_once('@') else {
        return false;
    };
    let domain = domain.trim_end_matches('>').to_ascii_lowercase();
    domains.iter().any(|d| {
        let d = d.to_ascii_lowercase();
        domain == d
            || domain
                .strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

/// Rules, directory and settings, ready to classify.
#[derive(Debug)]
pub struct Classifier {
    pub rules: Rules,
    pub directory: Directory,
    pub settings: Settings,
    mp_mentions: mentions::Mentions,
}

/// The outcome of classification. Serialised, it is exactly the label
/// fields of `../shared/corpus/SCHEMA.md` plus `matched_rules`: the JSON
/// contract of `postroom classify` (see [`Labels`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub kind: Kind,
    pub from_mp_office: bool,
    pub category: Option<Category>,
    pub send_topic: Option<SendTopic>,
    pub urgent: bool,
    pub mp_name: Option<String>,
    pub constituency: Option<String>,
    pub mp_reference: Option<String>,
    pub council_reference: Option<String>,
    pub should_acknowledge: bool,
    #[serde(skip)]
    pub team: Option<String>,
    #[serde(skip)]
    pub assignee: Option<String>,
    #[serde(skip)]
    pub policy: Option<String>,
    #[serde(skip)]
    pub tags: Vec<String>,
    /// Why a person must look at it, when a rule or the parser says so.
    #[serde(skip)]
    pub triage: Vec<String>,
    /// Names of the rules that matched, in order.
    pub matched_rules: Vec<String>,
    /// One line per decided field: the value and the rules that decided it.
    #[serde(skip)]
    pub explanation: Vec<String>,
    /// When the EHC needs assessment was requested, if the message (or an
    /// attachment's text) says: the statutory clocks run from it.
    #[serde(skip)]
    pub request_date: Option<chrono::NaiveDate>,
    /// A holding reply: `[holding]` in the subject, or one of the council's
    /// holding phrases in the message's own text (for council replies).
    #[serde(skip)]
    pub holding: bool,
    /// The sender is one of the council's own addresses.
    #[serde(skip)]
    pub from_council: bool,
    /// Where mail about a case goes: the sender of an email, or the MP
    /// office's address from the directory for a letter.
    #[serde(skip)]
    pub correspondent: Option<String>,
}

/// One matched rule, explained.
#[derive(Debug, Clone, Serialize)]
pub struct Explained {
    pub rule: String,
    /// Its file and line.
    pub at: String,
    /// What it votes for (`urgent = true`).
    pub votes: Vec<String>,
    pub priority: i64,
    pub weight: i64,
    /// What each condition found, and where (`own: «…» (@harm)`).
    pub evidence: Vec<String>,
}

/// What `postroom classify` prints for one file: its name, then the
/// decision's contract fields.
#[derive(Debug, Clone, Serialize)]
pub struct Labels<'a> {
    pub file: &'a str,
    #[serde(flatten)]
    pub decision: &'a Decision,
    /// With `--explain`: the decided fields' explanation lines and every
    /// matched rule with its evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explanation>,
}

/// `classify --explain`: how each field was decided, and the rules behind it.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub decided: Vec<String>,
    pub rules: Vec<Explained>,
}

impl Decision {
    pub fn labels<'a>(&'a self, file: &'a str) -> Labels<'a> {
        Labels {
            file,
            decision: self,
            explain: None,
        }
    }
}

/// "category votes: send 9, housing 2": how close the decision was.
fn explain_standings<T: Clone + PartialEq + std::fmt::Display>(
    out: &mut Vec<String>,
    field: &str,
    votes: &rules::Votes<T>,
) {
    let standings = votes.standings();
    if standings.len() > 1 {
        let list: Vec<String> = standings.iter().map(|(v, w)| format!("{v} {w}")).collect();
        out.push(format!("{field} votes: {}", list.join(", ")));
    }
}

impl Classifier {
    pub fn new(rules: Rules, directory: Directory, settings: Settings) -> Classifier {
        let mp_mentions = mentions::Mentions::new(&directory);
        Classifier {
            rules,
            directory,
            settings,
            mp_mentions,
        }
    }

    /// Computes the facts the rules see; public for `rules test`.
    pub fn facts(&self, message: &Message) -> Facts {
        let mut facts =
            features::facts(message, &self.directory, &self.settings, &self.mp_mentions);
        facts.has_mp_reference = self.mp_reference(&facts).is_some();
        facts
    }

    /// Every rule that matched a message, in order: what it voted for, its
    /// priority and weight, and what each of its conditions found in which
    /// part of the message. For `classify --explain` and `rules test`.
    pub fn explain(&self, message: &Message, decision: &Decision) -> Vec<Explained> {
        let facts = self.facts(message);
        decision
            .matched_rules
            .iter()
            .filter_map(|name| self.rules.rules.iter().find(|r| &r.name == name))
            .map(|rule| Explained {
                rule: rule.name.clone(),
                at: format!("{}:{}", rule.file, rule.line),
                votes: rule.then.votes(),
                priority: rule.priority,
                weight: rule.weight,
                evidence: self.rules.evidence(rule, &facts),
            })
            .collect()
    }

    pub fn classify(&self, message: &Message) -> Decision {
        let facts = self.facts(message);
        self.decide(message, &facts)
    }

    // Long: the decision is assembled field by field from the tally, each
    // field with its explanation line, in the order of the JSON contract.
    fn decide(&self, message: &Message, facts: &Facts) -> Decision {
        let tally = self.rules.evaluate(facts);
        let mut explanation = Vec::new();
        let explain = |out: &mut Vec<String>, field: &str, value: String, rules: Vec<usize>| {
            if !rules.is_empty() {
                let names: Vec<&str> = rules
                    .into_iter()
                    .map(|i| self.rules.rules[i].name.as_str())
                    .collect();
                out.push(format!("{field} = {value}  ({})", names.join(", ")));
            }
        };

        let mut from_mp_office = tally.from_mp_office.winner().unwrap_or(false);
        explain(
            &mut explanation,
            "from_mp_office",
            from_mp_office.to_string(),
            tally.from_mp_office.winners_rules(),
        );
        let kind = tally.kind.winner().unwrap_or(if from_mp_office {
            Kind::NewEnquiry
        } else {
            Kind::NotMp
        });
        explain(
            &mut explanation,
            "kind",
            kind.to_string(),
            tally.kind.winners_rules(),
        );
        if matches!(kind, Kind::Junk | Kind::Bounce) {
            // A spoof is not from an MP office, and neither is a bounce, even
            // one generated by Parliament's own mail server.
            from_mp_office = false;
        }

        let (category, send_topic) = if matches!(kind, Kind::AutoReply | Kind::Bounce | Kind::Junk)
        {
            (None, None)
        } else {
            let category = tally.category.winner().unwrap_or(Category::Other);
            explain(
                &mut explanation,
                "category",
                category.to_string(),
                tally.category.winners_rules(),
            );
            explain_standings(&mut explanation, "category", &tally.category);
            let topic = if category == Category::Send {
                let topic = tally.send_topic.winner();
                if let Some(t) = topic {
                    explain(
                        &mut explanation,
                        "send_topic",
                        t.to_string(),
                        tally.send_topic.winners_rules(),
                    );
                }
                explain_standings(&mut explanation, "send_topic", &tally.send_topic);
                topic
            } else {
                None
            };
            (Some(category), topic)
        };

        let urgent = !kind.is_automatic() && tally.urgent.winner().unwrap_or(false);
        if urgent {
            explain(
                &mut explanation,
                "urgent",
                "true".into(),
                tally.urgent.winners_rules(),
            );
        }

        let (mp_name, constituency) = if from_mp_office {
            self.mp_of(message, facts)
        } else {
            (None, None)
        };

        // Junk carries no references; a message that is not from an MP
        // office has no MP reference (a solicitor's "Our ref" is theirs).
        let (mp_reference, council_reference) = if kind == Kind::Junk {
            (None, None)
        } else {
            let mp_reference = (kind != Kind::NotMp)
                .then(|| self.mp_reference(facts))
                .flatten()
                .map(|(value, e)| {
                    explanation.push(format!("mp_reference = {value}  (extract {})", e.name));
                    value
                });
            let council_reference = features::council_reference(
                &[&facts.subject, &facts.body, &facts.attachments],
                &self.settings,
            )
            .or_else(|| {
                self.rules
                    .extract(ExtractField::CouncilReference, facts, &|_| true)
                    .map(|(v, _)| v)
            });
            (mp_reference, council_reference)
        };

        let acknowledge = tally.acknowledge.winner().unwrap_or(true);
        // A message postroom could not read whole (garbage, cut off inside
        // its header) is a person's to answer, whatever it seems to be.
        let should_acknowledge = kind == Kind::NewEnquiry
            && from_mp_office
            && acknowledge
            && message.status == ParseStatus::Parsed;

        let mut triage = tally.triage.clone();
        if message.status == ParseStatus::Unparsed {
            triage.insert(0, "postroom could not parse this message".into());
        }

        Decision {
            kind,
            from_mp_office,
            category,
            send_topic,
            urgent,
            constituency,
            mp_reference,
            council_reference,
            should_acknowledge,
            team: tally.team.winner(),
            assignee: tally.assignee.winner(),
            policy: tally.policy.winner(),
            tags: tally.tags.clone(),
            triage,
            matched_rules: tally
                .matched
                .iter()
                .map(|&i| self.rules.rules[i].name.clone())
                .collect(),
            explanation,
            request_date: features::request_date(message, &self.settings),
            holding: features::holding_reply(message, &self.settings),
            from_council: message
                .from
                .as_ref()
                .is_some_and(|m| self.settings.is_council(&m.address)),
            correspondent: self.correspondent(message, mp_name.as_deref()),
            mp_name,
        }
    }

    /// Where mail about a case goes: the sender of an email, or the MP
    /// office's address from the directory for a letter.
    fn correspondent(&self, message: &Message, mp_name: Option<&str>) -> Option<String> {
        match message.origin {
            crate::message::Origin::Email => message
                .from
                .as_ref()
                .map(|m| m.address.clone())
                .filter(|a| !a.is_empty()),
            crate::message::Origin::Letter => mp_name
                .and_then(|name| self.directory.office_address(name))
                .map(str::to_string),
        }
    }

    /// The MP office's reference: the first extractor's value that is not a
    /// council reference ("Your ref: MPE-2026-00031" is the council's).
    fn mp_reference<'r>(&'r self, facts: &Facts) -> Option<(String, &'r rules::Extractor)> {
        let not_council = |v: &str| !self.settings.reference_pattern.is_match(v);
        self.rules
            .extract(ExtractField::MpReference, facts, &not_council)
    }

    /// The MP on whose behalf the message is written: by the sender's
    /// address in the directory, else by how the text names the MP.
    fn mp_of(&self, message: &Message, facts: &Facts) -> (Option<String>, Option<String>) {
        if let Some(from) = &message.from
            && let Some((_, mp)) = self.directory.lookup(&from.address)
        {
            return (Some(mp.name.clone()), Some(mp.constituency.clone()));
        }
        match self.mp_mentions.first(&facts.text) {
            Some(i) => {
                let mp = &self.directory.mps()[i];
                (Some(mp.name.clone()), Some(mp.constituency.clone()))
            }
            None => (None, None),
        }
    }
}
