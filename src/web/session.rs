//! Who is signed in. A session lives in the database (so any instance on a
//! shared PostgreSQL serves any person) under the SHA-256 of the cookie's
//! random token; it ends when unused for `web.idle_timeout` or
//! `web.absolute_timeout` after sign-in. The person's role is worked out
//! from the config at every request, never stored.

use std::collections::HashMap;

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::Method;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};

use super::security::{cookie, cookie_name, digest, same};
use super::{Ctx, Refusal};
use crate::config::WebRole;
use crate::store::cases::CaseRow;
use crate::store::web as stored;

/// A signed-in person with a role.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    /// The session's key in the database.
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: WebRole,
    pub teams: Vec<String>,
    pub csrf: String,
}

impl Signed {
    /// Whether this person may see `case`: managers and admins every case,
    /// others their teams' cases and the cases assigned to them.
    pub fn may_see(&self, case: &CaseRow) -> bool {
        self.role.sees_all()
            || case.team.as_ref().is_some_and(|t| self.teams.contains(t))
            || case
                .assignee
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(&self.email))
    }

    /// The name to show: the identity provider's, else the address.
    pub fn display(&self) -> &str {
        if self.name.is_empty() {
            &self.email
        } else {
            &self.name
        }
    }
}

/// Whether a session opened at `created` and last used at `seen` has
/// ended by `now`.
pub(super) fn ended(
    ctx: &Ctx,
    created: DateTime<Utc>,
    seen: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    let over = |since: DateTime<Utc>, limit: std::time::Duration| {
        (now - since).to_std().is_ok_and(|d| d > limit)
    };
    over(seen, ctx.web.idle_timeout) || over(created, ctx.web.absolute_timeout)
}

impl FromRequestParts<Ctx> for Signed {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Signed, Refusal> {
        let refuse = |parts: &Parts| {
            if parts.method == Method::GET || parts.method == Method::HEAD {
                let then = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "/cases".into());
                Refusal::SignIn { then }
            } else {
                Refusal::Forbidden(
                    ctx.clone(),
                    "You are not signed in, or your session has ended. Sign in and try again."
                        .into(),
                )
            }
        };
        let Some(token) = cookie(&parts.headers, cookie_name(ctx.web.secure)) else {
            return Err(refuse(parts));
        };
        let id = digest(token);
        let failed = |e| Refusal::Failed(ctx.clone(), e);
        let mut conn = ctx.app.store.conn().await.map_err(failed)?;
        let Some(session) = stored::get(&mut conn, &id).await.map_err(failed)? else {
            return Err(refuse(parts));
        };
        let now = ctx.app.clock.now();
        if ended(ctx, session.created_at, session.seen_at, now) {
            stored::close(&mut conn, &id).await.map_err(failed)?;
            return Err(refuse(parts));
        }
        let Some((role, teams)) = ctx.app.config.web_role_in(&session.email, &session.groups)
        else {
            stored::close(&mut conn, &id).await.map_err(failed)?;
            return Err(Refusal::Forbidden(
                ctx.clone(),
                format!(
                    "{} has no role in postroom. Ask the council's IT team to add you to a team.",
                    session.email
                ),
            ));
        };
        let minute = now - chrono::Duration::minutes(1);
        stored::touch(&mut conn, &id, now, minute)
            .await
            .map_err(failed)?;
        Ok(Signed {
            id,
            email: session.email,
            name: session.name,
            role,
            teams,
            csrf: session.csrf,
        })
    }
}

/// A form posted by a signed-in person, with its session's CSRF token
/// checked: every action of the workspace takes one.
pub(crate) struct Posted {
    pub who: Signed,
    pub form: HashMap<String, String>,
}

impl Posted {
    /// A field of the form, trimmed; empty when missing.
    pub fn field(&self, name: &str) -> &str {
        self.form.get(name).map(|v| v.trim()).unwrap_or("")
    }
}

impl FromRequest<Ctx> for Posted {
    type Rejection = Refusal;

    async fn from_request(request: Request, ctx: &Ctx) -> Result<Posted, Refusal> {
        let (mut parts, body) = request.into_parts();
        let who = Signed::from_request_parts(&mut parts, ctx).await?;
        let request = Request::from_parts(parts, body);
        let forbidden = || {
            Refusal::Forbidden(
                ctx.clone(),
                "The form was sent without its security token, or from another page. Go back, reload the page and try again.".into(),
            )
        };
        let Form(form): Form<HashMap<String, String>> = Form::from_request(request, ctx)
            .await
            .map_err(|_| forbidden())?;
        match form.get("csrf") {
            Some(t) if same(t, &who.csrf) => Ok(Posted { who, form }),
            _ => Err(forbidden()),
        }
    }
}
