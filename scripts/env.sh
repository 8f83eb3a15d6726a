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
