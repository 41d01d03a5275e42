//! Dated events a message mentions ("the hearing is next Tuesday", "they
//! will be evicted on 14 March", "transport stops from Monday"), and how
//! many days after the message was written the nearest one falls.
//!
//! A date counts only when an event word stands shortly before it (hearing,
//! deadline, eviction, visit, ...), and only when it lies ahead of the
//! message's date: "the deadline passed on Tuesday" and "I held a meeting on
//! Friday" are in the past and say nothing about urgency. UK day-first
//! dates; a date without a year is taken in the year that puts it nearest
//! the message. Pure: the message's own date is the only clock.

use std::sync::LazyLock;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use regex::Regex;

/// Words that make the date after them an event's date.
const EVENTS: &str = r"hearing|tribunal|deadline|evict(?:ion|ed)?|possession(?: date)?|court|panel|meeting|conference|exclusion|appeal|decision|start(?:s|ing)?|begins?|due|expires?|closes?|appointment|visit|enforcement|bailiffs?|summons|liability order|operation|discharged?|review|interview|removal|deadlines?|cut[- ]off|stops?|ends?|withdrawn|cancell?ed|with effect|will be|is on|(?:re)?listed|scheduled|booked|set for|takes place|leave|vacate|check out|be out|move out";

/// Words between an event word and its date that put the event in the past.
const PAST: &str = r"\b(?:was|were|passed|held|took place|happened|had|last|ago|did|went|missed|expired|closed|ended)\b";

static EVENT_DATE: LazyLock<Regex> = LazyLock::new(|| {
    let weekday = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday";
    let month = r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";
    let pattern = format!(
        r"(?i)\b(?P<event>{EVENTS})\b(?P<between>[^.!?;:\n]{{0,80}}?)\b(?:(?P<today>today|tonight|this (?:morning|afternoon|evening))|(?P<tomorrow>tomorrow)|(?P<nextweek>next week|(?:the )?end of next week)|(?P<thisweek>this week|(?:the )?end of (?:the|this) week)|in (?P<ndays>\d{{1,2}}|two|three|four|five|six|seven|ten) days|(?P<rel>next|this|on|from|by|is|for|this coming|coming) (?P<wd>{weekday})|(?:(?:{weekday}),? )?(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?: of)? (?P<m1>{month})\b(?:,? (?P<y1>\d{{4}}))?|(?P<m2>{month}) (?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,? (?P<y2>\d{{4}}))?|(?P<d3>\d{{1,2}})[/.](?P<m3>\d{{1,2}})[/.](?P<y3>\d{{2,4}})|the (?P<d4>\d{{1,2}})(?:st|nd|rd|th)\b)"
    );
    // Invariant: the pattern is a constant, checked by the tests below.
    Regex::new(&pattern).expect("the event-date pattern compiles")
});

static PAST_WORDS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("(?i){PAST}")).expect("the past-words pattern compiles"));

/// Days from `written` to the nearest event ahead that `text` dates.
pub fn event_within_days(text: &str, written: NaiveDate) -> Option<i64> {
    let mut best: Option<i64> = None;
    let mut at = 0;
    // Matches may overlap: "the hearing was adjourned in March, and it is
    // now listed for 8 July" holds a past "hearing … 8 July" and, inside it,
    // a future "listed for 8 July". The search goes on just after each
    // event word, not after the whole match.
    while let Some(caps) = EVENT_DATE.captures_at(text, at) {
        let event = caps.name("event").map_or(0..0, |m| m.range());
        at = event.end.max(at + 1);
        while at < text.len() && !text.is_char_boundary(at) {
            at += 1;
        }
        if caps
            .name("between")
            .is_some_and(|b| PAST_WORDS.is_match(b.as_str()))
        {
            continue;
        }
        // "I held a meeting on Friday": the past tense may come first.
        let start = event.start;
        let mut from = start.saturating_sub(50);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        let before = &text[from..start];
        if PAST_WORDS.is_match(clause_tail(before)) {
            continue;
        }
        let Some(date) = resolve(&caps, written) else {
            continue;
        };
        let days = (date - written).num_days();
        if days >= 0 {
            best = Some(best.map_or(days, |b| b.min(days)));
        }
    }
    best
}

/// The end of `before` that is in the same clause as what follows it:
/// after the last sentence end, line break, or clause turn ("but", ", and",
/// "however", ...). "The appeal was lodged last spring and the hearing is
/// this Thursday": "was" and "last" belong to the appeal, not the hearing.
fn clause_tail(before: &str) -> &str {
    static TURN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)[.!?;:\n]|,|\b(?:and|but|however|although|though|whereas|yet|now)\b")
            .expect("the clause-turn pattern compiles")
    });
    match TURN.find_iter(before).last() {
        Some(m) => &before[m.end()..],
        None => before,
    }
}

fn resolve(caps: &regex::Captures<'_>, written: NaiveDate) -> Option<NaiveDate> {
    if caps.name("today").is_some() {
        return Some(written);
    }
    if caps.name("tomorrow").is_some() {
        return Some(written + Duration::days(1));
    }
    if caps.name("nextweek").is_some() {
        return Some(written + Duration::days(7));
    }
    if caps.name("thisweek").is_some() {
        return Some(written + Duration::days(2));
    }
    if let Some(n) = caps.name("ndays") {
        let n = match n.as_str().to_ascii_lowercase().as_str() {
            "two" => 2,
            "three" => 3,
            "four" => 4,
            "five" => 5,
            "six" => 6,
            "seven" => 7,
            "ten" => 10,
            digits => digits.parse().ok()?,
        };
        return Some(written + Duration::days(n));
    }
    if let (Some(rel), Some(wd)) = (caps.name("rel"), caps.name("wd")) {
        let target: Weekday = wd.as_str().parse().ok()?;
        let mut ahead = (7 + target.num_days_from_monday() as i64
            - written.weekday().num_days_from_monday() as i64)
            % 7;
        if ahead == 0 {
            ahead = 7;
        }
        // "next Tuesday" said early in a week means the week after.
        if rel.as_str().eq_ignore_ascii_case("next")
            && ahead + (written.weekday().num_days_from_monday() as i64) < 7
        {
            ahead += 7;
        }
        return Some(written + Duration::days(ahead));
    }
    if let Some(d) = caps.name("d4") {
        // "the 26th": this month's, or next month's when this one's has gone.
        let day: u32 = d.as_str().parse().ok()?;
        let next = written.checked_add_months(chrono::Months::new(1))?;
        return NaiveDate::from_ymd_opt(written.year(), written.month(), day)
            .filter(|date| *date >= written)
            .or_else(|| NaiveDate::from_ymd_opt(next.year(), next.month(), day));
    }
    let (day, month, year) = day_month_year(caps)?;
    match year {
        Some(y) => NaiveDate::from_ymd_opt(y, month, day),
        None => {
            // The year that puts the date nearest the message.
            [written.year() - 1, written.year(), written.year() + 1]
                .into_iter()
                .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
                .min_by_key(|d| (*d - written).num_days().abs())
        }
    }
}

/// The date a request for an EHC needs assessment was made, when the
/// message states it: "we requested an EHC needs assessment on 12 January
/// 2026", "the request for assessment was submitted on 3/11/25", "an EHCNA
/// was applied for on 5th March". The date must stand in the same sentence
/// as a request word and an assessment word, lie on or before the day the
/// message was written and within two years of it; a date without a year is
/// taken in the latest year that puts it on or before that day. The
/// statutory 6- and 20-week clocks run from it.
pub fn request_date(text: &str, written: NaiveDate) -> Option<NaiveDate> {
    static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:request(?:ed|s|ing)?|appl(?:ied|ication|y)|asked for|submitted|made a referral|referred|sent in)\b")
            .expect("the request pattern compiles")
    });
    static ASSESSMENT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:ehc\s*needs\s*assessment|ehcna|needs assessment|statutory assessment|assessment of (?:his|her|their|the child's) needs|ehc\s*assessment|ehcp?\b|education,? health and care)")
            .expect("the assessment pattern compiles")
    });
    static DATE: LazyLock<Regex> = LazyLock::new(|| {
        let month = r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";
        Regex::new(&format!(
            r"(?i)\b(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?: of)? (?P<m1>{month})\b(?:,? (?P<y1>\d{{4}}))?|(?P<m2>{month}) (?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,? (?P<y2>\d{{4}}))?|(?P<d3>\d{{1,2}})[/.](?P<m3>\d{{1,2}})[/.](?P<y3>\d{{2,4}}))"
        ))
        .expect("the date pattern compiles")
    });
    static SENTENCE_END: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"[.!?](?:\s|$)|\n\s*\n").expect("the sentence pattern compiles")
    });
    for sentence in SENTENCE_END.split(text) {
        // Mail is wrapped at 72 characters: a sentence runs over lines.
        let sentence = sentence.split_whitespace().collect::<Vec<_>>().join(" ");
        let sentence = sentence.as_str();
        if !(REQUEST.is_match(sentence) && ASSESSMENT.is_match(sentence)) {
            continue;
        }
        for caps in DATE.captures_iter(sentence) {
            let Some(date) = past_date(&caps, written) else {
                continue;
            };
            if date <= written && (written - date).num_days() <= 730 {
                return Some(date);
            }
        }
    }
    None
}

/// A calendar date from `DATE`'s captures; without a year, the latest on
/// or before `written`.
fn past_date(caps: &regex::Captures<'_>, written: NaiveDate) -> Option<NaiveDate> {
    let (day, month, year) = day_month_year(caps)?;
    match year {
        Some(y) => NaiveDate::from_ymd_opt(y, month, day),
        None => [written.year(), written.year() - 1]
            .into_iter()
            .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
            .find(|d| *d <= written),
    }
}

/// Day, month and (when written) year from `DATE`'s captures: "2 April
/// [2026]", "April 2[, 2026]" or "2/4/26".
fn day_month_year(caps: &regex::Captures<'_>) -> Option<(u32, u32, Option<i32>)> {
    if let (Some(d), Some(m)) = (caps.name("d1"), caps.name("m1")) {
        Some((
            d.as_str().parse().ok()?,
            month_number(m.as_str())?,
            caps.name("y1").and_then(|y| y.as_str().parse().ok()),
        ))
    } else if let (Some(d), Some(m)) = (caps.name("d2"), caps.name("m2")) {
        Some((
            d.as_str().parse().ok()?,
            month_number(m.as_str())?,
            caps.name("y2").and_then(|y| y.as_str().parse().ok()),
        ))
    } else if let (Some(d), Some(m), Some(y)) = (caps.name("d3"), caps.name("m3"), caps.name("y3"))
    {
        let mut year: i32 = y.as_str().parse().ok()?;
        if year < 100 {
            year += 2000;
        }
        Some((
            d.as_str().parse().ok()?,
            m.as_str().parse().ok()?,
            Some(year),
        ))
    } else {
        None
    }
}

/// The first date written out in full ("2 April 2026", "April 2, 2026").
pub fn first_full_date(text: &str) -> Option<NaiveDate> {
    static FULL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(\d{1,2})(?:st|nd|rd|th)? (jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?),? (\d{4})\b")
            .expect("the full-date pattern compiles")
    });
    FULL.captures_iter(text).find_map(|c| {
        NaiveDate::from_ymd_opt(c[3].parse().ok()?, month_number(&c[2])?, c[1].parse().ok()?)
    })
}

fn month_number(name: &str) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    months
        .iter()
        .position(|m| lower.starts_with(m))
        .map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    // Friday 6 March 2026.
    const FRIDAY: &str = "2026-03-06";

    #[test]
    fn relative_days_ahead_count() {
        let f = d(FRIDAY);
        assert_eq!(
            event_within_days("The tribunal hearing is next Tuesday.", f),
            Some(4)
        );
        assert_eq!(
            event_within_days("They will be evicted at 10am today.", f),
            Some(0)
        );
        assert_eq!(
            event_within_days("The eviction is this Thursday", f),
            Some(6)
        );
        assert_eq!(event_within_days("Transport stops from Monday", f), Some(3));
        assert_eq!(
            event_within_days("an enforcement agent visit on Monday", f),
            Some(3)
        );
        assert_eq!(
            event_within_days("the panel meets in three days", f),
            Some(3)
        );
    }

    #[test]
    fn dates_ahead_count_and_the_nearest_wins() {
        let f = d(FRIDAY);
        assert_eq!(
            event_within_days(
                "The hearing is on 12 March and the deadline on 30 April.",
                f
            ),
            Some(6)
        );
        assert_eq!(
            event_within_days(
                "a liability order hearing at court on 2nd September 2026",
                f
            ),
            Some(180)
        );
        assert_eq!(
            event_within_days("the appeal deadline is 16/03/2026", f),
            Some(10)
        );
        assert_eq!(
            event_within_days("the committee decision is expected on April 1", f),
            Some(26)
        );
    }

    #[test]
    fn past_events_and_undated_text_do_not() {
        let f = d(FRIDAY);
        assert_eq!(
            event_within_days("the 20-week deadline passed on Tuesday", f),
            None
        );
        assert_eq!(
            event_within_days("I held a residents' meeting on Friday evening", f),
            None
        );
        assert_eq!(
            event_within_days("The hearing on 14 February was adjourned", f),
            None
        );
        assert_eq!(
            event_within_days("bins missed since the beginning of December", f),
            None
        );
        assert_eq!(event_within_days("nothing dated here", f), None);
        assert_eq!(
            event_within_days(
                "The hearing, which was set for next week, has been postponed until the spring",
                f
            ),
            None
        );
    }

    #[test]
    fn past_words_count_only_in_the_events_own_clause() {
        let f = d(FRIDAY);
        // Issue 14, pattern 5: past tense before a future date.
        assert_eq!(
            event_within_days(
                "The appeal was lodged last spring and the hearing is this Thursday",
                f
            ),
            Some(6)
        );
        // Overlapping matches: a past hearing holds a future listing.
        assert_eq!(
            event_within_days(
                "The hearing had been adjourned once in March, and it is now listed for Monday",
                f
            ),
            Some(3)
        );
        assert_eq!(
            event_within_days(
                "went to court in May and was given a date: the eviction is on Monday",
                f
            ),
            Some(3)
        );
    }

    #[test]
    fn ordinal_days_and_week_ends() {
        let f = d(FRIDAY);
        let later = f + Duration::days(5);
        let text = format!("a possession date of the {}th", later.day());
        assert_eq!(event_within_days(&text, f), Some(5));
        assert_eq!(
            event_within_days("told to leave by the end of the week", f),
            Some(2)
        );
        assert_eq!(
            event_within_days("the school's deadline to confirm is Monday", f),
            Some(3)
        );
    }

    #[test]
    fn next_weekday_early_in_the_week_means_the_week_after() {
        // Monday 2 March 2026: "next Friday" is 13 March, "this Friday" 6 March.
        let monday = d("2026-03-02");
        assert_eq!(
            event_within_days("the hearing is next Friday", monday),
            Some(11)
        );
        assert_eq!(
            event_within_days("the hearing is this Friday", monday),
            Some(4)
        );
    }

    #[test]
    fn the_request_date_of_an_assessment_is_found_in_its_sentence() {
        let written = d("2026-03-06");
        assert_eq!(
            request_date(
                "Her mother requested an EHC needs assessment on 12 January 2026.",
                written
            ),
            Some(d("2026-01-12"))
        );
        assert_eq!(
            request_date(
                "The family tell me that the request for a needs\nassessment was submitted on 3/11/25 and they\nhave heard nothing since.",
                written
            ),
            Some(d("2025-11-03"))
        );
        // Without a year: the latest such day on or before the letter.
        assert_eq!(
            request_date(
                "An EHCNA was applied for on 5th March by the school.",
                written
            ),
            Some(d("2026-03-05"))
        );
        assert_eq!(
            request_date(
                "The school asked for an EHC assessment on 20 December.",
                written
            ),
            Some(d("2025-12-20"))
        );
        // A date in another sentence, a future date, or no request word.
        assert_eq!(
            request_date(
                "We requested an EHC needs assessment. The panel meets on 2 February 2026.",
                written
            ),
            None
        );
        assert_eq!(
            request_date(
                "The EHC needs assessment request will be sent on 20 March 2026.",
                written
            ),
            None
        );
        assert_eq!(
            request_date("Her EHCP was finalised on 2 February 2026.", written),
            None
        );
        assert_eq!(
            request_date(
                "We requested an EHC needs assessment in 2019, on 4 May 2019.",
                written
            ),
            None,
            "more than two years before the letter"
        );
    }
}
