//! Who a new case goes to: a team by its category, and a caseworker within
//! it, in turn or by the fewest open cases; a rule's `team` and `assignee`
//! win over both.

use anyhow::Result;

use crate::app::App;
use crate::classify::Decision;
use crate::config::Assign;
use crate::store::{Tx, cases};

/// Who a new case goes to, and why.
pub struct Assignment {
    pub team: Option<String>,
    pub assignee: Option<String>,
    /// "rule", "round_robin", "caseload" or "none".
    pub by: &'static str,
}

/// A rule's team and caseworker win; else the team that takes the case's
/// category (or the default team) shares its cases among its members, in
/// turn or by the fewest open cases.
pub async fn assign(app: &App, tx: &mut Tx, decision: &Decision) -> Result<Assignment> {
    let config = &app.config;
    let team = match &decision.team {
        Some(name) => config.team(name),
        None => config.team_for(decision.category),
    };
    let team_name = decision
        .team
        .clone()
        .or_else(|| team.map(|t| t.name.clone()));
    if let Some(assignee) = &decision.assignee {
        return Ok(Assignment {
            team: team_name,
            assignee: Some(assignee.clone()),
            by: "rule",
        });
    }
    let Some(team) = team.filter(|t| !t.members.is_empty()) else {
        return Ok(Assignment {
            team: team_name,
            assignee: None,
            by: "none",
        });
    };
    let (assignee, by) = match team.assign {
        Assign::RoundRobin => {
            let last = cases::last_assignee(tx, &team.name).await?;
            let next = match last.and_then(|l| team.members.iter().position(|m| *m == l)) {
                Some(i) => (i + 1) % team.members.len(),
                None => 0,
            };
            (team.members[next].clone(), "round_robin")
        }
        Assign::Caseload => {
            let mut best: Option<(i64, &String)> = None;
            for member in &team.members {
                let load = cases::open_caseload(tx, member).await?;
                if best.is_none_or(|(b, _)| load < b) {
                    best = Some((load, member));
                }
            }
            (best.map(|(_, m)| m.clone()).unwrap_or_default(), "caseload")
        }
    };
    Ok(Assignment {
        team: Some(team.name.clone()),
        assignee: Some(assignee),
        by,
    })
}
