//! Synthetic mail for the tests and benchmarks: never real people.

/// `n` distinct messages made from the sample mailbox's ordinary ones (not
/// the unreadable one, the bounce or the spoof): each has its own
/// Message-ID and subject, and the MP enquiries among them stay MP
/// enquiries.
pub fn synthetic_messages(n: usize) -> Vec<Vec<u8>> {
    let templates: Vec<&[u8]> = postroom::cli::demo::SAMPLE_MAILBOX
        .iter()
        .filter(|(name, _)| {
            ["01-", "02-", "03-", "04-", "09-", "11-", "13-"]
                .iter()
                .any(|p| name.starts_with(p))
        })
        .map(|(_, b)| *b)
        .collect();
    (0..n)
        .map(|i| {
            let t = String::from_utf8_lossy(templates[i % templates.len()]).into_owned();
            let mut out = String::with_capacity(t.len() + 64);
            for line in t.split_inclusive("\r\n") {
                if line.to_ascii_lowercase().starts_with("message-id:") {
                    out.push_str(&format!(
                        "Message-ID: <synthetic-{i}-{}@test.invalid>\r\n",
                        i * 7919
                    ));
                } else if line.starts_with("Subject: ") {
                    out.push_str(&format!("{} (n{i})\r\n", line.trim_end()));
                } else {
                    out.push_str(line);
                }
            }
            out.into_bytes()
        })
        .collect()
}
