//! Signing in and out. Until the council's identity provider is set up,
//! the workspace has one way in: the local sign-in as any person the
//! config names, offered only on a loopback address (`postroom demo`,
//! trials) and shown as such. Each sign-in opens a new session with a new
//! token and CSRF token, and ends the one the browser had.

use std::collections::HashMap;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;

use super::security::{cookie, cookie_name, digest, same, set_cookie, token};
use super::session::Posted;
use super::{Ctx, Refusal};
use crate::store::web as stored;

fn signin_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-postroom-signin"
    } else {
        "postroom-signin"
    }
}

/// Where to go after signing in: a path on this site, never another host.
fn then(raw: Option<&String>) -> String {
    match raw {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.clone(),
        _ => "/cases".into(),
    }
}

pub(super) async fn page(
    State(ctx): State<Ctx>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Refusal> {
    let guard = token();
    let people: Vec<_> = ctx
        .app
        .config
        .web_people()
        .into_iter()
        .filter_map(|p| {
            let (role, teams) = ctx.app.config.web_role(&p)?;
            Some(
                minijinja::context! { email => p, role => role.label(), teams => teams.join(", ") },
            )
        })
        .collect();
    let html = ctx
        .views
        .render(
            "sign-in.html.j2",
            minijinja::context! {
                council => ctx.app.config.council.name.clone(),
                local => ctx.web.local_sign_in,
                people,
                guard => guard.clone(),
                then => then(q.get("then")),
            },
        )
        .map_err(|e| Refusal::Failed(ctx.clone(), e))?;
    let mut response = Html(html).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(ctx.web.secure, signin_cookie(ctx.web.secure), Some(&guard)),
    );
    Ok(response)
}

pub(super) async fn local(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Refusal> {
    if !ctx.web.local_sign_in {
        return Err(Refusal::NotFound(ctx));
    }
    let guard = cookie(&headers, signin_cookie(ctx.web.secure));
    let sent = form.get("guard").map(String::as_str);
    if !matches!((guard, sent), (Some(g), Some(s)) if same(g, s)) {
        return Err(Refusal::Forbidden(
            ctx,
            "The sign-in form was sent from another page, or has expired. Open the sign-in page again.".into(),
        ));
    }
    let email = form.get("email").map(|e| e.trim()).unwrap_or("");
    if ctx.app.config.web_role(email).is_none() {
        return Err(Refusal::Forbidden(
            ctx,
            "That person has no role in postroom.".into(),
        ));
    }
    let failed = |e| Refusal::Failed(ctx.clone(), e);
    let now = ctx.app.clock.now();
    let mut conn = ctx.app.store.conn().await.map_err(failed)?;
    if let Some(old) = cookie(&headers, cookie_name(ctx.web.secure)) {
        stored::close(&mut conn, &digest(old))
            .await
            .map_err(failed)?;
    }
    let idle = chrono::Duration::from_std(ctx.web.idle_timeout).unwrap_or(chrono::Duration::MAX);
    let absolute =
        chrono::Duration::from_std(ctx.web.absolute_timeout).unwrap_or(chrono::Duration::MAX);
    stored::expire(&mut conn, now - idle, now - absolute)
        .await
        .map_err(failed)?;
    let session = token();
    let record = stored::Session {
        email: email.to_string(),
        name: String::new(),
        groups: Vec::new(),
        csrf: token(),
        created_at: now,
        seen_at: now,
    };
    stored::open(&mut conn, &digest(&session), &record)
        .await
        .map_err(failed)?;
    stored::audit(
        &mut conn,
        now,
        email,
        "signed_in",
        None,
        &json!({ "by": "local" }),
    )
    .await
    .map_err(failed)?;
    let mut response = Redirect::to(&then(form.get("then"))).into_response();
    let secure = ctx.web.secure;
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(secure, cookie_name(secure), Some(&session)),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(secure, signin_cookie(secure), None),
    );
    *response.status_mut() = StatusCode::SEE_OTHER;
    Ok(response)
}

pub(super) async fn sign_out(State(ctx): State<Ctx>, posted: Posted) -> Result<Response, Refusal> {
    let failed = |e| Refusal::Failed(ctx.clone(), e);
    let mut conn = ctx.app.store.conn().await.map_err(failed)?;
    stored::close(&mut conn, &posted.who.id)
        .await
        .map_err(failed)?;
    let now = ctx.app.clock.now();
    stored::audit(
        &mut conn,
        now,
        &posted.who.email,
        "signed_out",
        None,
        &json!({}),
    )
    .await
    .map_err(failed)?;
    let mut response = Redirect::to("/sign-in").into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(ctx.web.secure, cookie_name(ctx.web.secure), None),
    );
    Ok(response)
}
