//! Running postroom for years: the health and metrics endpoint (`[http]`)
//! and the retention policy (`[retention]`).

use std::net::SocketAddr;

use chrono::{Months, NaiveDate, NaiveTime};
use toml::Spanned;

use super::check::Checker;
use super::raw::{RawHttp, RawRetention};

/// The endpoint's address: loopback only. It tells volumes and states, no
/// personal data, but it is no business of anyone off the machine; a
/// scraper elsewhere goes through a proxy the council controls.
pub(super) fn check_http(c: &mut Checker<'_>, raw: RawHttp) -> Option<SocketAddr> {
    let span = raw.listen.span();
    match raw.listen.get_ref().parse::<SocketAddr>() {
        Ok(addr) if addr.ip().is_loopback() => Some(addr),
        Ok(addr) => {
            c.error_at(
                span,
                format!("http.listen: {addr} is not a loopback address (such as 127.0.0.1:9187); the endpoint is served on this machine only"),
            );
            None
        }
        Err(e) => {
            c.error_at(
                span,
                format!(
                    "http.listen = {:?} is not an address and port such as \"127.0.0.1:9187\": {e}",
                    raw.listen.get_ref()
                ),
            );
            None
        }
    }
}

/// How long a class of record is kept, in calendar terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    Days(u32),
    Months(u32),
    Forever,
}

impl Keep {
    /// Records whose anchor falls before this day go. `None`: nothing goes.
    pub fn cutoff(self, today: NaiveDate) -> Option<NaiveDate> {
        match self {
            Keep::Days(n) => today.checked_sub_days(chrono::Days::new(n.into())),
            Keep::Months(n) => today.checked_sub_months(Months::new(n)),
            Keep::Forever => None,
        }
    }

    /// "6 years", "18 months", "90 days" or "never".
    pub fn parse(s: &str) -> Result<Keep, String> {
        let s = s.trim().to_ascii_lowercase();
        if s == "never" || s == "forever" {
            return Ok(Keep::Forever);
        }
        let (n, unit) = s
            .split_once(char::is_whitespace)
            .ok_or_else(|| "expected a number and a unit".to_string())?;
        let n: u32 = n
            .parse()
            .map_err(|_| format!("{n:?} is not a whole number"))?;
        if n == 0 {
            return Err("0 would delete records as they arrive".into());
        }
        match unit.trim().trim_end_matches('s') {
            "day" => Ok(Keep::Days(n)),
            "month" => Ok(Keep::Months(n)),
            "year" => Ok(Keep::Months(n.saturating_mul(12))),
            other => Err(format!("{other:?} is not days, months or years")),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub closed_cases: Keep,
    pub unfiled_messages: Keep,
    pub sent_mail: Keep,
    /// Local time of the daily run.
    pub at: NaiveTime,
}

pub(super) fn check_retention(c: &mut Checker<'_>, raw: RawRetention) -> Retention {
    let mut keep = |v: &Spanned<String>, key: &str| match Keep::parse(v.get_ref()) {
        Ok(k) => k,
        Err(e) => {
            c.error_at(
                v.span(),
                format!(
                    "retention.{key} = {:?}: {e}; write such as \"6 years\", \"18 months\", \"90 days\" or \"never\"",
                    v.get_ref()
                ),
            );
            Keep::Forever
        }
    };
    let closed_cases = keep(&raw.closed_cases, "closed_cases");
    let unfiled_messages = keep(&raw.unfiled_messages, "unfiled_messages");
    let sent_mail = keep(&raw.sent_mail, "sent_mail");
    let at = match NaiveTime::parse_from_str(raw.at.get_ref().trim(), "%H:%M") {
        Ok(t) => t,
        Err(_) => {
            c.error_at(
                raw.at.span(),
                format!(
                    "retention.at = {:?} is not a time such as \"02:00\"",
                    raw.at.get_ref()
                ),
            );
            NaiveTime::MIN
        }
    };
    Retention {
        closed_cases,
        unfiled_messages,
        sent_mail,
        at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_calendar_periods() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = d("2026-02-28");
        assert_eq!(
            Keep::parse("6 years").unwrap().cutoff(today),
            Some(d("2020-02-28"))
        );
        assert_eq!(
            Keep::parse("1 month").unwrap().cutoff(d("2026-03-31")),
            Some(d("2026-02-28"))
        );
        assert_eq!(
            Keep::parse("90 days").unwrap().cutoff(today),
            Some(d("2025-11-30"))
        );
        assert_eq!(Keep::parse("never").unwrap().cutoff(today), None);
        assert!(Keep::parse("0 days").is_err());
        assert!(Keep::parse("6 fortnights").is_err());
        assert!(Keep::parse("six years").is_err());
    }
}
