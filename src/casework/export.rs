//! `postroom export`: everything postroom holds about a case, or about a
//! person, in one ZIP file, for a subject access request (UK GDPR Art 15;
//! one month to answer).
//!
//! For each case: `case.txt` (the record as `postroom cases show` prints
//! it), `case.json` (its fields), every message exactly as received
//! (`messages/*.eml`) and every mail postroom sent about it (`sent/*.eml`).
//! For a person, also the messages on no case from or naming them
//! (`unfiled/*.eml`) and postroom's mail to them on no case. `README.txt`
//! says what was searched and what was found. The file is created 0600:
//! it holds the data it is about.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use zip::write::SimpleFileOptions;

use crate::app::App;
use crate::store::{cases, export, messages};

/// What went into an export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exported {
    pub cases: Vec<String>,
    pub messages: usize,
    pub unfiled: usize,
    pub sent: usize,
}

/// What to export.
pub enum Subject<'a> {
    Case(&'a str),
    Person(&'a str),
}

/// Writes the export to `out` (which must not exist).
pub async fn export(app: &App, subject: Subject<'_>, out: &Path) -> Result<Exported> {
    let mut conn = app.store.conn().await?;
    let (references, person) = match subject {
        Subject::Case(reference) => {
            if cases::by_reference(&mut conn, reference).await?.is_none() {
                bail!("There is no case {reference}");
            }
            (vec![reference.to_string()], None)
        }
        Subject::Person(email) => {
            let email = email.trim().to_lowercase();
            if email.parse::<lettre::Address>().is_err() {
                bail!("{email:?} is not an email address");
            }
            (
                export::cases_of_person(&mut conn, &email).await?,
                Some(email),
            )
        }
    };

    let file = create_private(out)?;
    let mut zip = zip::ZipWriter::new(file);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let put = |zip: &mut zip::ZipWriter<std::fs::File>, name: &str, bytes: &[u8]| -> Result<()> {
        zip.start_file(name, options)?;
        zip.write_all(bytes)?;
        Ok(())
    };
    let mut done = Exported::default();
    for reference in &references {
        let case = cases::by_reference(&mut conn, reference)
            .await?
            .with_context(|| format!("Case {reference} went while exporting"))?;
        let dir = format!("cases/{}", safe(reference));
        let text = crate::casework::show::show(&mut conn, reference).await?;
        put(&mut zip, &format!("{dir}/case.txt"), text.as_bytes())?;
        put(
            &mut zip,
            &format!("{dir}/case.json"),
            serde_json::to_string_pretty(&case)?.as_bytes(),
        )?;
        for (n, m) in messages::of_case(&mut conn, case.id)
            .await?
            .iter()
            .enumerate()
        {
            let raw = messages::raw(&mut conn, m.id).await?;
            put(
                &mut zip,
                &format!("{dir}/messages/{:03}-{}.eml", n + 1, m.id),
                &raw,
            )?;
            done.messages += 1;
        }
        for (id, purpose, raw) in export::sent_mail(&mut conn, Some(case.id), None).await? {
            put(&mut zip, &format!("{dir}/sent/{id}-{purpose}.eml"), &raw)?;
            done.sent += 1;
        }
    }
    if let Some(email) = &person {
        for id in export::unfiled_of_person(&mut conn, email).await? {
            let raw = messages::raw(&mut conn, id).await?;
            put(&mut zip, &format!("unfiled/{id}.eml"), &raw)?;
            done.unfiled += 1;
        }
        for (id, purpose, raw) in export::sent_mail(&mut conn, None, Some(email)).await? {
            put(&mut zip, &format!("sent/{id}-{purpose}.eml"), &raw)?;
            done.sent += 1;
        }
    }
    done.cases = references;
    let readme = readme(app, person.as_deref(), &done);
    put(&mut zip, "README.txt", readme.as_bytes())?;
    zip.finish()?.sync_all()?;
    Ok(done)
}

fn readme(app: &App, person: Option<&str>, done: &Exported) -> String {
    let what = match person {
        Some(email) => format!(
            "Everything postroom holds that names {email}: cases where it is the \
             correspondent or the caseworker, sent a message, or appears in a message's \
             text or attachments; messages on no case from or naming it; postroom's own \
             mail to it."
        ),
        None => "Everything postroom holds about one case.".to_string(),
    };
    format!(
        "postroom export for {council}, made {at}.\n\n{what}\n\n\
         Cases: {cases} ({list})\nMessages on those cases: {messages}\n\
         Messages on no case: {unfiled}\nMail sent by postroom: {sent}\n\n\
         Messages are exactly as received (.eml, openable in any mail program). \
         Review the export before disclosure: it may name other people (third-party \
         data) that must be redacted.\n",
        council = app.config.council.name,
        at = app.clock.now().to_rfc3339(),
        cases = done.cases.len(),
        list = if done.cases.is_empty() {
            "none".to_string()
        } else {
            done.cases.join(", ")
        },
        messages = done.messages,
        unfiled = done.unfiled,
        sent = done.sent,
    )
}

/// A reference as a file name.
fn safe(reference: &str) -> String {
    reference
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Creates `path` for the owner only; refuses to overwrite.
fn create_private(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("Cannot create {} (it must not exist yet)", path.display()))
}
