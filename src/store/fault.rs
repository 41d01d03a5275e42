//! Which errors mean the database cannot be written at all (its disk is
//! full, its file is read-only, its server is gone), as opposed to a
//! mistake in one statement. The daemon stops taking work on these, says
//! so in its health, and carries on by itself when writes succeed again.

/// Why the database cannot be written, in words for an admin; `None` when
/// `error` is not such a fault.
pub fn write_fault(error: &anyhow::Error) -> Option<&'static str> {
    error
        .chain()
        .find_map(|e| e.downcast_ref::<sqlx::Error>())
        .and_then(classify)
}

fn classify(error: &sqlx::Error) -> Option<&'static str> {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code()?;
            sqlite_code(&code).or_else(|| postgres_code(&code))
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            Some("the database cannot be reached")
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            Some("the database cannot be reached")
        }
        _ => None,
    }
}

/// SQLite's result codes: the primary code is the low byte of the
/// extended one.
fn sqlite_code(code: &str) -> Option<&'static str> {
    let n: i64 = code.parse().ok()?;
    match n & 0xff {
        13 => Some("the database's disk is full"),
        8 => Some("the database file is read-only"),
        10 => Some("the database cannot write to its disk (I/O error)"),
        14 => Some("the database file cannot be opened"),
        _ => None,
    }
}

/// PostgreSQL's SQLSTATEs.
fn postgres_code(code: &str) -> Option<&'static str> {
    match code {
        "53100" => Some("the database's disk is full"),
        c if c.starts_with("53") => Some("the database server is out of resources"),
        "25006" => Some("the database is read-only"),
        c if c.starts_with("08") || c.starts_with("57P") => Some("the database cannot be reached"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_into_faults() {
        assert_eq!(sqlite_code("13"), Some("the database's disk is full"));
        // SQLITE_IOERR_WRITE (778) is an I/O error.
        assert!(sqlite_code("778").unwrap().contains("I/O"));
        assert_eq!(sqlite_code("19"), None, "a constraint is not a fault");
        assert_eq!(postgres_code("53100"), Some("the database's disk is full"));
        assert_eq!(postgres_code("23505"), None, "a unique violation is not");
        assert!(postgres_code("57P01").is_some());
        let io = anyhow::Error::new(sqlx::Error::PoolTimedOut).context("Cannot commit");
        assert_eq!(write_fault(&io), Some("the database cannot be reached"));
        assert_eq!(write_fault(&anyhow::anyhow!("a parse error")), None);
    }
}
