//! The working-day calendar: which days count, and what date is N working
//! days after a message arrived.
//!
//! Councils measure themselves in working days: not Saturdays or Sundays, not
//! the bank holidays of their part of the UK, not their own closure days.
//! Bank holidays come from the gov.uk `bank-holidays.json` feed format; a copy
//! is built in (`bank-holidays.json` beside this file, 2018-2028, with the
//! one-off days such as the 2020 VE-day move and the 2023 coronation) and
//! `postroom calendar update FILE` loads a newer one.
//!
//! The clock (Cabinet Office model for MP correspondence): the day of receipt
//! is day 0 and not counted. Mail that arrives after the council's cut-off
//! time, or on a day that is not a working day, counts as received on the next
//! working day. All of it happens in the council's time zone (Europe/London),
//! so a message sent at 23:30 UTC in June arrives the next day, and one at
//! 00:30 UTC in January the same day.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

/// The bank-holiday feed shipped with postroom.
pub const EMBEDDED_FEED: &str = include_str!("bank-holidays.json");

/// A division of the gov.uk feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Division {
    EnglandAndWales,
    Scotland,
    NorthernIreland,
}

impl Division {
    pub fn parse(s: &str) -> Option<Division> {
        match s {
            "england-and-wales" => Some(Division::EnglandAndWales),
            "scotland" => Some(Division::Scotland),
            "northern-ireland" => Some(Division::NorthernIreland),
            _ => None,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Division::EnglandAndWales => "england-and-wales",
            Division::Scotland => "scotland",
            Division::NorthernIreland => "northern-ireland",
        }
    }
}

#[derive(Debug, Deserialize)]
struct FeedDivision {
    events: Vec<FeedEvent>,
}

#[derive(Debug, Deserialize)]
struct FeedEvent {
    date: NaiveDate,
}

/// The bank holidays of `division`: the built-in feed, with every year that
/// a loaded feed covers taken from the newest feed that covers it (`feeds`
/// oldest first). A proclamation that moves a holiday therefore replaces
/// the old date; years a newer feed no longer carries (gov.uk keeps about a
/// year of the past) stay as an older one had them.
pub fn merge_feeds(feeds: &[&str], division: Division) -> Result<BTreeSet<NaiveDate>, String> {
    let mut by_year: std::collections::BTreeMap<i32, BTreeSet<NaiveDate>> =
        std::collections::BTreeMap::new();
    for feed in std::iter::once(&EMBEDDED_FEED).chain(feeds) {
        let dates = parse_feed(feed, division)?;
        let mut years: std::collections::BTreeMap<i32, BTreeSet<NaiveDate>> =
            std::collections::BTreeMap::new();
        for d in dates {
            years.entry(d.year()).or_default().insert(d);
        }
        by_year.extend(years);
    }
    Ok(by_year.into_values().flatten().collect())
}

/// Reads one division's dates from a gov.uk bank-holidays feed.
pub fn parse_feed(json: &str, division: Division) -> Result<BTreeSet<NaiveDate>, String> {
    let mut feed: std::collections::HashMap<String, FeedDivision> =
        serde_json::from_str(json).map_err(|e| format!("not a gov.uk bank-holidays feed: {e}"))?;
    let div = feed
        .remove(division.key())
        .ok_or_else(|| format!("the feed has no {:?} division", division.key()))?;
    Ok(div.events.into_iter().map(|e| e.date).collect())
}

/// What a deadline counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Working days after day 0 (the day of receipt, or the next working
    /// day after a late or non-working-day receipt).
    WorkingDays,
    /// Calendar weeks from a date (the SEND clocks in England: school
    /// holidays and bank holidays do not stop them).
    Weeks,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::WorkingDays => "working_days",
            Unit::Weeks => "weeks",
        }
    }

    pub fn parse(s: &str) -> Option<Unit> {
        match s {
            "working_days" => Some(Unit::WorkingDays),
            "weeks" => Some(Unit::Weeks),
            _ => None,
        }
    }
}

/// A working-day calendar for one council.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: Tz,
    cutoff: NaiveTime,
    holidays: BTreeSet<NaiveDate>,
    closures: BTreeSet<NaiveDate>,
}

impl Calendar {
    pub fn new(
        tz: Tz,
        cutoff: NaiveTime,
        holidays: BTreeSet<NaiveDate>,
        closures: BTreeSet<NaiveDate>,
    ) -> Calendar {
        Calendar {
            tz,
            cutoff,
            holidays,
            closures,
        }
    }

    /// The built-in feed for `division`, 17:00 cut-off, Europe/London.
    pub fn embedded(division: Division) -> Calendar {
        // Invariant: the embedded feed is checked by the tests below.
        let holidays = parse_feed(EMBEDDED_FEED, division).unwrap_or_default();
        Calendar::new(
            chrono_tz::Europe::London,
            default_cutoff(),
            holidays,
            BTreeSet::new(),
        )
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
            && !self.holidays.contains(&date)
            && !self.closures.contains(&date)
    }

    pub fn next_working_day(&self, mut date: NaiveDate) -> NaiveDate {
        loop {
            date += Duration::days(1);
            if self.is_working_day(date) {
                return date;
            }
        }
    }

    /// Day 0 of a clock started by a message received at `at`.
    pub fn start_day(&self, at: DateTime<Utc>) -> NaiveDate {
        let local = at.with_timezone(&self.tz);
        let date = local.date_naive();
        if self.is_working_day(date) && local.time() < self.cutoff {
            date
        } else {
            self.next_working_day(date)
        }
    }

    /// The date `days` working days after `date` (`date` itself not counted).
    pub fn add_working_days(&self, mut date: NaiveDate, days: u32) -> NaiveDate {
        for _ in 0..days {
            date = self.next_working_day(date);
        }
        date
    }

    /// The date `days` working days before `date`.
    pub fn sub_working_days(&self, mut date: NaiveDate, days: u32) -> NaiveDate {
        for _ in 0..days {
            loop {
                date -= Duration::days(1);
                if self.is_working_day(date) {
                    break;
                }
            }
        }
        date
    }

    /// Working days after `from` up to and including `to` (negative when
    /// `to` comes first): how late a deadline due on `from` is on `to`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let (a, b, sign) = if from <= to {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let mut n = 0;
        let mut d = a;
        while d < b {
            d += Duration::days(1);
            if self.is_working_day(d) {
                n += 1;
            }
        }
        sign * n
    }

    /// The date a reply is due when the target is `days` working days.
    pub fn due_date(&self, received: DateTime<Utc>, days: u32) -> NaiveDate {
        self.add_working_days(self.start_day(received), days)
    }

    /// When a clock that started on `start` runs out: `amount` of `unit`,
    /// plus the days it was paused (working days for a working-day clock,
    /// calendar days for a clock in weeks).
    pub fn due(&self, unit: Unit, start: NaiveDate, amount: u32, paused_days: u32) -> NaiveDate {
        match unit {
            Unit::WorkingDays => self.add_working_days(start, amount + paused_days),
            Unit::Weeks => start + Duration::days(7 * i64::from(amount) + i64::from(paused_days)),
        }
    }

    /// Whether `at` is inside `window` (local times) on a working day: when
    /// people get reminders and digests.
    pub fn in_working_hours(&self, at: DateTime<Utc>, window: (NaiveTime, NaiveTime)) -> bool {
        let local = at.with_timezone(&self.tz);
        self.is_working_day(local.date_naive())
            && local.time() >= window.0
            && local.time() < window.1
    }

    /// The instant local day `d` begins (its first minute, where a clock
    /// change skips midnight).
    pub fn start_of_day(&self, d: NaiveDate) -> DateTime<Utc> {
        use chrono::TimeZone;
        let mut t = d.and_time(NaiveTime::MIN);
        loop {
            if let Some(at) = self.tz.from_local_datetime(&t).earliest() {
                return at.with_timezone(&Utc);
            }
            t += Duration::minutes(1);
        }
    }

    /// The time zone's offset from UTC in seconds from `from` on, and each
    /// instant in `[from, to)` it changes at with the offset after it, in
    /// seconds since 1970 (the store's figures work out local days with
    /// them).
    pub fn offsets_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(i64, i64)> {
        use chrono::Offset;
        let offset = |at: DateTime<Utc>| {
            i64::from(at.with_timezone(&self.tz).offset().fix().local_minus_utc())
        };
        let mut out = vec![(from.timestamp(), offset(from))];
        let mut at = from;
        while at < to {
            let next = at + Duration::hours(6);
            if offset(next) != offset(at) {
                // The second it changes at.
                let (mut lo, mut hi) = (at, next);
                while hi - lo > Duration::seconds(1) {
                    let mid = lo + Duration::seconds((hi - lo).num_seconds() / 2);
                    if offset(mid) == offset(lo) {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                out.push((hi.timestamp(), offset(hi)));
            }
            at = next;
        }
        out
    }

    /// The local date of an instant, in the council's time zone.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }
}

pub fn default_cutoff() -> NaiveTime {
    NaiveTime::from_hms_opt(17, 0, 0).unwrap_or(NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_embedded_feed_covers_2018_to_2028_for_every_division() {
        for division in [
            Division::EnglandAndWales,
            Division::Scotland,
            Division::NorthernIreland,
        ] {
            let dates = parse_feed(EMBEDDED_FEED, division).unwrap();
            for year in 2018..=2028 {
                assert!(
                    dates.iter().filter(|d| d.year() == year).count() >= 8,
                    "{division:?} {year}"
                );
            }
        }
    }

    #[test]
    fn weekends_and_bank_holidays_are_skipped() {
        let cal = Calendar::embedded(Division::EnglandAndWales);
        // Thursday 2 April 2026, before the Easter weekend: Good Friday 3rd
        // and Easter Monday 6th do not count.
        assert_eq!(
            cal.due_date(at("2026-04-02T10:00:00+01:00"), 1),
            d("2026-04-07")
        );
        // Boxing Day 2026 is a Saturday: the substitute day is Monday 28th.
        assert!(!cal.is_working_day(d("2026-12-28")));
        assert!(cal.is_working_day(d("2026-12-29")));
    }

    #[test]
    fn receipt_after_the_cut_off_counts_from_the_next_working_day() {
        let cal = Calendar::embedded(Division::EnglandAndWales);
        // Friday 22 May 2026 at 23:59 BST, before the spring bank holiday
        // (Monday 25th): day 0 is Tuesday 26th.
        let late = at("2026-05-22T22:59:00Z");
        assert_eq!(cal.start_day(late), d("2026-05-26"));
        assert_eq!(cal.due_date(late, 10), d("2026-06-09"));
        // The same Friday at 09:00 counts from the Friday.
        assert_eq!(cal.start_day(at("2026-05-22T08:00:00Z")), d("2026-05-22"));
    }

    #[test]
    fn scotland_keeps_its_own_holidays() {
        let eng = Calendar::embedded(Division::EnglandAndWales);
        let sco = Calendar::embedded(Division::Scotland);
        // St Andrew's Day, Monday 30 November 2026.
        assert!(eng.is_working_day(d("2026-11-30")));
        assert!(!sco.is_working_day(d("2026-11-30")));
        // Easter Monday is not a Scottish bank holiday.
        assert!(sco.is_working_day(d("2026-04-06")));
    }

    #[test]
    fn christmas_and_boxing_day_on_a_weekend_move_to_substitute_days() {
        let cal = Calendar::embedded(Division::EnglandAndWales);
        // 2021: Saturday 25 and Sunday 26 December; Monday 27 and Tuesday
        // 28 are the substitute days.
        for day in ["2021-12-27", "2021-12-28", "2027-12-27", "2027-12-28"] {
            assert!(!cal.is_working_day(d(day)), "{day}");
        }
        assert!(cal.is_working_day(d("2021-12-29")));
        // 2022: Christmas on a Sunday; Boxing Day Monday 26, substitute
        // Tuesday 27.
        assert!(!cal.is_working_day(d("2022-12-26")));
        assert!(!cal.is_working_day(d("2022-12-27")));
        // A message on Thursday 23 December 2021 before the cut-off: day 1
        // is Friday 24th, day 2 Wednesday 29th.
        assert_eq!(cal.due_date(at("2021-12-23T10:00:00Z"), 2), d("2021-12-29"));
    }

    #[test]
    fn easter_and_the_moved_early_may_holiday_of_2020() {
        let cal = Calendar::embedded(Division::EnglandAndWales);
        // Good Friday 18 and Easter Monday 21 April 2025.
        assert!(!cal.is_working_day(d("2025-04-18")));
        assert!(!cal.is_working_day(d("2025-04-21")));
        assert_eq!(
            cal.due_date(at("2025-04-17T09:00:00+01:00"), 1),
            d("2025-04-22")
        );
        // 2020: the early May bank holiday moved from Monday 4 May to
        // Friday 8 May (VE Day).
        assert!(cal.is_working_day(d("2020-05-04")));
        assert!(!cal.is_working_day(d("2020-05-08")));
        assert_eq!(
            cal.due_date(at("2020-05-07T09:00:00+01:00"), 1),
            d("2020-05-11")
        );
    }

    #[test]
    fn scotland_and_england_differ_in_january_and_august() {
        let eng = Calendar::embedded(Division::EnglandAndWales);
        let sco = Calendar::embedded(Division::Scotland);
        // 2 January (Monday 4 January 2027 as the substitute) and the first
        // Monday of August are Scottish only; the last Monday of August is
        // English only.
        assert!(eng.is_working_day(d("2027-01-04")) && !sco.is_working_day(d("2027-01-04")));
        assert!(eng.is_working_day(d("2026-08-03")) && !sco.is_working_day(d("2026-08-03")));
        assert!(!eng.is_working_day(d("2026-08-31")) && sco.is_working_day(d("2026-08-31")));
        // The same message is due on different days.
        let friday = at("2026-07-31T10:00:00+01:00");
        assert_eq!(eng.due_date(friday, 1), d("2026-08-03"));
        assert_eq!(sco.due_date(friday, 1), d("2026-08-04"));
    }

    #[test]
    fn the_cut_off_follows_the_clocks_going_back() {
        let cal = Calendar::embedded(Division::EnglandAndWales);
        // Clocks go back at 02:00 BST on Sunday 25 October 2026. 16:30 UTC
        // is 17:30 BST on Friday 23rd (after the 17:00 cut-off, so day 0 is
        // Monday 26th) but 16:30 GMT on Monday 26th (before it).
        assert_eq!(cal.start_day(at("2026-10-23T16:30:00Z")), d("2026-10-26"));
        assert_eq!(cal.start_day(at("2026-10-26T16:30:00Z")), d("2026-10-26"));
        // 23:30 UTC on Saturday 24th is already Sunday in London.
        assert_eq!(cal.local_date(at("2026-10-24T23:30:00Z")), d("2026-10-25"));
        // And in spring: 16:30 UTC on Friday 27 March 2026 is 16:30 GMT,
        // on Monday 30 March 17:30 BST.
        assert_eq!(cal.start_day(at("2026-03-27T16:30:00Z")), d("2026-03-27"));
        assert_eq!(cal.start_day(at("2026-03-30T16:30:00Z")), d("2026-03-31"));
    }

    #[test]
    fn working_days_count_both_ways_and_weeks_ignore_holidays() {
        let cal = Calendar::embedded(Division::EnglandAndWales);
        // Easter 2026: Thursday 2 April to Tuesday 7 April is 1 working day.
        assert_eq!(
            cal.working_days_between(d("2026-04-02"), d("2026-04-07")),
            1
        );
        assert_eq!(
            cal.working_days_between(d("2026-04-07"), d("2026-04-02")),
            -1
        );
        assert_eq!(cal.sub_working_days(d("2026-04-07"), 1), d("2026-04-02"));
        assert_eq!(cal.sub_working_days(d("2026-04-09"), 3), d("2026-04-02"));
        // Six weeks from Monday 9 March 2026 is Monday 20 April, Easter or
        // not; a week's pause makes it the 27th.
        assert_eq!(cal.due(Unit::Weeks, d("2026-03-09"), 6, 0), d("2026-04-20"));
        assert_eq!(cal.due(Unit::Weeks, d("2026-03-09"), 6, 7), d("2026-04-27"));
        assert_eq!(
            cal.due(Unit::WorkingDays, d("2026-04-02"), 1, 1),
            d("2026-04-08")
        );
    }

    #[test]
    fn a_newer_feed_replaces_the_years_it_covers_and_keeps_the_rest() {
        // A proclamation moves the 2026 early May holiday to Friday 8 May.
        let newer = r#"{"england-and-wales": {"division": "england-and-wales", "events": [
            {"title": "New Year", "date": "2026-01-01", "notes": "", "bunting": true},
            {"title": "Early May (moved)", "date": "2026-05-08", "notes": "", "bunting": true}
        ]}}"#;
        let dates = merge_feeds(&[newer], Division::EnglandAndWales).unwrap();
        assert!(dates.contains(&d("2026-05-08")));
        assert!(
            !dates.contains(&d("2026-05-04")),
            "the old date of 2026 is gone"
        );
        assert!(dates.contains(&d("2025-05-05")), "2025 stays as built in");
        assert!(dates.contains(&d("2027-05-03")), "2027 stays as built in");
        assert!(merge_feeds(&["{}"], Division::EnglandAndWales).is_err());
    }
}
