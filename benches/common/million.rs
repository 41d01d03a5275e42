//! A million cases for the benchmarks at scale (the workspace's list and
//! the managers' dashboard), written in SQL on SQLite or PostgreSQL.

use std::time::Instant;

use postroom::store::Store;

pub const CASES: i64 = 1_000_000;

/// Fills the database in SQL: [`CASES`] cases of the SEND team over five
/// years, 1 in 20 open, each with a message whose text names a
/// constituent, a street and a topic; and case 20 with 200 messages.
pub async fn fill(store: &Store, postgres: bool) {
    let mut conn = store.conn().await.unwrap();
    let series = |n: i64| {
        if postgres {
            format!("generate_series(1, {n}) AS n(i)")
        } else {
            format!(
                "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s) AS n"
            )
        }
    };
    let day = if postgres {
        "to_char(DATE '2022-01-01' + (i % 1790)::int, 'YYYY-MM-DD')"
    } else {
        "date('2022-01-01', '+' || (i % 1790) || ' days')"
    };
    // `days` after the day a case arrived.
    let later = |days: &str| {
        if postgres {
            format!("to_char(DATE '2022-01-01' + (i % 1790)::int + {days}, 'YYYY-MM-DD')")
        } else {
            format!("date('2022-01-01', '+' || (i % 1790 + {days}) || ' days')")
        }
    };
    let due = if postgres {
        "to_char(DATE '2026-11-01' + (i % 60)::int, 'YYYY-MM-DD')"
    } else {
        "date('2026-11-01', '+' || (i % 60) || ' days')"
    };
    let pick = |list: &[&str], by: &str| {
        let mut s = format!("CASE ({by}) % {}", list.len());
        for (k, v) in list.iter().enumerate() {
            s.push_str(&format!(" WHEN {k} THEN '{v}'"));
        }
        s.push_str(" END");
        s
    };
    let topics = [
        "ehc_needs_assessment",
        "ehcp_issue_or_amendment",
        "annual_review",
        "school_placement",
        "send_transport",
        "tribunal",
        "support_in_school",
        "exclusion_or_out_of_school",
    ];
    let mps = [
        "Marcus Ellery",
        "Joanna Kettering",
        "Priya Anand",
        "Tom Hale",
        "Ruth Okafor",
    ];
    let names = [
        "Callum", "Isla", "Noah", "Amelia", "Oliver", "Freya", "Harry", "Maya", "Leo", "Ava",
    ];
    let streets = [
        "Mill Lane",
        "Church Road",
        "Station Street",
        "Park Avenue",
        "Victoria Close",
    ];
    let words = [
        "transport to school stopped without notice",
        "the needs assessment has not started after twelve weeks",
        "the annual review meeting was cancelled twice",
        "the school says it cannot meet his needs",
        "the family is waiting for the tribunal hearing",
    ];
    let started = Instant::now();
    let statements = [
        format!(
            "INSERT INTO cases (reference, status, kind, category, send_topic, urgent, from_mp_office, mp_name, \
             constituency, mp_reference, correspondent, subject, received_at, response_due, created_at, updated_at, team, assignee, \
             acknowledge_due, acknowledged_at, answered_at) \
             SELECT 'MPE-' || (2022 + i % 5) || '-' || i, CASE WHEN i % 20 = 0 THEN 'open' ELSE 'answered' END, 'new_enquiry', \
             'send', {topic}, CASE WHEN i % 97 = 0 THEN 1 ELSE 0 END, 1, {mp}, 'Wexcombe ' || (i % 5), 'REF/' || i, \
             'casework' || (i % 5) || '@parliament.uk', 'Enquiry ' || i || ' about ' || {topic}, \
             {day} || 'T10:00:00.000Z', CASE WHEN i % 20 = 0 THEN {due} ELSE {later_20} END, \
             {day} || 'T10:00:00.000Z', {day} || 'T10:00:00.000Z', \
             'SEND', 'caseworker' || (i % 40) || '@council.example', {later_2}, \
             {day} || 'T10:00:' || (10 + i % 40) || '.000Z', \
             CASE WHEN i % 20 = 0 THEN NULL ELSE {later_answer} || 'T15:00:00.000Z' END FROM {series}",
            later_20 = later("20"),
            later_2 = later("2"),
            later_answer = later("(i % 31)"),
            topic = pick(&topics, "i"),
            mp = pick(&mps, "i"),
            series = series(CASES),
        ),
        format!(
            "INSERT INTO messages (sha256, message_id, source, origin, received_at, stored_at, from_address, subject, \
             parse_status, kind, case_id, decision, size) \
             SELECT 'sha-' || i, 'm' || i || '@parliament.uk', 'bench', 'email', {day} || 'T10:00:00.000Z', \
             {day} || 'T10:00:00.000Z', 'casework' || (i % 5) || '@parliament.uk', 'Enquiry ' || i, 'ok', 'new_enquiry', i, '{{}}', 15000 \
             FROM {series}",
            series = series(CASES),
        ),
        format!(
            "INSERT INTO message_parts (message_id, position, name, content_type, size, text_source, text) \
             SELECT i, 0, 'body', 'text/plain', 200, 'body', \
             'Dear colleague, my constituent ' || {name} || ' Family' || i || ' of ' || (i % 300) || ' ' || {street} || \
             ' writes that ' || {words} || '. Could you look into this and reply to me? Yours sincerely, ' || {mp} \
             FROM {series}",
            name = pick(&names, "i"),
            street = pick(&streets, "i / 7"),
            words = pick(&words, "i / 3"),
            mp = pick(&mps, "i"),
            series = series(CASES),
        ),
        // One case with 200 messages of about 5 KB each.
        format!(
            "INSERT INTO messages (sha256, message_id, source, origin, received_at, stored_at, from_address, subject, \
             parse_status, kind, case_id, decision, size) \
             SELECT 'sha-long-' || i, 'long' || i || '@parliament.uk', 'bench', 'email', '2026-11-02T10:00:00.000Z', \
             '2026-11-02T10:00:00.000Z', 'casework0@parliament.uk', 'Re: Enquiry 20 (' || i || ')', 'ok', 'follow_up', 20, '{{}}', 5000 \
             FROM {series}",
            series = series(199),
        ),
        format!(
            "INSERT INTO message_parts (message_id, position, name, content_type, size, text_source, text) \
             SELECT m.id, 0, 'body', 'text/plain', 5000, 'body', {text} FROM messages m WHERE m.case_id = 20 AND m.sha256 LIKE 'sha-long-%'",
            text = if postgres {
                "repeat('We are still waiting for the transport team to call back. ', 85)"
            } else {
                "replace(hex(zeroblob(85)), '00', 'We are still waiting for the transport team to call back. ')"
            }
        ),
    ];
    for s in &statements {
        sqlx::query(s).execute(&mut *conn).await.unwrap();
    }
    // As autovacuum leaves a PostgreSQL database in use: the visibility map
    // set, so that a count reads its index alone.
    let analyze = if postgres {
        "VACUUM ANALYZE"
    } else {
        "ANALYZE"
    };
    sqlx::query(analyze).execute(&mut *conn).await.unwrap();
    println!(
        "  filled: {CASES} cases, {} messages in {:.0} s",
        CASES + 199,
        started.elapsed().as_secs_f64()
    );
}
