//! Signing in and out: with the council's identity provider (`[web.oidc]`,
//! see `oidc.rs`), or, with none configured and only on a loopback address
//! (`postroom demo`, trials), the local sign-in as any person the config
//! names, shown as such. Each sign-in opens a new session with a new token
//! and CSRF token, and ends the one the browser had.

use std::collections::HashMap;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;

use super::oidc::Identity;
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
        .app
        .pages()
        .views
        .render(
            "sign-in.html.j2",
            minijinja::context! {
                council => ctx.app.config.council.name.clone(),
                local => ctx.web.local_sign_in,
                provider => ctx.oidc.is_some(),
                refused => q.get("refused").map(|r| refused_text(r)),
                people,
                guard => guard.clone(),
                then => then(q.get("then")),
                then_query => super::views::query_escape(&then(q.get("then"))),
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
    let who = Identity {
        email: email.to_string(),
        name: String::new(),
        groups: Vec::new(),
    };
    open_session(&ctx, &headers, &who, "local", &then(form.get("then"))).await
}

/// Opens a session for `who` (signed in `by` the local sign-in or the
/// identity provider), ending the one the browser had: the cookie, and a
/// redirect to `then`.
async fn open_session(
    ctx: &Ctx,
    headers: &HeaderMap,
    who: &Identity,
    by: &str,
    then: &str,
) -> Result<Response, Refusal> {
    let failed = |e| Refusal::Failed(ctx.clone(), e);
    let now = ctx.app.clock.now();
    let mut conn = ctx.app.store.conn().await.map_err(failed)?;
    if let Some(old) = cookie(headers, cookie_name(ctx.web.secure)) {
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
        email: who.email.clone(),
        name: who.name.clone(),
        groups: who.groups.clone(),
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
        &who.email,
        "signed_in",
        None,
        &json!({ "by": by }),
    )
    .await
    .map_err(failed)?;
    let mut response = Redirect::to(then).into_response();
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
    Ok(response)
}

/// Sends the browser to the identity provider.
pub(super) async fn start(
    State(ctx): State<Ctx>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Refusal> {
    let Some(provider) = ctx.oidc.clone() else {
        return Err(Refusal::NotFound(ctx));
    };
    let now = ctx.app.clock.now();
    let failed = |e| Refusal::Failed(ctx.clone(), e);
    let (url, state, login) = provider
        .start(then(q.get("then")), now)
        .await
        .map_err(failed)?;
    let mut conn = ctx.app.store.conn().await.map_err(failed)?;
    stored::begin_login(&mut conn, &state, &login)
        .await
        .map_err(failed)?;
    Ok(Redirect::to(&url).into_response())
}

/// Where the identity provider sends the browser back.
pub(super) async fn callback(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Refusal> {
    let Some(provider) = ctx.oidc.clone() else {
        return Err(Refusal::NotFound(ctx));
    };
    let back = |why: &str| Redirect::to(&format!("/sign-in?refused={why}")).into_response();
    let now = ctx.app.clock.now();
    let failed = |e| Refusal::Failed(ctx.clone(), e);
    let (Some(state), Some(code)) = (q.get("state"), q.get("code")) else {
        // The provider's own refusal (`error=access_denied`), or no code.
        return Ok(back("provider"));
    };
    let mut conn = ctx.app.store.conn().await.map_err(failed)?;
    let login = stored::take_login(&mut conn, state, now - chrono::Duration::minutes(10))
        .await
        .map_err(failed)?;
    drop(conn);
    let Some(login) = login else {
        return Ok(back("expired"));
    };
    let who = match provider.finish(code, &login, now).await {
        Ok(who) => who,
        Err(e) => {
            tracing::warn!(
                error = format!("{e:#}"),
                "A sign-in with the identity provider failed."
            );
            return Ok(back("provider"));
        }
    };
    if ctx
        .app
        .config
        .web_role_in(&who.email, &who.groups)
        .is_none()
    {
        let mut conn = ctx.app.store.conn().await.map_err(failed)?;
        stored::audit(
            &mut conn,
            now,
            &who.email,
            "refused",
            None,
            &json!({ "why": "no role" }),
        )
        .await
        .map_err(failed)?;
        return Ok(back("no-role"));
    }
    open_session(&ctx, &headers, &who, "oidc", &login.then).await
}

fn refused_text(why: &str) -> &'static str {
    match why {
        "no-role" => {
            "You signed in, but you have no role in postroom. Ask the council's IT team to add you to a team."
        }
        "expired" => "The sign-in took too long or was used already. Sign in again.",
        _ => {
            "Your council's identity provider did not sign you in. Try again; if it keeps happening, tell the council's IT team."
        }
    }
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
    // Redirect::to answers 303 See Other.
    let mut response = Redirect::to("/sign-in").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(ctx.web.secure, cookie_name(ctx.web.secure), None),
    );
    Ok(response)
}
