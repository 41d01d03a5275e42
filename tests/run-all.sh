#!/usr/bin/env bash
# Runs postroom's whole test suite on a Debian machine with Rust, after
# installing (with apt-get) the system packages the tests need where they are
# missing, and starting the local PostgreSQL if it is down.
#
# The tests talk to real services: SQLite files, PostgreSQL on
# 127.0.0.1:5432 (trust auth; override with POSTROOM_TEST_POSTGRES), an
# aiosmtpd SMTP server and a Dovecot IMAP server that the tests start
# themselves on free loopback ports. A missing service fails the tests; none
# is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

packages=(python3 python3-aiosmtpd dovecot-imapd poppler-utils tesseract-ocr tesseract-ocr-eng chromium chromium-driver fonts-liberation)
# node (20 or newer) runs the OpenID provider of the workspace's tests;
# Debian's nodejs only where there is none.
command -v node >/dev/null || packages+=(nodejs npm)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "run-all: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -z "${POSTROOM_TEST_POSTGRES:-}" ] && command -v pg_isready >/dev/null; then
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        echo "run-all: starting PostgreSQL"
        $sudo pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
fi

# The workspace's tests run a real OpenID provider (oidc-provider) and
# axe-core, from npm, at the versions tests/browser/package-lock.json pins.
if [ ! -d tests/browser/node_modules/oidc-provider ] || [ ! -d tests/browser/node_modules/axe-core ]; then
    echo "run-all: installing tests/browser's npm packages"
    npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
fi

# Supply chain: licences, banned crates (OpenSSL) and sources, with
# cargo-deny (deny.toml). Installed from crates.io when missing.
if ! cargo deny --version >/dev/null 2>&1; then
    echo "run-all: installing cargo-deny"
    cargo install --locked cargo-deny@0.20.2
fi
cargo fetch --locked >/dev/null
cargo deny --offline check bans licenses sources

# Known vulnerabilities, unmaintained and yanked crates: the RustSec
# advisory database. Offline, from the snapshot in ../shared/advisory-db
# (or POSTROOM_ADVISORY_DB), which knows nothing published after its date
# (its SNAPSHOT.md); without a snapshot, from the live database, which
# needs the network. Any advisory not answered in deny.toml fails the run.
advisory_db="${POSTROOM_ADVISORY_DB:-../shared/advisory-db}"
if [ -d "$advisory_db/crates" ]; then
    # cargo-deny wants a git checkout named after the database's URL, under
    # its db-path: a copy of the snapshot, committed, in target/.
    dbs="$PWD/target/advisory-dbs"
    db="$dbs/advisory-db-3157b0e258782691"
    rm -rf "$dbs" && mkdir -p "$dbs"
    cp -r "$advisory_db" "$db"
    chmod -R u+w "$db"   # shared/ comes without write bits
    git -C "$db" init -q
    git -C "$db" add -A
    git -C "$db" -c user.name=postroom -c user.email=postroom@localhost commit -qm snapshot
    sed "s|^\[advisories\]|[advisories]\ndb-path = \"$dbs\"\ndb-urls = [\"https://github.com/rustsec/advisory-db\"]|" \
        deny.toml > "$dbs/deny.toml"
    echo "run-all: advisories from the snapshot in $advisory_db ($(grep -m1 -o 'commit [0-9a-f]* ([0-9-]*)' "$advisory_db/SNAPSHOT.md" || echo 'undated'))"
    cargo deny --offline --config "$dbs/deny.toml" check advisories
else
    echo "run-all: no advisory snapshot at $advisory_db; checking against the live database"
    cargo deny check advisories
fi

# The tests (unit and integration). The benchmarks print figures and are run
# by hand (cargo bench); here they are only compiled, so they cannot rot
# (in the dev profile, on the libraries the tests have just built).
cargo test --locked --lib --bins --tests "$@"
cargo build --locked --benches --profile dev
