//! Hostile and broken input: each is stored byte for byte, read as far as
//! it can be, and gets the outcome written beside it. None crashes or hangs
//! postroom, and the next message is still processed.

use std::time::Duration;

use base64::Engine;
use postroom::ingest::Outcome;
use postroom::store::messages;

use crate::harness::{Backend, Delivery, TestApp, repo};

fn with_attachment(id: &str, content_type: &str, name: &str, data: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    let mut wrapped = String::with_capacity(b64.len() + b64.len() / 76 * 2);
    for chunk in b64.as_bytes().chunks(76) {
        wrapped.push_str(std::str::from_utf8(chunk).unwrap());
        wrapped.push_str("\r\n");
    }
    format!(
        "From: A Parent <parent@example.net>\r\nTo: mpenquiries@wexcombe.gov.uk\r\nSubject: See attached\r\n\
Message-ID: <{id}@example.net>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n\r\n--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nPlease see the attached.\r\n\
--BOUNDARY\r\nContent-Type: {content_type}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{wrapped}--BOUNDARY--\r\n"
    )
    .into_bytes()
}

/// Runs one message through the pipeline; returns the outcome and the note
/// on its attachment (if any), after checking it was stored byte for byte.
async fn run(t: &TestApp, name: &str, bytes: &[u8]) -> (Outcome, Option<String>) {
    t.deliver(name, bytes);
    let (mut outcomes, _) = tokio::time::timeout(Duration::from_secs(120), t.run_once())
        .await
        .unwrap_or_else(|_| panic!("{name}: no outcome after two minutes: a hang"));
    assert_eq!(outcomes.len(), 1, "{name}: {outcomes:?}");
    let mut conn = t.app.store.conn().await.unwrap();
    let sha = postroom::message::sha256_hex(bytes);
    let stored = messages::all(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.sha256 == sha)
        .expect("stored");
    assert_eq!(
        messages::raw(&mut conn, stored.id).await.unwrap(),
        bytes,
        "{name}: stored byte for byte"
    );
    let note = messages::parts(&mut conn, stored.id)
        .await
        .unwrap()
        .into_iter()
        .skip(1)
        .find_map(|p| p.note);
    (outcomes.remove(0), note)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_is_stored_and_flagged_never_fatal() {
    let t = TestApp::new(Backend::Sqlite, Delivery::Folder).await;

    // A message cut off in the middle of its base64 body.
    let full = postroom::cli::demo::SAMPLE_MAILBOX[1].1;
    let (outcome, _) = run(&t, "truncated.eml", &full[..full.len() / 2]).await;
    assert!(
        matches!(outcome, Outcome::Opened { .. }),
        "truncated: {outcome:?}"
    );

    // Multipart nested two thousand deep.
    let mut nested = String::from(
        "From: x@example.net\r\nSubject: nested\r\nMessage-ID: <nested@example.net>\r\nMIME-Version: 1.0\r\n",
    );
    for i in 0..2000 {
        nested.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    nested.push_str("Content-Type: text/plain\r\n\r\ndeep inside\r\n");
    let (outcome, _) = run(&t, "nested.eml", nested.as_bytes()).await;
    assert!(
        matches!(outcome, Outcome::Opened { triage: true, .. }),
        "nested: {outcome:?}"
    );

    // A DOCX that decompresses to 256 MB.
    let bomb = std::fs::read(repo().join("tests/fixtures/bomb.docx")).unwrap();
    let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    let (outcome, note) = run(
        &t,
        "bomb.eml",
        &with_attachment("bomb", docx, "report.docx", &bomb),
    )
    .await;
    assert!(matches!(outcome, Outcome::Opened { .. }));
    let note = note.expect("the bomb is marked not read");
    assert!(
        note.starts_with("not read:") && note.contains("larger than 64 MB"),
        "{note}"
    );

    // A PDF that is not one.
    let broken_pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF garbage \x00\xff";
    let (_, note) = run(
        &t,
        "badpdf.eml",
        &with_attachment("badpdf", "application/pdf", "letter.pdf", broken_pdf),
    )
    .await;
    let note = note.expect("the broken PDF is marked not read");
    assert!(note.starts_with("not read: pdf"), "{note}");

    // A 40 MB attachment.
    let mut big = vec![0u8; 40 << 20];
    let mut x: u32 = 12345;
    for b in big.iter_mut() {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (x >> 24) as u8;
    }
    let (outcome, note) = run(
        &t,
        "big.eml",
        &with_attachment("big", "application/octet-stream", "data.bin", &big),
    )
    .await;
    assert!(matches!(outcome, Outcome::Opened { .. }));
    assert!(note.unwrap().contains("no text reader"));

    // NUL bytes in headers and body, and a charset nobody knows.
    let nul = b"From: nul@example.net\r\nSubject: a\x00b\r\nMessage-ID: <nul@example.net>\r\n\r\nbody\x00with\x00nuls\r\n";
    let (outcome, _) = run(&t, "nul.eml", nul).await;
    assert!(matches!(outcome, Outcome::Opened { .. }), "{outcome:?}");
    let odd = b"From: odd@example.net\r\nSubject: =?x-klingon?Q?qapla=E9?=\r\nMessage-ID: <odd@example.net>\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nHab SoSlI' Quch \xe9\xff\r\n";
    let (outcome, _) = run(&t, "charset.eml", odd).await;
    assert!(matches!(outcome, Outcome::Opened { .. }), "{outcome:?}");

    // After all of that, an ordinary enquiry is still handled.
    let (outcome, _) = run(&t, "ordinary.eml", postroom::cli::demo::SAMPLE_MAILBOX[2].1).await;
    assert!(
        matches!(
            outcome,
            Outcome::Opened {
                acknowledged: true,
                ..
            }
        ),
        "{outcome:?}"
    );
}

/// A PDF of `objects` (numbered from 1), with its cross-reference table.
fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer<</Size {}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut o = format!("<<{dict}/Length {}>>stream\n", data.len()).into_bytes();
    o.extend_from_slice(data);
    o.extend_from_slice(b"\nendstream");
    o
}

/// A one-page PDF whose page is one 6400 × 6400 grey image of noise: 40 MB
/// with next to no text.
fn noise_pdf() -> Vec<u8> {
    let (w, h) = (6400usize, 6400usize);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let image: Vec<u8> = (0..w * h)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let content = b"q 612 0 0 792 0 0 cm /Im0 Do Q";
    pdf(&[
        b"<</Type/Catalog/Pages 2 0 R>>".to_vec(),
        b"<</Type/Pages/Count 1/Kids[3 0 R]>>".to_vec(),
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Resources<</XObject<</Im0 5 0 R>>>>/Contents 4 0 R>>".to_vec(),
        stream("", content),
        stream(
            &format!("/Type/XObject/Subtype/Image/Width {w}/Height {h}/ColorSpace/DeviceGray/BitsPerComponent 8"),
            &image,
        ),
    ])
}

/// A PDF whose page content is a 4 MB stream that inflates to 1 GiB.
fn bomb_pdf() -> Vec<u8> {
    // Compressed by Python's zlib (C): the same in a debug build of Rust
    // takes ten times as long.
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zlib\nc = zlib.compressobj(1)\nz = bytes(1 << 20)\n\
             sys.stdout.buffer.write(b''.join(c.compress(z) for _ in range(1024)) + c.flush())",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let data = out.stdout;
    pdf(&[
        b"<</Type/Catalog/Pages 2 0 R>>".to_vec(),
        b"<</Type/Pages/Count 1/Kids[3 0 R]>>".to_vec(),
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>".to_vec(),
        stream("/Filter/FlateDecode", &data),
    ])
}

/// An MP office's mail whose whole body is one 50 MB line of HTML.
fn huge_html_mail() -> Vec<u8> {
    let mut line = String::with_capacity(50 << 20);
    line.push_str("<html><body><p>Dear Sir or Madam, I write on behalf of my constituent.</p>");
    while line.len() < 50 << 20 {
        line.push_str("<span class=\"x\">about the school transport</span> ");
    }
    line.push_str("</body></html>");
    format!(
        "From: Ruth Penhale <ruth.penhale@parliament.uk>\r\nTo: mpenquiries@wexcombe.gov.uk\r\n\
Subject: Constituent enquiry\r\nMessage-ID: <huge-html@parliament.uk>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{line}\r\n"
    )
    .into_bytes()
}

/// The peak resident memory (VmHWM) of process `pid` and of its children
/// now, in bytes.
fn peak_of_tree(pid: u32) -> u64 {
    let hwm = |p: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{p}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .unwrap_or(0)
            << 10
    };
    let mut peak = hwm(pid);
    for (child, _) in crate::harness::children_of(pid) {
        peak = peak.max(hwm(child));
    }
    peak
}

/// `postroom classify FILE`, as a process: its output, the CPU time it and
/// the tools it ran used (user and system: what the input costs, whatever
/// else the machine is doing), and their peak resident memory, sampled
/// every 5 ms (VmHWM is a high-water mark, so only a tool that lives under
/// 5 ms can be missed, and every tool runs under a 1 GB address-space
/// limit).
// The child is reaped by wait4 below, which also gives its rusage.
#[allow(clippy::zombie_processes)]
fn classify_measured(file: &std::path::Path) -> (String, Duration, u64) {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_postroom"))
        .arg("classify")
        .arg(file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = child.stdout.unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        out
    });
    let mut peak = 0;
    let mut status = 0;
    // SAFETY: a plain struct the kernel fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        peak = peak.max(peak_of_tree(pid));
        // SAFETY: waits (without blocking) for our own child.
        let done = unsafe { libc::wait4(pid as i32, &mut status, libc::WNOHANG, &mut usage) };
        if done == pid as i32 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{}: status {status}",
        file.display()
    );
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    // The child's own time and that of the tools it waited for.
    let cpu = time(usage.ru_utime) + time(usage.ru_stime);
    (reader.join().unwrap(), cpu, peak)
}

#[test]
fn slow_hostile_inputs_are_read_within_five_seconds_and_a_gigabyte_each() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        ("huge-html.eml", huge_html_mail()),
        (
            "noise-pdf.eml",
            with_attachment("noise", "application/pdf", "scan.pdf", &noise_pdf()),
        ),
        (
            "bomb-pdf.eml",
            with_attachment("bomb", "application/pdf", "letter.pdf", &bomb_pdf()),
        ),
    ];
    for (name, bytes) in inputs {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let (out, took, peak) = classify_measured(&path);
        let labels: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}: {out}"));
        assert!(labels["kind"].is_string(), "{name}: {labels}");
        eprintln!(
            "{name} ({} MB): {took:?} of CPU, peak {} MB",
            bytes.len() >> 20,
            peak >> 20
        );
        assert!(took < Duration::from_secs(5), "{name} took {took:?} of CPU");
        assert!(peak < 1 << 30, "{name} peaked at {} MB", peak >> 20);
    }
}

#[tokio::test]
async fn a_file_cut_off_inside_its_subject_is_stored_and_flagged_never_acknowledged() {
    let t = TestApp::new(Backend::Sqlite, Delivery::Folder).await;
    let whole = crate::harness::plain_mail(
        "Ruth Penhale <ruth.penhale@parliament.uk>",
        "mpenquiries@wexcombe.gov.uk",
        "",
        "cut-off@parliament.uk",
        "Mon, 23 Nov 2026 10:00:00 +0000",
        "Urgent: school transport for my constituent's son, who has",
        "Dear Sir or Madam,\r\n\r\nI write about my constituent's son's EHCP.\r\n",
    );
    let text = String::from_utf8(whole).unwrap();
    // Cut inside the Subject line, as a partial download or a full disk
    // leaves it.
    let cut = &text[..text.find("son, who").unwrap()];
    let (outcome, _) = run(&t, "cut-off.eml", cut.as_bytes()).await;
    assert_eq!(
        outcome,
        Outcome::Opened {
            reference: "MPE-2026-00001".into(),
            acknowledged: false,
            triage: true
        }
    );
    let mut conn = t.app.store.conn().await.unwrap();
    let stored = messages::all(&mut conn).await.unwrap();
    assert_eq!(stored[0].parse_status, "unparsed");
    assert!(
        stored[0].decision.contains("ends inside its header"),
        "{}",
        stored[0].decision
    );
}
