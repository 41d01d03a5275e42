//! Tests of the rule language itself, on facts built by hand (never on the
//! evaluation corpus).

use super::*;

fn facts() -> Facts {
    Facts {
        source: Origin::Email,
        subject: "Our ref: AB/26/0042 - EHCP annual review".into(),
        body: "Dear colleague,\nThe annual review of the EHC plan is overdue.\n".into(),
        latest: "Dear colleague,\n".into(),
        own: "Dear colleague,\n".into(),
        request: String::new(),
        quoted: String::new(),
        attachments: String::new(),
        text: "Our ref: AB/26/0042 - EHCP annual review\nDear colleague,\nThe annual review of the EHC plan is overdue.\n".into(),
        from: "caseworker@office.example".into(),
        from_name: "A Caseworker".into(),
        to: "mp@council.example".into(),
        cc: String::new(),
        recipients: "mp@council.example".into(),
        reply_to: String::new(),
        attachment_names: String::new(),
        content_types: "text/plain".into(),
        headers: vec![
            ("auto-submitted".into(), "no".into()),
            ("x-mailer".into(), "Example Mail 1.0".into()),
        ],
        sender_role: SenderRole::Staff,
        auth: AuthResults {
            spf: Some("pass".into()),
            dkim: Some("pass".into()),
            dmarc: Some("pass".into()),
        },
        has_council_reference: false,
        has_mp_reference: true,
        is_reply: false,
        replies_to_postroom: false,
        has_attachments: false,
        mentions_mp: false,
        event_within_days: None,
    }
}

fn load(text: &str) -> Rules {
    Rules::from_sources(&[("test.toml".into(), text.into())]).unwrap_or_else(|e| panic!("{e}"))
}

fn errors(text: &str) -> Vec<RuleError> {
    Rules::from_sources(&[("test.toml".into(), text.into())])
        .map(|_| panic!("expected errors"))
        .unwrap_err()
        .0
}

#[test]
fn phrases_match_on_word_boundaries_and_any_space() {
    let rules = load(
        r#"
[[rule]]
name = "ehc"
when.text.any = ["EHC   plan"]
then.category = "send"

[[rule]]
name = "partial-word"
when.text.any = ["view"]
then.tags = ["never"]
"#,
    );
    let tally = rules.evaluate(&facts());
    assert_eq!(tally.category.winner(), Some(Category::Send));
    assert!(
        tally.tags.is_empty(),
        "\"view\" must not match inside \"review\""
    );
}

#[test]
fn all_any_not_combine() {
    let rules = load(
        r#"
[[rule]]
name = "combo"
when.all = [ { subject.any = ["annual review"] }, { sender_role = ["mp", "staff"] } ]
when.any = [ { body.regex = 'overdue\.$' }, { body.any = ["late"] } ]
when.not = { header."Auto-Submitted".regex = "^auto-" }
then.send_topic = "annual_review"

[[rule]]
name = "negated"
when.not.sender_role = "staff"
then.tags = ["not-staff"]
"#,
    );
    let tally = rules.evaluate(&facts());
    assert_eq!(tally.send_topic.winner(), Some(SendTopic::AnnualReview));
    assert_eq!(tally.matched, vec![0]);
}

#[test]
fn highest_priority_then_heaviest_then_latest_wins() {
    let rules = load(
        r#"
[[rule]]
name = "a"
weight = 2
when.text.any = ["EHCP"]
then.category = "send"

[[rule]]
name = "b"
when.text.any = ["review"]
then.category = "planning"

[[rule]]
name = "c"
when.text.any = ["plan"]
then.category = "planning"

[[rule]]
name = "d"
when.text.any = ["colleague"]
then.category = "housing"
"#,
    );
    // send 2, planning 2 (b + c): a tie goes to the value voted last (c).
    assert_eq!(
        rules.evaluate(&facts()).category.winner(),
        Some(Category::Planning)
    );

    let rules = load(
        r#"
[[rule]]
name = "heavy"
weight = 10
when.text.any = ["EHCP"]
then.category = "send"

[[rule]]
name = "priority"
priority = 5
when.text.any = ["colleague"]
then.category = "housing"
"#,
    );
    assert_eq!(
        rules.evaluate(&facts()).category.winner(),
        Some(Category::Housing)
    );
}

#[test]
fn min_counts_distinct_phrases() {
    let rules = load(
        r#"
[[rule]]
name = "two-of"
when.text = { any = ["EHCP", "annual review", "tribunal"], min = 2 }
then.urgent = true

[[rule]]
name = "three-of"
when.text = { any = ["EHCP", "annual review", "tribunal"], min = 3 }
then.tags = ["three"]
"#,
    );
    let tally = rules.evaluate(&facts());
    assert_eq!(tally.urgent.winner(), Some(true));
    assert!(tally.tags.is_empty());
}

#[test]
fn conditions_on_decided_fields_see_earlier_rules() {
    let rules = load(
        r#"
[[rule]]
name = "kind"
when.has_mp_reference = true
then.kind = "new_enquiry"

[[rule]]
name = "needs-kind"
when.kind = "new_enquiry"
then.tags = ["seen-kind"]

[[rule]]
name = "needs-category"
when.category = "send"
then.tags = ["never"]
"#,
    );
    let tally = rules.evaluate(&facts());
    assert_eq!(tally.tags, vec!["seen-kind".to_string()]);
}

#[test]
fn absent_headers_read_as_empty() {
    let rules = load(
        r#"
[[rule]]
name = "no-list-id"
when.header.List-Id.exists = false
then.tags = ["not-bulk"]

[[rule]]
name = "list-id"
when.header.List-Id.exists = true
then.tags = ["bulk"]

[[rule]]
name = "auth"
when.auth.dmarc = ["pass"]
when.auth.spf = "pass"
then.tags = ["authenticated"]
"#,
    );
    assert_eq!(
        rules.evaluate(&facts()).tags,
        vec!["not-bulk", "authenticated"]
    );
}

#[test]
fn extractors_take_the_named_group_and_skip_rejected_values() {
    let rules = load(
        r#"
[[extract]]
name = "our-ref"
field = "mp_reference"
in = "subject"
pattern = 'our\s+ref:?\s*(?P<value>[A-Z]{1,3}/\d{2}/\d{4})'
reject = '^XX'
"#,
    );
    let (value, extractor) = rules
        .extract(ExtractField::MpReference, &facts(), &|_| true)
        .unwrap();
    assert_eq!(value, "AB/26/0042");
    assert_eq!(extractor.name, "our-ref");
}

#[test]
fn every_error_is_reported_with_file_line_and_rule() {
    let errs = errors(
        r#"
[[rule]]
name = "bad-regex"
when.subject.regex = "(unclosed"
then.kind = "new_enquiry"

[[rule]]
name = "bad-kind"
when.subject.any = ["x"]
then.kind = "spam"

[[rule]]
name = "bad-kind"
when.subject.any = ["x"]
then.tags = ["dup"]

[[rule]]
name = "does-nothing"
when.subject.any = ["x"]
"#,
    );
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(errs.len(), 4, "{text:#?}");
    assert_eq!(errs[0].line, 2);
    assert!(
        text[0].starts_with("test.toml:2: rule \"bad-regex\": when.subject.regex:"),
        "{}",
        text[0]
    );
    assert_eq!(errs[1].line, 7);
    assert!(
        text[1].contains("\"spam\" is not one of new_enquiry"),
        "{}",
        text[1]
    );
    assert_eq!(errs[2].line, 12);
    assert!(
        text[2].contains("already used by the rule at test.toml:7"),
        "{}",
        text[2]
    );
    assert_eq!(errs[3].line, 17);
    assert!(text[3].contains("`then` sets nothing"));
}

#[test]
fn unknown_keys_and_syntax_errors_name_the_line() {
    let errs = errors("[[rule]]\nname = \"x\"\nwhen.subjekt.any = [\"y\"]\nthen.kind = \"junk\"\n");
    assert_eq!(errs.len(), 1);
    assert!(errs[0].message.contains("subjekt"), "{}", errs[0]);
    assert_eq!(errs[0].line, 3, "{}", errs[0]);

    let errs = errors("[[rule]\nname = \"x\"\n");
    assert_eq!(errs[0].line, 1, "{}", errs[0]);
}

#[test]
fn an_extractor_without_a_value_group_is_refused() {
    let errs = errors(
        "[[extract]]\nname = \"e\"\nfield = \"mp_reference\"\nin = \"subject\"\npattern = 'ref (\\w+)'\n",
    );
    assert!(errs[0].message.contains("value"), "{}", errs[0]);
}

#[test]
fn disabled_rules_are_checked_but_not_run() {
    let rules = load(
        r#"
[[rule]]
name = "off"
enabled = false
when.subject.any = ["EHCP"]
then.kind = "junk"
"#,
    );
    assert!(rules.rules.is_empty());
    assert!(errors("[[rule]]\nname = \"off\"\nenabled = false\nwhen.subject.regex = \"(\"\nthen.kind = \"junk\"\n").len() == 1);
}
