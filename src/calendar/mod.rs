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

/// Reads one division's dates from a gov.uk bank-holidays feed.
pub fn parse_feed(json: &str, division: Division) -> Result<BTreeSet<NaiveDate>, String> {
    let mut feed: std::collections::HashMap<String, FeedDivision> =
        serde_json::from_str(json).map_err(|e| format!("not a gov.uk bank-holidays feed: {e}"))?;
    let div = feed
        .remove(division.key())
        .ok_or_else(|| format!("the feed has no {:?} division", division.key()))?;
    Ok(div.events.into_iter().map(|e| e.date).collect())
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

    /// The date a reply is due when the target is `days` working days.
    pub fn due_date(&self, received: DateTime<Utc>, days: u32) -> NaiveDate {
        self.add_working_days(self.start_day(received), days)
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
}
