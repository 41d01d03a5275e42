//! The paraphrase set (tests/fixtures/paraphrase): short labelled messages
//! in many voices, written from the ways such mail is written and from the
//! failure patterns of the rules on other councils' mail, never from a
//! corpus message. `postroom eval` scores it; every field must hold.

use std::path::PathBuf;

use serde_json::Value;

fn set() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/paraphrase")
}

fn eval(corpus: &std::path::Path) -> Value {
    let out = crate::harness::postroom_ok(
        ["eval", "--json", "--corpus"]
            .map(std::ffi::OsStr::new)
            .into_iter()
            .chain([corpus.as_os_str()]),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_field_holds_on_the_paraphrase_set() {
    let summary = eval(&set());
    let messages = summary["messages"].as_u64().unwrap();
    assert!(messages >= 250, "{messages} messages");
    for field in summary["fields"].as_array().unwrap() {
        let name = field[0].as_str().unwrap();
        let share = field[1]["share"].as_f64().unwrap();
        assert!(share >= 95.0, "{name}: {share:.1}% ({})", field[1]);
        // The interval is printed beside every figure and brackets it.
        let (low, high) = (
            field[1]["low"].as_f64().unwrap(),
            field[1]["high"].as_f64().unwrap(),
        );
        assert!(
            low <= share && share <= high,
            "{name}: {low} {share} {high}"
        );
    }
    let recall = summary["urgent_recall"]["share"].as_f64().unwrap();
    assert!(recall >= 95.0, "urgent recall {recall:.1}%");
    let precision = summary["urgent_precision"]["share"].as_f64().unwrap();
    assert!(precision >= 80.0, "urgent precision {precision:.1}%");
    assert_eq!(
        summary["acknowledged_wrongly"],
        serde_json::json!([]),
        "acknowledged and must not be"
    );
}

#[test]
fn the_set_covers_every_failure_pattern_and_is_built_from_its_source() {
    // At least 15 messages for each of the eleven failure patterns.
    let patterns: Value =
        serde_json::from_str(&std::fs::read_to_string(set().join("patterns.json")).unwrap())
            .unwrap();
    for n in 1..=11 {
        let ids = patterns[format!("p{n}")].as_array().map_or(0, |a| a.len());
        assert!(ids >= 15, "pattern {n}: {ids} messages");
    }
    // The committed messages are what the builder makes of the source.
    let dir = tempfile::tempdir().unwrap();
    for entry in ["build.py", "mps.csv"] {
        std::fs::copy(set().join(entry), dir.path().join(entry)).unwrap();
    }
    let source = dir.path().join("source");
    std::fs::create_dir(&source).unwrap();
    for f in std::fs::read_dir(set().join("source")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, source.join(f.file_name().unwrap())).unwrap();
    }
    let built = std::process::Command::new("python3")
        .arg(dir.path().join("build.py"))
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("labels.jsonl")).unwrap(),
        std::fs::read_to_string(set().join("labels.jsonl")).unwrap(),
        "labels.jsonl is stale: run python3 tests/fixtures/paraphrase/build.py"
    );
    let committed = std::fs::read_dir(set().join("messages")).unwrap().count();
    let fresh = std::fs::read_dir(dir.path().join("messages"))
        .unwrap()
        .count();
    assert_eq!(committed, fresh);
}
