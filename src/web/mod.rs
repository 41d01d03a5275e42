//! The caseworkers' workspace in the browser (`[web]`): pages rendered on
//! the server in the GOV.UK Design System, served by the daemon.
//!
//! - `session.rs` who is signed in: server-side sessions in the database,
//!   the cookie, the idle and absolute timeouts, the CSRF token every form
//!   carries, and the role worked out from the config at every request;
//! - `security.rs` the headers every response carries;
//! - `signin.rs` signing in and out; `oidc.rs` the council's identity
//!   provider (OpenID Connect, authorisation code with PKCE);
//! - `list.rs` the case list; `case.rs` a case, its messages and
//!   downloads; `html.rs` a message's HTML sanitised for its page (ammonia); `act.rs` what a person does to a case (each action the
//!   casework function the command line calls); `reply.rs` writing a
//!   reply from a council template; `strays.rs` messages stored without a
//!   case, filed or opened as one; `figures.rs` the managers' figures
//!   (`report::of_store`, as `postroom report`); `views.rs` the templates (`templates/web/`, a council's
//!   own beside them); `assets.rs` GOV.UK Frontend's built CSS and JS,
//!   built into the binary.
//!
//! Every view of a case and every download goes into the access audit
//! (`store::web`). Nothing personal is logged.

use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::app::App;
use crate::config::Web;

mod act;
mod assets;
mod case;
mod figures;
mod html;
mod list;
mod oidc;
mod reply;
mod security;
mod session;
mod signin;
mod strays;
mod views;

pub use views::{Pages, Views};

/// What every handler is given.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub app: Arc<App>,
    pub web: Arc<Web>,
    /// The council's identity provider, when `[web.oidc]` names one.
    pub oidc: Option<Arc<oidc::Provider>>,
}

/// Binds `[web] listen` and serves the workspace until `stop` is
/// cancelled: the server's task, none without `[web]`. Binding is done
/// before this returns, so a taken port fails the start.
pub async fn serve(
    app: Arc<App>,
    stop: CancellationToken,
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let Some(web) = app.config.web.clone() else {
        return Ok(Vec::new());
    };
    let listener = tokio::net::TcpListener::bind(web.listen)
        .await
        .with_context(|| format!("Cannot listen on {} (web.listen)", web.listen))?;
    let addr = web.listen;
    let oidc = match &web.oidc {
        Some(o) => Some(oidc::Provider::new(o, &web.public_url)?),
        None => None,
    };
    let ctx = Ctx {
        app,
        web: Arc::new(web),
        oidc,
    };
    let router = router(ctx);
    info!(%addr, "The workspace is listening.");
    Ok(vec![tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
        {
            error!(error = %e, "The workspace stopped.");
        }
    })])
}

impl Ctx {
    /// Page `template` for a signed-in person: the council's name, who they
    /// are, their session's CSRF token for the forms, the part of the
    /// workspace it belongs to (`section`) and its title, then `extra`.
    pub(crate) fn page(
        &self,
        who: &session::Signed,
        template: &str,
        section: &str,
        title: impl serde::Serialize,
        extra: minijinja::Value,
    ) -> Result<Response, Refusal> {
        let html = self
            .app
            .pages()
            .views
            .render(
                template,
                minijinja::context! {
                    council => self.app.config.council.name.clone(),
                    user => minijinja::context! { name => who.display(), role => who.role.label() },
                    csrf => who.csrf.clone(),
                    section,
                    title,
                    ..extra
                },
            )
            .map_err(|e| Refusal::Failed(self.clone(), e))?;
        Ok(axum::response::Html(html).into_response())
    }
}

fn router(ctx: Ctx) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/cases") }))
        .route("/sign-in", get(signin::page))
        .route("/sign-in/local", post(signin::local))
        .route("/sign-in/start", get(signin::start))
        .route("/sign-in/callback", get(signin::callback))
        .route("/sign-out", post(signin::sign_out))
        .route("/cases", get(list::page))
        .route("/audit", get(list::audit))
        .route("/figures", get(figures::page))
        .route("/figures.csv", get(figures::csv))
        .route("/strays", get(strays::list))
        .route("/strays/{message}", get(strays::show))
        .route("/strays/{message}/{action}", post(strays::act))
        .route("/cases/{reference}", get(case::page))
        .route(
            "/cases/{reference}/reply",
            get(reply::page).post(reply::post),
        )
        .route("/cases/{reference}/{action}", post(act::act))
        .route("/cases/{reference}/messages/{message}", get(case::message))
        .route(
            "/cases/{reference}/messages/{message}/parts/{position}",
            get(case::download),
        )
        .route("/assets/{*file}", get(assets::file))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            ctx.clone(),
            security::headers,
        ))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .with_state(ctx)
}

async fn not_found(
    axum::extract::State(ctx): axum::extract::State<Ctx>,
) -> Result<Response, Refusal> {
    Err(Refusal::NotFound(ctx))
}

/// Why a request gets no page: each is shown as a GOV.UK error page, with
/// nothing about the case that was asked for.
pub(crate) enum Refusal {
    /// No session, or one that has ended: to the sign-in page.
    SignIn { then: String },
    /// There is no such page, or it is a case this person may not see
    /// (the same answer, so that references cannot be probed).
    NotFound(Ctx),
    /// A form without its session's CSRF token, or another refusal.
    Forbidden(Ctx, String),
    /// Something failed on the server; logged without personal data.
    Failed(Ctx, anyhow::Error),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (ctx, status, title, text) = match self {
            Refusal::SignIn { then } => {
                let to = format!("/sign-in?then={}", views::query_escape(&then));
                return Redirect::to(&to).into_response();
            }
            Refusal::NotFound(ctx) => (
                ctx,
                StatusCode::NOT_FOUND,
                "Page not found",
                "If you typed the web address, check it is correct. A case you cannot open is not shown.".to_string(),
            ),
            Refusal::Forbidden(ctx, why) => (ctx, StatusCode::FORBIDDEN, "You cannot do that", why),
            Refusal::Failed(ctx, e) => {
                // The outermost context is postroom's own sentence; the chain
                // below it may quote a database's words about a value.
                error!(error = %e, "A workspace page failed.");
                (
                    ctx,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sorry, there is a problem with the service",
                    "Try again later. Nothing you sent was lost; if it keeps happening, tell the council's IT team.".to_string(),
                )
            }
        };
        let page = ctx.app.pages().views.render(
            "error.html.j2",
            minijinja::context! { title, text, council => ctx.app.config.council.name.clone() },
        );
        match page {
            Ok(html) => (status, axum::response::Html(html)).into_response(),
            Err(_) => (status, title).into_response(),
        }
    }
}
