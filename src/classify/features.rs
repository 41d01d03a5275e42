//! Facts about a message that rules test: who sent it and in what role, what
//! the council's own mail server found when it checked the sender, which
//! references it cites, and its text split into fields.
//!
//! Pure: no IO, no clock. Everything here is computed once per message.

use super::directory::{Directory, Role};
use super::rules::{AuthResults, Facts, SenderRole};
use super::{Settings, dates};
use crate::parse::Message;

/// Computes the facts rules see.
// Long: the facts are computed once per message, field by field, in the
// order of the Facts struct the rules read.
pub fn facts(
    message: &Message,
    directory: &Directory,
    settings: &Settings,
    mp_mentions: &super::mentions::Mentions,
) -> Facts {
    let from = message.from.clone().unwrap_or_default();
    let sender_role = sender_role(&from.address, directory, settings);
    let subject = fold(&message.subject);
    let body = fold(&message.body);
    let attachments = fold(&message.attachment_text());
    let latest = latest_text(&body).to_string();
    let mut text = String::with_capacity(subject.len() + body.len() + attachments.len() + 2);
    text.push_str(&subject);
    text.push('\n');
    text.push_str(&body);
    text.push('\n');
    text.push_str(&attachments);
    let join = |list: &[crate::parse::Mailbox]| {
        list.iter()
            .map(|m| {
                if m.name.is_empty() {
                    m.address.clone()
                } else {
                    format!("{} <{}>", m.name, m.address)
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let council_reference = council_reference(&[&subject, &body, &attachments], settings);
    let replies_to_postroom = message
        .in_reply_to
        .iter()
        .chain(&message.references)
        .any(|id| is_postroom_id(id, settings));
    let is_reply = !message.in_reply_to.is_empty() || reply_prefix(&message.subject);
    let mentions_mp = mp_mentions.first(&text).is_some();
    // What the sender brings now: their own words and attachments, and,
    // when they forward a message (a constituent's email under a cover
    // note) rather than reply to one, the forwarded text too. The quoted
    // history of a reply is the case's past, not news.
    let forward = !is_reply || forward_prefix(&message.subject);
    let quoted = body[latest.len()..].to_string();
    // A new message's subject is the sender's own words too ("Family
    // homeless tonight"); a reply's is the old one.
    let new_subject = if is_reply { "" } else { subject.as_str() };
    let own = if forward && !quoted.is_empty() {
        format!("{new_subject}\n{body}\n{attachments}")
    } else {
        format!("{new_subject}\n{latest}\n{attachments}")
    };
    let request = requests(&own);
    // Events the sender dates in their own words (a reply's subject is the
    // old one, so only a new message's subject counts).
    let event_within_days = written_date(message, &body, settings)
        .and_then(|written| dates::event_within_days(&own, written));
    Facts {
        source: message.origin,
        subject,
        body,
        own,
        request,
        quoted,
        latest,
        attachments,
        text,
        from: from.address.clone(),
        from_name: fold(&from.name),
        to: join(&message.to),
        cc: join(&message.cc),
        recipients: join(
            &message
                .to
                .iter()
                .chain(&message.cc)
                .cloned()
                .collect::<Vec<_>>(),
        ),
        reply_to: message
            .reply_to
            .as_ref()
            .map(|m| m.address.clone())
            .unwrap_or_default(),
        attachment_names: message
            .parts
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        content_types: message.content_types.join("\n"),
        headers: message
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), fold(v)))
            .collect(),
        sender_role,
        auth: auth_results(message, settings),
        has_council_reference: council_reference.is_some(),
        has_mp_reference: false,
        is_reply,
        replies_to_postroom,
        has_attachments: !message.parts.is_empty(),
        mentions_mp,
        event_within_days,
    }
}

/// The date the message was written, in the council's time zone: its Date
/// header, else the date of receipt, else, for a letter, the first full date
/// in its opening lines ("2 April 2026").
fn written_date(message: &Message, body: &str, settings: &Settings) -> Option<chrono::NaiveDate> {
    if message.origin == crate::message::Origin::Letter {
        let head: String = body.chars().take(800).collect();
        if let Some(d) = dates::first_full_date(&head) {
            return Some(d);
        }
    }
    message
        .date
        .or(message.received)
        .map(|t| t.with_timezone(&settings.timezone).date_naive())
}

/// When the EHC needs assessment was requested, if the message (or an
/// attachment's text) says, read against the day it was written.
pub fn request_date(message: &Message, settings: &Settings) -> Option<chrono::NaiveDate> {
    let written = written_date(message, &message.body, settings)?;
    std::iter::once(message.body.as_str())
        .chain(message.parts.iter().filter_map(|p| p.text.as_deref()))
        .find_map(|text| dates::request_date(text, written))
}

/// A holding reply: `[holding]` in the subject, or one of the council's
/// holding phrases in the message's own text (not the quoted thread).
pub fn holding_reply(message: &Message, settings: &Settings) -> bool {
    if message.subject.to_lowercase().contains("[holding]") {
        return true;
    }
    if settings.holding_phrases.is_empty() {
        return false;
    }
    let own = latest_text(&message.body).to_lowercase();
    settings
        .holding_phrases
        .iter()
        .any(|p| own.contains(p.as_str()))
}

/// Text as rules see it: plain ASCII. Curly quotes become straight ones,
/// dashes hyphens, accented letters their base letters ("Children’s" matches
/// a rule written "Children's", "Siobhán" one written "Siobhan"), and every
/// haystack is ASCII, which keeps the regex engine on its fast path.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else if c.is_whitespace() {
            out.push(' ');
        } else {
            match deunicode::deunicode_char(c) {
                Some(ascii) if !ascii.is_empty() => out.push_str(ascii),
                _ => out.push('?'),
            }
        }
    }
    out
}

fn sender_role(address: &str, directory: &Directory, settings: &Settings) -> SenderRole {
    if address.is_empty() {
        return SenderRole::Unknown;
    }
    if let Some((entry, _)) = directory.lookup(address) {
        return match entry.role {
            Role::Mp => SenderRole::Mp,
            Role::Staff => SenderRole::Staff,
        };
    }
    if settings.is_council(address) {
        return SenderRole::Council;
    }
    SenderRole::Unknown
}

/// Reads the `Authentication-Results` header the council's own receiving
/// server added: the one whose authserv-id is configured, or, when none is
/// configured, the top-most (the last one added, RFC 8601 §5). Headers lower
/// down were written by whoever sent the message and prove nothing.
pub fn auth_results(message: &Message, settings: &Settings) -> AuthResults {
    let mut headers = message
        .headers
        .iter()
        .filter(|(n, _)| n == "authentication-results")
        .map(|(_, v)| v.as_str());
    let trusted = match &settings.authserv_id {
        Some(id) => headers.find(|v| {
            let first = v.split(';').next().unwrap_or("").trim();
            // "mx1.example.org 1;" carries a version after the id.
            first
                .split_whitespace()
                .next()
                .is_some_and(|f| f.eq_ignore_ascii_case(id))
        }),
        None => headers.next(),
    };
    let Some(value) = trusted else {
        return AuthResults::default();
    };
    let mut results = AuthResults::default();
    for clause in value.split(';') {
        let clause = clause.trim();
        let Some((method, rest)) = clause.split_once('=') else {
            continue;
        };
        let method = method.trim().to_ascii_lowercase();
        let result: String = rest
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let slot = match method.as_str() {
            "spf" => &mut results.spf,
            "dkim" => &mut results.dkim,
            "dmarc" => &mut results.dmarc,
            _ => continue,
        };
        // Several DKIM signatures: one that passes is enough.
        match slot {
            Some(existing) if existing == "pass" => {}
            _ => *slot = Some(result),
        }
    }
    results
}

/// The first council reference in `texts`, in the form `PREFIX-YYYY-NNNNN`,
/// or a legacy reference as written.
pub fn council_reference(texts: &[&str], settings: &Settings) -> Option<String> {
    for text in texts {
        if let Some(caps) = settings.reference_pattern.captures(text) {
            let year = &caps["year"];
            let number: u64 = caps["number"].parse().ok()?;
            return Some(format!(
                "{}-{}-{:05}",
                settings.reference_prefix, year, number
            ));
        }
        if let Some(legacy) = &settings.legacy_reference
            && let Some(m) = legacy.captures(text)
        {
            let value = m.name("value").or_else(|| m.get(0))?;
            return Some(value.as_str().to_string());
        }
    }
    None
}

/// Whether a message id is one postroom made (see `compose::message_id`).
pub fn is_postroom_id(id: &str, settings: &Settings) -> bool {
    id.starts_with("postroom.") && id.ends_with(&format!("@{}", settings.message_id_domain))
}

fn reply_prefix(subject: &str) -> bool {
    let s = subject.trim_start().to_ascii_lowercase();
    s.starts_with("re:") || s.starts_with("re :") || s.starts_with("aw:") || s.starts_with("sv:")
}

fn forward_prefix(subject: &str) -> bool {
    let s = subject.trim_start().to_ascii_lowercase();
    s.starts_with("fw:") || s.starts_with("fwd:") || s.starts_with("fw :")
}

/// Words that make a sentence a request: what the writer asks the council
/// to do or to answer ("I would be grateful if you could…", "my
/// constituent asks…", "can you look into…", a question).
static REQUEST: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)\b(grateful|appreciate|could you|can you|would you|will you|please|kindly|asks?\b|asking|(would|wants?|wish(es)?) (like )?to (know|understand|find out)|like to|look (in)?to|investigate|advise|explain|confirm|let (me|us) know|tell (me|us)|update|why|when will|what (will|can|is)|how (will|can|long|does|do))\b|\?",
    )
    // Invariant: a constant pattern, exercised by the tests below.
    .expect("the request pattern compiles")
});

/// The sentences of `text` that ask for something, one per line.
fn requests(text: &str) -> String {
    let mut out = String::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let blank_line = b == b'\n' && bytes.get(i + 1) == Some(&b'\n');
        if matches!(b, b'.' | b'!' | b'?') || blank_line || i + 1 == bytes.len() {
            let sentence = text[start..=i].trim();
            if REQUEST.is_match(sentence) {
                out.push_str(sentence);
                out.push('\n');
            }
            start = i + 1;
        }
    }
    out
}

/// The part of a body above the first quoted or forwarded message.
pub fn latest_text(body: &str) -> &str {
    let mut offset = 0;
    let lines: Vec<&str> = body.split_inclusive('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let lower = t.to_ascii_lowercase();
        let quoted = t.starts_with('>')
            || (lower.starts_with("-----") && lower.contains("original message"))
            || (lower.starts_with("---") && lower.contains("forwarded message"))
            || lower.starts_with("begin forwarded message")
            || (lower.starts_with("on ") && lower.ends_with("wrote:"))
            || (lower.starts_with("from:")
                && lines[i + 1..].iter().take(4).any(|l| {
                    let l = l.trim_start().to_ascii_lowercase();
                    l.starts_with("sent:") || l.starts_with("date:")
                }));
        if quoted && offset > 0 {
            return &body[..offset];
        }
        if quoted {
            // A message that starts with a quote has no text of its own.
            return "";
        }
        offset += line.len();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_email;

    fn settings() -> Settings {
        Settings::new(
            "MPE",
            vec!["council.example".into()],
            None,
            None,
            "council.example",
        )
        .unwrap()
    }

    #[test]
    fn the_council_s_addresses_are_its_domains_and_their_subdomains() {
        let s = settings();
        assert!(s.is_council("a.shah@council.example"));
        assert!(s.is_council("A.Shah@Schools.COUNCIL.example"));
        assert!(!s.is_council("someone@evilcouncil.example"));
        assert!(!s.is_council("someone@council.example.com"));
        assert!(!s.is_council("council.example"));
        assert!(!s.is_council(""));
    }

    #[test]
    fn a_holding_reply_is_told_by_its_subject_or_its_own_text() {
        let mut s = settings();
        s.holding_phrases = vec!["we will reply in full".into()];
        let mail = |subject: &str, body: &str| {
            parse_email(
                format!("From: a@council.example\r\nSubject: {subject}\r\n\r\n{body}").as_bytes(),
            )
        };
        assert!(holding_reply(
            &mail("[Holding] Re: MPE-2026-00001", "Thanks."),
            &s
        ));
        assert!(holding_reply(
            &mail("Re: x", "We will reply in full by Friday."),
            &s
        ));
        assert!(!holding_reply(&mail("Re: x", "Here is our answer."), &s));
        // A holding phrase in the quoted thread is not this reply's.
        assert!(!holding_reply(
            &mail(
                "Re: x",
                "Here is our answer.\r\n\r\n> We will reply in full soon."
            ),
            &s
        ));
    }

    #[test]
    fn only_the_trusted_authentication_results_count() {
        let raw = b"Authentication-Results: mx1.council.example; spf=fail smtp.mailfrom=x; dkim=none; dmarc=fail header.from=parliament.uk\r\n\
Authentication-Results: mx1.council.example; spf=pass; dkim=pass; dmarc=pass\r\n\
From: a@parliament.uk\r\nSubject: s\r\n\r\nbody\r\n";
        let m = parse_email(raw);
        let r = auth_results(&m, &settings());
        assert_eq!(r.dmarc.as_deref(), Some("fail"));
        assert_eq!(r.spf.as_deref(), Some("fail"));
        let mut s = settings();
        s.authserv_id = Some("mx2.council.example".into());
        assert_eq!(auth_results(&m, &s), AuthResults::default());
    }

    #[test]
    fn exchange_online_results_without_an_authserv_id_are_read() {
        let raw = b"Authentication-Results: spf=none (sender IP is 10.2.3.4) smtp.mailfrom=fabrikam.com; contoso.com; dkim=none (message not signed) header.d=none;contoso.com; dmarc=none action=none header.from=fabrikam.com;compauth=fail reason=001\r\nFrom: a@b\r\n\r\nx";
        let m = parse_email(raw);
        let r = auth_results(&m, &settings());
        assert_eq!(r.spf.as_deref(), Some("none"));
        assert_eq!(r.dmarc.as_deref(), Some("none"));
    }

    #[test]
    fn council_references_are_normalised() {
        let s = settings();
        assert_eq!(
            council_reference(&["see mpe-2026-00317 please"], &s).as_deref(),
            Some("MPE-2026-00317")
        );
        assert_eq!(
            council_reference(&["ref MPE 2026 317"], &s).as_deref(),
            Some("MPE-2026-00317")
        );
        assert_eq!(
            council_reference(&["ENF/26/0193", "26/00412/FUL"], &s),
            None
        );
    }

    #[test]
    fn latest_text_stops_at_the_quote() {
        let body = "Thanks, any news?\n\nFrom: Council <a@b>\nSent: 1 May\nTo: x\n\nold text\n";
        assert_eq!(latest_text(body), "Thanks, any news?\n\n");
        let body = "Chasing this.\nOn Mon, 3 Mar 2026 at 10:00, Someone <a@b> wrote:\n> old\n";
        assert_eq!(latest_text(body), "Chasing this.\n");
        assert_eq!(latest_text("no quote here\n"), "no quote here\n");
    }
}
