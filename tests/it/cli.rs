//! The `postroom` command, run as a process.

use std::process::Command;

use serde_json::Value;

use crate::harness::{Backend, TestDb, backends, files_with_ext, repo, shared};

/// The demo's cases on `backend`: `postroom demo` (SQLite) and, for
/// PostgreSQL, its config pointed at a fresh database and run once over
/// the same sample mailbox. Returns the folder, the config and the
/// database (kept alive).
fn demo_on(backend: Backend) -> (tempfile::TempDir, std::path::PathBuf, Option<TestDb>) {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    run_demo(&demo);
    let sqlite = demo.join("postroom.toml");
    if backend == Backend::Sqlite {
        return (dir, sqlite, None);
    }
    let db = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(TestDb::new(Backend::Postgres));
    let text = std::fs::read_to_string(&sqlite).unwrap().replace(
        "url = \"sqlite:postroom.sqlite\"",
        &format!("url_env = \"{}\"", db.url_env()),
    );
    assert!(text.contains("url_env"));
    let config = demo.join("postroom-pg.toml");
    std::fs::write(&config, text).unwrap();
    run_once_ok(&config);
    (dir, config, Some(db))
}

/// `postroom run --once` on `config`, which must succeed; its output.
fn run_once_ok(config: &std::path::Path) -> std::process::Output {
    let out = postroom()
        .args(["run", "--once", "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `postroom demo --dir DEMO`, which must succeed; returns what it printed.
fn run_demo(demo: &std::path::Path) -> String {
    let out = postroom()
        .arg("demo")
        .arg("--no-workspace")
        .arg("--dir")
        .arg(demo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `postroom ARGS --config CONFIG` as `user`: whether it succeeded, and
/// its output and errors together.
fn run_as(config: &std::path::Path, user: &str, args: &[&str]) -> (bool, String) {
    let out = postroom()
        .args(args)
        .arg("--config")
        .arg(config)
        .env("USER", user)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn postroom() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_postroom"));
    cmd.env_remove("POSTROOM_CONFIG").env_remove("POSTROOM_LOG");
    cmd
}

const LABEL_FIELDS: &[&str] = &[
    "kind",
    "from_mp_office",
    "category",
    "send_topic",
    "urgent",
    "mp_name",
    "constituency",
    "mp_reference",
    "council_reference",
    "should_acknowledge",
];

#[test]
fn classify_prints_one_json_object_per_file_for_the_whole_shared_corpus() {
    let corpus = shared().join("corpus");
    let mut files = files_with_ext(&corpus.join("messages"), "eml");
    files.extend(files_with_ext(&corpus.join("letters"), "pdf"));
    assert_eq!(
        files.len(),
        120,
        "the corpus holds 108 emails and 12 letters"
    );

    let out = postroom()
        .arg("classify")
        .arg("--directory")
        .arg(corpus.join("mps.csv"))
        .args(&files)
        .output()
        .unwrap();

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), files.len());
    for (line, file) in lines.iter().zip(&files) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let obj = v.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort();
        let mut want: Vec<&str> = LABEL_FIELDS
            .iter()
            .copied()
            .chain(["file", "matched_rules"])
            .collect();
        want.sort();
        assert_eq!(keys, want, "{line}");
        assert_eq!(obj["file"], file.display().to_string());
        let kind = obj["kind"].as_str().unwrap();
        assert!(postroom::case::Kind::parse(kind).is_some(), "{line}");
        if let Some(c) = obj["category"].as_str() {
            assert!(postroom::case::Category::parse(c).is_some(), "{line}");
        }
        let ack = obj["should_acknowledge"].as_bool().unwrap();
        assert_eq!(
            ack,
            kind == "new_enquiry" && obj["from_mp_office"].as_bool().unwrap(),
            "{line}"
        );
    }

    // The accuracy the rules issue asks for, on this corpus.
    let labels: Vec<Value> = std::fs::read_to_string(corpus.join("labels.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let prefix = format!("{}/", corpus.display());
    let decided: std::collections::HashMap<String, Value> = lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let rel = v["file"]
                .as_str()
                .unwrap()
                .strip_prefix(&prefix)
                .unwrap()
                .to_string();
            (rel, v)
        })
        .collect();
    let of = |l: &Value| &decided[l["file"].as_str().unwrap()];
    let share = |field: &str, filter: &dyn Fn(&Value) -> bool| {
        let chosen: Vec<&Value> = labels.iter().filter(|l| filter(l)).collect();
        let right = chosen.iter().filter(|l| of(l)[field] == l[field]).count();
        right as f64 / chosen.len() as f64
    };
    let all = |_: &Value| true;
    let send = |l: &Value| l["category"] == "send";
    let urgent = |l: &Value| l["urgent"] == true;
    assert!(share("kind", &all) >= 0.97, "kind {}", share("kind", &all));
    assert!(
        share("category", &all) >= 0.95,
        "category {}",
        share("category", &all)
    );
    assert!(
        share("send_topic", &send) >= 0.90,
        "send_topic {}",
        share("send_topic", &send)
    );
    assert!(
        share("mp_reference", &all) >= 0.98,
        "mp_reference {}",
        share("mp_reference", &all)
    );
    assert!(share("council_reference", &all) >= 0.98);
    assert!(
        share("urgent", &urgent) >= 0.95,
        "urgent recall {}",
        share("urgent", &urgent)
    );
    let flagged: Vec<&Value> = labels.iter().filter(|l| of(l)["urgent"] == true).collect();
    let precision =
        flagged.iter().filter(|l| l["urgent"] == true).count() as f64 / flagged.len() as f64;
    assert!(precision >= 0.80, "urgent precision {precision}");
    for l in &labels {
        assert!(
            !(of(l)["should_acknowledge"] == true && l["should_acknowledge"] == false),
            "{} would be acknowledged and must not be",
            l["file"]
        );
    }
}

/// The example config as installed: itself in `etc` (`/etc/postroom`,
/// read-only under the systemd unit and in the container) with its MP
/// directory beside it, its state folder (`/var/lib/postroom`) at `state`.
fn example_config_in(etc: &std::path::Path, state: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/postroom.toml"))
        .unwrap()
        .replace("/var/lib/postroom", state.to_str().unwrap());
    let path = etc.join("postroom.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::copy(repo().join("examples/mps.csv"), etc.join("mps.csv")).unwrap();
    path
}

fn check_example(config: &std::path::Path) -> std::process::Output {
    postroom()
        .arg("check")
        .arg("--config")
        .arg(config)
        .env("POSTROOM_OAUTH_CLIENT_SECRET", "example-secret")
        .output()
        .unwrap()
}

#[test]
fn check_accepts_the_example_config_where_its_folders_are() {
    let (etc, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = example_config_in(etc.path(), state.path());
    std::fs::create_dir(state.path().join("scans")).unwrap();
    let out = check_example(&config);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scans = state.path().join("scans");
    assert!(
        stdout.contains(&format!(
            "  writes {} (source \"post-room\" path",
            scans.display()
        )),
        "{stdout}"
    );
}

#[test]
fn check_names_each_folder_run_could_not_use_with_its_line() {
    let (etc, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = example_config_in(etc.path(), state.path());
    // No scans folder, and the database in a folder that is not there.
    let text = std::fs::read_to_string(&config).unwrap();
    let missing = state.path().join("no-such-folder");
    std::fs::write(
        &config,
        text.replace(
            &format!("sqlite:{}/postroom.sqlite", state.path().display()),
            &format!("sqlite:{}/postroom.sqlite", missing.display()),
        ),
    )
    .unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let url_line = line_of("url = \"sqlite:");
    let source_line = line_of("name = \"post-room\"") - 1;

    let out = check_example(&config);

    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "postroom.toml:{url_line}: database.url: {}/postroom.sqlite cannot be created: its folder {} does not exist",
            missing.display(),
            missing.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "postroom.toml:{source_line}: source \"post-room\" path: {}/scans is not a folder that exists",
            state.path().display()
        )),
        "{stderr}"
    );
}

#[test]
fn the_systemd_unit_and_the_container_leave_writable_every_place_the_example_config_writes() {
    // Where the example config writes, as `check` lists it.
    let (etc, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = example_config_in(etc.path(), state.path());
    std::fs::create_dir(state.path().join("scans")).unwrap();
    let out = check_example(&config);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let written: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("writes "))
        .map(|l| {
            l.split(" (")
                .next()
                .unwrap()
                .replace(state.path().to_str().unwrap(), "/var/lib/postroom")
                .replace(etc.path().to_str().unwrap(), "/etc/postroom")
        })
        .collect();
    assert!(written.len() >= 3, "{stdout}");

    // The unit: everything read-only but its state and writable paths.
    let unit = std::fs::read_to_string(repo().join("examples/systemd/postroom.service")).unwrap();
    let value = |key: &str| -> Vec<String> {
        unit.lines()
            .filter_map(|l| l.strip_prefix(&format!("{key}=")))
            .flat_map(|v| v.split_whitespace().map(str::to_string))
            .collect()
    };
    assert_eq!(value("ProtectSystem"), ["strict"]);
    assert!(
        value("ExecStart")
            .join(" ")
            .contains("--config /etc/postroom/postroom.toml")
    );
    let mut unit_writable = value("ReadWritePaths");
    unit_writable.extend(
        value("StateDirectory")
            .iter()
            .map(|d| format!("/var/lib/{d}")),
    );
    // The container: the config mounted read-only, the data a volume.
    let container =
        std::fs::read_to_string(repo().join("examples/container/Containerfile")).unwrap();
    assert!(container.contains(":/etc/postroom:ro"), "{container}");
    assert!(
        container.contains("VOLUME [\"/var/lib/postroom\"]"),
        "{container}"
    );
    let container_writable = ["/var/lib/postroom".to_string()];

    for path in &written {
        let under = |roots: &[String]| {
            roots
                .iter()
                .any(|r| path == r || path.starts_with(&format!("{}/", r.trim_end_matches('/'))))
        };
        assert!(
            under(&unit_writable),
            "the unit makes {path} read-only: {unit_writable:?}"
        );
        assert!(
            under(&container_writable),
            "the container has no writable {path}"
        );
        assert!(!path.starts_with("/etc/postroom"), "{path}");
    }
}

/// A config folder with `config` as postroom.toml and a rules folder whose
/// only rule has a broken regex.
fn folder_with_bad_rules(config: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("postroom.toml");
    std::fs::write(&path, config).unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/10-bad.toml"),
        "[[rule]]\nname = \"r\"\nwhen.subject.regex = \"(\"\nthen.kind = \"junk\"\n",
    )
    .unwrap();
    (dir, path)
}

fn check_fails(path: &std::path::Path) -> String {
    let out = postroom()
        .arg("check")
        .arg("--config")
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn check_refuses_a_bad_config_with_file_line_and_reason() {
    let (_dir, path) = folder_with_bad_rules(
        "[council]\nname = \"X\"\nmailbox = \"not-an-address\"\n\n[paths]\nrules = \"rules\"\n",
    );

    let stderr = check_fails(&path);

    assert!(
        stderr.contains(&format!("{}:3: council.mailbox", path.display())),
        "{stderr}"
    );
}

#[test]
fn check_refuses_bad_rules_and_templates_with_file_and_line() {
    let (dir, path) = folder_with_bad_rules(
        "[council]\nname = \"X\"\nmailbox = \"mp@x.example\"\n\n[paths]\nrules = \"rules\"\ntemplates = \"templates\"\n\n[delivery]\ntransport = \"file\"\npath = \"out\"\n",
    );
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    for (name, text) in postroom::compose::EMBEDDED {
        std::fs::write(dir.path().join("templates").join(name), text).unwrap();
    }
    std::fs::write(
        dir.path().join("templates/acknowledgement.txt.j2"),
        "Dear {{ case.mp_nmae }},\n",
    )
    .unwrap();

    let stderr = check_fails(&path);

    assert!(
        stderr.contains("rules/10-bad.toml:1: rule \"r\": when.subject.regex"),
        "{stderr}"
    );
    assert!(
        stderr.contains("acknowledgement.txt.j2:1: undefined value"),
        "{stderr}"
    );
}

#[test]
fn check_refuses_a_rule_whose_team_or_assignee_the_config_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("postroom.toml");
    std::fs::write(
        &path,
        "[council]\nname = \"X\"\nmailbox = \"mp@x.example\"\ndomains = [\"x.example\"]\n\n\
         [paths]\nrules = \"rules\"\n\n[delivery]\ntransport = \"file\"\npath = \"out\"\n\n\
         [[team]]\nname = \"SEND\"\ndefault = true\nmanager = \"m@x.example\"\nmembers = [\"a@x.example\"]\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/20-route.toml"),
        "[[rule]]\nname = \"to-nowhere\"\nwhen.subject.regex = \"tribunal\"\nthen.team = \"Tribunals\"\n\n\
         [[rule]]\nname = \"to-outside\"\nwhen.subject.regex = \"transport\"\nthen.assignee = \"someone@mail.example\"\n\n\
         [[rule]]\nname = \"to-a-caseworker\"\nwhen.subject.regex = \"annual review\"\nthen.assignee = \"A@x.example\"\n",
    )
    .unwrap();

    let stderr = check_fails(&path);

    assert!(
        stderr.contains(
            "rules/20-route.toml:1: rule \"to-nowhere\": then.team = \"Tribunals\" is not a team of the config (its teams are SEND)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("rules/20-route.toml:6: rule \"to-outside\": then.assignee = \"someone@mail.example\" is not a member or manager of any [[team]]"),
        "{stderr}"
    );
    assert!(!stderr.contains("to-a-caseworker"), "{stderr}");
}

#[test]
fn the_demo_runs_with_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");

    let stdout = run_demo(&demo);

    assert!(stdout.contains("MPE-2026-00008"), "{stdout}");
    assert!(
        stdout.contains("14 messages read: 8 cases opened (6 acknowledged)"),
        "{stdout}"
    );
    // The mail written there holds personal data: the folder is private,
    // and so is the database.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| {
        std::fs::metadata(demo.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("outbox"), 0o700);
    assert_eq!(mode("postroom.sqlite"), 0o600);
    let mail = files_with_ext(&demo.join("outbox"), "eml");
    assert!(!mail.is_empty());
    for m in &mail {
        let mode = std::fs::metadata(m).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", m.display());
    }
    let acknowledgements = |dir: &std::path::Path| {
        files_with_ext(&dir.join("outbox"), "eml")
            .iter()
            .filter(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .contains("Auto-Submitted: auto-replied")
            })
            .count()
    };
    assert_eq!(acknowledgements(&demo), 6);
    assert!(
        stdout.contains("6 acknowledgements to MP offices"),
        "{stdout}"
    );
    // Run it again: the folder is replaced, not added to.
    let out = postroom()
        .arg("demo")
        .arg("--no-workspace")
        .arg("--dir")
        .arg(&demo)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(acknowledgements(&demo), 6);
}

#[test]
fn the_demo_will_not_overwrite_a_folder_that_is_not_its_own() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), "keep me").unwrap();

    let out = postroom()
        .arg("demo")
        .arg("--no-workspace")
        .arg("--dir")
        .arg(dir.path())
        .output()
        .unwrap();

    assert!(!out.status.success());
    assert!(dir.path().join("precious.txt").exists());
}

#[test]
fn cases_are_paused_resumed_answered_and_closed_from_the_command_line() {
    for backend in backends() {
        cases_are_paused_resumed_answered_and_closed_from_the_command_line_on(backend);
    }
}

fn cases_are_paused_resumed_answered_and_closed_from_the_command_line_on(backend: Backend) {
    let (dir, config, _db) = demo_on(backend);
    let demo = config.parent().unwrap().to_path_buf();
    let run = |args: &[&str]| run_as(&config, "test.caseworker", args);
    let (ok, text) = run(&[
        "cases",
        "pause",
        "MPE-2026-00004",
        "--reason",
        "waiting for consent",
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("paused"), "{text}");
    // Twice is refused, with why.
    let (ok, text) = run(&["cases", "pause", "MPE-2026-00004", "--reason", "again"]);
    assert!(!ok && text.contains("has been paused since"), "{text}");
    let (ok, text) = run(&["cases", "pause", "MPE-2026-00004", "--reason", " "]);
    assert!(!ok, "{text}");
    // The sample reply answered case 3: its clock cannot be paused.
    let (ok, text) = run(&["cases", "pause", "MPE-2026-00003", "--reason", "x"]);
    assert!(
        !ok && text.contains("was answered; reopen it first"),
        "{text}"
    );
    let (ok, text) = run(&["cases", "resume", "MPE-2026-00004"]);
    assert!(ok && text.contains("running again"), "{text}");
    // An answer in the future, or before the case arrived (5 November), is
    // refused: the report would count it in time.
    let (ok, text) = run(&["cases", "answer", "MPE-2026-00004", "--at", "2099-01-04"]);
    assert!(!ok && text.contains("is in the future"), "{text}");
    let (ok, text) = run(&["cases", "answer", "MPE-2026-00004", "--at", "2026-11-04"]);
    assert!(
        !ok && text.contains("arrived on 2026-11-05; it cannot have been answered on 2026-11-04"),
        "{text}"
    );
    let (ok, text) = run(&["cases", "answer", "MPE-2026-00004", "--at", "2026-11-20"]);
    assert!(ok && text.contains("answered"), "{text}");
    let (ok, text) = run(&["cases", "answer", "MPE-2026-00004"]);
    assert!(!ok && text.contains("answered already"), "{text}");
    let (ok, text) = run(&["cases", "close", "MPE-2026-00004"]);
    assert!(ok, "{text}");
    let (ok, text) = run(&["cases", "pause", "MPE-2026-00004", "--reason", "x"]);
    assert!(!ok && text.contains("is closed"), "{text}");
    let (ok, text) = run(&["cases", "close", "MPE-2099-00001"]);
    assert!(
        !ok && text.contains("There is no case MPE-2099-00001"),
        "{text}"
    );

    // The preview renders every manager's digest and sends nothing.
    let before = files_with_ext(&demo.join("outbox"), "eml").len();
    let html = dir.path().join("digest.html");
    let (ok, text) = run(&[
        "digest",
        "--preview",
        "--manager",
        "send.manager@wexcombe.gov.uk",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("Subject: MP enquiries daily digest"),
        "{text}"
    );
    assert!(text.contains("OVERDUE ("), "{text}");
    assert!(!text.contains("casework.manager"), "{text}");
    let page = std::fs::read_to_string(&html).unwrap();
    // The chart is drawn with table cells (Outlook and Gmail show no SVG):
    // a bar for a week with cases, none for a week without, no image.
    assert!(page.contains("bgcolor=\"#1d70b8\" width=\"240\""), "{page}");
    assert!(!page.contains("<img"), "{page}");
    assert_eq!(files_with_ext(&demo.join("outbox"), "eml").len(), before);
}

#[test]
fn cases_are_listed_shown_and_corrected_from_the_command_line() {
    for backend in backends() {
        cases_are_listed_shown_and_corrected_from_the_command_line_on(backend);
    }
}

fn cases_are_listed_shown_and_corrected_from_the_command_line_on(backend: Backend) {
    let (_dir, config, _db) = demo_on(backend);
    let run = |args: &[&str]| {
        let out = postroom()
            .args(args)
            .arg("--config")
            .arg(&config)
            .env("USER", "test.caseworker")
            .output()
            .unwrap();
        (
            out.status.success(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let text = |args: &[&str]| {
        let (ok, stdout, stderr) = run(args);
        assert!(ok, "{args:?}: {stderr}");
        String::from_utf8(stdout).unwrap()
    };

    // JSON lists every case with every field; filters narrow it.
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&text(&["cases", "list", "--format", "json"])).unwrap();
    assert_eq!(all.len(), 8);
    let send: Vec<serde_json::Value> = serde_json::from_str(&text(&[
        "cases",
        "list",
        "--category",
        "send",
        "--format",
        "json",
    ]))
    .unwrap();
    assert!(!send.is_empty() && send.len() < all.len());
    assert!(send.iter().all(|c| c["category"] == "send"));
    let by_mp: Vec<serde_json::Value> = serde_json::from_str(&text(&[
        "cases",
        "list",
        "--mp",
        "kettering",
        "--format",
        "json",
    ]))
    .unwrap();
    assert!(!by_mp.is_empty());
    assert!(by_mp.iter().all(|c| c["mp_name"] == "Joanna Kettering"));
    // Overdue against today's date: every open case of the November demo.
    let overdue: Vec<serde_json::Value> =
        serde_json::from_str(&text(&["cases", "list", "--overdue", "--format", "json"])).unwrap();
    assert!(overdue.iter().all(|c| c["answered_at"].is_null()));
    assert!(!overdue.is_empty());
    let csv = text(&["cases", "list", "--status", "open", "--format", "csv"]);
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("id,reference,status,"));
    assert!(lines.all(|l| l.contains(",open,")), "{csv}");
    let table = text(&["cases", "list", "--assignee", "a.shah@wexcombe.gov.uk"]);
    assert!(
        table.contains("MPE-2026-00001") && !table.contains("c.lewis"),
        "{table}"
    );

    // A filter that can match nothing is refused, saying what can be
    // asked for; a reference is a reference in any case.
    for (args, says) in [
        (
            &["cases", "list", "--status", "bogus"][..],
            "\"bogus\" is not a status: open, triage",
        ),
        (
            &["cases", "list", "--category", "sen"],
            "\"sen\" is not a category: send,",
        ),
        (
            &["cases", "list", "--team", "Nowhere"],
            "\"Nowhere\" is not a team of the config: SEND",
        ),
    ] {
        let (ok, _, stderr) = run(args);
        assert!(!ok && stderr.contains(says), "{args:?}: {stderr}");
    }
    for status in ["answered", "open"] {
        let table = text(&["cases", "list", "--status", status]);
        let (n, word) = table.lines().last().unwrap().split_once(' ').unwrap();
        assert_eq!(word, if n == "1" { "case" } else { "cases" }, "{table}");
    }
    assert!(text(&["cases", "show", " mpe-2026-00001 "]).starts_with("MPE-2026-00001"));

    // One case in full: its text, the rules, the timeline.
    let shown = text(&["cases", "show", "MPE-2026-00001"]);
    for expected in [
        "Deadlines",
        "Reply to the MP office",
        "rules: ",
        "| Dear Colleague",
        "Timeline",
        "created",
    ] {
        assert!(shown.contains(expected), "{expected}: {shown}");
    }
    // The original bytes, exactly.
    let (ok, raw, _) = run(&["cases", "raw", "MPE-2026-00001"]);
    assert!(ok);
    let original = postroom::cli::demo::SAMPLE_MAILBOX
        .iter()
        .find(|(name, _)| name.starts_with("01-"))
        .unwrap()
        .1;
    assert_eq!(raw, original);

    // Corrections, each an event with who made it.
    assert!(
        text(&[
            "cases",
            "assign",
            "MPE-2026-00001",
            "b.okoro@wexcombe.gov.uk"
        ])
        .contains("assigned to")
    );
    let (ok, _, err) = run(&["cases", "assign", "MPE-2026-00001", "not an address"]);
    assert!(!ok && err.contains("is not an email address"), "{err}");
    // Only the council's own caseworkers get cases (and the notices that
    // name a child).
    let (ok, _, err) = run(&["cases", "assign", "MPE-2026-00001", "someone@gmail.example"]);
    assert!(
        !ok && err.contains("someone@gmail.example is not a member or manager of any team"),
        "{err}"
    );
    assert!(
        text(&[
            "cases",
            "recategorise",
            "MPE-2026-00001",
            "--send-topic",
            "tribunal",
            "--urgent"
        ])
        .contains("send: tribunal, urgent")
    );
    let (ok, _, err) = run(&[
        "cases",
        "recategorise",
        "MPE-2026-00001",
        "--category",
        "potholes",
    ]);
    assert!(!ok && err.contains("is not a category"), "{err}");
    text(&["cases", "note", "MPE-2026-00001", "Phoned the office"]);
    text(&["cases", "answer", "MPE-2026-00001"]);
    text(&["cases", "reopen", "MPE-2026-00001"]);
    let (ok, _, err) = run(&["cases", "reopen", "MPE-2026-00001"]);
    assert!(
        !ok && err.contains("only an answered or closed case"),
        "{err}"
    );
    let shown = text(&["cases", "show", "MPE-2026-00001"]);
    for event in ["assigned", "recategorised", "note", "answered", "reopened"] {
        assert!(
            shown
                .lines()
                .any(|l| l.contains(&format!(" {event} ")) && l.contains("cli:test.caseworker")),
            "{event} by the caseworker: {shown}"
        );
    }
    assert!(shown.contains("\"send_topic\":\"tribunal\""), "{shown}");
    let reassigned: Vec<serde_json::Value> = serde_json::from_str(&text(&[
        "cases",
        "list",
        "--assignee",
        "b.okoro@wexcombe.gov.uk",
        "--status",
        "open",
        "--format",
        "json",
    ]))
    .unwrap();
    assert!(
        reassigned
            .iter()
            .any(|c| c["reference"] == "MPE-2026-00001")
    );
}

#[test]
fn a_report_gives_the_figures_of_the_demo_as_json_csv_and_a_chart() {
    for backend in backends() {
        a_report_gives_the_figures_of_the_demo_as_json_csv_and_a_chart_on(backend);
    }
}

fn a_report_gives_the_figures_of_the_demo_as_json_csv_and_a_chart_on(backend: Backend) {
    let (dir, config, _db) = demo_on(backend);
    let chart = dir.path().join("report.svg");
    // The unreadable sample message has no date: on PostgreSQL, where the
    // test runs `run --once` on the wall clock, it is received today. The
    // range reaches today so that it is counted whenever the test runs.
    let today = postroom::clock::system()
        .now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive();
    let to = today.max(chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
    let months = {
        use chrono::Datelike;
        (to.year() - 2026) * 12 + to.month() as i32 - 10 + 1
    };
    let to = to.to_string();
    let run = |extra: &[&str]| {
        let out = postroom()
            .args(["report", "--from", "2026-10-01", "--to", &to, "--config"])
            .arg(&config)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&run(&[
        "--format",
        "json",
        "--chart",
        chart.to_str().unwrap(),
    ]))
    .unwrap();
    // The sample mailbox: eight cases, six from MP offices (all acknowledged),
    // one answered by the caseworker's reply, one chaser; from October.
    assert_eq!(json["total"]["received"], 8);
    assert_eq!(json["total"]["from_mp_offices"], 6);
    assert_eq!(json["total"]["acknowledged"], 6);
    assert_eq!(json["total"]["answered"], 1);
    assert_eq!(json["total"]["answered_in_time"], 1);
    assert_eq!(json["total"]["open_at_end"], 7);
    assert_eq!(json["total"]["chasers"], 1);
    assert_eq!(json["periods"].as_array().unwrap().len() as i32, months);
    assert_eq!(json["by_mp"]["Marcus Ellery"], 2);
    assert_eq!(json["by_category"]["send"], 5);
    assert!(std::fs::read_to_string(&chart).unwrap().starts_with("<svg"));
    let csv = run(&["--format", "csv", "--by", "week"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("period,received,"));
    assert!(lines.iter().any(|l| l.starts_with("2026-W45,")), "{csv}");
    assert!(lines.last().unwrap().starts_with("all,8,"), "{csv}");
    let table = run(&[]);
    assert!(
        table.contains("received             8 (6 from MP offices)"),
        "{table}"
    );
    // A range the wrong way round is refused.
    let out = postroom()
        .args([
            "report",
            "--from",
            "2026-11-30",
            "--to",
            "2026-10-01",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is before --from"));
}

#[test]
fn a_case_and_a_person_are_exported_and_retention_runs_from_the_command_line() {
    for backend in backends() {
        a_case_and_a_person_are_exported_and_retention_runs_from_the_command_line_on(backend);
    }
}

/// The names in a ZIP file, and the bytes of one.
fn zip_names(path: &std::path::Path) -> Vec<String> {
    let archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    archive.file_names().map(String::from).collect()
}

fn zip_read(path: &std::path::Path, name: &str) -> Vec<u8> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn a_case_and_a_person_are_exported_and_retention_runs_from_the_command_line_on(backend: Backend) {
    use std::os::unix::fs::PermissionsExt;
    let (dir, config, _db) = demo_on(backend);
    let run = |args: &[&str]| run_as(&config, "test.dpo", args);

    // One case: its record, its messages byte for byte, what was sent.
    let zip = dir.path().join("case.zip");
    let (ok, text) = run(&[
        "export",
        "--case",
        "MPE-2026-00001",
        "--out",
        zip.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let mode = std::fs::metadata(&zip).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the export is private");
    let names = zip_names(&zip);
    for name in [
        "README.txt",
        "cases/MPE-2026-00001/case.txt",
        "cases/MPE-2026-00001/case.json",
    ] {
        assert!(names.contains(&name.to_string()), "{name} in {names:?}");
    }
    let emls: Vec<&String> = names.iter().filter(|n| n.contains("/messages/")).collect();
    assert!(!emls.is_empty(), "{names:?}");
    for eml in &emls {
        let bytes = zip_read(&zip, eml);
        assert!(
            postroom::cli::demo::SAMPLE_MAILBOX
                .iter()
                .any(|(_, b)| *b == bytes.as_slice()),
            "{eml} is a message exactly as received"
        );
    }
    assert!(
        names
            .iter()
            .any(|n| n.contains("/sent/") && n.ends_with("-acknowledgement.eml")),
        "{names:?}"
    );
    let json: Value =
        serde_json::from_slice(&zip_read(&zip, "cases/MPE-2026-00001/case.json")).unwrap();
    assert_eq!(json["reference"], "MPE-2026-00001");
    // Never over an existing file.
    let (ok, text) = run(&[
        "export",
        "--case",
        "MPE-2026-00001",
        "--out",
        zip.to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("must not exist"), "{text}");
    let (ok, text) = run(&[
        "export",
        "--case",
        "MPE-2099-00001",
        "--out",
        "/tmp/never.zip",
    ]);
    assert!(!ok && text.contains("There is no case"), "{text}");

    // A person: every case naming them, and nothing else.
    let person = dir.path().join("person.zip");
    let (ok, text) = run(&[
        "export",
        "--person",
        "Ruth.Penhale@parliament.uk",
        "--out",
        person.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let names = zip_names(&person);
    assert!(
        names.iter().any(|n| n.starts_with("cases/MPE-2026-00001/")),
        "{names:?}"
    );
    let readme = String::from_utf8(zip_read(&person, "README.txt")).unwrap();
    assert!(readme.contains("ruth.penhale@parliament.uk"), "{readme}");
    let all_cases: usize = {
        let (ok, text) = run(&["cases", "list", "--format", "json"]);
        assert!(ok, "{text}");
        serde_json::from_str::<Value>(&text)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    let exported: std::collections::HashSet<&str> = names
        .iter()
        .filter_map(|n| n.strip_prefix("cases/")?.split('/').next())
        .collect();
    assert!(
        exported.len() < all_cases,
        "only the cases naming the person: {exported:?}"
    );

    // Retention: a held case, a dry run on a fresh database (nothing due).
    let (ok, text) = run(&[
        "cases",
        "hold",
        "MPE-2026-00001",
        "--reason",
        "subject access request",
    ]);
    assert!(ok && text.contains("on hold"), "{text}");
    // The JSON alone, on stdout (a slow-statement warning from the
    // database driver, say, goes to stderr).
    let out = postroom()
        .args(["retention", "run", "--dry-run", "--json", "--config"])
        .arg(&config)
        .env("USER", "test.dpo")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["dry_run"], true);
    assert_eq!(summary["counts"]["cases"], 0);
    // Six years before today (the default policy), as a date.
    let six_years_ago = postroom::clock::system()
        .now()
        .date_naive()
        .checked_sub_months(chrono::Months::new(72))
        .unwrap();
    assert_eq!(
        summary["closed_before"],
        six_years_ago.to_string(),
        "{text}"
    );
    let (ok, text) = run(&["cases", "release", "MPE-2026-00001"]);
    assert!(ok && text.contains("hold lifted"), "{text}");
    let (ok, text) = run(&["cases", "show", "MPE-2026-00001"]);
    assert!(
        ok && text.contains("held") && text.contains("hold_lifted"),
        "{text}"
    );
}

#[test]
fn every_command_ends_quietly_when_its_output_is_cut_off() {
    use std::os::unix::process::ExitStatusExt;
    let (_dir, config, _db) = demo_on(Backend::Sqlite);
    for args in [
        &["digest", "--preview"][..],
        &["cases", "list"],
        &["cases", "show", "MPE-2026-00001"],
        &["report", "--from", "2026-10-01", "--to", "2026-11-30"],
        &["status"],
        &["rules", "check"],
    ] {
        let mut child = postroom()
            .args(args)
            .arg("--config")
            .arg(&config)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the command writes a line, as
        // `| head` does after its ten.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        // `status` exits 1 here because no daemon runs on the demo's
        // database; what matters is that it ends quietly.
        let red_status = args == ["status"] && out.status.code() == Some(1);
        assert!(
            out.status.success() || red_status || out.status.signal() == Some(libc::SIGPIPE),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
}

#[test]
fn logs_written_to_a_file_or_the_journal_carry_no_colour_codes() {
    let (_dir, config, _db) = demo_on(Backend::Sqlite);
    // A second pass over the demo mailbox: the daemon logs at info.
    let out = run_once_ok(&config);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("INFO"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in a piped log: {log:?}"
    );
}

#[test]
fn rules_test_without_a_directory_says_that_no_mp_office_is_known() {
    let mail = repo().join("examples/mailbox/01-ehc-needs-assessment.eml");
    let bare = postroom()
        .args(["rules", "test"])
        .arg(&mail)
        .output()
        .unwrap();
    assert!(bare.status.success());
    let stderr = String::from_utf8_lossy(&bare.stderr);
    assert!(stderr.contains("no MP directory"), "{stderr}");
    let with = postroom()
        .args(["rules", "test", "--directory"])
        .arg(repo().join("examples/mps.csv"))
        .arg(&mail)
        .output()
        .unwrap();
    assert!(
        with.status.success(),
        "{}",
        String::from_utf8_lossy(&with.stderr)
    );
    assert!(!String::from_utf8_lossy(&with.stderr).contains("no MP directory"));
}
