//! A case: what it is, its clocks, every message in and out with its text,
//! the events; and the download of an attachment or letter. Each view and
//! each download is written to the access audit before it is answered.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde_json::json;

use super::list::{days, long_date, row, topic_label};
use super::session::Signed;
use super::{Ctx, Refusal};
use crate::store::cases::{self, CaseRow};
use crate::store::{Conn, deadlines, messages, outbox, web as stored};

/// The case `reference` names, when `who` may see it; else the same
/// "not found" as for a reference that does not exist.
pub(super) async fn visible(
    ctx: &Ctx,
    conn: &mut Conn,
    who: &Signed,
    reference: &str,
) -> Result<CaseRow, Refusal> {
    let case = cases::by_reference(conn, &reference.to_uppercase())
        .await
        .map_err(|e| Refusal::Failed(ctx.clone(), e))?;
    match case {
        Some(c) if who.may_see(&c) => Ok(c),
        _ => Err(Refusal::NotFound(ctx.clone())),
    }
}

/// As [`visible`], on a connection of its own.
pub(super) async fn visible_case(
    ctx: &Ctx,
    who: &Signed,
    reference: &str,
) -> Result<CaseRow, Refusal> {
    let mut conn = ctx
        .app
        .store
        .conn()
        .await
        .map_err(|e| Refusal::Failed(ctx.clone(), e))?;
    visible(ctx, &mut conn, who, reference).await
}

/// A page shown again because its form was refused: 422.
pub(super) fn unprocessable(mut page: Response) -> Response {
    *page.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    page
}

pub(super) async fn page(
    State(ctx): State<Ctx>,
    who: Signed,
    Path(reference): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Refusal> {
    let done = q.get("done").and_then(|d| super::act::done_message(d));
    show(&ctx, &who, &reference, Shown { done, errors: &[] }).await
}

/// What the case page says above the case: what was just done, or why an
/// action was refused (the GOV.UK error summary).
pub(super) struct Shown<'a> {
    pub done: Option<&'static str>,
    pub errors: &'a [String],
}

// Long: the page's sections are gathered in the order it shows them.
pub(super) async fn show(
    ctx: &Ctx,
    who: &Signed,
    reference: &str,
    shown: Shown<'_>,
) -> Result<Response, Refusal> {
    let failed = |e| Refusal::Failed(ctx.clone(), e);
    let mut conn = ctx.app.store.conn().await.map_err(failed)?;
    let case = visible(ctx, &mut conn, who, reference).await?;
    let now = ctx.app.clock.now();
    stored::audit(
        &mut conn,
        now,
        &who.email,
        "viewed",
        Some(&case.reference),
        &json!({}),
    )
    .await
    .map_err(failed)?;
    let today = days(ctx).today;
    let calendar = ctx.app.calendar();
    let clocks: Vec<_> = deadlines::for_case(&mut conn, case.id)
        .await
        .map_err(failed)?
        .into_iter()
        .map(|d| {
            let state = match (&d.met_at, case.paused_at) {
                (Some(at), _) => format!("met {}", &at[..at.len().min(10)]),
                (None, Some(_)) => "paused".to_string(),
                (None, None) => crate::deadlines::state(&calendar, d.due_on, today).0,
            };
            context! { name => d.name, due => long_date(d.due_on), state, paused_days => d.paused_days }
        })
        .collect();
    let mut timeline = Vec::new();
    let inbound = messages::of_case(&mut conn, case.id)
        .await
        .map_err(failed)?;
    let older = inbound.len().saturating_sub(SHOWN_IN_FULL);
    for (n, m) in inbound.into_iter().enumerate() {
        if n < older {
            // Older messages by their heading only: each opens on its own.
            timeline.push((m.received_at.clone(), context! {
                direction => "in", collapsed => true, at => m.received_at, from => m.from_address,
                subject => m.subject, kind => m.kind,
                href => format!("/cases/{}/messages/{}", case.reference, m.id),
            }));
            continue;
        }
        let item = message_item(ctx, &mut conn, &case.reference, &m).await?;
        timeline.push((m.received_at.clone(), item));
    }
    for o in outbox::of_case(&mut conn, case.id).await.map_err(failed)? {
        timeline.push((
            o.created_at.clone(),
            context! {
                direction => "out", at => o.created_at, purpose => o.purpose.replace('_', " "),
                to => o.recipients.join(", "), status => o.status, sent => o.sent_at,
            },
        ));
    }
    timeline.sort_by(|a, b| a.0.cmp(&b.0));
    let timeline: Vec<_> = timeline.into_iter().map(|(_, v)| v).collect();
    let events = cases::events(&mut conn, case.id).await.map_err(failed)?;
    let spells = pause_spells(&events);
    let events: Vec<_> = events
        .into_iter()
        .map(|e| context! { at => e.at, actor => e.actor, kind => e.kind.replace('_', " "), detail => super::views::event_detail(&e.detail) })
        .collect();
    let hold = crate::store::retention::hold_of(&mut conn, case.id)
        .await
        .map_err(failed)?;
    let audit = if who.role == crate::config::WebRole::Admin {
        stored::accesses(&mut conn, stored::Of::Case(&case.reference), 50)
            .await
            .map_err(failed)?
    } else {
        Vec::new()
    };
    drop(conn);
    let summary = row(ctx, &case, today);
    let forms = super::act::forms(ctx, who, &case);

    ctx.page(
        who,
        "case.html.j2",
        "cases",
        case.reference.clone(),
        context! {
                case => context! {
                    reference => case.reference, subject => case.subject, status => case.status.as_str(),
                    kind => case.kind.as_str().replace('_', " "), triage => case.triage_reason,
                    service => case.category.map(|c| c.label()), topic => case.send_topic.map(topic_label),
                    urgent => case.urgent, mp => case.mp_name, constituency => case.constituency,
                    mp_reference => case.mp_reference, correspondent => case.correspondent,
                    from_mp_office => case.from_mp_office, team => case.team, assignee => case.assignee,
                    received => long_date(case.received_at.date_naive()),
                    acknowledged => case.acknowledged_at.map(|a| long_date(a.date_naive())),
                    answered => case.answered_at.map(|a| long_date(a.date_naive())),
                    paused => case.paused_at.map(|a| long_date(a.date_naive())), pause_reason => case.pause_reason,
                },
                summary,
                forms,
                hold,
                audit,
                done => shown.done,
                errors => shown.errors,
                clocks,
                spells,
                timeline,
                events,
        },
    )
}

/// Each time the case was paused: from when, to when (none while it still
/// is), why, and the working days its clocks moved by.
fn pause_spells(events: &[cases::Event]) -> Vec<minijinja::Value> {
    let day = |at: &str| {
        chrono::NaiveDate::parse_from_str(at.get(..10).unwrap_or(at), "%Y-%m-%d")
            .map(long_date)
            .unwrap_or_else(|_| at.to_string())
    };
    let detail = |e: &cases::Event| serde_json::from_str::<serde_json::Value>(&e.detail).ok();
    let mut spells: Vec<(String, Option<String>, String, Option<i64>)> = Vec::new();
    for e in events {
        match e.kind.as_str() {
            "paused" => {
                let reason = detail(e)
                    .and_then(|d| d["reason"].as_str().map(String::from))
                    .unwrap_or_default();
                spells.push((day(&e.at), None, reason, None));
            }
            "resumed" => {
                if let Some(last) = spells.last_mut().filter(|s| s.1.is_none()) {
                    last.1 = Some(day(&e.at));
                    last.3 = detail(e).and_then(|d| d["working_days"].as_i64());
                }
            }
            _ => {}
        }
    }
    spells
        .into_iter()
        .map(|(from, to, reason, days)| context! { from, to, reason, days })
        .collect()
}

/// The newest messages in of a case shown in full on its page; older ones
/// by their heading, each opening on a page of its own (a case with 200
/// messages stays a page of tens of kilobytes).
const SHOWN_IN_FULL: usize = 20;

/// A message in, with its text and its files, for a template.
async fn message_item(
    ctx: &Ctx,
    conn: &mut Conn,
    reference: &str,
    m: &messages::StoredMessage,
) -> Result<minijinja::Value, Refusal> {
    let parts = messages::parts(conn, m.id)
        .await
        .map_err(|e| Refusal::Failed(ctx.clone(), e))?;
    let body = parts
        .first()
        .and_then(|p| p.text.clone())
        .unwrap_or_default();
    let files: Vec<_> = parts
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, p)| {
            context! {
                name => p.name, content_type => p.content_type, size => size(p.size),
                text => p.text, source => p.text_source, note => p.note,
                href => format!("/cases/{reference}/messages/{}/parts/{i}", m.id),
            }
        })
        .collect();
    Ok(context! {
        direction => "in", at => m.received_at, from => m.from_address, subject => m.subject,
        kind => m.kind, unread => m.parse_status != "ok", body, files,
        page => format!("/cases/{reference}/messages/{}", m.id),
    })
}

/// One message of a case on its own page (an older one, folded on the
/// case page).
pub(super) async fn message(
    State(ctx): State<Ctx>,
    who: Signed,
    Path((reference, id)): Path<(String, i64)>,
) -> Result<Response, Refusal> {
    let failed = |e| Refusal::Failed(ctx.clone(), e);
    let mut conn = ctx.app.store.conn().await.map_err(failed)?;
    let case = visible(&ctx, &mut conn, &who, &reference).await?;
    let Some(m) = messages::of_case(&mut conn, case.id)
        .await
        .map_err(failed)?
        .into_iter()
        .find(|m| m.id == id)
    else {
        return Err(Refusal::NotFound(ctx));
    };
    let now = ctx.app.clock.now();
    stored::audit(
        &mut conn,
        now,
        &who.email,
        "viewed",
        Some(&case.reference),
        &json!({ "message": id }),
    )
    .await
    .map_err(failed)?;
    let item = message_item(&ctx, &mut conn, &case.reference, &m).await?;
    let raw = messages::raw(&mut conn, m.id).await.map_err(failed)?;
    drop(conn);
    let (formatted, too_large) =
        match crate::parse::html_body(&raw).map(|h| super::html::formatted(&h)) {
            Some(super::html::Formatted::Shown(h)) => (Some(h), false),
            Some(super::html::Formatted::TooLarge) => (None, true),
            None => (None, false),
        };
    ctx.page(
        &who,
        "message.html.j2",
        "cases",
        if m.subject.is_empty() {
            "(no subject)".to_string()
        } else {
            m.subject.clone()
        },
        context! {
                reference => case.reference,
                m => item,
                formatted,
                too_large,
        },
    )
}

fn size(bytes: i64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{} KB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// An attachment or letter as it arrived, always as a download: never
/// shown by the browser in the workspace's origin.
pub(super) async fn download(
    State(ctx): State<Ctx>,
    who: Signed,
    Path((reference, message, position)): Path<(String, i64, usize)>,
) -> Result<Response, Refusal> {
    let failed = |e| Refusal::Failed(ctx.clone(), e);
    let mut conn = ctx.app.store.conn().await.map_err(failed)?;
    let case = visible(&ctx, &mut conn, &who, &reference).await?;
    let Some(origin) = messages::origin_in_case(&mut conn, message, case.id)
        .await
        .map_err(failed)?
    else {
        return Err(Refusal::NotFound(ctx));
    };
    let parts = messages::parts(&mut conn, message).await.map_err(failed)?;
    let Some(part) = parts.get(position).filter(|_| position > 0).cloned() else {
        return Err(Refusal::NotFound(ctx));
    };
    let raw = messages::raw(&mut conn, message).await.map_err(failed)?;
    let now = ctx.app.clock.now();
    stored::audit(
        &mut conn,
        now,
        &who.email,
        "downloaded",
        Some(&case.reference),
        &json!({ "message": message, "part": position }),
    )
    .await
    .map_err(failed)?;
    drop(conn);
    let bytes = if origin == "letter" {
        Some(raw)
    } else {
        tokio::task::spawn_blocking(move || part_bytes(&raw, position))
            .await
            .ok()
            .flatten()
    };
    let Some(bytes) = bytes else {
        return Err(Refusal::NotFound(ctx));
    };
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(download_type(&part.content_type)),
    );
    h.insert(header::CONTENT_DISPOSITION, disposition(&part.name));
    // Opened on its own, a file runs no script in the workspace's origin.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(response)
}

/// The decoded bytes of part `position` (1: the first after the body) of
/// a stored mail, read again as ingest read it.
fn part_bytes(raw: &[u8], position: usize) -> Option<Vec<u8>> {
    let message = crate::parse::parse_email(raw);
    let part = message.parts.into_iter().nth(position - 1)?;
    match &part.spool {
        Some(path) => std::fs::read(path).ok(),
        None => part.text.map(String::into_bytes),
    }
}

/// The types a download is sent as: the common document types as
/// themselves, everything else as bytes.
fn download_type(declared: &str) -> &'static str {
    match declared {
        "application/pdf" => "application/pdf",
        "image/jpeg" => "image/jpeg",
        "image/png" => "image/png",
        "image/tiff" => "image/tiff",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        }
        "application/vnd.oasis.opendocument.text" => "application/vnd.oasis.opendocument.text",
        "text/plain" | "text/html" | "message/rfc822" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `Content-Disposition: attachment` with the file's name: in `filename`
/// printable ASCII without the characters Windows refuses in a file name,
/// in `filename*` the name itself, percent-encoded.
fn disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !r#"<>:"/\|?*;"#.contains(c) || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .take(150)
        .collect();
    let encoded: String = name
        .bytes()
        .take(600)
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_file_name_stays_inside_its_header() {
        let d = disposition("<script>\"x\";\r\nSet-Cookie: a=b/..\\évil.pdf");
        let d = d.to_str().unwrap();
        assert!(d.starts_with("attachment; filename=\"_script__x__"), "{d}");
        assert!(!d.contains('\r') && !d.contains('\n'));
        assert!(d.contains("filename*=UTF-8''%3Cscript%3E"), "{d}");
    }

    #[test]
    fn only_known_document_types_keep_their_type() {
        assert_eq!(download_type("application/pdf"), "application/pdf");
        assert_eq!(download_type("text/html"), "text/plain; charset=utf-8");
        assert_eq!(download_type("image/svg+xml"), "application/octet-stream");
    }
}
