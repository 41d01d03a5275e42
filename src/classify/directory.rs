//! The MP directory: which addresses belong to which MP's office.
//!
//! A CSV with the columns `name,constituency,email,role` (the format of
//! `../shared/corpus/mps.csv`): `role` is `mp` for the MP's own address and
//! `staff` for a caseworker or office address; one row per address. Loaded
//! from config and reloaded without a restart.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

/// The role of an address in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Mp,
    Staff,
}

/// An MP: the name and constituency as the directory writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mp {
    pub name: String,
    pub constituency: String,
}

/// One address of an MP's office.
#[derive(Debug, Clone)]
pub struct Entry {
    pub mp: usize,
    pub role: Role,
    pub email: String,
}

#[derive(Debug, Clone, Default)]
pub struct Directory {
    mps: Vec<Mp>,
    by_email: HashMap<String, Entry>,
}

pub use crate::problem::Problem as DirectoryError;

#[derive(Deserialize)]
struct Row {
    name: String,
    constituency: String,
    email: String,
    role: String,
}

impl Directory {
    pub fn empty() -> Directory {
        Directory::default()
    }

    pub fn load(path: &Path) -> Result<Directory, Vec<DirectoryError>> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![DirectoryError::new(
                file.clone(),
                0,
                format!("cannot read the MP directory: {e}"),
            )]
        })?;
        Directory::parse(&file, &text)
    }

    /// Parses directory CSV text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Directory, Vec<DirectoryError>> {
        let mut directory = Directory::default();
        let mut errors = Vec::new();
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let err = |line: u64, message: String| DirectoryError::new(file, line as usize, message);
        let headers = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => return Err(vec![err(1, format!("cannot read the header line: {e}"))]),
        };
        for record in reader.records() {
            let parsed = record.and_then(|r| {
                let line = r.position().map(|p| p.line()).unwrap_or(0);
                r.deserialize::<Row>(Some(&headers)).map(|row| (line, row))
            });
            let (line, row) = match parsed {
                Ok(ok) => ok,
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    errors.push(err(line, format!("not a directory row ({e}); the columns are name,constituency,email,role")));
                    continue;
                }
            };
            let role = match row.role.to_ascii_lowercase().as_str() {
                "mp" => Role::Mp,
                "staff" => Role::Staff,
                other => {
                    errors.push(err(
                        line,
                        format!("role {other:?} is neither \"mp\" nor \"staff\""),
                    ));
                    continue;
                }
            };
            let email = row.email.to_lowercase();
            if !email.contains('@') || email.contains(char::is_whitespace) {
                errors.push(err(
                    line,
                    format!("{:?} is not an email address", row.email),
                ));
                continue;
            }
            if row.name.is_empty() {
                errors.push(err(line, "the MP's name is empty".into()));
                continue;
            }
            let mp = Mp {
                name: row.name,
                constituency: row.constituency,
            };
            let index = match directory.mps.iter().position(|m| *m == mp) {
                Some(i) => i,
                None => {
                    directory.mps.push(mp);
                    directory.mps.len() - 1
                }
            };
            if directory.by_email.contains_key(&email) {
                errors.push(err(line, format!("{email} is listed twice")));
                continue;
            }
            directory.by_email.insert(
                email.clone(),
                Entry {
                    mp: index,
                    role,
                    email,
                },
            );
        }
        if errors.is_empty() {
            Ok(directory)
        } else {
            Err(errors)
        }
    }

    /// The office an address belongs to.
    pub fn lookup(&self, email: &str) -> Option<(&Entry, &Mp)> {
        let entry = self.by_email.get(&email.to_lowercase())?;
        Some((entry, &self.mps[entry.mp]))
    }

    pub fn mps(&self) -> &[Mp] {
        &self.mps
    }

    /// The address acknowledgements for letters go to: the office's first
    /// staff address, else the MP's own.
    pub fn office_address(&self, mp_name: &str) -> Option<&str> {
        let index = self.mps.iter().position(|m| m.name == mp_name)?;
        let mut entries: Vec<&Entry> = self.by_email.values().filter(|e| e.mp == index).collect();
        entries.sort_by(|a, b| {
            (a.role == Role::Mp)
                .cmp(&(b.role == Role::Mp))
                .then(a.email.cmp(&b.email))
        });
        entries.first().map(|e| e.email.as_str())
    }

    pub fn len(&self) -> usize {
        self.by_email.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_email.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "name,constituency,email,role\n\
Ann Example,Northtown,ann.example.mp@parliament.uk,mp\n\
Ann Example,Northtown,Caseworker@AnnExample.org.uk,staff\n\
Bo Sample,Southvale,bo.sample.mp@parliament.uk,mp\n";

    #[test]
    fn lookup_is_case_insensitive() {
        let d = Directory::parse("mps.csv", CSV).unwrap();
        let (entry, mp) = d.lookup("caseworker@annexample.org.uk").unwrap();
        assert_eq!(entry.role, Role::Staff);
        assert_eq!(mp.name, "Ann Example");
        assert_eq!(mp.constituency, "Northtown");
        assert!(d.lookup("ANN.EXAMPLE.MP@parliament.uk").is_some());
        assert!(d.lookup("nobody@parliament.uk").is_none());
        assert_eq!(d.mps().len(), 2);
        assert_eq!(
            d.office_address("Ann Example"),
            Some("caseworker@annexample.org.uk")
        );
    }

    #[test]
    fn bad_rows_are_reported_with_their_line() {
        let bad = "name,constituency,email,role\nAnn,North,ann@x.uk,mp\nBo,South,not-an-address,mp\nCy,East,cy@x.uk,chief\n";
        let errors = Directory::parse("mps.csv", bad).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].line, 3);
        assert!(
            errors[0].to_string().starts_with("mps.csv:3:"),
            "{}",
            errors[0]
        );
        assert!(errors[1].message.contains("chief"));
    }
}
