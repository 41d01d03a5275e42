//! What a person does to a case from its page. Each form posts to
//! `/cases/{reference}/{action}` with the session's CSRF token and calls
//! the same casework function as the command line (`casework::actions`),
//! with the signed-in person as the actor. A refusal (by role, or by the
//! casework function) shows the case page again with the reason in the
//! GOV.UK error summary; a success goes back to the case page (a GET, so
//! a reload does not repeat it) with a banner.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};

use super::case::{Shown, show, unprocessable, visible_case};
use super::list::topic_label;
use super::session::{Posted, Signed};
use super::{Ctx, Refusal};
use crate::case::{Category, Kind, SendTopic, Status};
use crate::casework::actions::{self, Correction};
use crate::config::WebRole;
use crate::store::cases::CaseRow;

/// The actions, with the banner each leaves.
const ACTIONS: &[(&str, &str)] = &[
    ("assign", "The case was assigned."),
    ("take", "The case is now yours."),
    ("recategorise", "The case's classification was corrected."),
    ("pause", "The case's clocks are paused."),
    ("resume", "The case's clocks run again."),
    ("answer", "The case is marked as answered."),
    ("note", "The note was added."),
    ("close", "The case was closed."),
    ("reopen", "The case was reopened."),
    ("hold", "The case is held: retention keeps it."),
    ("release", "The hold was lifted."),
];

/// What the case page says after `action` (an action, or a reply sent).
pub(super) fn done_message(action: &str) -> Option<&'static str> {
    const SENT: &[(&str, &str)] = &[
        (
            "reply",
            "The reply is on its way to the MP office, and the case is answered.",
        ),
        (
            "holding-reply",
            "The holding reply is on its way to the MP office.",
        ),
    ];
    ACTIONS
        .iter()
        .chain(SENT)
        .find(|(a, _)| *a == action)
        .map(|(_, m)| *m)
}

/// The people a case can be given to by `who`: the case's team (its
/// members and manager) for a team lead, everyone for a manager.
fn assignable(ctx: &Ctx, who: &Signed, case: &CaseRow) -> Vec<String> {
    let config = &ctx.app.config;
    if who.role.sees_all() {
        return config
            .teams
            .iter()
            .flat_map(|t| t.members.iter().chain(&t.manager))
            .cloned()
            .collect();
    }
    config
        .teams
        .iter()
        .filter(|t| who.teams.contains(&t.name) && case.team.as_ref() == Some(&t.name))
        .flat_map(|t| t.members.iter().chain(&t.manager))
        .cloned()
        .collect()
}

/// The forms the case page offers this person for this case.
pub(super) fn forms(ctx: &Ctx, who: &Signed, case: &CaseRow) -> Value {
    let live = matches!(case.status, Status::Open | Status::Triage);
    let mine = case
        .assignee
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case(&who.email));
    let options = |all: Vec<(&'static str, String)>, current: Option<&str>| {
        all.into_iter()
            .map(|(v, l)| context! { value => v, label => l, selected => Some(v) == current })
            .collect::<Vec<_>>()
    };
    context! {
        live,
        paused => case.paused_at.is_some(),
        answerable => live && case.answered_at.is_none() && case.paused_at.is_none(),
        reopenable => matches!(case.status, Status::Answered | Status::Closed),
        closable => case.status != Status::Closed,
        take => live && !mine,
        people => if live && who.role >= WebRole::TeamLead { assignable(ctx, who, case) } else { Vec::new() },
        hold => who.role >= WebRole::TeamLead,
        urgent => case.urgent,
        kinds => options(Kind::ALL.iter().map(|k| (k.as_str(), k.as_str().replace('_', " "))).collect(), Some(case.kind.as_str())),
        services => options(Category::ALL.iter().map(|c| (c.as_str(), c.label().to_string())).collect(), case.category.map(|c| c.as_str())),
        topics => options(SendTopic::ALL.iter().map(|t| (t.as_str(), topic_label(*t))).collect(), case.send_topic.map(|t| t.as_str())),
    }
}

pub(super) async fn act(
    State(ctx): State<Ctx>,
    Path((reference, action)): Path<(String, String)>,
    posted: Posted,
) -> Result<Response, Refusal> {
    if !ACTIONS.iter().any(|(a, _)| *a == action) {
        return Err(Refusal::NotFound(ctx));
    }
    let case = visible_case(&ctx, &posted.who, &reference).await?;
    match run(&ctx, &posted, &case, &action).await {
        Ok(()) => {
            Ok(Redirect::to(&format!("/cases/{}?done={action}", case.reference)).into_response())
        }
        Err(why) => {
            let errors = [why];
            let shown = Shown {
                done: None,
                errors: &errors,
            };
            Ok(unprocessable(
                show(&ctx, &posted.who, &case.reference, shown).await?,
            ))
        }
    }
}

/// Runs one action; why not, in words for the person.
// Long: one arm per action, each a call of its casework function.
async fn run(ctx: &Ctx, posted: &Posted, case: &CaseRow, action: &str) -> Result<(), String> {
    let app = &*ctx.app;
    let who = &posted.who;
    let actor = who.email.as_str();
    let reference = case.reference.as_str();
    let now = app.clock.now();
    let lead = who.role >= WebRole::TeamLead;
    let result = match action {
        "take" => actions::assign(app, reference, actor, actor, now)
            .await
            .map(drop),
        "assign" => {
            let to = posted.field("to");
            if !lead {
                return Err("Only a team lead or a manager gives a case to someone else; you can take it yourself.".into());
            }
            if !assignable(ctx, who, case)
                .iter()
                .any(|p| p.eq_ignore_ascii_case(to))
            {
                return Err("Choose who the case goes to from the list".into());
            }
            actions::assign(app, reference, to, actor, now)
                .await
                .map(drop)
        }
        "recategorise" => {
            let changed = |field: &str, current: Option<&str>| {
                let v = posted.field(field);
                (!v.is_empty() && Some(v) != current).then_some(v)
            };
            let urgent = match posted.field("urgent") {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            }
            .filter(|u| *u != case.urgent);
            let correction = Correction {
                kind: changed("kind", Some(case.kind.as_str())),
                category: changed("category", case.category.map(|c| c.as_str())),
                send_topic: changed("send_topic", case.send_topic.map(|t| t.as_str())),
                urgent,
            };
            if correction.kind.is_none()
                && correction.category.is_none()
                && correction.send_topic.is_none()
                && correction.urgent.is_none()
            {
                return Err("Nothing was changed: choose what the case really is".into());
            }
            actions::recategorise(app, reference, &correction, actor, now)
                .await
                .map(drop)
        }
        "pause" => actions::pause(app, reference, posted.field("reason"), actor, now)
            .await
            .map(drop),
        "resume" => actions::resume(app, reference, actor, now).await.map(drop),
        "answer" => {
            let at = match posted.field("at") {
                "" => None,
                s => Some(actions::given_time(s, now).map_err(|e| format!("{e:#}"))?),
            };
            actions::answer(app, reference, at, actor, now).await
        }
        "note" => actions::note(app, reference, posted.field("text"), actor, now).await,
        "close" => actions::close(app, reference, actor, now).await,
        "reopen" => actions::reopen(app, reference, actor, now).await,
        "hold" | "release" if !lead => {
            return Err(
                "Only a team lead, a manager or an admin holds a case for retention.".into(),
            );
        }
        "hold" => actions::hold(app, reference, Some(posted.field("reason")), actor, now).await,
        "release" => actions::release(app, reference, actor, now).await,
        _ => return Err("There is no such action".into()),
    };
    result.map_err(|e| format!("{e:#}"))
}
