//! Messages stored without a case (junk, a newsletter, mail the rules
//! could not place), when a person says otherwise: filed on the case it
//! belongs to, or opened as a case of its own, read again from its stored
//! bytes as ingest read it, as a new enquiry. Either is an event on the
//! case with who did it.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::Arrival;
use super::actions::{case_by_reference, ensure_live};
use crate::app::App;
use crate::case::Kind;
use crate::message::Origin;
use crate::store::{Tx, cases, messages};

fn gone(id: i64) -> String {
    format!("Message {id} is already on a case, or does not exist")
}

/// Message `id` is still without a case, in `tx`.
async fn still_stray(tx: &mut Tx, id: i64) -> Result<()> {
    if messages::stray(tx, id).await?.is_none() {
        bail!(gone(id));
    }
    Ok(())
}

/// Files message `id` on case `reference`.
pub async fn file(
    app: &App,
    id: i64,
    reference: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut tx = app.store.begin().await?;
    still_stray(&mut tx, id).await?;
    let case = case_by_reference(&mut tx, &reference.trim().to_uppercase()).await?;
    ensure_live(&case)?;
    messages::set_case(&mut tx, id, case.id).await?;
    let detail = json!({ "message": id, "by": "hand" });
    cases::add_event(
        &mut tx,
        case.id,
        now,
        actor,
        "message_filed",
        Some(id),
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Opens a case from message `id`, as a new enquiry; its reference.
pub async fn open(app: &App, id: i64, actor: &str, now: DateTime<Utc>) -> Result<String> {
    let (stray, raw, name) = {
        let mut conn = app.store.conn().await?;
        let stray = messages::stray(&mut conn, id)
            .await?
            .with_context(|| gone(id))?;
        let raw = messages::raw(&mut conn, id).await?;
        let name = messages::parts(&mut conn, id)
            .await?
            .get(1)
            .map(|p| p.name.clone());
        (stray, raw, name)
    };
    let origin = if stray.origin == "letter" {
        Origin::Letter
    } else {
        Origin::Email
    };
    // Read again outside the transaction: a letter may need OCR.
    let (message, mut decision) = crate::read::read(
        app.classifier(),
        &app.extractor,
        Arc::new(raw),
        origin,
        name,
    )
    .await;
    decision.kind = Kind::NewEnquiry;
    decision.should_acknowledge = decision.from_mp_office;
    let received_at = crate::store::parse_ts(&stray.received_at)?;
    let mut tx = app.store.begin().await?;
    // Filed on a case, or opened, by someone else while it was read.
    still_stray(&mut tx, id).await?;
    let arrival = Arrival {
        message: &message,
        decision: &decision,
        row: id,
        from: &stray.from_address,
        history: false,
        received_at,
        now,
    };
    let opened = super::open::open(app, &mut tx, &arrival, None).await?;
    let case = cases::by_reference(&mut tx, &opened.reference)
        .await?
        .context("The case just opened is not there")?;
    let detail = json!({ "message": id, "by": "hand" });
    cases::add_event(
        &mut tx,
        case.id,
        now,
        actor,
        "opened_by_hand",
        Some(id),
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(opened.reference)
}
