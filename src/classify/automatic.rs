//! Automatic and bulk mail by its headers: the check that runs again after
//! the rules, so that no rule can make postroom answer a machine.

use crate::message::Origin;
use crate::parse::Message;

/// Signs of automatic or bulk mail that no rule may override (RFC 3834,
/// RFC 2369, RFC 3464, and the habits of Exchange and Gmail).
pub fn automatic_mail(message: &Message) -> Option<String> {
    if message.origin == Origin::Letter {
        return None;
    }
    let header = |name: &str| message.header(name).map(|v| v.trim().to_ascii_lowercase());
    if let Some(v) = header("auto-submitted")
        && !v.starts_with("no")
    {
        return Some(format!("Auto-Submitted: {v}"));
    }
    if let Some(v) = header("precedence")
        && ["bulk", "junk", "list", "auto_reply"]
            .iter()
            .any(|p| v.starts_with(p))
    {
        return Some(format!("Precedence: {v}"));
    }
    for name in [
        "list-id",
        "list-unsubscribe",
        "x-autoreply",
        "x-autorespond",
        "x-postroom-case",
    ] {
        if header(name).is_some() {
            return Some(format!("{name} header"));
        }
    }
    if header("x-auto-response-suppress")
        .is_some_and(|v| v.contains("all") || v.contains("oof") || v.contains("autoreply"))
    {
        return Some("X-Auto-Response-Suppress".into());
    }
    if header("return-path").is_some_and(|v| v == "<>") {
        return Some("null return path".into());
    }
    if message
        .content_types
        .iter()
        .any(|t| t == "multipart/report" || t == "message/delivery-status")
    {
        return Some("a delivery report".into());
    }
    let from = message
        .from
        .as_ref()
        .map(|m| m.address.as_str())
        .unwrap_or("");
    let local = from.split('@').next().unwrap_or("");
    if [
        "mailer-daemon",
        "postmaster",
        "noreply",
        "no-reply",
        "donotreply",
        "do-not-reply",
    ]
    .contains(&local)
    {
        return Some(format!("sender {local}@"));
    }
    None
}
