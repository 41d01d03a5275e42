//! The figures a manager acts on besides the period's counts: in target by
//! service and by team, chasers by MP office, and what is open now (by
//! team and caseworker, unassigned, paused and why, how long cases have
//! waited in each state) with the statutory SEND clocks due soon or missed.
//! Pure: from the store's [`Tallies`].

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::store::tallies::Tallies;

/// Received, acknowledged and answered in target, for a service or team.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Share {
    pub name: String,
    pub received: usize,
    pub acknowledged: usize,
    pub acknowledged_in_time: usize,
    pub answered: usize,
    pub answered_in_time: usize,
    pub answered_in_time_percent: Option<f64>,
}

/// Chasers about the cases of one MP office received in the range.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Chased {
    pub mp: String,
    pub cases: usize,
    pub chasers: usize,
    pub chasers_per_case: Option<f64>,
}

/// Open cases of a team or a caseworker now.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Load {
    pub name: String,
    pub open: usize,
    pub overdue: usize,
    pub unassigned: usize,
    pub paused: usize,
}

/// How long the open cases in a state have waited since they arrived, in
/// days.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Wait {
    pub state: String,
    pub cases: usize,
    pub median_days: Option<i64>,
    pub oldest_days: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ClockFigures {
    pub clock: String,
    pub due_in_10_working_days: usize,
    pub missed_in_range: usize,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Now {
    pub today: Option<NaiveDate>,
    pub open: usize,
    pub overdue: usize,
    pub unassigned: usize,
    pub paused: usize,
    pub by_team: Vec<Load>,
    pub by_caseworker: Vec<Load>,
    pub paused_why: BTreeMap<String, usize>,
    pub waiting: Vec<Wait>,
    pub clocks: Vec<ClockFigures>,
}

impl Share {
    /// Its row in a table (after its name): received, acknowledged in
    /// target, answered, answered in time, in time %; `none` for no figure.
    pub fn cells(&self, name: String, none: &str) -> Vec<String> {
        vec![
            name,
            self.received.to_string(),
            self.acknowledged_in_time.to_string(),
            self.answered.to_string(),
            self.answered_in_time.to_string(),
            self.answered_in_time_percent
                .map_or_else(|| none.to_string(), |v| v.to_string()),
        ]
    }
}

impl Load {
    /// Its row in a table: name, open, overdue, unassigned, paused.
    pub fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.open.to_string(),
            self.overdue.to_string(),
            self.unassigned.to_string(),
            self.paused.to_string(),
        ]
    }
}

impl Chased {
    /// Its row in a table: MP, cases, chasers, chasers a case.
    pub fn cells(&self, none: &str) -> Vec<String> {
        vec![
            self.mp.clone(),
            self.cases.to_string(),
            self.chasers.to_string(),
            self.chasers_per_case
                .map_or_else(|| none.to_string(), |v| v.to_string()),
        ]
    }
}

impl Wait {
    /// Its row in a table: state, cases, median and oldest days.
    pub fn cells(&self, none: &str) -> Vec<String> {
        let days = |d: Option<i64>| d.map_or_else(|| none.to_string(), |d| d.to_string());
        vec![
            self.state.clone(),
            self.cases.to_string(),
            days(self.median_days),
            days(self.oldest_days),
        ]
    }
}

impl ClockFigures {
    /// Its row in a table: clock, due in 10 working days, missed.
    pub fn cells(&self) -> Vec<String> {
        vec![
            self.clock.clone(),
            self.due_in_10_working_days.to_string(),
            self.missed_in_range.to_string(),
        ]
    }
}

fn percent(part: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| (1000.0 * part as f64 / of as f64).round() / 10.0)
}

/// In target by `key` (a service or a team) over the range.
pub fn shares(
    t: &Tallies,
    key: impl Fn(&crate::store::tallies::Fact) -> Option<String>,
) -> Vec<Share> {
    let mut m: BTreeMap<String, Share> = BTreeMap::new();
    for f in &t.facts {
        let name = key(f).unwrap_or_else(|| "(none)".to_string());
        let s = m.entry(name.clone()).or_insert_with(|| Share {
            name,
            ..Share::default()
        });
        s.received += f.n;
        if f.ack_minutes.is_some() {
            s.acknowledged += f.n;
            if f.ack_in_time == Some(true) {
                s.acknowledged_in_time += f.n;
            }
        }
        if f.answer_working_days.is_some() {
            s.answered += f.n;
            if f.answer_in_time == Some(true) {
                s.answered_in_time += f.n;
            }
        }
    }
    let mut v: Vec<Share> = m.into_values().collect();
    for s in &mut v {
        s.answered_in_time_percent = percent(s.answered_in_time, s.answered);
    }
    v.sort_by(|a, b| b.received.cmp(&a.received).then(a.name.cmp(&b.name)));
    v
}

pub fn chased(t: &Tallies) -> Vec<Chased> {
    let mut m: BTreeMap<String, Chased> = BTreeMap::new();
    let name = |mp: &Option<String>| mp.clone().unwrap_or_else(|| "(no MP)".to_string());
    for f in &t.facts {
        let c = m.entry(name(&f.mp_name)).or_default();
        c.cases += f.n;
        c.chasers += f.kept_chasers;
    }
    for (_, mp, n) in &t.chasers {
        m.entry(name(mp)).or_default().chasers += n;
    }
    let mut v: Vec<Chased> = m
        .into_iter()
        .map(|(mp, c)| Chased {
            chasers_per_case: (c.cases > 0)
                .then(|| (10.0 * c.chasers as f64 / c.cases as f64).round() / 10.0),
            mp,
            ..c
        })
        .collect();
    v.sort_by(|a, b| b.chasers.cmp(&a.chasers).then(a.mp.cmp(&b.mp)));
    v
}

// Long: the open cases summed three ways, then each state's waits.
pub fn now(t: &Tallies, today: NaiveDate) -> Now {
    let n = &t.now;
    let mut out = Now {
        today: Some(today),
        ..Now::default()
    };
    let mut teams: BTreeMap<String, Load> = BTreeMap::new();
    let mut people: BTreeMap<String, Load> = BTreeMap::new();
    for l in &n.live {
        let add = |load: &mut Load| {
            load.open += l.n;
            if l.overdue {
                load.overdue += l.n;
            }
            if l.assignee.is_none() {
                load.unassigned += l.n;
            }
            if l.paused {
                load.paused += l.n;
            }
        };
        let mut all = Load::default();
        add(&mut all);
        out.open += all.open;
        out.overdue += all.overdue;
        out.unassigned += all.unassigned;
        out.paused += all.paused;
        let team = l.team.clone().unwrap_or_else(|| "(no team)".to_string());
        add(teams.entry(team.clone()).or_insert_with(|| Load {
            name: team,
            ..Load::default()
        }));
        if let Some(a) = &l.assignee {
            add(people.entry(a.to_lowercase()).or_insert_with(|| Load {
                name: a.to_lowercase(),
                ..Load::default()
            }));
        }
        if l.paused {
            *out.paused_why
                .entry(l.pause_reason.clone().unwrap_or_default())
                .or_insert(0) += l.n;
        }
    }
    let by_open = |mut v: Vec<Load>| {
        v.sort_by(|a, b| b.open.cmp(&a.open).then(a.name.cmp(&b.name)));
        v
    };
    out.by_team = by_open(teams.into_values().collect());
    out.by_caseworker = by_open(people.into_values().collect());
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let today_day = (today - epoch).num_days();
    for state in ["unassigned", "with the service", "paused"] {
        let mut ages: Vec<(i64, usize)> = n
            .waiting
            .iter()
            .filter(|w| w.state == state)
            .map(|w| ((today_day - w.received_day).max(0), w.n))
            .collect();
        ages.sort();
        let cases: usize = ages.iter().map(|a| a.1).sum();
        let median = {
            let rank = cases.div_ceil(2).max(1);
            let mut seen = 0;
            ages.iter().find(|(_, k)| {
                seen += k;
                seen >= rank
            })
        };
        out.waiting.push(Wait {
            state: state.to_string(),
            cases,
            median_days: median.map(|m| m.0),
            oldest_days: ages.last().map(|a| a.0),
        });
    }
    out.clocks = n
        .clocks
        .iter()
        .map(|c| ClockFigures {
            clock: c.name.clone(),
            due_in_10_working_days: c.due_soon,
            missed_in_range: c.missed,
        })
        .collect();
    out
}
