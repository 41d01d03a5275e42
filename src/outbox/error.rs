//! Why a send did not succeed: what every transport (SMTP, the folder,
//! the webhook) answers, and all the worker needs to know to go on.

/// Why a send did not succeed, by what the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Try again later: a 4xx reply, a network error, a timeout.
    Transient(String),
    /// Do not try again: a 5xx reply, or a mail that cannot be sent at all.
    Permanent(String),
}
