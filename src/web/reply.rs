//! Writing a reply to the MP office: choose one of the council's reply
//! templates, edit its text, preview the mail as it will go, send it
//! (`casework::respond::send`: through the outbox, threaded to the
//! office's mail; a full reply answers the case).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;

use super::case::{unprocessable, visible_case};
use super::session::{Posted, Signed};
use super::{Ctx, Refusal};
use crate::casework::respond::{self, Draft};
use crate::compose::CouncilContext;
use crate::compose::replies::{Caseworker, ReplyContext};
use crate::store::cases::CaseRow;

pub(super) async fn page(
    State(ctx): State<Ctx>,
    who: Signed,
    Path(reference): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Refusal> {
    let case = visible_case(&ctx, &who, &reference).await?;
    let pages = ctx.app.pages();
    let chosen = q
        .get("template")
        .and_then(|t| pages.replies.get(t))
        .cloned();
    let text = match &chosen {
        Some(t) => {
            let rc =
                reply_context(&ctx, &who, &case).map_err(|e| Refusal::Failed(ctx.clone(), e))?;
            Some(
                pages
                    .replies
                    .render(&t.name, &rc)
                    .map_err(|e| Refusal::Failed(ctx.clone(), e))?,
            )
        }
        None => None,
    };
    let holding = chosen.as_ref().is_some_and(|t| t.holding);
    render(
        &ctx,
        &who,
        &case,
        Compose {
            template: chosen.map(|t| t.name),
            text,
            holding,
            preview: false,
            errors: &[],
        },
    )
}

struct Compose<'a> {
    template: Option<String>,
    text: Option<String>,
    holding: bool,
    preview: bool,
    errors: &'a [String],
}

fn reply_context(ctx: &Ctx, who: &Signed, case: &CaseRow) -> anyhow::Result<ReplyContext> {
    Ok(ReplyContext {
        council: CouncilContext {
            name: ctx.app.config.council.name.clone(),
            mailbox: ctx.app.config.council.mailbox.clone(),
        },
        case: crate::casework::mail::case_context(&ctx.app, case)?,
        caseworker: Caseworker {
            name: who.display().to_string(),
            email: who.email.clone(),
        },
    })
}

fn render(ctx: &Ctx, who: &Signed, case: &CaseRow, c: Compose<'_>) -> Result<Response, Refusal> {
    ctx.page(
        who,
        "reply.html.j2",
        "cases",
        format!("Reply on {}", case.reference),
        context! {
                reference => case.reference,
                to => case.correspondent,
                subject => respond::subject(&case.subject, &case.reference),
                templates => ctx.app.pages().replies.list(),
                template => c.template,
                text => c.text,
                holding => c.holding,
                preview => c.preview,
                errors => c.errors,
        },
    )
}

pub(super) async fn post(
    State(ctx): State<Ctx>,
    Path(reference): Path<String>,
    posted: Posted,
) -> Result<Response, Refusal> {
    let case = visible_case(&ctx, &posted.who, &reference).await?;
    let holding = posted.field("holding") == "yes";
    let text = posted.form.get("text").cloned().unwrap_or_default();
    let template = Some(posted.field("template").to_string()).filter(|t| !t.is_empty());
    if posted.field("intent") != "send" {
        return render(
            &ctx,
            &posted.who,
            &case,
            Compose {
                template,
                text: Some(text),
                holding,
                preview: true,
                errors: &[],
            },
        );
    }
    let now = ctx.app.clock.now();
    let draft = Draft {
        text: &text,
        holding,
    };
    match respond::send(&ctx.app, &case.reference, draft, &posted.who.email, now).await {
        Ok(_) => {
            let done = if holding { "holding-reply" } else { "reply" };
            Ok(Redirect::to(&format!("/cases/{}?done={done}", case.reference)).into_response())
        }
        Err(e) => {
            let errors = [format!("{e:#}")];
            let again = Compose {
                template,
                text: Some(text),
                holding,
                preview: false,
                errors: &errors,
            };
            Ok(unprocessable(render(&ctx, &posted.who, &case, again)?))
        }
    }
}
