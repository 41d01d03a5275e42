//! Peak memory (RSS) of `postroom run --once` while it ingests one message
//! with a 40 MB attachment. Target: under 150 MB.
//!
//!     cargo bench --bench memory

use std::io::Write;
use std::process::Command;

#[path = "common/child.rs"]
mod child;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("inbox")).unwrap();
    // 40 MB of pseudo-random bytes, declared as a PDF so that the extraction
    // path runs too (pdftotext refuses it).
    let mut data = vec![0u8; 40 << 20];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &data);
    let mut f = std::fs::File::create(dir.path().join("inbox/big.eml")).unwrap();
    write!(
        f,
        "From: A Parent <parent@example.net>\r\nTo: mpenquiries@wexcombe.gov.uk\r\nSubject: big\r\n\
Message-ID: <big@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .unwrap();
    for line in b64.as_bytes().chunks(76) {
        f.write_all(line).unwrap();
        f.write_all(b"\r\n").unwrap();
    }
    f.write_all(b"--B--\r\n").unwrap();
    drop(f);
    let size = std::fs::metadata(dir.path().join("inbox/big.eml"))
        .unwrap()
        .len();
    std::fs::write(
        dir.path().join("postroom.toml"),
        "[council]\nname = \"Bench\"\nmailbox = \"mp@bench.example\"\n[database]\nurl = \"sqlite:db.sqlite\"\n\
[[source]]\nname = \"in\"\nkind = \"eml_dir\"\npath = \"inbox\"\n[delivery]\ntransport = \"file\"\npath = \"out\"\n",
    )
    .unwrap();

    let start = std::time::Instant::now();
    // Reaped by child::wait, which also measures it.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_postroom"))
        .args(["run", "--once", "--config"])
        .arg(dir.path().join("postroom.toml"))
        .env("POSTROOM_LOG", "warn")
        .spawn()
        .unwrap();
    let measured = child::wait(child);
    assert_eq!(measured.status, 0, "postroom run --once failed");
    let peak_mb = measured.peak_mb;
    println!(
        "message size                     {:>8.1} MB ({} bytes)",
        size as f64 / 1048576.0,
        size
    );
    println!(
        "ingest time                      {:>8.2} s",
        start.elapsed().as_secs_f64()
    );
    println!("CPU time                         {:>8.2} s", measured.cpu);
    println!("peak RSS of postroom             {peak_mb:>8.1} MB   (target < 150 MB)");
}
