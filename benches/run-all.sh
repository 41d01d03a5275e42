#!/usr/bin/env bash
# Runs every performance measurement in one go and prints a table: ingest
# of ../shared/bench's realistic mail (10,000 messages) by postroom run
# --once beside the bare IMAP FETCH of the same mailbox, IMAP latency
# against a local Dovecot and SMTP server, the outbox with a million rows,
# peak memory with a large attachment, classification speed, the
# real-world robustness corpus, the deadline scan and digests on SQLite
# and PostgreSQL with a million cases, the workspace's pages and a year's
# figures (postroom report, the managers' dashboard) there. Not part of the tests (it takes
# minutes and prints figures; nothing here passes or fails on speed).
#
# Needs what tests/run-all.sh installs, PostgreSQL on 127.0.0.1:5432, and
# ../shared (bench, corpus, corpus-realworld) beside the checkout.
#
#   benches/run-all.sh            # all of them
#   benches/run-all.sh imap memory
set -euo pipefail
cd "$(dirname "$0")/.."

benches=("$@")
if [ "${#benches[@]}" -eq 0 ]; then
    benches=(ingest imap outbox memory classify robustness deadlines workspace dashboard)
fi
logs=$(mktemp -d)
for b in "${benches[@]}"; do
    echo "== cargo bench --bench $b" >&2
    cargo bench --locked --bench "$b" 2>&1 | tee "$logs/$b.log" >&2
done

# The figure on the first line matching a pattern, as the bench printed it.
pick() { grep -m1 -E "$2" "$logs/$1.log" 2>/dev/null | sed -E 's/^ +//; s/ +/ /g' || true; }

echo
echo "postroom benchmarks, $(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME")"
echo
echo "| measurement | result |"
echo "|---|---|"
row() { local v; v=$(pick "$1" "$2"); [ -n "$v" ] && echo "| $3 | $v |"; return 0; }
row ingest "bare IMAP FETCH" "Ingest, realistic 10,000: bare IMAP FETCH (the floor)"
row ingest "parse-only" "Ingest, realistic 10,000: parse-only pass, one core"
row ingest "SQLite, 5-MP" "Ingest, realistic 10,000: postroom run --once, SQLite, 5 MPs"
row ingest "SQLite, 650-MP" "Ingest, realistic 10,000: postroom run --once, SQLite, 650 MPs"
row ingest "650-MP / 5-MP" "Ingest: 650-MP / 5-MP directory"
row ingest "PostgreSQL, 650" "Ingest, realistic 10,000: postroom run --once, PostgreSQL, 650 MPs"
row ingest "PostgreSQL / SQLite" "Ingest: PostgreSQL / SQLite"
row ingest "OCR tools on PATH" "Ingest, realistic 10,000: OCR tools on the PATH"
row ingest "with OCR tools" "Ingest: with OCR tools / without"
row ingest "first 1000" "Ingest, realistic: the first 1,000"
row ingest "peak RSS, " "Ingest: peak RSS, 10,000 / 1,000"
row outbox "SQLite: outbox of 1,000,000" "Outbox: 10,000 mails sent from 1,000,000 rows, SQLite"
row outbox "PostgreSQL: outbox of 1,000,000" "Outbox: 10,000 mails sent from 1,000,000 rows, PostgreSQL"
row imap "bare IMAP FETCH" "IMAP: bare FETCH of 10,000 bodies"
row imap "postroom ingest" "IMAP: postroom ingest of the same 10,000"
row imap "ratio" "IMAP: ingest / bare fetch"
row imap "parse, classify and write" "IMAP: parse, classify, write the acknowledgements, no database (the floor)"
row imap "bare IDLE client" "Latency: bare IDLE, APPEND to EXISTS (median, p99)"
row imap "APPEND to ack" "Latency: postroom, APPEND to acknowledgement accepted (median, p99)"
row imap "bare smtplib" "Delivery: bare SMTP client, one session (1,000 mails)"
row imap "delivery worker" "Delivery: postroom's delivery worker, the same mails"
row memory "peak RSS" "Memory: peak RSS, message with a 40 MB attachment"
row classify "per second" "Classification speed"
row robustness "stored / duplicates" "Real-world corpus: stored / duplicates"
row robustness "failed" "Real-world corpus: failed"
row robustness "median" "Real-world corpus: time per message, median"
row robustness "p99" "Real-world corpus: time per message, p99"
row deadlines "SQLite: due-reminder scan" "Deadlines, 1M cases: SQLite reminder scan"
row deadlines "PostgreSQL: due-reminder scan" "Deadlines, 1M cases: PostgreSQL reminder scan"
row deadlines "SQLite: daily digest" "Deadlines, 1M cases: SQLite daily digest"
row deadlines "PostgreSQL: daily digest" "Deadlines, 1M cases: PostgreSQL daily digest"
for db in SQLite PostgreSQL; do
    row workspace "$db: the list's first page" "Workspace, 1M cases: $db list, first page"
    row workspace "$db: a filtered page" "Workspace, 1M cases: $db list, filtered"
    row workspace "$db: a text search" "Workspace, 1M cases: $db text search"
    row workspace "$db: a case with 200" "Workspace, 1M cases: $db case page, 200 messages"
done
for db in SQLite PostgreSQL; do
    row dashboard "$db figures by Month" "Figures of a year, 1M cases: $db, by month"
    row dashboard "$db figures by Week" "Figures of a year, 1M cases: $db, by week"
    row dashboard "$db the figures page" "Figures page for a year, 1M cases: $db"
done
echo
echo "Full output of each bench: $logs"
