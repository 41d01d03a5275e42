//! Unit tests of the config: defaults, refusals with file and line.

use std::path::Path;

use super::*;

const MINIMAL: &str =
    "[council]\nname = \"Exampleshire Council\"\nmailbox = \"mpenquiries@exampleshire.gov.uk\"\n";

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    Config::parse("postroom.toml", text, Path::new("/etc/postroom"))
}

#[test]
fn a_minimal_config_gets_the_documented_defaults() {
    let c = parse(&format!(
        "{MINIMAL}[delivery]\ntransport = \"file\"\npath = \"out\"\n"
    ))
    .unwrap();
    assert_eq!(c.council.domains, vec!["exampleshire.gov.uk"]);
    assert_eq!(c.council.reference_prefix, "MPE");
    assert_eq!(c.council.message_id_domain, "exampleshire.gov.uk");
    assert_eq!(c.policy.respond_days, 10);
    assert_eq!(c.policy.urgent_respond_days, 2);
    assert!(
        matches!(&c.delivery.transport, Transport::File(p) if p == Path::new("/etc/postroom/out"))
    );
    use secrecy::ExposeSecret;
    assert_eq!(
        c.database.url.expose_secret(),
        "sqlite:///etc/postroom/postroom.sqlite"
    );
}

#[test]
fn every_error_is_reported_with_its_line() {
    let text = format!(
        "{MINIMAL}cutoff = \"5pm\"\n\n[database]\nurl = \"postgres://app:hunter2@db/postroom\"\n\n[[source]]\nname = \"in\"\nkind = \"pop3\"\npath = \"x\"\n\n[smtp]\nhost = \"smtp.example.org\"\ntls = \"none\"\npassword = \"hunter2\"\n"
    );
    let errors = parse(&text).unwrap_err().0;
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 5, "{text:#?}");
    assert!(
        text[0].starts_with("postroom.toml:4: council.cutoff"),
        "{}",
        text[0]
    );
    assert!(
        text[1].starts_with("postroom.toml:7: database.url holds a password"),
        "{}",
        text[1]
    );
    assert!(text[2].contains("pop3"), "{}", text[2]);
    assert!(
        text.iter()
            .any(|t| t.contains("smtp.password: secrets are not read"))
    );
    assert!(text.iter().any(|t| t.contains("clear text")));
    assert!(
        !text.iter().any(|t| t.contains("hunter2")),
        "errors must not echo secrets"
    );
}

#[test]
fn an_endpoint_off_loopback_and_a_bad_retention_period_are_refused_with_their_lines() {
    let lines_before = MINIMAL.lines().count();
    let text = format!(
        "{MINIMAL}\n[http]\nlisten = \"0.0.0.0:9187\"\n\n[retention]\nclosed_cases = \"6 fortnights\"\nat = \"25:00\"\n"
    );
    let errors: Vec<String> = parse(&text)
        .unwrap_err()
        .0
        .iter()
        .map(|e| e.to_string())
        .collect();
    let at = |n: usize, what: &str| {
        errors.iter().any(|e| {
            e.starts_with(&format!("postroom.toml:{}:", lines_before + n)) && e.contains(what)
        })
    };
    assert!(at(3, "not a loopback address"), "{errors:#?}");
    assert!(at(6, "retention.closed_cases"), "{errors:#?}");
    assert!(at(7, "retention.at"), "{errors:#?}");

    let text = format!(
        "{MINIMAL}\n[http]\nlisten = \"127.0.0.1:9187\"\n\n[retention]\nclosed_cases = \"never\"\nsent_mail = \"90 days\"\n\n\
             [delivery]\ntransport = \"file\"\npath = \"out\"\n"
    );
    let config = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.http, Some("127.0.0.1:9187".parse().unwrap()));
    assert_eq!(config.retention.closed_cases, Keep::Forever);
    assert_eq!(config.retention.sent_mail, Keep::Days(90));
    assert_eq!(config.retention.unfiled_messages, Keep::Months(12));
}

#[test]
fn imap_and_oauth_mistakes_are_refused_with_their_lines() {
    let text = format!(
        "{MINIMAL}\n[[source]]\nname = \"mailbox\"\nkind = \"imap\"\nhost = \"outlook.office365.com\"\ntls = \"none\"\n\
             username = \"mp@exampleshire.gov.uk\"\nauth = \"oauth2\"\n\n[daemon]\nadmin = \"not an address\"\n\n\
             [delivery]\ntransport = \"file\"\npath = \"out\"\n"
    );
    let errors = parse(&text).unwrap_err().0;
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        text.iter()
            .any(|e| e.starts_with("postroom.toml:5:") && e.contains("clear text")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|e| e.starts_with("postroom.toml:5:") && e.contains("[oauth]")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|e| e.starts_with("postroom.toml:14:") && e.contains("daemon.admin")),
        "{text:#?}"
    );

    let text = format!(
        "{MINIMAL}\n[oauth]\nflow = \"client_credentials\"\ntoken_url = \"http://login.example.org/token\"\n\
             client_id = \"abc\"\nclient_secret = \"hunter2\"\n\n[delivery]\ntransport = \"file\"\npath = \"out\"\n"
    );
    let errors = parse(&text).unwrap_err().0;
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        text.iter().any(|e| e.contains("must be https")),
        "{text:#?}"
    );
    assert!(
        text.iter().any(|e| e.contains("client_secret_env")),
        "{text:#?}"
    );
    assert!(text.iter().all(|e| !e.contains("hunter2")), "{text:#?}");
    assert!(
        text.iter().all(|e| e.starts_with("postroom.toml:5:")),
        "{text:#?}"
    );
}

#[test]
fn a_microsoft_365_mailbox_needs_only_the_tenant_and_client() {
    // SAFETY: a name no other test uses.
    unsafe { std::env::set_var("POSTROOM_UNIT_M365_SECRET", "s") };
    let c = parse(&format!(
            "{MINIMAL}\n[[source]]\nname = \"mailbox\"\nkind = \"imap\"\nhost = \"outlook.office365.com\"\n\
             username = \"mp@exampleshire.gov.uk\"\nauth = \"oauth2\"\n\n[oauth]\nflow = \"client_credentials\"\n\
             tenant = \"exampleshire.onmicrosoft.com\"\nclient_id = \"abc\"\nclient_secret_env = \"POSTROOM_UNIT_M365_SECRET\"\n\n\
             [delivery]\ntransport = \"file\"\npath = \"out\"\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let oauth = c.oauth.unwrap();
    assert_eq!(
        oauth.token_url,
        "https://login.microsoftonline.com/exampleshire.onmicrosoft.com/oauth2/v2.0/token"
    );
    assert_eq!(oauth.scope, "https://outlook.office365.com/.default");
    let imap = c.sources[0].imap.as_ref().unwrap();
    assert_eq!(imap.port, 993);
    assert_eq!(imap.tls, Tls::Implicit);
    assert_eq!(c.stall_alert, Duration::from_secs(15 * 60));
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let errors = parse(&format!("{MINIMAL}\n[polcy]\nrespond_days = 5\n"))
        .unwrap_err()
        .0;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 5, "{}", errors[0]);
    assert!(errors[0].message.contains("polcy"));
}

#[test]
fn secrets_come_from_the_environment() {
    // SAFETY: this test is the only one that touches this variable.
    unsafe { std::env::set_var("POSTROOM_TEST_SMTP_PW", "s3cret") };
    let c = parse(&format!(
            "{MINIMAL}[smtp]\nhost = \"127.0.0.1\"\nport = 2525\ntls = \"none\"\nusername = \"u\"\npassword_env = \"POSTROOM_TEST_SMTP_PW\"\n"
        ))
        .unwrap();
    let Transport::Smtp(smtp) = &c.delivery.transport else {
        panic!()
    };
    use secrecy::ExposeSecret;
    assert_eq!(smtp.password.as_ref().unwrap().expose_secret(), "s3cret");
    assert!(!format!("{smtp:?}").contains("s3cret"));
    let missing = parse(&format!("{MINIMAL}[smtp]\nhost = \"h.example\"\nusername = \"u\"\npassword_env = \"POSTROOM_TEST_UNSET_VAR\"\n")).unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("POSTROOM_TEST_UNSET_VAR is not set")
    );
}

#[test]
fn the_html_layout_limit_is_configured_in_kb_and_zero_is_refused_with_its_line() {
    let delivery = "[delivery]\ntransport = \"file\"\npath = \"out\"\n";
    let c = parse(&format!("{MINIMAL}{delivery}")).unwrap();
    assert_eq!(c.extract.html_layout, crate::parse::HTML_LAYOUT_LIMIT);
    let c = parse(&format!(
        "{MINIMAL}{delivery}\n[extract]\nhtml_layout_kb = 256\n"
    ))
    .unwrap();
    assert_eq!(c.extract.html_layout, 256 << 10);
    let errors = parse(&format!(
        "{MINIMAL}{delivery}\n[extract]\nhtml_layout_kb = 0\n"
    ))
    .unwrap_err()
    .0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 9, "{}", errors[0]);
    assert!(
        errors[0].to_string().contains("html_layout_kb"),
        "{}",
        errors[0]
    );
}

#[test]
fn the_workspace_table_is_checked_with_its_lines() {
    let lines_before = MINIMAL.lines().count();
    let text = format!(
        "{MINIMAL}\n[web]\nlisten = \"127.0.0.1:8080\"\npublic_url = \"http://postroom.example.gov.uk\"\nidle_timeout = \"soon\"\nmanagers = [\"not an address\"]\n"
    );
    let errors: Vec<String> = parse(&text)
        .unwrap_err()
        .0
        .iter()
        .map(|e| e.to_string())
        .collect();
    let at = |n: usize, what: &str| {
        errors.iter().any(|e| {
            e.starts_with(&format!("postroom.toml:{}:", lines_before + n)) && e.contains(what)
        })
    };
    assert!(at(4, "opened over https"), "{errors:#?}");
    assert!(at(5, "web.idle_timeout"), "{errors:#?}");
    assert!(at(6, "not an email address"), "{errors:#?}");

    // Off this machine, only an identity provider lets anyone in.
    let text = format!("{MINIMAL}\n[web]\nlisten = \"0.0.0.0:8080\"\n");
    let errors = parse(&text).unwrap_err().to_string();
    assert!(errors.contains("web.public_url is missing"), "{errors}");
    let text = format!(
        "{MINIMAL}\n[web]\nlisten = \"0.0.0.0:8080\"\npublic_url = \"https://postroom.example.gov.uk/\"\n"
    );
    let errors = parse(&text).unwrap_err().to_string();
    assert!(errors.contains("names no identity provider"), "{errors}");

    let text = format!(
        "{MINIMAL}\n[daemon]\nadmin = \"it@example.gov.uk\"\n[delivery]\ntransport = \"file\"\npath = \"out\"\n[web]\nlisten = \"127.0.0.1:8080\"\nmanagers = [\"Head@example.gov.uk\"]\n\n\
         [[team]]\nname = \"SEND\"\ncategories = [\"send\"]\nmanager = \"lead@example.gov.uk\"\nmembers = [\"a@example.gov.uk\"]\n"
    );
    let config = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let web = config.web.as_ref().unwrap();
    assert_eq!(web.public_url, "http://127.0.0.1:8080");
    assert!(web.local_sign_in && !web.secure);
    assert_eq!(web.idle_timeout, std::time::Duration::from_secs(1800));
    let role = |e: &str| config.web_role(e).map(|(r, t)| (r, t.join(",")));
    use super::WebRole::*;
    assert_eq!(role("head@example.gov.uk"), Some((Manager, String::new())));
    assert_eq!(role("lead@example.gov.uk"), Some((TeamLead, "SEND".into())));
    assert_eq!(role("A@example.gov.uk"), Some((Caseworker, "SEND".into())));
    assert_eq!(role("stranger@example.gov.uk"), None);
    assert_eq!(role("it@example.gov.uk").map(|r| r.0), Some(Admin));
}

#[test]
fn sign_in_with_an_identity_provider_is_checked_with_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let lines_before = MINIMAL.lines().count();
    let text = format!(
        "{MINIMAL}\n[web]\nlisten = \"0.0.0.0:8080\"\npublic_url = \"https://postroom.example.gov.uk\"\n\n\
         [web.oidc]\nissuer = \"http://login.example.com/tenant/v2.0\"\nclient_id = \"\"\nclient_secret_file = \"missing-secret\"\n"
    );
    let errors: Vec<String> = Config::parse("postroom.toml", &text, dir.path())
        .unwrap_err()
        .0
        .iter()
        .map(|e| e.to_string())
        .collect();
    let at = |n: usize, what: &str| {
        errors.iter().any(|e| {
            e.starts_with(&format!("postroom.toml:{}:", lines_before + n)) && e.contains(what)
        })
    };
    assert!(at(7, "is not an https address"), "{errors:#?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("web.oidc.client_id is empty")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("web.oidc.client_secret: cannot read")),
        "{errors:#?}"
    );

    std::fs::write(dir.path().join("secret"), "s3cret\n").unwrap();
    let text = format!(
        "{MINIMAL}\n[delivery]\ntransport = \"file\"\npath = \"out\"\n[web]\nlisten = \"0.0.0.0:8080\"\npublic_url = \"https://postroom.example.gov.uk\"\n\n\
         [web.oidc]\nissuer = \"https://login.example.com/tenant/v2.0/\"\nclient_id = \"abc\"\nclient_secret_file = \"secret\"\nadmin_groups = [\"g-it\"]\n"
    );
    let config =
        Config::parse("postroom.toml", &text, dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let web = config.web.as_ref().unwrap();
    assert!(web.secure && !web.local_sign_in);
    let oidc = web.oidc.as_ref().unwrap();
    assert_eq!(oidc.issuer, "https://login.example.com/tenant/v2.0");
    assert_eq!(oidc.email_claim, "email");
    assert!(!format!("{oidc:?}").contains("s3cret"));
    let role = config.web_role_in("x@example.gov.uk", &["g-it".into()]);
    assert_eq!(role.map(|r| r.0), Some(super::WebRole::Admin));
    assert_eq!(config.web_role("x@example.gov.uk"), None);
}
