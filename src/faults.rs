//! What is going wrong in this process now: each stage of the daemon (a
//! source, the delivery worker, the heartbeat, the schedule, the watchdog)
//! says when a step fails and when one succeeds again. Kept in memory, so
//! that the truth survives a database that cannot be written; `/readyz`,
//! and through it `postroom status`, report it.
//!
//! A fault is current from the first failure until the next success of the
//! same stage: a fault that has cleared is never shown as current.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One stage's current fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    pub stage: String,
    /// The first failure of this run of failures.
    pub since: DateTime<Utc>,
    /// The latest one.
    pub last: DateTime<Utc>,
    /// Why, in words for an admin (an error message, never mail content).
    pub why: String,
    /// The database cannot be written: the stage takes no work until it can.
    pub storage: bool,
}

/// What a report changed, for the log: say a fault once when it starts or
/// its reason changes, and once when it clears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Started,
    Changed,
    Same,
    Cleared(Fault),
    None,
}

#[derive(Debug, Default)]
pub struct Faults {
    current: Mutex<BTreeMap<String, Fault>>,
}

impl Faults {
    /// `stage` failed at `at`, because of `why`.
    pub fn failed(&self, stage: &str, at: DateTime<Utc>, why: &str, storage: bool) -> Change {
        let mut map = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(stage) {
            Some(f) => {
                f.last = at;
                f.storage = storage;
                if f.why == why {
                    Change::Same
                } else {
                    f.why = why.to_string();
                    Change::Changed
                }
            }
            None => {
                map.insert(
                    stage.to_string(),
                    Fault {
                        stage: stage.to_string(),
                        since: at,
                        last: at,
                        why: why.to_string(),
                        storage,
                    },
                );
                Change::Started
            }
        }
    }

    /// `stage` succeeded: its fault, if it had one, has cleared.
    pub fn succeeded(&self, stage: &str) -> Change {
        let mut map = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match map.remove(stage) {
            Some(f) => Change::Cleared(f),
            None => Change::None,
        }
    }

    /// Every current fault, by stage.
    pub fn current(&self) -> Vec<Fault> {
        let map = self.current.lock().unwrap_or_else(|p| p.into_inner());
        map.values().cloned().collect()
    }

    /// The current fault of `stage`, if any.
    pub fn of(&self, stage: &str) -> Option<Fault> {
        let map = self.current.lock().unwrap_or_else(|p| p.into_inner());
        map.get(stage).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_fault_is_current_until_its_stage_succeeds() {
        let f = Faults::default();
        let t1 = at("2026-12-02T10:00:00Z");
        let t2 = at("2026-12-02T10:00:05Z");
        assert_eq!(f.failed("delivery", t1, "disk full", true), Change::Started);
        assert_eq!(f.failed("delivery", t2, "disk full", true), Change::Same);
        assert_eq!(f.failed("delivery", t2, "gone", true), Change::Changed);
        assert_eq!(f.succeeded("heartbeat"), Change::None);
        let now = f.current();
        assert_eq!(now.len(), 1);
        assert_eq!((now[0].since, now[0].last), (t1, t2));
        let Change::Cleared(cleared) = f.succeeded("delivery") else {
            panic!("cleared");
        };
        assert_eq!(cleared.why, "gone");
        assert!(f.current().is_empty());
        assert_eq!(f.of("delivery"), None);
    }
}
