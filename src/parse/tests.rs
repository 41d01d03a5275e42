//! Unit tests of parsing: hostile and damaged mail.

use super::*;

const SIMPLE: &[u8] = b"From: =?utf-8?Q?Zo=C3=AB_Hartley?= <Zoe.Hartley@Example.org>\r\n\
To: Enquiries <mp@council.example>, other@council.example\r\n\
Subject: Our ref: AB123 -\r\n \x20school transport\r\n\
Message-ID: <abc@example.org>\r\n\
In-Reply-To: <ack.1@council.example>\r\n\
References: <x@y> <ack.1@council.example>\r\n\
Date: Tue, 3 Mar 2026 10:00:00 +0000\r\n\
Received: from a by mx1.council.example; Tue, 3 Mar 2026 10:00:05 +0000\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hello\r\n";

#[test]
fn headers_are_normalised() {
    let m = parse_email(SIMPLE);
    assert_eq!(m.status, ParseStatus::Parsed);
    let from = m.from.as_ref().unwrap();
    assert_eq!(from.address, "zoe.hartley@example.org");
    assert_eq!(from.name, "Zoë Hartley");
    assert_eq!(from.domain(), "example.org");
    assert_eq!(m.to.len(), 2);
    assert_eq!(m.subject, "Our ref: AB123 - school transport");
    assert_eq!(m.message_id.as_deref(), Some("abc@example.org"));
    assert_eq!(m.in_reply_to, vec!["ack.1@council.example"]);
    assert_eq!(m.references, vec!["x@y", "ack.1@council.example"]);
    assert_eq!(m.date.unwrap().to_rfc3339(), "2026-03-03T10:00:00+00:00");
    assert_eq!(
        m.received.unwrap().to_rfc3339(),
        "2026-03-03T10:00:05+00:00"
    );
    assert_eq!(m.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(m.body.contains("Hello"));
}

#[test]
fn bare_cr_mail_is_parsed_from_a_copy() {
    let raw = SIMPLE
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect::<Vec<_>>()
        .join(&b'\r');
    let m = parse_email(&raw);
    assert_eq!(m.subject, "Our ref: AB123 - school transport");
    assert!(m.warnings.iter().any(|w| w.contains("bare CR")));
}

#[test]
fn leading_blank_line_does_not_hide_headers() {
    let mut raw = vec![b' '; 255];
    raw.extend_from_slice(b"\n");
    raw.extend_from_slice(SIMPLE);
    let m = parse_email(&raw);
    assert_eq!(m.subject, "Our ref: AB123 - school transport");
}

#[test]
fn garbage_is_unparsed_not_an_error() {
    let m = parse_email(b"\x00\x01\x02 this is not mail");
    assert_eq!(m.status, ParseStatus::Unparsed);
    assert!(m.from.is_none());
    let m = parse_email(b"");
    assert_eq!(m.status, ParseStatus::Unparsed);
}

#[test]
fn html_only_mail_gets_text() {
    let raw = b"From: a@b.example\r\nSubject: x\r\nContent-Type: text/html\r\n\r\n<p>Dear <b>Council</b>,</p><p>Please help &amp; advise.</p>";
    let m = parse_email(raw);
    assert!(m.body.contains("Dear Council"), "{:?}", m.body);
    assert!(m.body.contains("help & advise"));
    assert!(!m.body.contains("<p>"));
}

#[test]
fn message_ids_are_sanitised() {
    assert_eq!(clean_message_id("<a@b>").as_deref(), Some("a@b"));
    assert_eq!(clean_message_id("<a@b>\r\nBcc: x"), None);
    assert_eq!(clean_message_id(""), None);
}

#[test]
fn html_over_the_layout_limit_is_stripped_in_one_pass_and_still_read() {
    let raw = b"From: a@b.example\r\nSubject: x\r\nContent-Type: text/html\r\n\r\n<ul><li>Dear <b>Council</b>,</li><li>Please help &amp; advise.</li></ul>";
    let laid_out = parse_email(raw);
    let stripped = super::parse_email_within(raw, super::Limits { html_layout: 16 });
    for m in [&laid_out, &stripped] {
        assert!(m.body.contains("Dear Council"), "{:?}", m.body);
        assert!(m.body.contains("help & advise"), "{:?}", m.body);
        assert!(!m.body.contains("<li>"), "{:?}", m.body);
    }
    // The layout converter marks list items; the one-pass strip does not.
    assert_ne!(laid_out.body, stripped.body);
}
