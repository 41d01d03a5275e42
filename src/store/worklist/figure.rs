//! The cases behind one of the managers' figures, as a condition of the
//! list.

use super::{LIVE, Sql};

/// What a figure of the managers' page counts, as a condition on cases:
/// the same conditions `store::tallies` counts by, so that a figure's list
/// holds exactly its cases (less those retention deleted, which only
/// their anonymous statistics rows still count).
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// Acknowledged on or before the target date.
    AcknowledgedInTime,
    /// Answered: at all (`None`), on or before the reply date (`true`),
    /// or after it (`false`).
    Answered(Option<bool>),
    /// Received before `end` (a stored timestamp: the local midnight a
    /// period ends at) and neither answered nor closed by then; with
    /// `due_before` (a date), also past the reply date at that end.
    OpenAt {
        end: String,
        due_before: Option<String>,
    },
    /// Live and paused now; with a reason, paused for it (`""`: none
    /// given).
    Paused(Option<String>),
    /// Live, not paused, and waiting for a caseworker (`true`) or with
    /// one (`false`).
    Waiting { unassigned: bool },
    /// With an MP office's chaser since this instant (a stored timestamp).
    ChasedSince(String),
    /// A statutory clock of this name due from `from` to `to` (dates):
    /// still running and not met (`missed: false`, with `today`: due today
    /// or later), or missed (not met by `today`, or met after its day).
    Clock {
        name: String,
        from: String,
        to: String,
        today: String,
        missed: bool,
    },
}

/// What an in-time figure compares: the time zone's offsets over the
/// instants compared ([`crate::store::tallies::by_date`]).
pub type Offsets = Vec<(i64, i64)>;

impl Sql {
    pub(super) fn figure(&mut self, f: &Figure, offsets: &[(i64, i64)]) {
        let backend = if self.postgres {
            crate::store::Backend::Postgres
        } else {
            crate::store::Backend::Sqlite
        };
        let by = |at: &str, date: &str| crate::store::tallies::by_date(backend, offsets, at, date);
        match f {
            Figure::AcknowledgedInTime => self.add(
                &format!(
                    "acknowledged_at IS NOT NULL AND acknowledge_due IS NOT NULL AND {}",
                    by("acknowledged_at", "acknowledge_due")
                ),
                &[],
            ),
            Figure::Answered(None) => self.add("answered_at IS NOT NULL", &[]),
            Figure::Answered(Some(in_time)) => self.add(
                &format!(
                    "answered_at IS NOT NULL AND response_due IS NOT NULL AND {}({})",
                    if *in_time { "" } else { "NOT " },
                    by("answered_at", "response_due")
                ),
                &[],
            ),
            Figure::OpenAt { end, due_before } => {
                self.add(
                    "received_at < ? AND (answered_at IS NULL OR answered_at >= ?) \
                     AND (closed_at IS NULL OR closed_at >= ?)",
                    &[end, end, end],
                );
                if let Some(d) = due_before {
                    self.add("response_due < ?", &[d]);
                }
            }
            Figure::Paused(reason) => {
                self.add(&format!("{LIVE} AND paused_at IS NOT NULL"), &[]);
                match reason.as_deref() {
                    None => {}
                    Some("") => self.add("(pause_reason IS NULL OR pause_reason = '')", &[]),
                    Some(r) => self.add("pause_reason = ?", &[r]),
                }
            }
            Figure::Waiting { unassigned } => self.add(
                &format!(
                    "{LIVE} AND paused_at IS NULL AND assignee IS {}NULL",
                    if *unassigned { "" } else { "NOT " }
                ),
                &[],
            ),
            Figure::ChasedSince(since) => self.add(
                "id IN (SELECT case_id FROM case_events WHERE kind = 'chaser' AND at >= ?)",
                &[since],
            ),
            Figure::Clock {
                name,
                from,
                to,
                today,
                missed,
            } => {
                let state = if *missed {
                    format!(
                        "((met_at IS NULL AND due_on < ?) OR (met_at IS NOT NULL AND NOT ({})))",
                        by("met_at", "due_on")
                    )
                } else {
                    "met_at IS NULL AND due_on >= ?".to_string()
                };
                self.add(
                    &format!(
                        "id IN (SELECT case_id FROM deadlines WHERE kind = 'statutory' AND name = ? \
                         AND due_on >= ? AND due_on <= ? AND {state})"
                    ),
                    &[name, from, to, today],
                );
            }
        }
    }
}
