//! Messages stored without a case, for team leads, managers and admins:
//! the list, one message with its text, and the two things a person does
//! with one: file it on its case, or open a case from it (each a function
//! of `casework::strays`). Each view is in the access audit.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde_json::json;

use super::session::{Posted, Signed};
use super::{Ctx, Refusal};
use crate::config::WebRole;
use crate::store::{messages, web as stored};

const PAGE: i64 = 50;

fn allowed(ctx: &Ctx, who: &Signed) -> Result<(), Refusal> {
    if who.role >= WebRole::TeamLead {
        Ok(())
    } else {
        Err(Refusal::NotFound(ctx.clone()))
    }
}

pub(super) async fn list(
    State(ctx): State<Ctx>,
    who: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Refusal> {
    allowed(&ctx, &who)?;
    let before = q.get("before").and_then(|b| b.parse().ok());
    let failed = |e| Refusal::Failed(ctx.clone(), e);
    let mut conn = ctx.app.store.conn().await.map_err(failed)?;
    let (rows, count) = messages::strays(&mut conn, before, PAGE)
        .await
        .map_err(failed)?;
    drop(conn);
    let next = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    ctx.page(
        &who,
        "strays.html.j2",
        "strays",
        "Messages without a case",
        context! { rows, count, next },
    )
}

pub(super) async fn show(
    State(ctx): State<Ctx>,
    who: Signed,
    Path(id): Path<i64>,
) -> Result<Response, Refusal> {
    show_with(&ctx, &who, id, &[]).await
}

async fn show_with(
    ctx: &Ctx,
    who: &Signed,
    id: i64,
    errors: &[String],
) -> Result<Response, Refusal> {
    allowed(ctx, who)?;
    let failed = |e| Refusal::Failed(ctx.clone(), e);
    let mut conn = ctx.app.store.conn().await.map_err(failed)?;
    let Some(stray) = messages::stray(&mut conn, id).await.map_err(failed)? else {
        return Err(Refusal::NotFound(ctx.clone()));
    };
    let now = ctx.app.clock.now();
    stored::audit(
        &mut conn,
        now,
        &who.email,
        "viewed",
        None,
        &json!({ "message": id }),
    )
    .await
    .map_err(failed)?;
    let parts = messages::parts(&mut conn, id).await.map_err(failed)?;
    drop(conn);
    let body = parts
        .first()
        .and_then(|p| p.text.clone())
        .unwrap_or_default();
    let files: Vec<_> = parts
        .iter()
        .skip(1)
        .map(|p| context! { name => p.name, content_type => p.content_type, text => p.text, note => p.note })
        .collect();
    let title = if stray.subject.is_empty() {
        "(no subject)".to_string()
    } else {
        stray.subject.clone()
    };
    ctx.page(
        who,
        "stray.html.j2",
        "strays",
        title,
        context! { m => stray, body, files, errors },
    )
}

pub(super) async fn act(
    State(ctx): State<Ctx>,
    Path((id, action)): Path<(i64, String)>,
    posted: Posted,
) -> Result<Response, Refusal> {
    allowed(&ctx, &posted.who)?;
    let now = ctx.app.clock.now();
    let actor = posted.who.email.as_str();
    let result = match action.as_str() {
        "file" => {
            let reference = posted.field("reference").to_uppercase();
            let visible = {
                let mut conn = ctx
                    .app
                    .store
                    .conn()
                    .await
                    .map_err(|e| Refusal::Failed(ctx.clone(), e))?;
                crate::store::cases::by_reference(&mut conn, &reference)
                    .await
                    .map_err(|e| Refusal::Failed(ctx.clone(), e))?
                    .filter(|c| posted.who.may_see(c))
            };
            match visible {
                None => Err(format!("There is no case {reference} that you can work on")),
                Some(_) => crate::casework::strays::file(&ctx.app, id, &reference, actor, now)
                    .await
                    .map(|()| reference)
                    .map_err(|e| format!("{e:#}")),
            }
        }
        "open" => crate::casework::strays::open(&ctx.app, id, actor, now)
            .await
            .map_err(|e| format!("{e:#}")),
        _ => return Err(Refusal::NotFound(ctx)),
    };
    match result {
        Ok(reference) => {
            Ok(Redirect::to(&format!("/cases/{reference}?done={action}-message")).into_response())
        }
        Err(why) => {
            let page = show_with(&ctx, &posted.who, id, &[why]).await?;
            Ok(super::case::unprocessable(page))
        }
    }
}
