//! Rules in a running app: reloaded without a restart (a broken set is
//! refused and the old one stays), and cases shared out among teams.

use std::path::Path;

use postroom::ingest::Outcome;
use postroom::store::cases;

use crate::harness::{Backend, Delivery, TestApp};

const ENQUIRY: &[u8] = include_bytes!("../../examples/mailbox/03-housing-damp.eml");

fn copy_default_rules(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for (name, text) in postroom::app::EMBEDDED_RULES {
        std::fs::write(to.join(Path::new(name).file_name().unwrap()), text).unwrap();
    }
}

/// A second app on the test app's store whose config points `paths.KEY`
/// at the folder `KEY` beside it (so that reloads read that folder).
fn app_with_own(t: &TestApp, key: &str) -> postroom::app::App {
    let file = t.dir.path().join("postroom.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("[paths]\n", &format!("[paths]\n{key} = \"{key}\"\n")),
    )
    .unwrap();
    let config = postroom::config::Config::load(&file).unwrap();
    postroom::app::App::new(
        postroom::app::Prepared::new(config).unwrap(),
        t.app.store.clone(),
        t.clock.clone(),
    )
}

#[tokio::test]
async fn new_rules_are_picked_up_and_broken_ones_refused() {
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Folder, "").await;
    let dir = t.dir.path().join("rules");
    copy_default_rules(&dir);
    // The app reads the rules folder of its config; point a second app at
    // this one by reloading through a config that names it.
    let app = app_with_own(&t, "rules");
    let message = postroom::parse::parse_email(ENQUIRY);
    assert_eq!(
        app.classifier().classify(&message).category,
        Some(postroom::case::Category::Housing)
    );

    // A broken file: refused, the rules in force stay.
    std::fs::write(
        dir.join("50-local.toml"),
        "[[rule]]\nname = \"broken\"\nwhen.subject.regex = \"(\"\nthen.category = \"planning\"\n",
    )
    .unwrap();
    let problems = app.reload().unwrap_err();
    assert!(
        problems
            .to_string()
            .contains("50-local.toml:1: rule \"broken\""),
        "{problems}"
    );
    assert_eq!(
        app.classifier().classify(&message).category,
        Some(postroom::case::Category::Housing)
    );

    // A good one: in force at once.
    std::fs::write(
        dir.join("50-local.toml"),
        "[[rule]]\nname = \"mould-is-environmental-health\"\npriority = 10\nwhen.text.any = [\"black mould\"]\nthen.category = \"other\"\n",
    )
    .unwrap();
    app.reload().unwrap();
    let decision = app.classifier().classify(&message);
    assert_eq!(decision.category, Some(postroom::case::Category::Other));
    assert!(
        decision
            .matched_rules
            .contains(&"mould-is-environmental-health".to_string())
    );
}

const TEAMS: &str = r#"
[[team]]
name = "send"
categories = ["send"]
manager = "send.manager@wexcombe.gov.uk"
members = ["ann@wexcombe.gov.uk", "ben@wexcombe.gov.uk"]
assign = "round_robin"

[[team]]
name = "general"
default = true
members = ["cal@wexcombe.gov.uk", "dee@wexcombe.gov.uk"]
assign = "caseload"
"#;

#[tokio::test]
async fn new_cases_are_shared_out_by_team() {
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Folder, TEAMS).await;
    t.deliver_sample_mailbox();

    let (outcomes, _) = t.run_once().await;

    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Opened { .. }))
            .count(),
        8
    );
    let all = t.cases().await;
    let send: Vec<&str> = all
        .iter()
        .filter(|c| c.category.map(|c| c.as_str()) == Some("send"))
        .map(|c| c.assignee.as_deref().unwrap())
        .collect();
    let (ann, ben) = ("ann@wexcombe.gov.uk", "ben@wexcombe.gov.uk");
    assert_eq!(send, [ann, ben, ann, ben, ann], "in turn");
    let general: Vec<&cases::CaseRow> = all
        .iter()
        .filter(|c| c.team.as_deref() == Some("general"))
        .collect();
    assert!(general.len() >= 3);
    let cal = general
        .iter()
        .filter(|c| c.assignee.as_deref() == Some("cal@wexcombe.gov.uk"))
        .count();
    let dee = general
        .iter()
        .filter(|c| c.assignee.as_deref() == Some("dee@wexcombe.gov.uk"))
        .count();
    assert!(
        cal.abs_diff(dee) <= 1,
        "the fewest open cases first: {cal} and {dee}"
    );
    let mut conn = t.app.store.conn().await.unwrap();
    let events = cases::events(&mut conn, all[0].id).await.unwrap();
    let assigned = events
        .iter()
        .find(|e| e.kind == "assigned")
        .expect("an assigned event");
    assert!(
        assigned.detail.contains("round_robin"),
        "{}",
        assigned.detail
    );
}

#[tokio::test]
async fn a_team_config_with_mistakes_is_refused_with_lines() {
    let errors = postroom::config::Config::parse(
        "postroom.toml",
        "[council]\nname = \"X\"\nmailbox = \"mp@x.example\"\n\n[[team]]\nname = \"a\"\ncategories = [\"send\", \"potholes\"]\nassign = \"lottery\"\nmembers = [\"not an address\"]\n\n[[team]]\nname = \"b\"\ncategories = [\"send\"]\n",
        Path::new("/etc/postroom"),
    )
    .unwrap_err()
    .to_string();
    for expected in [
        "\"potholes\" is not one of",
        "\"lottery\" is not one of",
        "\"not an address\" is not an email address",
        "\"send\" is already the team \"a\"'s",
    ] {
        assert!(errors.contains(expected), "{expected}: {errors}");
    }
}

#[tokio::test]
async fn a_schedule_config_with_mistakes_is_refused_with_lines() {
    let errors = postroom::config::Config::parse(
        "postroom.toml",
        "[council]\nname = \"X\"\nmailbox = \"mp@x.example\"\n\n\
         [reminders]\nhours = \"09:00-17:00\"\n\n\
         [[reminders.overdue]]\nafter = 1\nto = [\"the boss\"]\n\n\
         [digests]\ndaily = \"07:30\"\nweekly = \"someday 10:00\"\n\n\
         [[policy.milestone]]\nname = \"m\"\nweeks = 6\nsend_topics = [\"potholes\"]\n",
        Path::new("/etc/postroom"),
    )
    .unwrap_err()
    .to_string();
    for expected in [
        "postroom.toml:13: digests.daily 07:30 is outside the working hours",
        "postroom.toml:14: digests.weekly \"someday 10:00\" is not a day and time",
        "postroom.toml:8: \"the boss\" is not caseworker, manager or an email address",
        "\"potholes\"",
    ] {
        assert!(errors.contains(expected), "{expected}: {errors}");
    }
}

/// SIGHUP's reload takes the templates too: a broken one is refused with
/// its file and line and the old ones stay; a good one is used at once.
#[tokio::test]
async fn new_templates_are_picked_up_and_broken_ones_refused() {
    let t = TestApp::with_extra(Backend::Sqlite, Delivery::Folder, "").await;
    let dir = t.dir.path().join("templates");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in postroom::compose::EMBEDDED {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let app = app_with_own(&t, "templates");
    let subject_of_ack = |n: usize| {
        let files = crate::harness::files_with_ext(&t.outbox(), "eml");
        assert_eq!(files.len(), n, "{files:?}");
        let mut texts: Vec<String> = files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        texts.sort();
        texts
            .iter()
            .filter_map(|t| t.lines().find_map(|l| l.strip_prefix("Subject: ")))
            .map(String::from)
            .collect::<Vec<_>>()
    };

    // A broken template: refused with its file and line; the old ones stay.
    std::fs::write(
        dir.join("acknowledgement.subject.j2"),
        "Your enquiry {{ case.reference ",
    )
    .unwrap();
    let problems = app.reload().unwrap_err().to_string();
    assert!(
        problems.contains("acknowledgement.subject.j2:1"),
        "{problems}"
    );
    t.deliver("first.eml", ENQUIRY);
    postroom::daemon::run_once(&app).await.unwrap();
    let before = subject_of_ack(1);
    assert!(
        before.iter().all(|s| !s.contains("[reloaded]")),
        "{before:?}"
    );

    // A good one: in force at once.
    std::fs::write(
        dir.join("acknowledgement.subject.j2"),
        "Your enquiry {{ case.reference }} [reloaded]",
    )
    .unwrap();
    app.reload().unwrap();
    // Another enquiry (from another office, so it opens its own case).
    t.deliver("second.eml", postroom::cli::demo::SAMPLE_MAILBOX[0].1);
    postroom::daemon::run_once(&app).await.unwrap();
    let after = subject_of_ack(2);
    assert_eq!(
        after.iter().filter(|s| s.contains("[reloaded]")).count(),
        1,
        "{after:?}"
    );
}
