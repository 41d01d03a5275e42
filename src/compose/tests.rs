//! Unit tests of the templates and of the mail they make.

use super::*;

#[test]
fn the_built_in_templates_render() {
    let t = Templates::embedded().unwrap_or_else(|e| panic!("{e}"));
    let r = t.render("acknowledgement", &sample_context()).unwrap();
    assert!(r.subject.contains("MPE-2026-00001"), "{}", r.subject);
    assert!(r.text.contains("Tuesday 17 March 2026"));
    assert!(r.html.contains("MPE-2026-00001"));
}

#[test]
fn an_acknowledgement_greets_the_office_signs_off_and_keeps_references_whole() {
    let t = Templates::embedded().unwrap_or_else(|e| panic!("{e}"));
    let r = t.render("acknowledgement", &sample_context()).unwrap();
    assert!(r.text.starts_with("Dear Ann Example MP,\n"), "{}", r.text);
    assert!(
        r.text.contains("Yours sincerely,\n\nMP enquiries team\n"),
        "{}",
        r.text
    );
    assert!(r.html.contains("<p>Dear Ann Example MP,</p>"), "{}", r.html);
    assert!(r.html.contains("Yours sincerely,"), "{}", r.html);
    // A reference is one unbreakable run in HTML mail.
    assert!(
        r.html
            .contains("<strong style=\"white-space: nowrap;\">MPE-2026-00001</strong>"),
        "{}",
        r.html
    );
}

#[test]
fn an_acknowledgement_never_promises_a_date_already_gone() {
    let t = Templates::embedded().unwrap_or_else(|e| panic!("{e}"));
    let mut ctx = sample_context();
    ctx.case.response_overdue = true;
    let r = t.render("acknowledgement", &ctx).unwrap();
    assert!(
        r.text
            .contains("was due on Tuesday 17 March 2026 and is late"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("We aim to send"), "{}", r.text);
    ctx.case.response_overdue = false;
    ctx.case.answered = Some("Monday 16 March 2026".into());
    let r = t.render("acknowledgement", &ctx).unwrap();
    assert!(
        r.text
            .contains("We replied to this enquiry on Monday 16 March 2026."),
        "{}",
        r.text
    );
    assert!(
        r.html.contains("We replied to this enquiry on"),
        "{}",
        r.html
    );
}

#[test]
fn a_reminder_subject_counts_cases_not_deadlines() {
    // Two deadlines of one case (its reply, overdue, and another clock)
    // in one reminder: one enquiry needs a reply.
    let t = Templates::embedded().unwrap_or_else(|e| panic!("{e}"));
    let r = t.render("reminder", &sample_for("reminder")).unwrap();
    assert_eq!(
        r.subject,
        "Overdue: 1 MP enquiry needs a reply (MPE-2026-00001, due in 2 working days)"
    );
}

#[test]
fn template_errors_name_file_and_line() {
    let files = vec![
        (
            "acknowledgement.subject.j2".to_string(),
            "Ref {{ case.reference }}".to_string(),
        ),
        (
            "acknowledgement.txt.j2".to_string(),
            "line one\n{{ case.nonexistent }}\n".to_string(),
        ),
        (
            "acknowledgement.html.j2".to_string(),
            "<p>\n\n{% if %}</p>".to_string(),
        ),
    ];
    let errors = Templates::from_files("templates", files).unwrap_err().0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].file, "templates/acknowledgement.html.j2");
    assert_eq!(errors[0].line, 3);
    let files = vec![
        (
            "acknowledgement.subject.j2".to_string(),
            "Ref {{ case.reference }}".to_string(),
        ),
        (
            "acknowledgement.txt.j2".to_string(),
            "line one\n{{ case.nonexistent }}\n".to_string(),
        ),
        ("acknowledgement.html.j2".to_string(), "<p></p>".to_string()),
    ];
    let errors = Templates::from_files("templates", files).unwrap_err().0;
    assert_eq!(errors[0].file, "templates/acknowledgement.txt.j2");
    assert_eq!(errors[0].line, 2, "{}", errors[0]);
    assert!(errors[0].message.contains("undefined"), "{}", errors[0]);
}

#[test]
fn html_is_escaped_and_headers_are_clean() {
    let t = Templates::embedded().unwrap();
    let mut ctx = sample_context();
    ctx.case.subject = "<script>x</script>\r\nBcc: victim@example.org".into();
    let r = t.render("acknowledgement", &ctx).unwrap();
    assert!(!r.html.contains("<script>"));
    let from: Mailbox = "Council MP enquiries <mp@council.example>".parse().unwrap();
    let refs = vec![
        "a@b".to_string(),
        "evil@x>\r\nBcc: v@example.org".to_string(),
    ];
    let raw = build(&Outgoing {
        from: &from,
        to: "office@parliament.example",
        rendered: &Rendered {
            subject: clean_header_text(&format!("Re: {}", ctx.case.subject)),
            text: r.text.clone(),
            html: r.html.clone(),
        },
        message_id: "postroom.ack.mpe-2026-00001.00@council.example",
        in_reply_to: Some("a@b"),
        references: &refs,
        auto_submitted: "auto-replied",
        case_reference: Some("MPE-2026-00001"),
        date: "2026-11-02T09:00:00Z".parse().unwrap(),
    })
    .unwrap();
    let text = String::from_utf8_lossy(&raw);
    let headers = text.split("\r\n\r\n").next().unwrap();
    assert!(!headers.contains("\r\nBcc:"), "{headers}");
    assert!(text.contains("Auto-Submitted: auto-replied\r\n"));
    assert!(text.contains("In-Reply-To: <a@b>\r\n"));
    assert!(text.contains("References: <a@b>\r\n"));
    assert!(text.contains("Message-ID: <postroom.ack.mpe-2026-00001.00@council.example>"));
}

#[test]
fn reply_prefixes_come_off() {
    assert_eq!(
        base_subject("RE: Fwd: re: Housing repair"),
        "Housing repair"
    );
    assert_eq!(base_subject("Reply needed"), "Reply needed");
}

#[test]
fn a_notice_says_whom_to_reply_to() {
    let t = Templates::embedded().unwrap_or_else(|e| panic!("{e}"));
    let mut ctx = sample_context();
    let r = t.render("assigned", &ctx).unwrap();
    assert!(r.text.contains("Reply to the MP office"), "{}", r.text);
    assert!(r.html.contains("Reply to the MP office"), "{}", r.html);
    // A parent's own email: there is no MP office to reply to.
    ctx.case.from_mp_office = false;
    ctx.case.mp_name = None;
    let r = t.render("assigned", &ctx).unwrap();
    for body in [&r.text, &r.html] {
        assert!(!body.contains("Reply to the MP office"), "{body}");
        assert!(
            body.contains("straight from a member of the public"),
            "{body}"
        );
    }
}

#[test]
fn a_summary_leaves_out_the_greeting_and_ends_at_a_word() {
    let text = "Dear Sir or Madam,\n\nMy constituent's son has had no school transport since\nhalf term, and the family cannot get him to school.";
    assert_eq!(
        summary(text, 300).unwrap(),
        "My constituent's son has had no school transport since half term, and the family cannot get him to school."
    );
    assert_eq!(
        summary(text, 50).unwrap(),
        "My constituent's son has had no school transport…"
    );
    assert_eq!(summary("  \n ", 50), None);
}

#[test]
fn a_notice_shows_the_start_of_the_enquiry_when_given() {
    let t = Templates::embedded().unwrap_or_else(|e| panic!("{e}"));
    let mut ctx = sample_context();
    let r = t.render("assigned", &ctx).unwrap();
    assert!(!r.text.contains("The enquiry begins"), "{}", r.text);
    ctx.case.summary = Some("Repairs to a <b>damp</b> flat".into());
    for mail in ["assigned", "urgent"] {
        let r = t.render(mail, &ctx).unwrap();
        assert!(
            r.text
                .contains("The enquiry begins: Repairs to a <b>damp</b> flat"),
            "{}",
            r.text
        );
        assert!(
            r.html
                .contains("Repairs to a &lt;b&gt;damp&lt;&#x2f;b&gt; flat"),
            "{}",
            r.html
        );
    }
}
